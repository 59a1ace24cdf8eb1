// @ts-check
// The views of <vae-playground>, and the one place a new view plugs in.
//
// A view is a module whose default export is a ViewModule: a name (what the
// `views` attribute lists), a place, the HTML of its card, and `mount`, which
// finds its canvases in that card and returns a View. The element hands every
// view every piece of data the worker sends (`update`); a view draws what it
// needs and ignores the rest. A view handles its own input (hover, draw, drag);
// it asks the worker through `ctx.request` (and hands failures to `ctx.report`)
// and writes shared settings (such as the latent grid's axes) into `ctx.state`. Views share one colour scale
// (colours.js) and one probability-to-pixels helper (pixels.js).
//
// To add a view: write views/NAME.js exporting a ViewModule, add it to VIEWS
// below, add its name to the `views` attribute in custom-elements.json (the
// manifest test checks the two agree), and its styles to styles.js.

import status from './status.js';
import loss from './loss.js';
import samples from './samples.js';
import latent from './latent-grid.js';
import recon from './reconstructions.js';
import scatter from './scatter.js';
import draw from './draw.js';
import interpolate from './interpolate.js';
import inpaint from './inpaint.js';
import traverse from './traverse.js';
import kl from './kl.js';

/**
 * @typedef {import('../state.js').PlaygroundState} PlaygroundState
 * @typedef {import('../state.js').ResolvedConfig} ResolvedConfig
 * @typedef {import('../state.js').BackendInfo} BackendInfo
 * @typedef {import('../state.js').TrainMetrics} TrainMetrics
 * @typedef {import('../state.js').EvalMetrics} EvalMetrics
 * @typedef {import('../protocol.js').WorkerClient} WorkerClient
 */

/**
 * Data for the views: one or more of these fields at a time.
 * @typedef {object} ViewData
 * @property {ResolvedConfig} [model]  a new model: forget what belonged to the old one
 * @property {BackendInfo} [backend]  where the model trains
 * @property {boolean} [loading]  the wasm core is loading
 * @property {boolean} [stopped]  the element could not start (the error is shown): nothing more will come
 * @property {TrainMetrics} [metrics]  a chunk of training steps
 * @property {{ step: number, metrics: EvalMetrics }} [test]  a test-set estimate at a step
 * @property {{ samples?: Float32Array, grid?: Float32Array, gridSize: number, recon?: Float32Array }} [frame]
 *   pictures: 64 decoded prior samples (8 x 8), the latent grid (gridSize²), 8 reconstructions
 * @property {Uint8Array} [originals]  the 8 test digits that are reconstructed
 * @property {{ name?: string, test: { bytes: number, count: number }, train: { bytes: number, count: number } }} [dataplan]
 * @property {{ which: 'train' | 'test', receivedBytes: number, images: number, done: boolean }} [data]
 * @property {import('../startup.js').StartupBreakdown} [startup]  the start-up breakdown, once the first trained samples are drawn
 * @property {{ item: string, ms?: number, [key: string]: any }} [explore]  a result of the explore views' worker side
 *   (worker/explore.js): a watched item refreshed (`item`: scatter, overlay, kl, traverse, interp, draw), or a long
 *   job's progress or result (full, iwae)
 */

/**
 * @typedef {object} ViewContext
 * @property {HTMLElement} host  the element: theme colours are its CSS custom properties
 * @property {PlaygroundState} state
 * @property {WorkerClient['request']} request  ask the worker (rejects when the element is removed)
 * @property {(err: unknown) => void} report  show a failed request's error (ignores NotRunning: the element left)
 * @property {AbortSignal} signal  aborted when the views mounted with this context are gone (the data changed, or
 *   the element left): listeners a view adds to `state` pass it
 */

/**
 * @typedef {object} View
 * @property {(data: ViewData) => void} update  new data: draw it
 * @property {() => void} redraw  the theme changed: draw the last data again
 * @property {() => void} destroy  the element is leaving the page: stop observers
 */

/**
 * @typedef {object} ViewModule
 * @property {string} name  its name in the `views` attribute
 * @property {'top' | 'grid'} place  the status bar above everything, or a card in the grid
 * @property {string} template  its HTML: one element with data-view="name"
 * @property {(root: HTMLElement, ctx: ViewContext) => View} mount
 */

/** @type {ViewModule[]} */
export const VIEWS = [status, loss, samples, latent, recon, scatter, draw, interpolate, inpaint, traverse, kl];
