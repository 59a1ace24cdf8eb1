//! Every setting's range: the table `VaeConfig::validate` checks against and
//! the object the page builds its sliders from, so each number lives here
//! once.

use super::ConfigError;
use crate::backend::Recon;
use serde::Serialize;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::VaeConfig;

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
}
