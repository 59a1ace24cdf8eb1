//! `--data` (a user's files or directories, detected by content) and
//! `--resume` (continue from a checkpoint) for `vae train` and `vae eval`.

use std::path::{Path, PathBuf};

use vae_playground::checkpoint::resume::{self, Resumable};
use vae_playground::config::{ImageShape, VaeConfig};
use vae_playground::data::{self, user, Mnist};
use vae_playground::settings::ConfigOverrides;

/// The data set for a model taking `shape`: MNIST from the default
/// directory when `paths` is empty, else the user's files built for `shape`.
pub fn load(paths: &[PathBuf], shape: ImageShape, preset: &str) -> Result<Mnist, String> {
    if paths.is_empty() {
        if shape != ImageShape::MNIST {
            return Err(format!(
                "preset '{preset}' takes {}x{} colour images and the default data is MNIST; \
                 give --data DIR with the CIFAR-10 binary batches (data_batch_1.bin .. \
                 test_batch.bin from https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz) \
                 or a folder of PNG/JPEG pictures",
                shape.height, shape.width
            ));
        }
        return data::load_dir(&data::default_dir()).map_err(|e| e.to_string());
    }
    let (set, skipped) = user::load_paths(paths).map_err(|e| e.to_string())?;
    if !skipped.is_empty() {
        let names: Vec<String> = skipped.iter().map(|p| p.display().to_string()).collect();
        eprintln!(
            "skipped {} file(s) that are not IDX, CIFAR-10, PNG or JPEG data: {}",
            skipped.len(),
            names.join(", ")
        );
    }
    let built = set.build(shape).map_err(|e| e.to_string())?;
    let s = &built.summary;
    eprintln!(
        "data: {} train + {} test images ({}, {} file(s){}{}), as {}x{}x{}",
        s.train,
        s.test,
        s.kind,
        s.files.len(),
        if s.held_out {
            ", every tenth held out for testing"
        } else {
            ""
        },
        if s.labels { ", labelled" } else { "" },
        shape.channels,
        shape.height,
        shape.width
    );
    Ok(Mnist {
        train: built.train,
        test: built.test,
        train_labels: built.train_labels.unwrap_or_default(),
        test_labels: built.test_labels.unwrap_or_default(),
    })
}

/// A checkpoint to continue from.
pub fn read(path: &Path) -> Result<Resumable, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    resume::read(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// The checkpoint's config with the flags that may change on a resumed run
/// (beta, learning rate, batch, seed, binarize, KL warm-up) applied and checked; a flag
/// that changes the model (another preset, latent size or reconstruction
/// loss) is refused with the reason.
pub fn resume_config(ck: &VaeConfig, flags: &ConfigOverrides) -> Result<VaeConfig, String> {
    let mut refused = Vec::new();
    if !flags.preset.is_empty() && flags.preset != ck.preset {
        refused.push(format!("--preset {} (it is {})", flags.preset, ck.preset));
    }
    if let Some(z) = flags.latent.filter(|&z| z != ck.latent as f64) {
        refused.push(format!("--latent {z} (it is {})", ck.latent));
    }
    if let Some(r) = flags.recon.filter(|&r| r != ck.recon) {
        refused.push(format!(
            "--recon {} (it is {})",
            recon_name(r),
            recon_name(ck.recon)
        ));
    }
    if !refused.is_empty() {
        return Err(format!(
            "--resume continues the checkpoint's model, so it cannot change its architecture: \
             {}; drop the flag, or train a new model without --resume",
            refused.join(", ")
        ));
    }
    // The flags checked as for a new model, then applied to the checkpoint's.
    let checked = ConfigOverrides {
        preset: ck.preset.clone(),
        ..flags.clone()
    }
    .resolve()
    .map_err(|e| e.0)?;
    let mut c = ck.clone();
    if flags.beta.is_some() {
        c.beta = checked.beta;
    }
    if flags.lr.is_some() {
        c.adam.lr = checked.adam.lr;
    }
    if flags.batch.is_some() {
        c.batch = checked.batch;
    }
    if flags.seed.is_some() {
        c.seed = checked.seed;
    }
    if flags.binarize.is_some() {
        c.binarize = checked.binarize;
    }
    if flags.kl_warmup.is_some() {
        c.kl_warmup = checked.kl_warmup;
    }
    c.validate().map_err(|e| e.0)?;
    Ok(c)
}

fn recon_name(r: vae_playground::backend::Recon) -> String {
    format!("{r:?}").to_lowercase()
}
