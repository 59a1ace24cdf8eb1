//! `VaeConfig` JSON and the settings objects.

use super::*;

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
pub(super) enum JsonEdit {
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

pub(super) fn json_edit() -> impl Strategy<Value = JsonEdit> {
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

pub(super) fn apply_json(v: &mut Value, edit: &JsonEdit) {
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
