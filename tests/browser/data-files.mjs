// Synthetic data files in the real formats, for the browser tests of the page's
// own-data path: an IDX image + label pair, a CIFAR-10 binary batch, a set of
// PNG pictures. Small and deterministic (a counter-based hash, no Math.random).
import { crc32, deflateSync } from 'node:zlib';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A deterministic byte for (seed, i). */
function hash(seed, i) {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return (h >>> 0) & 255;
}

/** A blob of `classId`'s shape: class 0..9 puts a bright square in a different place. */
function blob(c, x, y, side) {
  const cx = ((c % 5) + 0.5) * (side / 5);
  const cy = (Math.floor(c / 5) + 0.5) * (side / 2);
  return Math.abs(x - cx) < side / 6 && Math.abs(y - cy) < side / 5;
}

function idxHeader(dims) {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h.writeUInt32BE(0x0800 | dims.length, 0);
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return h;
}

/** IDX images (n, 28, 28) and labels (n). */
export function idxPair(n = 200) {
  const side = 28;
  const pixels = Buffer.alloc(n * side * side);
  const labels = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    const c = i % 10;
    labels[i] = c;
    for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) pixels[(i * side + y) * side + x] = blob(c, x, y, side) ? 200 + (hash(i, y * side + x) % 56) : hash(i, y * side + x) % 20;
  }
  return { images: Buffer.concat([idxHeader([n, side, side]), pixels]), labels: Buffer.concat([idxHeader([n]), labels]) };
}

const PALETTE = [[230, 40, 40], [40, 200, 60], [50, 90, 240], [240, 200, 30], [200, 60, 220], [30, 210, 220], [250, 130, 20], [240, 240, 240], [120, 60, 20], [150, 230, 120]];

/** One CIFAR-10 binary batch: n records of label byte + R, G, B planes of 32x32. */
export function cifarBatch(n = 200, seed = 1) {
  const side = 32;
  const rec = 1 + 3 * side * side;
  const out = Buffer.alloc(n * rec);
  for (let i = 0; i < n; i++) {
    const c = (i + Math.floor(i / 10)) % 10; // so that every tenth image (the held-out test set) varies too
    out[i * rec] = c;
    for (let ch = 0; ch < 3; ch++) {
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          const inside = blob(c, x, y, side);
          // class c tints its square with a colour of its own; the background is dim noise
          const tint = PALETTE[c][ch];
          out[i * rec + 1 + ch * side * side + y * side + x] = inside ? tint : 30 + (hash(seed * 7919 + i, ch * 4096 + y * side + x) % 40);
        }
      }
    }
  }
  return out;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td) >>> 0);
  return Buffer.concat([len, td, crc]);
}

/** An RGB PNG of `w`x`h` from `px(x, y) -> [r, g, b]`. */
export function png(w, h, px) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const raw = Buffer.alloc(h * (1 + 3 * w));
  for (let y = 0; y < h; y++) {
    raw[y * (1 + 3 * w)] = 0; // filter: none
    for (let x = 0; x < w; x++) raw.set(px(x, y), y * (1 + 3 * w) + 1 + 3 * x);
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** `n` PNG pictures of 40x36 pixels (not the model's size: the page resizes them). */
export function pngSet(n = 30) {
  return Array.from({ length: n }, (_, i) => ({
    name: `picture-${String(i).padStart(3, '0')}.png`,
    bytes: png(40, 36, (x, y) => (blob(i % 10, x, y, 36) ? [220, 60 + (i % 5) * 30, 40] : [hash(i, y * 40 + x) % 30, 20, 60])),
  }));
}

/** Writes the files into `dir`; returns their paths. */
export function writeDataFiles(dir) {
  mkdirSync(dir, { recursive: true });
  const idx = idxPair();
  const paths = {
    idxImages: join(dir, 'shapes-images-idx3-ubyte'),
    idxLabels: join(dir, 'shapes-labels-idx1-ubyte'),
    cifar: join(dir, 'data_batch_1.bin'),
    pngs: [],
    junk: join(dir, 'notes.txt'),
  };
  writeFileSync(paths.idxImages, idx.images);
  writeFileSync(paths.idxLabels, idx.labels);
  writeFileSync(paths.cifar, cifarBatch());
  writeFileSync(paths.junk, 'these are not images\n');
  for (const p of pngSet()) {
    const file = join(dir, p.name);
    writeFileSync(file, p.bytes);
    paths.pngs.push(file);
  }
  return paths;
}
