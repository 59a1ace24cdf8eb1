// @ts-check
// The worker's side of the start-up breakdown: how long each
// phase between the page's load and the first trained samples took. Each phase
// gets a pair of performance marks in the worker's timeline
// (`vae-playground:NAME:start` / `:end`) and is pushed to the page as
// `{ event: 'startup', phase, start, end }` with times on the common clock
// `performance.timeOrigin + performance.now()` (milliseconds since the epoch),
// which the page turns into its own timeline by subtracting its timeOrigin.
// The element collects them and fires `startup` when the first trained samples
// are drawn (www/playground/startup.js).
//
// Phases: wasm (fetch + compile + instantiate), device (adapter, device and the
// model's buffers; WebGPU only), probe (backend="auto" timing both backends,
// only with a hardware adapter), pipelines (every compute pipeline of the
// preset's step and views created; WebGPU only), data (download start to the
// first usable batch handed to the model), first-step (the first train call),
// first-view (the first views computed after a step; the page ends it when drawn).

/** @typedef {'wasm' | 'device' | 'probe' | 'pipelines' | 'data' | 'first-step' | 'first-view'} Phase */

/** Now on the clock shared by the worker and the page (epoch milliseconds). */
export function clock() {
  return performance.timeOrigin + performance.now();
}

/** Phases already reported: each is reported once per worker (its first occurrence). */
const reported = new Set();
/** @type {Map<string, number>} phases begun, not yet ended */
const begun = new Map();

/**
 * Begins a phase (the first call counts; later ones are ignored).
 * @param {Phase} phase
 * @param {number} [at]  when it began (the shared clock), default now
 */
export function begin(phase, at = clock()) {
  if (reported.has(phase) || begun.has(phase)) return;
  begun.set(phase, at);
  try {
    performance.mark(`vae-playground:${phase}:start`, { startTime: at - performance.timeOrigin });
  } catch { /* marks are a convenience */ }
}

/**
 * Ends a phase begun with `begin` and reports it to the page (once).
 * @param {Phase} phase
 * @param {(msg: { event: 'startup', phase: Phase, start: number, end: number }) => void} emit
 */
export function end(phase, emit) {
  const start = begun.get(phase);
  if (start === undefined || reported.has(phase)) return;
  begun.delete(phase);
  reported.add(phase);
  const at = clock();
  try {
    performance.mark(`vae-playground:${phase}:end`, { startTime: at - performance.timeOrigin });
  } catch { /* marks are a convenience */ }
  emit({ event: 'startup', phase, start, end: at });
}

/**
 * `fn`, timed as `phase` (begun before, ended after, also when it throws).
 * @template T
 * @param {Phase} phase
 * @param {(msg: any) => void} emit
 * @param {() => Promise<T>} fn
 * @returns {Promise<T>}
 */
export async function timed(phase, emit, fn) {
  begin(phase);
  try {
    return await fn();
  } finally {
    end(phase, emit);
  }
}

/** Whether a phase was reported already (the first training step, the first view). */
export function done(/** @type {Phase} */ phase) {
  return reported.has(phase);
}
