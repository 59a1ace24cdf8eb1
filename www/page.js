// @ts-check
// The playground page: passes query parameters on to the element, e.g.
// ?preset=conv&latent-dim=2&batch=32&backend=cpu&autostart&bench=50, then loads it.
// Every attribute but `assets` (a URL must not choose where the worker comes from).
// Two-way: as settings change (controls, a loaded model), every setting the model
// trains with is written back into the address (history.replaceState), so the
// address, or "Copy link", reproduces them.
import { ATTRIBUTES, SETTINGS } from './playground/state.js';

const params = new URLSearchParams(location.search);
const el = /** @type {HTMLElement} */ (document.querySelector('vae-playground'));
for (const name of ATTRIBUTES) {
  if (name !== 'assets' && params.has(name)) el.setAttribute(name, /** @type {string} */ (params.get(name)));
}

el.addEventListener('settings', (e) => {
  const { config, dataset } = /** @type {CustomEvent<{ config: Record<string, unknown>, dataset: string }>} */ (e).detail;
  // A model of colour images trains on the reader's files, which no link can
  // carry: the link keeps the last settings it could reproduce.
  if (/** @type {{ channels: number }} */ (config.image).channels !== 1) return;
  const q = new URLSearchParams(location.search);
  for (const { key, attribute } of SETTINGS) {
    const v = config[key];
    if (v === undefined || v === null) q.delete(attribute);
    else q.set(attribute, String(v));
  }
  // The reader's own files cannot travel in a link: it names the built-in data only.
  if (dataset === 'files') q.delete('dataset');
  else q.set('dataset', dataset);
  history.replaceState(history.state, '', `${location.pathname}?${q}${location.hash}`);
});

const copy = /** @type {HTMLButtonElement | null} */ (document.querySelector('#copy-link'));
const said = /** @type {HTMLElement | null} */ (document.querySelector('#copy-link-status'));
copy?.addEventListener('click', async () => {
  const link = location.href;
  try {
    await navigator.clipboard.writeText(link);
    if (said) said.textContent = 'Link copied.';
  } catch {
    if (said) said.textContent = link; // no clipboard access: show it to copy by hand
  }
});

await import('./vae-playground.js');
