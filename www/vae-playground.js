// <vae-playground>: a variational autoencoder training live in the browser.
//
// The element owns one dedicated Web Worker (vae-worker.js) that runs the wasm
// core, on WebGPU where it can and on the CPU otherwise. This file only draws and
// handles input. No globals besides the custom element definition; styles are a
// constructable stylesheet, so the element works under a strict CSP.
//
// Attributes: preset, latent-dim, beta, lr, batch, seed, recon, backend
// (auto | webgpu | cpu), autostart, controls (full | compact | none), views
// (comma list of status, loss, samples, latent, recon), theme (light | dark |
// auto), assets (base URL of the wasm, worker and data; default: this script's
// folder), offscreen (pause | run: what to do while scrolled out of view),
// bench (N steps).
// API (promises): start(), pause(), reset(), sample(n) -> ImageData[],
// decode(z) -> ImageData[], encode(imageData | ImageData[]) -> Float32Array(s).
// Images are 28 x 28, dark ink on white, like a drawing; encode() reads any
// size of dark-on-light (or on transparent) image, scaled to 28 x 28.
// Events: ready, backend, step (throttled), state, error, bench.

import { css } from './vae-styles.js';
import { LossChart, formatNum } from './vae-chart.js';

const MODULE_BASE = new URL('./', import.meta.url);
const SIDE = 28;
const PRESETS = [
  ['mlp', 'MLP', 'fully connected encoder and decoder'],
  ['mlp-small', 'MLP, small', 'fewer units: the fastest to train'],
  ['latent100', 'MLP, 100-d latent', 'a wide latent space'],
  ['conv', 'Convolutional', 'conv encoder, transposed-conv decoder: sharper digits'],
  ['conv2', 'Convolutional, 2-d latent', 'a 2-d latent: the whole latent space in one grid'],
];
const VIEW_NAMES = ['status', 'loss', 'samples', 'latent', 'recon'];
const STRUCTURAL_LABEL = {
  preset: 'the model',
  latent: 'the latent size',
  batch: 'the batch size',
  recon: 'the reconstruction loss',
  seed: 'the seed',
};

let sheet = null;
function styleSheet() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
  }
  return sheet;
}

// Beta: slider 0..100, 0 -> 0, else 10^((s - 75) / 25): 1 -> 0.001, 75 -> 1, 100 -> 10.
const betaFromSlider = (s) => (s <= 0 ? 0 : 10 ** ((s - 75) / 25));
const sliderFromBeta = (b) => (b <= 0 ? 0 : Math.max(1, Math.min(100, Math.round(75 + 25 * Math.log10(b)))));
// Learning rate: slider 0..100 over 1e-5 .. 1e-1.
const lrFromSlider = (s) => 10 ** (-5 + (4 * s) / 100);
const sliderFromLr = (lr) => Math.max(0, Math.min(100, Math.round(((Math.log10(lr) + 5) * 100) / 4)));
const fmtBeta = (b) => (b === 0 ? '0' : b >= 1 ? b.toFixed(b >= 10 ? 0 : 2) : b.toPrecision(2));
const fmtLr = (lr) => lr.toExponential(1).replace('e-', 'e−');

const TEMPLATE = `
<div class="wrap">
  <div class="status" part="status" data-view="status">
    <span class="pill" data-backend="none"><span class="dot"></span><span class="backend">Starting…</span></span>
    <dl class="stats">
      <div><dt>step</dt><dd class="s-step">0</dd></div>
      <div><dt>epoch</dt><dd class="s-epoch">0</dd></div>
      <div><dt>steps/s</dt><dd class="s-sps">–</dd></div>
      <div><dt>images/s</dt><dd class="s-ips">–</dd></div>
    </dl>
    <div class="progress">
      <span class="data-label">Loading…</span>
      <progress class="data-bar" max="1" value="0" aria-label="MNIST download"></progress>
    </div>
  </div>
  <div class="notice backend-notice" role="status" hidden><strong>Training on the CPU</strong><span class="msg"></span></div>
  <div class="notice error" role="alert" hidden><strong>Something went wrong</strong><span class="msg"></span></div>
  <div class="main">
    <form class="controls card" aria-label="Training controls">
      <div class="buttons">
        <button type="button" class="primary start" disabled>Start</button>
        <button type="button" class="reset" disabled>Reset</button>
      </div>
      <label class="field advanced"><span>Model</span>
        <select name="preset"></select>
        <small class="preset-desc"></small>
      </label>
      <div class="row advanced">
        <label class="field"><span>Latent size</span><input name="latent" type="number" min="2" max="100" step="1" inputmode="numeric"></label>
        <label class="field"><span>Batch size</span><input name="batch" type="number" min="1" max="1024" step="1" inputmode="numeric"></label>
      </div>
      <label class="field"><span>β (KL weight) <output class="beta-out">1</output></span>
        <input name="beta" type="range" min="0" max="100" step="1" aria-describedby="beta-hint">
        <small id="beta-hint">0 = plain autoencoder · 1 = standard VAE · above 1 = smoother latent space, blurrier digits</small>
      </label>
      <label class="field"><span>Learning rate <output class="lr-out">1e−3</output></span>
        <input name="lr" type="range" min="0" max="100" step="1">
      </label>
      <fieldset class="field advanced"><legend>Reconstruction loss</legend>
        <div class="radios">
          <label><input type="radio" name="recon" value="bce"> Bernoulli (BCE)</label>
          <label><input type="radio" name="recon" value="gaussian"> Gaussian</label>
        </div>
      </fieldset>
      <label class="field advanced"><span>Seed</span><input name="seed" type="number" min="0" max="4294967295" step="1" inputmode="numeric"></label>
      <p class="hint">β and learning rate apply live. Model, sizes, loss and seed start a new model.</p>
    </form>
    <div class="views">
      <section class="card wide" data-view="loss" aria-labelledby="h-loss">
        <header>
          <h3 id="h-loss">Loss</h3>
          <label class="check"><input type="checkbox" class="log-scale"> log scale</label>
        </header>
        <p class="sub">Lower is better. Total = reconstruction + β·KL, per image. Solid: training batches; dashed: held-out test digits.</p>
        <div class="chart-box"><canvas class="chart" role="img" aria-label="Loss chart: no data yet"></canvas></div>
        <ul class="legend">
          <li><span class="swatch total"></span>total</li>
          <li><span class="swatch recon"></span>reconstruction</li>
          <li><span class="swatch kl"></span>KL</li>
          <li><span class="swatch dashed total"></span>test</li>
        </ul>
      </section>
      <section class="card" data-view="samples" aria-labelledby="h-samples">
        <h3 id="h-samples">Samples from the prior</h3>
        <p class="sub">64 fixed random points z ~ N(0, I), decoded. Watch noise turn into digits.</p>
        <canvas class="digits samples" width="224" height="224" role="img" aria-label="8 by 8 grid of generated digits"></canvas>
      </section>
      <section class="card" data-view="latent" aria-labelledby="h-latent">
        <header>
          <h3 id="h-latent">Latent space</h3>
          <span class="dims" hidden>
            <label class="check">x <select class="dim-x" aria-label="Latent dimension on the x axis"></select></label>
            <label class="check">y <select class="dim-y" aria-label="Latent dimension on the y axis"></select></label>
          </span>
        </header>
        <p class="sub latent-sub">Decoded over a 15 × 15 grid of Gaussian quantiles of the two latent dimensions.</p>
        <canvas class="digits latent" width="420" height="420" role="img" aria-label="15 by 15 grid decoded across the latent space"></canvas>
      </section>
      <section class="card wide" data-view="recon" aria-labelledby="h-recon">
        <h3 id="h-recon">Reconstructions</h3>
        <p class="sub">Eight test digits the model never trains on (top), encoded and decoded again (bottom).</p>
        <div class="recon-rows">
          <span>input</span><canvas class="digits recon originals" width="224" height="28" role="img" aria-label="Eight test digits"></canvas>
          <span>output</span><canvas class="digits recon reconstructions" width="224" height="28" role="img" aria-label="Their reconstructions"></canvas>
        </div>
      </section>
      <section class="card wide bench" hidden aria-labelledby="h-bench">
        <h3 id="h-bench">Benchmark</h3>
        <p class="sub bench-sub"></p>
        <table><thead><tr><th>backend</th><th>adapter</th><th class="num">images/s</th></tr></thead><tbody></tbody></table>
      </section>
    </div>
  </div>
  <dialog class="confirm" aria-labelledby="h-confirm">
    <form method="dialog">
      <h3 id="h-confirm">Start a new model?</h3>
      <p class="confirm-msg"></p>
      <div class="buttons">
        <button value="cancel" type="submit">Keep training</button>
        <button value="ok" type="submit" class="primary confirm-ok">Reset and apply</button>
      </div>
    </form>
  </dialog>
</div>`;

class VaePlayground extends HTMLElement {
  static get observedAttributes() {
    return ['controls', 'views', 'theme', 'offscreen'];
  }

  constructor() {
    super();
    this._root = this.attachShadow({ mode: 'open' });
    this._root.adoptedStyleSheets = [styleSheet()];
    this._root.innerHTML = TEMPLATE;
    this._worker = null;
    this._running = false;
    this._ready = false;
    this._step = 0;
    this._cfg = {};
    this._resolved = null;
    this._calls = new Map();
    this._nextCall = 1;
    this._lastStepEvent = 0;
    this._data = { plan: null, test: 0, train: 0, trainImages: 0, trainTotal: 0, done: false };
    this._originals = null;
    this._lastViews = null;
    this._visible = true;
    this._autoPaused = false;
    this._error = null;
    this._wire();
  }

  // ------------------------------------------------------------ lifecycle

  connectedCallback() {
    this._applyLayout();
    this._observeVisibility();
    if (this._worker) return;
    let parsed;
    try {
      parsed = this._parseAttributes();
    } catch (err) {
      // Listeners added right after the element is inserted still hear this.
      queueMicrotask(() => this._fail(err.message));
      this._showError(err.message);
      return;
    }
    this._cfg = parsed.config;
    this._backendPref = parsed.backend;
    this._autostart = parsed.autostart;
    this._bench = parsed.bench;
    const base = parsed.assets;
    let workerUrl = new URL('vae-worker.js', base);
    if (workerUrl.origin !== location.origin) {
      // A worker script must be same-origin: load a cross-origin one (served with
      // CORS) through a one-line module. Needs `worker-src blob:` under a CSP.
      workerUrl = URL.createObjectURL(new Blob([`import ${JSON.stringify(workerUrl.href)};`], { type: 'text/javascript' }));
    }
    try {
      this._worker = new Worker(workerUrl, { type: 'module', name: 'vae-playground' });
    } catch (err) {
      const message = `The training worker could not be started from ${base.href} (${err.message}). Check the assets attribute and the page's Content-Security-Policy (worker-src).`;
      this._showError(message);
      queueMicrotask(() => this._fail(message));
      return;
    }
    this._disposing = false;
    this._worker.onmessage = (e) => this._onMessage(e.data);
    this._worker.onerror = (e) => {
      e.preventDefault();
      this._fail(`The training worker failed (${e.message || 'it could not be loaded'}). Check that ${new URL('vae-worker.js', base).href} is reachable.`);
    };
    this._worker.postMessage({ type: 'init', base: base.href, config: this._cfg, backend: this._backendPref });
  }

  disconnectedCallback() {
    // Moving the element within the page reconnects it in the same task.
    queueMicrotask(() => {
      if (this.isConnected) return;
      this._io?.disconnect();
      this._io = null;
      this._dispose();
    });
  }

  // Ends the worker: first the wasm session is freed (its GPU buffers and device),
  // then the worker is terminated (at once if it does not answer within 2 s).
  _dispose() {
    const worker = this._worker;
    this._worker = null;
    this._ready = false;
    this._running = false;
    this._autoPaused = false;
    for (const { reject } of this._calls.values()) reject(new Error('The element was removed from the page.'));
    this._calls.clear();
    if (!worker) return;
    const end = () => {
      clearTimeout(timer);
      worker.terminate();
    };
    const timer = setTimeout(end, 2000);
    worker.onmessage = (e) => {
      if (e.data && e.data.type === 'disposed') end();
    };
    worker.onerror = end;
    worker.postMessage({ type: 'dispose' });
  }

  attributeChangedCallback(name, old, value) {
    if (old === value) return;
    this._applyLayout();
    if (!this.isConnected) return;
    try {
      this._checkLayoutAttributes();
    } catch (err) {
      this._fail(err.message);
      return;
    }
    if (name === 'theme') this._redrawViews();
    if (name === 'offscreen' && value === 'run' && this._autoPaused) this._resumeFromOffscreen();
  }

  // Elements scrolled out of view pause (unless offscreen="run") and resume
  // when they come back, if they were running.
  _observeVisibility() {
    if (this._io || typeof IntersectionObserver === 'undefined') return;
    this._io = new IntersectionObserver((entries) => {
      const entry = entries[entries.length - 1];
      this._visible = entry.isIntersecting;
      if (!this._visible && this._running && this.getAttribute('offscreen') !== 'run') {
        this._autoPaused = true;
        this._worker?.postMessage({ type: 'pause' });
        this._setRunning(false);
      } else if (this._visible && this._autoPaused) {
        this._resumeFromOffscreen();
      }
    });
    this._io.observe(this);
  }

  _resumeFromOffscreen() {
    this._autoPaused = false;
    if (this._worker && this._ready) {
      this._worker.postMessage({ type: 'start' });
      this._setRunning(true);
    }
  }

  // ------------------------------------------------------------ public API

  /** Starts (or resumes) training. Resolves once the model is ready and asked to train. */
  async start() {
    await this._whenReady();
    if (!this._visible && this.getAttribute('offscreen') !== 'run') {
      this._autoPaused = true; // starts when scrolled into view
      return;
    }
    this._worker.postMessage({ type: 'start' });
    this._setRunning(true);
  }

  /** Pauses training; resolves when the worker has stopped stepping. */
  async pause() {
    this._autoPaused = false;
    if (!this._worker) return;
    this._setRunning(false);
    await this._call('pause', []);
  }

  /** A fresh model with the current settings; resolves when it is ready. */
  reset() {
    return this._reset(this._cfg);
  }

  /** `n` new digits from the prior, as 28 x 28 ImageData. */
  async sample(n = 16) {
    const count = this._checkCount('sample', n);
    await this._whenReady();
    return toImages(await this._call('sample', [count]), count);
  }

  /**
   * Decodes latent codes: one code (numbers) or several (an array of them, or a
   * flat list of n * Z numbers). Resolves to 28 x 28 ImageData, one per code.
   */
  async decode(z) {
    await this._whenReady();
    const zdim = latentOf(this._resolved);
    const flat = Float32Array.from(Array.isArray(z) && Array.isArray(z[0]) ? z.flat() : z);
    if (flat.length === 0 || flat.length % zdim !== 0 || !flat.every(Number.isFinite)) {
      throw new Error(`decode() needs latent codes of ${zdim} finite numbers each (the model's latent size), got ${flat.length} numbers.`);
    }
    const n = flat.length / zdim;
    return toImages(await this._call('decode', [flat, n]), n);
  }

  /**
   * The mean latent code of an image (ImageData, a canvas or an image of a dark
   * digit on a light or transparent background, any size), or of an array of them.
   * Resolves to a Float32Array of Z numbers (or an array of them).
   */
  async encode(images) {
    const list = Array.isArray(images) ? images : [images];
    if (list.length === 0) throw new Error('encode() needs at least one image.');
    const pixels = new Uint8Array(list.length * SIDE * SIDE);
    list.forEach((img, i) => pixels.set(toPixels(img), i * SIDE * SIDE));
    await this._whenReady();
    const zdim = latentOf(this._resolved);
    const out = await this._call('encode', [pixels, list.length]);
    const codes = list.map((_, i) => out.slice(i * zdim, (i + 1) * zdim));
    return Array.isArray(images) ? codes : codes[0];
  }

  /** The last error message shown, or null. */
  get error() {
    return this._error;
  }

  get ready() {
    return this._ready;
  }

  get backend() {
    return this._backendInfo ? { ...this._backendInfo } : null;
  }

  get step() {
    return this._step;
  }

  get running() {
    return this._running;
  }

  // ------------------------------------------------------------ internals

  _$(sel) {
    return this._root.querySelector(sel);
  }

  _checkCount(what, n) {
    if (!Number.isInteger(n) || n < 1 || n > 1024) throw new Error(`${what}(n) needs a whole number n from 1 to 1024, got ${n}.`);
    return n;
  }

  _whenReady() {
    if (this._ready && this._worker) return Promise.resolve();
    if (!this._worker) return Promise.reject(new Error(this._error ? `The playground could not start: ${this._error}` : 'The playground is not running (it is not in the page).'));
    return new Promise((resolve, reject) => {
      const ok = () => { this.removeEventListener('error', bad); resolve(); };
      const bad = (e) => { this.removeEventListener('ready', ok); reject(new Error(e.detail.message)); };
      this.addEventListener('ready', ok, { once: true });
      this.addEventListener('error', bad, { once: true });
    });
  }

  _checkLayoutAttributes() {
    const oneOf = (name, allowed) => {
      const raw = this.getAttribute(name);
      if (raw !== null && raw !== '' && !allowed.includes(raw)) throw new Error(`The attribute ${name}="${raw}" is not valid: use one of ${allowed.join(', ')}.`);
    };
    oneOf('controls', ['full', 'compact', 'none']);
    oneOf('theme', ['light', 'dark', 'auto']);
    oneOf('offscreen', ['pause', 'run']);
    const views = this.getAttribute('views');
    if (views) {
      const list = views.split(/[\s,]+/).filter(Boolean);
      if (!list.length || list.some((v) => !VIEW_NAMES.includes(v))) throw new Error(`The attribute views="${views}" is not valid: list any of ${VIEW_NAMES.join(', ')}, separated by commas.`);
    }
  }

  _parseAttributes() {
    const cfg = {};
    const attr = (n) => this.getAttribute(n);
    const num = (name, lo, hi, integer) => {
      const raw = attr(name);
      if (raw === null || raw === '') return undefined;
      const v = Number(raw);
      if (!Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) {
        throw new Error(`The attribute ${name}="${raw}" is not valid: use ${integer ? 'a whole number' : 'a number'} from ${lo} to ${hi}.`);
      }
      return v;
    };
    const oneOf = (name, allowed, fallback) => {
      const raw = attr(name);
      if (raw === null || raw === '') return fallback;
      if (!allowed.includes(raw)) throw new Error(`The attribute ${name}="${raw}" is not valid: use one of ${allowed.join(', ')}.`);
      return raw;
    };
    cfg.preset = oneOf('preset', PRESETS.map((p) => p[0]), 'mlp');
    const latent = num('latent-dim', 2, 100, true);
    if (latent !== undefined) cfg.latent = latent;
    const beta = num('beta', 0, 10, false);
    if (beta !== undefined) cfg.beta = beta;
    const lr = num('lr', 1e-6, 1, false);
    if (lr !== undefined) cfg.lr = lr;
    const batch = num('batch', 1, 1024, true);
    if (batch !== undefined) cfg.batch = batch;
    const seed = num('seed', 0, 4294967295, true);
    if (seed !== undefined) cfg.seed = seed;
    const recon = oneOf('recon', ['bce', 'gaussian'], undefined);
    if (recon) cfg.recon = recon;
    this._checkLayoutAttributes();
    let assets = MODULE_BASE;
    if (attr('assets')) {
      try {
        assets = new URL(attr('assets'), document.baseURI);
      } catch {
        throw new Error(`The attribute assets="${attr('assets')}" is not valid: use the URL of the folder holding vae-worker.js, wasm/ and mnist/.`);
      }
      if (!assets.pathname.endsWith('/')) assets = new URL(`${assets.pathname}/${assets.search}`, assets);
    }
    return {
      config: cfg,
      assets,
      backend: oneOf('backend', ['auto', 'webgpu', 'cpu'], 'auto'),
      autostart: this.hasAttribute('autostart'),
      bench: num('bench', 1, 100000, true),
    };
  }

  _applyLayout() {
    const controls = this.getAttribute('controls') || 'full';
    this._$('.controls').hidden = controls === 'none';
    for (const el of this._root.querySelectorAll('.advanced, .hint')) el.hidden = controls === 'compact';
    const views = this.getAttribute('views');
    const shown = views ? views.split(/[\s,]+/) : VIEW_NAMES;
    for (const el of this._root.querySelectorAll('[data-view]')) el.hidden = !shown.includes(el.dataset.view);
    // A half-width view left alone (the other one hidden) takes the whole row.
    const halves = [...this._root.querySelectorAll('.views > .card:not(.wide)[data-view]')];
    const visible = halves.filter((el) => !el.hidden);
    for (const el of halves) el.classList.toggle('solo', visible.length === 1 && el === visible[0]);
  }

  _wire() {
    const form = this._$('.controls');
    form.addEventListener('submit', (e) => e.preventDefault());
    const preset = form.elements.preset;
    for (const [value, label] of PRESETS) {
      const o = document.createElement('option');
      o.value = value;
      o.textContent = label;
      preset.append(o);
    }
    const report = (err) => this._fail(err.message);
    this._$('.start').addEventListener('click', () => (this._running ? this.pause() : this.start()).catch(report));
    this._$('.reset').addEventListener('click', () => this._reset(this._cfg).catch(() => { /* shown by the error message */ }));

    form.elements.beta.addEventListener('input', () => {
      const b = betaFromSlider(+form.elements.beta.value);
      this._$('.beta-out').textContent = fmtBeta(b);
      this._cfg.beta = b;
      this._worker?.postMessage({ type: 'hyper', beta: b });
    });
    form.elements.lr.addEventListener('input', () => {
      const lr = lrFromSlider(+form.elements.lr.value);
      this._$('.lr-out').textContent = fmtLr(lr);
      this._cfg.lr = lr;
      this._worker?.postMessage({ type: 'hyper', lr });
    });

    const structural = (key, read) => (e) => {
      const value = read(e.target);
      if (value === undefined) {
        this._syncControls();
        return;
      }
      const next = { ...this._cfg, [key]: value };
      if (key === 'preset') delete next.latent; // each preset has its own latent size
      this._confirmStructural(key, next);
    };
    const intIn = (lo, hi) => (el) => {
      const v = Number(el.value);
      if (!Number.isInteger(v) || v < lo || v > hi) {
        this._showError(`${el.closest('label').querySelector('span').textContent} must be a whole number from ${lo} to ${hi}.`);
        return undefined;
      }
      return v;
    };
    preset.addEventListener('change', structural('preset', (el) => el.value));
    form.elements.latent.addEventListener('change', structural('latent', intIn(2, 100)));
    form.elements.batch.addEventListener('change', structural('batch', intIn(1, 1024)));
    form.elements.seed.addEventListener('change', structural('seed', intIn(0, 4294967295)));
    for (const r of form.querySelectorAll('input[name="recon"]')) {
      r.addEventListener('change', structural('recon', (el) => el.value));
    }

    this._$('.log-scale').addEventListener('change', (e) => this._chart.setLog(e.target.checked));
    const dimChange = () => {
      this._worker?.postMessage({ type: 'views', dimX: +this._$('.dim-x').value, dimY: +this._$('.dim-y').value });
    };
    this._$('.dim-x').addEventListener('change', dimChange);
    this._$('.dim-y').addEventListener('change', dimChange);

    this._chart = new LossChart(this._$('.chart'), this);
    this._scheme = matchMedia('(prefers-color-scheme: dark)');
    this._scheme.addEventListener('change', () => this._redrawViews());
  }

  async _confirmStructural(key, next) {
    if (this._step > 0) {
      const dialog = this._$('.confirm');
      this._$('.confirm-msg').textContent = `Changing ${STRUCTURAL_LABEL[key]} builds a new network from scratch, so the current training (step ${this._step.toLocaleString('en-US')}) is discarded.`;
      const answer = await new Promise((resolve) => {
        dialog.addEventListener('close', () => resolve(dialog.returnValue), { once: true });
        dialog.returnValue = 'cancel';
        dialog.showModal();
        this._$('.confirm-ok').focus();
      });
      if (answer !== 'ok') {
        this._syncControls();
        return;
      }
    }
    this._reset(next);
  }

  _reset(cfg) {
    if (!this._worker) return Promise.reject(new Error('The playground is not running.'));
    this._pendingCfg = { ...cfg };
    this._setButtonsEnabled(false);
    this._worker.postMessage({ type: 'reset', config: this._pendingCfg });
    return new Promise((resolve, reject) => {
      this._resetWaiter = { resolve, reject };
    });
  }

  _call(op, args) {
    if (!this._worker) return Promise.reject(new Error('The playground is not running.'));
    const id = this._nextCall++;
    return new Promise((resolve, reject) => {
      this._calls.set(id, { resolve, reject });
      this._worker.postMessage({ type: 'call', id, op, args });
    });
  }

  _setRunning(on) {
    this._running = on;
    const b = this._$('.start');
    b.textContent = on ? 'Pause' : this._step > 0 ? 'Resume' : 'Start';
    this.toggleAttribute('running', on);
  }

  _setButtonsEnabled(on) {
    this._$('.start').disabled = !on;
    this._$('.reset').disabled = !on;
  }

  _fail(message) {
    this._error = message;
    this._showError(message);
    this.dispatchEvent(new CustomEvent('error', { detail: { message } }));
  }

  _showError(message) {
    const box = this._$('.notice.error');
    box.querySelector('.msg').textContent = ` ${message}`;
    box.hidden = false;
  }

  _syncControls() {
    const r = this._resolved;
    if (!r) return;
    const f = this._$('.controls').elements;
    const beta = Number(r.beta ?? this._cfg.beta ?? 1);
    const lr = Number(r.lr ?? r.adam?.lr ?? this._cfg.lr ?? 1e-3);
    f.preset.value = r.preset ?? this._cfg.preset;
    const desc = PRESETS.find((p) => p[0] === f.preset.value);
    this._$('.preset-desc').textContent = desc ? desc[2] : '';
    f.latent.value = latentOf(r);
    f.batch.value = r.batch ?? this._cfg.batch ?? '';
    f.seed.value = r.seed ?? this._cfg.seed ?? 0;
    f.beta.value = sliderFromBeta(beta);
    this._$('.beta-out').textContent = fmtBeta(beta);
    f.lr.value = sliderFromLr(lr);
    this._$('.lr-out').textContent = fmtLr(lr);
    const recon = r.recon ?? this._cfg.recon ?? 'bce';
    for (const radio of this._$('.controls').querySelectorAll('input[name="recon"]')) radio.checked = radio.value === recon;
  }

  _onReady(resolved) {
    this._resolved = resolved;
    if (this._pendingCfg) {
      this._cfg = { ...this._pendingCfg };
      this._pendingCfg = null;
    }
    this._step = 0;
    this._chart.clear();
    this._$('.s-step').textContent = '0';
    this._$('.s-epoch').textContent = '0';
    this._syncControls();
    this._setupDims(latentOf(resolved));
    this._setButtonsEnabled(true);
    this._$('.notice.error').hidden = true;
    this._setRunning(this._running);
    if (this._resetWaiter) {
      this._resetWaiter.resolve();
      this._resetWaiter = null;
    }
    if (!this._ready) {
      this._ready = true;
      this.dispatchEvent(new CustomEvent('ready', { detail: { config: resolved } }));
      if (this._bench) {
        this._$('.bench').hidden = false;
        this._$('.bench-sub').textContent = `Training ${this._bench} steps of the mlp preset at batch 128 on each backend (after 5 warm-up steps)…`;
        this._worker.postMessage({ type: 'bench', steps: this._bench, warmup: 5, batch: 128 });
      } else if (this._autostart) {
        this.start().catch((err) => this._fail(err.message));
      }
    }
  }

  _setupDims(latent) {
    const dims = this._$('.dims');
    const sub = this._$('.latent-sub');
    if (latent <= 2) {
      dims.hidden = true;
      sub.textContent = 'Each cell decodes one point of a 15 × 15 grid over the Gaussian quantiles of the two latent dimensions: the whole latent space at a glance.';
      return;
    }
    dims.hidden = false;
    sub.textContent = `A plane through two of the ${latent} latent dimensions (the others held at 0), decoded over a 15 × 15 grid of Gaussian quantiles.`;
    for (const [sel, val] of [['.dim-x', 0], ['.dim-y', 1]]) {
      const s = this._$(sel);
      s.textContent = '';
      for (let i = 0; i < latent; i++) {
        const o = document.createElement('option');
        o.value = String(i);
        o.textContent = `z${i}`;
        s.append(o);
      }
      s.value = String(val);
    }
  }

  _onMessage(msg) {
    if (!this._worker) return; // removed from the page: the worker is ending
    switch (msg.type) {
      case 'loading':
        this._$('.backend').textContent = 'Loading the model…';
        break;
      case 'backend': {
        const pill = this._$('.pill');
        pill.dataset.backend = msg.backend;
        const name = msg.backend === 'webgpu' ? 'WebGPU' : 'CPU (WebAssembly)';
        this._$('.backend').textContent = msg.adapter ? `${name} · ${msg.adapter}` : name;
        pill.title = this._$('.backend').textContent;
        const notice = this._$('.backend-notice');
        const show = msg.backend === 'cpu' && msg.reason !== 'requested';
        notice.hidden = !show;
        notice.querySelector('.msg').textContent = show ? ` ${msg.message}` : '';
        this._backendInfo = { backend: msg.backend, adapter: msg.adapter, reason: msg.reason, message: msg.message };
        this.dispatchEvent(new CustomEvent('backend', { detail: this._backendInfo }));
        break;
      }
      case 'ready':
        this._onReady(msg.config);
        break;
      case 'config':
        this._resolved = msg.config;
        break;
      case 'state':
        if (msg.running !== this._running) this._setRunning(msg.running);
        this.dispatchEvent(new CustomEvent('state', { detail: { running: msg.running } }));
        break;
      case 'metrics':
        this._onMetrics(msg.metrics);
        break;
      case 'test':
        this._chart.addTest(this._step, msg.metrics);
        break;
      case 'dataplan':
        this._data.plan = msg;
        this._data.trainTotal = msg.train.count;
        this._updateData();
        break;
      case 'data':
        this._data[msg.which] = msg.receivedBytes;
        if (msg.which === 'train') this._data.trainImages = msg.images;
        if (msg.which === 'train' && msg.done) this._data.done = true;
        this._updateData();
        break;
      case 'originals':
        this._originals = msg.images;
        this._drawU8(this._$('.originals'), msg.images, 8, 1);
        break;
      case 'views':
        this._lastViews = msg;
        this._drawViews(msg);
        if (this._step > 0 && !this._markedFirst) {
          // For timing "page load to first trained samples" (performance.getEntriesByName).
          this._markedFirst = true;
          performance.mark('vae-playground:first-trained-samples');
        }
        break;
      case 'bench':
        this._onBench(msg);
        break;
      case 'reply': {
        const c = this._calls.get(msg.id);
        if (!c) break;
        this._calls.delete(msg.id);
        if (msg.error) c.reject(new Error(msg.error));
        else c.resolve(msg.result);
        break;
      }
      case 'error':
        if (msg.during === 'reset') {
          this._pendingCfg = null;
          this._setButtonsEnabled(true);
          this._syncControls();
          if (this._resetWaiter) {
            this._resetWaiter.reject(new Error(msg.message));
            this._resetWaiter = null;
          }
        }
        this._fail(msg.message);
        break;
      default:
        break;
    }
  }

  _onMetrics(m) {
    this._step = m.step;
    this._$('.s-step').textContent = m.step.toLocaleString('en-US');
    this._$('.s-epoch').textContent = Number.isInteger(m.epoch) ? String(m.epoch) : m.epoch.toFixed(2);
    this._$('.s-sps').textContent = formatNum(m.steps_per_sec);
    this._$('.s-ips').textContent = Math.round(m.images_per_sec).toLocaleString('en-US');
    this._chart.addTrain(m.step, m);
    this._$('.chart').setAttribute('aria-label', `Loss chart: at step ${m.step} the training loss is ${formatNum(m.loss)} (reconstruction ${formatNum(m.recon)}, KL ${formatNum(m.kl)}).`);
    if (this._running && this._$('.start').textContent !== 'Pause') this._setRunning(true);
    const now = performance.now();
    if (now - this._lastStepEvent > 250) {
      this._lastStepEvent = now;
      this.dispatchEvent(new CustomEvent('step', { detail: { ...m } }));
    }
  }

  _updateData() {
    const d = this._data;
    if (!d.plan) return;
    const total = d.plan.test.bytes + d.plan.train.bytes;
    const got = d.test + d.train;
    const bar = this._$('.data-bar');
    const label = this._$('.data-label');
    if (d.done) {
      bar.hidden = true;
      label.textContent = `MNIST: ${d.trainTotal.toLocaleString('en-US')} training digits`;
      return;
    }
    bar.value = total ? got / total : 0;
    const mb = (b) => (b / 1e6).toFixed(1);
    label.textContent = `Downloading MNIST ${mb(got)} / ${mb(total)} MB${d.trainImages ? ` · ${d.trainImages.toLocaleString('en-US')} digits` : ''}`;
  }

  _onBench(msg) {
    const body = this._$('.bench tbody');
    body.textContent = '';
    for (const r of msg.results) {
      const tr = document.createElement('tr');
      const cells = [r.backend === 'webgpu' ? 'WebGPU' : 'CPU (wasm)', r.error ? `unavailable: ${r.error}` : r.adapter, r.error ? '–' : Math.round(r.imagesPerSec).toLocaleString('en-US')];
      cells.forEach((text, i) => {
        const td = document.createElement('td');
        td.textContent = text;
        if (i === 2) td.className = 'num';
        tr.append(td);
      });
      body.append(tr);
    }
    if (msg.done) {
      this._$('.bench-sub').textContent = `${this._bench} steps of the mlp preset at batch 128 per backend, after 5 warm-up steps.`;
      console.info(`vae-playground bench ${JSON.stringify(msg.results)}`);
      this.dispatchEvent(new CustomEvent('bench', { detail: { results: msg.results } }));
    }
  }

  _redrawViews() {
    this._chart.request();
    if (this._lastViews) this._drawViews(this._lastViews);
    if (this._originals) this._drawU8(this._$('.originals'), this._originals, 8, 1);
  }

  _drawViews(v) {
    if (v.samples) this._drawF32(this._$('.samples'), v.samples, 8, 8);
    if (v.grid) this._drawF32(this._$('.latent'), v.grid, v.gridSize, v.gridSize);
    if (v.recon) this._drawF32(this._$('.reconstructions'), v.recon, 8, 1);
  }

  _palette() {
    const s = getComputedStyle(this);
    return [parseColor(s.getPropertyValue('--paper')), parseColor(s.getPropertyValue('--ink'))];
  }

  _drawF32(canvas, pixels, cols, rows) {
    this._draw(canvas, cols, rows, (i) => pixels[i]);
  }

  _drawU8(canvas, pixels, cols, rows) {
    this._draw(canvas, cols, rows, (i) => pixels[i] / 255);
  }

  _draw(canvas, cols, rows, value) {
    const w = cols * SIDE;
    const h = rows * SIDE;
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    const [paper, ink] = this._palette();
    const ctx = canvas.getContext('2d');
    const img = ctx.createImageData(w, h);
    const out = img.data;
    const per = SIDE * SIDE;
    for (let n = 0; n < cols * rows; n++) {
      const ox = (n % cols) * SIDE;
      const oy = Math.floor(n / cols) * SIDE;
      for (let y = 0; y < SIDE; y++) {
        for (let x = 0; x < SIDE; x++) {
          let p = value(n * per + y * SIDE + x);
          p = p > 1 ? 1 : p > 0 ? p : 0;
          const o = ((oy + y) * w + ox + x) * 4;
          out[o] = paper[0] + (ink[0] - paper[0]) * p;
          out[o + 1] = paper[1] + (ink[1] - paper[1]) * p;
          out[o + 2] = paper[2] + (ink[2] - paper[2]) * p;
          out[o + 3] = 255;
        }
      }
    }
    ctx.putImageData(img, 0, 0);
  }
}

// n images of pixel probabilities (n * 784 floats) -> n ImageData, dark ink on white.
function toImages(probs, n) {
  const per = SIDE * SIDE;
  const out = [];
  for (let k = 0; k < n; k++) {
    const img = new ImageData(SIDE, SIDE);
    for (let i = 0; i < per; i++) {
      const p = Math.min(1, Math.max(0, probs[k * per + i]));
      const v = Math.round(255 * (1 - p));
      img.data[i * 4] = v;
      img.data[i * 4 + 1] = v;
      img.data[i * 4 + 2] = v;
      img.data[i * 4 + 3] = 255;
    }
    out.push(img);
  }
  return out;
}

// An image (dark ink on a light or transparent background) -> 784 MNIST bytes
// (0 = background, 255 = ink), scaled to 28 x 28.
function toPixels(src) {
  let data;
  if (typeof ImageData !== 'undefined' && src instanceof ImageData && src.width === SIDE && src.height === SIDE) {
    data = src.data;
  } else {
    let source = src;
    if (typeof ImageData !== 'undefined' && src instanceof ImageData) {
      source = new OffscreenCanvas(src.width, src.height);
      source.getContext('2d').putImageData(src, 0, 0);
    }
    const canvas = new OffscreenCanvas(SIDE, SIDE);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    try {
      ctx.drawImage(source, 0, 0, SIDE, SIDE);
    } catch {
      throw new Error('encode() needs an ImageData, a canvas, an ImageBitmap or a loaded image.');
    }
    data = ctx.getImageData(0, 0, SIDE, SIDE).data;
  }
  const out = new Uint8Array(SIDE * SIDE);
  for (let i = 0; i < out.length; i++) {
    const a = data[i * 4 + 3] / 255;
    const lum = 0.299 * data[i * 4] + 0.587 * data[i * 4 + 1] + 0.114 * data[i * 4 + 2];
    out[i] = Math.round(255 - (lum * a + 255 * (1 - a))); // composited over white, inverted
  }
  return out;
}

function latentOf(r) {
  return r.latent ?? r.latent_dim ?? r.latentDim ?? 2;
}

function parseColor(text) {
  const t = text.trim();
  const m = /^#([0-9a-f]{6})$/i.exec(t);
  if (m) {
    const n = parseInt(m[1], 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  return [128, 128, 128];
}

if (!customElements.get('vae-playground')) customElements.define('vae-playground', VaePlayground);
export { VaePlayground };
