// Divergence in the page: at lr=1 (the slider's top) the loss explodes within
// a few steps. The element pauses, says so in one sentence naming what to
// change, fires `error` with kind Diverged, keeps its step count, and trains
// on once the learning rate is lowered. The chart's labels stay readable.
// CPU backend (no WebGPU flag): the rule is the same Rust on both backends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, readState, waitFor, problems, outFile } from './harness.mjs';

test('lr=1 diverges: paused, rolled back, told what to change, and training can continue', async () => {
  const s = await openPage({ webgpu: false, query: '?lr=1&batch=32' });
  const { page } = s;
  try {
    const el = page.locator('vae-playground');
    await waitFor(page, (st) => st.pillBackend !== 'none' && st.startLabel === 'Start', { what: 'ready', timeout: 120000 });
    await page.evaluate(() => {
      window.__errors = [];
      window.__steps = [];
      const host = document.querySelector('vae-playground');
      host.addEventListener('error', (e) => window.__errors.push(e.detail));
      host.addEventListener('step', (e) => window.__steps.push(e.detail.step));
    });
    await el.locator('button.start').click();
    const diverged = await waitFor(page, (st) => st.error !== null, { what: 'the divergence notice', timeout: 120000, allowError: true });
    await waitFor(page, (st) => !st.running && st.startLabel !== 'Pause', { what: 'paused', allowError: true });

    const errors = await page.evaluate(() => window.__errors);
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.equal(errors[0].kind, 'Diverged');
    assert.match(diverged.error, /^Training diverged/);
    assert.match(errors[0].message, /rolled back to step \d+/);
    assert.match(errors[0].message, /lower the learning rate \(now 1\) or beta/);
    // One sentence: one full stop, at the end.
    assert.equal(errors[0].message.split(/\.(\s|$)/).filter((x) => x.trim()).length, 1, errors[0].message);

    // No steps while paused; the count was not reset.
    const stepAt = (await readState(page)).step;
    await page.waitForTimeout(1500);
    assert.equal((await readState(page)).step, stepAt, 'paused after the divergence');
    const shown = await page.evaluate(() => window.__steps);
    assert.ok(shown.every((x) => x <= stepAt), `step went back: ${shown} then ${stepAt}`);

    // The chart's y labels are readable numbers.
    await page.screenshot({ path: outFile('diverged.png'), fullPage: true });

    // Lower the learning rate with its slider (log10 scale) and go on.
    await el.locator('input[name=lr]').fill('-3');
    await page.waitForFunction(() => document.querySelector('vae-playground').config.lr < 0.01, null, { timeout: 10000 });
    await el.locator('button.start').click();
    // (The notice goes once the worker reports that training runs again.)
    await waitFor(page, (st) => st.running && st.error === null && st.step >= stepAt + 20, { what: 'training on after lowering lr, the notice gone', timeout: 120000, allowError: true });
    assert.equal((await page.evaluate(() => window.__errors)).length, 1, 'no new divergence at lr 1e-3');
    assert.deepEqual(problems(s.logs), [], 'no console errors or warnings');
  } finally {
    await s.close();
  }
});
