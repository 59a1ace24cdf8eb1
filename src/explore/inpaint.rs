//! Damage to an image (a region hidden or noise added) and its repair by
//! the model: inpainting and denoising, scored on the damaged pixels.

use super::{in_range, invalid, ExploreError, Explorer};
use crate::backend::Backend;
use crate::config::ImageShape;
use crate::rng::{self, StreamKind};
use serde::{Deserialize, Serialize};

/// How an image is damaged before the repair.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Damage {
    /// A rectangle erased to 0 (pixels, clipped to the image).
    Box { x: i64, y: i64, w: i64, h: i64 },
    /// A painted mask (given beside it), erased to 0.
    Brush,
    /// Each pixel with probability `strength` set to 0 or 1 (half each).
    Salt {
        strength: f32,
        #[serde(default = "one")]
        seed: u32,
    },
    /// `x + strength * N(0, 1)`, clipped to [0, 1].
    Gauss {
        strength: f32,
        #[serde(default = "one")]
        seed: u32,
    },
}

fn one() -> u32 {
    1
}

/// A damaged image and where it is damaged.
#[derive(Clone, Debug, PartialEq)]
pub struct Damaged {
    pub image: Vec<f32>,
    /// 1 where the image is damaged (where errors are measured).
    pub region: Vec<u8>,
    /// 1 where the repair keeps the damaged image's pixels.
    pub known: Vec<u8>,
}

impl Damage {
    /// Applies the damage to `original` (`[C, H, W]` in [0, 1]). `brush` is
    /// the mask of `Damage::Brush` (non-zero = erased, `C * H * W` or `H * W`
    /// bytes). A sentence on a bad strength or mask.
    pub fn apply(
        &self,
        original: &[f32],
        shape: ImageShape,
        brush: Option<&[u8]>,
    ) -> Result<Damaged, String> {
        let dim = original.len();
        let (h, w) = (shape.height, shape.width);
        let plane = h * w;
        let mut image = original.to_vec();
        let mut region = vec![0u8; dim];
        let erase = |image: &mut Vec<f32>, region: &mut Vec<u8>, hit: &dyn Fn(usize) -> bool| {
            for k in 0..dim {
                if hit(k % plane) {
                    image[k] = 0.0;
                    region[k] = 1;
                }
            }
        };
        let noise = |strength: f32, max: f32| {
            if strength.is_finite() && (0.0..=max).contains(&strength) {
                Ok(())
            } else {
                Err(format!(
                    "noise strength {strength} is out of range: use 0 to {max}"
                ))
            }
        };
        let blind = match *self {
            Damage::Box { x, y, w: bw, h: bh } => {
                if bw < 0 || bh < 0 {
                    return Err(format!("box {bw}x{bh} has a negative size"));
                }
                let inside = |p: usize| {
                    let (px, py) = ((p % w) as i64, (p / w) as i64);
                    px >= x && px < x.saturating_add(bw) && py >= y && py < y.saturating_add(bh)
                };
                erase(&mut image, &mut region, &inside);
                false
            }
            Damage::Brush => {
                let mask = brush.ok_or("a brush damage needs its mask")?;
                if mask.len() != plane && mask.len() != dim {
                    return Err(format!(
                        "the brush mask needs {plane} values (one per pixel), got {}",
                        mask.len()
                    ));
                }
                let hit = |p: usize| mask[p % mask.len()] != 0;
                erase(&mut image, &mut region, &hit);
                false
            }
            Damage::Salt { strength, seed } => {
                noise(strength, 1.0)?;
                let stream = rng::stream(StreamKind::Sample, 0x5a17);
                for k in 0..dim {
                    if rng::uniform(seed, stream, 2 * k as u32) < strength {
                        let v = if rng::uniform(seed, stream, 2 * k as u32 + 1) < 0.5 {
                            0.0
                        } else {
                            1.0
                        };
                        image[k] = v;
                    }
                }
                true
            }
            Damage::Gauss { strength, seed } => {
                noise(strength, 2.0)?;
                let stream = rng::stream(StreamKind::Sample, 0x9a55);
                for (k, x) in image.iter_mut().enumerate() {
                    *x = (*x + strength * rng::normal(seed, stream, k as u32)).clamp(0.0, 1.0);
                }
                true
            }
        };
        if blind {
            for k in 0..dim {
                region[k] = (image[k] != original[k]) as u8;
            }
        }
        let known = if blind {
            vec![0u8; dim]
        } else {
            region.iter().map(|&r| 1 - r).collect()
        };
        Ok(Damaged {
            image,
            region,
            known,
        })
    }
}

/// Mean squared error of `a` against `b` over the pixels where `mask` is
/// non-zero (0 for an empty mask).
pub fn masked_mse(a: &[f32], b: &[f32], mask: &[u8]) -> f32 {
    let (mut sum, mut n) = (0.0f64, 0usize);
    for k in 0..a.len() {
        if mask[k] != 0 {
            sum += ((a[k] - b[k]) as f64).powi(2);
            n += 1;
        }
    }
    if n == 0 {
        0.0
    } else {
        (sum / n as f64) as f32
    }
}

/// What `inpaint` returns.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Inpainting {
    pub original: Vec<f32>,
    pub damaged: Vec<f32>,
    pub mask: Vec<u8>,
    /// `iters * D`: x after each step.
    pub steps: Vec<f32>,
    pub damaged_error: f32,
    pub step_errors: Vec<f32>,
    pub region_pixels: usize,
}

impl<B: Backend> Explorer<'_, B> {
    /// Damages `original` and repairs it for `iters` steps:
    /// `x <- known * x_damaged + (1 - known) * decode(encode(x))`.
    pub async fn inpaint(
        &mut self,
        original: Vec<f32>,
        damage: Damage,
        iters: usize,
        brush: Option<&[u8]>,
    ) -> Result<Inpainting, ExploreError> {
        in_range("repair steps", iters, 0, 100)?;
        let shape = self.t.vae.config.image;
        let d = damage.apply(&original, shape, brush).or_else(invalid)?;
        let dim = original.len();
        let mut x = d.image.clone();
        let mut steps = Vec::with_capacity(iters * dim);
        let mut step_errors = Vec::with_capacity(iters);
        for _ in 0..iters {
            let recon = self.reconstruct_values(&x).await?;
            for k in 0..dim {
                x[k] = if d.known[k] != 0 {
                    d.image[k]
                } else {
                    recon[k]
                };
            }
            step_errors.push(masked_mse(&x, &original, &d.region));
            steps.extend_from_slice(&x);
        }
        Ok(Inpainting {
            damaged_error: masked_mse(&d.image, &original, &d.region),
            region_pixels: d.region.iter().filter(|&&r| r != 0).count(),
            original,
            damaged: d.image,
            mask: d.region,
            steps,
            step_errors,
        })
    }
}
