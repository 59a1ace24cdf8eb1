// @ts-check
// The element's two notices: where the model trains (shown when it is not
// where asked, or was chosen by measurement) and the last error, with the
// button that acts on it (Reset after a crash, Retry after a failed download).

/** @typedef {import('./state.js').BackendInfo} BackendInfo */

export class Notices {
  /** @param {ShadowRoot} root */
  constructor(root) {
    this.root = root;
    /** @type {string | null} the kind of the error shown, if any */
    this.errorKind = null;
    /** @type {string | null} the label of the error notice's button, if any (it starts a fresh worker) */
    this.action = null;
  }

  /** @param {string} sel */
  $(sel) {
    return /** @type {HTMLElement} */ (this.root.querySelector(sel));
  }

  /** @param {BackendInfo} b */
  showBackend(b) {
    const notice = this.$('.backend-notice');
    // The CPU for a reason (not asked for), or WebGPU chosen by measurement (backend="auto").
    const show = (b.backend === 'cpu' && b.reason !== 'requested') || b.reason === 'measured';
    /** @type {HTMLElement} */ (notice.querySelector('.webgpu-again')).hidden = b.reason !== 'device-lost';
    /** @type {HTMLElement} */ (notice.querySelector('strong')).textContent = b.backend === 'cpu' ? 'Training on the CPU' : 'Training on WebGPU';
    notice.hidden = !show;
    /** @type {HTMLElement} */ (notice.querySelector('.msg')).textContent = show ? ` ${b.message}` : '';
  }

  /**
   * Shows an error of a kind; `action` puts a button under it (an earlier
   * button stays unless replaced).
   * @param {string} name  the error's kind
   * @param {string} message
   * @param {string | null} action
   */
  error(name, message, action) {
    this.show(message, name === 'Diverged' ? 'Training diverged' : 'Something went wrong');
    this.errorKind = name;
    if (action || !this.action) {
      this.action = action;
      const button = this.$('.notice-action');
      button.textContent = action ?? '';
      button.hidden = !action;
    }
  }

  /** @param {string} message @param {string} [title] */
  show(message, title = 'Something went wrong') {
    const box = this.$('.notice.error');
    /** @type {HTMLElement} */ (box.querySelector('strong')).textContent = title;
    /** @type {HTMLElement} */ (box.querySelector('.msg')).textContent = ` ${message}`;
    box.hidden = false;
  }

  hide() {
    this.errorKind = null;
    this.action = null;
    this.$('.notice-action').hidden = true;
    this.$('.notice.error').hidden = true;
  }
}
