//! The property-based fuzzing harness of `fuzz_parsers.rs` and
//! `fuzz_user_data.rs`: many cases, a tally of their outcomes, and the edits
//! both make to a valid file's bytes.

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use std::cell::RefCell;
use std::collections::BTreeMap;

pub const CASES: u32 = 10_000;

/// Runs `check` on `CASES` values of `strategy`; `check` names each case's
/// outcome ("ok" or the kind of rejection). Prints how many cases ended in
/// each outcome (`--nocapture` shows it) and returns the tally, so a test can
/// assert that the cases reached the deep checks. A panic or a failed
/// assertion fails the test with the shrunk input.
pub fn fuzz<S: Strategy>(
    name: &str,
    strategy: impl FnOnce() -> S + Send,
    check: impl Fn(S::Value) -> Result<String, TestCaseError> + Send,
) -> BTreeMap<String, usize>
where
    S::Value: std::fmt::Debug,
{
    // Generating from deeply nested unions takes more stack than a test
    // thread's 2 MiB (the generator, not the code under test).
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn_scoped(scope, || run_cases(name, strategy(), check))
            .unwrap()
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

fn run_cases<S: Strategy>(
    name: &str,
    strategy: S,
    check: impl Fn(S::Value) -> Result<String, TestCaseError>,
) -> BTreeMap<String, usize>
where
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new(ProptestConfig {
        cases: CASES,
        // Failures are kept by hand as files under tests/regressions/.
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let tally = RefCell::new(BTreeMap::<String, usize>::new());
    let trace = std::env::var_os("FUZZ_TRACE");
    let result = runner.run(&strategy, |v| {
        if let Some(path) = &trace {
            // A crash that kills the process (a stack overflow, an abort)
            // leaves its input here.
            std::fs::write(path, format!("{name}\n{v:#?}")).unwrap();
        }
        let outcome = check(v)?;
        *tally.borrow_mut().entry(outcome).or_default() += 1;
        Ok(())
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    let tally = tally.into_inner();
    let total: usize = tally.values().sum();
    eprintln!("{name}: {total} cases");
    for (outcome, n) in &tally {
        eprintln!("  {n:>6}  {outcome}");
    }
    assert!(total >= CASES as usize, "{name}: {total} cases");
    tally
}

/// The outcomes whose name starts with `prefix`, added up.
pub fn count(tally: &BTreeMap<String, usize>, prefix: &str) -> usize {
    tally
        .iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(_, n)| n)
        .sum()
}

/// One change to a file's bytes. Positions are taken modulo the length.
#[derive(Clone, Debug)]
pub enum ByteEdit {
    Flip {
        at: usize,
        bit: u8,
    },
    Set {
        at: usize,
        byte: u8,
    },
    Truncate {
        at: usize,
    },
    Append(Vec<u8>),
    /// Overwrites four bytes with a big-endian u32 (an IDX dimension).
    SpliceU32 {
        at: usize,
        value: u32,
    },
    /// Overwrites eight bytes with a little-endian u64 (a safetensors length).
    SpliceU64 {
        at: usize,
        value: u64,
    },
    Remove {
        at: usize,
        len: usize,
    },
    Duplicate {
        at: usize,
        len: usize,
    },
}

pub fn apply_bytes(bytes: &mut Vec<u8>, edit: &ByteEdit) {
    let n = bytes.len();
    let pos = |at: usize| if n == 0 { 0 } else { at % n };
    match *edit {
        ByteEdit::Flip { at, bit } if n > 0 => bytes[pos(at)] ^= 1 << bit,
        ByteEdit::Set { at, byte } if n > 0 => bytes[pos(at)] = byte,
        ByteEdit::Truncate { at } => bytes.truncate(pos(at)),
        ByteEdit::Append(ref more) => bytes.extend_from_slice(more),
        ByteEdit::SpliceU32 { at, value } => splice(bytes, at, &value.to_be_bytes()),
        ByteEdit::SpliceU64 { at, value } => splice(bytes, at, &value.to_le_bytes()),
        ByteEdit::Remove { at, len } if n > 0 => {
            let from = pos(at);
            bytes.drain(from..(from + len).min(n));
        }
        ByteEdit::Duplicate { at, len } if n > 0 => {
            let from = pos(at);
            let piece = bytes[from..(from + len).min(n)].to_vec();
            splice_in(bytes, from, &piece);
        }
        _ => {}
    }
}

fn splice(bytes: &mut Vec<u8>, at: usize, with: &[u8]) {
    if bytes.len() < at + with.len() {
        bytes.resize(at + with.len(), 0);
    }
    bytes[at..at + with.len()].copy_from_slice(with);
}

fn splice_in(bytes: &mut Vec<u8>, at: usize, piece: &[u8]) {
    let tail = bytes.split_off(at);
    bytes.extend_from_slice(piece);
    bytes.extend_from_slice(&tail);
}

pub fn edited(mut bytes: Vec<u8>, edits: &[ByteEdit]) -> Vec<u8> {
    for e in edits {
        apply_bytes(&mut bytes, e);
    }
    bytes
}
