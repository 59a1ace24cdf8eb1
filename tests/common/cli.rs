//! Running the `vae` binary in the CLI tests.

use std::process::{Command, Output};

/// Runs `vae` with `args` to completion.
pub fn vae(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vae"))
        .args(args)
        .output()
        .expect("run vae")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The only stdout line, parsed as JSON.
pub fn json_line(o: &Output) -> serde_json::Value {
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "exactly one stdout line expected, got {out:?}"
    );
    serde_json::from_str(lines[0]).expect("stdout is one JSON line")
}
