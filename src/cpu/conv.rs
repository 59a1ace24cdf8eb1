//! Conv2d on the CPU: im2col / col2im loops around one `gemm` product per
//! group of samples, the groups spread over the threads.
//!
//! Shape legend: B batch, C channels, H height, W width. For a group of `nb`
//! samples, with `K = Ci KH KW` and `P = OH OW`:
//! `col [K, nb P]`, `col[(ci KH + kh) KW + kw, b P + oh OW + ow] =
//! x[b, ci, oh SH + kh - PH, ow SW + kw - PW]` (zero outside the image), and
//! the product lives in channel-major `t [Co, nb P]`, permuted to / from NCHW.
//!
//! Why groups: a group's `col` and `t` are sized to stay in a core's L2
//! cache, so im2col writes what the GEMM reads next while it is still
//! there (one `col` for the whole batch was 13 MB on `conv`, written out to
//! memory and read back). Each group runs one single-threaded GEMM, and the
//! groups run in parallel (rayon natively, a loop in wasm): the samples of a
//! group write disjoint parts of `y` / `dx`; the weight gradient is summed
//! per group, then the groups' sums are added in group order, so the result
//! does not depend on which thread ran what.

use super::ops::with_act;
use super::{ops, par};
use crate::backend::{Activation, Conv2dShape, Matmul};

/// Words of a group's `col` or `t`, at most (unless one sample needs more):
/// 512 KiB, half of this machine's per-core L2, the other half for the GEMM's
/// packed operands.
const GROUP_WORDS: usize = 1 << 17;

/// Groups per thread, at least, where the batch allows: a thread slowed by
/// other work leaves its share to the others.
const GROUPS_PER_THREAD: usize = 4;

/// Scratch kept between calls so a training step allocates nothing: the
/// weight gradient's per-group sums, and the bias gradient's.
#[derive(Default)]
pub struct Scratch {
    words: Vec<f32>,
    bias: Vec<f64>,
}

std::thread_local! {
    /// Each thread's `col` and `t`, reused by every group the thread runs, so
    /// the next group's im2col writes into lines already in this core's
    /// cache (one region per group was the whole batch's patch matrix again,
    /// 16 MB on `cifar`, streamed through memory).
    static LOCAL: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` on this thread's scratch of `words` words.
fn with_local<R>(words: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    LOCAL.with(|cell| match cell.try_borrow_mut() {
        Ok(mut v) => {
            if v.len() < words {
                v.resize(words, 0.0);
            }
            f(&mut v[..words])
        }
        // Not reached (the groups' work calls nothing that runs another
        // group on this thread), but never a panic if it were.
        Err(_) => f(&mut vec![0.0; words]),
    })
}

/// [`GROUP_WORDS`], or `VAE_CPU_GROUP_KIB` KiB (tuning experiments).
fn group_words() -> usize {
    static WORDS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *WORDS.get_or_init(|| {
        std::env::var("VAE_CPU_GROUP_KIB")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .map_or(GROUP_WORDS, |kib| (kib * 256).max(1))
    })
}

impl Scratch {
    /// `groups` regions of `each` words, and `groups` of `bias` `f64`s
    /// (empty ones where `bias` is 0).
    #[allow(clippy::type_complexity)]
    fn regions(
        &mut self,
        groups: usize,
        each: usize,
        bias: usize,
    ) -> (Vec<&mut [f32]>, Vec<&mut [f64]>) {
        if self.words.len() < groups * each {
            self.words.resize(groups * each, 0.0);
        }
        if self.bias.len() < groups * bias {
            self.bias.resize(groups * bias, 0.0);
        }
        let words = self.words[..groups * each].chunks_mut(each).collect();
        let bias = match bias {
            0 => (0..groups).map(|_| <&mut [f64]>::default()).collect(),
            _ => self.bias[..groups * bias].chunks_mut(bias).collect(),
        };
        (words, bias)
    }
}

/// Samples per group.
pub fn group(g: &Conv2dShape) -> usize {
    let per_sample = g.patch_len().max(g.out_channels) * g.out_positions();
    let by_cache = (group_words() / per_sample.max(1)).max(1);
    let by_balance = g.batch.div_ceil(GROUPS_PER_THREAD * par::threads()).max(1);
    by_cache.min(by_balance).clamp(1, g.batch.max(1))
}

/// The columns `ox` for which `ox S + k - P` lands in `0..size`.
fn valid(out: usize, size: usize, stride: usize, k: usize, pad: usize) -> std::ops::Range<usize> {
    // ox S >= P - k, and ox S + k - P <= size - 1.
    let lo = pad.saturating_sub(k).div_ceil(stride);
    let hi = if size + pad > k {
        ((size + pad - k - 1) / stride + 1).min(out)
    } else {
        0
    };
    lo.min(hi)..hi
}

/// `dst[i] = src[i S]`. Stride 2 (every preset's) goes in blocks of four
/// read from eight whole words (one shuffle of two vectors) while `src` has
/// them, then singles: rows are 7-16 long on the presets, too short for
/// the compiler's own vector loop to start. (Blocks read from only seven
/// words, so as never to pass `src[2 (n - 1)]`, compiled to scalar moves.)
#[inline]
fn gather(dst: &mut [f32], src: &[f32], stride: usize) {
    let n = dst.len();
    if n == 0 {
        return;
    }
    match stride {
        1 => dst.copy_from_slice(&src[..n]),
        2 => {
            let full = (n / 4).min(src.len() / 8);
            for (d, s) in dst.chunks_exact_mut(4).zip(src.chunks_exact(8)).take(full) {
                let s: &[f32; 8] = s.try_into().unwrap();
                d.copy_from_slice(&[s[0], s[2], s[4], s[6]]);
            }
            for i in 4 * full..n {
                dst[i] = src[2 * i];
            }
        }
        _ => {
            for (d, &v) in dst.iter_mut().zip(src.iter().step_by(stride)) {
                *d = v;
            }
        }
    }
}

/// `dst[i S] += src[i]`; `dst` has at least `(len - 1) S + 1` words.
#[inline]
fn scatter_add(dst: &mut [f32], src: &[f32], stride: usize) {
    match stride {
        1 => {
            for (d, &v) in dst.iter_mut().zip(src) {
                *d += v;
            }
        }
        // Blocks of four into eight whole words of `dst` while it has them
        // (the odd ones written back unchanged), as in `gather`.
        2 => {
            let n = src.len();
            let full = (n / 4).min(dst.len() / 8);
            for (d, s) in dst.chunks_exact_mut(8).zip(src.chunks_exact(4)).take(full) {
                let d: &mut [f32; 8] = d.try_into().unwrap();
                *d = [
                    d[0] + s[0],
                    d[1],
                    d[2] + s[1],
                    d[3],
                    d[4] + s[2],
                    d[5],
                    d[6] + s[3],
                    d[7],
                ];
            }
            for i in 4 * full..n {
                dst[2 * i] += src[i];
            }
        }
        _ => {
            for (d, &v) in dst.iter_mut().step_by(stride).zip(src) {
                *d += v;
            }
        }
    }
}

/// `x [nb, Ci, H, W]` -> `col [K, nb P]`.
///
/// Every entry is written once: the in-image ranges copied, the padding
/// around them zeroed (no bounds test per element, and no pass that zeroes
/// the whole matrix first; rows are only `OW` long: 8 on `cifar`).
pub fn im2col(x: &[f32], g: &Conv2dShape, nb: usize, col: &mut [f32]) {
    if g.stride == [2, 2] {
        return im2col_s2(x, g, nb, col);
    }
    let [h, w] = g.in_size;
    let [oh, ow] = g.out_size();
    let [kh, kw] = g.kernel;
    let [sh, sw] = g.stride;
    let [ph, pw] = g.padding;
    let (p, n) = (oh * ow, nb * oh * ow);
    for ci in 0..g.in_channels {
        for ki in 0..kh {
            let rows = valid(oh, h, sh, ki, ph);
            for kj in 0..kw {
                let cols = valid(ow, w, sw, kj, pw);
                let row = &mut col[((ci * kh + ki) * kw + kj) * n..][..n];
                if cols.is_empty() || rows.is_empty() {
                    row.fill(0.0);
                    continue;
                }
                let first = cols.start * sw + kj - pw;
                for b in 0..nb {
                    let plane = &x[(b * g.in_channels + ci) * h * w..][..h * w];
                    let out = &mut row[b * p..][..p];
                    out[..rows.start * ow].fill(0.0);
                    out[rows.end * ow..].fill(0.0);
                    for oy in rows.clone() {
                        let line = &mut out[oy * ow..][..ow];
                        let (head, rest) = line.split_at_mut(cols.start);
                        let (mid, tail) = rest.split_at_mut(cols.len());
                        head.fill(0.0);
                        tail.fill(0.0);
                        gather(mid, &plane[(oy * sh + ki - ph) * w + first..], sw);
                    }
                }
            }
        }
    }
}

/// [`im2col`] for stride 2 both ways (every preset's): each input plane is
/// split once into its four phases (even and odd rows by even and odd
/// columns), in which every kernel tap's patch rows are contiguous runs, so
/// they are copied rather than gathered element by element; where a tap's
/// rows are whole phase rows, its whole block is one copy.
fn im2col_s2(x: &[f32], g: &Conv2dShape, nb: usize, col: &mut [f32]) {
    let [h, w] = g.in_size;
    let [oh, ow] = g.out_size();
    let [kh, kw] = g.kernel;
    let [ph, pw] = g.padding;
    let (hh, hw) = (h.div_ceil(2), w.div_ceil(2));
    let (p, n) = (oh * ow, nb * oh * ow);
    // phases[(pr 2 + pc) hh hw + r hw + c] = plane[2 r + pr][2 c + pc].
    let mut phases = vec![0.0f32; 4 * hh * hw];
    for ci in 0..g.in_channels {
        for b in 0..nb {
            let plane = &x[(b * g.in_channels + ci) * h * w..][..h * w];
            for (y, row) in plane.chunks_exact(w).enumerate() {
                let (even, odd) = phases[((y % 2) * 2 * hh + y / 2) * hw..].split_at_mut(hh * hw);
                let pairs = row.chunks_exact(2);
                if let [v] = pairs.remainder() {
                    even[w / 2] = *v;
                }
                for ((e, o), pair) in even.iter_mut().zip(odd.iter_mut()).zip(pairs) {
                    *e = pair[0];
                    *o = pair[1];
                }
            }
            for ki in 0..kh {
                let rows = valid(oh, h, 2, ki, ph);
                for kj in 0..kw {
                    let cols = valid(ow, w, 2, kj, pw);
                    let out = &mut col[((ci * kh + ki) * kw + kj) * n + b * p..][..p];
                    if rows.is_empty() || cols.is_empty() {
                        out.fill(0.0);
                        continue;
                    }
                    out[..rows.start * ow].fill(0.0);
                    out[rows.end * ow..].fill(0.0);
                    // Input row 2 oy + ki - ph and column 2 ox + kj - pw.
                    let iy = 2 * rows.start + ki - ph;
                    let ix = 2 * cols.start + kj - pw;
                    let phase = &phases[((iy % 2) * 2 + ix % 2) * hh * hw..][..hh * hw];
                    let src = &phase[(iy / 2) * hw + ix / 2..];
                    if cols.len() == ow && ow == hw {
                        let len = rows.len() * ow;
                        out[rows.start * ow..][..len].copy_from_slice(&src[..len]);
                        continue;
                    }
                    for (j, oy) in rows.clone().enumerate() {
                        let line = &mut out[oy * ow..][..ow];
                        let (head, rest) = line.split_at_mut(cols.start);
                        let (mid, tail) = rest.split_at_mut(cols.len());
                        head.fill(0.0);
                        tail.fill(0.0);
                        mid.copy_from_slice(&src[j * hw..][..mid.len()]);
                    }
                }
            }
        }
    }
}

/// `dx [nb, Ci, H, W] = col2im(dcol [K, nb P])`: every patch entry added back
/// to the pixel it was copied from (overwrites `dx`).
pub fn col2im(dcol: &[f32], g: &Conv2dShape, nb: usize, dx: &mut [f32]) {
    let [h, w] = g.in_size;
    let [oh, ow] = g.out_size();
    let [kh, kw] = g.kernel;
    let [sh, sw] = g.stride;
    let [ph, pw] = g.padding;
    let (p, n) = (oh * ow, nb * oh * ow);
    dx[..nb * g.in_len()].fill(0.0);
    for ci in 0..g.in_channels {
        for ki in 0..kh {
            let rows = valid(oh, h, sh, ki, ph);
            for kj in 0..kw {
                let cols = valid(ow, w, sw, kj, pw);
                if cols.is_empty() {
                    continue;
                }
                let first = cols.start * sw + kj - pw;
                let row = &dcol[((ci * kh + ki) * kw + kj) * n..][..n];
                for b in 0..nb {
                    let plane = &mut dx[(b * g.in_channels + ci) * h * w..][..h * w];
                    let src = &row[b * p..][..p];
                    for oy in rows.clone() {
                        let src = &src[oy * ow..][cols.clone()];
                        scatter_add(&mut plane[(oy * sh + ki - ph) * w + first..], src, sw);
                    }
                }
            }
        }
    }
}

/// `[nb, C, P]` -> `[C, nb P]`.
fn to_channel_major(src: &[f32], nb: usize, c: usize, p: usize, dst: &mut [f32]) {
    for b in 0..nb {
        for ch in 0..c {
            dst[ch * nb * p + b * p..][..p].copy_from_slice(&src[(b * c + ch) * p..][..p]);
        }
    }
}

/// `[C, nb P]` -> `[nb, C, P]`.
fn to_sample_major(src: &[f32], nb: usize, c: usize, p: usize, dst: &mut [f32]) {
    for b in 0..nb {
        for ch in 0..c {
            dst[(b * c + ch) * p..][..p].copy_from_slice(&src[ch * nb * p + b * p..][..p]);
        }
    }
}

/// Number of groups of `group(g)` samples over the batch.
fn groups(g: &Conv2dShape) -> (usize, usize) {
    let size = group(g);
    (size, g.batch.div_ceil(size))
}

/// What a product's output goes through before it leaves the cache, in the
/// order separate passes would apply it (so the results are the same bits).
#[derive(Clone, Copy)]
pub enum Epilogue<'a> {
    /// `v = act(v + bias[c])` on channel `c` (`act(v)` without a bias).
    Out {
        bias: Option<&'a [f32]>,
        act: Activation,
    },
    /// `v = v * act'(y)`, `y` the activation's output over the whole batch,
    /// laid out as the product's output (the gradient through the
    /// activation before a layer).
    Deriv { act: Activation, y: &'a [f32] },
}

impl Epilogue<'_> {
    /// Applies to `out`, whole samples `[nb, C, HW]` starting at word
    /// `first` of the batch's output.
    fn apply(&self, out: &mut [f32], first: usize, channels: usize, hw: usize) {
        match *self {
            Epilogue::Out {
                bias: None,
                act: Activation::Identity,
            } => {}
            Epilogue::Out { bias, act } => with_act!(act, |a| {
                for (i, plane) in out.chunks_exact_mut(hw).enumerate() {
                    match bias {
                        Some(bias) => {
                            let b = bias[i % channels];
                            plane.iter_mut().for_each(|v| *v = ops::activate(a, *v + b));
                        }
                        None => plane.iter_mut().for_each(|v| *v = ops::activate(a, *v)),
                    }
                }
            }),
            Epilogue::Deriv { act, y } => with_act!(act, |a| {
                for (d, &y) in out.iter_mut().zip(&y[first..]) {
                    *d *= ops::derivative(a, y, y);
                }
            }),
        }
    }
}

/// `y = conv2d(x, w)`, then `epi` on `y`.
pub fn forward(x: &[f32], w: &[f32], epi: Epilogue, y: &mut [f32], g: &Conv2dShape) {
    let (k, p, co) = (g.patch_len(), g.out_positions(), g.out_channels);
    let (il, ol) = (g.in_len(), g.out_len());
    let size = group(g);
    let (col_len, t_len) = (k * size * p, co * size * p);
    let tasks: Vec<_> = x[..g.batch * il]
        .chunks(size * il)
        .zip(y[..g.batch * ol].chunks_mut(size * ol))
        .enumerate()
        .collect();
    par::for_each(tasks, |(i, (x, y))| {
        with_local(col_len + t_len, |scratch| {
            forward_group(x, w, y, g, scratch);
            epi.apply(y, i * size * ol, co, p);
        })
    });
}

fn forward_group(x: &[f32], w: &[f32], y: &mut [f32], g: &Conv2dShape, scratch: &mut [f32]) {
    let (k, p, co) = (g.patch_len(), g.out_positions(), g.out_channels);
    let il = g.in_len();
    let col_len = k * group(g) * p;
    {
        let nb = x.len() / il;
        let n = nb * p;
        let (col, t) = scratch.split_at_mut(col_len);
        im2col(x, g, nb, col);
        let spec = Matmul {
            m: co,
            n,
            k,
            trans_a: false,
            trans_b: false,
            accumulate: false,
        };
        ops::matmul_serial(w, col, t, spec);
        to_sample_major(t, nb, co, p, y);
    }
}

/// `dx = conv2d^T(dy, w)`, then `epi` on `dx`.
pub fn backward_data(dy: &[f32], w: &[f32], epi: Epilogue, dx: &mut [f32], g: &Conv2dShape) {
    let (k, p, co) = (g.patch_len(), g.out_positions(), g.out_channels);
    let (il, ol) = (g.in_len(), g.out_len());
    let size = group(g);
    let (col_len, t_len) = (k * size * p, co * size * p);
    let tasks: Vec<_> = dy[..g.batch * ol]
        .chunks(size * ol)
        .zip(dx[..g.batch * il].chunks_mut(size * il))
        .enumerate()
        .collect();
    let hw = g.in_size[0] * g.in_size[1];
    par::for_each(tasks, |(i, (dy, dx))| {
        with_local(col_len + t_len, |scratch| {
            backward_data_group(dy, w, dx, g, col_len, scratch);
            epi.apply(dx, i * size * il, g.in_channels, hw);
        })
    });
}

fn backward_data_group(
    dy: &[f32],
    w: &[f32],
    dx: &mut [f32],
    g: &Conv2dShape,
    col_len: usize,
    scratch: &mut [f32],
) {
    let (k, p, co) = (g.patch_len(), g.out_positions(), g.out_channels);
    let ol = g.out_len();
    {
        let nb = dy.len() / ol;
        let n = nb * p;
        let (dcol, t) = scratch.split_at_mut(col_len);
        to_channel_major(dy, nb, co, p, t);
        // dcol [K, N] = w^T [K, Co] * t [Co, N].
        let spec = Matmul {
            m: k,
            n,
            k: co,
            trans_a: true,
            trans_b: false,
            accumulate: false,
        };
        ops::matmul_serial(w, t, dcol, spec);
        col2im(dcol, g, nb, dx);
    }
}

/// Where a weight gradient's bias gradient comes from: the channels of `dy`
/// (a convolution's bias) or of `x` (a transposed convolution's, whose
/// output gradient is the adjoint convolution's input).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum BiasOf {
    None,
    Dy,
    X,
}

/// `dw += ` the weight gradient; with `bias` other than `None`, also
/// `db[c] += ` the sum of that tensor's channel `c` over the batch and
/// positions (in `f64`: per group, the groups then added in group order).
pub fn backward_weights(
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    bias: (BiasOf, &mut [f32]),
    g: &Conv2dShape,
    s: &mut Scratch,
) {
    let (k, p, co) = (g.patch_len(), g.out_positions(), g.out_channels);
    let (il, ol) = (g.in_len(), g.out_len());
    let (size, count) = groups(g);
    let (col_len, t_len, w_len) = (k * size * p, co * size * p, co * k);
    let (of, db) = bias;
    let b_len = match of {
        BiasOf::None => 0,
        BiasOf::Dy => co,
        BiasOf::X => g.in_channels,
    };
    let (mut regions, mut sums) = s.regions(count, w_len, b_len);
    let tasks: Vec<_> = regions
        .iter_mut()
        .zip(sums.iter_mut())
        .zip(x[..g.batch * il].chunks(size * il))
        .zip(dy[..g.batch * ol].chunks(size * ol))
        .collect();
    par::for_each(tasks, |(((part, sum), x), dy)| {
        with_local(col_len + t_len, |scratch| {
            weights_group(x, dy, part, (of, sum), g, col_len, scratch)
        })
    });
    // The groups' sums, added in group order.
    let dw = &mut dw[..w_len];
    for region in &regions {
        for (d, &v) in dw.iter_mut().zip(region.iter()) {
            *d += v;
        }
    }
    for (c, d) in db[..b_len].iter_mut().enumerate() {
        *d += sums.iter().map(|s| s[c]).sum::<f64>() as f32;
    }
}

fn weights_group(
    x: &[f32],
    dy: &[f32],
    part: &mut [f32],
    bias: (BiasOf, &mut [f64]),
    g: &Conv2dShape,
    col_len: usize,
    scratch: &mut [f32],
) {
    let (k, p, co) = (g.patch_len(), g.out_positions(), g.out_channels);
    let il = g.in_len();
    {
        let nb = x.len() / il;
        let n = nb * p;
        let (col, t) = scratch.split_at_mut(col_len);
        im2col(x, g, nb, col);
        to_channel_major(dy, nb, co, p, t);
        match bias {
            (BiasOf::None, _) => {}
            // `t`'s rows are dy's channels over the group: contiguous.
            (BiasOf::Dy, sum) => {
                for (c, s) in sum.iter_mut().enumerate() {
                    *s = ops::sum_f64(&t[c * n..][..n]);
                }
            }
            (BiasOf::X, sum) => {
                let hw = g.in_size[0] * g.in_size[1];
                sum.fill(0.0);
                for sample in x.chunks_exact(il) {
                    for (s, plane) in sum.iter_mut().zip(sample.chunks_exact(hw)) {
                        *s += ops::sum_f64(plane);
                    }
                }
            }
        }
        // part [Co, K] = t [Co, N] * col^T [N, K].
        let spec = Matmul {
            m: co,
            n: k,
            k: n,
            trans_a: false,
            trans_b: true,
            accumulate: false,
        };
        ops::matmul_serial(t, col, part, spec);
    }
}
