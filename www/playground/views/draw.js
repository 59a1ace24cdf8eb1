// @ts-check
// Draw a digit: a pad for mouse, touch and pen (pointer events), with a brush
// size and Clear. The wasm core preprocesses the drawing as MNIST was made
// (bounding box to 20x20, centre of mass to the middle of 28x28); the view
// shows that input, the model's reconstruction of it, live while training, and
// the scatter shows its point.

import { DATA_IMAGE } from '../state.js';
import { ImageGrid } from './image-grid.js';
import { inkScale, themeColor } from './colours.js';
import { onShown, unwatch } from './explore-shared.js';

const PAD = 280; // the pad's own pixels (10 per model pixel)
const SEND_MS = 120;

const template = `
  <section class="card" data-view="draw" aria-labelledby="h-draw">
    <header>
      <h3 id="h-draw">Draw a digit</h3>
      <span class="draw-opts">
        <label class="check">brush <input type="range" class="brush" min="1" max="5" step="0.5" value="2.5" aria-label="Brush size"></label>
        <button type="button" class="clear">Clear</button>
      </span>
    </header>
    <p class="sub">Draw with a mouse, a finger or a pen. The model encodes it and draws it back, and its point appears on the scatter.</p>
    <div class="draw-row">
      <canvas class="pad" width="${PAD}" height="${PAD}" tabindex="0" role="application"
        aria-label="Drawing pad, 28 by 28" aria-describedby="draw-keys"></canvas>
      <div class="draw-out">
        <span>as the model sees it</span>
        <canvas class="digits draw-in" width="28" height="28" role="img" aria-label="Your digit, preprocessed: nothing drawn yet"></canvas>
        <span>its reconstruction</span>
        <canvas class="digits draw-recon" width="28" height="28" role="img" aria-label="Reconstruction of your digit: nothing drawn yet"></canvas>
      </div>
    </div>
    <p id="draw-keys" class="sr-only">With the keyboard: arrow keys move the pen, Space lifts it or puts it down, Delete clears.</p>
    <p class="sub draw-info" aria-live="polite"></p>
  </section>`;

/** @type {import('./index.js').ViewModule['mount']} */
function mount(root, ctx) {
  const { host, state, request, report } = ctx;
  const $ = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (root.querySelector(sel));
  const pad = /** @type {HTMLCanvasElement} */ ($('.pad'));
  const brush = /** @type {HTMLInputElement} */ ($('.brush'));
  const input = new ImageGrid(/** @type {HTMLCanvasElement} */ ($('.draw-in')), host);
  const recon = new ImageGrid(/** @type {HTMLCanvasElement} */ ($('.draw-recon')), host);
  // The ink itself, white on black, apart from the themed pad the reader sees.
  const ink = new OffscreenCanvas(PAD, PAD);
  const inkCtx = /** @type {OffscreenCanvasRenderingContext2D} */ (ink.getContext('2d', { willReadFrequently: true }));
  /** @type {{ x: number, y: number }[][]} strokes so far (pad pixels), to repaint on a theme change */
  let strokes = [];
  /** @type {{ x: number, y: number } | null} */
  let last = null;
  let dirty = false;
  let sending = false;
  let timer = 0;
  /** @type {{ x: number, y: number, down: boolean } | null} the keyboard pen */
  let pen = null;

  function clearInk() {
    inkCtx.fillStyle = '#000';
    inkCtx.fillRect(0, 0, PAD, PAD);
  }
  clearInk();

  function repaint() {
    const c = /** @type {CanvasRenderingContext2D} */ (pad.getContext('2d'));
    const { paper, ink: inkRgb } = inkScale(host);
    const src = inkCtx.getImageData(0, 0, PAD, PAD).data;
    const img = c.createImageData(PAD, PAD);
    const out = img.data;
    for (let i = 0; i < src.length; i += 4) {
      const p = src[i] / 255;
      out[i] = paper[0] + (inkRgb[0] - paper[0]) * p;
      out[i + 1] = paper[1] + (inkRgb[1] - paper[1]) * p;
      out[i + 2] = paper[2] + (inkRgb[2] - paper[2]) * p;
      out[i + 3] = 255;
    }
    c.putImageData(img, 0, 0);
    if (pen) {
      c.strokeStyle = themeColor(host, '--accent');
      c.lineWidth = 2;
      c.beginPath();
      c.arc(pen.x, pen.y, width() / 2 + 2, 0, Math.PI * 2);
      c.stroke();
    }
  }

  const width = (/** @type {number} */ pressure = 0.5) => Number(brush.value) * 10 * (0.6 + 0.8 * pressure);

  /**
   * @param {{ x: number, y: number }} a
   * @param {{ x: number, y: number }} b
   * @param {number} w
   */
  function segment(a, b, w) {
    inkCtx.strokeStyle = '#fff';
    inkCtx.fillStyle = '#fff';
    inkCtx.lineCap = 'round';
    inkCtx.lineJoin = 'round';
    inkCtx.lineWidth = w;
    inkCtx.beginPath();
    inkCtx.moveTo(a.x, a.y);
    inkCtx.lineTo(b.x, b.y);
    inkCtx.stroke();
    dirty = true;
  }

  /** @param {PointerEvent} e */
  function at(e) {
    const r = pad.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / r.width) * PAD, y: ((e.clientY - r.top) / r.height) * PAD };
  }

  pad.addEventListener('pointerdown', (e) => {
    e.preventDefault();
    pad.setPointerCapture(e.pointerId);
    last = at(e);
    strokes.push([last]);
    segment(last, last, width(e.pointerType === 'pen' ? e.pressure : 0.5));
    repaint();
    schedule();
  });
  pad.addEventListener('pointermove', (e) => {
    if (!last || !pad.hasPointerCapture(e.pointerId)) return;
    const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [e];
    for (const ev of events.length ? events : [e]) {
      const p = at(ev);
      segment(last, p, width(ev.pointerType === 'pen' ? ev.pressure : 0.5));
      strokes[strokes.length - 1].push(p);
      last = p;
    }
    repaint();
    schedule();
  });
  const end = () => {
    if (!last) return;
    last = null;
    schedule(0);
  };
  pad.addEventListener('pointerup', end);
  pad.addEventListener('pointercancel', end);

  pad.addEventListener('focus', () => {
    pen ??= { x: PAD / 2, y: PAD / 2, down: false };
    repaint();
  });
  pad.addEventListener('blur', () => {
    pen = null;
    repaint();
  });
  pad.addEventListener('keydown', (e) => {
    pen ??= { x: PAD / 2, y: PAD / 2, down: false };
    const step = e.shiftKey ? 28 : 10;
    const from = { x: pen.x, y: pen.y };
    switch (e.key) {
      case 'ArrowLeft': pen.x = Math.max(0, pen.x - step); break;
      case 'ArrowRight': pen.x = Math.min(PAD, pen.x + step); break;
      case 'ArrowUp': pen.y = Math.max(0, pen.y - step); break;
      case 'ArrowDown': pen.y = Math.min(PAD, pen.y + step); break;
      case ' ':
        pen.down = !pen.down;
        if (pen.down) segment(from, from, width());
        $('.draw-info').textContent = pen.down ? 'Pen down: arrow keys draw.' : 'Pen up.';
        break;
      case 'Delete':
      case 'Backspace':
        clear();
        e.preventDefault();
        return;
      default:
        return;
    }
    e.preventDefault();
    if (pen.down && e.key !== ' ') segment(from, { x: pen.x, y: pen.y }, width());
    repaint();
    if (dirty) schedule();
  });

  /** Sends the drawing soon (at most every SEND_MS while drawing). @param {number} [delay] */
  function schedule(delay = SEND_MS) {
    if (timer) return;
    timer = window.setTimeout(() => {
      timer = 0;
      send();
    }, delay);
  }

  async function send() {
    if (!dirty) return;
    if (sending || !state.value.ready) {
      schedule();
      return;
    }
    dirty = false;
    sending = true;
    const rgba = inkCtx.getImageData(0, 0, PAD, PAD).data;
    const grey = new Uint8Array(PAD * PAD);
    for (let i = 0; i < grey.length; i++) grey[i] = rgba[i * 4];
    try {
      show(await request('draw', { pixels: grey, width: PAD, height: PAD }, [grey.buffer]));
    } catch (err) {
      report(err);
    } finally {
      sending = false;
    }
  }

  /**
   * Shows the worker's answer to a drawing, and puts it in the state for the
   * views that use it (the scatter's point, the pickers' "your drawing").
   * @param {import('../protocol.js').DrawResult & { ms?: number }} r
   */
  function show(r) {
    if ('empty' in r) {
      state.set({ drawing: null });
      input.show(new Uint8Array(784), 1, 1, DATA_IMAGE);
      recon.show(new Float32Array(784), 1, 1, DATA_IMAGE);
      $('.draw-in').setAttribute('aria-label', 'Your digit, preprocessed: nothing drawn yet');
      $('.draw-recon').setAttribute('aria-label', 'Reconstruction of your digit: nothing drawn yet');
      return;
    }
    state.set({ drawing: { input: r.input, recon: r.recon, point: r.point } });
    input.show(r.input, 1, 1, DATA_IMAGE);
    recon.show(r.recon, 1, 1, DATA_IMAGE);
    $('.draw-in').setAttribute('aria-label', 'Your digit, cropped, scaled to 20 by 20 and centred by its centre of mass, as the model sees it');
    $('.draw-recon').setAttribute('aria-label', 'The model\'s reconstruction of your digit');
    root.dataset.ms = String(Math.round((r.ms ?? 0) * 10) / 10);
  }

  function clear() {
    strokes = [];
    clearInk();
    repaint();
    dirty = true;
    schedule(0);
  }
  $('.clear').addEventListener('click', clear);

  const stop = onShown(root, (s) => {
    if (!s) unwatch(ctx, 'draw');
    else if (state.value.drawing) {
      dirty = true;
      schedule(0);
    }
  });
  repaint();

  return {
    update(d) {
      if (d.model && strokes.length) {
        // a new model: draw the same digit again through it
        dirty = true;
        schedule(0);
      }
      // (while training, the worker refreshes the drawing's reconstruction now and then)
      const x = d.explore;
      if (x?.item === 'draw') show(/** @type {any} */ (x));
    },
    redraw() {
      repaint();
      input.redraw();
      recon.redraw();
    },
    destroy() {
      clearTimeout(timer);
      stop();
    },
  };
}

export default /** @type {import('./index.js').ViewModule} */ ({ name: 'draw', place: 'grid', template, mount });
