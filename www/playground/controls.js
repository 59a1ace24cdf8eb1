// @ts-check
// The training controls: Start/Pause, Reset, the model menu and every setting.
// They read the state (the catalog for menus and ranges, the config for values,
// running/step for the buttons) and write settings through the element: β and
// the learning rate live, the rest as a new model after asking.

import { SETTINGS, parseSetting, usablePresets } from './state.js';

/**
 * @typedef {import('./state.js').PlaygroundState} PlaygroundState
 * @typedef {import('./state.js').Settings} Settings
 * @typedef {import('./state.js').SettingKey} SettingKey
 * @typedef {import('./state.js').Range} Range
 */

export const template = `
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
      <label class="field"><span>Latent size</span><input name="latent" type="number" inputmode="numeric"></label>
      <label class="field"><span>Batch size</span><input name="batch" type="number" inputmode="numeric"></label>
    </div>
    <label class="field"><span>β (KL weight) <output class="beta-out">1</output></span>
      <input name="beta" type="range" min="0" max="100" step="1" aria-describedby="beta-hint">
      <small id="beta-hint">0 = plain autoencoder · 1 = standard VAE · above 1 = smoother latent space, blurrier digits</small>
    </label>
    <label class="field"><span>Learning rate <output class="lr-out">1e−3</output></span>
      <input name="lr" type="range">
    </label>
    <fieldset class="field advanced"><legend>Reconstruction loss</legend>
      <div class="radios"></div>
    </fieldset>
    <label class="field advanced"><span>Seed</span><input name="seed" type="number" inputmode="numeric"></label>
    <label class="field advanced kl-warmup-field"><span>KL warm-up <output class="warmup-out">off</output></span>
      <input name="kl_warmup" type="range" min="0" step="1" aria-describedby="warmup-hint">
      <small id="warmup-hint">β ramps from 0 to its value over these steps (off: β from the start)</small>
    </label>
    <p class="hint">β and learning rate apply live. Model, sizes, loss and seed start a new model.</p>
  </form>`;

export const dialogTemplate = `
  <dialog class="confirm" aria-labelledby="h-confirm">
    <form method="dialog">
      <h3 id="h-confirm">Start a new model?</h3>
      <p class="confirm-msg"></p>
      <div class="buttons">
        <button value="cancel" type="submit">Keep training</button>
        <button value="ok" type="submit" class="primary confirm-ok">Reset and apply</button>
      </div>
    </form>
  </dialog>`;

const RECON_LABELS = { bce: 'Bernoulli (BCE)', gaussian: 'Gaussian' };

// β: slider 0..100; 0 is β = 0, then 25 steps a decade up to the range's top
// (with a top of 10: 1 -> 0.001, 75 -> 1, 100 -> 10).
/** @param {Range} r @param {number} s */
const betaFromSlider = (r, s) => (s <= 0 ? 0 : 10 ** (Math.log10(r.max) - (100 - s) / 25));
/** @param {Range} r @param {number} b */
const sliderFromBeta = (r, b) => (b <= 0 ? 0 : Math.max(1, Math.min(100, Math.round(100 + 25 * (Math.log10(b) - Math.log10(r.max))))));
// Learning rate: the slider's value is log10(lr), over the whole allowed range.
const LR_STEP = 0.05;
/** @param {number} b */
const fmtBeta = (b) => (b === 0 ? '0' : b >= 1 ? b.toFixed(b >= 10 ? 0 : 2) : b.toPrecision(2));
/** @param {number} lr */
const fmtLr = (lr) => lr.toExponential(1).replace('e-', 'e−');
// KL warm-up: the slider picks one of these step counts (within the range);
// the attribute takes any whole number in the range.
const WARMUP_STEPS = [0, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000, 1000000];
/** @param {Range} r */
const warmupChoices = (r) => WARMUP_STEPS.filter((v) => v >= r.min && v <= r.max);
/** @param {number} n */
const fmtWarmup = (n) => (n === 0 ? 'off' : `${n.toLocaleString('en-US')} steps`);

/**
 * @typedef {object} ControlsHooks
 * @property {() => void} toggle  Start/Pause pressed
 * @property {() => void} reset  Reset pressed
 * @property {(patch: { beta?: number, lr?: number }) => void} live  β or learning rate moved
 * @property {(next: Settings) => void} rebuild  a structural setting changed (and the reader agreed)
 * @property {(message: string) => void} complain  a field holds a value out of range
 */

/**
 * @param {ShadowRoot} root  holds the form and the dialog
 * @param {PlaygroundState} state
 * @param {ControlsHooks} hooks
 */
export function mountControls(root, state, hooks) {
  const form = /** @type {HTMLFormElement} */ (root.querySelector('form.controls'));
  const dialog = /** @type {HTMLDialogElement} */ (root.querySelector('dialog.confirm'));
  const $ = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (root.querySelector(sel));
  const field = (/** @type {string} */ name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name));
  const preset = /** @type {HTMLSelectElement} */ (/** @type {unknown} */ (form.elements.namedItem('preset')));
  const start = /** @type {HTMLButtonElement} */ ($('.start'));
  const reset = /** @type {HTMLButtonElement} */ ($('.reset'));

  form.addEventListener('submit', (e) => e.preventDefault());
  start.addEventListener('click', () => hooks.toggle());
  reset.addEventListener('click', () => hooks.reset());

  field('beta').addEventListener('input', () => {
    const { catalog } = state.value;
    if (!catalog) return;
    const beta = betaFromSlider(catalog.limits.beta, Number(field('beta').value));
    $('.beta-out').textContent = fmtBeta(beta);
    hooks.live({ beta });
  });
  field('lr').addEventListener('input', () => {
    const lr = 10 ** Number(field('lr').value);
    $('.lr-out').textContent = fmtLr(lr);
    hooks.live({ lr });
  });

  /**
   * A structural field changed: check it, ask if training would be lost, rebuild.
   * @param {SettingKey} key
   * @param {string} raw
   */
  async function structural(key, raw) {
    const { catalog, settings, step } = state.value;
    if (!catalog) return;
    const label = labelOf(key);
    let value;
    try {
      value = parseSetting(catalog, key, raw, (allowed) => `${label[0].toUpperCase()}${label.slice(1)} must be ${allowed}.`);
    } catch (err) {
      hooks.complain(/** @type {Error} */ (err).message);
      sync(true);
      return;
    }
    /** @type {Settings} */
    const next = { ...settings, [key]: value };
    if (key === 'preset') delete next.latent; // each preset has its own latent size
    if (step > 0 && !(await confirm(`Changing ${label} builds a new network from scratch, so the current training (step ${step.toLocaleString('en-US')}) is discarded.`))) {
      sync(true);
      return;
    }
    hooks.rebuild(next);
  }

  for (const key of /** @type {const} */ (['preset', 'latent', 'batch', 'seed'])) {
    const el = key === 'preset' ? preset : field(key);
    el.addEventListener('change', () => structural(key, el.value));
  }
  $('.radios').addEventListener('change', (e) => structural('recon', /** @type {HTMLInputElement} */ (e.target).value));
  const warmup = field('kl_warmup');
  const warmupValue = () => {
    const r = state.value.catalog?.limits.kl_warmup;
    return r ? warmupChoices(r)[Number(warmup.value)] ?? 0 : 0;
  };
  warmup.addEventListener('input', () => {
    $('.warmup-out').textContent = fmtWarmup(warmupValue());
  });
  warmup.addEventListener('change', () => structural('kl_warmup', String(warmupValue())));

  /** @param {string} message */
  function confirm(message) {
    $('.confirm-msg').textContent = message;
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
      dialog.returnValue = 'cancel';
      dialog.showModal();
      $('.confirm-ok').focus();
    });
  }

  // Menus and ranges, once the catalog is known.
  function build() {
    const { catalog } = state.value;
    if (!catalog) return;
    preset.textContent = '';
    for (const p of usablePresets(catalog)) preset.append(new Option(p.label, p.name));
    const { limits } = catalog;
    for (const key of /** @type {const} */ (['latent', 'batch', 'seed'])) {
      const r = limits[key];
      Object.assign(field(key), { min: String(r.min), max: String(r.max), step: r.integer ? '1' : 'any' });
    }
    Object.assign(field('lr'), { min: String(Math.log10(limits.lr.min)), max: String(Math.log10(limits.lr.max)), step: String(LR_STEP) });
    const wr = limits.kl_warmup;
    $('.kl-warmup-field').hidden = !wr; // a core without the setting
    if (wr) Object.assign(warmup, { min: '0', max: String(warmupChoices(wr).length - 1) });
    const radios = $('.radios');
    radios.textContent = '';
    for (const option of limits.recon.options) {
      const label = document.createElement('label');
      const input = Object.assign(document.createElement('input'), { type: 'radio', name: 'recon', value: option });
      label.append(input, ` ${RECON_LABELS[option] ?? option}`);
      radios.append(label);
    }
  }

  /**
   * Values from the model that trains. The field being edited keeps what the
   * reader typed, unless `force`.
   * @param {boolean} [force]
   */
  function sync(force = false) {
    const { catalog } = state.value;
    if (!catalog) return;
    // Before the first model: the default preset's values.
    const first = usablePresets(catalog)[0];
    const config = state.value.config ?? (first && { ...first, preset: first.name });
    if (!config) return;
    const editing = force ? null : root.activeElement;
    const put = (/** @type {HTMLInputElement | HTMLSelectElement} */ el, /** @type {string} */ v) => {
      if (el !== editing) el.value = v;
    };
    put(preset, config.preset);
    $('.preset-desc').textContent = catalog.presets.find((p) => p.name === config.preset)?.description ?? '';
    put(field('latent'), String(config.latent));
    put(field('batch'), String(config.batch));
    put(field('seed'), String(config.seed));
    put(field('beta'), String(sliderFromBeta(catalog.limits.beta, config.beta)));
    $('.beta-out').textContent = fmtBeta(config.beta);
    put(field('lr'), String(Math.log10(config.lr)));
    $('.lr-out').textContent = fmtLr(config.lr);
    if (catalog.limits.kl_warmup) {
      const n = config.kl_warmup ?? 0;
      const choices = warmupChoices(catalog.limits.kl_warmup);
      // the nearest choice (the attribute may ask for any step count)
      const k = choices.reduce((best, v, i) => (Math.abs(v - n) < Math.abs(choices[best] - n) ? i : best), 0);
      put(warmup, String(k));
      $('.warmup-out').textContent = fmtWarmup(n);
    }
    for (const radio of form.querySelectorAll('input[name="recon"]')) {
      /** @type {HTMLInputElement} */ (radio).checked = /** @type {HTMLInputElement} */ (radio).value === config.recon;
    }
  }

  function buttons() {
    const { ready, busy, running, step } = state.value;
    start.disabled = !ready || busy;
    reset.disabled = !ready || busy;
    start.textContent = running ? 'Pause' : step > 0 ? 'Resume' : 'Start';
  }

  state.addEventListener('change', (e) => {
    const keys = /** @type {CustomEvent<{ keys: string[] }>} */ (e).detail.keys;
    if (keys.includes('catalog')) build();
    if (keys.includes('catalog') || keys.includes('config')) sync(keys.includes('catalog'));
    if (['ready', 'busy', 'running', 'step'].some((k) => keys.includes(k))) buttons();
  });
  return { sync, confirm, labelOf };
}

/** @param {SettingKey} key */
function labelOf(key) {
  return SETTINGS.find((s) => s.key === key)?.label ?? key;
}
