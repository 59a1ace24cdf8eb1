//! The scalar mathematics of the CPU backend, kept apart from buffer handling.

use crate::backend::{Activation, AdamStep, Matmul, Noise, Recon};

/// Runs `$body` with `$a` bound to `$act` as a constant of each variant, so
/// a loop in `$body` that calls [`activate`] or [`derivative`] is compiled
/// once per activation with the match folded away.
macro_rules! with_act {
    ($act:expr, |$a:ident| $body:expr) => {
        match $act {
            Activation::Identity => {
                let $a = Activation::Identity;
                $body
            }
            Activation::Relu => {
                let $a = Activation::Relu;
                $body
            }
            Activation::LeakyRelu => {
                let $a = Activation::LeakyRelu;
                $body
            }
            Activation::Sigmoid => {
                let $a = Activation::Sigmoid;
                $body
            }
            Activation::Tanh => {
                let $a = Activation::Tanh;
                $body
            }
        }
    };
}
pub(crate) use with_act;

/// `C (+)= op(A) op(B)` through `gemm`, using strides for the transposes.
pub fn matmul(a: &[f32], b: &[f32], c: &mut [f32], s: Matmul) {
    gemm_with(a, b, c, s, parallelism(s.m * s.n * s.k));
}

/// [`matmul`] on the calling thread alone (for callers that run several at
/// once on the threads themselves).
pub fn matmul_serial(a: &[f32], b: &[f32], c: &mut [f32], s: Matmul) {
    gemm_with(a, b, c, s, gemm::Parallelism::None);
}

// One of the crate's two audited unsafe blocks: gemm takes raw pointers.
#[allow(unsafe_code)]
fn gemm_with(a: &[f32], b: &[f32], c: &mut [f32], s: Matmul, par: gemm::Parallelism) {
    let (m, n, k) = (s.m, s.n, s.k);
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !s.accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    // (row stride, column stride) of op(A) [m, k] and op(B) [k, n].
    let (a_rs, a_cs) = if s.trans_a { (1, m) } else { (k, 1) };
    let (b_rs, b_cs) = if s.trans_b { (1, k) } else { (n, 1) };
    // SAFETY: the asserts above keep every index the strides reach in bounds.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            s.accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

/// Threads pay off only for products big enough to amortize the fork.
fn parallelism(flops: usize) -> gemm::Parallelism {
    #[cfg(not(target_arch = "wasm32"))]
    if flops >= 1 << 18 {
        return gemm::Parallelism::Rayon(0);
    }
    let _ = flops;
    gemm::Parallelism::None
}

#[inline]
pub fn activate(act: Activation, x: f32) -> f32 {
    match act {
        Activation::Identity => x,
        Activation::Relu => x.max(0.0),
        Activation::LeakyRelu => {
            if x > 0.0 {
                x
            } else {
                Activation::LEAKY_SLOPE * x
            }
        }
        Activation::Sigmoid => sigmoid(x),
        Activation::Tanh => x.tanh(),
    }
}

/// `f'(x)`, using `y = f(x)` where that is cheaper and more accurate.
#[inline]
pub fn derivative(act: Activation, x: f32, y: f32) -> f32 {
    match act {
        Activation::Identity => 1.0,
        Activation::Relu => {
            if x > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        Activation::LeakyRelu => {
            if x > 0.0 {
                1.0
            } else {
                Activation::LEAKY_SLOPE
            }
        }
        Activation::Sigmoid => y * (1.0 - y),
        Activation::Tanh => 1.0 - y * y,
    }
}

/// A sigmoid that never overflows `exp`.
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Per-pixel reconstruction loss and its derivative in the logit `s`.
#[inline]
pub fn recon(kind: Recon, s: f32, x: f32) -> (f32, f32) {
    // One exp serves both the sigmoid and the BCE's softplus; e is in (0, 1].
    let e = (-s.abs()).exp();
    let p = if s >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    };
    match kind {
        // max(s,0) - s x + ln(1 + e^-|s|): finite for any s; 1 + e >= 1, so
        // ln is well conditioned (absolute error ~1e-7, like ln_1p here).
        Recon::Bce => (s.max(0.0) - s * x + (1.0 + e).ln(), p - x),
        Recon::Gaussian => {
            let e = p - x;
            (e * e, 2.0 * e * p * (1.0 - p))
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn reparam_forward(
    mu: &[f32],
    logvar: &[f32],
    eps: &mut [f32],
    z: &mut [f32],
    kl: &mut [f32],
    rows: usize,
    zdim: usize,
    noise: Noise,
) {
    for (r, kl) in kl[..rows].iter_mut().enumerate() {
        let mut sum = 0.0f32;
        for j in r * zdim..(r + 1) * zdim {
            let e = crate::rng::normal(noise.seed, noise.stream, j as u32);
            let lv = clamp_logvar(logvar[j]);
            eps[j] = e;
            z[j] = mu[j] + (0.5 * lv).exp() * e;
            sum += 1.0 + lv - mu[j] * mu[j] - lv.exp();
        }
        *kl = -0.5 * sum;
    }
}

/// `logvar` clamped to `[LOGVAR_MIN, LOGVAR_MAX]` (NaN stays NaN).
pub fn clamp_logvar(lv: f32) -> f32 {
    lv.clamp(crate::backend::LOGVAR_MIN, crate::backend::LOGVAR_MAX)
}

/// `dlogvar` of one element: zero where the clamp cut `logvar` off (NaN
/// passes through, as on the GPU).
pub fn reparam_dlogvar(logvar: f32, eps: f32, dz: f32, kl_scale: f32) -> f32 {
    if !(crate::backend::LOGVAR_MIN..=crate::backend::LOGVAR_MAX).contains(&logvar)
        && !logvar.is_nan()
    {
        return 0.0;
    }
    let sigma = (0.5 * logvar).exp();
    dz * eps * sigma * 0.5 + kl_scale * 0.5 * (logvar.exp() - 1.0)
}

/// One Adam update over matching chunks, PyTorch's formula. (Zipped, not
/// indexed: no bounds tests, so the loop vectorizes.)
pub fn adam(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], step: AdamStep) {
    let (step_size, bc2_sqrt) = step.corrections();
    for ((p, &g), (m, v)) in p.iter_mut().zip(g).zip(m.iter_mut().zip(v.iter_mut())) {
        *m = step.beta1 * *m + (1.0 - step.beta1) * g;
        *v = step.beta2 * *v + (1.0 - step.beta2) * g * g;
        *p -= step_size * *m / (v.sqrt() / bc2_sqrt + step.eps);
    }
}

/// The sum of `xs` in `f64`, in eight interleaved partial sums (one long
/// chain of dependent adds was latency-bound), added in a fixed order: the
/// same result on every run and every thread count.
pub fn sum_f64(xs: &[f32]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let chunks = xs.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l += v as f64;
        }
    }
    let mut sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
        + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    for &v in rest {
        sum += v as f64;
    }
    sum
}
