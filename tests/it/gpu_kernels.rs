//! Every GpuBackend op against the CpuBackend oracle, on awkward shapes (batch
//! 1, sizes that are not multiples of any tile, views at odd offsets, views that
//! share a buffer). Needs a GPU adapter: on machines without a GPU that is
//! Mesa's lavapipe (`apt-get install mesa-vulkan-drivers`). No adapter fails.

use crate::common::gpu::{each_shape, gpu, Pair, T};
use vae_playground::backend::{
    Activation, AdamStep, Backend, Matmul, Noise, Recon, LOGVAR_MAX, LOGVAR_MIN,
};
use vae_playground::cpu::CpuBackend;
use vae_playground::rng;

/// Deterministic test data in [lo, hi).
fn data(n: usize, seed: u32, lo: f32, hi: f32) -> Vec<f32> {
    (0..n as u32)
        .map(|i| lo + (hi - lo) * rng::uniform(seed, 77, i))
        .collect()
}

#[test]
fn matmul_all_transposes_and_awkward_shapes() {
    each_shape(|mut p, _| {
        // Tolerance: f32 sums of k products of magnitude <= 1 carry a rounding error
        // of at most ~k * 2^-24 each way; the GEMM crate and the tiled kernel add in
        // different orders, so allow 2e-6 * k absolute plus 1e-5 relative.
        let shapes = [
            (1, 1, 1),
            (1, 7, 129),
            (7, 1, 300),
            (129, 7, 65),
            (300, 129, 785),
            (65, 300, 17),
        ];
        for (si, &(m, n, k)) in shapes.iter().enumerate() {
            for bits in 0..8u32 {
                let spec = Matmul {
                    m,
                    n,
                    k,
                    trans_a: bits & 1 != 0,
                    trans_b: bits & 2 != 0,
                    accumulate: bits & 4 != 0,
                };
                // Views at odd offsets inside larger buffers.
                let a = p
                    .upload(&data(m * k + 3, si as u32 * 8 + bits, -1.0, 1.0))
                    .slice(3, m * k);
                let b = p
                    .upload(&data(k * n + 5, 100 + si as u32 * 8 + bits, -1.0, 1.0))
                    .slice(1, k * n);
                let c = p
                    .upload(&data(m * n + 2, 200 + bits, -1.0, 1.0))
                    .slice(2, m * n);
                p.g.matmul(a.g, b.g, c.g, spec);
                p.c.matmul(a.c, b.c, c.c, spec);
                p.assert_close(c, 2e-6 * k as f32, 1e-5, &format!("matmul {spec:?}"));
            }
        }
    });
}

#[test]
fn matmul_with_views_sharing_one_buffer() {
    each_shape(|mut p, _| {
        let (m, n, k) = (7, 9, 13);
        // Far apart (tight bindings suffice) and packed back to back (the GPU backend
        // must go through its scratch copy, since 256-byte-aligned ranges overlap).
        for gap in [1000usize, 0] {
            let total = m * k + gap + k * n + gap + m * n;
            let buf = p.upload(&data(total, 9 + gap as u32, -1.0, 1.0));
            let a = buf.slice(0, m * k);
            let b = buf.slice(m * k + gap, k * n);
            let c = buf.slice(m * k + gap + k * n + gap, m * n);
            for accumulate in [false, true] {
                let spec = Matmul {
                    m,
                    n,
                    k,
                    trans_a: false,
                    trans_b: true,
                    accumulate,
                };
                p.g.matmul(a.g, b.g, c.g, spec);
                p.c.matmul(a.c, b.c, c.c, spec);
            }
            p.assert_close(buf, 1e-5, 1e-5, &format!("shared-buffer matmul, gap {gap}"));
        }
    });
}

#[test]
fn bias_add_and_bias_grad() {
    let mut g = gpu();
    let mut p = Pair::new(&mut g);
    for &(rows, cols) in &[(1, 1), (1, 785), (7, 7), (300, 129), (129, 785)] {
        let y = p.upload(&data(rows * cols, 1, -2.0, 2.0));
        let bias = p.upload(&data(cols + 1, 2, -1.0, 1.0)).slice(1, cols);
        p.g.bias_add(y.g, bias.g, rows, cols);
        p.c.bias_add(y.c, bias.c, rows, cols);
        p.assert_close(y, 0.0, 0.0, &format!("bias_add {rows}x{cols}"));

        // db accumulates: start from non-zero values.
        let db = p.upload(&data(cols, 3, -1.0, 1.0));
        p.g.bias_grad(y.g, db.g, rows, cols);
        p.c.bias_grad(y.c, db.c, rows, cols);
        // Sums of `rows` terms of magnitude <= 3, in different orders.
        p.assert_close(
            db,
            1e-6 * rows as f32,
            1e-5,
            &format!("bias_grad {rows}x{cols}"),
        );
    }
}

#[test]
fn activations_forward_and_backward() {
    let mut g = gpu();
    let mut p = Pair::new(&mut g);
    let mut xs = data(1029, 4, -8.0, 8.0);
    xs.extend([
        0.0, -0.0, 1e-30, -1e-30, 30.0, -30.0, 100.0, -100.0, 1e4, -1e4,
    ]);
    let n = xs.len();
    let acts = [
        Activation::Identity,
        Activation::Relu,
        Activation::LeakyRelu,
        Activation::Sigmoid,
        Activation::Tanh,
    ];
    for act in acts {
        let x = p.upload(&xs);
        let y = p.alloc(n);
        p.g.activation(act, x.g, y.g);
        p.c.activation(act, x.c, y.c);
        // exp and division may differ by a few ulps between the GPU and libm.
        p.assert_close(y, 1e-6, 1e-5, &format!("{act:?} forward"));
        // Feed the CPU's y to both, so the backward check is independent of the forward one.
        let (_, y_cpu) = p.read(y);
        p.write(y, &y_cpu);
        let dy = p.upload(&data(n, 5, -1.0, 1.0));
        let dx = p.alloc(n);
        p.g.activation_backward(act, x.g, y.g, dy.g, dx.g);
        p.c.activation_backward(act, x.c, y.c, dy.c, dx.c);
        p.assert_close(dx, 1e-7, 1e-6, &format!("{act:?} backward"));
    }
}

#[test]
fn recon_loss_both_kinds() {
    let mut g = gpu();
    let mut p = Pair::new(&mut g);
    for kind in [Recon::Bce, Recon::Gaussian] {
        for &(rows, cols) in &[(1, 1), (1, 785), (7, 300), (3, 1000)] {
            let n = rows * cols;
            let mut logits = data(n, 6, -20.0, 20.0);
            logits[0] = 90.0;
            if n > 1 {
                logits[1] = -90.0;
            }
            // Half binary targets, half grey levels.
            let target: Vec<f32> = data(n, 7, 0.0, 1.0)
                .into_iter()
                .enumerate()
                .map(|(i, v)| if i % 2 == 0 { v.round() } else { v })
                .collect();
            let s = p.upload(&logits);
            let x = p.upload(&target);
            let ds = p.alloc(n);
            let loss = p.alloc(rows + 2).slice(1, rows);
            let scale = 1.0 / rows as f32;
            p.g.recon_loss(kind, s.g, x.g, ds.g, loss.g, rows, cols, scale);
            p.c.recon_loss(kind, s.c, x.c, ds.c, loss.c, rows, cols, scale);
            // Per-pixel terms up to ~20 summed over `cols` (CPU sums in f64):
            // relative 1e-5 on the row sum plus a small absolute slack.
            p.assert_close(loss, 1e-4, 1e-5, &format!("{kind:?} loss {rows}x{cols}"));
            p.assert_close(ds, 1e-7, 1e-5, &format!("{kind:?} dlogits {rows}x{cols}"));
        }
    }
}

#[test]
fn reparam_forward_and_backward() {
    let mut g = gpu();
    let mut p = Pair::new(&mut g);
    // The last shape's log-variances reach past both ends of the clamp
    // [LOGVAR_MIN, LOGVAR_MAX] = [-30, 20].
    for &(rows, zdim, lo, hi) in &[
        (1, 1, -3.0, 1.5),
        (1, 2, -3.0, 1.5),
        (7, 20, -3.0, 1.5),
        (129, 3, -3.0, 1.5),
        (9, 11, -45.0, 30.0),
    ] {
        let n = rows * zdim;
        let noise = Noise {
            seed: 1234 + rows as u32,
            stream: rng::stream(rng::StreamKind::Reparam, 5),
        };
        let mu = p.upload(&data(n, 8, -2.0, 2.0));
        let lv_values = data(n, 9, lo, hi);
        let lv = p.upload(&lv_values);
        let eps = p.alloc(n);
        let z = p.alloc(n);
        let kl = p.alloc(rows);
        p.g.reparam_forward(mu.g, lv.g, eps.g, z.g, kl.g, rows, zdim, noise);
        p.c.reparam_forward(mu.c, lv.c, eps.c, z.c, kl.c, rows, zdim, noise);
        // Same RNG words (checked exactly in rng_words_match_rust), but WGSL's log
        // and cos are not libm's: Vulkan / WebGPU allow cos an absolute error of
        // 2^-11 on [-pi, pi] and Box-Muller scales it by up to ~5.8. lavapipe is
        // far better than that bound (~3e-6 seen), so 5e-5 still catches any
        // wrong word or index.
        p.assert_close(eps, 5e-5, 1e-5, "eps");
        p.assert_close(z, 1e-4, 1e-5, "z");
        p.assert_close(kl, 1e-5, 1e-5, "kl");

        let (_, eps_cpu) = p.read(eps);
        p.write(eps, &eps_cpu);
        let dz = p.upload(&data(n, 10, -1.0, 1.0));
        let dmu = p.alloc(n);
        let dlv = p.alloc(n);
        let ks = 0.7 / rows as f32;
        p.g.reparam_backward(mu.g, lv.g, eps.g, dz.g, dmu.g, dlv.g, ks);
        p.c.reparam_backward(mu.c, lv.c, eps.c, dz.c, dmu.c, dlv.c, ks);
        p.assert_close(dmu, 1e-7, 1e-6, "dmu");
        p.assert_close(dlv, 1e-6, 1e-5, "dlogvar");
        let (dlv_gpu, dlv_cpu) = p.read(dlv);
        for (i, &l) in lv_values.iter().enumerate() {
            if !(LOGVAR_MIN..=LOGVAR_MAX).contains(&l) {
                assert_eq!((dlv_gpu[i], dlv_cpu[i]), (0.0, 0.0), "logvar {l}");
            }
        }
        let (kl_gpu, _) = p.read(kl);
        assert!(kl_gpu.iter().all(|k| k.is_finite()), "{kl_gpu:?}");
    }
}

#[test]
fn adam_over_several_steps() {
    let mut g = gpu();
    let mut p = Pair::new(&mut g);
    let n = 1031;
    let params = p.upload(&data(n, 11, -1.0, 1.0));
    let grads = p.alloc(n);
    let m = p.alloc(n);
    let v = p.alloc(n);
    for t in 1..=5u32 {
        p.write(grads, &data(n, 20 + t, -0.5, 0.5));
        let step = AdamStep {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            t,
        };
        p.g.adam(params.g, grads.g, m.g, v.g, step);
        p.c.adam(params.c, grads.c, m.c, v.c, step);
    }
    // Same formula in the same order; sqrt and division are correctly rounded
    // on most GPUs but WGSL allows a few ulps.
    p.assert_close(m, 1e-9, 1e-6, "adam m");
    p.assert_close(v, 1e-12, 1e-6, "adam v");
    p.assert_close(params, 1e-7, 1e-6, "adam params");
}

#[test]
fn sum_into_accumulates() {
    let mut g = gpu();
    let mut p = Pair::new(&mut g);
    for &n in &[1usize, 7, 300, 1000, 70_000] {
        let src = p.upload(&data(n + 1, 12, -1.0, 2.0)).slice(1, n);
        let dst = p.upload(&[0.5, 3.0, 0.25]).slice(1, 1);
        for _ in 0..2 {
            p.g.sum_into(src.g, dst.g);
            p.c.sum_into(src.c, dst.c);
        }
        // The CPU sums in f64; the GPU tree-reduces in f32.
        p.assert_close(dst, 1e-5, 1e-5, &format!("sum_into {n}"));
    }
}

#[test]
fn many_ops_in_one_flush() {
    // More dispatches than the uniform arena holds: the backend flushes early and
    // keeps the order.
    let mut g = gpu();
    let mut p = Pair::new(&mut g);
    let one = p.upload(&[1.0]);
    let acc = p.alloc(1);
    for _ in 0..2500 {
        p.g.sum_into(one.g, acc.g);
        p.c.sum_into(one.c, acc.c);
    }
    p.assert_exact(acc, "2500 sums");
}

#[test]
fn fill_and_copy() {
    let mut g = gpu();
    let mut p = Pair::new(&mut g);
    let buf = p.upload(&data(1000, 13, -1.0, 1.0));
    for (off, len, value) in [
        (0, 1, 0.0f32),
        (3, 300, 0.0),
        (1, 7, 2.5),
        (333, 517, -0.0),
        (10, 1, -3.0),
    ] {
        p.g.fill(buf.g.slice(off, len), value);
        p.c.fill(buf.c.slice(off, len), value);
    }
    p.assert_exact(buf, "fill");

    let other = p.upload(&data(500, 14, -1.0, 1.0));
    // Across buffers, and within one buffer (which needs the copy kernel).
    let pairs = [
        (buf.slice(3, 129), other.slice(7, 129)),
        (other.slice(0, 1), buf.slice(999, 1)),
        (buf.slice(0, 300), buf.slice(500, 300)),
        (buf.slice(700, 5), buf.slice(706, 5)),
    ];
    for (src, dst) in pairs {
        p.g.copy(src.g, dst.g);
        p.c.copy(src.c, dst.c);
    }
    p.assert_exact(buf, "copy into buf");
    p.assert_exact(other, "copy into other");
}

#[test]
fn gather_images_with_and_without_binarization() {
    let mut g = gpu();
    let mut p = Pair::new(&mut g);
    // dim 785 is odd, so rows start at every byte position inside a word; every
    // byte value 0..=255 appears.
    let (count, dim) = (37usize, 785usize);
    let bytes: Vec<u8> = (0..count * dim)
        .map(|i| ((i * 7 + i / 13) % 256) as u8)
        .collect();
    let ds = T {
        g: p.g.upload_bytes(&bytes, "dataset"),
        c: p.c.upload_bytes(&bytes, "dataset"),
    };
    let perm = rng::permutation(count, 3, rng::stream(rng::StreamKind::Shuffle, 0));
    let idx = p.alloc(count);
    p.g.write_u32(idx.g, &perm);
    p.c.write_u32(idx.c, &perm);
    for &(first, rows) in &[(0usize, 1usize), (3, 7), (0, 37)] {
        for binarize in [
            None,
            Some(Noise {
                seed: 42,
                stream: rng::stream(rng::StreamKind::Binarize, 9),
            }),
        ] {
            let out = p.alloc(rows * dim + 3).slice(2, rows * dim);
            p.g.gather_images(ds.g, dim, idx.g, first, rows, out.g, binarize);
            p.c.gather_images(ds.c, dim, idx.c, first, rows, out.c, binarize);
            p.assert_exact(
                out,
                &format!("gather first {first} rows {rows} binarize {binarize:?}"),
            );
        }
    }
}

#[test]
fn rng_words_match_rust() {
    let mut g = gpu();
    let n = 10_007usize;
    for (seed, stream, first) in [
        (0u32, 0u32, 0u32),
        (7, 3, 0),
        (
            0xdead_beef,
            rng::stream(rng::StreamKind::Reparam, 12),
            4_000_000_000,
        ),
    ] {
        let out = g.alloc(n, "rng words");
        g.rng_words(out, Noise { seed, stream }, first);
        let got: Vec<u32> = pollster::block_on(g.read(out))
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect();
        g.free(out);
        for (i, &w) in got.iter().enumerate() {
            let want = rng::hash3(seed, stream, first.wrapping_add(i as u32));
            assert_eq!(
                w, want,
                "word {i} of seed {seed} stream {stream} first {first}"
            );
        }
    }
}

/// `describe` (what the CLI and the page show) names the adapter, not the
/// CPU; and the device raised no error: every test of this binary records
/// into this one device, and a validation error any of them caused would
/// stick here and fail this read.
#[test]
fn describe_names_the_adapter_and_the_device_has_no_error() {
    let mut g = gpu();
    let name = g.describe();
    assert!(!name.trim().is_empty(), "the adapter has no name");
    assert_ne!(name, CpuBackend::new().describe());
    let v = g.alloc(5, "probe");
    g.fill(v.slice(1, 3), 2.5);
    let got = pollster::block_on(g.read(v)).expect("a read on a healthy device");
    g.free(v);
    assert_eq!(got, [0.0, 2.5, 2.5, 2.5, 0.0]);
    assert!(g.error().is_none(), "device error: {:?}", g.error());
}
