// @ts-check
// The one colour scale of the views: a pixel's probability of ink, 0..1, goes
// linearly from the theme's paper colour to its ink colour (CSS custom properties
// --paper and --ink of the element, so light and dark themes both read right).

/** @typedef {[number, number, number]} Rgb */
/** @typedef {{ paper: Rgb, ink: Rgb }} InkScale */

/** Dark ink on white: the images the element's API returns (like a drawing). */
export const PRINT = /** @type {InkScale} */ (Object.freeze({ paper: [255, 255, 255], ink: [0, 0, 0] }));

/**
 * The theme's scale, read from the element's computed style.
 * @param {Element} host
 * @returns {InkScale}
 */
export function inkScale(host) {
  const s = getComputedStyle(host);
  return { paper: parseColor(s.getPropertyValue('--paper')), ink: parseColor(s.getPropertyValue('--ink')) };
}

/**
 * A theme colour by custom property name, with a neutral grey if unset.
 * @param {Element} host
 * @param {string} name  e.g. '--series-total'
 */
export function themeColor(host, name) {
  return getComputedStyle(host).getPropertyValue(name).trim() || '#888';
}

/**
 * '#rrggbb' -> [r, g, b]; anything else -> grey.
 * @param {string} text
 * @returns {Rgb}
 */
function parseColor(text) {
  const m = /^#([0-9a-f]{6})$/i.exec(text.trim());
  if (!m) return [128, 128, 128];
  const n = parseInt(m[1], 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}
