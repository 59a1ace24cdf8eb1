//! The GPU test harness: one device per test binary, the same tensors on the
//! GPU and the CPU oracle, and comparisons with an explicit tolerance. Needs
//! a GPU adapter (on machines without a GPU, Mesa's lavapipe:
//! `apt-get install mesa-vulkan-drivers`); no adapter fails, never skips.

use pollster::block_on;
use std::sync::{Mutex, MutexGuard, OnceLock};
use vae_playground::backend::{Backend, View};
use vae_playground::cpu::CpuBackend;
use vae_playground::gpu::GpuBackend;
use vae_playground::train::Trainer;

/// A new device, or a failure that says how to get an adapter.
pub fn new_gpu() -> GpuBackend {
    GpuBackend::new_blocking().unwrap_or_else(|e| {
        panic!(
            "GPU tests need a GPU adapter and found none: {e}\n\
             On a machine without a GPU, `apt-get install mesa-vulkan-drivers` provides lavapipe."
        )
    })
}

/// One device for the whole test binary: creating one is slow on lavapipe.
pub fn gpu() -> MutexGuard<'static, GpuBackend> {
    static GPU: OnceLock<Mutex<GpuBackend>> = OnceLock::new();
    GPU.get_or_init(|| {
        let g = new_gpu();
        eprintln!("running on {:?}", g.adapter_info());
        Mutex::new(g)
    })
    .lock()
    .unwrap_or_else(|p| p.into_inner())
}

/// A tensor on both backends.
#[derive(Clone, Copy, Debug)]
pub struct T {
    pub g: View,
    pub c: View,
}

impl T {
    pub fn slice(self, offset: usize, len: usize) -> T {
        T {
            g: self.g.slice(offset, len),
            c: self.c.slice(offset, len),
        }
    }
}

/// The GPU under test beside a fresh CPU oracle.
pub struct Pair<'a> {
    pub g: &'a mut GpuBackend,
    pub c: CpuBackend,
}

impl<'a> Pair<'a> {
    pub fn new(g: &'a mut GpuBackend) -> Self {
        Pair {
            g,
            c: CpuBackend::new(),
        }
    }

    pub fn alloc(&mut self, len: usize) -> T {
        T {
            g: self.g.alloc(len, "test"),
            c: self.c.alloc(len, "test"),
        }
    }

    pub fn write(&mut self, t: T, data: &[f32]) {
        self.g.write(t.g, data);
        self.c.write(t.c, data);
    }

    pub fn upload(&mut self, data: &[f32]) -> T {
        let t = self.alloc(data.len());
        self.write(t, data);
        t
    }

    /// `data` at word offset `pad` inside a larger buffer (other words 7 and 9).
    pub fn upload_padded(&mut self, data: &[f32], pad: usize) -> T {
        let mut padded = vec![7.0; pad];
        padded.extend_from_slice(data);
        padded.extend([9.0; 3]);
        self.upload(&padded).slice(pad, data.len())
    }

    pub fn read(&mut self, t: T) -> (Vec<f32>, Vec<f32>) {
        let g = block_on(self.g.read(t.g)).expect("GPU read failed");
        let c = block_on(self.c.read(t.c)).expect("CPU read failed");
        assert_eq!(g.len(), c.len());
        (g, c)
    }

    /// `|gpu - cpu| <= abs + rel * |cpu|` everywhere, and finite on both
    /// sides or on neither.
    pub fn assert_close(&mut self, t: T, abs: f32, rel: f32, what: &str) {
        let (g, c) = self.read(t);
        for (i, (&x, &y)) in g.iter().zip(&c).enumerate() {
            assert!(
                x.is_finite() == y.is_finite(),
                "{what}: [{i}] gpu {x} vs cpu {y} (finiteness differs)"
            );
            let err = (x - y).abs();
            assert!(
                err <= abs + rel * y.abs(),
                "{what}: [{i}] gpu {x} vs cpu {y}, |diff| {err} > {abs} + {rel} * |cpu|"
            );
        }
    }

    /// The same bits everywhere.
    pub fn assert_exact(&mut self, t: T, what: &str) {
        let (g, c) = self.read(t);
        for (i, (x, y)) in g.iter().zip(&c).enumerate() {
            assert_eq!(x.to_bits(), y.to_bits(), "{what}: [{i}] gpu {x} vs cpu {y}");
        }
    }
}

/// Runs `steps` training steps on two trainers built from the same config
/// and data, one per backend, and checks they agree: the same initial
/// parameters; the loss within 1e-4 relative; parameters that moved by more
/// than two steps (lr) somewhere, yet differ between the backends by less
/// than 1e-3 lr on average and by less than 5% of a step everywhere but a
/// fraction `outliers` of them. Adam divides by sqrt(v), so a gradient that
/// is ~0 on both sides can still take slightly different steps: those are
/// the outliers a test may allow.
pub fn assert_steps_agree(
    g: &mut Trainer<GpuBackend>,
    c: &mut Trainer<CpuBackend>,
    steps: usize,
    outliers: f64,
) {
    let p0 = block_on(c.read_params()).unwrap();
    assert_eq!(
        block_on(g.read_params()).unwrap(),
        p0,
        "initial parameters differ"
    );
    for _ in 0..steps {
        g.step();
        c.step();
    }
    let (mg, mc) = (
        block_on(g.take_metrics()).unwrap(),
        block_on(c.take_metrics()).unwrap(),
    );
    let (pg, pc) = (
        block_on(g.read_params()).unwrap(),
        block_on(c.read_params()).unwrap(),
    );
    let lr = c.config().adam.lr;
    let max_update = pc
        .iter()
        .zip(&p0)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    let diffs: Vec<f32> = pg.iter().zip(&pc).map(|(a, b)| (a - b).abs()).collect();
    let max_diff = diffs.iter().copied().fold(0.0f32, f32::max);
    let mean_diff = diffs.iter().sum::<f32>() / diffs.len() as f32;
    let over = diffs.iter().filter(|&&d| d >= 0.05 * lr).count();
    eprintln!(
        "{}: loss gpu {} cpu {}; max |update| {max_update}, max |diff| {max_diff}, \
         mean |diff| {mean_diff}; {over} of {} parameters differ by 5% of a step or more",
        c.config().preset,
        mg.loss,
        mc.loss,
        diffs.len()
    );
    assert!(
        max_update > 2.0 * lr,
        "training did not move the parameters: {max_update}"
    );
    if outliers == 0.0 {
        assert!(max_diff < 0.05 * lr, "max parameter difference {max_diff}");
    } else {
        assert!(
            over as f64 <= outliers * diffs.len() as f64,
            "{over} parameters differ by 5% of a step or more (max {max_diff})"
        );
    }
    assert!(
        mean_diff < 1e-3 * lr,
        "mean parameter difference {mean_diff}"
    );
    assert!(
        (mg.loss - mc.loss).abs() < 1e-4 * mc.loss,
        "losses {} vs {}",
        mg.loss,
        mc.loss
    );
}
