//! Conv2d on the GPU. The forward and the weight gradient are implicit GEMMs
//! (`conv_gemm.wgsl`, see `conv_gemm.rs`): the tile loads read patches straight
//! from `x`, the forward writes NCHW with the channel bias in its epilogue, and
//! the weight gradient is a split-K product (the bias gradient one more
//! column of it). The gradient to the data is col2im / permute kernels
//! (`conv.wgsl`) around the tiled matmul (`matmul.wgsl`), one product per
//! chunk of the batch.
//!
//! Shape legend: B batch, C channels, H height, W width. For a chunk of `nb`
//! samples, `K = Ci KH KW`, `P = OH OW`, `N = nb P`: the patch-gradient matrix
//! `columns [K, N]` and the channel-major `permuted [Co, N]` live in two
//! scratch buffers ([`ConvScratch`]) grown on demand.

use super::conv_gemm;
use super::kernels::*;
use super::matmul::call_matmul;
use super::recorder::{fold_groups, u32_of, Recorder, MAX_GROUPS};
use crate::backend::{Conv2dShape, Matmul, View};

/// Largest scratch buffer (words) a chunk may need; the batch is split so
/// `K N` and `Co N` stay below it.
const CHUNK_WORDS: usize = 1 << 23;

/// The scratch buffers of the convolutions, kept between calls.
#[derive(Default)]
pub(super) struct ConvScratch {
    /// The patch matrix's gradient `columns [K, N]`.
    columns: Option<View>,
    /// The channel-major `permuted [Co, N]` twin of an NCHW `dy`.
    permuted: Option<View>,
    /// The weight gradient's partial products, one `[Co, K (+1)]` per slice.
    partials: Option<View>,
}

/// A view of `len` words of the buffer in `slot`, which grows (to a power of
/// two, at least 4096 words) when it is too small.
fn scratch_view(rec: &mut Recorder, slot: &mut Option<View>, len: usize, label: &str) -> View {
    if let Some(v) = *slot {
        if v.len() >= len {
            return v.slice(0, len);
        }
        // Pending commands keep their own handle on the old buffer.
        rec.free(v);
    }
    let v = rec.alloc(len.next_power_of_two().max(1 << 12), label);
    *slot = Some(v);
    v.slice(0, len)
}

impl ConvScratch {
    /// `columns [k, n]` and `permuted [co, n]` for one chunk.
    fn views(&mut self, rec: &mut Recorder, k: usize, co: usize, n: usize) -> (View, View) {
        let columns = scratch_view(rec, &mut self.columns, k * n, "conv columns");
        let permuted = scratch_view(rec, &mut self.permuted, co * n, "conv permuted");
        (columns, permuted)
    }
}

/// Samples per chunk: scratch within `CHUNK_WORDS` and the binding limit,
/// and the product's columns within one dispatch's workgroup count.
fn chunk_samples(rec: &Recorder, g: &Conv2dShape) -> usize {
    let p = g.out_positions().max(1);
    let words = CHUNK_WORDS.min(rec.max_binding() as usize / 4);
    let by_memory = words / (g.patch_len().max(g.out_channels) * p).max(1);
    let by_groups = (MAX_GROUPS as usize * MATMUL_TILE as usize) / p;
    by_memory.min(by_groups).clamp(1, g.batch.max(1))
}

/// One chunk of the batch: samples `first..first + samples`, and the
/// scratch views sized for it.
struct Chunk {
    first: usize,
    samples: usize,
    columns: View,
    permuted: View,
}

impl Chunk {
    /// `N = samples P`, the columns of this chunk's products.
    fn width(&self, g: &Conv2dShape) -> usize {
        self.samples * g.out_positions()
    }

    /// This chunk's samples of an input-shaped view `[B, Ci, H, W]`.
    fn inputs(&self, g: &Conv2dShape, v: View) -> View {
        v.slice(self.first * g.in_len(), self.samples * g.in_len())
    }

    /// This chunk's samples of an output-shaped view `[B, Co, OH, OW]`.
    fn outputs(&self, g: &Conv2dShape, v: View) -> View {
        v.slice(self.first * g.out_len(), self.samples * g.out_len())
    }

    /// `permuted` from this chunk of the NCHW `dy`.
    fn permute_to_channel_major(&self, rec: &mut Recorder, g: &Conv2dShape, dy: View) {
        let dy = self.outputs(g, dy);
        let (c, s) = (g.out_channels, g.out_positions());
        call_permute(rec, dy, self.permuted, self.samples, c, s, false);
    }
}

/// Checks the views, then calls `f(rec, chunk)` for each chunk of the batch.
#[allow(clippy::too_many_arguments)]
fn for_each_chunk(
    rec: &mut Recorder,
    scratch: &mut ConvScratch,
    g: &Conv2dShape,
    input: View,
    output: View,
    w: View,
    what: &str,
    mut f: impl FnMut(&mut Recorder, Chunk),
) {
    check_views(g, input, output, w, what);
    let step = chunk_samples(rec, g);
    let mut first = 0;
    while first < g.batch {
        let samples = step.min(g.batch - first);
        let n = samples * g.out_positions();
        let (columns, permuted) = scratch.views(rec, g.patch_len(), g.out_channels, n);
        f(
            rec,
            Chunk {
                first,
                samples,
                columns,
                permuted,
            },
        );
        first += samples;
    }
}

fn conv_params(g: &Conv2dShape, nb: usize) -> ConvParams {
    let [oh, ow] = g.out_size();
    ConvParams {
        n: u32_of(nb, "batch"),
        c: u32_of(g.in_channels, "in_channels"),
        h: u32_of(g.in_size[0], "height"),
        w: u32_of(g.in_size[1], "width"),
        oh: u32_of(oh, "out height"),
        ow: u32_of(ow, "out width"),
        kh: u32_of(g.kernel[0], "kernel height"),
        kw: u32_of(g.kernel[1], "kernel width"),
        sh: u32_of(g.stride[0], "stride"),
        sw: u32_of(g.stride[1], "stride"),
        ph: u32_of(g.padding[0], "padding"),
        pw: u32_of(g.padding[1], "padding"),
        ..Default::default()
    }
}

/// `dcolumns [K, nb P]` -> `dx [nb, Ci, H, W]` (overwritten).
fn call_col2im(rec: &mut Recorder, dcolumns: View, dx: View, g: &Conv2dShape, nb: usize) {
    let base = conv_params(g, nb);
    // One thread per (b, ci, iy) row.
    let groups = rec.elementwise_groups(nb * g.in_channels * g.in_size[0]);
    rec.dispatch(COL2IM, &[dcolumns, dx], groups, &[], |o| ConvParams {
        src_off: o[0],
        dst_off: o[1],
        ..base
    });
}

/// NCHW `[nb, C, S]` <-> channel-major `[C, nb S]`; `back` picks the
/// direction channel-major -> NCHW.
fn call_permute(
    rec: &mut Recorder,
    src: View,
    dst: View,
    nb: usize,
    c: usize,
    s: usize,
    back: bool,
) {
    debug_assert_eq!(src.len(), nb * c * s);
    debug_assert_eq!(dst.len(), nb * c * s);
    // One thread per row of `s` elements.
    let groups = rec.elementwise_groups(nb * c);
    let (n, c, s) = (
        u32_of(nb, "batch"),
        u32_of(c, "channels"),
        u32_of(s, "size"),
    );
    rec.dispatch(PERMUTE, &[src, dst], groups, &[], |o| ConvParams {
        n,
        c,
        h: s,
        src_off: o[0],
        dst_off: o[1],
        flag: back as u32,
        ..Default::default()
    });
}

/// The checks every convolution op makes on its views.
fn check_views(g: &Conv2dShape, input: View, output: View, w: View, what: &str) {
    assert!(
        g.checked_out_size().is_some(),
        "{what}: {g:?} has no output"
    );
    assert!(
        input.len() >= g.batch * g.in_len()
            && output.len() >= g.batch * g.out_len()
            && w.len() >= g.weight_len(),
        "{what}: views too short for {g:?}"
    );
}

/// `y = conv2d(x, w) (+ bias[co])` (overwritten): one implicit GEMM per chunk.
pub(super) fn call_conv2d_forward(
    rec: &mut Recorder,
    x: View,
    w: View,
    bias: Option<View>,
    y: View,
    g: Conv2dShape,
) {
    check_views(&g, x, y, w, "conv2d_forward");
    if let Some(b) = bias {
        assert!(b.len() >= g.out_channels, "conv2d_forward: bias too short");
    }
    let [_, dummy] = rec.dummies();
    conv_gemm::forward(rec, x, w, bias, y, dummy, &g);
}

/// `dx = conv2d^T(dy, w)`: per chunk, `dcolumns = w^T permuted(dy)`, then col2im.
pub(super) fn call_conv2d_backward_data(
    rec: &mut Recorder,
    scratch: &mut ConvScratch,
    dy: View,
    w: View,
    dx: View,
    g: Conv2dShape,
) {
    for_each_chunk(
        rec,
        scratch,
        &g,
        dx,
        dy,
        w,
        "conv2d_backward_data",
        |rec, c| {
            c.permute_to_channel_major(rec, &g, dy);
            // dcolumns [K, N] = w^T [K, Co] * permuted [Co, N].
            let spec = Matmul {
                m: g.patch_len(),
                n: c.width(&g),
                k: g.out_channels,
                trans_a: true,
                trans_b: false,
                accumulate: false,
            };
            call_matmul(rec, w.slice(0, g.weight_len()), c.permuted, c.columns, spec);
            call_col2im(rec, c.columns, c.inputs(&g, dx), &g, c.samples);
        },
    );
}

/// `dw += dy col(x)^T` (and `db += dy` summed per channel): split-K implicit GEMM.
pub(super) fn call_conv2d_backward_weights(
    rec: &mut Recorder,
    scratch: &mut ConvScratch,
    x: View,
    dy: View,
    dw: View,
    db: Option<View>,
    g: Conv2dShape,
) {
    check_views(&g, x, dy, dw, "conv2d_backward_weights");
    if let Some(b) = db {
        assert!(
            b.len() >= g.out_channels,
            "conv2d_backward_weights: db too short"
        );
    }
    let words = conv_gemm::partial_words(&g, db.is_some());
    let part = scratch_view(rec, &mut scratch.partials, words, "conv partials");
    let [_, dummy] = rec.dummies();
    conv_gemm::backward_weights(rec, x, dy, dw, db, part, dummy, &g);
}

/// The params of a per-channel kernel over `data [batch, channels, spatial]`
/// and `per_channel [channels]`, after checking that both views hold them.
fn channel_params(
    what: &str,
    data: View,
    per_channel: View,
    [batch, channels, spatial]: [usize; 3],
) -> ConvParams {
    assert!(
        data.len() >= batch * channels * spatial && per_channel.len() >= channels,
        "{what}: views too short"
    );
    ConvParams {
        n: u32_of(batch, "batch"),
        c: u32_of(channels, "channels"),
        h: u32_of(spatial, "spatial"),
        ..Default::default()
    }
}

/// `y[b, c, s] += bias[c]`.
pub(super) fn call_channel_bias_add(
    rec: &mut Recorder,
    y: View,
    bias: View,
    batch: usize,
    channels: usize,
    spatial: usize,
) {
    let base = channel_params("channel_bias_add", y, bias, [batch, channels, spatial]);
    let len = batch * channels * spatial;
    let groups = rec.elementwise_groups(len);
    let views = [bias, y.slice(0, len)];
    rec.dispatch(CHANNEL_BIAS_ADD, &views, groups, &[], |o| ConvParams {
        src_off: o[0],
        dst_off: o[1],
        ..base
    });
}

/// `db[c] += sum_{b, s} dy[b, c, s]`, one workgroup per channel.
pub(super) fn call_channel_bias_grad(
    rec: &mut Recorder,
    dy: View,
    db: View,
    batch: usize,
    channels: usize,
    spatial: usize,
) {
    let base = channel_params("channel_bias_grad", dy, db, [batch, channels, spatial]);
    let len = batch * channels * spatial;
    let views = [dy.slice(0, len), db.slice(0, channels)];
    rec.dispatch(CHANNEL_BIAS_GRAD, &views, fold_groups(base.c), &[], |o| {
        ConvParams {
            src_off: o[0],
            dst_off: o[1],
            ..base
        }
    });
}
