// @ts-check
// Inpainting and denoising: pick a digit, erase part of it (brush or box) or
// add noise (salt-and-pepper or Gaussian, with a strength), and let the model
// repair it for K steps: x <- mask * x_known + (1 - mask) * decode(encode(x))
// (in the wasm core). Shows the steps and the error in the damaged region of
// the repaired image beside that of the damaged one. Once repaired, it repairs
// again now and then while training runs.

import { DATA_IMAGE } from '../state.js';
import { ImageGrid } from './image-grid.js';
import { inkScale, themeColor } from './colours.js';
import { tile } from './pixels.js';
import { onState, digitPicker, sourceName, watch, unwatch, onShown, loadClassDigits } from './explore-shared.js';

/** @typedef {import('./explore-shared.js').Source} Source */

const SIDE = 28;
const SHOWN_STEPS = 8;

const template = `
  <section class="card wide" data-view="inpaint" aria-labelledby="h-inpaint">
    <header>
      <h3 id="h-inpaint">Repair a damaged digit</h3>
    </header>
    <p class="sub">Pick a digit, damage it, and press Repair: the model fills the damaged part from what it learned, step by step.</p>
    <div class="ippicker"></div>
    <div class="inpaint-row">
      <div class="inpaint-tools">
        <fieldset class="field tools"><legend>Damage</legend>
          <div class="radios">
            <label><input type="radio" name="tool" value="box" checked> box</label>
            <label><input type="radio" name="tool" value="brush"> brush</label>
            <label><input type="radio" name="tool" value="salt"> salt &amp; pepper</label>
            <label><input type="radio" name="tool" value="gauss"> Gaussian noise</label>
          </div>
        </fieldset>
        <label class="field brush-size"><span>Brush size <output class="ibrush-out">3</output></span>
          <input type="range" class="ibrush" min="1" max="6" step="1" value="3"></label>
        <label class="field strength" hidden><span>Strength <output class="strength-out">0.30</output></span>
          <input type="range" class="istrength" min="0" max="100" step="1" value="30"></label>
        <label class="field"><span>Repair steps K <output class="iters-out">10</output></span>
          <input type="range" class="iters" min="1" max="50" step="1" value="10"></label>
        <div class="buttons">
          <button type="button" class="primary repair" disabled>Repair</button>
          <button type="button" class="undamage">Clear damage</button>
        </div>
      </div>
      <div class="inpaint-canvas">
        <canvas class="damage" width="224" height="224" tabindex="0" role="application"
          aria-label="The digit to damage" aria-describedby="inpaint-keys"></canvas>
        <p id="inpaint-keys" class="sr-only">Drag to erase with the brush, or drag a box. With the keyboard: arrow keys move the cursor; Space erases there with the brush, or sets the box's corners one after the other.</p>
      </div>
    </div>
    <div class="inpaint-result" hidden>
      <div class="recon-rows">
        <span>original</span><canvas class="digits inp-orig" width="28" height="28" role="img" aria-label="The original digit"></canvas>
        <span>damaged</span><canvas class="digits inp-damaged" width="28" height="28" role="img" aria-label="The damaged digit"></canvas>
        <span>steps</span><canvas class="digits inp-steps" width="224" height="28" role="img" aria-label="Repair steps"></canvas>
      </div>
      <p class="inpaint-error" aria-live="polite"></p>
    </div>
  </section>`;

/** @type {import('./index.js').ViewModule['mount']} */
function mount(root, ctx) {
  const { host, state } = ctx;
  const $ = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (root.querySelector(sel));
  const canvas = /** @type {HTMLCanvasElement} */ ($('.damage'));
  const brushIn = /** @type {HTMLInputElement} */ ($('.ibrush'));
  const strengthIn = /** @type {HTMLInputElement} */ ($('.istrength'));
  const itersIn = /** @type {HTMLInputElement} */ ($('.iters'));
  const repairBtn = /** @type {HTMLButtonElement} */ ($('.repair'));
  const orig = new ImageGrid(/** @type {HTMLCanvasElement} */ ($('.inp-orig')), host);
  const damaged = new ImageGrid(/** @type {HTMLCanvasElement} */ ($('.inp-damaged')), host);
  const stepsGrid = new ImageGrid(/** @type {HTMLCanvasElement} */ ($('.inp-steps')), host);

  // the digit at 28 x 28, scaled up onto the canvas
  const small = /** @type {OffscreenCanvasRenderingContext2D} */ (new OffscreenCanvas(SIDE, SIDE).getContext('2d'));
  /** @type {Source | null} */
  let source = null;
  const mask = new Uint8Array(SIDE * SIDE);
  /** @type {{ x: number, y: number, w: number, h: number } | null} */
  let box = { x: 6, y: 8, w: 16, h: 10 };
  /** @type {{ x: number, y: number } | null} a box being dragged from here */
  let boxFrom = null;
  /** @type {{ x: number, y: number } | null} the keyboard cursor, model pixels */
  let cursor = null;
  let painting = false;
  let shown = !root.hidden;
  let repaired = false;

  const tool = () => /** @type {'box' | 'brush' | 'salt' | 'gauss'} */ ((/** @type {HTMLInputElement} */ (root.querySelector('input[name="tool"]:checked'))).value);
  const strength = () => (Number(strengthIn.value) / 100) * (tool() === 'gauss' ? 2 : 1);

  const picker = digitPicker($('.ippicker'), ctx, {
    label: 'Digit to repair',
    drawing: true,
    onPick: (src) => choose(src),
  });

  /** @param {Source} src */
  function choose(src) {
    source = src;
    picker.select(src);
    repairBtn.disabled = !state.value.ready;
    canvas.setAttribute('aria-label', `The digit to damage: ${sourceName(src)}`);
    paint();
    if (repaired) repair();
  }

  function pixels() {
    if (!source) return null;
    if (source.kind === 'drawn') return state.value.drawing?.input ?? null;
    const cd = state.value.classDigits;
    const k = cd ? Array.from(cd.indices).indexOf(source.index) : -1;
    return cd && k >= 0 ? cd.images.subarray(k * 784, (k + 1) * 784) : null;
  }

  /** The picture to damage, with the erased region tinted. */
  function paint() {
    const c = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
    const W = canvas.width;
    const s = W / SIDE;
    const { paper, ink } = inkScale(host);
    c.fillStyle = themeColor(host, '--paper');
    c.fillRect(0, 0, W, W);
    const px = pixels();
    if (px) {
      small.putImageData(tile(px, 1, 1, DATA_IMAGE, { paper, ink }), 0, 0);
      c.imageSmoothingEnabled = false;
      c.drawImage(small.canvas, 0, 0, W, W);
    } else {
      c.fillStyle = themeColor(host, '--muted');
      c.font = '13px system-ui, sans-serif';
      c.textAlign = 'center';
      c.fillText('Pick a digit above', W / 2, W / 2);
      c.textAlign = 'left';
    }
    c.fillStyle = themeColor(host, '--accent');
    c.globalAlpha = 0.45;
    const t = tool();
    if (t === 'brush') {
      for (let i = 0; i < SIDE * SIDE; i++) if (mask[i]) c.fillRect((i % SIDE) * s, Math.floor(i / SIDE) * s, s, s);
    } else if (t === 'box' && box) {
      c.fillRect(box.x * s, box.y * s, box.w * s, box.h * s);
    }
    c.globalAlpha = 1;
    if (cursor) {
      c.strokeStyle = themeColor(host, '--text');
      c.lineWidth = 2;
      c.strokeRect(cursor.x * s + 1, cursor.y * s + 1, s - 2, s - 2);
      if (boxFrom && t === 'box') c.strokeRect(boxFrom.x * s, boxFrom.y * s, s, s);
    }
  }

  /** @param {number} x @param {number} y  model pixels */
  function brushAt(x, y) {
    const r = Number(brushIn.value) / 2;
    for (let j = Math.floor(y - r); j <= Math.ceil(y + r); j++) {
      for (let i = Math.floor(x - r); i <= Math.ceil(x + r); i++) {
        if (i < 0 || j < 0 || i >= SIDE || j >= SIDE) continue;
        if ((i + 0.5 - x) ** 2 + (j + 0.5 - y) ** 2 <= r * r + 0.25) mask[j * SIDE + i] = 1;
      }
    }
  }

  /** @param {{ x: number, y: number }} a @param {{ x: number, y: number }} b */
  function boxBetween(a, b) {
    const x = Math.max(0, Math.min(a.x, b.x));
    const y = Math.max(0, Math.min(a.y, b.y));
    return { x, y, w: Math.min(SIDE, Math.max(a.x, b.x) + 1) - x, h: Math.min(SIDE, Math.max(a.y, b.y) + 1) - y };
  }

  /** @param {PointerEvent} e */
  function at(e) {
    const r = canvas.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / r.width) * SIDE, y: ((e.clientY - r.top) / r.height) * SIDE };
  }
  canvas.addEventListener('pointerdown', (e) => {
    e.preventDefault();
    canvas.setPointerCapture(e.pointerId);
    const p = at(e);
    painting = true;
    if (tool() === 'brush') brushAt(p.x, p.y);
    else if (tool() === 'box') {
      boxFrom = { x: Math.floor(p.x), y: Math.floor(p.y) };
      box = boxBetween(boxFrom, boxFrom);
    }
    paint();
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!painting) return;
    const p = at(e);
    if (tool() === 'brush') brushAt(p.x, p.y);
    else if (tool() === 'box' && boxFrom) box = boxBetween(boxFrom, { x: Math.floor(p.x), y: Math.floor(p.y) });
    paint();
  });
  const end = () => {
    if (!painting) return;
    painting = false;
    boxFrom = null;
    paint();
    if (repaired) repair();
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  canvas.addEventListener('focus', () => {
    cursor ??= { x: 14, y: 14 };
    paint();
  });
  canvas.addEventListener('blur', () => {
    cursor = null;
    boxFrom = null;
    paint();
  });
  canvas.addEventListener('keydown', (e) => {
    cursor ??= { x: 14, y: 14 };
    switch (e.key) {
      case 'ArrowLeft': cursor.x = Math.max(0, cursor.x - 1); break;
      case 'ArrowRight': cursor.x = Math.min(SIDE - 1, cursor.x + 1); break;
      case 'ArrowUp': cursor.y = Math.max(0, cursor.y - 1); break;
      case 'ArrowDown': cursor.y = Math.min(SIDE - 1, cursor.y + 1); break;
      case ' ':
      case 'Enter':
        if (tool() === 'brush') brushAt(cursor.x + 0.5, cursor.y + 0.5);
        else if (tool() === 'box') {
          if (!boxFrom) boxFrom = { ...cursor };
          else {
            box = boxBetween(boxFrom, cursor);
            boxFrom = null;
          }
        }
        break;
      default:
        return;
    }
    e.preventDefault();
    paint();
  });

  function damage() {
    const t = tool();
    if (t === 'box') return box ? { kind: 'box', ...box } : null;
    if (t === 'brush') return mask.some((v) => v) ? { kind: 'brush' } : null;
    return { kind: t, strength: strength(), seed: 1 };
  }

  function repair() {
    const d = damage();
    if (!source || !state.value.ready) return;
    if (!d) {
      $('.inpaint-error').textContent = tool() === 'box' ? 'Drag a box over the digit first.' : 'Erase part of the digit with the brush first.';
      $('.inpaint-result').hidden = false;
      return;
    }
    repaired = true;
    watch(ctx, 'inpaint', { source, damage: d, iters: Number(itersIn.value), brush: mask.slice() });
  }
  repairBtn.addEventListener('click', repair);
  $('.undamage').addEventListener('click', () => {
    mask.fill(0);
    box = null;
    paint();
  });

  const showTool = () => {
    const t = tool();
    $('.brush-size').hidden = t !== 'brush';
    $('.strength').hidden = t !== 'salt' && t !== 'gauss';
    $('.strength-out').textContent = strength().toFixed(2);
    paint();
  };
  for (const r of root.querySelectorAll('input[name="tool"]')) r.addEventListener('change', showTool);
  brushIn.addEventListener('input', () => ($('.ibrush-out').textContent = brushIn.value));
  strengthIn.addEventListener('input', () => ($('.strength-out').textContent = strength().toFixed(2)));
  strengthIn.addEventListener('change', () => repaired && repair());
  itersIn.addEventListener('input', () => ($('.iters-out').textContent = itersIn.value));
  itersIn.addEventListener('change', () => repaired && repair());
  showTool();

  onState(ctx, (keys) => {
    if (keys.includes('classDigits') && state.value.classDigits) {
      if (!source) {
        const cd = state.value.classDigits;
        const k = Array.from(cd.labels).indexOf(2);
        choose({ kind: 'test', index: cd.indices[k >= 0 ? k : 0] });
      } else paint();
    }
    if (keys.includes('picked') && state.value.picked) choose({ kind: 'test', index: state.value.picked.index });
    if (keys.includes('drawing') && source?.kind === 'drawn') paint();
  });
  const stop = onShown(root, (s) => {
    shown = s;
    if (!s) unwatch(ctx, 'inpaint');
    else if (repaired) repair();
  });

  return {
    update(d) {
      if (d.originals) loadClassDigits(ctx);
      if (d.model) {
        repairBtn.disabled = !source;
        if (repaired && shown) setTimeout(repair, 0);
      }
      const x = d.explore;
      if (x?.item !== 'inpaint') return;
      $('.inpaint-result').hidden = false;
      orig.show(x.original, 1, 1, DATA_IMAGE);
      damaged.show(x.damaged, 1, 1, DATA_IMAGE);
      const k = x.iters;
      const pick = Array.from({ length: Math.min(SHOWN_STEPS, k) }, (_, i) => Math.round(((i + 1) * k) / Math.min(SHOWN_STEPS, k)) - 1);
      const shownSteps = new Float32Array(pick.length * 784);
      pick.forEach((s, i) => shownSteps.set(x.steps.subarray(s * 784, (s + 1) * 784), i * 784));
      stepsGrid.show(shownSteps, pick.length, 1, DATA_IMAGE);
      $('.inp-steps').setAttribute('aria-label', `Repair after steps ${pick.map((s) => s + 1).join(', ')}`);
      const after = x.stepErrors[x.stepErrors.length - 1];
      const region = `${x.regionPixels} damaged pixel${x.regionPixels === 1 ? '' : 's'}`;
      $('.inpaint-error').textContent = `Error in the damaged region (mean squared, per pixel, ${region}): damaged ${x.damagedError.toFixed(4)}, repaired ${after.toFixed(4)} after ${k} step${k === 1 ? '' : 's'}.`;
      root.dataset.ms = String(Math.round((x.ms ?? 0) * 10) / 10);
    },
    redraw() {
      paint();
      orig.redraw();
      damaged.redraw();
      stepsGrid.redraw();
      picker.redraw();
    },
    destroy: () => stop(),
  };
}

export default /** @type {import('./index.js').ViewModule} */ ({ name: 'inpaint', place: 'grid', template, mount });
