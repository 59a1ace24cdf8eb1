//! The `cifar` preset (32x32x3, Gaussian reconstruction) on a small synthetic
//! colour data set made here: it learns on the CPU, and a few training steps
//! agree between the GPU and the CPU.

use crate::common::gpu::{assert_steps_agree, new_gpu};
use pollster::block_on;
use vae_playground::backend::Backend;
use vae_playground::config::{ImageShape, VaeConfig};
use vae_playground::cpu::CpuBackend;
use vae_playground::data::synthetic::colour_blobs;
use vae_playground::gpu::KernelShape;
use vae_playground::train::Trainer;

fn trainer<B: Backend>(be: B, config: VaeConfig) -> Trainer<B> {
    assert_eq!(config.image, ImageShape::CIFAR);
    let train = colour_blobs(config.image, 512, 1);
    let test = colour_blobs(config.image, 128, 2);
    let mut t = Trainer::new(be, config).unwrap();
    t.set_train_images(&train.pixels, train.count);
    t.set_test_images(&test.pixels, test.count);
    t
}

#[test]
fn cifar_preset_learns_synthetic_colour_images() {
    let mut config = VaeConfig::preset("cifar").unwrap();
    config.batch = 32;
    let mut t = trainer(CpuBackend::new(), config);
    let before = block_on(t.evaluate(usize::MAX)).unwrap();
    // 16 epochs of 512 images (256 steps): ~183 -> ~124 on 2026-11-22.
    for _ in 0..16 * t.steps_per_epoch() {
        t.step();
    }
    let after = block_on(t.evaluate(usize::MAX)).unwrap();
    eprintln!("cifar synthetic: before {before:?}\nafter {after:?}");
    assert_eq!(after.images, 128);
    assert!(after.loss.is_finite());
    assert!(
        after.loss < 0.8 * before.loss,
        "test loss {} -> {}: the conv VAE did not learn",
        before.loss,
        after.loss
    );
}

#[test]
fn cifar_steps_match_between_gpu_and_cpu() {
    let mut config = VaeConfig::preset("cifar").unwrap();
    config.batch = 4;
    // Both shapes of the product kernels, whatever the adapter would pick.
    for shape in KernelShape::ALL {
        eprintln!("kernel shape {shape:?}");
        let mut gpu = new_gpu();
        gpu.set_kernel_shape(shape);
        let mut g = trainer(gpu, config.clone());
        let mut c = trainer(CpuBackend::new(), config.clone());
        // See train_step_gpu_vs_cpu.rs: ReLU kinks within rounding of zero.
        assert_steps_agree(&mut g, &mut c, 3, 1e-4);
    }
}
