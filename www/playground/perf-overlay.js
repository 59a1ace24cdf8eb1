// @ts-check
// The performance overlay (the `perf` attribute, `?perf` on the page, or the
// Performance button): images/s, milliseconds per step split into GPU time
// (timestamp queries) and host / wait time, the views' refresh cost, and the
// start-up phases. Every number is computed in the worker (worker/perf.js) and
// the wasm core; this module only writes them out, at most twice a second.

const template = `
  <div class="perf-bar">
    <button type="button" class="perf-toggle" aria-pressed="false" aria-controls="perf-panel">Performance</button>
  <section class="perf" id="perf-panel" role="region" aria-labelledby="h-perf" hidden>
    <h3 id="h-perf">Performance</h3>
    <dl class="perf-list">
      <div><dt>images/s</dt><dd class="p-ips">–</dd></div>
      <div><dt>ms per step</dt><dd class="p-step">–</dd></div>
      <div><dt>GPU time</dt><dd class="p-gpu">–</dd></div>
      <div><dt>host / wait</dt><dd class="p-host">–</dd></div>
      <div><dt>view refresh</dt><dd class="p-view">–</dd></div>
      <div><dt>explore views</dt><dd class="p-explore">–</dd></div>
      <div><dt>start-up</dt><dd class="p-startup">–</dd></div>
      <div><dt>shader compile</dt><dd class="p-compile">–</dd></div>
    </dl>
    <p class="sub p-note">Waiting for training steps…</p>
  </section>
  </div>`;

const css = `
.perf-bar { position: relative; display: flex; justify-content: flex-end; margin: -4px 0 0; }
.perf-toggle { font: inherit; font-size: 13px; padding: 2px 10px; border-radius: 6px; border: 1px solid var(--line); background: var(--panel); color: var(--text); cursor: pointer; }
.perf-toggle[aria-pressed="true"] { background: var(--accent); color: var(--accent-text); border-color: var(--accent); }
.perf-toggle:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.perf { position: absolute; right: 0; top: calc(100% + 4px); z-index: 5; width: min(360px, calc(100% - 24px)); box-sizing: border-box;
  background: var(--bg); color: var(--text); border: 1px solid var(--line); border-radius: 10px; padding: 10px 12px;
  box-shadow: 0 4px 18px rgb(0 0 0 / 0.18); font-size: 13px; }
.perf h3 { margin: 0 0 6px; font-size: 14px; }
.perf-list { margin: 0; display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; }
.perf-list > div { display: contents; }
.perf-list dt { color: var(--muted); }
.perf-list dd { margin: 0; font-variant-numeric: tabular-nums; }
.perf .p-note { margin: 6px 0 0; }
`;

const f0 = (/** @type {number} */ n) => Math.round(n).toLocaleString('en-US');
const f1 = (/** @type {number} */ n) => (n >= 100 ? f0(n) : n.toFixed(1));

/** Start-up phase names, as people read them. */
const PHASE = /** @type {Record<string, string>} */ ({
  worker: 'worker', wasm: 'wasm', device: 'adapter + device', probe: 'backend probe', pipelines: 'pipelines', data: 'data', 'first-step': 'first step', 'first-view': 'first view',
});

/**
 * @typedef {import('../worker/perf.js').PerfReport} PerfReport
 * @typedef {{ name: string, ms: number }} Phase
 */

/**
 * @param {ShadowRoot} root
 * @param {{ toggle: () => void }} on
 */
function mount(root, on) {
  const $ = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (root.querySelector(sel));
  const button = $('.perf-toggle');
  const panel = $('.perf');
  button.addEventListener('click', () => on.toggle());
  /** @type {Phase[] | null} the start-up breakdown (the element's `startup`, from worker/startup.js) */
  let breakdown = null;
  /** @type {PerfReport | null} */
  let last = null;

  /** @param {Phase[]} phases */
  function showStartup(phases) {
    if (!phases.length) return;
    $('.p-startup').textContent = phases.map((p) => `${PHASE[p.name] ?? p.name} ${f0(p.ms)} ms`).join(' · ');
    const pipelines = phases.find((p) => p.name === 'pipelines');
    const first = phases.find((p) => p.name === 'first-step');
    if (pipelines) $('.p-compile').textContent = `${f0(pipelines.ms)} ms`;
    else if (last?.backend === 'cpu') $('.p-compile').textContent = 'none: the CPU backend compiles no shaders';
    else if (first) $('.p-compile').textContent = `within the first step, ${f0(first.ms)} ms (pipelines are created as the first step needs them)`;
  }

  /** @param {PerfReport} r */
  function show(r) {
    last = r;
    $('.p-ips').textContent = r.imagesPerSec === null ? '–' : `${f0(r.imagesPerSec)}${r.trainImagesPerSec ? ` (${f0(r.trainImagesPerSec)} inside training calls)` : ''}`;
    $('.p-step').textContent = r.msPerStep === null ? '–' : `${f1(r.msPerStep)} ms (${r.stepsPerCall} per call, batch ${r.batch})`;
    const timing = r.gpuNote === 'GPU time from timestamp queries';
    $('.p-gpu').textContent = r.gpuMsPerStep !== null ? `${f1(r.gpuMsPerStep)} ms per step` : timing ? 'waiting for the first timestamps' : r.gpuNote.replace(/^GPU time: /, '');
    $('.p-host').textContent = r.hostMsPerStep === null
      ? (r.backend === 'cpu' && r.msPerStep !== null ? `${f1(r.msPerStep)} ms per step (all of it)` : '–')
      : `${f1(r.hostMsPerStep)} ms per step`;
    $('.p-view').textContent = r.viewMs === null ? '–' : `${f0(r.viewMs)} ms last, ${f0(r.viewMsMedian ?? r.viewMs)} ms median; views take ${Math.round(r.viewShare * 100)}% of the time`;
    $('.p-explore').textContent = r.explore.length ? r.explore.map((e) => `${e.item} ${f0(e.ms)} ms`).join(' · ') : 'none open';
    if (breakdown) showStartup(breakdown);
    $('.p-note').textContent = `${r.backend === 'webgpu' ? 'WebGPU' : 'CPU (WebAssembly)'}, ${r.preset}: over the last ${r.window.toFixed(1)} s. ${r.gpuNote}.`;
  }

  return {
    css,
    /** @param {boolean} open */
    setOpen(open) {
      panel.hidden = !open;
      button.setAttribute('aria-pressed', String(open));
    },
    /** @param {{ perf?: PerfReport, startup?: { phases: Phase[] } }} data */
    update(data) {
      if (data.startup?.phases) {
        breakdown = data.startup.phases;
        showStartup(breakdown);
      }
      if (data.perf) show(data.perf);
    },
  };
}

export default { template, css, mount };
