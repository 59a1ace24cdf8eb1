// A stand-in for the wasm-bindgen module `wasm/vae-playground.js`, for UI tests only:
// the test server serves it in place of the real one when asked to (mock: true).
// It follows the Session contract of src/web with cheap fake numerics.
const IMAGE = 784;
const PRESETS = { mlp: 2, 'mlp-small': 2, latent100: 100, conv: 2, conv2: 2 };

export default async function init() {}

export class Session {
  static async create(config, backend) {
    if (!(config.preset in PRESETS)) throw new Error(`Unknown preset "${config.preset}": use one of ${Object.keys(PRESETS).join(', ')}.`);
    if (backend === 'webgpu') {
      if (!navigator.gpu) throw new Error('This browser has no WebGPU.');
      const adapter = await navigator.gpu.requestAdapter();
      if (!adapter) throw new Error('No WebGPU adapter was granted.');
    }
    return new Session(config, backend);
  }

  constructor(config, backend) {
    this.cfg = {
      preset: config.preset,
      latent: config.latent ?? PRESETS[config.preset],
      beta: config.beta ?? 1,
      lr: config.lr ?? 1e-3,
      batch: config.batch ?? 64,
      recon: config.recon ?? 'bce',
      seed: config.seed ?? 0,
      image: { channels: 1, height: 28, width: 28 },
    };
    this.kind = backend;
    this.step = 0;
    this.train_n = 0;
    this.test_n = 0;
    this.t = performance.now();
  }

  backend() { return { backend: this.kind, adapter: this.kind === 'webgpu' ? 'Mock GPU' : 'wasm' }; }
  config() { return { ...this.cfg }; }
  setTrainImages(p, n) { if (p.length !== n * IMAGE) throw new Error('bad length'); this.train_n = n; }
  setTestImages(p, n) { if (p.length !== n * IMAGE) throw new Error('bad length'); this.test_n = n; }
  setHyper(h) { Object.assign(this.cfg, h); }

  async train(steps) {
    await new Promise((r) => setTimeout(r, 4 * steps));
    this.step += steps;
    const now = performance.now();
    const dt = (now - this.t) / 1000;
    this.t = now;
    const recon = 80 + 400 / (1 + this.step / 20);
    const kl = 5 + 10 * (1 - Math.exp(-this.step / 50));
    return {
      step: this.step,
      epoch: (this.step * this.cfg.batch) / Math.max(1, this.train_n),
      loss: recon + this.cfg.beta * kl,
      recon,
      kl,
      images_per_sec: (steps * this.cfg.batch) / dt,
      steps_per_sec: steps / dt,
    };
  }

  async evaluate() {
    const recon = 85 + 400 / (1 + this.step / 20);
    const kl = 5 + 10 * (1 - Math.exp(-this.step / 50));
    return { loss: recon + this.cfg.beta * kl, recon, kl };
  }

  images(n, salt) {
    const out = new Float32Array(n * IMAGE);
    const sharp = Math.min(1, this.step / 200);
    for (let i = 0; i < n; i++) {
      const cx = 14 + 5 * Math.sin(i * 1.7 + salt);
      const cy = 14 + 5 * Math.cos(i * 2.3 + salt);
      for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
        const d = Math.hypot(x - cx, y - cy);
        const ring = Math.exp(-((d - 6) ** 2) / 3);
        const noise = Math.abs(Math.sin((i * 784 + y * 28 + x) * 12.9898 + this.step) * 43758.5453) % 1;
        out[i * IMAGE + y * 28 + x] = sharp * ring + (1 - sharp) * noise * 0.6;
      }
    }
    return out;
  }

  async sample(n) { return this.images(n, 0.3); }
  async decode(z, n) { return this.images(n, z[0] || 0); }
  async reconstruct(idx) { return this.images(idx.length, 1.1); }
  async latentGrid(size) { return this.images(size * size, 2.2); }
  free() {}
}
