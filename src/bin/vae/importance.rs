//! `vae eval --importance K`: the importance-weighted bound (Burda et al.,
//! IWAE) on the test log-likelihood, K samples per image, in chunks with a
//! progress line; says whether the pixels were binarized.

use serde_json::{json, Value};
use vae_playground::backend::Backend;
use vae_playground::explore::Explorer;
use vae_playground::train::Trainer;

use crate::cli::Failure;
use crate::train::Progress;

/// Images per chunk: a progress update each.
const CHUNK: usize = 50;

/// The bound over the first `images` test images, as JSON fields to add to
/// eval's line.
pub fn importance<B: Backend>(
    t: &mut Trainer<B>,
    k: usize,
    images: usize,
) -> Result<Value, Failure> {
    let n = images.min(t.test_count());
    let progress = Progress::new(n as u64);
    let (mut ll, mut elbo, mut first, mut binarized) = (0.0, 0.0, 0, false);
    let start = std::time::Instant::now();
    let mut x = Explorer::new(t);
    while first < n {
        let s = pollster::block_on(x.importance_bound(k, first, CHUNK.min(n - first)))?;
        ll += s.log_likelihood_sum;
        elbo += s.elbo_sum;
        binarized = s.binarized;
        first = s.next;
        if let Some(bar) = &progress.0 {
            bar.set_position(first as u64);
        } else if first % 1000 < CHUNK || first == n {
            eprintln!(
                "importance bound: {first}/{n} images, -log p(x) {:.3} nats so far",
                -ll / first as f64
            );
        }
    }
    progress.finish();
    Ok(json!({
        "importance_k": k,
        "importance_images": n,
        "importance_nll": -ll / n.max(1) as f64,
        "importance_elbo_nll": -elbo / n.max(1) as f64,
        "importance_seconds": start.elapsed().as_secs_f64(),
        "binarized": binarized,
    }))
}
