// @ts-check
// The training worker of <vae-playground>: loads the wasm core, streams MNIST
// into it, trains, and sends metrics and pictures back to the element. Numerics
// and parsing live in the wasm core; this file schedules.
//
// It answers the requests of playground/protocol.js (each `{ id, op, args }`
// gets one reply `{ id, result }` or `{ id, error: { name, message } }`) and
// pushes events (`{ event, ... }`) listed there. Requests are handled one at a
// time, between chunks of training steps. The rest lives in worker/:
//   state.js     the worker's one state object
//   requests.js  one handler per request
//   model.js     the session in use, training chunks, the pictures sent back
//   session.js   the wasm core and the backend a session runs on
//   feed.js      the built-in data sets into the model
//   explore.js   the explore views' side

import { toWire } from './playground/errors.js';
import { exploreTick, refreshDrawn } from './worker/explore.js';
import { feed, sendOriginals } from './worker/feed.js';
import { evaluateTest, refreshViews, trainChunk } from './worker/model.js';
import * as perf from './worker/perf.js';
import { explore, handle } from './worker/requests.js';
import { isPanic, panicMessage } from './worker/robust.js';
import { done } from './worker/startup.js';
import { emit, enqueue, worker } from './worker/state.js';

/** @typedef {import('./worker/state.js').Message} Message */

self.onmessage = (event) => enqueue(event.data);

/**
 * The wasm core panicked: its module is unusable. Every queued request is
 * answered with the error, and every later one too; the element shows the
 * message and offers Reset (a fresh worker).
 * @param {unknown} err
 */
function die(err) {
  /** @type {import('./playground/errors.js').WireError} */
  const fatal = { name: 'Internal', message: `The training core crashed (${panicMessage(err)}). Press Reset to start again; the model trained so far is lost.` };
  worker.fatal = fatal;
  worker.running = false;
  worker.session = null;
  // The page hears of the crash first: it then rejects its pending calls with
  // this one error, rather than each reply reporting the crash again.
  emit({ event: 'fatal', error: fatal });
  for (const m of worker.queue.splice(0)) {
    if (typeof m.id === 'number' && m.op !== 'dispose') self.postMessage({ id: m.id, error: fatal });
    else if (m.op === 'dispose') worker.queue.push(m);
  }
  emit({ event: 'state', running: false });
}

/** @param {Message} msg  a message with no id: the worker's own */
async function internal(msg) {
  if (msg.op === '_drawn') await refreshDrawn(explore);
  if (msg.op !== '_feed' || !msg.which) return;
  // Fed images replace the whole set (a GPU upload): when more have already
  // arrived and another feed is queued, let that one do it.
  if (worker.queue.some((m) => m.op === '_feed' && m.which === msg.which)) return;
  feed(worker.session, msg.which);
  if (msg.which === 'test') {
    // (before the first trained views, the next refresh shows the reconstructions)
    if (done('first-view') || !worker.running) await refreshViews();
    sendOriginals();
  }
}

/** @param {number} id */
async function dispose(id) {
  // The element was removed: release the wasm session (GPU buffers, device)
  // before the element terminates this worker.
  worker.running = false;
  worker.queue.length = 0;
  if (worker.session) {
    try { worker.session.free(); } catch { /* already gone */ }
    worker.session = null;
  }
  self.postMessage({ id, result: null });
  await new Promise(() => {}); // nothing more: wait to be terminated
}

// The CPU backend's promises resolve as microtasks, so a loop of `await train()`
// would never let a message (pause, hyper, data chunks) in: yield a macrotask
// turn between chunks. A MessageChannel hop has no setTimeout clamping.
const yieldChannel = new MessageChannel();
/** @type {(() => void)[]} */
const yielders = [];
yieldChannel.port1.onmessage = () => yielders.shift()?.();
function yieldToEvents() {
  return new Promise((resolve) => {
    yielders.push(() => resolve(undefined));
    yieldChannel.port2.postMessage(null);
  });
}

/**
 * Whether a message waits until the first trained views are out:
 * - a feed of more training images, once the model has some (replacing them,
 *   copying tens of MB on the CPU backend, would hold up the first step and view);
 * - while training starts, the explore views' requests (each watched view is
 *   computed at once, e.g. the scatter encodes up to 2,000 test digits: a quarter
 *   of a second before the first step on the CPU); all of them, so that they keep
 *   their order. They are answered right after the first trained views.
 * @param {Message} msg
 */
function waitsForFirstView(msg) {
  if (done('first-view')) return false;
  if (msg.op === '_feed') return msg.which === 'train' && worker.fed.train > 0;
  return (msg.op === 'explore' || msg.op === 'draw') && worker.running && worker.session !== null;
}

async function loop() {
  const { queue } = worker;
  for (;;) {
    await yieldToEvents();
    /** @type {Message[]} */
    const later = [];
    while (queue.length) {
      const msg = /** @type {Message} */ (queue.shift());
      if (waitsForFirstView(msg)) {
        later.push(msg);
        continue;
      }
      if (msg.op === 'dispose') await dispose(msg.id ?? 0);
      if (worker.fatal) {
        if (typeof msg.id === 'number') self.postMessage({ id: msg.id, error: worker.fatal });
        continue;
      }
      if (typeof msg.id !== 'number') {
        try {
          await internal(msg);
        } catch (err) {
          if (isPanic(err)) die(err);
          else emit({ event: 'error', error: toWire(err) });
        }
        continue;
      }
      try {
        const result = await handle(msg);
        const transfer = result instanceof Float32Array ? [result.buffer] : [];
        self.postMessage({ id: msg.id, result }, { transfer });
      } catch (err) {
        if (isPanic(err)) {
          die(err);
          self.postMessage({ id: msg.id, error: worker.fatal });
          continue;
        }
        self.postMessage({ id: msg.id, error: toWire(err) });
        if (!worker.session && worker.running) {
          worker.running = false;
          emit({ event: 'state', running: false });
        }
      }
    }
    queue.unshift(...later);
    if (worker.running && worker.session) {
      try {
        await trainChunk();
        const now = performance.now();
        const { views, testLoss } = worker;
        // Keep views and evaluation under ~25% of the time.
        // (the first trained views at once: they end the start-up)
        if (now - views.lastAt > Math.max(600, views.cost * 3) || (done('first-step') && !done('first-view'))) await refreshViews();
        if (now - testLoss.lastAt > Math.max(2500, testLoss.cost * 4)) await evaluateTest();
        await exploreTick(explore);
        const report = perf.report(worker.session);
        if (report) emit({ event: 'perf', report });
      } catch (err) {
        if (isPanic(err)) {
          die(err);
          continue;
        }
        worker.running = false;
        emit({ event: 'error', error: toWire(err) });
        emit({ event: 'state', running: false });
      }
    } else {
      await new Promise((resolve) => {
        worker.wake = () => resolve(undefined);
      });
    }
  }
}

loop();
