//! The `vae` command line, end to end: flags, outputs, checkpoints.

use std::path::Path;
use std::process::{Command, Output};

fn vae(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vae"))
        .args(args)
        .output()
        .expect("run vae")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The last stdout line, parsed as JSON.
fn json_line(o: &Output) -> serde_json::Value {
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "exactly one stdout line expected, got {out:?}"
    );
    serde_json::from_str(lines[0]).expect("stdout is one JSON line")
}

#[test]
fn bad_flags_and_values_exit_2_naming_them() {
    for (args, needle) in [
        (vec!["train", "--preset", "mlp", "--bogus"], "--bogus"),
        (vec!["train", "--preset", "nope"], "unknown preset 'nope'"),
        (
            vec!["train", "--preset", "mlp", "--epochs", "two"],
            "'--epochs'",
        ),
        (
            vec!["train", "--preset", "mlp", "--latent", "500"],
            "latent size 500",
        ),
        (
            vec!["train", "--preset", "mlp", "--backend", "tpu"],
            "'--backend'",
        ),
        (vec!["train"], "--preset"),
        (vec!["sample", "--n", "0", "--checkpoint", "x"], "'--n'"),
        (vec!["frobnicate"], "unknown command"),
    ] {
        let o = vae(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let first = stderr(&o).lines().next().unwrap_or_default().to_string();
        assert!(
            first.starts_with("error: ") && first.contains(needle),
            "{args:?}: {first}"
        );
    }
}

#[test]
fn train_writes_checkpoint_and_grids_that_eval_and_sample_read() {
    let dir = std::env::temp_dir().join(format!("vae-cli-{}", std::process::id()));
    let out = dir.to_str().unwrap();
    let o = vae(&[
        "train",
        "--preset",
        "mlp-small",
        "--latent",
        "2",
        "--epochs",
        "1",
        "--backend",
        "cpu",
        "--out",
        out,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = json_line(&o);
    for key in [
        "preset",
        "backend",
        "adapter",
        "epochs",
        "train_loss",
        "test_loss",
        "images_per_sec",
    ] {
        assert!(summary.get(key).is_some(), "missing {key} in {summary}");
    }
    assert_eq!(summary["backend"], "cpu");
    let test_loss = summary["test_loss"].as_f64().unwrap();
    assert!(
        test_loss > 100.0 && test_loss < 200.0,
        "test loss {test_loss}"
    );
    assert!(stderr(&o).contains("epoch   1/1"), "{}", stderr(&o));
    for f in ["model.safetensors", "samples.png", "latent_grid.png"] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    assert_eq!(png_size(&dir.join("samples.png")), (8 * 30 + 2, 8 * 30 + 2));
    assert_eq!(png_size(&dir.join("latent_grid.png")), (20 * 28, 20 * 28));

    // eval reproduces a test loss of the same model (fresh noise draws aside).
    let ck = dir.join("model.safetensors");
    let o = vae(&[
        "eval",
        "--checkpoint",
        ck.to_str().unwrap(),
        "--backend",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let eval = json_line(&o)["test_loss"].as_f64().unwrap();
    assert!(
        (eval - test_loss).abs() < 1.0,
        "eval {eval} vs train's test {test_loss}"
    );

    let grid = dir.join("grid.png");
    let o = vae(&[
        "sample",
        "--checkpoint",
        ck.to_str().unwrap(),
        "--n",
        "16",
        "--out",
        grid.to_str().unwrap(),
        "--backend",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(png_size(&grid), (4 * 30 + 2, 4 * 30 + 2));

    // A corrupt checkpoint is a clear runtime error (exit 1), not a panic.
    let bad = dir.join("bad.safetensors");
    let bytes = std::fs::read(&ck).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    let o = vae(&[
        "eval",
        "--checkpoint",
        bad.to_str().unwrap(),
        "--backend",
        "cpu",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot load checkpoint"),
        "{}",
        stderr(&o)
    );
    std::fs::remove_dir_all(&dir).ok();
}

fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}
