// The element's public surface as written in www/custom-elements.json (and
// vae-playground.d.ts) against the element itself: the attributes it observes,
// its methods and properties, the events it dispatches with their detail
// fields, and the values and ranges its attributes accept (from the wasm core).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openPage, problems, ROOT, DIST } from './harness.mjs';
import { elementOf } from '../../www/tools/readme-api.mjs';
import { RUST_KINDS, PAGE_KINDS } from '../../www/playground/errors.js';

const manifest = JSON.parse(readFileSync(join(ROOT, 'www', 'custom-elements.json'), 'utf8'));
const decl = elementOf(manifest);
const sorted = (xs) => [...xs].sort();
// The field names of an object type's top level: `{ a: T, b?: { c: U } }` -> a, b.
function fieldsOf(type) {
  const body = type.replace(/^CustomEvent<\{([\s\S]*)\}>$/, '$1');
  const names = [];
  let depth = 0;
  for (const part of body.split(/([{}<>(),])/)) {
    if ('{<('.includes(part) && part) depth++;
    else if ('}>)'.includes(part) && part) depth--;
    else if (depth === 0) for (const m of part.matchAll(/(\w+)\??\s*:/g)) names.push(m[1]);
  }
  return names;
}
// "use a whole number from 2 to 100." -> "a whole number from 2 to 100"
const allowedIn = (message) => /: (?:use|list) (.*)\.$/.exec(message)?.[1];

// Records every event the elements dispatch, with its detail's fields.
function recordDispatches() {
  window.__dispatched = [];
  const original = EventTarget.prototype.dispatchEvent;
  EventTarget.prototype.dispatchEvent = function dispatchEvent(event) {
    if (this instanceof HTMLElement && this.localName === 'vae-playground') {
      const d = event.detail;
      window.__dispatched.push({ id: this.id, type: event.type, detail: d && typeof d === 'object' ? Object.keys(d) : null, message: d?.message, kind: d?.kind });
    }
    return original.call(this, event);
  };
}

test('manifest: the files Trunk copies are the source', () => {
  for (const f of ['custom-elements.json', 'vae-playground.d.ts']) {
    assert.equal(readFileSync(join(DIST, f), 'utf8'), readFileSync(join(ROOT, 'www', f), 'utf8'), `dist/${f} is www/${f}`);
  }
  assert.equal(decl.tagName, 'vae-playground');
  assert.equal(manifest.schemaVersion, '2.0.0');
});

test('manifest: vae-playground.d.ts declares every method, property and event', () => {
  const dts = readFileSync(join(ROOT, 'www', 'vae-playground.d.ts'), 'utf8');
  for (const m of decl.members.filter((x) => x.kind === 'method')) assert.match(dts, new RegExp(`\\n  ${m.name}\\(`), `method ${m.name}`);
  for (const f of decl.members.filter((x) => x.kind === 'field')) assert.match(dts, new RegExp(`\\n  readonly ${f.name}:`), `property ${f.name}`);
  for (const e of decl.events) assert.match(dts, new RegExp(`\\n  ${e.name}: CustomEvent<`), `event ${e.name}`);
  // the error kinds: the page's list, the .d.ts union and the manifest's error event agree
  const union = /export type ErrorKind =([^;]*);/.exec(dts)[1];
  assert.deepEqual(sorted([...union.matchAll(/'(\w+)'/g)].map((m) => m[1])), sorted([...RUST_KINDS, ...PAGE_KINDS]));
  const errorEvent = decl.events.find((e) => e.name === 'error').description;
  for (const kind of [...RUST_KINDS, ...PAGE_KINDS]) assert.ok(errorEvent.includes(kind), `the error event's description names ${kind}`);
});

test('manifest: attributes, methods, properties, events and ranges match the element', async () => {
  const s = await openPage({ webgpu: false, init: recordDispatches, query: '?batch=32' });
  const { page } = s;
  try {
    const surface = await page.evaluate(async () => {
      await customElements.whenDefined('vae-playground');
      const C = customElements.get('vae-playground');
      const proto = C.prototype;
      const lifecycle = ['constructor', 'connectedCallback', 'disconnectedCallback', 'attributeChangedCallback'];
      const names = Object.getOwnPropertyNames(proto).filter((n) => !lifecycle.includes(n) && !n.startsWith('_'));
      const d = (n) => Object.getOwnPropertyDescriptor(proto, n);
      return {
        observed: C.observedAttributes,
        methods: names.filter((n) => typeof d(n).value === 'function'),
        getters: names.filter((n) => d(n).get),
        setters: names.filter((n) => d(n).set),
      };
    });
    assert.deepEqual(sorted(surface.observed), sorted(decl.attributes.map((a) => a.name)), 'observedAttributes are the manifest attributes');
    assert.deepEqual(sorted(surface.methods), sorted(decl.members.filter((m) => m.kind === 'method').map((m) => m.name)), 'public methods');
    assert.deepEqual(sorted(surface.getters), sorted(decl.members.filter((m) => m.kind === 'field').map((m) => m.name)), 'public properties');
    for (const f of decl.members.filter((m) => m.kind === 'field')) assert.equal(f.readonly, true, `${f.name} is read-only in the manifest`);
    assert.deepEqual(surface.setters, [], 'and in the element');

    // Drive the element through everything that dispatches an event.
    await page.evaluate(async () => {
      const el = document.querySelector('vae-playground');
      if (!el.ready) await new Promise((r) => el.addEventListener('ready', r, { once: true }));
      await el.start();
      await new Promise((r) => el.addEventListener('step', r, { once: true }));
      await el.pause();
      await el.reset();
      // a second element in benchmark mode (a couple of steps on each backend)
      const b = document.createElement('vae-playground');
      b.id = 'bench';
      b.setAttribute('bench', '2');
      b.setAttribute('views', 'status');
      const done = new Promise((r) => b.addEventListener('bench', r, { once: true }));
      document.body.append(b);
      await done;
      b.remove();
    });

    // Every attribute that takes a setting says what it allows; the manifest says the same.
    const bad = { preset: 'nope', 'latent-dim': 'x', beta: 'x', lr: 'x', batch: 'x', seed: 'x', 'kl-warmup': 'x', recon: 'nope', backend: 'nope', controls: 'nope', theme: 'nope', offscreen: 'nope', views: 'nope' };
    const heard = await page.evaluate(async (values) => {
      const el = document.querySelector('vae-playground');
      const out = {};
      for (const [name, value] of Object.entries(values)) {
        const before = el.getAttribute(name);
        const got = new Promise((r) => el.addEventListener('error', (e) => r(e.detail), { once: true }));
        el.setAttribute(name, value);
        out[name] = await got;
        if (before === null) el.removeAttribute(name);
        else el.setAttribute(name, before);
      }
      return out;
    }, bad);
    for (const a of decl.attributes.filter((x) => x.name in bad)) {
      const { message, kind } = heard[a.name];
      assert.equal(kind, 'InvalidConfig', `${a.name}: kind`);
      const allowed = allowedIn(message);
      assert.ok(allowed, `${a.name}: the message says what is allowed: ${message}`);
      const choices = /^one of (.*)$/.exec(allowed);
      if (choices) {
        const listed = [...a.type.text.matchAll(/'([^']+)'/g)].map((m) => m[1]);
        assert.deepEqual(sorted(choices[1].split(', ')), sorted(listed), `${a.name}: the manifest's values are the element's`);
      } else if (a.name === 'views') {
        assert.ok(a.description.includes(/^any of (.*), separated by commas$/.exec(allowed)[1]), `views: ${allowed} / ${a.description}`);
      } else {
        assert.ok(a.description.includes(allowed), `${a.name}: the manifest says "${allowed}": ${a.description}`);
      }
    }

    // Every event the element dispatched is in the manifest with the same detail
    // fields, and every event in the manifest was dispatched.
    const dispatched = await page.evaluate(() => window.__dispatched);
    const types = new Set(dispatched.map((d) => d.type));
    assert.deepEqual(sorted(types), sorted(decl.events.map((e) => e.name)), 'events dispatched = events in the manifest');
    for (const e of decl.events) {
      const want = sorted(fieldsOf(e.type.text));
      for (const d of dispatched.filter((x) => x.type === e.name)) assert.deepEqual(sorted(d.detail ?? []), want, `${e.name} detail fields`);
    }
    assert.deepEqual(await page.evaluate(() => window.__cspViolations), [], 'no CSP violations');
    assert.deepEqual(problems(s.logs, [/^vae-playground bench /]), [], 'no console errors or warnings');
  } finally {
    await s.close();
  }
});
