//! What the recorder counts and times: the [`Counters`] of each dispatch,
//! clear and copy, the per-kernel table of profile mode (each op flushed and
//! waited for on its own), and the GPU time from timestamp queries.

use super::Recorder;
use crate::gpu::timing::{Counters, GpuTime, OpProfile, Timestamps};

impl Recorder {
    pub(in crate::gpu) fn counters(&self) -> Counters {
        self.counters
    }

    /// Counts `bytes` for the next dispatch instead of its views' lengths.
    pub(in crate::gpu) fn hint_bytes(&mut self, bytes: u64) {
        self.bytes_hint = Some(bytes);
    }

    /// Puts back counters saved before recording that was then discarded.
    pub(in crate::gpu) fn restore_counters(&mut self, saved: Counters) {
        self.counters = saved;
    }

    pub(in crate::gpu) fn reset_counters(&mut self) {
        self.counters = Counters::default();
    }

    pub(in crate::gpu) fn timestamps(&self) -> Option<&Timestamps> {
        self.timestamps.as_ref()
    }

    pub(in crate::gpu) fn gpu_time(&self) -> GpuTime {
        #[cfg(not(target_arch = "wasm32"))]
        let _ = self.ctx.device.poll(wgpu::PollType::Poll);
        self.timestamps
            .as_ref()
            .map_or_else(GpuTime::default, Timestamps::time)
    }

    /// Starts (`true`, a fresh table) or stops timing each kernel on its own.
    pub(in crate::gpu) fn set_profile(&mut self, on: bool) {
        self.flush();
        self.wait_idle();
        self.profile = on.then(OpProfile::default);
    }

    pub(in crate::gpu) fn profile(&self) -> Option<&OpProfile> {
        self.profile.as_ref()
    }

    /// Natively, waits until everything submitted has run.
    pub(in crate::gpu) fn wait_idle(&mut self) {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = self.ctx.device.poll(wgpu::PollType::wait_indefinitely());
            self.in_flight.clear();
        }
    }

    /// In profile mode, flushes the op just recorded as `name`, waits for
    /// it and adds its wall time to the table.
    pub(super) fn profile_op(&mut self, name: impl FnOnce() -> String) {
        if self.profile.is_none() {
            return;
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            let before = self.timestamps.as_ref().map(|t| t.time().flushes);
            let start = std::time::Instant::now();
            self.flush();
            self.wait_idle();
            let secs = start.elapsed().as_secs_f64();
            // The wait ran the map callback: the op's own timestamps.
            let gpu = self.timestamps.as_ref().map(Timestamps::time);
            let gpu_ms = match (before, gpu) {
                (Some(n), Some(t)) if t.flushes > n => t.last_flush_ms,
                _ => None,
            };
            if let Some(p) = self.profile.as_mut() {
                let e = p.ops.entry(name()).or_default();
                e.calls += 1;
                e.wall_s += secs;
                if let Some(ms) = gpu_ms {
                    e.gpu_ms += ms;
                    e.gpu_timed += 1;
                }
            }
        }
        #[cfg(target_arch = "wasm32")]
        let _ = name;
    }
}
