// @ts-check
// Eight fixed test digits and their reconstructions.

import { DATA_IMAGE } from '../state.js';
import { ImageGrid } from './image-grid.js';

const template = `
  <section class="card wide" data-view="recon" aria-labelledby="h-recon">
    <h3 id="h-recon">Reconstructions</h3>
    <p class="sub">Eight test digits the model never trains on (top), encoded and decoded again (bottom).</p>
    <div class="recon-rows">
      <span>input</span><canvas class="digits recon originals" width="224" height="28" role="img" aria-label="Eight test digits"></canvas>
      <span>output</span><canvas class="digits recon reconstructions" width="224" height="28" role="img" aria-label="Their reconstructions"></canvas>
    </div>
  </section>`;

/** @type {import('./index.js').ViewModule['mount']} */
function mount(root, { host, state }) {
  const originals = new ImageGrid(/** @type {HTMLCanvasElement} */ (root.querySelector('.originals')), host);
  const outputs = new ImageGrid(/** @type {HTMLCanvasElement} */ (root.querySelector('.reconstructions')), host);
  return {
    update(d) {
      if (d.originals) originals.show(d.originals, 8, 1, state.value.config?.image ?? DATA_IMAGE);
      const config = state.value.config;
      if (d.frame?.recon && config) outputs.show(d.frame.recon, 8, 1, config.image);
    },
    redraw() {
      originals.redraw();
      outputs.redraw();
    },
    destroy() {},
  };
}

export default /** @type {import('./index.js').ViewModule} */ ({ name: 'recon', place: 'grid', template, mount });
