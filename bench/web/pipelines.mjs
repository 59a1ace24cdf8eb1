#!/usr/bin/env node
// What each compute pipeline costs to create on the browser's WebGPU adapter
// (headless Chromium here: SwiftShader, which compiles every pipeline with LLVM
// on the CPU). Serves shaders/ as they are and, in a page of that origin, creates
// each pipeline with createComputePipelineAsync on a fresh device, one at a time
// (its time is its compile), then all of them at once on another fresh device
// (whether the browser compiles them in parallel). Layout "auto": the compile is
// the same as with the element's explicit layouts, which change only the bindings.
//   node bench/web/pipelines.mjs [--all]
// Default: the pipelines the `mlp` preset's step and views create (the override
// constants as src/gpu/dense.rs and ops.rs set them, 2026-11-24); --all: every
// entry point of every shader, with its override defaults.
import { chromium } from 'playwright-core';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../tests/browser/harness.mjs';
import { startServer } from '../../tests/browser/server.mjs';

// [file, entry point, override constants]; WG (the element-wise kernels'
// workgroup size) is the default 256 the element uses on SwiftShader.
const MLP = [
  ['gather', 'gather_images_forward', {}],
  ['matmul', 'matmul_fused', { TRANS_A: 0, TRANS_B: 1, EPI: 1, ACT: 1, VEC_IN: 1 }],
  ['matmul', 'matmul_fused', { TRANS_A: 0, TRANS_B: 1, EPI: 1, ACT: 0, VEC_IN: 1 }],
  ['reparam', 'reparam_fused_forward', {}],
  ['recon', 'recon_loss_forward', {}],
  ['matmul', 'matmul_fused', { TRANS_A: 1, TRANS_B: 0, EPI: 2, ACT: 0, VEC_IN: 2 }],
  ['matmul', 'matmul_fused', { TRANS_A: 0, TRANS_B: 0, EPI: 3, ACT: 1, VEC_IN: 0 }],
  ['matmul', 'matmul_forward', { TRANS_A: 0, TRANS_B: 0 }],
  ['reparam', 'reparam_backward_data', {}],
  ['adam', 'adam_forward', {}],
  ['reduce', 'sum_pair_forward', {}],
  ['reduce', 'sum_into_forward', {}],
  ['activation', 'activation_forward', {}],
];

const all = process.argv.includes('--all');
const server = await startServer({ root: join(ROOT, 'shaders') });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--enable-unsafe-webgpu'] });
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}blank`); // (a 404 page) the shaders' origin: it fetches them
  const load = loadavg()[0];
  const r = await page.evaluate(async ({ list, all }) => {
    const files = ['activation', 'adam', 'bias', 'conv', 'conv_gemm', 'fill', 'gather', 'matmul', 'recon', 'reduce', 'reparam'];
    const src = Object.fromEntries(await Promise.all(files.map(async (f) => [f, await (await fetch(`${f}.wgsl`)).text()])));
    const items = all
      ? files.flatMap((f) => [...src[f].matchAll(/@compute[^\n]*\n\s*fn\s+([a-z_0-9]+)/g)].map((m) => [f, m[1], {}]))
      : list;
    const fresh = async () => (await navigator.gpu.requestAdapter()).requestDevice();
    const info = (await navigator.gpu.requestAdapter()).info;
    const create = async (device, [f, entryPoint, constants], modules) => {
      if (!modules.has(f)) modules.set(f, device.createShaderModule({ code: src[f] }));
      return device.createComputePipelineAsync({ layout: 'auto', compute: { module: modules.get(f), entryPoint, constants } });
    };
    let device = await fresh();
    let modules = new Map();
    const each = [];
    for (const it of items) {
      const t0 = performance.now();
      await create(device, it, modules);
      each.push({ name: `${it[0]}.wgsl ${it[1]} ${JSON.stringify(it[2])}`, ms: performance.now() - t0 });
    }
    device.destroy();
    device = await fresh();
    modules = new Map();
    const t0 = performance.now();
    await Promise.all(items.map((it) => create(device, it, modules)));
    const together = performance.now() - t0;
    device.destroy();
    return { adapter: `${info.vendor} ${info.architecture} ${info.description}`.trim(), each, together };
  }, { list: MLP, all });
  const total = r.each.reduce((s, e) => s + e.ms, 0);
  console.log(`compute pipelines on ${r.adapter || 'the adapter'} (Chromium ${browser.version()}), ${all ? 'every entry point' : 'the mlp preset'}, load average ${load.toFixed(1)}:`);
  for (const e of r.each) console.log(`  ${e.ms.toFixed(0).padStart(6)} ms  ${e.name}`);
  console.log(`  one at a time: ${r.each.length} pipelines, ${total.toFixed(0)} ms; all at once: ${r.together.toFixed(0)} ms`);
  console.log(JSON.stringify({ load, ...r }));
} finally {
  await browser.close();
  await server.close();
}
