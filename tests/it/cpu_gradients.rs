//! Every CPU op's backward pass against central finite differences, and the
//! whole model's gradient likewise. The CPU backend is the oracle for the GPU
//! kernels, so its gradients are checked from first principles here.

use crate::common::{check_fd, dot, read, upload};
use vae_playground::backend::{Activation, Backend, Noise, Recon, LOGVAR_MAX, LOGVAR_MIN};
use vae_playground::config::VaeConfig;
use vae_playground::cpu::CpuBackend;
use vae_playground::nn::Dense;
use vae_playground::rng;

/// Deterministic test values in [-scale, scale).
fn values(n: usize, seed: u32, scale: f32) -> Vec<f32> {
    (0..n as u32)
        .map(|i| scale * (2.0 * rng::uniform(seed, 99, i) - 1.0))
        .collect()
}

#[test]
fn dense_backward_matches_finite_differences() {
    let (rows, input, out) = (3, 7, 5);
    let mut be = CpuBackend::new();
    let x0 = values(rows * input, 1, 1.0);
    let w0 = values(out * input, 2, 0.5);
    let b0 = values(out, 3, 0.5);
    let upstream = values(rows * out, 4, 1.0);
    let layer = |be: &mut CpuBackend, w: &[f32], b: &[f32]| Dense {
        in_features: input,
        out_features: out,
        weight: upload(be, w),
        bias: upload(be, b),
        dweight: upload(be, &vec![0.0; w.len()]),
        dbias: upload(be, &vec![0.0; b.len()]),
    };
    let forward = |x: &[f32], w: &[f32], b: &[f32]| {
        let mut be = CpuBackend::new();
        let l = layer(&mut be, w, b);
        let xv = upload(&mut be, x);
        let y = be.alloc(rows * out, "y");
        l.forward(&mut be, xv, y, rows);
        dot(&upstream, &read(&mut be, y))
    };
    let l = layer(&mut be, &w0, &b0);
    let xv = upload(&mut be, &x0);
    let y = be.alloc(rows * out, "y");
    l.forward(&mut be, xv, y, rows);
    let dy = upload(&mut be, &upstream);
    let dx = be.alloc(rows * input, "dx");
    l.backward(&mut be, xv, dy, Some(dx), rows);
    let (dx, dw, db) = (
        read(&mut be, dx),
        read(&mut be, l.dweight),
        read(&mut be, l.dbias),
    );
    check_fd(
        "dense dx",
        &x0,
        &dx,
        &mut |x| forward(x, &w0, &b0),
        1e-2,
        1e-3,
        1e-3,
    );
    check_fd(
        "dense dW",
        &w0,
        &dw,
        &mut |w| forward(&x0, w, &b0),
        1e-2,
        1e-3,
        1e-3,
    );
    check_fd(
        "dense db",
        &b0,
        &db,
        &mut |b| forward(&x0, &w0, b),
        1e-2,
        1e-3,
        1e-3,
    );
}

#[test]
fn activation_backward_matches_finite_differences() {
    // Keep inputs away from ReLU's kink so the difference quotient is exact there.
    let x0: Vec<f32> = values(40, 5, 3.0)
        .into_iter()
        .map(|v| if v.abs() < 0.05 { v + 0.1 } else { v })
        .collect();
    let upstream = values(40, 6, 1.0);
    for act in [
        Activation::Identity,
        Activation::Relu,
        Activation::LeakyRelu,
        Activation::Sigmoid,
        Activation::Tanh,
    ] {
        let mut be = CpuBackend::new();
        let xv = upload(&mut be, &x0);
        let y = be.alloc(40, "y");
        be.activation(act, xv, y);
        let dy = upload(&mut be, &upstream);
        let dx = be.alloc(40, "dx");
        be.activation_backward(act, xv, y, dy, dx);
        let dx = read(&mut be, dx);
        let mut loss = |x: &[f32]| {
            let mut be = CpuBackend::new();
            let xv = upload(&mut be, x);
            let y = be.alloc(40, "y");
            be.activation(act, xv, y);
            dot(&upstream, &read(&mut be, y))
        };
        check_fd(&format!("{act:?}"), &x0, &dx, &mut loss, 1e-3, 1e-3, 1e-3);
    }
}

#[test]
fn recon_loss_gradient_matches_finite_differences() {
    let (rows, cols) = (2, 9);
    // Logits include large magnitudes: the stable BCE must stay exact there.
    let mut s0 = values(rows * cols, 7, 4.0);
    s0[0] = 30.0;
    s0[1] = -30.0;
    let x0 = values(rows * cols, 8, 0.5)
        .into_iter()
        .map(|v| v + 0.5)
        .collect::<Vec<_>>();
    for kind in [Recon::Bce, Recon::Gaussian] {
        let run = |s: &[f32]| {
            let mut be = CpuBackend::new();
            let (sv, xv) = (upload(&mut be, s), upload(&mut be, &x0));
            let ds = be.alloc(rows * cols, "ds");
            let loss = be.alloc(rows, "loss");
            be.recon_loss(kind, sv, xv, ds, loss, rows, cols, 1.0);
            (read(&mut be, loss), read(&mut be, ds))
        };
        let (loss, ds) = run(&s0);
        assert!(loss.iter().all(|l| l.is_finite()), "{kind:?} loss {loss:?}");
        check_fd(
            &format!("{kind:?}"),
            &s0,
            &ds,
            &mut |s| run(s).0.iter().map(|&l| l as f64).sum(),
            1e-2,
            1e-3,
            2e-3,
        );
    }
}

#[test]
fn reparam_and_kl_gradient_matches_finite_differences() {
    check_reparam_fd(&values(3 * 4, 10, 1.0));
}

/// Log-variances below the clamp's floor LOGVAR_MIN: the loss does not move
/// with them and their gradient is zero (finite differences agree).
#[test]
fn reparam_gradient_is_zero_below_the_logvar_clamp() {
    assert_eq!((LOGVAR_MIN, LOGVAR_MAX), (-30.0, 20.0));
    let low = [-45.0f32, -31.0, -30.5, -1e4];
    let mut lv = values(3 * 4, 10, 1.0);
    for (i, &v) in low.iter().enumerate() {
        lv[3 * i] = v;
    }
    let dlv = check_reparam_fd(&lv);
    for (i, v) in low.iter().enumerate() {
        assert_eq!(dlv[3 * i], 0.0, "dlogvar at logvar {v}");
    }
}

/// Log-variances above the ceiling LOGVAR_MAX act as LOGVAR_MAX in the
/// forward pass (finite z and kl, even at +inf) and get a zero gradient.
/// (Finite differences cannot resolve a change of 1e-2 next to exp(20) in
/// f32, so this is checked against the clamped values directly.)
#[test]
fn reparam_treats_logvar_above_the_clamp_as_the_ceiling() {
    let (rows, zdim) = (2, 3);
    let noise = Noise { seed: 5, stream: 6 };
    let mu = values(rows * zdim, 1, 1.0);
    let dz_values = values(rows * zdim, 2, 1.0);
    let run = |lv: &[f32]| {
        let mut be = CpuBackend::new();
        let (m, l) = (upload(&mut be, &mu), upload(&mut be, lv));
        let [eps, z, dz, dmu, dlv] = [0; 5].map(|_| be.alloc(rows * zdim, "t"));
        let kl = be.alloc(rows, "kl");
        be.reparam_forward(m, l, eps, z, kl, rows, zdim, noise);
        be.write(dz, &dz_values);
        be.reparam_backward(m, l, eps, dz, dmu, dlv, 0.5);
        (read(&mut be, z), read(&mut be, kl), read(&mut be, dlv))
    };
    let high = [21.0, 60.0, 400.0, f32::INFINITY, 20.5, 1e30];
    let (z, kl, dlv) = run(&high);
    let (z_ceiling, kl_ceiling, _) = run(&[LOGVAR_MAX; 6]);
    assert_eq!(z, z_ceiling);
    assert_eq!(kl, kl_ceiling);
    assert!(z.iter().chain(&kl).all(|v| v.is_finite()), "{z:?} {kl:?}");
    assert_eq!(dlv, vec![0.0; 6]);
}

/// Checks dmu and dlogvar of `L = sum(w * z) + kl_weight * sum(kl)` against
/// finite differences at `lv0`; returns dlogvar.
fn check_reparam_fd(lv0: &[f32]) -> Vec<f32> {
    let (rows, zdim) = (3, 4);
    let noise = Noise {
        seed: 11,
        stream: 12,
    };
    let mu0 = values(rows * zdim, 9, 1.0);
    let upstream = values(rows * zdim, 11, 1.0);
    let kl_weight = 0.7f32;
    // L = sum(w * z) + kl_weight * sum(kl): reparam_backward with kl_scale = kl_weight.
    let run = |mu: &[f32], lv: &[f32]| {
        let mut be = CpuBackend::new();
        let (m, l) = (upload(&mut be, mu), upload(&mut be, lv));
        let [eps, z] = [0, 1].map(|_| be.alloc(rows * zdim, "t"));
        let kl = be.alloc(rows, "kl");
        be.reparam_forward(m, l, eps, z, kl, rows, zdim, noise);
        let loss = dot(&upstream, &read(&mut be, z))
            + kl_weight as f64 * read(&mut be, kl).iter().map(|&v| v as f64).sum::<f64>();
        let dz = upload(&mut be, &upstream);
        let [dmu, dlv] = [0, 1].map(|_| be.alloc(rows * zdim, "d"));
        be.reparam_backward(m, l, eps, dz, dmu, dlv, kl_weight);
        (loss, read(&mut be, dmu), read(&mut be, dlv))
    };
    let (loss, dmu, dlv) = run(&mu0, lv0);
    assert!(loss.is_finite(), "loss {loss}");
    check_fd("dmu", &mu0, &dmu, &mut |m| run(m, lv0).0, 1e-2, 1e-3, 1e-3);
    check_fd(
        "dlogvar",
        lv0,
        &dlv,
        &mut |l| run(&mu0, l).0,
        1e-2,
        1e-3,
        1e-3,
    );
    dlv
}

#[test]
fn whole_model_gradient_matches_finite_differences() {
    // A small VAE (MNIST-shaped input, narrow layers) in f32: the loss is a
    // sum over 784 pixels, so differences use h = 1e-2 and a 2% tolerance.
    let mut config = VaeConfig::preset("mlp-small").unwrap();
    config.encoder = vec![vae_playground::config::LayerSpec::Dense {
        out: 6,
        act: Activation::Tanh,
    }];
    config.decoder = vec![
        vae_playground::config::LayerSpec::Dense {
            out: 5,
            act: Activation::LeakyRelu,
        },
        vae_playground::config::LayerSpec::Dense {
            out: 784,
            act: Activation::Identity,
        },
    ];
    config.latent = 3;
    config.batch = 2;
    config.beta = 2.5;
    let images: Vec<f32> = values(2 * 784, 12, 0.5)
        .into_iter()
        .map(|v| v + 0.5)
        .collect();
    crate::common::assert_model_gradient_matches_fd(
        config,
        &images,
        Noise { seed: 3, stream: 4 },
        4,
    );
}

#[test]
fn adam_follows_pytorch_update() {
    let mut be = CpuBackend::new();
    let p0 = values(5, 13, 1.0);
    let g = values(5, 14, 1.0);
    let (p, gv) = (upload(&mut be, &p0), upload(&mut be, &g));
    let (m, v) = (be.alloc(5, "m"), be.alloc(5, "v"));
    let step = |t| vae_playground::backend::AdamStep {
        lr: 0.01,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        t,
    };
    be.adam(p, gv, m, v, step(1));
    be.adam(p, gv, m, v, step(2));
    let got = read(&mut be, p);
    for i in 0..5 {
        // Reference in f64 after two steps with the same gradient.
        let (mut pm, mut mm, mut vv) = (p0[i] as f64, 0.0f64, 0.0f64);
        for t in 1..=2 {
            let gi = g[i] as f64;
            mm = 0.9 * mm + 0.1 * gi;
            vv = 0.999 * vv + 0.001 * gi * gi;
            let mhat = mm / (1.0 - 0.9f64.powi(t));
            let vhat = vv / (1.0 - 0.999f64.powi(t));
            pm -= 0.01 * mhat / (vhat.sqrt() + 1e-8);
        }
        assert!(
            (got[i] as f64 - pm).abs() < 1e-6,
            "adam[{i}]: {} vs {pm}",
            got[i]
        );
    }
}
