//! `vae`: train, evaluate, sample and benchmark the VAE natively.
//!
//! Human-readable progress goes to stderr; each command's result is one JSON
//! line on stdout. A bad flag or value exits with code 2, other failures with 1.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use serde_json::json;
use vae_playground::backend::{Backend, Conv2dShape, Matmul, View};
use vae_playground::checkpoint;
use vae_playground::config::{ImageShape, VaeConfig, PRESETS};
use vae_playground::cpu::CpuBackend;
use vae_playground::data::{self, Mnist};
use vae_playground::gpu::GpuBackend;
use vae_playground::image_grid::{self, Picture};
use vae_playground::rng::{self, StreamKind};
use vae_playground::settings::ConfigOverrides;
use vae_playground::train::{Metrics, Trainer};

const USAGE: &str = "usage:
  vae train  --preset P [--epochs N] [--backend gpu|cpu] [--seed S] [--data DIR] [--out DIR]
             [--latent Z] [--beta B] [--lr LR] [--batch N] [--binarize]
  vae eval   --checkpoint FILE [--backend gpu|cpu] [--data DIR]
  vae sample --checkpoint FILE [--n N] [--out grid.png] [--seed S] [--backend gpu|cpu]
  vae bench  [--backend gpu|cpu] [--steps N] [--preset P] [--data DIR]
  vae bench  --kernels [--backend gpu|cpu]   (GFLOP/s of the matmul and conv kernels)
presets: mlp, mlp-small, latent100, conv, conv2, cifar (cifar: bench only, on synthetic images)";

/// A usage error (exit 2) or a failure while running (exit 1).
enum Failure {
    Usage(String),
    Run(String),
}

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Run(e.to_string())
    }
}

fn usage<T>(msg: impl Into<String>) -> Result<T, Failure> {
    Err(Failure::Usage(msg.into()))
}

/// `--flag value` pairs and bare switches, checked against what a command accepts.
struct Args {
    command: String,
    pairs: Vec<(String, Option<String>)>,
}

impl Args {
    fn parse(
        command: &str,
        raw: &[String],
        valued: &[&str],
        switches: &[&str],
    ) -> Result<Args, Failure> {
        let mut pairs = Vec::new();
        let mut it = raw.iter();
        while let Some(flag) = it.next() {
            let name = flag.trim_start_matches("--");
            if !flag.starts_with("--") {
                return usage(format!("unexpected argument '{flag}' for 'vae {command}'"));
            } else if valued.contains(&name) {
                match it.next() {
                    Some(v) => pairs.push((name.to_string(), Some(v.clone()))),
                    None => return usage(format!("flag '--{name}' needs a value")),
                }
            } else if switches.contains(&name) {
                pairs.push((name.to_string(), None));
            } else {
                return usage(format!("unknown flag '{flag}' for 'vae {command}'"));
            }
        }
        Ok(Args {
            command: command.to_string(),
            pairs,
        })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(n, _)| n == name)
    }

    fn num<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, Failure> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .or_else(|_| usage(format!("invalid value '{v}' for '--{name}'"))),
        }
    }

    fn required(&self, name: &str) -> Result<&str, Failure> {
        match self.get(name) {
            Some(v) => Ok(v),
            None => usage(format!("'vae {}' needs '--{name}'", self.command)),
        }
    }

    fn backends(&self, default: &[BackendKind]) -> Result<Vec<BackendKind>, Failure> {
        match self.get("backend") {
            None => Ok(default.to_vec()),
            Some("gpu") => Ok(vec![BackendKind::Gpu]),
            Some("cpu") => Ok(vec![BackendKind::Cpu]),
            Some(v) => usage(format!(
                "invalid value '{v}' for '--backend': use gpu or cpu"
            )),
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.get("data")
            .map(PathBuf::from)
            .unwrap_or_else(data::default_dir)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum BackendKind {
    Gpu,
    Cpu,
}

impl BackendKind {
    fn name(self) -> &'static str {
        match self {
            BackendKind::Gpu => "gpu",
            BackendKind::Cpu => "cpu",
        }
    }
}

/// Runs `$body` with `$be` bound to a fresh backend of `$kind`.
macro_rules! with_backend {
    ($kind:expr, |$be:ident| $body:expr) => {
        match $kind {
            BackendKind::Cpu => {
                let $be = CpuBackend::new();
                $body
            }
            BackendKind::Gpu => {
                let $be = GpuBackend::new_blocking()?;
                $body
            }
        }
    };
}

pub fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let result = match raw.first().map(String::as_str) {
        Some("train") => cmd_train(&raw[1..]),
        Some("eval") => cmd_eval(&raw[1..]),
        Some("sample") => cmd_sample(&raw[1..]),
        Some("bench") => cmd_bench(&raw[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => usage(format!("unknown command '{other}'")),
        None => usage("no command given"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => {
            eprintln!("error: {msg}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Run(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(1)
        }
    }
}

/// The config named by `--preset` with any overrides, validated.
fn config_from(args: &Args) -> Result<VaeConfig, Failure> {
    let num = |name: &str| -> Result<Option<f64>, Failure> {
        args.get(name).map(|_| args.num(name, 0.0)).transpose()
    };
    let overrides = ConfigOverrides {
        preset: args.required("preset")?.to_string(),
        latent: num("latent")?,
        beta: num("beta")?,
        lr: num("lr")?,
        batch: num("batch")?,
        recon: None,
        seed: num("seed")?,
        binarize: args.has("binarize").then_some(true),
    };
    overrides.resolve().or_else(|e| usage(e.0))
}

fn load_data(dir: &Path) -> Result<Mnist, Failure> {
    Ok(data::load_dir(dir)?)
}

fn trainer_with_data<B: Backend>(
    be: B,
    config: VaeConfig,
    data: &Mnist,
) -> Result<Trainer<B>, Failure> {
    let shape = (data.train.channels, data.train.height, data.train.width);
    let want = (
        config.image.channels,
        config.image.height,
        config.image.width,
    );
    if shape != want {
        return Err(Failure::Run(format!(
            "preset '{}' needs {}x{}x{} images (CxHxW) but the data set holds {}x{}x{}; \
             only MNIST can be loaded so far",
            config.preset, want.0, want.1, want.2, shape.0, shape.1, shape.2
        )));
    }
    let mut t = Trainer::new(be, config)?;
    t.set_train_images(&data.train.pixels, data.train.count);
    t.set_test_images(&data.test.pixels, data.test.count);
    Ok(t)
}

fn cmd_train(raw: &[String]) -> Result<(), Failure> {
    let args = Args::parse(
        "train",
        raw,
        &[
            "preset", "epochs", "backend", "seed", "data", "out", "latent", "beta", "lr", "batch",
        ],
        &["binarize"],
    )?;
    let config = config_from(&args)?;
    let epochs: u32 = args.num("epochs", 1)?;
    if epochs == 0 {
        return usage("'--epochs' must be at least 1");
    }
    let backend = args.backends(&[BackendKind::Gpu])?[0];
    let out = args.get("out").map(PathBuf::from);
    let data = load_data(&args.data_dir())?;
    with_backend!(backend, |be| train(
        trainer_with_data(be, config, &data)?,
        backend,
        epochs,
        out.as_deref()
    ))
}

fn train<B: Backend>(
    mut t: Trainer<B>,
    kind: BackendKind,
    epochs: u32,
    out: Option<&Path>,
) -> Result<(), Failure> {
    let adapter = t.be.describe();
    eprintln!(
        "training '{}' on {} ({adapter}), {} steps per epoch",
        t.config().preset,
        kind.name(),
        t.steps_per_epoch()
    );
    let (mut train_secs, mut train_images) = (0.0, 0usize);
    let (mut last_train, mut last_test) = (Metrics::default(), Metrics::default());
    for epoch in 1..=epochs {
        let start = Instant::now();
        for _ in 0..t.steps_per_epoch() {
            t.step();
        }
        last_train = pollster::block_on(t.take_metrics())?;
        let secs = start.elapsed().as_secs_f64();
        train_secs += secs;
        train_images += last_train.images;
        last_test = pollster::block_on(t.evaluate(usize::MAX))?;
        eprintln!(
            "epoch {epoch:>3}/{epochs}  train {:8.3}  test {:8.3}  (recon {:.3}, kl {:.3})  {secs:6.1} s  {:8.0} images/s",
            last_train.loss,
            last_test.loss,
            last_test.recon,
            last_test.kl,
            last_train.images as f64 / secs
        );
        if !last_train.loss.is_finite() {
            return Err(Failure::Run(format!(
                "training diverged at epoch {epoch} (loss {}); try a lower --lr",
                last_train.loss
            )));
        }
    }
    if let Some(dir) = out {
        write_outputs(&mut t, dir)?;
    }
    let summary = json!({
        "preset": t.config().preset,
        "backend": kind.name(),
        "adapter": adapter,
        "epochs": epochs,
        "train_loss": last_train.loss,
        "test_loss": last_test.loss,
        "images_per_sec": train_images as f64 / train_secs,
    });
    println!("{summary}");
    Ok(())
}

/// `model.safetensors`, `samples.png` (64 from the prior) and, for Z = 2,
/// `latent_grid.png` (20 x 20 over the Gaussian quantiles).
fn write_outputs<B: Backend>(t: &mut Trainer<B>, dir: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::Run(format!("cannot create {}: {e}", dir.display())))?;
    let params = pollster::block_on(t.read_params())?;
    let bytes = checkpoint::to_bytes(t.config(), &t.vae.table, &params)?;
    write_file(&dir.join("model.safetensors"), &bytes)?;
    let shape = t.config().image;
    let seed = t.config().seed;
    let samples =
        pollster::block_on(t.sample(64, seed, rng::stream(StreamKind::Sample, u32::MAX)))?;
    write_png(
        &dir.join("samples.png"),
        &image_grid::tile(&samples, shape, 8, 2),
    )?;
    if t.config().latent == 2 {
        let grid = pollster::block_on(t.latent_grid(20, 0, 1))?;
        write_png(
            &dir.join("latent_grid.png"),
            &image_grid::tile(&grid, shape, 20, 0),
        )?;
    }
    eprintln!("wrote {}", dir.display());
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    std::fs::write(path, bytes)
        .map_err(|e| Failure::Run(format!("cannot write {}: {e}", path.display())))
}

fn write_png(path: &Path, p: &Picture) -> Result<(), Failure> {
    let mut buf = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut buf, p.width as u32, p.height as u32);
        enc.set_color(if p.channels == 1 {
            png::ColorType::Grayscale
        } else {
            png::ColorType::Rgb
        });
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header()?;
        w.write_image_data(&p.pixels)?;
    }
    write_file(path, &buf)
}

fn read_checkpoint(args: &Args) -> Result<checkpoint::Checkpoint, Failure> {
    let path = args.required("checkpoint")?;
    let bytes =
        std::fs::read(path).map_err(|e| Failure::Run(format!("cannot read {path}: {e}")))?;
    Ok(checkpoint::from_bytes(&bytes)?)
}

fn cmd_eval(raw: &[String]) -> Result<(), Failure> {
    let args = Args::parse("eval", raw, &["checkpoint", "backend", "data"], &[])?;
    let backend = args.backends(&[BackendKind::Gpu])?[0];
    let ck = read_checkpoint(&args)?;
    let data = load_data(&args.data_dir())?;
    with_backend!(backend, |be| {
        let mut t = trainer_with_data(be, ck.config.clone(), &data)?;
        t.load_params(&ck.params);
        let test = pollster::block_on(t.evaluate(usize::MAX))?;
        let summary = json!({
            "preset": ck.config.preset,
            "backend": backend.name(),
            "adapter": t.be.describe(),
            "test_loss": test.loss,
            "test_recon": test.recon,
            "test_kl": test.kl,
        });
        println!("{summary}");
        Ok(())
    })
}

fn cmd_sample(raw: &[String]) -> Result<(), Failure> {
    let args = Args::parse(
        "sample",
        raw,
        &["checkpoint", "n", "out", "seed", "backend"],
        &[],
    )?;
    let backend = args.backends(&[BackendKind::Gpu])?[0];
    let n: usize = args.num("n", 64)?;
    if !(1..=4096).contains(&n) {
        return usage(format!("'--n' {n} is out of range: use 1 to 4096"));
    }
    let out = PathBuf::from(args.get("out").unwrap_or("grid.png"));
    let ck = read_checkpoint(&args)?;
    let seed: u32 = args.num("seed", ck.config.seed)?;
    with_backend!(backend, |be| {
        let mut t = Trainer::new(be, ck.config.clone())?;
        t.load_params(&ck.params);
        let images =
            pollster::block_on(t.sample(n, seed, rng::stream(StreamKind::Sample, u32::MAX)))?;
        let cols = (n as f64).sqrt().ceil() as usize;
        write_png(&out, &image_grid::tile(&images, ck.config.image, cols, 2))?;
        println!(
            "{}",
            json!({ "preset": ck.config.preset, "n": n, "out": out.display().to_string() })
        );
        Ok(())
    })
}

fn cmd_bench(raw: &[String]) -> Result<(), Failure> {
    let args = Args::parse(
        "bench",
        raw,
        &["backend", "steps", "preset", "data"],
        &["kernels"],
    )?;
    let backends = args.backends(&[BackendKind::Cpu, BackendKind::Gpu])?;
    if args.has("kernels") {
        for &kind in &backends {
            with_backend!(kind, |be| kernel_bench(be, kind))?;
        }
        return Ok(());
    }
    let steps: usize = args.num("steps", 50)?;
    if steps == 0 {
        return usage("'--steps' must be at least 1");
    }
    let presets: Vec<&str> = match args.get("preset") {
        Some(p) => vec![p],
        None => PRESETS.to_vec(),
    };
    let data = load_data(&args.data_dir())?;
    for preset in presets {
        let config = VaeConfig::preset(preset).or_else(|e| usage(e.0))?;
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
        for &kind in &backends {
            with_backend!(kind, |be| bench(
                trainer_with_data(be, config.clone(), data)?,
                kind,
                steps
            ))?;
        }
    }
    Ok(())
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
            time_op(&mut be, y, 10, |be| be.conv2d_forward(x, w, y, s))?,
        );
        report(
            "conv2d_backward_data",
            name,
            flops,
            time_op(&mut be, x, 10, |be| be.conv2d_backward_data(y, w, x, s))?,
        );
        report(
            "conv2d_backward_weights",
            name,
            flops,
            time_op(&mut be, w, 10, |be| be.conv2d_backward_weights(x, y, w, s))?,
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
