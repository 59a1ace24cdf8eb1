//! The `Backend` trait: every tensor operation a layer, the loss or the optimizer
//! needs. Layers are written once over it; `cpu::CpuBackend` is the plain-Rust
//! oracle, `gpu::GpuBackend` records WGSL dispatches.
//!
//! Storage is addressed by [`View`]: a span of 32-bit words inside a buffer the
//! backend owns. Most views hold `f32`; index and dataset views hold raw `u32`
//! words (the dataset packs four `u8` pixels per word, little-endian).
//! Shapes are row-major: a `[rows, cols]` matrix is `rows * cols` contiguous
//! words. Ops never alias: an output view never overlaps one of its inputs.
//! The convolutions' geometry ([`ConvShape`]) is in `conv_shape.rs`.

mod conv_shape;

pub use conv_shape::{Conv2dShape, ConvShape, ConvTranspose2dShape};
use std::fmt;
use std::future::Future;

/// A span of 32-bit words inside one backend buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct View {
    pub buf: u32,
    pub offset: u32,
    pub len: u32,
}

impl View {
    /// A sub-span `[offset, offset + len)` of this view, in words.
    pub fn slice(self, offset: usize, len: usize) -> View {
        assert!(
            offset + len <= self.len as usize,
            "slice {offset}+{len} out of a view of {}",
            self.len
        );
        View {
            buf: self.buf,
            offset: self.offset + offset as u32,
            len: len as u32,
        }
    }

    pub fn len(self) -> usize {
        self.len as usize
    }

    pub fn is_empty(self) -> bool {
        self.len == 0
    }
}

/// Element-wise non-linearities, forward `y = f(x)` and backward `dx = dy * f'(x)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Identity,
    Relu,
    /// PyTorch's default negative slope, 0.01.
    LeakyRelu,
    Sigmoid,
    Tanh,
}

impl Activation {
    pub const LEAKY_SLOPE: f32 = 0.01;

    /// The id the WGSL kernels switch on.
    pub fn id(self) -> u32 {
        match self {
            Activation::Identity => 0,
            Activation::Relu => 1,
            Activation::LeakyRelu => 2,
            Activation::Sigmoid => 3,
            Activation::Tanh => 4,
        }
    }
}

/// Reconstruction term of the ELBO, per pixel, on decoder logits `s` and target `x`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recon {
    /// Bernoulli likelihood: BCE with logits, `max(s,0) - s*x + ln(1 + e^-|s|)`.
    Bce,
    /// Gaussian with mean `sigmoid(s)`: `(sigmoid(s) - x)^2` (summed squared error).
    Gaussian,
}

impl Recon {
    pub fn id(self) -> u32 {
        match self {
            Recon::Bce => 0,
            Recon::Gaussian => 1,
        }
    }
}

/// `C[m,n] (+)= op(A)[m,k] * op(B)[k,n]`, where `op` transposes when asked.
/// With `trans_a`, A is stored `[k, m]`; with `trans_b`, B is stored `[n, k]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Matmul {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub trans_a: bool,
    pub trans_b: bool,
    /// Add into C instead of overwriting it.
    pub accumulate: bool,
}

/// The activation after a layer, applied by its forward: `y = act(pre)`.
/// A backend that fuses it writes `y` only and leaves `pre` alone; one that
/// does not writes the layer's output into `pre` first. With `Identity`,
/// pass `pre == y`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActAfter {
    pub act: Activation,
    pub pre: View,
}

/// The activation before a layer, for the layer's input gradient: `y =
/// act(pre)` is the layer's input, `dpost` the gradient reaching `y` and
/// the op's output `dpre = dpost * act'`, with `act'` computed from `y`
/// alone (exact for every [`Activation`]: relu and leaky relu have `y > 0`
/// exactly where `pre > 0`). A fused backend writes `dpre` only; one that
/// does not writes `dpost` first. `y`, `dpost`, `dpre` have the input's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActBefore {
    pub act: Activation,
    pub y: View,
    pub dpost: View,
}

/// The range log-variance is clamped to before `exp`, in both backends
/// (`reparam_forward`, `reparam_backward`; twins in shaders/reparam.wgsl):
/// sigma stays within [3e-7, 2.2e4], so one wild step cannot overflow
/// `exp(logvar)` (at most 4.9e8). Outside the range the gradient reaching
/// logvar is zero.
pub const LOGVAR_MIN: f32 = -30.0;
pub const LOGVAR_MAX: f32 = 20.0;

/// Which counter-based random stream an op draws from (see `rng`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Noise {
    pub seed: u32,
    pub stream: u32,
}

/// One Adam update's constants. `t` is the 1-based step count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub t: u32,
}

impl AdamStep {
    /// Step size with both bias corrections folded in, as PyTorch computes it:
    /// `p -= lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps)`.
    pub fn corrections(&self) -> (f32, f32) {
        let bc1 = 1.0 - (self.beta1 as f64).powi(self.t as i32);
        let bc2 = 1.0 - (self.beta2 as f64).powi(self.t as i32);
        ((self.lr as f64 / bc1) as f32, bc2.sqrt() as f32)
    }
}

/// Errors a backend can report: always with a sentence a person can act on.
#[derive(Clone, Debug, PartialEq)]
pub enum BackendError {
    /// No adapter could be found or granted.
    NoAdapter(String),
    /// The device was lost (driver reset, tab backgrounded too long, ...).
    DeviceLost(String),
    /// Over the device's memory or buffer limits.
    OutOfMemory(String),
    /// Anything else the GPU API reported.
    Gpu(String),
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendError::NoAdapter(m) => write!(f, "no GPU adapter available: {m}"),
            BackendError::DeviceLost(m) => write!(f, "the GPU device was lost: {m}"),
            BackendError::OutOfMemory(m) => write!(f, "out of GPU memory: {m}"),
            BackendError::Gpu(m) => write!(f, "GPU error: {m}"),
        }
    }
}

impl std::error::Error for BackendError {}

/// What a backend holds right now: live buffers, their bytes, and the size of
/// its buffer table (freed slots are reused, so the table stays as large as
/// the most buffers ever live at once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct MemoryReport {
    pub buffers: usize,
    pub bytes: u64,
    pub slots: usize,
}

/// The tensor operations of a VAE training step. Calls record work in order;
/// `read` is the only point where results come back to the host.
pub trait Backend {
    /// "cpu", or the GPU adapter's name.
    fn describe(&self) -> String;

    /// Live buffers and bytes (see [`MemoryReport`]).
    fn memory(&self) -> MemoryReport;
    /// The longest buffer (in 32-bit words) this backend can allocate and
    /// bind; a model is checked against it before anything is allocated.
    fn max_buffer_words(&self) -> usize {
        usize::MAX
    }

    /// A new zero-filled buffer of `len` words.
    fn alloc(&mut self, len: usize, label: &str) -> View;
    /// Free a buffer made by `alloc` (the whole buffer `view.buf`).
    fn free(&mut self, view: View);
    fn write(&mut self, dst: View, data: &[f32]);
    fn write_u32(&mut self, dst: View, data: &[u32]);
    /// Reads `src` back; the future owns everything it needs.
    fn read(&mut self, src: View)
        -> impl Future<Output = Result<Vec<f32>, BackendError>> + 'static;
    /// Pushes recorded work to the device (a no-op on the CPU).
    fn flush(&mut self);
    /// Called once per training step after `flush`: a GPU backend blocks here
    /// until at most a couple of steps are in flight, so work never piles up.
    fn pace(&mut self) {}

    fn fill(&mut self, dst: View, value: f32);
    fn copy(&mut self, src: View, dst: View);

    fn matmul(&mut self, a: View, b: View, c: View, spec: Matmul);
    /// `y[b, c, s] += bias[c]` for `y [batch, channels, spatial]`: a dense
    /// layer's bias with `spatial = 1`, a convolution's (NCHW) otherwise.
    fn bias_add(&mut self, y: View, bias: View, dims: [usize; 3]);
    /// `db[c] += sum_{b, s} dy[b, c, s]`, `dims` as in [`Backend::bias_add`].
    fn bias_grad(&mut self, dy: View, db: View, dims: [usize; 3]);
    fn activation(&mut self, act: Activation, x: View, y: View);
    /// `dx = dy * f'(x)`, given `y = f(x)` too (sigmoid and tanh use it).
    fn activation_backward(&mut self, act: Activation, x: View, y: View, dy: View, dx: View);

    /// A dense layer's forward with its activation, `y = act(x W^T + b)`:
    /// `x [rows, in]`, `w [out, in]`, `b [out]`, `pre` and `y [rows, out]`.
    /// The default writes `x W^T + b` into `pre` and then `act(pre)` into
    /// `y`; a fused backend (the GPU's matmul epilogue) writes `y` only and
    /// leaves `pre` alone. With `Identity`, pass `pre == y`.
    #[allow(clippy::too_many_arguments)]
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
        let [i, o] = features;
        let spec = Matmul {
            m: rows,
            n: o,
            k: i,
            trans_a: false,
            trans_b: true,
            accumulate: false,
        };
        if act == Activation::Identity {
            self.matmul(x, w, y, spec);
            self.bias_add(y, b, [rows, o, 1]);
        } else {
            self.matmul(x, w, pre, spec);
            self.bias_add(pre, b, [rows, o, 1]);
            self.activation(act, pre.slice(0, rows * o), y.slice(0, rows * o));
        }
    }
    /// A dense layer's parameter gradients, `dw += dy^T x` and
    /// `db += colsum(dy)`: `x [rows, in]`, `dy [rows, out]`, `dw [out, in]`,
    /// `db [out]`. The default is a matmul and a `bias_grad`.
    #[allow(clippy::too_many_arguments)]
    fn dense_backward_weights(
        &mut self,
        x: View,
        dy: View,
        dw: View,
        db: View,
        rows: usize,
        features: [usize; 2],
    ) {
        let [i, o] = features;
        let spec = Matmul {
            m: o,
            n: i,
            k: rows,
            trans_a: true,
            trans_b: false,
            accumulate: true,
        };
        self.matmul(dy, x, dw, spec);
        self.bias_grad(dy, db, [rows, o, 1]);
    }
    /// The gradient reaching a dense layer's input through the activation
    /// before it: `dpost (+)= dy W` (adding to `dpost` with `accumulate`),
    /// then `dpre = dpost * act'` where `y = act(pre)` is that activation's
    /// output (`[rows, in]`, as are `dpost` and `dpre`); `act'` is computed
    /// from `y` alone (exact for every [`Activation`]: relu and leaky relu
    /// have `y > 0` exactly where `pre > 0`). `dy [rows, out]`, `w [out, in]`.
    /// The default is a matmul into `dpost` and an `activation_backward`; a
    /// fused backend writes `dpre` only (reading `dpost` when accumulating).
    #[allow(clippy::too_many_arguments)]
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
        self.matmul(dy, w, dpost, spec);
        let n = rows * i;
        self.activation_backward(
            act,
            y.slice(0, n),
            y.slice(0, n),
            dpost.slice(0, n),
            dpre.slice(0, n),
        );
    }

    /// `eps ~ N(0, 1)` from `noise`; `z = mu + exp(lv / 2) * eps`;
    /// `kl[r] = -1/2 * sum_j (1 + lv - mu^2 - exp(lv))`, where
    /// `lv = clamp(logvar, LOGVAR_MIN, LOGVAR_MAX)`. All `[rows, zdim]`.
    #[allow(clippy::too_many_arguments)]
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
    );
    /// Gradient of `mean_r(recon_r + beta * kl_r)` reaching mu and logvar:
    /// `dmu = dz + kl_scale * mu`, `dlogvar = dz * eps * exp(lv/2) / 2
    /// + kl_scale * (exp(lv) - 1) / 2` with `lv` the clamped logvar, and
    /// `dlogvar = 0` where logvar is outside `[LOGVAR_MIN, LOGVAR_MAX]`;
    /// `kl_scale = beta / rows`.
    #[allow(clippy::too_many_arguments)]
    fn reparam_backward(
        &mut self,
        mu: View,
        logvar: View,
        eps: View,
        dz: View,
        dmu: View,
        dlogvar: View,
        kl_scale: f32,
    );
    /// Per-row reconstruction loss `loss[r] = sum_c l(logits[r,c], x[r,c])`
    /// and `dlogits = grad_scale * dl/dlogits`.
    #[allow(clippy::too_many_arguments)]
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
    );
    /// `dst[0] += sum(src)` (a single-word `dst`), for metrics kept on the device.
    fn sum_into(&mut self, src: View, dst: View);
    /// `dst[0] += sum(a)` and `dst[1] += sum(b)` (a two-word `dst`): the
    /// step's two loss sums, one dispatch on the GPU.
    fn sum_pair_into(&mut self, a: View, b: View, dst: View) {
        self.sum_into(a, dst.slice(0, 1));
        self.sum_into(b, dst.slice(1, 1));
    }
    /// Adam over flat parameter, gradient and moment buffers of equal length.
    fn adam(&mut self, params: View, grads: View, m: View, v: View, step: AdamStep);

    /// A convolution's forward, either kind (see [`ConvShape`]), overwriting
    /// `y [B, Co, OH, OW]` from `x [B, Ci, H, W]` and `w` (`[Co, Ci, KH, KW]`
    /// for `Conv2d`, `[Ci, Co, KH, KW]` for `ConvTranspose2d`): `y = conv(x,
    /// w)`, plus `bias[co]` on each output channel where given, then the
    /// activation after the layer where given (see [`ActAfter`]).
    fn conv_forward(
        &mut self,
        x: View,
        w: View,
        bias: Option<View>,
        y: View,
        shape: ConvShape,
        act: Option<ActAfter>,
    );
    /// The gradient reaching a convolution's input, overwriting `dx [B, Ci,
    /// H, W]` from `dy [B, Co, OH, OW]`: `dx = conv^T(dy, w)`, or with `act`
    /// the gradient through the activation before the layer (see
    /// [`ActBefore`]). A transposed convolution's is its adjoint's forward.
    fn conv_backward_data(
        &mut self,
        dy: View,
        w: View,
        dx: View,
        shape: ConvShape,
        act: Option<ActBefore>,
    );
    /// A convolution's parameter gradients, added to what is there: for
    /// `Conv2d`, `dw[co, ci, kh, kw] += sum_{b, oh, ow} dy[b, co, oh, ow] *
    /// x[b, ci, oh SH + kh - PH, ow SW + kw - PW]` (zero outside the image);
    /// for `ConvTranspose2d` its adjoint's with `x` and `dy` swapped. Where
    /// `db` is given, `db[c] += sum_{b, s} dy[b, c, s]` too.
    fn conv_backward_weights(
        &mut self,
        x: View,
        dy: View,
        dw: View,
        db: Option<View>,
        shape: ConvShape,
    );

    /// Batch gather: `out[r, d] = bytes[indices[first + r] * dim + d] / 255`,
    /// and with `binarize` each pixel becomes 1 with that probability, else 0.
    #[allow(clippy::too_many_arguments)]
    fn gather_images(
        &mut self,
        bytes: View,
        dim: usize,
        indices: View,
        first: usize,
        rows: usize,
        out: View,
        binarize: Option<Noise>,
    );
}

/// Uploads raw bytes (a dataset), packed four per word, little-endian.
pub fn upload_bytes<B: Backend>(be: &mut B, bytes: &[u8], label: &str) -> View {
    let words: Vec<u32> = bytes
        .chunks(4)
        .map(|c| {
            let mut w = [0u8; 4];
            w[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(w)
        })
        .collect();
    let view = be.alloc(words.len().max(1), label);
    be.write_u32(view, &words);
    view
}
