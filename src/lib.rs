//! vae-playground: a variational autoencoder that trains on WebGPU in the
//! browser and natively through wgpu.
//!
//! Shape legend (here, in every module and at the top of every `.wgsl` file):
//! B batch, C channels, H height, W width, D features, Z latent.
//! Matrices are row-major `[rows, cols]`; images are NCHW. Gradients are
//! prefixed `d` (`dW` is the gradient of the loss with respect to `W`).
//!
//! Modules: `backend` (the op trait) with its two implementations `cpu` and
//! `gpu`; `spec` (how a model is written down: shapes and layer specs);
//! `nn` (layers over the backend, and `nn::plan`, which turns a layer spec
//! into a layer); `config` (`VaeConfig`, its presets and its ranges) and
//! `vae` (the model); `settings` (what a person may set: presets as the page
//! lists them, overrides); `error` (error kinds for the surfaces); `train`
//! (the step loop, metrics, snapshots, decoding and sampling); `diverge`
//! (the rule that judges each metrics readback); `explore` (scatter planes,
//! drawing preprocessing, interpolation, inpainting, traversal,
//! per-dimension KL, chunked evaluation, the importance-weighted bound);
//! `checkpoint` (the file format, and `checkpoint::resume`, training
//! continued from one); `probe` (the timed trial run behind
//! `backend="auto"`); `data`; `rng`; `web` (the wasm surface).

pub mod backend;
pub mod checkpoint;
pub mod config;
pub mod cpu;
pub mod data;
pub mod diverge;
pub mod error;
pub mod explore;
pub mod gpu;
pub mod nn;
pub mod probe;
pub mod rng;
pub mod settings;
pub mod spec;
pub mod train;
pub mod vae;
#[cfg(target_arch = "wasm32")]
pub mod web;
