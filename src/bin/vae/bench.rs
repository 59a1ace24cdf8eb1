//! `vae bench`: training steps per second per preset and backend, or
//! (--kernels) the matmul and convolution kernels' GFLOP/s.

use std::path::PathBuf;
use std::time::Instant;

use crate::cli::{usage, BackendKind, Failure, OnBackend};
use crate::files::{data_dir, load_data, trainer_with_data};
use clap::Args;
use serde_json::json;
use vae_playground::backend::{Backend, Conv2dShape, Matmul, View};
use vae_playground::config::{ImageShape, VaeConfig, PRESETS};
use vae_playground::cpu::CpuBackend;
use vae_playground::data::{self, Mnist};
use vae_playground::gpu::GpuBackend;
use vae_playground::train::Trainer;

#[derive(Args)]
pub struct BenchArgs {
    /// Only this backend [default: cpu, then gpu]
    #[arg(long, value_enum)]
    backend: Option<BackendKind>,
    /// Timed training steps per preset (after 5 warm-up steps)
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    steps: u32,
    /// Only this preset [default: all; those not shaped like MNIST train on synthetic images]
    #[arg(long, value_name = "P")]
    preset: Option<String>,
    /// Directory of the four MNIST IDX files
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// GFLOP/s of the matmul and conv kernels instead of training steps
    #[arg(long)]
    kernels: bool,
    /// CPU only: milliseconds per step of each op and shape (where the time goes)
    #[arg(long, conflicts_with = "kernels")]
    ops: bool,
    /// GPU only: per training step, dispatches, clears, copies, bytes and
    /// uniform bytes recorded, GPU time (timestamp queries where offered)
    /// and each kernel's time
    #[arg(long, conflicts_with_all = ["kernels", "ops"])]
    profile: bool,
}

pub fn cmd_bench(args: BenchArgs) -> Result<(), Failure> {
    let backends = match args.backend {
        Some(kind) => vec![kind],
        None => vec![BackendKind::Cpu, BackendKind::Gpu],
    };
    if args.kernels {
        for &kind in &backends {
            kind.run(KernelBench(kind))?;
        }
        return Ok(());
    }
    if args.profile && args.backend == Some(BackendKind::Cpu) {
        return usage("--profile is GPU only (for the CPU backend, see --ops)");
    }
    let steps = args.steps as usize;
    let presets: Vec<&str> = match &args.preset {
        Some(p) => vec![p.as_str()],
        None => PRESETS.to_vec(),
    };
    let configs = presets
        .into_iter()
        .map(|p| VaeConfig::preset(p).or_else(|e| usage(e.0)))
        .collect::<Result<Vec<_>, _>>()?;
    let data = load_data(&data_dir(args.data))?;
    for config in configs {
        // Presets for other image shapes (cifar) train on synthetic images here.
        let synthetic;
        let data = if config.image == ImageShape::MNIST {
            &data
        } else {
            let images = |n, seed| data::synthetic::colour_blobs(config.image, n, seed);
            synthetic = Mnist {
                train: images(2048, 1),
                test: images(256, 2),
                train_labels: Vec::new(),
                test_labels: Vec::new(),
            };
            &synthetic
        };
        if args.ops {
            let be = crate::ops_profile::Timed::new(CpuBackend::new());
            crate::ops_profile::run(trainer_with_data(be, config.clone(), data)?, steps)?;
            continue;
        }
        if args.profile {
            let be = GpuBackend::new_blocking()?;
            crate::profile::run(trainer_with_data(be, config.clone(), data)?, steps)?;
            continue;
        }
        for &kind in &backends {
            kind.run(Bench {
                config: &config,
                data,
                kind,
                steps,
            })?;
        }
    }
    Ok(())
}

/// One preset's training steps timed on one backend.
struct Bench<'a> {
    config: &'a VaeConfig,
    data: &'a Mnist,
    kind: BackendKind,
    steps: usize,
}

impl OnBackend for Bench<'_> {
    type Output = ();
    fn run<B: Backend>(self, be: B) -> Result<(), Failure> {
        let t = trainer_with_data(be, self.config.clone(), self.data)?;
        bench(t, self.kind, self.steps)
    }
}

/// The kernels timed on one backend.
struct KernelBench(BackendKind);

impl OnBackend for KernelBench {
    type Output = ();
    fn run<B: Backend>(self, be: B) -> Result<(), Failure> {
        kernel_bench(be, self.0)
    }
}

/// Times `steps` training steps after a warm-up; the final metrics read waits
/// for the device, so queued GPU work is inside the measurement.
fn bench<B: Backend>(mut t: Trainer<B>, kind: BackendKind, steps: usize) -> Result<(), Failure> {
    for _ in 0..5 {
        t.step();
    }
    pollster::block_on(t.take_metrics())?;
    let start = Instant::now();
    for _ in 0..steps {
        t.step();
    }
    let m = pollster::block_on(t.take_metrics())?;
    let secs = start.elapsed().as_secs_f64();
    let summary = json!({
        "preset": t.config().preset,
        "backend": kind.name(),
        "adapter": t.be.describe(),
        "batch": t.config().batch,
        "steps": steps,
        "images_per_sec": m.images as f64 / secs,
        "ms_per_step": secs * 1e3 / steps as f64,
    });
    println!("{summary}");
    Ok(())
}

/// Seconds per call of `op`, after one warm-up call; reading `probe` waits
/// for the device, so queued GPU work is inside the measurement.
fn time_op<B: Backend>(
    be: &mut B,
    probe: View,
    reps: usize,
    mut op: impl FnMut(&mut B),
) -> Result<f64, Failure> {
    op(be);
    pollster::block_on(be.read(probe.slice(0, 1)))?;
    let start = Instant::now();
    for _ in 0..reps {
        op(be);
        be.flush();
        be.pace();
    }
    pollster::block_on(be.read(probe.slice(0, 1)))?;
    Ok(start.elapsed().as_secs_f64() / reps as f64)
}

/// GFLOP/s of the matrix products an `mlp` step runs, then of the `conv`
/// preset's convolutions beside a plain matmul of the same GEMM shape.
fn kernel_bench<B: Backend>(mut be: B, kind: BackendKind) -> Result<(), Failure> {
    let adapter = be.describe();
    let report = |kernel: &str, shape: &str, flops: f64, secs: f64| {
        let gflops = flops / secs / 1e9;
        println!(
            "{}",
            json!({ "kernel": kernel, "shape": shape, "backend": kind.name(), "adapter": adapter, "ms": secs * 1e3, "gflops": gflops })
        );
    };
    let matmuls = [
        ("forward 128x400x784", 128, 400, 784, false, true),
        ("backward_data 128x784x400", 128, 784, 400, false, false),
        ("backward_weights 400x784x128", 400, 784, 128, true, false),
        ("square 512x512x512", 512, 512, 512, false, false),
    ];
    for (name, m, n, k, trans_a, trans_b) in matmuls {
        let (a, b, c) = (
            be.alloc(m * k, "bench a"),
            be.alloc(k * n, "bench b"),
            be.alloc(m * n, "bench c"),
        );
        be.fill(a, 0.5);
        be.fill(b, 0.25);
        let spec = Matmul {
            m,
            n,
            k,
            trans_a,
            trans_b,
            accumulate: false,
        };
        let secs = time_op(&mut be, c, 20, |be| be.matmul(a, b, c, spec))?;
        let check = pollster::block_on(be.read(c.slice(0, 1)))?[0];
        if (check - 0.125 * k as f32).abs() > 1e-3 * k as f32 {
            return Err(Failure::Run(format!("matmul {name}: wrong result {check}")));
        }
        report("matmul", name, 2.0 * (m * n * k) as f64, secs);
        for v in [a, b, c] {
            be.free(v);
        }
    }
    let conv = |ci, size, co| Conv2dShape {
        batch: 128,
        in_channels: ci,
        in_size: [size, size],
        out_channels: co,
        kernel: [4, 4],
        stride: [2, 2],
        padding: [1, 1],
    };
    for (name, s) in [
        ("conv1 1->32 28x28", conv(1, 28, 32)),
        ("conv2 32->64 14x14", conv(32, 14, 64)),
    ] {
        let x = be.alloc(s.batch * s.in_len(), "bench x");
        let w = be.alloc(s.weight_len(), "bench w");
        let y = be.alloc(s.batch * s.out_len(), "bench y");
        for (v, value) in [(x, 0.5), (w, 0.25), (y, 0.125)] {
            be.fill(v, value);
        }
        let flops = s.flops();
        report(
            "conv2d_forward",
            name,
            flops,
            time_op(&mut be, y, 10, |be| {
                be.conv_forward(x, w, None, y, s.into(), None)
            })?,
        );
        report(
            "conv2d_backward_data",
            name,
            flops,
            time_op(&mut be, x, 10, |be| {
                be.conv_backward_data(y, w, x, s.into(), None)
            })?,
        );
        report(
            "conv2d_backward_weights",
            name,
            flops,
            time_op(&mut be, w, 10, |be| {
                be.conv_backward_weights(x, y, w, None, s.into())
            })?,
        );
        // The forward's GEMM alone: [Co, K] x [K, N].
        let (m, k, n) = (s.out_channels, s.patch_len(), s.batch * s.out_positions());
        let (a, b, c) = (
            be.alloc(m * k, "bench a"),
            be.alloc(k * n, "bench b"),
            be.alloc(m * n, "bench c"),
        );
        let spec = Matmul {
            m,
            n,
            k,
            trans_a: false,
            trans_b: false,
            accumulate: false,
        };
        report(
            "matmul (same GEMM)",
            name,
            flops,
            time_op(&mut be, c, 10, |be| be.matmul(a, b, c, spec))?,
        );
        for v in [x, w, y, a, b, c] {
            be.free(v);
        }
    }
    Ok(())
}
