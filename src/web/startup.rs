//! Start-up: the worker creates the GPU pipelines while the
//! data downloads, instead of at the first training step; and the timed
//! probe of `backend="auto"`.

use super::{Engine, Session};
use crate::error::Error;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl Session {
    /// Creates every compute pipeline of this model's training step and of
    /// the views' passes (WebGPU; nothing to do on the CPU) and resolves once
    /// the device has them, with how many were created. Changes nothing the
    /// model holds: the worker calls it before the first training images
    /// arrive.
    #[wasm_bindgen(js_name = warmPipelines)]
    pub async fn warm_pipelines(&mut self) -> Result<usize, Error> {
        match &mut self.engine {
            Engine::Gpu(t) => {
                let config = t.config().clone();
                t.be.warm_pipelines(&config).await
            }
            Engine::Cpu(_) => Ok(0),
        }
    }

    /// Runs `steps` training steps of a throwaway model with this model's
    /// architecture (fresh weights, synthetic images) on this session's
    /// backend, resolving once they are done, with the throwaway's last loss:
    /// `backend="auto"` times it on both backends. The model itself, its
    /// step count and its data are untouched.
    pub async fn probe(&mut self, steps: u32) -> Result<f64, Error> {
        if steps > 1000 {
            return Err(Error::invalid(format!(
                "{steps} probe steps is out of range: use 0 to 1000"
            )));
        }
        match &mut self.engine {
            Engine::Gpu(t) => {
                let config = t.config().clone();
                crate::probe::probe_steps(&mut t.be, &config, steps).await
            }
            Engine::Cpu(t) => {
                let config = t.config().clone();
                crate::probe::probe_steps(&mut t.be, &config, steps).await
            }
        }
    }
}
