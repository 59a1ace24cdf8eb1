//! Convolutions with PyTorch's layouts: `Conv2d` (weight `[Co, Ci, KH, KW]`)
//! and `ConvTranspose2d` (weight `[Ci, Co, KH, KW]`), NCHW activations, one
//! bias per output channel. Both are one [`Conv`] layer over their geometry.
//!
//! Shape legend: B batch, C channels, H height, W width. A layer's per-sample
//! input and output are flat `C * H * W` runs, so convolutions chain with
//! dense layers without a reshape.

use crate::backend::{Activation, Backend, Conv2dShape, ConvTranspose2dShape, View};

/// A convolution's geometry and the three backend ops that run it.
pub trait ConvGeometry: Copy {
    /// The same geometry over `rows` samples.
    fn at(self, rows: usize) -> Self;
    fn out_channels(&self) -> usize;
    /// `OH * OW`.
    fn out_positions(&self) -> usize;
    fn forward<B: Backend>(self, be: &mut B, x: View, w: View, y: View);
    fn backward_data<B: Backend>(self, be: &mut B, dy: View, w: View, dx: View);
    fn backward_weights<B: Backend>(self, be: &mut B, x: View, dy: View, dw: View);
    /// `forward`, then `y[b, c, s] += bias[c]`: the backend's op, which may
    /// fuse them (its default runs the two).
    fn forward_bias<B: Backend>(self, be: &mut B, x: View, w: View, bias: View, y: View);
    /// `backward_weights`, then `db[c] += sum dy[., c, .]` (likewise).
    fn backward_weights_bias<B: Backend>(self, be: &mut B, x: View, dy: View, dw: View, db: View);
    /// `y = act(forward + bias)`, `pre` as in [`Backend::dense_forward`].
    #[allow(clippy::too_many_arguments)]
    fn forward_bias_act<B: Backend>(
        self,
        be: &mut B,
        x: View,
        w: View,
        bias: View,
        pre: View,
        y: View,
        act: Activation,
    );
    /// `dpre = backward_data(dy) * act'(y)`, as in
    /// [`Backend::conv2d_backward_data_act`].
    #[allow(clippy::too_many_arguments)]
    fn backward_data_act<B: Backend>(
        self,
        be: &mut B,
        dy: View,
        w: View,
        y: View,
        dpost: View,
        dpre: View,
        act: Activation,
    );
    /// The batch this geometry was set to with `at`.
    fn rows(&self) -> usize;
}

impl ConvGeometry for Conv2dShape {
    fn at(self, rows: usize) -> Self {
        Conv2dShape {
            batch: rows,
            ..self
        }
    }
    fn out_channels(&self) -> usize {
        self.out_channels
    }
    fn out_positions(&self) -> usize {
        Conv2dShape::out_positions(self)
    }
    fn forward<B: Backend>(self, be: &mut B, x: View, w: View, y: View) {
        be.conv2d_forward(x, w, y, self);
    }
    fn backward_data<B: Backend>(self, be: &mut B, dy: View, w: View, dx: View) {
        be.conv2d_backward_data(dy, w, dx, self);
    }
    fn backward_weights<B: Backend>(self, be: &mut B, x: View, dy: View, dw: View) {
        be.conv2d_backward_weights(x, dy, dw, self);
    }
    fn forward_bias<B: Backend>(self, be: &mut B, x: View, w: View, bias: View, y: View) {
        be.conv2d_forward_bias(x, w, bias, y, self);
    }
    fn backward_weights_bias<B: Backend>(self, be: &mut B, x: View, dy: View, dw: View, db: View) {
        be.conv2d_backward_weights_bias(x, dy, dw, db, self);
    }
    fn forward_bias_act<B: Backend>(
        self,
        be: &mut B,
        x: View,
        w: View,
        bias: View,
        pre: View,
        y: View,
        act: Activation,
    ) {
        be.conv2d_forward_bias_act(x, w, bias, pre, y, self, act);
    }
    fn backward_data_act<B: Backend>(
        self,
        be: &mut B,
        dy: View,
        w: View,
        y: View,
        dpost: View,
        dpre: View,
        act: Activation,
    ) {
        be.conv2d_backward_data_act(dy, w, y, dpost, dpre, self, act);
    }
    fn rows(&self) -> usize {
        self.batch
    }
}

impl ConvGeometry for ConvTranspose2dShape {
    fn at(self, rows: usize) -> Self {
        ConvTranspose2dShape {
            batch: rows,
            ..self
        }
    }
    fn out_channels(&self) -> usize {
        self.out_channels
    }
    fn out_positions(&self) -> usize {
        let [oh, ow] = self.out_size();
        oh * ow
    }
    fn forward<B: Backend>(self, be: &mut B, x: View, w: View, y: View) {
        be.conv_transpose2d_forward(x, w, y, self);
    }
    fn backward_data<B: Backend>(self, be: &mut B, dy: View, w: View, dx: View) {
        be.conv_transpose2d_backward_data(dy, w, dx, self);
    }
    fn backward_weights<B: Backend>(self, be: &mut B, x: View, dy: View, dw: View) {
        be.conv_transpose2d_backward_weights(x, dy, dw, self);
    }
    fn forward_bias<B: Backend>(self, be: &mut B, x: View, w: View, bias: View, y: View) {
        be.conv_transpose2d_forward_bias(x, w, bias, y, self);
    }
    fn backward_weights_bias<B: Backend>(self, be: &mut B, x: View, dy: View, dw: View, db: View) {
        be.conv_transpose2d_backward_weights_bias(x, dy, dw, db, self);
    }
    fn forward_bias_act<B: Backend>(
        self,
        be: &mut B,
        x: View,
        w: View,
        bias: View,
        pre: View,
        y: View,
        act: Activation,
    ) {
        be.conv_transpose2d_forward_bias_act(x, w, bias, pre, y, self, act);
    }
    fn backward_data_act<B: Backend>(
        self,
        be: &mut B,
        dy: View,
        w: View,
        y: View,
        dpost: View,
        dpre: View,
        act: Activation,
    ) {
        be.conv_transpose2d_backward_data_act(dy, w, y, dpost, dpre, self, act);
    }
    fn rows(&self) -> usize {
        self.batch
    }
}

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

impl<G: ConvGeometry> Conv<G> {
    /// x [B, Ci, H, W] -> y [B, Co, OH, OW].
    pub fn forward<B: Backend>(&self, be: &mut B, x: View, y: View, rows: usize) {
        let g = self.shape.at(rows);
        g.forward_bias(be, x, self.weight, self.bias, y);
    }

    /// `y = act(forward + bias)`; `pre` may receive the pre-activation
    /// (backends that do not fuse write it; see [`Backend::dense_forward`]).
    pub fn forward_act<B: Backend>(
        &self,
        be: &mut B,
        x: View,
        pre: View,
        y: View,
        rows: usize,
        act: Activation,
    ) {
        let g = self.shape.at(rows);
        g.forward_bias_act(be, x, self.weight, self.bias, pre, y, act);
    }

    /// dW += the weight gradient and db += sum dy over batch and positions.
    pub fn backward_weights<B: Backend>(&self, be: &mut B, x: View, dy: View, rows: usize) {
        let g = self.shape.at(rows);
        g.backward_weights_bias(be, x, dy, self.dweight, self.dbias);
    }

    /// The input gradient through the activation `act` that produced this
    /// layer's input `y`: `dpost = backward_data(dy)`, `dpre = dpost *
    /// act'(y)` (see [`Backend::conv2d_backward_data_act`]).
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
        let g = self.shape.at(rows);
        g.backward_data_act(be, dy, self.weight, y, dpost, dpre, act);
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
        let g = self.shape.at(rows);
        g.backward_weights_bias(be, x, dy, self.dweight, self.dbias);
        if let Some(dx) = dx {
            g.backward_data(be, dy, self.weight, dx);
        }
    }
}
