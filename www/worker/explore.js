// @ts-check
// The worker's side of the explore views: the latent scatter, the
// drawn digit, interpolation, traversal, per-dimension KL, inpainting, the
// whole-test-set loss and the importance-weighted bound. The numerics are the
// wasm core's (src/web/explore.rs); this module schedules them.
//
// A live view registers what it wants (`explore` request, `live: true`): the
// worker computes it at once, then again now and then while training runs,
// one item per turn of the training loop and at most ~20% of the time (each
// item's cost is measured and sent with its result as `ms`). Results come back
// as `explore` events; other requests (a drawing, a digit, a decoded point,
// the digits) are answered directly. Long jobs (the test loss over all 10,000
// images, the IWAE bound) advance a chunk at a time between training chunks,
// or all at once when training is paused.

import { kindError, toWire } from '../playground/errors.js';
import { enqueue, worker } from './state.js';

/**
 * @typedef {import('./state.js').Session} Session
 * @typedef {{ kind: 'test', index: number } | { kind: 'drawn' }} Source
 * @typedef {import('../playground/protocol.js').DrawResult} DrawResult
 * @typedef {{ kind: 'dims', dx: number, dy: number } | { kind: 'principal' }} PlaneSpec
 * @typedef {object} ExploreContext  what the worker lends this module
 * @property {<T>(fn: (s: Session) => Promise<T>) => Promise<T>} call  runs fn on the session (device loss handled)
 * @property {() => Session | null} session
 * @property {() => { pixels: Uint8Array, count: number } | null} testImages
 * @property {() => Promise<Uint8Array | null>} testLabels  parsed labels, once downloaded
 * @property {(msg: any, transfer?: Transferable[]) => void} emit
 * @property {() => boolean} running
 */

const D = 784;
const SCATTER_MAX = 2000;
const FULL_CHUNK = 500; // test images per evaluateRange call
const IWAE_CHUNK = 20;
const MIN_GAP_MS = 800;
const SLOW_MS = 600;
const CHUNK_MS = 300;
const MIN_IMAGES = 200;

/**
 * Items a view watches, by name, with their arguments, last cost (ms) and the
 * number of test images they may encode.
 * @typedef {{ args: any, cost: number, limit: number }} Entry
 * @typedef {{ name: 'full' | 'iwae', next: number, total: number, step: number, k: number, chunk: number, sums: Record<string, number> }} Job
 */
/** What the explore views keep in the worker (part of its one state object). */
const ex = worker.explore;

/**
 * Forgets what belonged to an old session (a new model, or the move to the CPU).
 * @param {ExploreContext} ctx
 */
async function sync(ctx) {
  const s = ctx.session();
  if (s !== ex.seen) {
    ex.seen = s;
    ex.labelsSet = false;
    ex.plane = null;
    ex.lastKl = null;
    ex.live.clear();
    ex.turn = [];
    ex.jobs = [];
  }
  if (s && !ex.labelsSet) {
    const labels = await ctx.testLabels();
    if (labels && ctx.session() === s) {
      s.setTestLabels(labels);
      ex.labelsSet = true;
    }
  }
}

/**
 * The bytes of test image `index`.
 * @param {ExploreContext} ctx
 * @param {number} index
 */
function testImage(ctx, index) {
  const snap = ctx.testImages();
  if (!snap || !Number.isInteger(index) || index < 0 || index >= snap.count) {
    throw kindError('InvalidConfig', `Test digit ${index} is not there: use 0 to ${(snap?.count ?? 0) - 1}.`);
  }
  return snap.pixels.slice(index * D, (index + 1) * D);
}

/**
 * The bytes of a source image.
 * @param {ExploreContext} ctx
 * @param {Source} src
 */
function sourcePixels(ctx, src) {
  if (src.kind === 'drawn') {
    if (!ex.drawn) throw kindError('InvalidConfig', 'Draw a digit first.');
    return ex.drawn;
  }
  return testImage(ctx, src.index);
}

/**
 * The mean code of a source image.
 * @param {ExploreContext} ctx
 * @param {Session} s
 * @param {Source} src
 * @returns {Promise<Float32Array>}
 */
function codeOf(ctx, s, src) {
  return s.encodePixels(sourcePixels(ctx, src), 1);
}

/**
 * How many test images there are; none yet (a download still under way, or
 * one that failed and says so with its Retry) is NotRunning, which views
 * leave unsaid, not an error that would cover the download's own notice.
 * @param {ExploreContext} ctx
 */
function testCount(ctx) {
  const count = ctx.testImages()?.count ?? 0;
  if (count < 1) throw kindError('NotRunning', 'The test digits have not arrived yet.');
  return count;
}

/**
 * Computes a live item: { data, transfer }. `entry.limit` caps how many test
 * images an item encodes (the scatter, the KL), adapted to its measured cost.
 * @type {Record<string, (ctx: ExploreContext, s: Session, args: any, entry: Entry) => Promise<{ data: any, transfer: Transferable[] }>>}
 */
const ITEMS = {
  async scatter(ctx, s, { n, spec }, entry) {
    const count = Math.min(n, SCATTER_MAX, entry.limit, testCount(ctx));
    const r = await s.scatter(count, spec);
    ex.plane = r.plane;
    /** @type {any} */
    const data = { points: r.points, labels: r.labels, indices: r.indices, plane: r.plane, bounds: r.bounds };
    if (ex.drawn) data.drawnPoint = s.project(ex.plane, await s.encodePixels(ex.drawn, 1));
    return { data, transfer: [r.points.buffer, r.labels.buffer, r.indices.buffer] };
  },
  async overlay(_ctx, s, { size }) {
    if (!ex.plane) throw kindError('NotRunning', 'No scatter yet.');
    const r = await s.planeGrid(ex.plane, size, 'quantile', 0, 0);
    return { data: { images: r.images, size, kind: ex.plane.kind }, transfer: [r.images.buffer] };
  },
  async kl(ctx, s, { n }, entry) {
    const count = Math.min(n, entry.limit, testCount(ctx));
    const r = await s.klPerDim(count);
    ex.lastKl = { kl: r.kl.slice(), order: r.order.slice() };
    const data = { kl: r.kl, total: r.total, active: r.active, threshold: r.threshold, order: r.order, images: r.images, beta: s.klWeight(), target: s.config().beta };
    return { data, transfer: [r.kl.buffer, r.order.buffer] };
  },
  async traverse(ctx, s, { source, rows, steps, range }) {
    const code = await codeOf(ctx, s, source);
    // the dimensions by KL: the KL view's last figures, else a quick estimate
    const kl = ex.lastKl ?? (await s.klPerDim(Math.min(200, testCount(ctx))));
    const dims = kl.order.slice(0, Math.min(rows, kl.order.length));
    const r = await s.traverse(code, dims, steps, range);
    const klOf = Float32Array.from(dims, (d) => kl.kl[d]);
    return { data: { images: r.images, values: r.values, dims, kl: klOf, steps }, transfer: [r.images.buffer] };
  },
  async interp(ctx, s, { a, b, steps, slerp }) {
    const from = await codeOf(ctx, s, a);
    const to = await codeOf(ctx, s, b);
    const r = await s.interpolate(from, to, steps, slerp);
    return { data: { images: r.images, t: r.t, steps }, transfer: [r.images.buffer] };
  },
  async inpaint(ctx, s, { source, damage, iters, brush }) {
    const r = source.kind === 'drawn'
      ? await s.inpaintPixels(sourcePixels(ctx, source), damage, iters, damage.kind === 'brush' ? brush : undefined)
      : await s.inpaint(source.index, damage, iters, damage.kind === 'brush' ? brush : undefined);
    const data = {
      original: r.original, damaged: r.damaged, mask: r.mask, steps: r.steps, iters,
      damagedError: r.damaged_error, stepErrors: r.step_errors, regionPixels: r.region_pixels,
    };
    return { data, transfer: [r.steps.buffer] };
  },
  async draw(_ctx, s) {
    const data = await drawResult(s);
    return { data, transfer: 'empty' in data ? [] : [data.recon.buffer, data.input.buffer] };
  },
};

/**
 * Computes one item and sends it as an `explore` event.
 * @param {ExploreContext} ctx
 * @param {string} item
 */
async function refresh(ctx, item) {
  const entry = ex.live.get(item);
  if (!entry) return;
  const t0 = performance.now();
  const { data, transfer } = await ctx.call((s) => ITEMS[item](ctx, s, entry.args, entry));
  entry.cost = performance.now() - t0;
  // Keep one refresh under ~0.6 s (a software GPU encodes 2,000 digits in
  // seconds): fewer test images when slow, more again when quick.
  if (entry.cost > SLOW_MS) entry.limit = Math.max(MIN_IMAGES, Math.floor((entry.limit * SLOW_MS) / entry.cost));
  else if (entry.cost < SLOW_MS / 4) entry.limit = Math.min(SCATTER_MAX, entry.limit * 2);
  ctx.emit({ event: 'explore', item, ms: entry.cost, ...data }, transfer);
}

// ------------------------------------------------------------- long ex.jobs

/**
 * Chunks of about 0.3 s: smaller when a chunk took long, larger when quick.
 * @param {Job} j
 * @param {number} ms  the last chunk's cost
 * @param {number} max
 */
function adapt(j, ms, max) {
  if (ms > 2 * CHUNK_MS) j.chunk = Math.max(1, Math.floor((j.chunk * CHUNK_MS) / ms));
  else if (ms < CHUNK_MS / 2) j.chunk = Math.min(max, j.chunk * 2);
}

/**
 * One chunk of the first job; emits progress, and the result when done.
 * @param {ExploreContext} ctx
 */
async function advance(ctx) {
  const j = ex.jobs[0];
  const left = j.total - j.next;
  const sums = j.sums;
  let done;
  if (j.name === 'full') {
    const t0 = performance.now();
    const r = await ctx.call((s) => s.evaluateRange(j.next, Math.min(j.chunk, left)));
    adapt(j, performance.now() - t0, FULL_CHUNK);
    sums.recon += r.recon_sum;
    sums.kl += r.kl_sum;
    sums.loss += r.loss_sum;
    sums.images += r.images;
    done = r.done || r.next >= j.total;
    j.next = r.next;
  } else {
    const t0 = performance.now();
    const r = await ctx.call((s) => s.importanceBound(j.k, j.next, Math.min(j.chunk, left)));
    adapt(j, performance.now() - t0, 200);
    sums.ll += r.log_likelihood_sum;
    sums.elbo += r.elbo_sum;
    sums.images += r.images;
    sums.binarized = r.binarized ? 1 : 0;
    done = r.done || r.next >= j.total;
    j.next = r.next;
    if (!done) ctx.emit({ event: 'explore', item: 'iwae', progress: j.next / j.total, images: sums.images });
  }
  if (!done) return;
  ex.jobs.shift();
  const n = Math.max(1, sums.images);
  if (j.name === 'full') {
    ctx.emit({ event: 'explore', item: 'full', step: j.step, loss: sums.loss / n, recon: sums.recon / n, kl: sums.kl / n, images: sums.images });
  } else {
    ctx.emit({ event: 'explore', item: 'iwae', progress: 1, done: true, nll: -sums.ll / n, elbo: sums.elbo / n, images: sums.images, k: j.k, binarized: sums.binarized === 1, step: j.step });
  }
}

// ------------------------------------------------------------- requests

/**
 * The `explore` request.
 * @param {any} a  `{ what, ...args }`
 * @param {ExploreContext} ctx
 */
export async function handleExplore(a, ctx) {
  await sync(ctx);
  switch (a.what) {
    case 'watch': {
      // { item, args } to watch (refreshed now, then while training), or { item, off: true }
      if (!(a.item in ITEMS)) throw kindError('Internal', `Unknown explore item "${a.item}".`);
      if (a.off) {
        ex.live.delete(a.item);
        return null;
      }
      const prev = ex.live.get(a.item);
      // a software adapter starts small; the limit then follows the cost
      const first = ctx.session()?.backend().backend === 'webgpu' ? 500 : SCATTER_MAX;
      ex.live.set(a.item, { args: a.args ?? {}, cost: prev?.cost ?? 0, limit: prev?.limit ?? first });
      await refresh(ctx, a.item);
      return null;
    }
    case 'digit': {
      // A test digit, its reconstruction and label (the scatter's tooltip).
      const image = testImage(ctx, a.index);
      const recon = await ctx.call((s) => s.reconstruct(new Uint32Array([a.index])));
      const labels = await ctx.testLabels();
      return { image, recon, label: labels && a.index < labels.length ? labels[a.index] : 255 };
    }
    case 'classDigits': {
      // The first test digit of each class (or the first ten, before labels).
      const snap = ctx.testImages();
      if (!snap) throw kindError('NotRunning', 'The test digits have not arrived yet.');
      const labels = await ctx.testLabels();
      /** @type {number[]} */
      const indices = [];
      if (labels) {
        for (let c = 0; c < 10; c++) {
          const i = labels.indexOf(c);
          if (i >= 0 && i < snap.count) indices.push(i);
        }
      }
      if (indices.length < 10) for (let i = 0; indices.length < 10 && i < snap.count; i++) if (!indices.includes(i)) indices.push(i);
      const images = new Uint8Array(indices.length * D);
      indices.forEach((idx, k) => images.set(snap.pixels.subarray(idx * D, (idx + 1) * D), k * D));
      return { indices: Uint32Array.from(indices), labels: Uint8Array.from(indices, (i) => (labels && i < labels.length ? labels[i] : 255)), images };
    }
    case 'decodePlane': {
      // Points of the scatter's plane (n*2) -> n images.
      const { plane } = ex;
      if (!plane) throw kindError('NotRunning', 'No scatter yet.');
      return ctx.call((s) => s.decodePlane(plane, a.points));
    }
    case 'full':
    case 'iwae': {
      // Long ex.jobs: progress and the result come as `explore` events.
      const test = ctx.testImages()?.count ?? 0;
      if (test === 0) throw kindError('NotRunning', 'The test digits have not arrived yet.');
      if (!ex.jobs.some((j) => j.name === a.what)) {
        const total = a.what === 'full' ? test : Math.min(a.n ?? 1000, test);
        ex.jobs.push({ name: a.what, next: 0, total, step: a.step ?? 0, k: a.k ?? 50, chunk: a.what === 'full' ? FULL_CHUNK : IWAE_CHUNK, sums: { recon: 0, kl: 0, loss: 0, ll: 0, elbo: 0, images: 0, binarized: 0 } });
      }
      // Paused: nothing to share the time with.
      if (!ctx.running()) while (ex.jobs.length) await advance(ctx);
      return null;
    }
    default:
      throw kindError('Internal', `Unknown explore request "${a.what}".`);
  }
}

/**
 * The drawn digit as the model sees it, its reconstruction and its point on
 * the last scatter's plane.
 * @param {Session} s
 * @returns {Promise<DrawResult>}
 */
async function drawResult(s) {
  const { drawn, plane } = ex;
  if (!drawn) return { empty: true };
  const recon = await s.reconstructPixels(drawn, 1);
  const point = plane ? s.project(plane, await s.encodePixels(drawn, 1)) : null;
  return { input: drawn.slice(), recon, point };
}

/**
 * Whether a watched item's arguments name the drawing as a source.
 * @param {any} args
 */
function usesDrawing(args) {
  return [args.source, args.a, args.b].some((src) => src?.kind === 'drawn');
}

/**
 * The `draw` request: a drawing (grey bytes, any size) preprocessed as MNIST
 * was made, kept as the drawn source, and answered with what the draw view
 * shows. The draw view is watched from now on (its reconstruction follows
 * training); the views drawing from it refresh right after the reply.
 * @param {{ pixels: Uint8Array, width: number, height: number }} a
 * @param {ExploreContext} ctx
 * @returns {Promise<DrawResult & { ms: number }>}
 */
export async function draw(a, ctx) {
  await sync(ctx);
  const pre = ctx.session()?.preprocessDrawing(a.pixels, a.width, a.height);
  if (!pre) throw kindError('NotRunning', 'The model is not ready yet.');
  ex.drawn = pre.empty ? null : pre.pixels;
  const entry = { args: {}, cost: ex.live.get('draw')?.cost ?? 0, limit: 0 };
  ex.live.set('draw', entry);
  const t0 = performance.now();
  const result = await ctx.call((s) => drawResult(s));
  entry.cost = performance.now() - t0;
  enqueue({ op: '_drawn' });
  return { ...result, ms: entry.cost };
}

/**
 * After a drawing: the watched views that draw from it, refreshed.
 * @param {ExploreContext} ctx
 */
export async function refreshDrawn(ctx) {
  for (const [item, e] of [...ex.live]) {
    if (usesDrawing(e.args)) await refresh(ctx, item).catch(() => {});
  }
}

/**
 * One turn of the training loop: refresh at most one watched item, or advance
 * a long job by a chunk, if its turn has come (~20% of the time at most).
 * @param {ExploreContext} ctx
 */
export async function exploreTick(ctx) {
  await sync(ctx);
  const now = performance.now();
  // A view's failure is reported, and that view stops refreshing; training goes on.
  // (A view waiting for its data is neither: it is tried again at its next turn.)
  if (ex.jobs.length && now >= ex.jobAt) {
    // a chunk of a long job: about a fifth of the time for the whole-test-set
    // loss, half of it for the bound a person asked for (Evaluate)
    const share = ex.jobs[0].name === 'iwae' ? 1 : 4;
    const t0 = performance.now();
    try {
      await advance(ctx);
    } catch (err) {
      ex.jobs.shift();
      ctx.emit({ event: 'error', error: toWire(err) });
    }
    ex.jobAt = performance.now() + Math.max(20, (performance.now() - t0) * share);
  } else if (ex.live.size && now >= ex.itemAt) {
    if (ex.turn.length === 0) ex.turn = [...ex.live.keys()];
    const item = /** @type {string} */ (ex.turn.shift());
    const t0 = performance.now();
    try {
      if (ex.live.has(item)) await refresh(ctx, item);
    } catch (err) {
      // NotRunning: its data is not there yet (the test digits still arriving
      // while training starts); the view stays watched and says nothing.
      if (toWire(err).name !== 'NotRunning') {
        ex.live.delete(item);
        ctx.emit({ event: 'error', error: toWire(err) });
      }
    }
    ex.itemAt = performance.now() + Math.max(MIN_GAP_MS, (performance.now() - t0) * 4);
  }
}
