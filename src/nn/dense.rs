//! A fully connected layer, `y = x W^T + b`, with PyTorch's layout `W [out, in]`.

use crate::backend::{Backend, Matmul, View};

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
    /// x [B, in] -> y [B, out].
    pub fn forward<B: Backend>(&self, be: &mut B, x: View, y: View, rows: usize) {
        let spec = Matmul {
            m: rows,
            n: self.out_features,
            k: self.in_features,
            trans_a: false,
            trans_b: true,
            accumulate: false,
        };
        be.matmul(x, self.weight, y, spec);
        be.bias_add(y, self.bias, rows, self.out_features);
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
        let (o, i) = (self.out_features, self.in_features);
        let dw = Matmul {
            m: o,
            n: i,
            k: rows,
            trans_a: true,
            trans_b: false,
            accumulate: true,
        };
        be.matmul(dy, x, self.dweight, dw);
        be.bias_grad(dy, self.dbias, rows, o);
        if let Some(dx) = dx {
            let spec = Matmul {
                m: rows,
                n: i,
                k: o,
                trans_a: false,
                trans_b: false,
                accumulate: accumulate_dx,
            };
            be.matmul(dy, self.weight, dx, spec);
        }
    }
}
