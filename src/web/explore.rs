//! The explore views' part of the wasm surface: labels, the latent
//! scatter and its plane, drawing, interpolation, inpainting, traversal,
//! per-dimension KL, chunked evaluation and the importance-weighted bound.
//! Numerics live in `crate::explore`; this file only translates. Bulk
//! results cross as typed arrays inside plain objects
//! with snake_case keys.

use super::{settings_from, to_js, Engine, Session};
use crate::error::{Error, ErrorKind};
use crate::explore::{
    preprocess_drawing, Damage, ExploreError, Inpainting, Plane, PlaneSpec, Spacing,
};
use wasm_bindgen::prelude::*;

impl From<ExploreError> for Error {
    fn from(e: ExploreError) -> Error {
        match e {
            ExploreError::Invalid(m) => Error::invalid(m),
            ExploreError::NoTestImages => Error::new(ErrorKind::Internal, e.to_string()),
            ExploreError::Backend(b) => b.into(),
        }
    }
}

/// A plain object from `(key, value)` pairs.
fn object(fields: Vec<(&str, JsValue)>) -> Result<JsValue, Error> {
    let o = js_sys::Object::new();
    for (k, v) in fields {
        js_sys::Reflect::set(&o, &JsValue::from_str(k), &v)
            .map_err(|_| Error::new(ErrorKind::Internal, format!("cannot set {k}")))?;
    }
    Ok(o.into())
}

fn f32s(v: &[f32]) -> JsValue {
    js_sys::Float32Array::from(v).into()
}

fn u8s(v: &[u8]) -> JsValue {
    js_sys::Uint8Array::from(v).into()
}

fn u32s(v: &[u32]) -> JsValue {
    js_sys::Uint32Array::from(v).into()
}

fn plane_from(value: JsValue) -> Result<Plane, Error> {
    serde_wasm_bindgen::from_value(value).map_err(|e| {
        // serde-wasm-bindgen's errors print as JS errors: "Error: ...".
        let e = e.to_string();
        let e = e.trim_start_matches("Error: ");
        Error::invalid(format!(
            "invalid plane: {e}; pass back a plane from scatter()"
        ))
    })
}

/// An argument object; unknown keys are an error (through `settings_from`,
/// with the message naming what was wrong).
fn parse<T: serde::de::DeserializeOwned>(what: &str, value: JsValue) -> Result<T, Error> {
    settings_from(value).map_err(|e| {
        Error::invalid(
            e.message
                .replacen("invalid settings", &format!("invalid {what}"), 1),
        )
    })
}

fn bytes_to_unit(pixels: &[u8]) -> Vec<f32> {
    pixels.iter().map(|&p| p as f32 / 255.0).collect()
}

fn inpainting_object(r: Inpainting) -> Result<JsValue, Error> {
    object(vec![
        ("original", f32s(&r.original)),
        ("damaged", f32s(&r.damaged)),
        ("mask", u8s(&r.mask)),
        ("steps", f32s(&r.steps)),
        ("damaged_error", JsValue::from_f64(r.damaged_error as f64)),
        ("step_errors", f32s(&r.step_errors)),
        ("region_pixels", JsValue::from_f64(r.region_pixels as f64)),
    ])
}

/// The latent size and image shape of the session's model.
fn image_of(engine: &Engine) -> (usize, crate::config::ImageShape) {
    let c = engine.config();
    (c.latent, c.image)
}

/// Most labels `setTestLabels` / `setTrainLabels` take.
const MAX_LABELS: usize = 1_000_000;

fn check_labels(labels: &[u8]) -> Result<(), Error> {
    if labels.len() > MAX_LABELS {
        return Err(Error::new(
            ErrorKind::BadFile,
            format!("{} labels are too many: at most {MAX_LABELS}", labels.len()),
        ));
    }
    Ok(())
}

#[wasm_bindgen]
impl Session {
    /// Class labels of the test images (`labels[i]` for test image i);
    /// results show 255 for an image without one.
    #[wasm_bindgen(js_name = setTestLabels)]
    pub fn set_test_labels(&mut self, labels: &[u8]) -> Result<(), Error> {
        check_labels(labels)?;
        self.engine.set_test_labels(labels.to_vec());
        Ok(())
    }

    /// Class labels of the training images (kept for other data sets).
    #[wasm_bindgen(js_name = setTrainLabels)]
    pub fn set_train_labels(&mut self, labels: &[u8]) -> Result<(), Error> {
        check_labels(labels)?;
        self.engine.set_train_labels(labels.to_vec());
        Ok(())
    }

    /// `{ points, labels, indices, plane, bounds }` of the first `n` test
    /// images (mu) on the plane `spec` asks for.
    pub async fn scatter(&mut self, n: usize, spec: JsValue) -> Result<JsValue, Error> {
        let spec: PlaneSpec = parse("plane spec", spec)?;
        let s = self.engine.scatter(n, spec).await?;
        object(vec![
            ("points", f32s(&s.points)),
            ("labels", u8s(&s.labels)),
            ("indices", u32s(&s.indices)),
            ("plane", to_js(&s.plane)?),
            ("bounds", f32s(&s.bounds)),
        ])
    }

    /// `{ images, coords }`: `size x size` decodes over the plane.
    #[wasm_bindgen(js_name = planeGrid)]
    pub async fn plane_grid(
        &mut self,
        plane: JsValue,
        size: usize,
        spacing: String,
        lo: f32,
        hi: f32,
    ) -> Result<JsValue, Error> {
        let plane = plane_from(plane)?;
        let spacing = match spacing.as_str() {
            "linear" => Spacing::Linear,
            "quantile" => Spacing::Quantile,
            other => {
                return Err(Error::invalid(format!(
                    "grid spacing '{other}' is unknown: use linear or quantile"
                )))
            }
        };
        let (images, coords) = self
            .engine
            .plane_grid(&plane, size, spacing, lo, hi)
            .await?;
        object(vec![("images", f32s(&images)), ("coords", f32s(&coords))])
    }

    /// Decodes plane points (`n * 2` values): `n * D` pixel probabilities.
    #[wasm_bindgen(js_name = decodePlane)]
    pub async fn decode_plane(
        &mut self,
        plane: JsValue,
        points: Vec<f32>,
    ) -> Result<js_sys::Float32Array, Error> {
        let plane = plane_from(plane)?;
        let out = self.engine.decode_plane(&plane, &points).await?;
        Ok(js_sys::Float32Array::from(&out[..]))
    }

    /// Plane coordinates (`n * 2`) of codes (`n * Z`).
    pub fn project(&self, plane: JsValue, codes: Vec<f32>) -> Result<js_sys::Float32Array, Error> {
        let plane = plane_from(plane)?;
        let zdim = image_of(&self.engine).0;
        plane.check(zdim).map_err(Error::invalid)?;
        if !codes.len().is_multiple_of(zdim) {
            return Err(Error::invalid(format!(
                "codes need a multiple of {zdim} numbers (the latent size), got {}",
                codes.len()
            )));
        }
        Ok(js_sys::Float32Array::from(&plane.project(&codes)[..]))
    }

    /// `{ pixels, empty }`: a grey drawing (`width * height` u8) made into
    /// the model's image as MNIST was made (bounding box to 20x20, centre of
    /// mass to the centre).
    #[wasm_bindgen(js_name = preprocessDrawing)]
    pub fn preprocess_drawing(
        &self,
        pixels: &[u8],
        width: usize,
        height: usize,
    ) -> Result<JsValue, Error> {
        let image = image_of(&self.engine).1;
        if image.channels != 1 {
            return Err(Error::invalid(
                "drawing needs a grey (1-channel) model: this one is colour",
            ));
        }
        let ok = (1..=4096).contains(&width)
            && (1..=4096).contains(&height)
            && width.checked_mul(height) == Some(pixels.len());
        if !ok {
            return Err(Error::invalid(format!(
                "a drawing of {width}x{height} needs width*height bytes (sides 1 to 4096), got {}",
                pixels.len()
            )));
        }
        let (out, empty) = preprocess_drawing(pixels, width, height, image);
        object(vec![
            ("pixels", u8s(&out)),
            ("empty", JsValue::from_bool(empty)),
        ])
    }

    /// Reconstructions (decoded means) of `n` u8 images: `n * D` values.
    #[wasm_bindgen(js_name = reconstructPixels)]
    pub async fn reconstruct_pixels(
        &mut self,
        pixels: Vec<u8>,
        n: usize,
    ) -> Result<js_sys::Float32Array, Error> {
        self.check_pixels(&pixels, n)?;
        let x = bytes_to_unit(&pixels);
        let out = self.engine.reconstruct_values(&x).await?;
        Ok(js_sys::Float32Array::from(&out[..]))
    }

    /// `{ codes, images, t }`: `steps` codes from `from` to `to` and their decodes.
    pub async fn interpolate(
        &mut self,
        from: Vec<f32>,
        to: Vec<f32>,
        steps: usize,
        slerp: bool,
    ) -> Result<JsValue, Error> {
        let (codes, images, t) = self.engine.interpolate(&from, &to, steps, slerp).await?;
        object(vec![
            ("codes", f32s(&codes)),
            ("images", f32s(&images)),
            ("t", f32s(&t)),
        ])
    }

    /// Damages test image `index` and repairs it for `iters` steps.
    pub async fn inpaint(
        &mut self,
        index: usize,
        damage: JsValue,
        iters: usize,
        brush: Option<Vec<u8>>,
    ) -> Result<JsValue, Error> {
        let damage: Damage = parse("damage", damage)?;
        let original = self.engine.test_image(index).await?;
        let r = self
            .engine
            .inpaint(original, damage, iters, brush.as_deref())
            .await?;
        inpainting_object(r)
    }

    /// `inpaint` on a u8 image of one's own (D bytes).
    #[wasm_bindgen(js_name = inpaintPixels)]
    pub async fn inpaint_pixels(
        &mut self,
        pixels: Vec<u8>,
        damage: JsValue,
        iters: usize,
        brush: Option<Vec<u8>>,
    ) -> Result<JsValue, Error> {
        self.check_pixels(&pixels, 1)?;
        let damage: Damage = parse("damage", damage)?;
        let original = bytes_to_unit(&pixels);
        let r = self
            .engine
            .inpaint(original, damage, iters, brush.as_deref())
            .await?;
        inpainting_object(r)
    }

    /// `{ kl, total, active, threshold, order, images }` over the first `n`
    /// test images.
    #[wasm_bindgen(js_name = klPerDim)]
    pub async fn kl_per_dim(&mut self, n: usize) -> Result<JsValue, Error> {
        let k = self.engine.kl_per_dim(n).await?;
        object(vec![
            ("kl", f32s(&k.kl)),
            ("total", JsValue::from_f64(k.total)),
            ("active", JsValue::from_f64(k.active as f64)),
            ("threshold", JsValue::from_f64(k.threshold as f64)),
            ("order", u32s(&k.order)),
            ("images", JsValue::from_f64(k.images as f64)),
        ])
    }

    /// `{ images, values }`: a row of `steps` decodes per dim of `dims`,
    /// that dim swept over -range..range, the others as in `code`.
    pub async fn traverse(
        &mut self,
        code: Vec<f32>,
        dims: Vec<u32>,
        steps: usize,
        range: f32,
    ) -> Result<JsValue, Error> {
        let (images, values) = self.engine.traverse(&code, &dims, steps, range).await?;
        object(vec![("images", f32s(&images)), ("values", f32s(&values))])
    }

    /// The KL weight of the next training step (beta, ramped during the
    /// KL warm-up).
    #[wasm_bindgen(js_name = klWeight)]
    pub fn kl_weight(&self) -> f64 {
        self.engine.kl_weight() as f64
    }

    /// Negative-ELBO sums over test images `first..first + count`:
    /// `{ recon_sum, kl_sum, loss_sum, images, next, total, done }`.
    #[wasm_bindgen(js_name = evaluateRange)]
    pub async fn evaluate_range(&mut self, first: usize, count: usize) -> Result<JsValue, Error> {
        let s = self.engine.evaluate_range(first, count).await?;
        to_js(&s)
    }

    /// The importance-weighted bound with `k` samples per image over test
    /// images `first..first + count`: `{ log_likelihood_sum, elbo_sum,
    /// images, next, total, done, k, binarized }`.
    #[wasm_bindgen(js_name = importanceBound)]
    pub async fn importance_bound(
        &mut self,
        k: usize,
        first: usize,
        count: usize,
    ) -> Result<JsValue, Error> {
        let s = self.engine.importance_bound(k, first, count).await?;
        to_js(&s)
    }
}

/// Parses a whole IDX1 label file (already gunzipped): the labels, one byte
/// each. Throws `BadFile` naming `name` on a bad header, a count that does
/// not match the length, a truncated file or a label outside 0-9.
#[wasm_bindgen(js_name = parseIdxLabels)]
pub fn parse_idx_labels(bytes: &[u8], name: &str) -> Result<js_sys::Uint8Array, Error> {
    let labels = crate::data::labels_from_idx(name, bytes)?;
    Ok(js_sys::Uint8Array::from(&labels[..]))
}
