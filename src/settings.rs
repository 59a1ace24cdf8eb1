//! What a person may set: the presets with their labels, every setting's
//! range, and [`ConfigOverrides`], the one struct that both the CLI's flags
//! and the wasm surface's settings object fill.
//!
//! [`LIMITS`] is the table `VaeConfig::validate` checks against and the
//! object the page builds its sliders from, so each number lives here once.

use crate::backend::Recon;
use crate::config::{ConfigError, ImageShape, VaeConfig};
use serde::{Deserialize, Serialize};

/// The range of one numeric setting. Serializes as the page reads it:
/// `{ min, max }` plus `integer: true` / `log: true` where they hold.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Range {
    /// How messages name the setting ("latent size").
    #[serde(skip)]
    pub name: &'static str,
    pub min: f64,
    pub max: f64,
    /// Whole numbers only.
    #[serde(skip_serializing_if = "is_false")]
    pub integer: bool,
    /// A slider over it should be logarithmic.
    #[serde(skip_serializing_if = "is_false")]
    pub log: bool,
    /// `min` itself is out of range: `min < v`.
    #[serde(skip_serializing_if = "is_false")]
    pub open_min: bool,
    /// `max` itself is out of range: `v < max`.
    #[serde(skip_serializing_if = "is_false")]
    pub open_max: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Range {
    const fn new(name: &'static str, min: f64, max: f64) -> Range {
        Range {
            name,
            min,
            max,
            integer: false,
            log: false,
            open_min: false,
            open_max: false,
        }
    }

    const fn open_min(self) -> Range {
        Range {
            open_min: true,
            ..self
        }
    }

    const fn open_max(self) -> Range {
        Range {
            open_max: true,
            ..self
        }
    }

    /// `lo <= v <= hi`, each end excluded where the range is open there.
    fn holds<T: PartialOrd>(&self, v: T, lo: T, hi: T) -> bool {
        let above = if self.open_min { v > lo } else { v >= lo };
        let below = if self.open_max { v < hi } else { v <= hi };
        above && below
    }

    const fn integer(self) -> Range {
        Range {
            integer: true,
            ..self
        }
    }

    const fn log(self) -> Range {
        Range { log: true, ..self }
    }

    /// `v` itself if it is in range (and whole, for an integer setting);
    /// otherwise a message that names the setting and the range.
    pub fn check(&self, v: f64) -> Result<f64, ConfigError> {
        let whole = !self.integer || v.fract() == 0.0;
        if v.is_finite() && whole && self.holds(v, self.min, self.max) {
            Ok(v)
        } else {
            Err(self.out_of_range(v))
        }
    }

    /// As [`Range::check`] for a setting stored as `f32`: the bounds are
    /// rounded to `f32` too, so `1e-6` stays in a range that starts at `1e-6`.
    pub fn check_f32(&self, v: f32) -> Result<(), ConfigError> {
        if v.is_finite() && self.holds(v, self.min as f32, self.max as f32) {
            Ok(())
        } else {
            Err(self.out_of_range(v))
        }
    }

    fn out_of_range(&self, v: impl std::fmt::Display) -> ConfigError {
        let (name, lo, hi) = (self.name, self.min, self.max);
        ConfigError(if self.open_min || self.open_max {
            let lo = if self.open_min {
                "more than"
            } else {
                "at least"
            };
            let hi = if self.open_max {
                "less than"
            } else {
                "at most"
            };
            format!(
                "{name} {v} is out of range: use {lo} {} and {hi} {}",
                self.min, self.max
            )
        } else if self.integer {
            format!("{name} {v} is out of range: use a whole number from {lo} to {hi}")
        } else {
            format!("{name} {v} is out of range: use {lo} to {hi}")
        })
    }
}

/// The choices of a setting that is one of a few names.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Choices {
    pub options: &'static [Recon],
}

/// Every user-settable setting's range: `Session.limits()` on the web.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Limits {
    pub latent: Range,
    pub beta: Range,
    pub lr: Range,
    pub batch: Range,
    pub seed: Range,
    pub recon: Choices,
    /// KL warm-up steps (0: off).
    pub kl_warmup: Range,
}

pub const LIMITS: Limits = Limits {
    latent: Range::new("latent size", 2.0, 100.0).integer(),
    beta: Range::new("beta", 0.0, 10.0),
    lr: Range::new("learning rate", 1e-6, 1.0).log(),
    batch: Range::new("batch size", 1.0, 1024.0).integer(),
    seed: Range::new("seed", 0.0, u32::MAX as f64).integer(),
    recon: Choices {
        options: &[Recon::Bce, Recon::Gaussian],
    },
    kl_warmup: Range::new("KL warm-up", 0.0, 1_000_000.0).integer(),
};

/// Adam's other settings: not on the page, but a checkpoint's or a JSON
/// config's values are checked against these like the rest.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct AdamLimits {
    pub beta1: Range,
    pub beta2: Range,
    pub eps: Range,
}

/// `0 <= beta1, beta2 < 1` (1 would never forget, and its bias correction
/// divides by zero); `0 < eps <= 0.01` (0 can divide by zero).
pub const ADAM_LIMITS: AdamLimits = AdamLimits {
    beta1: Range::new("Adam beta1", 0.0, 1.0).open_max(),
    beta2: Range::new("Adam beta2", 0.0, 1.0).open_max(),
    eps: Range::new("Adam eps", 0.0, 1e-2).open_min(),
};

/// How the page names a preset: `(name, label, description)`, in the order
/// of `config::PRESETS`.
pub(crate) const PRESET_LABELS: &[(&str, &str, &str)] = &[
    ("mlp", "MLP", "fully connected encoder and decoder"),
    (
        "mlp-small",
        "MLP, small",
        "fewer units: the fastest to train",
    ),
    ("latent100", "MLP, 100-d latent", "a wide latent space"),
    (
        "conv",
        "Convolutional",
        "conv encoder, transposed-conv decoder: sharper digits",
    ),
    (
        "conv2",
        "Convolutional, 2-d latent",
        "a 2-d latent: the whole latent space in one grid",
    ),
    (
        "cifar",
        "Convolutional, colour 32x32",
        "CIFAR-10's shape: 32x32 colour images, a Gaussian likelihood",
    ),
];

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
    PRESET_LABELS
        .iter()
        .map(|&(name, label, description)| PresetInfo {
            name,
            label,
            description,
            settings: Settings::from(&VaeConfig::preset(name).expect("a listed preset")),
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

    #[test]
    fn limits_serialize_as_the_page_reads_them() {
        let v = serde_json::to_value(LIMITS).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "latent": { "min": 2.0, "max": 100.0, "integer": true },
                "beta": { "min": 0.0, "max": 10.0 },
                "lr": { "min": 1e-6, "max": 1.0, "log": true },
                "batch": { "min": 1.0, "max": 1024.0, "integer": true },
                "seed": { "min": 0.0, "max": 4294967295.0, "integer": true },
                "recon": { "options": ["bce", "gaussian"] },
                "kl_warmup": { "min": 0.0, "max": 1000000.0, "integer": true },
            })
        );
    }

    #[test]
    fn validate_enforces_the_table_at_its_edges() {
        let ok = |f: &dyn Fn(&mut VaeConfig)| {
            let mut c = VaeConfig::preset("mlp").unwrap();
            f(&mut c);
            c.validate()
        };
        assert!(ok(&|c| c.latent = 2).is_ok());
        assert!(ok(&|c| c.latent = 100).is_ok());
        assert!(ok(&|c| c.latent = 1).is_err());
        assert!(ok(&|c| c.beta = 10.0).is_ok());
        assert!(ok(&|c| c.beta = 10.01).is_err());
        assert!(ok(&|c| c.adam.lr = 1e-6).is_ok());
        assert!(ok(&|c| c.adam.lr = 9e-7).is_err());
        assert!(ok(&|c| c.adam.lr = 1.0).is_ok());
        assert!(ok(&|c| c.batch = 1024).is_ok());
        assert!(ok(&|c| c.batch = 1025).is_err());
        let e = ok(&|c| c.adam.lr = 2.0).unwrap_err().0;
        assert_eq!(
            e, "learning rate 2 is out of range: use 0.000001 to 1",
            "{e}"
        );
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
