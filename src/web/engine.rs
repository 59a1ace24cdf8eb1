//! The session's model on either backend: [`Engine`], with one method per
//! operation the `Session` methods need. Each is a two-arm match, so the
//! wasm surface reads as plain calls and the backend is picked here alone.
//! The explore operations go through `explore::Explorer` (see its docs).

use crate::backend::{Backend, BackendError, MemoryReport};
use crate::checkpoint::resume::{self, Resumable};
use crate::config::{ConfigError, VaeConfig};
use crate::cpu::CpuBackend;
use crate::diverge::Divergence;
use crate::error::Error;
use crate::explore::{
    BoundSums, Damage, DimKl, ExploreError, Explorer, Inpainting, Plane, PlaneSpec, RangeSums,
    Scatter, Spacing,
};
use crate::gpu::GpuBackend;
use crate::train::{Metrics, TrainState, Trainer};

pub(crate) enum Engine {
    Gpu(Box<Trainer<GpuBackend>>),
    Cpu(Box<Trainer<CpuBackend>>),
}

impl Engine {
    /// The model's config.
    pub(crate) fn config(&self) -> &VaeConfig {
        match self {
            Engine::Gpu(t) => t.config(),
            Engine::Cpu(t) => t.config(),
        }
    }

    /// Parameters of the model.
    pub(crate) fn parameters(&self) -> usize {
        match self {
            Engine::Gpu(t) => t.vae.table.total,
            Engine::Cpu(t) => t.vae.table.total,
        }
    }

    /// Values per image, `C * H * W`.
    pub(crate) fn dim(&self) -> usize {
        match self {
            Engine::Gpu(t) => t.vae.dim(),
            Engine::Cpu(t) => t.vae.dim(),
        }
    }

    /// The largest buffer the device allows, in `f32` words.
    pub(crate) fn max_buffer_words(&self) -> usize {
        match self {
            Engine::Gpu(t) => t.be.max_buffer_words(),
            Engine::Cpu(t) => t.be.max_buffer_words(),
        }
    }

    /// The adapter, as people name it.
    pub(crate) fn describe(&self) -> String {
        match self {
            Engine::Gpu(t) => t.be.describe(),
            Engine::Cpu(t) => t.be.describe(),
        }
    }

    /// What the backend holds.
    pub(crate) fn memory(&self) -> MemoryReport {
        match self {
            Engine::Gpu(t) => t.be.memory(),
            Engine::Cpu(t) => t.be.memory(),
        }
    }

    /// Training images set.
    pub(crate) fn train_count(&self) -> usize {
        match self {
            Engine::Gpu(t) => t.train_count(),
            Engine::Cpu(t) => t.train_count(),
        }
    }

    /// Test images set.
    pub(crate) fn test_count(&self) -> usize {
        match self {
            Engine::Gpu(t) => t.test_count(),
            Engine::Cpu(t) => t.test_count(),
        }
    }

    /// Training steps run.
    pub(crate) fn steps_run(&self) -> u32 {
        match self {
            Engine::Gpu(t) => t.step,
            Engine::Cpu(t) => t.step,
        }
    }

    /// Fractional epochs done.
    pub(crate) fn epochs_done(&self) -> f64 {
        match self {
            Engine::Gpu(t) => t.epochs_done(),
            Engine::Cpu(t) => t.epochs_done(),
        }
    }

    /// The KL weight of the next step.
    pub(crate) fn kl_weight(&self) -> f32 {
        match self {
            Engine::Gpu(t) => t.kl_weight(),
            Engine::Cpu(t) => t.kl_weight(),
        }
    }

    /// Replaces the training images.
    pub(crate) fn set_train_images(&mut self, pixels: &[u8], count: usize) {
        match self {
            Engine::Gpu(t) => t.set_train_images(pixels, count),
            Engine::Cpu(t) => t.set_train_images(pixels, count),
        }
    }

    /// Replaces the test images.
    pub(crate) fn set_test_images(&mut self, pixels: &[u8], count: usize) {
        match self {
            Engine::Gpu(t) => t.set_test_images(pixels, count),
            Engine::Cpu(t) => t.set_test_images(pixels, count),
        }
    }

    /// Replaces the training images' labels.
    pub(crate) fn set_train_labels(&mut self, labels: Vec<u8>) {
        match self {
            Engine::Gpu(t) => t.train_labels = labels,
            Engine::Cpu(t) => t.train_labels = labels,
        }
    }

    /// Replaces the test images' labels.
    pub(crate) fn set_test_labels(&mut self, labels: Vec<u8>) {
        match self {
            Engine::Gpu(t) => t.test_labels = labels,
            Engine::Cpu(t) => t.test_labels = labels,
        }
    }

    /// A new beta, from the next step on.
    pub(crate) fn set_beta(&mut self, beta: f32) -> Result<(), ConfigError> {
        match self {
            Engine::Gpu(t) => t.set_beta(beta),
            Engine::Cpu(t) => t.set_beta(beta),
        }
    }

    /// A new learning rate, from the next step on.
    pub(crate) fn set_lr(&mut self, lr: f32) -> Result<(), ConfigError> {
        match self {
            Engine::Gpu(t) => t.set_lr(lr),
            Engine::Cpu(t) => t.set_lr(lr),
        }
    }

    /// One training step.
    pub(crate) fn step(&mut self) {
        match self {
            Engine::Gpu(t) => t.step(),
            Engine::Cpu(t) => t.step(),
        }
    }

    /// Loads a checkpoint's weights and continues its counts.
    pub(crate) fn resume(&mut self, r: &Resumable) {
        match self {
            Engine::Gpu(t) => resume::load_into(t.as_mut(), r),
            Engine::Cpu(t) => resume::load_into(t.as_mut(), r),
        }
    }

    /// Continues from an exported state.
    pub(crate) fn import_state(&mut self, s: &TrainState) -> Result<(), ConfigError> {
        match self {
            Engine::Gpu(t) => t.import_state(s),
            Engine::Cpu(t) => t.import_state(s),
        }
    }

    /// A host-side copy of the training state.
    pub(crate) async fn export_state(&mut self) -> Result<TrainState, BackendError> {
        match self {
            Engine::Gpu(t) => t.export_state().await,
            Engine::Cpu(t) => t.export_state().await,
        }
    }

    /// The metrics since the last call, judged.
    pub(crate) async fn checked_metrics(
        &mut self,
    ) -> Result<Result<Metrics, Divergence>, BackendError> {
        match self {
            Engine::Gpu(t) => t.checked_metrics().await,
            Engine::Cpu(t) => t.checked_metrics().await,
        }
    }

    /// Negative ELBO on up to `max_images` test images.
    pub(crate) async fn evaluate(&mut self, max_images: usize) -> Result<Metrics, BackendError> {
        match self {
            Engine::Gpu(t) => t.evaluate(max_images).await,
            Engine::Cpu(t) => t.evaluate(max_images).await,
        }
    }

    /// `n` samples from the prior.
    pub(crate) async fn sample(
        &mut self,
        n: usize,
        seed: u32,
        stream: u32,
    ) -> Result<Vec<f32>, BackendError> {
        match self {
            Engine::Gpu(t) => t.sample(n, seed, stream).await,
            Engine::Cpu(t) => t.sample(n, seed, stream).await,
        }
    }

    /// Pixel probabilities decoded from codes.
    pub(crate) async fn decode(&mut self, z: &[f32]) -> Result<Vec<f32>, BackendError> {
        match self {
            Engine::Gpu(t) => t.decode(z).await,
            Engine::Cpu(t) => t.decode(z).await,
        }
    }

    /// Reconstructions of test images.
    pub(crate) async fn reconstruct(&mut self, indices: &[u32]) -> Result<Vec<f32>, BackendError> {
        match self {
            Engine::Gpu(t) => t.reconstruct(indices).await,
            Engine::Cpu(t) => t.reconstruct(indices).await,
        }
    }

    /// Means of q(z|x) for test images.
    pub(crate) async fn encode_test(&mut self, indices: &[u32]) -> Result<Vec<f32>, BackendError> {
        match self {
            Engine::Gpu(t) => t.encode_test(indices).await,
            Engine::Cpu(t) => t.encode_test(indices).await,
        }
    }

    /// Means of q(z|x) for raw images.
    pub(crate) async fn encode_pixels(&mut self, pixels: &[u8]) -> Result<Vec<f32>, BackendError> {
        match self {
            Engine::Gpu(t) => t.encode_pixels(pixels).await,
            Engine::Cpu(t) => t.encode_pixels(pixels).await,
        }
    }

    /// A grid decoded over two dims' quantiles.
    pub(crate) async fn latent_grid(
        &mut self,
        size: usize,
        dx: usize,
        dy: usize,
    ) -> Result<Vec<f32>, BackendError> {
        match self {
            Engine::Gpu(t) => t.latent_grid(size, dx, dy).await,
            Engine::Cpu(t) => t.latent_grid(size, dx, dy).await,
        }
    }

    /// Test images as they were set.
    pub(crate) async fn test_pixels(&mut self, indices: &[u32]) -> Result<Vec<u8>, BackendError> {
        match self {
            Engine::Gpu(t) => t.test_pixels(indices).await,
            Engine::Cpu(t) => t.test_pixels(indices).await,
        }
    }

    /// The model as checkpoint bytes.
    pub(crate) async fn checkpoint_bytes(&mut self) -> Result<Vec<u8>, Error> {
        match self {
            Engine::Gpu(t) => resume::checkpoint_bytes(t.as_mut()).await,
            Engine::Cpu(t) => resume::checkpoint_bytes(t.as_mut()).await,
        }
    }

    /// `Explorer::scatter`.
    pub(crate) async fn scatter(
        &mut self,
        n: usize,
        spec: PlaneSpec,
    ) -> Result<Scatter, ExploreError> {
        match self {
            Engine::Gpu(t) => Explorer::new(t).scatter(n, spec).await,
            Engine::Cpu(t) => Explorer::new(t).scatter(n, spec).await,
        }
    }

    /// `Explorer::plane_grid`.
    pub(crate) async fn plane_grid(
        &mut self,
        plane: &Plane,
        size: usize,
        spacing: Spacing,
        lo: f32,
        hi: f32,
    ) -> Result<(Vec<f32>, Vec<f32>), ExploreError> {
        match self {
            Engine::Gpu(t) => {
                Explorer::new(t)
                    .plane_grid(plane, size, spacing, lo, hi)
                    .await
            }
            Engine::Cpu(t) => {
                Explorer::new(t)
                    .plane_grid(plane, size, spacing, lo, hi)
                    .await
            }
        }
    }

    /// `Explorer::decode_plane`.
    pub(crate) async fn decode_plane(
        &mut self,
        plane: &Plane,
        points: &[f32],
    ) -> Result<Vec<f32>, ExploreError> {
        match self {
            Engine::Gpu(t) => Explorer::new(t).decode_plane(plane, points).await,
            Engine::Cpu(t) => Explorer::new(t).decode_plane(plane, points).await,
        }
    }

    /// `Explorer::reconstruct_values`.
    pub(crate) async fn reconstruct_values(&mut self, x: &[f32]) -> Result<Vec<f32>, ExploreError> {
        match self {
            Engine::Gpu(t) => Explorer::new(t).reconstruct_values(x).await,
            Engine::Cpu(t) => Explorer::new(t).reconstruct_values(x).await,
        }
    }

    /// `Explorer::interpolate`.
    pub(crate) async fn interpolate(
        &mut self,
        a: &[f32],
        b: &[f32],
        steps: usize,
        slerp: bool,
    ) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>), ExploreError> {
        match self {
            Engine::Gpu(t) => Explorer::new(t).interpolate(a, b, steps, slerp).await,
            Engine::Cpu(t) => Explorer::new(t).interpolate(a, b, steps, slerp).await,
        }
    }

    /// `Explorer::test_image`.
    pub(crate) async fn test_image(&mut self, index: usize) -> Result<Vec<f32>, ExploreError> {
        match self {
            Engine::Gpu(t) => Explorer::new(t).test_image(index).await,
            Engine::Cpu(t) => Explorer::new(t).test_image(index).await,
        }
    }

    /// `Explorer::inpaint`.
    pub(crate) async fn inpaint(
        &mut self,
        original: Vec<f32>,
        damage: Damage,
        iters: usize,
        brush: Option<&[u8]>,
    ) -> Result<Inpainting, ExploreError> {
        match self {
            Engine::Gpu(t) => {
                Explorer::new(t)
                    .inpaint(original, damage, iters, brush)
                    .await
            }
            Engine::Cpu(t) => {
                Explorer::new(t)
                    .inpaint(original, damage, iters, brush)
                    .await
            }
        }
    }

    /// `Explorer::kl_per_dim`.
    pub(crate) async fn kl_per_dim(&mut self, n: usize) -> Result<DimKl, ExploreError> {
        match self {
            Engine::Gpu(t) => Explorer::new(t).kl_per_dim(n).await,
            Engine::Cpu(t) => Explorer::new(t).kl_per_dim(n).await,
        }
    }

    /// `Explorer::traverse`.
    pub(crate) async fn traverse(
        &mut self,
        code: &[f32],
        dims: &[u32],
        steps: usize,
        range: f32,
    ) -> Result<(Vec<f32>, Vec<f32>), ExploreError> {
        match self {
            Engine::Gpu(t) => Explorer::new(t).traverse(code, dims, steps, range).await,
            Engine::Cpu(t) => Explorer::new(t).traverse(code, dims, steps, range).await,
        }
    }

    /// `Explorer::evaluate_range`.
    pub(crate) async fn evaluate_range(
        &mut self,
        first: usize,
        count: usize,
    ) -> Result<RangeSums, ExploreError> {
        match self {
            Engine::Gpu(t) => Explorer::new(t).evaluate_range(first, count).await,
            Engine::Cpu(t) => Explorer::new(t).evaluate_range(first, count).await,
        }
    }

    /// `Explorer::importance_bound`.
    pub(crate) async fn importance_bound(
        &mut self,
        k: usize,
        first: usize,
        count: usize,
    ) -> Result<BoundSums, ExploreError> {
        match self {
            Engine::Gpu(t) => Explorer::new(t).importance_bound(k, first, count).await,
            Engine::Cpu(t) => Explorer::new(t).importance_bound(k, first, count).await,
        }
    }
}
