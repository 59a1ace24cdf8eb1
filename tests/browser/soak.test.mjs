// Soak: 50 resets and 5 remove / re-insert cycles of one element on
// the CPU backend. After each, exactly one worker is alive; calls pending at a
// removal reject; two overlapping reset() calls both settle; and the page's JS
// heap after garbage collection stays within HEAP_BOUND of its size after the
// warm-up. Chromium runs with --enable-precise-memory-info (exact
// performance.memory) and --js-flags=--expose-gc (gc() before each measure).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, waitFor, problems } from './harness.mjs';

const RESETS = 50;
const REINSERTS = 5;
/** Growth of usedJSHeapSize allowed from the warm-up to the end, in bytes. */
const HEAP_BOUND = 1024 * 1024;

async function workersAlive(page, want) {
  const t0 = Date.now();
  // A removed element's worker is terminated once it freed its session (at most 2 s).
  while (page.workers().length !== want && Date.now() - t0 < 5000) await page.waitForTimeout(100);
  return page.workers().length;
}

test('soak: 50 resets and 5 remove/re-insert cycles keep one worker and a flat heap', async () => {
  const s = await openPage({ webgpu: false, query: '?preset=mlp-small&batch=32', flags: ['--enable-precise-memory-info', '--js-flags=--expose-gc'] });
  const { page } = s;
  try {
    await waitFor(page, (st) => st.startLabel === 'Start' && st.pillBackend !== 'none', { what: 'ready', timeout: 120000 });
    const heap = () => page.evaluate(async () => {
      for (let i = 0; i < 3; i++) {
        window.gc();
        await new Promise((r) => setTimeout(r, 50));
      }
      return performance.memory.usedJSHeapSize;
    });
    const resets = (n) => page.evaluate(async (count) => {
      const el = document.querySelector('vae-playground');
      for (let i = 0; i < count; i++) {
        await el.start();
        await new Promise((r) => setTimeout(r, 20));
        await el.reset();
      }
      return el.step;
    }, n);

    // Warm-up: a few resets, then the baseline.
    await resets(5);
    const warm = await heap();
    const t0 = Date.now();
    await resets(RESETS - 10);
    // Two overlapping resets: both settle.
    const overlap = await page.evaluate(async () => {
      const el = document.querySelector('vae-playground');
      const a = el.reset().then(() => 'resolved', (e) => e.name);
      const b = el.reset().then(() => 'resolved', (e) => e.name);
      return Promise.all([a, b]);
    });
    assert.deepEqual(overlap, ['resolved', 'resolved']);
    await resets(3);
    assert.equal(await workersAlive(page, 1), 1, 'one worker after the resets');

    for (let i = 0; i < REINSERTS; i++) {
      const out = await page.evaluate(async () => {
        const el = document.querySelector('vae-playground');
        await el.start();
        const parent = el.parentNode;
        const next = el.nextSibling;
        // Calls pending at removal reject; so does one made while out of the page.
        const pending = [el.sample(8), el.reset(), el.decode(new Array(el.config.latent).fill(0))].map((p) => p.then(() => 'resolved', (e) => e.name));
        el.remove();
        const settled = await Promise.all(pending);
        const outside = await el.sample(1).then(() => 'resolved', (e) => e.name);
        const ready = new Promise((r) => el.addEventListener('ready', r, { once: true }));
        parent.insertBefore(el, next);
        await ready;
        return { settled, outside, running: el.running };
      });
      assert.ok(out.settled.every((x) => x === 'NotRunning' || x === 'resolved'), out.settled.join());
      assert.ok(out.settled.includes('NotRunning'), `a pending call rejected: ${out.settled}`);
      assert.equal(out.outside, 'NotRunning');
      assert.equal(await workersAlive(page, 1), 1, `one worker after re-insert ${i + 1}`);
    }
    // Still trains.
    await page.evaluate(() => document.querySelector('vae-playground').start());
    await waitFor(page, (st) => st.step >= 3, { what: 'training after the soak' });
    await page.evaluate(() => document.querySelector('vae-playground').pause());
    const end = await heap();
    const seconds = (Date.now() - t0) / 1000;
    console.log(`soak: ${RESETS} resets + ${REINSERTS} re-inserts in ${seconds.toFixed(0)} s; heap ${(warm / 1e6).toFixed(1)} MB after warm-up, ${(end / 1e6).toFixed(1)} MB at the end`);
    assert.ok(end - warm < HEAP_BOUND, `heap grew by ${((end - warm) / 1e6).toFixed(2)} MB (bound ${HEAP_BOUND / 1e6} MB)`);
    assert.deepEqual(problems(s.logs), [], 'no console errors or warnings');
  } finally {
    await s.close();
  }
});
