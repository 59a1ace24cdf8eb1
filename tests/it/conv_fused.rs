//! The CPU backend's fused convolution ops (bias, activation and the
//! activation's derivative folded into the products) against their unfused
//! parts, on awkward shapes of both convolution kinds.

use crate::common::{conv, deconv, read, upload};
use crate::conv_gradients::{conv_shapes, deconv_shapes, values};
use vae_playground::backend::{ActAfter, ActBefore, Activation, Backend, ConvShape};
use vae_playground::cpu::CpuBackend;

/// `act` of each value, some inputs set to exactly zero first (relu's kink).
fn activated(act: Activation, pre: &[f32]) -> Vec<f32> {
    let mut be = CpuBackend::new();
    let mut pre = pre.to_vec();
    pre.iter_mut().step_by(7).for_each(|v| *v = 0.0);
    let (x, y) = (upload(&mut be, &pre), be.alloc(pre.len(), "y"));
    be.activation(act, x, y);
    read(&mut be, y)
}

/// One convolution (or transposed one) of `cpu_fused_ops_match_their_parts`:
/// the forward with bias and activation, the input gradient through the
/// activation below, and the weight and bias gradients, each fused op against
/// its parts. `lens`: the input, output and weight lengths; `s`: the seeds.
fn conv_fused_matches_parts<G: Into<ConvShape> + std::fmt::Debug>(
    be: &mut CpuBackend,
    g: G,
    lens: [usize; 3],
    act: Activation,
    s: u32,
) {
    let [xl, yl, wl] = lens;
    let name = format!("{g:?} {act:?}");
    let g: ConvShape = g.into();
    let (rows, c, pos) = (g.batch(), g.out_channels(), g.out_positions());
    let x = upload(be, &values(xl, s + 1, 1.0));
    let w = upload(be, &values(wl, s + 2, 0.5));
    let b = upload(be, &values(c, s + 3, 0.5));
    let dy = upload(be, &values(yl, s + 4, 1.0));
    // Forward: conv, bias, activation.
    let (pre, y) = (be.alloc(yl, "pre"), be.alloc(yl, "y"));
    be.conv_forward(x, w, None, pre, g, None);
    be.bias_add(pre, b, [rows, c, pos]);
    be.activation(act, pre, y);
    let fused = be.alloc(yl, "fused");
    be.conv_forward(x, w, Some(b), fused, g, Some(ActAfter { act, pre }));
    assert_eq!(read(be, fused), read(be, y), "forward {name}");
    // Input gradient through the activation that made x.
    let xa = upload(be, &activated(act, &values(xl, s + 5, 2.0)));
    let (dpost, dpre) = (be.alloc(xl, "dpost"), be.alloc(xl, "dpre"));
    be.conv_backward_data(dy, w, dpost, g, None);
    be.activation_backward(act, xa, xa, dpost, dpre);
    let fused = be.alloc(xl, "fused");
    let before = ActBefore { act, y: xa, dpost };
    be.conv_backward_data(dy, w, fused, g, Some(before));
    assert_eq!(read(be, fused), read(be, dpre), "dx {name}");
    // Weight and bias gradients, added to what is there.
    let (dw0, db0) = (values(wl, s + 6, 1.0), values(c, s + 7, 1.0));
    let (dw, db) = (upload(be, &dw0), upload(be, &db0));
    be.conv_backward_weights(x, dy, dw, None, g);
    be.bias_grad(dy, db, [rows, c, pos]);
    let (fdw, fdb) = (upload(be, &dw0), upload(be, &db0));
    be.conv_backward_weights(x, dy, fdw, Some(fdb), g);
    assert_eq!(read(be, fdw), read(be, dw), "dW {name}");
    let (got, want) = (read(be, fdb), read(be, db));
    assert_eq!(got.len(), want.len(), "db {name}: lengths");
    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
        assert!(
            (a - b).abs() <= 1e-6 * (1.0 + b.abs()),
            "db {name}[{i}]: {a} vs {b}"
        );
    }
}

/// The CPU backend runs a layer's bias, activation and the activation's
/// derivative inside its convolutions and dense products (while the output
/// is in cache). Each fused op must give what its parts give, run one after
/// the other on the same backend: the same bits for the outputs and the
/// weight gradients; the bias gradients, summed per group of samples
/// there, within 1e-6 of the parts' (both add in f64). The shapes include
/// batches of several groups with a short last one, and every activation.
#[test]
fn cpu_fused_ops_match_their_parts() {
    let acts = [
        Activation::Identity,
        Activation::Relu,
        Activation::LeakyRelu,
        Activation::Sigmoid,
        Activation::Tanh,
    ];
    let mut convs = conv_shapes();
    convs.push(conv(41, 32, [14, 14], 64, [4, 4], [2, 2], [1, 1]));
    convs.push(conv(37, 3, [9, 11], 5, [3, 4], [2, 1], [1, 2]));
    let mut deconvs = deconv_shapes();
    deconvs.push(deconv(37, 64, [7, 7], 32, [4, 4], [2, 2], [1, 1], [0, 0]));
    let mut be = CpuBackend::new();
    for (ai, &act) in acts.iter().enumerate() {
        for (ci, g) in convs.iter().enumerate() {
            let s = 900 + (ai * 20 + ci) as u32 * 10;
            let lens = [g.batch * g.in_len(), g.batch * g.out_len(), g.weight_len()];
            conv_fused_matches_parts(&mut be, *g, lens, act, s);
        }
        for (ci, g) in deconvs.iter().enumerate() {
            let s = 5000 + (ai * 20 + ci) as u32 * 10;
            let lens = [g.batch * g.in_len(), g.batch * g.out_len(), g.weight_len()];
            conv_fused_matches_parts(&mut be, *g, lens, act, s);
        }
        // Dense: product, bias, activation; and the input gradient through
        // the activation below, written fresh and added to `dpost`.
        for (di, &(rows, inp, out)) in [(5, 7, 3), (128, 300, 65), (1, 1, 1)].iter().enumerate() {
            let s = 9000 + (ai * 10 + di) as u32 * 10;
            let name = format!("dense {rows}x{inp}->{out} {act:?}");
            let x = upload(&mut be, &values(rows * inp, s + 1, 1.0));
            let w = upload(&mut be, &values(out * inp, s + 2, 0.5));
            let b = upload(&mut be, &values(out, s + 3, 0.5));
            let (pre, y) = (be.alloc(rows * out, "pre"), be.alloc(rows * out, "y"));
            let spec = |m, n, k, trans_b, accumulate| vae_playground::backend::Matmul {
                m,
                n,
                k,
                trans_a: false,
                trans_b,
                accumulate,
            };
            be.matmul(x, w, pre, spec(rows, out, inp, true, false));
            be.bias_add(pre, b, [rows, out, 1]);
            be.activation(act, pre, y);
            let fused = be.alloc(rows * out, "fused");
            be.dense_forward(x, w, b, pre, fused, rows, [inp, out], act);
            assert_eq!(read(&mut be, fused), read(&mut be, y), "forward {name}");
            let dy = upload(&mut be, &values(rows * out, s + 4, 1.0));
            let xa = upload(&mut be, &activated(act, &values(rows * inp, s + 5, 2.0)));
            for accumulate in [false, true] {
                let d0 = values(rows * inp, s + 6, 1.0);
                let (dpost, dpre) = (upload(&mut be, &d0), be.alloc(rows * inp, "dpre"));
                be.matmul(dy, w, dpost, spec(rows, inp, out, false, accumulate));
                be.activation_backward(act, xa, xa, dpost, dpre);
                let (fpost, fused) = (upload(&mut be, &d0), be.alloc(rows * inp, "fused"));
                let f = [inp, out];
                be.dense_backward_data_act(dy, w, xa, fpost, fused, rows, f, act, accumulate);
                let want = read(&mut be, dpre);
                assert_eq!(
                    read(&mut be, fused),
                    want,
                    "dx {name} accumulate {accumulate}"
                );
            }
        }
    }
}
