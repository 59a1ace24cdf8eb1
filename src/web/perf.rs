//! The performance overlay's numbers from the wasm core: GPU time
//! per flush from timestamp queries (`GpuBackend::gpu_time`). The worker
//! (www/worker/perf.js) turns the running totals into milliseconds per step.

use super::{to_js, Engine, Session};
use crate::error::Error;
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsGpuTime {
    /// Timestamp queries are offered by the adapter and were requested.
    supported: bool,
    /// Why not, when not supported.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    last_flush_ms: Option<f64>,
    total_ms: f64,
    flushes: f64,
}

#[wasm_bindgen]
impl Session {
    /// GPU time of the work submitted so far: `{ supported, reason?,
    /// lastFlushMs, totalMs, flushes }`. On the CPU backend, and where the
    /// adapter offers no `timestamp-query`, `supported` is false and
    /// `reason` says why.
    #[wasm_bindgen(js_name = gpuTime)]
    pub fn gpu_time(&self) -> Result<JsValue, Error> {
        let t = match &self.engine {
            Engine::Gpu(t) => {
                let g = t.be.gpu_time();
                JsGpuTime {
                    supported: g.supported,
                    reason: (!g.supported).then_some("this adapter offers no timestamp queries"),
                    last_flush_ms: g.last_flush_ms,
                    total_ms: g.total_ms,
                    flushes: g.flushes as f64,
                }
            }
            Engine::Cpu(_) => JsGpuTime {
                supported: false,
                reason: Some("the CPU backend runs no GPU work"),
                last_flush_ms: None,
                total_ms: 0.0,
                flushes: 0.0,
            },
        };
        to_js(&t)
    }
}
