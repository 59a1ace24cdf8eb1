//! The `Trainer`: datasets resident on the backend, the shuffled step loop,
//! live hyper-parameters, metrics accumulated on the device and read back
//! only when asked, and evaluation. `state` holds the snapshots, parameter
//! loads and the exported state; `decode` what a model gives back (decoding,
//! sampling, encoding).

mod decode;
mod state;

pub use decode::{fixed_prior_stream, latent_grid_codes, normal_quantile, prior_codes};
pub use state::{TrainState, SNAPSHOT_EVERY};

use crate::backend::{AdamStep, Backend, BackendError, Noise, View};
use crate::config::{ConfigError, VaeConfig};
use crate::diverge::{Divergence, Guard};
use crate::rng::{self, StreamKind};
use crate::vae::Vae;
use serde::Serialize;
use state::Snapshot;

/// Mean loss terms per image, in nats (BCE) or squared error (Gaussian).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Metrics {
    pub loss: f64,
    pub recon: f64,
    pub kl: f64,
    pub images: usize,
}

impl Metrics {
    /// The mean over both spans, weighted by their images.
    pub fn merge(&self, other: &Metrics) -> Metrics {
        let images = self.images + other.images;
        if images == 0 {
            return *self;
        }
        let (a, b) = (self.images as f64, other.images as f64);
        let mean = |x: f64, y: f64| (x * a + y * b) / images as f64;
        Metrics {
            loss: mean(self.loss, other.loss),
            recon: mean(self.recon, other.recon),
            kl: mean(self.kl, other.kl),
            images,
        }
    }

    fn from_sums(recon: f64, kl: f64, beta: f64, images: usize) -> Metrics {
        let n = images.max(1) as f64;
        Metrics {
            loss: (recon + beta * kl) / n,
            recon: recon / n,
            kl: kl / n,
            images,
        }
    }
}

/// A set of u8 images uploaded once.
struct DeviceImages {
    bytes: View,
    count: usize,
}

pub struct Trainer<B: Backend> {
    pub be: B,
    pub vae: Vae,
    train: Option<DeviceImages>,
    test: Option<DeviceImages>,
    /// This epoch's shuffled order of the training images.
    order: Option<View>,
    /// Device-side sums since the last `take_metrics`: [recon, kl, and, at
    /// the readback, the checksum of all parameters].
    sums: View,
    sum_images: usize,
    /// Training steps run (keys the noise streams; never goes back).
    pub step: u32,
    /// Adam's step count t: steps whose updates the parameters hold (a
    /// rollback restores it with the moments).
    pub adam_t: u32,
    /// The judge of `checked_metrics`.
    pub guard: Guard,
    /// The last good state, restored on divergence.
    snapshot: Option<Snapshot>,
    /// Steps between snapshots (taken only after a healthy readback).
    pub snapshot_every: u32,
    pub epoch: u32,
    /// Position in this epoch's order.
    cursor: usize,
    /// Class labels of the test images (`setTestLabels`), for the scatter;
    /// may be shorter or longer than the test set.
    pub test_labels: Vec<u8>,
    /// Class labels of the training images (kept for other data sets).
    pub train_labels: Vec<u8>,
}

impl<B: Backend> Trainer<B> {
    pub fn new(mut be: B, config: VaeConfig) -> Result<Trainer<B>, ConfigError> {
        let vae = Vae::new(&mut be, config)?;
        let sums = be.alloc(3, "metric sums");
        let guard = Guard::new(vae.dim());
        Ok(Trainer {
            be,
            vae,
            train: None,
            test: None,
            order: None,
            sums,
            sum_images: 0,
            step: 0,
            adam_t: 0,
            guard,
            snapshot: None,
            snapshot_every: SNAPSHOT_EVERY,
            epoch: 0,
            cursor: 0,
            test_labels: Vec::new(),
            train_labels: Vec::new(),
        })
    }

    /// Frees every buffer this trainer allocated and hands the backend back,
    /// for a new model on the same device (`Trainer::new(be, config)`).
    pub fn into_backend(mut self) -> B {
        self.vae.free(&mut self.be);
        let mut views = vec![self.sums];
        views.extend(self.train.take().map(|d| d.bytes));
        views.extend(self.test.take().map(|d| d.bytes));
        views.extend(self.order.take());
        if let Some(s) = self.snapshot.take() {
            views.extend([s.params, s.adam_m, s.adam_v]);
        }
        for v in views {
            self.be.free(v);
        }
        self.be.flush();
        self.be
    }

    pub fn config(&self) -> &VaeConfig {
        &self.vae.config
    }

    /// Replaces the training images (u8, `count * dim` bytes). Called again
    /// with more images as a download progresses, the epoch restarts.
    pub fn set_train_images(&mut self, pixels: &[u8], count: usize) {
        let images = self.upload(pixels, count, "train images");
        if let Some(old) = self.train.replace(images) {
            self.be.free(old.bytes);
        }
        if let Some(order) = self.order.take() {
            self.be.free(order);
        }
        self.cursor = 0;
    }

    pub fn set_test_images(&mut self, pixels: &[u8], count: usize) {
        let images = self.upload(pixels, count, "test images");
        if let Some(old) = self.test.replace(images) {
            self.be.free(old.bytes);
        }
    }

    fn upload(&mut self, pixels: &[u8], count: usize, label: &str) -> DeviceImages {
        let dim = self.vae.dim();
        assert_eq!(
            Some(pixels.len()),
            count.checked_mul(dim),
            "{label}: {count} images of {dim} bytes"
        );
        DeviceImages {
            bytes: crate::backend::upload_bytes(&mut self.be, pixels, label),
            count,
        }
    }

    pub fn train_count(&self) -> usize {
        self.train.as_ref().map_or(0, |t| t.count)
    }

    pub fn test_count(&self) -> usize {
        self.test.as_ref().map_or(0, |t| t.count)
    }

    /// Steps in one pass over the training images (the last batch may be short).
    pub fn steps_per_epoch(&self) -> usize {
        self.train_count().div_ceil(self.vae.config.batch)
    }

    pub fn set_beta(&mut self, beta: f32) -> Result<(), ConfigError> {
        let mut c = self.vae.config.clone();
        c.beta = beta;
        c.validate()?;
        if beta != self.vae.config.beta {
            self.guard.rescale();
        }
        self.vae.config.beta = beta;
        Ok(())
    }

    pub fn set_lr(&mut self, lr: f32) -> Result<(), ConfigError> {
        let mut c = self.vae.config.clone();
        c.adam.lr = lr;
        c.validate()?;
        self.vae.config.adam.lr = lr;
        Ok(())
    }

    /// One training step on the next batch of the shuffled training set.
    /// Panics if no training images were set.
    pub fn step(&mut self) {
        let train = self
            .train
            .as_ref()
            .expect("set_train_images before training");
        let (bytes, count) = (train.bytes, train.count);
        if self.snapshot.as_ref().is_none_or(|s| !s.valid) {
            self.take_snapshot();
        }
        let seed = self.vae.config.seed;
        let order = match self.order {
            Some(order) if self.cursor < count => order,
            _ => {
                if self.cursor >= count {
                    self.epoch += 1;
                    self.cursor = 0;
                }
                let perm =
                    rng::permutation(count, seed, rng::stream(StreamKind::Shuffle, self.epoch));
                let order = *self
                    .order
                    .get_or_insert_with(|| self.be.alloc(count, "epoch order"));
                self.be.write_u32(order, &perm);
                order
            }
        };
        let rows = self.vae.config.batch.min(count - self.cursor);
        let t = self.step;
        let binarize = self.vae.config.binarize.then(|| Noise {
            seed,
            stream: rng::stream(StreamKind::Binarize, t),
        });
        let kl_weight = self.kl_weight();
        let (vae, be) = (&self.vae, &mut self.be);
        be.gather_images(bytes, vae.dim(), order, self.cursor, rows, vae.x, binarize);
        be.fill(vae.flat.grads, 0.0);
        vae.forward_loss(
            be,
            rows,
            Noise {
                seed,
                stream: rng::stream(StreamKind::Reparam, t),
            },
        );
        vae.backward_beta(be, rows, kl_weight);
        let a = vae.config.adam;
        let f = vae.flat;
        be.adam(
            f.params,
            f.grads,
            f.adam_m,
            f.adam_v,
            AdamStep {
                lr: a.lr,
                beta1: a.beta1,
                beta2: a.beta2,
                eps: a.eps,
                t: self.adam_t + 1,
            },
        );
        be.sum_pair_into(
            vae.recon.slice(0, rows),
            vae.kl.slice(0, rows),
            self.sums.slice(0, 2),
        );
        be.flush();
        be.pace();
        self.sum_images += rows;
        self.cursor += rows;
        self.step += 1;
        self.adam_t += 1;
    }

    /// The KL term's weight of the next step: `beta`, ramped linearly from
    /// 0 over the first `kl_warmup` steps (see [`warmup_beta`]).
    pub fn kl_weight(&self) -> f32 {
        warmup_beta(self.vae.config.beta, self.vae.config.kl_warmup, self.step)
    }

    /// The test images on the device and their count, if set.
    pub(crate) fn test_images(&self) -> Option<(View, usize)> {
        self.test.as_ref().map(|t| (t.bytes, t.count))
    }

    /// Fractional epochs done, for display.
    pub fn epochs_done(&self) -> f64 {
        self.epoch as f64 + self.cursor as f64 / self.train_count().max(1) as f64
    }

    /// Mean training metrics since the last call, then resets the sums.
    /// Judges nothing: see `checked_metrics`.
    pub async fn take_metrics(&mut self) -> Result<Metrics, BackendError> {
        Ok(self.read_sums().await?.0)
    }

    /// The metrics since the last call and whether every parameter is finite
    /// (their sum, taken on the device, is: NaN and infinities propagate).
    async fn read_sums(&mut self) -> Result<(Metrics, bool), BackendError> {
        self.be.fill(self.sums.slice(2, 1), 0.0);
        self.be
            .sum_into(self.vae.flat.params, self.sums.slice(2, 1));
        self.be.flush();
        let sums = self.be.read(self.sums).await?;
        self.be.fill(self.sums, 0.0);
        self.be.flush();
        let images = std::mem::take(&mut self.sum_images);
        let metrics = Metrics::from_sums(
            sums[0] as f64,
            sums[1] as f64,
            self.vae.config.beta as f64,
            images,
        );
        Ok((metrics, sums[2].is_finite()))
    }

    /// The metrics since the last call, judged by `guard` (see `diverge`).
    /// Healthy: a snapshot is taken when `snapshot_every` steps have passed
    /// since the last. Diverged: the last snapshot's parameters, Adam moments
    /// and Adam step are restored before this returns `Err`; `step` (the
    /// steps run) keeps counting.
    pub async fn checked_metrics(&mut self) -> Result<Result<Metrics, Divergence>, BackendError> {
        let (metrics, params_finite) = self.read_sums().await?;
        if let Some(cause) = self.guard.check(metrics.loss, params_finite) {
            let restored_step = self.rollback();
            self.guard.restart_trend();
            return Ok(Err(Divergence {
                cause,
                loss: metrics.loss,
                step: self.step,
                restored_step,
            }));
        }
        let due = self
            .snapshot
            .as_ref()
            .is_none_or(|s| !s.valid || self.step - s.step >= self.snapshot_every);
        if due {
            self.take_snapshot();
        }
        Ok(Ok(metrics))
    }

    /// Negative ELBO on up to `max_images` test images (one z sample per image,
    /// as the classic recipe's test loop draws). Fixed noise: repeatable.
    pub async fn evaluate(&mut self, max_images: usize) -> Result<Metrics, BackendError> {
        let Some(test) = self.test.as_ref() else {
            return Ok(Metrics::default());
        };
        let (bytes, n) = (test.bytes, test.count.min(max_images));
        let (recon, kl) = self.eval_sums(bytes, 0, n).await?;
        Ok(Metrics::from_sums(
            recon,
            kl,
            self.vae.config.beta as f64,
            n,
        ))
    }

    /// Summed reconstruction and KL over the images `first..first + n` of
    /// `bytes`, one z per image. The noise of a batch depends only on where it
    /// starts (its index / the batch size), so passes over the same images
    /// agree however they are chunked, as long as chunks start at multiples of
    /// the batch size.
    pub(crate) async fn eval_sums(
        &mut self,
        bytes: View,
        first: usize,
        n: usize,
    ) -> Result<(f64, f64), BackendError> {
        let seed = self.vae.config.seed;
        let rows_max = self.vae.max_rows();
        let order = self.be.alloc(n.max(1), "eval order");
        let idx: Vec<u32> = (first as u32..(first + n) as u32).collect();
        self.be.write_u32(order, &idx);
        let acc = self.be.alloc(2, "eval sums");
        let mut done = 0;
        while done < n {
            let rows = rows_max.min(n - done);
            let (vae, be) = (&self.vae, &mut self.be);
            be.gather_images(bytes, vae.dim(), order, done, rows, vae.x, None);
            let stream = rng::stream(StreamKind::Sample, ((first + done) / rows_max) as u32);
            vae.forward_loss(
                be,
                rows,
                Noise {
                    seed: seed ^ 0x5eed,
                    stream,
                },
            );
            be.sum_into(vae.recon.slice(0, rows), acc.slice(0, 1));
            be.sum_into(vae.kl.slice(0, rows), acc.slice(1, 1));
            be.flush();
            be.pace();
            done += rows;
        }
        let sums = self.be.read(acc).await;
        self.be.free(order);
        self.be.free(acc);
        let sums = sums?;
        Ok((sums[0] as f64, sums[1] as f64))
    }
}

/// The KL weight at training step `step` (0-based: the step about to run):
/// `beta * min(1, step / warmup)`, or `beta` when `warmup` is 0.
pub fn warmup_beta(beta: f32, warmup: u32, step: u32) -> f32 {
    if warmup == 0 || step >= warmup {
        beta
    } else {
        (beta as f64 * step as f64 / warmup as f64) as f32
    }
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
}
