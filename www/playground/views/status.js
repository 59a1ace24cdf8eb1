// @ts-check
// The status bar: where the model trains, step, epoch, speed, and the MNIST
// download's progress.

import { formatNum } from './chart.js';

const template = `
  <div class="status" part="status" data-view="status">
    <span class="pill" data-backend="none"><span class="dot"></span><span class="backend">Starting…</span></span>
    <dl class="stats">
      <div><dt>step</dt><dd class="s-step">0</dd></div>
      <div><dt>epoch</dt><dd class="s-epoch">0</dd></div>
      <div><dt>steps/s</dt><dd class="s-sps">–</dd></div>
      <div><dt>images/s</dt><dd class="s-ips">–</dd></div>
    </dl>
    <div class="progress">
      <span class="data-label">Loading…</span>
      <progress class="data-bar" max="1" value="0" aria-label="MNIST download"></progress>
    </div>
  </div>`;

const int = (/** @type {number} */ n) => n.toLocaleString('en-US');
const mb = (/** @type {number} */ b) => (b / 1e6).toFixed(1);

/** @type {import('./index.js').ViewModule['mount']} */
function mount(root) {
  const $ = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (root.querySelector(sel));
  const bar = /** @type {HTMLProgressElement} */ ($('.data-bar'));
  /** @type {{ plan: import('./index.js').ViewData['dataplan'] | null, bytes: { train: number, test: number }, trainImages: number, done: boolean }} */
  const dl = { plan: null, bytes: { train: 0, test: 0 }, trainImages: 0, done: false };

  function showDownload() {
    if (!dl.plan) return;
    if (dl.done) {
      bar.hidden = true;
      $('.data-label').textContent = `${dl.plan.name ?? 'MNIST'}: ${int(dl.plan.train.count)} training images`;
      return;
    }
    const total = dl.plan.test.bytes + dl.plan.train.bytes;
    const got = dl.bytes.test + dl.bytes.train;
    bar.value = total ? got / total : 0;
    $('.data-label').textContent = `Downloading ${dl.plan.name ?? 'MNIST'} ${mb(got)} / ${mb(total)} MB${dl.trainImages ? ` · ${int(dl.trainImages)} digits` : ''}`;
  }

  return {
    update(d) {
      if (d.loading) $('.backend').textContent = 'Loading the model…';
      if (d.stopped) {
        $('.backend').textContent = 'Not running';
        $('.progress').hidden = true;
      }
      if (d.backend) {
        const name = d.backend.backend === 'webgpu' ? 'WebGPU' : 'CPU (WebAssembly)';
        $('.pill').dataset.backend = d.backend.backend;
        $('.backend').textContent = d.backend.adapter ? `${name} · ${d.backend.adapter}` : name;
        $('.pill').title = $('.backend').textContent ?? '';
      }
      if (d.model) {
        $('.s-step').textContent = '0';
        $('.s-epoch').textContent = '0';
      }
      if (d.metrics) {
        const m = d.metrics;
        $('.s-step').textContent = int(m.step);
        $('.s-epoch').textContent = Number.isInteger(m.epoch) ? String(m.epoch) : m.epoch.toFixed(2);
        $('.s-sps').textContent = formatNum(m.steps_per_sec);
        $('.s-ips').textContent = int(Math.round(m.images_per_sec));
      }
      if (d.dataplan) {
        dl.plan = d.dataplan;
        dl.done = false;
        bar.hidden = false;
      }
      if (d.data) {
        dl.bytes[d.data.which] = d.data.receivedBytes;
        if (d.data.which === 'train') {
          dl.trainImages = d.data.images;
          dl.done = d.data.done;
        }
      }
      if (d.dataplan || d.data) showDownload();
    },
    redraw() {},
    destroy() {},
  };
}

export default /** @type {import('./index.js').ViewModule} */ ({ name: 'status', place: 'top', template, mount });
