// @ts-check
// The worker's data and weights: the built-in data sets (MNIST,
// Fashion-MNIST; streamed from <name>/manifest.json like MNIST always was),
// the reader's own files (IDX, CIFAR-10 batches, PNG/JPEG; detected, parsed and
// resized by the wasm core's DataSet; pictures decoded here with
// createImageBitmap + OffscreenCanvas), and checkpoints (safetensors bytes from
// Session.checkpoint(), loaded with Session.fromCheckpoint()).
//
// Files are read into a *pending* set first: nothing the model trains on
// changes until the element asks for a model on them (`create` with dataset
// "files"), so a bad file leaves the current model and data as they were.

import { kindError } from '../playground/errors.js';
import { Mnist } from './mnist.js';

/**
 * @typedef {import('../playground/state.js').ImageShape} ImageShape
 * @typedef {import('../playground/state.js').Preset} Preset
 * @typedef {{ name: string, kind: string, count: number, channels: number, height: number, width: number, role: string }} FileInfo
 * @typedef {{ kind: 'idx' | 'cifar10' | 'images' | 'empty', channels: number, height: number, width: number, train: number,
 *   test: number, heldOut: boolean, labels: boolean, files: FileInfo[] }} DataSummary
 * @typedef {import('../../dist/wasm/vae-playground.js').DataSet} DataSetHandle  the wasm core's DataSet (src/web/data.rs)
 * @typedef {{ name: string, bytes: ArrayBuffer }} NamedBytes
 */

/** The built-in data sets: folder (next to the worker) and name. */
export const BUILT_IN = /** @type {const} */ ({
  mnist: { label: 'MNIST', recon: [3, 2, 1, 18, 4, 8, 11, 0] },
  'fashion-mnist': { label: 'Fashion-MNIST', recon: [0, 1, 2, 3, 4, 5, 6, 7] },
});
/** @typedef {keyof typeof BUILT_IN | 'files'} DatasetName */

/** @param {string} name @returns {name is keyof typeof BUILT_IN} */
export function isBuiltIn(name) {
  return Object.hasOwn(BUILT_IN, name);
}

/**
 * One built-in data set, streamed; its last plan and progress kept so that
 * selecting it again can show them.
 * @typedef {{ name: keyof typeof BUILT_IN, mnist: Mnist, plan: any, progress: any }} Stream
 */

/** @type {Map<string, Stream>} */
const streams = new Map();

/**
 * The stream of a built-in data set, started on first use.
 * @param {keyof typeof BUILT_IN} name
 * @param {{ decoder: Promise<any>, base: URL, hooks: (s: Stream) => ConstructorParameters<typeof Mnist>[1],
 *   failed: (err: unknown) => void }} how
 * @returns {Stream}
 */
export function stream(name, how) {
  let s = streams.get(name);
  if (s) return s;
  /** @type {Stream} */
  const fresh = { name, mnist: /** @type {any} */ (null), plan: null, progress: null };
  fresh.mnist = new Mnist(how.decoder, how.hooks(fresh), BUILT_IN[name].label);
  streams.set(name, fresh);
  fresh.mnist.load(new URL(`${name}/`, how.base)).catch(how.failed);
  s = fresh;
  return s;
}

// ------------------------------------------------------------ the reader's files

/** @typedef {{ set: DataSetHandle, summary: DataSummary, label: string, id: number }} Files  id: new for every set read */
/** @type {Files | null} the files the model trains on */
let user = null;
/** @type {Files | null} read, not yet trained on */
let pending = null;
let reads = 0;
/** @type {{ bytes: Uint8Array, name: string } | null} a checkpoint read by `files`, for `loadCheckpoint` */
let pendingCheckpoint = null;

export function userData() {
  return user;
}

/** A short name for a set of files: "data_batch_1.bin" or "37 files (cat.png, …)". */
function labelOf(/** @type {NamedBytes[]} */ files) {
  if (files.length === 1) return files[0].name;
  return `${files.length} files (${files[0].name}, …)`;
}

/**
 * The pixels of a PNG or JPEG, at their natural size (the wasm core crops,
 * resizes and converts them).
 * @param {string} name
 * @param {Uint8Array} bytes
 */
async function decodePicture(name, bytes) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(new Blob([/** @type {BlobPart} */ (bytes)]));
  } catch {
    throw kindError('BadFile', `${name}: the picture could not be decoded (a damaged or unsupported PNG/JPEG file).`);
  }
  try {
    const { width, height } = bitmap;
    const canvas = new OffscreenCanvas(width, height);
    const ctx = /** @type {OffscreenCanvasRenderingContext2D} */ (canvas.getContext('2d', { willReadFrequently: true }));
    ctx.drawImage(bitmap, 0, 0);
    return { rgba: new Uint8Array(ctx.getImageData(0, 0, width, height).data.buffer), width, height };
  } finally {
    bitmap.close();
  }
}

/** @param {Uint8Array} bytes */
async function gunzip(bytes) {
  const out = new Blob([/** @type {BlobPart} */ (bytes)]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(out).arrayBuffer());
}

/**
 * Reads dropped or picked files into a pending set (or a pending checkpoint):
 * every file is detected by its content. Throws BadFile naming the first file
 * that is none of the known kinds; what trains stays as it was.
 * @param {any} wasm  the wasm-bindgen module
 * @param {NamedBytes[]} files
 * @param {ImageShape[]} shapes  the presets' image shapes (to say which fit)
 * @returns {Promise<{ checkpoint: any } | { summary: DataSummary, fits: ImageShape[], label: string }>}
 */
export async function readFiles(wasm, files, shapes) {
  if (files.length === 0) throw kindError('BadFile', 'No files were given.');
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // One file that is none of the data kinds may be a checkpoint.
  if (sorted.length === 1) {
    const bytes = new Uint8Array(sorted[0].bytes);
    if (wasm.DataSet.sniff(bytes) === 'unknown') {
      let info = null;
      try {
        info = wasm.Session.inspectCheckpoint(bytes);
      } catch { /* not a checkpoint either: the DataSet's sentence below */ }
      if (info) {
        pendingCheckpoint = { bytes, name: sorted[0].name };
        return { checkpoint: { ...info, name: sorted[0].name } };
      }
    }
  }
  /** @type {DataSetHandle} */
  const set = new wasm.DataSet();
  try {
    for (const f of sorted) {
      let bytes = new Uint8Array(f.bytes);
      let kind = wasm.DataSet.sniff(bytes);
      if (kind === 'gzip') {
        try {
          bytes = await gunzip(bytes);
        } catch {
          throw kindError('BadFile', `${f.name}: the gzip data is damaged or truncated.`);
        }
        kind = wasm.DataSet.sniff(bytes);
      }
      if (kind === 'png' || kind === 'jpeg') {
        const { rgba, width, height } = await decodePicture(f.name, bytes);
        set.addImage(f.name, rgba, width, height);
      } else {
        set.addFile(f.name, bytes); // throws BadFile "NAME: ..." for unknown content
      }
    }
    const summary = set.summary();
    /** @type {ImageShape[]} */
    const fits = [];
    for (const shape of shapes) {
      try {
        set.check(shape);
        fits.push(shape);
      } catch { /* this shape does not fit */ }
    }
    if (!fits.length) set.check(shapes[0]); // throws the reason for the default model
    pending?.set.free();
    pending = { set, summary, label: labelOf(sorted), id: ++reads };
    return { summary, fits, label: pending.label };
  } catch (err) {
    set.free();
    throw err;
  }
}

/**
 * The set a model built with dataset "files" trains on: the pending one if
 * there is one (it becomes current once `commit` is called), else the current.
 */
export function filesForModel() {
  const d = pending ?? user;
  if (!d) throw kindError('BadFile', 'No files are loaded: drop or pick some first.');
  return d;
}

/** The model built on `d` is installed: `d` is what trains now. */
export function commitFiles(/** @type {Files} */ d) {
  if (d === pending) {
    if (user && user !== d) user.set.free();
    user = d;
    pending = null;
  }
}

/**
 * The checkpoint to load: given bytes, or the one `files` read.
 * @param {Uint8Array | undefined} bytes
 * @param {string} [name]
 */
export function checkpointBytes(bytes, name) {
  if (bytes) return { bytes, name: name ?? 'The checkpoint' };
  if (!pendingCheckpoint) throw kindError('BadFile', 'No checkpoint was given.');
  const c = pendingCheckpoint;
  pendingCheckpoint = null;
  return c;
}

/** @param {ImageShape} s */
export function shapeText(s) {
  return `${s.width}x${s.height} ${s.channels === 3 ? 'colour' : 'grey'}`;
}
