// @ts-check
// <vae-playground>: a variational autoencoder training live in the browser.
//
// The element owns one dedicated Web Worker (vae-worker.js) that runs the wasm
// core, on WebGPU where it can and on the CPU otherwise. This module is the
// element's public surface (attributes, properties, methods); its workings are
// playground/element.js, which wires together
//   playground/protocol.js  the request/reply client to the worker
//   playground/state.js     the one state object (settings, model, running, the explore views' picks)
//   playground/controls.js  the controls form
//   playground/views/       one module per view (index.js: how a view plugs in)
//   playground/layout.js    the shadow DOM and the attributes that shape it
//   playground/notices.js   the backend and error notices
//   playground/model-files.js  the reader's files, data sets, checkpoints, autosave
//   playground/worker-events.js  what each worker event is for the views
// No globals besides the custom element definition; styles are a constructable
// stylesheet, so the element works under a strict CSP.
//
// The public surface (attributes, properties, methods, events) is written down
// in custom-elements.json and vae-playground.d.ts; tests/browser/manifest.test.mjs
// checks this file against them.

import { kindError } from './playground/errors.js';
import { ATTRIBUTES, DATA_IMAGE, LIVE, SETTINGS, parseSetting, usablePresets } from './playground/state.js';
import { PRINT } from './playground/views/colours.js';
import { separate, toBytes } from './playground/views/pixels.js';
import { viewPng } from './playground/save-png.js';
import { loadModel, openFiles, switchDataset } from './playground/model-files.js';
import { VIEW_NAMES, checkLayoutAttributes, startAttributes } from './playground/layout.js';
import { PlaygroundElement } from './playground/element.js';

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

const MAX_IMAGES = 1024;
/** @type {Map<string, SettingKey>} */
const SETTING_OF = new Map(SETTINGS.map((s) => [s.attribute, s.key]));

export class VaePlayground extends PlaygroundElement {
  static get observedAttributes() {
    return ATTRIBUTES;
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
      checkLayoutAttributes(this);
      const key = SETTING_OF.get(name);
      if (key && this._state.value.ready) this._settingAttribute(key, name, value);
      if ((name === 'assets' || name === 'backend') && this._startedWith) this._startAttribute();
    } catch (err) {
      this._fail(err);
      return;
    }
    if (name === 'dataset' && this._state.value.ready) switchDataset(this, /** @type {import('./playground/state.js').Dataset} */ (value || 'mnist'), false).catch(() => { /* shown by _fail */ });
    if (name === 'theme') this._redraw();
    if (name === 'perf') this._perfChanged();
    if (name === 'offscreen' && value === 'run' && this._offscreen.autoPaused) this._resumeFromOffscreen();
  }

  // ------------------------------------------------------------ public API

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
    const start = startAttributes(this);
    const was = this._startedWith;
    if (!was || (start.assets.href === was.assets && start.backend === was.backend)) return;
    this._confirmReset('where the model trains').then((ok) => (ok ? this._restart() : undefined)).catch(() => { /* shown by _fail */ });
  }

  /** Starts (or resumes) training. Resolves once the model is ready and asked to train. */
  start() {
    return this._start();
  }

  /** Pauses training; resolves when the worker has stopped stepping. */
  pause() {
    return this._pause();
  }

  /** A fresh model with the current settings; resolves when it is ready. */
  reset() {
    return this._reset();
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
    return openFiles(this, list, false);
  }

  /**
   * The current model as a .safetensors file (PyTorch names and layouts, the
   * config and step in its metadata): what `vae train --out` writes.
   * @returns {Promise<Blob>}
   */
  saveCheckpoint() {
    return this._checkpoint();
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
    return (await loadModel(this, bytes)).config;
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
}

if (!customElements.get('vae-playground')) customElements.define('vae-playground', VaePlayground);
