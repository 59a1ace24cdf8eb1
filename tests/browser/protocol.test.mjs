// The protocol client (www/playground/protocol.js) against a stand-in worker, in
// Node: every request settles, with its reply, when the worker fails, or when the
// client is closed; error kinds survive the trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerClient } from '../../www/playground/protocol.js';

class FakeWorker {
  constructor() {
    this.posted = [];
    this.terminated = false;
    this.onmessage = null;
    this.onerror = null;
  }
  postMessage(msg) { this.posted.push(msg); }
  terminate() { this.terminated = true; }
  reply(msg) { this.onmessage?.({ data: msg }); }
}

function client() {
  const worker = new FakeWorker();
  const events = [];
  const failures = [];
  const c = new WorkerClient(/** @type {any} */ (worker), { workerUrl: 'vae-worker.js', onEvent: (e) => events.push(e), onFailure: (e) => failures.push(e) });
  return { worker, c, events, failures };
}

test('protocol: replies settle their own request, by id; events go to onEvent', async () => {
  const { worker, c, events } = client();
  const a = c.request('sample', { n: 1 });
  const b = c.request('pause', {});
  assert.deepEqual(worker.posted.map((m) => [m.id, m.op]), [[1, 'sample'], [2, 'pause']]);
  worker.reply({ event: 'state', running: false });
  worker.reply({ id: 2, result: null });
  worker.reply({ id: 1, error: { name: 'DeviceLost', message: 'gone' } });
  assert.equal(await b, null);
  await assert.rejects(a, (e) => e.name === 'DeviceLost' && e.message === 'gone');
  assert.deepEqual(events, [{ event: 'state', running: false }]);
});

test('protocol: a worker that fails rejects every pending and later request', async () => {
  const { worker, c, failures } = client();
  const a = c.request('init', { base: '/', backend: 'cpu' });
  worker.onerror({ message: 'boom', preventDefault() {} });
  await assert.rejects(a, (e) => e.name === 'WorkerFailed' && /boom/.test(e.message));
  await assert.rejects(c.request('start', {}), (e) => e.name === 'WorkerFailed');
  assert.equal(failures.length, 1);
  assert.ok(worker.terminated);
});

test('protocol: close() rejects pending requests, asks the worker to dispose, then terminates it', async () => {
  const { worker, c } = client();
  const a = c.request('decode', { z: new Float32Array(2), n: 1 });
  const removed = Object.assign(new Error('removed'), { name: 'NotRunning' });
  c.close(removed);
  await assert.rejects(a, (e) => e === removed);
  await assert.rejects(c.request('sample', { n: 1 }), (e) => e === removed);
  assert.deepEqual(worker.posted.at(-1), { id: 0, op: 'dispose', args: {} });
  assert.equal(worker.terminated, false, 'waits for the session to be freed');
  worker.reply({ id: 0, result: null });
  assert.equal(worker.terminated, true);
});

test('protocol: close() terminates a worker that does not answer within 2 s', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { worker, c } = client();
  c.close(new Error('removed'));
  t.mock.timers.tick(1999);
  assert.equal(worker.terminated, false);
  t.mock.timers.tick(1);
  assert.equal(worker.terminated, true);
});

test('protocol: the page knows every error kind the wasm core sets (src/error.rs)', async () => {
  const { readFileSync } = await import('node:fs');
  const { RUST_KINDS } = await import('../../www/playground/errors.js');
  const rust = readFileSync(new URL('../../src/error.rs', import.meta.url), 'utf8');
  const names = [...rust.matchAll(/ErrorKind::(\w+) => "(\w+)"/g)].map((m) => m[2]);
  assert.ok(names.length >= 7, `kinds found in src/error.rs: ${names}`);
  assert.deepEqual([...names].sort(), [...RUST_KINDS].sort());
});
