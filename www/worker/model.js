// @ts-check
// The model the worker trains: a session installed in place of the last one
// (announced by a `model` event), the chunks of training steps, and the
// pictures sent back now and then (samples, latent grid, reconstructions,
// test loss). A lost GPU device moves the model to the CPU, from its last copy.

import { kindError, toWire } from '../playground/errors.js';
import { BUILT_IN, commitFiles, filesForModel } from './data.js';
import { feed, openGate, sendOriginals } from './feed.js';
import * as perf from './perf.js';
import { isPanic } from './robust.js';
import { createSession } from './session.js';
import { begin, done, end, timed } from './startup.js';
import { GRID, SAMPLE_COUNT, emit, worker } from './state.js';

/**
 * @typedef {import('./state.js').Session} Session
 * @typedef {import('./state.js').Settings} Settings
 * @typedef {import('./state.js').Fallback} Fallback
 * @typedef {import('../playground/state.js').BackendInfo} BackendInfo
 * @typedef {import('../playground/state.js').ResolvedConfig} ResolvedConfig
 * @typedef {object} InstallOptions
 * @property {import('./state.js').BackendChoice} want  the backend asked for
 * @property {Fallback | null} [reason]  why not that backend, said in place of what createSession finds
 * @property {import('./session.js').MakeSession | null} [make]  how to make the session (default: Session.create)
 * @property {number} [step]  the steps it has already trained (a loaded checkpoint)
 * @property {import('./robust.js').TrainState | null} [from]  continue from this state (same settings), at its step
 */

/**
 * A new session in place of the current one; announces it with a `model` event.
 * @param {Settings} cfg
 * @param {InstallOptions} opts
 * @returns {Promise<ResolvedConfig>}
 */
export async function install(cfg, { want, reason = null, make = null, step = 0, from = null }) {
  const { s, fallback, adapter } = await createSession(cfg, want, make);
  if (s.backend().backend === 'webgpu') {
    // Every pipeline of the step and the views, created now (while the data
    // downloads) rather than at the first step.
    try {
      await timed('pipelines', emit, () => s.warmPipelines());
    } catch (err) {
      if (isPanic(err)) throw err;
      // Not fatal here: the first step creates them, and meets the failure if it is the device's.
    }
  }
  worker.copies.clear();
  // The reader's files: built for this model's input, or refused (BadFile)
  // with the current model and data untouched.
  const files = worker.dataset === 'files' ? filesForModel() : null;
  let filesData = null;
  if (files) {
    try {
      filesData = s.setData(files.set);
    } catch (err) {
      s.free();
      throw err;
    }
    commitFiles(files);
  }
  if (worker.session) {
    try { worker.session.free(); } catch { /* already gone */ }
  }
  worker.session = s;
  worker.settings = cfg;
  /** @type {ResolvedConfig} */
  const config = s.config();
  const info = s.backend();
  worker.views.fixedZ = s.priorCodes(SAMPLE_COUNT);
  worker.views.dims = [0, Math.min(1, config.latent - 1)];
  worker.views.lastAt = 0;
  worker.testLoss.lastAt = 0;
  worker.chunk = 1;
  worker.fed.train = 0;
  worker.fed.test = 0;
  if (filesData) {
    worker.fed.train = filesData.train;
    worker.fed.test = filesData.test;
    worker.reconIndices = new Uint32Array(Array.from({ length: Math.min(8, filesData.test) }, (_, i) => i));
    worker.files.labels = filesData.testLabels;
    // (colour images too: the scatter, KL and whole-test-set loss read them by index; the
    // views that draw 28x28 digits are hidden for colour models)
    worker.files.images = { pixels: await s.testImages(Uint32Array.from({ length: filesData.test }, (_, i) => i)), count: filesData.test };
    emit({ event: 'dataplan', name: files?.label ?? 'your files', test: { bytes: 0, count: filesData.test }, train: { bytes: 0, count: filesData.train } });
    emit({ event: 'data', which: 'train', receivedBytes: 0, images: filesData.train, done: true });
  } else {
    worker.reconIndices = new Uint32Array(BUILT_IN[/** @type {keyof typeof BUILT_IN} */ (worker.dataset)].recon);
  }
  feed(s, 'test');
  feed(s, 'train');
  let continued = null;
  if (from) {
    s.importState(from);
    continued = { step: from.step };
  }
  const fb = reason || fallback;
  /** @type {BackendInfo} */
  const backend = {
    backend: info.backend,
    adapter: info.backend === 'cpu' ? '' : info.adapter || adapter || '',
    reason: fb ? fb.reason : 'webgpu',
    message: fb ? fb.message : '',
    probe: fb?.probe ?? null,
  };
  // Which data the model trains on: the views start afresh when it changes.
  const { dataset } = worker;
  const dataKey = files ? `files:${files.id}` : dataset;
  emit(continued ? { event: 'model', config, backend, continued, dataset, dataKey } : { event: 'model', config, backend, step, dataset, dataKey });
  // The untrained model's views, unless training was asked for already (autostart
  // sends start right behind create): then the first trained views come first.
  if (!worker.queue.some((m) => m.op === 'start')) await refreshViews();
  sendOriginals();
  return config;
}

/**
 * Runs `fn`; if the GPU device was lost, moves to a fresh model on the CPU
 * (announced by a `model` event) and resolves to null.
 * @template T
 * @param {() => Promise<T>} fn
 * @returns {Promise<T | null>}
 */
export async function guarded(fn) {
  try {
    return await fn();
  } catch (err) {
    const { session } = worker;
    if (toWire(err).name === 'DeviceLost' && session && session.backend().backend === 'webgpu') {
      const copy = worker.copies.latest();
      const why = toWire(err).message.replace(/\.$/, '');
      worker.lostDevice = {
        reason: 'device-lost',
        message: copy
          ? `The GPU device was lost while training (${why}), so training continues on the CPU (WebAssembly) from step ${copy.step.toLocaleString('en-US')}, the last copy of the model. Try WebGPU again when the GPU is back.`
          : `The GPU device was lost while training (${why}) before a copy of the model was taken, so a fresh model now trains on the CPU (WebAssembly). Try WebGPU again when the GPU is back.`,
      };
      await install(/** @type {Settings} */ (worker.settings), { want: 'cpu', reason: worker.lostDevice, step: copy?.step ?? 0, from: copy });
      return null;
    }
    throw err;
  }
}

/**
 * `fn` on the session; a lost device rejects the call (the model restarted on the CPU).
 * @template T
 * @param {(s: Session) => Promise<T>} fn
 * @returns {Promise<T>}
 */
export async function call(fn) {
  const s = current();
  const result = await guarded(() => fn(s));
  if (result === null) throw kindError('DeviceLost', 'The GPU device was lost; the model restarted on the CPU. Try again.');
  return result;
}

/** The session, or NotRunning before the first model. */
export function current() {
  if (!worker.session) throw kindError('NotRunning', 'The model is not ready yet.');
  return worker.session;
}

/** Some training steps (a chunk of ~120 ms), and their metrics to the page. */
export async function trainChunk() {
  if (!worker.session || worker.fed.train === 0) {
    // Nothing to train on yet: wait for the next message (the first feed) or 50 ms.
    await new Promise((resolve) => {
      const timer = setTimeout(() => {
        worker.wake = null;
        resolve(undefined);
      }, 50);
      worker.wake = () => {
        clearTimeout(timer);
        resolve(undefined);
      };
    });
    return;
  }
  const s = worker.session;
  const t0 = performance.now();
  const steps = worker.chunk;
  perf.beforeTrain(s);
  const first = !done('first-step');
  if (first) begin('first-step');
  let m;
  try {
    m = await guarded(() => s.train(steps));
    if (first) end('first-step', emit);
  } catch (err) {
    // Diverged: the session already rolled back to its last good snapshot.
    // Show that model and let the loop pause and report the sentence.
    if (toWire(err).name === 'Diverged') {
      worker.chunk = 1;
      await refreshViews();
    }
    throw err;
  }
  if (!m) return;
  perf.trained(s, steps, m.images, performance.now() - t0);
  if (s.backend().backend === 'webgpu') await worker.copies.maybeTake(s);
  const dt = performance.now() - t0;
  // Aim for ~120 ms per call: responsive pause and controls, small call overhead.
  const ideal = (steps * 120) / Math.max(dt, 1);
  worker.chunk = Math.max(1, Math.min(500, Math.round(Math.min(ideal, steps * 2))));
  emit({ event: 'metrics', metrics: { ...m } });
}

/** The samples, the latent grid and the reconstructions, as a `frame` event. */
export async function refreshViews() {
  if (!worker.session) return;
  const s = worker.session;
  const { views, reconIndices, fed } = worker;
  const t0 = performance.now();
  /** @type {{ samples?: Float32Array, grid?: Float32Array, recon?: Float32Array }} */
  const out = {};
  const r = await guarded(async () => {
    out.samples = await s.decode(views.fixedZ, SAMPLE_COUNT);
    out.grid = await s.latentGrid(GRID, views.dims[0], views.dims[1]);
    if (reconIndices.length && fed.test > Math.max(...reconIndices)) out.recon = await s.reconstruct(reconIndices);
    return true;
  });
  if (!r) return;
  const transfer = Object.values(out).map((a) => a.buffer);
  // The first views after a training step: the page ends this phase when it has drawn them.
  if (done('first-step') && !done('first-view')) {
    begin('first-view', performance.timeOrigin + t0);
    end('first-view', emit);
    openGate(true); // the rest of the data now
  }
  emit({ event: 'frame', ...out, gridSize: GRID }, transfer);
  views.cost = performance.now() - t0;
  perf.viewed(views.cost);
  views.lastAt = performance.now();
}

/** The loss on the first 500 test images, as a `test` event. */
export async function evaluateTest() {
  if (!worker.session || worker.fed.test === 0) return;
  const s = worker.session;
  const t0 = performance.now();
  const m = await guarded(() => s.evaluate(500));
  if (!m) return;
  worker.testLoss.cost = performance.now() - t0;
  worker.testLoss.lastAt = performance.now();
  emit({ event: 'test', metrics: { ...m } });
}
