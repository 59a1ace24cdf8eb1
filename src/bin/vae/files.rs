//! What the commands read and write: the MNIST directory, data sets loaded
//! into a trainer, checkpoints, PNGs and other files.

use std::path::{Path, PathBuf};

use crate::cli::Failure;
use crate::image_grid::Picture;
use vae_playground::backend::Backend;
use vae_playground::checkpoint::{self};
use vae_playground::config::VaeConfig;
use vae_playground::data::{self, Mnist};
use vae_playground::train::Trainer;

pub fn load_data(dir: &Path) -> Result<Mnist, Failure> {
    Ok(data::load_dir(dir)?)
}

pub fn trainer_with_data<B: Backend>(
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

pub fn data_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.unwrap_or_else(data::default_dir)
}

pub fn create_dir(dir: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::Run(format!("cannot create {}: {e}", dir.display())))
}

pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    std::fs::write(path, bytes)
        .map_err(|e| Failure::Run(format!("cannot write {}: {e}", path.display())))
}

pub fn write_png(path: &Path, p: &Picture) -> Result<(), Failure> {
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

pub fn read_checkpoint(path: &Path) -> Result<checkpoint::Checkpoint, Failure> {
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::Run(format!("cannot read {}: {e}", path.display())))?;
    Ok(checkpoint::from_bytes(&bytes)?)
}
