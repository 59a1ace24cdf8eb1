//! What a model gives back: images decoded from latent codes (prior
//! samples, the quantile grid), codes encoded from images, reconstructions,
//! and the codes themselves.

use super::Trainer;
use crate::backend::{Backend, BackendError};
use crate::rng::{self, StreamKind};
use crate::vae::Vae;

impl<B: Backend> Trainer<B> {
    /// Pixel probabilities decoded from latent codes `z` (`n * Z` values).
    pub async fn decode(&mut self, z: &[f32]) -> Result<Vec<f32>, BackendError> {
        let zdim = self.vae.config.latent;
        let dim = self.vae.dim();
        let n = z.len() / zdim;
        let mut out = Vec::with_capacity(n * dim);
        for chunk in z.chunks(self.vae.max_rows() * zdim) {
            let rows = chunk.len() / zdim;
            self.be.write(self.vae.z.slice(0, chunk.len()), chunk);
            self.vae.decode(&mut self.be, rows);
            self.be.flush();
            out.extend(self.be.read(self.vae.probs.slice(0, rows * dim)).await?);
        }
        Ok(out)
    }

    /// `n` samples from the prior, drawn from `(seed, stream)`.
    pub async fn sample(
        &mut self,
        n: usize,
        seed: u32,
        stream: u32,
    ) -> Result<Vec<f32>, BackendError> {
        let z = prior_codes(n, self.vae.config.latent, seed, stream);
        self.decode(&z).await
    }

    /// Means `mu` of q(z|x) for the given test images.
    pub async fn encode_test(&mut self, indices: &[u32]) -> Result<Vec<f32>, BackendError> {
        let Some(test) = self.test.as_ref() else {
            return Ok(Vec::new());
        };
        let (bytes, count) = (test.bytes, test.count);
        let order = self.be.alloc(indices.len().max(1), "encode order");
        let clamped: Vec<u32> = indices.iter().map(|&i| i.min(count as u32 - 1)).collect();
        self.be.write_u32(order, &clamped);
        let mu = self
            .encode_rows(indices.len(), |be, vae, first, rows| {
                be.gather_images(bytes, vae.dim(), order, first, rows, vae.x, None)
            })
            .await;
        self.be.free(order);
        mu
    }

    /// Means `mu` of q(z|x) for `n` images of raw u8 pixels (`n * D` bytes).
    pub async fn encode_pixels(&mut self, pixels: &[u8]) -> Result<Vec<f32>, BackendError> {
        let dim = self.vae.dim();
        self.encode_rows(pixels.len() / dim, |be, vae, first, rows| {
            let x: Vec<f32> = pixels[first * dim..(first + rows) * dim]
                .iter()
                .map(|&p| p as f32 / 255.0)
                .collect();
            be.write(vae.x.slice(0, rows * dim), &x);
        })
        .await
    }

    /// Encodes `n` images in batches: `load(be, vae, first, rows)` fills
    /// `vae.x` with images `first..first + rows`; returns their `mu`, `n * Z`.
    async fn encode_rows(
        &mut self,
        n: usize,
        mut load: impl FnMut(&mut B, &Vae, usize, usize),
    ) -> Result<Vec<f32>, BackendError> {
        let zdim = self.vae.config.latent;
        let mut out = Vec::with_capacity(n * zdim);
        let mut first = 0;
        while first < n {
            let rows = self.vae.max_rows().min(n - first);
            let (vae, be) = (&self.vae, &mut self.be);
            load(be, vae, first, rows);
            vae.encode(be, rows);
            be.flush();
            out.extend(be.read(vae.mu.slice(0, rows * zdim)).await?);
            first += rows;
        }
        Ok(out)
    }

    /// The given test images as they were set (`u8`, CHW, `n * D` bytes),
    /// read back from the device; indices past the end are clamped.
    pub async fn test_pixels(&mut self, indices: &[u32]) -> Result<Vec<u8>, BackendError> {
        let Some(test) = self.test.as_ref() else {
            return Ok(Vec::new());
        };
        let (bytes, count) = (test.bytes, test.count);
        let order = self.be.alloc(indices.len().max(1), "test pixels order");
        let clamped: Vec<u32> = indices.iter().map(|&i| i.min(count as u32 - 1)).collect();
        self.be.write_u32(order, &clamped);
        let dim = self.vae.dim();
        let mut out = Vec::with_capacity(indices.len() * dim);
        let mut first = 0;
        while first < indices.len() {
            let rows = self.vae.max_rows().min(indices.len() - first);
            let (vae, be) = (&self.vae, &mut self.be);
            be.gather_images(bytes, dim, order, first, rows, vae.x, None);
            be.flush();
            let x = be.read(vae.x.slice(0, rows * dim)).await;
            let x = match x {
                Ok(x) => x,
                Err(e) => {
                    self.be.free(order);
                    return Err(e);
                }
            };
            out.extend(
                x.iter()
                    .map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8),
            );
            first += rows;
        }
        self.be.free(order);
        Ok(out)
    }

    /// Reconstructions (decoded posterior means) of the given test images.
    pub async fn reconstruct(&mut self, indices: &[u32]) -> Result<Vec<f32>, BackendError> {
        let mu = self.encode_test(indices).await?;
        self.decode(&mu).await
    }

    /// A `size x size` grid decoded over the Gaussian quantiles of latent
    /// dimensions `dx` (columns) and `dy` (rows, top = high), others at 0.
    pub async fn latent_grid(
        &mut self,
        size: usize,
        dx: usize,
        dy: usize,
    ) -> Result<Vec<f32>, BackendError> {
        let z = latent_grid_codes(size, self.vae.config.latent, dx, dy);
        self.decode(&z).await
    }
}

/// The stream of the fixed prior codes that the page's sample grid and
/// `vae train --out`'s `samples.png` show: the same seed, the same codes.
pub fn fixed_prior_stream() -> u32 {
    rng::stream(StreamKind::Sample, u32::MAX)
}

/// `n` codes from N(0, I).
pub fn prior_codes(n: usize, zdim: usize, seed: u32, stream: u32) -> Vec<f32> {
    (0..(n * zdim) as u32)
        .map(|i| rng::normal(seed, stream, i))
        .collect()
}

/// Codes over the Gaussian quantiles `Phi^-1((i + 0.5) / size)` of two dims.
pub fn latent_grid_codes(size: usize, zdim: usize, dx: usize, dy: usize) -> Vec<f32> {
    let q = |i: usize| normal_quantile((i as f64 + 0.5) / size as f64) as f32;
    let mut z = vec![0.0f32; size * size * zdim];
    for row in 0..size {
        for col in 0..size {
            let code = &mut z[(row * size + col) * zdim..][..zdim];
            code[dx.min(zdim - 1)] = q(col);
            code[dy.min(zdim - 1)] = q(size - 1 - row);
        }
    }
    z
}

/// The standard normal quantile (Acklam's rational approximation, relative
/// error below 1.2e-9: far below f32 precision).
#[allow(clippy::excessive_precision)] // Acklam's published coefficients, verbatim.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383577518672690e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantile_matches_known_values() {
        assert!(normal_quantile(0.5).abs() < 1e-7);
        assert!((normal_quantile(0.975) - 1.959963985).abs() < 1e-6);
        assert!((normal_quantile(0.01) + 2.326347874).abs() < 1e-6);
    }

    #[test]
    fn latent_grid_puts_quantiles_on_the_chosen_dims() {
        let z = latent_grid_codes(3, 4, 1, 2);
        // Top-left: lowest x quantile, highest y quantile; other dims zero.
        assert!(z[1] < -0.9 && z[2] > 0.9 && z[0] == 0.0 && z[3] == 0.0);
        // Centre is the origin.
        assert!(z[4 * 4..4 * 5].iter().all(|v| v.abs() < 1e-6));
    }
}
