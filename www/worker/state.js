// @ts-check
// The training worker's one state object: what trains, on what data, and how
// the loop is paced. Every worker module reads and writes it here; nothing
// else in the worker lives between messages. `emit` and `enqueue` are the two
// ways out: an event to the page, a message to the worker's own queue.

import * as perf from './perf.js';
import { BUILT_IN } from './data.js';
import { CopyKeeper } from './robust.js';

/**
 * The wasm-bindgen module (dist/wasm/vae-playground.js) and its Session,
 * typed by the declarations wasm-bindgen generates beside it.
 * @typedef {typeof import('../../dist/wasm/vae-playground.js')} Wasm
 * @typedef {import('../../dist/wasm/vae-playground.js').Session} Session
 * @typedef {import('../playground/state.js').Settings} Settings
 * @typedef {import('../playground/protocol.js').WorkerEvent} WorkerEvent
 * @typedef {import('../playground/protocol.js').BackendChoice} BackendChoice
 * @typedef {{ reason: string, message: string, probe?: { cpu: number, webgpu: number } }} Fallback  why not the backend asked for
 * @typedef {{ id?: number, op: string, args?: any, which?: 'train' | 'test' }} Message  a request (with an id) or the worker's own
 */

export const SAMPLE_COUNT = 64;
export const GRID = 15;
// Training starts on the first complete chunk of at least this many images (the
// first ~2% of the MNIST training file); each later feed replaces the set once it
// has tripled, so until the whole file is in, each epoch is a shuffle of the
// images so far (the file's first N: not sorted by class).
export const FIRST_SLICE = 1000;

export const worker = {
  /** @type {Promise<Wasm> | null} the wasm core, loading or loaded */
  wasm: null,
  /** @type {Session | null} */
  session: null,
  /** @type {Settings | null} what the page asked for */
  settings: null,
  /** @type {BackendChoice} */
  preferred: 'auto',
  running: false,
  /** @type {URL | null} where vae-worker.js, wasm/ and the data sets are */
  base: null,
  /** @type {Fallback | null} set once the GPU device was lost: stay on the CPU */
  lostDevice: null,
  /** The last host-side copy of the training state (while on WebGPU). */
  copies: new CopyKeeper(),
  /** @type {Map<string, import('./auto-backend.js').Choice>} backend="auto": the probe's choice per model shape */
  autoChoices: new Map(),
  /** @type {import('../playground/errors.js').WireError | null} set once the wasm core panicked: the session is gone */
  fatal: null,

  /** @type {import('./data.js').DatasetName} */
  dataset: 'mnist',
  /** @type {import('./mnist.js').Mnist | null} the built-in data set that trains (null: the reader's files) */
  mnist: null,
  /** How many images the current session has of each set. */
  fed: { train: 0, test: 0 },
  /** @type {{ images: { pixels: Uint8Array, count: number } | null, labels: Uint8Array | null }} the reader's test set, as the explore views read it */
  files: { images: null, labels: null },
  /** @type {Map<string, Uint8Array | null>} each built-in data set's test labels, parsed (null: on their way) */
  testLabels: new Map(),
  // Eight fixed test images (MNIST test indices of a 0, 1, 2, 3, 4, 5, 6 and 7;
  // the first eight of other data sets: one of each class for Fashion-MNIST).
  reconIndices: new Uint32Array(BUILT_IN.mnist.recon),

  /** The training loop's pacing: steps per train() call, adapted to ~120 ms. */
  chunk: 1,
  /** The samples, latent grid and reconstructions: codes, plane, when and at what cost. */
  views: { fixedZ: /** @type {Float32Array} */ (new Float32Array(0)), dims: [0, 1], lastAt: 0, cost: 0 },
  /** The test loss now and then: when and at what cost. */
  testLoss: { lastAt: 0, cost: 0 },

  /** The explore views' side (worker/explore.js). */
  explore: {
    /** @type {Map<string, import('./explore.js').Entry>} the items views watch */
    live: new Map(),
    /** @type {string[]} round-robin order of the next refreshes */
    turn: /** @type {string[]} */ ([]),
    itemAt: 0, // when the next watched item may refresh
    jobAt: 0, // when the next chunk of a long job may run
    /** @type {Session | null} the session the cached state belongs to */
    seen: null,
    labelsSet: false,
    /** @type {Uint8Array | null} the drawn digit, preprocessed (28x28 bytes) */
    drawn: null,
    /** @type {any} the plane of the last scatter (decodePlane, project) */
    plane: null,
    /** @type {{ kl: Float32Array, order: Uint32Array } | null} the last KL per dimension */
    lastKl: null,
    /** @type {import('./explore.js').Job[]} the long jobs, the first one advancing */
    jobs: /** @type {import('./explore.js').Job[]} */ ([]),
  },

  /** @type {Message[]} requests and the worker's own messages, in order */
  queue: /** @type {Message[]} */ ([]),
  /** @type {(() => void) | null} wakes the idle loop */
  wake: null,
};

/**
 * An event to the page.
 * @param {WorkerEvent} msg
 * @param {Transferable[]} [transfer]
 */
export function emit(msg, transfer = []) {
  perf.saw(msg);
  self.postMessage(msg, { transfer });
}

/**
 * A message to the worker's own queue (wakes the loop).
 * @param {Message} msg
 */
export function enqueue(msg) {
  worker.queue.push(msg);
  if (worker.wake) {
    const w = worker.wake;
    worker.wake = null;
    w();
  }
}
