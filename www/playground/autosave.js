// @ts-check
// Autosave (the `autosave` attribute): while the model trains, the element keeps
// it (checkpoint bytes), its settings and its data set's name in the browser's
// IndexedDB every few seconds; on the next visit it offers to continue from there
// (a notice with Continue / Start fresh). One record per `autosave` name.

const DB_NAME = 'vae-playground';
const STORE = 'autosave';
export const EVERY_MS = 5000;

/**
 * @typedef {{ bytes: Uint8Array, settings: import('./state.js').Settings, dataset: string, step: number,
 *   preset: string, savedAt: number, files?: { name: string, bytes: ArrayBuffer }[] | null }} Saved  (files: the reader's
 *   files the model trained on, when small enough to keep)
 */

/** @returns {Promise<IDBDatabase>} */
function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * @template T
 * @param {IDBTransactionMode} mode
 * @param {(s: IDBObjectStore) => IDBRequest} fn
 * @returns {Promise<T>}
 */
async function withStore(mode, fn) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** @param {string} key @returns {Promise<Saved | undefined>} */
export const readSaved = (key) => withStore('readonly', (s) => s.get(key));
/** @param {string} key @param {Saved} value */
export const writeSaved = (key, value) => withStore('readwrite', (s) => s.put(value, key));
/** @param {string} key */
export const clearSaved = (key) => withStore('readwrite', (s) => s.delete(key));

export const template = `
  <div class="notice resume" role="region" aria-label="Continue where you were" hidden>
    <strong>Continue where you were?</strong><span class="msg"></span>
    <div class="buttons">
      <button type="button" class="primary resume-continue">Continue</button>
      <button type="button" class="resume-fresh">Start fresh</button>
    </div>
  </div>`;

/**
 * The saved model's offer, shown in `root`'s .notice.resume.
 * @param {ShadowRoot} root
 * @param {Saved} saved
 * @param {{ resume: () => Promise<void>, fresh: () => void }} hooks
 */
export function offer(root, saved, hooks) {
  const box = /** @type {HTMLElement} */ (root.querySelector('.notice.resume'));
  const when = new Date(saved.savedAt).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
  const data = saved.dataset === 'files' ? (saved.files ? 'your own files' : 'your own files (too large to keep: load them again to keep training)') : saved.dataset === 'fashion-mnist' ? 'Fashion-MNIST' : 'MNIST';
  /** @type {HTMLElement} */ (box.querySelector('.msg')).textContent = ` This browser kept a model from ${when}: the ${saved.preset} preset on ${data}, trained for ${saved.step.toLocaleString('en-US')} steps.`;
  box.hidden = false;
  const done = () => {
    box.hidden = true;
  };
  /** @type {HTMLButtonElement} */ (box.querySelector('.resume-continue')).onclick = () => {
    done();
    hooks.resume();
  };
  /** @type {HTMLButtonElement} */ (box.querySelector('.resume-fresh')).onclick = () => {
    done();
    hooks.fresh();
  };
}
