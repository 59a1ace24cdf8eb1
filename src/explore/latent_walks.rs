//! Walks through the latent space: interpolation between two codes (linear
//! or spherical) and traversal of one dimension from a code.

use super::{in_range, invalid, ExploreError, Explorer};
use crate::backend::Backend;

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

impl<B: Backend> Explorer<'_, B> {
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
}
