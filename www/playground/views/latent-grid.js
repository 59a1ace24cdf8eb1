// @ts-check
// The latent space decoded over a grid of Gaussian quantiles of two latent
// dimensions; with Z > 2 the reader picks which two (written to state.dims).

import { ImageGrid } from './image-grid.js';

const template = `
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
  </section>`;

/** @type {import('./index.js').ViewModule['mount']} */
function mount(root, { host, state, request, report, signal }) {
  const $ = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (root.querySelector(sel));
  const grid = new ImageGrid(/** @type {HTMLCanvasElement} */ ($('.latent')), host);
  const pickX = /** @type {HTMLSelectElement} */ ($('.dim-x'));
  const pickY = /** @type {HTMLSelectElement} */ ($('.dim-y'));
  const pick = () => {
    const [x, y] = [Number(pickX.value), Number(pickY.value)];
    state.set({ dims: [x, y] });
    request('dims', { x, y }).catch(report); // a new frame follows
  };
  pickX.addEventListener('change', pick);
  pickY.addEventListener('change', pick);
  // the scatter shares the axes and may change them
  state.addEventListener('change', (e) => {
    if (!(/** @type {CustomEvent<{ keys: string[] }>} */ (e).detail.keys.includes('dims'))) return;
    pickX.value = String(state.value.dims[0]);
    pickY.value = String(state.value.dims[1]);
  }, { signal });

  /** @param {number} latent */
  function setupDims(latent) {
    if (latent <= 2) {
      $('.dims').hidden = true;
      $('.latent-sub').textContent = 'Each cell decodes one point of a 15 × 15 grid over the Gaussian quantiles of the two latent dimensions: the whole latent space at a glance.';
      return;
    }
    $('.dims').hidden = false;
    $('.latent-sub').textContent = `A plane through two of the ${latent} latent dimensions (the others held at 0), decoded over a 15 × 15 grid of Gaussian quantiles.`;
    const [x, y] = state.value.dims;
    for (const [select, value] of /** @type {const} */ ([[pickX, x], [pickY, y]])) {
      select.textContent = '';
      for (let i = 0; i < latent; i++) select.append(new Option(`z${i}`, String(i)));
      select.value = String(value);
    }
  }

  return {
    update(d) {
      if (d.model) setupDims(d.model.latent);
      const config = state.value.config;
      if (d.frame?.grid && config) grid.show(d.frame.grid, d.frame.gridSize, d.frame.gridSize, config.image);
    },
    redraw: () => grid.redraw(),
    destroy() {},
  };
}

export default /** @type {import('./index.js').ViewModule} */ ({ name: 'latent', place: 'grid', template, mount });
