//! Every file under tests/regressions/ is an input that once crashed or
//! would have crashed a loader; each must now be refused with a clear
//! message. Add a file and its expected message to `CASES`; a file without
//! an entry fails the test, so none is forgotten.
//!
//! - `checkpoint-30g-parameters.safetensors` (848 bytes): eight dense layers
//!   of 65,536; before the size cap `vae eval --checkpoint` allocated 120 GB
//!   and aborted (exit 134, SIGABRT).
//! - `checkpoint-4gib-activations.safetensors`: few parameters but 2^20
//!   values per image at batch 1024 (4 GiB for one layer's output).
//! - `*-unflatten-wraps-to-784.*`: an unflatten of 3 x 6148914691236517336
//!   x 2, which is 784 modulo 2^64; with wrapping arithmetic (release
//!   builds) the config validated and the first convolution then walked
//!   6e18 rows (debug builds panicked on the overflow instead).

use std::path::Path;
use vae_playground::checkpoint;
use vae_playground::config::VaeConfig;

const CASES: &[(&str, &str)] = &[
    (
        "checkpoint-30g-parameters.safetensors",
        "the model has 30119619848 parameters, over the cap of 67108864",
    ),
    (
        "checkpoint-4gib-activations.safetensors",
        "activations for a batch of 1024",
    ),
    (
        "checkpoint-unflatten-wraps-to-784.safetensors",
        "encoder layer 2 (unflatten): 3x6148914691236517336x2 does not hold its input of 784 features",
    ),
    (
        "config-unflatten-wraps-to-784.json",
        "encoder layer 2 (unflatten): 3x6148914691236517336x2 does not hold its input of 784 features",
    ),
];

/// The loader's message for `file`'s bytes.
fn refusal(file: &str, bytes: &[u8]) -> String {
    if file.ends_with(".json") {
        let c: VaeConfig = serde_json::from_slice(bytes).expect("a config that parses");
        c.validate().expect_err("refused").0
    } else {
        checkpoint::from_bytes(bytes)
            .expect_err("refused")
            .to_string()
    }
}

#[test]
fn every_regression_file_is_refused_with_its_message() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_str().unwrap().to_string();
        let Some(&(_, want)) = CASES.iter().find(|(f, _)| *f == file) else {
            panic!("{file}: add it and its expected message to CASES");
        };
        let msg = refusal(&file, &std::fs::read(&path).unwrap());
        assert!(msg.contains(want), "{file}: {msg}");
        seen += 1;
    }
    assert_eq!(seen, CASES.len(), "a file listed in CASES is missing");
}

#[test]
fn the_cli_refuses_each_regression_checkpoint_with_exit_1() {
    // `vae eval` reads the checkpoint before anything else (data, device):
    // the 848-byte file once made it allocate 120 GB and abort (exit 134).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    for &(file, want) in CASES.iter().filter(|(f, _)| f.ends_with(".safetensors")) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_vae"))
            .args(["eval", "--backend", "cpu", "--checkpoint"])
            .arg(dir.join(file))
            .output()
            .expect("run vae");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{file}: {stderr}");
        assert!(
            stderr.contains("cannot load checkpoint"),
            "{file}: {stderr}"
        );
        assert!(stderr.contains(want), "{file}: {stderr}");
    }
}
