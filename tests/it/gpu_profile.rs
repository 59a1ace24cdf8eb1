//! What a GPU training step records, counted by the recorder, against the
//! count derived from the model by hand, and `vae bench --profile` printing
//! the same figures. Needs a GPU adapter (lavapipe on machines without one);
//! no adapter fails.

use crate::common::cli::{stderr, vae};
use crate::common::gpu::new_gpu;
use pollster::block_on;
use vae_playground::config::VaeConfig;
use vae_playground::train::Trainer;

/// The `mlp` step, op by op (encoder 784 -> 400 relu, heads 400 -> 20,
/// decoder 20 -> 400 relu -> 784), after the dense fusions.
const MLP_DISPATCHES: u64 = {
    let forward = 1 // gather the batch
        + 1 // encoder dense + bias + relu
        + 2 // mu and logvar heads (dense + bias)
        + 1 // reparameterization and KL
        + 2 // decoder: dense + bias + relu, dense + bias
        + 1; // reconstruction loss and its gradient
    let backward = 2 // decoder fc2: dW + db, dx through the relu
        + 2 // decoder fc1: dW + db, dz
        + 1 // reparameterization backward
        + 2 // mu head: dW + db, dh
        + 2 // logvar head: dW + db, dh added and through the encoder's relu
        + 1; // encoder fc1: dW + db (no dx)
    forward + backward + 1 /* Adam */ + 1 /* both loss sums */
};

fn mlp_trainer() -> Trainer<vae_playground::gpu::GpuBackend> {
    let mut t = Trainer::new(new_gpu(), VaeConfig::preset("mlp").unwrap()).unwrap();
    let pixels: Vec<u8> = (0..300 * 784).map(|i| (i * 37 % 251) as u8).collect();
    t.set_train_images(&pixels, 300);
    t
}

#[test]
fn mlp_step_records_what_the_model_says_in_at_most_20_dispatches() {
    let mut t = mlp_trainer();
    // The first step also snapshots the parameters (copies): not counted.
    t.step();
    block_on(t.take_metrics()).unwrap();
    t.be.reset_gpu_time();
    t.be.reset_counters();
    t.step();
    let c = t.be.counters();
    assert_eq!(c.dispatches, MLP_DISPATCHES, "{c:?}");
    assert!(c.dispatches <= 20, "{c:?}");
    assert_eq!(c.clears, 1, "the gradient buffer's clear: {c:?}");
    assert_eq!(c.copies, 0, "no copies (no alias scratch): {c:?}");
    assert_eq!(c.flushes, 1, "one submit per step: {c:?}");
    assert_eq!(
        c.uniform_bytes % c.dispatches,
        0,
        "one slot per dispatch: {c:?}"
    );
    assert!(c.uniform_bytes >= 256 * c.dispatches, "{c:?}");
    // Adam alone binds the four flat buffers (parameters, gradients, m, v).
    let params = t.vae.table.total as u64;
    assert!(
        c.bytes >= 16 * params,
        "{} bytes for {params} parameters",
        c.bytes
    );

    // Profiling: every kernel on its own; the calls add up to the counters.
    t.be.reset_counters();
    t.be.set_op_profile(true);
    t.step();
    let profile = t.be.op_profile().expect("profiling");
    t.be.set_op_profile(false);
    let c = t.be.counters();
    let calls: u64 = profile.ops.values().map(|o| o.calls).sum();
    assert_eq!(calls, c.dispatches + c.clears + c.copies, "{profile:?}");
    assert_eq!(c.flushes, calls, "one submit per op while profiling");
    let fused: u64 = profile
        .ops
        .iter()
        .filter(|(k, _)| k.starts_with("matmul_fused"))
        .map(|(_, o)| o.calls)
        .sum();
    // 5 forward, 5 weight gradients, 2 input gradients through a relu.
    assert_eq!(fused, 12, "{profile:?}");

    let time = t.be.gpu_time();
    if time.supported {
        assert!(time.flushes >= 1 && time.total_ms > 0.0, "{time:?}");
        let timed: u64 = profile.ops.values().map(|o| o.gpu_timed).sum();
        assert_eq!(timed, c.dispatches, "every dispatch timed: {profile:?}");
    }
}

#[test]
fn bench_profile_prints_the_counts_as_json() {
    let o = vae(&[
        "bench",
        "--profile",
        "--backend",
        "gpu",
        "--preset",
        "mlp",
        "--steps",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let last = out.lines().last().expect("output");
    let j: serde_json::Value = serde_json::from_str(last).expect("a JSON last line");
    assert_eq!(j["preset"], "mlp");
    assert_eq!(
        j["dispatches_per_step"].as_f64(),
        Some(MLP_DISPATCHES as f64),
        "{j}"
    );
    assert_eq!(j["clears_per_step"].as_f64(), Some(1.0), "{j}");
    let ops = j["ops"].as_array().expect("ops");
    let kernel_calls: f64 = ops
        .iter()
        .filter(|o| !o["kernel"].as_str().unwrap().contains("(buffer)"))
        .map(|o| o["calls_per_step"].as_f64().unwrap())
        .sum();
    assert_eq!(kernel_calls, MLP_DISPATCHES as f64, "{j}");
    assert!(out.contains("matmul_fused"), "{out}");
    let o = vae(&["bench", "--profile", "--backend", "cpu"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
