#!/usr/bin/env node
// Time from page load to the first trained samples drawn, data cached, with the
// start-up breakdown by phase: opens the page once with ?autostart (filling the
// HTTP cache with the wasm and MNIST), then closes it and opens it again in a fresh
// tab of the same browser context (shared HTTP cache; no leftover GPU work from the
// previous tab), `runs` times, and reads the element's `startup` property (set when
// the first views computed after a training step are drawn; phases on the page's
// performance.now() clock, total = the `vae-playground:first-trained-samples` mark).
//   node tests/browser/bench-first-samples.mjs [--cpu | --auto] [runs=3]
// Default: WebGPU, forced (backend=webgpu; on a machine without a GPU, SwiftShader).
// --cpu: no WebGPU in the browser, the CPU fallback. --auto: backend="auto" with
// WebGPU offered (on SwiftShader, a fallback adapter: the CPU without a GPU device).
// Needs `trunk build --release --offline` first.
import { openPage } from './harness.mjs';
import { loadavg } from 'node:os';

const cpu = process.argv.includes('--cpu');
const auto = process.argv.includes('--auto');
const runs = Number(process.argv.slice(2).find((a) => !a.startsWith('--')) || 3);
const query = cpu || auto ? '?autostart' : '?autostart&backend=webgpu';
const s = await openPage({ webgpu: !cpu, query, cache: true });
const startup = (page) =>
  page.waitForFunction(() => document.querySelector('vae-playground')?.startup, null, { timeout: 300000, polling: 100 }).then((h) => h.jsonValue());
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const sec = (ms) => `${(ms / 1000).toFixed(2)} s`;
try {
  const load = loadavg()[0];
  const cold = await startup(s.page);
  const url = s.page.url();
  const context = s.page.context();
  let page = s.page;
  const all = [];
  for (let i = 0; i < runs; i++) {
    await page.close();
    page = await context.newPage();
    await page.goto(url);
    all.push(await startup(page));
  }
  const backend = await page.evaluate(() => document.querySelector('vae-playground').shadowRoot.querySelector('.backend').textContent);
  const mode = cpu ? 'no WebGPU (CPU fallback)' : auto ? 'backend=auto' : 'backend=webgpu';
  console.log(`vae-playground first trained samples: Chromium ${await s.browser.version()}, ${mode}: ${backend}, ${new Date().toISOString().slice(0, 10)}, load average ${load.toFixed(1)}`);
  console.log(`  first visit (cold cache): ${sec(cold.total)}`);
  console.log(`  data cached, ${runs} fresh tabs: ${all.map((b) => sec(b.total)).join(', ')} (median ${sec(median(all.map((b) => b.total)))})`);
  console.log('  phase (median over the cached runs; start and end after page load; phases overlap):');
  const names = [...new Set(all.flatMap((b) => b.phases.map((p) => p.name)))];
  for (const name of names) {
    const ps = all.map((b) => b.phases.find((p) => p.name === name)).filter(Boolean);
    console.log(`    ${name.padEnd(11)} ${median(ps.map((p) => p.ms)).toFixed(0).padStart(6)} ms   (${median(ps.map((p) => p.start)).toFixed(0).padStart(5)} -> ${median(ps.map((p) => p.end)).toFixed(0).padStart(5)} ms)`);
  }
  console.log(JSON.stringify({ mode, backend, load, cold: cold.total, runs: all }));
} finally {
  await s.close();
}
