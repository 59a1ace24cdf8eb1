//! GFLOP/s of the convolution ops beside the plain matmul of the same GEMM
//! shape, on one backend: `cargo run --release --example conv_bench [gpu|cpu]`.
//! The shapes are the `conv` preset's layers at batch 128. Each op is timed
//! over repeated calls after a warm-up; the final read waits for the device.
//! One JSON line per measurement on stdout.

use std::time::Instant;
use vae_playground::backend::{Backend, Conv2dShape, Matmul};
use vae_playground::cpu::CpuBackend;
use vae_playground::gpu::GpuBackend;

fn time<B: Backend>(
    be: &mut B,
    probe: vae_playground::backend::View,
    mut op: impl FnMut(&mut B),
) -> f64 {
    op(be);
    pollster::block_on(be.read(probe.slice(0, 1))).unwrap();
    let reps = 10;
    let start = Instant::now();
    for _ in 0..reps {
        op(be);
        be.flush();
        be.pace();
    }
    pollster::block_on(be.read(probe.slice(0, 1))).unwrap();
    start.elapsed().as_secs_f64() / reps as f64
}

fn run<B: Backend>(mut be: B) {
    let adapter = be.describe();
    let g = |ci, size, co| Conv2dShape {
        batch: 128,
        in_channels: ci,
        in_size: [size, size],
        out_channels: co,
        kernel: [4, 4],
        stride: [2, 2],
        padding: [1, 1],
    };
    let layers = [
        ("conv1 1->32 28x28", g(1, 28, 32)),
        ("conv2 32->64 14x14", g(32, 14, 64)),
    ];
    for (name, s) in layers {
        let x = be.alloc(s.batch * s.in_len(), "x");
        let w = be.alloc(s.weight_len(), "w");
        let y = be.alloc(s.batch * s.out_len(), "y");
        be.fill(x, 0.5);
        be.fill(w, 0.25);
        be.fill(y, 0.125);
        let flops = s.flops();
        let (k, n, co) = (s.patch_len(), s.batch * s.out_positions(), s.out_channels);
        let report = |op: &str, secs: f64| {
            println!(
                "{{\"op\":\"{op}\",\"layer\":\"{name}\",\"adapter\":\"{adapter}\",\"ms\":{:.3},\"gflops\":{:.2}}}",
                secs * 1e3,
                flops / secs / 1e9
            );
        };
        report(
            "conv2d_forward",
            time(&mut be, y, |be| be.conv2d_forward(x, w, y, s)),
        );
        report(
            "conv2d_backward_data",
            time(&mut be, x, |be| be.conv2d_backward_data(y, w, x, s)),
        );
        report(
            "conv2d_backward_weights",
            time(&mut be, w, |be| be.conv2d_backward_weights(x, y, w, s)),
        );
        // The forward's GEMM alone: [Co, K] x [K, N] on buffers of those sizes.
        let a = be.alloc(co * k, "a");
        let b = be.alloc(k * n, "b");
        let c = be.alloc(co * n, "c");
        let spec = Matmul {
            m: co,
            n,
            k,
            trans_a: false,
            trans_b: false,
            accumulate: false,
        };
        report(
            "matmul same GEMM",
            time(&mut be, c, |be| be.matmul(a, b, c, spec)),
        );
        for v in [x, w, y, a, b, c] {
            be.free(v);
        }
    }
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("cpu") => run(CpuBackend::new()),
        _ => run(GpuBackend::new_blocking().expect("a GPU adapter")),
    }
}
