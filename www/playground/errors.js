// @ts-check
// Error kinds. The wasm core sets `err.name` to one of the Rust kinds; the page
// adds a few of its own. Code matches on the kind, never on message text; the
// message is a sentence for a person.

/**
 * @typedef {'InvalidConfig' | 'BadFile' | 'NoAdapter' | 'DeviceLost' | 'OutOfMemory' | 'Diverged' | 'Internal'
 *   | 'Network' | 'WorkerFailed' | 'NotRunning'} ErrorKind
 * @typedef {{ name: ErrorKind, message: string }} WireError  an error as it crosses postMessage
 */

/** Kinds set in Rust (src/web), in the order of the wasm surface contract. */
export const RUST_KINDS = ['InvalidConfig', 'BadFile', 'NoAdapter', 'DeviceLost', 'OutOfMemory', 'Diverged', 'Internal'];
/** Kinds the page sets: a download failed, the worker could not run, the element is not in a page. */
export const PAGE_KINDS = ['Network', 'WorkerFailed', 'NotRunning'];
const KINDS = new Set([...RUST_KINDS, ...PAGE_KINDS]);

/**
 * An `Error` of a given kind.
 * @param {ErrorKind} name
 * @param {string} message
 * @returns {Error & { name: ErrorKind }}
 */
export function kindError(name, message) {
  const err = new Error(message);
  err.name = name;
  return /** @type {Error & { name: ErrorKind }} */ (err);
}

/**
 * The plain form of any thrown value, for postMessage. Anything without a known
 * kind (a JS TypeError, a string thrown by a library) is `Internal`.
 * @param {unknown} err
 * @returns {WireError}
 */
export function toWire(err) {
  if (err && typeof err === 'object' && 'message' in err) {
    const name = 'name' in err && KINDS.has(String(err.name)) ? /** @type {ErrorKind} */ (String(err.name)) : 'Internal';
    return { name, message: String(err.message) };
  }
  return { name: 'Internal', message: String(err) };
}

/**
 * Back to an `Error` on the other side of postMessage.
 * @param {WireError} wire
 */
export function fromWire(wire) {
  return kindError(wire.name, wire.message);
}
