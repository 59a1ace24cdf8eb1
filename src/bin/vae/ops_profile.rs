//! `vae bench --ops`: where a CPU training step's time goes, op by op.
//!
//! [`Timed`] wraps a backend and adds up the wall time of every call under
//! its op name and shape. On the CPU backend every call finishes before it
//! returns, so the figures are the ops' own times; on a GPU they would only
//! be encoding times, which is why the flag is CPU-only.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Instant;

use vae_playground::backend::{
    ActAfter, ActBefore, Activation, AdamStep, Backend, BackendError, ConvShape, Matmul,
    MemoryReport, Noise, Recon, View,
};

/// A backend that times each call of `inner`.
pub struct Timed<B> {
    pub inner: B,
    /// `(op, shape)` -> (seconds, calls).
    pub table: BTreeMap<(String, String), (f64, usize)>,
}

impl<B: Backend> Timed<B> {
    pub fn new(inner: B) -> Self {
        Self {
            inner,
            table: BTreeMap::new(),
        }
    }

    /// Forgets what was timed so far (after the warm-up).
    pub fn reset(&mut self) {
        self.table.clear();
    }

    fn time<R>(
        &mut self,
        op: &str,
        shape: impl FnOnce() -> String,
        f: impl FnOnce(&mut B) -> R,
    ) -> R {
        let start = Instant::now();
        let r = f(&mut self.inner);
        let secs = start.elapsed().as_secs_f64();
        let e = self
            .table
            .entry((op.to_string(), shape()))
            .or_insert((0.0, 0));
        e.0 += secs;
        e.1 += 1;
        r
    }
}

fn conv_name(g: &ConvShape) -> String {
    let [h, w] = g.in_size();
    let [kh, kw] = g.kernel();
    format!(
        "{}->{} {h}x{w} k{kh}x{kw} s{}",
        g.in_channels(),
        g.out_channels(),
        g.stride()[0]
    )
}

impl<B: Backend> Backend for Timed<B> {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn alloc(&mut self, len: usize, label: &str) -> View {
        self.inner.alloc(len, label)
    }
    fn free(&mut self, view: View) {
        self.inner.free(view)
    }
    fn memory(&self) -> MemoryReport {
        self.inner.memory()
    }
    fn write(&mut self, dst: View, data: &[f32]) {
        self.time("write", String::new, |b| b.write(dst, data))
    }
    fn write_u32(&mut self, dst: View, data: &[u32]) {
        self.time("write", String::new, |b| b.write_u32(dst, data))
    }
    fn read(
        &mut self,
        src: View,
    ) -> impl Future<Output = Result<Vec<f32>, BackendError>> + 'static {
        self.inner.read(src)
    }
    fn flush(&mut self) {
        self.inner.flush()
    }
    fn pace(&mut self) {
        self.inner.pace()
    }
    fn fill(&mut self, dst: View, value: f32) {
        self.time("fill", String::new, |b| b.fill(dst, value))
    }
    fn copy(&mut self, src: View, dst: View) {
        self.time("copy", String::new, |b| b.copy(src, dst))
    }
    fn matmul(&mut self, a: View, b: View, c: View, s: Matmul) {
        let shape = || {
            let t = |on: bool| if on { "T" } else { "" };
            format!(
                "{}x{}x{} A{} B{}",
                s.m,
                s.n,
                s.k,
                t(s.trans_a),
                t(s.trans_b)
            )
        };
        self.time("matmul", shape, |be| be.matmul(a, b, c, s))
    }
    fn bias_add(&mut self, y: View, bias: View, dims: [usize; 3]) {
        self.time("bias", String::new, |b| b.bias_add(y, bias, dims))
    }
    fn bias_grad(&mut self, dy: View, db: View, dims: [usize; 3]) {
        self.time("bias", String::new, |b| b.bias_grad(dy, db, dims))
    }
    fn activation(&mut self, act: Activation, x: View, y: View) {
        self.time("activation", String::new, |b| b.activation(act, x, y))
    }
    fn activation_backward(&mut self, act: Activation, x: View, y: View, dy: View, dx: View) {
        self.time("activation", String::new, |b| {
            b.activation_backward(act, x, y, dy, dx)
        })
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
        self.time("reparam + loss + adam", String::new, |b| {
            b.reparam_forward(mu, logvar, eps, z, kl, rows, zdim, noise)
        })
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
        self.time("reparam + loss + adam", String::new, |b| {
            b.reparam_backward(mu, logvar, eps, dz, dmu, dlogvar, kl_scale)
        })
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
        self.time("reparam + loss + adam", String::new, |b| {
            b.recon_loss(kind, logits, target, dlogits, loss, rows, cols, grad_scale)
        })
    }
    fn sum_into(&mut self, src: View, dst: View) {
        self.time("reparam + loss + adam", String::new, |b| {
            b.sum_into(src, dst)
        })
    }
    fn adam(&mut self, params: View, grads: View, m: View, v: View, step: AdamStep) {
        self.time("reparam + loss + adam", String::new, |b| {
            b.adam(params, grads, m, v, step)
        })
    }
    // The fused ops, timed as the inner backend runs them (the CPU fuses
    // them; the trait's defaults would time their parts instead).
    fn dense_forward(
        &mut self,
        x: View,
        w: View,
        bias: View,
        pre: View,
        y: View,
        rows: usize,
        f: [usize; 2],
        act: Activation,
    ) {
        self.time(
            "dense_forward (+ bias, act)",
            || format!("{rows}x{}->{} {act:?}", f[0], f[1]),
            |b| b.dense_forward(x, w, bias, pre, y, rows, f, act),
        )
    }
    fn dense_backward_weights(
        &mut self,
        x: View,
        dy: View,
        dw: View,
        db: View,
        rows: usize,
        f: [usize; 2],
    ) {
        self.time(
            "dense_backward_weights (+ bias)",
            || format!("{rows}x{}->{}", f[0], f[1]),
            |b| b.dense_backward_weights(x, dy, dw, db, rows, f),
        )
    }
    fn dense_backward_data_act(
        &mut self,
        dy: View,
        w: View,
        y: View,
        dpost: View,
        dpre: View,
        rows: usize,
        f: [usize; 2],
        act: Activation,
        accumulate: bool,
    ) {
        self.time(
            "dense_backward_data_act",
            || format!("{rows}x{}->{} {act:?}", f[0], f[1]),
            |b| b.dense_backward_data_act(dy, w, y, dpost, dpre, rows, f, act, accumulate),
        )
    }
    fn conv_forward(
        &mut self,
        x: View,
        w: View,
        bias: Option<View>,
        y: View,
        g: ConvShape,
        act: Option<ActAfter>,
    ) {
        let op = match (bias, act) {
            (_, Some(_)) => "forward (+ bias, act)",
            (Some(_), None) => "forward (+ bias)",
            (None, None) => "forward",
        };
        let shape = || match act {
            Some(a) => format!("{} {:?}", conv_name(&g), a.act),
            None => conv_name(&g),
        };
        let op = format!("{}_{op}", g.kind());
        self.time(&op, shape, |b| b.conv_forward(x, w, bias, y, g, act))
    }
    fn conv_backward_data(
        &mut self,
        dy: View,
        w: View,
        dx: View,
        g: ConvShape,
        act: Option<ActBefore>,
    ) {
        let (op, shape) = match act {
            Some(a) => (
                "backward_data_act",
                format!("{} {:?}", conv_name(&g), a.act),
            ),
            None => ("backward_data", conv_name(&g)),
        };
        let op = format!("{}_{op}", g.kind());
        self.time(&op, || shape, |b| b.conv_backward_data(dy, w, dx, g, act))
    }
    fn conv_backward_weights(
        &mut self,
        x: View,
        dy: View,
        dw: View,
        db: Option<View>,
        g: ConvShape,
    ) {
        let op = match db {
            Some(_) => "backward_weights (+ bias)",
            None => "backward_weights",
        };
        let op = format!("{}_{op}", g.kind());
        let shape = || conv_name(&g);
        self.time(&op, shape, |b| b.conv_backward_weights(x, dy, dw, db, g))
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
        self.time("gather_images", String::new, |b| {
            b.gather_images(bytes, dim, indices, first, rows, out, binarize)
        })
    }
}

/// Times `steps` training steps of `t` after a warm-up and prints one JSON
/// line per op and shape: milliseconds per step and share of the step.
pub fn run<B: Backend>(
    mut t: vae_playground::train::Trainer<Timed<B>>,
    steps: usize,
) -> Result<(), BackendError> {
    for _ in 0..5 {
        t.step();
    }
    pollster::block_on(t.take_metrics())?;
    t.be.reset();
    let start = Instant::now();
    for _ in 0..steps {
        t.step();
    }
    pollster::block_on(t.take_metrics())?;
    let total = start.elapsed().as_secs_f64();
    let mut rows: Vec<_> = t.be.table.iter().collect();
    rows.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
    let timed: f64 = rows.iter().map(|r| r.1 .0).sum();
    let preset = t.config().preset.clone();
    for ((op, shape), (secs, calls)) in rows {
        let line = serde_json::json!({
            "preset": preset,
            "op": op,
            "shape": shape,
            "calls_per_step": *calls as f64 / steps as f64,
            "ms_per_step": secs * 1e3 / steps as f64,
            "share": secs / total,
        });
        println!("{line}");
    }
    let line = serde_json::json!({
        "preset": preset,
        "op": "(between ops)",
        "ms_per_step": (total - timed) * 1e3 / steps as f64,
        "share": (total - timed) / total,
        "total_ms_per_step": total * 1e3 / steps as f64,
    });
    println!("{line}");
    Ok(())
}
