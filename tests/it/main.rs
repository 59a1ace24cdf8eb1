//! The integration tests, one binary: linking the crate once instead of once per
//! file saves minutes on a 2-core machine. A module per area; `common` holds
//! the shared helpers (CPU buffers and finite differences, the GPU harness, the
//! `vae` binary).

mod common;

mod cifar_synthetic;
mod cli;
mod cli_data;
mod cli_explore;
mod conv_fused;
mod conv_gradients;
mod convergence;
mod cpu_gradients;
mod divergence;
mod explore;
mod explore_gpu;
mod fuzz_parsers;
mod fuzz_user_data;
mod gpu_conv;
mod gpu_dense;
mod gpu_kernels;
mod gpu_profile;
mod gpu_warm;
mod hostile_files;
mod mnist_data;
mod regressions;
mod shaders_validate;
mod soak;
mod train_step_gpu_vs_cpu;
mod trainer_api;
mod user_data;
