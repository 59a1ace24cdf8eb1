// @ts-check
// Samples from the prior: 64 fixed codes z ~ N(0, I), decoded by the current decoder.

import { ImageGrid } from './image-grid.js';

const template = `
  <section class="card" data-view="samples" aria-labelledby="h-samples">
    <h3 id="h-samples">Samples from the prior</h3>
    <p class="sub">64 fixed random points z ~ N(0, I), decoded. Watch noise turn into digits.</p>
    <canvas class="digits samples" width="224" height="224" role="img" aria-label="8 by 8 grid of generated digits"></canvas>
  </section>`;

/** @type {import('./index.js').ViewModule['mount']} */
function mount(root, { host, state }) {
  const grid = new ImageGrid(/** @type {HTMLCanvasElement} */ (root.querySelector('.samples')), host);
  return {
    update(d) {
      const config = state.value.config;
      if (d.frame?.samples && config) grid.show(d.frame.samples, 8, 8, config.image);
    },
    redraw: () => grid.redraw(),
    destroy() {},
  };
}

export default /** @type {import('./index.js').ViewModule} */ ({ name: 'samples', place: 'grid', template, mount });
