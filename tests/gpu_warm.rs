//! `GpuBackend::warm_pipelines` (issue 11, item 4: the page creates the
//! pipelines while the data downloads): after it, a training step, the
//! metrics readback and every view of the page create no pipeline, and the
//! model, the live buffers and the bytes on the device are as before.

mod common;

use common::gpu::new_gpu;
use pollster::block_on;
use vae_playground::backend::Backend;
use vae_playground::config::VaeConfig;
use vae_playground::train::Trainer;

fn warm_then_train(preset: &str, batch: usize) {
    let mut config = VaeConfig::preset(preset).unwrap();
    config.batch = batch;
    let mut t = Trainer::new(new_gpu(), config.clone()).unwrap();
    let params = block_on(t.read_params()).unwrap();
    let memory = format!("{:?}", t.be.memory());
    let created = block_on(t.be.warm_pipelines(&config)).unwrap();
    assert!(created >= 8, "{preset}: only {created} pipelines created");
    assert_eq!(
        block_on(t.read_params()).unwrap(),
        params,
        "{preset}: warming changed the model"
    );
    assert_eq!(
        format!("{:?}", t.be.memory()),
        memory,
        "{preset}: warming left buffers behind"
    );
    let pipelines = t.be.cache_sizes().pipelines;

    // Awkward counts: a short last batch, 21 test images.
    let dim = config.image.dim();
    let n = 2 * batch + 3;
    let pixels: Vec<u8> = (0..n * dim).map(|i| (i * 37 % 256) as u8).collect();
    t.set_train_images(&pixels, n);
    t.set_test_images(&pixels[..21 * dim], 21);
    for _ in 0..4 {
        t.step();
    }
    let m = block_on(t.checked_metrics()).unwrap().unwrap();
    assert!(m.loss.is_finite(), "{preset}: loss {}", m.loss);
    let seed = config.seed;
    block_on(t.sample(64, seed, 1)).unwrap();
    block_on(t.latent_grid(15, 0, 1)).unwrap();
    block_on(t.reconstruct(&[3, 2, 1, 18, 4, 8, 11, 0])).unwrap();
    block_on(t.evaluate(21)).unwrap();
    assert_eq!(
        t.be.cache_sizes().pipelines,
        pipelines,
        "{preset}: a step or a view created a pipeline that warm_pipelines missed"
    );
}

#[test]
fn warm_pipelines_covers_mlp() {
    warm_then_train("mlp", 32);
}

#[test]
fn warm_pipelines_covers_conv() {
    warm_then_train("conv", 8);
}

/// The probe of `backend="auto"` trains a throwaway model: the real one, its
/// buffers and its step count stay as they were, on both backends.
#[test]
fn probe_leaves_the_model_alone() {
    use vae_playground::cpu::CpuBackend;
    use vae_playground::probe::probe_steps;
    let mut config = VaeConfig::preset("mlp").unwrap();
    config.batch = 16;
    let mut g = Trainer::new(new_gpu(), config.clone()).unwrap();
    let mut c = Trainer::new(CpuBackend::new(), config.clone()).unwrap();
    let params = block_on(g.read_params()).unwrap();
    assert_eq!(block_on(c.read_params()).unwrap(), params);
    let (gm, cm) = (
        format!("{:?}", g.be.memory()),
        format!("{:?}", c.be.memory()),
    );
    let gl = block_on(probe_steps(&mut g.be, &config, 3)).unwrap();
    let cl = block_on(probe_steps(&mut c.be, &config, 3)).unwrap();
    assert!(gl.is_finite() && gl > 0.0, "GPU probe loss {gl}");
    assert!(
        (gl - cl).abs() <= 1e-3 * cl,
        "the probe trains the same on both backends: {gl} vs {cl}"
    );
    assert_eq!(
        block_on(g.read_params()).unwrap(),
        params,
        "the GPU probe changed the model"
    );
    assert_eq!(
        block_on(c.read_params()).unwrap(),
        params,
        "the CPU probe changed the model"
    );
    assert_eq!(format!("{:?}", g.be.memory()), gm);
    assert_eq!(format!("{:?}", c.be.memory()), cm);
    assert_eq!((g.step, c.step), (0, 0));
}
