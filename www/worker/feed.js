// @ts-check
// The built-in data sets into the model: the download of one (worker/mnist.js)
// and the feeds that hand its images so far to a session. A feed replaces the
// whole set (a GPU upload), so the worker feeds on the first slice, when the
// test set is complete, and each time the training set has tripled.

import { toWire } from '../playground/errors.js';
import { BUILT_IN, stream } from './data.js';
import { begin, done, end } from './startup.js';
import { FIRST_SLICE, emit, enqueue, worker } from './state.js';

/**
 * Until the first trained views are out (or for at most GATE_MS), decoding
 * the rest of the data set waits: it would take the worker's thread from the
 * model's creation, the first step and the first views.
 */
const GATE_MS = 20000;

/**
 * Hands the images so far to a session.
 * @param {import('./state.js').Session | null} s
 * @param {'train' | 'test'} which
 */
export function feed(s, which) {
  if (worker.dataset === 'files') return; // install() gave the session the reader's files
  const snap = worker.mnist?.images(which);
  if (!s || !snap) return;
  if (which === 'train') {
    // Before the first trained views, a first slice only (copying all of a
    // large set would hold them up); the rest follows right after them.
    const first = Math.max(FIRST_SLICE, s.config().batch);
    if (!done('first-view') && snap.count > first) {
      s.setTrainImages(snap.pixels.subarray(0, first * (snap.pixels.length / snap.count)), first);
      worker.fed.train = first;
      enqueue({ op: '_feed', which });
    } else {
      s.setTrainImages(snap.pixels, snap.count);
      worker.fed.train = snap.count;
    }
  } else {
    s.setTestImages(snap.pixels, snap.count);
    worker.fed.test = snap.count;
  }
  if (which === 'train' && s === worker.session) end('data', emit); // the first usable batch
}

/** @type {{ promise: Promise<void>, open: () => void } | null} */
let gate = null;
/** The start-up gate (see GATE_MS), made on first use. */
function startupGate() {
  if (!gate) {
    /** @type {() => void} */
    let open = () => {};
    const promise = new Promise((resolve) => {
      open = () => resolve(undefined);
    });
    setTimeout(open, GATE_MS); // (a safety net: a failed first step must not hold the data forever)
    gate = { promise, open };
  }
  return gate.promise;
}

/**
 * The rest of the data set may decode now: the first trained views are out
 * (`always`: the gate stays open from now on), or nobody asked to train.
 * @param {boolean} [always]
 */
export function openGate(always = false) {
  if (always) startupGate();
  gate?.open();
}

/**
 * Selects a built-in data set, starting its download on first use; asks for a
 * feed when its test set is complete and as its training set grows (at 6,000
 * images, then each time it has tripled).
 * @param {Promise<import('./state.js').Wasm>} loading  the wasm core, loading meanwhile
 * @param {keyof typeof BUILT_IN} [name]
 */
export function loadData(loading, name = 'mnist') {
  begin('data');
  const st = stream(name, {
    decoder: loading.then((w) => w.IdxImages),
    base: /** @type {URL} */ (worker.base),
    hooks: (me) => {
      let nextFeed = FIRST_SLICE;
      const mine = () => worker.mnist === me.mnist;
      return {
        plan: (p) => {
          me.plan = { event: 'dataplan', ...p, name: BUILT_IN[name].label };
          if (mine()) emit(me.plan);
        },
        progress: (p) => {
          me.progress = { event: 'data', ...p };
          if (mine()) emit(me.progress);
        },
        gate: (which, n) => (!done('first-view') && n >= (which === 'train' ? 2 * FIRST_SLICE : FIRST_SLICE) ? startupGate() : null),
        arrived: (which, n, complete) => {
          if (!mine()) return;
          if (which === 'test' && complete) enqueue({ op: '_feed', which });
          if (which === 'train' && (complete || n >= nextFeed)) {
            nextFeed = Math.max(nextFeed * 3, n + 1);
            enqueue({ op: '_feed', which });
          }
        },
      };
    },
    // (If the wasm core failed to load, the init request reports that.)
    // A data failure stops training and offers Retry (a fresh worker).
    failed: (err) => loading.then(() => {
      worker.running = false;
      emit({ event: 'error', error: toWire(err), retry: true });
      emit({ event: 'state', running: worker.running });
    }, () => {}),
  });
  worker.mnist = st.mnist;
  if (st.plan) emit(st.plan);
  if (st.progress) emit(st.progress);
}

/**
 * Shows a built-in data set's last plan and progress again (it is selected
 * again after a failed switch).
 * @param {keyof typeof BUILT_IN} name
 */
export function showData(name) {
  const st = stream(name, /** @type {any} */ (null));
  if (st.plan) emit(st.plan);
  if (st.progress) emit(st.progress);
}

/** The original test images the reconstructions are drawn beside. */
export function sendOriginals() {
  const { reconIndices } = worker;
  if (worker.dataset === 'files') {
    const s = worker.session;
    if (s && reconIndices.length) {
      s.testImages(reconIndices).then((images) => emit({ event: 'originals', images }, [images.buffer]), (err) => emit({ event: 'error', error: toWire(err) }));
    }
    return;
  }
  const snap = worker.mnist?.images('test');
  if (!snap) return;
  const per = snap.pixels.length / snap.count;
  const originals = new Uint8Array(reconIndices.length * per);
  reconIndices.forEach((idx, i) => originals.set(snap.pixels.subarray(idx * per, (idx + 1) * per), i * per));
  emit({ event: 'originals', images: originals }, [originals.buffer]);
}
