// @ts-check
// The playground's state: one object that the element's attributes and the
// controls write, and that the controls and views read; the explore views
// share their picks through it too (the class digits, the digit picked on the
// scatter, the drawing as the worker answered it). Settings are checked
// against the preset table and ranges the wasm core exports (Session.presets(),
// Session.limits()): the page has no table of its own.

import { kindError } from './errors.js';

/**
 * @typedef {'bce' | 'gaussian'} Recon
 * @typedef {{ channels: number, height: number, width: number }} ImageShape
 * @typedef {{ name: string, label: string, description: string, image: ImageShape, latent: number, beta: number,
 *   lr: number, batch: number, recon: Recon, seed: number, binarize: boolean, kl_warmup?: number }} Preset
 * @typedef {{ min: number, max: number, integer?: boolean, log?: boolean }} Range
 * @typedef {{ latent: Range, beta: Range, lr: Range, batch: Range, seed: Range, kl_warmup: Range, recon: { options: Recon[] } }} Limits
 * @typedef {{ presets: Preset[], limits: Limits, usable?: string[] }} Catalog  what the wasm core says is allowed;
 *   `usable`: the presets the data loaded fits (absent: those of 28x28 grey images, the built-in data sets)
 * @typedef {'mnist' | 'fashion-mnist' | 'files'} Dataset  what the model trains on: a built-in data set or the reader's files
 * @typedef {{ preset: string, latent?: number, beta?: number, lr?: number, batch?: number, recon?: Recon,
 *   seed?: number, kl_warmup?: number }} Settings  what is asked for; the rest comes from the preset
 * @typedef {{ preset: string, latent: number, beta: number, lr: number, batch: number, recon: Recon, seed: number,
 *   binarize: boolean, image: ImageShape, parameters: number, kl_warmup?: number }} ResolvedConfig  session.config(): what trains
 * @typedef {{ backend: 'webgpu' | 'cpu', adapter: string, reason: string, message: string,
 *   probe: { cpu: number, webgpu: number } | null }} BackendInfo  probe: images/s of each backend (backend="auto" measured both)
 * @typedef {{ step: number, epoch: number, loss: number, recon: number, kl: number, images: number,
 *   images_per_sec: number, steps_per_sec: number }} TrainMetrics
 * @typedef {{ loss: number, recon: number, kl: number, images: number }} EvalMetrics
 * @typedef {keyof Settings} SettingKey
 */

/** The images this page trains on (MNIST, from the worker's download). */
export const DATA_IMAGE = Object.freeze({ channels: 1, height: 28, width: 28 });

/** Each setting, its attribute, and what its controls call it. */
export const SETTINGS = /** @type {const} */ ([
  { key: 'preset', attribute: 'preset', label: 'the model' },
  { key: 'latent', attribute: 'latent-dim', label: 'the latent size' },
  { key: 'beta', attribute: 'beta', label: 'β' },
  { key: 'lr', attribute: 'lr', label: 'the learning rate' },
  { key: 'batch', attribute: 'batch', label: 'the batch size' },
  { key: 'recon', attribute: 'recon', label: 'the reconstruction loss' },
  { key: 'seed', attribute: 'seed', label: 'the seed' },
  { key: 'kl_warmup', attribute: 'kl-warmup', label: 'the KL warm-up' },
]);
/** Every attribute of the element (the order of custom-elements.json). */
export const ATTRIBUTES = [
  ...SETTINGS.map((s) => s.attribute),
  // the built-in data set: applied like a setting
  'dataset',
  // read when the element connects
  'backend', 'autostart', 'assets', 'bench', 'autosave',
  // layout, applied at once
  'controls', 'views', 'theme', 'offscreen',
  // the performance overlay, opened and closed at once
  'perf',
  // the test hook debugFault()
  'debug-faults',
];
/** Settings that change while training (the rest build a new model). */
export const LIVE = new Set(['beta', 'lr']);

/** The built-in data sets, in menu order: the `dataset` attribute's values. */
export const DATASETS = /** @type {const} */ ([
  { name: 'mnist', label: 'MNIST digits' },
  { name: 'fashion-mnist', label: 'Fashion-MNIST clothes' },
]);

/**
 * The presets this page can train: those whose images are the page's data.
 * @param {Catalog} catalog
 */
export function usablePresets(catalog) {
  if (catalog.usable) return catalog.presets.filter((p) => catalog.usable?.includes(p.name));
  return catalog.presets.filter((p) => sameShape(p.image, DATA_IMAGE));
}

/** @param {ImageShape} a @param {ImageShape} b */
export function sameShape(a, b) {
  return a.channels === b.channels && a.height === b.height && a.width === b.width;
}

/**
 * What a range allows, in words: "a whole number from 2 to 100".
 * @param {Range} r
 */
function describeRange(r) {
  return `${r.integer ? 'a whole number' : 'a number'} from ${r.min} to ${r.max}`;
}

/**
 * @param {Range} r
 * @param {number} v
 */
function inRange(r, v) {
  return Number.isFinite(v) && v >= r.min && v <= r.max && (!r.integer || Number.isInteger(v));
}

/**
 * One setting from text (an attribute or a form field), checked against the
 * catalog. Returns the value, or throws InvalidConfig with `what allows` words.
 * @param {Catalog} catalog
 * @param {SettingKey} key
 * @param {string} raw
 * @param {(allowed: string) => string} complaint  the sentence, given what is allowed
 * @returns {string | number}
 */
export function parseSetting(catalog, key, raw, complaint) {
  if (key === 'preset') {
    const names = usablePresets(catalog).map((p) => p.name);
    if (names.includes(raw)) return raw;
    const other = catalog.presets.find((p) => p.name === raw);
    const why = other ? ` (${raw} needs ${other.image.channels}x${other.image.height}x${other.image.width} images: load colour data, such as CIFAR-10 batches, first)` : '';
    throw kindError('InvalidConfig', complaint(`one of ${names.join(', ')}${why}`));
  }
  if (key === 'recon') {
    const options = catalog.limits.recon.options;
    if (/** @type {string[]} */ (options).includes(raw)) return raw;
    throw kindError('InvalidConfig', complaint(`one of ${options.join(', ')}`));
  }
  const range = catalog.limits[key];
  const v = raw.trim() === '' ? NaN : Number(raw);
  if (!inRange(range, v)) throw kindError('InvalidConfig', complaint(describeRange(range)));
  return v;
}

/**
 * Settings from the element's attributes; throws InvalidConfig naming the
 * attribute and what it allows.
 * @param {Catalog} catalog
 * @param {(name: string) => string | null} attr
 * @returns {Settings}
 */
export function settingsFromAttributes(catalog, attr) {
  /** @type {Record<string, string | number>} */
  const out = { preset: usablePresets(catalog)[0]?.name ?? 'mlp' };
  for (const { key, attribute } of SETTINGS) {
    const raw = attr(attribute);
    if (raw === null || raw === '') continue;
    out[key] = parseSetting(catalog, key, raw, (allowed) => `The attribute ${attribute}="${raw}" is not valid: use ${allowed}.`);
  }
  return /** @type {Settings} */ (/** @type {unknown} */ (out));
}

/**
 * @typedef {object} StateFields
 * @property {Catalog | null} catalog  presets and limits, once the wasm core loaded
 * @property {Settings} settings  what the attributes and controls ask for
 * @property {ResolvedConfig | null} config  what the current model trains with
 * @property {BackendInfo | null} backend  where it trains, and why
 * @property {boolean} ready  a model exists
 * @property {boolean} busy  a new model is being built
 * @property {boolean} running  training (or asked to)
 * @property {number} step  training steps so far
 * @property {[number, number]} dims  the latent dimensions on the latent grid's axes
 * @property {string | null} error  the last error shown
 * @property {Dataset} dataset  what the model trains on
 * @property {string | null} files  the reader's files loaded (a short name), if any
 * @property {{ indices: Uint32Array, labels: Uint8Array, images: Uint8Array } | null} classDigits  one test digit per
 *   class, for the explore views' pickers (null: not loaded yet, or the data changed)
 * @property {{ index: number } | null} picked  a test digit picked on the scatter (a new object each pick)
 * @property {import('./protocol.js').Drawing | null} drawing  the last drawing as the worker answered it
 *   (null: nothing drawn); the worker keeps the digit itself as the drawn source
 */

/**
 * One state object; `set` merges a patch and dispatches `change` with the
 * changed keys in `detail.keys`.
 */
export class PlaygroundState extends EventTarget {
  constructor() {
    super();
    /** @type {StateFields} */
    this.fields = {
      catalog: null,
      settings: { preset: 'mlp' },
      config: null,
      backend: null,
      ready: false,
      busy: false,
      running: false,
      step: 0,
      dims: [0, 1],
      error: null,
      dataset: 'mnist',
      files: null,
      classDigits: null,
      picked: null,
      drawing: null,
    };
  }

  /** @returns {Readonly<StateFields>} */
  get value() {
    return this.fields;
  }

  /** @param {Partial<StateFields>} patch */
  set(patch) {
    /** @type {(keyof StateFields)[]} */
    const keys = [];
    for (const k of /** @type {(keyof StateFields)[]} */ (Object.keys(patch))) {
      if (this.fields[k] !== patch[k]) keys.push(k);
    }
    if (!keys.length) return;
    Object.assign(this.fields, patch);
    this.dispatchEvent(new CustomEvent('change', { detail: { keys } }));
  }
}
