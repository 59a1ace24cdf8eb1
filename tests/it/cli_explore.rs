//! The explore commands of the `vae` command line, end to end on a
//! small MNIST slice: `train --kl-warmup` (active units and the KL weight in
//! metrics.jsonl), then `scatter`, `interpolate`, `inpaint`, `traverse` and
//! `eval --importance` on its checkpoint: each PNG decodes at the expected
//! size, each JSON line holds its fields; bad flags exit 2 naming them.

use crate::common::cli::{mnist_slice, stderr, vae};
use std::path::Path;
use std::process::Output;

/// The only stdout line of a successful run, parsed as JSON.
fn json_line(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", stderr(o));
    crate::common::cli::json_line(o)
}

/// Decodes a PNG fully: `(width, height, channels)` and its pixels.
fn png(path: &Path) -> (u32, u32, usize, Vec<u8>) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, info.color_type.samples(), buf)
}

#[test]
fn explore_commands_write_pictures_and_json_from_a_checkpoint() {
    let dir = std::env::temp_dir().join(format!("vae-cli-explore-{}", std::process::id()));
    let data = dir.join("data");
    mnist_slice(&data, 4096, 300);
    let (d, out) = (data.to_str().unwrap(), dir.join("run"));
    let o = vae(&[
        "train",
        "--preset",
        "mlp-small",
        "--epochs",
        "2",
        "--kl-warmup",
        "40",
        "--backend",
        "cpu",
        "--data",
        d,
        "--out",
        out.to_str().unwrap(),
    ]);
    let summary = json_line(&o);
    assert!(stderr(&o).contains("active units"), "{}", stderr(&o));
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for l in &lines {
        let active = l["active_units"].as_u64().expect("active_units");
        assert!((1..=20).contains(&active), "{l}");
    }
    // 32 steps per epoch: the warm-up (40 steps) is still on after epoch 1.
    let w1 = lines[0]["kl_weight"].as_f64().unwrap();
    assert!((w1 - 32.0 / 40.0).abs() < 1e-6, "{w1}");
    assert_eq!(lines[1]["kl_weight"].as_f64().unwrap(), 1.0);
    assert_eq!(summary["active_units"], lines[1]["active_units"]);

    let ck = out.join("model.safetensors");
    let ck = ck.to_str().unwrap();
    let common = ["--checkpoint", ck, "--backend", "cpu", "--data", d];
    let run = |args: &[&str]| vae(&[args, &common[..]].concat());

    let scatter = dir.join("scatter.png");
    let j = json_line(&run(&[
        "scatter",
        "--n",
        "250",
        "--plane",
        "principal",
        "--out",
        scatter.to_str().unwrap(),
    ]));
    assert_eq!(j["n"], 250);
    assert_eq!(j["plane"]["kind"], "principal");
    let per_label: u64 = j["per_label"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(per_label, 250, "every point has its label");
    let (w, h, ch, pixels) = png(&scatter);
    assert_eq!((w, h, ch), (600, 636, 3));
    let palette_hits = [[0x00u8, 0x6b, 0xa4], [0xff, 0x80, 0x0e], [0xc8, 0x52, 0x00]]
        .iter()
        .filter(|c| pixels[..600 * 600 * 3].chunks_exact(3).any(|p| p == &c[..]))
        .count();
    assert_eq!(palette_hits, 3, "class colours 0, 1 and 5 drawn");

    let strip = dir.join("strip.png");
    let j = json_line(&run(&[
        "interpolate",
        "--from",
        "0",
        "--to",
        "1",
        "--steps",
        "6",
        "--slerp",
        "--out",
        strip.to_str().unwrap(),
    ]));
    assert_eq!(
        (j["steps"].as_u64(), j["slerp"].as_bool()),
        (Some(6), Some(true))
    );
    let (w, h, ch, _) = png(&strip);
    assert_eq!((w, h, ch), (6 * 30 + 2, 32, 1));

    let inpaint = dir.join("inpaint.png");
    let j = json_line(&run(&[
        "inpaint",
        "--index",
        "0",
        "--box",
        "9,9,10,10",
        "--iters",
        "5",
        "--out",
        inpaint.to_str().unwrap(),
    ]));
    let (before, after) = (j["before"].as_f64().unwrap(), j["after"].as_f64().unwrap());
    eprintln!("cli inpaint (mlp-small, 2 epochs on 4096 images): {before} -> {after}");
    assert!(after < before, "{j}");
    assert_eq!(j["region_pixels"], 100);
    assert_eq!(j["step_errors"].as_array().unwrap().len(), 5);
    assert_eq!(png(&inpaint).0, 7 * 30 + 2);
    let j = json_line(&run(&[
        "inpaint",
        "--index",
        "2",
        "--noise",
        "gauss:0.5",
        "--iters",
        "2",
        "--out",
        inpaint.to_str().unwrap(),
    ]));
    assert_eq!(j["damage"]["kind"], "gauss");
    assert!(j["before"].as_f64().unwrap() > 0.0);

    let trav = dir.join("traverse.png");
    let j = json_line(&run(&[
        "traverse",
        "--index",
        "3",
        "--out",
        trav.to_str().unwrap(),
    ]));
    assert_eq!(j["dims"].as_array().unwrap().len(), 8);
    assert_eq!(j["values"].as_array().unwrap().len(), 9);
    let (w, h, ..) = png(&trav);
    assert_eq!((w, h), (9 * 30 + 2, 8 * 30 + 2));

    let j = json_line(&vae(&[
        "eval",
        "--checkpoint",
        ck,
        "--backend",
        "cpu",
        "--data",
        d,
        "--importance",
        "5",
        "--importance-images",
        "40",
    ]));
    assert_eq!(j["binarized"], false);
    assert_eq!(j["importance_k"], 5);
    assert_eq!(j["importance_images"], 40);
    let nll = j["importance_nll"].as_f64().unwrap();
    let elbo = j["importance_elbo_nll"].as_f64().unwrap();
    assert!(nll > 50.0 && nll < elbo, "{j}");

    // Bad flags: exit 2, naming them.
    for (args, needle) in [
        (vec!["inpaint", "--index", "0"], "--box"),
        (
            vec!["inpaint", "--index", "0", "--noise", "pink:1"],
            "'--noise'",
        ),
        (vec!["inpaint", "--index", "0", "--box", "1,2,3"], "'--box'"),
        (
            vec!["inpaint", "--index", "9999", "--box", "1,2,3,4"],
            "'--index'",
        ),
        (vec!["scatter", "--dims", "0"], "'--dims'"),
        (
            vec!["interpolate", "--from", "0", "--to", "1", "--steps", "1"],
            "'--steps'",
        ),
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
    std::fs::remove_dir_all(&dir).ok();
}
