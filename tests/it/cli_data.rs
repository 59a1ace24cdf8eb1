//! `vae train --data` / `--resume` and `vae eval --data`, end to end through
//! the binary: CIFAR-10 batches written in the real format train
//! the `cifar` preset and the loss falls; a folder of PNG/JPEG pictures
//! trains; `--resume` continues the step count and the loss; a checkpoint
//! made by the wasm surface's code path (`resume::checkpoint_bytes`, what
//! `Session.checkpoint()` calls) loads in the CLI with the same test loss;
//! data that does not fit is refused with a sentence naming the file.

use crate::common::cli::{json_line, mnist_slice, stderr, vae};
use std::path::{Path, PathBuf};

use vae_playground::checkpoint::resume;
use vae_playground::config::{ImageShape, VaeConfig};
use vae_playground::cpu::CpuBackend;
use vae_playground::data::cifar::encode_batch;
use vae_playground::data::synthetic::colour_blobs;
use vae_playground::data::user;
use vae_playground::train::Trainer;

fn metrics(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn temp(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vae-cli-data-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// CIFAR-10 binary batches in the real format (3,073-byte records), with
/// the two other files of the published archive, which are skipped.
fn cifar_dir(dir: &Path, train: usize, test: usize) {
    let write = |name: &str, n: usize, seed: u32| {
        let images = colour_blobs(ImageShape::CIFAR, n, seed);
        let labels: Vec<u8> = (0..n).map(|i| (i * 7 % 10) as u8).collect();
        std::fs::write(dir.join(name), encode_batch(&images, &labels)).unwrap();
    };
    write("data_batch_1.bin", train / 2, 1);
    write("data_batch_2.bin", train - train / 2, 3);
    write("test_batch.bin", test, 2);
    std::fs::write(dir.join("batches.meta.txt"), "airplane\nautomobile\n").unwrap();
    std::fs::write(dir.join("readme.html"), "<html>CIFAR-10</html>").unwrap();
}

fn loss(v: &serde_json::Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

#[test]
fn cifar_preset_trains_on_cifar10_batches_and_the_loss_falls() {
    let data = temp("cifar");
    let out = temp("cifar-out");
    cifar_dir(&data, 512, 128);
    let o = vae(&[
        "train",
        "--preset",
        "cifar",
        "--data",
        s(&data),
        "--backend",
        "cpu",
        "--epochs",
        "4",
        "--batch",
        "32",
        "--out",
        s(&out),
    ]);
    let err = stderr(&o);
    eprintln!("{err}");
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("512 train + 128 test images (cifar10, 3 file(s), labelled)"),
        "{err}"
    );
    assert!(
        err.contains("skipped 2 file(s)") && err.contains("readme.html"),
        "{err}"
    );
    let m = metrics(&out);
    assert_eq!(m.len(), 4);
    let (first, last) = (loss(&m[0], "test_loss"), loss(&m[3], "test_loss"));
    assert!(
        last < 0.95 * first,
        "test loss {first} -> {last}: did not fall"
    );
    let summary = json_line(&o);
    assert_eq!(summary["preset"], "cifar");
    assert_eq!(summary["step"], 64);
    // Colour samples: an RGB PNG.
    let png = std::fs::read(out.join("samples.png")).unwrap();
    assert_eq!(
        png[25], 2,
        "samples.png is not RGB (colour type {})",
        png[25]
    );
    // `eval` reads the same data and repeats the last test loss.
    let ck = out.join("model.safetensors");
    let o = vae(&[
        "eval",
        "--checkpoint",
        s(&ck),
        "--data",
        s(&data),
        "--backend",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = loss(&json_line(&o), "test_loss");
    assert!((e - last).abs() < 1e-3 * last, "eval {e} vs train {last}");
    // The grey presets refuse colour data, naming the file and the preset to use.
    let o = vae(&[
        "train",
        "--preset",
        "mlp-small",
        "--data",
        s(&data),
        "--backend",
        "cpu",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("data_batch_1.bin: holds 32x32 colour images") && err.contains("cifar preset"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn resume_continues_the_step_count_and_the_loss() {
    let data = temp("resume");
    mnist_slice(&data, 2048, 256);
    let (a, b) = (temp("resume-a"), temp("resume-b"));
    let base = ["--data", s(&data), "--backend", "cpu", "--epochs"];
    let run = |extra: &[&str], epochs: &str, out: &Path| {
        let mut args = vec!["train"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&base);
        args.extend_from_slice(&[epochs, "--out", s(out)]);
        let o = vae(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        (json_line(&o), stderr(&o))
    };
    let (first, _) = run(&["--preset", "mlp-small"], "2", &a);
    assert_eq!(first["step"], 32, "2 epochs of 16 steps");
    let ck = a.join("model.safetensors");
    let (second, err) = run(&["--resume", s(&ck)], "1", &b);
    assert!(err.contains("from step 32 (2.00 epochs done)"), "{err}");
    assert_eq!(second["step"], 48, "the step count continues");
    let (ma, mb) = (metrics(&a), metrics(&b));
    // The resumed epoch starts where the first run stopped: its train loss
    // (whose first readback is the loaded model's) is near the first run's
    // last, far below the first run's first epoch (from the untrained model).
    let (a1, a2, b1) = (
        loss(&ma[0], "train_loss"),
        loss(&ma[1], "train_loss"),
        loss(&mb[0], "train_loss"),
    );
    eprintln!("train loss: run 1 epochs {a1:.2}, {a2:.2}; resumed {b1:.2}");
    assert!(
        b1 < 1.05 * a2 && b1 < a1,
        "resumed train loss {b1} vs {a1}, {a2}"
    );
    let (ta, tb) = (loss(&first, "test_loss"), loss(&second, "test_loss"));
    assert!(
        tb < ta,
        "test loss {ta} -> {tb}: the third epoch did not improve it"
    );
    // The new checkpoint carries the step too.
    let r = resume::read(&std::fs::read(b.join("model.safetensors")).unwrap()).unwrap();
    assert_eq!((r.step, r.epochs), (48, 3.0));

    // Architecture flags are refused; training flags may change.
    let o = vae(&[
        "train",
        "--resume",
        s(&ck),
        "--latent",
        "5",
        "--recon",
        "gaussian",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("cannot change its architecture")
            && err.contains("--latent 5 (it is 20)")
            && err.contains("--recon gaussian (it is bce)"),
        "{err}"
    );
    let o = vae(&["train", "--resume", s(&ck), "--preset", "conv"]);
    assert!(
        stderr(&o).contains("--preset conv (it is mlp-small)"),
        "{}",
        stderr(&o)
    );
    let (third, _) = run(
        &["--resume", s(&ck), "--lr", "0.0005", "--batch", "256"],
        "1",
        &b,
    );
    assert_eq!(third["step"], 40, "32 + 8 steps of 256");
    // A corrupt file is refused with the reason.
    let bad = data.join("bad.safetensors");
    let bytes = std::fs::read(&ck).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    let o = vae(&["train", "--resume", s(&bad), "--data", s(&data)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot load checkpoint"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&data);
}

/// The page's download button calls `Session.checkpoint()`, which calls
/// `resume::checkpoint_bytes` on the session's trainer: the same function
/// here, on a trainer fed through `DataSet` (what `Session.setData` builds).
#[test]
fn a_checkpoint_from_the_wasm_surface_path_loads_in_the_cli() {
    let data = temp("surface");
    mnist_slice(&data, 1024, 200);
    let (set, skipped) = user::load_paths(std::slice::from_ref(&data)).unwrap();
    assert!(skipped.is_empty());
    let mut config = VaeConfig::preset("mlp-small").unwrap();
    config.batch = 64;
    let built = set.build(config.image).unwrap();
    assert_eq!((built.train.count, built.test.count), (1024, 200));
    let mut t = Trainer::new(CpuBackend::new(), config).unwrap();
    t.set_train_images(&built.train.pixels, built.train.count);
    t.set_test_images(&built.test.pixels, built.test.count);
    for _ in 0..20 {
        t.step();
    }
    let page_loss = pollster::block_on(t.evaluate(usize::MAX)).unwrap().loss;
    let bytes = pollster::block_on(resume::checkpoint_bytes(&mut t)).unwrap();
    let ck = std::env::temp_dir().join(format!(
        "vae-cli-data-page-{}.safetensors",
        std::process::id()
    ));
    std::fs::write(&ck, &bytes).unwrap();
    let o = vae(&[
        "eval",
        "--checkpoint",
        s(&ck),
        "--data",
        s(&data),
        "--backend",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cli_loss = loss(&json_line(&o), "test_loss");
    assert!(
        (cli_loss - page_loss).abs() < 1e-4 * page_loss,
        "page {page_loss} vs CLI {cli_loss}"
    );
    let o = vae(&[
        "train",
        "--resume",
        s(&ck),
        "--data",
        s(&data),
        "--backend",
        "cpu",
        "--epochs",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json_line(&o)["step"], 20 + 16);
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_file(&ck);
}

fn write_picture(path: &Path, w: u32, h: u32, seed: u32, colour: bool) {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let v = ((x * 9 + y * 5 + seed * 31) % 256) as u8;
        if colour {
            image::Rgb([v, 255 - v, (seed * 40 % 256) as u8])
        } else {
            image::Rgb([v, v, v])
        }
    });
    img.save(path).unwrap();
}

#[test]
fn a_folder_of_pictures_trains_grey_and_colour_presets() {
    let data = temp("pictures");
    let sub = data.join("cats");
    std::fs::create_dir_all(&sub).unwrap();
    for i in 0..30 {
        write_picture(&data.join(format!("p{i:02}.png")), 40, 30, i, i % 2 == 0);
    }
    for i in 0..10 {
        write_picture(&sub.join(format!("j{i}.jpg")), 25, 50, i, true);
    }
    std::fs::write(data.join("notes.txt"), "my pictures").unwrap();
    for preset in ["mlp-small", "cifar"] {
        let o = vae(&[
            "train",
            "--preset",
            preset,
            "--data",
            s(&data),
            "--backend",
            "cpu",
            "--batch",
            "8",
        ]);
        let err = stderr(&o);
        assert!(o.status.success(), "{preset}: {err}");
        assert!(
            err.contains("36 train + 4 test images (images, 40 file(s), every tenth held out"),
            "{err}"
        );
        assert!(err.contains("notes.txt"), "{err}");
        assert!(loss(&json_line(&o), "test_loss").is_finite());
    }
    // A named file that is no data is refused by name; so is a truncated
    // picture in a folder.
    let o = vae(&[
        "train",
        "--preset",
        "mlp-small",
        "--data",
        s(&data.join("notes.txt")),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("notes.txt: not a data file"),
        "{}",
        stderr(&o)
    );
    let png = std::fs::read(data.join("p00.png")).unwrap();
    std::fs::write(data.join("p99.png"), &png[..png.len() / 2]).unwrap();
    let o = vae(&["train", "--preset", "mlp-small", "--data", s(&data)]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("p99.png: not a readable PNG or JPEG"), "{err}");
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn data_that_does_not_fit_is_refused_with_the_file_named() {
    let data = temp("refuse");
    mnist_slice(&data, 100, 20);
    let o = vae(&[
        "train",
        "--preset",
        "cifar",
        "--data",
        s(&data),
        "--backend",
        "cpu",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("train-images-idx3-ubyte: holds grey 28x28 images"),
        "{err}"
    );
    // The cifar preset without --data says where to get CIFAR-10.
    let o = vae(&["train", "--preset", "cifar", "--backend", "cpu"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cifar-10-binary.tar.gz"),
        "{}",
        stderr(&o)
    );
    // A truncated CIFAR-10 batch among the files.
    let cifar = temp("refuse-cifar");
    cifar_dir(&cifar, 20, 10);
    let batch = std::fs::read(cifar.join("data_batch_2.bin")).unwrap();
    std::fs::write(cifar.join("data_batch_2.bin"), &batch[..batch.len() - 100]).unwrap();
    let o = vae(&[
        "train",
        "--preset",
        "cifar",
        "--data",
        s(&cifar),
        "--backend",
        "cpu",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("data_batch_2.bin: a CIFAR-10 batch is whole records"),
        "{err}"
    );
    // Labels that pair with no images file.
    std::fs::remove_file(data.join("t10k-labels-idx1-ubyte")).unwrap();
    let mut labels = std::fs::read(data.join("train-labels-idx1-ubyte")).unwrap();
    labels.truncate(8 + 50);
    labels[4..8].copy_from_slice(&50u32.to_be_bytes());
    std::fs::write(data.join("train-labels-idx1-ubyte"), labels).unwrap();
    let o = vae(&[
        "train",
        "--preset",
        "mlp-small",
        "--data",
        s(&data),
        "--backend",
        "cpu",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("train-labels-idx1-ubyte: its 50 labels pair with no images file"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_dir_all(&cifar);
}
