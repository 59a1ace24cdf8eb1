// @ts-check
// Latent traversal: for a chosen digit, a row per latent dimension (the 8 with
// the most KL), each decoding the digit's code with that dimension swept over
// -3..3 prior standard deviations: what each dimension does.

import { DATA_IMAGE } from '../state.js';
import { ImageGrid } from './image-grid.js';
import { onState, digitPicker, sourceName, watch, unwatch, onShown, loadClassDigits } from './explore-shared.js';

/** @typedef {import('./explore-shared.js').Source} Source */

const ROWS = 8;
const STEPS = 9;
const RANGE = 3;

const template = `
  <section class="card" data-view="traverse" aria-labelledby="h-traverse">
    <h3 id="h-traverse">What each dimension does</h3>
    <p class="sub">One row per latent dimension (the ${ROWS} with the most KL): the digit's code with that dimension swept from −${RANGE} to +${RANGE}, the others kept.</p>
    <div class="tpicker"></div>
    <div class="traverse-rows">
      <ol class="trows" aria-label="Dimensions, by KL"></ol>
      <canvas class="digits tgrid" width="252" height="224" role="img" aria-label="Latent traversal: pick a digit"></canvas>
    </div>
    <div class="taxis" aria-hidden="true"><span>−${RANGE}σ</span><span>0</span><span>+${RANGE}σ</span></div>
  </section>`;

/** @type {import('./index.js').ViewModule['mount']} */
function mount(root, ctx) {
  const { host, state } = ctx;
  const $ = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (root.querySelector(sel));
  const grid = new ImageGrid(/** @type {HTMLCanvasElement} */ ($('.tgrid')), host);
  /** @type {Source | null} */
  let source = null;
  let shown = !root.hidden;

  const picker = digitPicker($('.tpicker'), ctx, { label: 'Digit to traverse', drawing: true, onPick: (src) => choose(src) });

  /** @param {Source} src */
  function choose(src) {
    source = src;
    picker.select(src);
    ask();
  }

  function ask() {
    if (!shown || !source || !state.value.ready) return;
    if (source.kind === 'drawn' && !state.value.drawing) return;
    watch(ctx, 'traverse', { source, rows: ROWS, steps: STEPS, range: RANGE });
  }

  onState(ctx, (keys) => {
    if (keys.includes('classDigits') && state.value.classDigits && !source) {
      const cd = state.value.classDigits;
      const k = Array.from(cd.labels).indexOf(5);
      choose({ kind: 'test', index: cd.indices[k >= 0 ? k : 0] });
    }
    if (keys.includes('picked') && state.value.picked) choose({ kind: 'test', index: state.value.picked.index });
  });
  const stop = onShown(root, (s) => {
    shown = s;
    if (s) ask();
    else unwatch(ctx, 'traverse');
  });

  return {
    update(d) {
      if (d.originals) loadClassDigits(ctx);
      if (d.model && source) setTimeout(ask, 0);
      const x = d.explore;
      if (x?.item !== 'traverse') return;
      const rows = x.dims.length;
      grid.show(x.images, x.steps, rows, DATA_IMAGE);
      const ol = $('.trows');
      ol.textContent = '';
      for (let r = 0; r < rows; r++) {
        const li = document.createElement('li');
        li.textContent = `z${x.dims[r]}`;
        const kl = document.createElement('small');
        kl.textContent = ` ${x.kl[r].toFixed(2)}`;
        li.append(kl);
        ol.append(li);
      }
      ol.style.setProperty('--rows', String(rows));
      $('.tgrid').setAttribute('aria-label', `Latent traversal of ${sourceName(source)}: ${rows} rows, dimensions ${Array.from(x.dims, (v) => `z${v}`).join(', ')}, each swept over ${x.steps} values from −${RANGE} to +${RANGE}`);
      root.dataset.ms = String(Math.round((x.ms ?? 0) * 10) / 10);
    },
    redraw() {
      grid.redraw();
      picker.redraw();
    },
    destroy: () => stop(),
  };
}

export default /** @type {import('./index.js').ViewModule} */ ({ name: 'traverse', place: 'grid', template, mount });
