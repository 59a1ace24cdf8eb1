//! `GpuBackend::warm_pipelines` (the page creates the
//! pipelines while the data downloads): after it, a training step, the
//! metrics readback and every view of the page create no pipeline, and the
//! model trains to the same bits with the same live buffers as without it.

use crate::common::gpu::new_gpu;
use pollster::block_on;
use vae_playground::backend::Backend;
use vae_playground::config::VaeConfig;
use vae_playground::train::Trainer;

/// Live buffers and bytes (not the table's high-water mark: a throwaway model
/// briefly doubles it).
fn live(be: &impl Backend) -> (usize, u64) {
    let m = be.memory();
    (m.buffers, m.bytes)
}

/// A fresh model of `preset`, warmed or not, then four steps, the metrics
/// readback and every view of the page. Returns the parameters after, the
/// live buffers and bytes, and the pipelines created by the training and views.
fn train(preset: &str, batch: usize, warm: bool) -> (Vec<f32>, (usize, u64), usize) {
    let mut config = VaeConfig::preset(preset).unwrap();
    config.batch = batch;
    let mut t = Trainer::new(new_gpu(), config.clone()).unwrap();
    if warm {
        let params = block_on(t.read_params()).unwrap();
        let created = block_on(t.be.warm_pipelines(&config)).unwrap();
        assert!(created >= 8, "{preset}: only {created} pipelines created");
        eprintln!("{preset}: warm_pipelines created {created} pipelines");
        assert_eq!(
            block_on(t.read_params()).unwrap(),
            params,
            "{preset}: warming changed the model"
        );
    }
    let pipelines = t.be.cache_sizes().pipelines;

    // Awkward counts: a short last batch (batches of 8 and 32 do not divide it), 21 test images.
    let dim = config.image.dim();
    let n = 2 * batch + 23;
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
    let created = t.be.cache_sizes().pipelines - pipelines;
    (block_on(t.read_params()).unwrap(), live(&t.be), created)
}

/// Warmed: training and the views create no pipeline, and the model trains
/// to the same bits with the same buffers as one that was not warmed.
fn warm_then_train(preset: &str, batch: usize) {
    let (warm_params, warm_live, created) = train(preset, batch, true);
    assert_eq!(
        created, 0,
        "{preset}: a step or a view created {created} pipelines that warm_pipelines missed"
    );
    let (cold_params, cold_live, cold_created) = train(preset, batch, false);
    assert!(
        cold_created >= 8,
        "{preset}: without warming, training created {cold_created} pipelines"
    );
    assert_eq!(
        warm_live, cold_live,
        "{preset}: live buffers and bytes, warmed vs not"
    );
    assert!(
        warm_params == cold_params,
        "{preset}: the warmed model trained differently"
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
    let (gm, cm) = (live(&g.be), live(&c.be));
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
    assert_eq!(live(&g.be), gm, "the GPU probe left buffers behind");
    assert_eq!(live(&c.be), cm, "the CPU probe left buffers behind");
    assert_eq!((g.step, c.step), (0, 0));
}
