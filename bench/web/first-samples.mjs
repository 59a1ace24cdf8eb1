#!/usr/bin/env node
// Time from page load to the first trained samples drawn, data cached, with the
// start-up breakdown by phase: opens the page once with ?autostart (filling the
// HTTP cache with the wasm and MNIST), then closes it and opens it again in a fresh
// tab of the same browser context (shared HTTP cache; no leftover GPU work from the
// previous tab), `runs` times, and reads the element's `startup` property (set when
// the first trained views are drawn; phases on the page's performance.now() clock,
// total = the `vae-playground:first-trained-samples` mark).
//   node bench/web/first-samples.mjs [--cpu | --auto] [--baseline DIR] [runs=3]
// Default: WebGPU, forced (backend=webgpu; on a machine without a GPU, SwiftShader).
// --cpu: no WebGPU in the browser, the CPU fallback. --auto: backend="auto" with
// WebGPU offered (on SwiftShader, a fallback adapter: the CPU without a GPU device).
// --baseline DIR: another build's dist/ (e.g. a worktree of an older commit after
// `trunk build --release --offline`), served from a second origin in the same
// browser; the two alternate tab by tab (which goes first alternates too) and both
// are printed, with the ratio of the medians: on a busy machine only such pairs compare.
// (Playwright's browser context keeps its HTTP cache in memory, which holds no
// entry as large as the 9.6 MB MNIST training file: that one comes over the local
// server each time, as it would on a fast network.)
// Needs `trunk build --release --offline` first.
import { openPage } from '../../tests/browser/harness.mjs';
import { startServer } from '../../tests/browser/server.mjs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';

const argv = process.argv.slice(2);
const cpu = argv.includes('--cpu');
const auto = argv.includes('--auto');
const at = argv.indexOf('--baseline');
const baselineDir = at >= 0 ? resolve(argv[at + 1]) : null;
const runs = Number(argv.find((a, i) => !a.startsWith('--') && (at < 0 || i !== at + 1)) || 3);
const query = cpu || auto ? '?autostart' : '?autostart&backend=webgpu';
const s = await openPage({ webgpu: !cpu, query, cache: true });
const base = baselineDir ? await startServer({ root: baselineDir, csp: true, cache: true }) : null;
const startup = (page) =>
  page.waitForFunction(() => document.querySelector('vae-playground')?.startup, null, { timeout: 300000, polling: 100 }).then((h) => h.jsonValue());
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const sec = (ms) => `${(ms / 1000).toFixed(2)} s`;
try {
  const loads = [loadavg()[0]];
  const context = s.page.context();
  const builds = [{ name: 'this build', url: s.page.url(), cold: await startup(s.page), all: [] }];
  let page = s.page;
  if (base) {
    await page.close();
    page = await context.newPage();
    const url = `${base.url}${query}`;
    await page.goto(url);
    builds.push({ name: `baseline (${baselineDir})`, url, cold: await startup(page), all: [] });
  }
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < builds.length; k++) {
      const b = builds[(i + k) % builds.length];
      await page.close();
      page = await context.newPage();
      await page.goto(b.url);
      b.all.push(await startup(page));
    }
    loads.push(loadavg()[0]);
  }
  const backend = await page.evaluate(() => document.querySelector('vae-playground').shadowRoot.querySelector('.backend').textContent);
  const mode = cpu ? 'no WebGPU (CPU fallback)' : auto ? 'backend=auto' : 'backend=webgpu';
  console.log(`vae-playground first trained samples: Chromium ${await s.browser.version()}, ${mode}: ${backend}, ${new Date().toISOString().slice(0, 10)}, load average ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}`);
  for (const b of builds) {
    if (base) console.log(`${b.name}:`);
    console.log(`  first visit (cold cache): ${sec(b.cold.total)}`);
    console.log(`  data cached, ${runs} fresh tabs: ${b.all.map((r) => sec(r.total)).join(', ')} (median ${sec(median(b.all.map((r) => r.total)))})`);
    console.log('  phase (median over the cached runs; start and end after page load; phases overlap):');
    const names = [...new Set(b.all.flatMap((r) => r.phases.map((p) => p.name)))];
    for (const name of names) {
      const ps = b.all.map((r) => r.phases.find((p) => p.name === name)).filter(Boolean);
      console.log(`    ${name.padEnd(11)} ${median(ps.map((p) => p.ms)).toFixed(0).padStart(6)} ms   (${median(ps.map((p) => p.start)).toFixed(0).padStart(5)} -> ${median(ps.map((p) => p.end)).toFixed(0).padStart(5)} ms)`);
    }
  }
  if (base) {
    const [ours, theirs] = builds.map((b) => median(b.all.map((r) => r.total)));
    console.log(`median, data cached: this build ${sec(ours)}, baseline ${sec(theirs)}: ${(ours / theirs).toFixed(2)}x the baseline's time`);
  }
  console.log(JSON.stringify({ mode, backend, loads, builds: builds.map((b) => ({ name: b.name, cold: b.cold.total, runs: b.all })) }));
} finally {
  await s.close();
  await base?.close();
}
