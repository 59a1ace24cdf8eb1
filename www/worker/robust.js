// @ts-check
// The worker's side of "nothing lost, nothing hangs": the periodic
// host-side copy of the training state that a lost GPU device continues from,
// and how a panic of the wasm core is recognised.

/**
 * What the wasm core's `Session.exportState()` gives and `importState()` takes.
 * @typedef {{ params: Float32Array, adamM: Float32Array, adamV: Float32Array,
 *   adamT: number, step: number, epoch: number, cursor: number, parameters: number }} TrainState
 */

/** Milliseconds between copies of the state while training on WebGPU. */
export const COPY_EVERY_MS = 3000;

export class CopyKeeper {
  constructor() {
    /** @type {TrainState | null} */
    this.copy = null;
    this.at = 0;
  }

  /**
   * Takes a copy when the last one is older than COPY_EVERY_MS (three
   * asynchronous reads; the first is taken at once).
   * @param {{ exportState: () => Promise<TrainState> }} session
   */
  async maybeTake(session) {
    const now = performance.now();
    if (this.copy && now - this.at < COPY_EVERY_MS) return;
    this.at = now;
    this.copy = await session.exportState();
  }

  /** @returns {TrainState | null} */
  latest() {
    return this.copy;
  }

  clear() {
    this.copy = null;
    this.at = 0;
  }
}

/**
 * Whether `err` comes from a panic of the wasm core (the module aborted with
 * `unreachable`; the panic hook left its message in `globalThis.__vaePanic`).
 * @param {unknown} err
 */
export function isPanic(err) {
  return err instanceof WebAssembly.RuntimeError || typeof (/** @type {any} */ (globalThis).__vaePanic) === 'string';
}

/** @param {unknown} err */
export function panicMessage(err) {
  const hook = /** @type {any} */ (globalThis).__vaePanic;
  if (typeof hook === 'string') return hook;
  return err instanceof Error ? err.message : String(err);
}
