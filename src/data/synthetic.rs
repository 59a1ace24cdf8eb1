//! A synthetic colour data set: smooth two-colour gradients with a bright
//! disc at a random place. Small, deterministic, with real structure for a
//! VAE to learn; it stands in for CIFAR-10 in tests and benchmarks until a
//! loader for it exists.
//!
//! Shape legend: N images, C channels, H height, W width (NCHW, `u8`).

use super::Images;
use crate::config::ImageShape;
use crate::rng;

/// `count` images of `shape` drawn from `seed`.
pub fn colour_blobs(shape: ImageShape, count: usize, seed: u32) -> Images {
    let ImageShape {
        channels,
        height,
        width,
    } = shape;
    let mut pixels = Vec::with_capacity(count * shape.dim());
    for n in 0..count {
        let u = |j: u32| rng::uniform(seed, 0x5eed_0000 ^ n as u32, j);
        let (cy, cx) = (u(0) * height as f32, u(1) * width as f32);
        let r = (0.15 + 0.2 * u(2)) * height.min(width) as f32;
        for c in 0..channels {
            let j = 3 + 3 * c as u32;
            let (top, bottom, disc) = (u(j), u(j + 1), u(j + 2));
            for y in 0..height {
                for x in 0..width {
                    let t = y as f32 / (height.max(2) - 1) as f32;
                    let (dy, dx) = (y as f32 + 0.5 - cy, x as f32 + 0.5 - cx);
                    let inside = ((r - (dy * dy + dx * dx).sqrt()) / 1.5).clamp(0.0, 1.0);
                    let bg = top + (bottom - top) * t;
                    let v = bg + (disc - bg) * inside;
                    pixels.push((v * 255.0).round() as u8);
                }
            }
        }
    }
    Images {
        pixels,
        count,
        channels,
        height,
        width,
    }
}
