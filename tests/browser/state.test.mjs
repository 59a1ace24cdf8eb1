// Settings from attributes, checked against a catalog shaped like the wasm
// core's Session.presets() / Session.limits() (the browser tests check the real
// one): what is accepted, and what each complaint says is allowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PlaygroundState, settingsFromAttributes, usablePresets } from '../../www/playground/state.js';

const mnist = { channels: 1, height: 28, width: 28 };
const preset = (name, image = mnist) => ({ name, label: name, description: '', image, latent: 2, beta: 1, lr: 1e-3, batch: 64, recon: 'bce', seed: 0, binarize: false });
const catalog = {
  presets: [preset('mlp'), preset('conv'), preset('cifar', { channels: 3, height: 32, width: 32 })],
  limits: {
    latent: { min: 2, max: 100, integer: true },
    beta: { min: 0, max: 10 },
    lr: { min: 1e-6, max: 1, log: true },
    batch: { min: 1, max: 1024, integer: true },
    seed: { min: 0, max: 4294967295, integer: true },
    recon: { options: ['bce', 'gaussian'] },
  },
};
const from = (attrs) => settingsFromAttributes(catalog, (n) => attrs[n] ?? null);

test('state: attributes become settings; absent ones stay with the preset', () => {
  assert.deepEqual(from({}), { preset: 'mlp' });
  assert.deepEqual(from({ preset: 'conv', 'latent-dim': '8', beta: '0.5', lr: '1e-6', recon: 'gaussian', seed: '4294967295' }), { preset: 'conv', latent: 8, beta: 0.5, lr: 1e-6, recon: 'gaussian', seed: 4294967295 });
  assert.deepEqual(usablePresets(catalog).map((p) => p.name), ['mlp', 'conv'], 'only presets for the page\'s images');
});

test('state: a bad attribute names itself and what is allowed, with kind InvalidConfig', () => {
  const cases = [
    [{ 'latent-dim': '-3' }, 'The attribute latent-dim="-3" is not valid: use a whole number from 2 to 100.'],
    [{ 'latent-dim': '2.5' }, /whole number from 2 to 100/],
    [{ beta: '11' }, /a number from 0 to 10\.$/],
    [{ lr: '0' }, /a number from 0\.000001 to 1\.$/],
    [{ batch: '' }, null],
    [{ recon: 'l1' }, /use one of bce, gaussian\.$/],
    [{ preset: 'cifar' }, /use one of mlp, conv \(cifar needs 3x32x32 images: load colour data, such as CIFAR-10 batches, first\)/],
    [{ preset: 'nope' }, /use one of mlp, conv\.$/],
  ];
  for (const [attrs, want] of cases) {
    if (want === null) {
      assert.doesNotThrow(() => from(attrs));
      continue;
    }
    assert.throws(() => from(attrs), (e) => e.name === 'InvalidConfig' && (typeof want === 'string' ? e.message === want : want.test(e.message)), JSON.stringify(attrs));
  }
});

test('state: set() reports only the keys that changed', () => {
  const s = new PlaygroundState();
  const seen = [];
  s.addEventListener('change', (e) => seen.push(e.detail.keys));
  s.set({ step: 0, running: false });
  s.set({ step: 3, running: true, ready: false });
  assert.deepEqual(seen, [['step', 'running']]);
  assert.equal(s.value.step, 3);
});
