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

/// The first `train` and `test` images (and labels) of MNIST in `dir`, as
/// the four IDX files `--data` reads.
pub fn mnist_slice(dir: &std::path::Path, train: u32, test: u32) {
    let src = vae_playground::data::default_dir();
    std::fs::create_dir_all(dir).unwrap();
    for (name, count, item) in [
        ("train-images-idx3-ubyte", train, 784usize),
        ("train-labels-idx1-ubyte", train, 1),
        ("t10k-images-idx3-ubyte", test, 784),
        ("t10k-labels-idx1-ubyte", test, 1),
    ] {
        let bytes = std::fs::read(src.join(name)).expect("MNIST (run `npm ci`)");
        let header = if item == 1 { 8 } else { 16 };
        let mut out = bytes[..header].to_vec();
        out[4..8].copy_from_slice(&count.to_be_bytes());
        out.extend_from_slice(&bytes[header..header + count as usize * item]);
        std::fs::write(dir.join(name), out).unwrap();
    }
}
