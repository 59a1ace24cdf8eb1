//! Hostile checkpoints and configs: small files that ask for enormous or
//! overflowing models are refused with a `CheckpointError` / `ConfigError`
//! that names the problem, before anything is allocated.
//!
//! Without the size caps in `VaeConfig::validate`, the first test's 1 KB file
//! makes `checkpoint::from_bytes` allocate `vec![0.0; 30 G]` (120 GB) and the
//! test process aborts ("memory allocation of 120478479392 bytes failed",
//! SIGABRT), exactly as `vae eval --checkpoint` did (exit 134).

use safetensors::tensor::{Dtype, TensorView};
use serde_json::{json, Value};
use std::collections::HashMap;
use vae_playground::checkpoint::{self, CONFIG_KEY, FORMAT, FORMAT_KEY};
use vae_playground::config::{
    ImageShape, VaeConfig, MAX_ACTIVATIONS, MAX_LAYERS, MAX_PARAMETERS, MAX_UNFOLDED,
};
use vae_playground::vae::param_table;

/// A valid safetensors file: the format tag, `config` as the model config,
/// and `tensors` (name, shape, f32 data).
fn checkpoint_with(config: &Value, tensors: &[(&str, Vec<usize>, Vec<f32>)]) -> Vec<u8> {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, d)| bytemuck::cast_slice(d).to_vec())
        .collect();
    let views: Vec<(&str, TensorView)> = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), b)| {
            (
                *name,
                TensorView::new(Dtype::F32, shape.clone(), b).unwrap(),
            )
        })
        .collect();
    let metadata = HashMap::from([
        (FORMAT_KEY.to_string(), FORMAT.to_string()),
        (CONFIG_KEY.to_string(), config.to_string()),
    ]);
    safetensors::serialize(views, Some(metadata)).unwrap()
}

fn mlp() -> Value {
    serde_json::to_value(VaeConfig::preset("mlp").unwrap()).unwrap()
}

fn dense(out: usize, act: &str) -> Value {
    json!({ "type": "dense", "out": out, "act": act })
}

fn load_err(config: &Value) -> String {
    let bytes = checkpoint_with(config, &[]);
    let e = checkpoint::from_bytes(&bytes).unwrap_err();
    e.to_string()
}

#[test]
fn a_1kb_header_with_an_enormous_config_is_refused_before_allocating() {
    // Eight dense layers of width 65,536 (each within the per-layer range):
    // 30 G parameters, 120 GB of f32, in a file of well under 1 KB of JSON.
    let mut c = mlp();
    c["encoder"] = Value::Array(vec![dense(65_536, "relu"); 8]);
    let bytes = checkpoint_with(&c, &[]);
    assert!(bytes.len() < 2048, "{} bytes", bytes.len());
    let e = checkpoint::from_bytes(&bytes).unwrap_err().to_string();
    assert!(
        e.starts_with("cannot load checkpoint: the model config is invalid"),
        "{e}"
    );
    assert!(
        e.contains("parameters") && e.contains(&MAX_PARAMETERS.to_string()),
        "{e}"
    );
    assert!(e.contains("256 MiB"), "{e}");
}

#[test]
fn every_preset_fits_the_caps_with_a_wide_margin() {
    for p in vae_playground::config::PRESETS {
        let mut c = VaeConfig::preset(p).unwrap();
        c.batch = 1024;
        c.latent = 100;
        c.validate().unwrap();
        let params = param_table(&c).total as u64;
        assert!(params * 16 < MAX_PARAMETERS, "{p}: {params} parameters");
        assert!(c.encoder.len() * 8 <= MAX_LAYERS && c.decoder.len() * 8 <= MAX_LAYERS);
    }
}

#[test]
fn a_config_just_over_the_parameter_cap_is_refused_and_just_under_is_not() {
    // 784 -> w -> heads -> decoder: about 2 * 784 * w parameters.
    let with_width = |w: usize| {
        let mut c = VaeConfig::preset("mlp").unwrap();
        c.encoder = serde_json::from_value(json!([dense(w, "relu")])).unwrap();
        c.decoder =
            serde_json::from_value(json!([dense(w, "relu"), dense(784, "identity")])).unwrap();
        c.batch = 1;
        c
    };
    with_width(40_000).validate().unwrap();
    let c = with_width(65_536);
    let total = param_table(&with_width(40_000)).total as u64;
    assert!(total < MAX_PARAMETERS);
    let e = c.validate().unwrap_err().0;
    assert!(e.contains("over the cap of 67108864"), "{e}");
}

#[test]
fn activations_over_the_cap_are_refused() {
    // Few parameters, but 2^20 values per image at batch 1024: 4 GiB for
    // one layer's output alone.
    let c = json!({
        "preset": "hostile",
        "image": { "channels": 4, "height": 256, "width": 256 },
        "encoder": [
            { "type": "conv2d", "out_channels": 16, "kernel": 1, "stride": 1, "padding": 0, "act": "relu" },
            { "type": "conv2d", "out_channels": 1, "kernel": 1, "stride": 8, "padding": 0, "act": "relu" },
        ],
        "latent": 2,
        "decoder": [
            dense(1024, "relu"),
            { "type": "unflatten", "channels": 1, "height": 32, "width": 32 },
            { "type": "conv_transpose2d", "out_channels": 4, "kernel": 8, "stride": 8, "padding": 0, "act": "identity" },
        ],
        "recon": "bce", "beta": 1.0,
        "adam": { "lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8 },
        "batch": 1024, "seed": 1, "binarize": false,
    });
    let e = load_err(&c);
    assert!(
        e.contains("activations") && e.contains(&MAX_ACTIVATIONS.to_string()),
        "{e}"
    );
    // The same model at batch 64 fits.
    let mut small: VaeConfig = serde_json::from_value(c).unwrap();
    small.batch = 64;
    small.validate().unwrap();
}

#[test]
fn a_convolution_that_unfolds_into_too_much_scratch_is_refused() {
    // 16,384 channels of 4x4, a 32x32 kernel padded by 31: 16 M parameters
    // (under the cap), 1,225 output values, but an im2col matrix of
    // 16384 * 1024 x 35 * 35 = 20 G values (82 GB) per image, which both
    // backends allocate as scratch at the first step.
    let c = json!({
        "preset": "hostile",
        "image": { "channels": 4, "height": 256, "width": 256 },
        "encoder": [
            { "type": "unflatten", "channels": 16_384, "height": 4, "width": 4 },
            { "type": "conv2d", "out_channels": 1, "kernel": 32, "stride": 1, "padding": 31, "act": "relu" },
        ],
        "latent": 2,
        "decoder": [
            dense(1024, "relu"),
            { "type": "unflatten", "channels": 1, "height": 32, "width": 32 },
            { "type": "conv_transpose2d", "out_channels": 4, "kernel": 8, "stride": 8, "padding": 0, "act": "identity" },
        ],
        "recon": "bce", "beta": 1.0,
        "adam": { "lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8 },
        "batch": 16, "seed": 1, "binarize": false,
    });
    let e = load_err(&c);
    assert!(
        e.contains("encoder layer 2 (conv2d) unfolds one image into 20552089600 values"),
        "{e}"
    );
    assert!(e.contains(&MAX_UNFOLDED.to_string()), "{e}");
    // A transposed convolution is bounded the same way (Co KH KW x H W).
    let mut c: VaeConfig = serde_json::from_value(c).unwrap();
    c.encoder = VaeConfig::preset("cifar").unwrap().encoder;
    c.image = ImageShape::CIFAR;
    c.decoder = serde_json::from_value(json!([
        dense(64, "relu"),
        { "type": "unflatten", "channels": 1, "height": 8, "width": 8 },
        { "type": "conv_transpose2d", "out_channels": 1024, "kernel": 32, "stride": 4, "padding": 14, "act": "relu" },
        { "type": "conv2d", "out_channels": 3, "kernel": 1, "stride": 1, "padding": 0, "act": "identity" },
    ]))
    .unwrap();
    let e = c.validate().unwrap_err().0;
    assert!(
        e.contains("decoder layer 3 (conv_transpose2d) unfolds one image into"),
        "{e}"
    );
}

#[test]
fn too_many_layers_are_refused() {
    let mut c = mlp();
    c["encoder"] = Value::Array(vec![dense(8, "relu"); MAX_LAYERS + 1]);
    let e = load_err(&c);
    assert!(e.contains("65 layers") && e.contains("at most 64"), "{e}");
}

#[test]
fn adam_settings_are_validated_by_name() {
    for (key, v, needle) in [
        (
            "beta1",
            json!(1.0),
            "Adam beta1 1 is out of range: use at least 0 and less than 1",
        ),
        ("beta1", json!(-0.5), "Adam beta1 -0.5"),
        ("beta2", json!(1.5), "Adam beta2 1.5"),
        (
            "eps",
            json!(0.0),
            "Adam eps 0 is out of range: use more than 0 and at most 0.01",
        ),
        ("eps", json!(0.5), "Adam eps 0.5"),
        ("eps", json!(-1e-8), "Adam eps -0.00000001"),
    ] {
        let mut c = mlp();
        c["adam"][key] = v;
        let e = load_err(&c);
        assert!(e.contains(needle), "{key}: {e}");
    }
    // The edges that are in range.
    let mut c = VaeConfig::preset("mlp").unwrap();
    (c.adam.beta1, c.adam.beta2, c.adam.eps) = (0.0, 0.999_999_9, 1e-2);
    c.validate().unwrap();
    c.adam.beta2 = f32::NAN;
    assert!(c.validate().unwrap_err().0.contains("Adam beta2 NaN"));
}

#[test]
fn shapes_whose_products_overflow_are_errors_not_wraps() {
    // 3 * 6148914691236517336 * 2 is 784 modulo 2^64: wrapping arithmetic
    // accepted this unflatten as holding 784 features, and the 1x1
    // convolution's output (3 x 6e18 x 2) as 784 values too.
    let mut c = VaeConfig::preset("mlp").unwrap();
    let mut v = serde_json::to_value(&c).unwrap();
    v["encoder"] = json!([
        dense(784, "relu"),
        { "type": "unflatten", "channels": 3, "height": 6_148_914_691_236_517_336u64, "width": 2 },
        { "type": "conv2d", "out_channels": 3, "kernel": 1, "stride": 1, "padding": 0, "act": "relu" },
        dense(64, "relu"),
    ]);
    if usize::BITS == 64 {
        let e = load_err(&v);
        assert!(e.contains("does not hold its input of 784 features"), "{e}");
    }
    // Image sides whose product wraps to 0 or to a small number.
    for (ch, h, w) in [
        (1usize << 32, 1usize << 32, 1usize),
        (usize::MAX, 3, 5),
        (4, usize::MAX, 2),
    ] {
        c.image = ImageShape {
            channels: ch,
            height: h,
            width: w,
        };
        assert_eq!(c.image.checked_dim(), None);
        let e = c.validate().unwrap_err().0;
        assert!(e.contains("image shape"), "{e}");
    }
}

#[test]
fn tensors_are_checked_against_the_config_before_the_values_are_read() {
    let mut c = VaeConfig::preset("mlp-small").unwrap();
    c.latent = 2;
    let table = param_table(&c);
    let values = table.init_values(3);
    let v = serde_json::to_value(&c).unwrap();
    let all: Vec<(&str, Vec<usize>, Vec<f32>)> = table
        .entries
        .iter()
        .map(|e| {
            (
                e.name.as_str(),
                e.shape.clone(),
                values[e.offset..e.offset + e.len()].to_vec(),
            )
        })
        .collect();
    assert_eq!(
        checkpoint::from_bytes(&checkpoint_with(&v, &all))
            .unwrap()
            .params,
        values
    );
    // A tensor with one row too few: its shape (and byte size) differ.
    let mut short = all.clone();
    short[0].1[0] -= 1;
    let rows: usize = short[0].1.iter().product();
    short[0].2.truncate(rows);
    let e = checkpoint::from_bytes(&checkpoint_with(&v, &short))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("tensor 'encoder.fc1.weight' has shape [63, 784], expected [64, 784]"),
        "{e}"
    );
    // An extra tensor.
    let mut extra = all.clone();
    extra.push(("decoder.fc9.weight", vec![1], vec![0.0]));
    let e = checkpoint::from_bytes(&checkpoint_with(&v, &extra))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unexpected tensors for this config: decoder.fc9.weight"),
        "{e}"
    );
}
