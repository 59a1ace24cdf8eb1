//! The wasm-bindgen surface the page's worker drives: one exported type,
//! `Session`, with promise-returning methods. Config and metrics cross as
//! plain objects; every failure becomes a JS `Error` with an actionable
//! sentence. Numerics stay in `train`; this file only translates.

use crate::backend::{Backend, BackendError, Recon};
use crate::config::{ImageShape, VaeConfig};
use crate::cpu::CpuBackend;
use crate::gpu::GpuBackend;
use crate::rng::{self, StreamKind};
use crate::train::{Metrics, Trainer};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

/// What the page may set; everything else comes from the preset.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsConfig {
    preset: String,
    latent: Option<f64>,
    beta: Option<f64>,
    lr: Option<f64>,
    batch: Option<f64>,
    recon: Option<String>,
    seed: Option<f64>,
    binarize: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsHyper {
    beta: Option<f64>,
    lr: Option<f64>,
}

/// A whole number in `range`, or a message naming the setting.
fn whole(name: &str, v: f64, lo: f64, hi: f64) -> Result<f64, JsError> {
    if v.fract() != 0.0 || !(lo..=hi).contains(&v) {
        return Err(JsError::new(&format!(
            "{name} {v} is out of range: use a whole number from {lo} to {hi}"
        )));
    }
    Ok(v)
}

impl JsConfig {
    fn resolve(self) -> Result<VaeConfig, JsError> {
        let mut c = VaeConfig::preset(&self.preset).map_err(|e| JsError::new(&e.0))?;
        if let Some(v) = self.latent {
            c.latent = whole("latent size", v, 2.0, 100.0)? as usize;
        }
        if let Some(v) = self.batch {
            c.batch = whole("batch size", v, 1.0, 1024.0)? as usize;
        }
        if let Some(v) = self.seed {
            c.seed = whole("seed", v, 0.0, u32::MAX as f64)? as u32;
        }
        if let Some(v) = self.beta {
            c.beta = v as f32;
        }
        if let Some(v) = self.lr {
            c.adam.lr = v as f32;
        }
        if let Some(r) = self.recon {
            c.recon = match r.as_str() {
                "bce" => Recon::Bce,
                "gaussian" => Recon::Gaussian,
                _ => {
                    return Err(JsError::new(&format!(
                        "reconstruction loss '{r}' is unknown: use bce or gaussian"
                    )))
                }
            };
        }
        if let Some(b) = self.binarize {
            c.binarize = b;
        }
        c.validate().map_err(|e| JsError::new(&e.0))?;
        Ok(c)
    }
}

/// The resolved config as the page reads it.
#[derive(Serialize)]
struct JsResolved<'a> {
    preset: &'a str,
    latent: usize,
    beta: f32,
    lr: f32,
    batch: usize,
    recon: Recon,
    seed: u32,
    binarize: bool,
    image: ImageShape,
    parameters: usize,
    model: &'a VaeConfig,
}

#[derive(Serialize)]
struct JsBackend<'a> {
    backend: &'a str,
    adapter: &'a str,
}

#[derive(Serialize)]
struct JsTrainReport {
    step: u32,
    epoch: f64,
    loss: f64,
    recon: f64,
    kl: f64,
    images: usize,
    images_per_sec: f64,
    steps_per_sec: f64,
}

enum Engine {
    Gpu(Box<Trainer<GpuBackend>>),
    Cpu(Box<Trainer<CpuBackend>>),
}

/// Runs `$body` with `$t` bound to the engine's trainer, whichever backend.
macro_rules! with_trainer {
    ($engine:expr, |$t:ident| $body:expr) => {
        match $engine {
            Engine::Gpu($t) => $body,
            Engine::Cpu($t) => $body,
        }
    };
}

fn backend_error(e: BackendError) -> JsError {
    JsError::new(&e.to_string())
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    serde_wasm_bindgen::to_value(value).map_err(|e| JsError::new(&e.to_string()))
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

#[wasm_bindgen]
pub struct Session {
    engine: Engine,
    backend: &'static str,
    adapter: String,
    samples_drawn: u32,
}

#[wasm_bindgen]
impl Session {
    /// A new model on `backend` ("webgpu" or "cpu"). Rejects when the config
    /// is invalid or WebGPU cannot give an adapter and device.
    pub async fn create(config: JsValue, backend: String) -> Result<Session, JsError> {
        install_panic_hook();
        let js: JsConfig = serde_wasm_bindgen::from_value(config)
            .map_err(|e| JsError::new(&format!("invalid settings: {e}")))?;
        let config = js.resolve()?;
        let (engine, name) = match backend.as_str() {
            "webgpu" => {
                let be = GpuBackend::new().await.map_err(backend_error)?;
                let t = Trainer::new(be, config).map_err(|e| JsError::new(&e.0))?;
                (Engine::Gpu(Box::new(t)), "webgpu")
            }
            "cpu" => {
                let t = Trainer::new(CpuBackend::new(), config).map_err(|e| JsError::new(&e.0))?;
                (Engine::Cpu(Box::new(t)), "cpu")
            }
            other => {
                return Err(JsError::new(&format!(
                    "backend '{other}' is unknown: use webgpu or cpu"
                )))
            }
        };
        let adapter = with_trainer!(&engine, |t| t.be.describe());
        Ok(Session {
            engine,
            backend: name,
            adapter,
            samples_drawn: 0,
        })
    }

    /// `{ backend, adapter }`.
    pub fn backend(&self) -> Result<JsValue, JsError> {
        to_js(&JsBackend {
            backend: self.backend,
            adapter: &self.adapter,
        })
    }

    /// The full resolved config.
    pub fn config(&self) -> Result<JsValue, JsError> {
        with_trainer!(&self.engine, |t| {
            let c = t.config();
            to_js(&JsResolved {
                preset: &c.preset,
                latent: c.latent,
                beta: c.beta,
                lr: c.adam.lr,
                batch: c.batch,
                recon: c.recon,
                seed: c.seed,
                binarize: c.binarize,
                image: c.image,
                parameters: t.vae.table.total,
                model: c,
            })
        })
    }

    /// Replaces the training images with `count` raw u8 images.
    #[wasm_bindgen(js_name = setTrainImages)]
    pub fn set_train_images(&mut self, pixels: &[u8], count: usize) -> Result<(), JsError> {
        self.check_pixels(pixels, count)?;
        with_trainer!(&mut self.engine, |t| t.set_train_images(pixels, count));
        Ok(())
    }

    /// Replaces the test images with `count` raw u8 images.
    #[wasm_bindgen(js_name = setTestImages)]
    pub fn set_test_images(&mut self, pixels: &[u8], count: usize) -> Result<(), JsError> {
        self.check_pixels(pixels, count)?;
        with_trainer!(&mut self.engine, |t| t.set_test_images(pixels, count));
        Ok(())
    }

    fn check_pixels(&self, pixels: &[u8], count: usize) -> Result<(), JsError> {
        let dim = with_trainer!(&self.engine, |t| t.vae.dim());
        if count == 0 || pixels.len() != count * dim {
            return Err(JsError::new(&format!(
                "image data does not match: {count} images of {dim} pixels need {} bytes, got {}",
                count * dim,
                pixels.len()
            )));
        }
        Ok(())
    }

    /// Live changes of beta and the learning rate.
    #[wasm_bindgen(js_name = setHyper)]
    pub fn set_hyper(&mut self, hyper: JsValue) -> Result<(), JsError> {
        let h: JsHyper = serde_wasm_bindgen::from_value(hyper)
            .map_err(|e| JsError::new(&format!("invalid settings: {e}")))?;
        with_trainer!(&mut self.engine, |t| {
            if let Some(beta) = h.beta {
                t.set_beta(beta as f32).map_err(|e| JsError::new(&e.0))?;
            }
            if let Some(lr) = h.lr {
                t.set_lr(lr as f32).map_err(|e| JsError::new(&e.0))?;
            }
        });
        Ok(())
    }

    /// Runs `steps` training steps; resolves with the mean metrics over them.
    pub async fn train(&mut self, steps: u32) -> Result<JsValue, JsError> {
        let report = with_trainer!(&mut self.engine, |t| {
            if t.train_count() == 0 {
                return Err(JsError::new(
                    "no training images yet: call setTrainImages first",
                ));
            }
            let start = now_ms();
            for _ in 0..steps {
                t.step();
            }
            let m = t.take_metrics().await.map_err(backend_error)?;
            let secs = ((now_ms() - start) / 1e3).max(1e-3);
            JsTrainReport {
                step: t.step,
                epoch: t.epochs_done(),
                loss: m.loss,
                recon: m.recon,
                kl: m.kl,
                images: m.images,
                images_per_sec: m.images as f64 / secs,
                steps_per_sec: steps as f64 / secs,
            }
        });
        to_js(&report)
    }

    /// `{ loss, recon, kl, images }` over up to `max_images` test images.
    pub async fn evaluate(&mut self, max_images: usize) -> Result<JsValue, JsError> {
        let m: Metrics = with_trainer!(&mut self.engine, |t| t.evaluate(max_images).await)
            .map_err(backend_error)?;
        to_js(&m)
    }

    /// `n` fresh samples from the prior, `n * D` pixel probabilities.
    pub async fn sample(&mut self, n: usize) -> Result<js_sys::Float32Array, JsError> {
        self.samples_drawn += 1;
        let stream = rng::stream(StreamKind::Sample, self.samples_drawn);
        let out = with_trainer!(&mut self.engine, |t| {
            let seed = t.config().seed;
            t.sample(n, seed, stream).await
        });
        Ok(js_sys::Float32Array::from(&out.map_err(backend_error)?[..]))
    }

    /// Decodes `n` latent codes (`z` holds `n * Z` values).
    pub async fn decode(&mut self, z: Vec<f32>, n: usize) -> Result<js_sys::Float32Array, JsError> {
        let zdim = with_trainer!(&self.engine, |t| t.config().latent);
        if z.len() != n * zdim {
            return Err(JsError::new(&format!(
                "decode needs {n} x {zdim} latent values, got {}",
                z.len()
            )));
        }
        let out = with_trainer!(&mut self.engine, |t| t.decode(&z).await).map_err(backend_error)?;
        Ok(js_sys::Float32Array::from(&out[..]))
    }

    /// Reconstructions of the given test images (decoded posterior means).
    pub async fn reconstruct(
        &mut self,
        indices: Vec<u32>,
    ) -> Result<js_sys::Float32Array, JsError> {
        let out = with_trainer!(&mut self.engine, |t| {
            if t.test_count() == 0 {
                return Err(JsError::new("no test images yet: call setTestImages first"));
            }
            t.reconstruct(&indices).await
        });
        Ok(js_sys::Float32Array::from(&out.map_err(backend_error)?[..]))
    }

    /// Means of q(z|x) for the given test images, `n * Z` values.
    pub async fn encode(&mut self, indices: Vec<u32>) -> Result<js_sys::Float32Array, JsError> {
        let out = with_trainer!(&mut self.engine, |t| t.encode_test(&indices).await)
            .map_err(backend_error)?;
        Ok(js_sys::Float32Array::from(&out[..]))
    }

    /// Means of q(z|x) for `n` given images (`pixels` holds `n * D` bytes,
    /// 0 = background, 255 = ink, as in MNIST), `n * Z` values.
    #[wasm_bindgen(js_name = encodePixels)]
    pub async fn encode_pixels(
        &mut self,
        pixels: Vec<u8>,
        n: usize,
    ) -> Result<js_sys::Float32Array, JsError> {
        self.check_pixels(&pixels, n)?;
        let out = with_trainer!(&mut self.engine, |t| t.encode_pixels(&pixels).await)
            .map_err(backend_error)?;
        Ok(js_sys::Float32Array::from(&out[..]))
    }

    /// `size x size` images over the Gaussian quantiles of dims `dx`, `dy`.
    #[wasm_bindgen(js_name = latentGrid)]
    pub async fn latent_grid(
        &mut self,
        size: usize,
        dx: usize,
        dy: usize,
    ) -> Result<js_sys::Float32Array, JsError> {
        let zdim = with_trainer!(&self.engine, |t| t.config().latent);
        if !(1..=32).contains(&size) || dx >= zdim || dy >= zdim {
            return Err(JsError::new(&format!(
                "latent grid {size}x{size} over dims {dx},{dy} is out of range: size 1 to 32, dims below {zdim}"
            )));
        }
        let out = with_trainer!(&mut self.engine, |t| t.latent_grid(size, dx, dy).await)
            .map_err(backend_error)?;
        Ok(js_sys::Float32Array::from(&out[..]))
    }
}

/// Panics reach the console as text instead of a bare "unreachable".
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            web_sys::console::error_1(&JsValue::from_str(&format!(
                "vae-playground panicked: {info}"
            )));
        }));
    });
}
