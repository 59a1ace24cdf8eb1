// Your data, your weights, your link, walked through once in the
// built page: files through the real file inputs (an IDX pair, a CIFAR-10 batch
// and a set of PNGs, synthetic but in the real formats, plus one file that is
// none of these), a few training steps on each; Save PNG; the model downloaded,
// the page reloaded, the model uploaded and the same samples decoded from the
// same codes; a corrupt model refused; a link with settings reproduced in the
// controls; the page-written checkpoint evaluated by the native CLI. CPU
// backend (no WebGPU flag): the data path is the same on both, and faster here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { openPage, readState, waitFor, problems, outFile, OUT, ROOT } from './harness.mjs';
import { writeDataFiles } from './data-files.mjs';

const EXPECTED = [
  // The refusals below are shown in the element and fire `error` events; nothing is logged for them.
];

const el = (page) => page.locator('vae-playground');
const message = (page) => page.evaluate(() => document.querySelector('vae-playground').shadowRoot.querySelector('.data-msg').textContent);

/** Waits until the data panel's sentence matches `re`. */
async function waitForMessage(page, re) {
  const t0 = Date.now();
  while (!re.test(await message(page))) {
    if (Date.now() - t0 > 120000) throw new Error(`timed out waiting for ${re}; the panel says "${await message(page)}", the element ${JSON.stringify(await readState(page))}`);
    await page.waitForTimeout(200);
  }
}

/** Trains until `steps` more steps are done, then pauses. */
async function trainSome(page, steps) {
  const from = (await readState(page)).step;
  await el(page).locator('button.start').click();
  await waitFor(page, (st) => st.step >= from + steps, { what: `${steps} steps`, timeout: 180000 });
  await el(page).locator('button.start').click();
  await waitFor(page, (st) => st.startLabel === 'Resume', { what: 'paused' });
  await page.waitForTimeout(300);
}

/** Accepts the "discard the current training?" dialog if it opens. */
async function acceptDialog(page) {
  const ok = el(page).locator('dialog.confirm .confirm-ok');
  await ok.waitFor({ state: 'visible', timeout: 10000 });
  await ok.click();
}

/** Is the samples canvas in colour (some pixel whose channels differ)? */
function samplesInColour(page) {
  return page.evaluate(() => {
    const c = document.querySelector('vae-playground').shadowRoot.querySelector('canvas.samples');
    const copy = Object.assign(document.createElement('canvas'), { width: c.width, height: c.height });
    const cx = copy.getContext('2d', { willReadFrequently: true });
    cx.drawImage(c, 0, 0);
    const d = cx.getImageData(0, 0, c.width, c.height).data;
    let coloured = 0;
    for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - d[i + 1]) > 8 || Math.abs(d[i + 1] - d[i + 2]) > 8) coloured++;
    return { width: c.width, height: c.height, coloured };
  });
}

/** A PNG's width and height, after checking its chunks' CRCs and inflating its data. */
function readPng(bytes) {
  assert.deepEqual([...bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
  let at = 8;
  const idat = [];
  let width = 0;
  let height = 0;
  for (;;) {
    const len = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    const data = bytes.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
    }
    if (type === 'IDAT') idat.push(data);
    at += 12 + len;
    if (type === 'IEND') break;
  }
  const raw = inflateSync(Buffer.concat(idat));
  assert.ok(raw.length >= height * (1 + width * 3), 'the PNG data inflates to a whole image');
  return { width, height };
}

/** The native CLI, where `cargo build --release` (or `cargo test --release`) put it. */
function cliPath() {
  const dirs = [process.env.CARGO_TARGET_DIR, join(ROOT, 'target')].filter(Boolean);
  const found = dirs.map((d) => join(d, 'release', 'vae')).find((f) => existsSync(f));
  if (!found) throw new Error(`the vae CLI is not built (looked in ${dirs.join(', ')}): run \`cargo build --release\` first (\`make test\` does).`);
  return found;
}

/** Decodes fixed codes through the element's API; the images' bytes. */
function decodeFixed(page) {
  return page.evaluate(async () => {
    const el = document.querySelector('vae-playground');
    const z = el.config.latent;
    const codes = [0, 1, 2, 3].map((k) => Array.from({ length: z }, (_, i) => Math.sin(1.7 * k + 0.9 * i) * 1.5));
    return (await el.decode(codes)).map((img) => Array.from(img.data));
  });
}

/** Clicks a button that downloads; the file's path and suggested name. */
async function download(page, locator) {
  const [d] = await Promise.all([page.waitForEvent('download'), locator.click()]);
  return { path: await d.path(), name: d.suggestedFilename() };
}

/** The autosave record in this page's IndexedDB (null if none). */
function autosaved(page) {
  return page.evaluate(() => new Promise((resolve) => {
    const req = indexedDB.open('vae-playground', 1);
    req.onupgradeneeded = () => req.result.createObjectStore('autosave');
    req.onsuccess = () => {
      const get = req.result.transaction('autosave').objectStore('autosave').get('default');
      get.onsuccess = () => resolve(get.result ? { step: get.result.step, dataset: get.result.dataset, files: get.result.files?.length ?? 0 } : null);
      get.onerror = () => resolve(null);
    };
    req.onerror = () => resolve(null);
  }));
}

test('own files, weights, link and Save PNG, through the page', async (t) => {
  const files = writeDataFiles(join(OUT, 'data-files'));
  const s = await openPage({ webgpu: false, query: '?batch=32' });
  const { page } = s;
  try {
    await waitFor(page, (st) => st.startLabel === 'Start' && st.originals.contrast > 0, { what: 'ready', timeout: 120000 });
    await page.waitForFunction(() => document.querySelector('vae-playground').ready);
    // The address holds every setting of the model now (two-way).
    const link = new URLSearchParams(await page.evaluate(() => location.search));
    assert.equal(link.get('batch'), '32');
    assert.equal(link.get('preset'), 'mlp');
    assert.equal(link.get('dataset'), 'mnist');
    assert.ok(link.has('seed') && link.has('latent-dim') && link.has('lr') && link.has('beta') && link.has('recon'), `the link has every setting: ${link}`);

    // MNIST: train a little, then Save PNG, Download model, decode fixed codes, evaluate.
    await trainSome(page, 5);
    const png = await download(page, el(page).locator('[data-view="samples"] .save-png'));
    assert.match(png.name, /^vae-samples-step\d+\.png$/);
    const { width, height } = readPng(readFileSync(png.path));
    assert.ok(width >= 560 && height >= 560, `Save PNG is at a readable scale (${width}x${height})`);
    const model = await download(page, el(page).locator('.download-weights'));
    assert.match(model.name, /^vae-mlp-step\d+\.safetensors$/);
    const checkpoint = outFile('page-model.safetensors');
    writeFileSync(checkpoint, readFileSync(model.path));
    const mnistImages = await decodeFixed(page);
    const pageEval = await page.evaluate(() => document.querySelector('vae-playground').evaluate());
    assert.equal(pageEval.images, 10000, 'the page evaluated the whole test set');

    // The page's checkpoint in the native CLI: the same test loss.
    const cli = JSON.parse(execFileSync(cliPath(), ['eval', '--checkpoint', checkpoint, '--backend', 'cpu'], { encoding: 'utf8' }).trim().split('\n').pop());
    assert.equal(cli.preset, 'mlp');
    assert.ok(Math.abs(cli.test_loss - pageEval.loss) <= 0.01 * pageEval.loss, `CLI test loss ${cli.test_loss} vs the page's ${pageEval.loss}`);
    t.diagnostic(`test loss of the page's checkpoint: vae eval ${cli.test_loss.toFixed(3)}, the page's evaluate() ${pageEval.loss.toFixed(3)} (${pageEval.images} images)`);

    const before = await page.evaluate(() => document.querySelector('vae-playground').config);

    // A file that is none of the formats: a sentence naming it; the model stays.
    await el(page).locator('.file-input').setInputFiles(files.junk);
    const refused = await waitFor(page, (st) => st.error !== null, { what: 'the refusal', allowError: true });
    assert.match(refused.error, /notes\.txt/);
    assert.deepEqual(await page.evaluate(() => document.querySelector('vae-playground').config), before, 'the model is untouched');
    assert.equal(await page.evaluate(() => document.querySelector('vae-playground').trainingData), 'mnist');

    // An IDX image + label pair: trains on them.
    await el(page).locator('.file-input').setInputFiles([files.idxImages, files.idxLabels]);
    await acceptDialog(page);
    await waitForMessage(page, /Training on 2 files .*IDX files/);
    assert.equal(await page.evaluate(() => document.querySelector('vae-playground').trainingData), 'files');
    await trainSome(page, 5);

    // A CIFAR-10 batch: colour data, so the cifar preset; samples in colour.
    await el(page).locator('.file-input').setInputFiles(files.cifar);
    await acceptDialog(page);
    await waitForMessage(page, /Training on data_batch_1\.bin \(CIFAR-10 batches\)/);
    const cifarConfig = await page.evaluate(() => document.querySelector('vae-playground').config);
    assert.equal(cifarConfig.preset, 'cifar');
    assert.deepEqual(cifarConfig.image, { channels: 3, height: 32, width: 32 });
    assert.equal(await el(page).locator('select[name="preset"]').inputValue(), 'cifar', 'the menu offers the cifar preset');
    await trainSome(page, 40); // enough for colours to show in the samples (and the README's screenshot)
    const colour = await samplesInColour(page);
    assert.ok(colour.coloured > 100, `samples are drawn in colour (${colour.coloured} coloured pixels)`);
    assert.equal(colour.width, 8 * 32);
    await el(page).screenshot({ path: outFile('cifar-run.png') });

    // A set of PNG pictures (not the model's size): resized, trained on, autosaved.
    await el(page).locator('.file-input').setInputFiles(files.pngs);
    await acceptDialog(page);
    await waitForMessage(page, /Training on 30 files .*pictures.*27 training and 3 test images/);
    await el(page).locator('button.start').click();
    const t0 = Date.now();
    let saved = null;
    // (an earlier record, of the IDX files, may be there: wait for this model's)
    while (!(saved = await autosaved(page)) || saved.files !== 30 || saved.step === 0) {
      if (Date.now() - t0 > 60000) throw new Error(`no autosave within 60 s: ${JSON.stringify(saved)}`);
      await page.waitForTimeout(500);
    }
    assert.equal(saved.dataset, 'files', 'autosave keeps the pictures with the model');
    await el(page).locator('button.start').click();
    await waitFor(page, (st) => st.startLabel === 'Resume', { what: 'paused' });
    assert.deepEqual(problems(s.logs, EXPECTED), [], 'no console errors or warnings');

    // Reload: the page offers to continue; Continue restores files and model.
    await page.reload();
    const resume = el(page).locator('.notice.resume');
    await resume.waitFor({ state: 'visible', timeout: 120000 });
    assert.match(await resume.textContent(), /cifar preset on your own files/);
    await resume.locator('.resume-continue').click();
    await waitForMessage(page, /Continuing the model kept in this browser \(cifar, step/);
    const restored = await readState(page);
    assert.ok(restored.step >= saved.step, `the step count continues (${restored.step} >= ${saved.step})`);
    assert.equal(await page.evaluate(() => document.querySelector('vae-playground').config.preset), 'cifar');

    // A corrupt model is refused with the reason; the model stays.
    const truncated = outFile('truncated.safetensors');
    writeFileSync(truncated, readFileSync(checkpoint).subarray(0, 5000));
    await el(page).locator('.weights-input').setInputFiles(truncated);
    await acceptDialog(page);
    const bad = await waitFor(page, (st) => st.error !== null && /truncated|checkpoint/i.test(st.error), { what: 'the corrupt model refused', allowError: true });
    assert.match(bad.error, /cannot load checkpoint/);
    assert.equal(await page.evaluate(() => document.querySelector('vae-playground').config.preset), 'cifar', 'the current model stays');

    // The MNIST model downloaded before: loaded, it decodes the same codes to the same images, and trains on.
    await el(page).locator('.weights-input').setInputFiles(checkpoint);
    await acceptDialog(page);
    await waitForMessage(page, /Loaded the model page-model\.safetensors \(mlp, step/);
    assert.deepEqual(await decodeFixed(page), mnistImages, 'the same decoded samples for the same fixed codes');
    await trainSome(page, 2);

    // A link with settings: the controls show them, and the address keeps them.
    await page.goto(`${s.server.url}?preset=conv&latent-dim=7&beta=0.5&lr=0.002&batch=24&seed=42&recon=gaussian&dataset=fashion-mnist`);
    const resumeAgain = el(page).locator('.notice.resume');
    await waitFor(page, (st) => st.startLabel === 'Start' && st.originals.contrast > 0 && /Fashion-MNIST/.test(st.data ?? ''), { what: 'Fashion-MNIST ready', timeout: 120000 });
    await page.waitForFunction(() => document.querySelector('vae-playground').ready);
    const controls = await page.evaluate(() => {
      const r = document.querySelector('vae-playground').shadowRoot;
      const v = (sel) => r.querySelector(sel).value;
      return { preset: v('select[name="preset"]'), latent: v('input[name="latent"]'), batch: v('input[name="batch"]'), seed: v('input[name="seed"]'),
        recon: r.querySelector('input[name="recon"]:checked')?.value, beta: r.querySelector('.beta-out').textContent, lr: r.querySelector('.lr-out').textContent, data: v('select.dataset') };
    });
    assert.deepEqual(controls, { preset: 'conv', latent: '7', batch: '24', seed: '42', recon: 'gaussian', beta: '0.50', lr: '2.0e−3', data: 'fashion-mnist' });
    const again = new URLSearchParams(await page.evaluate(() => location.search));
    for (const [k, v] of Object.entries({ preset: 'conv', 'latent-dim': '7', beta: '0.5', lr: '0.002', batch: '24', seed: '42', recon: 'gaussian', dataset: 'fashion-mnist' })) assert.equal(again.get(k), v, `the address keeps ${k}`);
    await resumeAgain.waitFor({ state: 'visible', timeout: 10000 }); // the kept model is offered here too
    await resumeAgain.locator('.resume-fresh').click();
    await page.waitForTimeout(500);
    assert.equal(await autosaved(page), null, 'Start fresh forgets the kept model');
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(s.server.url).origin });
    await page.locator('#copy-link').click();
    await page.waitForFunction(() => document.querySelector('#copy-link-status').textContent !== '', null, { timeout: 10000 });
    assert.equal(await page.locator('#copy-link-status').textContent(), 'Link copied.');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), await page.evaluate(() => location.href), 'the clipboard holds the page\'s address');

    assert.deepEqual(problems(s.logs, EXPECTED), [], 'no console errors or warnings');
  } finally {
    await s.close();
  }
});
