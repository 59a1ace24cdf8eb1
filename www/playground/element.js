// @ts-check
// The workings of <vae-playground> behind its public surface (which is
// vae-playground.js): the shadow DOM and its views, the worker's life (start,
// restart, removal), the worker's events into the state and the views, and the
// attributes applied while it runs. Holds the element's one state object.

import { fromWire, kindError, toWire } from './errors.js';
import { WorkerClient } from './protocol.js';
import { PlaygroundState, settingsFromAttributes } from './state.js';
import { mountControls } from './controls.js';
import { VIEWS } from './views/index.js';
import bench from './views/bench.js';
import perfOverlay from './perf-overlay.js';
import { mountDataPanel } from './data-panel.js';
import { mountSavePng, saveBlob } from './save-png.js';
import { download, openFiles, openModel, startAutosave, switchDataset } from './model-files.js';
import { StartupTimes } from './startup.js';
import { Notices } from './notices.js';
import { TEMPLATE, applyLayout, checkLayoutAttributes, startAttributes, styleSheet } from './layout.js';
import { viewData } from './worker-events.js';

/**
 * @typedef {import('./state.js').Settings} Settings
 * @typedef {import('./state.js').SettingKey} SettingKey
 * @typedef {import('./state.js').BackendInfo} BackendInfo
 * @typedef {import('./state.js').ResolvedConfig} ResolvedConfig
 * @typedef {import('./protocol.js').WorkerEvent} WorkerEvent
 * @typedef {import('./protocol.js').BackendChoice} BackendChoice
 * @typedef {import('./views/index.js').View} View
 * @typedef {import('./views/index.js').ViewData} ViewData
 */

const STEP_EVENT_MS = 250;

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

/** The element's private side; VaePlayground adds the public surface. */
export class PlaygroundElement extends HTMLElement {
  constructor() {
    super();
    this._root = this.attachShadow({ mode: 'open' });
    this._root.adoptedStyleSheets = [styleSheet()];
    this._notices = new Notices(this._root);
    /** @type {WorkerClient | null} */
    this._client = null;
    this._state = new PlaygroundState();
    /** @type {{ promise: Promise<void>, resolve: () => void, reject: (e: Error) => void } | null} */
    this._started = null;
    /** Scrolled out of view: paused (unless offscreen="run"), to resume when back. */
    this._offscreen = { io: /** @type {IntersectionObserver | null} */ (null), visible: true, autoPaused: false };
    this._lastStepEvent = 0;
    this._markedFirst = false;
    /** @type {StartupTimes | null} the start-up phases of the running worker */
    this._startupTimes = null;
    /** @type {import('./startup.js').StartupBreakdown | null} */
    this._startup = null;
    /** @type {View[]} */
    this._views = [];
    /** @type {{ sync: (force?: boolean) => void, confirm: (message: string) => Promise<boolean>, labelOf: (key: SettingKey) => string } | null} */
    this._controls = null;
    /** @type {string | null} the worker's blob: URL (cross-origin assets), revoked on removal */
    this._blobUrl = null;
    /** @type {{ assets: string, backend: string } | null} what the running worker was started with */
    this._startedWith = null;
    /** @type {{ show: (results: import('./protocol.js').BenchResult[], done: boolean) => void } | null} */
    this._bench = null;
    /** @type {ReturnType<typeof perfOverlay.mount> | null} the performance overlay */
    this._perf = null;
    /** The reader's files (model-files.js): those autosave keeps, the presets they fit; the autosave timer. */
    this._files = {
      /** @type {{ name: string, bytes: ArrayBuffer }[] | null} */
      kept: null,
      /** @type {string[]} */
      usable: [],
      /** @type {ReturnType<typeof setInterval> | undefined} */
      saveTimer: undefined,
    };
    // Aborted when the views mounted with them are gone: the listeners they added go too.
    this._mounts = { top: new AbortController(), grid: new AbortController() };
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
      toggle: () => (this._state.value.running ? this._pause() : this._start()).catch((err) => this._fail(err)),
      reset: () => this._reset().catch(() => { /* shown by _fail */ }),
      live: (patch) => this._live(patch),
      rebuild: (next) => this._build(next).catch(() => { /* shown by _fail */ }),
      complain: (message) => this._notices.show(message),
    });
    this._mounts.top.abort();
    this._mounts.grid.abort();
    this._mounts = { top: new AbortController(), grid: new AbortController() };
    const top = this._viewContext(this._mounts.top.signal);
    const grid = this._viewContext(this._mounts.grid.signal);
    this._panel = mountDataPanel(this._root, this, this._state, {
      files: (files) => openFiles(this, files, true).catch((err) => this._fail(err)),
      dataset: (name) => switchDataset(this, name, true).catch((err) => this._fail(err)),
      download: () => download(this).catch((err) => this._fail(err)),
      load: (file) => openModel(this, file).catch((err) => this._fail(err)),
    });
    /** @type {HTMLElement} */ (this._root.querySelector('.notice-action')).addEventListener('click', () => this._reset().catch(() => { /* shown by _fail */ }));
    /** @type {HTMLElement} */ (this._root.querySelector('.webgpu-again')).addEventListener('click', () => this._backToWebgpu());
    this._views = VIEWS.map((v) => v.mount(/** @type {HTMLElement} */ (this._root.querySelector(`[data-view="${v.name}"]`)), v.place === 'grid' ? grid : top));
    this._perf = perfOverlay.mount(this._root, { toggle: () => this.toggleAttribute('perf') });
    this._perf.setOpen(this.hasAttribute('perf'));
    mountSavePng(this._root, (view, blob) => saveBlob(blob, `vae-${view}-step${this._state.value.step}.png`), (err) => this._fail(err));
    /** @type {string | null} the data the grid views show (other data remounts them) */
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

  /**
   * What a view gets to draw, ask the worker and report failures.
   * @param {AbortSignal} signal  aborted when the views mounted with it are gone
   */
  _viewContext(signal) {
    return {
      host: this,
      state: this._state,
      signal,
      /** @type {WorkerClient['request']} */
      request: (op, args, transfer) => (this._client ? this._client.request(op, args, transfer) : Promise.reject(kindError('NotRunning', 'The playground is not running.'))),
      /** @param {unknown} err */
      // (A crash is shown once, by the fatal event: the calls it rejects are not reported again.)
      report: (err) => {
        if (toWire(err).name !== 'NotRunning' && err !== this._client?.closedBy) this._fail(err);
      },
    };
  }

  /**
   * The grid views afresh (their picks of test images belong to data that is
   * gone): new cards from their templates, mounted again.
   */
  _remountGridViews() {
    this._mounts.grid.abort();
    this._mounts.grid = new AbortController();
    this._state.set({ classDigits: null, picked: null, drawing: null });
    const ctx = this._viewContext(this._mounts.grid.signal);
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
      this._offscreen.io?.disconnect();
      this._offscreen.io = null;
      this._dispose();
    });
  }

  /** Starts the worker, loads the catalog, checks the attributes, builds the first model. */
  async _boot() {
    const started = deferred();
    this._started = started;
    let start;
    try {
      checkLayoutAttributes(this);
      start = startAttributes(this);
    } catch (err) {
      // Listeners added right after the element is inserted still hear this.
      this._notices.show(/** @type {Error} */ (err).message);
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
      this._notices.show(e.message);
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
      if (start.autostart && !start.bench && this._offscreen.visible) {
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
    if (this.hasAttribute('autosave')) startAutosave(this, client);
    if (start.bench) this._runBench(start.bench);
    else if (start.autostart) this._start().catch((err) => this._fail(err));
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
    this._notices.action = null;
    if (this._blobUrl) URL.revokeObjectURL(this._blobUrl);
    this._blobUrl = null;
    this._started?.reject(gone);
    this._started = null;
    this._offscreen.autoPaused = false;
    for (const v of this._views) v.destroy();
    this._panel?.destroy();
    clearInterval(this._files.saveTimer);
    client?.close(gone);
    this.removeAttribute('running');
    this._render(); // a later reconnection starts from a clean slate
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
    if (this._offscreen.io || typeof IntersectionObserver === 'undefined') return;
    this._offscreen.io = new IntersectionObserver((entries) => {
      const entry = entries[entries.length - 1];
      this._offscreen.visible = entry.isIntersecting;
      if (!this._offscreen.visible && this._state.value.running && this.getAttribute('offscreen') !== 'run') {
        this._offscreen.autoPaused = true;
        this._state.set({ running: false });
        this._client?.request('pause', {}).catch(() => { /* removed meanwhile */ });
      } else if (this._offscreen.visible && this._offscreen.autoPaused) {
        this._resumeFromOffscreen();
      }
    });
    this._offscreen.io.observe(this);
  }

  _resumeFromOffscreen() {
    this._offscreen.autoPaused = false;
    if (this._client && this._state.value.ready) this._start().catch((err) => this._fail(err));
  }
  /** Starts (or resumes) training (start()). */
  async _start() {
    const client = await this._whenReady();
    if (!this._offscreen.visible && this.getAttribute('offscreen') !== 'run') {
      this._offscreen.autoPaused = true; // starts when scrolled into view
      return;
    }
    this._state.set({ running: true });
    await client.request('start', {});
  }

  /** Pauses training (pause()). */
  async _pause() {
    this._offscreen.autoPaused = false;
    if (!this._client) return;
    this._state.set({ running: false });
    await this._client.request('pause', {});
  }

  /** A fresh model with the current settings (reset()). */
  async _reset() {
    // After a crash or a failed download (the notice's Reset / Retry), or a
    // failed start: a fresh worker.
    if (this._notices.action || (this._started && !this._client)) return this._restart();
    await this._whenReady();
    await this._build(this._state.value.settings);
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

  /** The model as a .safetensors Blob (saveCheckpoint()). */
  async _checkpoint() {
    const client = await this._whenReady();
    const bytes = await client.request('checkpoint', {});
    return new Blob([/** @type {BlobPart} */ (bytes)], { type: 'application/octet-stream' });
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
   * @param {{ quiet?: boolean, dataset?: import('./state.js').Dataset }} [opts]  quiet: the caller reports
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
    /** @type {import('./protocol.js').BenchPlan} */
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
    const data = viewData(e, this._state.value.step);
    if (data) {
      this._update(data);
      return;
    }
    switch (e.event) {
      case 'model':
        this._onModel(e);
        break;
      case 'state':
        this._state.set({ running: e.running });
        // Training again after a divergence: its notice has been acted on.
        if (e.running && this._notices.errorKind === 'Diverged') this._notices.hide();
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
      case 'frame':
        this._onFrame(e);
        break;
      case 'startup':
        this._startupTimes?.add(e);
        break;
      case 'bench':
        this._bench?.show(e.results, false);
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

  /**
   * A new model (or the same one on another backend, `continued`).
   * @param {Extract<WorkerEvent, { event: 'model' }>} e
   */
  _onModel(e) {
    if (e.continued) {
      // The same model on another backend, at the same step: views keep their history.
      this._state.set({ config: e.config, backend: e.backend, ready: true, step: e.continued.step });
      this._notices.showBackend(e.backend);
      this._notices.hide();
      this._update({ backend: e.backend });
      this.dispatchEvent(new CustomEvent('backend', { detail: { ...e.backend } }));
      return;
    }
    const latent = e.config.latent;
    // Other data: the views start afresh (before they hear of the model).
    if (e.dataKey && this._dataKey && e.dataKey !== this._dataKey) this._remountGridViews();
    if (e.dataKey) this._dataKey = e.dataKey;
    const colourBefore = (this._state.value.config?.image.channels ?? 1) !== 1;
    if (colourBefore !== (e.config.image.channels !== 1)) queueMicrotask(() => this._applyLayout());
    this._state.set({ config: e.config, backend: e.backend, ready: true, step: e.step ?? 0, dims: [0, Math.min(1, latent - 1)], ...(e.dataset ? { dataset: e.dataset } : {}) });
    this._notices.showBackend(e.backend);
    if (!this._notices.action) this._notices.hide(); // a failed download stays said, with its Retry
    this._update({ model: e.config, backend: e.backend });
    this.dispatchEvent(new CustomEvent('backend', { detail: { ...e.backend } }));
  }

  /**
   * New pictures; the first trained ones end the start-up.
   * @param {Extract<WorkerEvent, { event: 'frame' }>} e
   */
  _onFrame(e) {
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

  /**
   * Shows an error and fires `error` with its message and kind; never throws
   * into the host page.
   * @param {unknown} err
   * @param {string | null} [action]  a button under the message: 'Reset' (the core crashed) or 'Retry' (the data could not be loaded); both start a fresh worker
   */
  _fail(err, action = null) {
    const { name, message } = toWire(err);
    this._state.set({ error: message });
    this._notices.error(name, message, action);
    this.dispatchEvent(new CustomEvent('error', { detail: { message, kind: name } }));
  }

  _applyLayout() {
    applyLayout(this, this._root, (this._state.value.config?.image.channels ?? 1) !== 1);
  }
}
