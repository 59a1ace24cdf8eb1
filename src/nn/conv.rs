//! Convolutions with PyTorch's layouts: `Conv2d` (weight `[Co, Ci, KH, KW]`)
//! and `ConvTranspose2d` (weight `[Ci, Co, KH, KW]`), NCHW activations, one
//! bias per output channel.
//!
//! Shape legend: B batch, C channels, H height, W width. A layer's per-sample
//! input and output are flat `C * H * W` runs, so convolutions chain with
//! dense layers without a reshape.

use crate::backend::{Backend, Conv2dShape, ConvTranspose2dShape, View};

#[derive(Clone, Debug)]
pub struct Conv2d {
    /// The geometry; `batch` is ignored (each call passes its row count).
    pub shape: Conv2dShape,
    pub weight: View,
    pub bias: View,
    pub dweight: View,
    pub dbias: View,
}

impl Conv2d {
    fn at(&self, rows: usize) -> Conv2dShape {
        Conv2dShape {
            batch: rows,
            ..self.shape
        }
    }

    /// x [B, Ci, H, W] -> y [B, Co, OH, OW].
    pub fn forward<B: Backend>(&self, be: &mut B, x: View, y: View, rows: usize) {
        let g = self.at(rows);
        be.conv2d_forward(x, self.weight, y, g);
        be.channel_bias_add(y, self.bias, rows, g.out_channels, g.out_positions());
    }

    /// dW += corr(x, dy), db += sum dy over batch and positions, dx when asked.
    pub fn backward<B: Backend>(
        &self,
        be: &mut B,
        x: View,
        dy: View,
        dx: Option<View>,
        rows: usize,
    ) {
        let g = self.at(rows);
        be.conv2d_backward_weights(x, dy, self.dweight, g);
        be.channel_bias_grad(dy, self.dbias, rows, g.out_channels, g.out_positions());
        if let Some(dx) = dx {
            be.conv2d_backward_data(dy, self.weight, dx, g);
        }
    }
}

#[derive(Clone, Debug)]
pub struct ConvTranspose2d {
    /// The geometry; `batch` is ignored (each call passes its row count).
    pub shape: ConvTranspose2dShape,
    pub weight: View,
    pub bias: View,
    pub dweight: View,
    pub dbias: View,
}

impl ConvTranspose2d {
    fn at(&self, rows: usize) -> ConvTranspose2dShape {
        ConvTranspose2dShape {
            batch: rows,
            ..self.shape
        }
    }

    fn out_positions(&self) -> usize {
        let [oh, ow] = self.shape.out_size();
        oh * ow
    }

    /// x [B, Ci, H, W] -> y [B, Co, OH, OW].
    pub fn forward<B: Backend>(&self, be: &mut B, x: View, y: View, rows: usize) {
        let g = self.at(rows);
        be.conv_transpose2d_forward(x, self.weight, y, g);
        be.channel_bias_add(y, self.bias, rows, g.out_channels, self.out_positions());
    }

    pub fn backward<B: Backend>(
        &self,
        be: &mut B,
        x: View,
        dy: View,
        dx: Option<View>,
        rows: usize,
    ) {
        let g = self.at(rows);
        be.conv_transpose2d_backward_weights(x, dy, self.dweight, g);
        be.channel_bias_grad(dy, self.dbias, rows, g.out_channels, self.out_positions());
        if let Some(dx) = dx {
            be.conv_transpose2d_backward_data(dy, self.weight, dx, g);
        }
    }
}
