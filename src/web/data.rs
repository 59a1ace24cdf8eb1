//! The wasm surface of a user's data and of checkpoints: the
//! `DataSet` class (files detected by content, decoded pictures) and the
//! `Session` methods `setData`, `checkpoint`, `inspectCheckpoint` and
//! `fromCheckpoint`. Parsing lives in `data::user`, checkpoints in `checkpoint::resume`;
//! this file only translates.

use super::{install_panic_hook, to_js, Engine, Session};
use crate::checkpoint::resume::{self, Resumable};
use crate::config::{ImageShape, VaeConfig};
use crate::cpu::CpuBackend;
use crate::data::{detect, user};
use crate::error::{Error, ErrorKind};
use crate::gpu::GpuBackend;
use crate::settings::Settings;
use crate::train::Trainer;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

/// A user's data set: IDX image and label files, CIFAR-10 batches, or
/// decoded PNG/JPEG pictures, never mixed.
#[wasm_bindgen]
pub struct DataSet(user::DataSet);

impl Default for DataSet {
    fn default() -> Self {
        DataSet::new()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsShape {
    channels: usize,
    height: usize,
    width: usize,
}

#[wasm_bindgen]
impl DataSet {
    #[wasm_bindgen(constructor)]
    pub fn new() -> DataSet {
        DataSet(user::DataSet::new())
    }

    /// The kind of `bytes` by content: "idx-images", "idx-labels",
    /// "cifar10", "png", "jpeg", "gzip" or "unknown". Never throws.
    pub fn sniff(bytes: &[u8]) -> String {
        detect::sniff(bytes).name().to_string()
    }

    /// Adds an IDX image or label file or a CIFAR-10 batch (gzip or not).
    /// Throws `BadFile` ("NAME: what is wrong"); the set is then unchanged.
    #[wasm_bindgen(js_name = addFile)]
    pub fn add_file(&mut self, name: &str, bytes: &[u8]) -> Result<JsValue, Error> {
        let info = self.0.add_file(name, bytes)?;
        to_js(&info)
    }

    /// Adds one decoded picture: RGBA8, `width * height * 4` bytes.
    #[wasm_bindgen(js_name = addImage)]
    pub fn add_image(
        &mut self,
        name: &str,
        rgba: &[u8],
        width: usize,
        height: usize,
    ) -> Result<JsValue, Error> {
        let info = self.0.add_rgba(name, rgba, width, height)?;
        to_js(&info)
    }

    /// Files and pictures added.
    #[wasm_bindgen(getter)]
    pub fn files(&self) -> usize {
        self.0.len()
    }

    /// What the set holds and how it splits.
    pub fn summary(&self) -> Result<JsValue, Error> {
        to_js(&self.0.summary())
    }

    /// Throws `BadFile` if the set cannot be built for `shape`
    /// (`{ channels, height, width }`, as in `config().image`).
    pub fn check(&self, shape: JsValue) -> Result<JsValue, Error> {
        let s: JsShape = super::settings_from(shape)?;
        let shape = ImageShape {
            channels: s.channels,
            height: s.height,
            width: s.width,
        };
        if shape.checked_dim().is_none_or(|d| d == 0) {
            return Err(Error::invalid("the image shape is empty or too large"));
        }
        to_js(&self.0.check(shape)?)
    }
}

/// `Session.inspectCheckpoint`'s answer.
#[derive(Serialize)]
struct JsCheckpointInfo<'a> {
    preset: &'a str,
    #[serde(flatten)]
    settings: Settings,
    parameters: usize,
    model: &'a VaeConfig,
    step: u32,
    epochs: f64,
}

fn engine(config: VaeConfig, backend: &str) -> Result<Engine, Error> {
    Ok(match backend {
        "cpu" => Engine::Cpu(Box::new(Trainer::new(CpuBackend::new(), config)?)),
        other => {
            return Err(Error::invalid(format!(
                "backend '{other}' is unknown: use webgpu or cpu"
            )))
        }
    })
}

#[wasm_bindgen]
impl Session {
    /// Builds `data` for this model's input shape and replaces the train
    /// and test images and their labels (for the scatter). Throws `BadFile`
    /// (nothing replaced) if it does not fit. Returns the summary with
    /// `trainLabels` and `testLabels` (`Uint8Array`, or null where the files
    /// have none) and `image`, the built shape.
    #[wasm_bindgen(js_name = setData)]
    pub fn set_data(&mut self, data: &DataSet) -> Result<JsValue, Error> {
        let shape = self.engine.config().image;
        let built = data.0.build(shape)?;
        let e = &mut self.engine;
        e.set_train_images(&built.train.pixels, built.train.count);
        e.set_test_images(&built.test.pixels, built.test.count);
        // The labels too (as `setTrainLabels` / `setTestLabels`): none
        // clears the last data set's.
        e.set_train_labels(built.train_labels.clone().unwrap_or_default());
        e.set_test_labels(built.test_labels.clone().unwrap_or_default());
        let out = to_js(&built.summary)?;
        let labels = |l: &Option<Vec<u8>>| match l {
            Some(l) => js_sys::Uint8Array::from(&l[..]).into(),
            None => JsValue::NULL,
        };
        let set = |key: &str, value: JsValue| {
            js_sys::Reflect::set(&out, &JsValue::from_str(key), &value)
                .map_err(|_| Error::new(ErrorKind::Internal, "cannot build the data summary"))
        };
        set("trainLabels", labels(&built.train_labels))?;
        set("testLabels", labels(&built.test_labels))?;
        set("image", to_js(&shape)?)?;
        Ok(out)
    }

    /// The given test images as set (`u8`, CHW planes, `n * D` bytes: what
    /// `setTestImages` or `setData` put in). Throws `InvalidConfig` for an
    /// index past the test set.
    #[wasm_bindgen(js_name = testImages)]
    pub async fn test_images(&mut self, indices: Vec<u32>) -> Result<js_sys::Uint8Array, Error> {
        let n = self.engine.test_count();
        if let Some(&bad) = indices.iter().find(|&&i| i as usize >= n) {
            return Err(Error::invalid(format!(
                "test image {bad} is out of range: the test set holds {n} images"
            )));
        }
        let out = self.engine.test_pixels(&indices).await?;
        Ok(js_sys::Uint8Array::from(&out[..]))
    }

    /// The model as safetensors bytes: what `vae train --out` writes, with
    /// the steps run and epochs done in the metadata.
    pub async fn checkpoint(&mut self) -> Result<js_sys::Uint8Array, Error> {
        let bytes = self.engine.checkpoint_bytes().await?;
        Ok(js_sys::Uint8Array::from(&bytes[..]))
    }

    /// A checkpoint's config, size and step, without loading it. Throws
    /// `BadFile` with the reason the file cannot be loaded.
    #[wasm_bindgen(js_name = inspectCheckpoint)]
    pub fn inspect_checkpoint(bytes: &[u8]) -> Result<JsValue, Error> {
        let r = resume::read(bytes)?;
        let c = &r.checkpoint.config;
        to_js(&JsCheckpointInfo {
            preset: &c.preset,
            settings: Settings::from(c),
            parameters: r.checkpoint.params.len(),
            model: c,
            step: r.step,
            epochs: r.epochs,
        })
    }

    /// A new session with the checkpoint's config and weights on `backend`
    /// ("webgpu" or "cpu"), its step count continuing from the file's.
    /// Throws `BadFile` (bad file), `InvalidConfig` (backend), `NoAdapter`.
    #[wasm_bindgen(js_name = fromCheckpoint)]
    pub async fn from_checkpoint(bytes: Vec<u8>, backend: String) -> Result<Session, Error> {
        install_panic_hook();
        let r: Resumable = resume::read(&bytes)?;
        let config = r.checkpoint.config.clone();
        let (mut engine, name) = match backend.as_str() {
            "webgpu" => {
                let be = GpuBackend::new().await?;
                (Engine::Gpu(Box::new(Trainer::new(be, config)?)), "webgpu")
            }
            other => (engine(config, other)?, "cpu"),
        };
        engine.resume(&r);
        let adapter = engine.describe();
        Ok(Session {
            engine,
            backend: name,
            adapter,
            samples_drawn: 0,
        })
    }
}
