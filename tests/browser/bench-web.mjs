#!/usr/bin/env node
// Benchmark mode in headless Chromium: opens dist/?bench=N, which trains N steps of
// the `mlp` preset at batch 128 on WebGPU and on the CPU (warm-up excluded), and
// prints images/s for each.   node tests/browser/bench-web.mjs [steps=50]
// Needs `trunk build --release --offline` first. Uses --enable-unsafe-webgpu, so on a
// machine without a GPU the WebGPU figure is SwiftShader's.
import { openPage } from './harness.mjs';

const steps = Number(process.argv[2] || 50);
const s = await openPage({ webgpu: true, query: `?bench=${steps}` });
try {
  const results = await s.page.evaluate(
    () => new Promise((resolve) => document.querySelector('vae-playground').addEventListener('bench', (e) => resolve(e.detail.results), { once: true })),
  );
  const version = await s.browser.version();
  console.log(`vae-playground web bench: mlp, batch 128, ${steps} steps after 5 warm-up, Chromium ${version}, ${new Date().toISOString().slice(0, 10)}`);
  for (const r of results) {
    if (r.error) console.log(`  ${r.backend.padEnd(7)} unavailable: ${r.error}`);
    else console.log(`  ${r.backend.padEnd(7)} ${Math.round(r.imagesPerSec).toString().padStart(7)} images/s  (${r.adapter}, ${r.seconds.toFixed(2)} s)`);
  }
  console.log(JSON.stringify(results));
} finally {
  await s.close();
}
