// @ts-check
// What the explore views share (scatter, draw, interpolate, inpaint, traverse,
// KL): the ten class colours, the plot scale of the latent axes, and the digit
// picker (ten test digits, one per class, as buttons). What they share of the
// state (the class digits, the digit picked on the scatter, the drawing) is in
// the element's one state object (state.js).

import { DATA_IMAGE } from '../state.js';
import { ImageGrid } from './image-grid.js';

/**
 * @typedef {import('./index.js').ViewContext} ViewContext
 * @typedef {{ kind: 'test', index: number } | { kind: 'drawn' }} Source
 */

/**
 * Calls `fn` with the changed keys whenever the element's state changes, until
 * the view's context is aborted.
 * @param {ViewContext} ctx
 * @param {(keys: string[]) => void} fn
 */
export function onState(ctx, fn) {
  ctx.state.addEventListener('change', (e) => fn(/** @type {CustomEvent<{ keys: string[] }>} */ (e).detail.keys), { signal: ctx.signal });
}

// Ten class colours, told apart with the common colour-vision deficiencies:
// Paul Tol's "muted" scheme (nine colours) and a neutral grey, with lighter
// variants for the dark theme; every class also has its own marker shape.
const LIGHT = ['#CC6677', '#332288', '#DDAA33', '#117733', '#88CCEE', '#882255', '#44AA99', '#999933', '#AA4499', '#777777'];
const DARK = ['#EE8899', '#8877EE', '#DDCC77', '#44BB66', '#88CCEE', '#CC5588', '#44AA99', '#BBBB55', '#CC77BB', '#BBBBBB'];
export const SHAPES = ['circle', 'square', 'triangle', 'diamond', 'down', 'plus', 'cross', 'ring', 'box', 'star'];

/**
 * The colour of class `k` (255: no label) in the element's theme.
 * @param {Element} host
 * @param {number} k
 */
export function labelColour(host, k) {
  if (k > 9) return getComputedStyle(host).getPropertyValue('--muted').trim() || '#888';
  return isDark(host) ? DARK[k] : LIGHT[k];
}

/**
 * All ten class colours and the no-label one (index 10), read once.
 * @param {Element} host
 */
export function labelColours(host) {
  const palette = isDark(host) ? DARK : LIGHT;
  return [...palette, getComputedStyle(host).getPropertyValue('--muted').trim() || '#888'];
}

/** @param {Element} host */
function isDark(host) {
  const paper = getComputedStyle(host).getPropertyValue('--paper').trim();
  const m = /^#([0-9a-f]{2})/i.exec(paper);
  return m ? parseInt(m[1], 16) < 128 : false;
}

/**
 * Draws the marker of class `k` centred at (x, y), radius r.
 * @param {CanvasRenderingContext2D} ctx
 * @param {number} k
 * @param {number} x
 * @param {number} y
 * @param {number} r
 */
export function marker(ctx, k, x, y, r) {
  const shape = SHAPES[k] ?? 'circle';
  ctx.beginPath();
  switch (shape) {
    case 'square': ctx.rect(x - r * 0.85, y - r * 0.85, r * 1.7, r * 1.7); break;
    case 'triangle': ctx.moveTo(x, y - r); ctx.lineTo(x + r, y + r * 0.8); ctx.lineTo(x - r, y + r * 0.8); ctx.closePath(); break;
    case 'down': ctx.moveTo(x, y + r); ctx.lineTo(x + r, y - r * 0.8); ctx.lineTo(x - r, y - r * 0.8); ctx.closePath(); break;
    case 'diamond': ctx.moveTo(x, y - r * 1.15); ctx.lineTo(x + r, y); ctx.lineTo(x, y + r * 1.15); ctx.lineTo(x - r, y); ctx.closePath(); break;
    case 'plus': ctx.rect(x - r, y - r * 0.35, 2 * r, r * 0.7); ctx.rect(x - r * 0.35, y - r, r * 0.7, 2 * r); break;
    case 'cross': {
      const a = r * 0.3;
      ctx.moveTo(x - r, y - r + a); ctx.lineTo(x - r + a, y - r); ctx.lineTo(x + r, y + r - a); ctx.lineTo(x + r - a, y + r); ctx.closePath();
      ctx.moveTo(x + r, y - r + a); ctx.lineTo(x + r - a, y - r); ctx.lineTo(x - r, y + r - a); ctx.lineTo(x - r + a, y + r); ctx.closePath();
      break;
    }
    case 'ring': ctx.arc(x, y, r, 0, Math.PI * 2); ctx.arc(x, y, r * 0.45, 0, Math.PI * 2, true); break;
    case 'box': ctx.rect(x - r, y - r, 2 * r, 2 * r); ctx.rect(x - r * 0.4, y + r * 0.4, r * 0.8, -r * 0.8); break;
    case 'star':
      for (let i = 0; i < 10; i++) {
        const a = (i * Math.PI) / 5 - Math.PI / 2;
        const rr = i % 2 ? r * 0.45 : r * 1.2;
        if (i === 0) ctx.moveTo(x + rr * Math.cos(a), y + rr * Math.sin(a));
        else ctx.lineTo(x + rr * Math.cos(a), y + rr * Math.sin(a));
      }
      ctx.closePath();
      break;
    default: ctx.arc(x, y, r, 0, Math.PI * 2);
  }
  ctx.fill('evenodd');
}

/**
 * The latent axes' plot scale: the standard normal CDF, so the scatter lines up
 * with the latent grid, whose cells sit at the Gaussian quantiles (each cell
 * one equal slice of probability). Abramowitz-Stegun 7.1.26 erf, |error| < 1.5e-7.
 * @param {number} z
 */
export function toUnit(z) {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}

/**
 * The inverse of `toUnit` (a click's position back to a latent coordinate), by
 * bisection: a plot scale, not numerics.
 * @param {number} u  in (0, 1)
 */
export function fromUnit(u) {
  const p = Math.min(1 - 1e-6, Math.max(1e-6, u));
  let lo = -8;
  let hi = 8;
  for (let i = 0; i < 50; i++) {
    const mid = (lo + hi) / 2;
    if (toUnit(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Asks the worker to watch an item for a view (see worker/explore.js); errors
 * go to `ctx.report`.
 * @param {ViewContext} ctx
 * @param {string} item
 * @param {any} args
 */
export function watch(ctx, item, args) {
  return ctx.request('explore', { what: 'watch', item, args }).catch(ctx.report);
}

/**
 * Stops watching an item.
 * @param {ViewContext} ctx
 * @param {string} item
 */
export function unwatch(ctx, item) {
  return ctx.request('explore', { what: 'watch', item, off: true }).catch(() => { /* the element left */ });
}

/**
 * Calls `show` when the view's card is shown and `hide` when the `views`
 * attribute hides it; returns a function that stops listening.
 * @param {HTMLElement} root
 * @param {(shown: boolean) => void} changed
 */
export function onShown(root, changed) {
  const mo = new MutationObserver(() => changed(!root.hidden));
  mo.observe(root, { attributes: true, attributeFilter: ['hidden'] });
  return () => mo.disconnect();
}

/**
 * The digit picker: ten test digits, one per class (the first of each in the
 * test set), as buttons, plus "my drawing" where a view takes it.
 * @param {HTMLElement} box  an empty element to fill
 * @param {ViewContext} ctx
 * @param {{ label: string, drawing?: boolean, onPick: (src: Source) => void }} opts
 */
export function digitPicker(box, ctx, { label, drawing = false, onPick }) {
  const { state } = ctx;
  box.classList.add('picker');
  box.setAttribute('role', 'group');
  box.setAttribute('aria-label', label);
  /** @type {ImageGrid[]} */
  let thumbs = [];
  /** @type {HTMLButtonElement[]} */
  let buttons = [];
  /** @type {HTMLButtonElement | null} */
  let drawBtn = null;
  /** @type {string | null} */
  let selected = null;

  function build() {
    const cd = state.value.classDigits;
    box.textContent = '';
    thumbs = [];
    buttons = [];
    if (!cd) {
      const p = document.createElement('span');
      p.className = 'sub';
      p.textContent = 'Test digits appear once downloaded…';
      box.append(p);
      return;
    }
    const per = DATA_IMAGE.height * DATA_IMAGE.width;
    cd.indices.forEach((index, k) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'thumb';
      b.dataset.index = String(index);
      const lab = cd.labels[k] < 10 ? `a ${cd.labels[k]}` : 'a digit';
      b.setAttribute('aria-label', `Test digit ${index} (${lab})`);
      const c = document.createElement('canvas');
      c.width = 28;
      c.height = 28;
      c.className = 'digits';
      b.append(c);
      const g = new ImageGrid(c, ctx.host);
      g.last = { values: cd.images.subarray(k * per, (k + 1) * per), cols: 1, rows: 1, shape: DATA_IMAGE };
      thumbs.push(g);
      buttons.push(b);
      b.addEventListener('click', () => pick({ kind: 'test', index }));
      box.append(b);
    });
    if (drawing) {
      drawBtn = document.createElement('button');
      drawBtn.type = 'button';
      drawBtn.className = 'thumb draw-src';
      drawBtn.textContent = '✎';
      drawBtn.setAttribute('aria-label', 'Your drawing (from the Draw a digit pad)');
      drawBtn.disabled = !state.value.drawing;
      drawBtn.addEventListener('click', () => pick({ kind: 'drawn' }));
      box.append(drawBtn);
    }
    // drawn once all are in the page: one style recalculation, not one per thumbnail
    for (const t of thumbs) t.redraw();
    mark();
  }

  function mark() {
    for (const b of buttons) b.setAttribute('aria-pressed', String(selected === `test:${b.dataset.index}`));
    drawBtn?.setAttribute('aria-pressed', String(selected === 'drawn'));
  }

  /** @param {Source} src */
  function pick(src) {
    onPick(src);
  }

  onState(ctx, (keys) => {
    if (keys.includes('classDigits')) build();
    if (keys.includes('drawing') && drawBtn) drawBtn.disabled = !state.value.drawing;
  });
  build();
  return {
    /** Marks the chosen source (aria-pressed). @param {Source | null} src */
    select(src) {
      selected = src ? (src.kind === 'drawn' ? 'drawn' : `test:${src.index}`) : null;
      mark();
    },
    redraw() {
      for (const t of thumbs) t.redraw();
    },
  };
}

/**
 * Loads the class digits into the state once the test set has arrived (any
 * view may call it; it asks once per mounting of the views, unless `again`).
 * @param {ViewContext} ctx
 * @param {boolean} [again]
 */
export function loadClassDigits(ctx, again = false) {
  if (asked.has(ctx.signal) && !again) return;
  asked.add(ctx.signal);
  ctx.request('explore', { what: 'classDigits' }).then(
    (cd) => ctx.state.set({ classDigits: cd }),
    (err) => {
      asked.delete(ctx.signal);
      ctx.report(err);
    },
  );
}
/** @type {WeakSet<AbortSignal>} the views' contexts that asked for the class digits */
const asked = new WeakSet();

/**
 * "a 7" / "unlabelled".
 * @param {number} k
 */
export function labelName(k) {
  return k < 10 ? `a ${k}` : 'unlabelled';
}

/**
 * A short description of a source.
 * @param {Source | null} src
 */
export function sourceName(src) {
  if (!src) return 'none';
  return src.kind === 'drawn' ? 'your drawing' : `test digit ${src.index}`;
}
