#!/usr/bin/env node
// Time from page load to the first trained samples drawn, data cached: opens the
// page once with ?autostart (filling the HTTP cache with the wasm and MNIST), then
// closes it and opens it again in a fresh tab of the same browser context (shared
// HTTP cache; no leftover GPU work from the previous tab), and reads the element's `vae-playground:first-trained-samples`
// performance mark (set when the first views computed after a training step are
// drawn), relative to navigation start.
//   node tests/browser/bench-first-samples.mjs [--cpu] [runs=3]
// Needs `trunk build --release --offline` first.
import { openPage } from './harness.mjs';

const webgpu = !process.argv.includes('--cpu');
const runs = Number(process.argv.slice(2).find((a) => !a.startsWith('--')) || 3);
const s = await openPage({ webgpu, query: '?autostart', cache: true });
const firstSamples = (page) =>
  page.waitForFunction(() => performance.getEntriesByName('vae-playground:first-trained-samples')[0]?.startTime, null, { timeout: 300000, polling: 100 }).then((h) => h.jsonValue());
try {
  const cold = await firstSamples(s.page);
  const url = s.page.url();
  const context = s.page.context();
  let page = s.page;
  const times = [];
  for (let i = 0; i < runs; i++) {
    await page.close();
    page = await context.newPage();
    await page.goto(url);
    times.push(await firstSamples(page));
  }
  const backend = await page.evaluate(() => document.querySelector('vae-playground').shadowRoot.querySelector('.backend').textContent);
  console.log(`vae-playground first trained samples: Chromium ${await s.browser.version()}, ${backend}, ${new Date().toISOString().slice(0, 10)}`);
  console.log(`  first visit (cold cache): ${(cold / 1000).toFixed(2)} s`);
  console.log(`  data cached, ${runs} fresh tabs: ${times.map((t) => (t / 1000).toFixed(2)).join(' s, ')} s (median ${(times.sort((a, b) => a - b)[runs >> 1] / 1000).toFixed(2)} s)`);
} finally {
  await s.close();
}
