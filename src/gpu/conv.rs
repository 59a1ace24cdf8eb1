//! Conv2d on the GPU: im2col / col2im / permute kernels (`conv.wgsl`) around
//! the tiled matmul (`matmul.wgsl`), one product per chunk of the batch.
//!
//! Shape legend: B batch, C channels, H height, W width. For a chunk of `nb`
//! samples, `K = Ci KH KW`, `P = OH OW`, `N = nb P`: `col [K, N]` and the
//! channel-major product `t [Co, N]` live in two scratch buffers owned by the
//! backend and grown on demand.

use super::kernels::*;
use super::{fold_groups, u32_of, GpuBackend, MAX_GROUPS};
use crate::backend::{Backend, Conv2dShape, Matmul, View};

/// Largest scratch buffer (words) a chunk may need; the batch is split so
/// `K N` and `Co N` stay below it.
const CHUNK_WORDS: usize = 1 << 23;

/// The two scratch buffers of the convolutions.
#[derive(Default)]
pub(super) struct ConvScratch {
    col: Option<View>,
    t: Option<View>,
}

impl GpuBackend {
    /// A scratch view of `len` words: `which` 0 is `col`, 1 is `t`.
    fn conv_scratch(&mut self, which: usize, len: usize) -> View {
        let slot = if which == 0 {
            self.conv.col
        } else {
            self.conv.t
        };
        if let Some(v) = slot {
            if v.len() >= len {
                return v.slice(0, len);
            }
            // Pending commands keep their own handle on the old buffer.
            self.free(v);
        }
        let label = if which == 0 { "conv col" } else { "conv t" };
        let v = self.alloc(len.next_power_of_two().max(1 << 12), label);
        if which == 0 {
            self.conv.col = Some(v);
        } else {
            self.conv.t = Some(v);
        }
        v.slice(0, len)
    }

    /// Samples per chunk: scratch within `CHUNK_WORDS` and the binding limit,
    /// and the product's columns within one dispatch's workgroup count.
    fn conv_chunk(&self, g: &Conv2dShape) -> usize {
        let p = g.out_positions().max(1);
        let words = CHUNK_WORDS.min(self.max_binding as usize / 4);
        let by_memory = words / (g.patch_len().max(g.out_channels) * p).max(1);
        let by_groups = (MAX_GROUPS as usize * MATMUL_TILE as usize) / p;
        by_memory.min(by_groups).clamp(1, g.batch.max(1))
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

    /// `x [nb, Ci, H, W]` -> `col [K, nb P]`.
    fn im2col(&mut self, x: View, col: View, g: &Conv2dShape, nb: usize) {
        let base = Self::conv_params(g, nb);
        // One thread per (k, b, oy) row.
        let groups = self.elementwise_groups(g.patch_len() * nb * g.out_size()[0]);
        self.dispatch(IM2COL, &[x, col], groups, &[], |o| ConvParams {
            src_off: o[0],
            dst_off: o[1],
            ..base
        });
    }

    /// `dcol [K, nb P]` -> `dx [nb, Ci, H, W]` (overwritten).
    fn col2im(&mut self, dcol: View, dx: View, g: &Conv2dShape, nb: usize) {
        let base = Self::conv_params(g, nb);
        // One thread per (b, ci, iy) row.
        let groups = self.elementwise_groups(nb * g.in_channels * g.in_size[0]);
        self.dispatch(COL2IM, &[dcol, dx], groups, &[], |o| ConvParams {
            src_off: o[0],
            dst_off: o[1],
            ..base
        });
    }

    /// NCHW `[nb, C, S]` <-> channel-major `[C, nb S]`; `back` picks the
    /// direction channel-major -> NCHW.
    fn permute(&mut self, src: View, dst: View, nb: usize, c: usize, s: usize, back: bool) {
        debug_assert_eq!(src.len(), nb * c * s);
        debug_assert_eq!(dst.len(), nb * c * s);
        // One thread per row of `s` elements.
        let groups = self.elementwise_groups(nb * c);
        let (n, c, s) = (
            u32_of(nb, "batch"),
            u32_of(c, "channels"),
            u32_of(s, "size"),
        );
        self.dispatch(PERMUTE, &[src, dst], groups, &[], |o| ConvParams {
            n,
            c,
            h: s,
            src_off: o[0],
            dst_off: o[1],
            flag: back as u32,
            ..Default::default()
        });
    }

    /// Calls `f(first sample, samples)` for each chunk of the batch.
    fn conv_chunks(&mut self, g: &Conv2dShape, mut f: impl FnMut(&mut Self, usize, usize)) {
        let step = self.conv_chunk(g);
        let mut b0 = 0;
        while b0 < g.batch {
            let nb = step.min(g.batch - b0);
            f(self, b0, nb);
            b0 += nb;
        }
    }

    fn check_conv(&self, g: &Conv2dShape, input: View, output: View, w: View, what: &str) {
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

    pub(super) fn conv_forward(&mut self, x: View, w: View, y: View, g: Conv2dShape) {
        self.check_conv(&g, x, y, w, "conv2d_forward");
        let (k, p, co) = (g.patch_len(), g.out_positions(), g.out_channels);
        let (il, ol) = (g.in_len(), g.out_len());
        let w = w.slice(0, g.weight_len());
        self.conv_chunks(&g, |be, b0, nb| {
            let n = nb * p;
            let col = be.conv_scratch(0, k * n);
            let t = be.conv_scratch(1, co * n);
            be.im2col(x.slice(b0 * il, nb * il), col, &g, nb);
            let spec = Matmul {
                m: co,
                n,
                k,
                trans_a: false,
                trans_b: false,
                accumulate: false,
            };
            be.matmul(w, col, t, spec);
            be.permute(t, y.slice(b0 * ol, nb * ol), nb, co, p, true);
        });
    }

    pub(super) fn conv_backward_data(&mut self, dy: View, w: View, dx: View, g: Conv2dShape) {
        self.check_conv(&g, dx, dy, w, "conv2d_backward_data");
        let (k, p, co) = (g.patch_len(), g.out_positions(), g.out_channels);
        let (il, ol) = (g.in_len(), g.out_len());
        let w = w.slice(0, g.weight_len());
        self.conv_chunks(&g, |be, b0, nb| {
            let n = nb * p;
            let dcol = be.conv_scratch(0, k * n);
            let t = be.conv_scratch(1, co * n);
            be.permute(dy.slice(b0 * ol, nb * ol), t, nb, co, p, false);
            // dcol [K, N] = w^T [K, Co] * t [Co, N].
            let spec = Matmul {
                m: k,
                n,
                k: co,
                trans_a: true,
                trans_b: false,
                accumulate: false,
            };
            be.matmul(w, t, dcol, spec);
            be.col2im(dcol, dx.slice(b0 * il, nb * il), &g, nb);
        });
    }

    pub(super) fn conv_backward_weights(&mut self, x: View, dy: View, dw: View, g: Conv2dShape) {
        self.check_conv(&g, x, dy, dw, "conv2d_backward_weights");
        let (k, p, co) = (g.patch_len(), g.out_positions(), g.out_channels);
        let (il, ol) = (g.in_len(), g.out_len());
        let dw = dw.slice(0, g.weight_len());
        self.conv_chunks(&g, |be, b0, nb| {
            let n = nb * p;
            let col = be.conv_scratch(0, k * n);
            let t = be.conv_scratch(1, co * n);
            be.im2col(x.slice(b0 * il, nb * il), col, &g, nb);
            be.permute(dy.slice(b0 * ol, nb * ol), t, nb, co, p, false);
            // dw [Co, K] += t [Co, N] * col^T [N, K].
            let spec = Matmul {
                m: co,
                n: k,
                k: n,
                trans_a: false,
                trans_b: true,
                accumulate: true,
            };
            be.matmul(t, col, dw, spec);
        });
    }

    pub(super) fn conv_bias_add(
        &mut self,
        y: View,
        bias: View,
        batch: usize,
        channels: usize,
        spatial: usize,
    ) {
        let len = batch * channels * spatial;
        assert!(
            y.len() >= len && bias.len() >= channels,
            "channel_bias_add: views too short"
        );
        let (n, c, s) = (
            u32_of(batch, "batch"),
            u32_of(channels, "channels"),
            u32_of(spatial, "spatial"),
        );
        let groups = self.elementwise_groups(len);
        self.dispatch(
            CHANNEL_BIAS_ADD,
            &[bias, y.slice(0, len)],
            groups,
            &[],
            |o| ConvParams {
                n,
                c,
                h: s,
                src_off: o[0],
                dst_off: o[1],
                ..Default::default()
            },
        );
    }

    pub(super) fn conv_bias_grad(
        &mut self,
        dy: View,
        db: View,
        batch: usize,
        channels: usize,
        spatial: usize,
    ) {
        let len = batch * channels * spatial;
        assert!(
            dy.len() >= len && db.len() >= channels,
            "channel_bias_grad: views too short"
        );
        let (n, c, s) = (
            u32_of(batch, "batch"),
            u32_of(channels, "channels"),
            u32_of(spatial, "spatial"),
        );
        self.dispatch(
            CHANNEL_BIAS_GRAD,
            &[dy.slice(0, len), db.slice(0, channels)],
            fold_groups(c),
            &[],
            |o| ConvParams {
                n,
                c,
                h: s,
                src_off: o[0],
                dst_off: o[1],
                ..Default::default()
            },
        );
    }
}
