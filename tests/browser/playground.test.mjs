// End-to-end: the built page (trunk build --release) trains the real wasm core in
// headless Chromium. With --enable-unsafe-webgpu Chromium offers a SwiftShader
// (software) WebGPU adapter, so the true WebGPU path runs; without it there is no
// adapter and the page must fall back to the CPU and say so. SwiftShader is slow:
// small batches, few steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { openPage, readState, waitFor, problems, outFile, trackMetrics, axe, ROOT } from './harness.mjs';

// Console output that is expected and harmless, each with its reason.
const EXPECTED = [
  // (none so far: add entries here, with a comment saying why each one is fine)
];

// The start-up breakdown (el.startup, the `startup` event, the performance measures):
// the phases expected, in order, each within the page's life and before the total.
function checkStartup(b, names) {
  assert.ok(b, 'el.startup is set once the first trained samples are drawn');
  assert.deepEqual(b.phases.map((p) => p.name), names);
  for (const p of b.phases) {
    assert.ok(p.start >= 0 && p.end >= p.start && p.end <= b.total + 1, `phase ${p.name}: ${JSON.stringify(p)} within 0..${b.total}`);
    assert.ok(Math.abs(p.ms - (p.end - p.start)) < 1e-6, `phase ${p.name}: ms = end - start`);
  }
  assert.equal(b.phases.at(-1).end, b.total, 'the first view ends at the first trained samples');
}

async function trainAndCheck(s, { backend, minSteps, name }) {
  const { page } = s;
  await page.evaluate(() => {
    window.__startupEvents = [];
    document.querySelector('vae-playground').addEventListener('startup', (e) => window.__startupEvents.push(e.detail));
  });
  const el = page.locator('vae-playground');
  const ready = await waitFor(page, (st) => st.pillBackend !== 'none' && st.startLabel === 'Start' && st.originals.contrast > 0, { what: 'ready with test data', timeout: 120000 });
  assert.equal(ready.pillBackend, backend, `status reports ${backend}: ${ready.backend}`);
  await trackMetrics(page);
  const trainingFrom = await page.evaluate(() => performance.now());
  await el.locator('button.start').click();

  const early = await waitFor(page, (st) => st.step >= 3, { what: 'first steps', timeout: 120000 });
  await waitFor(page, (st) => st.step >= minSteps && st.step >= early.step + 10, { what: `${minSteps} steps`, timeout: 300000 });
  // let one more view refresh land after the last step counted
  await page.waitForTimeout(1500);
  const after = await readState(page);

  for (const view of ['samples', 'latent', 'recon']) {
    assert.ok(after[view].contrast > 30, `${view} canvas is not blank (contrast ${after[view].contrast})`);
    assert.notEqual(after[view].hash, early[view].hash, `${view} canvas changed while training`);
  }
  const m = await page.evaluate(() => window.__metrics);
  assert.ok(m.length >= 3, `got step events: ${m.length}`);
  const head = m.slice(0, 2).reduce((a, x) => a + x.loss, 0) / 2;
  const tail = m.slice(-2).reduce((a, x) => a + x.loss, 0) / 2;
  assert.ok(tail < head, `loss falls: ${head.toFixed(2)} -> ${tail.toFixed(2)}`);

  // pause stops the step counter, start resumes it
  await el.locator('button.start').click();
  await waitFor(page, (st) => st.startLabel === 'Resume', { what: 'paused' });
  // The worker answers requests in order: once a second pause is answered, the
  // first has been handled and the chunk in flight has landed.
  await page.evaluate(() => document.querySelector('vae-playground').pause());
  const p1 = (await readState(page)).step;
  await page.waitForTimeout(1000); // (several ~120 ms chunks, were it still training)
  const p2 = (await readState(page)).step;
  assert.equal(p2, p1, 'no steps while paused');
  await el.locator('button.start').click();
  await waitFor(page, (st) => st.step > p2, { what: 'resumed steps', timeout: 120000 });

  const started = await page.evaluate(() => ({ events: window.__startupEvents, prop: document.querySelector('vae-playground').startup, measures: performance.getEntriesByType('measure').filter((m) => m.name.startsWith('vae-playground:')).length }));
  assert.equal(started.events.length, 1, 'one startup event');
  assert.deepEqual(started.events[0], started.prop, 'the event and the property agree');
  assert.equal(started.measures, started.prop.phases.length, 'one performance measure per phase');
  const longTasks = await page.evaluate((from) => window.__longTasks.filter((t) => t.start >= from && t.duration > 100), trainingFrom);
  assert.deepEqual(longTasks, [], 'no main-thread task over 100 ms');
  const violations = await page.evaluate(() => window.__cspViolations);
  assert.deepEqual(violations, [], 'no CSP violations');
  await page.screenshot({ path: outFile(`${name}.png`), fullPage: true });
  await el.screenshot({ path: outFile(`${name}-element.png`) });
  assert.deepEqual(problems(s.logs, EXPECTED), [], 'no console errors or warnings');
  return after;
}

// The performance overlay's text, read from the element's shadow root.
function readPerf(page) {
  return page.evaluate(() => {
    const root = document.querySelector('vae-playground').shadowRoot;
    const panel = root.querySelector('.perf');
    const t = (sel) => root.querySelector(sel).textContent.trim();
    return {
      open: !panel.hidden,
      pressed: root.querySelector('.perf-toggle').getAttribute('aria-pressed'),
      attr: document.querySelector('vae-playground').hasAttribute('perf'),
      ips: t('.p-ips'), step: t('.p-step'), gpu: t('.p-gpu'), host: t('.p-host'), view: t('.p-view'), startup: t('.p-startup'), compile: t('.p-compile'), note: t('.p-note'),
    };
  });
}

const num = (text) => Number(String(text).replace(/,/g, '').match(/[\d.]+/)?.[0] ?? NaN);

// Waits for the overlay to show training numbers, and checks they are plausible.
async function perfNumbers(page, backend) {
  const t0 = Date.now();
  let p;
  for (;;) {
    p = await readPerf(page);
    if (p.open && p.ips !== '–' && p.view !== '–' && /wasm/.test(p.startup) && /first step/.test(p.startup)) break;
    if (Date.now() - t0 > 60000) throw new Error(`the overlay shows no numbers: ${JSON.stringify(p)}`);
    await page.waitForTimeout(250);
  }
  assert.ok(num(p.ips) > 0, `images/s > 0: ${p.ips}`);
  assert.ok(num(p.step) > 0, `ms per step > 0: ${p.step}`);
  assert.ok(num(p.view) > 0, `view refresh cost: ${p.view}`);
  assert.match(p.startup, /wasm \d/);
  if (backend === 'cpu') {
    assert.match(p.gpu, /CPU backend/, 'no GPU time on the CPU');
    assert.ok(num(p.host) > 0 && num(p.host) === num(p.step), `all of a step is host time: ${p.host} vs ${p.step}`);
    assert.match(p.compile, /no shaders/);
  } else {
    // SwiftShader offers no timestamp-query: the overlay says so instead of a number.
    assert.match(p.gpu, /(\d ms per step|no timestamp queries)/, p.gpu);
    assert.match(p.compile, /\d/);
  }
  return p;
}

test('WebGPU (SwiftShader, forced): trains, views update, pause/resume, no long tasks, the start-up breakdown; ?perf opens the overlay', async () => {
  // backend=webgpu: auto would take the CPU on SwiftShader (a fallback adapter; ui.test.mjs)
  const s = await openPage({ webgpu: true, query: '?batch=16&backend=webgpu&perf' });
  try {
    const st = await trainAndCheck(s, { backend: 'webgpu', minSteps: 20, name: 'webgpu' });
    assert.match(st.backend, /WebGPU/);
    assert.equal(st.notice, null, 'no fallback notice on WebGPU');
    const startup = await s.page.evaluate(() => document.querySelector('vae-playground').startup);
    checkStartup(startup, ['worker', 'wasm', 'device', 'pipelines', 'data', 'first-step', 'first-view']);
    const p = await perfNumbers(s.page, 'webgpu');
    assert.equal(p.pressed, 'true', 'the Performance button shows it is on');
    assert.deepEqual(problems(s.logs, EXPECTED), [], 'no console errors or warnings');
  } finally {
    await s.close();
  }
});

test('no WebGPU: the CPU fallback trains and the notice says why', async () => {
  const s = await openPage({ webgpu: false, query: '?batch=32' });
  try {
    const st = await trainAndCheck(s, { backend: 'cpu', minSteps: 30, name: 'cpu-fallback' });
    assert.match(st.backend, /CPU/);
    // The performance overlay: closed by default, opened from the keyboard, closed with the mouse.
    const { page } = s;
    assert.equal((await readPerf(page)).open, false, 'the overlay is closed without perf');
    const toggle = page.locator('vae-playground').locator('button.perf-toggle');
    assert.equal(await toggle.textContent(), 'Performance', 'the toggle is labelled');
    await toggle.focus();
    await page.keyboard.press('Enter');
    const p = await perfNumbers(page, 'cpu');
    assert.equal(p.pressed, 'true');
    assert.equal(p.attr, true, 'the toggle sets the perf attribute');
    assert.deepEqual(await axe(page), [], 'axe: no serious or critical violations with the overlay open');
    const shot = outFile('perf-overlay.png');
    await page.locator('vae-playground').locator('.perf').screenshot({ path: shot });
    if (process.env.UPDATE_SCREENSHOTS) copyFileSync(shot, join(ROOT, 'docs', 'screenshots', 'perf.png'));
    await toggle.click();
    const closed = await readPerf(page);
    assert.equal(closed.open, false, 'a click closes it');
    assert.equal(closed.attr, false);
    assert.deepEqual(problems(s.logs, EXPECTED), [], 'no console errors or warnings with the overlay');
    assert.ok(st.notice, 'the fallback notice is shown');
    assert.match(st.notice, /WebGPU/);
    assert.match(st.notice, /CPU/);
    const startup = await s.page.evaluate(() => document.querySelector('vae-playground').startup);
    checkStartup(startup, ['worker', 'wasm', 'data', 'first-step', 'first-view']);
  } finally {
    await s.close();
  }
});
