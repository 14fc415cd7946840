// Keyboard: J/K (or arrows) move down and up the list, Enter opens, Esc goes back, B switches epochs.
import { closeCard } from './card.js';
import { $ } from './dom.js';
import { setImagery } from './map.js';
import { state } from './state.js';

export function wireKeyboard() {
  document.addEventListener('keydown', (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || $('app').hidden || state.drawing) return;
    // Typing is the field's; a slider (the card's before/after <input type=range>) takes only the arrows,
    // so Esc and B work from it as from the page (they did nothing once the slider had been used).
    const field = ev.target.closest('input, select, textarea');
    if (field && !(field.type === 'range' && ['Escape', 'b', 'B'].includes(ev.key))) return;
    if (ev.key === 'Escape') return closeCard();
    if (ev.key === 'b' || ev.key === 'B') return setImagery(state.side === 'after' ? 'before' : 'after');
    if (state.openCode) return;
    const list = $('view-overdue').hidden ? $('inbox-list') : $('overdue-list');
    const buttons = [...list.querySelectorAll('button.item')];
    if (!buttons.length) return;
    if (ev.key === 'j' || ev.key === 'ArrowDown' || ev.key === 'k' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      const i = buttons.indexOf(document.activeElement);
      const next = ev.key === 'j' || ev.key === 'ArrowDown' ? Math.min(buttons.length - 1, i + 1) : Math.max(0, i - 1);
      buttons[next].focus();
    }
  });
}
