/**
 * Several people and processes acting on one case at once: two staff of a bureau on one card (one
 * of them on a card loaded before the other's change), the deadline sweep and the batch sync passes
 * of several server processes running while actions land. On a real database (PGlite here; on
 * PostgreSQL under `npm test`, where the races below are truly concurrent: the interleavings that
 * need two sessions run there only, forced by holding a real action open before its COMMIT).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { replaceBatchPolygons } from '../pipeline/store/repository.js';
import type { User } from './access/roles.js';
import { loadCalendar } from './deadlines/calendar.js';
import { DEFAULT_DEADLINES, type Deadlines } from './deadlines/rules.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';
import * as A from './workflow/actions.js';
import { sweepDeadlines, syncCases, type ActionContext } from './workflow/case-store.js';

const P_STALE = '370102-202610-0001';
const P_BOTH = '370102-202610-0002';
const P_SWEEP = '370102-202610-0003';
const P_GEOM = '370102-202610-0004';
const P_DROP = '370102-202610-0005';
const P_NOTE = '370102-202610-0006';
const ALL = [P_STALE, P_BOTH, P_SWEEP, P_GEOM, P_DROP, P_NOTE];
/** A September case, late on two counts at once (tests of the sweep's history). */
const P_TWICE = '370102-202609-0001';
const batch = (moved: string[] = [], dropped: string[] = []) =>
  ALL.map((c, i) => polygon(c, '2026-10', square(117 + i / 100, 36.6, moved.includes(c) ? 0.0012 : 0.001))).filter((p) => !dropped.includes(p.code));
const onServer = !!process.env.TUBAN_TEST_DATABASE_URL;

let db: Database;
let t: TestApp;
let deadlines: Deadlines;
const nr: User = { name: 'nr', role: 'bureau', bureau: 'natural_resources', district: null };
const chief: User = { name: 'chief', role: 'lead', bureau: null, district: null };

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b-2026-10', '2026-10', batch(), '2026-11-02');
  await addUsers(db, [
    ['nr', 'bureau', 'natural_resources'],
    ['nr2', 'bureau', 'natural_resources'],
    ['chief', 'lead'],
  ]);
  t = await testApp(db);
  deadlines = { rules: DEFAULT_DEADLINES, calendar: await loadCalendar() };
  await t.request('chief', '/api/sweep', {});
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

/** POST as `user` with the card's version in If-Match (what the page sends), or none. */
const post = async (user: string, url: string, payload: unknown, version?: number | string) =>
  t.app.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${await t.token(user)}`, ...(version !== undefined ? { 'if-match': typeof version === 'number' ? `"${version}"` : version } : {}) },
    payload: payload as object,
  });
const card = async (user: string, code: string) => (await t.request(user, `/api/polygons/${code}`)).json();
const auditCount = async (code: string, action: string) =>
  (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log WHERE code = $1 AND action = $2', [code, action])).rows[0].n;

describe('a card loaded before a colleague changed the case', () => {
  it('is refused with 409 CASE.STALE, naming who changed it, instead of overwriting their verdict', async () => {
    await post('nr', `/api/polygons/${P_STALE}/accept`, {});
    const loaded = (await card('nr2', P_STALE)).case.version;
    expect((await card('nr', P_STALE)).case.version).toBe(loaded);

    const first = await post('nr', `/api/polygons/${P_STALE}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation' }, loaded);
    expect(first.statusCode, first.body).toBe(200);
    const stale = await post('nr2', `/api/polygons/${P_STALE}/verdict`, { verdict: 'legal', approval_doc_no: '济自然规划批〔2026〕1号' }, loaded);
    expect([stale.statusCode, stale.json().code]).toEqual([409, 'CASE.STALE']);
    expect(stale.json()).toMatchObject({ version: loaded + 1, changed_by: 'nr', changed_action: 'verdict' });
    const now = (await card('nr', P_STALE)).case;
    expect(now).toMatchObject({ verdict: 'illegal', version: loaded + 1 });
    expect(await auditCount(P_STALE, 'verdict')).toBe(1);
  });

  it('cannot set a rectification back to the progress its form was filled with', async () => {
    const v = (await card('nr', P_STALE)).case.version;
    expect((await post('nr', `/api/polygons/${P_STALE}/rectification`, { method: 'demolish_restore', progress: 60 }, v)).statusCode).toBe(200);
    const stale = await post('nr2', `/api/polygons/${P_STALE}/rectification`, { method: 'demolish_restore', progress: 30 }, v);
    expect(stale.json().code).toBe('CASE.STALE');
    expect((await card('nr', P_STALE)).case.rectification.progress).toBe(60);
  });

  it('is checked only when sent: an API client without If-Match acts as before; a malformed one is 400', async () => {
    const bad = await post('nr', `/api/polygons/${P_STALE}/notes`, { text: 'x' }, 'yesterday');
    expect([bad.statusCode, bad.json().code]).toEqual([400, 'VALIDATION']);
    expect((await post('nr', `/api/polygons/${P_STALE}/notes`, { text: '现场已复核' })).statusCode).toBe(200);
    const v = (await card('nr', P_STALE)).case.version;
    expect((await post('nr', `/api/polygons/${P_STALE}/notes`, { text: '带版本' }, `W/"${v}"`)).statusCode).toBe(200);
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.paths['/api/polygons/{code}/verdict'].post.parameters.map((p: { name: string; in: string }) => `${p.in} ${p.name}`)).toContain('header If-Match');
  });
});

describe('two staff submitting on one card at the same moment', () => {
  it('records one verdict and refuses the other with 409, never a 500 nor two verdict rows', async () => {
    await post('nr', `/api/polygons/${P_BOTH}/accept`, {});
    const v = (await card('nr', P_BOTH)).case.version;
    const rs = await Promise.all([
      post('nr', `/api/polygons/${P_BOTH}/verdict`, { verdict: 'illegal', violation_type: 'illegal_occupation' }, v),
      post('nr2', `/api/polygons/${P_BOTH}/verdict`, { verdict: 'other', situation: 'seasonal', reason: '季节性' }, v),
    ]);
    expect(rs.map((r) => r.statusCode).sort()).toEqual([200, 409]);
    expect(rs.find((r) => r.statusCode === 409)!.json().code).toBe('CASE.STALE');
    expect(await auditCount(P_BOTH, 'verdict')).toBe(1);
  });
});

/**
 * `db`, whose next transaction does its work and then waits, holding its row locks, until
 * `release()`: another session's action caught between its checks and its COMMIT.
 */
function heldBeforeCommit(base: Database) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let done!: () => void;
  const ready = new Promise<void>((r) => (done = r));
  const held: Database = {
    ...base,
    transaction: (fn) =>
      base.transaction(async (tx) => {
        const out = await fn(tx);
        done();
        await gate;
        return out;
      }),
  };
  return { db: held, ready, release };
}

/**
 * `db`, whose transactions stop before their first statement matching `pattern` (once: a transaction
 * run again runs through) until `release()`: a pass caught between two of its statements.
 */
function heldBeforeStatement(base: Database, pattern: RegExp) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let reached!: () => void;
  const ready = new Promise<void>((r) => (reached = r));
  let stopped = false;
  const held: Database = {
    ...base,
    transaction: (fn) =>
      base.transaction((tx) =>
        fn({
          query: async (text, params) => {
            if (!stopped && pattern.test(text)) {
              stopped = true;
              reached();
              await gate;
            }
            return tx.query(text, params);
          },
        }),
      ),
  };
  return { db: held, ready, release };
}

/** Until `n` sessions wait for a row lock (the passes blocked behind the held action). */
async function waitingForLocks(n: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
    if (r.rows[0].n >= n) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`fewer than ${n} sessions waiting for a lock`);
}

/**
 * The escalation levels the case's history says it went through, [before, after] per row that
 * changed it, and the level it is at: each row must start where the one before it ended.
 */
async function levelHistory(code: string): Promise<{ steps: [number, number][]; now: number }> {
  const r = await db.query<{ before: { escalation_level?: number } | null; after: { escalation_level?: number } | null }>(
    `SELECT before, after FROM audit_log WHERE code = $1 AND after ? 'escalation_level' ORDER BY id`,
    [code],
  );
  const steps = r.rows.map((h) => [h.before?.escalation_level ?? 0, h.after!.escalation_level!] as [number, number]);
  return { steps, now: (await caseOf(code)).escalation_level };
}

const caseOf = async (code: string) =>
  (await db.query<{ status: string; escalation_level: number; geometry_changed: boolean }>('SELECT status, escalation_level, geometry_changed, merged_into FROM cases WHERE code = $1', [code])).rows[0];

describe('the deadline sweep escalating a case late on two counts in one pass', () => {
  it('raises the level one step per escalation, and each history row starts where the last ended', async () => {
    await writeBatch(db, 'b-2026-09', '2026-09', [polygon(P_TWICE, '2026-09', square(117.2, 36.6))], '2026-10-02');
    t.setToday('2026-10-10');
    const escalated = await post('chief', `/api/polygons/${P_TWICE}/escalate`, { reason: '拒不整改' }); // hand-over due 2026-10-25
    expect(escalated.statusCode, escalated.body).toBe(200);
    t.setToday('2026-11-03');
    // No pass ran since: the hand-over (due 10-25) and the verification (due 10-31) are late in the same one.
    expect((await sweepDeadlines(db, '2026-11-02', deadlines)).overdue).toBe(2);
    const levels = await db.query<{ kind: string; rule: string; level: number }>(`SELECT kind, rule, level FROM escalations WHERE code = $1 ORDER BY id`, [P_TWICE]);
    expect(levels.rows.map((e) => `${e.kind} ${e.rule} ${e.level}`)).toEqual(['manual handover 1', 'overdue handover 2', 'overdue verification 3']);
    expect(await levelHistory(P_TWICE)).toEqual({ steps: [[0, 1], [1, 2], [2, 3]], now: 3 });
  });
});

describe.runIf(onServer)('passes of other server processes running while an action commits (PostgreSQL)', () => {
  const ctx = (d: Database): ActionContext => ({ db: d, deadlines, today: () => '2026-12-15' });

  it('the deadline sweep does not lower the level the lead bureau escalated the case to meanwhile', async () => {
    const h = heldBeforeCommit(db);
    const escalating = A.escalate(ctx(h.db), chief, P_SWEEP, { reason: '拒不整改', level: 3 });
    await h.ready;
    const sweeping = sweepDeadlines(db, '2026-12-15', deadlines); // the case is overdue: the sweep raises it one level
    await waitingForLocks(1);
    h.release();
    await escalating;
    expect((await sweeping).overdue).toBeGreaterThanOrEqual(1);
    // The sweep waited for the case and escalated it from the level committed: one step above, as
    // had it run after; its history row says 3 → 4, not the 0 → 1 it would have read before.
    expect(await levelHistory(P_SWEEP)).toEqual({ steps: [[0, 3], [3, 4]], now: 4 });
  });

  it('two sync passes flag a re-run outline once (one geometry.changed row), not once each', async () => {
    await replaceBatchPolygons(db, 'b-2026-10', batch([P_GEOM]));
    const h = heldBeforeCommit(db);
    const noting = A.addNote(ctx(h.db), nr, P_GEOM, { text: '现场核查中' });
    await h.ready;
    const passes = [syncCases(db, deadlines, null, '2026-12-15'), syncCases(db, deadlines, null, '2026-12-15')];
    await waitingForLocks(2);
    h.release();
    await noting;
    await Promise.all(passes);
    expect(await auditCount(P_GEOM, 'geometry.changed')).toBe(1);
    expect((await caseOf(P_GEOM)).geometry_changed).toBe(true);
  });

  it('a sync pass does not withdraw as untouched a case a bureau accepted while it ran', async () => {
    await replaceBatchPolygons(db, 'b-2026-10', batch([P_GEOM], [P_DROP]));
    const h = heldBeforeCommit(db);
    const accepting = A.accept(ctx(h.db), nr, P_DROP);
    await h.ready;
    const pass = syncCases(db, deadlines, null, '2026-12-15');
    await waitingForLocks(1);
    h.release();
    await accepting;
    await pass;
    expect((await caseOf(P_DROP)).status).toBe('accepted');
    // The next pass sees the accepted case and flags it for the lead bureau (withdraw or confirm).
    await syncCases(db, deadlines, null, '2026-12-15');
    expect(await caseOf(P_DROP)).toMatchObject({ status: 'accepted', geometry_changed: true });
    expect(await auditCount(P_DROP, 'polygon.vanished')).toBe(1);
  });

  it('a sync pass does not withdraw as untouched a case a bureau noted while it ran', async () => {
    await replaceBatchPolygons(db, 'b-2026-10', batch([P_GEOM], [P_DROP, P_NOTE]));
    const h = heldBeforeCommit(db);
    const noting = A.addNote(ctx(h.db), nr, P_NOTE, { text: '已到现场' }); // a note changes no column of the case
    await h.ready;
    const pass = syncCases(db, deadlines, null, '2026-12-15');
    await waitingForLocks(1);
    h.release();
    await noting;
    await pass;
    expect(await caseOf(P_NOTE)).toMatchObject({ status: 'issued', geometry_changed: true });
    const history = await db.query<{ action: string; after: Record<string, unknown> }>(`SELECT action, after FROM audit_log WHERE code = $1 AND action IN ('note', 'polygon.vanished') ORDER BY id`, [P_NOTE]);
    expect(history.rows).toEqual([
      { action: 'note', after: { text: '已到现场' } },
      { action: 'polygon.vanished', after: { geometry_changed: true } },
    ]);
  });

  it('a sync pass and a sweep that lock two cases in opposite orders both finish: the deadlock victim runs again', async () => {
    const [LOST, MOVED] = ['370102-202608-0001', '370102-202608-0002'];
    const august = (township: string | null) => [polygon(MOVED, '2026-08', square(117.3, 36.6), { townshipCode: township, townshipName: township && '某街道' })];
    await writeBatch(db, 'b-2026-08', '2026-08', [polygon(LOST, '2026-08', square(117.29, 36.6)), ...august(null)], '2026-09-02');
    await syncCases(db, deadlines, null, '2026-12-15'); // both overdue since 09-30, not escalated yet
    // A re-run that no longer finds LOST and places MOVED in a township.
    await replaceBatchPolygons(db, 'b-2026-08', august('370102001'));
    // The pass moves MOVED to its township (locking it), and stops before it locks the lost cases.
    const h = heldBeforeStatement(db, /FOR UPDATE OF c/);
    const pass = syncCases(h.db, deadlines, null, '2026-12-15');
    await h.ready;
    const sweeping = sweepDeadlines(db, '2026-12-15', deadlines); // locks LOST, then waits for MOVED
    await waitingForLocks(1);
    h.release(); // the pass now waits for LOST: a deadlock, which PostgreSQL ends by failing one of the two
    await Promise.all([pass, sweeping]);
    // As had one run after the other: withdrawn (escalated first, or not at all when the sweep ran
    // again after the withdrawal), and MOVED in its township, escalated once.
    const lost = await caseOf(LOST);
    expect([lost.status, lost.escalation_level]).toEqual(['vanished', await auditCount(LOST, 'escalate.overdue')]);
    expect(await caseOf(MOVED)).toMatchObject({ status: 'issued', escalation_level: 1 });
    expect(await auditCount(MOVED, 'escalate.overdue')).toBe(1);
    expect((await db.query<{ t: string }>('SELECT township_code AS t FROM cases WHERE code = $1', [MOVED])).rows[0].t).toBe('370102001');
  });

  it('a site withdrawn while the lead bureau separates its sighting reissues the sighting once, not over the separation', async () => {
    const M = '370102-202611-0001';
    await writeBatch(db, 'b-2026-11', '2026-11', [polygon(M, '2026-11', square(117.02, 36.6, 0.0012), { previousCode: P_SWEEP })], '2026-12-02');
    await replaceBatchPolygons(db, 'b-2026-10', batch([P_GEOM], [P_DROP, P_SWEEP]));
    await syncCases(db, deadlines, null, '2026-12-15');
    expect(await caseOf(M)).toMatchObject({ status: 'merged' });
    expect(await caseOf(P_SWEEP)).toMatchObject({ geometry_changed: true }); // escalated by the lead bureau: flagged, not withdrawn
    const h = heldBeforeCommit(db);
    const separating = A.separate(ctx(h.db), chief, M, { reason: '相邻新建，非同一地块' });
    await h.ready;
    const withdrawing = A.withdraw(ctx(db), chief, P_SWEEP, { reason: '复跑后不再提取' });
    await waitingForLocks(1);
    h.release();
    await separating;
    const w = await withdrawing;
    expect(w.case.status).toBe('vanished');
    const history = await db.query<{ action: string }>(`SELECT action FROM audit_log WHERE code = $1 AND action IN ('separate', 'reissue') ORDER BY id`, [M]);
    expect(history.rows.map((r) => r.action)).toEqual(['separate']);
    const withdrawn = await db.query<{ after: Record<string, unknown> }>(`SELECT after FROM audit_log WHERE code = $1 AND action = 'withdraw'`, [P_SWEEP]);
    expect(withdrawn.rows[0].after.reissued).toBeUndefined();
  });

  // Two May sites, each seen again in June (merged into its May case), and a May polygon the re-runs keep.
  const [SITE_A, SITE_B, MAY_KEPT] = ['370102-202605-0001', '370102-202605-0002', '370102-202605-0003'];
  const [SEEN_A, SEEN_B] = ['370102-202606-0001', '370102-202606-0002'];
  const may = (dropped: string[]) => [SITE_A, SITE_B, MAY_KEPT].map((c, i) => polygon(c, '2026-05', square(117.5 + i / 100, 36.6))).filter((p) => !dropped.includes(p.code));
  const actionsOn = async (code: string, actions: string[]) =>
    (await db.query<{ action: string; after: Record<string, unknown> }>(`SELECT action, after FROM audit_log WHERE code = $1 AND action = ANY($2::text[]) ORDER BY id`, [code, actions])).rows;

  it('a sync pass does not withdraw as untouched a site whose sighting the lead bureau separated while it ran', async () => {
    await writeBatch(db, 'b-2026-05', '2026-05', may([]), '2026-06-02');
    await writeBatch(db, 'b-2026-06', '2026-06', [SEEN_A, SEEN_B].map((c, i) => polygon(c, '2026-06', square(117.5 + i / 100, 36.6), { previousCode: [SITE_A, SITE_B][i] })), '2026-07-02');
    await syncCases(db, deadlines, null, '2026-12-15');
    expect(await caseOf(SEEN_A)).toMatchObject({ status: 'merged' });
    expect(await caseOf(SITE_A)).toMatchObject({ status: 'issued', geometry_changed: false }); // nobody touched it yet
    expect(await caseOf(SITE_B)).toMatchObject({ status: 'issued', geometry_changed: false });
    await replaceBatchPolygons(db, 'b-2026-05', may([SITE_A])); // a re-run that no longer finds the site's May polygon
    const h = heldBeforeCommit(db);
    const separating = A.separate(ctx(h.db), chief, SEEN_A, { reason: '相邻新建，非同一地块' });
    await h.ready;
    const pass = syncCases(db, deadlines, null, '2026-12-15');
    await waitingForLocks(1); // the pass waits for the separation
    h.release();
    await separating;
    await pass;
    expect(await caseOf(SITE_B)).toMatchObject({ status: 'issued', geometry_changed: false }); // still there: untouched by the pass
    // The separation is the lead bureau's work on the site's case (its history says so): kept and
    // flagged for the lead bureau to withdraw or confirm, as had the pass run after it.
    expect(await caseOf(SITE_A)).toMatchObject({ status: 'issued', geometry_changed: true });
    expect((await actionsOn(SITE_A, ['site.separated', 'polygon.vanished'])).map((r) => [r.action, r.after])).toEqual([
      ['site.separated', { code: SEEN_A, reason: '相邻新建，非同一地块' }],
      ['polygon.vanished', { geometry_changed: true }],
    ]);
    expect(await caseOf(SEEN_A)).toMatchObject({ status: 'issued' });
    expect((await actionsOn(SEEN_A, ['separate', 'reissue'])).map((r) => r.action)).toEqual(['separate']);
  });

  it('a separation waits for a sync pass that locked the site, and is refused once the pass withdrew it and reissued the sighting', async () => {
    await replaceBatchPolygons(db, 'b-2026-05', may([SITE_A, SITE_B]));
    // The pass has locked the lost site and stops before it judges it untouched.
    const h = heldBeforeStatement(db, /WITH lost AS/);
    const pass = syncCases(h.db, deadlines, null, '2026-12-15');
    await h.ready;
    const separating = A.separate(ctx(db), chief, SEEN_B, { reason: '相邻新建，非同一地块' });
    const refused = expect(separating).rejects.toMatchObject({ code: 'CASE.BAD_STATE' });
    try {
      await waitingForLocks(1); // the separation waits for the site, holding nothing the pass needs
    } finally {
      h.release();
    }
    await pass;
    await refused;
    // As had the pass run first: withdrawn untouched, its sighting issued on its own by the pass.
    expect(await caseOf(SITE_B)).toMatchObject({ status: 'vanished' });
    expect(await caseOf(SEEN_B)).toMatchObject({ status: 'issued' });
    expect((await actionsOn(SEEN_B, ['separate', 'reissue'])).map((r) => r.action)).toEqual(['reissue']);
    expect(await actionsOn(SITE_B, ['site.separated'])).toEqual([]);
  });

  it('a separation asked by an account outside the sighting\'s scope is refused at once, not after waiting on (and locking) its site', async () => {
    const [SITE_C, SEEN_C] = ['370102-202603-0001', '370102-202604-0001'];
    await writeBatch(db, 'b-2026-03', '2026-03', [polygon(SITE_C, '2026-03', square(117.6, 36.6))], '2026-04-02');
    await writeBatch(db, 'b-2026-04', '2026-04', [polygon(SEEN_C, '2026-04', square(117.6, 36.6), { previousCode: SITE_C })], '2026-05-02');
    await syncCases(db, deadlines, null, '2026-12-15');
    expect(await caseOf(SEEN_C)).toMatchObject({ status: 'merged', merged_into: SITE_C });
    const outsider: User = { name: 'fo', role: 'district', bureau: null, district: '370199' };
    const admin: User = { name: 'adm', role: 'admin', bureau: null, district: null };
    for (const who of [outsider, admin]) {
      // The lead bureau is working on the site (a note not yet committed): its row is locked.
      const h = heldBeforeCommit(db);
      const note = A.addNote(ctx(h.db), chief, SITE_C, { text: '现场核查中' });
      await h.ready;
      try {
        const answer = A.separate(ctx(db), who, SEEN_C, { reason: 'x' }).then(() => 'separated', (e: { code?: string }) => e.code);
        // Before, the request waited for the site's lock (telling by its wait that the case exists and is being worked on).
        expect(await Promise.race([answer, new Promise((r) => setTimeout(() => r('still waiting'), 3000))]), who.role).toMatch(/^(POLYGON\.NOT_FOUND|AUTH\.FORBIDDEN)$/);
      } finally {
        h.release();
      }
      await note;
    }
    expect(await caseOf(SEEN_C)).toMatchObject({ status: 'merged', merged_into: SITE_C });
  });
});
