//! `vae interpolate`: a strip of decodes along the line (or, with --slerp,
//! the great circle) between the codes (mu) of two test images.

use std::path::PathBuf;

use crate::image_grid;
use clap::Args;
use serde_json::json;
use vae_playground::backend::Backend;
use vae_playground::checkpoint::Checkpoint;
use vae_playground::explore::Explorer;
use vae_playground::train::Trainer;

use crate::cli::Failure;
use crate::explore_args::{ModelArgs, OnModel};
use crate::files::write_png;

#[derive(Args)]
pub struct InterpolateArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// The first test image (its index)
    #[arg(long, value_name = "I")]
    from: u32,
    /// The last test image (its index)
    #[arg(long, value_name = "J")]
    to: u32,
    /// Images in the strip, both ends included
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(2..=64))]
    steps: u32,
    /// Spherical interpolation (along the great circle, length linear)
    #[arg(long)]
    slerp: bool,
    /// The PNG to write
    #[arg(long, value_name = "FILE", default_value = "strip.png")]
    out: PathBuf,
}

pub fn cmd_interpolate(args: InterpolateArgs) -> Result<(), Failure> {
    let (from, to, steps, slerp, out) = (
        args.from,
        args.to,
        args.steps as usize,
        args.slerp,
        args.out,
    );
    args.model.run(Strip {
        from,
        to,
        steps,
        slerp,
        out,
    })
}

/// `vae interpolate` on the loaded model.
struct Strip {
    from: u32,
    to: u32,
    steps: usize,
    slerp: bool,
    out: PathBuf,
}

impl OnModel for Strip {
    fn run<B: Backend>(self, t: &mut Trainer<B>, ck: &Checkpoint) -> Result<(), Failure> {
        let Strip {
            from,
            to,
            steps,
            slerp,
            out,
        } = self;
        let images = strip(t, from, to, steps, slerp)?;
        write_png(&out, &image_grid::tile(&images, ck.config.image, steps, 2))?;
        println!(
            "{}",
            json!({
                "preset": ck.config.preset,
                "from": from,
                "to": to,
                "steps": steps,
                "slerp": slerp,
                "out": out.display().to_string(),
            })
        );
        Ok(())
    }
}

fn strip<B: Backend>(
    t: &mut Trainer<B>,
    from: u32,
    to: u32,
    steps: usize,
    slerp: bool,
) -> Result<Vec<f32>, Failure> {
    let count = t.test_count() as u32;
    if let Some(i) = [from, to].into_iter().find(|&i| i >= count) {
        return Err(Failure::Usage(format!(
            "test image {i} is out of range: use 0 to {}",
            count.saturating_sub(1)
        )));
    }
    let zdim = t.config().latent;
    let codes = pollster::block_on(t.encode_test(&[from, to]))?;
    let (_, images, _) = pollster::block_on(Explorer::new(t).interpolate(
        &codes[..zdim],
        &codes[zdim..],
        steps,
        slerp,
    ))?;
    Ok(images)
}
