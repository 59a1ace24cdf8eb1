//! The `Backend` trait: every tensor operation a layer, the loss or the optimizer
//! needs. Layers are written once over it; `cpu::CpuBackend` is the plain-Rust
//! oracle, `gpu::GpuBackend` records WGSL dispatches.
//!
//! Storage is addressed by [`View`]: a span of 32-bit words inside a buffer the
//! backend owns. Most views hold `f32`; index and dataset views hold raw `u32`
//! words (the dataset packs four `u8` pixels per word, little-endian).
//! Shapes are row-major: a `[rows, cols]` matrix is `rows * cols` contiguous
//! words. Ops never alias: an output view never overlaps one of its inputs.

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
    /// Anything else the GPU API reported.
    Gpu(String),
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendError::NoAdapter(m) => write!(f, "no GPU adapter available: {m}"),
            BackendError::DeviceLost(m) => write!(f, "the GPU device was lost: {m}"),
            BackendError::Gpu(m) => write!(f, "GPU error: {m}"),
        }
    }
}

impl std::error::Error for BackendError {}

/// The tensor operations of a VAE training step. Calls record work in order;
/// `read` is the only point where results come back to the host.
pub trait Backend {
    /// "cpu", or the GPU adapter's name.
    fn describe(&self) -> String;

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
    /// `y[r, c] += bias[c]` for a `[rows, cols]` matrix `y`.
    fn bias_add(&mut self, y: View, bias: View, rows: usize, cols: usize);
    /// `db[c] += sum_r dy[r, c]`.
    fn bias_grad(&mut self, dy: View, db: View, rows: usize, cols: usize);
    fn activation(&mut self, act: Activation, x: View, y: View);
    /// `dx = dy * f'(x)`, given `y = f(x)` too (sigmoid and tanh use it).
    fn activation_backward(&mut self, act: Activation, x: View, y: View, dy: View, dx: View);

    /// `eps ~ N(0, 1)` from `noise`; `z = mu + exp(logvar / 2) * eps`;
    /// `kl[r] = -1/2 * sum_j (1 + logvar - mu^2 - exp(logvar))`. All `[rows, zdim]`.
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
    /// `dmu = dz + kl_scale * mu`, `dlogvar = dz * eps * exp(logvar/2) / 2
    /// + kl_scale * (exp(logvar) - 1) / 2`, with `kl_scale = beta / rows`.
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
    /// Adam over flat parameter, gradient and moment buffers of equal length.
    fn adam(&mut self, params: View, grads: View, m: View, v: View, step: AdamStep);

    /// Uploads raw bytes (a dataset), packed four per word, little-endian.
    fn upload_bytes(&mut self, bytes: &[u8], label: &str) -> View {
        let words: Vec<u32> = bytes
            .chunks(4)
            .map(|c| {
                let mut w = [0u8; 4];
                w[..c.len()].copy_from_slice(c);
                u32::from_le_bytes(w)
            })
            .collect();
        let view = self.alloc(words.len().max(1), label);
        self.write_u32(view, &words);
        view
    }
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
