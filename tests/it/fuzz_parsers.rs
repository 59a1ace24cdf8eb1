//! Property-based fuzzing of every parser a user can feed: IDX files (whole
//! and streamed), checkpoints (raw bytes, and valid safetensors framing with
//! mutated metadata, shapes, dtypes and offsets), `VaeConfig` JSON and the
//! settings objects (`ConfigOverrides`, `HyperOverrides`).
//!
//! Inputs are valid files and configs with structured mutations (flipped
//! bytes, truncations, big numbers spliced into headers, fields replaced),
//! so the cases get past the first magic check into the deep code. Each
//! property runs at least 10,000 cases on small inputs. A panic anywhere
//! fails the property (proptest catches it and shrinks the input); every
//! rejection must be an `Err` whose message says something.
//!
//! A crashing input found here is kept under tests/regressions/ and loaded
//! by tests/it/regressions.rs.

use crate::common::fuzz::{count, fuzz};
use pollster::block_on;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use vae_playground::checkpoint;
use vae_playground::config::{VaeConfig, MAX_PARAMETERS, PRESETS};
use vae_playground::cpu::CpuBackend;
use vae_playground::data::{self, idx, ImageStream, Images};
use vae_playground::settings::{ConfigOverrides, HyperOverrides};
use vae_playground::train::Trainer;
use vae_playground::vae::param_table;

/// A short name for a rejection: its first words, numbers and quoted
/// names blanked out, so equal kinds of error tally together.
fn kind_of(msg: &str) -> String {
    let mut words = Vec::new();
    for w in msg.split_whitespace().take(5) {
        if w.chars().any(|c| c.is_ascii_digit()) || w.contains('\'') || w.contains('`') {
            words.push("_");
        } else {
            words.push(w);
        }
        if w.ends_with(':') || w.ends_with(';') {
            break;
        }
    }
    words.join(" ")
}

// ---------------------------------------------------------------- bytes

/// One change to a file's bytes. Positions are taken modulo the length.
#[derive(Clone, Debug)]
enum ByteEdit {
    Flip {
        at: usize,
        bit: u8,
    },
    Set {
        at: usize,
        byte: u8,
    },
    Truncate {
        at: usize,
    },
    Append(Vec<u8>),
    /// Overwrites four bytes with a big-endian u32 (an IDX dimension).
    SpliceU32 {
        at: usize,
        value: u32,
    },
    /// Overwrites eight bytes with a little-endian u64 (a safetensors length).
    SpliceU64 {
        at: usize,
        value: u64,
    },
    Remove {
        at: usize,
        len: usize,
    },
    Duplicate {
        at: usize,
        len: usize,
    },
}

fn big_u32() -> impl Strategy<Value = u32> {
    prop_oneof![
        0u32..64,
        Just(u32::MAX),
        Just(u32::MAX - 1),
        Just(1 << 31),
        Just(1 << 16),
        Just(65_537),
        any::<u32>(),
    ]
}

fn big_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..4096,
        Just(u64::MAX),
        Just(u64::MAX / 4),
        Just(1 << 32),
        Just((1 << 32) - 1),
        Just(100_000_000),
        Just(100_000_001),
        (0u32..64).prop_map(|k| 1u64 << k),
        any::<u64>(),
    ]
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    let at = 0usize..4096;
    prop_oneof![
        3 => (at.clone(), 0u8..8).prop_map(|(at, bit)| ByteEdit::Flip { at, bit }),
        2 => (at.clone(), any::<u8>()).prop_map(|(at, byte)| ByteEdit::Set { at, byte }),
        2 => at.clone().prop_map(|at| ByteEdit::Truncate { at }),
        1 => proptest::collection::vec(any::<u8>(), 1..16).prop_map(ByteEdit::Append),
        2 => (0usize..32, big_u32()).prop_map(|(at, value)| ByteEdit::SpliceU32 { at, value }),
        1 => (0usize..16, big_u64()).prop_map(|(at, value)| ByteEdit::SpliceU64 { at, value }),
        1 => (at.clone(), 1usize..64).prop_map(|(at, len)| ByteEdit::Remove { at, len }),
        1 => (at, 1usize..64).prop_map(|(at, len)| ByteEdit::Duplicate { at, len }),
    ]
}

fn apply_bytes(bytes: &mut Vec<u8>, edit: &ByteEdit) {
    let n = bytes.len();
    let pos = |at: usize| if n == 0 { 0 } else { at % n };
    match *edit {
        ByteEdit::Flip { at, bit } if n > 0 => bytes[pos(at)] ^= 1 << bit,
        ByteEdit::Set { at, byte } if n > 0 => bytes[pos(at)] = byte,
        ByteEdit::Truncate { at } => bytes.truncate(pos(at)),
        ByteEdit::Append(ref more) => bytes.extend_from_slice(more),
        ByteEdit::SpliceU32 { at, value } => splice(bytes, at, &value.to_be_bytes()),
        ByteEdit::SpliceU64 { at, value } => splice(bytes, at, &value.to_le_bytes()),
        ByteEdit::Remove { at, len } if n > 0 => {
            let from = pos(at);
            bytes.drain(from..(from + len).min(n));
        }
        ByteEdit::Duplicate { at, len } if n > 0 => {
            let from = pos(at);
            let piece = bytes[from..(from + len).min(n)].to_vec();
            splice_in(bytes, from, &piece);
        }
        _ => {}
    }
}

fn splice(bytes: &mut Vec<u8>, at: usize, with: &[u8]) {
    if bytes.len() < at + with.len() {
        bytes.resize(at + with.len(), 0);
    }
    bytes[at..at + with.len()].copy_from_slice(with);
}

fn splice_in(bytes: &mut Vec<u8>, at: usize, piece: &[u8]) {
    let tail = bytes.split_off(at);
    bytes.extend_from_slice(piece);
    bytes.extend_from_slice(&tail);
}

// ---------------------------------------------------------------- IDX

/// A valid IDX file: 1 to 4 dimensions of 1 to 5, any bytes.
fn idx_file() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(1usize..=5, 1..=4).prop_flat_map(|dims| {
        let len = dims.iter().product::<usize>();
        proptest::collection::vec(any::<u8>(), len)
            .prop_map(move |data| idx::encode_idx(&dims, &data))
    })
}

/// A valid 3-d image file, or a label file whose labels are digits.
fn idx_images_or_labels() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (1usize..=6, 1usize..=5, 1usize..=5).prop_flat_map(|(n, h, w)| {
            proptest::collection::vec(any::<u8>(), n * h * w)
                .prop_map(move |d| idx::encode_idx(&[n, h, w], &d))
        }),
        proptest::collection::vec(0u8..10, 1..=8)
            .prop_map(|labels| idx::encode_idx(&[labels.len()], &labels)),
        idx_file(),
    ]
}

fn mutated(
    base: impl Strategy<Value = Vec<u8>>,
) -> impl Strategy<Value = (Vec<u8>, Vec<ByteEdit>)> {
    (base, proptest::collection::vec(byte_edit(), 0..4))
}

fn edited(mut bytes: Vec<u8>, edits: &[ByteEdit]) -> Vec<u8> {
    for e in edits {
        apply_bytes(&mut bytes, e);
    }
    bytes
}

fn says_something(e: &impl std::fmt::Display) -> Result<(), TestCaseError> {
    let msg = e.to_string();
    prop_assert!(!msg.trim().is_empty(), "an empty error message");
    Ok(())
}

/// Every IDX entry point on `bytes`; the stream, fed in `cuts`, must agree
/// with the whole-file parse.
fn check_idx(bytes: &[u8], cuts: &[usize]) -> Result<String, TestCaseError> {
    let whole = idx::parse_idx_named("fuzz", bytes);
    let outcome = match &whole {
        Ok(i) => format!("ok, {}-d", i.dims.len()),
        Err(e) => data_kind(e),
    };
    match &whole {
        Ok(i) => {
            prop_assert!(!i.dims.is_empty());
            prop_assert_eq!(i.dims.iter().product::<usize>(), i.data.len());
        }
        Err(e) => says_something(e)?,
    }
    let owned = idx::Idx::from_vec("fuzz", bytes.to_vec());
    prop_assert_eq!(owned.as_ref().ok(), whole.as_ref().ok());

    let images = Images::from_idx_named("fuzz", bytes);
    match &images {
        Ok(im) => {
            prop_assert_eq!(im.pixels.len(), im.count * im.dim());
            prop_assert_eq!(im.image(im.count - 1).len(), im.dim());
        }
        Err(e) => says_something(e)?,
    }
    match data::labels_from_idx("fuzz", bytes) {
        Ok(l) => prop_assert!(l.iter().all(|&d| d < 10)),
        Err(e) => says_something(&e)?,
    }

    // The streaming decoder, as the worker feeds it.
    let mut s = ImageStream::new("fuzz");
    let mut from = 0;
    let mut streamed = Ok(());
    for &to in cuts.iter().chain([&bytes.len()]) {
        let to = to.clamp(from, bytes.len());
        streamed = s.push(&bytes[from..to]);
        from = to;
        if streamed.is_err() {
            break;
        }
        prop_assert!(s.count() <= s.total());
        prop_assert_eq!(s.pixels().len(), s.count() * s.height() * s.width());
        prop_assert_eq!(s.done(), s.total() > 0 && s.count() == s.total());
    }
    if streamed.is_ok() {
        streamed = s.finish();
    }
    match (&streamed, &images) {
        (Ok(()), Ok(im)) => {
            prop_assert!(s.done());
            prop_assert_eq!(s.pixels(), &im.pixels[..]);
            prop_assert_eq!((s.height(), s.width()), (im.height, im.width));
        }
        (Err(e), Err(_)) => says_something(e)?,
        (a, b) => prop_assert!(
            false,
            "stream and whole file disagree: {:?} vs {:?}",
            a,
            b.as_ref().map(|i| i.count)
        ),
    }
    Ok(outcome)
}

/// The variant's name: `Truncated`, `BadMagic`, ...
fn data_kind(e: &data::DataError) -> String {
    let debug = format!("{e:?}");
    debug
        .split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn idx_mutated_files() {
    let strategy = || {
        (
            mutated(idx_images_or_labels()),
            proptest::collection::vec(0usize..200, 0..6),
        )
    };
    let tally = fuzz(
        "IDX, mutated files",
        strategy,
        |((base, edits), mut cuts)| {
            let bytes = edited(base, &edits);
            cuts.sort_unstable();
            check_idx(&bytes, &cuts)
        },
    );
    // Past the magic: accepted files, and each length and header check.
    for outcome in [
        "ok, 3-d",
        "ok, 1-d",
        "Truncated",
        "Trailing",
        "BadMagic",
        "ZeroDim",
    ] {
        assert!(count(&tally, outcome) > 0, "no case ended in {outcome}");
    }
}

#[test]
fn idx_raw_bytes() {
    let strategy = || {
        (
            proptest::collection::vec(any::<u8>(), 0..64),
            proptest::collection::vec(0usize..64, 0..4),
        )
    };
    let tally = fuzz("IDX, raw bytes", strategy, |(bytes, mut cuts)| {
        cuts.sort_unstable();
        check_idx(&bytes, &cuts)?;
        // Raw bytes rarely pass the magic: behind a valid magic, they are
        // random dimensions and data.
        let mut prefixed = vec![0, 0, 8, 1 + bytes.first().copied().unwrap_or(0) % 4];
        prefixed.extend_from_slice(&bytes);
        check_idx(&prefixed, &cuts)
    });
    assert!(count(&tally, "Truncated") + count(&tally, "Trailing") > 0);
}

#[test]
fn mnist_from_mutated_files() {
    // Each of two places gets its own good file or another one, with 0 to
    // 3 edits.
    let place = || {
        (
            proptest::option::of(idx_images_or_labels()),
            proptest::collection::vec(byte_edit(), 0..3),
        )
    };
    let strategy = || (place(), place(), 0usize..4);
    let tally = fuzz(
        "MNIST, four files, two mutated",
        strategy,
        |((a, ea), (b, eb), pick)| {
            let images = idx::encode_idx(&[2, 3, 3], &[7; 18]);
            let labels = idx::encode_idx(&[2], &[1, 9]);
            let mut files = [images.clone(), labels.clone(), images, labels];
            let (i, j) = (pick, (pick + 1) % 4);
            files[i] = edited(a.unwrap_or_else(|| files[i].clone()), &ea);
            files[j] = edited(b.unwrap_or_else(|| files[j].clone()), &eb);
            Ok(
                match data::Mnist::from_bytes(&files[0], &files[1], &files[2], &files[3]) {
                    Ok(m) => {
                        prop_assert_eq!(m.train.count, m.train_labels.len());
                        prop_assert_eq!(m.test.count, m.test_labels.len());
                        "ok".to_string()
                    }
                    Err(e) => {
                        says_something(&e)?;
                        data_kind(&e)
                    }
                },
            )
        },
    );
    for outcome in ["ok", "CountMismatch", "WrongNdim", "BadLabel"] {
        assert!(count(&tally, outcome) > 0, "no case ended in {outcome}");
    }
}

// ---------------------------------------------------------------- JSON

/// A JSON value for a numeric field: edges, overflowing and wrong-typed.
fn json_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => (0u64..70).prop_map(Value::from),
        2 => prop_oneof![Just(256u64), Just(1024), Just(4096), Just(40_000), Just(65_536), Just(65_537)]
            .prop_map(Value::from),
        3 => big_u64().prop_map(Value::from),
        1 => (0u32..64).prop_map(|k| Value::from((1u64 << k) + 1)),
        1 => any::<i64>().prop_map(Value::from),
        1 => (-5i64..0).prop_map(Value::from),
        1 => prop_oneof![
            Just(0.5), Just(-0.0), Just(1e308), Just(-1e308), Just(1e-310), Just(0.999_999_99),
            Just(1.0), Just(1e-2), Just(1e-6), Just(4294967295.5), Just(1.8e19),
            any::<f64>().prop_filter("finite", |f| f.is_finite()),
        ].prop_map(Value::from),
    ]
}

/// Any JSON value, mostly numbers, sometimes a wrong type.
fn json_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        16 => json_number(),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::from),
        1 => prop_oneof![
            Just("relu"), Just("identity"), Just("sigmoid"), Just("bce"), Just("gaussian"),
            Just("mlp"), Just("conv2"), Just(""), Just("\u{0}"), Just("dense"),
        ].prop_map(Value::from),
        1 => (json_number(), json_number()).prop_map(|(a, b)| json!([a, b])),
        1 => Just(json!({})),
    ]
}

/// A layer spec with numbers drawn from `json_number`, sometimes missing a
/// field or with an unknown type.
fn json_layer() -> impl Strategy<Value = Value> {
    let act = prop_oneof![Just("relu"), Just("identity"), Just("tanh"), Just("swish")];
    prop_oneof![
        (json_number(), act.clone()).prop_map(|(out, act)| json!({"type": "dense", "out": out, "act": act})),
        (json_number(), json_value(), json_number(), json_number(), act.clone()).prop_map(
            |(c, k, s, p, act)| json!({"type": "conv2d", "out_channels": c, "kernel": k, "stride": s, "padding": p, "act": act})
        ),
        (json_number(), json_value(), json_number(), json_number(), json_number(), act).prop_map(
            |(c, k, s, p, op, act)| json!({"type": "conv_transpose2d", "out_channels": c, "kernel": k, "stride": s, "padding": p, "output_padding": op, "act": act})
        ),
        (json_number(), json_number(), json_number()).prop_map(
            |(c, h, w)| json!({"type": "unflatten", "channels": c, "height": h, "width": w})
        ),
        Just(json!({"type": "pool", "size": 2})),
        Just(json!({"type": "dense"})),
    ]
}

/// One change to a config's JSON.
#[derive(Clone, Debug)]
enum JsonEdit {
    /// Replaces the field at `path` (indices taken modulo the choices).
    Set {
        path: usize,
        value: Value,
    },
    /// Replaces one number of one layer (a field picked by `field`).
    SetLayerField {
        stack: bool,
        layer: usize,
        field: usize,
        value: Value,
    },
    Insert {
        stack: bool,
        at: usize,
        layer: Value,
    },
    Remove {
        stack: bool,
        at: usize,
    },
    /// Repeats a layer `times` times (past the layer cap, sometimes).
    Repeat {
        stack: bool,
        at: usize,
        times: usize,
    },
    /// Adds an unknown key (VaeConfig ignores it; overrides refuse it).
    Unknown,
    /// Sets every hidden dense layer to `width`, a first convolution to
    /// `channels` and the batch to `batch`: models near and over the size
    /// caps.
    Widen {
        width: u64,
        channels: u64,
        batch: u64,
    },
}

const FIELDS: &[&[&str]] = &[
    &["latent"],
    &["batch"],
    &["beta"],
    &["seed"],
    &["recon"],
    &["binarize"],
    &["preset"],
    &["image", "channels"],
    &["image", "height"],
    &["image", "width"],
    &["image"],
    &["adam", "lr"],
    &["adam", "beta1"],
    &["adam", "beta2"],
    &["adam", "eps"],
    &["adam"],
    &["encoder"],
    &["decoder"],
];

fn json_edit() -> impl Strategy<Value = JsonEdit> {
    prop_oneof![
        4 => (0usize..64, json_value()).prop_map(|(path, value)| JsonEdit::Set { path, value }),
        6 => (any::<bool>(), 0usize..8, 0usize..8, json_value())
            .prop_map(|(stack, layer, field, value)| JsonEdit::SetLayerField { stack, layer, field, value }),
        3 => (any::<bool>(), 0usize..8, json_layer())
            .prop_map(|(stack, at, layer)| JsonEdit::Insert { stack, at, layer }),
        2 => (any::<bool>(), 0usize..8).prop_map(|(stack, at)| JsonEdit::Remove { stack, at }),
        1 => (any::<bool>(), 0usize..8, prop_oneof![1usize..4, Just(64), Just(70)])
            .prop_map(|(stack, at, times)| JsonEdit::Repeat { stack, at, times }),
        1 => Just(JsonEdit::Unknown),
        2 => (
            prop_oneof![1u64..64, Just(4096), Just(20_000), Just(40_000), Just(65_536)],
            prop_oneof![1u64..64, Just(1024), Just(4096)],
            prop_oneof![1u64..8, Just(128), Just(1024)],
        )
            .prop_map(|(width, channels, batch)| JsonEdit::Widen { width, channels, batch }),
    ]
}

fn stack(v: &mut Value, encoder: bool) -> Option<&mut Vec<Value>> {
    v.get_mut(if encoder { "encoder" } else { "decoder" })?
        .as_array_mut()
}

fn apply_json(v: &mut Value, edit: &JsonEdit) {
    match edit {
        JsonEdit::Set { path, value } => {
            let path = FIELDS[path % FIELDS.len()];
            let mut at = &mut *v;
            for key in &path[..path.len() - 1] {
                match at.get_mut(*key) {
                    Some(next) => at = next,
                    None => return,
                }
            }
            if let Some(obj) = at.as_object_mut() {
                obj.insert(path[path.len() - 1].to_string(), value.clone());
            }
        }
        JsonEdit::SetLayerField {
            stack: s,
            layer,
            field,
            value,
        } => {
            let Some(layers) = stack(v, *s) else { return };
            let n = layers.len();
            let Some(Value::Object(obj)) = layers.get_mut(layer % n.max(1)) else {
                return;
            };
            let keys: Vec<String> = obj.keys().cloned().collect();
            if let Some(k) = keys.get(field % keys.len().max(1)) {
                obj.insert(k.clone(), value.clone());
            }
        }
        JsonEdit::Insert {
            stack: s,
            at,
            layer,
        } => {
            if let Some(layers) = stack(v, *s) {
                let at = at % (layers.len() + 1);
                layers.insert(at, layer.clone());
            }
        }
        JsonEdit::Remove { stack: s, at } => {
            if let Some(layers) = stack(v, *s) {
                if !layers.is_empty() {
                    let at = at % layers.len();
                    layers.remove(at);
                }
            }
        }
        JsonEdit::Repeat {
            stack: s,
            at,
            times,
        } => {
            if let Some(layers) = stack(v, *s) {
                if !layers.is_empty() {
                    let at = at % layers.len();
                    let l = layers[at].clone();
                    for _ in 0..*times {
                        layers.insert(at, l.clone());
                    }
                }
            }
        }
        JsonEdit::Widen {
            width,
            channels,
            batch,
        } => {
            let Some(obj) = v.as_object_mut() else { return };
            obj.insert("batch".into(), json!(batch));
            for encoder in [true, false] {
                let Some(layers) = stack(v, encoder) else {
                    return;
                };
                let last = layers.len().saturating_sub(1);
                for (i, l) in layers.iter_mut().enumerate() {
                    let Some(l) = l.as_object_mut() else { continue };
                    let hidden = encoder || i < last;
                    match l.get("type").and_then(Value::as_str) {
                        Some("dense") if hidden => l.insert("out".into(), json!(width)),
                        // The first layer only: two wide ones are over the
                        // parameter cap before the activations count.
                        Some("conv2d") if encoder && i == 0 => {
                            l.insert("out_channels".into(), json!(channels))
                        }
                        _ => None,
                    };
                }
            }
        }
        JsonEdit::Unknown => {
            if let Some(obj) = v.as_object_mut() {
                obj.insert("latentDim".into(), json!(4));
            }
        }
    }
}

fn preset_json() -> impl Strategy<Value = Value> {
    (0..PRESETS.len())
        .prop_map(|i| serde_json::to_value(VaeConfig::preset(PRESETS[i]).unwrap()).unwrap())
}

fn mutated_config_json() -> impl Strategy<Value = Value> {
    (preset_json(), proptest::collection::vec(json_edit(), 1..5)).prop_map(|(mut v, edits)| {
        for e in &edits {
            apply_json(&mut v, e);
        }
        v
    })
}

/// Parses and validates `json` as a `VaeConfig`; an accepted config must
/// fit the caps and survive a round trip.
fn check_config(json: &[u8]) -> Result<String, TestCaseError> {
    let c: VaeConfig = match serde_json::from_slice(json) {
        Ok(c) => c,
        Err(e) => {
            says_something(&e)?;
            return Ok("serde".to_string());
        }
    };
    Ok(match c.validate() {
        Ok(()) => {
            let table = param_table(&c);
            prop_assert!(table.total as u64 <= MAX_PARAMETERS);
            prop_assert!(table
                .entries
                .iter()
                .all(|e| e.offset + e.len() <= table.total));
            let again: VaeConfig =
                serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
            prop_assert_eq!(&again, &c);
            "ok".to_string()
        }
        Err(e) => {
            says_something(&e)?;
            kind_of(&e.0)
        }
    })
}

#[test]
fn config_json_mutated() {
    let tally = fuzz(
        "VaeConfig JSON, mutated presets",
        mutated_config_json,
        |v| check_config(v.to_string().as_bytes()),
    );
    // Past serde: accepted configs and the deep checks (layer geometry,
    // the size caps, Adam's ranges).
    for outcome in [
        "ok",
        "serde",
        "encoder layer",
        "decoder layer",
        "the model has",
        "the _ activations",
        "Adam",
    ] {
        assert!(count(&tally, outcome) > 0, "no case ended in {outcome}");
    }
}

#[test]
fn config_json_text_mutated() {
    let strategy = || (preset_json(), proptest::collection::vec(byte_edit(), 1..4));
    fuzz("VaeConfig JSON, damaged text", strategy, |(v, edits)| {
        // Byte-level damage to the JSON text: a serde error or a config
        // that validates or not, never a panic.
        check_config(&edited(v.to_string().into_bytes(), &edits))
    });
}

#[test]
fn overrides_json() {
    const KEYS: [&str; 9] = [
        "latent",
        "beta",
        "lr",
        "batch",
        "recon",
        "seed",
        "binarize",
        "preset",
        "latentDim",
    ];
    let strategy = || {
        (
            prop_oneof![
                8 => (0..PRESETS.len()).prop_map(|i| Value::from(PRESETS[i])),
                1 => json_value(),
            ],
            proptest::collection::vec((0usize..9, json_value()), 0..6),
            proptest::collection::vec((0usize..3, json_value()), 0..3),
        )
    };
    let tally = fuzz(
        "ConfigOverrides / HyperOverrides JSON",
        strategy,
        |(preset, fields, hyper)| {
            let mut obj = Map::new();
            obj.insert("preset".into(), preset);
            for (k, v) in &fields {
                obj.insert(KEYS[*k].into(), v.clone());
            }
            let text = Value::Object(obj).to_string();
            let outcome = match serde_json::from_str::<ConfigOverrides>(&text) {
                Ok(o) => match o.resolve() {
                    Ok(c) => {
                        c.validate().map_err(|e| TestCaseError::fail(e.0))?;
                        if let Some(latent) = o.latent {
                            prop_assert_eq!(c.latent as f64, latent);
                        }
                        if let Some(seed) = o.seed {
                            prop_assert_eq!(c.seed as f64, seed);
                        }
                        "ok".to_string()
                    }
                    Err(e) => {
                        says_something(&e)?;
                        kind_of(&e.0)
                    }
                },
                Err(e) => {
                    says_something(&e)?;
                    "serde".to_string()
                }
            };
            let mut obj = Map::new();
            for (k, v) in &hyper {
                obj.insert(["beta", "lr", "batch"][*k].into(), v.clone());
            }
            if let Err(e) = serde_json::from_value::<HyperOverrides>(Value::Object(obj)) {
                says_something(&e)?;
            }
            Ok(outcome)
        },
    );
    for outcome in [
        "ok",
        "serde",
        "latent size",
        "batch size",
        "seed",
        "beta",
        "learning rate",
    ] {
        assert!(count(&tally, outcome) > 0, "no case ended in {outcome}");
    }
}

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
