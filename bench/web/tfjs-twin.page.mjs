// The TensorFlow.js twin of the playground's presets, for `make bench-web`
// (bench/web/training.mjs serves it with tfjs from node_modules; it is
// never part of dist/). Runs in the bench page: tfjs-twin.html?preset=conv&backend=wasm&steps=20
//
// Each preset mirrors `VaeConfig::preset` (src/config/presets.rs) and bench/pytorch_twin.py
// layer for layer, NHWC: conv is Conv(1->32, k4 s2 p1), Conv(32->64, k4 s2 p1),
// Dense(3136->256), Z 16, mirrored with transposed convolutions (the last without
// activation); conv2 the same with k3 and output padding 1, dense 128, Z 2; mlp
// 784-400-Z20. Loss: mean over the batch of the summed BCE-with-logits plus KL
// (logvar clamped to [-30, 20], as ours), Adam at 1e-3. Images: random pixels of
// the preset's shape (a step's cost does not depend on them), a random batch of
// 2,048 per step. Warm-up steps are excluded from the time.
//
// tfjs 4.22's wasm backend has no Conv2DBackpropFilter kernel (the weight gradient
// of Conv2D and of Conv2DBackpropInput, i.e. of every conv and transposed conv):
// tfjs does not fall back to another backend, the step throws "Kernel
// 'Conv2DBackpropFilter' not registered for backend 'wasm'". So that tfjs can
// train the conv twins on wasm at all, this page registers one for wasm built from
// wasm kernels (the weight gradient as a dilated Conv2D over transposed tensors,
// XNNPACK's convolution), and the result says so (`patched`).

const tf = /** @type {any} */ (globalThis).tf;

const PRESETS = {
  mlp: { kind: 'mlp', hidden: 400, latent: 20 },
  conv: { kind: 'conv', k: 4, p: 1, op: 0, hidden: 256, latent: 16 },
  conv2: { kind: 'conv', k: 3, p: 1, op: 1, hidden: 128, latent: 2 },
};

/** PyTorch's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
function uniform(shape, fanIn) {
  const b = 1 / Math.sqrt(fanIn);
  return tf.variable(tf.randomUniform(shape, -b, b));
}

function dense(inp, out) {
  return { w: uniform([inp, out], inp), b: uniform([out], inp) };
}

const apply = (l, x) => tf.add(tf.matMul(x, l.w), l.b);

function build(name) {
  const p = PRESETS[name];
  if (!p) throw new Error(`unknown preset ${name}`);
  if (p.kind === 'mlp') {
    const e1 = dense(784, p.hidden);
    const mu = dense(p.hidden, p.latent);
    const lv = dense(p.hidden, p.latent);
    const d1 = dense(p.latent, p.hidden);
    const d2 = dense(p.hidden, 784);
    return {
      shape: [784],
      encode: (x) => {
        const h = tf.relu(apply(e1, x));
        return [apply(mu, h), apply(lv, h)];
      },
      decode: (z) => apply(d2, tf.relu(apply(d1, z))),
    };
  }
  const { k, p: pad, hidden, latent } = p;
  // Conv2d(c_in -> c_out): filter [k, k, in, out]; ConvTranspose2d(in -> out): filter [k, k, out, in].
  const conv = (cin, cout) => ({ w: uniform([k, k, cin, cout], cin * k * k), b: uniform([cout], cin * k * k) });
  // PyTorch's fan-in of a ConvTranspose2d weight [in, out, k, k] is out * k * k.
  const deconv = (cin, cout) => ({ w: uniform([k, k, cout, cin], cout * k * k), b: uniform([cout], cout * k * k) });
  const c1 = conv(1, 32);
  const c2 = conv(32, 64);
  const e3 = dense(64 * 7 * 7, hidden);
  const mu = dense(hidden, latent);
  const lv = dense(hidden, latent);
  const d1 = dense(latent, hidden);
  const d2 = dense(hidden, 64 * 7 * 7);
  const t1 = deconv(64, 32);
  const t2 = deconv(32, 1);
  return {
    shape: [28, 28, 1],
    encode: (x) => {
      let h = tf.relu(tf.add(tf.conv2d(x, c1.w, 2, pad), c1.b));
      h = tf.relu(tf.add(tf.conv2d(h, c2.w, 2, pad), c2.b));
      h = tf.relu(apply(e3, tf.reshape(h, [h.shape[0], -1])));
      return [apply(mu, h), apply(lv, h)];
    },
    decode: (z) => {
      const n = z.shape[0];
      let h = tf.relu(apply(d1, z));
      h = tf.reshape(tf.relu(apply(d2, h)), [n, 7, 7, 64]);
      // 7 -> 14 -> 28 (conv2: k3 with output padding 1; the output shape says so).
      h = tf.relu(tf.add(tf.conv2dTranspose(h, t1.w, [n, 14, 14, 32], 2, pad), t1.b));
      return tf.add(tf.conv2dTranspose(h, t2.w, [n, 28, 28, 1], 2, pad), t2.b);
    },
  };
}

/** mean_B( sum_D BCE(logits, x) + KL ), as ours and PyTorch's. */
function loss(model, x) {
  const [mu, lvRaw] = model.encode(x);
  const lv = tf.clipByValue(lvRaw, -30, 20);
  const z = tf.add(mu, tf.mul(tf.exp(tf.mul(lv, 0.5)), tf.randomNormal(mu.shape)));
  const l = model.decode(z);
  const xs = tf.reshape(x, l.shape);
  // log(1 + e^l) - l x, stably: max(l, 0) - l x + log1p(e^-|l|)
  const bce = tf.sum(tf.add(tf.sub(tf.relu(l), tf.mul(l, xs)), tf.log1p(tf.exp(tf.neg(tf.abs(l))))));
  const kl = tf.mul(-0.5, tf.sum(tf.sub(tf.sub(tf.add(1, lv), tf.square(mu)), tf.exp(lv))));
  return tf.div(tf.add(bce, kl), x.shape[0]);
}

/**
 * Conv2DBackpropFilter for the wasm backend, from wasm kernels: dW[kh, kw, ci, co]
 * = sum_{n, oh, ow} x[n, oh s - pt + kh, ow s - pl + kw, ci] dy[n, oh, ow, co], which is
 * a stride-1 convolution with dilation s of x^T [ci, H, W, n] by dy^T [OH, OW, n, co].
 */
function patchWasmFilterGrad() {
  const name = 'Conv2DBackpropFilter';
  if (tf.getKernel(name, 'wasm')) return false;
  tf.registerKernel({
    kernelName: name,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, dy } = inputs;
      const { strides, pad, filterShape, dimRoundingMode } = attrs;
      const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode);
      const { top, left } = info.padInfo;
      const [, H, W] = x.shape;
      const [, OH, OW] = dy.shape;
      const [KH, KW] = filterShape;
      const sh = info.strideHeight;
      const sw = info.strideWidth;
      const bottom = KH - H - top + (OH - 1) * sh;
      const right = KW - W - left + (OW - 1) * sw;
      if (bottom < 0 || right < 0) throw new Error('Conv2DBackpropFilter patch: shape not supported');
      // The wasm backend's own kernels, called as its kernels call each other (TensorInfos).
      const run = (kernel, ins, at) => tf.getKernel(kernel, 'wasm').kernelFunc({ inputs: ins, attrs: at, backend });
      const xt = run('Transpose', { x }, { perm: [3, 1, 2, 0] });
      const dyt = run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
      const out = run('Conv2D', { x: xt, filter: dyt }, {
        strides: [1, 1], pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dataFormat: 'NHWC', dilations: [sh, sw], dimRoundingMode: undefined,
      });
      const res = run('Transpose', { x: out }, { perm: [1, 2, 0, 3] });
      for (const t of [xt, dyt, out]) backend.disposeData(t.dataId);
      return res;
    },
  });
  return true;
}

/**
 * The patched kernel against tfjs-cpu's Conv2DBackpropFilter on every conv layer's
 * shapes (batch 3): the largest absolute difference, over the largest magnitude.
 */
async function checkPatch() {
  tf.wasm.setWasmPaths(new URL('tfjs/', location.href).href);
  const cases = [
    // [x shape, dy shape, filter shape, pad]: conv's and conv2's layers, and their transposed mirrors
    [[3, 28, 28, 1], [3, 14, 14, 32], [4, 4, 1, 32], 1],
    [[3, 14, 14, 32], [3, 7, 7, 64], [4, 4, 32, 64], 1],
    [[3, 28, 28, 1], [3, 14, 14, 32], [3, 3, 1, 32], 1],
    [[3, 14, 14, 32], [3, 7, 7, 64], [3, 3, 32, 64], 1],
  ];
  let worst = 0;
  for (const [xs, dys, fs, pad] of cases) {
    const xv = Float32Array.from({ length: xs.reduce((a, b) => a * b) }, () => Math.random() * 2 - 1);
    const dyv = Float32Array.from({ length: dys.reduce((a, b) => a * b) }, () => Math.random() * 2 - 1);
    const run = async (b) => {
      await tf.setBackend(b);
      const r = tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor(xv, xs), dy: tf.tensor(dyv, dys) }, { strides: 2, pad, dataFormat: 'NHWC', filterShape: fs });
      return r.data();
    };
    const want = await run('cpu');
    await tf.setBackend('wasm');
    patchWasmFilterGrad();
    const got = await run('wasm');
    let diff = 0;
    let mag = 0;
    for (let i = 0; i < want.length; i++) {
      diff = Math.max(diff, Math.abs(want[i] - got[i]));
      mag = Math.max(mag, Math.abs(want[i]));
    }
    worst = Math.max(worst, diff / mag);
  }
  return { check: 'Conv2DBackpropFilter patch vs tfjs-cpu', relError: worst, cases: cases.length };
}

async function main() {
  const q = new URLSearchParams(location.search);
  if (q.has('check')) return checkPatch();
  const preset = q.get('preset') || 'mlp';
  const backend = q.get('backend') || 'wasm';
  const steps = Number(q.get('steps') || 20);
  const warmup = Number(q.get('warmup') || 5);
  const batch = Number(q.get('batch') || 128);
  if (backend === 'wasm') {
    tf.wasm.setWasmPaths(new URL('tfjs/', location.href).href);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} did not initialize`);
  await tf.ready();
  let patched = [];
  if (backend === 'wasm' && PRESETS[preset].kind === 'conv' && patchWasmFilterGrad()) patched = ['Conv2DBackpropFilter'];
  let detail = '';
  if (backend === 'wasm') {
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    detail = `wasm${simd ? ' simd' : ''}, ${threads ? `threads (${tf.wasm.getThreadsCount?.() ?? '?'})` : '1 thread'}, crossOriginIsolated=${globalThis.crossOriginIsolated}`;
  } else if (backend === 'webgpu') {
    const info = tf.backend().adapterInfo;
    detail = `webgpu ${info ? [info.vendor, info.architecture].filter(Boolean).join(' ') : ''}`.trim();
  }
  tf.randomUniform([1]).dispose();
  const model = build(preset);
  const data = tf.randomUniform([2048, ...model.shape]);
  const opt = tf.train.adam(1e-3);
  const step = () => {
    const idx = tf.tensor1d(Int32Array.from({ length: batch }, () => Math.floor(Math.random() * 2048)), 'int32');
    const cost = opt.minimize(() => loss(model, tf.gather(data, idx)), true);
    idx.dispose();
    return cost;
  };
  for (let i = 0; i < warmup; i++) {
    const c = step();
    await c.data();
    c.dispose();
  }
  const t0 = performance.now();
  let last = null;
  for (let i = 0; i < steps; i++) {
    if (last) last.dispose();
    last = step();
    // Keep at most a few steps queued on a GPU backend (ours keeps at most two in flight).
    if (backend !== 'wasm' && i % 2 === 1) await last.data();
  }
  const lossValue = (await last.data())[0];
  const seconds = (performance.now() - t0) / 1000;
  return { backend: `tfjs-${backend}`, preset, adapter: `TensorFlow.js ${tf.version.tfjs} ${detail}`, steps, warmup, batch, seconds, imagesPerSec: (steps * batch) / seconds, loss: lossValue, patched };
}

const out = /** @type {any} */ (globalThis);
out.__twin = main().then((r) => r, (err) => ({ error: String(err && err.message || err) }));
