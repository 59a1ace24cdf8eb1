//! `VaeConfig`: everything that defines a model and its training, the presets,
//! and validation with messages that name the setting and the allowed range.

use crate::backend::{Activation, Recon};
use crate::nn::plan::{plan_stack, LayerPlan, ModelPlan};
use crate::settings::PRESET_LABELS;
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

    /// 32x32 colour images (CIFAR-10's shape).
    pub const CIFAR: ImageShape = ImageShape {
        channels: 3,
        height: 32,
        width: 32,
    };

    /// Values per image, `C * H * W`, for a shape already checked (a
    /// validated config's, or one [`ImageShape::checked_dim`] accepted).
    pub fn dim(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// `C * H * W`, or `None` if it overflows `usize` (32 bits in wasm):
    /// shapes from a file or a JSON config go through this first.
    pub fn checked_dim(&self) -> Option<usize> {
        self.channels
            .checked_mul(self.height)?
            .checked_mul(self.width)
    }
}

/// A `[height, width]` pair (kernel, stride, padding). In JSON a single
/// number means a square pair: `4` is `[4, 4]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "PairRepr", into = "PairRepr")]
pub struct Pair(pub [usize; 2]);

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(untagged)]
enum PairRepr {
    Square(usize),
    Rect([usize; 2]),
}

impl From<PairRepr> for Pair {
    fn from(r: PairRepr) -> Pair {
        match r {
            PairRepr::Square(n) => Pair([n, n]),
            PairRepr::Rect(p) => Pair(p),
        }
    }
}

impl From<Pair> for PairRepr {
    fn from(p: Pair) -> PairRepr {
        if p.0[0] == p.0[1] {
            PairRepr::Square(p.0[0])
        } else {
            PairRepr::Rect(p.0)
        }
    }
}

impl From<usize> for Pair {
    fn from(n: usize) -> Pair {
        Pair([n, n])
    }
}

/// One layer of an encoder or decoder. A non-identity activation follows it.
/// Convolutions read and write NCHW images; a dense layer flattens its input;
/// `unflatten` (no parameters) views a flat vector as `[C, H, W]` again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LayerSpec {
    Dense {
        out: usize,
        act: Activation,
    },
    /// PyTorch's `Conv2d(in, out_channels, kernel, stride, padding)`.
    Conv2d {
        out_channels: usize,
        kernel: Pair,
        stride: Pair,
        padding: Pair,
        act: Activation,
    },
    /// PyTorch's `ConvTranspose2d(in, out_channels, kernel, stride, padding,
    /// output_padding)`.
    ConvTranspose2d {
        out_channels: usize,
        kernel: Pair,
        stride: Pair,
        padding: Pair,
        #[serde(default)]
        output_padding: Pair,
        act: Activation,
    },
    /// PyTorch's `Unflatten(1, (channels, height, width))`.
    Unflatten {
        channels: usize,
        height: usize,
        width: usize,
    },
}

impl LayerSpec {
    /// The activation after the layer (identity for `unflatten`).
    pub fn act(&self) -> Activation {
        match self {
            LayerSpec::Dense { act, .. }
            | LayerSpec::Conv2d { act, .. }
            | LayerSpec::ConvTranspose2d { act, .. } => *act,
            LayerSpec::Unflatten { .. } => Activation::Identity,
        }
    }

    /// The `type` tag of the layer in JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            LayerSpec::Dense { .. } => "dense",
            LayerSpec::Conv2d { .. } => "conv2d",
            LayerSpec::ConvTranspose2d { .. } => "conv_transpose2d",
            LayerSpec::Unflatten { .. } => "unflatten",
        }
    }
}

/// The per-sample shape of the activations between two layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Flat(usize),
    Image(ImageShape),
}

impl Shape {
    pub fn len(&self) -> usize {
        match self {
            Shape::Flat(n) => *n,
            Shape::Image(i) => i.dim(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// [`Shape::len`], or `None` if it overflows `usize`.
    pub fn checked_len(&self) -> Option<usize> {
        match self {
            Shape::Flat(n) => Some(*n),
            Shape::Image(i) => i.checked_dim(),
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Flat(n) => write!(f, "{n} features"),
            Shape::Image(i) => write!(f, "{}x{}x{} (CxHxW)", i.channels, i.height, i.width),
        }
    }
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
    /// KL warm-up: beta ramps linearly from 0 to `beta` over this many
    /// training steps (0: off). Absent in older checkpoints: 0.
    #[serde(default)]
    pub kl_warmup: u32,
}

/// The presets' names, in menu order: taken from the one table that also
/// gives each its label (`settings::PRESET_LABELS`).
pub const PRESETS: [&str; PRESET_LABELS.len()] = {
    let mut names = [""; PRESET_LABELS.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = PRESET_LABELS[i].0;
        i += 1;
    }
    names
};

fn dense(out: usize, act: Activation) -> LayerSpec {
    LayerSpec::Dense { out, act }
}

fn conv(out_channels: usize, kernel: usize, stride: usize, padding: usize) -> LayerSpec {
    LayerSpec::Conv2d {
        out_channels,
        kernel: kernel.into(),
        stride: stride.into(),
        padding: padding.into(),
        act: Activation::Relu,
    }
}

fn deconv(
    out_channels: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    output_padding: usize,
    act: Activation,
) -> LayerSpec {
    LayerSpec::ConvTranspose2d {
        out_channels,
        kernel: kernel.into(),
        stride: stride.into(),
        padding: padding.into(),
        output_padding: output_padding.into(),
        act,
    }
}

fn unflatten(channels: usize, height: usize, width: usize) -> LayerSpec {
    LayerSpec::Unflatten {
        channels,
        height,
        width,
    }
}

/// A conv VAE over `image`: two stride-2 convolutions (32, 64 channels), a
/// dense layer, heads; the decoder mirrors it with transposed convolutions.
/// `k`, `p`, `op` are kernel, padding and output padding of every conv.
fn conv_vae(
    preset: &str,
    image: ImageShape,
    (k, p, op): (usize, usize, usize),
    hidden: usize,
    latent: usize,
    recon: Recon,
) -> VaeConfig {
    let relu = Activation::Relu;
    let (h, w) = (image.height.div_ceil(4), image.width.div_ceil(4));
    VaeConfig {
        preset: preset.to_string(),
        image,
        encoder: vec![conv(32, k, 2, p), conv(64, k, 2, p), dense(hidden, relu)],
        latent,
        decoder: vec![
            dense(hidden, relu),
            dense(64 * h * w, relu),
            unflatten(64, h, w),
            deconv(32, k, 2, p, op, relu),
            deconv(image.channels, k, 2, p, op, Activation::Identity),
        ],
        recon,
        beta: 1.0,
        adam: AdamConfig::default(),
        batch: 128,
        seed: 1,
        binarize: false,
        kl_warmup: 0,
    }
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
            kl_warmup: 0,
        };
        match name {
            "mlp" => Ok(mlp("mlp", 400, 20, Recon::Bce)),
            "mlp-small" => Ok(mlp("mlp-small", 64, 20, Recon::Bce)),
            "latent100" => Ok(mlp("latent100", 512, 100, Recon::Gaussian)),
            // 28 -> 14 -> 7 with 4x4 kernels; the decoder's 7 -> 14 -> 28 exactly.
            "conv" => Ok(conv_vae(
                "conv",
                ImageShape::MNIST,
                (4, 1, 0),
                256,
                16,
                Recon::Bce,
            )),
            // 3x3 kernels: 28 -> 14 -> 7, back with output padding 1; Z = 2 for the grid.
            "conv2" => Ok(conv_vae(
                "conv2",
                ImageShape::MNIST,
                (3, 1, 1),
                128,
                2,
                Recon::Bce,
            )),
            // 32x32 colour: 32 -> 16 -> 8 -> 16 -> 32.
            "cifar" => Ok(conv_vae(
                "cifar",
                ImageShape::CIFAR,
                (4, 1, 0),
                256,
                32,
                Recon::Gaussian,
            )),
            _ => Err(ConfigError(format!(
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
        let l = &crate::settings::LIMITS;
        l.latent.check(self.latent as f64)?;
        l.beta.check_f32(self.beta)?;
        l.lr.check_f32(self.adam.lr)?;
        l.batch.check(self.batch as f64)?;
        l.kl_warmup.check(self.kl_warmup as f64)?;
        let adam = &crate::settings::ADAM_LIMITS;
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
        let encoder = plan_stack(Shape::Image(img), &self.encoder, "encoder")?;
        let decoder = plan_stack(Shape::Flat(self.latent), &self.decoder, "decoder")?;
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
