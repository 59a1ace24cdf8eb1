// @ts-check
// The data and weights panel: the data set menu (MNIST, Fashion-MNIST,
// the reader's files), "Open files…" / "Open folder…" and drag-and-drop onto the
// element (IDX, CIFAR-10 batches, PNG/JPEG pictures, or one .safetensors
// checkpoint; the worker tells which by content), and the weights' Download and
// Load buttons. It reads the state and calls the element's hooks; the element
// does the work (and its public methods do the same without the questions).

import { DATASETS } from './state.js';

/**
 * @typedef {import('./state.js').PlaygroundState} PlaygroundState
 * @typedef {import('./state.js').Dataset} Dataset
 */

export const template = `
  <section class="card data-panel advanced" aria-labelledby="h-data">
    <h3 id="h-data">Data &amp; weights</h3>
    <label class="field"><span>Data</span>
      <select name="dataset" class="dataset"></select>
    </label>
    <div class="buttons wrap-buttons">
      <button type="button" class="open-files">Open files…</button>
      <button type="button" class="open-folder">Open folder…</button>
    </div>
    <input type="file" class="file-input" multiple hidden aria-label="Data or checkpoint files">
    <input type="file" class="folder-input" webkitdirectory multiple hidden aria-label="A folder of data files">
    <small class="data-hint">Or drop them on the playground: IDX image (and label) files, CIFAR-10 binary batches, PNG/JPEG pictures, or a .safetensors model.</small>
    <p class="data-msg" role="status"></p>
    <div class="buttons wrap-buttons">
      <button type="button" class="download-weights" disabled>Download model</button>
      <button type="button" class="load-weights">Load model…</button>
    </div>
    <input type="file" class="weights-input" accept=".safetensors,application/octet-stream" hidden aria-label="Model file (.safetensors)">
  </section>`;

export const css = `
.side { display: grid; gap: 14px; align-content: start; min-width: 0; }
.data-panel { display: grid; gap: 10px; }
.data-panel .field { display: grid; gap: 4px; }
.data-panel select { font: inherit; padding: 6px; border-radius: 6px; border: 1px solid var(--line); background: var(--bg); color: var(--text); }
.wrap-buttons { flex-wrap: wrap; }
.data-hint { color: var(--muted); font-size: 12px; }
.data-msg { margin: 0; font-size: 13px; }
.data-msg:empty { display: none; }
:host(.dragging) .wrap { outline: 3px dashed var(--series-total, #36c); outline-offset: -3px; border-radius: 12px; }
.notice.resume .buttons { margin-top: 6px; }
.notice.resume button { font-size: 15px; }
.save-png { font-size: 12px; font-weight: 500; min-height: 28px; padding: 2px 8px; margin-left: auto; }
`;

/**
 * @typedef {object} DataPanelHooks
 * @property {(files: File[]) => void} files  files picked or dropped
 * @property {(name: Dataset) => void} dataset  the menu changed
 * @property {() => void} download  Download model pressed
 * @property {(file: File) => void} load  a model file picked
 */

/**
 * @param {ShadowRoot} root
 * @param {HTMLElement} host  the element: the drop target
 * @param {PlaygroundState} state
 * @param {DataPanelHooks} hooks
 */
export function mountDataPanel(root, host, state, hooks) {
  const $ = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (root.querySelector(sel));
  const menu = /** @type {HTMLSelectElement} */ ($('select.dataset'));
  const fileInput = /** @type {HTMLInputElement} */ ($('.file-input'));
  const folderInput = /** @type {HTMLInputElement} */ ($('.folder-input'));
  const weightsInput = /** @type {HTMLInputElement} */ ($('.weights-input'));
  const download = /** @type {HTMLButtonElement} */ ($('.download-weights'));

  $('.open-files').addEventListener('click', () => fileInput.click());
  $('.open-folder').addEventListener('click', () => folderInput.click());
  $('.load-weights').addEventListener('click', () => weightsInput.click());
  download.addEventListener('click', () => hooks.download());
  for (const input of [fileInput, folderInput]) {
    input.addEventListener('change', () => {
      const files = [...(input.files ?? [])].filter((f) => !hidden(f.name));
      input.value = '';
      if (files.length) hooks.files(files);
    });
  }
  weightsInput.addEventListener('change', () => {
    const file = weightsInput.files?.[0];
    weightsInput.value = '';
    if (file) hooks.load(file);
  });
  menu.addEventListener('change', () => hooks.dataset(/** @type {Dataset} */ (menu.value)));

  // Drag and drop onto the whole element: files, or folders (read recursively).
  let depth = 0;
  /** @param {DragEvent} e */
  const hasFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes('Files');
  /** @type {[string, (e: DragEvent) => void][]} */
  const listeners = [
    ['dragenter', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth++;
      host.classList.add('dragging');
    }],
    ['dragover', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
    }],
    ['dragleave', (e) => {
      if (!hasFiles(e)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) host.classList.remove('dragging');
    }],
    ['drop', (e) => {
      if (!hasFiles(e) || !e.dataTransfer) return;
      e.preventDefault();
      depth = 0;
      host.classList.remove('dragging');
      droppedFiles(e.dataTransfer).then((files) => {
        if (files.length) hooks.files(files);
      }, () => {});
    }],
  ];
  for (const [type, fn] of listeners) host.addEventListener(type, /** @type {EventListener} */ (fn));

  function sync() {
    const { dataset, files, ready, busy } = state.value;
    menu.textContent = '';
    for (const d of DATASETS) menu.append(new Option(d.label, d.name));
    if (files) menu.append(new Option(`Your files: ${files}`, 'files'));
    menu.value = dataset;
    download.disabled = !ready || busy;
  }
  state.addEventListener('change', (e) => {
    const keys = /** @type {CustomEvent<{ keys: string[] }>} */ (e).detail.keys;
    if (['dataset', 'files', 'ready', 'busy'].some((k) => keys.includes(k))) sync();
  });
  sync();

  return {
    sync,
    /** A sentence under the buttons (what was loaded, or why not). */
    say(/** @type {string} */ text) {
      $('.data-msg').textContent = text;
    },
    destroy() {
      for (const [type, fn] of listeners) host.removeEventListener(type, /** @type {EventListener} */ (fn));
    },
  };
}

/** Files a system adds to folders (.DS_Store, ._name): not data. */
function hidden(/** @type {string} */ name) {
  return name.split('/').pop()?.startsWith('.') ?? false;
}

/**
 * The files of a drop, folders read recursively.
 * @param {DataTransfer} dt
 * @returns {Promise<File[]>}
 */
async function droppedFiles(dt) {
  const entries = [...dt.items].map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  if (!entries.length) return [...dt.files];
  /** @type {File[]} */
  const out = [];
  /** @param {FileSystemEntry} entry */
  async function walk(entry) {
    if (hidden(entry.name)) return;
    if (entry.isFile) {
      out.push(await new Promise((res, rej) => /** @type {FileSystemFileEntry} */ (entry).file(res, rej)));
    } else if (entry.isDirectory) {
      const reader = /** @type {FileSystemDirectoryEntry} */ (entry).createReader();
      for (;;) {
        /** @type {FileSystemEntry[]} */
        const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const e of batch) await walk(e);
      }
    }
  }
  for (const e of entries) await walk(/** @type {FileSystemEntry} */ (e));
  return out;
}
