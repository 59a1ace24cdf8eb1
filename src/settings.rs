//! What a person may set, as the page and the CLI see it: the presets with
//! their labels and settings, and [`ConfigOverrides`], the one struct that
//! both the CLI's flags and the wasm surface's settings object fill. The
//! ranges they are checked against are `config::LIMITS`.

use crate::backend::Recon;
use crate::config::{ConfigError, ImageShape, VaeConfig, LIMITS, PRESET_TABLE};
use serde::{Deserialize, Serialize};

/// The user-settable part of a config, as the page and `Session.config()`
/// show it. Learning rate and beta are stored as `f32`; they cross as the
/// shortest decimal that rounds to the same `f32` (`0.001`, not
/// `0.0010000000474974513`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Settings {
    pub image: ImageShape,
    pub latent: usize,
    pub beta: f64,
    pub lr: f64,
    pub batch: usize,
    pub recon: Recon,
    pub seed: u32,
    pub binarize: bool,
    /// Steps over which beta ramps from 0 (0: no warm-up).
    pub kl_warmup: u32,
}

fn shortest(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(v as f64)
}

impl From<&VaeConfig> for Settings {
    fn from(c: &VaeConfig) -> Settings {
        Settings {
            image: c.image,
            latent: c.latent,
            beta: shortest(c.beta),
            lr: shortest(c.adam.lr),
            batch: c.batch,
            recon: c.recon,
            seed: c.seed,
            binarize: c.binarize,
            kl_warmup: c.kl_warmup,
        }
    }
}

/// One entry of `Session.presets()`: the name, how to show it, its settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PresetInfo {
    pub name: &'static str,
    pub label: &'static str,
    pub description: &'static str,
    #[serde(flatten)]
    pub settings: Settings,
}

/// Every preset, in menu order.
pub fn presets() -> Vec<PresetInfo> {
    PRESET_TABLE
        .iter()
        .map(|p| PresetInfo {
            name: p.name,
            label: p.label,
            description: p.description,
            settings: Settings::from(&p.config()),
        })
        .collect()
}

/// A preset and the settings that replace its values: the settings object
/// of `Session.create` and the flags of `vae train` (clap derives them from
/// this struct natively). Unknown keys are an error. Numbers are `f64`
/// (JavaScript's numbers), checked for range and wholeness against
/// [`LIMITS`] in [`ConfigOverrides::resolve`], so the CLI and the page get
/// the same messages.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::Args))]
#[serde(deny_unknown_fields)]
pub struct ConfigOverrides {
    /// The model to start from (see the list of presets below)
    #[cfg_attr(
        not(target_arch = "wasm32"),
        arg(
            long,
            value_name = "P",
            default_value = "",
            hide_default_value = true,
            required_unless_present = "resume"
        )
    )]
    pub preset: String,
    /// Latent size Z (a whole number)
    #[cfg_attr(not(target_arch = "wasm32"), arg(long, value_name = "Z"))]
    pub latent: Option<f64>,
    /// Weight of the KL term (1 is the plain ELBO)
    #[cfg_attr(not(target_arch = "wasm32"), arg(long, value_name = "B"))]
    pub beta: Option<f64>,
    /// Adam's learning rate
    #[cfg_attr(not(target_arch = "wasm32"), arg(long, value_name = "LR"))]
    pub lr: Option<f64>,
    /// Images per training step
    #[cfg_attr(not(target_arch = "wasm32"), arg(long, value_name = "N"))]
    pub batch: Option<f64>,
    /// Reconstruction loss: bce or gaussian
    #[cfg_attr(
        not(target_arch = "wasm32"),
        arg(long, value_name = "KIND", value_parser = parse_recon)
    )]
    pub recon: Option<Recon>,
    /// Seed of the initial weights, the shuffles and the noise
    #[cfg_attr(not(target_arch = "wasm32"), arg(long, value_name = "S"))]
    pub seed: Option<f64>,
    /// Resample binary pixels each time an image is drawn (`--binarize` alone
    /// means true)
    #[cfg_attr(
        not(target_arch = "wasm32"),
        arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")
    )]
    pub binarize: Option<bool>,
    /// KL warm-up: beta ramps linearly from 0 to --beta over N training
    /// steps (0: off)
    #[cfg_attr(not(target_arch = "wasm32"), arg(long, value_name = "N"))]
    pub kl_warmup: Option<f64>,
}

/// A reconstruction loss named as in JSON (through `Recon`'s serde names).
#[cfg(not(target_arch = "wasm32"))]
fn parse_recon(s: &str) -> Result<Recon, String> {
    use serde::de::{value::Error, IntoDeserializer};
    Recon::deserialize(IntoDeserializer::<Error>::into_deserializer(s)).map_err(|e| e.to_string())
}

impl ConfigOverrides {
    /// The preset with these settings applied, validated.
    pub fn resolve(&self) -> Result<VaeConfig, ConfigError> {
        let mut c = VaeConfig::preset(&self.preset)?;
        let l = &LIMITS;
        if let Some(v) = self.latent {
            c.latent = l.latent.check(v)? as usize;
        }
        if let Some(v) = self.beta {
            c.beta = l.beta.check(v)? as f32;
        }
        if let Some(v) = self.lr {
            c.adam.lr = l.lr.check(v)? as f32;
        }
        if let Some(v) = self.batch {
            c.batch = l.batch.check(v)? as usize;
        }
        if let Some(r) = self.recon {
            c.recon = r;
        }
        if let Some(v) = self.seed {
            c.seed = l.seed.check(v)? as u32;
        }
        if let Some(b) = self.binarize {
            c.binarize = b;
        }
        if let Some(v) = self.kl_warmup {
            c.kl_warmup = l.kl_warmup.check(v)? as u32;
        }
        c.validate()?;
        Ok(c)
    }
}

/// The settings that may change while a model trains (`session.setHyper`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HyperOverrides {
    pub beta: Option<f64>,
    pub lr: Option<f64>,
}

/// The presets, one a line, for `--help`.
pub fn presets_help() -> String {
    let lines: Vec<String> = presets()
        .iter()
        .map(|p| format!("  {:<10} {}: {}", p.name, p.label, p.description))
        .collect();
    format!("Presets:\n{}", lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PRESETS;

    #[test]
    fn every_preset_has_a_label_and_no_label_lacks_a_preset() {
        let all = presets();
        assert_eq!(all.len(), PRESETS.len());
        assert!(all
            .iter()
            .all(|p| !p.label.is_empty() && !p.description.is_empty()));
        let cifar = all.iter().find(|p| p.name == "cifar").unwrap();
        assert_eq!(cifar.settings.image, ImageShape::CIFAR);
        assert_eq!(cifar.settings.recon, Recon::Gaussian);
    }

    #[test]
    fn presets_serialize_flat_with_short_decimals() {
        let v = serde_json::to_value(&presets()[0]).unwrap();
        assert_eq!(v["name"], "mlp");
        assert_eq!(v["label"], "MLP");
        assert_eq!(v["lr"], 0.001);
        assert_eq!(v["latent"], 20);
        assert_eq!(v["recon"], "bce");
        assert_eq!(v["image"]["height"], 28);
        assert!(v.get("settings").is_none(), "{v}");
    }

    fn overrides(json: serde_json::Value) -> Result<VaeConfig, String> {
        let o: ConfigOverrides = serde_json::from_value(json).map_err(|e| e.to_string())?;
        o.resolve().map_err(|e| e.0)
    }

    #[test]
    fn overrides_apply_and_name_what_is_wrong() {
        let c = overrides(serde_json::json!({
            "preset": "conv2", "latent": 3, "beta": 0.5, "lr": 0.01, "batch": 64,
            "recon": "gaussian", "seed": 4294967295u32, "binarize": true, "kl_warmup": 500,
        }))
        .unwrap();
        assert_eq!(
            (c.latent, c.beta, c.adam.lr, c.batch, c.recon, c.seed, c.binarize),
            (3, 0.5, 0.01, 64, Recon::Gaussian, u32::MAX, true)
        );
        assert_eq!(c.kl_warmup, 500);
        // Only the preset: the preset's values.
        assert_eq!(
            overrides(serde_json::json!({ "preset": "mlp" })).unwrap(),
            VaeConfig::preset("mlp").unwrap()
        );
        for (json, needle) in [
            (
                serde_json::json!({ "preset": "mlp", "latent": 2.5 }),
                "latent size 2.5 is out of range: use a whole number from 2 to 100",
            ),
            (
                serde_json::json!({ "preset": "mlp", "batch": 0 }),
                "batch size 0",
            ),
            (
                serde_json::json!({ "preset": "mlp", "seed": -1 }),
                "seed -1",
            ),
            (
                serde_json::json!({ "preset": "mlp", "beta": 11 }),
                "beta 11 is out of range: use 0 to 10",
            ),
            (
                serde_json::json!({ "preset": "mlp", "lr": 0 }),
                "learning rate 0",
            ),
            (
                serde_json::json!({ "preset": "nope" }),
                "unknown preset 'nope'",
            ),
            (
                serde_json::json!({ "preset": "mlp", "recon": "l1" }),
                "unknown variant `l1`",
            ),
            (
                serde_json::json!({ "preset": "mlp", "latentDim": 4 }),
                "unknown field `latentDim`",
            ),
            (serde_json::json!({ "latent": 4 }), "missing field `preset`"),
            (
                serde_json::json!({ "preset": "mlp", "kl_warmup": -1 }),
                "KL warm-up -1 is out of range: use a whole number from 0 to 1000000",
            ),
        ] {
            let e = overrides(json.clone()).unwrap_err();
            assert!(e.contains(needle), "{json}: {e}");
        }
    }

    #[test]
    fn hyper_overrides_reject_unknown_keys() {
        let e = serde_json::from_value::<HyperOverrides>(serde_json::json!({ "batch": 3 }))
            .unwrap_err();
        assert!(e.to_string().contains("unknown field `batch`"), "{e}");
    }
}
