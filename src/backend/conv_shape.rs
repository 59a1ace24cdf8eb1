//! The geometry of the two convolutions, PyTorch's `Conv2d` and
//! `ConvTranspose2d`, and [`ConvShape`], either of them: what the backend's
//! three convolution ops take.
//!
//! Shape legend: B batch, C channels, H height, W width, K kernel, S stride,
//! P padding. All NCHW, row-major.

/// The geometry of one 2-D convolution (PyTorch's `Conv2d`, no dilation or
/// groups): input `x [B, Ci, H, W]`, weight `w [Co, Ci, KH, KW]`, output
/// `y [B, Co, OH, OW]` with `OH = (H + 2 PH - KH) / SH + 1` (floor), likewise
/// `OW`. All NCHW, row-major. Sizes are `[height, width]` pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv2dShape {
    pub batch: usize,
    pub in_channels: usize,
    /// `[H, W]` of the input.
    pub in_size: [usize; 2],
    pub out_channels: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
}

impl Conv2dShape {
    /// `[OH, OW]`, or `None` where the padded input is smaller than the
    /// kernel, a size is zero or the arithmetic overflows.
    pub fn checked_out_size(&self) -> Option<[usize; 2]> {
        let dim = |i: usize| {
            if self.in_size[i] == 0 || self.kernel[i] == 0 || self.stride[i] == 0 {
                return None;
            }
            let padded = self.in_size[i].checked_add(self.padding[i].checked_mul(2)?)?;
            Some(padded.checked_sub(self.kernel[i])? / self.stride[i] + 1)
        };
        Some([dim(0)?, dim(1)?])
    }

    /// `[OH, OW]`; panics on a geometry with no output.
    pub fn out_size(&self) -> [usize; 2] {
        self.checked_out_size()
            .unwrap_or_else(|| panic!("conv2d {self:?} has no output"))
    }

    /// Words of one input sample, `Ci * H * W`.
    pub fn in_len(&self) -> usize {
        self.in_channels * self.in_size[0] * self.in_size[1]
    }

    /// Words of one output sample, `Co * OH * OW`.
    pub fn out_len(&self) -> usize {
        let [oh, ow] = self.out_size();
        self.out_channels * oh * ow
    }

    /// Output positions per sample, `OH * OW`.
    pub fn out_positions(&self) -> usize {
        let [oh, ow] = self.out_size();
        oh * ow
    }

    /// Length of one patch, `Ci * KH * KW` (the GEMM's inner dimension).
    pub fn patch_len(&self) -> usize {
        self.in_channels * self.kernel[0] * self.kernel[1]
    }

    pub fn weight_len(&self) -> usize {
        self.out_channels * self.patch_len()
    }

    /// Multiply-adds times two of one forward pass over the batch.
    pub fn flops(&self) -> f64 {
        2.0 * (self.batch * self.out_len()) as f64 * self.patch_len() as f64
    }
}

/// The geometry of PyTorch's `ConvTranspose2d`: input `x [B, Ci, H, W]`,
/// weight `w [Ci, Co, KH, KW]`, output `y [B, Co, OH, OW]` with
/// `OH = (H - 1) SH - 2 PH + KH + OPH`. It is the adjoint of the `Conv2d`
/// [`ConvTranspose2dShape::adjoint`] that maps `y`'s shape back to `x`'s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConvTranspose2dShape {
    pub batch: usize,
    pub in_channels: usize,
    pub in_size: [usize; 2],
    pub out_channels: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    /// Extra rows / columns at the bottom / right; below the stride.
    pub output_padding: [usize; 2],
}

impl ConvTranspose2dShape {
    /// `[OH, OW]`, or `None` where a size would be zero or negative, or the
    /// output padding is not below the stride.
    pub fn checked_out_size(&self) -> Option<[usize; 2]> {
        let dim = |i: usize| {
            let (s, k, op) = (self.stride[i], self.kernel[i], self.output_padding[i]);
            if self.in_size[i] == 0 || k == 0 || s == 0 || op >= s {
                return None;
            }
            let full = (self.in_size[i] - 1)
                .checked_mul(s)?
                .checked_add(k)?
                .checked_add(op)?;
            full.checked_sub(self.padding[i].checked_mul(2)?)
                .filter(|&o| o > 0)
        };
        Some([dim(0)?, dim(1)?])
    }

    pub fn out_size(&self) -> [usize; 2] {
        self.checked_out_size()
            .unwrap_or_else(|| panic!("conv_transpose2d {self:?} has no output"))
    }

    pub fn in_len(&self) -> usize {
        self.in_channels * self.in_size[0] * self.in_size[1]
    }

    pub fn out_len(&self) -> usize {
        let [oh, ow] = self.out_size();
        self.out_channels * oh * ow
    }

    pub fn weight_len(&self) -> usize {
        self.in_channels * self.out_channels * self.kernel[0] * self.kernel[1]
    }

    /// The `Conv2d` from this layer's output shape to its input shape, whose
    /// weight layout `[Co', Ci', KH, KW] = [Ci, Co, KH, KW]` is this layer's.
    pub fn adjoint(&self) -> Conv2dShape {
        let conv = Conv2dShape {
            batch: self.batch,
            in_channels: self.out_channels,
            in_size: self.out_size(),
            out_channels: self.in_channels,
            kernel: self.kernel,
            stride: self.stride,
            padding: self.padding,
        };
        debug_assert_eq!(conv.out_size(), self.in_size);
        conv
    }
}

/// Either convolution's geometry. The backend's convolution ops take it, so
/// one op serves both kinds; a transposed convolution runs as the adjoint
/// `Conv2d` ([`ConvTranspose2dShape::adjoint`]) with the roles of its
/// passes swapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConvShape {
    Conv2d(Conv2dShape),
    ConvTranspose2d(ConvTranspose2dShape),
}

impl From<Conv2dShape> for ConvShape {
    fn from(g: Conv2dShape) -> Self {
        ConvShape::Conv2d(g)
    }
}

impl From<ConvTranspose2dShape> for ConvShape {
    fn from(g: ConvTranspose2dShape) -> Self {
        ConvShape::ConvTranspose2d(g)
    }
}

impl ConvShape {
    /// The same geometry over `rows` samples.
    pub fn at(self, rows: usize) -> Self {
        match self {
            ConvShape::Conv2d(g) => ConvShape::Conv2d(Conv2dShape { batch: rows, ..g }),
            ConvShape::ConvTranspose2d(g) => {
                ConvShape::ConvTranspose2d(ConvTranspose2dShape { batch: rows, ..g })
            }
        }
    }

    /// "conv2d" or "conv_transpose2d": the kind, as op names spell it.
    pub fn kind(&self) -> &'static str {
        match self {
            ConvShape::Conv2d(_) => "conv2d",
            ConvShape::ConvTranspose2d(_) => "conv_transpose2d",
        }
    }

    pub fn batch(&self) -> usize {
        match self {
            ConvShape::Conv2d(g) => g.batch,
            ConvShape::ConvTranspose2d(g) => g.batch,
        }
    }

    pub fn in_channels(&self) -> usize {
        match self {
            ConvShape::Conv2d(g) => g.in_channels,
            ConvShape::ConvTranspose2d(g) => g.in_channels,
        }
    }

    pub fn out_channels(&self) -> usize {
        match self {
            ConvShape::Conv2d(g) => g.out_channels,
            ConvShape::ConvTranspose2d(g) => g.out_channels,
        }
    }

    /// `[H, W]` of the input.
    pub fn in_size(&self) -> [usize; 2] {
        match self {
            ConvShape::Conv2d(g) => g.in_size,
            ConvShape::ConvTranspose2d(g) => g.in_size,
        }
    }

    pub fn kernel(&self) -> [usize; 2] {
        match self {
            ConvShape::Conv2d(g) => g.kernel,
            ConvShape::ConvTranspose2d(g) => g.kernel,
        }
    }

    pub fn stride(&self) -> [usize; 2] {
        match self {
            ConvShape::Conv2d(g) => g.stride,
            ConvShape::ConvTranspose2d(g) => g.stride,
        }
    }

    /// `[OH, OW]`; panics on a geometry with no output.
    pub fn out_size(&self) -> [usize; 2] {
        match self {
            ConvShape::Conv2d(g) => g.out_size(),
            ConvShape::ConvTranspose2d(g) => g.out_size(),
        }
    }

    /// Words of one input sample, `Ci * H * W`.
    pub fn in_len(&self) -> usize {
        match self {
            ConvShape::Conv2d(g) => g.in_len(),
            ConvShape::ConvTranspose2d(g) => g.in_len(),
        }
    }

    /// Words of one output sample, `Co * OH * OW`.
    pub fn out_len(&self) -> usize {
        match self {
            ConvShape::Conv2d(g) => g.out_len(),
            ConvShape::ConvTranspose2d(g) => g.out_len(),
        }
    }

    /// Output positions per sample, `OH * OW`.
    pub fn out_positions(&self) -> usize {
        let [oh, ow] = self.out_size();
        oh * ow
    }

    pub fn weight_len(&self) -> usize {
        match self {
            ConvShape::Conv2d(g) => g.weight_len(),
            ConvShape::ConvTranspose2d(g) => g.weight_len(),
        }
    }
}
