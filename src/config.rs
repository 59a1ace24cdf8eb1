//! `VaeConfig`: everything that defines a model and its training, the presets,
//! and validation with messages that name the setting and the allowed range.

use crate::backend::{Activation, Recon};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Image shape, NCHW without the N.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageShape {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl ImageShape {
    pub const MNIST: ImageShape = ImageShape {
        channels: 1,
        height: 28,
        width: 28,
    };

    pub fn dim(&self) -> usize {
        self.channels * self.height * self.width
    }
}

/// One layer of an encoder or decoder. A non-identity activation follows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LayerSpec {
    Dense { out: usize, act: Activation },
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
}

impl Default for AdamConfig {
    /// PyTorch's defaults.
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VaeConfig {
    pub preset: String,
    pub image: ImageShape,
    /// Hidden layers from the image to the heads.
    pub encoder: Vec<LayerSpec>,
    /// Z, the latent size.
    pub latent: usize,
    /// Layers from z to the image logits; the last one outputs `image.dim()`.
    pub decoder: Vec<LayerSpec>,
    pub recon: Recon,
    /// Weight of the KL term (1 is the plain ELBO).
    pub beta: f32,
    pub adam: AdamConfig,
    pub batch: usize,
    pub seed: u32,
    /// Resample binary pixels each time an image is drawn (dynamic binarization).
    pub binarize: bool,
}

pub const PRESETS: &[&str] = &["mlp", "mlp-small", "latent100"];

fn dense(out: usize, act: Activation) -> LayerSpec {
    LayerSpec::Dense { out, act }
}

impl VaeConfig {
    /// A named preset. `mlp` is the classic recipe of PyTorch's VAE example.
    pub fn preset(name: &str) -> Result<VaeConfig, ConfigError> {
        let mlp = |preset: &str, hidden: usize, latent: usize, recon: Recon| VaeConfig {
            preset: preset.to_string(),
            image: ImageShape::MNIST,
            encoder: vec![dense(hidden, Activation::Relu)],
            latent,
            decoder: vec![
                dense(hidden, Activation::Relu),
                dense(ImageShape::MNIST.dim(), Activation::Identity),
            ],
            recon,
            beta: 1.0,
            adam: AdamConfig::default(),
            batch: 128,
            seed: 1,
            binarize: false,
        };
        match name {
            "mlp" => Ok(mlp("mlp", 400, 20, Recon::Bce)),
            "mlp-small" => Ok(mlp("mlp-small", 64, 20, Recon::Bce)),
            "latent100" => Ok(mlp("latent100", 512, 100, Recon::Gaussian)),
            _ => Err(ConfigError(format!(
                "unknown preset '{name}'; choose one of: {}",
                PRESETS.join(", ")
            ))),
        }
    }

    /// Checks every setting; the message names the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |what: String| Err(ConfigError(what));
        if !(2..=100).contains(&self.latent) {
            return bad(format!(
                "latent size {} is out of range: use 2 to 100",
                self.latent
            ));
        }
        if !(self.beta.is_finite() && (0.0..=10.0).contains(&self.beta)) {
            return bad(format!("beta {} is out of range: use 0 to 10", self.beta));
        }
        let lr = self.adam.lr;
        if !(lr.is_finite() && lr > 0.0 && lr <= 1.0) {
            return bad(format!(
                "learning rate {lr} is out of range: use a value in (0, 1]"
            ));
        }
        if !(1..=1024).contains(&self.batch) {
            return bad(format!(
                "batch size {} is out of range: use 1 to 1024",
                self.batch
            ));
        }
        let img = self.image;
        if img.dim() == 0 || img.channels > 4 || img.height > 256 || img.width > 256 {
            return bad(format!("image shape {img:?} is not supported"));
        }
        if self.encoder.is_empty() || self.decoder.is_empty() {
            return bad("the encoder and the decoder need at least one layer each".into());
        }
        for spec in self.encoder.iter().chain(&self.decoder) {
            let LayerSpec::Dense { out, .. } = spec;
            if !(1..=65_536).contains(out) {
                return bad(format!("layer width {out} is out of range: use 1 to 65536"));
            }
        }
        match self.decoder.last() {
            Some(LayerSpec::Dense {
                out,
                act: Activation::Identity,
            }) if *out == img.dim() => Ok(()),
            _ => bad(format!(
                "the decoder's last layer must output {} logits with no activation",
                img.dim()
            )),
        }
    }
}

/// A setting that is out of range or inconsistent.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid() {
        for p in PRESETS {
            VaeConfig::preset(p).unwrap().validate().unwrap();
        }
    }

    #[test]
    fn out_of_range_settings_are_named() {
        let mut c = VaeConfig::preset("mlp").unwrap();
        c.latent = 101;
        assert!(c.validate().unwrap_err().0.contains("latent size 101"));
        let mut c = VaeConfig::preset("mlp").unwrap();
        c.beta = -1.0;
        assert!(c.validate().unwrap_err().0.contains("beta"));
        let mut c = VaeConfig::preset("mlp").unwrap();
        c.adam.lr = f32::NAN;
        assert!(c.validate().unwrap_err().0.contains("learning rate"));
        let mut c = VaeConfig::preset("mlp").unwrap();
        c.batch = 0;
        assert!(c.validate().unwrap_err().0.contains("batch size"));
        assert!(VaeConfig::preset("nope").unwrap_err().0.contains("mlp"));
    }
}
