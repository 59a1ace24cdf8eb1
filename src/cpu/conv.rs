//! Conv2d on the CPU: im2col / col2im loops around one `gemm` product per
//! chunk of the batch.
//!
//! Shape legend: B batch, C channels, H height, W width. For a chunk of `nb`
//! samples, with `K = Ci KH KW` and `P = OH OW`:
//! `col [K, nb P]`, `col[(ci KH + kh) KW + kw, b P + oh OW + ow] =
//! x[b, ci, oh SH + kh - PH, ow SW + kw - PW]` (zero outside the image), and
//! the product lives in channel-major `t [Co, nb P]`, permuted to / from NCHW.

use super::ops;
use crate::backend::{Conv2dShape, Matmul};

/// Words of `col` (or `t`) per chunk, at most: bounds scratch memory.
const CHUNK_WORDS: usize = 1 << 22;

/// Scratch kept between calls so a training step allocates nothing.
#[derive(Default)]
pub struct Scratch {
    col: Vec<f32>,
    t: Vec<f32>,
}

impl Scratch {
    fn take(&mut self, col: usize, t: usize) -> (&mut [f32], &mut [f32]) {
        if self.col.len() < col {
            self.col.resize(col, 0.0);
        }
        if self.t.len() < t {
            self.t.resize(t, 0.0);
        }
        (&mut self.col[..col], &mut self.t[..t])
    }
}

/// Samples per chunk.
pub fn chunk(g: &Conv2dShape) -> usize {
    let widest = g.patch_len().max(g.out_channels) * g.out_positions();
    (CHUNK_WORDS / widest.max(1)).clamp(1, g.batch.max(1))
}

/// `x [nb, Ci, H, W]` -> `col [K, nb P]`.
pub fn im2col(x: &[f32], g: &Conv2dShape, nb: usize, col: &mut [f32]) {
    let [h, w] = g.in_size;
    let [oh, ow] = g.out_size();
    let [kh, kw] = g.kernel;
    let [sh, sw] = g.stride;
    let [ph, pw] = g.padding;
    let (p, n) = (oh * ow, nb * oh * ow);
    for ci in 0..g.in_channels {
        for ki in 0..kh {
            for kj in 0..kw {
                let row = &mut col[((ci * kh + ki) * kw + kj) * n..][..n];
                for b in 0..nb {
                    let plane = &x[(b * g.in_channels + ci) * h * w..][..h * w];
                    for oy in 0..oh {
                        let out = &mut row[b * p + oy * ow..][..ow];
                        let iy = (oy * sh + ki) as isize - ph as isize;
                        if iy < 0 || iy >= h as isize {
                            out.fill(0.0);
                            continue;
                        }
                        let src = &plane[iy as usize * w..][..w];
                        for (ox, o) in out.iter_mut().enumerate() {
                            let ix = (ox * sw + kj) as isize - pw as isize;
                            *o = if ix >= 0 && ix < w as isize {
                                src[ix as usize]
                            } else {
                                0.0
                            };
                        }
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
            for kj in 0..kw {
                let row = &dcol[((ci * kh + ki) * kw + kj) * n..][..n];
                for b in 0..nb {
                    let plane = &mut dx[(b * g.in_channels + ci) * h * w..][..h * w];
                    for oy in 0..oh {
                        let iy = (oy * sh + ki) as isize - ph as isize;
                        if iy < 0 || iy >= h as isize {
                            continue;
                        }
                        let dst = &mut plane[iy as usize * w..][..w];
                        for (ox, &v) in row[b * p + oy * ow..][..ow].iter().enumerate() {
                            let ix = (ox * sw + kj) as isize - pw as isize;
                            if ix >= 0 && ix < w as isize {
                                dst[ix as usize] += v;
                            }
                        }
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

fn for_chunks(g: &Conv2dShape, mut f: impl FnMut(usize, usize)) {
    let step = chunk(g);
    let mut b0 = 0;
    while b0 < g.batch {
        let nb = step.min(g.batch - b0);
        f(b0, nb);
        b0 += nb;
    }
}

pub fn forward(x: &[f32], w: &[f32], y: &mut [f32], g: &Conv2dShape, s: &mut Scratch) {
    let (k, p, co) = (g.patch_len(), g.out_positions(), g.out_channels);
    let (il, ol) = (g.in_len(), g.out_len());
    for_chunks(g, |b0, nb| {
        let n = nb * p;
        let (col, t) = s.take(k * n, co * n);
        im2col(&x[b0 * il..(b0 + nb) * il], g, nb, col);
        let spec = Matmul {
            m: co,
            n,
            k,
            trans_a: false,
            trans_b: false,
            accumulate: false,
        };
        ops::matmul(w, col, t, spec);
        to_sample_major(t, nb, co, p, &mut y[b0 * ol..(b0 + nb) * ol]);
    });
}

pub fn backward_data(dy: &[f32], w: &[f32], dx: &mut [f32], g: &Conv2dShape, s: &mut Scratch) {
    let (k, p, co) = (g.patch_len(), g.out_positions(), g.out_channels);
    let (il, ol) = (g.in_len(), g.out_len());
    for_chunks(g, |b0, nb| {
        let n = nb * p;
        let (dcol, t) = s.take(k * n, co * n);
        to_channel_major(&dy[b0 * ol..(b0 + nb) * ol], nb, co, p, t);
        // dcol [K, N] = w^T [K, Co] * t [Co, N].
        let spec = Matmul {
            m: k,
            n,
            k: co,
            trans_a: true,
            trans_b: false,
            accumulate: false,
        };
        ops::matmul(w, t, dcol, spec);
        col2im(dcol, g, nb, &mut dx[b0 * il..(b0 + nb) * il]);
    });
}

pub fn backward_weights(x: &[f32], dy: &[f32], dw: &mut [f32], g: &Conv2dShape, s: &mut Scratch) {
    let (k, p, co) = (g.patch_len(), g.out_positions(), g.out_channels);
    let (il, ol) = (g.in_len(), g.out_len());
    for_chunks(g, |b0, nb| {
        let n = nb * p;
        let (col, t) = s.take(k * n, co * n);
        im2col(&x[b0 * il..(b0 + nb) * il], g, nb, col);
        to_channel_major(&dy[b0 * ol..(b0 + nb) * ol], nb, co, p, t);
        // dw [Co, K] += t [Co, N] * col^T [N, K].
        let spec = Matmul {
            m: co,
            n: k,
            k: n,
            trans_a: false,
            trans_b: true,
            accumulate: true,
        };
        ops::matmul(t, col, dw, spec);
    });
}
