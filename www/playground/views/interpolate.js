// @ts-check
// Interpolation: two sources (test digits, picked here or on the scatter, or
// the drawn digit), a strip of N decodes along the straight line between their
// codes (or the great circle: slerp), animated back and forth on request.

import { DATA_IMAGE } from '../state.js';
import { ImageGrid } from './image-grid.js';
import { onState, digitPicker, sourceName, watch, unwatch, onShown, loadClassDigits } from './explore-shared.js';

/** @typedef {import('./explore-shared.js').Source} Source */

const template = `
  <section class="card wide" data-view="interpolate" aria-labelledby="h-interp">
    <header>
      <h3 id="h-interp">Blend two digits</h3>
      <span class="interp-opts">
        <label class="check">steps <input type="range" class="isteps" min="3" max="16" step="1" value="9" aria-label="Steps in the strip"> <output class="isteps-out">9</output></label>
        <label class="check"><input type="checkbox" class="slerp"> spherical (slerp)</label>
        <button type="button" class="animate" aria-pressed="false">Animate</button>
      </span>
    </header>
    <p class="sub">Decodes evenly spaced codes on the line between two digits' codes. Choose the end, then a digit (or a point on the scatter, or your drawing).</p>
    <div class="interp-ends" role="radiogroup" aria-label="Which end to set">
      <label class="end"><input type="radio" name="iend" value="a" checked> from <canvas class="digits iend-a" width="28" height="28" role="img" aria-label="From: none"></canvas></label>
      <label class="end"><input type="radio" name="iend" value="b"> to <canvas class="digits iend-b" width="28" height="28" role="img" aria-label="To: none"></canvas></label>
    </div>
    <div class="ipicker"></div>
    <div class="interp-strip">
      <canvas class="digits istrip" width="252" height="28" role="img" aria-label="Interpolation strip: choose two digits"></canvas>
      <canvas class="digits iframe" width="28" height="28" role="img" aria-label="The animated blend" hidden></canvas>
    </div>
  </section>`;

/** @type {import('./index.js').ViewModule['mount']} */
function mount(root, ctx) {
  const { host, state } = ctx;
  const $ = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (root.querySelector(sel));
  const steps = /** @type {HTMLInputElement} */ ($('.isteps'));
  const slerp = /** @type {HTMLInputElement} */ ($('.slerp'));
  const anim = /** @type {HTMLButtonElement} */ ($('.animate'));
  const strip = new ImageGrid(/** @type {HTMLCanvasElement} */ ($('.istrip')), host);
  const frame = new ImageGrid(/** @type {HTMLCanvasElement} */ ($('.iframe')), host);
  const endA = new ImageGrid(/** @type {HTMLCanvasElement} */ ($('.iend-a')), host);
  const endB = new ImageGrid(/** @type {HTMLCanvasElement} */ ($('.iend-b')), host);
  /** @type {{ a: Source | null, b: Source | null }} */
  const ends = { a: null, b: null };
  let shown = !root.hidden;
  /** @type {{ images: Float32Array, steps: number } | null} */
  let last = null;
  let raf = 0;
  let t0 = 0;

  const which = () => /** @type {'a' | 'b'} */ ((/** @type {HTMLInputElement} */ (root.querySelector('input[name="iend"]:checked'))).value);
  const picker = digitPicker($('.ipicker'), ctx, {
    label: 'Digits to blend',
    drawing: true,
    onPick: (src) => setEnd(which(), src, true),
  });

  /**
   * @param {'a' | 'b'} end
   * @param {Source} src
   * @param {boolean} advance  move the choice on to the other end
   */
  function setEnd(end, src, advance) {
    ends[end] = src;
    showEnd(end);
    if (advance && end === 'a') /** @type {HTMLInputElement} */ (root.querySelector('input[name="iend"][value="b"]')).checked = true;
    picker.select(ends[which()]);
    ask();
  }

  /** @param {'a' | 'b'} end */
  function showEnd(end) {
    const src = ends[end];
    const grid = end === 'a' ? endA : endB;
    const canvas = $(`.iend-${end}`);
    canvas.setAttribute('aria-label', `${end === 'a' ? 'From' : 'To'}: ${sourceName(src)}`);
    const px = pixelsOf(src);
    if (px) grid.show(px, 1, 1, DATA_IMAGE);
  }

  /** @param {Source | null} src */
  function pixelsOf(src) {
    if (!src) return null;
    if (src.kind === 'drawn') return state.value.drawing?.input ?? null;
    const cd = state.value.classDigits;
    const k = cd ? Array.from(cd.indices).indexOf(src.index) : -1;
    return k >= 0 && cd ? cd.images.subarray(k * 784, (k + 1) * 784) : null;
  }

  function ask() {
    if (!shown || !state.value.ready || !ends.a || !ends.b) return;
    if ((ends.a.kind === 'drawn' || ends.b.kind === 'drawn') && !state.value.drawing) return;
    watch(ctx, 'interp', { a: ends.a, b: ends.b, steps: Number(steps.value), slerp: slerp.checked });
  }

  steps.addEventListener('input', () => {
    $('.isteps-out').textContent = steps.value;
  });
  steps.addEventListener('change', ask);
  slerp.addEventListener('change', ask);
  for (const r of root.querySelectorAll('input[name="iend"]')) r.addEventListener('change', () => picker.select(ends[which()]));

  function animate() {
    const on = anim.getAttribute('aria-pressed') !== 'true';
    anim.setAttribute('aria-pressed', String(on));
    anim.textContent = on ? 'Stop' : 'Animate';
    $('.iframe').hidden = !on;
    cancelAnimationFrame(raf);
    if (on) {
      t0 = performance.now();
      raf = requestAnimationFrame(tick);
    }
  }
  anim.addEventListener('click', animate);
  /** @param {number} now */
  function tick(now) {
    raf = requestAnimationFrame(tick);
    if (!last) return;
    // back and forth, 1.5 s each way
    const n = last.steps;
    const phase = ((now - t0) / 1500) % 2;
    const pos = phase < 1 ? phase : 2 - phase;
    const k = Math.min(n - 1, Math.round(pos * (n - 1)));
    frame.show(last.images.subarray(k * 784, (k + 1) * 784), 1, 1, DATA_IMAGE);
  }

  onState(ctx, (keys) => {
    if (keys.includes('classDigits') && state.value.classDigits && !ends.a && !ends.b) {
      // a first pair to blend: a 3 and an 8 (or the first two digits)
      const cd = state.value.classDigits;
      const find = (/** @type {number} */ c, /** @type {number} */ alt) => {
        const k = Array.from(cd.labels).indexOf(c);
        return cd.indices[k >= 0 ? k : alt];
      };
      ends.a = { kind: 'test', index: find(3, 0) };
      ends.b = { kind: 'test', index: find(8, 1) };
      showEnd('a');
      showEnd('b');
      /** @type {HTMLInputElement} */ (root.querySelector('input[name="iend"][value="a"]')).checked = true;
      picker.select(ends.a);
      ask();
    } else if (keys.includes('classDigits')) {
      showEnd('a');
      showEnd('b');
    }
    if (keys.includes('picked') && state.value.picked) setEnd(which(), { kind: 'test', index: state.value.picked.index }, false);
    if (keys.includes('drawing')) {
      if (ends.a?.kind === 'drawn') showEnd('a');
      if (ends.b?.kind === 'drawn') showEnd('b');
    }
  });
  const stop = onShown(root, (s) => {
    shown = s;
    if (s) ask();
    else unwatch(ctx, 'interp');
  });

  return {
    update(d) {
      if (d.originals) loadClassDigits(ctx);
      if (d.model) {
        last = null;
        if (ends.a && ends.b) setTimeout(ask, 0);
      }
      const x = d.explore;
      if (x?.item !== 'interp') return;
      last = { images: x.images, steps: x.steps };
      strip.show(x.images, x.steps, 1, DATA_IMAGE);
      $('.istrip').setAttribute('aria-label', `Interpolation strip: ${x.steps} decodes from ${sourceName(ends.a)} to ${sourceName(ends.b)}${slerp.checked ? ' (spherical)' : ''}`);
      root.dataset.ms = String(Math.round((x.ms ?? 0) * 10) / 10);
    },
    redraw() {
      strip.redraw();
      frame.redraw();
      endA.redraw();
      endB.redraw();
      picker.redraw();
    },
    destroy() {
      cancelAnimationFrame(raf);
      stop();
    },
  };
}

export default /** @type {import('./index.js').ViewModule} */ ({ name: 'interpolate', place: 'grid', template, mount });
