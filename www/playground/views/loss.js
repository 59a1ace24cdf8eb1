// @ts-check
// The loss chart: training batches solid, test estimates dashed, the whole test
// set once an epoch as diamonds, log scale on request; and the Evaluate button:
// the importance-weighted bound on the test log-likelihood (IWAE, K = 50 on
// 1,000 test digits), computed by the wasm core between training chunks.

import { LossChart, formatNum } from './chart.js';

const IWAE_K = 50;
const IWAE_N = 1000;

const template = `
  <section class="card wide" data-view="loss" aria-labelledby="h-loss">
    <header>
      <h3 id="h-loss">Loss</h3>
      <label class="check"><input type="checkbox" class="log-scale"> log scale</label>
    </header>
    <p class="sub">Lower is better. Total = reconstruction + β·KL, per image. Solid: training batches; dashed: 500 held-out test digits; diamonds: all 10,000 test digits, once an epoch.</p>
    <div class="chart-box"><canvas class="chart" role="img" aria-label="Loss chart: no data yet"></canvas></div>
    <ul class="legend">
      <li><span class="swatch total"></span>total</li>
      <li><span class="swatch recon"></span>reconstruction</li>
      <li><span class="swatch kl"></span>KL</li>
      <li><span class="swatch dashed total"></span>test</li>
      <li><span class="diamond" aria-hidden="true">◆</span>whole test set</li>
    </ul>
    <div class="loss-extra">
      <button type="button" class="evaluate" disabled aria-describedby="iwae-hint">Evaluate log-likelihood</button>
      <progress class="iwae-bar" max="1" value="0" hidden aria-label="Evaluation progress"></progress>
      <span class="iwae-out" role="status" aria-live="polite"></span>
      <small id="iwae-hint" class="sr-only">The importance-weighted bound (IWAE) on the test log-likelihood, with ${IWAE_K} samples per image on ${IWAE_N.toLocaleString('en-US')} test digits: tighter than the ELBO.</small>
    </div>
    <p class="sub full-out"></p>
  </section>`;

/** @type {import('./index.js').ViewModule['mount']} */
function mount(root, { host, state, request, report, signal }) {
  const canvas = /** @type {HTMLCanvasElement} */ (root.querySelector('.chart'));
  const chart = new LossChart(canvas, host);
  const log = /** @type {HTMLInputElement} */ (root.querySelector('.log-scale'));
  const evaluate = /** @type {HTMLButtonElement} */ (root.querySelector('.evaluate'));
  const bar = /** @type {HTMLProgressElement} */ (root.querySelector('.iwae-bar'));
  const out = /** @type {HTMLElement} */ (root.querySelector('.iwae-out'));
  log.addEventListener('change', () => chart.setLog(log.checked));
  let epochsSeen = 0;
  let evaluating = false;
  let bce = true;

  evaluate.addEventListener('click', () => {
    if (evaluating) return;
    evaluating = true;
    evaluate.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    out.textContent = `Evaluating (K = ${IWAE_K}, ${IWAE_N.toLocaleString('en-US')} test digits)…`;
    request('explore', { what: 'iwae', k: IWAE_K, n: IWAE_N, step: state.value.step }).catch((err) => {
      done();
      out.textContent = '';
      report(err);
    });
  });
  function done() {
    evaluating = false;
    evaluate.disabled = !state.value.ready || !bce;
    bar.hidden = true;
  }

  state.addEventListener('change', (e) => {
    const keys = /** @type {CustomEvent<{ keys: string[] }>} */ (e).detail.keys;
    if (keys.includes('ready') && !evaluating) evaluate.disabled = !state.value.ready || !bce;
  }, { signal });

  return {
    update(d) {
      if (d.model) {
        chart.clear();
        epochsSeen = 0;
        bce = d.model.recon === 'bce';
        chart.setUnit(bce ? 'nats per image' : 'loss per image');
        evaluate.disabled = !bce;
        evaluate.title = bce ? '' : 'The log-likelihood bound needs a Bernoulli (BCE) model.';
        if (evaluating) done();
        out.textContent = '';
        /** @type {HTMLElement} */ (root.querySelector('.full-out')).textContent = '';
      }
      if (d.metrics) {
        const m = d.metrics;
        chart.addTrain(m.step, m);
        canvas.setAttribute('aria-label', `Loss chart: at step ${m.step} the training loss is ${formatNum(m.loss)} ${bce ? 'nats ' : ''}per image (reconstruction ${formatNum(m.recon)}, KL ${formatNum(m.kl)}).`);
        // an epoch ended: the loss over the whole test set, between training chunks
        const epochs = Math.floor(m.epoch);
        if (epochs > epochsSeen) {
          epochsSeen = epochs;
          request('explore', { what: 'full', step: m.step }).catch(report);
        }
      }
      if (d.test) chart.addTest(d.test.step, d.test.metrics);
      const x = d.explore;
      if (x?.item === 'full') {
        chart.addFull(x.step, { loss: x.loss, recon: x.recon, kl: x.kl });
        /** @type {HTMLElement} */ (root.querySelector('.full-out')).textContent = `Whole test set (${x.images.toLocaleString('en-US')} digits) at step ${x.step.toLocaleString('en-US')}: ${formatNum(x.loss)} ${bce ? 'nats' : ''} per image (reconstruction ${formatNum(x.recon)}, KL ${formatNum(x.kl)}).`;
      }
      if (x?.item === 'iwae') {
        bar.value = x.progress;
        if (x.done) {
          done();
          out.textContent = `log p(x) ≥ ${formatNum(-x.nll)} nats per image: the IWAE bound (K = ${x.k}, ${x.images.toLocaleString('en-US')} test digits${x.binarized ? ', binarized' : ', grey levels as BCE targets'}) at step ${x.step.toLocaleString('en-US')}; the ELBO estimate is ${formatNum(x.elbo)}.`;
        }
      }
    },
    redraw: () => chart.request(),
    destroy: () => chart.disconnect(),
  };
}

export default /** @type {import('./index.js').ViewModule} */ ({ name: 'loss', place: 'grid', template, mount });
