// @ts-check
// The one probability-to-pixels helper: images from the worker (Float32Array of
// ink probabilities 0..1, or Uint8Array of MNIST bytes 0..255, image after image,
// row-major, one channel) into RGBA through a colour scale; colour images (three
// channels, planar R, G, B as the model reads them) are drawn as they are; and
// back, any picture of a dark digit into the bytes the model reads.

/**
 * @typedef {import('./colours.js').InkScale} InkScale
 * @typedef {import('../state.js').ImageShape} ImageShape
 * @typedef {Float32Array | Uint8Array} Pixels  probabilities (float) or bytes (u8)
 */

/**
 * `cols x rows` images of `shape` tiled into one RGBA ImageData.
 * @param {Pixels} values  at least cols * rows images
 * @param {number} cols
 * @param {number} rows
 * @param {ImageShape} shape
 * @param {InkScale} scale
 * @returns {ImageData}
 */
export function tile(values, cols, rows, shape, scale) {
  const { height: h, width: w } = shape;
  const W = cols * w;
  const img = new ImageData(W, rows * h);
  const out = img.data;
  const unit = values instanceof Uint8Array ? 1 / 255 : 1;
  const { paper, ink } = scale;
  const per = h * w;
  if (shape.channels === 3) {
    for (let n = 0; n < cols * rows; n++) {
      const ox = (n % cols) * w;
      const oy = Math.floor(n / cols) * h;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const o = ((oy + y) * W + ox + x) * 4;
          for (let c = 0; c < 3; c++) out[o + c] = values[(n * 3 + c) * per + y * w + x] * unit * 255; // clamped by the array
          out[o + 3] = 255;
        }
      }
    }
    return img;
  }
  for (let n = 0; n < cols * rows; n++) {
    const ox = (n % cols) * w;
    const oy = Math.floor(n / cols) * h;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let p = values[n * per + y * w + x] * unit;
        p = p > 1 ? 1 : p > 0 ? p : 0;
        const o = ((oy + y) * W + ox + x) * 4;
        out[o] = paper[0] + (ink[0] - paper[0]) * p;
        out[o + 1] = paper[1] + (ink[1] - paper[1]) * p;
        out[o + 2] = paper[2] + (ink[2] - paper[2]) * p;
        out[o + 3] = 255;
      }
    }
  }
  return img;
}

/**
 * `n` images as `n` separate ImageData.
 * @param {Pixels} values
 * @param {number} n
 * @param {ImageShape} shape
 * @param {InkScale} scale
 * @returns {ImageData[]}
 */
export function separate(values, n, shape, scale) {
  const per = shape.channels * shape.height * shape.width;
  return Array.from({ length: n }, (_, k) => tile(values.subarray(k * per, (k + 1) * per), 1, 1, shape, scale));
}

/**
 * A picture of a dark digit on a light (or transparent) background, any size,
 * scaled to `shape`, as model bytes (0 = background, 255 = ink).
 * @param {ImageData | CanvasImageSource} src
 * @param {ImageShape} shape
 * @returns {Uint8Array}
 */
export function toBytes(src, shape) {
  const { height: h, width: w } = shape;
  /** @type {Uint8ClampedArray} */
  let data;
  if (src instanceof ImageData && src.width === w && src.height === h) {
    data = src.data;
  } else {
    /** @type {CanvasImageSource} */
    let source;
    if (src instanceof ImageData) {
      const c = new OffscreenCanvas(src.width, src.height);
      /** @type {OffscreenCanvasRenderingContext2D} */ (c.getContext('2d')).putImageData(src, 0, 0);
      source = c;
    } else {
      source = src;
    }
    const canvas = new OffscreenCanvas(w, h);
    const ctx = /** @type {OffscreenCanvasRenderingContext2D} */ (canvas.getContext('2d', { willReadFrequently: true }));
    try {
      ctx.drawImage(source, 0, 0, w, h);
    } catch {
      throw new TypeError('encode() needs an ImageData, a canvas, an ImageBitmap or a loaded image.');
    }
    data = ctx.getImageData(0, 0, w, h).data;
  }
  const out = new Uint8Array(w * h);
  for (let i = 0; i < out.length; i++) {
    const a = data[i * 4 + 3] / 255;
    const lum = 0.299 * data[i * 4] + 0.587 * data[i * 4 + 1] + 0.114 * data[i * 4 + 2];
    out[i] = Math.round(255 - (lum * a + 255 * (1 - a))); // composited over white, inverted
  }
  return out;
}
