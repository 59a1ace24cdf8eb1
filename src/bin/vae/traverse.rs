//! `vae traverse`: for one test image, a row per latent dimension (the 8
//! with the most KL on the test set), each decoding its code with that
//! dimension swept over -3..3 (prior standard deviations).

use std::path::PathBuf;

use crate::image_grid;
use clap::Args;
use serde_json::json;
use vae_playground::backend::Backend;
use vae_playground::checkpoint::Checkpoint;
use vae_playground::explore::{DimKl, Explorer};
use vae_playground::train::Trainer;

use crate::cli::{usage, Failure};
use crate::explore_args::{ModelArgs, OnModel};
use crate::files::write_png;

#[derive(Args)]
pub struct TraverseArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// The test image (its index)
    #[arg(long, value_name = "I")]
    index: u32,
    /// Rows: the dimensions with the most KL
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100))]
    rows: u32,
    /// Images per row
    #[arg(long, value_name = "N", default_value_t = 9, value_parser = clap::value_parser!(u32).range(2..=32))]
    steps: u32,
    /// The sweep goes from -RANGE to RANGE
    #[arg(long, value_name = "RANGE", default_value_t = 3.0)]
    range: f32,
    /// The PNG to write
    #[arg(long, value_name = "FILE", default_value = "traverse.png")]
    out: PathBuf,
}

/// Test images the KL ranking is taken over.
const KL_IMAGES: usize = 1000;

pub fn cmd_traverse(args: TraverseArgs) -> Result<(), Failure> {
    let (index, steps, range, out) = (args.index, args.steps as usize, args.range, args.out);
    let rows = args.rows as usize;
    args.model.run(Traverse {
        index,
        steps,
        range,
        out,
        rows,
    })
}

/// `vae traverse` on the loaded model.
struct Traverse {
    index: u32,
    steps: usize,
    range: f32,
    out: PathBuf,
    rows: usize,
}

impl OnModel for Traverse {
    fn run<B: Backend>(self, t: &mut Trainer<B>, ck: &Checkpoint) -> Result<(), Failure> {
        let Traverse {
            index,
            steps,
            range,
            out,
            rows,
        } = self;
        let (images, values, kl, dims) = sweep(t, index, rows, steps, range)?;
        write_png(&out, &image_grid::tile(&images, ck.config.image, steps, 2))?;
        println!(
            "{}",
            json!({
                "preset": ck.config.preset,
                "index": index,
                "dims": dims,
                "kl": dims.iter().map(|&d| kl.kl[d as usize]).collect::<Vec<_>>(),
                "active_units": kl.active,
                "values": values,
                "out": out.display().to_string(),
            })
        );
        Ok(())
    }
}

type Sweep = (Vec<f32>, Vec<f32>, DimKl, Vec<u32>);

fn sweep<B: Backend>(
    t: &mut Trainer<B>,
    index: u32,
    rows: usize,
    steps: usize,
    range: f32,
) -> Result<Sweep, Failure> {
    let count = t.test_count();
    if index as usize >= count {
        return usage(format!(
            "invalid value '{index}' for '--index': use 0 to {}",
            count.saturating_sub(1)
        ));
    }
    let code = pollster::block_on(t.encode_test(&[index]))?;
    let mut x = Explorer::new(t);
    let kl = pollster::block_on(x.kl_per_dim(KL_IMAGES.min(count)))?;
    let dims: Vec<u32> = kl.order.iter().take(rows).copied().collect();
    let (images, values) = pollster::block_on(x.traverse(&code, &dims, steps, range))?;
    Ok((images, values, kl, dims))
}
