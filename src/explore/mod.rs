//! Exploring a trained (or training) model: the latent scatter and its plane,
//! MNIST-style preprocessing of a drawing, interpolation, inpainting and
//! denoising, latent traversal, per-dimension KL and active units, chunked
//! evaluation of the test set and the importance-weighted bound (IWAE) on the
//! test log-likelihood.
//!
//! Shapes: x [B, D], mu / logvar / z [B, Z]; a plane maps (a, b) to
//! `origin + a u + b v` in Z. Everything per pixel of a batch runs on the
//! session's backend through the model's own ops (`Vae::encode`,
//! `Vae::decode`, `Vae::forward_loss`, `gather_images`); what happens here on
//! the host is per image or per latent dimension on read-back results
//! (projections, a Z x Z eigenproblem, one image's mask blend,
//! log-sum-exp over K weights), whose cost is trivial beside the passes.
//!
//! `plane` (with `eigen`), `drawing`, `latent_walks`, `inpaint` and
//! `evaluate` each add their part of [`Explorer`].

// Numeric loops here index several arrays in step; ranges read clearer.
#![allow(clippy::needless_range_loop)]

mod drawing;
mod eigen;
mod evaluate;
mod inpaint;
mod latent_walks;
mod plane;

pub use drawing::*;
pub use eigen::*;
pub use evaluate::*;
pub use inpaint::*;
pub use latent_walks::*;
pub use plane::*;

use crate::backend::{Backend, BackendError, View};
use crate::train::Trainer;

/// KL (nats) above which a latent dimension counts as active (Burda et al.
/// use a variance criterion; the posterior-collapse literature 0.01 nats).
pub const ACTIVE_KL: f32 = 0.01;

/// Most test images the scatter encodes.
pub const MAX_SCATTER: usize = 2000;

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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ImageShape;

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
