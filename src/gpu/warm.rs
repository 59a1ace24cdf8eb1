//! Pipelines ahead of time: `warm_pipelines` creates every
//! compute pipeline a preset's training step and the page's views need, so
//! that the page can do it while the data downloads instead of at the first
//! step. It records one step (and the views' passes) of a throwaway model of
//! the same config on this device, then discards what it recorded unsubmitted:
//! the pipeline cache keeps what recording created, the model the session
//! trains is not touched, and no GPU time is spent. Whatever kernel a future
//! op picks for a shape, recording the real shapes picks the same.

use super::GpuBackend;
use crate::backend::{AdamStep, Backend, Noise};
use crate::config::VaeConfig;
use crate::error::Error;
use crate::vae::Vae;

/// Rows the views decode and encode besides the batch: 8 reconstructions and
/// 64 prior samples (the page's sample grid); the latent grid and the test
/// loss run at the batch size (their passes are split into batches).
const VIEW_ROWS: [usize; 2] = [8, 64];

impl GpuBackend {
    /// Creates the pipelines of one training step of `config` and of the
    /// views' decode / encode passes, and waits until the device has them
    /// (one small readback), without changing anything the device holds.
    /// Returns the number of pipelines created.
    pub async fn warm_pipelines(&mut self, config: &VaeConfig) -> Result<usize, Error> {
        let before = self.cache_sizes().pipelines;
        // Whatever was recorded for the real model goes out first.
        self.flush();
        // What is recorded here is thrown away, so `bench --profile`'s
        // counters must not see it.
        let counters = self.rec.counters();
        let vae = Vae::new(self, config.clone())?;
        let dim = vae.dim();
        let rows = vae.max_rows();
        let bytes = self.alloc((rows * dim).div_ceil(4), "warm-up images");
        let order = self.alloc(rows, "warm-up order");
        let noise = Noise { seed: 0, stream: 0 };
        let sums = self.alloc(3, "warm-up sums");

        // One training step, as `Trainer::step` records it.
        let binarize = config.binarize.then_some(noise);
        self.gather_images(bytes, dim, order, 0, rows, vae.x, binarize);
        self.fill(vae.flat.grads, 0.0);
        vae.forward_loss(self, rows, noise);
        vae.backward_beta(self, rows, config.beta);
        let f = vae.flat;
        let a = config.adam;
        let step = AdamStep {
            lr: a.lr,
            beta1: a.beta1,
            beta2: a.beta2,
            eps: a.eps,
            t: 1,
        };
        self.adam(f.params, f.grads, f.adam_m, f.adam_v, step);
        self.sum_pair_into(
            vae.recon.slice(0, rows),
            vae.kl.slice(0, rows),
            sums.slice(0, 2),
        );
        self.sum_into(f.params, sums.slice(2, 1));
        // The views: decode (samples, latent grid, reconstructions), encode.
        for r in VIEW_ROWS.into_iter().map(|r| r.min(rows)).chain([rows]) {
            self.gather_images(bytes, dim, order, 0, r, vae.x, None);
            vae.encode(self, r);
            vae.decode(self, r);
        }
        self.rec.discard();
        self.rec.restore_counters(counters);

        // A readback after the creations: on the web, pipelines compile in
        // the GPU process, and this resolves once it got through them.
        let done = self.read(sums.slice(0, 1)).await;
        vae.free(self);
        for v in [bytes, order, sums] {
            self.free(v);
        }
        done?;
        Ok(self.cache_sizes().pipelines - before)
    }
}
