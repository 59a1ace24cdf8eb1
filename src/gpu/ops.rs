//! Every `Backend` op of the GPU backend: checks the views, then records one
//! kernel dispatch (or a buffer clear / copy) through the [`Recorder`]. The
//! convolutions live in `conv.rs`.
//!
//! Shape legend: B batch, C channels, H height, W width, D features, Z latent.

use super::conv;
use super::kernels::*;
use super::recorder::{fold_groups, u32_of, Recorder, MAX_GROUPS};
use super::GpuBackend;
use crate::backend::{
    Activation, AdamStep, Backend, BackendError, Conv2dShape, Matmul, MemoryReport, Noise, Recon,
    View,
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

    fn bias_add(&mut self, y: View, bias: View, rows: usize, cols: usize) {
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

    fn bias_grad(&mut self, dy: View, db: View, rows: usize, cols: usize) {
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

    fn conv2d_forward(&mut self, x: View, w: View, y: View, shape: Conv2dShape) {
        conv::call_conv2d_forward(&mut self.rec, x, w, None, y, shape);
    }

    fn conv2d_forward_bias(&mut self, x: View, w: View, bias: View, y: View, shape: Conv2dShape) {
        let b = Some(bias);
        conv::call_conv2d_forward(&mut self.rec, x, w, b, y, shape);
    }

    fn conv2d_backward_data(&mut self, dy: View, w: View, dx: View, shape: Conv2dShape) {
        conv::call_conv2d_backward_data(&mut self.rec, &mut self.conv, dy, w, dx, shape);
    }

    fn conv2d_backward_weights(&mut self, x: View, dy: View, dw: View, shape: Conv2dShape) {
        let (rec, scratch) = (&mut self.rec, &mut self.conv);
        conv::call_conv2d_backward_weights(rec, scratch, x, dy, dw, None, shape);
    }

    fn conv2d_backward_weights_bias(
        &mut self,
        x: View,
        dy: View,
        dw: View,
        db: View,
        shape: Conv2dShape,
    ) {
        let (rec, scratch) = (&mut self.rec, &mut self.conv);
        conv::call_conv2d_backward_weights(rec, scratch, x, dy, dw, Some(db), shape);
    }

    fn channel_bias_add(
        &mut self,
        y: View,
        bias: View,
        batch: usize,
        channels: usize,
        spatial: usize,
    ) {
        conv::call_channel_bias_add(&mut self.rec, y, bias, batch, channels, spatial);
    }

    fn channel_bias_grad(
        &mut self,
        dy: View,
        db: View,
        batch: usize,
        channels: usize,
        spatial: usize,
    ) {
        conv::call_channel_bias_grad(&mut self.rec, dy, db, batch, channels, spatial);
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

/// `C (+)= op(A) op(B)` with the tiled kernel; the convolutions call it too.
pub(super) fn call_matmul(rec: &mut Recorder, a: View, b: View, c: View, s: Matmul) {
    assert!(
        a.len() >= s.m * s.k,
        "matmul: A holds {} words, needs {}",
        a.len,
        s.m * s.k
    );
    assert!(
        b.len() >= s.k * s.n,
        "matmul: B holds {} words, needs {}",
        b.len,
        s.k * s.n
    );
    assert!(
        c.len() >= s.m * s.n,
        "matmul: C holds {} words, needs {}",
        c.len,
        s.m * s.n
    );
    let (m, n, k) = (u32_of(s.m, "m"), u32_of(s.n, "n"), u32_of(s.k, "k"));
    let (kernel, groups) = match rec.shape() {
        KernelShape::Tiled => (MATMUL, [n.div_ceil(MATMUL_TILE), m.div_ceil(MATMUL_TILE)]),
        KernelShape::Lanes => (MATMUL_LANES, [n.div_ceil(LANE_COLS), m.div_ceil(LANE_ROWS)]),
    };
    assert!(
        groups[1] <= MAX_GROUPS && groups[0] <= MAX_GROUPS,
        "matmul: {m} x {n} is too large for one dispatch"
    );
    let constants = [
        ("TRANS_A", s.trans_a as u32 as f64),
        ("TRANS_B", s.trans_b as u32 as f64),
    ];
    rec.dispatch(kernel, &[a, b, c], groups, &constants, |o| MatmulParams {
        m,
        n,
        k,
        a_off: o[0],
        b_off: o[1],
        c_off: o[2],
        trans_a: s.trans_a as u32,
        trans_b: s.trans_b as u32,
        accumulate: s.accumulate as u32,
        _pad: [0; 3],
    });
}
