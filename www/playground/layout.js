// @ts-check
// The element's shadow DOM and the attributes that shape it: the template and
// stylesheet, where the worker and data are (assets), and which controls and
// views show (controls, views, a colour model's hidden views).

import { kindError } from './errors.js';
import { DATASETS } from './state.js';
import { VIEWS } from './views/index.js';
import bench from './views/bench.js';
import perfOverlay from './perf-overlay.js';
import { css } from './styles.js';
import { template as controlsTemplate, dialogTemplate } from './controls.js';
import { template as dataTemplate, css as dataCss } from './data-panel.js';
import { template as resumeTemplate } from './autosave.js';

/** @typedef {import('./protocol.js').BackendChoice} BackendChoice */

/** Where vae-worker.js, wasm/ and the data sets are, unless the assets attribute says. */
const MODULE_BASE = new URL('../', import.meta.url);
/** Attributes with a fixed set of values, and those values. */
const CHOICES = {
  backend: ['auto', 'webgpu', 'cpu'],
  controls: ['full', 'compact', 'none'],
  theme: ['light', 'dark', 'auto'],
  offscreen: ['pause', 'run'],
};
export const VIEW_NAMES = VIEWS.map((v) => v.name);
/** Views made for 28x28 grey digits (drawing, picking, editing them). */
const GREY_ONLY = ['draw', 'interpolate', 'inpaint', 'traverse'];

let sheet = /** @type {CSSStyleSheet | null} */ (null);
/** One constructable stylesheet for every element: it works under a strict CSP. */
export function styleSheet() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(css + dataCss + perfOverlay.css);
  }
  return sheet;
}

export const TEMPLATE = `
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
 * The attributes read once, when the element starts.
 * @param {HTMLElement} el
 */
export function startAttributes(el) {
  let assets = MODULE_BASE;
  const raw = el.getAttribute('assets');
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
  const b = el.getAttribute('bench');
  if (b !== null && b !== '') {
    bench = Number(b);
    if (!Number.isInteger(bench) || bench < 1 || bench > 100000) throw kindError('InvalidConfig', `The attribute bench="${b}" is not valid: use a whole number from 1 to 100000.`);
  }
  return {
    assets,
    dataset: /** @type {import('./state.js').Dataset} */ (el.getAttribute('dataset') || 'mnist'),
    backend: /** @type {BackendChoice} */ (el.getAttribute('backend') || 'auto'),
    autostart: el.hasAttribute('autostart'),
    bench,
  };
}

/**
 * Checks the attributes that pick data and layout; throws InvalidConfig.
 * @param {HTMLElement} el
 */
export function checkLayoutAttributes(el) {
  const dataset = el.getAttribute('dataset');
  if (dataset && !DATASETS.some((d) => d.name === dataset)) throw kindError('InvalidConfig', `The attribute dataset="${dataset}" is not valid: use one of ${DATASETS.map((d) => d.name).join(', ')}.`);
  for (const [name, allowed] of Object.entries(CHOICES)) {
    const raw = el.getAttribute(name);
    if (raw !== null && raw !== '' && !allowed.includes(raw)) throw kindError('InvalidConfig', `The attribute ${name}="${raw}" is not valid: use one of ${allowed.join(', ')}.`);
  }
  const views = el.getAttribute('views');
  if (views) {
    const list = views.split(/[\s,]+/).filter(Boolean);
    if (!list.length || list.some((v) => !VIEW_NAMES.includes(v))) throw kindError('InvalidConfig', `The attribute views="${views}" is not valid: list any of ${VIEW_NAMES.join(', ')}, separated by commas.`);
  }
}

/**
 * Shows the controls and views the attributes ask for (the views of grey
 * digits hidden for a colour model).
 * @param {HTMLElement} el
 * @param {ShadowRoot} root
 * @param {boolean} colour  the model is of colour images
 */
export function applyLayout(el, root, colour) {
  const controls = el.getAttribute('controls') || 'full';
  /** @type {HTMLElement} */ (root.querySelector('.side')).hidden = controls === 'none';
  for (const el of root.querySelectorAll('.advanced, .hint')) /** @type {HTMLElement} */ (el).hidden = controls === 'compact';
  const views = el.getAttribute('views');
  // Views that draw or edit 28x28 grey digits stay hidden for a colour model.
  const shown = (views ? views.split(/[\s,]+/) : VIEW_NAMES).filter((v) => !(colour && GREY_ONLY.includes(v)));
  for (const el of root.querySelectorAll('[data-view]')) /** @type {HTMLElement} */ (el).hidden = !shown.includes(/** @type {HTMLElement} */ (el).dataset.view ?? '');
  // A half-width view left alone (the other one hidden) takes the whole row.
  const halves = [...root.querySelectorAll('.views > .card:not(.wide)[data-view]')];
  const visible = halves.filter((el) => !(/** @type {HTMLElement} */ (el).hidden));
  for (const el of halves) el.classList.toggle('solo', visible.length === 1 && el === visible[0]);
}
