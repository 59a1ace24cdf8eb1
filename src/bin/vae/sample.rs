//! `vae sample`: a grid of images decoded from prior codes.

use std::path::{Path, PathBuf};

use crate::cli::{BackendKind, Failure, OnBackend};
use crate::files::{read_checkpoint, write_png};
use crate::image_grid::{self};
use clap::Args;
use serde_json::json;
use vae_playground::backend::Backend;
use vae_playground::checkpoint::Checkpoint;
use vae_playground::train::{self, Trainer};

#[derive(Args)]
pub struct SampleArgs {
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

pub fn cmd_sample(args: SampleArgs) -> Result<(), Failure> {
    let (n, out) = (args.n as usize, args.out);
    let ck = read_checkpoint(&args.checkpoint)?;
    let seed = args.seed.unwrap_or(ck.config.seed);
    args.backend.run(Sample {
        ck: &ck,
        n,
        seed,
        out: &out,
    })
}

/// `vae sample` once its checkpoint is read.
struct Sample<'a> {
    ck: &'a Checkpoint,
    n: usize,
    seed: u32,
    out: &'a Path,
}

impl OnBackend for Sample<'_> {
    type Output = ();
    fn run<B: Backend>(self, be: B) -> Result<(), Failure> {
        let Sample { ck, n, seed, out } = self;
        let mut t = Trainer::new(be, ck.config.clone())?;
        t.load_params(&ck.params);
        let images = pollster::block_on(t.sample(n, seed, train::fixed_prior_stream()))?;
        let cols = (n as f64).sqrt().ceil() as usize;
        write_png(out, &image_grid::tile(&images, ck.config.image, cols, 2))?;
        println!(
            "{}",
            json!({ "preset": ck.config.preset, "n": n, "out": out.display().to_string() })
        );
        Ok(())
    }
}
