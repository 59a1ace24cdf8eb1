//! Helpers shared by the integration tests (each test binary uses a subset):
//! CPU buffers and finite differences here, the GPU harness in `gpu`, the
//! `vae` binary in `cli`.
#![allow(dead_code)]

pub mod cli;
pub mod fuzz;
pub mod gpu;

use pollster::block_on;
use vae_playground::backend::{Backend, Conv2dShape, ConvTranspose2dShape, Noise, View};
use vae_playground::config::VaeConfig;
use vae_playground::cpu::CpuBackend;
use vae_playground::vae::Vae;

pub fn upload(be: &mut CpuBackend, data: &[f32]) -> View {
    let v = be.alloc(data.len(), "test");
    be.write(v, data);
    v
}

pub fn read(be: &mut CpuBackend, v: View) -> Vec<f32> {
    block_on(be.read(v)).unwrap()
}

/// `sum(w * y)` as f64, the scalar a check differentiates.
pub fn dot(w: &[f32], y: &[f32]) -> f64 {
    w.iter().zip(y).map(|(&a, &b)| a as f64 * b as f64).sum()
}

/// Compares `analytic` with central differences of `loss` around `x`, every
/// element, in f64 for the difference itself: `|fd - analytic| <= atol +
/// rtol * |fd|`, with a finite `fd` (an infinite one would pass any bound).
pub fn check_fd(
    name: &str,
    x: &[f32],
    analytic: &[f32],
    loss: &mut dyn FnMut(&[f32]) -> f64,
    h: f32,
    atol: f64,
    rtol: f64,
) {
    assert_eq!(x.len(), analytic.len());
    for i in 0..x.len() {
        let mut xp = x.to_vec();
        xp[i] += h;
        let lp = loss(&xp);
        xp[i] -= 2.0 * h;
        let lm = loss(&xp);
        let fd = (lp - lm) / (2.0 * h as f64);
        let err = (fd - analytic[i] as f64).abs();
        assert!(
            fd.is_finite() && err <= atol + rtol * fd.abs(),
            "{name}[{i}]: analytic {} vs finite difference {fd} (err {err})",
            analytic[i]
        );
    }
}

/// A `Conv2dShape` from its fields in order: batch, in channels, `[H, W]`,
/// out channels, kernel, stride, padding.
pub fn conv(
    batch: usize,
    in_channels: usize,
    in_size: [usize; 2],
    out_channels: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Conv2dShape {
    Conv2dShape {
        batch,
        in_channels,
        in_size,
        out_channels,
        kernel,
        stride,
        padding,
    }
}

/// A `ConvTranspose2dShape` likewise, output padding last.
#[allow(clippy::too_many_arguments)]
pub fn deconv(
    batch: usize,
    in_channels: usize,
    in_size: [usize; 2],
    out_channels: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    output_padding: [usize; 2],
) -> ConvTranspose2dShape {
    ConvTranspose2dShape {
        batch,
        in_channels,
        in_size,
        out_channels,
        kernel,
        stride,
        padding,
        output_padding,
    }
}

/// The whole model's gradient (`Vae::backward` into the flat gradient buffer)
/// against central differences of `mean_r(recon_r + beta * kl_r)` over the
/// parameters, for `config.batch` rows of `images`, with fixed `noise`.
/// About `picks` parameters of every tensor are checked (all would be slow).
/// The loss is an f32 sum over every pixel, so h = 1e-2 and a 2% tolerance.
pub fn assert_model_gradient_matches_fd(
    config: VaeConfig,
    images: &[f32],
    noise: Noise,
    picks: usize,
) {
    let rows = config.batch;
    let beta = config.beta as f64;
    let mut be = CpuBackend::new();
    let vae = Vae::new(&mut be, config).unwrap();
    be.write(vae.x, images);
    let p0 = read(&mut be, vae.flat.params);
    let loss_at = |p: &[f32], be: &mut CpuBackend| {
        be.write(vae.flat.params, p);
        vae.forward_loss(be, rows, noise);
        let (r, k) = (read(be, vae.recon), read(be, vae.kl));
        (0..rows)
            .map(|i| r[i] as f64 + beta * k[i] as f64)
            .sum::<f64>()
            / rows as f64
    };
    loss_at(&p0, &mut be);
    be.fill(vae.flat.grads, 0.0);
    vae.backward(&mut be, rows);
    let grads = read(&mut be, vae.flat.grads);
    for entry in &vae.table.entries {
        let chosen: Vec<usize> = (0..entry.len())
            .step_by((entry.len() / picks).max(1))
            .map(|j| entry.offset + j)
            .collect();
        for i in chosen {
            let mut p = p0.clone();
            p[i] += 1e-2;
            let lp = loss_at(&p, &mut be);
            p[i] -= 2e-2;
            let lm = loss_at(&p, &mut be);
            let fd = (lp - lm) / 2e-2;
            let err = (fd - grads[i] as f64).abs();
            assert!(
                err <= 2e-3 + 2e-2 * fd.abs(),
                "{} [{}]: analytic {} vs fd {fd}",
                entry.name,
                i - entry.offset,
                grads[i]
            );
        }
    }
}
