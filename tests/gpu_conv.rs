//! The GPU convolutions (conv.wgsl around the tiled matmul) against the CPU
//! oracle on awkward shapes: batch 1, 5x5 and 7x9 inputs, stride 2 on odd
//! sizes, 1 and 3 input channels, rectangular kernels, output padding 1,
//! views at odd offsets, a batch split into chunks. Needs a GPU adapter (on
//! machines without a GPU, Mesa's lavapipe); no adapter fails.

use std::sync::{Mutex, MutexGuard, OnceLock};
use vae_playground::backend::{Backend, Conv2dShape, ConvTranspose2dShape, View};
use vae_playground::cpu::CpuBackend;
use vae_playground::gpu::GpuBackend;
use vae_playground::rng;

fn gpu() -> MutexGuard<'static, GpuBackend> {
    static GPU: OnceLock<Mutex<GpuBackend>> = OnceLock::new();
    GPU.get_or_init(|| {
        let g = GpuBackend::new_blocking().unwrap_or_else(|e| {
            panic!(
                "GPU conv tests need a GPU adapter and found none: {e}\n\
                 On a machine without a GPU, `apt-get install mesa-vulkan-drivers` provides lavapipe."
            )
        });
        Mutex::new(g)
    })
    .lock()
    .unwrap_or_else(|p| p.into_inner())
}

#[derive(Clone, Copy, Debug)]
struct T {
    g: View,
    c: View,
}

struct Pair<'a> {
    g: &'a mut GpuBackend,
    c: CpuBackend,
}

impl Pair<'_> {
    /// `data` uploaded to both backends, at word offset `pad` inside a
    /// larger buffer.
    fn upload(&mut self, data: &[f32], pad: usize) -> T {
        let mut padded = vec![7.0; pad];
        padded.extend_from_slice(data);
        padded.extend([9.0; 3]);
        let t = T {
            g: self.g.alloc(padded.len(), "test"),
            c: self.c.alloc(padded.len(), "test"),
        };
        self.g.write(t.g, &padded);
        self.c.write(t.c, &padded);
        T {
            g: t.g.slice(pad, data.len()),
            c: t.c.slice(pad, data.len()),
        }
    }

    /// `|gpu - cpu| <= abs + rel * |cpu|` everywhere.
    fn assert_close(&mut self, t: T, abs: f32, rel: f32, what: &str) {
        let g = pollster::block_on(self.g.read(t.g)).expect("GPU read failed");
        let c = pollster::block_on(self.c.read(t.c)).expect("CPU read failed");
        assert_eq!(g.len(), c.len());
        for (i, (&x, &y)) in g.iter().zip(&c).enumerate() {
            let err = (x - y).abs();
            assert!(
                err <= abs + rel * y.abs(),
                "{what}: [{i}] gpu {x} vs cpu {y}, |diff| {err}"
            );
        }
    }
}

fn data(n: usize, seed: u32) -> Vec<f32> {
    (0..n as u32)
        .map(|i| 2.0 * rng::uniform(seed, 55, i) - 1.0)
        .collect()
}

fn conv_shapes() -> Vec<Conv2dShape> {
    let g = |batch, ci, size, co, kernel, stride, padding| Conv2dShape {
        batch,
        in_channels: ci,
        in_size: size,
        out_channels: co,
        kernel,
        stride,
        padding,
    };
    vec![
        g(1, 1, [5, 5], 1, [3, 3], [2, 2], [1, 1]),
        g(1, 3, [7, 9], 5, [3, 3], [2, 2], [1, 1]),
        g(2, 3, [7, 9], 4, [4, 2], [2, 1], [1, 0]),
        g(3, 1, [5, 5], 7, [2, 3], [1, 2], [0, 1]),
        g(5, 3, [9, 7], 65, [5, 5], [2, 3], [2, 2]),
        // The `conv` preset's two encoder layers.
        g(3, 1, [28, 28], 32, [4, 4], [2, 2], [1, 1]),
        g(3, 32, [14, 14], 64, [4, 4], [2, 2], [1, 1]),
    ]
}

fn deconv_shapes() -> Vec<ConvTranspose2dShape> {
    let g = |batch, ci, size, co, kernel, stride, padding, op| ConvTranspose2dShape {
        batch,
        in_channels: ci,
        in_size: size,
        out_channels: co,
        kernel,
        stride,
        padding,
        output_padding: op,
    };
    vec![
        g(1, 1, [5, 5], 1, [3, 3], [2, 2], [1, 1], [1, 1]),
        g(1, 3, [7, 9], 2, [3, 3], [2, 2], [1, 1], [1, 0]),
        g(2, 3, [5, 5], 3, [4, 3], [2, 1], [1, 0], [1, 0]),
        g(3, 1, [7, 9], 5, [2, 2], [3, 2], [0, 1], [2, 1]),
        // The `conv` preset's decoder and `conv2`'s output-padded one.
        g(2, 64, [7, 7], 32, [4, 4], [2, 2], [1, 1], [0, 0]),
        g(2, 32, [14, 14], 1, [4, 4], [2, 2], [1, 1], [0, 0]),
        g(2, 64, [7, 7], 32, [3, 3], [2, 2], [1, 1], [1, 1]),
    ]
}

/// Tolerance for sums of `k` products of magnitude <= 1 in different orders.
fn tol(k: usize) -> f32 {
    2e-6 * k as f32
}

#[test]
fn conv2d_forward_backward_data_and_weights() {
    let mut g = gpu();
    let mut p = Pair {
        g: &mut g,
        c: CpuBackend::new(),
    };
    for (i, s) in conv_shapes().into_iter().enumerate() {
        let seed = i as u32 * 10;
        let x = p.upload(&data(s.batch * s.in_len(), seed + 1), 3);
        let w = p.upload(&data(s.weight_len(), seed + 2), 1);
        let y = p.upload(&data(s.batch * s.out_len(), seed + 3), 5);
        p.g.conv2d_forward(x.g, w.g, y.g, s);
        p.c.conv2d_forward(x.c, w.c, y.c, s);
        p.assert_close(y, tol(s.patch_len()), 1e-5, &format!("forward {s:?}"));

        let dy = p.upload(&data(s.batch * s.out_len(), seed + 4), 2);
        let dx = p.upload(&data(s.batch * s.in_len(), seed + 5), 0);
        p.g.conv2d_backward_data(dy.g, w.g, dx.g, s);
        p.c.conv2d_backward_data(dy.c, w.c, dx.c, s);
        let taps = s.out_channels * s.kernel[0] * s.kernel[1];
        p.assert_close(dx, tol(taps), 1e-5, &format!("backward_data {s:?}"));

        // Accumulates into a non-zero gradient.
        let dw = p.upload(&data(s.weight_len(), seed + 6), 7);
        p.g.conv2d_backward_weights(x.g, dy.g, dw.g, s);
        p.c.conv2d_backward_weights(x.c, dy.c, dw.c, s);
        let terms = s.batch * s.out_positions();
        p.assert_close(dw, tol(terms), 1e-5, &format!("backward_weights {s:?}"));
    }
}

#[test]
fn conv_transpose2d_forward_backward_data_and_weights() {
    let mut g = gpu();
    let mut p = Pair {
        g: &mut g,
        c: CpuBackend::new(),
    };
    for (i, s) in deconv_shapes().into_iter().enumerate() {
        let seed = 100 + i as u32 * 10;
        let x = p.upload(&data(s.batch * s.in_len(), seed + 1), 1);
        let w = p.upload(&data(s.weight_len(), seed + 2), 4);
        let y = p.upload(&data(s.batch * s.out_len(), seed + 3), 0);
        p.g.conv_transpose2d_forward(x.g, w.g, y.g, s);
        p.c.conv_transpose2d_forward(x.c, w.c, y.c, s);
        let taps = s.in_channels * s.kernel[0] * s.kernel[1];
        p.assert_close(y, tol(taps), 1e-5, &format!("forward {s:?}"));

        let dy = p.upload(&data(s.batch * s.out_len(), seed + 4), 6);
        let dx = p.upload(&data(s.batch * s.in_len(), seed + 5), 2);
        p.g.conv_transpose2d_backward_data(dy.g, w.g, dx.g, s);
        p.c.conv_transpose2d_backward_data(dy.c, w.c, dx.c, s);
        let k = s.out_channels * s.kernel[0] * s.kernel[1];
        p.assert_close(dx, tol(k), 1e-5, &format!("backward_data {s:?}"));

        let dw = p.upload(&data(s.weight_len(), seed + 6), 3);
        p.g.conv_transpose2d_backward_weights(x.g, dy.g, dw.g, s);
        p.c.conv_transpose2d_backward_weights(x.c, dy.c, dw.c, s);
        let terms = s.batch * s.in_size[0] * s.in_size[1];
        p.assert_close(dw, tol(terms), 1e-5, &format!("backward_weights {s:?}"));
    }
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
    let mut g = gpu();
    let mut p = Pair {
        g: &mut g,
        c: CpuBackend::new(),
    };
    let x = p.upload(&data(s.batch * s.in_len(), 1), 1);
    let w = p.upload(&data(s.weight_len(), 2), 0);
    let y = p.upload(&vec![0.0; s.batch * s.out_len()], 0);
    p.g.conv2d_forward(x.g, w.g, y.g, s);
    p.c.conv2d_forward(x.c, w.c, y.c, s);
    p.assert_close(y, tol(s.patch_len()), 1e-5, "chunked forward");
    let dx = p.upload(&vec![0.0; s.batch * s.in_len()], 0);
    p.g.conv2d_backward_data(y.g, w.g, dx.g, s);
    p.c.conv2d_backward_data(y.c, w.c, dx.c, s);
    p.assert_close(dx, 1e-3, 1e-5, "chunked backward_data");
    let dw = p.upload(&vec![0.0; s.weight_len()], 0);
    p.g.conv2d_backward_weights(x.g, y.g, dw.g, s);
    p.c.conv2d_backward_weights(x.c, y.c, dw.c, s);
    p.assert_close(dw, 2e-2, 1e-4, "chunked backward_weights");
}

#[test]
fn channel_bias_add_and_grad() {
    let mut g = gpu();
    let mut p = Pair {
        g: &mut g,
        c: CpuBackend::new(),
    };
    for &(batch, c, s) in &[(1, 1, 1), (1, 3, 25), (5, 7, 63), (3, 64, 49), (2, 300, 1)] {
        let y = p.upload(&data(batch * c * s, 1), 3);
        let bias = p.upload(&data(c, 2), 1);
        p.g.channel_bias_add(y.g, bias.g, batch, c, s);
        p.c.channel_bias_add(y.c, bias.c, batch, c, s);
        p.assert_close(y, 0.0, 0.0, &format!("channel_bias_add {batch}x{c}x{s}"));
        let db = p.upload(&data(c, 3), 2);
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
