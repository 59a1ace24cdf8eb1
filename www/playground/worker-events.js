// @ts-check
// What each worker event (protocol.js, WorkerEvent) is for the views: most
// events are data a view draws as it comes. The element handles the rest
// (a new model, running or not, metrics, errors) in its own state first.

/**
 * @typedef {import('./protocol.js').WorkerEvent} WorkerEvent
 * @typedef {import('./views/index.js').ViewData} ViewData
 */

/**
 * The view data an event carries, or null for events the element handles alone.
 * @param {WorkerEvent} e
 * @param {number} step  the step the model is at (a test estimate is of it)
 * @returns {ViewData | null}
 */
export function viewData(e, step) {
  switch (e.event) {
    case 'loading':
      return { loading: true };
    case 'dataplan':
      return { dataplan: { name: e.name, test: e.test, train: e.train } };
    case 'data':
      return { data: { which: e.which, receivedBytes: e.receivedBytes, images: e.images, done: e.done } };
    case 'test':
      return { test: { step, metrics: e.metrics } };
    case 'originals':
      return { originals: e.images };
    case 'explore':
      return { explore: e };
    default:
      return null;
  }
}
