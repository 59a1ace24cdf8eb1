// @ts-check
// "Save PNG" on every view with a canvas: a real PNG of what the view shows
// (its canvases stacked, on the theme's panel colour), pixel images scaled up
// by a whole factor without smoothing so that a 28x28 digit stays readable.
// Added to each view's card header from here, so the views need not know.
// saveBlob offers any Blob (a PNG, a checkpoint) as a download.

const MIN_WIDTH = 560; // px: small grids are scaled up to at least this
const MAX_SCALE = 8;
const GAP = 8;

/**
 * The canvases of a view card as one PNG.
 * @param {HTMLElement} card  an element with data-view
 * @returns {Promise<Blob>}
 */
export function viewPng(card) {
  const canvases = /** @type {HTMLCanvasElement[]} */ ([...card.querySelectorAll('canvas')]).filter((c) => c.width > 0 && c.height > 0);
  if (!canvases.length) return Promise.reject(new RangeError(`The view "${card.dataset.view}" has nothing drawn to save.`));
  const widest = Math.max(...canvases.map((c) => c.width));
  const scale = Math.max(1, Math.min(MAX_SCALE, Math.ceil(MIN_WIDTH / widest)));
  const width = widest * scale;
  const height = canvases.reduce((h, c) => h + c.height * scale, 0) + GAP * (canvases.length - 1);
  const out = document.createElement('canvas');
  out.width = width;
  out.height = height;
  const ctx = /** @type {CanvasRenderingContext2D} */ (out.getContext('2d'));
  ctx.fillStyle = getComputedStyle(card).backgroundColor || '#fff';
  ctx.fillRect(0, 0, width, height);
  ctx.imageSmoothingEnabled = false;
  let y = 0;
  for (const c of canvases) {
    ctx.drawImage(c, Math.round((width - c.width * scale) / 2), y, c.width * scale, c.height * scale);
    y += c.height * scale + GAP;
  }
  return new Promise((resolve, reject) => out.toBlob((b) => (b ? resolve(b) : reject(new Error('The browser could not encode the PNG.'))), 'image/png'));
}

/**
 * Puts a "Save PNG" button in the header of every view card with a canvas.
 * @param {ShadowRoot} root
 * @param {(view: string, blob: Blob) => void} save  offer the PNG as a download
 * @param {(err: unknown) => void} report
 * @param {boolean} [onlyNew]  only cards without the button (views mounted again)
 */
export function mountSavePng(root, save, report, onlyNew = false) {
  for (const card of /** @type {HTMLElement[]} */ ([...root.querySelectorAll('.card[data-view]')])) {
    if (!card.querySelector('canvas') || (onlyNew && card.querySelector('.save-png'))) continue;
    const view = card.dataset.view ?? 'view';
    let header = card.querySelector('header');
    if (!header) {
      const h3 = card.querySelector('h3');
      if (!h3) continue;
      header = document.createElement('header');
      h3.replaceWith(header);
      header.append(h3);
    }
    const title = card.querySelector('h3')?.textContent ?? view;
    const button = Object.assign(document.createElement('button'), { type: 'button', className: 'save-png', textContent: 'Save PNG' });
    button.setAttribute('aria-label', `Save PNG: ${title}`); // the visible text first (WCAG 2.5.3)
    button.addEventListener('click', () => viewPng(card).then((blob) => save(view, blob), report));
    header.append(button);
  }
}

/**
 * Offers a Blob as a download named `name`.
 * @param {Blob} blob
 * @param {string} name
 */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
