//! The GPU convolutions (implicit GEMMs in conv_gemm.wgsl; col2im around the
//! tiled matmul for the gradient to the data) against the CPU
//! oracle on awkward shapes: batch 1, 5x5 and 7x9 inputs, stride 2 on odd
//! sizes, 1 and 3 input channels, rectangular kernels, output padding 1,
//! views at odd offsets, a batch split into chunks. Needs a GPU adapter (on
//! machines without a GPU, Mesa's lavapipe); no adapter fails.

use crate::common::gpu::{each_shape, gpu, Pair};
use crate::common::{conv, deconv};
use vae_playground::backend::{Backend, Conv2dShape, ConvTranspose2dShape};
use vae_playground::rng;

fn data(n: usize, seed: u32) -> Vec<f32> {
    (0..n as u32)
        .map(|i| 2.0 * rng::uniform(seed, 55, i) - 1.0)
        .collect()
}

fn conv_shapes() -> Vec<Conv2dShape> {
    vec![
        conv(1, 1, [5, 5], 1, [3, 3], [2, 2], [1, 1]),
        conv(1, 3, [7, 9], 5, [3, 3], [2, 2], [1, 1]),
        conv(2, 3, [7, 9], 4, [4, 2], [2, 1], [1, 0]),
        conv(3, 1, [5, 5], 7, [2, 3], [1, 2], [0, 1]),
        conv(5, 3, [9, 7], 65, [5, 5], [2, 3], [2, 2]),
        // The `conv` preset's two encoder layers.
        conv(3, 1, [28, 28], 32, [4, 4], [2, 2], [1, 1]),
        conv(3, 32, [14, 14], 64, [4, 4], [2, 2], [1, 1]),
    ]
}

fn deconv_shapes() -> Vec<ConvTranspose2dShape> {
    vec![
        deconv(1, 1, [5, 5], 1, [3, 3], [2, 2], [1, 1], [1, 1]),
        deconv(1, 3, [7, 9], 2, [3, 3], [2, 2], [1, 1], [1, 0]),
        deconv(2, 3, [5, 5], 3, [4, 3], [2, 1], [1, 0], [1, 0]),
        deconv(3, 1, [7, 9], 5, [2, 2], [3, 2], [0, 1], [2, 1]),
        // The `conv` preset's decoder and `conv2`'s output-padded one.
        deconv(2, 64, [7, 7], 32, [4, 4], [2, 2], [1, 1], [0, 0]),
        deconv(2, 32, [14, 14], 1, [4, 4], [2, 2], [1, 1], [0, 0]),
        deconv(2, 64, [7, 7], 32, [3, 3], [2, 2], [1, 1], [1, 1]),
    ]
}

/// Tolerance for sums of `k` products of magnitude <= 1 in different orders.
fn tol(k: usize) -> f32 {
    2e-6 * k as f32
}

#[test]
fn conv2d_forward_backward_data_and_weights() {
    each_shape(|mut p, _| {
        for (i, s) in conv_shapes().into_iter().enumerate() {
            let seed = i as u32 * 10;
            let x = p.upload_padded(&data(s.batch * s.in_len(), seed + 1), 3);
            let w = p.upload_padded(&data(s.weight_len(), seed + 2), 1);
            let y = p.upload_padded(&data(s.batch * s.out_len(), seed + 3), 5);
            p.g.conv2d_forward(x.g, w.g, y.g, s);
            p.c.conv2d_forward(x.c, w.c, y.c, s);
            p.assert_close(y, tol(s.patch_len()), 1e-5, &format!("forward {s:?}"));

            let dy = p.upload_padded(&data(s.batch * s.out_len(), seed + 4), 2);
            let dx = p.upload_padded(&data(s.batch * s.in_len(), seed + 5), 0);
            p.g.conv2d_backward_data(dy.g, w.g, dx.g, s);
            p.c.conv2d_backward_data(dy.c, w.c, dx.c, s);
            let taps = s.out_channels * s.kernel[0] * s.kernel[1];
            p.assert_close(dx, tol(taps), 1e-5, &format!("backward_data {s:?}"));

            // Accumulates into a non-zero gradient.
            let dw = p.upload_padded(&data(s.weight_len(), seed + 6), 7);
            p.g.conv2d_backward_weights(x.g, dy.g, dw.g, s);
            p.c.conv2d_backward_weights(x.c, dy.c, dw.c, s);
            let terms = s.batch * s.out_positions();
            p.assert_close(dw, tol(terms), 1e-5, &format!("backward_weights {s:?}"));
        }
    });
}

#[test]
fn conv_transpose2d_forward_backward_data_and_weights() {
    each_shape(|mut p, _| {
        for (i, s) in deconv_shapes().into_iter().enumerate() {
            let seed = 100 + i as u32 * 10;
            let x = p.upload_padded(&data(s.batch * s.in_len(), seed + 1), 1);
            let w = p.upload_padded(&data(s.weight_len(), seed + 2), 4);
            let y = p.upload_padded(&data(s.batch * s.out_len(), seed + 3), 0);
            p.g.conv_transpose2d_forward(x.g, w.g, y.g, s);
            p.c.conv_transpose2d_forward(x.c, w.c, y.c, s);
            let taps = s.in_channels * s.kernel[0] * s.kernel[1];
            p.assert_close(y, tol(taps), 1e-5, &format!("forward {s:?}"));

            let dy = p.upload_padded(&data(s.batch * s.out_len(), seed + 4), 6);
            let dx = p.upload_padded(&data(s.batch * s.in_len(), seed + 5), 2);
            p.g.conv_transpose2d_backward_data(dy.g, w.g, dx.g, s);
            p.c.conv_transpose2d_backward_data(dy.c, w.c, dx.c, s);
            let k = s.out_channels * s.kernel[0] * s.kernel[1];
            p.assert_close(dx, tol(k), 1e-5, &format!("backward_data {s:?}"));

            let dw = p.upload_padded(&data(s.weight_len(), seed + 6), 3);
            p.g.conv_transpose2d_backward_weights(x.g, dy.g, dw.g, s);
            p.c.conv_transpose2d_backward_weights(x.c, dy.c, dw.c, s);
            let terms = s.batch * s.in_size[0] * s.in_size[1];
            p.assert_close(dw, tol(terms), 1e-5, &format!("backward_weights {s:?}"));
        }
    });
}

#[test]
fn conv2d_with_the_batch_split_into_chunks() {
    // K P = 400 * 4096 words per sample: the GPU's 2^23-word scratch takes 5
    // samples per chunk, the CPU's 2^22 takes 2, so 7 samples run as 5 + 2
    // and 2 + 2 + 2 + 1.
    let s = Conv2dShape {
        batch: 7,
        in_channels: 16,
        in_size: [64, 64],
        out_channels: 3,
        kernel: [5, 5],
        stride: [1, 1],
        padding: [2, 2],
    };
    each_shape(|mut p, _| {
        let x = p.upload_padded(&data(s.batch * s.in_len(), 1), 1);
        let w = p.upload_padded(&data(s.weight_len(), 2), 0);
        let y = p.upload_padded(&vec![0.0; s.batch * s.out_len()], 0);
        p.g.conv2d_forward(x.g, w.g, y.g, s);
        p.c.conv2d_forward(x.c, w.c, y.c, s);
        p.assert_close(y, tol(s.patch_len()), 1e-5, "chunked forward");
        let dx = p.upload_padded(&vec![0.0; s.batch * s.in_len()], 0);
        p.g.conv2d_backward_data(y.g, w.g, dx.g, s);
        p.c.conv2d_backward_data(y.c, w.c, dx.c, s);
        p.assert_close(dx, 1e-3, 1e-5, "chunked backward_data");
        let dw = p.upload_padded(&vec![0.0; s.weight_len()], 0);
        p.g.conv2d_backward_weights(x.g, y.g, dw.g, s);
        p.c.conv2d_backward_weights(x.c, y.c, dw.c, s);
        p.assert_close(dw, 2e-2, 1e-4, "chunked backward_weights");
    });
}

#[test]
fn channel_bias_add_and_grad() {
    let mut g = gpu();
    let mut p = Pair::new(&mut g);
    for &(batch, c, s) in &[(1, 1, 1), (1, 3, 25), (5, 7, 63), (3, 64, 49), (2, 300, 1)] {
        let y = p.upload_padded(&data(batch * c * s, 1), 3);
        let bias = p.upload_padded(&data(c, 2), 1);
        p.g.channel_bias_add(y.g, bias.g, batch, c, s);
        p.c.channel_bias_add(y.c, bias.c, batch, c, s);
        p.assert_close(y, 0.0, 0.0, &format!("channel_bias_add {batch}x{c}x{s}"));
        let db = p.upload_padded(&data(c, 3), 2);
        p.g.channel_bias_grad(y.g, db.g, batch, c, s);
        p.c.channel_bias_grad(y.c, db.c, batch, c, s);
        p.assert_close(
            db,
            2e-6 * (batch * s) as f32,
            1e-5,
            &format!("channel_bias_grad {batch}x{c}x{s}"),
        );
    }
}

#[test]
fn conv2d_with_the_bias_fused_and_the_weight_gradient_split() {
    // The GPU adds the bias in the forward's epilogue and sums dy per channel
    // as one more column of the split-K weight gradient. Thin shapes (the
    // `conv` preset's first layer: Co 32, K 16) with N = B P not a multiple
    // of the slice or of the 16-deep slab, many slices (B 64: 49 of 256), a
    // fat one (Co 65 over two tiles), batch 1 and a single channel.
    let shapes = [
        conv(3, 1, [28, 28], 32, [4, 4], [2, 2], [1, 1]),
        conv(9, 1, [28, 28], 32, [4, 4], [2, 2], [1, 1]),
        conv(64, 1, [28, 28], 32, [4, 4], [2, 2], [1, 1]),
        conv(5, 3, [9, 7], 65, [5, 5], [2, 3], [2, 2]),
        conv(1, 1, [5, 5], 1, [3, 3], [2, 2], [1, 1]),
        conv(2, 3, [7, 9], 4, [4, 2], [2, 1], [1, 0]),
    ];
    each_shape(|mut p, _| {
        for (i, s) in shapes.into_iter().enumerate() {
            let seed = 300 + i as u32 * 10;
            let x = p.upload_padded(&data(s.batch * s.in_len(), seed + 1), 3);
            let w = p.upload_padded(&data(s.weight_len(), seed + 2), 1);
            let bias = p.upload_padded(&data(s.out_channels, seed + 3), 2);
            let y = p.upload_padded(&data(s.batch * s.out_len(), seed + 4), 5);
            p.g.conv2d_forward_bias(x.g, w.g, bias.g, y.g, s);
            p.c.conv2d_forward_bias(x.c, w.c, bias.c, y.c, s);
            let what = format!("forward with bias {s:?}");
            p.assert_close(y, tol(s.patch_len() + 1), 1e-5, &what);

            let dy = p.upload_padded(&data(s.batch * s.out_len(), seed + 5), 2);
            let dw = p.upload_padded(&data(s.weight_len(), seed + 6), 7);
            let db = p.upload_padded(&data(s.out_channels, seed + 7), 1);
            p.g.conv2d_backward_weights_bias(x.g, dy.g, dw.g, db.g, s);
            p.c.conv2d_backward_weights_bias(x.c, dy.c, dw.c, db.c, s);
            let terms = s.batch * s.out_positions();
            let what = format!("backward_weights with bias {s:?}");
            p.assert_close(dw, tol(terms), 1e-5, &what);
            p.assert_close(db, tol(terms), 1e-5, &format!("bias gradient {s:?}"));
        }
    });
}
