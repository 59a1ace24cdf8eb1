//! Property-based fuzzing of every parser a user can feed: IDX files (whole
//! and streamed), checkpoints (raw bytes, and valid safetensors framing with
//! mutated metadata, shapes, dtypes and offsets), `VaeConfig` JSON and the
//! settings objects (`ConfigOverrides`, `HyperOverrides`).
//!
//! Inputs are valid files and configs with structured mutations (flipped
//! bytes, truncations, big numbers spliced into headers, fields replaced),
//! so the cases get past the first magic check into the deep code. Each
//! property runs at least 10,000 cases on small inputs. A panic anywhere
//! fails the property (proptest catches it and shrinks the input); every
//! rejection must be an `Err` whose message says something.
//!
//! A crashing input found here is kept under tests/regressions/ and loaded
//! by tests/it/regressions.rs. A module per parser family: idx, config_json,
//! checkpoints.

use crate::common::fuzz::{count, edited, fuzz, ByteEdit};
use pollster::block_on;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use vae_playground::checkpoint;
use vae_playground::config::{VaeConfig, MAX_PARAMETERS, PRESETS};
use vae_playground::cpu::CpuBackend;
use vae_playground::data::{self, idx, ImageStream, Images};
use vae_playground::settings::{ConfigOverrides, HyperOverrides};
use vae_playground::train::Trainer;
use vae_playground::vae::param_table;

/// A short name for a rejection: its first words, numbers and quoted
/// names blanked out, so equal kinds of error tally together.
fn kind_of(msg: &str) -> String {
    let mut words = Vec::new();
    for w in msg.split_whitespace().take(5) {
        if w.chars().any(|c| c.is_ascii_digit()) || w.contains('\'') || w.contains('`') {
            words.push("_");
        } else {
            words.push(w);
        }
        if w.ends_with(':') || w.ends_with(';') {
            break;
        }
    }
    words.join(" ")
}

// ---------------------------------------------------------------- bytes

fn big_u32() -> impl Strategy<Value = u32> {
    prop_oneof![
        0u32..64,
        Just(u32::MAX),
        Just(u32::MAX - 1),
        Just(1 << 31),
        Just(1 << 16),
        Just(65_537),
        any::<u32>(),
    ]
}

fn big_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..4096,
        Just(u64::MAX),
        Just(u64::MAX / 4),
        Just(1 << 32),
        Just((1 << 32) - 1),
        Just(100_000_000),
        Just(100_000_001),
        (0u32..64).prop_map(|k| 1u64 << k),
        any::<u64>(),
    ]
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    let at = 0usize..4096;
    prop_oneof![
        3 => (at.clone(), 0u8..8).prop_map(|(at, bit)| ByteEdit::Flip { at, bit }),
        2 => (at.clone(), any::<u8>()).prop_map(|(at, byte)| ByteEdit::Set { at, byte }),
        2 => at.clone().prop_map(|at| ByteEdit::Truncate { at }),
        1 => proptest::collection::vec(any::<u8>(), 1..16).prop_map(ByteEdit::Append),
        2 => (0usize..32, big_u32()).prop_map(|(at, value)| ByteEdit::SpliceU32 { at, value }),
        1 => (0usize..16, big_u64()).prop_map(|(at, value)| ByteEdit::SpliceU64 { at, value }),
        1 => (at.clone(), 1usize..64).prop_map(|(at, len)| ByteEdit::Remove { at, len }),
        1 => (at, 1usize..64).prop_map(|(at, len)| ByteEdit::Duplicate { at, len }),
    ]
}
fn mutated(
    base: impl Strategy<Value = Vec<u8>>,
) -> impl Strategy<Value = (Vec<u8>, Vec<ByteEdit>)> {
    (base, proptest::collection::vec(byte_edit(), 0..4))
}
fn says_something(e: &impl std::fmt::Display) -> Result<(), TestCaseError> {
    let msg = e.to_string();
    prop_assert!(!msg.trim().is_empty(), "an empty error message");
    Ok(())
}

mod checkpoints;
mod config_json;
mod idx_files;
