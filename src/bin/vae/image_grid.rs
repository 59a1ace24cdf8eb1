//! Tiling decoded images into one picture (the sample grid, the latent grid),
//! as 8-bit grey or RGB rows ready for a PNG encoder or a canvas.

use vae_playground::config::ImageShape;

/// A tiled picture: `channels` is 1 (grey) or 3 (RGB), pixels interleaved.
#[derive(Clone, Debug, PartialEq)]
pub struct Picture {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub pixels: Vec<u8>,
}

/// Tiles `images` (each NCHW-less `[C, H, W]` in [0, 1]) into `cols` columns
/// with a `gap`-pixel border of black between them.
pub fn tile(images: &[f32], shape: ImageShape, cols: usize, gap: usize) -> Picture {
    let dim = shape.dim();
    let n = images.len() / dim;
    let rows = n.div_ceil(cols.max(1));
    let (h, w) = (shape.height, shape.width);
    let channels = if shape.channels == 1 { 1 } else { 3 };
    let width = cols * (w + gap) + gap;
    let height = rows * (h + gap) + gap;
    let mut pixels = vec![0u8; width * height * channels];
    for i in 0..n {
        let img = &images[i * dim..(i + 1) * dim];
        let (ox, oy) = (gap + (i % cols) * (w + gap), gap + (i / cols) * (h + gap));
        for y in 0..h {
            for x in 0..w {
                for c in 0..channels {
                    let v = img[(c.min(shape.channels - 1) * h + y) * w + x];
                    pixels[((oy + y) * width + ox + x) * channels + c] =
                        (v.clamp(0.0, 1.0) * 255.0).round() as u8;
                }
            }
        }
    }
    Picture {
        width,
        height,
        channels,
        pixels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_land_in_their_cells() {
        let shape = ImageShape {
            channels: 1,
            height: 2,
            width: 3,
        };
        let mut images = vec![0.0; 6 * 3];
        images[6..12].fill(1.0); // second image white
        let p = tile(&images, shape, 2, 1);
        assert_eq!((p.width, p.height), (2 * 4 + 1, 2 * 3 + 1));
        // Second image: cell (col 1, row 0) starts at x = 1 + 4 = 5, y = 1.
        assert_eq!(p.pixels[p.width + 5], 255);
        assert_eq!(p.pixels[p.width + 1], 0);
        assert_eq!(p.pixels[0], 0);
    }
}
