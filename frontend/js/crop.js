/**
 * The crop box over the query preview: the shopper drags it (mouse, touch and pen through
 * pointer events) or resizes it from a corner, or with the keyboard: arrow keys move it,
 * Shift+arrows resize it, Home resets it to the whole picture. Each change is announced in a
 * polite live region, and `onChange` fires after a short debounce (for a drag: once the box is
 * let go) with `x,y,w,h` (fractions of the picture), or '' for the whole picture.
 *
 * The search answer's `suggested_crop` (the one object the server found in the picture) is
 * offered, never applied: while the shopper searches the whole picture a dashed box shows it
 * and a "Use suggested crop" button, labelled as a suggestion, applies it; the offer is
 * announced once per picture.
 */
import { byId } from './dom.js';

const STEP = 0.02;
const MIN = 0.05;
const DEBOUNCE_MS = 300;
const WHOLE = { x: 0, y: 0, w: 1, h: 1 };

const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
const pct = (v) => `${Math.round(v * 100)}%`;
const round = (v) => Math.round(v * 10000) / 10000;

/** `x,y,w,h` for the API, or '' when the box is the whole picture. */
export function cropParam(box) {
  const whole = box.x <= 0 && box.y <= 0 && box.w >= 1 && box.h >= 1;
  return whole ? '' : [box.x, box.y, box.w, box.h].map(round).join(',');
}

/** @param {{onChange: (crop: string) => void}} deps */
export function createCrop({ onChange }) {
  const root = byId('crop');
  const frame = byId('crop-frame');
  const box = byId('crop-box');
  const status = byId('crop-status');
  const reset = byId('crop-reset');
  const outline = byId('crop-suggestion');
  const offer = byId('crop-suggest');
  const useSuggestion = byId('crop-suggest-use');
  let value = { ...WHOLE };
  let timer = 0;
  let announceTimer = 0;
  let drag = null;
  /** The server's suggested box for this picture, or null. */
  let suggestion = null;

  function describe() {
    if (!cropParam(value)) return 'Search area: the whole picture.';
    return `Search area: ${pct(value.w)} wide and ${pct(value.h)} tall, ` +
      `${pct(value.x)} from the left and ${pct(value.y)} from the top.`;
  }

  function paint() {
    box.style.left = `${value.x * 100}%`;
    box.style.top = `${value.y * 100}%`;
    box.style.width = `${value.w * 100}%`;
    box.style.height = `${value.h * 100}%`;
    reset.hidden = !cropParam(value);
    paintSuggestion();
  }

  /** The offer shows while there is a suggestion and the shopper searches the whole picture. */
  function paintSuggestion() {
    const shown = Boolean(suggestion) && !cropParam(value);
    offer.hidden = !shown;
    outline.hidden = !shown;
    if (!shown) return;
    outline.style.left = `${suggestion.x * 100}%`;
    outline.style.top = `${suggestion.y * 100}%`;
    outline.style.width = `${suggestion.w * 100}%`;
    outline.style.height = `${suggestion.h * 100}%`;
  }

  function set(next, { announce = true, notify = true } = {}) {
    const w = clamp(next.w, MIN, 1);
    const h = clamp(next.h, MIN, 1);
    value = { x: clamp(next.x, 0, 1 - w), y: clamp(next.y, 0, 1 - h), w, h };
    paint();
    if (announce) {
      window.clearTimeout(announceTimer);
      announceTimer = window.setTimeout(() => { status.textContent = describe(); }, 150);
    }
    if (notify) {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => onChange(cropParam(value)), DEBOUNCE_MS);
    }
  }

  box.addEventListener('keydown', (event) => {
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (event.key === 'Home' || event.key === 'Escape') {
      if (!cropParam(value)) return;
      event.preventDefault();
      event.stopPropagation(); // Escape resets the box; it does not close the drawer
      set({ ...WHOLE });
      return;
    }
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    const [dx, dy] = move;
    if (event.shiftKey) set({ ...value, w: value.w + dx * STEP, h: value.h + dy * STEP });
    else set({ ...value, x: value.x + dx * STEP, y: value.y + dy * STEP });
  });

  box.addEventListener('pointerdown', (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    box.focus();
    const corner = event.target instanceof HTMLElement ? event.target.dataset.corner ?? '' : '';
    const rect = frame.getBoundingClientRect();
    drag = { id: event.pointerId, corner, x: event.clientX, y: event.clientY, start: { ...value }, rect };
    box.setPointerCapture(event.pointerId);
  });
  box.addEventListener('pointermove', (event) => {
    if (!drag || event.pointerId !== drag.id) return;
    const dx = (event.clientX - drag.x) / (drag.rect.width || 1);
    const dy = (event.clientY - drag.y) / (drag.rect.height || 1);
    const s = drag.start;
    if (!drag.corner) {
      set({ ...s, x: s.x + dx, y: s.y + dy }, { announce: false, notify: false });
      return;
    }
    let { x, y, w, h } = s;
    if (drag.corner.includes('w')) { x = clamp(s.x + dx, 0, s.x + s.w - MIN); w = s.x + s.w - x; }
    if (drag.corner.includes('e')) w = clamp(s.w + dx, MIN, 1 - s.x);
    if (drag.corner.includes('n')) { y = clamp(s.y + dy, 0, s.y + s.h - MIN); h = s.y + s.h - y; }
    if (drag.corner.includes('s')) h = clamp(s.h + dy, MIN, 1 - s.y);
    set({ x, y, w, h }, { announce: false, notify: false });
  });
  const end = (event) => {
    if (!drag || event.pointerId !== drag.id) return;
    const moved = JSON.stringify(value) !== JSON.stringify(drag.start);
    drag = null;
    // the search follows the box once it is let go (debounced), not every step of the drag:
    // a slow drag would otherwise search each pause on the way; a click alone searches nothing
    set(value, { notify: moved });
  };
  box.addEventListener('pointerup', end);
  box.addEventListener('pointercancel', end);
  reset.addEventListener('click', () => {
    set({ ...WHOLE });
    box.focus();
  });
  useSuggestion.addEventListener('click', () => {
    if (!suggestion) return;
    set({ ...suggestion });
    box.focus(); // the button goes; the box (now the suggestion) can be adjusted from here
  });

  /** A box from the API, checked: four finite fractions inside the picture, or null. */
  function validBox(raw) {
    if (!raw || typeof raw !== 'object') return null;
    const { x, y, w, h } = raw;
    const ok = [x, y, w, h].every((v) => Number.isFinite(v) && v >= 0 && v <= 1);
    if (!ok || w <= 0 || h <= 0 || x + w > 1.0001 || y + h > 1.0001) return null;
    return { x, y, w: Math.min(w, 1 - x), h: Math.min(h, 1 - y) };
  }

  return {
    /** Shows the box over a new picture, as the whole picture (no search is started). */
    show() {
      root.hidden = false;
      window.clearTimeout(timer);
      suggestion = null;
      set({ ...WHOLE }, { announce: false, notify: false });
      status.textContent = '';
    },
    hide() {
      root.hidden = true;
      window.clearTimeout(timer);
      value = { ...WHOLE };
      suggestion = null;
      paintSuggestion();
    },
    /**
     * Offers the answer's `suggested_crop` for the picture shown (null: none). The same box
     * again (every answer for the picture carries it) changes nothing and is not re-announced.
     */
    suggest(raw) {
      const next = root.hidden ? null : validBox(raw);
      const same = JSON.stringify(next) === JSON.stringify(suggestion);
      suggestion = next;
      paintSuggestion();
      if (same || !next || cropParam(value)) return;
      window.clearTimeout(announceTimer);
      status.textContent = 'A suggested crop was found around the object in your picture. ' +
        'Use the "Use suggested crop" button to search only that area.';
    },
    /** The current box for the API ('' for the whole picture). */
    get value() {
      return root.hidden ? '' : cropParam(value);
    },
  };
}
