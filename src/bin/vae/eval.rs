//! `vae eval`: a checkpoint's test loss, and with --importance its
//! importance-weighted bound.

use std::path::PathBuf;

use crate::cli::{BackendKind, Failure, OnBackend};
use crate::files::{read_checkpoint, trainer_with_data};
use crate::importance;
use crate::userdata;
use clap::Args;
use serde_json::json;
use vae_playground::backend::Backend;
use vae_playground::checkpoint::Checkpoint;
use vae_playground::data::Mnist;

#[derive(Args)]
pub struct EvalArgs {
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

pub fn cmd_eval(args: EvalArgs) -> Result<(), Failure> {
    let backend = args.backend;
    let ck = read_checkpoint(&args.checkpoint)?;
    let data =
        userdata::load(&args.data, ck.config.image, &ck.config.preset).map_err(Failure::Run)?;
    backend.run(Eval {
        ck: &ck,
        data: &data,
        args: &args,
    })
}

/// `vae eval` once its checkpoint and data are read.
struct Eval<'a> {
    ck: &'a Checkpoint,
    data: &'a Mnist,
    args: &'a EvalArgs,
}

impl OnBackend for Eval<'_> {
    type Output = ();
    fn run<B: Backend>(self, be: B) -> Result<(), Failure> {
        let (ck, args, backend) = (self.ck, self.args, self.args.backend);
        let mut t = trainer_with_data(be, ck.config.clone(), self.data)?;
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
    }
}
