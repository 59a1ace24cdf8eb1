// @ts-check
// The playground page: passes query parameters on to the element, e.g.
// ?preset=conv&latent-dim=2&batch=32&backend=cpu&autostart&bench=50, then loads it.
// Every attribute but `assets` (a URL must not choose where the worker comes from).
import { ATTRIBUTES } from './playground/state.js';

const params = new URLSearchParams(location.search);
const el = /** @type {HTMLElement} */ (document.querySelector('vae-playground'));
for (const name of ATTRIBUTES) {
  if (name !== 'assets' && params.has(name)) el.setAttribute(name, /** @type {string} */ (params.get(name)));
}
await import('./vae-playground.js');
