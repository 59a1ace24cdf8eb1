// The element's UI on the real wasm core, trained on the CPU (no WebGPU, or
// backend="cpu": fast enough for these checks): controls, confirmation of
// structural changes, keyboard use, phone width, dark mode, attribute
// validation, ranges and menus from the wasm core, strict CSP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, readState, waitFor, problems, outFile } from './harness.mjs';

test('UI: controls, confirmation, keyboard, phone width, dark mode (CPU fallback)', async () => {
  const s = await openPage({ webgpu: false, viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
  try {
    const { page } = s;
    const el = page.locator('vae-playground');
    await waitFor(page, (st) => st.pillBackend === 'cpu' && st.startLabel === 'Start', { what: 'ready' });
    // keyboard: focus the start button and press Enter
    await el.locator('button.start').focus();
    await page.keyboard.press('Enter');
    await waitFor(page, (st) => st.step >= 10, { what: 'training steps' });
    const st = await readState(page);
    assert.equal(st.startLabel, 'Pause');
    assert.match(st.notice, /WebGPU/, 'the CPU notice explains WebGPU');

    // menus and ranges come from the wasm core: the presets that train on MNIST
    // (not cifar's 32x32 colour images), and one learning-rate range for the
    // slider and the `lr` attribute (1e-6 to 1)
    const presets = await el.locator('select[name="preset"] option').evaluateAll((os) => os.map((o) => o.value));
    assert.ok(presets.includes('mlp') && presets.includes('conv2'), `presets: ${presets}`);
    assert.ok(!presets.includes('cifar'), 'no preset the page has no data for');
    const lr = el.locator('input[name="lr"]');
    assert.deepEqual([await lr.getAttribute('min'), await lr.getAttribute('max')], ['-6', '0']);
    assert.deepEqual([await el.locator('input[name="latent"]').getAttribute('min'), await el.locator('input[name="latent"]').getAttribute('max')], ['2', '100']);

    // live hyperparameter: beta slider via keyboard
    await el.locator('input[name="beta"]').focus();
    await page.keyboard.press('ArrowLeft');
    assert.notEqual(await el.locator('.beta-out').textContent(), '1.00');

    // structural change asks first; cancel keeps the run
    const latentBefore = await el.locator('input[name="latent"]').inputValue();
    assert.equal(latentBefore, String(await page.evaluate(() => document.querySelector('vae-playground').config.latent)));
    assert.notEqual(latentBefore, '8');
    await el.locator('input[name="latent"]').fill('8');
    await el.locator('input[name="latent"]').press('Enter');
    const dialog = el.locator('dialog.confirm');
    await dialog.waitFor({ state: 'visible' });
    assert.match(await dialog.textContent(), /latent size/);
    await el.locator('dialog button[value="cancel"]').click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await el.locator('input[name="latent"]').inputValue(), latentBefore);
    const stepBefore = (await readState(page)).step;
    assert.ok(stepBefore > 0);

    // confirm: a new model with 8 latent dims; the x/y dimension pickers appear
    await el.locator('input[name="latent"]').fill('8');
    await el.locator('input[name="latent"]').press('Enter');
    await dialog.waitFor({ state: 'visible' });
    await el.locator('dialog button[value="ok"]').click();
    await page.waitForFunction(() => document.querySelector('vae-playground').config?.latent === 8);
    await el.locator('.dims').waitFor({ state: 'visible' });
    assert.equal(await el.locator('.dim-x option').count(), 8);
    await el.locator('.dim-y').selectOption('5');
    await page.waitForTimeout(800);
    await page.screenshot({ path: outFile('ui-phone-dark.png'), fullPage: true });
    await el.screenshot({ path: outFile('ui-phone-dark-element.png') });

    const violations = await page.evaluate(() => window.__cspViolations);
    assert.deepEqual(violations, [], 'no CSP violations');
    assert.deepEqual(problems(s.logs), [], 'no console errors or warnings');
  } finally {
    await s.close();
  }
});

test('UI: an invalid attribute shows a message instead of a blank box', async () => {
  const s = await openPage({ webgpu: false, query: '?latent-dim=-3' });
  try {
    const { page } = s;
    const st = await waitFor(page, (x) => x.error, { what: 'error message' });
    assert.match(st.error, /latent-dim="-3"/);
    assert.match(st.error, /2 to 100/);
  } finally {
    await s.close();
  }
});

test('UI: desktop, light; backend="auto" with a software WebGPU adapter trains on the CPU and says why', async () => {
  const s = await openPage({ webgpu: true, query: '?autostart' });
  try {
    const { page } = s;
    const st = await waitFor(page, (x) => x.step >= 150, { what: 'training steps' });
    // SwiftShader reports isFallbackAdapter: the CPU at once, no GPU device, no probe.
    assert.equal(st.pillBackend, 'cpu');
    const info = await page.evaluate(() => document.querySelector('vae-playground').backend);
    assert.equal(info.reason, 'software-adapter');
    assert.ok(st.notice, 'the notice says why');
    assert.match(st.notice, /software/);
    assert.match(st.notice, /swiftshader/i, 'naming the adapter');
    assert.match(st.notice, /backend="webgpu"/, 'and how to force WebGPU');
    const phases = await page.evaluate(() => document.querySelector('vae-playground').startup.phases.map((p) => p.name));
    assert.ok(!phases.includes('device') && !phases.includes('probe'), `no GPU device was created: ${phases}`);
    await page.waitForTimeout(1000);
    await page.screenshot({ path: outFile('ui-desktop-light.png'), fullPage: true });
    assert.deepEqual(problems(s.logs), []);
  } finally {
    await s.close();
  }
});

test('UI: setting attributes on a running element applies them (β live, preset as a new model after the same confirmation as the controls)', async () => {
  const s = await openPage({ webgpu: false, query: '?autostart&batch=32' });
  try {
    const { page } = s;
    await waitFor(page, (st) => st.step >= 5, { what: 'training steps' });
    const live = await page.evaluate(async () => {
      const el = document.querySelector('vae-playground');
      window.__models = [];
      el.addEventListener('backend', () => window.__models.push(el.config.preset));
      el.setAttribute('beta', '0.5');
      for (let i = 0; i < 100 && el.config.beta !== 0.5; i++) await new Promise((r) => setTimeout(r, 50));
      const out = { beta: el.config.beta, stepAfterBeta: el.step, models: window.__models.length };
      // A structural setting asks first, as the controls do: Cancel keeps the model.
      el.setAttribute('latent-dim', '3');
      return out;
    });
    const dialog = page.locator('vae-playground').locator('dialog.confirm');
    await dialog.waitFor({ state: 'visible' });
    assert.match(await dialog.textContent(), /discarded/);
    await dialog.locator('button[value="cancel"]').click();
    await page.waitForTimeout(300);
    assert.notEqual(await page.evaluate(() => document.querySelector('vae-playground').config.latent), 3, 'Cancel keeps the model');
    await page.evaluate(() => document.querySelector('vae-playground').setAttribute('preset', 'mlp-small'));
    await dialog.waitFor({ state: 'visible' });
    await dialog.locator('.confirm-ok').click();
    const got = await page.evaluate(async (liveOut) => {
      const el = document.querySelector('vae-playground');
      for (let i = 0; i < 200 && el.config.preset !== 'mlp-small'; i++) await new Promise((r) => setTimeout(r, 50));
      const shown = el.shadowRoot.querySelector('select[name="preset"]').value;
      return { live: liveOut, preset: el.config.preset, shown, models: window.__models, beta: el.config.beta, running: el.running };
    }, live);
    assert.equal(got.live.beta, 0.5, 'beta applies live');
    assert.ok(got.live.stepAfterBeta > 0, 'without a new model');
    assert.equal(got.live.models, 0);
    assert.equal(got.preset, 'mlp-small', 'preset builds a new model');
    assert.deepEqual(got.models, ['mlp-small']);
    assert.equal(got.shown, 'mlp-small', 'the controls show it');
    assert.equal(got.beta, 0.5, 'the other settings are kept');
    await waitFor(page, (st) => st.step >= 3 && st.startLabel === 'Pause', { what: 'the new model training' });
    assert.deepEqual(problems(s.logs), [], 'no console errors or warnings');
  } finally {
    await s.close();
  }
});
