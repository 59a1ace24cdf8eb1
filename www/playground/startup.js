// @ts-check
// The page's side of the start-up breakdown: collects the
// worker's `startup` pushes (www/worker/startup.js; times on the shared clock
// performance.timeOrigin + performance.now()) into the page's timeline, and
// when the first trained samples are drawn, turns them into the element's
// `startup` event and property: { total, phases: [{ name, start, end, ms }] }.

/**
 * @typedef {{ name: string, start: number, end: number, ms: number }} StartupPhase
 *   start, end: milliseconds on the page's performance.now() clock
 * @typedef {{ total: number, phases: StartupPhase[] }} StartupBreakdown
 *   total: page load (navigation start) to the first trained samples drawn
 */

/** Phases in the order they are listed. */
const ORDER = ['worker', 'wasm', 'device', 'probe', 'pipelines', 'data', 'first-step', 'first-view'];

export class StartupTimes {
  /** @param {number} bootAt  when the element started its worker (page clock) */
  constructor(bootAt) {
    this.bootAt = bootAt;
    /** @type {Map<string, StartupPhase>} */
    this.phases = new Map();
  }

  /**
   * A phase from the worker.
   * @param {{ phase: string, start: number, end: number }} msg  epoch milliseconds
   */
  add(msg) {
    const start = msg.start - performance.timeOrigin;
    const end = msg.end - performance.timeOrigin;
    this.phases.set(msg.phase, { name: msg.phase, start, end, ms: end - start });
    // The worker's own start: from the element's new Worker() to the wasm download.
    if (msg.phase === 'wasm' && !this.phases.has('worker')) {
      this.phases.set('worker', { name: 'worker', start: this.bootAt, end: start, ms: start - this.bootAt });
    }
  }

  /**
   * The first trained samples were drawn at `at`: the breakdown, with the
   * first-view phase ending there; each phase also becomes a performance
   * measure `vae-playground:NAME`.
   * @param {number} at
   * @returns {StartupBreakdown}
   */
  finish(at) {
    const view = this.phases.get('first-view');
    if (view) this.phases.set('first-view', { ...view, end: at, ms: at - view.start });
    const phases = [...this.phases.values()].sort((a, b) => ORDER.indexOf(a.name) - ORDER.indexOf(b.name));
    for (const p of phases) {
      try {
        performance.measure(`vae-playground:${p.name}`, { start: p.start, end: p.end });
      } catch { /* measures are a convenience */ }
    }
    return { total: at, phases: phases.map((p) => ({ ...p })) };
  }
}
