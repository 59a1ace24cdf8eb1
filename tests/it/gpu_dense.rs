//! The GPU's fused dense ops (bias and activation in the matmul's epilogue,
//! the bias gradient folded into the weight gradient, the previous
//! activation's derivative in the input gradient) and the paired loss sum,
//! against the CPU backend's unfused defaults, on awkward shapes: batch 1,
//! sizes that are no multiple of the 64-wide tile, views at odd offsets,
//! weight and bias packed back to back in one buffer (as in the model's flat
//! parameter and gradient buffers) or in buffers of their own.
//! Needs a GPU adapter (lavapipe on machines without one); no adapter fails.

use crate::common::gpu::{each_shape, gpu, Pair, T};
use vae_playground::backend::{Activation, Backend};
use vae_playground::rng;

fn data(n: usize, seed: u32, lo: f32, hi: f32) -> Vec<f32> {
    (0..n as u32)
        .map(|i| lo + (hi - lo) * rng::uniform(seed, 91, i))
        .collect()
}

const ACTS: [Activation; 5] = [
    Activation::Identity,
    Activation::Relu,
    Activation::LeakyRelu,
    Activation::Sigmoid,
    Activation::Tanh,
];

/// (rows, in, out).
const SHAPES: [(usize, usize, usize); 5] = [
    (1, 1, 1),
    (1, 785, 7),
    (7, 300, 129),
    (129, 65, 300),
    (130, 784, 64),
];

/// A weight `[out, in]` and a bias `[out]`: back to back in one buffer at an
/// odd offset (`packed`), or in two buffers.
fn weight_and_bias(p: &mut Pair, out: usize, inp: usize, seed: u32, packed: bool) -> (T, T) {
    let (nw, nb) = (out * inp, out);
    if packed {
        let all = p.upload(&data(3 + nw + nb + 2, seed, -1.0, 1.0));
        (all.slice(3, nw), all.slice(3 + nw, nb))
    } else {
        let w = p.upload_padded(&data(nw, seed, -1.0, 1.0), 5);
        let b = p.upload_padded(&data(nb, seed + 1, -1.0, 1.0), 1);
        (w, b)
    }
}

#[test]
fn dense_forward_bias_and_activation_in_the_epilogue() {
    each_shape(|mut p, _| {
        for (si, &(rows, inp, out)) in SHAPES.iter().enumerate() {
            for (ai, &act) in ACTS.iter().enumerate() {
                let packed = (si + ai) % 2 == 0;
                let x = p.upload_padded(&data(rows * inp, si as u32, -1.0, 1.0), 3);
                let (w, b) = weight_and_bias(&mut p, out, inp, 10 + ai as u32, packed);
                let y = p.upload(&data(rows * out, 40, -1.0, 1.0));
                // The CPU's default writes the pre-activation here.
                let pre = p.alloc(rows * out);
                let pre_or_y = |t: T| if act == Activation::Identity { y } else { t };
                let pv = pre_or_y(pre);
                p.g.dense_forward(x.g, w.g, b.g, pv.g, y.g, rows, [inp, out], act);
                p.c.dense_forward(x.c, w.c, b.c, pv.c, y.c, rows, [inp, out], act);
                // The matmul test's tolerance: every activation here has a slope <= 1.
                p.assert_close(
                    y,
                    2e-6 * inp as f32,
                    1e-5,
                    &format!("dense_forward {rows}x{inp}->{out} {act:?} packed {packed}"),
                );
            }
        }
    });
}

#[test]
fn dense_backward_weights_folds_in_the_bias_gradient() {
    each_shape(|mut p, _| {
        for (si, &(rows, inp, out)) in SHAPES.iter().enumerate() {
            for packed in [true, false] {
                let x = p.upload_padded(&data(rows * inp, si as u32, -1.0, 1.0), 1);
                let dy = p.upload_padded(&data(rows * out, 7 + si as u32, -1.0, 1.0), 2);
                // Gradients accumulate: start from non-zero values.
                let (dw, db) = weight_and_bias(&mut p, out, inp, 20 + si as u32, packed);
                p.g.dense_backward_weights(x.g, dy.g, dw.g, db.g, rows, [inp, out]);
                p.c.dense_backward_weights(x.c, dy.c, dw.c, db.c, rows, [inp, out]);
                let what = format!("{rows}x{inp}->{out} packed {packed}");
                // Sums of `rows` products of magnitude <= 1, as in the matmul test.
                p.assert_close(dw, 2e-6 * rows as f32, 1e-5, &format!("dW {what}"));
                // bias_grad's tolerance (sums of `rows` terms, different orders).
                p.assert_close(db, 1e-6 * rows as f32, 1e-5, &format!("db {what}"));
            }
        }
    });
}

/// `act(pre)` as the layer below would have produced it.
fn activated(act: Activation, pre: &[f32]) -> Vec<f32> {
    pre.iter()
        .map(|&v| match act {
            Activation::Identity => v,
            Activation::Relu => v.max(0.0),
            Activation::LeakyRelu => {
                if v > 0.0 {
                    v
                } else {
                    Activation::LEAKY_SLOPE * v
                }
            }
            Activation::Sigmoid => 1.0 / (1.0 + (-v).exp()),
            Activation::Tanh => v.tanh(),
        })
        .collect()
}

#[test]
fn dense_backward_data_through_the_previous_activation() {
    each_shape(|mut p, _| {
        for (si, &(rows, inp, out)) in SHAPES.iter().enumerate() {
            for (ai, &act) in ACTS.iter().enumerate() {
                for accumulate in [false, true] {
                    let dy = p.upload_padded(&data(rows * out, si as u32, -1.0, 1.0), 3);
                    let w = p.upload_padded(&data(out * inp, 30 + ai as u32, -1.0, 1.0), 1);
                    // Some pre-activations exactly zero (relu's kink).
                    let mut pre = data(rows * inp, 50 + si as u32, -2.0, 2.0);
                    for v in pre.iter_mut().step_by(11) {
                        *v = 0.0;
                    }
                    let y = p.upload_padded(&activated(act, &pre), 2);
                    let dpost = p.upload(&data(rows * inp, 60, -1.0, 1.0));
                    let dpre = p.upload(&data(rows * inp, 61, -1.0, 1.0));
                    let f = [inp, out];
                    p.g.dense_backward_data_act(
                        dy.g, w.g, y.g, dpost.g, dpre.g, rows, f, act, accumulate,
                    );
                    p.c.dense_backward_data_act(
                        dy.c, w.c, y.c, dpost.c, dpre.c, rows, f, act, accumulate,
                    );
                    // Derivatives are <= 1: the matmul test's tolerance.
                    p.assert_close(
                        dpre,
                        2e-6 * out as f32,
                        1e-5,
                        &format!(
                            "dense_backward_data_act {rows}x{inp}<-{out} {act:?} accumulate {accumulate}"
                        ),
                    );
                }
            }
        }
    });
}

#[test]
fn sum_pair_into_adds_both_sums() {
    let mut g = gpu();
    let mut p = Pair::new(&mut g);
    for &(na, nb) in &[(1, 1), (128, 128), (300, 7), (1000, 513)] {
        let a = p.upload_padded(&data(na, 1, -1.0, 1.0), 3);
        let b = p.upload_padded(&data(nb, 2, 0.0, 10.0), 1);
        let dst = p.upload_padded(&[0.5, -2.0], 5);
        for _ in 0..2 {
            p.g.sum_pair_into(a.g, b.g, dst.g);
            p.c.sum_pair_into(a.c, b.c, dst.c);
        }
        // sum_into's tolerance (f32 tree sum vs the CPU's f64 sum).
        p.assert_close(dst, 1e-5, 1e-5, &format!("sum_pair {na} {nb}"));
    }
}
