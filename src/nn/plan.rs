//! The one place a [`LayerSpec`] meets its input shape. [`plan_stack`] resolves
//! each spec into a [`LayerPlan`]: its output shape (checked, with messages
//! that name the stack and the layer), its PyTorch parameter tensors
//! ([`Geometry::params`]: shapes and init bound) and, once the tensors have a
//! place in the flat buffers, its runtime [`Layer`] ([`Geometry::layer`]).
//! Validation, the parameter table and the model are all built from it.
//!
//! Shape legend: B batch, C channels, H height, W width, D features.

use super::{Conv2d, ConvTranspose2d, Dense, Layer};
use crate::backend::{Activation, Conv2dShape, ConvTranspose2dShape, View};
use crate::spec::{ImageShape, LayerSpec, Pair, Shape};

/// What one layer computes, resolved against its per-sample input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Geometry {
    /// `[in] -> [out]`, PyTorch's `Linear`.
    Dense {
        input: usize,
        out: usize,
    },
    /// The convolution over one sample (`batch` 1; each call sets it).
    Conv2d(Conv2dShape),
    ConvTranspose2d(ConvTranspose2dShape),
    /// A change of view only: no layer, no parameters.
    Unflatten,
}

/// One layer of a stack, resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerPlan {
    pub geometry: Geometry,
    /// The non-linearity after the layer (identity: none).
    pub act: Activation,
    /// The per-sample output shape.
    pub out: Shape,
}

/// Both stacks of a valid config, resolved (`VaeConfig::plan`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelPlan {
    /// From the image to the hidden features the heads read.
    pub encoder: Vec<LayerPlan>,
    /// From z to the image logits.
    pub decoder: Vec<LayerPlan>,
}

/// A layer's two parameter tensors as PyTorch lays them out.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    /// The name stem, numbered per kind within a stack: `fc`, `conv`, `deconv`.
    pub kind: &'static str,
    /// `[out, in]`, `[Co, Ci, KH, KW]` or (transposed) `[Ci, Co, KH, KW]`.
    pub weight: Vec<usize>,
    /// `[out]` or `[Co]`.
    pub bias: Vec<usize>,
    /// PyTorch's default init, U(-bound, bound) for weight and bias, with
    /// `bound = 1 / sqrt(fan_in)` and `fan_in = weight.size(1) * KH * KW`.
    pub init_bound: f32,
}

/// Where one layer's weight and bias live in the flat parameter and
/// gradient buffers.
#[derive(Clone, Copy, Debug)]
pub struct ParamViews {
    pub weight: View,
    pub bias: View,
    pub dweight: View,
    pub dbias: View,
}

impl Geometry {
    /// The parameter tensors, or `None` for `Unflatten`.
    pub fn params(&self) -> Option<ParamSpec> {
        let (kind, weight, out) = match *self {
            Geometry::Dense { input, out } => ("fc", vec![out, input], out),
            Geometry::Conv2d(g) => {
                let [kh, kw] = g.kernel;
                let weight = vec![g.out_channels, g.in_channels, kh, kw];
                ("conv", weight, g.out_channels)
            }
            Geometry::ConvTranspose2d(g) => {
                let [kh, kw] = g.kernel;
                let weight = vec![g.in_channels, g.out_channels, kh, kw];
                ("deconv", weight, g.out_channels)
            }
            Geometry::Unflatten => return None,
        };
        let fan_in: usize = weight[1..].iter().product();
        Some(ParamSpec {
            kind,
            weight,
            bias: vec![out],
            init_bound: 1.0 / (fan_in as f32).sqrt(),
        })
    }

    /// Parameters of the layer, weight and bias, in `u64`; `None` if even
    /// that overflows. `VaeConfig::validate` adds them up against the cap.
    pub fn param_count(&self) -> Option<u64> {
        let Some(p) = self.params() else {
            return Some(0);
        };
        let product = |dims: &[usize]| {
            dims.iter()
                .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        };
        product(&p.weight)?.checked_add(product(&p.bias)?)
    }

    /// The values a convolution unfolds one sample into (its im2col matrix:
    /// `Ci KH KW x OH OW`; for a transposed one, whose kernels run the
    /// adjoint convolution, `Co KH KW x H W`), which both backends hold as
    /// scratch at least one sample at a time; 0 for other layers, `None` on
    /// overflow.
    pub fn unfolded_len(&self) -> Option<u64> {
        let (channels, kernel, [h, w]) = match *self {
            Geometry::Conv2d(g) => (g.in_channels, g.kernel, g.checked_out_size()?),
            Geometry::ConvTranspose2d(g) => (g.out_channels, g.kernel, g.in_size),
            Geometry::Dense { .. } | Geometry::Unflatten => return Some(0),
        };
        [kernel[0], kernel[1], h, w]
            .iter()
            .try_fold(channels as u64, |acc, &d| acc.checked_mul(d as u64))
    }

    /// The runtime layer over its parameters, or `None` for `Unflatten`.
    pub fn layer(&self, p: ParamViews) -> Option<Layer> {
        Some(match *self {
            Geometry::Dense { input, out } => Layer::Dense(Dense {
                in_features: input,
                out_features: out,
                weight: p.weight,
                bias: p.bias,
                dweight: p.dweight,
                dbias: p.dbias,
            }),
            Geometry::Conv2d(shape) => Layer::Conv2d(Conv2d {
                shape,
                weight: p.weight,
                bias: p.bias,
                dweight: p.dweight,
                dbias: p.dbias,
            }),
            Geometry::ConvTranspose2d(shape) => Layer::ConvTranspose2d(ConvTranspose2d {
                shape,
                weight: p.weight,
                bias: p.bias,
                dweight: p.dweight,
                dbias: p.dbias,
            }),
            Geometry::Unflatten => return None,
        })
    }
}

/// Resolves every layer of `specs`, starting from `input`; the error names
/// the stack (`what`) and the layer (1-based) that does not fit (the config
/// wraps it as its own error).
pub fn plan_stack(input: Shape, specs: &[LayerSpec], what: &str) -> Result<Vec<LayerPlan>, String> {
    let mut shape = input;
    let mut plans = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        let bad = |msg: String| format!("{what} layer {} ({}): {msg}", i + 1, spec.kind());
        let (geometry, out) = resolve(spec, shape).map_err(bad)?;
        // Checked: an output's C*H*W may overflow (on 32-bit wasm easily).
        if out.checked_len().is_none_or(|n| n > 1 << 20) {
            return Err(bad(format!(
                "its output of {out} is too large (over 2^20 values)"
            )));
        }
        plans.push(LayerPlan {
            geometry,
            act: spec.act(),
            out,
        });
        shape = out;
    }
    Ok(plans)
}

/// `spec` over one sample of `input`: its geometry and output shape, or
/// why it does not fit.
fn resolve(spec: &LayerSpec, input: Shape) -> Result<(Geometry, Shape), String> {
    let image = |shape: Shape| match shape {
        Shape::Image(img) => Ok(img),
        Shape::Flat(n) => Err(format!(
            "its input is {n} flat features; put an unflatten layer before it"
        )),
    };
    let output = |channels: usize, [height, width]: [usize; 2]| {
        Shape::Image(ImageShape {
            channels,
            height,
            width,
        })
    };
    match *spec {
        LayerSpec::Dense { out, .. } => {
            if !(1..=65_536).contains(&out) {
                return Err(format!("width {out} is out of range: use 1 to 65536"));
            }
            let geometry = Geometry::Dense {
                input: input.len(),
                out,
            };
            Ok((geometry, Shape::Flat(out)))
        }
        LayerSpec::Unflatten {
            channels,
            height,
            width,
        } => {
            let img = ImageShape {
                channels,
                height,
                width,
            };
            // Checked: sides whose product wraps to the input's length
            // must not pass for it.
            if img.checked_dim() != Some(input.len()) {
                return Err(format!(
                    "{channels}x{height}x{width} does not hold its input of {input}"
                ));
            }
            Ok((Geometry::Unflatten, Shape::Image(img)))
        }
        LayerSpec::Conv2d {
            out_channels,
            kernel,
            stride,
            padding,
            ..
        } => {
            let img = image(input)?;
            check_conv_settings(out_channels, kernel, stride, padding)?;
            let g = Conv2dShape {
                batch: 1,
                in_channels: img.channels,
                in_size: [img.height, img.width],
                out_channels,
                kernel: kernel.0,
                stride: stride.0,
                padding: padding.0,
            };
            let size = g.checked_out_size().ok_or_else(|| {
                format!(
                    "a {}x{} kernel does not fit its padded input of {input}",
                    kernel.0[0], kernel.0[1]
                )
            })?;
            Ok((Geometry::Conv2d(g), output(out_channels, size)))
        }
        LayerSpec::ConvTranspose2d {
            out_channels,
            kernel,
            stride,
            padding,
            output_padding,
            ..
        } => {
            let img = image(input)?;
            check_conv_settings(out_channels, kernel, stride, padding)?;
            if (0..2).any(|i| output_padding.0[i] >= stride.0[i]) {
                return Err(format!(
                    "output padding {:?} must be smaller than the stride {:?}",
                    output_padding.0, stride.0
                ));
            }
            let g = ConvTranspose2dShape {
                batch: 1,
                in_channels: img.channels,
                in_size: [img.height, img.width],
                out_channels,
                kernel: kernel.0,
                stride: stride.0,
                padding: padding.0,
                output_padding: output_padding.0,
            };
            let size = g
                .checked_out_size()
                .ok_or_else(|| format!("the padding {:?} leaves no output", padding.0))?;
            Ok((Geometry::ConvTranspose2d(g), output(out_channels, size)))
        }
    }
}

fn check_conv_settings(
    out_channels: usize,
    kernel: Pair,
    stride: Pair,
    padding: Pair,
) -> Result<(), String> {
    if !(1..=4096).contains(&out_channels) {
        return Err(format!(
            "{out_channels} output channels is out of range: use 1 to 4096"
        ));
    }
    if kernel.0.iter().any(|k| !(1..=32).contains(k)) {
        return Err(format!(
            "kernel {:?} is out of range: use 1 to 32",
            kernel.0
        ));
    }
    if stride.0.iter().any(|s| !(1..=16).contains(s)) {
        return Err(format!(
            "stride {:?} is out of range: use 1 to 16",
            stride.0
        ));
    }
    if padding.0.iter().zip(kernel.0).any(|(&p, k)| p >= k) {
        return Err(format!(
            "padding {:?} must be smaller than the kernel {:?}",
            padding.0, kernel.0
        ));
    }
    Ok(())
}
