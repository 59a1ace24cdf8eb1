// @ts-check
// The benchmark table (the `bench` attribute): images/s of a preset (mlp by default) on each backend.

const template = `
  <section class="card wide bench" hidden aria-labelledby="h-bench">
    <h3 id="h-bench">Benchmark</h3>
    <p class="sub bench-sub"></p>
    <table><thead><tr><th>backend</th><th>adapter</th><th class="num">images/s</th></tr></thead><tbody></tbody></table>
  </section>`;

/**
 * @param {HTMLElement} root
 * @param {import('../protocol.js').BenchPlan} plan
 */
function mount(root, plan) {
  const sub = /** @type {HTMLElement} */ (root.querySelector('.bench-sub'));
  const body = /** @type {HTMLElement} */ (root.querySelector('tbody'));
  sub.textContent = `Training ${plan.steps} steps of the ${plan.preset ?? 'mlp'} preset at batch ${plan.batch} on each backend (after ${plan.warmup} warm-up steps)…`;
  return {
    /**
     * @param {import('../protocol.js').BenchResult[]} results
     * @param {boolean} done
     */
    show(results, done) {
      body.textContent = '';
      for (const r of results) {
        const tr = document.createElement('tr');
        const cells = [r.backend === 'webgpu' ? 'WebGPU' : 'CPU (wasm)', r.error ? `unavailable: ${r.error}` : r.adapter ?? '', r.error ? '–' : Math.round(r.imagesPerSec ?? 0).toLocaleString('en-US')];
        cells.forEach((text, i) => {
          const td = document.createElement('td');
          td.textContent = text;
          if (i === 2) td.className = 'num';
          tr.append(td);
        });
        body.append(tr);
      }
      if (done) sub.textContent = `${plan.steps} steps of the ${plan.preset ?? 'mlp'} preset at batch ${plan.batch} per backend, after ${plan.warmup} warm-up steps.`;
    },
  };
}

export default { template, mount };
