//! A fully connected layer, `y = x W^T + b`, with PyTorch's layout `W [out, in]`.
//!
//! The layer runs through the backend's dense ops, so a backend can fuse:
//! the bias and the following activation into the forward product
//! ([`Backend::dense_forward`]), the bias gradient into the weight gradient
//! ([`Backend::dense_backward_weights`]), and the previous activation's
//! derivative into the input gradient ([`Backend::dense_backward_data_act`]).

use crate::backend::{Activation, Backend, Matmul, View};

#[derive(Clone, Debug)]
pub struct Dense {
    pub in_features: usize,
    pub out_features: usize,
    /// Views into the flat parameter and gradient buffers.
    pub weight: View,
    pub bias: View,
    pub dweight: View,
    pub dbias: View,
}

impl Dense {
    fn features(&self) -> [usize; 2] {
        [self.in_features, self.out_features]
    }

    /// x [B, in] -> y [B, out].
    pub fn forward<B: Backend>(&self, be: &mut B, x: View, y: View, rows: usize) {
        self.forward_act(be, x, y, y, rows, Activation::Identity);
    }

    /// `y = act(x W^T + b)`; `pre` may receive `x W^T + b` (backends that do
    /// not fuse write it; see [`Backend::dense_forward`]).
    pub fn forward_act<B: Backend>(
        &self,
        be: &mut B,
        x: View,
        pre: View,
        y: View,
        rows: usize,
        act: Activation,
    ) {
        let f = self.features();
        be.dense_forward(x, self.weight, self.bias, pre, y, rows, f, act);
    }

    /// dW += dy^T x, db += colsum(dy), and dx = dy W when asked.
    pub fn backward<B: Backend>(
        &self,
        be: &mut B,
        x: View,
        dy: View,
        dx: Option<View>,
        rows: usize,
    ) {
        self.backward_accumulating(be, x, dy, dx, false, rows);
    }

    /// As `backward`, with the option to add into `dx` (two heads reading
    /// one input both send their gradient there).
    pub fn backward_accumulating<B: Backend>(
        &self,
        be: &mut B,
        x: View,
        dy: View,
        dx: Option<View>,
        accumulate_dx: bool,
        rows: usize,
    ) {
        self.backward_weights(be, x, dy, rows);
        if let Some(dx) = dx {
            let spec = Matmul {
                m: rows,
                n: self.in_features,
                k: self.out_features,
                trans_a: false,
                trans_b: false,
                accumulate: accumulate_dx,
            };
            be.matmul(dy, self.weight, dx, spec);
        }
    }

    /// dW += dy^T x and db += colsum(dy).
    pub fn backward_weights<B: Backend>(&self, be: &mut B, x: View, dy: View, rows: usize) {
        let f = self.features();
        be.dense_backward_weights(x, dy, self.dweight, self.dbias, rows, f);
    }

    /// The input gradient through the activation `act` that produced this
    /// layer's input `y`: `dpost (+)= dy W`, `dpre = dpost * act'(y)` (see
    /// [`Backend::dense_backward_data_act`]).
    #[allow(clippy::too_many_arguments)]
    pub fn backward_data_act<B: Backend>(
        &self,
        be: &mut B,
        dy: View,
        y: View,
        dpost: View,
        dpre: View,
        act: Activation,
        accumulate: bool,
        rows: usize,
    ) {
        let f = self.features();
        be.dense_backward_data_act(dy, self.weight, y, dpost, dpre, rows, f, act, accumulate);
    }
}
