// @ts-check
// The one way the element talks to its worker (vae-worker.js): a request carries
// an id and is answered by exactly one reply with that id, holding a result or an
// error with a kind. Every request settles: with the reply, or with a rejection
// when the worker fails to load or run, or when the element closes the client.
// Besides replies the worker pushes events (metrics, pictures, download progress),
// which carry no id.
//
//   page -> worker   { id, op, args }
//   worker -> page   { id, result } | { id, error: { name, message } }   (the reply)
//                    { event, ...fields }                                 (a push)
// A `fatal` push (the wasm core panicked) means no request will succeed again:
// the element rejects every pending one and offers Reset (a fresh worker).

import { fromWire, kindError } from './errors.js';

/**
 * @typedef {import('./errors.js').WireError} WireError
 * @typedef {import('./state.js').Catalog} Catalog
 * @typedef {import('./state.js').Settings} Settings
 * @typedef {import('./state.js').ResolvedConfig} ResolvedConfig
 * @typedef {import('./state.js').BackendInfo} BackendInfo
 * @typedef {'auto' | 'webgpu' | 'cpu'} BackendChoice
 * @typedef {'mnist' | 'fashion-mnist' | 'files'} DatasetName
 * @typedef {import('../worker/data.js').DataSummary} DataSummary
 * @typedef {{ checkpoint: any } | { summary: DataSummary, fits: import('./state.js').ImageShape[], label: string }} FilesResult
 * @typedef {{ what: string, [key: string]: any }} ExploreArgs  see www/worker/explore.js
 * @typedef {{ input: Uint8Array, recon: Float32Array, point: Float32Array | null }} Drawing  the drawn digit as the
 *   model sees it (28x28 bytes), its reconstruction and its point on the last scatter's plane (null: no scatter yet)
 * @typedef {{ empty: true } | Drawing} DrawResult  empty: nothing drawn (the pad was cleared)
 * @typedef {{ backend: 'webgpu' | 'cpu', adapter?: string, error?: string, steps?: number, batch?: number,
 *   seconds?: number, imagesPerSec?: number, loss?: number, preset?: string }} BenchResult
 * @typedef {{ steps: number, warmup: number, batch: number, preset?: string, backends?: ('webgpu' | 'cpu')[] }} BenchPlan
 */

/**
 * Each request: [what it takes, what its reply holds].
 * @typedef {object} Ops
 * @property {[{ base: string, backend: BackendChoice, dataset?: string }, Catalog]} init  load the wasm, start the
 *   download of the data set (MNIST unless another built-in one is named); the presets and limits
 * @property {[{ config: Settings, dataset?: DatasetName }, ResolvedConfig]} create  a new model (the first one, or a reset),
 *   on `dataset` if given (else the one that trains); a `model` event precedes the reply
 * @property {[{ files: { name: string, bytes: ArrayBuffer }[] }, FilesResult]} files  read the reader's files
 *   (detected by content); nothing trains on them until `create` names dataset "files"
 * @property {[{}, Uint8Array]} checkpoint  the model as safetensors bytes
 * @property {[{ bytes?: Uint8Array, name?: string }, { config: ResolvedConfig, settings: Settings, step: number }]} loadCheckpoint
 *   a model from checkpoint bytes (or the checkpoint `files` read) in place of the current one
 * @property {[{ images: number }, import('./state.js').EvalMetrics]} evaluate  the loss on the first `images` test images
 * @property {[{}, null]} start  train until paused
 * @property {[{}, null]} pause  resolves once the worker has stopped stepping
 * @property {[{ beta?: number, lr?: number }, ResolvedConfig]} hyper  live changes
 * @property {[{ x: number, y: number }, null]} dims  the latent grid's plane (Z > 2); a `frame` event follows
 * @property {[BenchPlan, BenchResult[]]} bench  images/s per backend
 * @property {[{ n: number }, Float32Array]} sample  n new images from the prior
 * @property {[{ z: Float32Array, n: number }, Float32Array]} decode  n codes to n images
 * @property {[{ pixels: Uint8Array, n: number }, Float32Array]} encode  n images (bytes) to n mean codes
 * @property {[ExploreArgs, any]} explore  the explore views' requests (worker/explore.js): watch an item,
 *   a digit, decode plane points, inpaint, the whole-test-set loss, the IWAE bound
 * @property {[{ pixels: Uint8Array, width: number, height: number }, DrawResult & { ms: number }]} draw  a drawing (grey
 *   bytes, any size), preprocessed as MNIST was made; the views that draw from it follow with `explore` events
 * @property {[{}, null]} dispose  free the wasm session; the worker then waits to be terminated
 * @property {[{ fault: 'panic' | 'device-lost' }, null]} debug  test hook (the element's debug-faults attribute)
 * @property {[{}, ResolvedConfig]} webgpu  after a lost device: move the model back to WebGPU at the same step
 * @property {[{ on: boolean }, import('../worker/perf.js').PerfReport | null]} perf  the performance overlay opened or closed:
 *   while open, `perf` events follow at most twice a second; the reply holds the numbers so far
 */

/**
 * What the worker pushes, by `event`.
 * @typedef {{ event: 'loading' }
 *   | { event: 'dataplan', name?: string, test: { bytes: number, count: number }, train: { bytes: number, count: number } }
 *   | { event: 'data', which: 'train' | 'test', receivedBytes: number, images: number, done: boolean }
 *   | { event: 'model', config: ResolvedConfig, backend: BackendInfo, step?: number, dataset?: DatasetName, dataKey?: string, continued?: { step: number } }
 *   | { event: 'state', running: boolean }
 *   | { event: 'metrics', metrics: import('./state.js').TrainMetrics }
 *   | { event: 'test', metrics: import('./state.js').EvalMetrics }
 *   | { event: 'frame', samples?: Float32Array, grid?: Float32Array, gridSize: number, recon?: Float32Array }
 *   | { event: 'originals', images: Uint8Array }
 *   | { event: 'bench', results: BenchResult[] }
 *   | { event: 'explore', item: string, ms?: number, [key: string]: any }
 *   | { event: 'perf', report: import('../worker/perf.js').PerfReport }
 *   | { event: 'error', error: WireError, retry?: boolean }
 *   | { event: 'fatal', error: WireError }
 *   | { event: 'startup', phase: string, start: number, end: number }} WorkerEvent  startup: a start-up phase, times
 *   in epoch milliseconds (performance.timeOrigin + performance.now()), see worker/startup.js
 */

const DISPOSE_WAIT_MS = 2000;

export class WorkerClient {
  /**
   * @param {Worker} worker  a module worker running vae-worker.js
   * @param {{ onEvent: (e: WorkerEvent) => void, onFailure: (err: Error) => void, workerUrl: string }} hooks
   *   onFailure: the worker could not load or died; every pending request has been rejected
   */
  constructor(worker, { onEvent, onFailure, workerUrl }) {
    /** @type {Worker | null} */
    this.worker = worker;
    /** @type {Map<number, { resolve: (v: any) => void, reject: (e: Error) => void }>} */
    this.pending = new Map();
    this.nextId = 1;
    /** @type {Error | null} why requests can no longer be answered */
    this.closedBy = null;
    worker.onmessage = (e) => {
      const msg = e.data;
      if (this.closedBy) return;
      if (typeof msg.id === 'number') this.settle(msg);
      else onEvent(msg);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      const err = kindError('WorkerFailed', `The training worker failed (${e.message || 'it could not be loaded'}). Check that ${workerUrl} is reachable and that the page's Content-Security-Policy allows it (worker-src).`);
      this.fail(err);
      worker.terminate();
      this.worker = null;
      onFailure(err);
    };
  }

  /**
   * Sends one request; resolves with its reply's result or rejects with its error.
   * @template {keyof Ops} K
   * @param {K} op
   * @param {Ops[K][0]} args
   * @param {Transferable[]} [transfer]
   * @returns {Promise<Ops[K][1]>}
   */
  request(op, args, transfer = []) {
    if (this.closedBy || !this.worker) return Promise.reject(this.closedBy || kindError('NotRunning', 'The playground is not running.'));
    const id = this.nextId++;
    const worker = this.worker;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, op, args }, transfer);
    });
  }

  /** @param {{ id: number, result?: unknown, error?: WireError }} msg */
  settle(msg) {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.error) p.reject(fromWire(msg.error));
    else p.resolve(msg.result);
  }

  /**
   * Rejects every pending request (and every later one) with `err`.
   * @param {Error} err
   */
  fail(err) {
    this.closedBy = err;
    for (const { reject } of this.pending.values()) reject(err);
    this.pending.clear();
  }

  /**
   * Ends the worker: pending requests reject with `reason`; the worker first
   * frees its wasm session (GPU buffers, device), then is terminated (at once if
   * it does not answer within 2 s).
   * @param {Error} reason
   */
  close(reason) {
    const worker = this.worker;
    if (this.closedBy) {
      worker?.terminate();
      this.worker = null;
      return;
    }
    this.fail(reason);
    this.worker = null;
    if (!worker) return;
    const end = () => {
      clearTimeout(timer);
      worker.terminate();
    };
    const timer = setTimeout(end, DISPOSE_WAIT_MS);
    worker.onmessage = (e) => {
      if (e.data && e.data.id === 0) end();
    };
    worker.onerror = end;
    // id 0: outside the numbering of ordinary requests, answered only here.
    worker.postMessage({ id: 0, op: 'dispose', args: {} });
  }
}
