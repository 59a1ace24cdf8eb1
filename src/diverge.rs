//! Divergence: the rule that judges each metrics readback, used by the CLI and
//! the wasm `Session` alike (through `Trainer::checked_metrics`).
//!
//! A readback is diverged when
//! - the mean loss, or the checksum of all parameters, is not finite
//!   ([`Cause::NonFinite`]);
//! - the loss is above [`CAP_PER_PIXEL`] nats per pixel ([`Cause::AboveCap`]):
//!   the untrained model's BCE is ln 2 ≈ 0.69 per pixel, so this catches an
//!   explosion even at the very first readback;
//! - the loss is above [`EXPLODE_FACTOR`] times the untrained model's, the
//!   first healthy readback ([`Cause::Exploded`]; after beta changes, the
//!   first readback at the new beta);
//! - the loss rose for [`RISING_READBACKS`] readbacks in a row and stands above
//!   [`RISING_FACTOR`] times the best readback so far ([`Cause::Rising`]); the
//!   second condition keeps noise on a plateau from counting.

use std::fmt;

/// Over this many nats (or squared-error units) per pixel, a loss has exploded.
pub const CAP_PER_PIXEL: f64 = 10.0;
/// Over this many times the untrained model's loss, a loss has exploded.
pub const EXPLODE_FACTOR: f64 = 4.0;
/// This many rising readbacks in a row (and above `RISING_FACTOR` x best) diverge.
pub const RISING_READBACKS: u32 = 10;
pub const RISING_FACTOR: f64 = 1.5;

/// Why a readback was judged diverged.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cause {
    /// The loss or a parameter is NaN or infinite.
    NonFinite,
    /// Above `CAP_PER_PIXEL` per pixel.
    AboveCap { cap: f64 },
    /// Above `EXPLODE_FACTOR` times the untrained model's loss.
    Exploded { baseline: f64 },
    /// Rising for this many readbacks, from the best loss so far.
    Rising { readbacks: u32, best: f64 },
}

/// A diverged readback, after the trainer rolled back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Divergence {
    pub cause: Cause,
    /// The readback's mean loss per image (may be NaN or infinite).
    pub loss: f64,
    /// Steps run when it was detected.
    pub step: u32,
    /// The step whose parameters and optimizer state were restored.
    pub restored_step: u32,
}

impl Divergence {
    /// What happened, as a clause: "the loss reached 5.1e31, over 4 times
    /// the untrained model's 543.2".
    pub fn what(&self) -> String {
        let loss = readable(self.loss);
        match self.cause {
            Cause::NonFinite if self.loss.is_finite() => {
                "a parameter became NaN or infinite".to_string()
            }
            Cause::NonFinite => format!("the loss became {loss}"),
            Cause::AboveCap { cap } => {
                format!("the loss reached {loss}, over the cap of {}", readable(cap))
            }
            Cause::Exploded { baseline } => format!(
                "the loss reached {loss}, over {EXPLODE_FACTOR} times the untrained model's {}",
                readable(baseline)
            ),
            Cause::Rising { readbacks, best } => format!(
                "the loss rose for {readbacks} readbacks in a row to {loss} (best {})",
                readable(best)
            ),
        }
    }

    /// The page's sentence: what happened, what was done, what to change.
    pub fn sentence(&self, lr: f32, beta: f32) -> String {
        format!(
            "Training diverged at step {} ({}): rolled back to step {} and paused; \
             lower the learning rate (now {lr}) or beta (now {beta}), then continue.",
            self.step,
            self.what(),
            self.restored_step
        )
    }
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "training diverged at step {} ({})",
            self.step,
            self.what()
        )
    }
}

/// A number as a person reads it: "543.2", "5.1e31", "NaN".
pub fn readable(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "infinity" } else { "-infinity" }.into()
    } else if x.abs() >= 1e6 || (x != 0.0 && x.abs() < 1e-3) {
        format!("{x:.1e}")
    } else {
        let s = format!("{x:.1}");
        s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
    }
}

/// The judge of readbacks: remembers the untrained model's loss, the best
/// loss and how long the loss has been rising.
#[derive(Clone, Debug)]
pub struct Guard {
    cap: f64,
    baseline: Option<f64>,
    best: f64,
    prev: f64,
    rising: u32,
}

impl Guard {
    /// A guard for images of `pixels` values each.
    pub fn new(pixels: usize) -> Guard {
        Guard {
            cap: CAP_PER_PIXEL * pixels.max(1) as f64,
            baseline: None,
            best: f64::INFINITY,
            prev: f64::INFINITY,
            rising: 0,
        }
    }

    /// The untrained model's loss, once a readback recorded it.
    pub fn baseline(&self) -> Option<f64> {
        self.baseline
    }

    /// Judges one readback: its mean `loss` and whether every parameter is
    /// finite. `None` when healthy.
    pub fn check(&mut self, loss: f64, params_finite: bool) -> Option<Cause> {
        if !loss.is_finite() || !params_finite {
            return Some(Cause::NonFinite);
        }
        if loss > self.cap {
            return Some(Cause::AboveCap { cap: self.cap });
        }
        let baseline = *self.baseline.get_or_insert(loss);
        if loss > EXPLODE_FACTOR * baseline {
            return Some(Cause::Exploded { baseline });
        }
        self.rising = if loss > self.prev { self.rising + 1 } else { 0 };
        self.prev = loss;
        self.best = self.best.min(loss);
        if self.rising >= RISING_READBACKS && loss > RISING_FACTOR * self.best {
            return Some(Cause::Rising {
                readbacks: self.rising,
                best: self.best,
            });
        }
        None
    }

    /// Forgets the trend (after a rollback): the next readback starts a new run.
    pub fn restart_trend(&mut self) {
        self.prev = f64::INFINITY;
        self.rising = 0;
    }

    /// Forgets the trend, the best loss and the baseline (after beta changed
    /// the loss's scale: a trained model's KL term weighs differently now);
    /// the next readback sets the baseline again, the cap still holds.
    pub fn rescale(&mut self) {
        self.restart_trend();
        self.best = f64::INFINITY;
        self.baseline = None;
    }

    /// Forgets everything (new parameters were loaded).
    pub fn reset(&mut self) {
        *self = Guard {
            cap: self.cap,
            ..Guard::new(1)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy_training_passes() {
        let mut g = Guard::new(784);
        for loss in [543.0, 300.0, 200.0, 180.0, 185.0, 170.0, 171.0, 160.0] {
            assert_eq!(g.check(loss, true), None, "{loss}");
        }
        assert_eq!(g.baseline(), Some(543.0));
    }

    #[test]
    fn non_finite_loss_or_parameter_diverges() {
        let mut g = Guard::new(784);
        assert_eq!(g.check(f64::NAN, true), Some(Cause::NonFinite));
        assert_eq!(g.check(f64::INFINITY, true), Some(Cause::NonFinite));
        assert_eq!(g.check(100.0, false), Some(Cause::NonFinite));
        // Nothing was recorded from the bad readbacks.
        assert_eq!(g.baseline(), None);
    }

    #[test]
    fn a_loss_above_the_cap_diverges_even_at_the_first_readback() {
        let mut g = Guard::new(784);
        assert_eq!(g.check(5e31, true), Some(Cause::AboveCap { cap: 7840.0 }));
        assert_eq!(g.check(7839.0, true), None);
    }

    #[test]
    fn a_loss_four_times_the_untrained_one_diverges() {
        let mut g = Guard::new(784);
        assert_eq!(g.check(543.0, true), None);
        assert_eq!(g.check(2000.0, true), None);
        assert_eq!(
            g.check(2200.0, true),
            Some(Cause::Exploded { baseline: 543.0 })
        );
    }

    #[test]
    fn a_long_rise_diverges_but_plateau_noise_does_not() {
        let mut g = Guard::new(784);
        assert_eq!(g.check(543.0, true), None);
        assert_eq!(g.check(100.0, true), None);
        // Ten tiny rises on a plateau: not far enough above the best.
        for i in 1..=12 {
            assert_eq!(g.check(100.0 + i as f64, true), None);
        }
        g.restart_trend();
        // A steady climb to over 1.5 x the best: ten rises after a start.
        let mut verdict = None;
        for i in 0..=10 {
            verdict = g.check(100.0 + 10.0 * i as f64, true);
            if i < 10 {
                assert_eq!(verdict, None, "{i}");
            }
        }
        assert_eq!(
            verdict,
            Some(Cause::Rising {
                readbacks: 10,
                best: 100.0
            })
        );
    }

    #[test]
    fn a_new_beta_sets_a_new_baseline() {
        let mut g = Guard::new(784);
        assert_eq!(g.check(543.0, true), None);
        assert_eq!(g.check(100.0, true), None);
        g.rescale();
        // beta 0 -> 10 on a model with a large KL: a jump, not a divergence.
        assert_eq!(g.check(2500.0, true), None);
        assert_eq!(g.baseline(), Some(2500.0));
        assert_eq!(g.check(2400.0, true), None);
    }

    #[test]
    fn sentences_name_what_to_change_and_read_as_numbers() {
        let d = Divergence {
            cause: Cause::AboveCap { cap: 7840.0 },
            loss: 5.1e31,
            step: 37,
            restored_step: 0,
        };
        let s = d.sentence(1.0, 1.0);
        assert!(s.contains("step 37"), "{s}");
        assert!(s.contains("5.1e31"), "{s}");
        assert!(s.contains("rolled back to step 0"), "{s}");
        assert!(s.contains("lower the learning rate (now 1)"), "{s}");
        assert!(s.contains("beta"), "{s}");
        assert_eq!(readable(543.21), "543.2");
        assert_eq!(readable(7840.0), "7840");
        assert_eq!(readable(f64::NAN), "NaN");
    }
}
