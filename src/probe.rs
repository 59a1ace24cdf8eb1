//! The timed probe behind the page's `backend="auto"`:
//! training steps of a throwaway model with the same architecture as the one
//! that will train (fresh weights, synthetic images), on a given backend, so
//! that the page can time both backends on the chosen preset without touching
//! the model it trains or counting the probe as training.

use crate::backend::{AdamStep, Backend, Noise};
use crate::config::VaeConfig;
use crate::error::Error;
use crate::rng::{self, StreamKind};
use crate::vae::Vae;

/// Runs `steps` training steps (gather, forward, loss, backward, Adam, the
/// metric sums) of a throwaway model of `config` on `be`, on synthetic
/// images, and resolves once the device has finished them (one readback).
/// Frees everything it allocated; returns the mean loss of the last step
/// (finite, or the probe ran something wrong).
pub async fn probe_steps<B: Backend>(
    be: &mut B,
    config: &VaeConfig,
    steps: u32,
) -> Result<f64, Error> {
    let vae = Vae::new(be, config.clone())?;
    let dim = vae.dim();
    let rows = vae.max_rows();
    // A batch of synthetic images (a diagonal ramp) and the identity order.
    let pixels: Vec<u8> = (0..rows * dim).map(|i| (i * 37 % 251) as u8).collect();
    let bytes = crate::backend::upload_bytes(be, &pixels, "probe images");
    let order = be.alloc(rows, "probe order");
    be.write_u32(order, &(0..rows as u32).collect::<Vec<_>>());
    let sums = be.alloc(2, "probe sums");
    let seed = config.seed;
    let a = config.adam;
    for t in 0..steps {
        let binarize = config.binarize.then(|| Noise {
            seed,
            stream: rng::stream(StreamKind::Binarize, t),
        });
        be.gather_images(bytes, dim, order, 0, rows, vae.x, binarize);
        be.fill(vae.flat.grads, 0.0);
        let noise = Noise {
            seed,
            stream: rng::stream(StreamKind::Reparam, t),
        };
        vae.forward_loss(be, rows, noise);
        vae.backward_beta(be, rows, config.beta);
        let f = vae.flat;
        let step = AdamStep {
            lr: a.lr,
            beta1: a.beta1,
            beta2: a.beta2,
            eps: a.eps,
            t: t + 1,
        };
        be.adam(f.params, f.grads, f.adam_m, f.adam_v, step);
        be.fill(sums, 0.0);
        be.sum_into(vae.recon.slice(0, rows), sums.slice(0, 1));
        be.sum_into(vae.kl.slice(0, rows), sums.slice(1, 1));
        be.flush();
        be.pace();
    }
    let read = be.read(sums).await;
    vae.free(be);
    for v in [bytes, order, sums] {
        be.free(v);
    }
    be.flush();
    let s = read?;
    Ok((s[0] as f64 + config.beta as f64 * s[1] as f64) / rows as f64)
}
