//! The `vae` command line, end to end: flags, outputs, checkpoints.

use crate::common::cli::{json_line, mnist_slice, stderr, vae};
use std::path::Path;

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
        (
            vec!["train", "--preset", "mlp", "--latent", "2.5"],
            "latent size 2.5 is out of range: use a whole number",
        ),
        (
            vec!["train", "--preset", "mlp", "--recon", "l1"],
            "'--recon'",
        ),
        (
            vec!["train", "--preset", "mlp", "--epoch", "2"],
            "did you mean '--epochs'",
        ),
        (vec!["bench", "--preset", "nope"], "unknown preset 'nope'"),
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
fn help_works_for_every_command() {
    for (args, needles) in [
        (
            vec!["--help"],
            vec!["Usage: vae <COMMAND>", "train", "eval", "sample", "bench"],
        ),
        (
            vec!["train", "--help"],
            vec![
                "Usage: vae train",
                "--latent <Z>",
                "--recon <KIND>",
                "--out <DIR>",
                "cifar",
            ],
        ),
        (
            vec!["eval", "--help"],
            vec!["Usage: vae eval", "--checkpoint <FILE>"],
        ),
        (
            vec!["sample", "--help"],
            vec!["Usage: vae sample", "--n <N>"],
        ),
        (
            vec!["bench", "--help"],
            vec!["Usage: vae bench", "--kernels", "--steps <N>"],
        ),
        (vec!["help", "bench"], vec!["Usage: vae bench"]),
    ] {
        let o = vae(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        for n in needles {
            assert!(out.contains(n), "{args:?}: {n:?} missing in {out}");
        }
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
    for f in [
        "model.safetensors",
        "samples.png",
        "latent_grid.png",
        "metrics.jsonl",
        "loss.svg",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    // One JSON line per epoch, agreeing with the summary.
    let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 1, "{metrics}");
    let epoch = &lines[0];
    assert_eq!(epoch["epoch"], 1);
    assert_eq!(epoch["test_loss"], summary["test_loss"]);
    assert_eq!(epoch["train_loss"], summary["train_loss"]);
    for key in [
        "train_recon",
        "train_kl",
        "test_recon",
        "test_kl",
        "seconds",
        "images_per_sec",
    ] {
        let v = epoch[key].as_f64().unwrap_or(f64::NAN);
        assert!(v.is_finite() && v >= 0.0, "{key} = {v} in {epoch}");
    }
    let close = |a: &serde_json::Value, b: f64| (a.as_f64().unwrap() - b).abs() < 1e-6 * b.abs();
    assert!(close(
        &epoch["test_loss"],
        epoch["test_recon"].as_f64().unwrap() + epoch["test_kl"].as_f64().unwrap()
    ));
    // The loss picture: an SVG holding both curves.
    let svg = std::fs::read_to_string(dir.join("loss.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
        "{svg}"
    );
    let texts = svg_texts(&svg);
    assert!(
        texts.iter().any(|t| t == "train") && texts.iter().any(|t| t == "test"),
        "legend missing: {texts:?}"
    );
    assert!(svg.contains("<circle"), "no points drawn");
    assert_eq!(png_size(&dir.join("samples.png")), (8 * 30 + 2, 8 * 30 + 2));
    assert_eq!(png_size(&dir.join("latent_grid.png")), (20 * 28, 20 * 28));

    // eval reproduces the test loss of the same model. Evaluation is a pure
    // function of the parameters (saved as exact f32), the test images and
    // fixed noise (seed ^ 0x5eed, one stream per chunk of rows): the same
    // backend runs the same sums in the same order, so the two numbers agree
    // to the bit in practice. The slack only allows for a change in
    // floating-point summation order (f32 sums over 10,000 images of ~150
    // nats: about 1e-4 nats per image), far below the 1 nat this once allowed.
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
        (eval - test_loss).abs() <= 1e-3,
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

/// The text of every `<text>` element of an SVG.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            Some(
                t.split_once('>')?
                    .1
                    .split_once("</text>")?
                    .0
                    .trim()
                    .to_string(),
            )
        })
        .collect()
}

/// `--lr 1` (the top of the allowed range) explodes within a few steps: the
/// CLI catches it at a readback, rolls back, halves the learning rate once
/// and says so; when it diverges again it exits 1 naming what to change.
#[test]
fn train_at_lr_1_rolls_back_halves_lr_then_gives_up() {
    let dir = std::env::temp_dir().join(format!("vae-cli-diverge-{}", std::process::id()));
    mnist_slice(&dir, 2048, 256);
    let o = vae(&[
        "train",
        "--preset",
        "mlp-small",
        "--lr",
        "1",
        "--epochs",
        "3",
        "--backend",
        "cpu",
        "--data",
        dir.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    let err = stderr(&o);
    eprintln!("{err}");
    assert!(
        err.contains("halved the learning rate from 1 to 0.5"),
        "no rollback notice: {err}"
    );
    assert!(err.contains("rolled back to step 0"), "{err}");
    assert_eq!(o.status.code(), Some(1), "{err}");
    let last = err.lines().last().unwrap();
    assert!(
        last.contains("again after halving the learning rate to 0.5"),
        "{last}"
    );
    assert!(
        last.contains("lower --lr") && last.contains("lower --beta"),
        "{last}"
    );
    assert!(o.stdout.is_empty(), "no summary after giving up");
}

/// `bench --ops`: one JSON line per op and shape of a CPU step, the
/// convolutions among them, and a last line whose total the ops add up to.
#[test]
fn bench_ops_breaks_a_cpu_step_down_by_op() {
    let o = vae(&["bench", "--ops", "--preset", "cifar", "--steps", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let ops: Vec<&str> = lines.iter().filter_map(|l| l["op"].as_str()).collect();
    for op in [
        "conv2d_forward",
        "conv_transpose2d_backward_weights",
        "matmul",
        "adam",
    ] {
        let found = ops.iter().any(|o| o.contains(op));
        assert!(found, "{op} missing from {ops:?}");
    }
    let last = lines.last().unwrap();
    let total = last["total_ms_per_step"].as_f64().expect("a total");
    let sum: f64 = lines
        .iter()
        .map(|l| l["ms_per_step"].as_f64().unwrap())
        .sum();
    assert!(
        (sum - total).abs() <= 1e-6 * total.max(1.0),
        "{sum} vs {total}"
    );
    let shares: f64 = lines.iter().map(|l| l["share"].as_f64().unwrap()).sum();
    assert!((shares - 1.0).abs() < 1e-6, "shares add up to {shares}");
}
