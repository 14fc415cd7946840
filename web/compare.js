// The card's before/after comparison: the two chips cut from the batch's epochs, with a slider.
import { authedImage } from './api.js';
import { $, esc } from './dom.js';
import { state } from './state.js';

export function compareHtml(chips, p) {
  return `<figure class="compare" id="compare" aria-label="前后时相对比">
      <div class="compare-frame">
        <img id="chip-before" alt="前时相影像" class="chip">
        <div class="after-clip" id="after-clip"><img id="chip-after" alt="后时相影像" class="chip"></div>
        <div class="compare-line" id="compare-line"></div>
        <span class="chip-label left">前时相 <span id="date-before">${esc(chips.before_date ?? p.before_date ?? '')}</span></span>
        <span class="chip-label right">后时相 <span id="date-after">${esc(chips.after_date ?? p.after_date ?? '')}</span></span>
      </div>
      <input type="range" id="compare-range" min="0" max="100" value="50" aria-label="前后时相滑块 (左右方向键)">
      <div class="print-only print-chips">
        <figure><img id="print-chip-before" alt=""><figcaption>前时相 ${esc(chips.before_date ?? p.before_date ?? '')}</figcaption></figure>
        <figure><img id="print-chip-after" alt=""><figcaption>后时相 ${esc(chips.after_date ?? p.after_date ?? '')}</figcaption></figure>
      </div>
    </figure>`;
}

export async function loadChips(code, chips) {
  const base = `/api/polygons/${encodeURIComponent(code)}/chips`;
  await Promise.all(
    ['before', 'after'].map(async (side) => {
      const img = $(`chip-${side}`);
      try {
        const { url, date } = await authedImage(chips[side] ?? `${base}/${side}.png`);
        if (state.openCode !== code) return URL.revokeObjectURL(url);
        img.onload = () => img.classList.add('loaded');
        img.src = url;
        // Paper has no slider: the printed sheet shows both epochs side by side.
        $(`print-chip-${side}`).src = url;
        if (date) $(`date-${side}`).textContent = date;
      } catch {
        img.replaceWith(Object.assign(document.createElement('div'), { className: 'chip missing', textContent: '无影像' }));
      }
    }),
  );
}

export function wireSlider() {
  const range = $('compare-range');
  const set = () => {
    $('after-clip').style.clipPath = `inset(0 0 0 ${range.value}%)`;
    $('compare-line').style.left = `${range.value}%`;
  };
  range.addEventListener('input', set);
  set();
  // Dragging on the image moves the divide too.
  const frame = document.querySelector('.compare-frame');
  const drag = (ev) => {
    const rect = frame.getBoundingClientRect();
    range.value = String(Math.round(((ev.clientX - rect.left) / rect.width) * 100));
    set();
  };
  frame.addEventListener('pointerdown', (ev) => {
    frame.setPointerCapture(ev.pointerId);
    drag(ev);
    frame.onpointermove = drag;
  });
  frame.addEventListener('pointerup', () => (frame.onpointermove = null));
}
