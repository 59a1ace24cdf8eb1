// The training worker of <vae-playground>: loads the wasm core, streams MNIST in,
// trains, and ships metrics and rendered views back to the element. All numerics
// live here (and in wasm); the main thread only draws.
//
// Protocol (page -> worker):
//   { type: 'init', base, config, backend: 'auto'|'webgpu'|'cpu' }
//   { type: 'start' } | { type: 'pause' }
//   { type: 'hyper', beta?, lr? }                 live changes
//   { type: 'reset', config }                     new model (structural change)
//   { type: 'views', dimX, dimY }                 latent-grid plane for Z > 2
//   { type: 'bench', steps, warmup, batch }       benchmark mode
//   { type: 'call', id, op, args }                one-off API calls (sample/decode)
// Protocol (worker -> page): 'loading', 'dataplan', 'data', 'backend', 'ready', 'state',
//   'metrics', 'test', 'views', 'originals', 'bench', 'reply', 'error'.

const IMAGE = 784;
const SAMPLE_COUNT = 64;
const GRID = 15;
// Eight fixed test digits (MNIST test indices of a 0, 1, 2, 3, 4, 5, 6 and 7).
const RECON_INDICES = new Uint32Array([3, 2, 1, 18, 4, 8, 11, 0]);
const FIRST_SLICE = 6000; // training starts once this many images arrived
const DEVICE_LOST = 'the gpu device was lost';

let wasm = null; // the wasm-bindgen module namespace
let session = null;
let config = null; // requested config (what the page asked for)
let resolved = null; // session.config()
let preferred = 'auto';
let running = false;
let base = null;
let fixedZ = null;
let dims = [0, 1];
let chunk = 1; // training steps per train() call, adapted to ~120 ms
let lastViews = 0;
let viewCost = 0;
let lastEval = 0;
let evalCost = 0;
let stepsSinceReady = 0;
let lostDevice = null; // set once the GPU device was lost: stay on the CPU

const data = {
  train: { buf: null, count: 0, total: 0, fed: 0, done: false },
  test: { buf: null, count: 0, total: 0, fed: 0, done: false },
  waiters: [],
};

const queue = [];
let wake = null;

function post(msg, transfer) {
  self.postMessage(msg, transfer || []);
}

function errorText(err) {
  if (err && typeof err === 'object' && 'message' in err) return String(err.message);
  return String(err);
}

self.onmessage = (event) => {
  queue.push(event.data);
  if (wake) {
    const w = wake;
    wake = null;
    w();
  }
};

function enqueueInternal(msg) {
  self.onmessage({ data: msg });
}

// ---------------------------------------------------------------- data loading

async function fetchIdx(url, which, expectedBytes, onImages) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`Could not download the MNIST ${which} images (${url}: HTTP ${res.status}).`);
  const totalBytes = Number(res.headers.get('content-length')) || expectedBytes || 0;
  let received = 0;
  const counter = new TransformStream({
    transform(chunk, ctl) {
      received += chunk.byteLength;
      ctl.enqueue(chunk);
    },
  });
  const reader = res.body
    .pipeThrough(counter)
    .pipeThrough(new DecompressionStream('gzip'))
    .getReader();
  const header = new Uint8Array(16);
  let headerFill = 0;
  let buf = null;
  let filled = 0;
  let lastPost = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    let bytes = value;
    if (headerFill < 16) {
      const take = Math.min(16 - headerFill, bytes.length);
      header.set(bytes.subarray(0, take), headerFill);
      headerFill += take;
      bytes = bytes.subarray(take);
      if (headerFill === 16) {
        const view = new DataView(header.buffer);
        const magic = view.getUint32(0);
        const count = view.getUint32(4);
        if (magic !== 0x803 || view.getUint32(8) !== 28 || view.getUint32(12) !== 28) {
          throw new Error(`The MNIST ${which} file is not a 28x28 IDX image file (magic ${magic.toString(16)}).`);
        }
        buf = new Uint8Array(count * IMAGE);
        data[which].buf = buf;
        data[which].total = count;
      }
    }
    if (buf && bytes.length) {
      buf.set(bytes.subarray(0, buf.length - filled), filled);
      filled = Math.min(buf.length, filled + bytes.length);
      data[which].count = Math.floor(filled / IMAGE);
    }
    const now = performance.now();
    if (now - lastPost > 100) {
      lastPost = now;
      post({ type: 'data', which, receivedBytes: received, totalBytes, images: data[which].count, totalImages: data[which].total, done: false });
      onImages(data[which].count, false);
    }
  }
  if (!buf || filled < buf.length) throw new Error(`The MNIST ${which} download ended early (${filled} of ${buf ? buf.length : '?'} bytes).`);
  data[which].done = true;
  post({ type: 'data', which, receivedBytes: received, totalBytes: received, images: data[which].count, totalImages: data[which].total, done: true });
  onImages(data[which].count, true);
}

function notifyWaiters() {
  data.waiters = data.waiters.filter((w) => {
    if (data.train.count >= w.train && data.test.done) {
      w.resolve();
      return false;
    }
    return true;
  });
}

function dataReady(minTrain) {
  if (data.train.count >= minTrain && data.test.done) return Promise.resolve();
  return new Promise((resolve) => data.waiters.push({ train: minTrain, resolve }));
}

async function loadData() {
  const mnist = new URL('mnist/', base);
  const manifest = await (await fetch(new URL('manifest.json', mnist))).json();
  const files = manifest.files;
  post({ type: 'dataplan', test: { bytes: files.test.bytes, count: files.test.count }, train: { bytes: files.train.bytes, count: files.train.count } });
  await fetchIdx(new URL(files.test.url, mnist), 'test', files.test.bytes, (n, done) => {
    if (done) enqueueInternal({ type: '_feed', which: 'test' });
    notifyWaiters();
  });
  let nextFeed = FIRST_SLICE;
  await fetchIdx(new URL(files.train.url, mnist), 'train', files.train.bytes, (n, done) => {
    if (done || n >= nextFeed) {
      nextFeed = Math.max(nextFeed * 3, n + 1);
      enqueueInternal({ type: '_feed', which: 'train' });
    }
    notifyWaiters();
  });
}

function feed(s, which) {
  const d = data[which];
  if (!s || !d.buf || d.count === 0) return;
  const n = d.count;
  if (which === 'train') s.setTrainImages(d.buf.subarray(0, n * IMAGE), n);
  else s.setTestImages(d.buf.subarray(0, n * IMAGE), n);
  d.fed = n;
}

// -------------------------------------------------------------- session setup

async function loadWasm() {
  if (wasm) return wasm;
  post({ type: 'loading', what: 'wasm' });
  const mod = await import(new URL('wasm/vae-playground.js', base).href);
  await mod.default();
  wasm = mod;
  return wasm;
}

const HOW_TO = 'Use a recent Chrome or Edge (version 113 or later), Safari 26, or Firefox 141 or later on Windows; on Linux, Chrome needs chrome://flags/#enable-unsafe-webgpu turned on. Check that hardware acceleration is enabled (chrome://gpu shows the WebGPU status).';

// A short, readable form of an error from wgpu (its adapter errors list every
// backend it was not compiled with, which says nothing to a person).
function shortReason(msg) {
  const m = String(msg).replace(/\s+/g, ' ').trim();
  if (/no (gpu |suitable graphics )?adapter/i.test(m)) return 'the browser granted no GPU adapter';
  const first = m.split(/(?<=[.;:])\s/)[0].replace(/[.;:]$/, '');
  return first.length > 160 ? `${first.slice(0, 157)}…` : first;
}

// The adapter's name as the browser tells it (wgpu's adapter info is empty on the web).
async function adapterName() {
  try {
    const a = await navigator.gpu.requestAdapter();
    if (!a) return null;
    const i = a.info || (a.requestAdapterInfo ? await a.requestAdapterInfo() : {});
    const name = i.description || [i.vendor, i.architecture, i.device].filter(Boolean).join(' ');
    return name || 'GPU';
  } catch {
    return null;
  }
}

async function createSession(cfg, want) {
  const { Session } = await loadWasm();
  let fallback = null;
  if (want !== 'cpu') {
    if (!('gpu' in navigator) || !navigator.gpu) {
      fallback = { reason: 'no-webgpu', message: `This browser does not offer WebGPU, so the model trains on the CPU (WebAssembly) instead: slower, but the same model. ${HOW_TO}` };
    } else {
      const name = await adapterName();
      if (name === null) {
        fallback = { reason: 'no-adapter', message: `This browser has WebGPU but granted no GPU adapter (WebGPU may be turned off, or the GPU blocklisted), so the model trains on the CPU (WebAssembly) instead: slower, but the same model. ${HOW_TO}` };
      } else {
        try {
          const s = await Session.create(cfg, 'webgpu');
          return { s, fallback: null, adapter: name };
        } catch (err) {
          const msg = errorText(err);
          // Try the CPU: if it fails with the same complaint, the config is at fault.
          try {
            const s = await Session.create(cfg, 'cpu');
            fallback = { reason: 'no-adapter', message: `WebGPU is present but could not be used (${shortReason(msg)}), so the model trains on the CPU (WebAssembly) instead. ${HOW_TO}` };
            return { s, fallback };
          } catch (err2) {
            throw new Error(errorText(err2));
          }
        }
      }
    }
  }
  const s = await Session.create(cfg, 'cpu');
  if (want === 'cpu' && !fallback) fallback = { reason: 'requested', message: 'Training on the CPU (WebAssembly), as requested.' };
  return { s, fallback };
}

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeFixedZ(latent, seed) {
  const rand = mulberry32(seed ^ 0x9e3779b9);
  const z = new Float32Array(SAMPLE_COUNT * latent);
  for (let i = 0; i < z.length; i += 2) {
    const u = Math.max(rand(), 1e-9);
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    z[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < z.length) z[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return z;
}

async function install(cfg, want, reasonOverride) {
  const { s, fallback, adapter } = await createSession(cfg, want);
  if (session) {
    try { session.free(); } catch { /* already gone */ }
  }
  session = s;
  config = cfg;
  resolved = s.config();
  const info = s.backend();
  const latent = resolved.latent ?? resolved.latent_dim ?? cfg.latent ?? 2;
  fixedZ = makeFixedZ(latent, (resolved.seed ?? 0) + 1);
  dims = [0, Math.min(1, latent - 1)];
  chunk = 1;
  lastViews = 0;
  lastEval = 0;
  stepsSinceReady = 0;
  data.train.fed = 0;
  data.test.fed = 0;
  feed(s, 'test');
  feed(s, 'train');
  const fb = reasonOverride || fallback;
  const adapterText = info.backend === 'cpu' ? '' : info.adapter || adapter || '';
  post({ type: 'backend', backend: info.backend, adapter: adapterText, reason: fb ? fb.reason : 'webgpu', message: fb ? fb.message : '' });
  post({ type: 'ready', config: resolved });
  await refreshViews();
}

// If a call fails because the GPU device was lost, move to the CPU and go on.
async function guarded(fn) {
  try {
    return await fn();
  } catch (err) {
    const msg = errorText(err);
    if (msg.toLowerCase().startsWith(DEVICE_LOST) && session && session.backend().backend === 'webgpu') {
      lostDevice = {
        reason: 'device-lost',
        message: `The GPU device was lost while training (${msg.replace(/\.$/, '')}), so a fresh model now trains on the CPU (WebAssembly). Reload the page to try the GPU again.`,
      };
      await install(config, 'cpu', lostDevice);
      return null;
    }
    throw err;
  }
}

// ------------------------------------------------------------------- training

async function trainChunk() {
  if (data.train.fed === 0) {
    await new Promise((r) => setTimeout(r, 50));
    return;
  }
  const t0 = performance.now();
  const m = await guarded(() => session.train(chunk));
  if (!m) return;
  const dt = performance.now() - t0;
  stepsSinceReady += chunk;
  // Aim for ~120 ms per call: responsive pause and controls, small call overhead.
  const ideal = (chunk * 120) / Math.max(dt, 1);
  chunk = Math.max(1, Math.min(500, Math.round(Math.min(ideal, chunk * 2))));
  post({ type: 'metrics', metrics: { ...m } });
}

async function refreshViews() {
  if (!session) return;
  const t0 = performance.now();
  const out = {};
  const transfer = [];
  const r = await guarded(async () => {
    out.samples = await session.decode(fixedZ, SAMPLE_COUNT);
    const latent = fixedZ.length / SAMPLE_COUNT;
    if (latent >= 2) out.grid = await session.latentGrid(GRID, dims[0], dims[1]);
    if (data.test.fed > Math.max(...RECON_INDICES)) out.recon = await session.reconstruct(RECON_INDICES);
    return true;
  });
  if (!r) return;
  for (const k of Object.keys(out)) transfer.push(out[k].buffer);
  post({ type: 'views', ...out, dims: [...dims], gridSize: GRID }, transfer);
  viewCost = performance.now() - t0;
  lastViews = performance.now();
}

async function evaluateTest() {
  if (!session || data.test.fed === 0) return;
  const t0 = performance.now();
  const m = await guarded(() => session.evaluate(500));
  if (!m) return;
  evalCost = performance.now() - t0;
  lastEval = performance.now();
  post({ type: 'test', metrics: { ...m } });
}

// ------------------------------------------------------------------ benchmark

async function bench({ steps = 50, warmup = 5, batch = 128 }) {
  running = false;
  post({ type: 'state', running });
  await dataReady(FIRST_SLICE);
  const results = [];
  for (const backend of ['webgpu', 'cpu']) {
    const cfg = { preset: 'mlp', batch, seed: 1 };
    let s;
    try {
      if (backend === 'webgpu' && !navigator.gpu) throw new Error('this browser does not offer WebGPU');
      s = await (await loadWasm()).Session.create(cfg, backend);
    } catch (err) {
      results.push({ backend, error: errorText(err) });
      post({ type: 'bench', results: [...results], done: false });
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
    results.push({ backend, adapter, steps, batch, seconds, imagesPerSec: (steps * batch) / seconds, loss: last.loss });
    post({ type: 'bench', results: [...results], done: false });
  }
  post({ type: 'bench', results, done: true });
}

// ---------------------------------------------------------------- main loop

async function handle(msg) {
  switch (msg.type) {
    case 'init': {
      base = new URL(msg.base);
      preferred = msg.backend || 'auto';
      loadData().catch((err) => post({ type: 'error', message: errorText(err) }));
      await install(msg.config, preferred);
      break;
    }
    case 'start':
      running = true;
      post({ type: 'state', running });
      break;
    case 'pause':
      running = false;
      post({ type: 'state', running });
      break;
    case 'hyper': {
      const h = {};
      if (msg.beta !== undefined) h.beta = msg.beta;
      if (msg.lr !== undefined) h.lr = msg.lr;
      if (!session) break;
      session.setHyper(h);
      resolved = session.config();
      post({ type: 'config', config: resolved });
      break;
    }
    case 'reset': {
      if (lostDevice) await install(msg.config, 'cpu', lostDevice);
      else await install(msg.config, preferred);
      break;
    }
    case 'views':
      dims = [msg.dimX, msg.dimY];
      await refreshViews();
      break;
    case '_feed':
      // Fed images replace the whole set (a GPU upload): when more have already
      // arrived and another feed is queued, let that one do it.
      if (queue.some((m) => m.type === '_feed' && m.which === msg.which)) break;
      feed(session, msg.which);
      if (msg.which === 'test') await refreshViews();
      if (msg.which === 'test' && data.test.buf) {
        const originals = new Uint8Array(RECON_INDICES.length * IMAGE);
        RECON_INDICES.forEach((idx, i) => originals.set(data.test.buf.subarray(idx * IMAGE, (idx + 1) * IMAGE), i * IMAGE));
        post({ type: 'originals', images: originals }, [originals.buffer]);
      }
      break;
    case 'bench':
      await bench(msg);
      break;
    case 'call': {
      let result;
      if (msg.op === 'pause') {
        running = false;
        post({ type: 'state', running });
        post({ type: 'reply', id: msg.id, result: null });
        break;
      }
      if (!session) throw new Error('The model is not ready yet.');
      if (msg.op === 'sample') result = await guarded(() => session.sample(msg.args[0]));
      else if (msg.op === 'decode') result = await guarded(() => session.decode(new Float32Array(msg.args[0]), msg.args[1]));
      else if (msg.op === 'encode') result = await guarded(() => session.encodePixels(msg.args[0], msg.args[1]));
      else throw new Error(`unknown call ${msg.op}`);
      if (!result) throw new Error('The GPU device was lost; the model restarted on the CPU. Try again.');
      post({ type: 'reply', id: msg.id, result }, [result.buffer]);
      break;
    }
    case 'dispose':
      // The element was removed: release the wasm session (GPU buffers, device)
      // before the element terminates this worker.
      running = false;
      queue.length = 0;
      if (session) {
        try { session.free(); } catch { /* already gone */ }
        session = null;
      }
      post({ type: 'disposed' });
      await new Promise(() => {}); // nothing more: wait to be terminated
      break;
    default:
      throw new Error(`The worker got an unknown message type "${msg.type}".`);
  }
}

// The CPU backend's promises resolve as microtasks, so a loop of `await train()`
// would never let a message (pause, hyper, data chunks) in: yield a macrotask
// turn between chunks. A MessageChannel hop has no setTimeout clamping.
const yieldChannel = new MessageChannel();
const yielders = [];
yieldChannel.port1.onmessage = () => yielders.shift()?.();
function yieldToEvents() {
  return new Promise((resolve) => {
    yielders.push(resolve);
    yieldChannel.port2.postMessage(null);
  });
}

async function loop() {
  for (;;) {
    await yieldToEvents();
    while (queue.length) {
      const msg = queue.shift();
      try {
        await handle(msg);
      } catch (err) {
        if (msg.type === 'call') post({ type: 'reply', id: msg.id, error: errorText(err) });
        else post({ type: 'error', message: errorText(err), during: msg.type });
        if (msg.type === 'init' || !session) {
          running = false;
          post({ type: 'state', running });
        }
      }
    }
    if (running && session) {
      try {
        await trainChunk();
        const now = performance.now();
        // Keep views and evaluation under ~25% of the time.
        if (now - lastViews > Math.max(600, viewCost * 3)) await refreshViews();
        if (now - lastEval > Math.max(2500, evalCost * 4)) await evaluateTest();
      } catch (err) {
        running = false;
        post({ type: 'error', message: errorText(err), during: 'train' });
        post({ type: 'state', running });
      }
    } else {
      await new Promise((resolve) => {
        wake = resolve;
      });
    }
  }
}

loop();
