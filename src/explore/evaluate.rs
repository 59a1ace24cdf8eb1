//! Numbers over the test set: KL per latent dimension (active units),
//! the ELBO over a range of images in chunks, and the importance-weighted
//! bound (IWAE) on the log-likelihood.

use super::{in_range, invalid, ExploreError, Explorer, ACTIVE_KL};
use crate::backend::{Backend, Noise, Recon, LOGVAR_MAX, LOGVAR_MIN};
use crate::rng::{self, StreamKind};
use serde::Serialize;

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

impl<B: Backend> Explorer<'_, B> {
    /// Mean KL per latent dimension over the first `n` test images.
    pub async fn kl_per_dim(&mut self, n: usize) -> Result<DimKl, ExploreError> {
        in_range("KL images", n, 1, 10_000)?;
        let (mu, lv) = self.encode_stats(0, n).await?;
        Ok(dim_kl(&mu, &lv, self.zdim()))
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
