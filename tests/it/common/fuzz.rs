//! The property-based fuzzing harness of `fuzz_parsers.rs` and
//! `fuzz_user_data.rs`: many cases, a tally of their outcomes.

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
