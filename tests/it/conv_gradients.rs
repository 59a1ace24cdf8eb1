//! The CPU convolutions from first principles: forward against a direct
//! loop over PyTorch's definitions of Conv2d and ConvTranspose2d, backward
//! (to the input, the weights and the bias) against central finite
//! differences, and a small conv VAE's whole gradient likewise.

use crate::common::{check_fd, conv, deconv, dot, read, upload};
use vae_playground::backend::{
    Activation, Backend, Conv2dShape, ConvShape, ConvTranspose2dShape, Noise,
};
use vae_playground::config::{ImageShape, LayerSpec, Pair, VaeConfig};
use vae_playground::cpu::CpuBackend;
use vae_playground::nn::Conv;
use vae_playground::rng;
use vae_playground::vae::param_table;

pub(crate) fn values(n: usize, seed: u32, scale: f32) -> Vec<f32> {
    (0..n as u32)
        .map(|i| scale * (2.0 * rng::uniform(seed, 98, i) - 1.0))
        .collect()
}

/// Central differences of `loss` around `x` against `analytic`, every element.
fn check(name: &str, x: &[f32], analytic: &[f32], loss: &mut dyn FnMut(&[f32]) -> f64) {
    check_fd(name, x, analytic, loss, 1e-2, 1e-3, 1e-3);
}

/// PyTorch's Conv2d, straight from the definition (f64 sums).
fn reference_conv(x: &[f32], w: &[f32], b: &[f32], g: &Conv2dShape) -> Vec<f32> {
    let [h, wd] = g.in_size;
    let [oh, ow] = g.out_size();
    let [kh, kw] = g.kernel;
    let mut y = vec![0.0; g.batch * g.out_len()];
    for n in 0..g.batch {
        for o in 0..g.out_channels {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut s = b[o] as f64;
                    for c in 0..g.in_channels {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = (oy * g.stride[0] + ky) as isize - g.padding[0] as isize;
                                let ix = (ox * g.stride[1] + kx) as isize - g.padding[1] as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                    continue;
                                }
                                let xv = x[((n * g.in_channels + c) * h + iy as usize) * wd
                                    + ix as usize];
                                let wv = w[((o * g.in_channels + c) * kh + ky) * kw + kx];
                                s += xv as f64 * wv as f64;
                            }
                        }
                    }
                    y[((n * g.out_channels + o) * oh + oy) * ow + ox] = s as f32;
                }
            }
        }
    }
    y
}

/// PyTorch's ConvTranspose2d, straight from the definition: every input
/// pixel scatters `x * w` to `y[i * s - p + k]`, output padding only adds
/// rows / columns at the end.
fn reference_deconv(x: &[f32], w: &[f32], b: &[f32], g: &ConvTranspose2dShape) -> Vec<f32> {
    let [h, wd] = g.in_size;
    let [oh, ow] = g.out_size();
    let [kh, kw] = g.kernel;
    let (ci, co) = (g.in_channels, g.out_channels);
    let mut y = vec![0.0f64; g.batch * co * oh * ow];
    for n in 0..g.batch {
        for o in 0..co {
            for v in &mut y[(n * co + o) * oh * ow..][..oh * ow] {
                *v = b[o] as f64;
            }
        }
        for c in 0..ci {
            for iy in 0..h {
                for ix in 0..wd {
                    let xv = x[((n * ci + c) * h + iy) * wd + ix] as f64;
                    for o in 0..co {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let oy = (iy * g.stride[0] + ky) as isize - g.padding[0] as isize;
                                let ox = (ix * g.stride[1] + kx) as isize - g.padding[1] as isize;
                                if oy < 0 || ox < 0 || oy >= oh as isize || ox >= ow as isize {
                                    continue;
                                }
                                let wv = w[((c * co + o) * kh + ky) * kw + kx] as f64;
                                y[((n * co + o) * oh + oy as usize) * ow + ox as usize] += xv * wv;
                            }
                        }
                    }
                }
            }
        }
    }
    y.into_iter().map(|v| v as f32).collect()
}

pub(crate) fn conv_shapes() -> Vec<Conv2dShape> {
    vec![
        conv(2, 3, [5, 7], 4, [3, 2], [2, 1], [1, 0]),
        conv(1, 1, [7, 9], 2, [4, 4], [2, 2], [1, 1]),
        conv(3, 2, [5, 5], 3, [3, 3], [2, 2], [1, 1]),
        conv(1, 2, [4, 6], 1, [1, 1], [1, 1], [0, 0]),
        conv(2, 1, [6, 5], 2, [5, 3], [3, 2], [2, 1]),
    ]
}

pub(crate) fn deconv_shapes() -> Vec<ConvTranspose2dShape> {
    vec![
        deconv(2, 3, [3, 4], 2, [3, 2], [2, 1], [1, 0], [1, 0]),
        deconv(1, 2, [4, 4], 1, [4, 4], [2, 2], [1, 1], [0, 0]),
        deconv(2, 2, [3, 3], 3, [3, 3], [2, 2], [1, 1], [1, 1]),
        deconv(1, 1, [5, 3], 2, [2, 3], [3, 2], [0, 1], [2, 1]),
    ]
}

/// Runs one convolution layer of geometry `shape` over `rows` samples
/// forward and backward (`upstream` is dy); returns (y, dx, dW, db).
fn run<G: Copy + Into<ConvShape>>(
    shape: G,
    rows: usize,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    upstream: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut be = CpuBackend::new();
    let layer = Conv {
        shape,
        weight: upload(&mut be, w),
        bias: upload(&mut be, b),
        dweight: upload(&mut be, &vec![0.0; w.len()]),
        dbias: upload(&mut be, &vec![0.0; b.len()]),
    };
    let xv = upload(&mut be, x);
    let y = be.alloc(upstream.len(), "y");
    layer.forward(&mut be, xv, y, rows);
    let dy = upload(&mut be, upstream);
    let dx = be.alloc(x.len(), "dx");
    layer.backward(&mut be, xv, dy, Some(dx), rows);
    (
        read(&mut be, y),
        read(&mut be, dx),
        read(&mut be, layer.dweight),
        read(&mut be, layer.dbias),
    )
}

fn assert_close(name: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{name}: lengths");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 + 1e-5 * b.abs(),
            "{name}[{i}]: {a} vs reference {b}"
        );
    }
}

#[test]
fn conv2d_forward_matches_the_definition() {
    for (i, g) in conv_shapes().iter().enumerate() {
        let s = i as u32 * 10;
        let x = values(g.batch * g.in_len(), s + 1, 1.0);
        let w = values(g.weight_len(), s + 2, 0.5);
        let b = values(g.out_channels, s + 3, 0.5);
        let up = vec![0.0; g.batch * g.out_len()];
        let (y, ..) = run(*g, g.batch, &x, &w, &b, &up);
        assert_close(&format!("conv2d {g:?}"), &y, &reference_conv(&x, &w, &b, g));
    }
}

#[test]
fn conv_transpose2d_forward_matches_the_definition() {
    for (i, g) in deconv_shapes().iter().enumerate() {
        let s = i as u32 * 10;
        let x = values(g.batch * g.in_len(), s + 1, 1.0);
        let w = values(g.weight_len(), s + 2, 0.5);
        let b = values(g.out_channels, s + 3, 0.5);
        let up = vec![0.0; g.batch * g.out_len()];
        let (y, ..) = run(*g, g.batch, &x, &w, &b, &up);
        assert_close(
            &format!("conv_transpose2d {g:?}"),
            &y,
            &reference_deconv(&x, &w, &b, g),
        );
    }
}

#[test]
fn conv_transpose2d_output_sizes_follow_pytorch() {
    // (H - 1) S - 2 P + K + OP, as torch.nn.ConvTranspose2d documents.
    let g = ConvTranspose2dShape {
        batch: 1,
        in_channels: 64,
        in_size: [7, 7],
        out_channels: 32,
        kernel: [3, 3],
        stride: [2, 2],
        padding: [1, 1],
        output_padding: [1, 1],
    };
    assert_eq!(g.out_size(), [14, 14]);
    let g = ConvTranspose2dShape {
        in_size: [14, 14],
        kernel: [4, 4],
        output_padding: [0, 0],
        ..g
    };
    assert_eq!(g.out_size(), [28, 28]);
    assert_eq!(g.adjoint().out_size(), [14, 14]);
    let bad = ConvTranspose2dShape {
        output_padding: [2, 0],
        ..g
    };
    assert_eq!(bad.checked_out_size(), None);
}

/// dx, dW and db of one convolution layer against finite differences of
/// `sum(up * y)`; `lens` are those of x, w, b and y.
fn check_layer<G: Copy + Into<ConvShape> + std::fmt::Debug>(
    name: &str,
    g: G,
    rows: usize,
    [x_len, w_len, b_len, y_len]: [usize; 4],
    seed: u32,
) {
    let x0 = values(x_len, seed + 1, 1.0);
    let w0 = values(w_len, seed + 2, 0.5);
    let b0 = values(b_len, seed + 3, 0.5);
    let up = values(y_len, seed + 4, 1.0);
    let (_, dx, dw, db) = run(g, rows, &x0, &w0, &b0, &up);
    let loss = |x: &[f32], w: &[f32], b: &[f32]| dot(&up, &run(g, rows, x, w, b, &up).0);
    check(&format!("{name} dx {g:?}"), &x0, &dx, &mut |x| {
        loss(x, &w0, &b0)
    });
    check(&format!("{name} dW {g:?}"), &w0, &dw, &mut |w| {
        loss(&x0, w, &b0)
    });
    check(&format!("{name} db {g:?}"), &b0, &db, &mut |b| {
        loss(&x0, &w0, b)
    });
}

#[test]
fn conv2d_backward_matches_finite_differences() {
    for (i, g) in conv_shapes().into_iter().enumerate() {
        let lens = [
            g.batch * g.in_len(),
            g.weight_len(),
            g.out_channels,
            g.batch * g.out_len(),
        ];
        check_layer("conv2d", g, g.batch, lens, 100 + i as u32 * 10);
    }
}

#[test]
fn conv_transpose2d_backward_matches_finite_differences() {
    for (i, g) in deconv_shapes().into_iter().enumerate() {
        let lens = [
            g.batch * g.in_len(),
            g.weight_len(),
            g.out_channels,
            g.batch * g.out_len(),
        ];
        check_layer("deconv", g, g.batch, lens, 200 + i as u32 * 10);
    }
}

#[test]
fn conv2d_backward_weights_accumulates_and_channel_bias_ops() {
    let mut be = CpuBackend::new();
    let (batch, c, s) = (3, 4, 5);
    let y0 = values(batch * c * s, 1, 1.0);
    let bias = values(c, 2, 1.0);
    let y = upload(&mut be, &y0);
    let bv = upload(&mut be, &bias);
    be.bias_add(y, bv, [batch, c, s]);
    let got = read(&mut be, y);
    for (i, v) in got.iter().enumerate() {
        assert_eq!(*v, y0[i] + bias[(i / s) % c]);
    }
    let db = upload(&mut be, &[1.0, 2.0, 3.0, 4.0]);
    be.bias_grad(y, db, [batch, c, s]);
    let db = read(&mut be, db);
    for (ch, v) in db.iter().enumerate() {
        let want: f64 = (0..batch)
            .flat_map(|b| (0..s).map(move |j| (b * c + ch) * s + j))
            .map(|i| got[i] as f64)
            .sum::<f64>()
            + (ch + 1) as f64;
        assert!((*v as f64 - want).abs() < 1e-5, "db[{ch}] {v} vs {want}");
    }
}

/// A small conv VAE: 1x8x8 images, conv -> dense -> heads, dense ->
/// unflatten -> transposed conv with output padding.
fn tiny_conv_config() -> VaeConfig {
    let mut c = VaeConfig::preset("conv").unwrap();
    c.image = ImageShape {
        channels: 1,
        height: 8,
        width: 8,
    };
    c.encoder = vec![
        LayerSpec::Conv2d {
            out_channels: 2,
            kernel: Pair([3, 2]),
            stride: Pair([2, 2]),
            padding: Pair([1, 0]),
            act: Activation::Tanh,
        },
        LayerSpec::Dense {
            out: 5,
            act: Activation::Tanh,
        },
    ];
    c.latent = 3;
    c.decoder = vec![
        LayerSpec::Dense {
            out: 2 * 4 * 4,
            act: Activation::LeakyRelu,
        },
        LayerSpec::Unflatten {
            channels: 2,
            height: 4,
            width: 4,
        },
        LayerSpec::ConvTranspose2d {
            out_channels: 1,
            kernel: Pair([3, 3]),
            stride: Pair([2, 2]),
            padding: Pair([1, 1]),
            output_padding: Pair([1, 1]),
            act: Activation::Identity,
        },
    ];
    c.batch = 2;
    c.beta = 1.5;
    c
}

#[test]
fn whole_conv_model_gradient_matches_finite_differences() {
    let config = tiny_conv_config();
    config.validate().unwrap();
    let names: Vec<String> = param_table(&config)
        .entries
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert!(
        names.iter().any(|n| n == "encoder.conv1.weight")
            && names.iter().any(|n| n == "decoder.deconv1.bias")
    );
    let images: Vec<f32> = values(2 * 64, 12, 0.5).iter().map(|v| v + 0.5).collect();
    crate::common::assert_model_gradient_matches_fd(
        config,
        &images,
        Noise { seed: 5, stream: 6 },
        5,
    );
}

#[test]
fn conv_presets_use_pytorch_names_shapes_and_init() {
    let table = param_table(&VaeConfig::preset("conv").unwrap());
    let find = |n: &str| {
        table
            .entries
            .iter()
            .find(|e| e.name == n)
            .unwrap_or_else(|| panic!("no {n}"))
    };
    let expect = [
        (
            "encoder.conv1.weight",
            vec![32, 1, 4, 4],
            1.0 / 16f32.sqrt(),
        ),
        (
            "encoder.conv2.weight",
            vec![64, 32, 4, 4],
            1.0 / 512f32.sqrt(),
        ),
        ("encoder.conv2.bias", vec![64], 1.0 / 512f32.sqrt()),
        ("encoder.fc1.weight", vec![256, 3136], 1.0 / 3136f32.sqrt()),
        ("encoder.fc_mu.weight", vec![16, 256], 1.0 / 16.0),
        ("decoder.fc2.weight", vec![3136, 256], 1.0 / 16.0),
        // ConvTranspose2d: [in, out, KH, KW], fan_in = out * KH * KW.
        (
            "decoder.deconv1.weight",
            vec![64, 32, 4, 4],
            1.0 / 512f32.sqrt(),
        ),
        (
            "decoder.deconv2.weight",
            vec![32, 1, 4, 4],
            1.0 / 16f32.sqrt(),
        ),
        ("decoder.deconv2.bias", vec![1], 1.0 / 16f32.sqrt()),
    ];
    for (name, shape, bound) in expect {
        let e = find(name);
        assert_eq!(e.shape, shape, "{name}");
        assert!(
            (e.init_bound - bound).abs() < 1e-7,
            "{name}: {}",
            e.init_bound
        );
    }
    for preset in ["conv2", "cifar"] {
        let c = VaeConfig::preset(preset).unwrap();
        c.validate().unwrap();
        let t = param_table(&c);
        let last = t.entries.last().unwrap();
        assert_eq!(last.name, "decoder.deconv2.bias");
        assert_eq!(last.shape, vec![c.image.channels]);
    }
}

/// The CPU backend runs a batch in groups of samples on several threads,
/// the last group shorter; a batch of 37 must give what 37 one-sample
/// calls give: the same `y` and `dx`, and `dW`, `db` their sums.
#[test]
fn a_batch_in_groups_matches_one_sample_at_a_time() {
    let shapes = [
        conv(37, 3, [9, 11], 5, [3, 4], [2, 1], [1, 2]),
        // conv's second layer: groups of 5 (the cache's bound), the last of 1.
        conv(41, 32, [14, 14], 64, [4, 4], [2, 2], [1, 1]),
    ];
    for (i, g) in shapes.iter().enumerate() {
        let s = 500 + i as u32 * 10;
        let (il, ol) = (g.in_len(), g.out_len());
        let x = values(g.batch * il, s + 1, 1.0);
        let w = values(g.weight_len(), s + 2, 0.5);
        let b = values(g.out_channels, s + 3, 0.5);
        let up = values(g.batch * ol, s + 4, 1.0);
        let (y, dx, dw, db) = run(*g, g.batch, &x, &w, &b, &up);
        let one = Conv2dShape { batch: 1, ..*g };
        let mut sum_dw = vec![0.0f64; dw.len()];
        let mut sum_db = vec![0.0f64; db.len()];
        for r in 0..g.batch {
            let (y1, dx1, dw1, db1) = run(one, 1, &x[r * il..][..il], &w, &b, &up[r * ol..][..ol]);
            assert_close(&format!("y of sample {r}, {g:?}"), &y[r * ol..][..ol], &y1);
            assert_close(
                &format!("dx of sample {r}, {g:?}"),
                &dx[r * il..][..il],
                &dx1,
            );
            sum_dw
                .iter_mut()
                .zip(&dw1)
                .for_each(|(a, &v)| *a += v as f64);
            sum_db
                .iter_mut()
                .zip(&db1)
                .for_each(|(a, &v)| *a += v as f64);
        }
        for (name, got, want) in [("dW", &dw, &sum_dw), ("db", &db, &sum_db)] {
            let scale = want.iter().map(|v| v.abs()).sum::<f64>() / want.len() as f64;
            for (j, (&a, &e)) in got.iter().zip(want.iter()).enumerate() {
                assert!(
                    (a as f64 - e).abs() <= 1e-5 * (scale + e.abs()) * g.batch as f64,
                    "{name}[{j}] of {g:?}: {a} vs the per-sample sum {e}"
                );
            }
        }
    }
}

/// Each thread keeps one im2col scratch for every call and every shape, and
/// im2col writes all of it (no zeroing pass): a small shape between two runs
/// of a big one, and the big one after the small, must see nothing left over.
/// The shapes have padding on every side, stride 1, 2 and 3, 1 and 3
/// channels, batches of 1 and of 7 (not a multiple of any group size).
#[test]
fn reused_conv_scratch_leaves_nothing_behind() {
    let shapes = [
        conv(7, 3, [13, 11], 32, [4, 4], [2, 2], [1, 1]),
        conv(1, 1, [5, 6], 2, [3, 3], [1, 1], [2, 1]),
        conv(7, 3, [9, 10], 4, [4, 3], [3, 2], [2, 2]),
        conv(1, 1, [5, 6], 2, [3, 3], [1, 1], [2, 1]),
    ];
    let mut first = Vec::new();
    for round in 0..2 {
        for (i, g) in shapes.iter().enumerate() {
            let s = 700 + i as u32 * 10;
            let x = values(g.batch * g.in_len(), s + 1, 1.0);
            let w = values(g.weight_len(), s + 2, 0.5);
            let b = values(g.out_channels, s + 3, 0.5);
            let up = values(g.batch * g.out_len(), s + 4, 1.0);
            let out = run(*g, g.batch, &x, &w, &b, &up);
            assert_close(
                &format!("conv2d {g:?}, round {round}"),
                &out.0,
                &reference_conv(&x, &w, &b, g),
            );
            if round == 0 {
                first.push(out);
            } else {
                assert_eq!(out, first[i], "round 2 of {g:?} differs from round 1");
            }
        }
    }
}
