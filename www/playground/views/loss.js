// @ts-check
// The loss chart: training batches solid, test estimates dashed, log scale on request.

import { LossChart, formatNum } from './chart.js';

const template = `
  <section class="card wide" data-view="loss" aria-labelledby="h-loss">
    <header>
      <h3 id="h-loss">Loss</h3>
      <label class="check"><input type="checkbox" class="log-scale"> log scale</label>
    </header>
    <p class="sub">Lower is better. Total = reconstruction + β·KL, per image. Solid: training batches; dashed: held-out test digits.</p>
    <div class="chart-box"><canvas class="chart" role="img" aria-label="Loss chart: no data yet"></canvas></div>
    <ul class="legend">
      <li><span class="swatch total"></span>total</li>
      <li><span class="swatch recon"></span>reconstruction</li>
      <li><span class="swatch kl"></span>KL</li>
      <li><span class="swatch dashed total"></span>test</li>
    </ul>
  </section>`;

/** @type {import('./index.js').ViewModule['mount']} */
function mount(root, { host }) {
  const canvas = /** @type {HTMLCanvasElement} */ (root.querySelector('.chart'));
  const chart = new LossChart(canvas, host);
  const log = /** @type {HTMLInputElement} */ (root.querySelector('.log-scale'));
  log.addEventListener('change', () => chart.setLog(log.checked));
  return {
    update(d) {
      if (d.model) chart.clear();
      if (d.metrics) {
        const m = d.metrics;
        chart.addTrain(m.step, m);
        canvas.setAttribute('aria-label', `Loss chart: at step ${m.step} the training loss is ${formatNum(m.loss)} (reconstruction ${formatNum(m.recon)}, KL ${formatNum(m.kl)}).`);
      }
      if (d.test) chart.addTest(d.test.step, d.test.metrics);
    },
    redraw: () => chart.request(),
    destroy: () => chart.disconnect(),
  };
}

export default /** @type {import('./index.js').ViewModule} */ ({ name: 'loss', place: 'grid', template, mount });
