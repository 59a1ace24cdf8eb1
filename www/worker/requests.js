// @ts-check
// The requests of playground/protocol.js, one handler each: what the page asks
// of the model (build, train, pause, sample, explore...), of its data and
// weights (files, checkpoints), and the benchmark and test hooks.

import { kindError, toWire } from '../playground/errors.js';
import { BUILT_IN, checkpointBytes, filesForModel, isBuiltIn, readFiles, shapeText, userData } from './data.js';
import { draw, handleExplore } from './explore.js';
import { feed, loadData, openGate, showData } from './feed.js';
import { call, current, install, refreshViews } from './model.js';
import * as perf from './perf.js';
import { adapterFacts } from './auto-backend.js';
import { adapterName, createSession, loadWasm } from './session.js';
import { FIRST_SLICE, emit, worker } from './state.js';

/**
 * @typedef {import('./state.js').Settings} Settings
 * @typedef {import('./state.js').Message} Message
 * @typedef {import('../playground/protocol.js').Ops} Ops
 * @typedef {import('../playground/protocol.js').BenchResult} BenchResult
 */

/** The model is ready and nobody asked it to train within IDLE_MS: the data need not wait. */
const IDLE_MS = 1000;

/**
 * One request; resolves to its reply's result.
 * @param {Message} msg
 * @returns {Promise<unknown>}
 */
export async function handle(msg) {
  const a = msg.args;
  switch (msg.op) {
    case 'init': {
      worker.base = new URL(a.base);
      worker.preferred = a.backend || 'auto';
      const loading = loadWasm();
      if (worker.preferred !== 'cpu') adapterFacts(); // the browser's adapter, asked while the wasm loads
      if (a.dataset && isBuiltIn(a.dataset)) worker.dataset = a.dataset;
      loadData(loading, /** @type {keyof typeof BUILT_IN} */ (worker.dataset === 'files' ? 'mnist' : worker.dataset));
      const w = await loading;
      return { presets: w.Session.presets(), limits: w.Session.limits() };
    }
    case 'create': {
      const config = await withDataset(a.dataset, () => install(a.config, { want: worker.lostDevice ? 'cpu' : worker.preferred, reason: worker.lostDevice }));
      setTimeout(() => {
        if (!worker.running) openGate();
      }, IDLE_MS);
      return config;
    }
    case 'files': {
      const w = await loadWasm();
      /** @type {import('../playground/state.js').ImageShape[]} */
      const shapes = [];
      for (const p of w.Session.presets()) if (!shapes.some((x) => shapeText(x) === shapeText(p.image))) shapes.push(p.image);
      return readFiles(w, a.files, shapes);
    }
    case 'checkpoint':
      return call((s) => s.checkpoint());
    case 'loadCheckpoint':
      return loadCheckpoint(a.bytes, a.name);
    case 'evaluate':
      return call((s) => s.evaluate(a.images));
    case 'start':
      current();
      worker.running = true;
      emit({ event: 'state', running: true });
      return null;
    case 'pause':
      worker.running = false;
      emit({ event: 'state', running: false });
      return null;
    case 'hyper': {
      const s = current();
      s.setHyper(a);
      return s.config();
    }
    case 'dims':
      worker.views.dims = [a.x, a.y];
      await refreshViews();
      return null;
    case 'bench':
      return bench(a);
    case 'sample':
      return call((s) => s.sample(a.n));
    case 'decode':
      return call((s) => s.decode(a.z, a.n));
    case 'encode':
      return call((s) => s.encodePixels(a.pixels, a.n));
    case 'explore':
      return handleExplore(a, explore);
    case 'draw':
      return draw(a, explore);
    case 'debug':
      return debugFault(a.fault);
    case 'webgpu':
      return backToWebgpu();
    case 'perf':
      perf.setPerf(Boolean(a.on));
      return perf.report(worker.session, { force: true });
    default:
      throw kindError('Internal', `The worker got an unknown request "${msg.op}".`);
  }
}

// The explore views' worker side (worker/explore.js) and what it borrows.
/** @type {import('./explore.js').ExploreContext} */
export const explore = {
  call,
  session: () => worker.session,
  // What the session holds: the download's snapshot may run ahead of the feed
  // (training starts on the first training images, before the test file is in).
  testImages: () => (worker.dataset === 'files' ? worker.files.images : worker.fed.test > 0 ? (worker.mnist?.images('test') ?? null) : null),
  testLabels: () => {
    if (worker.dataset === 'files') return Promise.resolve(worker.files.labels);
    const key = worker.dataset;
    const file = worker.mnist?.labelFiles.test;
    const { testLabels } = worker;
    if (!testLabels.has(key) && file) {
      // parsed by the wasm core; later calls see the result
      testLabels.set(key, null);
      file.then(async (bytes) => {
        const w = await loadWasm();
        testLabels.set(key, w.parseIdxLabels(bytes, `${BUILT_IN[key].label} test labels`));
      }).catch((err) => emit({ event: 'error', error: toWire(err) }));
    }
    return Promise.resolve(testLabels.get(key) ?? null);
  },
  emit,
  running: () => worker.running,
};

/**
 * Images/s of each backend on fresh sessions (the element's bench attribute).
 * @param {Ops['bench'][0]} args
 */
async function bench({ steps, warmup, batch, preset = 'mlp', backends = ['webgpu', 'cpu'] }) {
  worker.running = false;
  emit({ event: 'state', running: false });
  await /** @type {import('./mnist.js').Mnist} */ (worker.mnist).ready(FIRST_SLICE);
  const { Session } = await loadWasm();
  /** @type {BenchResult[]} */
  const results = [];
  for (const backend of backends) {
    const cfg = { preset, batch, seed: 1 };
    let s;
    try {
      if (backend === 'webgpu' && !('gpu' in navigator)) throw new Error('this browser does not offer WebGPU');
      s = await Session.create(cfg, backend);
    } catch (err) {
      results.push({ backend, preset, error: toWire(err).message });
      emit({ event: 'bench', results: [...results] });
      continue;
    }
    feed(s, 'train');
    feed(s, 'test');
    const adapter = backend === 'cpu' ? 'wasm simd128, 1 thread' : s.backend().adapter || (await adapterName()) || '';
    await s.train(warmup);
    const t0 = performance.now();
    let done = 0;
    let last = null;
    while (done < steps) {
      const k = Math.min(steps - done, 10);
      last = await s.train(k);
      done += k;
    }
    const seconds = (performance.now() - t0) / 1000;
    s.free();
    results.push({ backend, preset, adapter, steps, batch, seconds, imagesPerSec: (steps * batch) / seconds, loss: last?.loss });
    emit({ event: 'bench', results: [...results] });
  }
  return results;
}

/**
 * Runs `fn` (which builds a model) with `name` as the data set; on failure the
 * data set that trained before is selected again.
 * @template T
 * @param {import('./data.js').DatasetName | undefined} name
 * @param {() => Promise<T>} fn
 */
async function withDataset(name, fn) {
  const before = { dataset: worker.dataset, mnist: worker.mnist };
  if (name && name !== worker.dataset) {
    if (name === 'files') {
      filesForModel(); // throws if there are none
      worker.dataset = 'files';
      worker.mnist = null;
    } else if (isBuiltIn(name)) {
      worker.dataset = name;
      loadData(loadWasm(), name);
    } else {
      throw kindError('InvalidConfig', `The data set "${name}" is unknown: use one of ${[...Object.keys(BUILT_IN), 'files'].join(', ')}.`);
    }
  }
  try {
    return await fn();
  } catch (err) {
    if (worker.dataset !== before.dataset) {
      worker.dataset = before.dataset;
      worker.mnist = before.mnist;
      if (worker.dataset !== 'files') showData(worker.dataset);
    }
    throw err;
  }
}

/**
 * A model from checkpoint bytes (or the checkpoint `files` read), in place of
 * the current one, if it fits the data; the current model stays otherwise.
 * @param {Uint8Array | undefined} given
 * @param {string | undefined} givenName
 */
async function loadCheckpoint(given, givenName) {
  const w = await loadWasm();
  const { bytes, name } = checkpointBytes(given, givenName);
  let info;
  try {
    info = w.Session.inspectCheckpoint(bytes);
  } catch (err) {
    const e = toWire(err);
    throw kindError(e.name, `${name}: ${e.message}`); // BadFile with the reason
  }
  const shape = info.image;
  const files = worker.dataset === 'files' ? userData() : null;
  if (files) {
    try {
      files.set.check(shape);
    } catch (err) {
      throw kindError('BadFile', `${name} is a model of ${shapeText(shape)} images, and the files loaded do not fit it (${toWire(err).message.replace(/\.$/, '')}). Load data that fits first.`);
    }
  } else if (shape.channels !== 1 || shape.height !== 28 || shape.width !== 28) {
    throw kindError('BadFile', `${name} is a model of ${shapeText(shape)} images, and ${BUILT_IN[/** @type {keyof typeof BUILT_IN} */ (worker.dataset)].label} has 28x28 grey images: load data that fits first (for a colour model, CIFAR-10 batches or your pictures).`);
  }
  /** @type {Settings} */
  const cfg = { preset: info.preset };
  for (const k of /** @type {const} */ (['latent', 'beta', 'lr', 'batch', 'recon', 'seed', 'binarize', 'kl_warmup'])) if (info[k] !== undefined) /** @type {any} */ (cfg)[k] = info[k];
  const config = await install(cfg, { want: worker.lostDevice ? 'cpu' : worker.preferred, reason: worker.lostDevice, make: (backend) => w.Session.fromCheckpoint(bytes, backend), step: info.step });
  return { config, settings: cfg, step: info.step };
}

/**
 * The test hooks (the element's debug-faults attribute): a panic in the wasm
 * core, or a lost GPU device at the next training step.
 * @param {'panic' | 'device-lost'} fault
 */
function debugFault(fault) {
  const session = current();
  if (fault === 'panic') session.debugPanic();
  else if (fault === 'device-lost') session.debugLoseDevice();
  else throw kindError('InvalidConfig', `debugFault("${fault}") is not a fault: use panic or device-lost.`);
  return null;
}

/** After a lost device: the model on the CPU moves back to WebGPU, at the same step. */
async function backToWebgpu() {
  const session = current();
  if (session.backend().backend === 'webgpu') return session.config();
  const state = await session.exportState();
  const settings = /** @type {Settings} */ (worker.settings);
  const { s } = await createSession(settings, 'webgpu');
  s.free(); // only a probe: WebGPU gives a device again
  worker.lostDevice = null;
  return install(settings, { want: 'webgpu', step: state.step, from: state });
}
