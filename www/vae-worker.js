// @ts-check
// The training worker of <vae-playground>: loads the wasm core, streams MNIST
// into it, trains, and sends metrics and pictures back to the element. Numerics
// and parsing live in the wasm core; this file schedules.
//
// It answers the requests of playground/protocol.js (each `{ id, op, args }`
// gets one reply `{ id, result }` or `{ id, error: { name, message } }`) and
// pushes events (`{ event, ... }`) listed there. Requests are handled one at a
// time, between chunks of training steps.

import { kindError, toWire } from './playground/errors.js';
import { BUILT_IN, checkpointBytes, commitFiles, filesForModel, isBuiltIn, readFiles, shapeText, stream, userData } from './worker/data.js';
import { handleExplore, exploreTick } from './worker/explore.js';
import { CopyKeeper, isPanic, panicMessage } from './worker/robust.js';
import * as perf from './worker/perf.js';
import { begin, done, end, timed } from './worker/startup.js';
import { adapterFacts, fallbackMessage, probeMessage, timeBackend } from './worker/auto-backend.js';

/**
 * @typedef {import('./playground/state.js').Settings} Settings
 * @typedef {import('./playground/state.js').ResolvedConfig} ResolvedConfig
 * @typedef {import('./playground/state.js').TrainMetrics} TrainMetrics
 * @typedef {import('./playground/state.js').EvalMetrics} EvalMetrics
 * @typedef {import('./playground/state.js').BackendInfo} BackendInfo
 * @typedef {import('./playground/protocol.js').Ops} Ops
 * @typedef {import('./playground/protocol.js').BenchResult} BenchResult
 * @typedef {import('./playground/protocol.js').WorkerEvent} WorkerEvent
 * @typedef {object} Session  the wasm core's Session (src/web), as far as this file uses it
 * @property {() => ResolvedConfig} config
 * @property {() => { backend: 'webgpu' | 'cpu', adapter: string }} backend
 * @property {(pixels: Uint8Array, count: number) => void} setTrainImages
 * @property {(pixels: Uint8Array, count: number) => void} setTestImages
 * @property {(h: { beta?: number, lr?: number }) => void} setHyper
 * @property {(n: number) => Float32Array} priorCodes
 * @property {(steps: number) => Promise<TrainMetrics>} train
 * @property {(maxImages: number) => Promise<EvalMetrics>} evaluate
 * @property {(n: number) => Promise<Float32Array>} sample
 * @property {(z: Float32Array, n: number) => Promise<Float32Array>} decode
 * @property {(indices: Uint32Array) => Promise<Float32Array>} reconstruct
 * @property {(pixels: Uint8Array, n: number) => Promise<Float32Array>} encodePixels
 * @property {(size: number, dx: number, dy: number) => Promise<Float32Array>} latentGrid
 * @property {() => void} free
 * @property {(data: any) => { train: number, test: number, trainLabels: Uint8Array | null, testLabels: Uint8Array | null }} setData
 * @property {() => Promise<Uint8Array>} checkpoint
 * @property {(indices: Uint32Array) => Promise<Uint8Array>} testImages
 * @property {() => Promise<import('./worker/robust.js').TrainState>} exportState
 * @property {(state: import('./worker/robust.js').TrainState) => void} importState
 * @property {() => void} debugPanic
 * @property {() => void} debugLoseDevice
 * @property {() => Promise<number>} warmPipelines
 * @property {(steps: number) => Promise<number>} probe
 * @typedef {object} Wasm  the wasm-bindgen module wasm/vae-playground.js
 * @property {() => Promise<unknown>} default
 * @property {{ create: (overrides: Settings, backend: 'webgpu' | 'cpu') => Promise<Session>,
 *   presets: () => import('./playground/state.js').Preset[], limits: () => import('./playground/state.js').Limits,
 *   fromCheckpoint: (bytes: Uint8Array, backend: 'webgpu' | 'cpu') => Promise<Session>, inspectCheckpoint: (bytes: Uint8Array) => any }} Session
 * @property {any} DataSet
 * @property {new (name: string) => import('./playground/mnist.js').IdxImages} IdxImages
 */

const SAMPLE_COUNT = 64;
const GRID = 15;
// Eight fixed test images (MNIST test indices of a 0, 1, 2, 3, 4, 5, 6 and 7;
// the first eight of other data sets: one of each class for Fashion-MNIST).
let RECON_INDICES = new Uint32Array(BUILT_IN.mnist.recon);
// Training starts on the first complete chunk of at least this many images (the
// first ~2% of the MNIST training file); each later feed replaces the set once it
// has tripled, so until the whole file is in, each epoch is a shuffle of the
// images so far (the file's first N: not sorted by class).
const FIRST_SLICE = 1000;

/** @type {Session | null} */
let session = null;
/** @type {Settings | null} */
let settings = null; // what the page asked for
/** @type {import('./playground/protocol.js').BackendChoice} */
let preferred = 'auto';
let running = false;
/** @type {URL | null} */
let base = null;
/** @type {Float32Array} */
let fixedZ = new Float32Array(0);
let dims = [0, 1];
let chunk = 1; // training steps per train() call, adapted to ~120 ms
let lastViews = 0;
let viewCost = 0;
let lastEval = 0;
let evalCost = 0;
/** @type {{ reason: string, message: string } | null} set once the GPU device was lost: stay on the CPU */
let lostDevice = null;

/** The last host-side copy of the training state (while on WebGPU). */
const copies = new CopyKeeper();
/** @type {import('./playground/errors.js').WireError | null} set once the wasm core panicked: the session is gone */
let fatal = null;

/** @type {import('./playground/mnist.js').Mnist | null} the built-in data set that trains (null: the reader's files) */
let mnist = null;
/** @type {import('./worker/data.js').DatasetName} */
let dataset = 'mnist';
/** How many images the current session has of each set. */
const fed = { train: 0, test: 0 };

/** @typedef {{ id?: number, op: string, args?: any, which?: 'train' | 'test' }} Message */
/** @type {Message[]} */
const queue = [];
/** @type {(() => void) | null} */
let wake = null;

/**
 * @param {WorkerEvent} msg
 * @param {Transferable[]} [transfer]
 */
function emit(msg, transfer = []) {
  perf.saw(msg);
  self.postMessage(msg, { transfer });
}

/** @param {Message} msg */
function enqueue(msg) {
  queue.push(msg);
  if (wake) {
    const w = wake;
    wake = null;
    w();
  }
}

self.onmessage = (event) => enqueue(event.data);

// ---------------------------------------------------------------- data

/**
 * Hands the images so far to a session.
 * @param {Session | null} s
 * @param {'train' | 'test'} which
 */
function feed(s, which) {
  if (dataset === 'files') return; // install() gave the session the reader's files
  const snap = mnist?.images(which);
  if (!s || !snap) return;
  if (which === 'train') {
    // Before the first trained views, a first slice only (copying all of a
    // large set would hold them up); the rest follows right after them.
    const first = Math.max(FIRST_SLICE, s.config().batch);
    if (!done('first-view') && snap.count > first) {
      s.setTrainImages(snap.pixels.subarray(0, first * (snap.pixels.length / snap.count)), first);
      fed.train = first;
      enqueue({ op: '_feed', which });
    } else {
      s.setTrainImages(snap.pixels, snap.count);
      fed.train = snap.count;
    }
  } else {
    s.setTestImages(snap.pixels, snap.count);
    fed.test = snap.count;
  }
  if (which === 'train' && s === session) end('data', emit); // the first usable batch
}

/** @type {{ promise: Promise<void>, open: () => void } | null} */
let gate = null;
/**
 * Until the first trained views are out (or for at most GATE_MS), decoding
 * the rest of the data set waits: it would take the worker's thread from the
 * model's creation, the first step and the first views.
 */
function startupGate() {
  if (!gate) {
    /** @type {() => void} */
    let open = () => {};
    const promise = new Promise((resolve) => {
      open = () => resolve(undefined);
    });
    setTimeout(open, GATE_MS); // (a safety net: a failed first step must not hold the data forever)
    gate = { promise, open };
  }
  return gate.promise;
}
const GATE_MS = 20000;
/** The model is ready and nobody asked it to train within IDLE_MS: the data need not wait. */
const IDLE_MS = 1000;

/**
 * Selects a built-in data set, starting its download on first use; asks for a
 * feed when its test set is complete and as its training set grows (at 6,000
 * images, then each time it has tripled).
 * @param {Promise<Wasm>} loading  the wasm core, loading meanwhile
 * @param {keyof typeof BUILT_IN} [name]
 */
function loadData(loading, name = 'mnist') {
  begin('data');
  const st = stream(name, {
    decoder: loading.then((w) => w.IdxImages),
    base: /** @type {URL} */ (base),
    hooks: (me) => {
      let nextFeed = FIRST_SLICE;
      const mine = () => mnist === me.mnist;
      return {
        plan: (p) => {
          me.plan = { event: 'dataplan', ...p, name: BUILT_IN[name].label };
          if (mine()) emit(me.plan);
        },
        progress: (p) => {
          me.progress = { event: 'data', ...p };
          if (mine()) emit(me.progress);
        },
        gate: (which, n) => (!done('first-view') && n >= (which === 'train' ? 2 * FIRST_SLICE : FIRST_SLICE) ? startupGate() : null),
        arrived: (which, n, done) => {
          if (!mine()) return;
          if (which === 'test' && done) enqueue({ op: '_feed', which });
          if (which === 'train' && (done || n >= nextFeed)) {
            nextFeed = Math.max(nextFeed * 3, n + 1);
            enqueue({ op: '_feed', which });
          }
        },
      };
    },
    // (If the wasm core failed to load, the init request reports that.)
    // A data failure stops training and offers Retry (a fresh worker).
    failed: (err) => loading.then(() => {
      running = false;
      emit({ event: 'error', error: toWire(err), retry: true });
      emit({ event: 'state', running });
    }, () => {}),
  });
  mnist = st.mnist;
  if (st.plan) emit(st.plan);
  if (st.progress) emit(st.progress);
}

// -------------------------------------------------------------- session setup

/** @type {Promise<Wasm> | null} */
let wasmLoading = null;
/** The wasm core, loaded once. */
function loadWasm() {
  wasmLoading ??= (async () => {
    emit({ event: 'loading' });
    return timed('wasm', emit, async () => {
      const mod = /** @type {Wasm} */ (await import(new URL('wasm/vae-playground.js', /** @type {URL} */ (base)).href));
      await mod.default();
      return mod;
    });
  })();
  return wasmLoading;
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
async function adapterName() {
  const f = await adapterFacts();
  return f.adapter ? f.name : null;
}

/** @type {Map<string, import('./worker/auto-backend.js').Choice>} backend="auto": the probe's choice per model shape */
const autoChoices = new Map();

/**
 * backend="auto" with a hardware adapter: the GPU session `gpu` and a CPU
 * session of the same model, each timed on a throwaway copy (Session.probe);
 * the faster is kept, the other freed. Decided once per preset, latent size
 * and batch (a preset change probes again).
 * @param {Session} gpu
 * @param {(backend: 'webgpu' | 'cpu') => Promise<Session>} create
 * @param {string} adapter
 * @returns {Promise<{ s: Session, choice: import('./worker/auto-backend.js').Choice }>}
 */
async function probeBoth(gpu, create, adapter) {
  const c = gpu.config();
  const key = `${c.preset}/${c.latent}/${c.batch}`;
  const known = autoChoices.get(key);
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
  /** @type {import('./worker/auto-backend.js').Choice} */
  const choice = { backend: winner, reason: 'measured', message: probeMessage(winner, figures, adapter, c.preset), figures };
  autoChoices.set(key, choice);
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
 * @param {import('./playground/protocol.js').BackendChoice} want
 * @returns {Promise<{ s: Session, fallback: { reason: string, message: string, probe?: { cpu: number, webgpu: number } } | null, adapter?: string }>}
 */
async function createSession(cfg, want, make = /** @type {((backend: 'webgpu' | 'cpu') => Promise<Session>) | null} */ (null)) {
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

/**
 * A new session in place of the current one; announces it with a `model` event.
 * @param {Settings} cfg
 * @param {import('./playground/protocol.js').BackendChoice} want
 * @param {{ reason: string, message: string } | null} [reasonOverride]
 * @param {((backend: 'webgpu' | 'cpu') => Promise<Session>) | null} [make]  how to make the session (default: Session.create)
 * @param {number} [step]  the steps it has already trained (a loaded checkpoint)
 * @param {import('./worker/robust.js').TrainState | null} [from]  continue from this state (same settings), at its step
 */
async function install(cfg, want, reasonOverride = null, make = null, step = 0, from = null) {
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
  copies.clear();
  // The reader's files: built for this model's input, or refused (BadFile)
  // with the current model and data untouched.
  const files = dataset === 'files' ? filesForModel() : null;
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
  if (session) {
    try { session.free(); } catch { /* already gone */ }
  }
  session = s;
  settings = cfg;
  const config = s.config();
  const info = s.backend();
  fixedZ = s.priorCodes(SAMPLE_COUNT);
  dims = [0, Math.min(1, config.latent - 1)];
  chunk = 1;
  lastViews = 0;
  lastEval = 0;
  fed.train = 0;
  fed.test = 0;
  if (filesData) {
    fed.train = filesData.train;
    fed.test = filesData.test;
    RECON_INDICES = new Uint32Array(Array.from({ length: Math.min(8, filesData.test) }, (_, i) => i));
    filesForExplore.labels = filesData.testLabels;
    // (colour images too: the scatter, KL and whole-test-set loss read them by index; the
    // views that draw 28x28 digits are hidden for colour models)
    filesForExplore.images = { pixels: await s.testImages(Uint32Array.from({ length: filesData.test }, (_, i) => i)), count: filesData.test };
    emit({ event: 'dataplan', name: files?.label ?? 'your files', test: { bytes: 0, count: filesData.test }, train: { bytes: 0, count: filesData.train } });
    emit({ event: 'data', which: 'train', receivedBytes: 0, images: filesData.train, done: true });
  } else {
    RECON_INDICES = new Uint32Array(BUILT_IN[/** @type {keyof typeof BUILT_IN} */ (dataset)].recon);
  }
  feed(s, 'test');
  feed(s, 'train');
  let continued = null;
  if (from) {
    s.importState(from);
    continued = { step: from.step };
  }
  /** @type {{ reason: string, message: string, probe?: { cpu: number, webgpu: number } } | null} */
  const fb = reasonOverride || fallback;
  /** @type {BackendInfo} */
  const backend = {
    backend: info.backend,
    adapter: info.backend === 'cpu' ? '' : info.adapter || adapter || '',
    reason: fb ? fb.reason : 'webgpu',
    message: fb ? fb.message : '',
    probe: fb?.probe ?? null,
  };
  // Which data the model trains on: the views start afresh when it changes.
  const dataKey = files ? `files:${files.id}` : dataset;
  emit(continued ? { event: 'model', config, backend, continued, dataset, dataKey } : { event: 'model', config, backend, step, dataset, dataKey });
  // The untrained model's views, unless training was asked for already (autostart
  // sends start right behind create): then the first trained views come first.
  if (!queue.some((m) => m.op === 'start')) await refreshViews();
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
async function guarded(fn) {
  try {
    return await fn();
  } catch (err) {
    if (toWire(err).name === 'DeviceLost' && session && session.backend().backend === 'webgpu') {
      const copy = copies.latest();
      const why = toWire(err).message.replace(/\.$/, '');
      lostDevice = {
        reason: 'device-lost',
        message: copy
          ? `The GPU device was lost while training (${why}), so training continues on the CPU (WebAssembly) from step ${copy.step.toLocaleString('en-US')}, the last copy of the model. Try WebGPU again when the GPU is back.`
          : `The GPU device was lost while training (${why}) before a copy of the model was taken, so a fresh model now trains on the CPU (WebAssembly). Try WebGPU again when the GPU is back.`,
      };
      await install(/** @type {Settings} */ (settings), 'cpu', lostDevice, null, copy?.step ?? 0, copy);
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
async function call(fn) {
  if (!session) throw kindError('NotRunning', 'The model is not ready yet.');
  const s = session;
  const result = await guarded(() => fn(s));
  if (result === null) throw kindError('DeviceLost', 'The GPU device was lost; the model restarted on the CPU. Try again.');
  return result;
}

// ------------------------------------------------------------------- training

async function trainChunk() {
  if (!session || fed.train === 0) {
    // Nothing to train on yet: wait for the next message (the first feed) or 50 ms.
    await new Promise((resolve) => {
      const timer = setTimeout(() => {
        wake = null;
        resolve(undefined);
      }, 50);
      wake = () => {
        clearTimeout(timer);
        resolve(undefined);
      };
    });
    return;
  }
  const s = session;
  const t0 = performance.now();
  const steps = chunk;
  perf.beforeTrain(s);
  const first = !done('first-step');
  if (first) begin('first-step');
  let m;
  try {
    m = await guarded(() => s.train(chunk));
    if (first) end('first-step', emit);
  } catch (err) {
    // Diverged: the session already rolled back to its last good snapshot.
    // Show that model and let the loop pause and report the sentence.
    if (toWire(err).name === 'Diverged') {
      chunk = 1;
      await refreshViews();
    }
    throw err;
  }
  if (!m) return;
  perf.trained(s, steps, m.images, performance.now() - t0);
  if (s.backend().backend === 'webgpu') await copies.maybeTake(s);
  const dt = performance.now() - t0;
  // Aim for ~120 ms per call: responsive pause and controls, small call overhead.
  const ideal = (chunk * 120) / Math.max(dt, 1);
  chunk = Math.max(1, Math.min(500, Math.round(Math.min(ideal, chunk * 2))));
  emit({ event: 'metrics', metrics: { ...m } });
}

async function refreshViews() {
  if (!session) return;
  const s = session;
  const t0 = performance.now();
  /** @type {{ samples?: Float32Array, grid?: Float32Array, recon?: Float32Array }} */
  const out = {};
  const r = await guarded(async () => {
    out.samples = await s.decode(fixedZ, SAMPLE_COUNT);
    out.grid = await s.latentGrid(GRID, dims[0], dims[1]);
    if (RECON_INDICES.length && fed.test > Math.max(...RECON_INDICES)) out.recon = await s.reconstruct(RECON_INDICES);
    return true;
  });
  if (!r) return;
  const transfer = Object.values(out).map((a) => a.buffer);
  // The first views after a training step: the page ends this phase when it has drawn them.
  if (done('first-step') && !done('first-view')) {
    begin('first-view', performance.timeOrigin + t0);
    end('first-view', emit);
    startupGate();
    gate?.open(); // the rest of the data now
  }
  emit({ event: 'frame', ...out, gridSize: GRID }, transfer);
  viewCost = performance.now() - t0;
  perf.viewed(viewCost);
  lastViews = performance.now();
}

async function evaluateTest() {
  if (!session || fed.test === 0) return;
  const s = session;
  const t0 = performance.now();
  const m = await guarded(() => s.evaluate(500));
  if (!m) return;
  evalCost = performance.now() - t0;
  lastEval = performance.now();
  emit({ event: 'test', metrics: { ...m } });
}

function sendOriginals() {
  if (dataset === 'files') {
    const s = session;
    if (s && RECON_INDICES.length) {
      s.testImages(RECON_INDICES).then((images) => emit({ event: 'originals', images }, [images.buffer]), (err) => emit({ event: 'error', error: toWire(err) }));
    }
    return;
  }
  const snap = mnist?.images('test');
  if (!snap) return;
  const per = snap.pixels.length / snap.count;
  const originals = new Uint8Array(RECON_INDICES.length * per);
  RECON_INDICES.forEach((idx, i) => originals.set(snap.pixels.subarray(idx * per, (idx + 1) * per), i * per));
  emit({ event: 'originals', images: originals }, [originals.buffer]);
}

// The explore views' worker side (worker/explore.js) and what it borrows.
/** @type {Map<string, Uint8Array>} each built-in data set's test labels, parsed */
const testLabels = new Map();
const labelsAsked = new Set();
/** The reader's files, as far as the explore views read them. */
/** @type {{ images: { pixels: Uint8Array, count: number } | null, labels: Uint8Array | null }} */
const filesForExplore = { images: null, labels: null };
/** @type {import('./worker/explore.js').ExploreContext} */
const explore = {
  call,
  session: () => session,
  // What the session holds: the download's snapshot may run ahead of the feed
  // (training starts on the first training images, before the test file is in).
  testImages: () => (dataset === 'files' ? filesForExplore.images : fed.test > 0 ? (mnist?.images('test') ?? null) : null),
  testLabels: () => {
    if (dataset === 'files') return Promise.resolve(filesForExplore.labels);
    const key = dataset;
    const file = mnist?.labelFiles.test;
    if (!labelsAsked.has(key) && file) {
      // parsed by the wasm core; later calls see the result
      labelsAsked.add(key);
      file.then(async (bytes) => {
        const w = await loadWasm();
        testLabels.set(key, /** @type {any} */ (w).parseIdxLabels(bytes, `${BUILT_IN[key].label} test labels`));
      }).catch((err) => emit({ event: 'error', error: toWire(err) }));
    }
    return Promise.resolve(testLabels.get(key) ?? null);
  },
  emit,
  running: () => running,
};

// ------------------------------------------------------------------ benchmark

/** @param {Ops['bench'][0]} args */
async function bench({ steps, warmup, batch, preset = 'mlp', backends = ['webgpu', 'cpu'] }) {
  running = false;
  emit({ event: 'state', running });
  await /** @type {import('./playground/mnist.js').Mnist} */ (mnist).ready(FIRST_SLICE);
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

// ---------------------------------------------------------------- requests

/**
 * One request; resolves to its reply's result.
 * @param {Message} msg
 * @returns {Promise<unknown>}
 */
async function handle(msg) {
  const a = msg.args;
  switch (msg.op) {
    case 'init': {
      base = new URL(a.base);
      preferred = a.backend || 'auto';
      const loading = loadWasm();
      if (preferred !== 'cpu') adapterFacts(); // the browser's adapter, asked while the wasm loads
      if (a.dataset && isBuiltIn(a.dataset)) dataset = a.dataset;
      loadData(loading, /** @type {keyof typeof BUILT_IN} */ (dataset === 'files' ? 'mnist' : dataset));
      const w = await loading;
      return { presets: w.Session.presets(), limits: w.Session.limits() };
    }
    case 'create': {
      const config = await withDataset(a.dataset, () => install(a.config, lostDevice ? 'cpu' : preferred, lostDevice));
      setTimeout(() => {
        if (!running) gate?.open();
      }, IDLE_MS);
      return config;
    }
    case 'files': {
      const w = await loadWasm();
      /** @type {import('./playground/state.js').ImageShape[]} */
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
      if (!session) throw kindError('NotRunning', 'The model is not ready yet.');
      running = true;
      emit({ event: 'state', running });
      return null;
    case 'pause':
      running = false;
      emit({ event: 'state', running });
      return null;
    case 'hyper': {
      if (!session) throw kindError('NotRunning', 'The model is not ready yet.');
      session.setHyper(a);
      return session.config();
    }
    case 'dims':
      dims = [a.x, a.y];
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
    case 'debug':
      return debugFault(a.fault);
    case 'webgpu':
      return backToWebgpu();
    case 'perf':
      perf.setPerf(Boolean(a.on));
      return perf.report(session, { force: true });
    default:
      throw kindError('Internal', `The worker got an unknown request "${msg.op}".`);
  }
}

// ------------------------------------------------------- data and weights

/**
 * Runs `fn` (which builds a model) with `name` as the data set; on failure the
 * data set that trained before is selected again.
 * @template T
 * @param {import('./worker/data.js').DatasetName | undefined} name
 * @param {() => Promise<T>} fn
 */
async function withDataset(name, fn) {
  const before = { dataset, mnist };
  if (name && name !== dataset) {
    if (name === 'files') {
      filesForModel(); // throws if there are none
      dataset = 'files';
      mnist = null;
    } else if (isBuiltIn(name)) {
      dataset = name;
      loadData(loadWasm(), name);
    } else {
      throw kindError('InvalidConfig', `The data set "${name}" is unknown: use one of ${[...Object.keys(BUILT_IN), 'files'].join(', ')}.`);
    }
  }
  try {
    return await fn();
  } catch (err) {
    if (dataset !== before.dataset) {
      dataset = before.dataset;
      mnist = before.mnist;
      const st = dataset === 'files' ? null : stream(/** @type {keyof typeof BUILT_IN} */ (dataset), /** @type {any} */ (null));
      if (st?.plan) emit(st.plan);
      if (st?.progress) emit(st.progress);
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
  const files = dataset === 'files' ? userData() : null;
  if (files) {
    try {
      files.set.check(shape);
    } catch (err) {
      throw kindError('BadFile', `${name} is a model of ${shapeText(shape)} images, and the files loaded do not fit it (${toWire(err).message.replace(/\.$/, '')}). Load data that fits first.`);
    }
  } else if (shape.channels !== 1 || shape.height !== 28 || shape.width !== 28) {
    throw kindError('BadFile', `${name} is a model of ${shapeText(shape)} images, and ${BUILT_IN[/** @type {keyof typeof BUILT_IN} */ (dataset)].label} has 28x28 grey images: load data that fits first (for a colour model, CIFAR-10 batches or your pictures).`);
  }
  /** @type {Settings} */
  const cfg = { preset: info.preset };
  for (const k of /** @type {const} */ (['latent', 'beta', 'lr', 'batch', 'recon', 'seed', 'binarize', 'kl_warmup'])) if (info[k] !== undefined) /** @type {any} */ (cfg)[k] = info[k];
  const config = await install(cfg, lostDevice ? 'cpu' : preferred, lostDevice, (backend) => w.Session.fromCheckpoint(bytes, backend), info.step);
  return { config, settings: cfg, step: info.step };
}

/**
 * The test hooks (the element's debug-faults attribute): a panic in the wasm
 * core, or a lost GPU device at the next training step.
 * @param {'panic' | 'device-lost'} fault
 */
function debugFault(fault) {
  if (!session) throw kindError('NotRunning', 'The model is not ready yet.');
  if (fault === 'panic') session.debugPanic();
  else if (fault === 'device-lost') session.debugLoseDevice();
  else throw kindError('InvalidConfig', `debugFault("${fault}") is not a fault: use panic or device-lost.`);
  return null;
}

/** After a lost device: the model on the CPU moves back to WebGPU, at the same step. */
async function backToWebgpu() {
  if (!session) throw kindError('NotRunning', 'The model is not ready yet.');
  if (session.backend().backend === 'webgpu') return session.config();
  const state = await session.exportState();
  const { s } = await createSession(/** @type {Settings} */ (settings), 'webgpu');
  s.free(); // only a probe: WebGPU gives a device again
  lostDevice = null;
  return install(/** @type {Settings} */ (settings), 'webgpu', null, null, state.step, state);
}

/**
 * The wasm core panicked: its module is unusable. Every queued request is
 * answered with the error, and every later one too; the element shows the
 * message and offers Reset (a fresh worker).
 * @param {unknown} err
 */
function die(err) {
  fatal = { name: 'Internal', message: `The training core crashed (${panicMessage(err)}). Press Reset to start again; the model trained so far is lost.` };
  running = false;
  session = null;
  for (const m of queue.splice(0)) {
    if (typeof m.id === 'number' && m.op !== 'dispose') self.postMessage({ id: m.id, error: fatal });
    else if (m.op === 'dispose') queue.push(m);
  }
  emit({ event: 'fatal', error: fatal });
  emit({ event: 'state', running });
}

/** @param {Message} msg  a message with no id: the worker's own */
async function internal(msg) {
  if (msg.op !== '_feed' || !msg.which) return;
  // Fed images replace the whole set (a GPU upload): when more have already
  // arrived and another feed is queued, let that one do it.
  if (queue.some((m) => m.op === '_feed' && m.which === msg.which)) return;
  feed(session, msg.which);
  if (msg.which === 'test') {
    // (before the first trained views, the next refresh shows the reconstructions)
    if (done('first-view') || !running) await refreshViews();
    sendOriginals();
  }
}

/** @param {number} id */
async function dispose(id) {
  // The element was removed: release the wasm session (GPU buffers, device)
  // before the element terminates this worker.
  running = false;
  queue.length = 0;
  if (session) {
    try { session.free(); } catch { /* already gone */ }
    session = null;
  }
  self.postMessage({ id, result: null });
  await new Promise(() => {}); // nothing more: wait to be terminated
}

// The CPU backend's promises resolve as microtasks, so a loop of `await train()`
// would never let a message (pause, hyper, data chunks) in: yield a macrotask
// turn between chunks. A MessageChannel hop has no setTimeout clamping.
const yieldChannel = new MessageChannel();
/** @type {(() => void)[]} */
const yielders = [];
yieldChannel.port1.onmessage = () => yielders.shift()?.();
function yieldToEvents() {
  return new Promise((resolve) => {
    yielders.push(() => resolve(undefined));
    yieldChannel.port2.postMessage(null);
  });
}

/**
 * Whether a message waits until the first trained views are out:
 * - a feed of more training images, once the model has some (replacing them,
 *   copying tens of MB on the CPU backend, would hold up the first step and view);
 * - while training starts, the explore views' requests (each watched view is
 *   computed at once, e.g. the scatter encodes up to 2,000 test digits: a quarter
 *   of a second before the first step on the CPU); all of them, so that they keep
 *   their order. They are answered right after the first trained views.
 * @param {Message} msg
 */
function waitsForFirstView(msg) {
  if (done('first-view')) return false;
  if (msg.op === '_feed') return msg.which === 'train' && fed.train > 0;
  return msg.op === 'explore' && running && session !== null;
}

async function loop() {
  for (;;) {
    await yieldToEvents();
    /** @type {Message[]} */
    const later = [];
    while (queue.length) {
      const msg = /** @type {Message} */ (queue.shift());
      if (waitsForFirstView(msg)) {
        later.push(msg);
        continue;
      }
      if (msg.op === 'dispose') await dispose(msg.id ?? 0);
      if (fatal) {
        if (typeof msg.id === 'number') self.postMessage({ id: msg.id, error: fatal });
        continue;
      }
      if (typeof msg.id !== 'number') {
        try {
          await internal(msg);
        } catch (err) {
          if (isPanic(err)) die(err);
          else emit({ event: 'error', error: toWire(err) });
        }
        continue;
      }
      try {
        const result = await handle(msg);
        const transfer = result instanceof Float32Array ? [result.buffer] : [];
        self.postMessage({ id: msg.id, result }, { transfer });
      } catch (err) {
        if (isPanic(err)) {
          die(err);
          self.postMessage({ id: msg.id, error: fatal });
          continue;
        }
        self.postMessage({ id: msg.id, error: toWire(err) });
        if (!session && running) {
          running = false;
          emit({ event: 'state', running });
        }
      }
    }
    queue.unshift(...later);
    if (running && session) {
      try {
        await trainChunk();
        const now = performance.now();
        // Keep views and evaluation under ~25% of the time.
        // (the first trained views at once: they end the start-up)
        if (now - lastViews > Math.max(600, viewCost * 3) || (done('first-step') && !done('first-view'))) await refreshViews();
        if (now - lastEval > Math.max(2500, evalCost * 4)) await evaluateTest();
        await exploreTick(explore);
        const report = perf.report(session);
        if (report) emit({ event: 'perf', report });
      } catch (err) {
        if (isPanic(err)) {
          die(err);
          continue;
        }
        running = false;
        emit({ event: 'error', error: toWire(err) });
        emit({ event: 'state', running });
      }
    } else {
      await new Promise((resolve) => {
        wake = () => resolve(undefined);
      });
    }
  }
}

loop();
