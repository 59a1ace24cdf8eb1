//! Property-based fuzzing of the readers of a user's data: the
//! content sniffer, IDX of any size, CIFAR-10 batches, gzip, PNG/JPEG (the
//! `image` crate natively, RGBA pixels from the page) and building a set for
//! a preset's shape. Same style as `fuzz_parsers.rs`: valid files mutated so
//! the cases reach the deep checks, at least 10,000 cases per property on
//! small inputs. A panic fails the test; every rejection must be a sentence
//! that starts with the file's name.

use crate::common::fuzz::{apply_bytes, count, fuzz, ByteEdit};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use vae_playground::config::ImageShape;
use vae_playground::data::cifar::{encode_batch, RECORD};
use vae_playground::data::detect::{sniff, Kind};
use vae_playground::data::idx::encode_idx;
use vae_playground::data::images::decode;
use vae_playground::data::user::DataSet;
use vae_playground::data::Images;

/// The rejection's first words after the file name, numbers blanked.
fn kind_of(msg: &str, name: &str) -> Result<String, TestCaseError> {
    let rest = msg.strip_prefix(name).and_then(|r| r.strip_prefix(": "));
    let Some(rest) = rest else {
        return Err(TestCaseError::fail(format!(
            "the message does not start with the file's name: {msg}"
        )));
    };
    prop_assert!(rest.len() > 10, "too short to act on: {msg}");
    let words: Vec<&str> = rest
        .split_whitespace()
        .take(4)
        .map(|w| {
            if w.chars().any(|c| c.is_ascii_digit()) {
                "_"
            } else {
                w
            }
        })
        .collect();
    Ok(words.join(" "))
}

// ---------------------------------------------------------------- files

fn pixels(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(37).wrapping_add(seed))
        .collect()
}

fn cifar_file(records: usize, seed: u8) -> Vec<u8> {
    let images = Images {
        pixels: pixels(records * 3072, seed),
        count: records,
        channels: 3,
        height: 32,
        width: 32,
    };
    let labels: Vec<u8> = (0..records).map(|i| (i % 10) as u8).collect();
    encode_batch(&images, &labels)
}

fn encode_picture(w: u32, h: u32, seed: u8, jpeg: bool, colour: bool) -> Vec<u8> {
    use image::{DynamicImage, ImageFormat, RgbImage};
    let mut rgb = pixels((w * h * 3) as usize, seed);
    if !colour {
        for p in rgb.chunks_exact_mut(3) {
            p[1] = p[0];
            p[2] = p[0];
        }
    }
    let img = DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, rgb).unwrap());
    let mut out = std::io::Cursor::new(Vec::new());
    let format = if jpeg {
        ImageFormat::Jpeg
    } else {
        ImageFormat::Png
    };
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// A valid file of each kind, small.
fn base_file() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => (1usize..5, 1usize..7, 1usize..7, any::<u8>())
            .prop_map(|(n, h, w, s)| encode_idx(&[n, h, w], &pixels(n * h * w, s))),
        2 => (1usize..12).prop_map(|n| encode_idx(&[n], &(0..n).map(|i| (i % 10) as u8).collect::<Vec<_>>())),
        3 => (1usize..3, any::<u8>()).prop_map(|(r, s)| cifar_file(r, s)),
        1 => (1usize..4, 1usize..5, 1usize..5).prop_map(|(n, h, w)| gzip(&encode_idx(&[n, h, w], &pixels(n * h * w, 3)))),
        1 => (1u32..9, 1u32..9, any::<u8>(), any::<bool>()).prop_map(|(w, h, s, c)| encode_picture(w, h, s, false, c)),
        1 => (1u32..9, 1u32..9, any::<u8>()).prop_map(|(w, h, s)| encode_picture(w, h, s, true, true)),
    ]
}

fn edit() -> impl Strategy<Value = ByteEdit> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| ByteEdit::Flip { at, bit }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| ByteEdit::Set { at, byte }),
        any::<usize>().prop_map(|at| ByteEdit::Truncate { at }),
        proptest::collection::vec(any::<u8>(), 1..40).prop_map(ByteEdit::Append),
        (any::<usize>(), 1usize..RECORD + 2).prop_map(|(at, len)| ByteEdit::Remove { at, len }),
        (
            0usize..16,
            prop_oneof![0u32..40, Just(u32::MAX), Just(1 << 20), Just(1025)]
        )
            .prop_map(|(at, value)| ByteEdit::SpliceU32 { at, value }),
    ]
}

fn mutated() -> impl Strategy<Value = Vec<u8>> {
    (base_file(), proptest::collection::vec(edit(), 0..3)).prop_map(|(mut b, edits)| {
        for e in &edits {
            apply_bytes(&mut b, e);
        }
        b
    })
}

const SHAPES: [ImageShape; 3] = [
    ImageShape::MNIST,
    ImageShape::CIFAR,
    ImageShape {
        channels: 1,
        height: 5,
        width: 3,
    },
];

/// Adds `bytes` as a file (decoding pictures natively first); the outcome.
fn add(set: &mut DataSet, name: &str, bytes: &[u8]) -> Result<String, TestCaseError> {
    let kind = sniff(bytes);
    let result = match kind {
        Kind::Png | Kind::Jpeg => decode(name, bytes).and_then(|p| set.add_picture(name, p)),
        _ => set.add_file(name, bytes),
    };
    match result {
        Ok(info) => {
            prop_assert!(info.kind == "idx-labels" || info.count > 0);
            Ok(format!("ok {}", info.kind))
        }
        Err(e) => kind_of(&e.to_string(), name),
    }
}

/// Builds `set` for `shape`; checks the images and labels add up.
fn build(set: &DataSet, shape: ImageShape) -> Result<String, TestCaseError> {
    match set.build(shape) {
        Ok(b) => {
            let dim = shape.dim();
            prop_assert_eq!(b.train.pixels.len(), b.train.count * dim);
            prop_assert_eq!(b.test.pixels.len(), b.test.count * dim);
            prop_assert!(b.train.count > 0 && b.test.count > 0);
            prop_assert_eq!(b.summary.train, b.train.count);
            prop_assert_eq!(b.summary.test, b.test.count);
            if let Some(l) = &b.train_labels {
                prop_assert_eq!(l.len(), b.train.count);
            }
            if let Some(l) = &b.test_labels {
                prop_assert_eq!(l.len(), b.test.count);
            }
            Ok("built".to_string())
        }
        Err(e) => {
            let msg = e.to_string();
            prop_assert!(msg.contains(": ") && msg.len() > 20, "{}", msg);
            Ok("refused".to_string())
        }
    }
}

#[test]
fn one_mutated_file_is_read_or_refused_with_its_name() {
    let tally = fuzz("user data, one mutated file", mutated, |bytes| {
        let mut set = DataSet::new();
        let outcome = add(&mut set, "upload.bin", &bytes)?;
        if outcome.starts_with("ok") {
            for shape in SHAPES {
                build(&set, shape)?;
            }
        } else {
            prop_assert!(set.is_empty(), "a refused file changed the set");
        }
        Ok(outcome)
    });
    for outcome in [
        "ok idx-images",
        "ok idx-labels",
        "ok cifar10",
        "ok image",
        "truncated",
        "a _ batch is",
        "not a data",
    ] {
        assert!(count(&tally, outcome) > 0, "no case ended in {outcome}");
    }
}

#[test]
fn sets_of_mutated_files_build_or_refuse() {
    let names = ["train-images", "train-labels", "t10k-images", "t10k-labels"];
    let strategy = proptest::collection::vec((0usize..4, mutated()), 1..4);
    let tally = fuzz(
        "user data, sets of 1-3 files",
        || strategy,
        |files| {
            let mut set = DataSet::new();
            for (i, bytes) in &files {
                let before = set.len();
                if !add(&mut set, names[*i], bytes)?.starts_with("ok") {
                    prop_assert_eq!(set.len(), before);
                }
            }
            let mut outcome = String::new();
            for shape in SHAPES {
                outcome.push_str(&build(&set, shape)?);
                outcome.push(' ');
            }
            Ok(outcome)
        },
    );
    assert!(count(&tally, "built") > 0 && count(&tally, "refused") > 0);
}

#[test]
fn rgba_pixels_of_any_claimed_size() {
    let strategy = (
        prop_oneof![6 => 0usize..12, 1 => Just(4096), 1 => Just(4097), 1 => Just(usize::MAX / 2)],
        prop_oneof![6 => 0usize..12, 1 => Just(5000)],
        prop_oneof![3 => Just(0isize), 1 => -8isize..8],
        any::<u8>(),
    );
    let tally = fuzz(
        "user data, RGBA pictures",
        || strategy,
        |(w, h, jitter, seed)| {
            let want = w.saturating_mul(h).saturating_mul(4).min(4096);
            let len = (want as isize + jitter).max(0) as usize;
            let rgba = pixels(len, seed);
            let mut set = DataSet::new();
            match set.add_rgba("photo.png", &rgba, w, h) {
                Ok(info) => {
                    prop_assert_eq!((info.width, info.height), (w, h));
                    for shape in SHAPES {
                        build(&set, shape)?;
                    }
                    Ok("ok".to_string())
                }
                Err(e) => kind_of(&e.to_string(), "photo.png"),
            }
        },
    );
    assert!(count(&tally, "ok") > 0);
    assert!(count(&tally, "_ RGBA pixels need") > 0);
}
