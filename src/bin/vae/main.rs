//! `vae`, the native command line. It is native only: on wasm32 (which trunk
//! builds every target of the crate for) it compiles to an empty program.

// One module per command (`train`, `eval`, ...), `cli` for the parser and
// the backend choice, `files` for what they read and write.
#[cfg(not(target_arch = "wasm32"))]
mod bench;
#[cfg(not(target_arch = "wasm32"))]
mod cli;
#[cfg(not(target_arch = "wasm32"))]
mod eval;
#[cfg(not(target_arch = "wasm32"))]
mod explore_args;
#[cfg(not(target_arch = "wasm32"))]
mod files;
#[cfg(not(target_arch = "wasm32"))]
mod image_grid;
#[cfg(not(target_arch = "wasm32"))]
mod importance;
#[cfg(not(target_arch = "wasm32"))]
mod inpaint;
#[cfg(not(target_arch = "wasm32"))]
mod interpolate;
#[cfg(not(target_arch = "wasm32"))]
mod ops_profile;
#[cfg(not(target_arch = "wasm32"))]
mod profile;
#[cfg(not(target_arch = "wasm32"))]
mod report;
#[cfg(not(target_arch = "wasm32"))]
mod sample;
#[cfg(not(target_arch = "wasm32"))]
mod scatter;
#[cfg(not(target_arch = "wasm32"))]
mod train;
#[cfg(not(target_arch = "wasm32"))]
mod traverse;
#[cfg(not(target_arch = "wasm32"))]
mod userdata;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
