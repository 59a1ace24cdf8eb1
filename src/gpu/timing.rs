//! What `vae bench --profile` reads: the recorder's [`Counters`], the
//! per-kernel [`OpProfile`], and GPU time per flush from timestamp queries,
//! where the adapter offers `TIMESTAMP_QUERY` (see [`GpuTime`]).
//!
//! Each flush that records compute passes writes a timestamp at the start of
//! its first pass and at the end of its last one, resolves the pair into a
//! small buffer and copies it into a mappable one, all inside the flush's own
//! command buffer. The mappable buffer is mapped asynchronously; at most one
//! readback is in flight, and a flush that comes while it is still pending
//! is not timed (`GpuTime::flushes` counts the timed ones), so the pipeline
//! never waits for a timestamp.

use super::context::Context;
use super::GpuBackend;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// What the recorder has recorded since the last `reset_counters`: the
/// figures of `vae bench --profile`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Compute dispatches.
    pub dispatches: u64,
    /// Buffer clears (`fill` with zero).
    pub clears: u64,
    /// Buffer-to-buffer copies, the alias scratch's included.
    pub copies: u64,
    /// Bytes of the views each dispatch binds (each view counted once, as
    /// if read or written once; a kernel that reads and writes a view moves
    /// twice that), plus bytes cleared, plus twice the bytes copied.
    pub bytes: u64,
    /// Bytes of uniform params uploaded (one slot per dispatch).
    pub uniform_bytes: u64,
    /// Command buffers submitted.
    pub flushes: u64,
}

/// The time of each kernel (entry point and override constants), each
/// dispatch, clear and copy flushed and waited for on its own.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OpProfile {
    pub ops: BTreeMap<String, OpTime>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OpTime {
    pub calls: u64,
    /// Wall seconds from recording to completion (submit and wait included).
    pub wall_s: f64,
    /// GPU milliseconds from timestamp queries, where offered, and how many
    /// of the calls they cover.
    pub gpu_ms: f64,
    pub gpu_timed: u64,
}

/// GPU time of the recorded work, measured with timestamp queries.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GpuTime {
    /// The adapter offers `TIMESTAMP_QUERY` and the device was created with it.
    pub supported: bool,
    /// GPU milliseconds of the last flush whose timestamps came back.
    pub last_flush_ms: Option<f64>,
    /// GPU milliseconds of every timed flush so far.
    pub total_ms: f64,
    /// Flushes whose timestamps came back (some are skipped while a readback
    /// is in flight, so this may trail the flushes submitted).
    pub flushes: u64,
}

impl GpuBackend {
    /// GPU time per flush so far (all zero where the adapter has no
    /// timestamp queries). Collects a readback that has landed; natively it
    /// also polls the device (without waiting) so that one can land.
    pub fn gpu_time(&self) -> GpuTime {
        self.rec.gpu_time()
    }

    /// Forgets the GPU time measured so far (`total_ms`, `flushes`).
    pub fn reset_gpu_time(&self) {
        if let Some(t) = self.rec.timestamps() {
            let mut s = t.state.lock().unwrap();
            s.total_ms = 0.0;
            s.flushes = 0;
            s.last_ms = None;
        }
    }
}

#[derive(Default)]
struct State {
    /// A readback is mapped or being mapped: the next flush is not timed.
    busy: bool,
    /// The map callback has run (with its result).
    landed: Option<Result<(), wgpu::BufferAsyncError>>,
    last_ms: Option<f64>,
    total_ms: f64,
    flushes: u64,
}

/// The query set and buffers of the per-flush timestamps.
pub(super) struct Timestamps {
    query_set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    /// Nanoseconds per timestamp tick.
    period_ns: f64,
    state: Arc<Mutex<State>>,
}

impl Timestamps {
    /// `None` unless the device was created with `TIMESTAMP_QUERY`.
    pub(super) fn new(ctx: &Context) -> Option<Timestamps> {
        if !ctx
            .device
            .features()
            .contains(wgpu::Features::TIMESTAMP_QUERY)
        {
            return None;
        }
        let device = &ctx.device;
        let query_set = device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("flush timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count: 2,
        });
        let buffer = |label, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: 16,
                usage,
                mapped_at_creation: false,
            })
        };
        Some(Timestamps {
            query_set,
            resolve: buffer(
                "timestamp resolve",
                wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            ),
            readback: buffer(
                "timestamp readback",
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            ),
            period_ns: ctx.queue.get_timestamp_period() as f64,
            state: Arc::new(Mutex::new(State::default())),
        })
    }

    /// Takes in a landed readback; then whether this flush can be timed.
    pub(super) fn ready(&self) -> bool {
        self.collect();
        !self.state.lock().unwrap().busy
    }

    /// The timestamp writes of the flush's first pass (`first`) and last
    /// pass (`last`); both for a flush of one pass.
    pub(super) fn writes(
        &self,
        first: bool,
        last: bool,
    ) -> Option<wgpu::ComputePassTimestampWrites<'_>> {
        (first || last).then_some(wgpu::ComputePassTimestampWrites {
            query_set: &self.query_set,
            beginning_of_pass_write_index: first.then_some(0),
            end_of_pass_write_index: last.then_some(1),
        })
    }

    /// Resolves the pair and copies it into the mappable buffer (recorded
    /// after the flush's last pass).
    pub(super) fn resolve(&self, enc: &mut wgpu::CommandEncoder) {
        enc.resolve_query_set(&self.query_set, 0..2, &self.resolve, 0);
        enc.copy_buffer_to_buffer(&self.resolve, 0, &self.readback, 0, 16);
    }

    /// Starts mapping the readback (after the flush was submitted).
    pub(super) fn map(&self) {
        self.state.lock().unwrap().busy = true;
        let state = self.state.clone();
        self.readback.map_async(wgpu::MapMode::Read, .., move |r| {
            state.lock().unwrap().landed = Some(r);
        });
    }

    /// Reads a landed readback into the totals and frees the buffer.
    pub(super) fn collect(&self) {
        let landed = self.state.lock().unwrap().landed.take();
        let Some(result) = landed else {
            return;
        };
        let ms = match result {
            Ok(()) => {
                let ms = self.readback.get_mapped_range(..).ok().map(|view| {
                    let t: &[u64] = bytemuck::cast_slice(&view);
                    t[1].wrapping_sub(t[0]) as f64 * self.period_ns / 1e6
                });
                self.readback.unmap();
                ms
            }
            Err(_) => None,
        };
        let mut s = self.state.lock().unwrap();
        s.busy = false;
        // A pair the driver could not order (end before begin) is dropped.
        if let Some(ms) = ms.filter(|ms| ms.is_finite() && *ms < 3.6e6) {
            s.last_ms = Some(ms);
            s.total_ms += ms;
            s.flushes += 1;
        }
    }

    pub(super) fn time(&self) -> GpuTime {
        self.collect();
        let s = self.state.lock().unwrap();
        GpuTime {
            supported: true,
            last_flush_ms: s.last_ms,
            total_ms: s.total_ms,
            flushes: s.flushes,
        }
    }
}

/// The figures of `vae bench --profile`.
impl GpuBackend {
    /// Dispatches, clears, copies, bytes and uniform bytes recorded since
    /// the last `reset_counters` (see [`Counters`]).
    pub fn counters(&self) -> Counters {
        self.rec.counters()
    }

    pub fn reset_counters(&mut self) {
        self.rec.reset_counters();
    }

    /// Natively: with `true`, every dispatch, clear and copy is flushed and
    /// waited for on its own and its wall time added to a fresh per-kernel
    /// table ([`GpuBackend::op_profile`]); `false` goes back to batching.
    /// Slow by design: for finding where a step's time goes.
    pub fn set_op_profile(&mut self, on: bool) {
        self.rec.set_profile(on);
    }

    /// The per-kernel table while profiling (`None` otherwise).
    pub fn op_profile(&self) -> Option<OpProfile> {
        self.rec.profile().cloned()
    }
}
