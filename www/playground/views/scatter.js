// @ts-check
// The latent scatter: the mean codes of up to 2,000 test digits on the latent
// grid's plane (Z = 2: the plane itself; Z > 2: two chosen dimensions, or the
// principal plane of the codes), coloured and shaped by label. Hover or focus
// a point: its image and reconstruction; click one: pick it for the other
// views; click empty space: decode that point. Both axes use the latent grid's
// scale (Gaussian quantiles), so the grid can sit under the points.

import { DATA_IMAGE } from '../state.js';
import { ImageGrid } from './image-grid.js';
import { themeColor } from './colours.js';
import { onState, labelColour, labelColours, labelName, marker, toUnit, fromUnit, watch, unwatch, onShown, loadClassDigits, SHAPES } from './explore-shared.js';

const N = 2000;
const GRID = 15;
const HIT_PX = 9;

const template = `
  <section class="card" data-view="scatter" aria-labelledby="h-scatter">
    <header>
      <h3 id="h-scatter">Where the digits live</h3>
      <span class="scatter-opts">
        <label class="check plane-opt" hidden><input type="checkbox" class="principal"> principal plane</label>
        <span class="sdims" hidden>
          <label class="check">x <select class="sdim-x" aria-label="Scatter: latent dimension on the x axis"></select></label>
          <label class="check">y <select class="sdim-y" aria-label="Scatter: latent dimension on the y axis"></select></label>
        </span>
        <label class="check"><input type="checkbox" class="overlay"> over the latent grid</label>
      </span>
    </header>
    <p class="sub scatter-sub">The mean codes of <span class="scatter-n">up to 2,000</span> test digits, by label. Hover or tap a point to see it and its reconstruction; click one to pick it; click empty space to decode that point.</p>
    <div class="scatter-box">
      <canvas class="scatter" width="420" height="420" tabindex="0" role="application"
        aria-label="Latent scatter of test digits" aria-describedby="scatter-keys"></canvas>
      <div class="tip" hidden role="status" aria-live="polite">
        <div class="tip-imgs"><canvas class="digits tip-a" width="28" height="28"></canvas><canvas class="digits tip-b" width="28" height="28"></canvas></div>
        <span class="tip-text"></span>
      </div>
    </div>
    <p id="scatter-keys" class="sr-only">Arrow keys move a cross over the plane (with Shift, faster); N and P jump to the next and previous digit; Enter picks the digit under the cross, or decodes the point when no digit is there.</p>
    <ul class="legend classes" aria-label="Colours and shapes of the ten classes"></ul>
    <p class="sub scatter-info" aria-live="polite"></p>
  </section>`;

/** @type {import('./index.js').ViewModule['mount']} */
function mount(root, ctx) {
  const { host, state, request, report } = ctx;
  const $ = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (root.querySelector(sel));
  const canvas = /** @type {HTMLCanvasElement} */ ($('.scatter'));
  const tip = $('.tip');
  const tipA = new ImageGrid(/** @type {HTMLCanvasElement} */ ($('.tip-a')), host);
  const tipB = new ImageGrid(/** @type {HTMLCanvasElement} */ ($('.tip-b')), host);
  const principal = /** @type {HTMLInputElement} */ ($('.principal'));
  const overlay = /** @type {HTMLInputElement} */ ($('.overlay'));
  const pickX = /** @type {HTMLSelectElement} */ ($('.sdim-x'));
  const pickY = /** @type {HTMLSelectElement} */ ($('.sdim-y'));

  /** @type {{ points: Float32Array, labels: Uint8Array, indices: Uint32Array, plane: any } | null} */
  let data = null;
  /** @type {Float32Array | null} the drawn digit's point */
  let drawnPoint = null;
  /** @type {{ images: import('./pixels.js').Pixels, size: number } | null} */
  let grid = null;
  /** @type {Float32Array | null} the latent view's grid (same axes when the plane is two dims) */
  let frameGrid = null;
  let frameSize = GRID;
  let shown = !root.hidden;
  let latent = 0;
  /** @type {{ x: number, y: number } | null} the keyboard's cross, in 0..1 units */
  let cross = null;
  /** @type {number} the point under the pointer or cross (-1: none) */
  let hot = -1;
  let hoverSeq = 0;

  function spec() {
    if (principal.checked && latent > 2) return { kind: 'principal' };
    const [dx, dy] = state.value.dims;
    return { kind: 'dims', dx, dy };
  }

  function ask() {
    if (!shown || !state.value.ready) return;
    watch(ctx, 'scatter', { n: N, spec: spec() });
    if (overlay.checked && principal.checked && latent > 2) watch(ctx, 'overlay', { size: GRID });
    else unwatch(ctx, 'overlay');
  }

  principal.addEventListener('change', () => {
    grid = null;
    $('.sdims').hidden = principal.checked || latent <= 2;
    ask();
  });
  overlay.addEventListener('change', () => {
    ask();
    draw();
  });
  const pickDims = () => {
    const [x, y] = [Number(pickX.value), Number(pickY.value)];
    state.set({ dims: [x, y] });
    request('dims', { x, y }).catch(report);
  };
  pickX.addEventListener('change', pickDims);
  pickY.addEventListener('change', pickDims);
  onState(ctx, (keys) => {
    if (keys.includes('dims')) {
      pickX.value = String(state.value.dims[0]);
      pickY.value = String(state.value.dims[1]);
      if (!principal.checked) ask();
    }
  });

  /** @param {number} z */
  function setup(z) {
    latent = z;
    data = null;
    grid = null;
    frameGrid = null;
    drawnPoint = null;
    $('.plane-opt').hidden = z <= 2;
    $('.sdims').hidden = z <= 2 || principal.checked;
    for (const select of [pickX, pickY]) {
      select.textContent = '';
      for (let i = 0; i < z; i++) select.append(new Option(`z${i}`, String(i)));
    }
    pickX.value = String(state.value.dims[0]);
    pickY.value = String(state.value.dims[1]);
    draw();
  }

  // ---------------------------------------------------------------- geometry

  function size() {
    const dpr = Math.min(window.devicePixelRatio || 1, 3);
    const w = Math.max(1, canvas.clientWidth || 420);
    return { w, h: w, dpr };
  }
  /** @param {number} a @param {number} b @param {number} w @param {number} h */
  const toPx = (a, b, w, h) => [toUnit(a) * w, (1 - toUnit(b)) * h];

  /** The point nearest (px, py) within reach, or -1. @param {number} px @param {number} py */
  function nearest(px, py) {
    if (!data) return -1;
    const { w, h } = size();
    let best = -1;
    let bestD = HIT_PX * HIT_PX;
    const p = data.points;
    for (let i = 0; i < p.length / 2; i++) {
      const [x, y] = toPx(p[2 * i], p[2 * i + 1], w, h);
      const d = (x - px) ** 2 + (y - py) ** 2;
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    return best;
  }

  // ---------------------------------------------------------------- drawing

  function draw() {
    const { w, h, dpr } = size();
    const W = Math.round(w * dpr);
    const H = Math.round(h * dpr);
    if (canvas.width !== W || canvas.height !== H) {
      canvas.width = W;
      canvas.height = H;
    }
    const c = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
    c.setTransform(1, 0, 0, 1, 0, 0);
    c.fillStyle = themeColor(host, '--paper');
    c.fillRect(0, 0, W, H);
    const under = overlay.checked ? (spec().kind === 'principal' ? grid : frameGrid && { images: frameGrid, size: frameSize }) : null;
    if (under) {
      const tmp = document.createElement('canvas');
      const ig = new ImageGrid(tmp, host);
      ig.show(under.images, under.size, under.size, DATA_IMAGE);
      c.imageSmoothingEnabled = false;
      c.globalAlpha = 0.55;
      c.drawImage(tmp, 0, 0, W, H);
      c.globalAlpha = 1;
    }
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    // axes through the origin, and ticks at -2..2 on the quantile scale
    c.strokeStyle = themeColor(host, '--grid-line');
    c.fillStyle = themeColor(host, '--muted');
    c.font = '10px system-ui, sans-serif';
    c.lineWidth = 1;
    for (const t of [-2, -1, 0, 1, 2]) {
      const [x, y] = toPx(t, t, w, h);
      c.beginPath();
      c.moveTo(Math.round(x) + 0.5, 0);
      c.lineTo(Math.round(x) + 0.5, h);
      c.moveTo(0, Math.round(y) + 0.5);
      c.lineTo(w, Math.round(y) + 0.5);
      c.stroke();
      c.fillText(String(t), x + 2, h - 3);
      if (t !== 0) c.fillText(String(t), 2, y - 2);
    }
    if (!data) {
      c.textAlign = 'center';
      c.fillText(state.value.ready ? 'Encoding the test digits…' : 'The scatter appears once the model is ready.', w / 2, h / 2);
      c.textAlign = 'left';
      return;
    }
    const r = Math.max(2.2, w / 150);
    const p = data.points;
    const colours = labelColours(host);
    for (let i = 0; i < p.length / 2; i++) {
      const k = data.labels[i];
      c.fillStyle = colours[k < 10 ? k : 10];
      const [x, y] = toPx(p[2 * i], p[2 * i + 1], w, h);
      marker(c, k < 10 ? k : 0, x, y, r);
    }
    const ink = themeColor(host, '--text');
    if (hot >= 0) {
      const [x, y] = toPx(p[2 * hot], p[2 * hot + 1], w, h);
      c.strokeStyle = ink;
      c.lineWidth = 2;
      c.beginPath();
      c.arc(x, y, r * 2.4, 0, Math.PI * 2);
      c.stroke();
    }
    const picked = state.value.picked?.index ?? null;
    if (picked !== null) {
      const i = data.indices.indexOf(picked);
      if (i >= 0) {
        const [x, y] = toPx(p[2 * i], p[2 * i + 1], w, h);
        c.strokeStyle = themeColor(host, '--accent');
        c.lineWidth = 2.5;
        c.strokeRect(x - r * 2.6, y - r * 2.6, r * 5.2, r * 5.2);
      }
    }
    // (what the page shows, readable by tests and scripts)
    canvas.dataset.points = String(p.length / 2);
    canvas.dataset.drawn = drawnPoint ? `${drawnPoint[0].toFixed(3)},${drawnPoint[1].toFixed(3)}` : '';
    if (drawnPoint) {
      const [x, y] = toPx(drawnPoint[0], drawnPoint[1], w, h);
      c.fillStyle = themeColor(host, '--accent');
      c.strokeStyle = themeColor(host, '--bg');
      c.lineWidth = 2;
      c.beginPath();
      c.arc(x, y, r * 2.8, 0, Math.PI * 2);
      c.fill();
      c.stroke();
      c.fillStyle = ink;
      c.font = '600 12px system-ui, sans-serif';
      c.fillText('your digit', x + r * 3.4, y + 4);
    }
    if (cross) {
      const x = cross.x * w;
      const y = cross.y * h;
      c.strokeStyle = ink;
      c.lineWidth = 1.5;
      c.beginPath();
      c.moveTo(x - 9, y);
      c.lineTo(x + 9, y);
      c.moveTo(x, y - 9);
      c.lineTo(x, y + 9);
      c.stroke();
    }
  }

  function legend() {
    const ul = $('.classes');
    ul.textContent = '';
    for (let k = 0; k < 10; k++) {
      const li = document.createElement('li');
      const sw = document.createElement('canvas');
      sw.width = 14;
      sw.height = 14;
      sw.className = 'marker';
      sw.setAttribute('aria-hidden', 'true');
      const c = /** @type {CanvasRenderingContext2D} */ (sw.getContext('2d'));
      c.fillStyle = labelColour(host, k);
      marker(c, k, 7, 7, 5);
      li.append(sw, `${k}`);
      li.setAttribute('aria-label', `${k}: ${SHAPES[k]}`);
      ul.append(li);
    }
  }

  // ---------------------------------------------------------------- tooltip

  /**
   * @param {number} px
   * @param {number} py
   */
  function placeTip(px, py) {
    const { w } = size();
    tip.hidden = false;
    tip.style.left = `${Math.min(px + 14, w - 150)}px`;
    tip.style.top = `${Math.max(0, py - 70)}px`;
  }

  /** Shows a point's digit and reconstruction. @param {number} i @param {number} px @param {number} py */
  async function showPoint(i, px, py) {
    if (!data) return;
    const index = data.indices[i];
    const k = data.labels[i];
    const seq = ++hoverSeq;
    placeTip(px, py);
    $('.tip-text').textContent = `Test digit ${index}, ${labelName(k)}: loading…`;
    try {
      const r = await request('explore', { what: 'digit', index });
      if (seq !== hoverSeq) return;
      tipA.show(r.image, 1, 1, DATA_IMAGE);
      tipB.show(r.recon, 1, 1, DATA_IMAGE);
      $('.tip-text').textContent = `Test digit ${index}, ${labelName(k)}: the image (left) and its reconstruction (right). Click to pick it.`;
    } catch (err) {
      report(err);
    }
  }

  /** Decodes the plane point under (px, py). @param {number} px @param {number} py */
  async function decodeAt(px, py) {
    if (!data) return;
    const { w, h } = size();
    const a = fromUnit(px / w);
    const b = fromUnit(1 - py / h);
    const seq = ++hoverSeq;
    placeTip(px, py);
    try {
      const img = await request('explore', { what: 'decodePlane', points: new Float32Array([a, b]) });
      if (seq !== hoverSeq) return;
      tipA.show(img, 1, 1, DATA_IMAGE);
      /** @type {HTMLElement} */ (root.querySelector('.tip-b')).hidden = true;
      $('.tip-text').textContent = `Decoded at (${a.toFixed(2)}, ${b.toFixed(2)}): no digit there, this is what the decoder draws.`;
    } catch (err) {
      report(err);
    }
  }

  /** @param {number} i */
  function pickPoint(i) {
    if (!data) return;
    const index = data.indices[i];
    state.set({ picked: { index } });
    $('.scatter-info').textContent = `Picked test digit ${index} (${labelName(data.labels[i])}): inpainting and traversal use it.`;
    draw();
  }

  function hideTip() {
    hoverSeq++;
    tip.hidden = true;
    /** @type {HTMLElement} */ (root.querySelector('.tip-b')).hidden = false;
  }

  /** @param {PointerEvent} e */
  const local = (e) => {
    const r = canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };
  let downAt = /** @type {number[] | null} */ (null);
  canvas.addEventListener('pointermove', (e) => {
    if (e.pointerType === 'touch') return;
    const [x, y] = local(e);
    const i = nearest(x, y);
    if (i !== hot) {
      hot = i;
      draw();
      if (i >= 0) showPoint(i, x, y);
      else hideTip();
    }
  });
  canvas.addEventListener('pointerleave', () => {
    if (hot >= 0) {
      hot = -1;
      draw();
    }
    if (!cross) hideTip();
  });
  canvas.addEventListener('pointerdown', (e) => {
    downAt = local(e);
  });
  canvas.addEventListener('pointerup', (e) => {
    if (!downAt) return;
    const [x, y] = local(e);
    const moved = Math.hypot(x - downAt[0], y - downAt[1]) > 6;
    downAt = null;
    if (moved) return;
    const i = nearest(x, y);
    if (e.pointerType === 'touch' && i >= 0 && i !== hot) {
      // a first tap shows the digit; a second one picks it
      hot = i;
      draw();
      showPoint(i, x, y);
      return;
    }
    if (i >= 0) pickPoint(i);
    else {
      hot = -1;
      draw();
      decodeAt(x, y);
    }
  });

  canvas.addEventListener('focus', () => {
    if (!cross) cross = { x: 0.5, y: 0.5 };
    moved();
  });
  canvas.addEventListener('blur', () => {
    cross = null;
    hot = -1;
    hideTip();
    draw();
  });
  function moved() {
    if (!cross) return;
    const { w, h } = size();
    const i = nearest(cross.x * w, cross.y * h);
    hot = i;
    draw();
    if (i >= 0) showPoint(i, cross.x * w, cross.y * h);
    else hideTip();
  }
  canvas.addEventListener('keydown', (e) => {
    if (!cross) cross = { x: 0.5, y: 0.5 };
    const step = e.shiftKey ? 0.08 : 0.015;
    const { w, h } = size();
    switch (e.key) {
      case 'ArrowLeft': cross.x = Math.max(0, cross.x - step); break;
      case 'ArrowRight': cross.x = Math.min(1, cross.x + step); break;
      case 'ArrowUp': cross.y = Math.max(0, cross.y - step); break;
      case 'ArrowDown': cross.y = Math.min(1, cross.y + step); break;
      case 'n':
      case 'p': {
        if (!data || !data.indices.length) return;
        const n = data.indices.length;
        const i = hot < 0 ? 0 : (hot + (e.key === 'n' ? 1 : n - 1)) % n;
        const [x, y] = toPx(data.points[2 * i], data.points[2 * i + 1], w, h);
        cross = { x: x / w, y: y / h };
        break;
      }
      case 'Enter':
      case ' ':
        e.preventDefault();
        if (hot >= 0) pickPoint(hot);
        else decodeAt(cross.x * w, cross.y * h);
        return;
      case 'Escape':
        hideTip();
        return;
      default:
        return;
    }
    e.preventDefault();
    moved();
  });

  const resize = new ResizeObserver(() => draw());
  resize.observe(canvas);
  const stop = onShown(root, (s) => {
    shown = s;
    if (s) ask();
    else {
      unwatch(ctx, 'scatter');
      unwatch(ctx, 'overlay');
    }
  });
  onState(ctx, (keys) => {
    // a drawing answered, or cleared: its point on the plane (the worker projects it on the last scatter's plane)
    if (keys.includes('drawing')) {
      drawnPoint = state.value.drawing?.point ?? null;
      draw();
    }
  });
  legend();

  return {
    update(d) {
      if (d.model) setup(d.model.latent);
      if (d.originals) {
        loadClassDigits(ctx);
        ask();
      }
      if (d.frame?.grid) {
        frameGrid = d.frame.grid;
        frameSize = d.frame.gridSize;
        if (overlay.checked) draw();
      }
      const x = d.explore;
      if (x?.item === 'scatter') {
        data = { points: x.points, labels: x.labels, indices: x.indices, plane: x.plane };
        $('.scatter-n').textContent = x.indices.length.toLocaleString('en-US');
        if (x.drawnPoint) drawnPoint = x.drawnPoint;
        if (hot >= data.indices.length) hot = -1;
        const pl = x.plane;
        const planeText = pl.kind === 'principal'
          ? `the principal plane of the codes (it holds ${(100 * pl.explained[0]).toFixed(0)}% + ${(100 * pl.explained[1]).toFixed(0)}% of their variance)`
          : latent > 2 ? `dimensions z${pl.dx} and z${pl.dy}` : 'the 2-D latent plane';
        canvas.setAttribute('aria-label', `Latent scatter of ${x.indices.length} test digits on ${planeText}. Axes on the Gaussian-quantile scale of the latent grid.`);
        $('.scatter-info').dataset.ms = String(Math.round((x.ms ?? 0) * 10) / 10);
        // labels arrived after the class digits were first loaded: load them again
        const cd = state.value.classDigits;
        if (cd && cd.labels.every((l) => l > 9) && x.labels.some((/** @type {number} */ l) => l < 10)) {
          loadClassDigits(ctx, true);
        }
        draw();
      }
      if (x?.item === 'overlay') {
        grid = { images: x.images, size: x.size };
        draw();
      }
    },
    redraw() {
      legend();
      tipA.redraw();
      tipB.redraw();
      draw();
    },
    destroy() {
      resize.disconnect();
      stop();
    },
  };
}

export default /** @type {import('./index.js').ViewModule} */ ({ name: 'scatter', place: 'grid', template, mount });
