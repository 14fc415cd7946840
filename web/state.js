// The page's one state object and a tiny event bus, so modules talk without importing each other
// in circles (the map opens a card, a card action refreshes the inbox and the map).
export const state = {
  token: sessionStorage.getItem('tuban.token'),
  user: null,
  epoch: null,
  epochs: [],
  districts: [],
  side: 'after',
  items: [],
  nextCursor: null,
  /** The overdue list loaded so far and the cursor of its next page. */
  overdueItems: [],
  overdueCursor: null,
  cursor: -1,
  openCode: null,
  /** The open card's response (GET /api/polygons/{code}). */
  card: null,
  selected: null,
  map: null,
  mapReady: false,
  /** The drawing in progress on the map (draw.js), or null. */
  drawing: null,
  /** How often the lists shown are asked again for colleagues' changes (app.js); a test shortens it. */
  listPollMs: 30_000,
  /** When the inbox was last asked (the first view, a filter, a write's refresh, a poll). */
  listsAskedAt: Date.now(),
};
// Exposed for the browser test and for debugging in the console.
window.tuban = state;

const handlers = new Map();

/** Events: 'open' (code) a card, 'changed' (code?) after a write, 'signed-out', 'month' (YYYY-MM) to show. */
export function on(event, fn) {
  handlers.set(event, [...(handlers.get(event) ?? []), fn]);
}

export function emit(event, ...args) {
  return Promise.all((handlers.get(event) ?? []).map((fn) => fn(...args)));
}
