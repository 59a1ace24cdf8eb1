//! Counter-based random numbers, bit-identical in Rust and WGSL.
//!
//! Every random word is a pure function of `(seed, stream, index)`, so the CPU
//! and GPU backends draw the same noise for the same training step, in any
//! order and on any number of threads. The hash is PCG-RXS-M-XS (Jarzynski and
//! Olano, "Hash Functions for GPU Rendering", 2020), chained over the three
//! inputs. The WGSL twins live in `shaders/reparam.wgsl` and
//! `shaders/gather.wgsl`, and must stay word-for-word the same functions.

/// PCG-RXS-M-XS on one 32-bit word.
#[inline]
pub fn pcg(v: u32) -> u32 {
    let state = v.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}

/// The random word at `index` of stream `stream` under `seed`.
#[inline]
pub fn hash3(seed: u32, stream: u32, index: u32) -> u32 {
    pcg(pcg(pcg(seed) ^ stream) ^ index)
}

/// Uniform in `[0, 1)` with 24 random bits.
#[inline]
pub fn uniform(seed: u32, stream: u32, index: u32) -> f32 {
    (hash3(seed, stream, index) >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// Standard normal by Box-Muller over words `2*index` and `2*index + 1`.
#[inline]
pub fn normal(seed: u32, stream: u32, index: u32) -> f32 {
    let a = hash3(seed, stream, index.wrapping_mul(2));
    let b = hash3(seed, stream, index.wrapping_mul(2).wrapping_add(1));
    // u1 in (0, 1] so the log is finite.
    let u1 = ((a >> 8) + 1) as f32 * (1.0 / 16_777_216.0);
    let u2 = (b >> 8) as f32 * (1.0 / 16_777_216.0);
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Named streams, so that no two uses of randomness ever share words.
/// A training step `t` uses `stream(kind, t)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum StreamKind {
    Init = 1,
    Reparam = 2,
    Binarize = 3,
    Shuffle = 4,
    Sample = 5,
}

/// The stream id for `kind` at counter `t` (a step, an epoch, a layer).
pub fn stream(kind: StreamKind, t: u32) -> u32 {
    pcg(kind as u32 ^ pcg(t))
}

/// A Fisher-Yates permutation of `0..n` drawn from `(seed, stream)`.
pub fn permutation(n: usize, seed: u32, stream: u32) -> Vec<u32> {
    let mut p: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        // Lemire's multiply-shift: unbiased enough for shuffling (n < 2^24).
        let r = hash3(seed, stream, i as u32) as u64;
        let j = ((r * (i as u64 + 1)) >> 32) as usize;
        p.swap(i, j);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_is_in_range_and_roughly_flat() {
        let n = 100_000;
        let mut buckets = [0usize; 10];
        for i in 0..n {
            let u = uniform(7, 3, i);
            assert!((0.0..1.0).contains(&u));
            buckets[(u * 10.0) as usize] += 1;
        }
        for b in buckets {
            assert!((9_500..10_500).contains(&b), "bucket {b}");
        }
    }

    #[test]
    fn normal_has_unit_moments() {
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|i| normal(1, 2, i) as f64).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "var {var}");
        assert!(xs.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn streams_and_seeds_differ() {
        assert_ne!(hash3(1, 1, 0), hash3(2, 1, 0));
        assert_ne!(hash3(1, 1, 0), hash3(1, 2, 0));
        assert_ne!(
            stream(StreamKind::Reparam, 0),
            stream(StreamKind::Binarize, 0)
        );
    }

    #[test]
    fn permutation_is_a_permutation() {
        let mut p = permutation(1000, 5, 9);
        assert_ne!(p[..10], (0..10).collect::<Vec<u32>>()[..]);
        p.sort_unstable();
        assert_eq!(p, (0..1000).collect::<Vec<u32>>());
    }
}
