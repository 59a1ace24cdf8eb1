//! The wasm-bindgen surface the page's worker drives: `Session` with
//! promise-returning methods, and `IdxImages`, the streaming IDX decoder.
//! Config and metrics cross as plain objects; every failure becomes a JS
//! `Error` whose `name` is its kind (`InvalidConfig`, `BadFile`, ...) and whose
//! message is an actionable sentence. Numerics stay in `train`, settings in
//! `settings`, parsing in `data`; this file only translates.

use crate::config::VaeConfig;
use crate::config::LIMITS;
use crate::cpu::CpuBackend;
use crate::data::ImageStream;
use crate::error::{Error, ErrorKind};
use crate::gpu::GpuBackend;
use crate::rng::{self, StreamKind};
use crate::settings::{self, ConfigOverrides, HyperOverrides, Settings};
use crate::train::{self, Metrics, Trainer};
use serde::{de::DeserializeOwned, Serialize};
use wasm_bindgen::prelude::*;

mod data;
mod engine;
mod explore;
mod perf;
mod startup;
mod state;

pub(crate) use engine::Engine;

impl From<Error> for JsValue {
    fn from(e: Error) -> JsValue {
        let err = js_sys::Error::new(&e.message);
        err.set_name(e.kind.name());
        err.into()
    }
}

/// A settings object from JS; unknown keys are an error. It goes through
/// `serde_json::Value` because serde-wasm-bindgen reads only the fields a
/// struct names, so it never sees (nor rejects) an unknown key.
pub(crate) fn settings_from<T: DeserializeOwned>(value: JsValue) -> Result<T, Error> {
    let invalid = |e: &dyn std::fmt::Display| Error::invalid(format!("invalid settings: {e}"));
    let json: serde_json::Value = serde_wasm_bindgen::from_value(value).map_err(|e| invalid(&e))?;
    serde_json::from_value(json).map_err(|e| invalid(&e))
}

/// The resolved config as the page reads it.
#[derive(Serialize)]
struct JsResolved<'a> {
    preset: &'a str,
    #[serde(flatten)]
    settings: Settings,
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

pub(crate) fn to_js<T: Serialize>(value: &T) -> Result<JsValue, Error> {
    // Flattened structs serialize as maps: make those plain objects too.
    let ser = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    value
        .serialize(&ser)
        .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

#[wasm_bindgen]
pub struct Session {
    pub(crate) engine: Engine,
    pub(crate) backend: &'static str,
    pub(crate) adapter: String,
    pub(crate) samples_drawn: u32,
}

#[wasm_bindgen]
impl Session {
    /// Every preset with its label, description and settings, in menu order.
    pub fn presets() -> Result<JsValue, Error> {
        install_panic_hook();
        to_js(&settings::presets())
    }

    /// Every setting's range: what `create` and `setHyper` accept.
    pub fn limits() -> Result<JsValue, Error> {
        to_js(&LIMITS)
    }

    /// A new model on `backend` ("webgpu" or "cpu"). Rejects when the config
    /// is invalid or WebGPU cannot give an adapter and device.
    pub async fn create(config: JsValue, backend: String) -> Result<Session, Error> {
        install_panic_hook();
        let config = settings_from::<ConfigOverrides>(config)?.resolve()?;
        let (engine, name) = match backend.as_str() {
            "webgpu" => {
                let be = GpuBackend::new().await?;
                let t = Trainer::new(be, config)?;
                (Engine::Gpu(Box::new(t)), "webgpu")
            }
            "cpu" => {
                let t = Trainer::new(CpuBackend::new(), config)?;
                (Engine::Cpu(Box::new(t)), "cpu")
            }
            other => {
                return Err(Error::invalid(format!(
                    "backend '{other}' is unknown: use webgpu or cpu"
                )))
            }
        };
        let adapter = engine.describe();
        Ok(Session {
            engine,
            backend: name,
            adapter,
            samples_drawn: 0,
        })
    }

    /// `{ backend, adapter }`.
    pub fn backend(&self) -> Result<JsValue, Error> {
        to_js(&JsBackend {
            backend: self.backend,
            adapter: &self.adapter,
        })
    }

    /// The full resolved config.
    pub fn config(&self) -> Result<JsValue, Error> {
        let c = self.engine.config();
        to_js(&JsResolved {
            preset: &c.preset,
            settings: Settings::from(c),
            parameters: self.engine.parameters(),
            model: c,
        })
    }

    /// Replaces the training images with `count` raw u8 images.
    #[wasm_bindgen(js_name = setTrainImages)]
    pub fn set_train_images(&mut self, pixels: &[u8], count: usize) -> Result<(), Error> {
        self.check_pixels(pixels, count)?;
        self.engine.set_train_images(pixels, count);
        Ok(())
    }

    /// Replaces the test images with `count` raw u8 images.
    #[wasm_bindgen(js_name = setTestImages)]
    pub fn set_test_images(&mut self, pixels: &[u8], count: usize) -> Result<(), Error> {
        self.check_pixels(pixels, count)?;
        self.engine.set_test_images(pixels, count);
        Ok(())
    }

    fn check_pixels(&self, pixels: &[u8], count: usize) -> Result<(), Error> {
        let dim = self.engine.dim();
        // Checked: on 32-bit wasm a huge count could wrap to the length.
        let need = count.checked_mul(dim);
        if count == 0 || need != Some(pixels.len()) {
            let need = need.map_or("more bytes than memory can hold".to_string(), |n| {
                format!("{n} bytes")
            });
            return Err(Error::new(
                ErrorKind::BadFile,
                format!(
                    "image data does not match: {count} images of {dim} pixels need {need}, got {}",
                    pixels.len()
                ),
            ));
        }
        // Checked against the device's buffer limit before uploading.
        let max_bytes = self.engine.max_buffer_words().saturating_mul(4);
        if pixels.len() > max_bytes {
            return Err(Error::new(
                ErrorKind::OutOfMemory,
                format!(
                    "{count} images take {:.0} MB but this device allows at most {:.0} MB per buffer: use fewer images",
                    pixels.len() as f64 / 1e6,
                    max_bytes as f64 / 1e6
                ),
            ));
        }
        Ok(())
    }

    /// Live changes of beta and the learning rate.
    #[wasm_bindgen(js_name = setHyper)]
    pub fn set_hyper(&mut self, hyper: JsValue) -> Result<(), Error> {
        let h: HyperOverrides = settings_from(hyper)?;
        if let Some(beta) = h.beta {
            self.engine.set_beta(beta as f32)?;
        }
        if let Some(lr) = h.lr {
            self.engine.set_lr(lr as f32)?;
        }
        Ok(())
    }

    /// Runs `steps` training steps; resolves with the mean metrics over them.
    /// The readback is judged (see `diverge`): a diverged one rejects with an
    /// Error named `Diverged` whose message says what to change, after the
    /// parameters and optimizer state of the last good snapshot were
    /// restored; the step count keeps counting.
    pub async fn train(&mut self, steps: u32) -> Result<JsValue, Error> {
        let e = &mut self.engine;
        if e.train_count() == 0 {
            return Err(Error::new(
                ErrorKind::Internal,
                "no training images yet: call setTrainImages first",
            ));
        }
        let start = now_ms();
        for _ in 0..steps {
            e.step();
        }
        let m = match e.checked_metrics().await? {
            Ok(m) => m,
            Err(d) => {
                let c = e.config();
                return Err(Error::new(
                    ErrorKind::Diverged,
                    d.sentence(c.adam.lr, c.beta),
                ));
            }
        };
        let secs = ((now_ms() - start) / 1e3).max(1e-3);
        let report = JsTrainReport {
            step: e.steps_run(),
            epoch: e.epochs_done(),
            loss: m.loss,
            recon: m.recon,
            kl: m.kl,
            images: m.images,
            images_per_sec: m.images as f64 / secs,
            steps_per_sec: steps as f64 / secs,
        };
        to_js(&report)
    }

    /// `{ loss, recon, kl, images }` over up to `max_images` test images.
    pub async fn evaluate(&mut self, max_images: usize) -> Result<JsValue, Error> {
        let m: Metrics = self.engine.evaluate(max_images).await?;
        to_js(&m)
    }

    /// `n` codes from N(0, I), `n * Z` values, fixed by the config's seed:
    /// the codes of the page's sample grid (and of `vae train --out`'s
    /// `samples.png`).
    #[wasm_bindgen(js_name = priorCodes)]
    pub fn prior_codes(&self, n: usize) -> Result<js_sys::Float32Array, Error> {
        if n > 4096 {
            return Err(Error::invalid(format!(
                "{n} prior codes is out of range: use 0 to 4096"
            )));
        }
        let (latent, seed) = (self.engine.config().latent, self.engine.config().seed);
        let z = train::prior_codes(n, latent, seed, train::fixed_prior_stream());
        Ok(js_sys::Float32Array::from(&z[..]))
    }

    /// `n` fresh samples from the prior, `n * D` pixel probabilities.
    pub async fn sample(&mut self, n: usize) -> Result<js_sys::Float32Array, Error> {
        self.samples_drawn += 1;
        let stream = rng::stream(StreamKind::Sample, self.samples_drawn);
        let seed = self.engine.config().seed;
        let out = self.engine.sample(n, seed, stream).await;
        Ok(js_sys::Float32Array::from(&out?[..]))
    }

    /// Decodes `n` latent codes (`z` holds `n * Z` values).
    pub async fn decode(&mut self, z: Vec<f32>, n: usize) -> Result<js_sys::Float32Array, Error> {
        let zdim = self.engine.config().latent;
        if z.len() != n * zdim {
            return Err(Error::new(
                ErrorKind::Internal,
                format!("decode needs {n} x {zdim} latent values, got {}", z.len()),
            ));
        }
        let out = self.engine.decode(&z).await?;
        Ok(js_sys::Float32Array::from(&out[..]))
    }

    /// Reconstructions of the given test images (decoded posterior means).
    pub async fn reconstruct(&mut self, indices: Vec<u32>) -> Result<js_sys::Float32Array, Error> {
        if self.engine.test_count() == 0 {
            return Err(Error::new(
                ErrorKind::Internal,
                "no test images yet: call setTestImages first",
            ));
        }
        let out = self.engine.reconstruct(&indices).await;
        Ok(js_sys::Float32Array::from(&out?[..]))
    }

    /// Means of q(z|x) for the given test images, `n * Z` values.
    pub async fn encode(&mut self, indices: Vec<u32>) -> Result<js_sys::Float32Array, Error> {
        let out = self.engine.encode_test(&indices).await?;
        Ok(js_sys::Float32Array::from(&out[..]))
    }

    /// Means of q(z|x) for `n` given images (`pixels` holds `n * D` bytes,
    /// 0 = background, 255 = ink, as in MNIST), `n * Z` values.
    #[wasm_bindgen(js_name = encodePixels)]
    pub async fn encode_pixels(
        &mut self,
        pixels: Vec<u8>,
        n: usize,
    ) -> Result<js_sys::Float32Array, Error> {
        self.check_pixels(&pixels, n)?;
        let out = self.engine.encode_pixels(&pixels).await?;
        Ok(js_sys::Float32Array::from(&out[..]))
    }

    /// `size x size` images over the Gaussian quantiles of dims `dx`, `dy`.
    #[wasm_bindgen(js_name = latentGrid)]
    pub async fn latent_grid(
        &mut self,
        size: usize,
        dx: usize,
        dy: usize,
    ) -> Result<js_sys::Float32Array, Error> {
        let zdim = self.engine.config().latent;
        if !(1..=32).contains(&size) || dx >= zdim || dy >= zdim {
            return Err(Error::invalid(format!(
                "latent grid {size}x{size} over dims {dx},{dy} is out of range: size 1 to 32, dims below {zdim}"
            )));
        }
        let out = self.engine.latent_grid(size, dx, dy).await?;
        Ok(js_sys::Float32Array::from(&out[..]))
    }
}

/// An IDX image file decoded as its bytes arrive: the worker pushes the
/// (already gunzipped) chunks and takes the complete images out.
#[wasm_bindgen]
pub struct IdxImages(ImageStream);

#[wasm_bindgen]
impl IdxImages {
    /// `name` starts every error message ("MNIST train images").
    #[wasm_bindgen(constructor)]
    pub fn new(name: &str) -> IdxImages {
        IdxImages(ImageStream::new(name))
    }

    /// The next bytes; throws `BadFile` on a bad header or too many bytes.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), Error> {
        Ok(self.0.push(chunk)?)
    }

    /// Throws `BadFile` if the file ended before its last image.
    pub fn finish(&self) -> Result<(), Error> {
        Ok(self.0.finish()?)
    }

    /// Complete images so far.
    #[wasm_bindgen(getter)]
    pub fn count(&self) -> usize {
        self.0.count()
    }

    /// Images the header announces (0 until it is read).
    #[wasm_bindgen(getter)]
    pub fn total(&self) -> usize {
        self.0.total()
    }

    #[wasm_bindgen(getter)]
    pub fn height(&self) -> usize {
        self.0.height()
    }

    #[wasm_bindgen(getter)]
    pub fn width(&self) -> usize {
        self.0.width()
    }

    #[wasm_bindgen(getter)]
    pub fn done(&self) -> bool {
        self.0.done()
    }

    /// A copy of the complete images so far, `count * height * width` bytes.
    pub fn pixels(&self) -> js_sys::Uint8Array {
        js_sys::Uint8Array::from(self.0.pixels())
    }
}

/// Panics reach the console with their message and stack (the
/// `console_error_panic_hook` crate) instead of a bare "unreachable", and
/// the message is left in `globalThis.__vaePanic` for the worker: a panic
/// aborts the module, so the worker treats it as fatal for the session.
pub(crate) fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let message = match info.payload().downcast_ref::<&str>() {
                Some(s) => s.to_string(),
                None => info
                    .payload()
                    .downcast_ref::<String>()
                    .cloned()
                    .unwrap_or_else(|| info.to_string()),
            };
            let _ = js_sys::Reflect::set(
                &js_sys::global(),
                &JsValue::from_str("__vaePanic"),
                &JsValue::from_str(&message),
            );
            console_error_panic_hook::hook(info);
        }));
    });
}
