// @ts-check
// A small canvas line chart for the loss curves: train series as solid lines,
// test series as dashed lines with dots, the whole test set (once an epoch) as
// diamonds, linear or log y axis with its unit. Data in, canvas out.

import { themeColor } from './colours.js';

/** @typedef {{ step: number, loss: number, recon: number, kl: number }} Point */
/** @typedef {{ loss: number, recon: number, kl: number }} Losses */

const KEYS = /** @type {const} */ (['loss', 'recon', 'kl']);
const COLORS = { loss: '--series-total', recon: '--series-recon', kl: '--series-kl' };
const MAX_POINTS = 1500;

export class LossChart {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {Element} host  whose theme colours to use
   */
  constructor(canvas, host) {
    this.canvas = canvas;
    this.host = host;
    /** @type {Point[]} */
    this.train = [];
    /** @type {Point[]} */
    this.test = [];
    /** @type {Point[]} the whole test set, once an epoch */
    this.full = [];
    /** What the y axis measures ("nats per image"). */
    this.unit = '';
    this.log = false;
    this.pending = false;
    this.resize = new ResizeObserver(() => this.request());
    this.resize.observe(canvas);
  }

  clear() {
    this.train = [];
    this.test = [];
    this.full = [];
    this.request();
  }

  /** @param {number} step @param {Losses} m */
  addFull(step, m) {
    this.full.push({ step, loss: m.loss, recon: m.recon, kl: m.kl });
    this.request();
  }

  /** @param {string} unit */
  setUnit(unit) {
    this.unit = unit;
    this.request();
  }

  /** @param {number} step @param {Losses} m */
  addTrain(step, m) {
    this.train.push({ step, loss: m.loss, recon: m.recon, kl: m.kl });
    if (this.train.length > MAX_POINTS) this.train = decimate(this.train);
    this.request();
  }

  /** @param {number} step @param {Losses} m */
  addTest(step, m) {
    this.test.push({ step, loss: m.loss, recon: m.recon, kl: m.kl });
    if (this.test.length > MAX_POINTS) this.test = decimate(this.test);
    this.request();
  }

  /** @param {boolean} on */
  setLog(on) {
    this.log = on;
    this.request();
  }

  disconnect() {
    this.resize.disconnect();
  }

  request() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    const c = this.canvas;
    const dpr = Math.min(window.devicePixelRatio || 1, 3);
    const w = Math.max(1, Math.round(c.clientWidth * dpr));
    const h = Math.max(1, Math.round(c.clientHeight * dpr));
    if (c.width !== w || c.height !== h) {
      c.width = w;
      c.height = h;
    }
    const ctx = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d'));
    const color = (/** @type {string} */ v) => themeColor(this.host, v);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const W = c.clientWidth;
    const H = c.clientHeight;
    ctx.clearRect(0, 0, W, H);
    ctx.font = '11px system-ui, sans-serif';

    const all = this.train.concat(this.test, this.full);
    const pad = { l: this.unit ? 62 : 48, r: 10, t: 8, b: 22 };
    const pw = W - pad.l - pad.r;
    const ph = H - pad.t - pad.b;
    if (pw < 20 || ph < 20) return;

    if (all.length === 0) {
      ctx.fillStyle = color('--muted');
      ctx.textAlign = 'center';
      ctx.fillText('Press Start: the loss curves appear here as the model trains.', pad.l + pw / 2, pad.t + ph / 2);
      return;
    }

    const tf = (/** @type {number} */ v) => (this.log ? Math.log10(Math.max(v, 1e-3)) : v);
    const range = yRange(all.flatMap((p) => KEYS.map((k) => p[k])).filter(Number.isFinite).map(tf));
    if (!range) return;
    let [lo, hi] = range;
    if (!this.log) lo = Math.min(0, lo);
    if (hi - lo < 1e-6) hi = lo + 1;
    const span = hi - lo;
    hi += span * 0.05;
    if (this.log) lo -= span * 0.05;
    const maxStep = Math.max(1, ...all.map((p) => p.step));
    const x = (/** @type {number} */ s) => pad.l + (s / maxStep) * pw;
    // Outliers beyond the range are drawn on its edge.
    const y = (/** @type {number} */ v) => pad.t + (1 - (Math.min(hi, Math.max(lo, tf(v))) - lo) / (hi - lo)) * ph;

    // grid and axis labels
    ctx.strokeStyle = color('--grid-line');
    ctx.fillStyle = color('--muted');
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const t of yTicks(lo, hi, this.log)) {
      const yy = pad.t + (1 - (t.pos - lo) / (hi - lo)) * ph;
      ctx.beginPath();
      ctx.moveTo(pad.l, Math.round(yy) + 0.5);
      ctx.lineTo(pad.l + pw, Math.round(yy) + 0.5);
      ctx.stroke();
      ctx.fillText(t.label, pad.l - 6, yy);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    // (no tick under the "step" label at the right end)
    for (const s of niceTicks(0, maxStep, Math.max(2, Math.floor(pw / 90))).filter((t) => Number.isInteger(t) && x(t) < pad.l + pw - 44)) {
      ctx.fillText(formatTick(s), x(s), pad.t + ph + 6);
    }
    ctx.textAlign = 'left';
    ctx.fillText('step', pad.l + pw - 24, pad.t + ph + 6);
    if (this.unit) {
      ctx.save();
      ctx.translate(12, pad.t + ph / 2);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText(this.unit, 0, 0);
      ctx.restore();
    }

    ctx.save();
    ctx.beginPath();
    ctx.rect(pad.l, pad.t, pw, ph);
    ctx.clip();
    for (const k of KEYS) {
      ctx.strokeStyle = color(COLORS[k]);
      ctx.fillStyle = ctx.strokeStyle;
      ctx.lineWidth = 2;
      ctx.setLineDash([]);
      line(ctx, this.train, k, x, y);
      if (this.test.length) {
        ctx.lineWidth = 1.5;
        ctx.setLineDash([5, 4]);
        line(ctx, this.test, k, x, y);
        ctx.setLineDash([]);
        for (const p of this.test) {
          if (!Number.isFinite(p[k])) continue;
          ctx.beginPath();
          ctx.arc(x(p.step), y(p[k]), 2.5, 0, Math.PI * 2);
          ctx.fill();
        }
      }
      // the whole test set: a diamond, outlined so it stands out from the dots
      ctx.strokeStyle = color('--text');
      ctx.lineWidth = 1.2;
      for (const p of this.full) {
        if (!Number.isFinite(p[k])) continue;
        const [cx, cy, r] = [x(p.step), y(p[k]), 5.5];
        ctx.beginPath();
        ctx.moveTo(cx, cy - r);
        ctx.lineTo(cx + r, cy);
        ctx.lineTo(cx, cy + r);
        ctx.lineTo(cx - r, cy);
        ctx.closePath();
        ctx.fill();
        ctx.stroke();
      }
    }
    ctx.restore();
  }
}

/**
 * @param {CanvasRenderingContext2D} ctx
 * @param {Point[]} pts
 * @param {'loss' | 'recon' | 'kl'} k
 * @param {(s: number) => number} x
 * @param {(v: number) => number} y
 */
function line(ctx, pts, k, x, y) {
  ctx.beginPath();
  let started = false;
  for (const p of pts) {
    if (!Number.isFinite(p[k])) continue;
    if (!started) ctx.moveTo(x(p.step), y(p[k]));
    else ctx.lineTo(x(p.step), y(p[k]));
    started = true;
  }
  ctx.stroke();
}

/**
 * The y range to show: the data's, unless a few outliers (a spike) would
 * flatten the rest: a side that reaches further than 10 widths of the
 * 5-95 % quantile range past it (a training curve's early descent does not;
 * a spike 10^30 times higher does) ends 2 widths past it instead, and the
 * outliers sit on that edge.
 * @param {number[]} values  finite, already on the axis's scale
 * @returns {[number, number] | null}
 */
export function yRange(values) {
  if (values.length === 0) return null;
  const v = [...values].sort((a, b) => a - b);
  const q = (/** @type {number} */ p) => v[Math.min(v.length - 1, Math.floor(p * (v.length - 1)))];
  const [q05, q95] = [q(0.05), q(0.95)];
  const width = Math.max(q95 - q05, Math.abs(q95) * 0.1, 1e-9);
  const min = v[0];
  const max = v[v.length - 1];
  return [min < q05 - 10 * width ? q05 - 2 * width : min, max > q95 + 10 * width ? q95 + 2 * width : max];
}

/** @param {Point[]} pts */
function decimate(pts) {
  const out = [];
  for (let i = 0; i + 1 < pts.length; i += 2) {
    const a = pts[i];
    const b = pts[i + 1];
    out.push({ step: b.step, loss: (a.loss + b.loss) / 2, recon: (a.recon + b.recon) / 2, kl: (a.kl + b.kl) / 2 });
  }
  if (pts.length % 2) out.push(pts[pts.length - 1]);
  return out;
}

/** @param {number} lo @param {number} hi @param {number} count */
function niceTicks(lo, hi, count) {
  const span = hi - lo;
  if (span <= 0) return [lo];
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => span / s <= count) || 10 * mag;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9; t += step) out.push(+t.toPrecision(12));
  return out;
}

/**
 * @param {number} lo
 * @param {number} hi
 * @param {boolean} log
 * @returns {{ pos: number, label: string, major?: boolean }[]}
 */
function yTicks(lo, hi, log) {
  if (!log) return niceTicks(lo, hi, 4).map((t) => ({ pos: t, label: formatTick(t) }));
  const out = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      const pos = Math.log10(v);
      if (pos >= lo && pos <= hi) out.push({ pos, label: formatNum(v), major: m === 1 });
    }
  }
  return out.length > 6 ? out.filter((t) => t.major) : out;
}

// Axis ticks are round numbers: print them without trailing zeros (5, not 5.00).
/** @param {number} v */
function formatTick(v) {
  if (Number.isInteger(v) && Math.abs(v) < 1e4) return String(v);
  return formatNum(v);
}

/**
 * A number for a person: 3 significant figures at most, `k` for thousands,
 * `M` for millions, and beyond that `5.1e31` (never `5e+31k`).
 * @param {number} v
 */
export function formatNum(v) {
  if (!Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 999.5e6) return v.toExponential(1).replace('e+', 'e');
  if (a >= 999.5e3) return `${(v / 1e6).toFixed(a >= 99.95e6 ? 0 : 1)}M`;
  if (a >= 1e4) return `${(v / 1000).toFixed(a >= 99.95e3 ? 0 : 1)}k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  if (a === 0) return '0';
  return v.toPrecision(2);
}
