// Shared set-up for the browser tests: Debian's Chromium driven by playwright-core,
// the built dist/ served by tests/browser/server.mjs, console and CSP reports
// collected, screenshots written to test-output/ (git-ignored).
import { chromium } from 'playwright-core';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './server.mjs';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = process.env.VAE_DIST || join(ROOT, 'dist');
export const OUT = join(ROOT, 'test-output');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const BASE_FLAGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

export function requireDist() {
  if (!existsSync(join(DIST, 'index.html')) || !existsSync(join(DIST, 'mnist', 'manifest.json'))) {
    throw new Error(`${DIST} has no built page: run \`trunk build --release --offline\` first (\`make test\` does).`);
  }
}

export function outFile(name) {
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, '.gitignore'), '*\n');
  return join(OUT, name);
}

// Opens the page; returns { browser, page, server, logs, violations, close }.
// `overrides` (URL path -> local file, see server.mjs) may be changed while the page runs;
// `flags` are extra Chromium flags.
export async function openPage({ webgpu = true, query = '', csp = true, viewport, colorScheme = 'light', path = '', cache = false, init = null, overrides = {}, flags = [] } = {}) {
  requireDist();
  const server = await startServer({ root: DIST, csp, cache, overrides });
  const args = [...BASE_FLAGS, ...flags];
  if (webgpu) args.push('--enable-unsafe-webgpu');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args });
  const context = await browser.newContext({ viewport: viewport || { width: 1280, height: 900 }, colorScheme });
  const page = await context.newPage();
  const logs = [];
  const record = (where) => (msg) => logs.push({ where, type: msg.type(), text: msg.text() });
  page.on('console', record('page'));
  page.on('pageerror', (err) => logs.push({ where: 'page', type: 'pageerror', text: String(err && err.stack || err) }));
  page.on('worker', (w) => w.on('console', record('worker')));
  page.on('response', (r) => {
    if (r.status() >= 400) logs.push({ where: 'network', type: 'http', text: `${r.status()} ${r.url()}` });
  });
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber} ${e.sample}`);
    });
    window.__longTasks = [];
    try {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask', buffered: true });
    } catch { /* no long-task API */ }
  });
  if (init) await page.addInitScript(init);
  await page.goto(`${server.url}${path}${query}`);
  return {
    browser,
    page,
    server,
    logs,
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

// Reads the element's state from its shadow root.
export function readState(page) {
  return page.evaluate(() => {
    const el = document.querySelector('vae-playground');
    if (!el || !el.shadowRoot) return null; // not defined yet
    const root = el.shadowRoot;
    const text = (sel) => root.querySelector(sel)?.textContent.trim();
    const digest = (sel) => {
      // Copy into a fresh canvas: reading the element's canvases directly over and
      // over would make Chromium warn about repeated getImageData readbacks.
      const c = root.querySelector(sel);
      const copy = document.createElement('canvas');
      copy.width = c.width;
      copy.height = c.height;
      const cx = copy.getContext('2d', { willReadFrequently: true });
      cx.drawImage(c, 0, 0);
      const d = cx.getImageData(0, 0, c.width, c.height).data;
      let h = 2166136261;
      let min = 255;
      let max = 0;
      for (let i = 0; i < d.length; i += 4) {
        h = Math.imul(h ^ d[i], 16777619);
        min = Math.min(min, d[i]);
        max = Math.max(max, d[i]);
      }
      return { hash: h >>> 0, contrast: max - min };
    };
    return {
      step: el.step,
      running: el.running,
      backend: text('.backend'),
      pillBackend: root.querySelector('.pill').dataset.backend,
      notice: root.querySelector('.backend-notice').hidden ? null : text('.backend-notice'),
      error: root.querySelector('.notice.error').hidden ? null : text('.notice.error'),
      startLabel: text('.start'),
      data: text('.data-label'),
      samples: digest('.samples'),
      latent: digest('.latent'),
      recon: digest('.reconstructions'),
      originals: digest('.originals'),
    };
  });
}

export async function waitFor(page, predicate, { timeout = 60000, interval = 250, what = 'condition', allowError = false } = {}) {
  const t0 = Date.now();
  let last;
  for (;;) {
    last = await readState(page);
    if (last && predicate(last)) return last;
    // An error shown in the element will not go away by itself: fail now, with it.
    if (last && last.error && !allowError) throw new Error(`the element shows an error while waiting for ${what}: ${last.error}`);
    if (Date.now() - t0 > timeout) throw new Error(`timed out after ${timeout} ms waiting for ${what}; last state ${JSON.stringify(last)}`);
    await page.waitForTimeout(interval);
  }
}

// Console messages that are errors or warnings, minus the ones named as expected.
export function problems(logs, allowed = []) {
  return logs.filter((l) => (l.type === 'error' || l.type === 'warning' || l.type === 'pageerror') && !allowed.some((re) => re.test(l.text)));
}

// Listens for `step` events and metric values inside the page.
export async function trackMetrics(page) {
  await page.evaluate(() => {
    window.__metrics = [];
    document.querySelector('vae-playground').addEventListener('step', (e) => window.__metrics.push(e.detail));
  });
}

const AXE = readFileSync(join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

// axe-core over the whole page (the element's open shadow root included): the
// serious and critical violations.
export async function axe(page) {
  await page.evaluate(AXE); // evaluated through the DevTools protocol: the page's CSP does not apply
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
