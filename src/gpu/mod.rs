//! The GPU backend: every `Backend` op records a WGSL compute dispatch (or a
//! clear / copy); `flush` submits what was recorded as one command buffer.
//!
//! Shape legend: B batch, C channels, H height, W width, D features, Z latent.
//!
//! * `context.rs`: adapter and device, and the sticky fault slot.
//! * `kernels.rs`: the WGSL sources, their params structs, the kernel table.
//! * `pipelines.rs`: the lazy shader-module, layout and pipeline cache.
//! * `recorder.rs`: bind groups, uniforms, dispatch, flush, pacing;
//!   `recorder/buffers.rs`: allocation, writes, reads, clears, copies;
//!   `recorder/profile.rs`: what it counts and times.
//! * `readback.rs`: the asynchronous read future, native and on the web.
//! * `ops.rs`: the `Backend` impl, one small function per kernel.
//! * `matmul.rs`: the plain product (`call_matmul`), for the dense layers
//!   and the convolutions' input gradient.
//! * `dense.rs`: the dense layers' fused products (bias, activation and
//!   bias gradient in the matmul's epilogue) and the paired loss sum.
//! * `conv.rs`: the convolutions; `conv_gemm.rs`: their implicit GEMMs (forward
//!   with the bias, split-K weight gradient); the gradient to the data is
//!   col2im / permute around matmul.
//! * `timing.rs`: the counters and per-kernel profile of `vae bench
//!   --profile`, and GPU time per flush from timestamp queries ([`GpuTime`]).
//! * `warm.rs`: building every pipeline of a model ahead of its first step.

mod context;
mod conv;
mod conv_gemm;
mod dense;
mod kernels;
mod matmul;
mod ops;
mod pipelines;
mod readback;
mod recorder;
mod timing;
mod warm;

use crate::backend::{BackendError, Noise, View};
use context::Context;
use kernels::{GatherParams, RNG_WORDS};
use recorder::Recorder;
pub use timing::{Counters, GpuTime, OpProfile, OpTime};

/// Entries in the GPU backend's caches: built on first use, then reused, so
/// they stop growing once every kernel shape has run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheSizes {
    pub modules: usize,
    pub layouts: usize,
    pub pipelines: usize,
    pub bind_groups: usize,
}

/// The WGSL compute backend (wgpu: Vulkan / Metal / DX12 natively, WebGPU in
/// the browser).
pub struct GpuBackend {
    rec: Recorder,
    /// The convolutions' scratch buffers (see `conv.rs`).
    conv: conv::ConvScratch,
}

impl GpuBackend {
    /// Finds an adapter (a real GPU if any, else a software one such as Mesa's
    /// llvmpipe or the browser's SwiftShader) and creates the device.
    pub async fn new() -> Result<Self, BackendError> {
        Ok(GpuBackend {
            rec: Recorder::new(Context::new().await?),
            conv: conv::ConvScratch::default(),
        })
    }

    /// `new`, blocking on the adapter and device requests (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new_blocking() -> Result<Self, BackendError> {
        pollster::block_on(Self::new())
    }

    /// Name, vendor, driver, backend and device type of the adapter in use.
    pub fn adapter_info(&self) -> wgpu::AdapterInfo {
        self.rec.ctx().adapter.get_info()
    }

    /// Entries in the pipeline and bind-group caches.
    pub fn cache_sizes(&self) -> CacheSizes {
        self.rec.cache_sizes()
    }

    /// Lowers the largest buffer this backend will allocate or bind to
    /// `bytes` (the device's own limits still apply): for a page or a test
    /// that wants a model checked against a smaller device.
    pub fn cap_buffers(&mut self, bytes: u64) {
        self.rec.cap_buffers(bytes);
    }

    /// Destroys the device as a driver reset would: every later read fails
    /// with `DeviceLost`. The page's test hook for its device-loss path.
    pub fn destroy_device(&self) {
        self.rec
            .ctx()
            .lose("the device was destroyed on request (a test hook)");
    }

    /// The first error the device reported (validation, out of memory, device
    /// lost), if any. Once set, every `read` fails with it.
    pub fn error(&self) -> Option<BackendError> {
        self.rec.ctx().fault()
    }

    /// Writes the raw RNG words `hash3(noise.seed, noise.stream, first + i)` into
    /// `out` (as u32 bits), so tests can compare the WGSL RNG with `rng.rs`.
    pub fn rng_words(&mut self, out: View, noise: Noise, first: u32) {
        let n = out.len;
        let groups = self.rec.elementwise_groups(out.len());
        self.rec
            .dispatch(RNG_WORDS, &[out], groups, &[], |o| GatherParams {
                rows: n,
                out_off: o[0],
                first,
                seed: noise.seed,
                stream: noise.stream,
                ..Default::default()
            });
    }
}
