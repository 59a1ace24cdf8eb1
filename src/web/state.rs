//! The training state across backends, and the test hooks of the page's
//! fault paths.
//!
//! * `exportState` / `importState`: a host-side copy of the parameters,
//!   Adam's moments and the step counters. The worker takes one every few
//!   seconds while training on WebGPU; when the device is lost it continues
//!   on the CPU from the last copy, at the same step.
//! * `memory`: live buffers and bytes of the backend.
//! * `debugPanic` / `debugLoseDevice`: panic, or destroy the GPU device, on
//!   purpose. The element reaches them only with its `debug-faults`
//!   attribute (off by default); the browser tests use them.

use super::{to_js, Engine, Session};
use crate::error::{Error, ErrorKind};
use crate::train::TrainState;
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// `TrainState` as JS sees it: typed arrays for the three vectors.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsCounters {
    adam_t: u32,
    step: u32,
    epoch: u32,
    cursor: usize,
    parameters: usize,
}

fn field(obj: &JsValue, name: &str) -> Result<JsValue, Error> {
    js_sys::Reflect::get(obj, &JsValue::from_str(name))
        .map_err(|_| Error::invalid(format!("the saved state has no {name}")))
}

fn floats(obj: &JsValue, name: &str) -> Result<Vec<f32>, Error> {
    let v = field(obj, name)?;
    v.dyn_ref::<js_sys::Float32Array>()
        .map(|a| a.to_vec())
        .ok_or_else(|| Error::invalid(format!("the saved state's {name} is not a Float32Array")))
}

fn whole(obj: &JsValue, name: &str) -> Result<u32, Error> {
    let v = field(obj, name)?.as_f64().unwrap_or(f64::NAN);
    if v.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&v) {
        Ok(v as u32)
    } else {
        Err(Error::invalid(format!(
            "the saved state's {name} is not a whole number"
        )))
    }
}

#[wasm_bindgen]
impl Session {
    /// A copy of the training state: `{ params, adamM, adamV }` (Float32Array)
    /// and `{ adamT, step, epoch, cursor, parameters }`.
    #[wasm_bindgen(js_name = exportState)]
    pub async fn export_state(&mut self) -> Result<JsValue, Error> {
        let s = self.engine.export_state().await?;
        let out = to_js(&JsCounters {
            adam_t: s.adam_t,
            step: s.step,
            epoch: s.epoch,
            cursor: s.cursor,
            parameters: s.params.len(),
        })?;
        for (name, v) in [
            ("params", &s.params),
            ("adamM", &s.adam_m),
            ("adamV", &s.adam_v),
        ] {
            let arr = js_sys::Float32Array::from(&v[..]);
            js_sys::Reflect::set(&out, &JsValue::from_str(name), &arr)
                .map_err(|_| Error::new(ErrorKind::Internal, "could not build the state object"))?;
        }
        Ok(out)
    }

    /// Continues from a state `exportState` gave (of a model with the same
    /// settings, on either backend). Rejects a state of another size.
    #[wasm_bindgen(js_name = importState)]
    pub fn import_state(&mut self, state: JsValue) -> Result<(), Error> {
        let s = TrainState {
            params: floats(&state, "params")?,
            adam_m: floats(&state, "adamM")?,
            adam_v: floats(&state, "adamV")?,
            adam_t: whole(&state, "adamT")?,
            step: whole(&state, "step")?,
            epoch: whole(&state, "epoch")?,
            cursor: whole(&state, "cursor")? as usize,
        };
        self.engine.import_state(&s)?;
        Ok(())
    }

    /// `{ buffers, bytes, slots }`: the backend's live buffers and bytes.
    pub fn memory(&self) -> Result<JsValue, Error> {
        let m = self.engine.memory();
        to_js(&m)
    }

    /// Test hook: panics inside the wasm core.
    #[wasm_bindgen(js_name = debugPanic)]
    pub fn debug_panic(&self) {
        panic!("a panic on purpose (the debug-faults test hook)");
    }

    /// Test hook: destroys the GPU device (a no-op on the CPU backend).
    #[wasm_bindgen(js_name = debugLoseDevice)]
    pub fn debug_lose_device(&self) {
        if let Engine::Gpu(t) = &self.engine {
            t.be.destroy_device();
        }
    }
}
