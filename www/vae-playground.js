// @ts-check
// <vae-playground>: a variational autoencoder training live in the browser.
//
// The element owns one dedicated Web Worker (vae-worker.js) that runs the wasm
// core, on WebGPU where it can and on the CPU otherwise; this module only holds
// the element's attributes, lifecycle and layout, and wires together
//   playground/protocol.js  the request/reply client to the worker
//   playground/state.js     the one state object (settings, model, running...)
//   playground/controls.js  the controls form
//   playground/views/       one module per view (index.js: how a view plugs in)
// No globals besides the custom element definition; styles are a constructable
// stylesheet, so the element works under a strict CSP.
//
// The public surface (attributes, properties, methods, events) is written down
// in custom-elements.json and vae-playground.d.ts; tests/browser/manifest.test.mjs
// checks this file against them.

import { fromWire, kindError, toWire } from './playground/errors.js';
import { WorkerClient } from './playground/protocol.js';
import { ATTRIBUTES, DATA_IMAGE, LIVE, PlaygroundState, SETTINGS, parseSetting, settingsFromAttributes, usablePresets } from './playground/state.js';
import { mountControls, template as controlsTemplate, dialogTemplate } from './playground/controls.js';
import { VIEWS } from './playground/views/index.js';
import bench from './playground/views/bench.js';
import perfOverlay from './playground/perf-overlay.js';
import { PRINT } from './playground/views/colours.js';
import { separate, toBytes } from './playground/views/pixels.js';
import { css } from './playground/styles.js';
import { mountDataPanel, template as dataTemplate, css as dataCss } from './playground/data-panel.js';
import { DATASETS, sameShape } from './playground/state.js';
import { forgetExploreStore } from './playground/views/explore-shared.js';
import { mountSavePng, viewPng } from './playground/save-png.js';
import { EVERY_MS, clearSaved, offer, readSaved, template as resumeTemplate, writeSaved } from './playground/autosave.js';
import { StartupTimes } from './playground/startup.js';

/**
 * @typedef {import('./playground/state.js').Settings} Settings
 * @typedef {import('./playground/state.js').SettingKey} SettingKey
 * @typedef {import('./playground/state.js').BackendInfo} BackendInfo
 * @typedef {import('./playground/state.js').ResolvedConfig} ResolvedConfig
 * @typedef {import('./playground/protocol.js').WorkerEvent} WorkerEvent
 * @typedef {import('./playground/protocol.js').BackendChoice} BackendChoice
 * @typedef {import('./playground/views/index.js').View} View
 * @typedef {import('./playground/views/index.js').ViewData} ViewData
 */

const MODULE_BASE = new URL('./', import.meta.url);
const MAX_IMAGES = 1024;
const STEP_EVENT_MS = 250;
/** Autosave keeps the reader's files with the model up to this size (larger: the model only). */
const KEEP_FILES_BYTES = 64 * 1024 * 1024;
/** Attributes with a fixed set of values, and those values. */
const CHOICES = {
  backend: ['auto', 'webgpu', 'cpu'],
  controls: ['full', 'compact', 'none'],
  theme: ['light', 'dark', 'auto'],
  offscreen: ['pause', 'run'],
};
const VIEW_NAMES = VIEWS.map((v) => v.name);
/** Views made for 28x28 grey digits (drawing, picking, editing them). */
const GREY_ONLY = ['draw', 'interpolate', 'inpaint', 'traverse'];
/** @type {Map<string, SettingKey>} */
const SETTING_OF = new Map(SETTINGS.map((s) => [s.attribute, s.key]));

let sheet = /** @type {CSSStyleSheet | null} */ (null);
function styleSheet() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(css + dataCss + perfOverlay.css);
  }
  return sheet;
}

const TEMPLATE = `
<div class="wrap">
  ${VIEWS.filter((v) => v.place === 'top').map((v) => v.template).join('')}
  ${perfOverlay.template}
  <div class="notice backend-notice" role="status" hidden><strong>Training on the CPU</strong><span class="msg"></span> <button type="button" class="webgpu-again" hidden>Try WebGPU again</button></div>
  <div class="notice error" role="alert" hidden><strong>Something went wrong</strong><span class="msg"></span> <button type="button" class="notice-action" hidden></button></div>
  ${resumeTemplate}
  <div class="main">
    <div class="side">${controlsTemplate}${dataTemplate}</div>
    <div class="views">
      ${VIEWS.filter((v) => v.place === 'grid').map((v) => v.template).join('')}
      ${bench.template}
    </div>
  </div>
  ${dialogTemplate}
</div>`;

/**
 * A promise with its settle functions, for "resolves once the first model is ready".
 * @returns {{ promise: Promise<void>, resolve: () => void, reject: (e: Error) => void }}
 */
function deferred() {
  /** @type {() => void} */
  let resolve = () => {};
  /** @type {(e: Error) => void} */
  let reject = () => {};
  /** @type {Promise<void>} */
  const promise = new Promise((res, rej) => {
    resolve = () => res();
    reject = rej;
  });
  promise.catch(() => {}); // awaited only by API calls; unobserved is fine
  return { promise, resolve, reject };
}

export class VaePlayground extends HTMLElement {
  static get observedAttributes() {
    return ATTRIBUTES;
  }

  constructor() {
    super();
    this._root = this.attachShadow({ mode: 'open' });
    this._root.adoptedStyleSheets = [styleSheet()];
    /** @type {WorkerClient | null} */
    this._client = null;
    this._state = new PlaygroundState();
    /** @type {{ promise: Promise<void>, resolve: () => void, reject: (e: Error) => void } | null} */
    this._started = null;
    /** @type {IntersectionObserver | null} */
    this._io = null;
    this._visible = true;
    this._autoPaused = false;
    this._lastStepEvent = 0;
    this._markedFirst = false;
    /** @type {StartupTimes | null} the start-up phases of the running worker */
    this._startupTimes = null;
    /** @type {import('./playground/startup.js').StartupBreakdown | null} */
    this._startup = null;
    /** @type {string | null} the kind of the error shown, if any */
    this._errorKind = null;
    /** @type {View[]} */
    this._views = [];
    /** @type {{ sync: (force?: boolean) => void, confirm: (message: string) => Promise<boolean>, labelOf: (key: SettingKey) => string } | null} */
    this._controls = null;
    /** @type {string | null} the label of the error notice's button (Reset after a crash, Retry after a data failure) */
    this._action = null;
    /** @type {string | null} the worker's blob: URL (cross-origin assets), revoked on removal */
    this._blobUrl = null;
    /** @type {{ assets: string, backend: string } | null} what the running worker was started with */
    this._startedWith = null;
    /** @type {{ show: (results: import('./playground/protocol.js').BenchResult[], done: boolean) => void } | null} */
    this._bench = null;
    /** @type {ReturnType<typeof perfOverlay.mount> | null} the performance overlay */
    this._perf = null;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this._saveTimer = undefined;
    /** @type {{ name: string, bytes: ArrayBuffer }[] | null} the reader's files, for autosave */
    this._keptFiles = null;
    /** @type {string[]} the presets the reader's files fit */
    this._filesUsable = [];
    this._scheme = matchMedia('(prefers-color-scheme: dark)');
    this._onScheme = () => this._redraw();
    this._render();
  }

  // ------------------------------------------------------------ lifecycle

  /** A fresh shadow DOM with controls and views mounted on it. */
  _render() {
    this._root.innerHTML = TEMPLATE;
    this._state = new PlaygroundState();
    this._controls = mountControls(this._root, this._state, {
      toggle: () => (this._state.value.running ? this.pause() : this.start()).catch((err) => this._fail(err)),
      reset: () => this.reset().catch(() => { /* shown by _fail */ }),
      live: (patch) => this._live(patch),
      rebuild: (next) => this._build(next).catch(() => { /* shown by _fail */ }),
      complain: (message) => this._showError(message),
    });
    const ctx = this._viewContext();
    this._panel = mountDataPanel(this._root, this, this._state, {
      files: (files) => this._open(files, true).catch((err) => this._fail(err)),
      dataset: (name) => this._switchDataset(name, true).catch((err) => this._fail(err)),
      download: () => this._download().catch((err) => this._fail(err)),
      load: (file) => this._openModel(file).catch((err) => this._fail(err)),
    });
    /** @type {HTMLElement} */ (this._root.querySelector('.notice-action')).addEventListener('click', () => this.reset().catch(() => { /* shown by _fail */ }));
    /** @type {HTMLElement} */ (this._root.querySelector('.webgpu-again')).addEventListener('click', () => this._backToWebgpu());
    this._views = VIEWS.map((v) => v.mount(/** @type {HTMLElement} */ (this._root.querySelector(`[data-view="${v.name}"]`)), ctx));
    this._perf = perfOverlay.mount(this._root, { toggle: () => this.toggleAttribute('perf') });
    this._perf.setOpen(this.hasAttribute('perf'));
    mountSavePng(this._root, (view, blob) => saveBlob(blob, `vae-${view}-step${this._state.value.step}.png`), (err) => this._fail(err));
    this._dataKey = null;
    this._state.addEventListener('change', (e) => {
      const keys = /** @type {CustomEvent<{ keys: string[] }>} */ (e).detail.keys;
      if (keys.includes('running')) this.toggleAttribute('running', this._state.value.running);
      if ((keys.includes('config') || keys.includes('dataset')) && this._state.value.config) {
        this.dispatchEvent(new CustomEvent('settings', { detail: { config: { ...this._state.value.config }, dataset: this._state.value.dataset } }));
      }
    });
    this._applyLayout();
  }

  /** What a view gets to draw, ask the worker and report failures. */
  _viewContext() {
    return {
      host: this,
      state: this._state,
      /** @type {WorkerClient['request']} */
      request: (op, args, transfer) => (this._client ? this._client.request(op, args, transfer) : Promise.reject(kindError('NotRunning', 'The playground is not running.'))),
      /** @param {unknown} err */
      report: (err) => {
        if (toWire(err).name !== 'NotRunning') this._fail(err);
      },
    };
  }

  /**
   * The grid views afresh (their picks of test images belong to data that is
   * gone): new cards from their templates, mounted again.
   */
  _remountGridViews() {
    forgetExploreStore(this._state);
    const ctx = this._viewContext();
    VIEWS.forEach((v, i) => {
      if (v.place !== 'grid') return;
      this._views[i].destroy();
      const old = /** @type {HTMLElement} */ (this._root.querySelector(`[data-view="${v.name}"]`));
      const tmp = document.createElement('template');
      tmp.innerHTML = v.template.trim();
      const card = /** @type {HTMLElement} */ (tmp.content.firstElementChild);
      old.replaceWith(card);
      this._views[i] = v.mount(card, ctx);
    });
    mountSavePng(this._root, (view, blob) => saveBlob(blob, `vae-${view}-step${this._state.value.step}.png`), (err) => this._fail(err), true);
    this._applyLayout();
  }

  connectedCallback() {
    this._scheme.addEventListener('change', this._onScheme);
    this._applyLayout();
    this._observeVisibility();
    if (this._client || this._started) return;
    this._boot();
  }

  disconnectedCallback() {
    // Moving the element within the page reconnects it in the same task.
    queueMicrotask(() => {
      if (this.isConnected) return;
      this._scheme.removeEventListener('change', this._onScheme);
      this._io?.disconnect();
      this._io = null;
      this._dispose();
    });
  }

  /** Starts the worker, loads the catalog, checks the attributes, builds the first model. */
  async _boot() {
    const started = deferred();
    this._started = started;
    let start;
    try {
      this._checkLayoutAttributes();
      start = this._startAttributes();
    } catch (err) {
      // Listeners added right after the element is inserted still hear this.
      this._showError(/** @type {Error} */ (err).message);
      queueMicrotask(() => this._fail(err));
      started.reject(this._cannotStart(err));
      this._update({ stopped: true });
      return;
    }
    let workerUrl = new URL('vae-worker.js', start.assets);
    const workerHref = workerUrl.href;
    if (workerUrl.origin !== location.origin) {
      // A worker script must be same-origin: load a cross-origin one (served with
      // CORS) through a one-line module. Needs `worker-src blob:` under a CSP.
      this._blobUrl = URL.createObjectURL(new Blob([`import ${JSON.stringify(workerUrl.href)};`], { type: 'text/javascript' }));
      workerUrl = new URL(this._blobUrl);
    }
    let worker;
    this._startupTimes = new StartupTimes(performance.now());
    this._markedFirst = false;
    try {
      worker = new Worker(workerUrl, { type: 'module', name: 'vae-playground' });
    } catch (err) {
      const e = kindError('WorkerFailed', `The training worker could not be started from ${start.assets.href} (${/** @type {Error} */ (err).message}). Check the assets attribute and the page's Content-Security-Policy (worker-src).`);
      this._showError(e.message);
      queueMicrotask(() => this._fail(e));
      started.reject(this._cannotStart(e));
      this._update({ stopped: true });
      return;
    }
    const client = new WorkerClient(worker, {
      workerUrl: workerHref,
      onEvent: (e) => this._onEvent(e),
      onFailure: (err) => {
        if (this._client !== client) return;
        this._client = null;
        this._state.set({ ready: false, running: false });
        this._fail(err);
        started.reject(this._cannotStart(err));
        this._update({ stopped: true });
      },
    });
    this._client = client;
    this._startedWith = { assets: start.assets.href, backend: start.backend };
    try {
      const catalog = await client.request('init', { base: start.assets.href, backend: start.backend, dataset: start.dataset });
      this._state.set({ dataset: start.dataset });
      this._state.set({ catalog });
      const settings = settingsFromAttributes(catalog, (n) => this.getAttribute(n));
      const building = this._build(settings, { quiet: true });
      // autostart: asked right behind the model (one round trip sooner; the
      // worker answers requests in order, so it starts once the model is built).
      if (start.autostart && !start.bench && this._visible) {
        this._state.set({ running: true });
        client.request('start', {}).catch(() => this._state.set({ running: false }));
        start.autostart = false;
      }
      await building;
    } catch (err) {
      if (this._client !== client) return; // removed meanwhile, or the worker failed (already reported)
      this._client = null;
      client.close(/** @type {Error} */ (err));
      this._fail(err);
      started.reject(this._cannotStart(err));
      this._update({ stopped: true });
      return;
    }
    started.resolve();
    if (this.hasAttribute('perf')) this._perfChanged();
    this.dispatchEvent(new CustomEvent('ready', { detail: { config: this._state.value.config } }));
    if (this.hasAttribute('autosave')) this._startAutosave(client);
    if (start.bench) this._runBench(start.bench);
    else if (start.autostart) this.start().catch((err) => this._fail(err));
  }

  /** @param {unknown} err */
  _cannotStart(err) {
    const { name, message } = toWire(err);
    return kindError(name, `The playground could not start: ${message}`);
  }

  // Ends the worker: its wasm session is freed, pending calls reject.
  /** @param {Error} [gone]  why pending calls reject */
  _dispose(gone = kindError('NotRunning', 'The element was removed from the page.')) {
    const client = this._client;
    this._client = null;
    this._startedWith = null;
    this._action = null;
    if (this._blobUrl) URL.revokeObjectURL(this._blobUrl);
    this._blobUrl = null;
    this._started?.reject(gone);
    this._started = null;
    this._autoPaused = false;
    for (const v of this._views) v.destroy();
    this._panel?.destroy();
    clearInterval(this._saveTimer);
    client?.close(gone);
    this.removeAttribute('running');
    this._render(); // a later reconnection starts from a clean slate
  }

  /**
   * @param {string} name
   * @param {string | null} old
   * @param {string | null} value
   */
  attributeChangedCallback(name, old, value) {
    if (old === value) return;
    this._applyLayout();
    if (!this.isConnected) return;
    try {
      this._checkLayoutAttributes();
      const key = SETTING_OF.get(name);
      if (key && this._state.value.ready) this._settingAttribute(key, name, value);
      if ((name === 'assets' || name === 'backend') && this._startedWith) this._startAttribute();
    } catch (err) {
      this._fail(err);
      return;
    }
    if (name === 'dataset' && this._state.value.ready) this._switchDataset(/** @type {import('./playground/state.js').Dataset} */ (value || 'mnist'), false).catch(() => { /* shown by _fail */ });
    if (name === 'theme') this._redraw();
    if (name === 'perf') this._perfChanged();
    if (name === 'offscreen' && value === 'run' && this._autoPaused) this._resumeFromOffscreen();
  }

  /**
   * A setting's attribute changed on a running element: apply it (β and the
   * learning rate live, the rest as a new model).
   * @param {SettingKey} key
   * @param {string} attribute
   * @param {string | null} raw
   */
  _settingAttribute(key, attribute, raw) {
    const { catalog, settings } = this._state.value;
    if (!catalog) return;
    /** @type {Settings} */
    const next = { ...settings };
    /** @type {Record<string, unknown>} */ (next)[key] = raw === null || raw === '' ? (key === 'preset' ? usablePresets(catalog)[0]?.name : undefined) : parseSetting(catalog, key, raw, (allowed) => `The attribute ${attribute}="${raw}" is not valid: use ${allowed}.`);
    if (key === 'preset' && !this.getAttribute('latent-dim')) delete next.latent;
    if (next[key] === settings[key] && next.latent === settings.latent) return;
    if (LIVE.has(key)) {
      const preset = catalog.presets.find((p) => p.name === next.preset);
      const v = /** @type {number | undefined} */ (next[key]) ?? (preset ? preset[/** @type {'beta' | 'lr'} */ (key)] : undefined);
      if (v !== undefined) this._live({ [key]: v });
    } else {
      // As the controls do: ask before discarding training.
      this._confirmReset(this._controls?.labelOf(key) ?? attribute).then((ok) => {
        if (ok) return this._build(next);
        this._controls?.sync(true);
        return undefined;
      }).catch(() => { /* shown by _fail */ });
    }
  }

  /**
   * Resolves true when nothing would be lost (no training yet) or the reader agreed.
   * @param {string} label
   */
  async _confirmReset(label) {
    const { step } = this._state.value;
    if (!(step > 0) || !this._controls) return true;
    return this._controls.confirm(`Changing ${label} builds a new network from scratch, so the current training (step ${step.toLocaleString('en-US')}) is discarded.`);
  }

  /**
   * `assets` or `backend` changed on a running element: checked at once; a
   * valid change starts a new worker there (after the same confirmation).
   */
  _startAttribute() {
    const start = this._startAttributes();
    const was = this._startedWith;
    if (!was || (start.assets.href === was.assets && start.backend === was.backend)) return;
    this._confirmReset('where the model trains').then((ok) => (ok ? this._restart() : undefined)).catch(() => { /* shown by _fail */ });
  }

  /**
   * A fresh worker and model (after a crash, a failed download, or a new
   * assets / backend attribute); resolves when the new model is ready.
   */
  _restart() {
    if (!this.isConnected) return Promise.reject(kindError('NotRunning', 'The playground is not running (it is not in the page).'));
    this._dispose(kindError('NotRunning', 'The playground was restarted.'));
    this._boot();
    return /** @type {{ promise: Promise<void> }} */ (this._started).promise;
  }

  /** After a lost device: move the model back to WebGPU at the same step. */
  _backToWebgpu() {
    const button = /** @type {HTMLButtonElement} */ (this._root.querySelector('.webgpu-again'));
    button.disabled = true;
    this._client?.request('webgpu', {}).then((config) => this._state.set({ config }), (err) => this._fail(err)).finally(() => {
      button.disabled = false;
    });
  }

  // Elements scrolled out of view pause (unless offscreen="run") and resume
  // when they come back, if they were running.
  _observeVisibility() {
    if (this._io || typeof IntersectionObserver === 'undefined') return;
    this._io = new IntersectionObserver((entries) => {
      const entry = entries[entries.length - 1];
      this._visible = entry.isIntersecting;
      if (!this._visible && this._state.value.running && this.getAttribute('offscreen') !== 'run') {
        this._autoPaused = true;
        this._state.set({ running: false });
        this._client?.request('pause', {}).catch(() => { /* removed meanwhile */ });
      } else if (this._visible && this._autoPaused) {
        this._resumeFromOffscreen();
      }
    });
    this._io.observe(this);
  }

  _resumeFromOffscreen() {
    this._autoPaused = false;
    if (this._client && this._state.value.ready) this.start().catch((err) => this._fail(err));
  }

  // ------------------------------------------------------------ public API

  /** Starts (or resumes) training. Resolves once the model is ready and asked to train. */
  async start() {
    const client = await this._whenReady();
    if (!this._visible && this.getAttribute('offscreen') !== 'run') {
      this._autoPaused = true; // starts when scrolled into view
      return;
    }
    this._state.set({ running: true });
    await client.request('start', {});
  }

  /** Pauses training; resolves when the worker has stopped stepping. */
  async pause() {
    this._autoPaused = false;
    if (!this._client) return;
    this._state.set({ running: false });
    await this._client.request('pause', {});
  }

  /** A fresh model with the current settings; resolves when it is ready. */
  async reset() {
    // After a crash or a failed download (the notice's Reset / Retry), or a
    // failed start: a fresh worker.
    if (this._action || (this._started && !this._client)) return this._restart();
    await this._whenReady();
    await this._build(this._state.value.settings);
  }

  /**
   * Test hook, enabled only by the `debug-faults` attribute: `'panic'` makes the
   * wasm core panic; `'device-lost'` destroys the GPU device (training goes on
   * on the CPU from the last copy of the model).
   * @param {'panic' | 'device-lost'} fault
   * @returns {Promise<void>}
   */
  async debugFault(fault) {
    if (!this.hasAttribute('debug-faults')) throw kindError('InvalidConfig', 'debugFault() is a test hook: add the debug-faults attribute to enable it.');
    const client = await this._whenReady();
    await client.request('debug', { fault });
  }

  /**
   * `n` new digits from the prior, as ImageData (dark ink on white).
   * @param {number} [n]
   * @returns {Promise<ImageData[]>}
   */
  async sample(n = 16) {
    if (!Number.isInteger(n) || n < 1 || n > MAX_IMAGES) throw new RangeError(`sample(n) needs a whole number n from 1 to ${MAX_IMAGES}, got ${n}.`);
    const client = await this._whenReady();
    const config = this._model();
    return separate(await client.request('sample', { n }), n, config.image, PRINT);
  }

  /**
   * Decodes latent codes: one code (numbers) or several (an array of them, or a
   * flat list of n * Z numbers). Resolves to ImageData, one per code.
   * @param {ArrayLike<number> | ArrayLike<number>[]} z
   * @returns {Promise<ImageData[]>}
   */
  async decode(z) {
    const client = await this._whenReady();
    const config = this._model();
    const zdim = config.latent;
    const nested = Array.isArray(z) && z.length > 0 && typeof z[0] === 'object';
    // Refused before anything is allocated: at most MAX_IMAGES codes.
    const most = MAX_IMAGES * zdim;
    const total = nested ? /** @type {ArrayLike<number>[]} */ (z).reduce((n, c) => n + Number(c?.length ?? Infinity), 0) : Number(z?.length);
    if (!(total <= most)) throw new RangeError(`decode() takes at most ${MAX_IMAGES} codes (${most} numbers for this model's latent size ${zdim}), got ${Number.isFinite(total) ? total : 'no array'}.`);
    const flat = Float32Array.from(nested ? /** @type {ArrayLike<number>[]} */ (z).flatMap((c) => Array.from(c)) : /** @type {ArrayLike<number>} */ (z));
    if (flat.length === 0 || flat.length % zdim !== 0 || !flat.every(Number.isFinite)) {
      throw new RangeError(`decode() needs latent codes of ${zdim} finite numbers each (the model's latent size), got ${flat.length} numbers.`);
    }
    const n = flat.length / zdim;
    return separate(await client.request('decode', { z: flat, n }, [flat.buffer]), n, config.image, PRINT);
  }

  /**
   * The mean latent code of an image (ImageData, a canvas or an image of a dark
   * digit on a light or transparent background, any size), or of an array of them.
   * Resolves to a Float32Array of Z numbers (or an array of them).
   * @template {ImageData | CanvasImageSource | (ImageData | CanvasImageSource)[]} T
   * @param {T} images
   * @returns {Promise<T extends unknown[] ? Float32Array[] : Float32Array>}
   */
  async encode(images) {
    const list = Array.isArray(images) ? images : [images];
    if (list.length === 0) throw new RangeError('encode() needs at least one image.');
    const per = DATA_IMAGE.height * DATA_IMAGE.width;
    const pixels = new Uint8Array(list.length * per);
    list.forEach((img, i) => pixels.set(toBytes(img, DATA_IMAGE), i * per));
    const client = await this._whenReady();
    const zdim = this._model().latent;
    const out = await client.request('encode', { pixels, n: list.length }, [pixels.buffer]);
    const codes = list.map((_, i) => out.slice(i * zdim, (i + 1) * zdim));
    return /** @type {any} */ (Array.isArray(images) ? codes : codes[0]);
  }

  /**
   * Trains on the reader's files: IDX image (and label) files, CIFAR-10 binary
   * batches, or PNG/JPEG pictures, detected by content (one .safetensors file is
   * loaded as the model instead). A fresh model trains on them, with a preset
   * that fits (the cifar preset for colour data). A file that is none of these or
   * does not fit rejects with a BadFile error naming it; the model and data stay.
   * @param {Iterable<File> | ArrayLike<File>} files
   */
  async loadFiles(files) {
    const list = Array.from(/** @type {ArrayLike<File>} */ (files));
    if (!list.length || !list.every((f) => f instanceof Blob)) throw new TypeError('loadFiles() needs one or more File objects.');
    return this._open(list, false);
  }

  /**
   * The current model as a .safetensors file (PyTorch names and layouts, the
   * config and step in its metadata): what `vae train --out` writes.
   * @returns {Promise<Blob>}
   */
  async saveCheckpoint() {
    const client = await this._whenReady();
    const bytes = await client.request('checkpoint', {});
    return new Blob([/** @type {BlobPart} */ (bytes)], { type: 'application/octet-stream' });
  }

  /**
   * Replaces the model by one from a checkpoint (a .safetensors file from the
   * page or `vae train --out`); training continues from it. A corrupt file, or a
   * model of other images than the data loaded, rejects with a BadFile error
   * saying why; the current model stays.
   * @param {Blob | ArrayBuffer | Uint8Array} file
   * @returns {Promise<ResolvedConfig>}
   */
  async loadCheckpoint(file) {
    let bytes;
    if (file instanceof Blob) bytes = new Uint8Array(await file.arrayBuffer());
    else if (file instanceof ArrayBuffer) bytes = new Uint8Array(file.slice(0));
    else if (file instanceof Uint8Array) bytes = file.slice();
    else throw new TypeError('loadCheckpoint() needs a Blob (File), an ArrayBuffer or a Uint8Array.');
    return (await this._loadModel(bytes)).config;
  }

  /**
   * The current model's loss per image on the first `images` test images (all
   * of them by default): the same numbers as `vae eval` on that data.
   * @param {number} [images]
   * @returns {Promise<{ loss: number, recon: number, kl: number, images: number }>}
   */
  async evaluate(images = 1e9) {
    if (!Number.isInteger(images) || images < 1) throw new RangeError(`evaluate(images) needs a whole number of images of at least 1, got ${images}.`);
    const client = await this._whenReady();
    return client.request('evaluate', { images });
  }

  /**
   * A PNG of what a view shows (its canvases, pixel images scaled up to a
   * readable size): what its "Save PNG" button downloads.
   * @param {string} view  a name the `views` attribute lists, with a picture (not status)
   * @returns {Promise<Blob>}
   */
  async savePng(view) {
    const card = VIEW_NAMES.includes(view) ? /** @type {HTMLElement | null} */ (this._root.querySelector(`.card[data-view="${view}"]`)) : null;
    if (!card || !card.querySelector('canvas')) throw new RangeError(`savePng(view) needs the name of a view with a picture: one of ${VIEW_NAMES.filter((n) => this._root.querySelector(`.card[data-view="${n}"] canvas`)).join(', ')}; got ${JSON.stringify(view)}.`);
    return viewPng(card);
  }

  /**
   * What the model trains on: a built-in data set ("mnist", "fashion-mnist") or
   * "files" (the reader's). (Not `dataset`: that is HTMLElement's data-* map.)
   */
  get trainingData() {
    return this._state.value.dataset;
  }

  /**
   * Reads files (picked, dropped, or given to loadFiles) and trains on them, or
   * loads the model they are.
   * @param {(File | { name: string, bytes: ArrayBuffer })[]} files  (named bytes: files kept by autosave)
   * @param {boolean} ask  from the page's controls: ask before discarding training
   */
  async _open(files, ask) {
    const client = await this._whenReady();
    const payload = await Promise.all(files.map(async (f) => (f instanceof Blob ? { name: f.webkitRelativePath || f.name, bytes: await f.arrayBuffer() } : { name: f.name, bytes: f.bytes.slice(0) })));
    // Autosave keeps the files of a model that trains on them, up to a size.
    const total = payload.reduce((n, p) => n + p.bytes.byteLength, 0);
    const keep = this.hasAttribute('autosave') && total <= KEEP_FILES_BYTES ? payload.map((p) => ({ name: p.name, bytes: p.bytes.slice(0) })) : null;
    const r = await client.request('files', { files: payload }, payload.map((p) => p.bytes));
    if ('checkpoint' in r) {
      if (ask && !(await this._askDiscard(`Loading the model ${r.checkpoint.name} replaces the current one`, 'Load it'))) return null;
      const out = await this._loadModel(undefined);
      this._panel?.say(`Loaded the model ${r.checkpoint.name} (${r.checkpoint.preset}, step ${out.step.toLocaleString('en-US')}).`);
      return { kind: 'model', config: out.config, step: out.step };
    }
    const catalog = /** @type {import('./playground/state.js').Catalog} */ (this._state.value.catalog);
    const usable = catalog.presets.filter((p) => r.fits.some((shape) => sameShape(shape, p.image))).map((p) => p.name);
    /** @type {Settings} */
    const next = { ...this._state.value.settings };
    if (!usable.includes(next.preset)) {
      next.preset = usable[0];
      delete next.latent;
    }
    if (ask && !(await this._askDiscard(`Training on ${r.label} builds a new model from scratch`, 'Train on them'))) return null;
    await this._build(next, { quiet: true, dataset: 'files' });
    this._keptFiles = keep;
    this._filesUsable = usable;
    this._state.set({ catalog: { ...catalog, usable }, files: r.label, dataset: 'files' });
    this._controls?.sync(true);
    const sm = r.summary;
    const what = sm.kind === 'cifar10' ? 'CIFAR-10 batches' : sm.kind === 'idx' ? 'IDX files' : 'pictures';
    this._panel?.say(`Training on ${r.label} (${what}): ${sm.train.toLocaleString('en-US')} training and ${sm.test.toLocaleString('en-US')} test images${sm.heldOut ? ' (every tenth held out for testing)' : ''}.`);
    return { kind: 'data', summary: sm, preset: next.preset };
  }

  /**
   * A new model on another data set (from the menu or the `dataset` attribute).
   * @param {import('./playground/state.js').Dataset} name
   * @param {boolean} ask
   */
  async _switchDataset(name, ask) {
    await this._whenReady();
    const { catalog, settings, dataset } = this._state.value;
    if (!catalog || name === dataset) return;
    if (ask && !(await this._askDiscard('Changing the data builds a new model from scratch', 'Change the data'))) {
      this._panel?.sync(); // the menu shows what trains again
      return;
    }
    const builtIn = name !== 'files';
    const nextCatalog = builtIn ? { presets: catalog.presets, limits: catalog.limits } : { presets: catalog.presets, limits: catalog.limits, usable: this._filesUsable };
    /** @type {Settings} */
    const next = { ...settings };
    const usable = usablePresets(nextCatalog).map((p) => p.name);
    if (!usable.includes(next.preset)) {
      next.preset = usable[0];
      delete next.latent;
    }
    await this._build(next, { dataset: name });
    this._state.set({ catalog: nextCatalog });
    this._controls?.sync(true);
  }

  /**
   * Offers the model this browser kept (if any), then keeps the model every few
   * seconds while it trains.
   * @param {WorkerClient} client
   */
  _startAutosave(client) {
    const key = this.getAttribute('autosave') || 'default';
    readSaved(key).then((saved) => {
      if (!saved || saved.step === 0 || this._client !== client || this._state.value.step > 0) return;
      offer(this._root, saved, {
        resume: () => this._resume(saved).catch((err) => this._fail(err)),
        fresh: () => clearSaved(key).catch(() => { /* nothing kept */ }),
      });
    }, () => { /* no IndexedDB here (e.g. a private window): no autosave */ });
    let savedStep = 0;
    let saving = false;
    this._saveTimer = setInterval(async () => {
      const { running, step, config, settings, dataset } = this._state.value;
      if (!running || saving || step === savedStep || !config || this._client !== client) return;
      saving = true;
      try {
        const bytes = await client.request('checkpoint', {});
        const files = dataset === 'files' ? this._keptFiles : null;
        await writeSaved(key, { bytes, settings, dataset, step, preset: config.preset, savedAt: Date.now(), files });
        savedStep = step;
        /** @type {HTMLElement} */ (this._root.querySelector('.notice.resume')).hidden = true; // that offer is gone now
      } catch {
        // Not kept this time (the model changed meanwhile, or storage is full): try again later.
      } finally {
        saving = false;
      }
    }, EVERY_MS);
  }

  /** @param {import('./playground/autosave.js').Saved} saved */
  async _resume(saved) {
    if (saved.dataset === 'files' && saved.files) await this._open(saved.files, false);
    else if (saved.dataset !== 'files' && saved.dataset !== this._state.value.dataset) await this._switchDataset(/** @type {any} */ (saved.dataset), false);
    const r = await this._loadModel(saved.bytes);
    this._panel?.say(`Continuing the model kept in this browser (${r.config.preset}, step ${r.step.toLocaleString('en-US')}).`);
  }

  /**
   * The Load model button's file: loaded as the model, after asking.
   * @param {File} file
   */
  async _openModel(file) {
    await this._whenReady();
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (!(await this._askDiscard(`Loading the model ${file.name} replaces the current one`, 'Load it'))) return;
    const r = await this._loadModel(bytes, file.name);
    this._panel?.say(`Loaded the model ${file.name} (${r.config.preset}, step ${r.step.toLocaleString('en-US')}).`);
  }

  /**
   * @param {Uint8Array | undefined} bytes  undefined: the checkpoint the worker just read
   * @param {string} [name]  the file's name, for messages
   */
  async _loadModel(bytes, name) {
    const client = await this._whenReady();
    this._state.set({ busy: true });
    try {
      const r = await client.request('loadCheckpoint', { bytes, name }, bytes ? [bytes.buffer] : []);
      this._state.set({ settings: r.settings, step: r.step });
      this._controls?.sync(true);
      return r;
    } finally {
      this._state.set({ busy: false });
    }
  }

  async _download() {
    const blob = await this.saveCheckpoint();
    const { config, step } = this._state.value;
    saveBlob(blob, `vae-${config?.preset ?? 'model'}-step${step}.safetensors`);
  }

  /**
   * Asks before discarding training (none to discard: yes at once).
   * @param {string} what  "Doing X builds a new model"
   * @param {string} ok  the button that agrees
   * @returns {Promise<boolean>}
   */
  _askDiscard(what, ok) {
    const { step } = this._state.value;
    if (step === 0) return Promise.resolve(true);
    const dialog = /** @type {HTMLDialogElement} */ (this._root.querySelector('dialog.confirm'));
    const msg = /** @type {HTMLElement} */ (dialog.querySelector('.confirm-msg'));
    const okButton = /** @type {HTMLButtonElement} */ (dialog.querySelector('.confirm-ok'));
    const before = okButton.textContent;
    msg.textContent = `${what}, so the current training (step ${step.toLocaleString('en-US')}) is discarded.`;
    okButton.textContent = ok;
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => {
        okButton.textContent = before;
        resolve(dialog.returnValue === 'ok');
      }, { once: true });
      dialog.returnValue = 'cancel';
      dialog.showModal();
      okButton.focus();
    });
  }

  /** The last error message shown, or null. */
  get error() {
    return this._state.value.error;
  }

  /** True once the first model is built (until the element is removed). */
  get ready() {
    return this._state.value.ready;
  }

  /** Where the model trains and why: `{ backend, adapter, reason, message }`, or null before the first model. */
  get backend() {
    const b = this._state.value.backend;
    return b ? { ...b } : null;
  }

  /** The settings the current model trains with (resolved from the preset), or null. */
  get config() {
    const c = this._state.value.config;
    return c ? { ...c } : null;
  }

  /**
   * How long the start took, by phase: `{ total, phases: [{ name, start, end, ms }] }`
   * (milliseconds on the page's performance.now() clock), once the first trained
   * samples are drawn; null before.
   */
  get startup() {
    const b = this._startup;
    return b ? { total: b.total, phases: b.phases.map((p) => ({ ...p })) } : null;
  }

  /** Training steps taken by the current model. */
  get step() {
    return this._state.value.step;
  }

  /** Whether the model is training. */
  get running() {
    return this._state.value.running;
  }

  // ------------------------------------------------------------ internals

  /**
   * The current model's config; removed meanwhile (the state is fresh): NotRunning.
   * @returns {ResolvedConfig}
   */
  _model() {
    const config = this._state.value.config;
    if (!config || !this._client) throw kindError('NotRunning', 'The playground is not running (it was removed from the page).');
    return config;
  }

  /** @returns {Promise<WorkerClient>} */
  async _whenReady() {
    if (!this._started) throw kindError('NotRunning', 'The playground is not running (it is not in the page).');
    await this._started.promise;
    if (!this._client) throw kindError('NotRunning', 'The playground is not running.');
    return this._client;
  }

  /**
   * A new model with `settings`; the worker's `model` event updates the state
   * before this resolves.
   * @param {Settings} settings
   * @param {{ quiet?: boolean, dataset?: import('./playground/state.js').Dataset }} [opts]  quiet: the caller reports
   *   a failure; dataset: train on that (else on what trains now)
   */
  async _build(settings, { quiet = false, dataset } = {}) {
    const client = this._client;
    if (!client) throw kindError('NotRunning', 'The playground is not running.');
    this._state.set({ busy: true });
    try {
      await client.request('create', { config: settings, dataset });
      this._state.set({ settings: { ...settings } });
    } catch (err) {
      this._controls?.sync(true);
      if (!quiet) this._fail(err);
      throw err;
    } finally {
      this._state.set({ busy: false });
    }
  }

  /** @param {{ beta?: number, lr?: number }} patch */
  _live(patch) {
    const { settings } = this._state.value;
    this._state.set({ settings: { ...settings, ...patch } });
    this._client?.request('hyper', patch).then((config) => this._state.set({ config }), (err) => this._fail(err));
  }

  /** @param {number} steps */
  _runBench(steps) {
    const slot = /** @type {HTMLElement} */ (this._root.querySelector('.bench'));
    slot.hidden = false;
    const backend = this.getAttribute('backend');
    /** @type {import('./playground/protocol.js').BenchPlan} */
    const plan = { steps, warmup: 5, batch: 128, preset: this.getAttribute('preset') || 'mlp', backends: backend === 'cpu' || backend === 'webgpu' ? [backend] : ['webgpu', 'cpu'] };
    this._bench = bench.mount(slot, plan);
    this._client?.request('bench', plan).then((results) => {
      this._bench?.show(results, true);
      console.info(`vae-playground bench ${JSON.stringify(results)}`);
      this.dispatchEvent(new CustomEvent('bench', { detail: { results } }));
    }, (err) => this._fail(err));
  }

  /** @param {WorkerEvent} e */
  _onEvent(e) {
    switch (e.event) {
      case 'loading':
        this._update({ loading: true });
        break;
      case 'dataplan':
        this._update({ dataplan: { name: e.name, test: e.test, train: e.train } });
        break;
      case 'data':
        this._update({ data: { which: e.which, receivedBytes: e.receivedBytes, images: e.images, done: e.done } });
        break;
      case 'model': {
        if (e.continued) {
          // The same model on another backend, at the same step: views keep their history.
          this._state.set({ config: e.config, backend: e.backend, ready: true, step: e.continued.step });
          this._showBackend(e.backend);
          this._hideError();
          this._update({ backend: e.backend });
          this.dispatchEvent(new CustomEvent('backend', { detail: { ...e.backend } }));
          break;
        }
        const latent = e.config.latent;
        // Other data: the views start afresh (before they hear of the model).
        if (e.dataKey && this._dataKey && e.dataKey !== this._dataKey) this._remountGridViews();
        if (e.dataKey) this._dataKey = e.dataKey;
        const colourBefore = (this._state.value.config?.image.channels ?? 1) !== 1;
        if (colourBefore !== (e.config.image.channels !== 1)) queueMicrotask(() => this._applyLayout());
        this._state.set({ config: e.config, backend: e.backend, ready: true, step: e.step ?? 0, dims: [0, Math.min(1, latent - 1)], ...(e.dataset ? { dataset: e.dataset } : {}) });
        this._showBackend(e.backend);
        if (!this._action) this._hideError(); // a failed download stays said, with its Retry
        this._update({ model: e.config, backend: e.backend });
        this.dispatchEvent(new CustomEvent('backend', { detail: { ...e.backend } }));
        break;
      }
      case 'state':
        this._state.set({ running: e.running });
        // Training again after a divergence: its notice has been acted on.
        if (e.running && this._errorKind === 'Diverged') this._hideError();
        this.dispatchEvent(new CustomEvent('state', { detail: { running: e.running } }));
        break;
      case 'metrics': {
        const m = e.metrics;
        this._state.set({ step: m.step });
        this._update({ metrics: m });
        const now = performance.now();
        if (now - this._lastStepEvent > STEP_EVENT_MS) {
          this._lastStepEvent = now;
          this.dispatchEvent(new CustomEvent('step', { detail: { ...m } }));
        }
        break;
      }
      case 'test':
        this._update({ test: { step: this._state.value.step, metrics: e.metrics } });
        break;
      case 'frame':
        this._update({ frame: { samples: e.samples, grid: e.grid, gridSize: e.gridSize, recon: e.recon } });
        if (this._state.value.step > 0 && !this._markedFirst) {
          // For timing "page load to first trained samples" (performance.getEntriesByName).
          this._markedFirst = true;
          const at = performance.mark('vae-playground:first-trained-samples').startTime;
          const times = this._startupTimes;
          if (times) {
            this._startup = times.finish(at);
            this._update({ startup: this._startup });
            this.dispatchEvent(new CustomEvent('startup', { detail: { ...this._startup } }));
          }
        }
        break;
      case 'startup':
        this._startupTimes?.add(e);
        break;
      case 'originals':
        this._update({ originals: e.images });
        break;
      case 'bench':
        this._bench?.show(e.results, false);
        break;
      case 'explore':
        this._update({ explore: e });
        break;
      case 'perf':
        this._perf?.update({ perf: e.report });
        break;
      case 'error':
        this._fail(e.error, e.retry ? 'Retry' : null);
        break;
      case 'fatal': {
        // The wasm core panicked: nothing this worker holds can be used again.
        const err = fromWire(e.error);
        this._client?.fail(err);
        this._state.set({ ready: false, running: false });
        this._fail(err, 'Reset');
        break;
      }
      default:
        break;
    }
  }

  /** @param {ViewData} data */
  _update(data) {
    for (const v of this._views) v.update(data);
    this._perf?.update(/** @type {any} */ (data));
  }

  /** The perf attribute changed: open or close the overlay, and ask the worker for its numbers only while open. */
  _perfChanged() {
    const on = this.hasAttribute('perf');
    this._perf?.setOpen(on);
    this._client?.request('perf', { on }).then((report) => {
      if (report) this._perf?.update({ perf: report });
    }, () => { /* the worker is gone: nothing to show */ });
  }

  _redraw() {
    for (const v of this._views) v.redraw();
  }

  /** @param {BackendInfo} b */
  _showBackend(b) {
    const notice = /** @type {HTMLElement} */ (this._root.querySelector('.backend-notice'));
    // The CPU for a reason (not asked for), or WebGPU chosen by measurement (backend="auto").
    const show = (b.backend === 'cpu' && b.reason !== 'requested') || b.reason === 'measured';
    /** @type {HTMLElement} */ (notice.querySelector('.webgpu-again')).hidden = b.reason !== 'device-lost';
    /** @type {HTMLElement} */ (notice.querySelector('strong')).textContent = b.backend === 'cpu' ? 'Training on the CPU' : 'Training on WebGPU';
    notice.hidden = !show;
    /** @type {HTMLElement} */ (notice.querySelector('.msg')).textContent = show ? ` ${b.message}` : '';
  }

  /**
   * Shows an error and fires `error` with its message and kind; never throws
   * into the host page.
   * @param {unknown} err
   * @param {string | null} [action]  a button under the message: 'Reset' (the core crashed) or 'Retry' (the data could not be loaded); both start a fresh worker
   */
  _fail(err, action = null) {
    const { name, message } = toWire(err);
    this._state.set({ error: message });
    this._showError(message, name === 'Diverged' ? 'Training diverged' : 'Something went wrong');
    this._errorKind = name;
    if (action || !this._action) {
      this._action = action;
      const button = /** @type {HTMLElement} */ (this._root.querySelector('.notice-action'));
      button.textContent = action ?? '';
      button.hidden = !action;
    }
    this.dispatchEvent(new CustomEvent('error', { detail: { message, kind: name } }));
  }

  /** @param {string} message @param {string} [title] */
  _showError(message, title = 'Something went wrong') {
    const box = /** @type {HTMLElement} */ (this._root.querySelector('.notice.error'));
    /** @type {HTMLElement} */ (box.querySelector('strong')).textContent = title;
    /** @type {HTMLElement} */ (box.querySelector('.msg')).textContent = ` ${message}`;
    box.hidden = false;
  }

  _hideError() {
    this._errorKind = null;
    this._action = null;
    /** @type {HTMLElement} */ (this._root.querySelector('.notice-action')).hidden = true;
    /** @type {HTMLElement} */ (this._root.querySelector('.notice.error')).hidden = true;
  }

  /** The attributes read once, when the element starts. */
  _startAttributes() {
    let assets = MODULE_BASE;
    const raw = this.getAttribute('assets');
    if (raw) {
      const invalid = () => kindError('InvalidConfig', `The attribute assets="${raw}" is not valid: use the URL (http or https, or relative to the page) of the folder holding vae-worker.js, wasm/ and mnist/.`);
      try {
        assets = new URL(raw, document.baseURI);
      } catch {
        throw invalid();
      }
      // javascript:, data:, blob: and the like can hold no worker folder.
      if (assets.protocol !== 'http:' && assets.protocol !== 'https:' && assets.protocol !== new URL(document.baseURI).protocol) throw invalid();
      if (!assets.pathname.endsWith('/')) assets = new URL(`${assets.pathname}/${assets.search}`, assets);
    }
    let bench = 0;
    const b = this.getAttribute('bench');
    if (b !== null && b !== '') {
      bench = Number(b);
      if (!Number.isInteger(bench) || bench < 1 || bench > 100000) throw kindError('InvalidConfig', `The attribute bench="${b}" is not valid: use a whole number from 1 to 100000.`);
    }
    return {
      assets,
      dataset: /** @type {import('./playground/state.js').Dataset} */ (this.getAttribute('dataset') || 'mnist'),
      backend: /** @type {BackendChoice} */ (this.getAttribute('backend') || 'auto'),
      autostart: this.hasAttribute('autostart'),
      bench,
    };
  }

  _checkLayoutAttributes() {
    const dataset = this.getAttribute('dataset');
    if (dataset && !DATASETS.some((d) => d.name === dataset)) throw kindError('InvalidConfig', `The attribute dataset="${dataset}" is not valid: use one of ${DATASETS.map((d) => d.name).join(', ')}.`);
    for (const [name, allowed] of Object.entries(CHOICES)) {
      const raw = this.getAttribute(name);
      if (raw !== null && raw !== '' && !allowed.includes(raw)) throw kindError('InvalidConfig', `The attribute ${name}="${raw}" is not valid: use one of ${allowed.join(', ')}.`);
    }
    const views = this.getAttribute('views');
    if (views) {
      const list = views.split(/[\s,]+/).filter(Boolean);
      if (!list.length || list.some((v) => !VIEW_NAMES.includes(v))) throw kindError('InvalidConfig', `The attribute views="${views}" is not valid: list any of ${VIEW_NAMES.join(', ')}, separated by commas.`);
    }
  }

  _applyLayout() {
    const controls = this.getAttribute('controls') || 'full';
    /** @type {HTMLElement} */ (this._root.querySelector('.side')).hidden = controls === 'none';
    for (const el of this._root.querySelectorAll('.advanced, .hint')) /** @type {HTMLElement} */ (el).hidden = controls === 'compact';
    const views = this.getAttribute('views');
    // Views that draw or edit 28x28 grey digits stay hidden for a colour model.
    const colour = (this._state.value.config?.image.channels ?? 1) !== 1;
    const shown = (views ? views.split(/[\s,]+/) : VIEW_NAMES).filter((v) => !(colour && GREY_ONLY.includes(v)));
    for (const el of this._root.querySelectorAll('[data-view]')) /** @type {HTMLElement} */ (el).hidden = !shown.includes(/** @type {HTMLElement} */ (el).dataset.view ?? '');
    // A half-width view left alone (the other one hidden) takes the whole row.
    const halves = [...this._root.querySelectorAll('.views > .card:not(.wide)[data-view]')];
    const visible = halves.filter((el) => !(/** @type {HTMLElement} */ (el).hidden));
    for (const el of halves) el.classList.toggle('solo', visible.length === 1 && el === visible[0]);
  }
}

/**
 * Offers a Blob as a download named `name`.
 * @param {Blob} blob
 * @param {string} name
 */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

if (!customElements.get('vae-playground')) customElements.define('vae-playground', VaePlayground);
