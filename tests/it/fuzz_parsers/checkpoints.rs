//! Checkpoints: raw bytes, and valid safetensors framing with mutated
//! metadata, shapes, dtypes and offsets.

use super::config_json::{apply_json, json_edit, JsonEdit};
use super::*;

// ---------------------------------------------------------------- checkpoints

/// Two small valid configs: dense, and conv with unflatten.
fn small_config(conv: bool) -> VaeConfig {
    let v = if conv {
        json!({
            "preset": "fuzz-conv",
            "image": { "channels": 1, "height": 6, "width": 6 },
            "encoder": [
                { "type": "conv2d", "out_channels": 2, "kernel": 3, "stride": 2, "padding": 1, "act": "relu" },
                { "type": "dense", "out": 4, "act": "relu" },
            ],
            "latent": 2,
            "decoder": [
                { "type": "dense", "out": 18, "act": "relu" },
                { "type": "unflatten", "channels": 2, "height": 3, "width": 3 },
                { "type": "conv_transpose2d", "out_channels": 1, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1, "act": "identity" },
            ],
            "recon": "bce", "beta": 1.0,
            "adam": { "lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8 },
            "batch": 4, "seed": 1, "binarize": false,
        })
    } else {
        json!({
            "preset": "fuzz-mlp",
            "image": { "channels": 1, "height": 3, "width": 3 },
            "encoder": [ { "type": "dense", "out": 5, "act": "relu" } ],
            "latent": 2,
            "decoder": [
                { "type": "dense", "out": 5, "act": "relu" },
                { "type": "dense", "out": 9, "act": "identity" },
            ],
            "recon": "gaussian", "beta": 0.5,
            "adam": { "lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8 },
            "batch": 3, "seed": 7, "binarize": true,
        })
    };
    let c: VaeConfig = serde_json::from_value(v).unwrap();
    c.validate().unwrap();
    c
}

fn small_checkpoint(conv: bool) -> Vec<u8> {
    let c = small_config(conv);
    let table = param_table(&c);
    checkpoint::to_bytes(&c, &table, &table.init_values(3)).unwrap()
}

/// A safetensors file split into its header (as JSON) and its data.
fn split(bytes: &[u8]) -> (Map<String, Value>, Vec<u8>) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    (header, bytes[8 + n..].to_vec())
}

fn join(header: &Map<String, Value>, data: &[u8]) -> Vec<u8> {
    let text = Value::Object(header.clone()).to_string();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(data);
    out
}

/// One change to a checkpoint's header or data.
#[derive(Clone, Debug)]
enum HeaderEdit {
    Dtype {
        tensor: usize,
        dtype: &'static str,
    },
    Shape {
        tensor: usize,
        shape: Vec<u64>,
    },
    /// One dimension only, so the rest of the shape stays plausible.
    Dim {
        tensor: usize,
        dim: usize,
        value: u64,
    },
    Offsets {
        tensor: usize,
        offsets: [u64; 2],
    },
    Remove {
        tensor: usize,
    },
    Rename {
        tensor: usize,
        name: &'static str,
    },
    Copy {
        tensor: usize,
        name: &'static str,
    },
    /// Mutates the model config in the metadata.
    Config(JsonEdit),
    ConfigText(&'static str),
    Format(&'static str),
    MetadataNotString,
    /// Data shorter or longer than the header says.
    DataLen {
        delta: i64,
    },
    /// A tensor's bytes become NaN or infinity.
    NonFinite {
        at: usize,
        value: u32,
    },
    /// Lays the tensors out again, in order, from their (possibly mutated)
    /// shapes and dtypes, and sizes the data to match: valid framing, so the
    /// loader's own checks see the mutation.
    Reframe,
}

fn header_edit() -> impl Strategy<Value = HeaderEdit> {
    let t = 0usize..16;
    let name = prop_oneof![
        Just("encoder.fc1.weight"),
        Just("decoder.fc9.bias"),
        Just("__metadata__"),
        Just(""),
        Just("encoder.conv1.weight"),
        Just("x"),
    ];
    prop_oneof![
        2 => (t.clone(), prop_oneof![
            Just("F32"), Just("F16"), Just("BF16"), Just("F64"), Just("I64"), Just("U8"),
            Just("BOOL"), Just("F8_E4M3"), Just("F4"), Just("C64"), Just("f32"), Just("NOPE"),
        ]).prop_map(|(tensor, dtype)| HeaderEdit::Dtype { tensor, dtype }),
        2 => (t.clone(), proptest::collection::vec(big_u64(), 0..5))
            .prop_map(|(tensor, shape)| HeaderEdit::Shape { tensor, shape }),
        3 => (t.clone(), 0usize..4, big_u64())
            .prop_map(|(tensor, dim, value)| HeaderEdit::Dim { tensor, dim, value }),
        3 => (t.clone(), big_u64(), big_u64())
            .prop_map(|(tensor, a, b)| HeaderEdit::Offsets { tensor, offsets: [a, b] }),
        1 => t.clone().prop_map(|tensor| HeaderEdit::Remove { tensor }),
        1 => (t.clone(), name.clone()).prop_map(|(tensor, name)| HeaderEdit::Rename { tensor, name }),
        1 => (t, name).prop_map(|(tensor, name)| HeaderEdit::Copy { tensor, name }),
        6 => json_edit().prop_map(HeaderEdit::Config),
        1 => prop_oneof![Just(""), Just("{"), Just("null"), Just("[]"), Just("{\"preset\":1}")]
            .prop_map(HeaderEdit::ConfigText),
        1 => prop_oneof![Just("vae-playground/2"), Just(""), Just("vae-playground/1 ")]
            .prop_map(HeaderEdit::Format),
        1 => Just(HeaderEdit::MetadataNotString),
        2 => prop_oneof![-9i64..9, Just(-4096), Just(1 << 20)].prop_map(|delta| HeaderEdit::DataLen { delta }),
        6 => Just(HeaderEdit::Reframe),
        2 => (0usize..4096, prop_oneof![
            Just(f32::NAN.to_bits()), Just(f32::INFINITY.to_bits()), Just(f32::NEG_INFINITY.to_bits()),
            Just(0x7f80_0001), Just(0xffff_ffff), Just(f32::MAX.to_bits()), Just(1),
        ]).prop_map(|(at, value)| HeaderEdit::NonFinite { at, value }),
    ]
}

/// The tensor entries of a header, by name, the metadata excluded.
fn tensor_names(h: &Map<String, Value>) -> Vec<String> {
    h.keys().filter(|k| *k != "__metadata__").cloned().collect()
}

fn apply_header(h: &mut Map<String, Value>, data: &mut Vec<u8>, edit: &HeaderEdit) {
    let names = tensor_names(h);
    let pick = |i: usize| names.get(i % names.len().max(1)).cloned();
    match edit {
        HeaderEdit::Dtype { tensor, dtype } => {
            if let Some(n) = pick(*tensor) {
                h[&n]["dtype"] = json!(dtype);
            }
        }
        HeaderEdit::Shape { tensor, shape } => {
            if let Some(n) = pick(*tensor) {
                h[&n]["shape"] = json!(shape);
            }
        }
        HeaderEdit::Dim { tensor, dim, value } => {
            if let Some(n) = pick(*tensor) {
                if let Some(s) = h[&n]["shape"].as_array_mut() {
                    if !s.is_empty() {
                        let i = dim % s.len();
                        s[i] = json!(value);
                    }
                }
            }
        }
        HeaderEdit::Offsets { tensor, offsets } => {
            if let Some(n) = pick(*tensor) {
                h[&n]["data_offsets"] = json!(offsets);
            }
        }
        HeaderEdit::Remove { tensor } => {
            if let Some(n) = pick(*tensor) {
                h.remove(&n);
            }
        }
        HeaderEdit::Rename { tensor, name } => {
            if let Some(n) = pick(*tensor) {
                if let Some(v) = h.remove(&n) {
                    h.insert(name.to_string(), v);
                }
            }
        }
        HeaderEdit::Copy { tensor, name } => {
            if let Some(n) = pick(*tensor) {
                let v = h[&n].clone();
                h.insert(name.to_string(), v);
            }
        }
        HeaderEdit::Config(e) => {
            let meta = &mut h["__metadata__"];
            if let Some(text) = meta["config"].as_str() {
                if let Ok(mut v) = serde_json::from_str::<Value>(text) {
                    apply_json(&mut v, e);
                    meta["config"] = json!(v.to_string());
                }
            }
        }
        HeaderEdit::ConfigText(t) => h["__metadata__"]["config"] = json!(t),
        HeaderEdit::Format(f) => h["__metadata__"]["format"] = json!(f),
        HeaderEdit::MetadataNotString => h["__metadata__"]["format"] = json!(1),
        HeaderEdit::DataLen { delta } => {
            let len = (data.len() as i64 + delta).max(0) as usize;
            data.resize(len, 0);
        }
        HeaderEdit::Reframe => reframe(h, data),
        HeaderEdit::NonFinite { at, value } => {
            if data.len() >= 4 {
                let at = (at % (data.len() / 4)) * 4;
                data[at..at + 4].copy_from_slice(&value.to_le_bytes());
            }
        }
    }
}

fn reframe(h: &mut Map<String, Value>, data: &mut Vec<u8>) {
    let size = |dtype: &str| match dtype {
        "F64" | "I64" | "U64" | "C64" => Some(8u64),
        "F32" | "I32" | "U32" => Some(4),
        "F16" | "BF16" | "I16" | "U16" => Some(2),
        "U8" | "I8" | "BOOL" | "F8_E4M3" | "F8_E5M2" => Some(1),
        _ => None,
    };
    let mut names = tensor_names(h);
    names.sort_by_key(|n| h[n]["data_offsets"][0].as_u64());
    let mut at = 0u64;
    for n in names {
        let t = &mut h[&n];
        let Some(bytes) = t["dtype"].as_str().and_then(size) else {
            return;
        };
        let Some(shape) = t["shape"].as_array() else {
            return;
        };
        let len = shape
            .iter()
            .try_fold(bytes, |acc, d| d.as_u64().and_then(|d| acc.checked_mul(d)));
        match len {
            Some(len) if len <= 1 << 16 => {
                t["data_offsets"] = json!([at, at + len]);
                at += len;
            }
            _ => return,
        }
    }
    data.resize(at as usize, 0);
}

fn check_checkpoint(bytes: &[u8]) -> Result<String, TestCaseError> {
    Ok(match checkpoint::from_bytes(bytes) {
        Ok(ck) => {
            ck.config.validate().map_err(|e| TestCaseError::fail(e.0))?;
            prop_assert_eq!(ck.params.len(), param_table(&ck.config).total);
            prop_assert!(ck.params.iter().all(|v| v.is_finite()));
            "ok".to_string()
        }
        Err(e) => {
            prop_assert!(!e.0.trim().is_empty(), "an empty reason");
            prop_assert!(e.to_string().starts_with("cannot load checkpoint: "));
            kind_of(&e.0)
        }
    })
}

#[test]
fn checkpoint_mutated_bytes() {
    let strategy = || (any::<bool>(), proptest::collection::vec(byte_edit(), 1..4));
    let tally = fuzz("checkpoint, mutated bytes", strategy, |(conv, edits)| {
        check_checkpoint(&edited(small_checkpoint(conv), &edits))
    });
    for outcome in [
        "ok",
        "not a valid safetensors",
        "the model config",
        "tensor",
    ] {
        assert!(count(&tally, outcome) > 0, "no case ended in {outcome}");
    }
}

#[test]
fn checkpoint_mutated_header() {
    let strategy = || {
        (
            any::<bool>(),
            proptest::collection::vec(header_edit(), 1..4),
        )
    };
    let tally = fuzz("checkpoint, mutated header", strategy, |(conv, edits)| {
        let (mut header, mut data) = split(&small_checkpoint(conv));
        for e in &edits {
            apply_header(&mut header, &mut data, e);
        }
        check_checkpoint(&join(&header, &data))
    });
    // Past the framing: the config checks, every per-tensor check, extra
    // tensors, non-finite values, and files that still load.
    for outcome in [
        "ok",
        "not a valid safetensors",
        "the model config is malformed",
        "the model config is invalid",
        "format",
        "tensor _ is missing",
        "tensor _ is _ expected",
        "tensor _ has shape",
        "tensor _ holds a non-finite",
        "unexpected tensors",
    ] {
        assert!(count(&tally, outcome) > 0, "no case ended in {outcome}");
    }
}

#[test]
fn checkpoint_raw_bytes() {
    let strategy = || (big_u64(), proptest::collection::vec(any::<u8>(), 0..128));
    fuzz("checkpoint, raw bytes", strategy, |(len, body)| {
        // A length prefix (often absurd) and anything after it.
        let mut bytes = len.to_le_bytes().to_vec();
        bytes.extend_from_slice(&body);
        check_checkpoint(&bytes)?;
        check_checkpoint(&body)
    });
}

/// A small config mutated; `None` if it does not parse.
fn mutated_small_config() -> impl Strategy<Value = Value> {
    (any::<bool>(), proptest::collection::vec(json_edit(), 1..4)).prop_map(|(conv, edits)| {
        let mut v = serde_json::to_value(small_config(conv)).unwrap();
        for e in &edits {
            apply_json(&mut v, e);
        }
        v
    })
}

#[test]
fn configs_that_validate_build_a_model_that_trains() {
    // What a checkpoint's config leads to: a validated config must build,
    // train a step, sample and save without a panic.
    let tally = fuzz(
        "small configs, mutated, built on the CPU",
        mutated_small_config,
        |v| {
            let Ok(mut c) = serde_json::from_value::<VaeConfig>(v) else {
                return Ok("serde".to_string());
            };
            if let Err(e) = c.validate() {
                says_something(&e)?;
                return Ok("invalid".to_string());
            }
            let table = param_table(&c);
            if table.total > 100_000 || c.image.dim() > 4096 {
                return Ok("valid, too big to train here".to_string());
            }
            c.batch = c.batch.min(3);
            let dim = c.image.dim();
            let mut t =
                Trainer::new(CpuBackend::new(), c.clone()).map_err(|e| TestCaseError::fail(e.0))?;
            let pixels: Vec<u8> = (0..4 * dim).map(|i| (i * 37 % 256) as u8).collect();
            t.set_train_images(&pixels, 4);
            t.set_test_images(&pixels, 4);
            t.step();
            let m = block_on(t.take_metrics()).unwrap();
            prop_assert_eq!(m.images, c.batch);
            prop_assert_eq!(block_on(t.sample(2, 1, 2)).unwrap().len(), 2 * dim);
            let params = block_on(t.read_params()).unwrap();
            if params.iter().all(|v| v.is_finite()) {
                let bytes = checkpoint::to_bytes(&c, &t.vae.table, &params).unwrap();
                prop_assert_eq!(checkpoint::from_bytes(&bytes).unwrap().params, params);
            }
            Ok("valid, trained".to_string())
        },
    );
    assert!(count(&tally, "valid, trained") > 500, "{tally:?}");
}

#[test]
fn the_unmutated_bases_are_accepted() {
    // The mutations start from files and configs that load, so the cases
    // reach past the first check.
    for conv in [false, true] {
        let ck = checkpoint::from_bytes(&small_checkpoint(conv)).unwrap();
        assert_eq!(ck.config, small_config(conv));
        let (h, d) = split(&small_checkpoint(conv));
        assert_eq!(checkpoint::from_bytes(&join(&h, &d)).unwrap(), ck);
    }
    for p in PRESETS {
        let json = serde_json::to_string(&VaeConfig::preset(p).unwrap()).unwrap();
        assert!(serde_json::from_str::<VaeConfig>(&json)
            .unwrap()
            .validate()
            .is_ok());
    }
    let images = idx::encode_idx(&[2, 3, 3], &[7; 18]);
    assert_eq!(Images::from_idx(&images).unwrap().count, 2);
}
