//! The trainer's state beyond one step: the last good snapshot a divergence
//! rolls back to, parameters read and loaded whole, and the state exported
//! to go on elsewhere.

use super::Trainer;
use crate::backend::{Backend, BackendError, View};
use crate::config::ConfigError;

impl<B: Backend> Trainer<B> {
    /// Copies the parameters and both Adam moments into the snapshot
    /// buffers (on the device) and remembers Adam's step.
    pub fn take_snapshot(&mut self) {
        let f = self.vae.flat;
        let snap = match self.snapshot.take() {
            Some(snap) => snap,
            None => Snapshot {
                params: self.be.alloc(f.params.len(), "snapshot params"),
                adam_m: self.be.alloc(f.adam_m.len(), "snapshot adam m"),
                adam_v: self.be.alloc(f.adam_v.len(), "snapshot adam v"),
                adam_t: 0,
                step: 0,
                valid: false,
            },
        };
        self.be.copy(f.params, snap.params);
        self.be.copy(f.adam_m, snap.adam_m);
        self.be.copy(f.adam_v, snap.adam_v);
        self.be.flush();
        self.snapshot = Some(Snapshot {
            adam_t: self.adam_t,
            step: self.step,
            valid: true,
            ..snap
        });
    }

    /// Restores the last snapshot (parameters, Adam moments, Adam's step) and
    /// clears the metric sums; returns the step the snapshot was taken at.
    /// Without a snapshot, only the sums are cleared.
    pub fn rollback(&mut self) -> u32 {
        self.be.fill(self.sums, 0.0);
        self.sum_images = 0;
        let Some(snap) = self.snapshot.as_ref().filter(|s| s.valid) else {
            self.be.flush();
            return self.step;
        };
        let f = self.vae.flat;
        self.be.copy(snap.params, f.params);
        self.be.copy(snap.adam_m, f.adam_m);
        self.be.copy(snap.adam_v, f.adam_v);
        self.be.flush();
        self.adam_t = snap.adam_t;
        snap.step
    }
    /// All parameters, flat, in `vae.table` order.
    pub async fn read_params(&mut self) -> Result<Vec<f32>, BackendError> {
        self.be.read(self.vae.flat.params).await
    }

    /// Replaces all parameters (and restarts Adam's moments).
    pub fn load_params(&mut self, values: &[f32]) {
        assert_eq!(values.len(), self.vae.table.total);
        let f = self.vae.flat;
        self.be.write(f.params, values);
        self.be.fill(f.adam_m, 0.0);
        self.be.fill(f.adam_v, 0.0);
        self.be.flush();
        self.step = 0;
        self.adam_t = 0;
        self.guard.reset();
        if let Some(snap) = &mut self.snapshot {
            snap.valid = false;
        }
    }
}

/// Everything training needs to go on elsewhere (another backend, after the
/// GPU device was lost): the parameters, Adam's moments and step, and where
/// the step loop stands. Taken with [`Trainer::export_state`].
#[derive(Clone, Debug, PartialEq)]
pub struct TrainState {
    pub params: Vec<f32>,
    pub adam_m: Vec<f32>,
    pub adam_v: Vec<f32>,
    pub adam_t: u32,
    pub step: u32,
    pub epoch: u32,
    pub cursor: usize,
}

impl<B: Backend> Trainer<B> {
    /// A host-side copy of the training state (three reads; the step loop
    /// may go on meanwhile on the web, where reads are asynchronous).
    pub async fn export_state(&mut self) -> Result<TrainState, BackendError> {
        let (step, adam_t, epoch, cursor) = (self.step, self.adam_t, self.epoch, self.cursor);
        let f = self.vae.flat;
        let params = self.be.read(f.params);
        let adam_m = self.be.read(f.adam_m);
        let adam_v = self.be.read(f.adam_v);
        Ok(TrainState {
            params: params.await?,
            adam_m: adam_m.await?,
            adam_v: adam_v.await?,
            adam_t,
            step,
            epoch,
            cursor,
        })
    }

    /// Continues from `state` (taken from a model of the same config): the
    /// same parameters, moments and step counts, so the next step draws the
    /// noise the exported model's would have. Refuses a state of another size.
    pub fn import_state(&mut self, state: &TrainState) -> Result<(), ConfigError> {
        let total = self.vae.table.total;
        for (what, v) in [
            ("parameters", &state.params),
            ("Adam m", &state.adam_m),
            ("Adam v", &state.adam_v),
        ] {
            if v.len() != total {
                return Err(ConfigError(format!(
                    "the saved state has {} {what} but this model has {total}: it belongs to another configuration",
                    v.len()
                )));
            }
        }
        let f = self.vae.flat;
        self.be.write(f.params, &state.params);
        self.be.write(f.adam_m, &state.adam_m);
        self.be.write(f.adam_v, &state.adam_v);
        self.be.fill(self.sums, 0.0);
        self.be.flush();
        self.sum_images = 0;
        self.step = state.step;
        self.adam_t = state.adam_t;
        self.epoch = state.epoch;
        // This epoch's order is drawn again from (seed, epoch) at the next step.
        if let Some(order) = self.order.take() {
            self.be.free(order);
        }
        self.cursor = if state.cursor < self.train_count() {
            state.cursor
        } else {
            0
        };
        self.guard.restart_trend();
        if let Some(snap) = &mut self.snapshot {
            snap.valid = false;
        }
        Ok(())
    }
}

/// Steps between snapshots of the last good state.
pub const SNAPSHOT_EVERY: u32 = 200;

/// Device-side copies of the parameters and Adam moments, with Adam's step.
pub(super) struct Snapshot {
    pub(super) params: View,
    pub(super) adam_m: View,
    pub(super) adam_v: View,
    pub(super) adam_t: u32,
    /// Steps run when it was taken.
    pub(super) step: u32,
    /// False until taken (and after new parameters were loaded).
    pub(super) valid: bool,
}
