#!/usr/bin/env node
// Shrinks the release wasm with wasm-opt from the npm package `binaryen` (pinned
// in package.json; Debian's binaryen 108 exported the wrong table for
// wasm-bindgen's externref table, this one does not). Run by Trunk's post_build
// hook (Trunk.toml) on the staged dist/wasm/vae-playground_bg.wasm; debug builds
// (`trunk serve`) are left as they are. The result is kept by the input's hash
// (node_modules/.cache/vae-wasm-opt/), so an unchanged core is not optimised
// twice. Prints the size before and after.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const staging = process.env.TRUNK_STAGING_DIR;
if (!staging) {
  console.error('wasm-opt.mjs: run by Trunk (TRUNK_STAGING_DIR is not set)');
  process.exit(1);
}
if (process.env.TRUNK_PROFILE && process.env.TRUNK_PROFILE !== 'release') process.exit(0);
const file = join(staging, 'wasm', 'vae-playground_bg.wasm');
const bin = join(root, 'node_modules', 'binaryen', 'bin', 'wasm-opt');
if (!existsSync(bin)) {
  console.error(`wasm-opt.mjs: ${bin} is missing: run \`npm ci\` first`);
  process.exit(1);
}
// The features rustc enables for wasm32 (with +simd128, .cargo/config.toml).
const FEATURES = ['--enable-simd', '--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext',
  '--enable-mutable-globals', '--enable-reference-types', '--enable-multivalue'];
const input = readFileSync(file);
const hash = createHash('sha256').update(input).update(FEATURES.join(' ')).digest('hex').slice(0, 16);
const cache = join(root, 'node_modules', '.cache', 'vae-wasm-opt');
const kept = join(cache, `${hash}.wasm`);
if (!existsSync(kept)) {
  mkdirSync(cache, { recursive: true });
  const tmp = `${kept}.tmp`;
  const r = spawnSync(process.execPath, [bin, file, '-O2', ...FEATURES, '-o', tmp], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`wasm-opt.mjs: wasm-opt failed (exit ${r.status})`);
    process.exit(1);
  }
  for (const old of readdirSync(cache)) if (old.endsWith('.wasm')) rmSync(join(cache, old));
  renameSync(tmp, kept);
}
copyFileSync(kept, file);
console.log(`wasm-opt -O2 (npm binaryen): ${input.length} -> ${statSync(file).size} bytes`);
