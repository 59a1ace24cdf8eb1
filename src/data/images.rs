//! Pictures (PNG, JPEG) and resampling: what turns a user's images of any
//! size into the preset's input (28x28 grey or 32x32 colour, CHW `u8`).
//!
//! In the page the browser decodes PNG/JPEG (`createImageBitmap` in the
//! worker) and hands RGBA pixels to [`Picture::from_rgba`]; natively
//! [`decode`] does it with the `image` crate. Either way the same code
//! crops, resizes and converts, so the page and the CLI see the same pixels.
//!
//! Resizing averages areas: each output pixel is the mean of the source
//! rectangle it covers (fractional edges weighted), the right filter for
//! shrinking photos to thumbnails and exact for integer factors.

use super::DataError;
use crate::config::ImageShape;

/// Pictures larger than this on a side are refused.
pub const MAX_SIDE: usize = 4096;
/// Side of the square kept per picture until the data set is built: more
/// than any preset's input, small enough for thousands of pictures (12 KiB
/// each).
pub const KEEP: usize = 64;

/// A picture as the data set keeps it: the centred square crop, resized to
/// at most [`KEEP`] pixels a side, RGB planes (CHW).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picture {
    pub side: usize,
    pub rgb: Vec<u8>,
    /// Some pixel is not grey (R, G, B differ).
    pub colour: bool,
    /// The decoded size.
    pub width: usize,
    pub height: usize,
}

impl Picture {
    /// From RGBA8 pixels, row-major, `width * height * 4` bytes. Alpha is
    /// composited over black (a transparent background reads as MNIST's).
    pub fn from_rgba(
        name: &str,
        rgba: &[u8],
        width: usize,
        height: usize,
    ) -> Result<Picture, DataError> {
        let fail = |what: String| DataError::Format {
            file: name.to_string(),
            what,
        };
        if width == 0 || height == 0 {
            return Err(fail(format!("the picture is {width}x{height}: empty")));
        }
        if width > MAX_SIDE || height > MAX_SIDE {
            return Err(fail(format!(
                "the picture is {width}x{height}, larger than {MAX_SIDE} pixels on a side; \
                 shrink it first"
            )));
        }
        if rgba.len() != width * height * 4 {
            return Err(fail(format!(
                "{width}x{height} RGBA pixels need {} bytes, got {}",
                width * height * 4,
                rgba.len()
            )));
        }
        let mut planes = vec![0u8; 3 * width * height];
        let mut colour = false;
        let n = width * height;
        for (i, px) in rgba.chunks_exact(4).enumerate() {
            let a = px[3] as u32;
            let over = |v: u8| ((v as u32 * a + 127) / 255) as u8;
            let (r, g, b) = (over(px[0]), over(px[1]), over(px[2]));
            colour |= r != g || g != b;
            planes[i] = r;
            planes[n + i] = g;
            planes[2 * n + i] = b;
        }
        let side = width.min(height).min(KEEP);
        let mut rgb = Vec::with_capacity(3 * side * side);
        for c in 0..3 {
            rgb.extend(crop_resize(
                &planes[c * n..(c + 1) * n],
                width,
                height,
                side,
                side,
            ));
        }
        Ok(Picture {
            side,
            rgb,
            colour,
            width,
            height,
        })
    }

    /// The picture as `shape` takes it: resized, grey (BT.601 luma) or RGB.
    pub fn fit(&self, shape: ImageShape) -> Vec<u8> {
        fit_planes(&self.rgb, 3, self.side, self.side, shape)
    }
}

/// Converts one CHW image of `channels` (1 or 3) planes of `height x width`
/// to `shape`: each plane centre-cropped to the shape's aspect and resized,
/// then grey made RGB (copied) or RGB made grey (BT.601 luma).
pub fn fit_planes(
    planes: &[u8],
    channels: usize,
    height: usize,
    width: usize,
    shape: ImageShape,
) -> Vec<u8> {
    let n = height * width;
    debug_assert_eq!(planes.len(), channels * n);
    let resized: Vec<Vec<u8>> = (0..channels)
        .map(|c| {
            let plane = &planes[c * n..(c + 1) * n];
            if (height, width) == (shape.height, shape.width) {
                plane.to_vec()
            } else {
                crop_resize(plane, width, height, shape.width, shape.height)
            }
        })
        .collect();
    match (channels, shape.channels) {
        (a, b) if a == b => resized.concat(),
        (1, c) => resized[0].repeat(c),
        (3, 1) => {
            let (r, g, b) = (&resized[0], &resized[1], &resized[2]);
            (0..r.len())
                .map(|i| {
                    let y = 0.299 * r[i] as f32 + 0.587 * g[i] as f32 + 0.114 * b[i] as f32;
                    y.round().clamp(0.0, 255.0) as u8
                })
                .collect()
        }
        (_, c) => resized[..c.min(resized.len())].concat(),
    }
}

/// One plane, `sw x sh`, centre-cropped to the aspect of `dw x dh` and
/// resized to it by area averaging.
pub fn crop_resize(src: &[u8], sw: usize, sh: usize, dw: usize, dh: usize) -> Vec<u8> {
    // The largest centred window with the destination's aspect.
    let (sw_f, sh_f) = (sw as f64, sh as f64);
    let aspect = dw as f64 / dh as f64;
    let (cw, ch) = if sw_f / sh_f > aspect {
        (sh_f * aspect, sh_f)
    } else {
        (sw_f, sw_f / aspect)
    };
    let xs = axis_weights(sw, (sw_f - cw) / 2.0, cw, dw);
    let ys = axis_weights(sh, (sh_f - ch) / 2.0, ch, dh);
    // Rows first: each source row to dw columns.
    let mut rows = vec![0f32; sh * dw];
    for y in 0..sh {
        let row = &src[y * sw..(y + 1) * sw];
        for (x, w) in xs.iter().enumerate() {
            rows[y * dw + x] = w.iter().map(|&(i, k)| k * row[i] as f32).sum();
        }
    }
    let mut out = Vec::with_capacity(dw * dh);
    for w in &ys {
        for x in 0..dw {
            let v: f32 = w.iter().map(|&(i, k)| k * rows[i * dw + x]).sum();
            out.push(v.round().clamp(0.0, 255.0) as u8);
        }
    }
    out
}

/// For each of `dst` output pixels, the source pixels (of `len`) its share
/// of the window `[offset, offset + span)` covers, with weights summing to 1.
fn axis_weights(len: usize, offset: f64, span: f64, dst: usize) -> Vec<Vec<(usize, f32)>> {
    let step = span / dst as f64;
    (0..dst)
        .map(|d| {
            let (a, b) = (offset + d as f64 * step, offset + (d + 1) as f64 * step);
            let first = (a.floor() as usize).min(len - 1);
            let last = ((b.ceil() as usize).max(first + 1)).min(len);
            let mut w: Vec<(usize, f32)> = (first..last)
                .map(|i| {
                    let cover = (b.min(i as f64 + 1.0) - a.max(i as f64)).max(0.0);
                    (i, cover as f32)
                })
                .filter(|&(_, k)| k > 0.0)
                .collect();
            let total: f32 = w.iter().map(|&(_, k)| k).sum();
            if total > 0.0 {
                w.iter_mut().for_each(|(_, k)| *k /= total);
            } else {
                w = vec![(first, 1.0)];
            }
            w
        })
        .collect()
}

/// Decodes a PNG or JPEG file to RGBA8 (natively; the page uses the
/// browser's decoder). Errors name the file.
#[cfg(not(target_arch = "wasm32"))]
pub fn decode(name: &str, bytes: &[u8]) -> Result<Picture, DataError> {
    use image::{ImageReader, Limits};
    let fail = |what: String| DataError::Format {
        file: name.to_string(),
        what,
    };
    let mut reader = ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| fail(format!("cannot read the picture: {e}")))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE as u32);
    limits.max_image_height = Some(MAX_SIDE as u32);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => fail(format!(
            "the picture is larger than {MAX_SIDE} pixels on a side; shrink it first"
        )),
        e => fail(format!(
            "not a readable PNG or JPEG picture ({e}); is it truncated?"
        )),
    })?;
    let rgba = image.to_rgba8();
    let (w, h) = (rgba.width() as usize, rgba.height() as usize);
    Picture::from_rgba(name, rgba.as_raw(), w, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_shrink_averages_blocks() {
        // 4x4 -> 2x2: each output is its 2x2 block's mean.
        let src: Vec<u8> = (0..16).map(|i| (i * 10) as u8).collect();
        let out = crop_resize(&src, 4, 4, 2, 2);
        assert_eq!(out, vec![25, 45, 105, 125]);
        // Identity.
        assert_eq!(crop_resize(&src, 4, 4, 4, 4), src);
    }

    #[test]
    fn wide_images_are_centre_cropped() {
        // 4x2: left half 0, right half 200, columns 1-2 are the centre square.
        let src = [0, 0, 200, 200, 0, 0, 200, 200];
        assert_eq!(crop_resize(&src, 4, 2, 1, 1), vec![100]);
        assert_eq!(crop_resize(&src, 4, 2, 2, 2), vec![0, 200, 0, 200]);
    }

    #[test]
    fn upscaling_keeps_values() {
        let out = crop_resize(&[7, 9], 2, 1, 4, 2);
        assert_eq!(out, vec![7, 7, 9, 9, 7, 7, 9, 9]);
    }

    #[test]
    fn colour_conversions() {
        let red = [255, 0, 0, 255].repeat(4);
        let p = Picture::from_rgba("red.png", &red, 2, 2).unwrap();
        assert!(p.colour);
        assert_eq!(p.side, 2);
        let grey = p.fit(ImageShape {
            channels: 1,
            height: 1,
            width: 1,
        });
        assert_eq!(grey, vec![76]);
        let rgb = p.fit(ImageShape {
            channels: 3,
            height: 1,
            width: 1,
        });
        assert_eq!(rgb, vec![255, 0, 0]);
        // Alpha over black.
        let clear = [255, 255, 255, 0].repeat(4);
        let p = Picture::from_rgba("clear.png", &clear, 2, 2).unwrap();
        assert!(!p.colour);
        assert!(p.rgb.iter().all(|&v| v == 0));
    }

    #[test]
    fn bad_sizes_are_refused_with_the_name() {
        let e = Picture::from_rgba("a.png", &[0; 12], 2, 2)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("a.png: ") && e.contains("need 16 bytes"),
            "{e}"
        );
        let e = Picture::from_rgba("b.png", &[], 0, 3)
            .unwrap_err()
            .to_string();
        assert!(e.contains("0x3"), "{e}");
        let e = Picture::from_rgba("c.png", &[], 5000, 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("larger than 4096"), "{e}");
    }
}
