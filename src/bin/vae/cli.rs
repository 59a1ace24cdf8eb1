//! `vae`: train, evaluate, sample and benchmark the VAE natively.
//!
//! Human-readable progress goes to stderr (a progress bar on a terminal,
//! plain lines otherwise); each command's result is one JSON line on stdout.
//! A bad flag or value exits with code 2 and a one-line message naming it,
//! other failures with 1.

use std::process::ExitCode;

use crate::bench::{cmd_bench, BenchArgs};
use crate::eval::{cmd_eval, EvalArgs};
use crate::sample::{cmd_sample, SampleArgs};
use crate::train::{cmd_train, TrainArgs};
use crate::{inpaint, interpolate, scatter, traverse};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use vae_playground::backend::Backend;
use vae_playground::cpu::CpuBackend;
use vae_playground::gpu::GpuBackend;
use vae_playground::settings::presets_help;

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

/// A usage error (exit 2) or a failure while running (exit 1).
pub enum Failure {
    Usage(String),
    Run(String),
}

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Run(e.to_string())
    }
}

pub fn usage<T>(msg: impl Into<String>) -> Result<T, Failure> {
    Err(Failure::Usage(msg.into()))
}

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
pub enum BackendKind {
    Gpu,
    Cpu,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Gpu => "gpu",
            BackendKind::Cpu => "cpu",
        }
    }
}

/// Work that runs on whichever backend the flags chose: [`BackendKind::run`]
/// is the one place a backend is picked, so each command is a generic
/// function over `Backend`.
pub trait OnBackend {
    type Output;
    fn run<B: Backend>(self, be: B) -> Result<Self::Output, Failure>;
}

impl BackendKind {
    /// Runs `work` on a fresh backend of this kind.
    pub fn run<W: OnBackend>(self, work: W) -> Result<W::Output, Failure> {
        match self {
            BackendKind::Cpu => work.run(CpuBackend::new()),
            BackendKind::Gpu => work.run(GpuBackend::new_blocking()?),
        }
    }
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
