//! `VaeConfig`: everything that defines a model and its training, and
//! validation with messages that name the setting and the allowed range.
//! `presets` holds the named models, `limits` every setting's range.

mod limits;
mod presets;

pub use limits::{AdamLimits, Choices, Limits, Range, ADAM_LIMITS, LIMITS};
pub use presets::{Preset, PRESETS, PRESET_TABLE};
// The vocabulary a config is written in, at the path its users know.
pub use crate::spec::{ImageShape, LayerSpec, Pair, Shape};

use crate::backend::{Activation, Recon};
use crate::nn::plan::{plan_stack, LayerPlan, ModelPlan};
use serde::{Deserialize, Serialize};
use std::fmt;

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
    /// KL warm-up: beta ramps linearly from 0 to `beta` over this many
    /// training steps (0: off). Absent in older checkpoints: 0.
    #[serde(default)]
    pub kl_warmup: u32,
}

impl VaeConfig {
    /// A named preset (see [`PRESET_TABLE`]).
    pub fn preset(name: &str) -> Result<VaeConfig, ConfigError> {
        match PRESET_TABLE.iter().find(|p| p.name == name) {
            Some(p) => Ok(p.config()),
            None => Err(ConfigError(format!(
                "unknown preset '{name}'; choose one of: {}",
                PRESETS.join(", ")
            ))),
        }
    }

    /// Checks every setting; the message names the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.plan().map(drop)
    }

    /// `validate`, keeping what it resolved: every layer of both stacks
    /// against its input shape, which is what a model is built from.
    pub fn plan(&self) -> Result<ModelPlan, ConfigError> {
        let bad = |what: String| Err(ConfigError(what));
        // The ranges a person may set live in one table (a u32 seed is
        // always in range).
        let l = &LIMITS;
        l.latent.check(self.latent as f64)?;
        l.beta.check_f32(self.beta)?;
        l.lr.check_f32(self.adam.lr)?;
        l.batch.check(self.batch as f64)?;
        l.kl_warmup.check(self.kl_warmup as f64)?;
        let adam = &ADAM_LIMITS;
        adam.beta1.check_f32(self.adam.beta1)?;
        adam.beta2.check_f32(self.adam.beta2)?;
        adam.eps.check_f32(self.adam.eps)?;
        let img = self.image;
        // Each side first: their product cannot overflow then.
        let sides = [img.channels, img.height, img.width];
        if sides.contains(&0) || img.channels > 4 || img.height > 256 || img.width > 256 {
            return bad(format!("image shape {img:?} is not supported"));
        }
        if self.encoder.is_empty() || self.decoder.is_empty() {
            return bad("the encoder and the decoder need at least one layer each".into());
        }
        for (what, n) in [
            ("encoder", self.encoder.len()),
            ("decoder", self.decoder.len()),
        ] {
            if n > MAX_LAYERS {
                return bad(format!(
                    "the {what} has {n} layers; a model may have at most {MAX_LAYERS} per stack"
                ));
            }
        }
        let encoder =
            plan_stack(Shape::Image(img), &self.encoder, "encoder").map_err(ConfigError)?;
        let decoder =
            plan_stack(Shape::Flat(self.latent), &self.decoder, "decoder").map_err(ConfigError)?;
        self.check_size(&encoder, &decoder)?;
        let last = decoder.last().unwrap().out;
        let last_act = self
            .decoder
            .iter()
            .rev()
            .find(|s| !matches!(s, LayerSpec::Unflatten { .. }))
            .map(LayerSpec::act);
        let fits = match last {
            Shape::Flat(n) => n == img.dim(),
            Shape::Image(i) => i == img,
        };
        if !fits {
            return bad(format!(
                "the decoder ends at {last} but images are {}: its last layer must output exactly the image",
                Shape::Image(img)
            ));
        }
        if last_act != Some(Activation::Identity) {
            return bad(format!(
                "the decoder's last layer must output {} logits with no activation",
                img.dim()
            ));
        }
        Ok(ModelPlan { encoder, decoder })
    }
}

/// The most parameters a model may have: 64 Mi (67,108,864), 256 MiB as
/// `f32`, about 30 times the largest preset (`cifar`, 2.2 M). Training needs
/// four such buffers (parameters, gradients, Adam's two moments), so the cap
/// keeps a model within 1 GiB; a checkpoint whose config asks for more is
/// refused before anything is allocated.
pub const MAX_PARAMETERS: u64 = 1 << 26;

/// The most activation values a model may hold for one batch: every layer's
/// output, the images, the decoded probabilities and the latent codes, for
/// `batch` images: 2^28 (1 GiB as `f32`), about 7 times the largest preset
/// at the largest batch (`cifar` at 1024, 39 M).
pub const MAX_ACTIVATIONS: u64 = 1 << 28;

/// The most values a convolution may unfold one image into (its im2col
/// matrix, `Ci KH KW x OH OW`; for a transposed one `Co KH KW x H W`), which
/// both backends hold as scratch at least one image at a time: 2^24 (64 MiB
/// as `f32`), about 500 times the largest preset's (`conv`, 25 K).
pub const MAX_UNFOLDED: u64 = 1 << 24;

/// The most layers in the encoder, and in the decoder (the presets have 5).
pub const MAX_LAYERS: usize = 64;

impl VaeConfig {
    /// Checks the model's size against [`MAX_PARAMETERS`],
    /// [`MAX_ACTIVATIONS`] and [`MAX_UNFOLDED`], with checked arithmetic
    /// (no product can wrap on 32-bit wasm): `encoder` and `decoder` are the
    /// resolved stacks.
    fn check_size(&self, encoder: &[LayerPlan], decoder: &[LayerPlan]) -> Result<(), ConfigError> {
        let too_big = || {
            ConfigError(format!(
                "the model is too large: over {MAX_PARAMETERS} parameters (256 MiB) or \
                 {MAX_ACTIVATIONS} activation values per batch; use fewer or narrower layers \
                 or a smaller batch"
            ))
        };
        let latent = self.latent as u64;
        let hidden = encoder.last().map_or(self.image.dim(), |l| l.out.len()) as u64;
        // The two heads, mu and logvar: `[Z, hidden]` and `[Z]` each.
        let mut params = Some(2 * (hidden * latent + latent));
        // mu, logvar, eps and z; the images and the decoded probabilities.
        let mut values = Some(4 * latent + 2 * self.image.dim() as u64);
        for (what, specs, plans) in [
            ("encoder", &self.encoder, encoder),
            ("decoder", &self.decoder, decoder),
        ] {
            for (i, (spec, plan)) in specs.iter().zip(plans).enumerate() {
                let unfolded = plan.geometry.unfolded_len();
                if unfolded.is_none_or(|u| u > MAX_UNFOLDED) {
                    return Err(ConfigError(format!(
                        "{what} layer {} ({}) unfolds one image into {} values, over the cap \
                         of {MAX_UNFOLDED} (64 MiB as f32); use fewer channels or a smaller kernel",
                        i + 1,
                        spec.kind(),
                        unfolded.map_or("too many".to_string(), |u| u.to_string())
                    )));
                }
                params = params
                    .zip(plan.geometry.param_count())
                    .and_then(|(a, b)| a.checked_add(b));
                values = values.and_then(|v| v.checked_add(plan.out.len() as u64));
            }
        }
        let params = params.ok_or_else(too_big)?;
        let values = values
            .and_then(|v| v.checked_mul(self.batch as u64))
            .ok_or_else(too_big)?;
        if params > MAX_PARAMETERS {
            return Err(ConfigError(format!(
                "the model has {params} parameters, over the cap of {MAX_PARAMETERS} \
                 (64 Mi, 256 MiB as f32); use fewer or narrower layers"
            )));
        }
        if values > MAX_ACTIVATIONS {
            return Err(ConfigError(format!(
                "the model's activations for a batch of {} are {values} values, over the cap \
                 of {MAX_ACTIVATIONS} (1 GiB as f32); use a smaller batch or narrower layers",
                self.batch
            )));
        }
        Ok(())
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
    use super::presets::{conv, deconv, unflatten};
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

    #[test]
    fn conv_chains_are_checked_with_clear_messages() {
        let err = |c: &VaeConfig| c.validate().unwrap_err().0;
        // conv2's decoder without output padding ends at 25x25, not 28x28.
        let mut c = VaeConfig::preset("conv2").unwrap();
        for l in &mut c.decoder {
            if let LayerSpec::ConvTranspose2d { output_padding, .. } = l {
                *output_padding = Pair([0, 0]);
            }
        }
        let e = err(&c);
        assert!(
            e.contains("decoder ends at 1x25x25") && e.contains("1x28x28"),
            "{e}"
        );
        // A convolution straight after a dense layer needs an unflatten.
        let mut c = VaeConfig::preset("conv").unwrap();
        c.decoder.remove(2);
        let e = err(&c);
        assert!(e.contains("decoder layer 3 (conv_transpose2d)"), "{e}");
        assert!(e.contains("unflatten"), "{e}");
        // An unflatten that does not hold its input.
        let mut c = VaeConfig::preset("conv").unwrap();
        c.decoder[2] = unflatten(32, 7, 7);
        assert!(err(&c).contains("32x7x7 does not hold its input of 3136 features"));
        // A kernel larger than the padded input.
        let mut c = VaeConfig::preset("conv").unwrap();
        c.encoder[1] = conv(64, 20, 2, 1);
        assert!(err(&c).contains("encoder layer 2 (conv2d)"));
        // Output padding must stay below the stride.
        let mut c = VaeConfig::preset("conv2").unwrap();
        c.decoder[3] = deconv(32, 3, 2, 1, 2, Activation::Relu);
        assert!(err(&c).contains("output padding"));
        // The last layer has no activation.
        let mut c = VaeConfig::preset("conv").unwrap();
        c.decoder[4] = deconv(1, 4, 2, 1, 0, Activation::Relu);
        assert!(err(&c).contains("no activation"));
    }

    #[test]
    fn conv_specs_round_trip_through_json() {
        for p in ["conv", "conv2", "cifar"] {
            let c = VaeConfig::preset(p).unwrap();
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<VaeConfig>(&json).unwrap(), c);
        }
        let spec: LayerSpec = serde_json::from_str(
            r#"{"type":"conv2d","out_channels":8,"kernel":[3,5],"stride":2,"padding":[1,2],"act":"relu"}"#,
        )
        .unwrap();
        assert_eq!(
            spec,
            LayerSpec::Conv2d {
                out_channels: 8,
                kernel: Pair([3, 5]),
                stride: Pair([2, 2]),
                padding: Pair([1, 2]),
                act: Activation::Relu,
            }
        );
        // output_padding defaults to 0.
        let spec: LayerSpec = serde_json::from_str(
            r#"{"type":"conv_transpose2d","out_channels":1,"kernel":4,"stride":2,"padding":1,"act":"identity"}"#,
        )
        .unwrap();
        assert!(matches!(
            spec,
            LayerSpec::ConvTranspose2d {
                output_padding: Pair([0, 0]),
                ..
            }
        ));
    }
}
