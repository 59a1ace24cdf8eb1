//! Checkpoints as safetensors: one f32 tensor per parameter, named and laid
//! out as PyTorch would for the same module (`encoder.fc1.weight [out, in]`),
//! with the model's `VaeConfig` as JSON in the metadata. Loading checks
//! everything before it returns, so a bad file never touches a model.
//! `resume` adds where training stopped, so training continues from a file.

pub mod resume;

use crate::config::VaeConfig;
use crate::error::{Error, ErrorKind};
use crate::vae::{param_table, ParamTable};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::fmt;

/// The metadata key of the format tag, and its value.
pub const FORMAT_KEY: &str = "format";
pub const FORMAT: &str = "vae-playground/1";
pub const CONFIG_KEY: &str = "config";

/// A checked checkpoint: a valid config and its flat parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    pub config: VaeConfig,
    pub params: Vec<f32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointError(pub String);

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot load checkpoint: {}", self.0)
    }
}

impl std::error::Error for CheckpointError {}

// Here rather than in `error`, so that `error` need not know this module.
impl From<CheckpointError> for Error {
    fn from(e: CheckpointError) -> Error {
        Error::new(ErrorKind::BadFile, e.to_string())
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, CheckpointError> {
    Err(CheckpointError(msg.into()))
}

/// Serializes `params` (flat, in `table` order) with `config`.
pub fn to_bytes(
    config: &VaeConfig,
    table: &ParamTable,
    params: &[f32],
) -> Result<Vec<u8>, CheckpointError> {
    to_bytes_with(config, table, params, &[])
}

/// As [`to_bytes`], with more metadata entries (`extra`: key, value).
pub fn to_bytes_with(
    config: &VaeConfig,
    table: &ParamTable,
    params: &[f32],
    extra: &[(&str, String)],
) -> Result<Vec<u8>, CheckpointError> {
    if params.len() != table.total {
        return err(format!(
            "{} parameters given for a table of {}",
            params.len(),
            table.total
        ));
    }
    let bytes: &[u8] = bytemuck::cast_slice(params);
    let mut views = Vec::new();
    for e in &table.entries {
        let data = &bytes[e.offset * 4..(e.offset + e.len()) * 4];
        let view = TensorView::new(Dtype::F32, e.shape.clone(), data)
            .map_err(|e| CheckpointError(e.to_string()))?;
        views.push((e.name.clone(), view));
    }
    let config_json = serde_json::to_string(config).map_err(|e| CheckpointError(e.to_string()))?;
    let mut metadata = HashMap::from([
        (FORMAT_KEY.to_string(), FORMAT.to_string()),
        (CONFIG_KEY.to_string(), config_json),
    ]);
    metadata.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    safetensors::serialize(views, Some(metadata)).map_err(|e| CheckpointError(e.to_string()))
}

/// Parses and checks a checkpoint: header, config, every tensor's presence,
/// dtype and shape, no extra tensors, and finite values.
pub fn from_bytes(bytes: &[u8]) -> Result<Checkpoint, CheckpointError> {
    if bytes.is_empty() {
        return err("the file is empty");
    }
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| {
        CheckpointError(format!(
            "not a valid safetensors file ({e}); is it truncated or corrupt?"
        ))
    })?;
    let info = meta.metadata().clone().unwrap_or_default();
    match info.get(FORMAT_KEY) {
        Some(f) if f == FORMAT => {}
        Some(f) => return err(format!("format '{f}' is not '{FORMAT}'")),
        None => {
            return err(
                "no vae-playground format tag in the metadata; was it saved by `vae train --out`?",
            )
        }
    }
    let Some(json) = info.get(CONFIG_KEY) else {
        return err("the metadata has no model config");
    };
    let config: VaeConfig = serde_json::from_str(json)
        .map_err(|e| CheckpointError(format!("the model config is malformed: {e}")))?;
    config
        .validate()
        .map_err(|e| CheckpointError(format!("the model config is invalid: {e}")))?;
    let tensors = SafeTensors::deserialize(bytes).map_err(|e| {
        CheckpointError(format!(
            "not a valid safetensors file ({e}); is it truncated or corrupt?"
        ))
    })?;

    // `validate` capped the model at `MAX_PARAMETERS`, so the table's sums
    // fit; still, every tensor is checked against the config and the file
    // before the parameters are allocated.
    let table = param_table(&config);
    let mut found = Vec::with_capacity(table.entries.len());
    for e in &table.entries {
        let t = tensors
            .tensor(&e.name)
            .map_err(|_| CheckpointError(format!("tensor '{}' is missing", e.name)))?;
        if t.dtype() != Dtype::F32 {
            return err(format!(
                "tensor '{}' is {:?}, expected F32",
                e.name,
                t.dtype()
            ));
        }
        if t.shape() != e.shape.as_slice() {
            return err(format!(
                "tensor '{}' has shape {:?}, expected {:?}",
                e.name,
                t.shape(),
                e.shape
            ));
        }
        let want = e.len().checked_mul(4);
        if want != Some(t.data().len()) {
            return err(format!(
                "tensor '{}' holds {} bytes, its shape {:?} needs {}",
                e.name,
                t.data().len(),
                e.shape,
                e.len().saturating_mul(4)
            ));
        }
        found.push(t);
    }
    if tensors.len() != table.entries.len() {
        let known: Vec<&str> = table.entries.iter().map(|e| e.name.as_str()).collect();
        let extra: Vec<&str> = tensors
            .names()
            .into_iter()
            .filter(|n| !known.contains(n))
            .collect();
        return err(format!(
            "unexpected tensors for this config: {}",
            extra.join(", ")
        ));
    }
    // Every byte is accounted for: the file holds all the parameters.
    let mut params = Vec::with_capacity(table.total);
    for (e, t) in table.entries.iter().zip(&found) {
        let start = params.len();
        debug_assert_eq!(start, e.offset);
        params.extend(
            t.data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
        if let Some(bad) = params[start..].iter().position(|v| !v.is_finite()) {
            return err(format!(
                "tensor '{}' holds a non-finite value at element {bad}",
                e.name
            ));
        }
    }
    Ok(Checkpoint { config, params })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (VaeConfig, ParamTable, Vec<f32>) {
        let mut config = VaeConfig::preset("mlp-small").unwrap();
        config.latent = 3;
        let table = param_table(&config);
        let params = table.init_values(9);
        (config, table, params)
    }

    #[test]
    fn round_trip_keeps_config_names_and_values() {
        let (config, table, params) = sample();
        let bytes = to_bytes(&config, &table, &params).unwrap();
        let ck = from_bytes(&bytes).unwrap();
        assert_eq!(ck.config, config);
        assert_eq!(ck.params, params);
        let st = SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(st.tensor("encoder.fc1.weight").unwrap().shape(), &[64, 784]);
        assert_eq!(st.tensor("encoder.fc_mu.bias").unwrap().shape(), &[3]);
        assert_eq!(st.tensor("decoder.fc2.weight").unwrap().shape(), &[784, 64]);
    }

    #[test]
    fn malformed_files_are_rejected_with_a_reason() {
        let (config, table, params) = sample();
        let bytes = to_bytes(&config, &table, &params).unwrap();
        let msg = |b: &[u8]| from_bytes(b).unwrap_err().to_string();
        assert!(msg(&[]).contains("empty"));
        assert!(msg(&bytes[..bytes.len() - 10]).contains("truncated"));
        assert!(msg(&bytes[..5]).contains("truncated"));
        assert!(msg(b"garbage that is not a checkpoint at all").contains("safetensors"));

        // Same tensors, a config with another latent size: shape mismatch.
        let mut other = config.clone();
        other.latent = 4;
        let json = serde_json::to_string(&other).unwrap();
        let old = serde_json::to_string(&config).unwrap();
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header = std::str::from_utf8(&bytes[8..8 + header_len]).unwrap();
        let escaped = |s: &str| serde_json::to_string(s).unwrap();
        let new_header = header.replace(&escaped(&old), &escaped(&json));
        let mut patched = (new_header.len() as u64).to_le_bytes().to_vec();
        patched.extend_from_slice(new_header.as_bytes());
        patched.extend_from_slice(&bytes[8 + header_len..]);
        assert!(msg(&patched).contains("expected"), "{}", msg(&patched));

        // A non-finite value.
        let mut nan = params.clone();
        nan[5] = f32::NAN;
        let bytes = to_bytes(&config, &table, &nan).unwrap();
        assert!(msg(&bytes).contains("non-finite"));

        // Missing format tag: a plain safetensors file.
        let view = TensorView::new(Dtype::F32, vec![1], &[0, 0, 0, 0]).unwrap();
        let plain = safetensors::serialize([("a", view)], None).unwrap();
        assert!(msg(&plain).contains("format"));
    }
}
