//! Every `Backend` op of the GPU backend: checks the views, then records one
//! kernel dispatch (or a buffer clear / copy) through the [`Recorder`]. The
//! convolutions live in `conv.rs`.
//!
//! Shape legend: B batch, C channels, H height, W width, D features, Z latent.

use super::conv;
use super::kernels::*;
use super::matmul::call_matmul;
use super::recorder::{fold_groups, u32_of};
use super::GpuBackend;
use crate::backend::{
    ActAfter, ActBefore, Activation, AdamStep, Backend, BackendError, ConvShape, Matmul,
    MemoryReport, Noise, Recon, View,
};
use std::future::Future;

impl Backend for GpuBackend {
    fn describe(&self) -> String {
        self.rec.ctx().adapter.get_info().name
    }

    fn memory(&self) -> MemoryReport {
        self.rec.memory()
    }

    fn max_buffer_words(&self) -> usize {
        self.rec.max_buffer_words()
    }

    fn alloc(&mut self, len: usize, label: &str) -> View {
        self.rec.alloc(len, label)
    }

    fn free(&mut self, view: View) {
        self.rec.free(view);
    }

    fn write(&mut self, dst: View, data: &[f32]) {
        self.rec.write_u32(dst, bytemuck::cast_slice(data));
    }

    fn write_u32(&mut self, dst: View, data: &[u32]) {
        self.rec.write_u32(dst, data);
    }

    fn read(
        &mut self,
        src: View,
    ) -> impl Future<Output = Result<Vec<f32>, BackendError>> + 'static {
        self.rec.read(src)
    }

    fn flush(&mut self) {
        self.rec.flush();
    }

    fn pace(&mut self) {
        self.rec.pace();
    }

    fn fill(&mut self, dst: View, value: f32) {
        self.rec.check(dst, "fill");
        if value.to_bits() == 0 {
            self.rec.clear(dst);
            return;
        }
        let len = dst.len;
        let groups = self.rec.elementwise_groups(dst.len());
        self.rec
            .dispatch(FILL, &[dst], groups, &[], |o| FillParams {
                len,
                dst_off: o[0],
                src_off: 0,
                value,
            });
    }

    fn copy(&mut self, src: View, dst: View) {
        assert_eq!(src.len, dst.len, "copy between views of different lengths");
        self.rec.check(src, "copy");
        self.rec.check(dst, "copy");
        if src.buf != dst.buf {
            self.rec.copy_between_buffers(src, dst);
            return;
        }
        // A buffer cannot be copied into itself: use a kernel (bindings: dst, src).
        let len = src.len;
        let groups = self.rec.elementwise_groups(src.len());
        self.rec
            .dispatch(COPY, &[dst, src], groups, &[], |o| FillParams {
                len,
                dst_off: o[0],
                src_off: o[1],
                value: 0.0,
            });
    }

    fn matmul(&mut self, a: View, b: View, c: View, s: Matmul) {
        call_matmul(&mut self.rec, a, b, c, s);
    }

    fn bias_add(&mut self, y: View, bias: View, [batch, channels, spatial]: [usize; 3]) {
        if spatial != 1 {
            conv::call_channel_bias_add(&mut self.rec, y, bias, batch, channels, spatial);
            return;
        }
        let (rows, cols) = (batch, channels);
        assert!(
            y.len() >= rows * cols && bias.len() >= cols,
            "bias_add: views too short"
        );
        let (r, c) = (u32_of(rows, "rows"), u32_of(cols, "cols"));
        self.rec.dispatch(
            BIAS_ADD,
            &[y, bias],
            self.rec.elementwise_groups(rows * cols),
            &[],
            |o| BiasParams {
                rows: r,
                cols: c,
                y_off: o[0],
                bias_off: o[1],
            },
        );
    }

    fn bias_grad(&mut self, dy: View, db: View, [batch, channels, spatial]: [usize; 3]) {
        if spatial != 1 {
            conv::call_channel_bias_grad(&mut self.rec, dy, db, batch, channels, spatial);
            return;
        }
        let (rows, cols) = (batch, channels);
        assert!(
            dy.len() >= rows * cols && db.len() >= cols,
            "bias_grad: views too short"
        );
        let (r, c) = (u32_of(rows, "rows"), u32_of(cols, "cols"));
        let groups = fold_groups(c.div_ceil(BIAS_GRAD_COLS));
        assert!(groups[1] <= 1, "bias_grad: too many columns");
        self.rec
            .dispatch(BIAS_GRAD, &[dy, db], groups, &[], |o| BiasParams {
                rows: r,
                cols: c,
                y_off: o[0],
                bias_off: o[1],
            });
    }

    /// `Conv2d` runs as an implicit GEMM with the bias in its epilogue; a
    /// transposed convolution as its adjoint's input gradient and a bias
    /// kernel. The activation is a kernel of its own, from `pre` to `y`.
    fn conv_forward(
        &mut self,
        x: View,
        w: View,
        bias: Option<View>,
        y: View,
        shape: ConvShape,
        act: Option<ActAfter>,
    ) {
        let out = act.map_or(y, |a| a.pre);
        match shape {
            ConvShape::Conv2d(g) => conv::call_conv2d_forward(&mut self.rec, x, w, bias, out, g),
            ConvShape::ConvTranspose2d(g) => {
                let (rec, scratch) = (&mut self.rec, &mut self.conv);
                conv::call_conv2d_backward_data(rec, scratch, x, w, out, g.adjoint());
                if let Some(b) = bias {
                    let (batch, co, pos) = (g.batch, g.out_channels, shape.out_positions());
                    conv::call_channel_bias_add(&mut self.rec, out, b, batch, co, pos);
                }
            }
        }
        if let Some(a) = act.filter(|a| a.act != Activation::Identity) {
            let n = shape.batch() * shape.out_len();
            self.activation(a.act, a.pre.slice(0, n), y.slice(0, n));
        }
    }

    /// The product into `dpost` (or `dx`), then the activation's derivative
    /// as a kernel of its own.
    fn conv_backward_data(
        &mut self,
        dy: View,
        w: View,
        dx: View,
        shape: ConvShape,
        act: Option<ActBefore>,
    ) {
        let out = act.map_or(dx, |a| a.dpost);
        match shape {
            ConvShape::Conv2d(g) => {
                conv::call_conv2d_backward_data(&mut self.rec, &mut self.conv, dy, w, out, g)
            }
            ConvShape::ConvTranspose2d(g) => {
                conv::call_conv2d_forward(&mut self.rec, dy, w, None, out, g.adjoint())
            }
        }
        if let Some(a) = act {
            let n = shape.batch() * shape.in_len();
            let (y, dpost, dpre) = (a.y.slice(0, n), a.dpost.slice(0, n), dx.slice(0, n));
            self.activation_backward(a.act, y, y, dpost, dpre);
        }
    }

    /// `Conv2d`'s bias gradient is one more column of its split-K product; a
    /// transposed convolution's is a kernel of its own.
    fn conv_backward_weights(
        &mut self,
        x: View,
        dy: View,
        dw: View,
        db: Option<View>,
        shape: ConvShape,
    ) {
        let (rec, scratch) = (&mut self.rec, &mut self.conv);
        match shape {
            ConvShape::Conv2d(g) => {
                conv::call_conv2d_backward_weights(rec, scratch, x, dy, dw, db, g)
            }
            ConvShape::ConvTranspose2d(g) => {
                // The adjoint convolution's input is this layer's output gradient.
                conv::call_conv2d_backward_weights(rec, scratch, dy, x, dw, None, g.adjoint());
                if let Some(db) = db {
                    let (batch, co, pos) = (g.batch, g.out_channels, shape.out_positions());
                    conv::call_channel_bias_grad(rec, dy, db, batch, co, pos);
                }
            }
        }
    }

    fn activation(&mut self, act: Activation, x: View, y: View) {
        assert_eq!(x.len, y.len, "activation: x and y differ in length");
        let len = x.len;
        self.rec.dispatch(
            ACT_FORWARD,
            &[x, y],
            self.rec.elementwise_groups(x.len()),
            &[],
            |o| ActivationParams {
                len,
                act: act.id(),
                x_off: o[0],
                y_off: o[1],
                ..Default::default()
            },
        );
    }

    fn activation_backward(&mut self, act: Activation, x: View, y: View, dy: View, dx: View) {
        assert!(
            x.len == y.len && x.len == dy.len && x.len == dx.len,
            "activation_backward: views differ in length"
        );
        let len = x.len;
        self.rec.dispatch(
            ACT_BACKWARD,
            &[x, y, dy, dx],
            self.rec.elementwise_groups(x.len()),
            &[],
            |o| ActivationParams {
                len,
                act: act.id(),
                x_off: o[0],
                y_off: o[1],
                dy_off: o[2],
                dx_off: o[3],
                _pad: [0; 2],
            },
        );
    }

    fn reparam_forward(
        &mut self,
        mu: View,
        logvar: View,
        eps: View,
        z: View,
        kl: View,
        rows: usize,
        zdim: usize,
        noise: Noise,
    ) {
        let n = rows * zdim;
        assert!(
            mu.len() >= n
                && logvar.len() >= n
                && eps.len() >= n
                && z.len() >= n
                && kl.len() >= rows,
            "reparam_forward: views too short"
        );
        let base = ReparamParams {
            rows: u32_of(rows, "rows"),
            zdim: u32_of(zdim, "zdim"),
            seed: noise.seed,
            stream: noise.stream,
            ..Default::default()
        };
        // z, eps and the KL in one dispatch, one invocation per row.
        self.rec.dispatch(
            REPARAM_FUSED,
            &[mu, logvar, eps, z, kl],
            self.rec.elementwise_groups(rows),
            &[],
            |o| ReparamParams {
                mu_off: o[0],
                lv_off: o[1],
                eps_off: o[2],
                z_off: o[3],
                kl_off: o[4],
                ..base
            },
        );
    }

    fn reparam_backward(
        &mut self,
        mu: View,
        logvar: View,
        eps: View,
        dz: View,
        dmu: View,
        dlogvar: View,
        kl_scale: f32,
    ) {
        let n = dmu.len;
        assert!(
            [mu, logvar, eps, dz, dlogvar].iter().all(|v| v.len >= n),
            "reparam_backward: views too short"
        );
        self.rec.dispatch(
            REPARAM_BACKWARD,
            &[mu, logvar, eps, dz, dmu, dlogvar],
            self.rec.elementwise_groups(dmu.len()),
            &[],
            |o| ReparamParams {
                rows: 1,
                zdim: n,
                mu_off: o[0],
                lv_off: o[1],
                eps_off: o[2],
                dz_off: o[3],
                dmu_off: o[4],
                dlv_off: o[5],
                kl_scale,
                ..Default::default()
            },
        );
    }

    fn recon_loss(
        &mut self,
        kind: Recon,
        logits: View,
        target: View,
        dlogits: View,
        loss: View,
        rows: usize,
        cols: usize,
        grad_scale: f32,
    ) {
        let n = rows * cols;
        assert!(
            logits.len() >= n && target.len() >= n && dlogits.len() >= n && loss.len() >= rows,
            "recon_loss: views too short"
        );
        let (r, c) = (u32_of(rows, "rows"), u32_of(cols, "cols"));
        self.rec.dispatch(
            RECON,
            &[logits, target, dlogits, loss],
            fold_groups(r),
            &[],
            |o| ReconParams {
                rows: r,
                cols: c,
                logits_off: o[0],
                target_off: o[1],
                dlogits_off: o[2],
                loss_off: o[3],
                kind: kind.id(),
                grad_scale,
            },
        );
    }

    fn sum_into(&mut self, src: View, dst: View) {
        assert!(dst.len >= 1, "sum_into: empty destination");
        let len = src.len;
        self.rec
            .dispatch(SUM_INTO, &[src, dst], [1, 1], &[], |o| ReduceParams {
                len,
                src_off: o[0],
                dst_off: o[1],
                ..Default::default()
            });
    }

    fn sum_pair_into(&mut self, a: View, b: View, dst: View) {
        super::dense::sum_pair_into(&mut self.rec, a, b, dst);
    }

    fn dense_forward(
        &mut self,
        x: View,
        w: View,
        b: View,
        pre: View,
        y: View,
        rows: usize,
        features: [usize; 2],
        act: Activation,
    ) {
        let _ = pre;
        super::dense::forward(&mut self.rec, x, w, b, y, rows, features, act);
    }

    fn dense_backward_weights(
        &mut self,
        x: View,
        dy: View,
        dw: View,
        db: View,
        rows: usize,
        features: [usize; 2],
    ) {
        super::dense::backward_weights(&mut self.rec, x, dy, dw, db, rows, features);
    }

    fn dense_backward_data_act(
        &mut self,
        dy: View,
        w: View,
        y: View,
        dpost: View,
        dpre: View,
        rows: usize,
        features: [usize; 2],
        act: Activation,
        accumulate: bool,
    ) {
        super::dense::backward_data_act(
            &mut self.rec,
            dy,
            w,
            y,
            dpost,
            dpre,
            rows,
            features,
            [act.id(), accumulate as u32],
        );
    }

    fn adam(&mut self, params: View, grads: View, m: View, v: View, step: AdamStep) {
        assert!(
            params.len == grads.len && params.len == m.len && params.len == v.len,
            "adam: buffers differ in length"
        );
        let (step_size, bc2_sqrt) = step.corrections();
        let len = params.len;
        self.rec.dispatch(
            ADAM,
            &[params, grads, m, v],
            self.rec.elementwise_groups(params.len()),
            &[],
            |o| AdamParams {
                len,
                p_off: o[0],
                g_off: o[1],
                m_off: o[2],
                v_off: o[3],
                step_size,
                bc2_sqrt,
                beta1: step.beta1,
                beta2: step.beta2,
                eps: step.eps,
                _pad: [0; 2],
            },
        );
    }

    fn gather_images(
        &mut self,
        bytes: View,
        dim: usize,
        indices: View,
        first: usize,
        rows: usize,
        out: View,
        binarize: Option<Noise>,
    ) {
        assert!(
            indices.len() >= first + rows,
            "gather_images: indices too short"
        );
        assert!(out.len() >= rows * dim, "gather_images: out too short");
        let noise = binarize.unwrap_or(Noise { seed: 0, stream: 0 });
        // Bytes read (one per pixel, one index word per row) and written.
        self.rec
            .hint_bytes((rows * dim + rows * 4 + rows * dim * 4) as u64);
        let (r, d, f) = (
            u32_of(rows, "rows"),
            u32_of(dim, "dim"),
            u32_of(first, "first"),
        );
        self.rec.dispatch(
            GATHER,
            &[bytes, indices, out],
            self.rec.elementwise_groups(rows * dim),
            &[],
            |o| GatherParams {
                rows: r,
                dim: d,
                bytes_off: o[0],
                idx_off: o[1],
                first: f,
                out_off: o[2],
                binarize: binarize.is_some() as u32,
                seed: noise.seed,
                stream: noise.stream,
                _pad: [0; 3],
            },
        );
    }
}
