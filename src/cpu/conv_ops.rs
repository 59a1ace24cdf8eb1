//! The CPU backend's convolution ops over its arena: either kind, with the
//! bias and the activation (or its derivative) fused into the kernels of
//! `conv.rs`. A transposed convolution runs as its adjoint `Conv2d` with the
//! passes swapped: its forward is the adjoint's input gradient and the other
//! way round.
//!
//! Shape legend: B batch, C channels, H height, W width.

use super::{conv, CpuBackend};
use crate::backend::{ActAfter, ActBefore, Activation, Conv2dShape, ConvShape, View};

/// Every kind, bias and activation runs fused: a transposed
/// convolution's forward is its adjoint's input gradient, with the bias
/// and activation in that kernel's epilogue.
pub(super) fn forward(
    be: &mut CpuBackend,
    x: View,
    w: View,
    bias: Option<View>,
    y: View,
    shape: ConvShape,
    act: Option<ActAfter>,
) {
    let act = act.map_or(Activation::Identity, |a| a.act);
    match shape {
        ConvShape::Conv2d(g) => conv2d_forward(be, x, w, bias, None, y, g, act),
        ConvShape::ConvTranspose2d(g) => {
            conv2d_backward_data(be, x, w, bias, None, y, g.adjoint(), act)
        }
    }
}

pub(super) fn backward_data(
    be: &mut CpuBackend,
    dy: View,
    w: View,
    dx: View,
    shape: ConvShape,
    act: Option<ActBefore>,
) {
    let (of, act) = act.map_or((None, Activation::Identity), |a| (Some(a.y), a.act));
    match shape {
        ConvShape::Conv2d(g) => conv2d_backward_data(be, dy, w, None, of, dx, g, act),
        // The transposed convolution's input gradient is the adjoint's forward.
        ConvShape::ConvTranspose2d(g) => conv2d_forward(be, dy, w, None, of, dx, g.adjoint(), act),
    }
}

pub(super) fn backward_weights(
    be: &mut CpuBackend,
    x: View,
    dy: View,
    dw: View,
    db: Option<View>,
    shape: ConvShape,
) {
    match shape {
        ConvShape::Conv2d(g) => {
            let bias = db.map(|db| (conv::BiasOf::Dy, db));
            conv2d_backward_weights(be, x, dy, dw, bias, g);
        }
        // The adjoint convolution's input is this layer's output gradient.
        ConvShape::ConvTranspose2d(g) => {
            let bias = db.map(|db| (conv::BiasOf::X, db));
            conv2d_backward_weights(be, dy, x, dw, bias, g.adjoint());
        }
    }
}

/// `y = conv2d(x, w)`, then `act(y + bias)` (where given) or `y *
/// act'(of)` (where `of` is given).
#[allow(clippy::too_many_arguments)]
fn conv2d_forward(
    be: &mut CpuBackend,
    x: View,
    w: View,
    bias: Option<View>,
    of: Option<View>,
    y: View,
    g: Conv2dShape,
    act: Activation,
) {
    let n = g.batch * g.out_len();
    let (x, w, y) = (
        x.slice(0, g.batch * g.in_len()),
        w.slice(0, g.weight_len()),
        y.slice(0, n),
    );
    // Unused stand-ins where there is no bias or activation output.
    let b = bias.map_or(w.slice(0, 0), |b| b.slice(0, g.out_channels));
    let o = of.map_or(x.slice(0, 0), |o| o.slice(0, n));
    let ([x, w, b, o], [y]) = be.split([x, w, b, o], [y]);
    let epi = epilogue(bias.map(|_| b), of.map(|_| o), act);
    conv::forward(x, w, epi, y, &g);
}

/// `dx = conv2d^T(dy, w)`, then the same epilogues as `conv_forward`.
#[allow(clippy::too_many_arguments)]
fn conv2d_backward_data(
    be: &mut CpuBackend,
    dy: View,
    w: View,
    bias: Option<View>,
    of: Option<View>,
    dx: View,
    g: Conv2dShape,
    act: Activation,
) {
    let n = g.batch * g.in_len();
    let (dy, w, dx) = (
        dy.slice(0, g.batch * g.out_len()),
        w.slice(0, g.weight_len()),
        dx.slice(0, n),
    );
    let b = bias.map_or(w.slice(0, 0), |b| b.slice(0, g.in_channels));
    let o = of.map_or(dy.slice(0, 0), |o| o.slice(0, n));
    let ([dy, w, b, o], [dx]) = be.split([dy, w, b, o], [dx]);
    let epi = epilogue(bias.map(|_| b), of.map(|_| o), act);
    conv::backward_data(dy, w, epi, dx, &g);
}

/// `dw +=` the weight gradient (and `db +=` the bias gradient).
fn conv2d_backward_weights(
    be: &mut CpuBackend,
    x: View,
    dy: View,
    dw: View,
    bias: Option<(conv::BiasOf, View)>,
    g: Conv2dShape,
) {
    let (x, dy, dw) = (
        x.slice(0, g.batch * g.in_len()),
        dy.slice(0, g.batch * g.out_len()),
        dw.slice(0, g.weight_len()),
    );
    let mut scratch = std::mem::take(&mut be.conv);
    match bias {
        None => {
            let ([x, dy], [dw]) = be.split([x, dy], [dw]);
            let bias = (conv::BiasOf::None, &mut [][..]);
            conv::backward_weights(x, dy, dw, bias, &g, &mut scratch);
        }
        Some((of, db)) => {
            let channels = match of {
                conv::BiasOf::X => g.in_channels,
                _ => g.out_channels,
            };
            let ([x, dy], [dw, db]) = be.split([x, dy], [dw, db.slice(0, channels)]);
            conv::backward_weights(x, dy, dw, (of, db), &g, &mut scratch);
        }
    }
    be.conv = scratch;
}

/// The convolutions' epilogue: the bias and the activation of a layer's
/// output, or the derivative of the activation whose output is `of`.
fn epilogue<'a>(
    bias: Option<&'a [f32]>,
    of: Option<&'a [f32]>,
    act: Activation,
) -> conv::Epilogue<'a> {
    match of {
        Some(y) => conv::Epilogue::Deriv { act, y },
        None => conv::Epilogue::Out { bias, act },
    }
}
