//! The presets: one table gives each its name, how the page shows it and how
//! it is built, so a preset is added in one place.

use super::{AdamConfig, VaeConfig};
use crate::backend::{Activation, Recon};
use crate::spec::{ImageShape, LayerSpec};

/// One preset: its name (`--preset`, `Session.create`), how the page names
/// and describes it, and its model.
pub struct Preset {
    pub name: &'static str,
    pub label: &'static str,
    pub description: &'static str,
    build: fn(&str) -> VaeConfig,
}

impl Preset {
    /// The preset's config.
    pub fn config(&self) -> VaeConfig {
        (self.build)(self.name)
    }
}

/// Every preset, in menu order. `mlp` is the classic recipe of PyTorch's VAE
/// example.
pub const PRESET_TABLE: &[Preset] = &[
    Preset {
        name: "mlp",
        label: "MLP",
        description: "fully connected encoder and decoder",
        build: |name| mlp(name, 400, 20, Recon::Bce),
    },
    Preset {
        name: "mlp-small",
        label: "MLP, small",
        description: "fewer units: the fastest to train",
        build: |name| mlp(name, 64, 20, Recon::Bce),
    },
    Preset {
        name: "latent100",
        label: "MLP, 100-d latent",
        description: "a wide latent space",
        build: |name| mlp(name, 512, 100, Recon::Gaussian),
    },
    // 28 -> 14 -> 7 with 4x4 kernels; the decoder's 7 -> 14 -> 28 exactly.
    Preset {
        name: "conv",
        label: "Convolutional",
        description: "conv encoder, transposed-conv decoder: sharper digits",
        build: |name| conv_vae(name, ImageShape::MNIST, (4, 1, 0), 256, 16, Recon::Bce),
    },
    // 3x3 kernels: 28 -> 14 -> 7, back with output padding 1; Z = 2 for the grid.
    Preset {
        name: "conv2",
        label: "Convolutional, 2-d latent",
        description: "a 2-d latent: the whole latent space in one grid",
        build: |name| conv_vae(name, ImageShape::MNIST, (3, 1, 1), 128, 2, Recon::Bce),
    },
    // 32x32 colour: 32 -> 16 -> 8 -> 16 -> 32.
    Preset {
        name: "cifar",
        label: "Convolutional, colour 32x32",
        description: "CIFAR-10's shape: 32x32 colour images, a Gaussian likelihood",
        build: |name| conv_vae(name, ImageShape::CIFAR, (4, 1, 0), 256, 32, Recon::Gaussian),
    },
];

/// The presets' names, in menu order.
pub const PRESETS: [&str; PRESET_TABLE.len()] = {
    let mut names = [""; PRESET_TABLE.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = PRESET_TABLE[i].name;
        i += 1;
    }
    names
};

/// An MNIST MLP: one hidden layer of `hidden` units each side.
fn mlp(preset: &str, hidden: usize, latent: usize, recon: Recon) -> VaeConfig {
    VaeConfig {
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
    }
}

pub(crate) fn dense(out: usize, act: Activation) -> LayerSpec {
    LayerSpec::Dense { out, act }
}

pub(crate) fn conv(out_channels: usize, kernel: usize, stride: usize, padding: usize) -> LayerSpec {
    LayerSpec::Conv2d {
        out_channels,
        kernel: kernel.into(),
        stride: stride.into(),
        padding: padding.into(),
        act: Activation::Relu,
    }
}

pub(crate) fn deconv(
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

pub(crate) fn unflatten(channels: usize, height: usize, width: usize) -> LayerSpec {
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
