// @ts-check
// Models and data in and out of <vae-playground>: the reader's files (picked,
// dropped or given to loadFiles), the built-in data set menu, checkpoints
// loaded and saved, and autosave (the model kept in this browser). Functions
// of the element: each asks the worker and updates the element's state.

import { usablePresets, sameShape } from './state.js';
import { clearSaved, offer, readSaved, writeSaved, EVERY_MS } from './autosave.js';
import { saveBlob } from './save-png.js';

/**
 * @typedef {import('./element.js').PlaygroundElement} El
 * @typedef {import('./protocol.js').WorkerClient} WorkerClient
 * @typedef {import('./state.js').Settings} Settings
 */

/** Autosave keeps the reader's files with the model up to this size (larger: the model only). */
const KEEP_FILES_BYTES = 64 * 1024 * 1024;

/**
 * Reads files (picked, dropped, or given to loadFiles) and trains on them, or
 * loads the model they are.
 * @param {El} el
 * @param {(File | { name: string, bytes: ArrayBuffer })[]} files  (named bytes: files kept by autosave)
 * @param {boolean} ask  from the page's controls: ask before discarding training
 */
export async function openFiles(el, files, ask) {
  const client = await el._whenReady();
  const payload = await Promise.all(files.map(async (f) => (f instanceof Blob ? { name: f.webkitRelativePath || f.name, bytes: await f.arrayBuffer() } : { name: f.name, bytes: f.bytes.slice(0) })));
  // Autosave keeps the files of a model that trains on them, up to a size.
  const total = payload.reduce((n, p) => n + p.bytes.byteLength, 0);
  const keep = el.hasAttribute('autosave') && total <= KEEP_FILES_BYTES ? payload.map((p) => ({ name: p.name, bytes: p.bytes.slice(0) })) : null;
  const r = await client.request('files', { files: payload }, payload.map((p) => p.bytes));
  if ('checkpoint' in r) {
    if (ask && !(await askDiscard(el, `Loading the model ${r.checkpoint.name} replaces the current one`, 'Load it'))) return null;
    const out = await loadModel(el, undefined);
    el._panel?.say(`Loaded the model ${r.checkpoint.name} (${r.checkpoint.preset}, step ${out.step.toLocaleString('en-US')}).`);
    return { kind: 'model', config: out.config, step: out.step };
  }
  const catalog = /** @type {import('./state.js').Catalog} */ (el._state.value.catalog);
  const usable = catalog.presets.filter((p) => r.fits.some((shape) => sameShape(shape, p.image))).map((p) => p.name);
  /** @type {Settings} */
  const next = { ...el._state.value.settings };
  if (!usable.includes(next.preset)) {
    next.preset = usable[0];
    delete next.latent;
  }
  if (ask && !(await askDiscard(el, `Training on ${r.label} builds a new model from scratch`, 'Train on them'))) return null;
  await el._build(next, { quiet: true, dataset: 'files' });
  el._files.kept = keep;
  el._files.usable = usable;
  el._state.set({ catalog: { ...catalog, usable }, files: r.label, dataset: 'files' });
  el._controls?.sync(true);
  const sm = r.summary;
  const what = sm.kind === 'cifar10' ? 'CIFAR-10 batches' : sm.kind === 'idx' ? 'IDX files' : 'pictures';
  el._panel?.say(`Training on ${r.label} (${what}): ${sm.train.toLocaleString('en-US')} training and ${sm.test.toLocaleString('en-US')} test images${sm.heldOut ? ' (every tenth held out for testing)' : ''}.`);
  return { kind: 'data', summary: sm, preset: next.preset };
}

/**
 * A new model on another data set (from the menu or the `dataset` attribute).
 * @param {El} el
 * @param {import('./state.js').Dataset} name
 * @param {boolean} ask
 */
export async function switchDataset(el, name, ask) {
  await el._whenReady();
  const { catalog, settings, dataset } = el._state.value;
  if (!catalog || name === dataset) return;
  if (ask && !(await askDiscard(el, 'Changing the data builds a new model from scratch', 'Change the data'))) {
    el._panel?.sync(); // the menu shows what trains again
    return;
  }
  const builtIn = name !== 'files';
  const nextCatalog = builtIn ? { presets: catalog.presets, limits: catalog.limits } : { presets: catalog.presets, limits: catalog.limits, usable: el._files.usable };
  /** @type {Settings} */
  const next = { ...settings };
  const usable = usablePresets(nextCatalog).map((p) => p.name);
  if (!usable.includes(next.preset)) {
    next.preset = usable[0];
    delete next.latent;
  }
  await el._build(next, { dataset: name });
  el._state.set({ catalog: nextCatalog });
  el._controls?.sync(true);
}

/**
 * Offers the model this browser kept (if any), then keeps the model every few
 * seconds while it trains.
 * @param {El} el
 * @param {WorkerClient} client
 */
export function startAutosave(el, client) {
  const key = el.getAttribute('autosave') || 'default';
  readSaved(key).then((saved) => {
    if (!saved || saved.step === 0 || el._client !== client || el._state.value.step > 0) return;
    offer(el._root, saved, {
      resume: () => resume(el, saved).catch((err) => el._fail(err)),
      fresh: () => clearSaved(key).catch(() => { /* nothing kept */ }),
    });
  }, () => { /* no IndexedDB here (e.g. a private window): no autosave */ });
  let savedStep = 0;
  let saving = false;
  el._files.saveTimer = setInterval(async () => {
    const { running, step, config, settings, dataset } = el._state.value;
    if (!running || saving || step === savedStep || !config || el._client !== client) return;
    saving = true;
    try {
      const bytes = await client.request('checkpoint', {});
      const files = dataset === 'files' ? el._files.kept : null;
      await writeSaved(key, { bytes, settings, dataset, step, preset: config.preset, savedAt: Date.now(), files });
      savedStep = step;
      /** @type {HTMLElement} */ (el._root.querySelector('.notice.resume')).hidden = true; // that offer is gone now
    } catch {
      // Not kept this time (the model changed meanwhile, or storage is full): try again later.
    } finally {
      saving = false;
    }
  }, EVERY_MS);
}

/**
 * Continues the model autosave kept (on its data).
 * @param {El} el
 * @param {import('./autosave.js').Saved} saved
 */
export async function resume(el, saved) {
  if (saved.dataset === 'files' && saved.files) await openFiles(el, saved.files, false);
  else if (saved.dataset !== 'files' && saved.dataset !== el._state.value.dataset) await switchDataset(el, /** @type {any} */ (saved.dataset), false);
  const r = await loadModel(el, saved.bytes);
  el._panel?.say(`Continuing the model kept in this browser (${r.config.preset}, step ${r.step.toLocaleString('en-US')}).`);
}

/**
 * The Load model button's file: loaded as the model, after asking.
 * @param {El} el
 * @param {File} file
 */
export async function openModel(el, file) {
  await el._whenReady();
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (!(await askDiscard(el, `Loading the model ${file.name} replaces the current one`, 'Load it'))) return;
  const r = await loadModel(el, bytes, file.name);
  el._panel?.say(`Loaded the model ${file.name} (${r.config.preset}, step ${r.step.toLocaleString('en-US')}).`);
}

/**
 * A model from checkpoint bytes in place of the current one.
 * @param {El} el
 * @param {Uint8Array | undefined} bytes  undefined: the checkpoint the worker just read
 * @param {string} [name]  the file's name, for messages
 */
export async function loadModel(el, bytes, name) {
  const client = await el._whenReady();
  el._state.set({ busy: true });
  try {
    const r = await client.request('loadCheckpoint', { bytes, name }, bytes ? [bytes.buffer] : []);
    el._state.set({ settings: r.settings, step: r.step });
    el._controls?.sync(true);
    return r;
  } finally {
    el._state.set({ busy: false });
  }
}

/**
 * The Save model button: the model as a .safetensors download.
 * @param {El} el
 */
export async function download(el) {
  const blob = await el._checkpoint();
  const { config, step } = el._state.value;
  saveBlob(blob, `vae-${config?.preset ?? 'model'}-step${step}.safetensors`);
}

/**
 * Asks before discarding training (none to discard: yes at once).
 * @param {El} el
 * @param {string} what  "Doing X builds a new model"
 * @param {string} ok  the button that agrees
 * @returns {Promise<boolean>}
 */
export function askDiscard(el, what, ok) {
  const { step } = el._state.value;
  if (step === 0) return Promise.resolve(true);
  const dialog = /** @type {HTMLDialogElement} */ (el._root.querySelector('dialog.confirm'));
  const msg = /** @type {HTMLElement} */ (dialog.querySelector('.confirm-msg'));
  const okButton = /** @type {HTMLButtonElement} */ (dialog.querySelector('.confirm-ok'));
  const before = okButton.textContent;
  msg.textContent = `${what}, so the current training (step ${step.toLocaleString('en-US')}) is discarded.`;
  okButton.textContent = ok;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      okButton.textContent = before;
      resolve(dialog.returnValue === 'ok');
    }, { once: true });
    dialog.returnValue = 'cancel';
    dialog.showModal();
    okButton.focus();
  });
}
