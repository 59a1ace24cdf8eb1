//! `vae bench --profile`: what one GPU training step records and where its
//! time goes.
//!
//! Per step: dispatches, buffer clears and copies, bytes moved (the bytes of
//! the views each dispatch binds, each counted once, plus bytes cleared and
//! twice the bytes copied: an estimate of the traffic, not a measurement),
//! uniform bytes uploaded and command buffers submitted, counted by the
//! recorder over the timed steps. Then the GPU time per step from timestamp
//! queries where the adapter offers them, and a per-kernel breakdown: a few
//! more steps with every dispatch, clear and copy flushed and waited for on
//! its own, each timed by its own timestamp queries where the adapter offers
//! them (lavapipe does), else on the CPU side (then each includes its
//! submission and wait on top of the GPU's work).

use std::time::Instant;

use serde_json::json;
use vae_playground::backend::{Backend, BackendError};
use vae_playground::gpu::{GpuBackend, OpTime};
use vae_playground::train::Trainer;

/// Steps run with each op flushed and waited for on its own.
const PROFILED_STEPS: usize = 3;

pub fn run(mut t: Trainer<GpuBackend>, steps: usize) -> Result<(), BackendError> {
    for _ in 0..5 {
        t.step();
    }
    pollster::block_on(t.take_metrics())?;
    t.be.reset_counters();
    t.be.reset_gpu_time();
    let start = Instant::now();
    for _ in 0..steps {
        t.step();
    }
    let c = t.be.counters();
    let m = pollster::block_on(t.take_metrics())?;
    let secs = start.elapsed().as_secs_f64();
    let gpu = t.be.gpu_time();

    t.be.set_op_profile(true);
    for _ in 0..PROFILED_STEPS {
        t.step();
    }
    let profile = t.be.op_profile().unwrap_or_default();
    t.be.set_op_profile(false);

    let per = |n: u64| n as f64 / steps as f64;
    let preset = t.config().preset.clone();
    let batch = t.config().batch;
    let adapter = t.be.describe();
    let gpu_ms = (gpu.flushes > 0)
        .then(|| gpu.total_ms / gpu.flushes as f64 * c.flushes as f64 / steps as f64);
    println!(
        "{preset} on {adapter} (batch {batch}), per training step: {} dispatches, {} clears, {} copies, \
         {:.2} MB bound, {:.1} KB uniforms, {} submits; {:.1} ms/step, {:.0} images/s; GPU time: {}",
        per(c.dispatches),
        per(c.clears),
        per(c.copies),
        per(c.bytes) / 1e6,
        per(c.uniform_bytes) / 1e3,
        per(c.flushes),
        secs * 1e3 / steps as f64,
        m.images as f64 / secs,
        match gpu_ms {
            Some(ms) => format!("{ms:.2} ms/step (timestamp queries, {} flushes timed)", gpu.flushes),
            None if gpu.supported => "no timestamps came back".to_string(),
            None => "this adapter offers no timestamp queries".to_string(),
        }
    );
    // GPU time per kernel where its calls were timed (clears and copies,
    // outside any compute pass, never are: wall time for those).
    let gpu_ops = profile.ops.values().any(|o| o.gpu_timed > 0);
    let ms_of = |o: &OpTime| {
        if o.gpu_timed == o.calls {
            o.gpu_ms / PROFILED_STEPS as f64
        } else {
            o.wall_s * 1e3 / PROFILED_STEPS as f64
        }
    };
    let mut rows: Vec<_> = profile.ops.iter().collect();
    rows.sort_by(|a, b| ms_of(b.1).total_cmp(&ms_of(a.1)));
    let timed: f64 = rows.iter().map(|r| ms_of(r.1)).sum();
    println!(
        "  {:<44} {:>10} {:>10} {:>6}  ({})",
        "kernel (each flushed and waited)",
        "calls/step",
        "ms/step",
        "share",
        if gpu_ops {
            "GPU time from timestamp queries; clears and copies: wall time"
        } else {
            "wall time, submit and wait included"
        }
    );
    let mut ops = Vec::new();
    for (name, o) in &rows {
        let calls = o.calls as f64 / PROFILED_STEPS as f64;
        let ms = ms_of(o);
        println!(
            "  {name:<44} {calls:>10.1} {ms:>10.3} {:>5.1}%",
            100.0 * ms / timed.max(1e-12)
        );
        ops.push(json!({
            "kernel": name,
            "calls_per_step": calls,
            "ms_per_step": ms,
            "wall_ms_per_step": o.wall_s * 1e3 / PROFILED_STEPS as f64,
        }));
    }
    let line = json!({
        "preset": preset,
        "backend": "gpu",
        "adapter": adapter,
        "batch": batch,
        "steps": steps,
        "dispatches_per_step": per(c.dispatches),
        "clears_per_step": per(c.clears),
        "copies_per_step": per(c.copies),
        "bytes_per_step": per(c.bytes),
        "uniform_bytes_per_step": per(c.uniform_bytes),
        "submits_per_step": per(c.flushes),
        "images_per_sec": m.images as f64 / secs,
        "ms_per_step": secs * 1e3 / steps as f64,
        "timestamp_queries": gpu.supported,
        "gpu_ms_per_step": gpu_ms,
        "ops_timed_by": if gpu_ops { "timestamp queries" } else { "wall clock" },
        "profiled_ms_per_step": timed,
        "ops": ops,
    });
    println!("{line}");
    Ok(())
}
