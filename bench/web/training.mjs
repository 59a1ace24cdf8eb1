#!/usr/bin/env node
// The web benchmark: images/s of `mlp`, `conv` and `conv2` at batch 128 in headless
// Chromium, ours (dist/?bench=N&preset=P: the element's benchmark mode, warm-up
// excluded) on WebGPU and on the CPU fallback (wasm), each beside its TensorFlow.js
// twin (bench/web/tfjs-twin.page.mjs: the same layers, loss, Adam and batch)
// on tfjs's webgpu and wasm backends, served from node_modules (never part of dist/).
// Ours and tfjs alternate, one fresh page each; a table per preset with the ratios.
//
//   node bench/web/training.mjs [steps=50] [--presets mlp,conv,conv2] [--conv-steps 20]
//        [--gpu-conv-steps 5] [--rounds 1] [--no-gpu] [--no-cpu] [--timeout 900]
//
// steps: timed steps of mlp on both backends; --conv-steps: of the conv presets on the
// CPU / wasm; --gpu-conv-steps: of the conv presets on WebGPU (slow on a software
// adapter). Needs `trunk build --release --offline` first. Uses --enable-unsafe-webgpu,
// so on a machine without a GPU the WebGPU rows are SwiftShader's.
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { openPage, ROOT } from '../../tests/browser/harness.mjs';

const argv = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const steps = Number(argv[0] && !argv[0].startsWith('--') ? argv[0] : 50);
const presets = String(flag('presets', 'mlp,conv,conv2')).split(',');
const convSteps = Number(flag('conv-steps', 20));
const gpuConvSteps = Number(flag('gpu-conv-steps', 5));
const rounds = Number(flag('rounds', 1));
const gpu = !argv.includes('--no-gpu');
const cpu = !argv.includes('--no-cpu');
const WARMUP = 5;

const TF = join(ROOT, 'node_modules', '@tensorflow');
const tfjsFiles = {
  '/tfjs-twin.html': join(ROOT, 'bench', 'web', 'tfjs-twin.html'),
  '/tfjs-twin.page.mjs': join(ROOT, 'bench', 'web', 'tfjs-twin.page.mjs'),
  '/tfjs/tf.min.js': join(TF, 'tfjs', 'dist', 'tf.min.js'),
  '/tfjs/tf-backend-wasm.min.js': join(TF, 'tfjs-backend-wasm', 'dist', 'tf-backend-wasm.min.js'),
  '/tfjs/tf-backend-webgpu.min.js': join(TF, 'tfjs-backend-webgpu', 'dist', 'tf-backend-webgpu.min.js'),
};
for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
  tfjsFiles[`/tfjs/${f}`] = join(TF, 'tfjs-backend-wasm', 'dist', f);
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

/** Ours: the element's benchmark mode on one backend. */
async function ours(preset, backend, n, opened = []) {
  const s = await openPage({ webgpu: backend === 'webgpu', query: `?bench=${n}&preset=${preset}&backend=${backend}` });
  opened.push(s);
  try {
    const results = await s.page.evaluate(
      () => new Promise((resolve) => document.querySelector('vae-playground').addEventListener('bench', (e) => resolve(e.detail.results), { once: true })),
    );
    return results[0];
  } finally {
    await s.close();
  }
}

/** The tfjs twin on one tfjs backend ('wasm' or 'webgpu'). */
async function twin(preset, backend, n, opened = []) {
  // No COOP/COEP, like our page: not cross-origin isolated, so tfjs-wasm runs one thread.
  const s = await openPage({ webgpu: backend === 'webgpu', csp: false, path: 'tfjs-twin.html', query: `?preset=${preset}&backend=${backend}&steps=${n}&warmup=${WARMUP}`, overrides: tfjsFiles });
  opened.push(s);
  try {
    return await s.page.evaluate(() => globalThis.__twin);
  } finally {
    await s.close();
  }
}

const limitS = Number(flag('timeout', 900));

/**
 * One measurement; a crash of the page (seen once under heavy load), or a run over
 * --timeout seconds (default 900), becomes that row's error.
 */
async function measure(fn, ...args) {
  let timer;
  const opened = [];
  try {
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`over ${limitS} s (--timeout)`)), limitS * 1000);
    });
    return await Promise.race([fn(...args, opened), late]);
  } catch (err) {
    return { error: String(err && err.message || err).split('\n')[0] };
  } finally {
    clearTimeout(timer);
    for (const s of opened) await s.close().catch(() => {}); // (closed already unless it timed out)
  }
}

const fmt = (r) => (!r ? '-' : r.error ? `error: ${r.error}` : `${Math.round(r.imagesPerSec).toLocaleString('en-US')}`);
const ratio = (a, b) => (a && b && !a.error && !b.error ? `${(a.imagesPerSec / b.imagesPerSec).toFixed(2)}x` : '-');

/** The tfjs twin's check of the wasm kernel it patches in (see tfjs-twin.page.mjs). */
async function checkPatch() {
  const s = await openPage({ webgpu: false, csp: false, path: 'tfjs-twin.html', query: '?check', overrides: tfjsFiles });
  try {
    return { ...(await s.page.evaluate(() => globalThis.__twin)), chromium: await s.browser.version() };
  } finally {
    await s.close();
  }
}

const check = await checkPatch();
console.log(`vae-playground web bench: batch 128, ${WARMUP} warm-up steps excluded, Chromium ${check.chromium}, ${new Date().toISOString().slice(0, 16)} UTC`);
console.log(`  ${check.error ? `tfjs patch check failed: ${check.error}` : `${check.check}: largest relative difference ${check.relError.toExponential(1)} over ${check.cases} layer shapes`}`);
console.log(`  timed steps: mlp ${steps}; conv presets ${convSteps} on the CPU / wasm, ${gpuConvSteps} on WebGPU; ${rounds} round(s), ours and tfjs alternating; load average at start ${load()}`);
const all = [];
for (const preset of presets) {
  const conv = preset !== 'mlp';
  const cpuN = conv ? convSteps : steps;
  const gpuN = conv ? gpuConvSteps : steps;
  for (let r = 0; r < rounds; r++) {
    const row = { preset, round: r + 1, load: [load()] };
    if (cpu) {
      row.cpu = await measure(ours, preset, 'cpu', cpuN);
      row.wasm = await measure(twin, preset, 'wasm', cpuN);
      row.load.push(load());
    }
    if (gpu) {
      row.webgpu = await measure(ours, preset, 'webgpu', gpuN);
      row.tfwebgpu = await measure(twin, preset, 'webgpu', gpuN);
      row.load.push(load());
    }
    all.push(row);
    console.log(`\n${preset} (round ${row.round}), images/s, load average ${row.load.join(' -> ')}`);
    console.log('  | where | ours | TensorFlow.js 4.22 | ours / tfjs |');
    console.log('  |---|---|---|---|');
    if (cpu) console.log(`  | CPU: ours wasm vs tfjs-wasm | ${fmt(row.cpu)} | ${fmt(row.wasm)} | ${ratio(row.cpu, row.wasm)} |`);
    if (gpu) console.log(`  | WebGPU: ours vs tfjs-webgpu | ${fmt(row.webgpu)} | ${fmt(row.tfwebgpu)} | ${ratio(row.webgpu, row.tfwebgpu)} |`);
    console.log(`  ours CPU: ${row.cpu?.adapter ?? '-'}; ours WebGPU: ${row.webgpu?.adapter ?? '-'}`);
    if (cpu) console.log(`  tfjs wasm: ${row.wasm?.adapter ?? ''}${row.wasm?.patched?.length ? `; no wasm kernel for ${row.wasm.patched.join(', ')} in tfjs 4.22 (training throws without it): registered from wasm Transpose + dilated Conv2D` : ''}`);
    if (gpu) console.log(`  tfjs webgpu: ${row.tfwebgpu?.adapter ?? row.tfwebgpu?.error ?? ''}`);
  }
}
// One line per preset and pair: the median of the rounds, and the ratio of the medians.
const med = (xs) => {
  const v = xs.filter((r) => r && !r.error).map((r) => r.imagesPerSec).sort((a, b) => a - b);
  return v.length ? v[Math.floor((v.length - 1) / 2)] : null;
};
console.log('\nsummary (median of the rounds, images/s):');
for (const preset of presets) {
  const rows = all.filter((r) => r.preset === preset);
  for (const [label, a, b] of [['CPU: ours wasm / tfjs-wasm', 'cpu', 'wasm'], ['WebGPU: ours / tfjs-webgpu', 'webgpu', 'tfwebgpu']]) {
    const x = med(rows.map((r) => r[a]));
    const y = med(rows.map((r) => r[b]));
    if (x === null && y === null) continue;
    const target = a === 'cpu' && preset !== 'mlp' ? (x && y ? (x / y >= 3 ? ' (target >= 3x: met)' : ' (target >= 3x: not met)') : '') : '';
    console.log(`  ${preset.padEnd(6)} ${label}: ${x === null ? '-' : Math.round(x)} / ${y === null ? '-' : Math.round(y)} = ${x && y ? `${(x / y).toFixed(2)}x` : '-'}${target}`);
  }
}
console.log(`load average at the end ${load()}`);
console.log(JSON.stringify(all));
