//! The CPU backend: plain, obviously-correct Rust. It is the oracle the GPU
//! kernels are tested against and the fallback where WebGPU is missing.
//! Matrix products go to the `gemm` crate; everything else is a loop.

mod conv;
mod conv_ops;
mod ops;
mod par;

use crate::backend::{
    ActAfter, ActBefore, Activation, AdamStep, Backend, BackendError, ConvShape, Matmul,
    MemoryReport, Noise, Recon, View,
};
use std::future::Future;

/// Buffers are boxed slices in an arena indexed by `View::buf`.
#[derive(Default)]
pub struct CpuBackend {
    bufs: Vec<Option<Box<[f32]>>>,
    /// im2col buffers of the convolutions, reused between calls.
    conv: conv::Scratch,
}

impl CpuBackend {
    pub fn new() -> Self {
        Self::default()
    }

    fn range(&self, v: View) -> std::ops::Range<usize> {
        let len = self.bufs[v.buf as usize]
            .as_ref()
            .expect("view of a freed buffer")
            .len();
        let (start, end) = (v.offset as usize, v.offset as usize + v.len as usize);
        assert!(end <= len, "view {v:?} past the end of a buffer of {len}");
        start..end
    }

    fn get(&self, v: View) -> &[f32] {
        let r = self.range(v);
        &self.bufs[v.buf as usize].as_ref().unwrap()[r]
    }

    /// Raw pointer to the first word of `v`; used to hand out one mutable
    /// slice beside shared ones from the same arena.
    fn ptr(&mut self, v: View) -> *mut f32 {
        let r = self.range(v);
        self.bufs[v.buf as usize].as_mut().unwrap()[r].as_mut_ptr()
    }

    /// Shared input slices plus mutable output slices. The trait promises that
    /// outputs never overlap anything else; this checks it, then splits.
    // One of the crate's two audited unsafe blocks.
    #[allow(unsafe_code)]
    fn split<const I: usize, const O: usize>(
        &mut self,
        inputs: [View; I],
        outputs: [View; O],
    ) -> ([&[f32]; I], [&mut [f32]; O]) {
        for (i, o) in outputs.iter().enumerate() {
            let others = inputs.iter().chain(outputs.iter().skip(i + 1));
            for v in others {
                let disjoint =
                    v.buf != o.buf || v.offset + v.len <= o.offset || o.offset + o.len <= v.offset;
                assert!(disjoint, "output {o:?} overlaps {v:?}");
            }
        }
        let in_ptrs = inputs.map(|v| (self.ptr(v) as *const f32, v.len()));
        let out_ptrs = outputs.map(|v| (self.ptr(v), v.len()));
        // SAFETY: every pointer addresses a live, in-bounds range of an arena
        // buffer (checked by `range`), outputs are disjoint from every other
        // range (checked above), and the slices die with `&mut self`.
        unsafe {
            (
                in_ptrs.map(|(p, n)| std::slice::from_raw_parts(p, n)),
                out_ptrs.map(|(p, n)| std::slice::from_raw_parts_mut(p, n)),
            )
        }
    }
}

impl Backend for CpuBackend {
    fn describe(&self) -> String {
        "cpu".to_string()
    }

    fn memory(&self) -> MemoryReport {
        let live = self.bufs.iter().flatten();
        MemoryReport {
            buffers: live.clone().count(),
            bytes: live.map(|b| b.len() as u64 * 4).sum(),
            slots: self.bufs.len(),
        }
    }

    fn alloc(&mut self, len: usize, _label: &str) -> View {
        let buf = vec![0.0f32; len].into_boxed_slice();
        let id = match self.bufs.iter().position(Option::is_none) {
            Some(i) => {
                self.bufs[i] = Some(buf);
                i
            }
            None => {
                self.bufs.push(Some(buf));
                self.bufs.len() - 1
            }
        };
        View {
            buf: id as u32,
            offset: 0,
            len: len as u32,
        }
    }

    fn free(&mut self, view: View) {
        self.bufs[view.buf as usize] = None;
    }

    fn write(&mut self, dst: View, data: &[f32]) {
        let ([], [d]) = self.split([], [dst]);
        d[..data.len()].copy_from_slice(data);
    }

    fn write_u32(&mut self, dst: View, data: &[u32]) {
        let ([], [d]) = self.split([], [dst]);
        bytemuck::cast_slice_mut::<f32, u32>(d)[..data.len()].copy_from_slice(data);
    }

    fn read(
        &mut self,
        src: View,
    ) -> impl Future<Output = Result<Vec<f32>, BackendError>> + 'static {
        std::future::ready(Ok(self.get(src).to_vec()))
    }

    fn flush(&mut self) {}

    fn fill(&mut self, dst: View, value: f32) {
        let ([], [d]) = self.split([], [dst]);
        d.fill(value);
    }

    fn copy(&mut self, src: View, dst: View) {
        let ([s], [d]) = self.split([src], [dst]);
        d.copy_from_slice(s);
    }

    fn matmul(&mut self, a: View, b: View, c: View, spec: Matmul) {
        let ([a, b], [c]) = self.split([a, b], [c]);
        ops::matmul(a, b, c, spec);
    }

    fn bias_add(&mut self, y: View, bias: View, [batch, channels, spatial]: [usize; 3]) {
        let ([bias], [y]) = self.split([bias], [y]);
        if spatial == 1 {
            for row in y[..batch * channels].chunks_exact_mut(channels) {
                for (v, b) in row.iter_mut().zip(bias) {
                    *v += b;
                }
            }
            return;
        }
        let samples = y[..batch * channels * spatial].chunks_exact_mut(channels * spatial);
        par::for_each(samples.collect(), |sample| {
            for (plane, &b) in sample.chunks_exact_mut(spatial).zip(bias) {
                plane.iter_mut().for_each(|v| *v += b);
            }
        });
    }

    fn bias_grad(&mut self, dy: View, db: View, [batch, channels, spatial]: [usize; 3]) {
        let ([dy], [db]) = self.split([dy], [db]);
        if spatial == 1 {
            for row in dy[..batch * channels].chunks_exact(channels) {
                for (g, d) in db.iter_mut().zip(row) {
                    *g += d;
                }
            }
            return;
        }
        // One channel per task, each summed in f64.
        par::for_each(db[..channels].iter_mut().enumerate().collect(), |(c, g)| {
            let mut sum = 0.0f64;
            for b in 0..batch {
                sum += ops::sum_f64(&dy[(b * channels + c) * spatial..][..spatial]);
            }
            *g += sum as f32;
        });
    }

    /// The product straight into `y`, then the bias and the activation in
    /// one pass over it (`pre` is left alone, as the trait allows).
    fn dense_forward(
        &mut self,
        x: View,
        w: View,
        b: View,
        _pre: View,
        y: View,
        rows: usize,
        features: [usize; 2],
        act: Activation,
    ) {
        let [i, o] = features;
        let spec = Matmul {
            m: rows,
            n: o,
            k: i,
            trans_a: false,
            trans_b: true,
            accumulate: false,
        };
        self.matmul(x, w, y, spec);
        let ([b], [y]) = self.split([b.slice(0, o)], [y.slice(0, rows * o)]);
        // Whole rows per task, about `par::CHUNK` words each.
        let per = (par::CHUNK / o.max(1)).max(1) * o;
        par::for_each(y.chunks_mut(per).collect(), |part| {
            for row in part.chunks_exact_mut(o) {
                for (v, &b) in row.iter_mut().zip(b) {
                    *v = ops::activate(act, *v + b);
                }
            }
        });
    }

    /// The product into `dpre` (or `dpost` when accumulating), then the
    /// activation's derivative in one pass (`dpost` is left alone when not
    /// accumulating, as the trait allows).
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
        let [i, o] = features;
        let spec = Matmul {
            m: rows,
            n: i,
            k: o,
            trans_a: false,
            trans_b: false,
            accumulate,
        };
        let n = rows * i;
        if accumulate {
            self.matmul(dy, w, dpost, spec);
            let yv = y.slice(0, n);
            self.activation_backward(act, yv, yv, dpost.slice(0, n), dpre.slice(0, n));
            return;
        }
        self.matmul(dy, w, dpre, spec);
        let ([y], [d]) = self.split([y.slice(0, n)], [dpre.slice(0, n)]);
        let c = par::CHUNK;
        par::for_each(d.chunks_mut(c).zip(y.chunks(c)).collect(), |(d, y)| {
            for (d, &y) in d.iter_mut().zip(y) {
                *d *= ops::derivative(act, y, y);
            }
        });
    }

    fn conv_forward(
        &mut self,
        x: View,
        w: View,
        bias: Option<View>,
        y: View,
        shape: ConvShape,
        act: Option<ActAfter>,
    ) {
        conv_ops::forward(self, x, w, bias, y, shape, act);
    }

    fn conv_backward_data(
        &mut self,
        dy: View,
        w: View,
        dx: View,
        shape: ConvShape,
        act: Option<ActBefore>,
    ) {
        conv_ops::backward_data(self, dy, w, dx, shape, act);
    }

    fn conv_backward_weights(
        &mut self,
        x: View,
        dy: View,
        dw: View,
        db: Option<View>,
        shape: ConvShape,
    ) {
        conv_ops::backward_weights(self, x, dy, dw, db, shape);
    }

    fn activation(&mut self, act: Activation, x: View, y: View) {
        let ([x], [y]) = self.split([x], [y]);
        let parts = y.chunks_mut(par::CHUNK).zip(x.chunks(par::CHUNK));
        par::for_each(parts.collect(), |(y, x)| {
            for (y, &x) in y.iter_mut().zip(x) {
                *y = ops::activate(act, x);
            }
        });
    }

    fn activation_backward(&mut self, act: Activation, x: View, y: View, dy: View, dx: View) {
        let ([x, y, dy], [dx]) = self.split([x, y, dy], [dx]);
        let c = par::CHUNK;
        let parts = dx
            .chunks_mut(c)
            .zip(dy.chunks(c))
            .zip(x.chunks(c).zip(y.chunks(c)));
        par::for_each(parts.collect(), |((dx, dy), (x, y))| {
            // Zipped, not indexed: no bounds tests, so the loop vectorizes.
            for ((dx, &dy), (&x, &y)) in dx.iter_mut().zip(dy).zip(x.iter().zip(y)) {
                *dx = dy * ops::derivative(act, x, y);
            }
        });
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
        let ([mu, logvar], [eps, z, kl]) = self.split([mu, logvar], [eps, z, kl]);
        ops::reparam_forward(mu, logvar, eps, z, kl, rows, zdim, noise);
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
        let ([mu, logvar, eps, dz], [dmu, dlogvar]) =
            self.split([mu, logvar, eps, dz], [dmu, dlogvar]);
        for i in 0..dmu.len() {
            dmu[i] = dz[i] + kl_scale * mu[i];
            dlogvar[i] = ops::reparam_dlogvar(logvar[i], eps[i], dz[i], kl_scale);
        }
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
        let ([s, x], [ds, loss]) = self.split([logits, target], [dlogits, loss]);
        let n = rows * cols;
        let row = |(r, (ds, loss)): (usize, (&mut [f32], &mut f32))| {
            let (s, x) = (&s[r * cols..(r + 1) * cols], &x[r * cols..(r + 1) * cols]);
            let mut sum = 0.0f64;
            for c in 0..cols {
                let (l, g) = ops::recon(kind, s[c], x[c]);
                sum += l as f64;
                ds[c] = g * grad_scale;
            }
            *loss = sum as f32;
        };
        let rows_out = ds[..n].chunks_mut(cols).zip(loss[..rows].iter_mut());
        par::for_each(rows_out.enumerate().collect(), row);
    }

    fn sum_into(&mut self, src: View, dst: View) {
        let ([s], [d]) = self.split([src], [dst]);
        d[0] += s.iter().map(|&v| v as f64).sum::<f64>() as f32;
    }

    fn adam(&mut self, params: View, grads: View, m: View, v: View, step: AdamStep) {
        let ([g], [p, m, v]) = self.split([grads], [params, m, v]);
        const CHUNK: usize = 1 << 14;
        let chunks = p
            .chunks_mut(CHUNK)
            .zip(m.chunks_mut(CHUNK))
            .zip(v.chunks_mut(CHUNK))
            .zip(g.chunks(CHUNK));
        par::for_each(chunks.collect(), |(((p, m), v), g)| {
            ops::adam(p, g, m, v, step)
        });
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
        let ([bytes, indices], [out]) = self.split([bytes, indices], [out]);
        let bytes: &[u8] = bytemuck::cast_slice(bytes);
        let indices: &[u32] = bytemuck::cast_slice(indices);
        for r in 0..rows {
            let src = indices[first + r] as usize * dim;
            for d in 0..dim {
                let p = bytes[src + d] as f32 / 255.0;
                out[r * dim + d] = match binarize {
                    Some(n) => {
                        let u = crate::rng::uniform(n.seed, n.stream, (r * dim + d) as u32);
                        if u < p {
                            1.0
                        } else {
                            0.0
                        }
                    }
                    None => p,
                };
            }
        }
    }
}
