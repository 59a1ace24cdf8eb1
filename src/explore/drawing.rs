//! A drawing made into an image the model was trained on: MNIST's own
//! preprocessing (fit the stroke in a 20x20 box, centre its mass in 28x28).

use crate::config::ImageShape;

/// MNIST-style preprocessing of a grey drawing (`width * height` u8, 0 =
/// background): crop to the ink's bounding box, scale it (area averaging,
/// aspect kept) so its longer side is 20/28 of the output's, and place it so
/// that its centre of mass lands on the output's centre (an integer shift,
/// as MNIST was made). Returns the `out.height * out.width` image and
/// whether the drawing was blank.
pub fn preprocess_drawing(
    pixels: &[u8],
    width: usize,
    height: usize,
    out: ImageShape,
) -> (Vec<u8>, bool) {
    let (oh, ow) = (out.height, out.width);
    let mut result = vec![0u8; oh * ow];
    let ink = |x: usize, y: usize| pixels[y * width + x] > 0;
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for y in 0..height {
        for x in 0..width {
            if ink(x, y) {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x + 1);
                y1 = y1.max(y + 1);
            }
        }
    }
    if x0 == usize::MAX {
        return (result, true);
    }
    let (bw, bh) = (x1 - x0, y1 - y0);
    let target = ((oh.min(ow) as f64) * 20.0 / 28.0).round().max(1.0);
    let scale = target / bw.max(bh) as f64;
    let nw = ((bw as f64 * scale).round() as usize).clamp(1, ow);
    let nh = ((bh as f64 * scale).round() as usize).clamp(1, oh);
    // Area averaging: each output pixel is the mean of the source area it
    // covers (fractional coverage at its edges).
    let (sx, sy) = (bw as f64 / nw as f64, bh as f64 / nh as f64);
    let mut small = vec![0.0f64; nw * nh];
    for j in 0..nh {
        let (ya, yb) = (j as f64 * sy, (j + 1) as f64 * sy);
        for i in 0..nw {
            let (xa, xb) = (i as f64 * sx, (i + 1) as f64 * sx);
            let (mut sum, mut area) = (0.0, 0.0);
            for y in ya.floor() as usize..(yb.ceil() as usize).min(bh) {
                let wy = (yb.min(y as f64 + 1.0) - ya.max(y as f64)).max(0.0);
                for x in xa.floor() as usize..(xb.ceil() as usize).min(bw) {
                    let wx = (xb.min(x as f64 + 1.0) - xa.max(x as f64)).max(0.0);
                    sum += wx * wy * pixels[(y0 + y) * width + x0 + x] as f64;
                    area += wx * wy;
                }
            }
            small[j * nw + i] = if area > 0.0 { sum / area } else { 0.0 };
        }
    }
    // Centre of mass in pixel-centre coordinates (pixel i spans [i, i+1)).
    let (mut m, mut mx, mut my) = (0.0, 0.0, 0.0);
    for j in 0..nh {
        for i in 0..nw {
            let w = small[j * nw + i];
            m += w;
            mx += w * (i as f64 + 0.5);
            my += w * (j as f64 + 0.5);
        }
    }
    let (cx, cy) = if m > 0.0 {
        (mx / m, my / m)
    } else {
        (nw as f64 / 2.0, nh as f64 / 2.0)
    };
    let offx = (ow as f64 / 2.0 - cx).round() as isize;
    let offy = (oh as f64 / 2.0 - cy).round() as isize;
    for j in 0..nh {
        for i in 0..nw {
            let (x, y) = (i as isize + offx, j as isize + offy);
            if (0..ow as isize).contains(&x) && (0..oh as isize).contains(&y) {
                result[y as usize * ow + x as usize] = small[j * nw + i].round().min(255.0) as u8;
            }
        }
    }
    (result, false)
}

/// Centre of mass `(x, y)` of a grey image in pixel-centre coordinates
/// (pixel i spans [i, i+1), so a 28-wide image's centre is 14).
pub fn centre_of_mass(pixels: &[u8], width: usize) -> Option<(f64, f64)> {
    let (mut m, mut mx, mut my) = (0.0, 0.0, 0.0);
    for (k, &p) in pixels.iter().enumerate() {
        let w = p as f64;
        m += w;
        mx += w * ((k % width) as f64 + 0.5);
        my += w * ((k / width) as f64 + 0.5);
    }
    (m > 0.0).then(|| (mx / m, my / m))
}
