// @ts-check
// Which backend a model trains on: the wasm core loaded once, a Session made
// on the backend asked for, or on the CPU with a sentence saying why not
// (backend="auto" times both on a hardware adapter and keeps the faster).

import { toWire } from '../playground/errors.js';
import { isPanic } from './robust.js';
import { timed } from './startup.js';
import { adapterFacts, fallbackMessage, probeMessage, timeBackend } from './auto-backend.js';
import { emit, worker } from './state.js';

/**
 * @typedef {import('./state.js').Wasm} Wasm
 * @typedef {import('./state.js').Session} Session
 * @typedef {import('./state.js').Settings} Settings
 * @typedef {import('./state.js').Fallback} Fallback
 * @typedef {(backend: 'webgpu' | 'cpu') => Promise<Session>} MakeSession
 */

/** The wasm core, loaded once. */
export function loadWasm() {
  worker.wasm ??= (async () => {
    emit({ event: 'loading' });
    return timed('wasm', emit, async () => {
      const mod = /** @type {Wasm} */ (await import(new URL('wasm/vae-playground.js', /** @type {URL} */ (worker.base)).href));
      await mod.default();
      return mod;
    });
  })();
  return worker.wasm;
}

const HOW_TO = 'Use a recent Chrome or Edge (version 113 or later), Safari 26, or Firefox 141 or later on Windows; on Linux, Chrome needs chrome://flags/#enable-unsafe-webgpu turned on. Check that hardware acceleration is enabled (chrome://gpu shows the WebGPU status).';

/**
 * Why WebGPU could not be used, short (wgpu's adapter errors list every
 * backend it was not compiled with, which says nothing to a person).
 * @param {unknown} err
 */
function shortReason(err) {
  const { name, message } = toWire(err);
  if (name === 'NoAdapter') return 'the browser granted no GPU adapter';
  const first = message.replace(/\s+/g, ' ').trim().split(/(?<=[.;:])\s/)[0].replace(/[.;:]$/, '');
  return first.length > 160 ? `${first.slice(0, 157)}…` : first;
}

// The adapter's name as the browser tells it (wgpu's adapter info is empty on the web).
export async function adapterName() {
  const f = await adapterFacts();
  return f.adapter ? f.name : null;
}

/**
 * backend="auto" with a hardware adapter: the GPU session `gpu` and a CPU
 * session of the same model, each timed on a throwaway copy (Session.probe);
 * the faster is kept, the other freed. Decided once per preset, latent size
 * and batch (a preset change probes again).
 * @param {Session} gpu
 * @param {(backend: 'webgpu' | 'cpu') => Promise<Session>} create
 * @param {string} adapter
 * @returns {Promise<{ s: Session, choice: import('./auto-backend.js').Choice }>}
 */
async function probeBoth(gpu, create, adapter) {
  const c = gpu.config();
  const key = `${c.preset}/${c.latent}/${c.batch}`;
  const known = worker.autoChoices.get(key);
  if (known) {
    if (known.backend === 'webgpu') return { s: gpu, choice: known };
    gpu.free();
    return { s: await create('cpu'), choice: known };
  }
  let cpu;
  try {
    cpu = await create('cpu');
  } catch (err) {
    gpu.free();
    throw err;
  }
  let figures;
  try {
    figures = await timed('probe', emit, async () => ({ webgpu: await timeBackend(gpu, c.batch), cpu: await timeBackend(cpu, c.batch) }));
  } catch (err) {
    if (isPanic(err) || toWire(err).name === 'InvalidConfig') throw err;
    // The GPU failed its probe: the CPU it is.
    gpu.free();
    const choice = { backend: /** @type {const} */ ('cpu'), reason: 'no-adapter', message: `WebGPU is present but failed a test run (${shortReason(err)}), so the model trains on the CPU (WebAssembly) instead. ${HOW_TO}`, figures: null };
    return { s: cpu, choice };
  }
  const winner = figures.webgpu > figures.cpu ? 'webgpu' : 'cpu';
  /** @type {import('./auto-backend.js').Choice} */
  const choice = { backend: winner, reason: 'measured', message: probeMessage(winner, figures, adapter, c.preset), figures };
  worker.autoChoices.set(key, choice);
  if (winner === 'webgpu') {
    cpu.free();
    return { s: gpu, choice };
  }
  gpu.free();
  return { s: cpu, choice };
}

/**
 * A session on the preferred backend, or on the CPU with the reason why not.
 * backend="auto": a software (fallback) adapter goes to the CPU at once; a
 * hardware one is timed against the CPU (probeBoth).
 * @param {Settings} cfg
 * @param {import('../playground/protocol.js').BackendChoice} want
 * @returns {Promise<{ s: Session, fallback: { reason: string, message: string, probe?: { cpu: number, webgpu: number } } | null, adapter?: string }>}
 */
export async function createSession(cfg, want, make = /** @type {((backend: 'webgpu' | 'cpu') => Promise<Session>) | null} */ (null)) {
  const { Session } = await loadWasm();
  const create = make ?? ((/** @type {'webgpu' | 'cpu'} */ b) => Session.create(cfg, b));
  /** @type {{ reason: string, message: string, probe?: { cpu: number, webgpu: number } } | null} */
  let fallback = null;
  if (want !== 'cpu') {
    if (!('gpu' in navigator) || !navigator.gpu) {
      fallback = { reason: 'no-webgpu', message: `This browser does not offer WebGPU, so the model trains on the CPU (WebAssembly) instead: slower, but the same model. ${HOW_TO}` };
    } else {
      const facts = await adapterFacts();
      if (!facts.adapter) {
        fallback = { reason: 'no-adapter', message: `This browser has WebGPU but granted no GPU adapter (WebGPU may be turned off, or the GPU blocklisted), so the model trains on the CPU (WebAssembly) instead: slower, but the same model. ${HOW_TO}` };
      } else if (want === 'auto' && facts.fallback) {
        fallback = { reason: 'software-adapter', message: fallbackMessage(facts.name) };
      } else {
        let gpu = null;
        try {
          gpu = await timed('device', emit, () => create('webgpu'));
        } catch (err) {
          if (toWire(err).name === 'InvalidConfig') throw err; // the settings are at fault, not the GPU
          fallback = { reason: 'no-adapter', message: `WebGPU is present but could not be used (${shortReason(err)}), so the model trains on the CPU (WebAssembly) instead. ${HOW_TO}` };
        }
        if (gpu && want !== 'auto') return { s: gpu, fallback: null, adapter: facts.name };
        if (gpu) {
          const { s, choice } = await probeBoth(gpu, create, facts.name);
          const why = { reason: choice.reason, message: choice.message, ...(choice.figures ? { probe: choice.figures } : {}) };
          return { s, fallback: why, adapter: facts.name };
        }
      }
    }
  }
  const s = await create('cpu');
  if (want === 'cpu' && !fallback) fallback = { reason: 'requested', message: 'Training on the CPU (WebAssembly), as requested.' };
  return { s, fallback };
}
