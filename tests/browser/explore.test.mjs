// The explore views through the page, on the real wasm core, once per
// backend (WebGPU on SwiftShader, and the CPU fallback): draw a digit with real
// pointer events and see its reconstruction and its point on the scatter; hover
// the scatter and see a digit's tooltip; blend two digits; damage one and
// repair it; the KL bars and the traversal fill in; the whole test set's loss
// lands once an epoch; (CPU) the Evaluate button's IWAE bound and the KL
// warm-up attribute; axe-core finds no serious or critical violation in any
// view, light and dark; screenshots of each view at desktop and phone width,
// light and dark (from the CPU walk), go to test-output/. (What each view costs per refresh is
// measured by bench/web/explore.mjs, not here.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, waitFor, problems, outFile, axe } from './harness.mjs';

const VIEWS = ['scatter', 'draw', 'interpolate', 'inpaint', 'traverse', 'kl', 'loss'];

// Reads what the explore views show, from the element's shadow root.
function readExplore(page) {
  return page.evaluate(() => {
    const root = document.querySelector('vae-playground')?.shadowRoot;
    if (!root) return null;
    const contrast = (sel) => {
      const c = root.querySelector(sel);
      if (!c || !c.width) return 0;
      const copy = document.createElement('canvas');
      copy.width = c.width;
      copy.height = c.height;
      const cx = copy.getContext('2d', { willReadFrequently: true });
      cx.drawImage(c, 0, 0);
      const d = cx.getImageData(0, 0, c.width, c.height).data;
      let min = 255;
      let max = 0;
      for (let i = 0; i < d.length; i += 4) {
        min = Math.min(min, d[i]);
        max = Math.max(max, d[i]);
      }
      return max - min;
    };
    const text = (sel) => root.querySelector(sel)?.textContent.trim() ?? '';
    const el = document.querySelector('vae-playground');
    const scatter = root.querySelector('canvas.scatter');
    return {
      step: el.step,
      error: root.querySelector('.notice.error').hidden ? null : text('.notice.error'),
      points: Number(scatter.dataset.points || 0),
      drawn: scatter.dataset.drawn || '',
      scatterLabel: scatter.getAttribute('aria-label'),
      tip: root.querySelector('.tip').hidden ? null : text('.tip-text'),
      tipImage: contrast('.tip-a'),
      drawIn: contrast('.draw-in'),
      drawRecon: contrast('.draw-recon'),
      strip: contrast('.istrip'),
      stripLabel: root.querySelector('.istrip').getAttribute('aria-label'),
      inpaint: text('.inpaint-error'),
      inpaintSteps: contrast('.inp-steps'),
      kl: text('.kl-active'),
      traverse: root.querySelector('.tgrid').getAttribute('aria-label'),
      traverseImage: contrast('.tgrid'),
      full: text('.full-out'),
      iwae: text('.iwae-out'),
      thumbs: root.querySelectorAll('.ipicker button.thumb').length,
    };
  });
}

function canvasHash(page, sel) {
  return page.evaluate((q) => {
    const c = document.querySelector('vae-playground').shadowRoot.querySelector(q);
    const copy = document.createElement('canvas');
    copy.width = c.width;
    copy.height = c.height;
    const cx = copy.getContext('2d', { willReadFrequently: true });
    cx.drawImage(c, 0, 0);
    const d = cx.getImageData(0, 0, c.width, c.height).data;
    let h = 2166136261;
    for (let i = 0; i < d.length; i += 4) h = Math.imul(h ^ d[i], 16777619);
    return h >>> 0;
  }, sel);
}

const started = Date.now();
async function until(page, predicate, what, timeout = 180000) {
  const t0 = Date.now();
  let last;
  for (;;) {
    last = await readExplore(page);
    if (last && predicate(last)) {
      console.log(`# ${((Date.now() - started) / 1000).toFixed(1)} s: ${what} (waited ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      return last;
    }
    if (last?.error) throw new Error(`the element shows an error while waiting for ${what}: ${last.error}`);
    if (Date.now() - t0 > timeout) throw new Error(`timed out waiting for ${what}; last ${JSON.stringify(last)}`);
    await page.waitForTimeout(250);
  }
}

async function screenshots(page, el, tag) {
  for (const v of VIEWS) await el.locator(`[data-view="${v}"]`).screenshot({ path: outFile(`explore-${v}-${tag}.png`) });
}

async function walkThrough({ webgpu, query, backend }) {
  const s = await openPage({ webgpu, query });
  try {
    const { page } = s;
    const el = page.locator('vae-playground');
    await waitFor(page, (st) => st.pillBackend === backend && st.startLabel === 'Start' && st.originals.contrast > 0, { what: 'ready with test data', timeout: 120000 });
    await el.locator('button.start').click();
    await until(page, (x) => x.step >= 5 && x.points > 0 && x.thumbs >= 10, 'the scatter and the digit pickers');

    // draw a stroke (a "7") with real pointer events
    const pad = el.locator('canvas.pad');
    await pad.scrollIntoViewIfNeeded();
    const box = await pad.boundingBox();
    const P = (fx, fy) => [box.x + fx * box.width, box.y + fy * box.height];
    await page.mouse.move(...P(0.3, 0.25));
    await page.mouse.down();
    for (const [fx, fy] of [[0.5, 0.25], [0.7, 0.25], [0.6, 0.5], [0.5, 0.75]]) await page.mouse.move(...P(fx, fy), { steps: 6 });
    await page.mouse.up();
    const drawn = await until(page, (x) => x.drawIn > 100 && x.drawRecon > 30 && x.drawn !== '', 'the drawn digit, its reconstruction and point');
    assert.match(drawn.drawn, /^-?\d+\.\d+,-?\d+\.\d+$/, 'the drawing has a point on the scatter');

    // hover the scatter until a point's tooltip shows its digit
    const sc = el.locator('canvas.scatter');
    await sc.scrollIntoViewIfNeeded();
    const sb = await sc.boundingBox();
    let tip = null;
    for (let i = 0; i < 60 && !tip; i++) {
      const a = (i * 2.39996) % (2 * Math.PI);
      const r = 0.03 + 0.3 * (i / 60);
      await page.mouse.move(sb.x + sb.width * (0.5 + r * Math.cos(a)), sb.y + sb.height * (0.5 + r * Math.sin(a)));
      await page.waitForTimeout(60);
      const x = await readExplore(page);
      if (x.tip && /^Test digit \d+/.test(x.tip)) tip = x;
    }
    assert.ok(tip, 'hovering the scatter shows a digit tooltip');
    const tipShown = await until(page, (x) => x.tip && /reconstruction/.test(x.tip) && x.tipImage > 100, 'the tooltip image');
    assert.match(tipShown.tip, /Test digit \d+, (a \d|unlabelled)/);

    // the keyboard: N jumps to a digit and shows it; the plane can be the principal one;
    // the grid can sit under the points
    await page.mouse.move(sb.x - 20, sb.y - 20);
    await sc.focus();
    await page.keyboard.press('n');
    await until(page, (x) => x.tip && /^Test digit \d+/.test(x.tip), 'the tooltip from the keyboard');
    const hashBefore = await canvasHash(page, 'canvas.scatter');
    await el.locator('input.overlay').check();
    await page.waitForTimeout(300);
    assert.notEqual(await canvasHash(page, 'canvas.scatter'), hashBefore, 'the latent grid shows under the points');
    await el.locator('input.principal').check();
    await until(page, (x) => /principal plane/.test(x.scatterLabel ?? ''), 'the principal plane');
    await el.locator('input.principal').uncheck();
    await el.locator('input.overlay').uncheck();

    // interpolation: from one test digit to another, through the UI
    await el.locator('.interp-ends input[value="a"]').check();
    await el.locator('.ipicker button.thumb').nth(1).click();
    await el.locator('.ipicker button.thumb').nth(7).click();
    await el.locator('.slerp').check();
    const interp = await until(page, (x) => x.strip > 100 && /\(spherical\)$/.test(x.stripLabel ?? ''), 'the interpolation strip');
    assert.match(interp.stripLabel, /9 decodes from test digit \d+ to test digit \d+/);
    await el.locator('button.animate').click();
    await el.locator('canvas.iframe').waitFor({ state: 'visible' });

    // inpainting: pick a digit, drag a box over its middle, repair
    await el.locator('.ippicker button.thumb').nth(4).click();
    const dmg = el.locator('canvas.damage');
    await dmg.scrollIntoViewIfNeeded();
    const db = await dmg.boundingBox();
    await page.mouse.move(db.x + db.width * 0.25, db.y + db.height * 0.3);
    await page.mouse.down();
    await page.mouse.move(db.x + db.width * 0.75, db.y + db.height * 0.65, { steps: 5 });
    await page.mouse.up();
    await el.locator('button.repair').click();
    const rep = await until(page, (x) => /damaged [\d.]+, repaired [\d.]+/.test(x.inpaint) && x.inpaintSteps > 30, 'the repaired digit');
    const [, before, after] = /damaged ([\d.]+), repaired ([\d.]+)/.exec(rep.inpaint).map(Number);
    assert.ok(before > 0 && Number.isFinite(after), `region errors: ${rep.inpaint}`);

    // traversal and KL fill in; the whole test set's loss lands after an epoch
    const more = await until(page, (x) => /^\d+ of \d+$/.test(x.kl) && /Latent traversal of test digit/.test(x.traverse ?? '') && x.traverseImage > 30, 'KL bars and the traversal');
    assert.match(more.kl, /^\d+ of 20$/);

    const violations = await axe(page);
    assert.deepEqual(violations, [], 'axe: no serious or critical violations (light)');
    // The screenshots come from one backend: the views draw the same on both.
    const shots = backend === 'cpu';
    if (shots) await screenshots(page, el, `${backend}-desktop-light`);
    await el.evaluate((e) => e.setAttribute('theme', 'dark'));
    await page.waitForTimeout(300);
    assert.deepEqual(await axe(page), [], 'axe: no serious or critical violations (dark)');
    if (shots) {
      await screenshots(page, el, `${backend}-desktop-dark`);
      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForTimeout(500);
      await screenshots(page, el, `${backend}-phone-dark`);
    }
    await el.evaluate((e) => e.setAttribute('theme', 'light'));
    if (shots) {
      await page.waitForTimeout(300);
      await screenshots(page, el, `${backend}-phone-light`);
      await page.screenshot({ path: outFile(`explore-${backend}-phone-light-page.png`), fullPage: true });
      await page.setViewportSize({ width: 1280, height: 900 });
    }
    return { s, page, el };
  } catch (err) {
    await s.page.screenshot({ path: outFile(`explore-${backend}-failure.png`), fullPage: true }).catch(() => {});
    await s.close();
    throw err;
  }
}

test('explore views on WebGPU (SwiftShader): draw, scatter tooltip, interpolate, inpaint, KL, traversal, axe, screenshots', async () => {
  const { s } = await walkThrough({ webgpu: true, query: '?batch=16&backend=webgpu', backend: 'webgpu' });
  try {
    assert.deepEqual(await s.page.evaluate(() => window.__cspViolations), [], 'no CSP violations');
    assert.deepEqual(problems(s.logs), [], 'no console errors or warnings');
  } finally {
    await s.close();
  }
});

test('explore views on the CPU fallback: the same walk, the whole test set, Evaluate (IWAE) and KL warm-up', async () => {
  const { s, page, el } = await walkThrough({ webgpu: false, query: '?kl-warmup=200', backend: 'cpu' });
  try {
    const config = await el.evaluate((e) => e.config);
    assert.equal(config.kl_warmup, 200, 'the kl-warmup attribute reaches the model');
    assert.equal(await el.locator('.warmup-out').textContent(), '200 steps', 'the control shows it');
    const full = await until(page, (x) => /^Whole test set \(10,000 digits\)/.test(x.full), 'the whole test set loss after an epoch');
    assert.match(full.full, /nats per image/);
    await el.locator('button.evaluate').click();
    const iwae = await until(page, (x) => /^log p\(x\) ≥ -\d/.test(x.iwae), 'the IWAE bound', 300000);
    assert.match(iwae.iwae, /K = 50, 1,000 test digits/);
    const nll = -Number(/≥ (-[\d.]+)/.exec(iwae.iwae)[1]);
    assert.ok(nll > 40 && nll < 600, `a plausible bound: ${nll} nats`);
    await el.locator('[data-view="loss"]').screenshot({ path: outFile('explore-loss-cpu-evaluated.png') });
    assert.deepEqual(await page.evaluate(() => window.__cspViolations), [], 'no CSP violations');
    assert.deepEqual(problems(s.logs), [], 'no console errors or warnings');
  } finally {
    await s.close();
  }
});
