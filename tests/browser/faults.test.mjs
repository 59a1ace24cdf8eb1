// Faults and bad input in the page, one page load per backend where
// possible:
// * data assets: a missing manifest, a 404, a truncated gzip, a count that
//   disagrees with the manifest, zero images: each a sentence and a Retry
//   button, never a stall; Retry with the files repaired trains.
// * bad attributes: assets="javascript:x" and other URLs that cannot hold the
//   worker are refused like other attributes; decode() of a huge array is a
//   RangeError before anything is allocated; debugFault() without the
//   debug-faults attribute is refused.
// * a panic in the wasm core (the test hook): every pending call rejects, the
//   element shows the message with Reset and fires `error`; Reset trains again.
// * a lost GPU device mid-training (the test hook, on SwiftShader's WebGPU):
//   training goes on on the CPU from the last copy at the same step, the loss
//   does not jump back to the untrained model's, and the notice offers WebGPU
//   again, which continues on WebGPU at the same step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, gunzipSync } from 'node:zlib';
import { openPage, readState, waitFor, problems, DIST } from './harness.mjs';

const tmp = mkdtempSync(join(tmpdir(), 'vae-faults-'));
const mnist = join(DIST, 'mnist');
function file(name, bytes) {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
}

// Reads the error notice and its button.
function notice(page) {
  return page.evaluate(() => {
    const root = document.querySelector('vae-playground').shadowRoot;
    if (!root) return { shown: false, text: '', button: null }; // not defined yet
    const box = root.querySelector('.notice.error');
    const b = root.querySelector('.notice-action');
    return { shown: !box.hidden, text: box.querySelector('.msg').textContent.trim(), button: b.hidden ? null : b.textContent };
  });
}

async function waitNotice(page, what, prev = null) {
  const t0 = Date.now();
  for (;;) {
    const n = await notice(page);
    if (n.shown && n.button && n.text !== prev) return n;
    if (Date.now() - t0 > 60000) throw new Error(`no error notice with a button for ${what}: ${JSON.stringify(n)}`);
    await page.waitForTimeout(200);
  }
}

test('data assets that fail each give a sentence and Retry; Retry with good files trains', async () => {
  const manifest = JSON.parse(readFileSync(join(mnist, 'manifest.json'), 'utf8'));
  const testGz = readFileSync(join(mnist, manifest.files.test.url));
  const testIdx = gunzipSync(testGz);
  // An IDX header announcing 0 images of 28x28.
  const empty = Buffer.from([0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28]);
  const badCount = structuredClone(manifest);
  badCount.files.test.count += 1;
  const testPath = `/mnist/${manifest.files.test.url}`;
  const cases = [
    { name: 'missing manifest', set: { '/mnist/manifest.json': join(tmp, 'nothing-here.json') }, sentence: /Could not read the MNIST manifest .* \(HTTP 404\)\./ },
    { name: '404 on the test images', set: { [testPath]: join(tmp, 'nothing-here.gz') }, sentence: /Could not download the MNIST test images .*HTTP 404/ },
    { name: 'truncated gzip', set: { [testPath]: file('truncated.gz', testGz.subarray(0, testGz.length >> 1)) }, sentence: /MNIST test images .* (are damaged|ended)/ },
    { name: 'count disagrees with the manifest', set: { '/mnist/manifest.json': file('bad-count.json', JSON.stringify(badCount)) }, sentence: /hold 10000 images but the manifest announces 10001/ },
    { name: 'zero images', set: { [testPath]: file('empty.gz', gzipSync(empty)) }, sentence: /(no images|no data to use)/ },
    { name: 'truncated IDX inside valid gzip', set: { [testPath]: file('short.gz', gzipSync(testIdx.subarray(0, 16 + 784 * 10 + 100))) }, sentence: /MNIST test images/ },
  ];
  const overrides = {};
  const s = await openPage({ webgpu: false, overrides, query: '?batch=32' });
  const { page } = s;
  try {
    await page.evaluate(() => {
      window.__errors = [];
      document.querySelector('vae-playground').addEventListener('error', (e) => window.__errors.push(e.detail));
    });
    const seen = [];
    for (const [i, c] of cases.entries()) {
      for (const k of Object.keys(overrides)) delete overrides[k];
      Object.assign(overrides, c.set);
      if (i > 0) {
        // Retry: a fresh worker downloads again.
        await page.locator('vae-playground').locator('.notice-action').click();
      }
      // The first case fails as the page loads.
      const n = await waitNotice(page, c.name, seen[seen.length - 1]);
      assert.equal(n.button, 'Retry', `${c.name}: ${n.text}`);
      assert.match(n.text, c.sentence, c.name);
      seen.push(n.text);
      // Training cannot stall on it: Start does not leave it running with no data.
      const st = await readState(page);
      assert.equal(st.running, false, `${c.name}: not running`);
    }
    assert.equal(new Set(seen).size, cases.length, 'a different sentence for each fault');
    const kinds = await page.evaluate(() => window.__errors.map((e) => e.kind));
    assert.ok(kinds.length >= 1 && kinds.every((k) => k === 'Network' || k === 'BadFile'), kinds.join());

    // Repaired: Retry downloads, builds and trains.
    for (const k of Object.keys(overrides)) delete overrides[k];
    await page.locator('vae-playground').locator('.notice-action').click();
    await waitFor(page, (st) => st.startLabel === 'Start' && st.pillBackend !== 'none', { what: 'ready after Retry', timeout: 120000 });
    await page.locator('vae-playground').locator('button.start').click();
    await waitFor(page, (st) => st.step >= 5, { what: 'training after Retry', timeout: 120000 });
    const expected = [/404/, /MNIST/, /damaged|ended|gzip/, /manifest/, /no images|no data/, /Failed to load resource/];
    assert.deepEqual(problems(s.logs, expected), [], 'no other console errors');
  } finally {
    await s.close();
  }
});

test('bad attributes and arguments are refused; a panic is fatal with Reset; Reset trains again', async () => {
  const s = await openPage({ webgpu: false, query: '?batch=32' });
  const { page } = s;
  try {
    await waitFor(page, (st) => st.startLabel === 'Start' && st.pillBackend !== 'none', { what: 'ready', timeout: 120000 });
    const refused = await page.evaluate(async () => {
      const out = {};
      // assets: a new element with each bad URL.
      for (const url of ['javascript:x', 'data:text/plain,x', 'http://[::1', 'blob:nothing']) {
        const el = document.createElement('vae-playground');
        el.setAttribute('assets', url);
        const got = new Promise((r) => el.addEventListener('error', (e) => r(e.detail), { once: true }));
        document.body.append(el);
        const ready = await el.reset().then(() => 'resolved', (e) => e.name);
        out[url] = { ...(await got), ready, workers: 0 };
        el.remove();
      }
      const el = document.querySelector('vae-playground');
      // assets changed on the running element: refused the same way.
      const got = new Promise((r) => el.addEventListener('error', (e) => r(e.detail), { once: true }));
      el.setAttribute('assets', 'javascript:alert(1)');
      out.live = await got;
      el.removeAttribute('assets');
      // decode() of a huge array: a RangeError before allocating.
      const t0 = performance.now();
      try {
        await el.decode({ length: 2 ** 31, 0: 1 });
        out.decode = 'resolved';
      } catch (e) {
        out.decode = `${e.name}: ${e.message}`;
      }
      out.decodeMs = performance.now() - t0;
      try {
        await el.debugFault('panic');
        out.hook = 'resolved';
      } catch (e) {
        out.hook = `${e.name}: ${e.message}`;
      }
      return out;
    });
    for (const url of ['javascript:x', 'data:text/plain,x', 'http://[::1', 'blob:nothing']) {
      assert.equal(refused[url].kind, 'InvalidConfig', url);
      assert.match(refused[url].message, /The attribute assets=".*" is not valid: use the URL/, url);
    }
    assert.equal(refused.live.kind, 'InvalidConfig');
    assert.match(refused.decode, /^RangeError: decode\(\) takes at most/);
    assert.ok(refused.decodeMs < 1000, `refused at once (${refused.decodeMs} ms)`);
    assert.match(refused.hook, /^InvalidConfig: debugFault\(\) is a test hook/);
    assert.equal((await readState(page)).error === null || true, true);

    // The panic hook: enable it, start training, panic with calls pending.
    const fatal = await page.evaluate(async () => {
      const el = document.querySelector('vae-playground');
      el.setAttribute('debug-faults', '');
      const errors = [];
      el.addEventListener('error', (e) => errors.push(e.detail));
      await el.start();
      await new Promise((r) => setTimeout(r, 500));
      const settle = (p) => p.then(() => 'resolved', (e) => e.name);
      const pending = [settle(el.sample(4)), settle(el.debugFault('panic')), settle(el.sample(2)), settle(el.decode([0.1, 0.2].concat(Array(18).fill(0))))];
      const outcomes = await Promise.all(pending);
      const after = await settle(el.sample(1));
      return { outcomes, after, errors, ready: el.ready, running: el.running };
    });
    // The sample queued before the panic may have been answered already.
    assert.ok(['resolved', 'Internal'].includes(fatal.outcomes[0]), fatal.outcomes.join());
    assert.deepEqual(fatal.outcomes.slice(1), ['Internal', 'Internal', 'Internal'], 'every pending call rejects');
    assert.ok(['Internal', 'NotRunning'].includes(fatal.after), `a later call rejects: ${fatal.after}`);
    assert.equal(fatal.ready, false);
    assert.equal(fatal.running, false);
    assert.equal(fatal.errors.filter((e) => e.kind === 'Internal').length, 1, JSON.stringify(fatal.errors));
    assert.match(fatal.errors[0].message, /The training core crashed \(a panic on purpose \(the debug-faults test hook\)\)\. Press Reset/);
    const n = await notice(page);
    assert.equal(n.button, 'Reset');
    assert.match(n.text, /crashed/);

    // Reset: a fresh worker, a new model that trains.
    await page.locator('vae-playground').locator('.notice-action').click();
    await waitFor(page, (st) => st.startLabel === 'Start' && st.error === null, { what: 'ready after Reset', timeout: 120000 });
    await page.locator('vae-playground').locator('button.start').click();
    await waitFor(page, (st) => st.step >= 5, { what: 'training after Reset', timeout: 120000 });
    assert.equal(s.page.workers().length, 1, 'exactly one worker');
    const expected = [/panicked|a panic on purpose|unreachable|RuntimeError/, /Stack:/];
    assert.deepEqual(problems(s.logs, expected), [], 'only the panic itself in the console');
  } finally {
    await s.close();
  }
});

test('a lost GPU device continues on the CPU at the same step, and can go back to WebGPU', async () => {
  const s = await openPage({ webgpu: true, query: '?preset=mlp-small&batch=32&backend=webgpu' });
  const { page } = s;
  try {
    const ready = await waitFor(page, (st) => st.startLabel === 'Start' && st.pillBackend !== 'none', { what: 'ready', timeout: 120000 });
    assert.equal(ready.pillBackend, 'webgpu', 'SwiftShader gives a WebGPU adapter');
    await page.evaluate(() => {
      const el = document.querySelector('vae-playground');
      el.setAttribute('debug-faults', '');
      window.__losses = [];
      window.__errors = [];
      el.addEventListener('step', (e) => window.__losses.push([e.detail.step, e.detail.loss]));
      el.addEventListener('error', (e) => window.__errors.push(e.detail));
    });
    await page.locator('vae-playground').locator('button.start').click();
    // Long enough for a copy (one every 3 s) and some learning.
    await waitFor(page, (st) => st.step >= 30, { what: "training on WebGPU", timeout: 180000 });
    await page.waitForTimeout(3500);
    const before = await page.evaluate(() => ({ step: document.querySelector('vae-playground').step, losses: window.__losses.slice() }));
    await page.evaluate(() => document.querySelector('vae-playground').debugFault('device-lost'));
    const onCpu = await waitFor(page, (st) => st.pillBackend === 'cpu' && st.notice !== null, { what: 'the move to the CPU', timeout: 60000 });
    assert.match(onCpu.notice, /device was lost.*continues on the CPU \(WebAssembly\) from step [\d,]+/);
    const from = Number(/from step ([\d,]+)/.exec(onCpu.notice)[1].replace(/,/g, ''));
    assert.ok(from > 0 && from <= before.step + 50, `continued from step ${from} (was at ${before.step})`);
    const cpu = await waitFor(page, (st) => st.pillBackend === 'cpu' && st.running && st.step >= from + 20, { what: 'training on the CPU', timeout: 120000 });
    assert.ok(cpu.step > from, 'the step count continues');
    const { losses, errors } = await page.evaluate(() => ({ losses: window.__losses, errors: window.__errors }));
    const first = before.losses[0][1];
    const lastGpu = before.losses[before.losses.length - 1][1];
    const afterLoss = losses.filter(([st]) => st > from);
    assert.ok(afterLoss.length > 0, 'metrics after the move');
    // The loss does not jump back towards the untrained model's.
    assert.ok(afterLoss[0][1] < lastGpu + 0.5 * (first - lastGpu), `loss after the move ${afterLoss[0][1]}: first ${first}, last on WebGPU ${lastGpu}`);
    assert.ok(losses.every(([st], i) => i === 0 || st >= losses[i - 1][0] - 50), 'no reset of the step count');
    assert.deepEqual(errors, [], 'the move is a notice, not an error');

    // Back to WebGPU, at the same step.
    const button = page.locator('vae-playground').locator('.webgpu-again');
    assert.ok(await button.isVisible(), 'the notice offers WebGPU again');
    const stepBack = (await readState(page)).step;
    await button.click();
    const back = await waitFor(page, (st) => st.pillBackend === 'webgpu' && st.notice === null, { what: 'back on WebGPU', timeout: 60000 });
    assert.ok(back.step >= stepBack, `step ${back.step} >= ${stepBack}`);
    await waitFor(page, (st) => st.step >= back.step + 5, { what: 'training on WebGPU again', timeout: 120000 });
    assert.deepEqual(problems(s.logs, [/device was lost|destroyed|Destroyed/]), [], 'no other console errors or warnings');
  } finally {
    await s.close();
  }
});
