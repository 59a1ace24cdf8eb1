//! Convolutions with PyTorch's layouts: `Conv2d` (weight `[Co, Ci, KH, KW]`)
//! and `ConvTranspose2d` (weight `[Ci, Co, KH, KW]`), NCHW activations, one
//! bias per output channel. Both are one [`Conv`] layer over their geometry,
//! which the backend's convolution ops take as a [`ConvShape`].
//!
//! Shape legend: B batch, C channels, H height, W width. A layer's per-sample
//! input and output are flat `C * H * W` runs, so convolutions chain with
//! dense layers without a reshape.

use crate::backend::{
    ActAfter, ActBefore, Activation, Backend, Conv2dShape, ConvShape, ConvTranspose2dShape, View,
};

/// A convolution layer with a bias per output channel.
#[derive(Clone, Debug)]
pub struct Conv<G> {
    /// The geometry; `batch` is ignored (each call passes its row count).
    pub shape: G,
    pub weight: View,
    pub bias: View,
    pub dweight: View,
    pub dbias: View,
}

pub type Conv2d = Conv<Conv2dShape>;
pub type ConvTranspose2d = Conv<ConvTranspose2dShape>;

impl<G: Copy + Into<ConvShape>> Conv<G> {
    /// The geometry over `rows` samples.
    fn at(&self, rows: usize) -> ConvShape {
        self.shape.into().at(rows)
    }

    /// x [B, Ci, H, W] -> y [B, Co, OH, OW].
    pub fn forward<B: Backend>(&self, be: &mut B, x: View, y: View, rows: usize) {
        be.conv_forward(x, self.weight, Some(self.bias), y, self.at(rows), None);
    }

    /// `y = act(forward + bias)`; `pre` may receive the pre-activation
    /// (backends that do not fuse write it; see [`ActAfter`]).
    pub fn forward_act<B: Backend>(
        &self,
        be: &mut B,
        x: View,
        pre: View,
        y: View,
        rows: usize,
        act: Activation,
    ) {
        let act = Some(ActAfter { act, pre });
        be.conv_forward(x, self.weight, Some(self.bias), y, self.at(rows), act);
    }

    /// dW += the weight gradient and db += sum dy over batch and positions.
    pub fn backward_weights<B: Backend>(&self, be: &mut B, x: View, dy: View, rows: usize) {
        let (dw, db) = (self.dweight, Some(self.dbias));
        be.conv_backward_weights(x, dy, dw, db, self.at(rows));
    }

    /// The input gradient through the activation `act` that produced this
    /// layer's input `y`: `dpost = backward_data(dy)`, `dpre = dpost *
    /// act'(y)` (see [`ActBefore`]).
    #[allow(clippy::too_many_arguments)]
    pub fn backward_data_act<B: Backend>(
        &self,
        be: &mut B,
        dy: View,
        y: View,
        dpost: View,
        dpre: View,
        act: Activation,
        rows: usize,
    ) {
        let act = Some(ActBefore { act, y, dpost });
        be.conv_backward_data(dy, self.weight, dpre, self.at(rows), act);
    }

    /// dW += the weight gradient, db += sum dy over batch and positions, dx
    /// when asked.
    pub fn backward<B: Backend>(
        &self,
        be: &mut B,
        x: View,
        dy: View,
        dx: Option<View>,
        rows: usize,
    ) {
        self.backward_weights(be, x, dy, rows);
        if let Some(dx) = dx {
            be.conv_backward_data(dy, self.weight, dx, self.at(rows), None);
        }
    }
}
