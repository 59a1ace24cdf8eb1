// @ts-check
// A canvas showing a grid of images in the theme's colours; keeps what it showed
// so a theme change can paint it again.

import { inkScale } from './colours.js';
import { tile } from './pixels.js';

export class ImageGrid {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {Element} host  whose theme colours to use
   */
  constructor(canvas, host) {
    this.canvas = canvas;
    this.host = host;
    /** @type {{ values: import('./pixels.js').Pixels, cols: number, rows: number, shape: import('../state.js').ImageShape } | null} */
    this.last = null;
  }

  /**
   * @param {import('./pixels.js').Pixels} values
   * @param {number} cols
   * @param {number} rows
   * @param {import('../state.js').ImageShape} shape
   */
  show(values, cols, rows, shape) {
    this.last = { values, cols, rows, shape };
    this.redraw();
  }

  redraw() {
    if (!this.last) return;
    const { values, cols, rows, shape } = this.last;
    const img = tile(values, cols, rows, shape, inkScale(this.host));
    const c = this.canvas;
    if (c.width !== img.width || c.height !== img.height) {
      c.width = img.width;
      c.height = img.height;
    }
    /** @type {CanvasRenderingContext2D} */ (c.getContext('2d')).putImageData(img, 0, 0);
  }
}
