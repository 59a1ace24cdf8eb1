// @ts-check
// Per-dimension KL and active units: a live bar chart of the mean KL of each
// latent dimension over 1,000 test digits (log scale), the 0.01-nat line, and
// the count of dimensions above it (the posterior-collapse literature's
// "active units"), so β and warm-up switching dimensions off can be seen.

import { themeColor } from './colours.js';
import { formatNum } from './chart.js';
import { watch, unwatch, onShown } from './explore-shared.js';

const N = 1000;

const template = `
  <section class="card" data-view="kl" aria-labelledby="h-kl">
    <header>
      <h3 id="h-kl">KL per dimension</h3>
      <label class="check"><input type="checkbox" class="kl-sort"> sort by KL</label>
    </header>
    <p class="sub">Mean KL(q(z|x) ‖ N(0, 1)) of each latent dimension over <span class="kl-n">${N.toLocaleString('en-US')}</span> test digits, in nats. Dimensions under the dashed line (0.01) carry almost nothing: the model switched them off.</p>
    <p class="kl-count"><strong class="kl-active">–</strong> <span class="kl-of">active units</span><span class="kl-beta"></span></p>
    <div class="chart-box kl-box"><canvas class="klbars" tabindex="0" role="img" aria-label="KL per dimension: no data yet" aria-describedby="kl-keys"></canvas></div>
    <p id="kl-keys" class="sr-only">Arrow keys move between the dimensions and read each one's KL.</p>
    <p class="sub kl-focus" aria-live="polite"></p>
  </section>`;

/** @type {import('./index.js').ViewModule['mount']} */
function mount(root, ctx) {
  const { host, state } = ctx;
  const $ = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (root.querySelector(sel));
  const canvas = /** @type {HTMLCanvasElement} */ ($('.klbars'));
  const sort = /** @type {HTMLInputElement} */ ($('.kl-sort'));
  /** @type {{ kl: Float32Array, order: Uint32Array, active: number, threshold: number, total: number } | null} */
  let data = null;
  let focus = -1;
  let shown = !root.hidden;

  function ask() {
    if (shown && state.value.ready) watch(ctx, 'kl', { n: N });
  }

  /** The dims in drawing order. */
  function dims() {
    if (!data) return [];
    return sort.checked ? Array.from(data.order) : Array.from(data.kl, (_, i) => i);
  }

  function draw() {
    const dpr = Math.min(window.devicePixelRatio || 1, 3);
    const W = canvas.clientWidth;
    const H = canvas.clientHeight;
    if (W < 10 || H < 10) return;
    canvas.width = Math.round(W * dpr);
    canvas.height = Math.round(H * dpr);
    const c = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.clearRect(0, 0, W, H);
    c.font = '11px system-ui, sans-serif';
    const pad = { l: 44, r: 8, t: 8, b: 20 };
    const pw = W - pad.l - pad.r;
    const ph = H - pad.t - pad.b;
    const muted = themeColor(host, '--muted');
    if (!data) {
      c.fillStyle = muted;
      c.textAlign = 'center';
      c.fillText('The KL of each dimension appears once the model is ready.', W / 2, H / 2);
      return;
    }
    const lo = -3; // log10 of 0.001 nats
    const max = Math.max(0.1, ...data.kl);
    const hi = Math.ceil(Math.log10(max) + 0.05);
    const y = (/** @type {number} */ v) => pad.t + (1 - (Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * ph;
    c.strokeStyle = themeColor(host, '--grid-line');
    c.fillStyle = muted;
    c.textAlign = 'right';
    c.textBaseline = 'middle';
    for (let e = lo; e <= hi; e++) {
      const yy = Math.round(y(10 ** e)) + 0.5;
      c.beginPath();
      c.moveTo(pad.l, yy);
      c.lineTo(pad.l + pw, yy);
      c.stroke();
      c.fillText(formatNum(10 ** e), pad.l - 5, yy);
    }
    c.save();
    c.translate(10, pad.t + ph / 2);
    c.rotate(-Math.PI / 2);
    c.textAlign = 'center';
    c.fillText('nats', 0, 0);
    c.restore();
    const order = dims();
    const n = order.length;
    const bw = pw / n;
    const on = themeColor(host, '--series-kl');
    c.textAlign = 'center';
    c.textBaseline = 'top';
    order.forEach((d, i) => {
      const v = data ? data.kl[d] : 0;
      const active = data ? v > data.threshold : false;
      c.fillStyle = active ? on : muted;
      const top = y(v);
      c.fillRect(pad.l + i * bw + bw * 0.12, top, Math.max(1, bw * 0.76), pad.t + ph - top);
      if (i === focus) {
        c.strokeStyle = themeColor(host, '--text');
        c.lineWidth = 2;
        c.strokeRect(pad.l + i * bw + 1, pad.t + 1, bw - 2, ph - 2);
      }
      if (n <= 24 || i % Math.ceil(n / 24) === 0) {
        c.fillStyle = muted;
        c.fillText(String(d), pad.l + (i + 0.5) * bw, pad.t + ph + 4);
      }
    });
    // the active-unit threshold
    c.strokeStyle = themeColor(host, '--text');
    c.setLineDash([5, 4]);
    c.lineWidth = 1;
    const ty = Math.round(y(data.threshold)) + 0.5;
    c.beginPath();
    c.moveTo(pad.l, ty);
    c.lineTo(pad.l + pw, ty);
    c.stroke();
    c.setLineDash([]);
  }

  function say() {
    if (!data || focus < 0) return;
    const d = dims()[focus];
    const v = data.kl[d];
    $('.kl-focus').textContent = `z${d}: ${formatNum(v)} nats${v > data.threshold ? ' (active)' : ' (inactive)'}`;
  }

  canvas.addEventListener('keydown', (e) => {
    if (!data) return;
    const n = data.kl.length;
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') focus = (focus + 1) % n;
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') focus = (focus - 1 + n) % n;
    else if (e.key === 'Home') focus = 0;
    else if (e.key === 'End') focus = n - 1;
    else return;
    e.preventDefault();
    say();
    draw();
  });
  canvas.addEventListener('blur', () => {
    focus = -1;
    draw();
  });
  sort.addEventListener('change', () => {
    say();
    draw();
  });
  const resize = new ResizeObserver(() => draw());
  resize.observe(canvas);
  const stop = onShown(root, (s) => {
    shown = s;
    if (s) ask();
    else unwatch(ctx, 'kl');
  });

  return {
    update(d) {
      if (d.model) {
        data = null;
        focus = -1;
        draw();
      }
      if (d.originals || d.model) setTimeout(ask, 0);
      const x = d.explore;
      if (x?.item !== 'kl') return;
      data = { kl: x.kl, order: x.order, active: x.active, threshold: x.threshold, total: x.total };
      if (focus >= data.kl.length) focus = -1;
      $('.kl-active').textContent = `${x.active} of ${x.kl.length}`;
      $('.kl-n').textContent = x.images.toLocaleString('en-US');
      // during a KL warm-up, the β the last step used
      $('.kl-beta').textContent = x.beta < x.target ? ` · warming up: β = ${formatNum(x.beta)} of ${formatNum(x.target)}` : '';
      $('.kl-of').textContent = `active units (KL > ${x.threshold} nats) · total KL ${formatNum(x.total)} nats`;
      const top = Array.from(x.order.slice(0, 3), (/** @type {number} */ i) => `z${i} ${formatNum(x.kl[i])}`).join(', ');
      canvas.setAttribute('aria-label', `KL per dimension: ${x.active} of ${x.kl.length} dimensions active (over ${x.threshold} nats); largest ${top}.`);
      root.dataset.ms = String(Math.round((x.ms ?? 0) * 10) / 10);
      say();
      draw();
    },
    redraw: draw,
    destroy() {
      resize.disconnect();
      stop();
    },
  };
}

export default /** @type {import('./index.js').ViewModule} */ ({ name: 'kl', place: 'grid', template, mount });
