// @ts-check
// backend="auto": where the model trains, by measurement.
//   * no WebGPU, or no adapter: the CPU (as before);
//   * a fallback adapter (GPUAdapterInfo.isFallbackAdapter: a software
//     implementation such as Chromium's SwiftShader, which runs the GPU's work
//     on the CPU, slower than our CPU backend): the CPU at once, without
//     creating a GPU device;
//   * otherwise a short timed probe of both backends on the chosen preset
//     (Session.probe: a throwaway model of the same architecture on synthetic
//     images, so nothing of it counts as training): one warm-up step each, then
//     a few timed steps each, within about PROBE_MS per backend; the faster wins.
// The decision is kept per preset (and batch size) for this worker: a preset
// change probes again.

/** Milliseconds of timed steps per backend, at most (after the warm-up). */
export const PROBE_MS = 150;
/** Timed steps per backend: at least one, at most this many. */
const MAX_STEPS = 8;

/**
 * @typedef {{ adapter: any | null, name: string, fallback: boolean }} AdapterFacts
 * @typedef {{ backend: 'webgpu' | 'cpu', reason: string, message: string, figures: { cpu: number, webgpu: number } | null }} Choice
 */

/** @type {Promise<AdapterFacts> | null} */
let facts = null;

/**
 * The browser's adapter, asked once: its name, and whether it is a fallback
 * (software) adapter. `adapter` is null when none was granted.
 * @returns {Promise<AdapterFacts>}
 */
export function adapterFacts() {
  facts ??= (async () => {
    try {
      const gpu = /** @type {any} */ (navigator).gpu;
      const a = gpu ? await gpu.requestAdapter() : null;
      if (!a) return { adapter: null, name: '', fallback: false };
      const i = a.info || (a.requestAdapterInfo ? await a.requestAdapterInfo() : {});
      const name = i.description || [i.vendor, i.architecture, i.device].filter(Boolean).join(' ') || 'GPU';
      // isFallbackAdapter: on GPUAdapterInfo in current browsers, on the adapter in older ones.
      const fallback = Boolean(i.isFallbackAdapter ?? a.isFallbackAdapter);
      return { adapter: a, name, fallback };
    } catch {
      return { adapter: null, name: '', fallback: false };
    }
  })();
  return facts;
}

/** @param {number} n */
const perSec = (n) => Math.round(n).toLocaleString('en-US');

/**
 * Images per second of `s` on its backend: one warm-up probe step (the
 * pipelines, the first allocation), then as many timed steps as fit PROBE_MS
 * going by the warm-up's time (1 to MAX_STEPS).
 * @param {{ probe: (steps: number) => Promise<number> }} s
 * @param {number} batch
 */
export async function timeBackend(s, batch) {
  let t0 = performance.now();
  await s.probe(1);
  const warm = performance.now() - t0;
  const steps = Math.max(1, Math.min(MAX_STEPS, Math.floor(PROBE_MS / Math.max(warm, 1))));
  t0 = performance.now();
  await s.probe(steps);
  const seconds = Math.max(performance.now() - t0, 0.01) / 1000;
  return (steps * batch) / seconds;
}

/**
 * The message of a measured choice.
 * @param {'webgpu' | 'cpu'} winner
 * @param {{ cpu: number, webgpu: number }} f  images/s
 * @param {string} adapter
 * @param {string} preset
 */
export function probeMessage(winner, f, adapter, preset) {
  const figures = `CPU: ${perSec(f.cpu)} images/s, WebGPU (${adapter}): ${perSec(f.webgpu)}`;
  return winner === 'cpu'
    ? `Training on the CPU (WebAssembly): it was faster than WebGPU on this machine for the ${preset} model (${figures}, measured just now). Set backend="webgpu" to use the GPU anyway.`
    : `Training on WebGPU: it was faster than the CPU for the ${preset} model (${figures}, measured just now).`;
}

/**
 * The message when the only adapter is a software one.
 * @param {string} adapter
 */
export function fallbackMessage(adapter) {
  return `Training on the CPU (WebAssembly): the browser's only WebGPU adapter is a software one (${adapter}), which runs the GPU's work on the CPU and is slower than training there directly, so it was not used. Set backend="webgpu" to use it anyway.`;
}
