// @ts-check
// MNIST for the training worker: downloads the gzipped IDX files listed in
// mnist/manifest.json, streams their bytes into the wasm core's IDX decoder
// (IdxImages: it parses the header and checks the file) and keeps the complete
// images so far, both files at once, so training can start on the first
// thousand training images while the rest arrive.

import { kindError } from '../playground/errors.js';

/**
 * @typedef {'train' | 'test'} Which
 * @typedef {import('../../dist/wasm/vae-playground.js').IdxImages} IdxImages  the wasm core's streaming decoder
 * @typedef {{ pixels: Uint8Array, count: number }} Images
 * @typedef {{ test: { bytes: number, count: number }, train: { bytes: number, count: number } }} Plan
 * @typedef {{ which: Which, receivedBytes: number, images: number, done: boolean }} Progress
 */

const PROGRESS_MS = 100;

export class Mnist {
  /**
   * @param {Promise<new (name: string) => IdxImages>} decoder  the wasm core's IdxImages, once
   *   it is loaded (the download starts before, so the two overlap)
   * @param {{ plan: (p: Plan) => void, progress: (p: Progress) => void, arrived: (which: Which, count: number, done: boolean) => void,
   *   gate?: (which: Which, count: number) => Promise<void> | null }} hooks
   *   plan: sizes, before the download; progress: at most every 100 ms and at the end of each file;
   *   arrived: with each chunk, for the worker to decide when to hand images to the model;
   *   gate: a promise to wait for before decoding more (the worker's start-up comes first), or null
   * @param {string} [name]  the data set's name in messages (MNIST, Fashion-MNIST)
   */
  constructor(decoder, hooks, name = 'MNIST') {
    this.name = name;
    this.decoder = decoder;
    this.hooks = hooks;
    /** @type {Record<Which, { idx: IdxImages | null, snapshot: Images | null, done: boolean }>} */
    this.streams = {
      train: { idx: null, snapshot: null, done: false },
      test: { idx: null, snapshot: null, done: false },
    };
    /** @type {{ train: number, resolve: () => void }[]} */
    this.waiters = [];
    /** @type {Partial<Record<Which, Promise<Uint8Array>>>} the label files (whole IDX1 files, gunzipped) */
    this.labelFiles = {};
  }

  /**
   * A gzipped IDX label file, whole (10 KB for the test set): its bytes, for
   * the wasm core to parse.
   * @param {URL} url
   * @param {Which} which
   * @returns {Promise<Uint8Array>}
   */
  async downloadLabels(url, which) {
    let res;
    try {
      res = await fetch(url);
    } catch (err) {
      throw kindError('Network', `Could not download the ${this.name} ${which} labels (${url}: ${/** @type {Error} */ (err).message}).`);
    }
    if (!res.ok || !res.body) throw kindError('Network', `Could not download the ${this.name} ${which} labels (${url}: HTTP ${res.status}).`);
    return new Uint8Array(await new Response(res.body.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
  }

  /**
   * Downloads the training and the test images, both at once.
   * @param {URL} folder  the mnist/ folder
   */
  async load(folder) {
    const where = new URL('manifest.json', folder);
    let manifest;
    let res;
    try {
      res = await fetch(where);
    } catch (err) {
      throw kindError('Network', `Could not read the ${this.name} manifest at ${where} (${/** @type {Error} */ (err).message}).`);
    }
    if (!res.ok) throw kindError('Network', `Could not read the ${this.name} manifest at ${where} (HTTP ${res.status}).`);
    try {
      manifest = await res.json();
    } catch {
      throw kindError('BadFile', `The ${this.name} manifest at ${where} is not valid JSON.`);
    }
    const files = manifest?.files;
    for (const which of /** @type {const} */ (['test', 'train'])) {
      const f = files?.[which];
      if (!f || typeof f.url !== 'string' || !Number.isInteger(f.count) || !(f.count > 0) || !Number.isFinite(f.bytes)) {
        throw kindError('BadFile', `The ${this.name} manifest at ${where} lists no usable ${which} images (it needs a url, a byte size and a count above 0).`);
      }
    }
    this.hooks.plan({ test: { bytes: files.test.bytes, count: files.test.count }, train: { bytes: files.train.bytes, count: files.train.count } });
    if (manifest.labels?.test) this.labelFiles.test = this.downloadLabels(new URL(manifest.labels.test.url, folder), 'test');
    // Both at once: training starts on the first training images while the test
    // set arrives (the training file asked for first: the first step waits for it).
    const train = this.download(new URL(files.train.url, folder), 'train', files.train.count);
    const test = this.download(new URL(files.test.url, folder), 'test', files.test.count);
    await Promise.all([test, train]);
  }

  /**
   * @param {URL} url
   * @param {Which} which
   * @param {number} expected  the count the manifest announces
   */
  async download(url, which, expected) {
    let res;
    try {
      res = await fetch(url);
    } catch (err) {
      throw kindError('Network', `Could not download the ${this.name} ${which} images (${url}: ${/** @type {Error} */ (err).message}).`);
    }
    if (!res.ok || !res.body) throw kindError('Network', `Could not download the ${this.name} ${which} images (${url}: HTTP ${res.status}).`);
    let received = 0;
    const counter = new TransformStream({
      transform(bytes, ctl) {
        received += bytes.byteLength;
        ctl.enqueue(bytes);
      },
    });
    const reader = res.body.pipeThrough(counter).pipeThrough(new DecompressionStream('gzip')).getReader();
    const stream = this.streams[which];
    const IdxImages = await this.decoder;
    const idx = new IdxImages(`${this.name} ${which} images`);
    stream.idx = idx;
    let lastPost = 0;
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (err) {
        throw kindError('BadFile', `The ${this.name} ${which} images (${url}) are damaged: the download ended early or is not valid gzip (${/** @type {Error} */ (err).message}).`);
      }
      const { done, value } = chunk;
      if (done) break;
      idx.push(value);
      const wait = this.hooks.gate?.(which, idx.count);
      if (wait) await wait;
      if (idx.total > 0 && idx.total !== expected) {
        throw kindError('BadFile', `The ${this.name} ${which} images (${url}) hold ${idx.total} images but the manifest announces ${expected}: the file and the manifest do not belong together.`);
      }
      const now = performance.now();
      if (now - lastPost > PROGRESS_MS) {
        lastPost = now;
        this.report(which, received, idx.count, false);
      } else {
        this.hooks.arrived(which, idx.count, false); // (cheap: the first images should not wait for the next report)
      }
    }
    idx.finish();
    if (idx.count === 0) throw kindError('BadFile', `The ${this.name} ${which} images (${url}) hold no images.`);
    if (idx.count !== expected) throw kindError('BadFile', `The ${this.name} ${which} images (${url}) hold ${idx.count} images but the manifest announces ${expected}.`);
    this.images(which); // the final snapshot; the decoder is no longer needed
    stream.idx = null;
    idx.free();
    stream.done = true;
    this.report(which, received, this.count(which), true);
  }

  /**
   * @param {Which} which
   * @param {number} receivedBytes
   * @param {number} images
   * @param {boolean} done
   */
  report(which, receivedBytes, images, done) {
    this.hooks.progress({ which, receivedBytes, images, done });
    this.hooks.arrived(which, images, done);
    this.waiters = this.waiters.filter((w) => {
      if (!this.enough(w.train)) return true;
      w.resolve();
      return false;
    });
  }

  /**
   * The complete images so far, copied out of the decoder when more arrived.
   * @param {Which} which
   * @returns {Images | null}
   */
  images(which) {
    const s = this.streams[which];
    if (s.idx && s.idx.count > 0 && s.idx.count !== s.snapshot?.count) s.snapshot = { pixels: s.idx.pixels(), count: s.idx.count };
    return s.snapshot;
  }

  /** @param {Which} which */
  count(which) {
    const s = this.streams[which];
    return s.idx?.count ?? s.snapshot?.count ?? 0;
  }

  /** @param {number} minTrain */
  enough(minTrain) {
    return this.count('train') >= minTrain && this.streams.test.done;
  }

  /**
   * Resolves once the test set and `minTrain` training images are in.
   * @param {number} minTrain
   * @returns {Promise<void>}
   */
  ready(minTrain) {
    if (this.enough(minTrain)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ train: minTrain, resolve: () => resolve() }));
  }
}
