// The embeddable element on www/embed-example.html: two instances inside
// hostile host CSS, served with the strict Content-Security-Policy
//   default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; style-src 'self'
// by tests/browser/server.mjs. Runs the real wasm; with backend="auto" and only SwiftShader (a
// software adapter) offered, on the CPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, problems, outFile } from './harness.mjs';

// Records the widgets' events from the start: they do not bubble, but a capturing
// listener on the document sees every event on its way to the element.
function recordEvents() {
  window.__events = [];
  for (const type of ['ready', 'backend', 'step', 'error', 'state']) {
    document.addEventListener(type, (e) => {
      if (e.target.localName !== 'vae-playground') return;
      window.__events.push({ id: e.target.id, type, t: performance.now(), detail: e.detail && JSON.parse(JSON.stringify(e.detail)) });
    }, true);
  }
}

const events = (page, id, type) => page.evaluate(([i, t]) => window.__events.filter((e) => e.id === i && e.type === t), [id, type]);
const lastStep = async (page, id) => {
  const s = await events(page, id, 'step');
  return s.length ? s[s.length - 1].detail.step : 0;
};

async function waitUntil(page, fn, what, timeout = 120000) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeout) throw new Error(`timed out waiting for ${what}`);
    await page.waitForTimeout(250);
  }
}

async function openExample() {
  // Tall viewport: both widgets in view (out-of-view widgets pause).
  const s = await openPage({ webgpu: true, path: 'embed-example.html', viewport: { width: 1280, height: 2400 }, init: recordEvents });
  const workers = [];
  s.page.on('worker', (w) => {
    const rec = { url: w.url(), closed: false };
    workers.push(rec);
    w.on('close', () => { rec.closed = true; });
  });
  return { ...s, workers };
}

test('embed: two instances under a strict CSP and hostile CSS reach ready and train independently', async () => {
  const s = await openExample();
  const { page } = s;
  try {
    for (const id of ['first', 'second']) {
      await waitUntil(page, async () => (await events(page, id, 'ready')).length, `${id} ready`);
      await waitUntil(page, async () => (await lastStep(page, id)) >= 3, `${id} training steps`);
    }
    const b = await events(page, 'first', 'backend');
    // backend="auto" (the example's default) on SwiftShader, a fallback adapter: the CPU, and why
    assert.equal(b[0].detail.backend, 'cpu', 'the backend event says which backend');
    assert.equal(b[0].detail.reason, 'software-adapter', 'and why');
    // independent: each keeps its own count, and both go on rising
    const a1 = await lastStep(page, 'first');
    const b1 = await lastStep(page, 'second');
    await waitUntil(page, async () => (await lastStep(page, 'first')) > a1 && (await lastStep(page, 'second')) > b1, 'both step counts rising');

    // the hostile host CSS does not reach inside: block layout, own font, visible canvases
    const look = await page.evaluate(() => [...document.querySelectorAll('vae-playground')].map((el) => {
      const wrap = el.shadowRoot.querySelector('.wrap');
      const canvases = [...el.shadowRoot.querySelectorAll('canvas')].filter((c) => !c.closest('[hidden]'));
      return {
        display: getComputedStyle(el).display,
        fontSize: getComputedStyle(wrap).fontSize,
        transform: getComputedStyle(wrap).textTransform,
        letterSpacing: getComputedStyle(wrap).letterSpacing,
        canvasesShown: canvases.length > 0 && canvases.every((c) => c.getBoundingClientRect().height > 20),
        buttonFont: (() => { const bt = el.shadowRoot.querySelector('button.start'); return bt ? getComputedStyle(bt).fontSize : '15px'; })(),
      };
    }));
    for (const l of look) {
      assert.equal(l.display, 'block');
      assert.equal(l.fontSize, '15px');
      assert.equal(l.transform, 'none');
      assert.equal(l.letterSpacing, 'normal');
      assert.equal(l.buttonFont, '15px');
      assert.ok(l.canvasesShown, 'canvases are visible despite canvas { display: none }');
    }
    // and no style leaks out: the host's own canvas stays hidden by the host's rule
    assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('body > canvas')).display), 'none');

    assert.deepEqual(await page.evaluate(() => window.__cspViolations), [], 'no CSP violations');
    assert.deepEqual(await page.evaluate(() => window.__events.filter((e) => e.type === 'error')), [], 'no error events');
    await page.screenshot({ path: outFile('embed-example.png'), fullPage: true });
    assert.deepEqual(problems(s.logs), [], 'no console errors or warnings');
  } finally {
    await s.close();
  }
});

test('embed: API (sample, decode, encode, pause), off-screen pause, removal ends the worker', async () => {
  const s = await openExample();
  const { page } = s;
  try {
    for (const id of ['first', 'second']) await waitUntil(page, async () => (await lastStep(page, id)) >= 2, `${id} training`);
    assert.equal(s.workers.length, 2, 'one worker per element');

    // sample(4): four 28x28 images
    const sample = await page.evaluate(async () => {
      const imgs = await document.getElementById('first').sample(4);
      return imgs.map((im) => ({ isImageData: im instanceof ImageData, w: im.width, h: im.height, min: Math.min(...im.data.filter((_, i) => i % 4 === 0)), max: Math.max(...im.data.filter((_, i) => i % 4 === 0)) }));
    });
    assert.equal(sample.length, 4);
    for (const im of sample) {
      assert.ok(im.isImageData);
      assert.equal(im.w, 28);
      assert.equal(im.h, 28);
    }
    // encode(imageData) -> Z numbers; decode(z) -> an image
    const codes = await page.evaluate(async () => {
      const el = document.getElementById('second');
      const [img] = await el.sample(1);
      const z = await el.encode(img);
      const [back] = await el.decode(Array.from(z));
      const big = new OffscreenCanvas(280, 280); // any size is scaled to 28x28
      const cx = big.getContext('2d');
      cx.lineWidth = 30;
      cx.beginPath();
      cx.moveTo(140, 40);
      cx.lineTo(140, 240);
      cx.stroke();
      const z2 = await el.encode(cx.getImageData(0, 0, 280, 280));
      let bad = null;
      try { await el.decode([1, 2, 3]); } catch (e) { bad = e.message; }
      return { zlen: z.length, finite: [...z, ...z2].every(Number.isFinite), back: [back.width, back.height], z2len: z2.length, bad };
    });
    assert.equal(codes.zlen, 2, 'latent-dim="2": two numbers per code');
    assert.equal(codes.z2len, 2);
    assert.ok(codes.finite);
    assert.deepEqual(codes.back, [28, 28]);
    assert.match(codes.bad, /2 finite numbers/);

    // pause() stops steps
    await page.evaluate(() => document.getElementById('first').pause());
    const p1 = await lastStep(page, 'first');
    const stepsAt = (await events(page, 'first', 'step')).length;
    await page.waitForTimeout(1000); // (several ~120 ms chunks, were it still training)
    assert.equal((await events(page, 'first', 'step')).length, stepsAt, 'no step events after pause() resolved');
    assert.equal(await lastStep(page, 'first'), p1);
    await page.evaluate(() => document.getElementById('first').start());
    await waitUntil(page, async () => (await lastStep(page, 'first')) > p1, 'first resumes');

    // scrolled out of view: both pause; back in view: both resume
    await page.evaluate(() => {
      const spacer = document.createElement('div');
      spacer.id = 'spacer';
      spacer.style.display = 'block'; // CSSOM, allowed under style-src 'self'
      spacer.style.height = '6000px';
      document.body.append(spacer);
      window.scrollTo(0, 5000);
    });
    await waitUntil(page, () => page.evaluate(() => [...document.querySelectorAll('vae-playground')].every((el) => !el.running)), 'off-screen pause');
    await page.waitForTimeout(1500);
    const off = [await lastStep(page, 'first'), await lastStep(page, 'second')];
    await page.waitForTimeout(1000);
    assert.deepEqual([await lastStep(page, 'first'), await lastStep(page, 'second')], off, 'no steps while out of view');
    await page.evaluate(() => window.scrollTo(0, 0));
    await waitUntil(page, async () => (await lastStep(page, 'first')) > off[0] && (await lastStep(page, 'second')) > off[1], 'resume in view');

    // removing one element: its worker ends, the other keeps training
    const pending = await page.evaluate(async () => {
      const el = document.getElementById('first');
      const call = el.sample(64); // in flight while the element goes: it must reject, not hang
      el.remove();
      try { await call; return 'resolved'; } catch (e) { return `${e.name}: ${e.message}`; }
    });
    assert.match(pending, /^NotRunning: /, 'a call in flight rejects when the element is removed');
    await waitUntil(page, () => s.workers.filter((w) => w.closed).length === 1, 'the removed element\'s worker to end', 10000);
    const gone = (await events(page, 'first', 'step')).length;
    const other = await lastStep(page, 'second');
    await waitUntil(page, async () => (await lastStep(page, 'second')) > other + 1, 'the other keeps training');
    assert.equal((await events(page, 'first', 'step')).length, gone, 'no step events from the removed element');
    assert.equal(s.workers.filter((w) => w.closed).length, 1, 'the other worker lives');
    const rejected = await page.evaluate(async () => {
      const el = document.createElement('vae-playground');
      try { await el.sample(1); return null; } catch (e) { return `${e.name}: ${e.message}`; }
    });
    assert.match(rejected, /NotRunning: .*not running/);

    assert.deepEqual(await page.evaluate(() => window.__cspViolations), [], 'no CSP violations');
    assert.deepEqual(problems(s.logs), [], 'no console errors or warnings');
  } finally {
    await s.close();
  }
});

test('embed: an invalid attribute shows a specific message and emits error', async () => {
  const s = await openExample();
  const { page } = s;
  try {
    const got = await page.evaluate(async () => {
      const el = document.createElement('vae-playground');
      el.id = 'bad';
      el.setAttribute('latent-dim', '-3');
      const heard = new Promise((resolve) => el.addEventListener('error', (e) => resolve(e.detail), { once: true }));
      document.body.prepend(el);
      const { message, kind } = await heard;
      const box = el.shadowRoot.querySelector('.notice.error');
      const r = box.getBoundingClientRect();
      let rejected = null;
      try { await el.sample(1); } catch (e) { rejected = { name: e.name, message: e.message }; }
      return { message, kind, rejected, shown: !box.hidden && r.width > 50 && r.height > 10, text: box.textContent };
    });
    assert.match(got.message, /latent-dim="-3"/);
    assert.equal(got.kind, 'InvalidConfig', 'the error event carries its kind');
    assert.equal(got.rejected.name, 'InvalidConfig', 'API calls reject with the same kind');
    assert.match(got.rejected.message, /could not start.*latent-dim="-3"/);
    assert.match(got.message, /2 to 100/);
    assert.ok(got.shown, 'the message is visible inside the element');
    assert.match(got.text, /latent-dim="-3"/);
    // a bad value of a live attribute too
    const theme = await page.evaluate(async () => {
      const el = document.getElementById('second');
      const heard = new Promise((resolve) => el.addEventListener('error', (e) => resolve(`${e.detail.kind}: ${e.detail.message}`), { once: true }));
      el.setAttribute('theme', 'purple');
      return heard;
    });
    assert.match(theme, /^InvalidConfig: /);
    assert.match(theme, /theme="purple".*light, dark, auto/);
    await page.screenshot({ path: outFile('embed-invalid.png') });
    // errors are shown and emitted, never thrown into the host page
    assert.deepEqual(problems(s.logs), [], 'no console errors or warnings');
  } finally {
    await s.close();
  }
});
