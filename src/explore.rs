//! Exploring a trained (or training) model: the latent scatter and its plane,
//! MNIST-style preprocessing of a drawing, interpolation, inpainting and
//! denoising, latent traversal, per-dimension KL and active units, the KL
//! warm-up's ramp, chunked evaluation of the test set and the
//! importance-weighted bound (IWAE) on the test log-likelihood.
//!
//! Shapes: x [B, D], mu / logvar / z [B, Z]; a plane maps (a, b) to
//! `origin + a u + b v` in Z. Everything per pixel of a batch runs on the
//! session's backend through the model's own ops (`Vae::encode`,
//! `Vae::decode`, `Vae::forward_loss`, `gather_images`); what happens here on
//! the host is per image or per latent dimension on read-back results
//! (projections, a Z x Z eigenproblem, one image's mask blend,
//! log-sum-exp over K weights), whose cost is trivial beside the passes.

// Numeric loops here index several arrays in step; ranges read clearer.
#![allow(clippy::needless_range_loop)]

use crate::backend::{Backend, BackendError, Noise, Recon, View, LOGVAR_MAX, LOGVAR_MIN};
use crate::config::ImageShape;
use crate::rng::{self, StreamKind};
use crate::train::{normal_quantile, Trainer};
use serde::{Deserialize, Serialize};

/// KL (nats) above which a latent dimension counts as active (Burda et al.
/// use a variance criterion; the posterior-collapse literature 0.01 nats).
pub const ACTIVE_KL: f32 = 0.01;

/// Most test images the scatter encodes.
pub const MAX_SCATTER: usize = 2000;

/// The KL weight at training step `step` (0-based: the step about to run):
/// `beta * min(1, step / warmup)`, or `beta` when `warmup` is 0.
pub fn warmup_beta(beta: f32, warmup: u32, step: u32) -> f32 {
    if warmup == 0 || step >= warmup {
        beta
    } else {
        (beta as f64 * step as f64 / warmup as f64) as f32
    }
}

// ---------------------------------------------------------------- planes

/// Which plane to project onto.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PlaneSpec {
    /// Two latent dimensions: `u = e_dx`, `v = e_dy`, origin 0.
    Dims { dx: usize, dy: usize },
    /// The two principal axes of the encodings, through their mean.
    Principal,
}

/// A plane in latent space: `z = origin + a u + b v`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plane {
    /// "dims" or "principal".
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dx: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dy: Option<usize>,
    pub origin: Vec<f32>,
    pub u: Vec<f32>,
    pub v: Vec<f32>,
    /// Variance of the encodings along `u` and `v`.
    #[serde(default)]
    pub variance: [f32; 2],
    /// Those as fractions of the encodings' total variance.
    #[serde(default)]
    pub explained: [f32; 2],
}

impl Plane {
    /// The plane of two latent dimensions, with no statistics.
    pub fn dims(zdim: usize, dx: usize, dy: usize) -> Plane {
        let e = |d: usize| {
            let mut v = vec![0.0; zdim];
            v[d] = 1.0;
            v
        };
        Plane {
            kind: "dims".into(),
            dx: Some(dx),
            dy: Some(dy),
            origin: vec![0.0; zdim],
            u: e(dx),
            v: e(dy),
            variance: [0.0; 2],
            explained: [0.0; 2],
        }
    }

    pub fn zdim(&self) -> usize {
        self.origin.len()
    }

    /// A sentence if the plane does not fit a latent size of `zdim` or
    /// holds a non-finite number.
    pub fn check(&self, zdim: usize) -> Result<(), String> {
        if self.origin.len() != zdim || self.u.len() != zdim || self.v.len() != zdim {
            return Err(format!(
                "the plane's origin, u and v need {zdim} numbers each (the latent size), got {}, {} and {}",
                self.origin.len(),
                self.u.len(),
                self.v.len()
            ));
        }
        let all = self.origin.iter().chain(&self.u).chain(&self.v);
        if !all.into_iter().all(|x| x.is_finite()) {
            return Err("the plane holds a number that is not finite".into());
        }
        Ok(())
    }

    /// Plane coordinates `(a, b)` of codes (`n * Z` values): `n * 2` values,
    /// the projections of `z - origin` onto `u` and `v`.
    pub fn project(&self, codes: &[f32]) -> Vec<f32> {
        let zdim = self.zdim().max(1);
        let mut out = Vec::with_capacity(codes.len() / zdim * 2);
        for z in codes.chunks_exact(zdim) {
            let (mut a, mut b) = (0.0f64, 0.0f64);
            for j in 0..zdim {
                let d = (z[j] - self.origin[j]) as f64;
                a += d * self.u[j] as f64;
                b += d * self.v[j] as f64;
            }
            out.push(a as f32);
            out.push(b as f32);
        }
        out
    }

    /// Codes (`n * Z`) of plane points (`n * 2`).
    pub fn codes(&self, points: &[f32]) -> Vec<f32> {
        let zdim = self.zdim();
        let mut out = Vec::with_capacity(points.len() / 2 * zdim);
        for p in points.chunks_exact(2) {
            for j in 0..zdim {
                out.push(self.origin[j] + p[0] * self.u[j] + p[1] * self.v[j]);
            }
        }
        out
    }
}

/// The plane `spec` asks for, with the statistics of `codes` (`n * Z`).
pub fn plane_of(spec: PlaneSpec, codes: &[f32], zdim: usize) -> Plane {
    let cov = covariance(codes, zdim);
    let trace: f64 = (0..zdim).map(|j| cov.1[j * zdim + j]).sum();
    let frac = |v: f64| if trace > 0.0 { (v / trace) as f32 } else { 0.0 };
    match spec {
        PlaneSpec::Dims { dx, dy } => {
            let mut p = Plane::dims(zdim, dx, dy);
            let (vx, vy) = (cov.1[dx * zdim + dx], cov.1[dy * zdim + dy]);
            p.variance = [vx as f32, vy as f32];
            p.explained = [frac(vx), frac(vy)];
            p
        }
        PlaneSpec::Principal => {
            let (values, vectors) = symmetric_eigen(&cov.1, zdim);
            // Largest two; ties keep the lower index.
            let mut order: Vec<usize> = (0..zdim).collect();
            order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
            let axis = |k: usize| -> Vec<f32> {
                let col = order[k.min(zdim - 1)];
                let mut v: Vec<f64> = (0..zdim).map(|r| vectors[r * zdim + col]).collect();
                // A fixed sign: the largest component positive, so the
                // picture does not flip between refreshes.
                let big = v
                    .iter()
                    .copied()
                    .max_by(|a, b| a.abs().total_cmp(&b.abs()))
                    .unwrap_or(1.0);
                if big < 0.0 {
                    v.iter_mut().for_each(|x| *x = -*x);
                }
                v.into_iter().map(|x| x as f32).collect()
            };
            let (l0, l1) = (values[order[0]], values[order[1.min(zdim - 1)]]);
            Plane {
                kind: "principal".into(),
                dx: None,
                dy: None,
                origin: cov.0.iter().map(|&m| m as f32).collect(),
                u: axis(0),
                v: axis(1),
                variance: [l0 as f32, l1 as f32],
                explained: [frac(l0), frac(l1)],
            }
        }
    }
}

/// Mean `[Z]` and covariance `[Z, Z]` (population) of `n * Z` codes, in f64.
fn covariance(codes: &[f32], zdim: usize) -> (Vec<f64>, Vec<f64>) {
    let n = codes.len() / zdim.max(1);
    let mut mean = vec![0.0f64; zdim];
    for z in codes.chunks_exact(zdim) {
        for j in 0..zdim {
            mean[j] += z[j] as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
    let mut cov = vec![0.0f64; zdim * zdim];
    for z in codes.chunks_exact(zdim) {
        for a in 0..zdim {
            let da = z[a] as f64 - mean[a];
            for b in a..zdim {
                cov[a * zdim + b] += da * (z[b] as f64 - mean[b]);
            }
        }
    }
    for a in 0..zdim {
        for b in a..zdim {
            let c = cov[a * zdim + b] / n.max(1) as f64;
            cov[a * zdim + b] = c;
            cov[b * zdim + a] = c;
        }
    }
    (mean, cov)
}

/// Eigenvalues and eigenvectors (columns of a row-major `[n, n]`) of a
/// symmetric matrix, by cyclic Jacobi rotations.
pub fn symmetric_eigen(m: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = m.to_vec();
    let mut v = vec![0.0f64; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|p| (0..n).filter(move |&q| q != p).map(move |q| (p, q)))
            .map(|(p, q)| a[p * n + q] * a[p * n + q])
            .sum();
        let scale: f64 = (0..n).map(|i| a[i * n + i] * a[i * n + i]).sum::<f64>();
        if off <= 1e-24 * scale.max(1e-300) || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

/// How a plane grid spaces its cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Spacing {
    /// Evenly from `lo` to `hi`.
    Linear,
    /// At the standard-normal quantiles `Phi^-1((i + 0.5) / size)`.
    Quantile,
}

/// The axis value of each of `size` cells (the same on both axes).
pub fn grid_coords(size: usize, spacing: Spacing, lo: f32, hi: f32) -> Vec<f32> {
    (0..size)
        .map(|i| {
            let f = (i as f64 + 0.5) / size as f64;
            match spacing {
                Spacing::Linear => (lo as f64 + f * (hi - lo) as f64) as f32,
                Spacing::Quantile => normal_quantile(f) as f32,
            }
        })
        .collect()
}

/// Plane points of a `size x size` grid, row 0 at the top (highest b),
/// column 0 at the left (lowest a): `size * size * 2` values.
pub fn grid_points(coords: &[f32]) -> Vec<f32> {
    let size = coords.len();
    let mut out = Vec::with_capacity(size * size * 2);
    for row in 0..size {
        for &a in coords {
            out.push(a);
            out.push(coords[size - 1 - row]);
        }
    }
    out
}

// ------------------------------------------------------- preprocessing

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

// -------------------------------------------------------- interpolation

/// `steps` codes from `a` to `b`, endpoints included, and their `t`.
/// `slerp`: along the great circle between the directions, with the length
/// interpolated linearly; parallel codes (or a zero one) fall back to lerp.
pub fn interpolate_codes(a: &[f32], b: &[f32], steps: usize, slerp: bool) -> (Vec<f32>, Vec<f32>) {
    let zdim = a.len();
    let ts: Vec<f32> = (0..steps)
        .map(|i| i as f32 / (steps.max(2) - 1) as f32)
        .collect();
    let norm = |v: &[f32]| v.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
    let (na, nb) = (norm(a), norm(b));
    let cos = if na > 0.0 && nb > 0.0 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| x as f64 * y as f64)
            .sum::<f64>()
            / (na * nb)
    } else {
        1.0
    };
    let omega = cos.clamp(-1.0, 1.0).acos();
    let spherical = slerp && omega.sin().abs() > 1e-6;
    let mut codes = Vec::with_capacity(steps * zdim);
    for &t in &ts {
        let t = t as f64;
        if spherical {
            let (wa, wb) = (
                ((1.0 - t) * omega).sin() / omega.sin(),
                (t * omega).sin() / omega.sin(),
            );
            let len = (1.0 - t) * na + t * nb;
            for j in 0..zdim {
                let dir = wa * a[j] as f64 / na + wb * b[j] as f64 / nb;
                codes.push((dir * len) as f32);
            }
        } else {
            for j in 0..zdim {
                codes.push(((1.0 - t) * a[j] as f64 + t * b[j] as f64) as f32);
            }
        }
    }
    // Exact endpoints.
    if steps >= 2 {
        codes[..zdim].copy_from_slice(a);
        codes[(steps - 1) * zdim..].copy_from_slice(b);
    }
    (codes, ts)
}

// ------------------------------------------------------------- damage

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

// --------------------------------------------------------- KL per dim

/// Mean KL of each latent dimension over some test images.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DimKl {
    pub kl: Vec<f32>,
    pub total: f64,
    pub active: usize,
    pub threshold: f32,
    /// Dimensions by KL, largest first.
    pub order: Vec<u32>,
    pub images: usize,
}

/// Per-dimension KL from `mu` and `logvar` (`n * Z` each), as
/// `reparam_forward` computes it (logvar clamped).
pub fn dim_kl(mu: &[f32], logvar: &[f32], zdim: usize) -> DimKl {
    let n = mu.len() / zdim.max(1);
    let mut sums = vec![0.0f64; zdim];
    for (m, l) in mu.chunks_exact(zdim).zip(logvar.chunks_exact(zdim)) {
        for j in 0..zdim {
            let lv = l[j].clamp(LOGVAR_MIN, LOGVAR_MAX) as f64;
            let mj = m[j] as f64;
            sums[j] += -0.5 * (1.0 + lv - mj * mj - lv.exp());
        }
    }
    let kl: Vec<f32> = sums.iter().map(|s| (s / n.max(1) as f64) as f32).collect();
    let mut order: Vec<u32> = (0..zdim as u32).collect();
    order.sort_by(|&a, &b| kl[b as usize].total_cmp(&kl[a as usize]).then(a.cmp(&b)));
    DimKl {
        total: sums.iter().sum::<f64>() / n.max(1) as f64,
        active: kl.iter().filter(|&&k| k > ACTIVE_KL).count(),
        threshold: ACTIVE_KL,
        order,
        images: n,
        kl,
    }
}

// --------------------------------------------------- chunked evaluation

/// Sums of one chunk of `evaluate_range`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct RangeSums {
    pub recon_sum: f64,
    pub kl_sum: f64,
    pub loss_sum: f64,
    pub images: usize,
    pub next: usize,
    pub total: usize,
    pub done: bool,
}

/// Sums of one chunk of `importance_bound`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct BoundSums {
    /// Sum over images of `log (1/k sum_j w_j)`: the IWAE bound on log p(x).
    pub log_likelihood_sum: f64,
    /// Sum over images of `mean_j log w_j`: the ELBO estimate from the same samples.
    pub elbo_sum: f64,
    pub images: usize,
    pub next: usize,
    pub total: usize,
    pub done: bool,
    pub k: usize,
    pub binarized: bool,
}

/// The scatter of some test images on a plane.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scatter {
    pub points: Vec<f32>,
    pub labels: Vec<u8>,
    pub indices: Vec<u32>,
    pub plane: Plane,
    /// `[amin, amax, bmin, bmax]` of the points.
    pub bounds: [f32; 4],
    /// The codes (mu), `n * Z`: not sent to the page.
    #[serde(skip)]
    pub codes: Vec<f32>,
}

/// Errors of the exploring calls: a bad argument (a sentence) or the backend.
#[derive(Clone, Debug, PartialEq)]
pub enum ExploreError {
    Invalid(String),
    /// No test images set.
    NoTestImages,
    Backend(BackendError),
}

impl From<BackendError> for ExploreError {
    fn from(e: BackendError) -> Self {
        ExploreError::Backend(e)
    }
}

impl std::fmt::Display for ExploreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExploreError::Invalid(m) => f.write_str(m),
            ExploreError::NoTestImages => {
                f.write_str("no test images yet: call setTestImages first")
            }
            ExploreError::Backend(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ExploreError {}

fn invalid<T>(msg: impl Into<String>) -> Result<T, ExploreError> {
    Err(ExploreError::Invalid(msg.into()))
}

/// A whole number in `lo..=hi`, or a sentence naming it.
fn in_range(name: &str, v: usize, lo: usize, hi: usize) -> Result<(), ExploreError> {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        invalid(format!(
            "{name} {v} is out of range: use a whole number from {lo} to {hi}"
        ))
    }
}

/// The exploring operations, over a trainer of either backend.
pub struct Explorer<'a, B: Backend> {
    pub t: &'a mut Trainer<B>,
}

impl<'a, B: Backend> Explorer<'a, B> {
    pub fn new(t: &'a mut Trainer<B>) -> Explorer<'a, B> {
        Explorer { t }
    }

    fn zdim(&self) -> usize {
        self.t.vae.config.latent
    }

    fn test(&self) -> Result<(View, usize), ExploreError> {
        self.t.test_images().ok_or(ExploreError::NoTestImages)
    }

    fn check_code(&self, what: &str, code: &[f32]) -> Result<(), ExploreError> {
        let zdim = self.zdim();
        if code.len() != zdim || !code.iter().all(|x| x.is_finite()) {
            return invalid(format!(
                "{what} needs {zdim} finite numbers (the latent size), got {}",
                code.len()
            ));
        }
        Ok(())
    }

    /// Test image `index` as pixel values in [0, 1].
    pub async fn test_image(&mut self, index: usize) -> Result<Vec<f32>, ExploreError> {
        let (bytes, count) = self.test()?;
        if index >= count {
            return invalid(format!(
                "test image {index} is out of range: use 0 to {}",
                count - 1
            ));
        }
        let dim = self.t.vae.dim();
        let order = self.t.be.alloc(1, "explore order");
        self.t.be.write_u32(order, &[index as u32]);
        let x = self.t.vae.x;
        self.t.be.gather_images(bytes, dim, order, 0, 1, x, None);
        self.t.be.flush();
        let out = self.t.be.read(x.slice(0, dim)).await;
        self.t.be.free(order);
        Ok(out?)
    }

    /// `mu` and `logvar` (`n * Z` each) of test images `first..first + n`.
    pub async fn encode_stats(
        &mut self,
        first: usize,
        n: usize,
    ) -> Result<(Vec<f32>, Vec<f32>), ExploreError> {
        let (bytes, count) = self.test()?;
        let n = n.min(count.saturating_sub(first));
        let zdim = self.zdim();
        let dim = self.t.vae.dim();
        let rows_max = self.t.vae.max_rows();
        let order = self.t.be.alloc(n.max(1), "explore order");
        let idx: Vec<u32> = (first as u32..(first + n) as u32).collect();
        self.t.be.write_u32(order, &idx);
        let both = self.t.be.alloc(2 * rows_max * zdim, "explore mu+logvar");
        let (mut mu, mut lv) = (Vec::with_capacity(n * zdim), Vec::with_capacity(n * zdim));
        let mut done = 0;
        let mut result = Ok(());
        while done < n {
            let rows = rows_max.min(n - done);
            let (vae, be) = (&self.t.vae, &mut self.t.be);
            be.gather_images(bytes, dim, order, done, rows, vae.x, None);
            vae.encode(be, rows);
            let zn = rows * zdim;
            be.copy(vae.mu.slice(0, zn), both.slice(0, zn));
            be.copy(vae.logvar.slice(0, zn), both.slice(zn, zn));
            be.flush();
            match be.read(both.slice(0, 2 * zn)).await {
                Ok(v) => {
                    mu.extend_from_slice(&v[..zn]);
                    lv.extend_from_slice(&v[zn..]);
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
            done += rows;
        }
        self.t.be.free(order);
        self.t.be.free(both);
        result?;
        Ok((mu, lv))
    }

    /// Means of q(z|x) for images given as values in [0, 1] (`n * D`).
    pub async fn encode_values(&mut self, x: &[f32]) -> Result<Vec<f32>, ExploreError> {
        let zdim = self.zdim();
        let dim = self.t.vae.dim();
        let rows_max = self.t.vae.max_rows();
        let n = x.len() / dim;
        let mut out = Vec::with_capacity(n * zdim);
        for chunk in x.chunks(rows_max * dim) {
            let rows = chunk.len() / dim;
            let (vae, be) = (&self.t.vae, &mut self.t.be);
            be.write(vae.x.slice(0, rows * dim), chunk);
            vae.encode(be, rows);
            be.flush();
            out.extend(be.read(vae.mu.slice(0, rows * zdim)).await?);
        }
        Ok(out)
    }

    /// Reconstructions (decoded means) of images given as values in [0, 1].
    pub async fn reconstruct_values(&mut self, x: &[f32]) -> Result<Vec<f32>, ExploreError> {
        let mu = self.encode_values(x).await?;
        Ok(self.t.decode(&mu).await?)
    }

    /// The first `n` test images encoded (mu) and projected on the plane of
    /// `spec`, with their labels (255 where none).
    pub async fn scatter(&mut self, n: usize, spec: PlaneSpec) -> Result<Scatter, ExploreError> {
        let zdim = self.zdim();
        let (_, count) = self.test()?;
        in_range("scatter size", n, 1, MAX_SCATTER)?;
        if let PlaneSpec::Dims { dx, dy } = spec {
            if dx >= zdim || dy >= zdim {
                return invalid(format!(
                    "plane dims {dx},{dy} are out of range: use dims below {zdim}"
                ));
            }
        }
        let n = n.min(count);
        let indices: Vec<u32> = (0..n as u32).collect();
        let codes = self.t.encode_test(&indices).await?;
        let plane = plane_of(spec, &codes, zdim);
        let points = plane.project(&codes);
        let mut bounds = [
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ];
        for p in points.chunks_exact(2) {
            bounds[0] = bounds[0].min(p[0]);
            bounds[1] = bounds[1].max(p[0]);
            bounds[2] = bounds[2].min(p[1]);
            bounds[3] = bounds[3].max(p[1]);
        }
        let labels = indices
            .iter()
            .map(|&i| self.t.test_labels.get(i as usize).copied().unwrap_or(255))
            .collect();
        Ok(Scatter {
            points,
            labels,
            indices,
            plane,
            bounds,
            codes,
        })
    }

    /// Decodes plane points (`n * 2`).
    pub async fn decode_plane(
        &mut self,
        plane: &Plane,
        points: &[f32],
    ) -> Result<Vec<f32>, ExploreError> {
        plane.check(self.zdim()).or_else(invalid)?;
        if !points.len().is_multiple_of(2)
            || points.len() / 2 > 4096
            || !points.iter().all(|p| p.is_finite())
        {
            return invalid(format!(
                "plane points need pairs of finite numbers, at most 4096 of them, got {} numbers",
                points.len()
            ));
        }
        Ok(self.t.decode(&plane.codes(points)).await?)
    }

    /// `size x size` decodes over the plane and the axis value of each cell.
    pub async fn plane_grid(
        &mut self,
        plane: &Plane,
        size: usize,
        spacing: Spacing,
        lo: f32,
        hi: f32,
    ) -> Result<(Vec<f32>, Vec<f32>), ExploreError> {
        in_range("grid size", size, 1, 32)?;
        if spacing == Spacing::Linear && !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return invalid(format!(
                "grid range {lo} to {hi} is not valid: use finite numbers with lo below hi"
            ));
        }
        let coords = grid_coords(size, spacing, lo, hi);
        let images = self.decode_plane(plane, &grid_points(&coords)).await?;
        Ok((images, coords))
    }

    /// `steps` codes from `a` to `b` and their decodes.
    pub async fn interpolate(
        &mut self,
        a: &[f32],
        b: &[f32],
        steps: usize,
        slerp: bool,
    ) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>), ExploreError> {
        self.check_code("the first code", a)?;
        self.check_code("the second code", b)?;
        in_range("interpolation steps", steps, 2, 64)?;
        let (codes, ts) = interpolate_codes(a, b, steps, slerp);
        let images = self.t.decode(&codes).await?;
        Ok((codes, images, ts))
    }

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

    /// Mean KL per latent dimension over the first `n` test images.
    pub async fn kl_per_dim(&mut self, n: usize) -> Result<DimKl, ExploreError> {
        in_range("KL images", n, 1, 10_000)?;
        let (mu, lv) = self.encode_stats(0, n).await?;
        Ok(dim_kl(&mu, &lv, self.zdim()))
    }

    /// For each of `dims`, `steps` decodes of `code` with that dimension
    /// swept over `linspace(-range, range)`; returns the images and values.
    pub async fn traverse(
        &mut self,
        code: &[f32],
        dims: &[u32],
        steps: usize,
        range: f32,
    ) -> Result<(Vec<f32>, Vec<f32>), ExploreError> {
        let zdim = self.zdim();
        self.check_code("the traversal code", code)?;
        in_range("traversal steps", steps, 2, 32)?;
        in_range("traversal rows", dims.len(), 1, 100)?;
        if let Some(&d) = dims.iter().find(|&&d| d as usize >= zdim) {
            return invalid(format!(
                "traversal dim {d} is out of range: use dims below {zdim}"
            ));
        }
        if !(range.is_finite() && (0.0..=10.0).contains(&range)) {
            return invalid(format!(
                "traversal range {range} is out of range: use 0 to 10"
            ));
        }
        let values: Vec<f32> = (0..steps)
            .map(|i| -range + 2.0 * range * i as f32 / (steps - 1) as f32)
            .collect();
        let mut codes = Vec::with_capacity(dims.len() * steps * zdim);
        for &d in dims {
            for &v in &values {
                let mut z = code.to_vec();
                z[d as usize] = v;
                codes.extend(z);
            }
        }
        Ok((self.t.decode(&codes).await?, values))
    }

    /// Negative-ELBO sums over test images `first..first + count` (one z per
    /// image). Passes start at `first` and step by the batch size, with the
    /// noise `Trainer::evaluate` draws for a pass starting there: chunks that
    /// start at multiples of the batch size add up to `evaluate`'s figures.
    pub async fn evaluate_range(
        &mut self,
        first: usize,
        count: usize,
    ) -> Result<RangeSums, ExploreError> {
        let (bytes, total) = self.test()?;
        in_range("evaluation count", count, 1, 10_000)?;
        let n = count.min(total.saturating_sub(first));
        let beta = self.t.vae.config.beta as f64;
        let (recon, kl) = self.t.eval_sums(bytes, first, n).await?;
        Ok(RangeSums {
            recon_sum: recon,
            kl_sum: kl,
            loss_sum: recon + beta * kl,
            images: n,
            next: first + n,
            total,
            done: first + n >= total,
        })
    }

    /// The importance-weighted bound (Burda et al. 2015) on log p(x) with `k`
    /// samples per image, over test images `first..first + count`:
    /// `log w_j = log p(x|z_j) + log p(z_j) - log q(z_j|x)`, bound
    /// `log (1/k sum_j w_j)` by log-sum-exp, in nats. Bernoulli (BCE) models
    /// only. A model trained on binarized pixels is scored on a fixed
    /// stochastic binarization of each test image (seeded by the image's
    /// index, the same for all k samples and every call).
    pub async fn importance_bound(
        &mut self,
        k: usize,
        first: usize,
        count: usize,
    ) -> Result<BoundSums, ExploreError> {
        let (bytes, total) = self.test()?;
        in_range("importance samples", k, 1, 5000)?;
        in_range("importance images", count, 1, 10_000)?;
        if self.t.vae.config.recon != Recon::Bce {
            return invalid(
                "the importance-weighted bound needs the Bernoulli likelihood: use recon bce",
            );
        }
        let n = count.min(total.saturating_sub(first));
        let cfg = &self.t.vae.config;
        let (seed, binarized) = (cfg.seed, cfg.binarize);
        let zdim = cfg.latent;
        let rows_max = self.t.vae.max_rows();
        let dim = self.t.vae.dim();
        let order = self.t.be.alloc(n.max(1), "iwae order");
        let idx: Vec<u32> = (first as u32..(first + n) as u32).collect();
        self.t.be.write_u32(order, &idx);
        let width = 3 * zdim + 1;
        let scratch = self.t.be.alloc(rows_max * width, "iwae readback");
        let slots = n * k;
        let mut logw = vec![0.0f64; slots];
        let mut s = 0;
        let mut result = Ok(());
        while s < slots {
            let rows = rows_max.min(slots - s);
            let (vae, be) = (&self.t.vae, &mut self.t.be);
            // Each run of slots of one image: gather it once, then copy the
            // row, doubling, so all k samples see the same pixels.
            let mut r = 0;
            while r < rows {
                let image = (s + r) / k;
                let run = (k - (s + r) % k).min(rows - r);
                let binarize = binarized.then(|| Noise {
                    seed,
                    stream: rng::stream(StreamKind::Binarize, 0x8000_0000 | (first + image) as u32),
                });
                let row0 = vae.x.slice(r * dim, run * dim);
                be.gather_images(bytes, dim, order, image, 1, row0, binarize);
                let mut have = 1;
                while have < run {
                    let m = have.min(run - have);
                    be.copy(row0.slice(0, m * dim), row0.slice(have * dim, m * dim));
                    have += m;
                }
                r += run;
            }
            vae.forward_loss(
                be,
                rows,
                Noise {
                    seed: seed ^ 0x1ae5,
                    stream: rng::stream(
                        StreamKind::Sample,
                        0x4000_0000 ^ ((first * k + s) as u32).wrapping_mul(0x9e37_79b9),
                    ),
                },
            );
            let zn = rows * zdim;
            be.copy(vae.z.slice(0, zn), scratch.slice(0, zn));
            be.copy(vae.eps.slice(0, zn), scratch.slice(zn, zn));
            be.copy(vae.logvar.slice(0, zn), scratch.slice(2 * zn, zn));
            be.copy(vae.recon.slice(0, rows), scratch.slice(3 * zn, rows));
            be.flush();
            be.pace();
            let v = match be.read(scratch.slice(0, 3 * zn + rows)).await {
                Ok(v) => v,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            for r in 0..rows {
                let (z, eps, lv) = (
                    &v[r * zdim..][..zdim],
                    &v[zn + r * zdim..][..zdim],
                    &v[2 * zn + r * zdim..][..zdim],
                );
                // log p(z) - log q(z|x); the 2 pi terms cancel.
                let mut prior_minus_q = 0.0f64;
                for j in 0..zdim {
                    let lvj = lv[j].clamp(LOGVAR_MIN, LOGVAR_MAX) as f64;
                    let (zj, ej) = (z[j] as f64, eps[j] as f64);
                    prior_minus_q += -0.5 * zj * zj + 0.5 * ej * ej + 0.5 * lvj;
                }
                logw[s + r] = -(v[3 * zn + r] as f64) + prior_minus_q;
            }
            s += rows;
        }
        self.t.be.free(order);
        self.t.be.free(scratch);
        result?;
        let (mut ll, mut elbo) = (0.0, 0.0);
        for w in logw.chunks_exact(k.max(1)) {
            ll += log_mean_exp(w);
            elbo += w.iter().sum::<f64>() / k as f64;
        }
        Ok(BoundSums {
            log_likelihood_sum: ll,
            elbo_sum: elbo,
            images: n,
            next: first + n,
            total,
            done: first + n >= total,
            k,
            binarized,
        })
    }
}

/// `log (1/n sum exp(w))`, stable.
pub fn log_mean_exp(w: &[f64]) -> f64 {
    let m = w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + (w.iter().map(|x| (x - m).exp()).sum::<f64>() / w.len() as f64).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_ramps_linearly_and_zero_disables() {
        assert_eq!(warmup_beta(2.0, 0, 0), 2.0);
        assert_eq!(warmup_beta(2.0, 100, 0), 0.0);
        assert_eq!(warmup_beta(2.0, 100, 50), 1.0);
        assert_eq!(warmup_beta(2.0, 100, 100), 2.0);
        assert_eq!(warmup_beta(2.0, 100, 5000), 2.0);
    }

    #[test]
    fn jacobi_finds_the_axes_of_a_stretched_cloud() {
        // Points along (1, 1, 0) with spread 3, along (1, -1, 0) with 1.
        let s = std::f32::consts::FRAC_1_SQRT_2;
        let mut codes = Vec::new();
        for i in -20..=20 {
            for j in -5..=5 {
                let (a, b) = (i as f32 * 0.3, j as f32 * 0.2);
                codes.extend([a * s + b * s + 1.0, a * s - b * s, 0.5]);
            }
        }
        let p = plane_of(PlaneSpec::Principal, &codes, 3);
        assert!(
            (p.u[0] - s).abs() < 1e-4 && (p.u[1] - s).abs() < 1e-4,
            "{p:?}"
        );
        assert!(
            p.v[2].abs() < 1e-4 && (p.v[0].abs() - s).abs() < 1e-4,
            "{p:?}"
        );
        assert!((p.origin[0] - 1.0).abs() < 1e-5 && (p.origin[2] - 0.5).abs() < 1e-5);
        assert!(p.explained[0] > 0.8 && p.explained[0] + p.explained[1] > 0.999);
        // Round trip through the plane for a point in it.
        let pts = p.project(&codes[..6]);
        let back = p.codes(&pts);
        for (a, b) in back.iter().zip(&codes[..6]) {
            assert!((a - b).abs() < 1e-4);
        }
    }

    #[test]
    fn interpolation_endpoints_and_slerp_norms() {
        let (a, b) = ([3.0f32, 0.0], [0.0f32, 1.0]);
        let (codes, t) = interpolate_codes(&a, &b, 5, true);
        assert_eq!(&codes[..2], &a);
        assert_eq!(&codes[8..], &b);
        assert_eq!(t, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        // Halfway: direction at 45 degrees, length 2.
        assert!((codes[4] - 2.0 * std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-5);
        assert!((codes[5] - 2.0 * std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-5);
        let (lin, _) = interpolate_codes(&a, &b, 5, false);
        assert_eq!(&lin[4..6], &[1.5, 0.5]);
    }

    #[test]
    fn preprocessing_centres_an_off_centre_stroke() {
        // A thick L-shaped stroke in the top-left corner of a 100x80 pad.
        let (w, h) = (100, 80);
        let mut pad = vec![0u8; w * h];
        for y in 5..45 {
            for x in 3..9 {
                pad[y * w + x] = 255;
            }
        }
        for y in 39..45 {
            for x in 3..30 {
                pad[y * w + x] = 200;
            }
        }
        let (img, empty) = preprocess_drawing(&pad, w, h, ImageShape::MNIST);
        assert!(!empty);
        let (cx, cy) = centre_of_mass(&img, 28).unwrap();
        assert!(
            (cx - 14.0).abs() <= 0.5 && (cy - 14.0).abs() <= 0.5,
            "{cx} {cy}"
        );
        // Bounding box: the longer side (height) is 20.
        let rows: Vec<usize> = (0..28)
            .filter(|&y| img[y * 28..][..28].iter().any(|&p| p > 0))
            .collect();
        assert_eq!(rows.len(), 20, "{rows:?}");
        let (blank, empty) = preprocess_drawing(&[0; 16], 4, 4, ImageShape::MNIST);
        assert!(empty && blank.iter().all(|&p| p == 0));
    }

    #[test]
    fn damage_regions_and_errors() {
        let shape = ImageShape {
            channels: 1,
            height: 4,
            width: 4,
        };
        let img = vec![0.5f32; 16];
        let d = Damage::Box {
            x: 1,
            y: 1,
            w: 2,
            h: 10,
        }
        .apply(&img, shape, None)
        .unwrap();
        assert_eq!(d.region.iter().filter(|&&r| r == 1).count(), 6);
        assert_eq!(d.image[5], 0.0);
        assert_eq!(d.known[0], 1);
        assert!((masked_mse(&d.image, &img, &d.region) - 0.25).abs() < 1e-6);
        let s = Damage::Salt {
            strength: 1.0,
            seed: 3,
        }
        .apply(&img, shape, None)
        .unwrap();
        assert!(s.region.iter().all(|&r| r == 1) && s.known.iter().all(|&k| k == 0));
        assert!(Damage::Gauss {
            strength: 3.0,
            seed: 1
        }
        .apply(&img, shape, None)
        .is_err());
        assert!(Damage::Brush.apply(&img, shape, Some(&[1; 3])).is_err());
    }

    #[test]
    fn damage_and_plane_specs_parse_as_the_page_sends_them() {
        let d: Damage = serde_json::from_value(
            serde_json::json!({ "kind": "box", "x": 1, "y": 2, "w": 3, "h": 4 }),
        )
        .unwrap();
        assert_eq!(
            d,
            Damage::Box {
                x: 1,
                y: 2,
                w: 3,
                h: 4
            }
        );
        let d: Damage =
            serde_json::from_value(serde_json::json!({ "kind": "salt", "strength": 0.3 })).unwrap();
        assert_eq!(
            d,
            Damage::Salt {
                strength: 0.3,
                seed: 1
            }
        );
        let d: Damage = serde_json::from_value(
            serde_json::json!({ "kind": "gauss", "strength": 1, "seed": 9 }),
        )
        .unwrap();
        assert_eq!(
            d,
            Damage::Gauss {
                strength: 1.0,
                seed: 9
            }
        );
        assert!(serde_json::from_value::<Damage>(serde_json::json!({ "kind": "brush" })).is_ok());
        for bad in [
            serde_json::json!({ "kind": "box", "x": 1 }),
            serde_json::json!({ "kind": "blur" }),
            serde_json::json!({ "kind": "salt", "strength": 0.3, "sead": 2 }),
        ] {
            assert!(
                serde_json::from_value::<Damage>(bad.clone()).is_err(),
                "{bad}"
            );
        }
        let p: PlaneSpec =
            serde_json::from_value(serde_json::json!({ "kind": "dims", "dx": 0, "dy": 3 }))
                .unwrap();
        assert_eq!(p, PlaneSpec::Dims { dx: 0, dy: 3 });
        let p: PlaneSpec =
            serde_json::from_value(serde_json::json!({ "kind": "principal" })).unwrap();
        assert_eq!(p, PlaneSpec::Principal);
        // A plane goes out and comes back unchanged.
        let plane = plane_of(PlaneSpec::Dims { dx: 1, dy: 0 }, &[0.5, 1.0, -0.5, 2.0], 2);
        let back: Plane = serde_json::from_value(serde_json::to_value(&plane).unwrap()).unwrap();
        assert_eq!(back, plane);
        assert!(back.check(2).is_ok() && back.check(3).is_err());
    }

    #[test]
    fn log_mean_exp_is_stable() {
        assert!((log_mean_exp(&[-1000.0, -1000.0]) + 1000.0).abs() < 1e-9);
        assert!((log_mean_exp(&[0.0, 2f64.ln()]) - 1.5f64.ln()).abs() < 1e-12);
    }
}
