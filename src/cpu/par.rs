//! Data parallelism for the element-wise ops: rayon natively, a plain loop in
//! wasm (one thread there).

/// Runs `f` on every item, in parallel where threads exist.
#[cfg(not(target_arch = "wasm32"))]
pub fn for_each<T: Send>(items: Vec<T>, f: impl Fn(T) + Sync + Send) {
    use rayon::prelude::*;
    items.into_par_iter().for_each(f);
}

#[cfg(target_arch = "wasm32")]
pub fn for_each<T>(items: Vec<T>, f: impl Fn(T)) {
    items.into_iter().for_each(f);
}

/// Threads the ops may use.
#[cfg(not(target_arch = "wasm32"))]
pub fn threads() -> usize {
    rayon::current_num_threads()
}

#[cfg(target_arch = "wasm32")]
pub fn threads() -> usize {
    1
}

/// Words per task of the element-wise ops: enough to amortize a task.
pub const CHUNK: usize = 1 << 14;
