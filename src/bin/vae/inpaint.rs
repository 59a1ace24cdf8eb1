//! `vae inpaint`: damage a test image (an erased box, salt-and-pepper or
//! Gaussian noise) and let the model repair it, `x <- known * x_damaged +
//! (1 - known) * decode(encode(x))`; writes the original, the damaged image
//! and every step in a row, and prints the masked-region error before and
//! after as JSON.

use std::path::PathBuf;

use crate::image_grid;
use clap::{ArgGroup, Args};
use serde_json::json;
use vae_playground::backend::Backend;
use vae_playground::checkpoint::Checkpoint;
use vae_playground::explore::{Damage, Explorer, Inpainting};
use vae_playground::train::Trainer;

use crate::cli::{usage, Failure};
use crate::explore_args::{ModelArgs, OnModel};
use crate::files::write_png;

#[derive(Args)]
#[command(group(ArgGroup::new("damage").required(true).args(["box", "noise"])))]
pub struct InpaintArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// The test image (its index)
    #[arg(long, value_name = "I")]
    index: u32,
    /// Erase a box: x,y,w,h in pixels (clipped to the image)
    #[arg(long = "box", value_name = "X,Y,W,H")]
    r#box: Option<String>,
    /// Add noise: salt:P (each pixel with probability P set to 0 or 1) or
    /// gauss:S (x + S N(0,1), clipped); the repair then trusts no pixel
    #[arg(long, value_name = "KIND:STRENGTH")]
    noise: Option<String>,
    /// Seed of the noise
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u32,
    /// Repair steps K
    #[arg(long, value_name = "K", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100))]
    iters: u32,
    /// The PNG to write
    #[arg(long, value_name = "FILE", default_value = "inpaint.png")]
    out: PathBuf,
}

fn parse_damage(args: &InpaintArgs) -> Result<Damage, Failure> {
    if let Some(b) = &args.r#box {
        let v: Option<Vec<i64>> = b.split(',').map(|s| s.trim().parse().ok()).collect();
        return match v.as_deref() {
            Some(&[x, y, w, h]) if w >= 0 && h >= 0 => Ok(Damage::Box { x, y, w, h }),
            _ => usage(format!(
                "invalid value '{b}' for '--box': use X,Y,W,H (whole numbers, W and H not negative)"
            )),
        };
    }
    let n = args.noise.as_deref().unwrap_or_default();
    let bad = || {
        usage(format!(
            "invalid value '{n}' for '--noise': use salt:P (P 0 to 1) or gauss:S (S 0 to 2)"
        ))
    };
    let Some((kind, s)) = n.split_once(':') else {
        return bad();
    };
    let Ok(strength) = s.trim().parse::<f32>() else {
        return bad();
    };
    let seed = args.seed;
    match kind {
        "salt" if (0.0..=1.0).contains(&strength) => Ok(Damage::Salt { strength, seed }),
        "gauss" if (0.0..=2.0).contains(&strength) => Ok(Damage::Gauss { strength, seed }),
        _ => bad(),
    }
}

pub fn cmd_inpaint(args: InpaintArgs) -> Result<(), Failure> {
    let damage = parse_damage(&args)?;
    let (index, iters, out) = (args.index, args.iters as usize, args.out.clone());
    args.model.run(Repair {
        index,
        damage,
        iters,
        out,
    })
}

/// `vae inpaint` on the loaded model.
struct Repair {
    index: u32,
    damage: Damage,
    iters: usize,
    out: PathBuf,
}

impl OnModel for Repair {
    fn run<B: Backend>(self, t: &mut Trainer<B>, ck: &Checkpoint) -> Result<(), Failure> {
        let Repair {
            index,
            damage,
            iters,
            out,
        } = self;
        let r = repair(t, index, damage, iters)?;
        let mut images = r.original.clone();
        images.extend_from_slice(&r.damaged);
        images.extend_from_slice(&r.steps);
        let cols = (iters + 2).min(12);
        write_png(&out, &image_grid::tile(&images, ck.config.image, cols, 2))?;
        println!(
            "{}",
            json!({
                "preset": ck.config.preset,
                "index": index,
                "damage": damage,
                "iters": iters,
                "metric": "mse per pixel over the damaged region, values in [0, 1]",
                "region_pixels": r.region_pixels,
                "before": r.damaged_error,
                "after": r.step_errors.last(),
                "step_errors": r.step_errors,
                "out": out.display().to_string(),
            })
        );
        Ok(())
    }
}

fn repair<B: Backend>(
    t: &mut Trainer<B>,
    index: u32,
    damage: Damage,
    iters: usize,
) -> Result<Inpainting, Failure> {
    let count = t.test_count();
    if index as usize >= count {
        return usage(format!(
            "invalid value '{index}' for '--index': use 0 to {}",
            count.saturating_sub(1)
        ));
    }
    let mut x = Explorer::new(t);
    let original = pollster::block_on(x.test_image(index as usize))?;
    Ok(pollster::block_on(
        x.inpaint(original, damage, iters, None),
    )?)
}
