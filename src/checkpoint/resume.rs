//! Checkpoints that training continues from: the page's `Session.checkpoint()`,
//! `Session.fromCheckpoint()` and the CLI's `vae train --out` / `--resume`
//! all go through these functions, so a file from either loads in the other.
//!
//! The file is [`crate::checkpoint`]'s safetensors (PyTorch names and
//! layouts, the config in the metadata) plus two metadata entries: `step`
//! (training steps run) and `epochs` (passes over the training set, as a
//! decimal). Adam's moments are not in the file (PyTorch's `state_dict` of a
//! module holds parameters only): a resumed run restarts them, and its first
//! steps are those of a fresh Adam from the saved weights.

use super::{self as checkpoint, Checkpoint, CheckpointError};
use crate::backend::Backend;
use crate::error::Error;
use crate::train::Trainer;
use safetensors::SafeTensors;

/// Metadata key of the steps run.
pub const STEP_KEY: &str = "step";
/// Metadata key of the epochs done.
pub const EPOCHS_KEY: &str = "epochs";

/// A checked checkpoint and where its training stopped.
#[derive(Clone, Debug, PartialEq)]
pub struct Resumable {
    pub checkpoint: Checkpoint,
    /// Training steps run (0 for files without the entry).
    pub step: u32,
    /// Epochs done (0 for files without the entry).
    pub epochs: f64,
}

/// The trainer's model as checkpoint bytes, with its step and epochs.
pub async fn checkpoint_bytes<B: Backend>(t: &mut Trainer<B>) -> Result<Vec<u8>, Error> {
    let params = t.read_params().await?;
    let epochs = t.epochs_done();
    Ok(checkpoint::to_bytes_with(
        t.config(),
        &t.vae.table,
        &params,
        &[
            (STEP_KEY, t.step.to_string()),
            (EPOCHS_KEY, epochs.to_string()),
        ],
    )?)
}

/// Parses and checks checkpoint bytes (see [`checkpoint::from_bytes`]) and
/// reads the step and epochs.
pub fn read(bytes: &[u8]) -> Result<Resumable, CheckpointError> {
    let checkpoint = checkpoint::from_bytes(bytes)?;
    // `from_bytes` read the header already: this cannot fail now.
    let (_, meta) = SafeTensors::read_metadata(bytes)
        .map_err(|e| CheckpointError(format!("not a valid safetensors file ({e})")))?;
    let info = meta.metadata().clone().unwrap_or_default();
    let step = match info.get(STEP_KEY) {
        None => 0,
        Some(s) => s.parse::<u32>().map_err(|_| {
            CheckpointError(format!(
                "the metadata's step '{s}' is not a whole number of steps"
            ))
        })?,
    };
    let epochs = match info.get(EPOCHS_KEY) {
        None => 0.0,
        Some(s) => s
            .parse::<f64>()
            .ok()
            .filter(|e| e.is_finite() && *e >= 0.0 && *e < 1e9)
            .ok_or_else(|| {
                CheckpointError(format!(
                    "the metadata's epochs '{s}' is not a number of epochs"
                ))
            })?,
    };
    Ok(Resumable {
        checkpoint,
        step,
        epochs,
    })
}

/// A trainer on `be` with the checkpoint's config and weights, counting on
/// from its step and epoch (the next epoch's shuffle starts fresh).
pub fn trainer<B: Backend>(be: B, r: &Resumable) -> Result<Trainer<B>, Error> {
    let mut t = Trainer::new(be, r.checkpoint.config.clone())?;
    load_into(&mut t, r);
    Ok(t)
}

/// Loads the weights into `t` (same config) and continues its counts.
pub fn load_into<B: Backend>(t: &mut Trainer<B>, r: &Resumable) {
    t.load_params(&r.checkpoint.params);
    t.step = r.step;
    t.epoch = r.epochs.ceil() as u32;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::VaeConfig;
    use crate::cpu::CpuBackend;
    use crate::data::synthetic::colour_blobs;

    #[test]
    fn step_and_epochs_round_trip() {
        let mut config = VaeConfig::preset("mlp-small").unwrap();
        config.batch = 8;
        let mut t = Trainer::new(CpuBackend::new(), config).unwrap();
        let images = colour_blobs(t.config().image, 20, 1);
        t.set_train_images(&images.pixels, images.count);
        for _ in 0..4 {
            t.step();
        }
        let bytes = pollster::block_on(checkpoint_bytes(&mut t)).unwrap();
        let r = read(&bytes).unwrap();
        assert_eq!(r.step, 4);
        // Steps of 8, 8, 4 (epoch 1), then 8 of epoch 2: 1.4 epochs.
        assert!((r.epochs - 1.4).abs() < 1e-9, "{}", r.epochs);
        let params = pollster::block_on(t.read_params()).unwrap();
        assert_eq!(r.checkpoint.params, params);
        let t2 = trainer(CpuBackend::new(), &r).unwrap();
        assert_eq!((t2.step, t2.epoch), (4, 2));
        // A plain `vae train --out` file from before: step 0.
        let plain = checkpoint::to_bytes(t.config(), &t.vae.table, &params).unwrap();
        assert_eq!(read(&plain).unwrap().step, 0);
        // A bad step entry is refused with the reason.
        let bad = checkpoint::to_bytes_with(
            t.config(),
            &t.vae.table,
            &params,
            &[(STEP_KEY, "-3".into())],
        )
        .unwrap();
        assert!(read(&bad).unwrap_err().to_string().contains("step '-3'"));
    }
}
