//! How a model is written down: image and activation shapes, and the layer
//! specs an encoder or decoder is a list of. `nn::plan` resolves them;
//! `config` builds a `VaeConfig` from them.

use crate::backend::Activation;
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
