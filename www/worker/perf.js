// @ts-check
// The performance overlay's worker side: times what the worker does (training
// calls, view refreshes, the explore views' requests) and, while the
// element's overlay is open, sends one `perf` event at most every PERIOD_MS with
// the numbers already computed: the element only writes them out. GPU time per
// step comes from the wasm core (`Session.gpuTime()`, src/web/perf.rs: timestamp
// queries, where the adapter offers them). Costs nothing while the overlay is closed
// beyond a few performance.now() calls. The start-up phases are worker/startup.js's
// (the element's `startup` breakdown), which the overlay shows beside these.

const PERIOD_MS = 500;
/** How far back the rates look. */
const WINDOW_MS = 3000;

/**
 * @typedef {{ supported: boolean, lastFlushMs?: number | null, totalMs: number, flushes: number, reason?: string }} GpuTime
 * @typedef {{ at: number, steps: number, images: number, ms: number, gpuMs: number | null }} Chunk
 * @typedef {object} PerfReport  the `perf` event (protocol.js)
 * @property {'webgpu' | 'cpu' | null} backend
 * @property {string} preset
 * @property {number} batch
 * @property {number | null} imagesPerSec  images trained per second of wall time, over the last few seconds
 * @property {number | null} trainImagesPerSec  the same over the time spent inside train() only
 * @property {number | null} msPerStep  wall time of train() per step
 * @property {number | null} gpuMsPerStep  GPU time per step (timestamp queries), null when not measured
 * @property {number | null} hostMsPerStep  msPerStep minus the GPU time: recording, submitting, waiting, readback
 * @property {string} gpuNote  why there is no GPU time, or how it was measured
 * @property {number} stepsPerCall
 * @property {number | null} viewMs  the last refresh of the samples, latent grid and reconstructions
 * @property {number | null} viewMsMedian  median over the window
 * @property {number} viewShare  fraction of the window's wall time spent refreshing views (explore included)
 * @property {{ item: string, ms: number }[]} explore  the explore views' last refresh cost, per view
 * @property {number} window  seconds the rates cover
 */

const state = {
  on: false,
  lastEmit: 0,
  /** @type {Chunk[]} */
  chunks: [],
  /** @type {{ at: number, ms: number }[]} */
  views: [],
  /** @type {Map<string, number>} */
  explore: new Map(),
  /** @type {GpuTime | null} */
  gpuBefore: null,
  stepsPerCall: 1,
  /** @type {any} the session whose GPU counters gpuBefore is of */
  session: null,
};

/** @param {boolean} on */
export function setPerf(on) {
  state.on = on;
  state.lastEmit = 0;
}

export const perfOn = () => state.on;

/** @param {import('./state.js').Session | null} s */
function gpuTime(s) {
  if (!s || typeof s.gpuTime !== 'function') return null;
  try {
    return /** @type {GpuTime} */ (s.gpuTime());
  } catch {
    return null;
  }
}

/**
 * A train() call begins: the GPU time so far, so that the call's own is the difference
 * (timestamps come back a flush or two late, so over a window the split is right,
 * not per call).
 * @param {import('./state.js').Session} s  the session
 */
export function beforeTrain(s) {
  if (!state.on) return;
  state.gpuBefore = gpuTime(s);
  state.session = s;
}

/**
 * One train() call finished.
 * @param {import('./state.js').Session} s  the session
 * @param {number} steps
 * @param {number} images
 * @param {number} ms  wall time of the call
 */
export function trained(s, steps, images, ms) {
  const now = performance.now();
  state.stepsPerCall = steps;
  let gpuMs = null;
  if (state.on) {
    const g = gpuTime(s);
    if (g && g.supported && state.gpuBefore && state.session === s && g.flushes > state.gpuBefore.flushes) gpuMs = g.totalMs - state.gpuBefore.totalMs;
  }
  state.chunks.push({ at: now, steps, images, ms, gpuMs });
  trim(now);
}

/** @param {number} ms  one refresh of the main views */
export function viewed(ms) {
  const now = performance.now();
  state.views.push({ at: now, ms });
  trim(now);
}

/**
 * Watches the events the worker sends: the explore views report their refresh cost.
 * @param {{ event: string, item?: string, ms?: number }} msg
 */
export function saw(msg) {
  if (msg.event === 'explore' && msg.item && typeof msg.ms === 'number') state.explore.set(msg.item, msg.ms);
}

/** @param {number} now */
function trim(now) {
  while (state.chunks.length && now - state.chunks[0].at > WINDOW_MS) state.chunks.shift();
  while (state.views.length > 1 && now - state.views[0].at > WINDOW_MS) state.views.shift();
}

/** @param {number[]} xs */
function median(xs) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * The numbers, if the overlay is open and it is time; null otherwise.
 * @param {import('./state.js').Session | null} s  the session (or null)
 * @param {{ force?: boolean }} [opts]
 * @returns {PerfReport | null}
 */
export function report(s, { force = false } = {}) {
  if (!state.on) return null;
  const now = performance.now();
  if (!force && now - state.lastEmit < PERIOD_MS) return null;
  state.lastEmit = now;
  trim(now);
  const info = s ? s.backend() : null;
  const cfg = s ? s.config() : null;
  const cs = state.chunks;
  const steps = cs.reduce((a, c) => a + c.steps, 0);
  const images = cs.reduce((a, c) => a + c.images, 0);
  const trainMs = cs.reduce((a, c) => a + c.ms, 0);
  const span = cs.length ? Math.max(now - (cs[0].at - cs[0].ms), 1) : 0;
  const timed = cs.filter((c) => c.gpuMs !== null);
  const timedSteps = timed.reduce((a, c) => a + c.steps, 0);
  const gpuMsPerStep = timedSteps ? timed.reduce((a, c) => a + /** @type {number} */ (c.gpuMs), 0) / timedSteps : null;
  const msPerStep = steps ? trainMs / steps : null;
  const g = gpuTime(s);
  let gpuNote;
  if (!info) gpuNote = 'no model yet';
  else if (info.backend === 'cpu') gpuNote = 'the CPU backend (WebAssembly): no GPU, all of a step is host time';
  else if (!g) gpuNote = 'GPU time: this build has no timestamp-query timing';
  else if (!g.supported) gpuNote = `GPU time: ${g.reason ?? 'this adapter offers no timestamp queries'}`;
  else gpuNote = 'GPU time from timestamp queries';
  const viewsMs = state.views.filter((v) => now - v.at <= WINDOW_MS).reduce((a, v) => a + v.ms, 0);
  const lastView = state.views.length ? state.views[state.views.length - 1].ms : null;
  return {
    backend: info ? info.backend : null,
    preset: cfg ? cfg.preset : '',
    batch: cfg ? cfg.batch : 0,
    imagesPerSec: span ? (images / span) * 1000 : null,
    trainImagesPerSec: trainMs ? (images / trainMs) * 1000 : null,
    msPerStep,
    gpuMsPerStep,
    hostMsPerStep: msPerStep !== null && gpuMsPerStep !== null ? Math.max(0, msPerStep - gpuMsPerStep) : null,
    gpuNote,
    stepsPerCall: state.stepsPerCall,
    viewMs: lastView,
    viewMsMedian: median(state.views.map((v) => v.ms)),
    viewShare: span ? Math.min(1, viewsMs / Math.max(span, WINDOW_MS / 3)) : 0,
    explore: [...state.explore].map(([item, ms]) => ({ item, ms })),
    window: span / 1000,
  };
}
