//! The `Trainer`: datasets resident on the backend, the shuffled step loop,
//! live hyper-parameters, metrics accumulated on the device and read back
//! only when asked, evaluation, sampling and decoding.

use crate::backend::{AdamStep, Backend, BackendError, Noise, View};
use crate::config::{ConfigError, VaeConfig};
use crate::diverge::{Divergence, Guard};
use crate::rng::{self, StreamKind};
use crate::vae::Vae;
use serde::Serialize;

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
    /// 0 over the first `kl_warmup` steps (see `explore::warmup_beta`).
    pub fn kl_weight(&self) -> f32 {
        crate::explore::warmup_beta(self.vae.config.beta, self.vae.config.kl_warmup, self.step)
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

    /// Copies the parameters and both Adam moments into the snapshot
    /// buffers (on the device) and remembers Adam's step.
    pub fn take_snapshot(&mut self) {
        let f = self.vae.flat;
        let snap = match self.snapshot.take() {
            Some(snap) => snap,
            None => Snapshot {
                params: self.be.alloc(f.params.len(), "snapshot params"),
                adam_m: self.be.alloc(f.adam_m.len(), "snapshot adam m"),
                adam_v: self.be.alloc(f.adam_v.len(), "snapshot adam v"),
                adam_t: 0,
                step: 0,
                valid: false,
            },
        };
        self.be.copy(f.params, snap.params);
        self.be.copy(f.adam_m, snap.adam_m);
        self.be.copy(f.adam_v, snap.adam_v);
        self.be.flush();
        self.snapshot = Some(Snapshot {
            adam_t: self.adam_t,
            step: self.step,
            valid: true,
            ..snap
        });
    }

    /// Restores the last snapshot (parameters, Adam moments, Adam's step) and
    /// clears the metric sums; returns the step the snapshot was taken at.
    /// Without a snapshot, only the sums are cleared.
    pub fn rollback(&mut self) -> u32 {
        self.be.fill(self.sums, 0.0);
        self.sum_images = 0;
        let Some(snap) = self.snapshot.as_ref().filter(|s| s.valid) else {
            self.be.flush();
            return self.step;
        };
        let f = self.vae.flat;
        self.be.copy(snap.params, f.params);
        self.be.copy(snap.adam_m, f.adam_m);
        self.be.copy(snap.adam_v, f.adam_v);
        self.be.flush();
        self.adam_t = snap.adam_t;
        snap.step
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

    /// All parameters, flat, in `vae.table` order.
    pub async fn read_params(&mut self) -> Result<Vec<f32>, BackendError> {
        self.be.read(self.vae.flat.params).await
    }

    /// Replaces all parameters (and restarts Adam's moments).
    pub fn load_params(&mut self, values: &[f32]) {
        assert_eq!(values.len(), self.vae.table.total);
        let f = self.vae.flat;
        self.be.write(f.params, values);
        self.be.fill(f.adam_m, 0.0);
        self.be.fill(f.adam_v, 0.0);
        self.be.flush();
        self.step = 0;
        self.adam_t = 0;
        self.guard.reset();
        if let Some(snap) = &mut self.snapshot {
            snap.valid = false;
        }
    }
}

/// Everything training needs to go on elsewhere (another backend, after the
/// GPU device was lost): the parameters, Adam's moments and step, and where
/// the step loop stands. Taken with [`Trainer::export_state`].
#[derive(Clone, Debug, PartialEq)]
pub struct TrainState {
    pub params: Vec<f32>,
    pub adam_m: Vec<f32>,
    pub adam_v: Vec<f32>,
    pub adam_t: u32,
    pub step: u32,
    pub epoch: u32,
    pub cursor: usize,
}

impl<B: Backend> Trainer<B> {
    /// A host-side copy of the training state (three reads; the step loop
    /// may go on meanwhile on the web, where reads are asynchronous).
    pub async fn export_state(&mut self) -> Result<TrainState, BackendError> {
        let (step, adam_t, epoch, cursor) = (self.step, self.adam_t, self.epoch, self.cursor);
        let f = self.vae.flat;
        let params = self.be.read(f.params);
        let adam_m = self.be.read(f.adam_m);
        let adam_v = self.be.read(f.adam_v);
        Ok(TrainState {
            params: params.await?,
            adam_m: adam_m.await?,
            adam_v: adam_v.await?,
            adam_t,
            step,
            epoch,
            cursor,
        })
    }

    /// Continues from `state` (taken from a model of the same config): the
    /// same parameters, moments and step counts, so the next step draws the
    /// noise the exported model's would have. Refuses a state of another size.
    pub fn import_state(&mut self, state: &TrainState) -> Result<(), ConfigError> {
        let total = self.vae.table.total;
        for (what, v) in [
            ("parameters", &state.params),
            ("Adam m", &state.adam_m),
            ("Adam v", &state.adam_v),
        ] {
            if v.len() != total {
                return Err(ConfigError(format!(
                    "the saved state has {} {what} but this model has {total}: it belongs to another configuration",
                    v.len()
                )));
            }
        }
        let f = self.vae.flat;
        self.be.write(f.params, &state.params);
        self.be.write(f.adam_m, &state.adam_m);
        self.be.write(f.adam_v, &state.adam_v);
        self.be.fill(self.sums, 0.0);
        self.be.flush();
        self.sum_images = 0;
        self.step = state.step;
        self.adam_t = state.adam_t;
        self.epoch = state.epoch;
        // This epoch's order is drawn again from (seed, epoch) at the next step.
        if let Some(order) = self.order.take() {
            self.be.free(order);
        }
        self.cursor = if state.cursor < self.train_count() {
            state.cursor
        } else {
            0
        };
        self.guard.restart_trend();
        if let Some(snap) = &mut self.snapshot {
            snap.valid = false;
        }
        Ok(())
    }
}

/// Steps between snapshots of the last good state.
pub const SNAPSHOT_EVERY: u32 = 200;

/// Device-side copies of the parameters and Adam moments, with Adam's step.
struct Snapshot {
    params: View,
    adam_m: View,
    adam_v: View,
    adam_t: u32,
    /// Steps run when it was taken.
    step: u32,
    /// False until taken (and after new parameters were loaded).
    valid: bool,
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
