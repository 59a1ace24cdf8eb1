//! Layers, written once over [`Backend`]. In the manner of llm.c each layer has
//! an explicit `forward` that reads its input and writes its output, and an
//! explicit `backward(dy) -> dx` that accumulates its parameter gradients.
//! A [`Stack`] owns the activations between layers so `backward` finds them.

mod conv;
mod dense;
pub mod plan;

pub use conv::{Conv, Conv2d, ConvTranspose2d};
pub use dense::Dense;

use crate::backend::{Activation, Backend, View};

/// One layer of a stack. Per-sample input and output lengths are fixed at
/// construction; every op takes the batch's row count.
#[derive(Clone, Debug)]
pub enum Layer {
    Dense(Dense),
    /// NCHW in and out, flattened per sample.
    Conv2d(Conv2d),
    ConvTranspose2d(ConvTranspose2d),
    /// An element-wise non-linearity over `len` features.
    Act(Activation, usize),
}

impl Layer {
    pub fn in_len(&self) -> usize {
        match self {
            Layer::Dense(d) => d.in_features,
            Layer::Conv2d(c) => c.shape.in_len(),
            Layer::ConvTranspose2d(c) => c.shape.in_len(),
            Layer::Act(_, n) => *n,
        }
    }

    pub fn out_len(&self) -> usize {
        match self {
            Layer::Dense(d) => d.out_features,
            Layer::Conv2d(c) => c.shape.out_len(),
            Layer::ConvTranspose2d(c) => c.shape.out_len(),
            Layer::Act(_, n) => *n,
        }
    }

    pub fn forward<B: Backend>(&self, be: &mut B, x: View, y: View, rows: usize) {
        match self {
            Layer::Dense(d) => d.forward(be, x, y, rows),
            Layer::Conv2d(c) => c.forward(be, x, y, rows),
            Layer::ConvTranspose2d(c) => c.forward(be, x, y, rows),
            Layer::Act(a, n) => be.activation(*a, x.slice(0, rows * n), y.slice(0, rows * n)),
        }
    }

    /// Whether the layer has parameters (dense or a convolution): an
    /// activation right after one runs in its forward and, in the backward,
    /// in the input gradient of the one after it.
    fn parametric(&self) -> bool {
        !matches!(self, Layer::Act(..))
    }

    /// `y = act(layer(x))`; `pre` may receive the pre-activation (see
    /// [`Backend::dense_forward`]). For parametric layers only.
    fn forward_act<B: Backend>(
        &self,
        be: &mut B,
        x: View,
        pre: View,
        y: View,
        rows: usize,
        act: Activation,
    ) {
        match self {
            Layer::Dense(d) => d.forward_act(be, x, pre, y, rows, act),
            Layer::Conv2d(c) => c.forward_act(be, x, pre, y, rows, act),
            Layer::ConvTranspose2d(c) => c.forward_act(be, x, pre, y, rows, act),
            Layer::Act(..) => unreachable!("an activation has no activation of its own"),
        }
    }

    /// A parametric layer's backward whose input `y` came out of the
    /// activation `act`: the parameter gradients, then the input gradient
    /// through that activation, `dpost` (maybe) and `dpre` (see
    /// [`Backend::dense_backward_data_act`]).
    #[allow(clippy::too_many_arguments)]
    fn backward_through<B: Backend>(
        &self,
        be: &mut B,
        y: View,
        dy: View,
        dpost: View,
        dpre: View,
        act: Activation,
        rows: usize,
    ) {
        match self {
            Layer::Dense(d) => {
                d.backward_weights(be, y, dy, rows);
                d.backward_data_act(be, dy, y, dpost, dpre, act, false, rows);
            }
            Layer::Conv2d(c) => {
                c.backward_weights(be, y, dy, rows);
                c.backward_data_act(be, dy, y, dpost, dpre, act, rows);
            }
            Layer::ConvTranspose2d(c) => {
                c.backward_weights(be, y, dy, rows);
                c.backward_data_act(be, dy, y, dpost, dpre, act, rows);
            }
            Layer::Act(..) => unreachable!("an activation has no parameters"),
        }
    }

    /// Accumulates parameter gradients; writes `dx` when given.
    pub fn backward<B: Backend>(
        &self,
        be: &mut B,
        x: View,
        y: View,
        dy: View,
        dx: Option<View>,
        rows: usize,
    ) {
        match self {
            Layer::Dense(d) => d.backward(be, x, dy, dx, rows),
            Layer::Conv2d(c) => c.backward(be, x, dy, dx, rows),
            Layer::ConvTranspose2d(c) => c.backward(be, x, dy, dx, rows),
            Layer::Act(a, n) => {
                if let Some(dx) = dx {
                    let r = rows * n;
                    be.activation_backward(
                        *a,
                        x.slice(0, r),
                        y.slice(0, r),
                        dy.slice(0, r),
                        dx.slice(0, r),
                    );
                }
            }
        }
    }
}

/// Layers in sequence with the buffers between them, sized for `max_rows`.
pub struct Stack {
    pub layers: Vec<Layer>,
    /// `outs[i]` is layer i's output; gradients `douts[i]` likewise.
    outs: Vec<View>,
    douts: Vec<View>,
    /// Gradient with respect to the stack's input (for a stack fed by another).
    pub dinput: View,
    pub max_rows: usize,
}

impl Stack {
    pub fn new<B: Backend>(be: &mut B, layers: Vec<Layer>, max_rows: usize, label: &str) -> Stack {
        for pair in layers.windows(2) {
            assert_eq!(
                pair[0].out_len(),
                pair[1].in_len(),
                "{label}: layer sizes do not chain"
            );
        }
        let mut alloc = |n: usize, what: &str| be.alloc(n * max_rows, &format!("{label}.{what}"));
        let outs = layers
            .iter()
            .enumerate()
            .map(|(i, l)| alloc(l.out_len(), &format!("out{i}")))
            .collect();
        let douts = layers
            .iter()
            .enumerate()
            .map(|(i, l)| alloc(l.out_len(), &format!("dout{i}")))
            .collect();
        let dinput = alloc(layers[0].in_len(), "dinput");
        Stack {
            layers,
            outs,
            douts,
            dinput,
            max_rows,
        }
    }

    pub fn in_len(&self) -> usize {
        self.layers[0].in_len()
    }

    pub fn out_len(&self) -> usize {
        self.layers.last().unwrap().out_len()
    }

    /// The last layer's output buffer.
    pub fn output(&self) -> View {
        *self.outs.last().unwrap()
    }

    /// Where the caller writes the gradient of the stack's output.
    pub fn doutput(&self) -> View {
        *self.douts.last().unwrap()
    }

    /// The activation at index `i` when it directly follows a parametric
    /// layer: the pair runs as one fused op, which writes the activation's
    /// output only (the pre-activation may be left unwritten: every
    /// activation's derivative is taken from its output, see
    /// [`Backend::dense_backward_data_act`]).
    fn fused_act(&self, i: usize) -> Option<Activation> {
        match (
            i.checked_sub(1).map(|j| &self.layers[j]),
            self.layers.get(i),
        ) {
            (Some(l), Some(Layer::Act(a, _))) if l.parametric() => Some(*a),
            _ => None,
        }
    }

    pub fn forward<B: Backend>(&self, be: &mut B, x: View, rows: usize) {
        assert!(rows <= self.max_rows);
        let mut input = x;
        let mut i = 0;
        while i < self.layers.len() {
            let out = self.outs[i];
            match self.fused_act(i + 1) {
                // A layer then its activation: one op writing the
                // activation's output (`out` is left to the backend).
                Some(act) => {
                    let y = self.outs[i + 1];
                    self.layers[i].forward_act(be, input, out, y, rows, act);
                    input = y;
                    i += 2;
                }
                None => {
                    self.layers[i].forward(be, input, out, rows);
                    input = out;
                    i += 1;
                }
            }
        }
    }

    /// The stack's last layer when it is an activation over a parametric
    /// layer's output, its output and the gradient below it: a caller that computes
    /// `doutput()` with a dense product can fold the activation's derivative
    /// in (`Dense::backward_data_act` into the returned gradient) and then
    /// call `backward_from(.., true)`.
    pub fn top_act(&self) -> Option<(Activation, View, View)> {
        let top = self.layers.len() - 1;
        let act = self.fused_act(top)?;
        Some((act, self.outs[top], self.douts[top - 1]))
    }

    /// Backward from `doutput()`; writes `dinput` only when `need_dinput`.
    pub fn backward<B: Backend>(&self, be: &mut B, x: View, rows: usize, need_dinput: bool) {
        self.backward_from(be, x, rows, need_dinput, false);
    }

    /// `backward`, where `top_done` says the caller already took the
    /// gradient through the top activation (see `top_act`).
    pub fn backward_from<B: Backend>(
        &self,
        be: &mut B,
        x: View,
        rows: usize,
        need_dinput: bool,
        top_done: bool,
    ) {
        // Activations whose backward the layer above has folded in.
        let mut skip = top_done && self.top_act().is_some();
        for i in (0..self.layers.len()).rev() {
            if std::mem::take(&mut skip) {
                continue;
            }
            let input = if i == 0 { x } else { self.outs[i - 1] };
            let dx = match i {
                0 if need_dinput => Some(self.dinput),
                0 => None,
                _ => Some(self.douts[i - 1]),
            };
            let (dy, y) = (self.douts[i], self.outs[i]);
            match &self.layers[i] {
                // A parametric layer over an activation: its input gradient
                // goes through the activation's derivative in the same op.
                layer
                    if layer.parametric()
                        && i >= 2
                        && matches!(self.layers[i - 1], Layer::Act(..)) =>
                {
                    let Layer::Act(act, _) = self.layers[i - 1] else {
                        unreachable!()
                    };
                    let (dpost, dpre) = (self.douts[i - 1], self.douts[i - 2]);
                    layer.backward_through(be, input, dy, dpost, dpre, act, rows);
                    skip = true;
                }
                // Any other activation: the pre-activation may not have been
                // written (fused forward), and the derivative needs only y.
                Layer::Act(a, n) => {
                    if let Some(dx) = dx {
                        let r = rows * n;
                        let yv = y.slice(0, r);
                        be.activation_backward(*a, yv, yv, dy.slice(0, r), dx.slice(0, r));
                    }
                }
                layer => layer.backward(be, input, y, dy, dx, rows),
            }
        }
    }

    pub fn free<B: Backend>(&self, be: &mut B) {
        for &v in self.outs.iter().chain(&self.douts) {
            be.free(v);
        }
        be.free(self.dinput);
    }
}
