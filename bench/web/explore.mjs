// What the explore views cost, on WebGPU (SwiftShader) and on the
// CPU fallback: every refresh of each view as timed in the worker (the `ms` of
// its `explore` event), and the training speed with all views shown beside
// the speed with only the original five (status, loss, samples, latent, recon).
// Not a test: a measurement, printed as JSON.
//   node bench/web/explore.mjs [seconds=40] [--cpu-only]
import { openPage, waitFor } from '../../tests/browser/harness.mjs';

const seconds = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 40);
const cpuOnly = process.argv.includes('--cpu-only');
const BASE = 'status,loss,samples,latent,recon';

// Records every explore event's cost and every metrics event's speed, in the page.
function record() {
  window.__costs = [];
  window.__speed = [];
  const Native = window.Worker;
  window.Worker = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        const m = e.data;
        if (m?.event === 'explore' && typeof m.ms === 'number') window.__costs.push({ item: m.item, ms: m.ms, images: m.indices?.length ?? (typeof m.images === 'number' ? m.images : undefined) });
        if (m?.event === 'metrics') window.__speed.push(m.metrics.images_per_sec);
      });
    }
  };
}

async function run({ webgpu, views, query }) {
  const s = await openPage({ webgpu, query: `?views=${views}${query}`, init: record });
  try {
    const { page } = s;
    const el = page.locator('vae-playground');
    await waitFor(page, (st) => st.startLabel === 'Start' && st.originals.contrast > 0, { what: 'ready', timeout: 120000 });
    await el.locator('button.start').click();
    if (views !== BASE) {
      // a drawing and a repair, so every view has something to refresh
      await page.waitForTimeout(3000);
      const pad = el.locator('canvas.pad');
      await pad.scrollIntoViewIfNeeded();
      const b = await pad.boundingBox();
      await page.mouse.move(b.x + b.width * 0.3, b.y + b.height * 0.25);
      await page.mouse.down();
      await page.mouse.move(b.x + b.width * 0.7, b.y + b.height * 0.25, { steps: 5 });
      await page.mouse.move(b.x + b.width * 0.5, b.y + b.height * 0.75, { steps: 5 });
      await page.mouse.up();
      await el.locator('button.repair').click();
    }
    await page.evaluate(() => {
      window.__costs.length = 0;
      window.__speed.length = 0;
    });
    await page.waitForTimeout(seconds * 1000);
    const { costs, speed } = await page.evaluate(() => ({ costs: window.__costs, speed: window.__speed }));
    const median = (xs) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : null);
    const perView = {};
    for (const c of costs) (perView[c.item] ??= []).push(c);
    return {
      imagesPerSec: median(speed.slice(Math.floor(speed.length / 4))),
      views: Object.fromEntries(Object.entries(perView).map(([k, cs]) => [k, {
        refreshes: cs.length,
        medianMs: +median(cs.map((c) => c.ms)).toFixed(1),
        maxMs: +Math.max(...cs.map((c) => c.ms)).toFixed(1),
        ...(cs[0].images ? { images: median(cs.map((c) => c.images)) } : {}),
      }])),
      busyShare: +(costs.reduce((a, c) => a + c.ms, 0) / (seconds * 1000)).toFixed(3),
    };
  } finally {
    await s.close();
  }
}

const out = {};
for (const [name, webgpu, query] of [['webgpu', true, '&batch=16&backend=webgpu'], ['cpu', false, '']]) {
  if (cpuOnly && webgpu) continue;
  const all = await run({ webgpu, views: 'status,loss,samples,latent,recon,scatter,draw,interpolate,inpaint,traverse,kl', query });
  const base = await run({ webgpu, views: BASE, query });
  out[name] = { seconds, withExplore: all, without: { imagesPerSec: base.imagesPerSec } };
  console.log(JSON.stringify({ [name]: out[name] }));
}
console.log(JSON.stringify(out, null, 2));
