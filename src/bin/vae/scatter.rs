//! `vae scatter`: the first N test images encoded (mu) and drawn on a plane
//! of the latent space, coloured by label (colour-blind-safe palette) with a
//! legend strip, as the page's scatter view shows them.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::json;
use vae_playground::backend::Backend;
use vae_playground::checkpoint::Checkpoint;
use vae_playground::explore::{Explorer, PlaneSpec, Scatter, MAX_SCATTER};
use vae_playground::train::Trainer;

use crate::cli::{usage, Failure};
use crate::explore_args::{Canvas, ModelArgs, OnModel, PALETTE};
use crate::files::write_png;

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
pub enum PlaneKind {
    /// Two latent dimensions (--dims)
    Dims,
    /// The two principal axes of the encodings, through their mean
    Principal,
}

#[derive(Args)]
pub struct ScatterArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// The PNG to write
    #[arg(long, value_name = "FILE", default_value = "scatter.png")]
    out: PathBuf,
    /// How many test images (the first N)
    #[arg(long, value_name = "N", default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=MAX_SCATTER as i64))]
    n: u32,
    /// The plane to project onto
    #[arg(long, value_enum, default_value_t = PlaneKind::Dims)]
    plane: PlaneKind,
    /// The two latent dims of a dims plane, as DX,DY
    #[arg(long, value_name = "DX,DY", default_value = "0,1")]
    dims: String,
}

/// Side of the plot, in pixels; the legend strip goes below it.
const SIDE: usize = 600;
const LEGEND: usize = 36;

pub fn cmd_scatter(args: ScatterArgs) -> Result<(), Failure> {
    let spec = match args.plane {
        PlaneKind::Principal => PlaneSpec::Principal,
        PlaneKind::Dims => {
            let parsed: Option<Vec<usize>> = args
                .dims
                .split(',')
                .map(|s| s.trim().parse().ok())
                .collect();
            match parsed.as_deref() {
                Some(&[dx, dy]) => PlaneSpec::Dims { dx, dy },
                _ => {
                    return usage(format!(
                        "invalid value '{}' for '--dims': use two dims as DX,DY",
                        args.dims
                    ))
                }
            }
        }
    };
    let (n, out) = (args.n as usize, args.out);
    args.model.run(Plot { n, spec, out })
}

/// `vae scatter` on the loaded model.
struct Plot {
    n: usize,
    spec: PlaneSpec,
    out: PathBuf,
}

impl OnModel for Plot {
    fn run<B: Backend>(self, t: &mut Trainer<B>, ck: &Checkpoint) -> Result<(), Failure> {
        let Plot { n, spec, out } = self;
        let s = scatter(t, n, spec)?;
        write_png(&out, &draw(&s).picture())?;
        let counts: Vec<usize> = (0..10)
            .map(|c| s.labels.iter().filter(|&&l| l == c).count())
            .collect();
        println!(
            "{}",
            json!({
                "preset": ck.config.preset,
                "n": s.indices.len(),
                "plane": s.plane,
                "bounds": s.bounds,
                "per_label": counts,
                "out": out.display().to_string(),
            })
        );
        Ok(())
    }
}

fn scatter<B: Backend>(t: &mut Trainer<B>, n: usize, spec: PlaneSpec) -> Result<Scatter, Failure> {
    Ok(pollster::block_on(Explorer::new(t).scatter(n, spec))?)
}

/// Points on a white square (equal scales on both axes, the origin's axes
/// in light grey), and below it the ten class colours with their digits.
fn draw(s: &Scatter) -> Canvas {
    let mut c = Canvas::new(SIDE, SIDE + LEGEND, [255, 255, 255]);
    let [amin, amax, bmin, bmax] = s.bounds;
    let half = ((amax - amin).max(bmax - bmin) / 2.0).max(1e-6) * 1.05;
    let (ca, cb) = ((amin + amax) / 2.0, (bmin + bmax) / 2.0);
    let px = |a: f32| (a - ca + half) / (2.0 * half) * SIDE as f32;
    let py = |b: f32| (1.0 - (b - cb + half) / (2.0 * half)) * SIDE as f32;
    let axis = [225, 225, 225];
    let (x0, y0) = (px(0.0).round() as isize, py(0.0).round() as isize);
    c.rect(x0, 0, 1, SIDE as isize, axis);
    c.rect(0, y0, SIDE as isize, 1, axis);
    for (p, &l) in s.points.chunks_exact(2).zip(&s.labels) {
        let colour = PALETTE.get(l as usize).copied().unwrap_or([0, 0, 0]);
        c.disc(px(p[0]), py(p[1]), 2.0, colour);
    }
    // Legend: a swatch and the digit, per class.
    let cell = SIDE as isize / 10;
    c.rect(0, SIDE as isize, SIDE as isize, 1, [0, 0, 0]);
    for (k, &colour) in PALETTE.iter().enumerate() {
        let x = k as isize * cell + 12;
        let y = SIDE as isize + 8;
        c.rect(x, y, 20, 20, colour);
        c.digit(k, x + 26, y, 4, [0, 0, 0]);
    }
    c
}
