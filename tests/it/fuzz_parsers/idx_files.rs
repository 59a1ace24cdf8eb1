//! IDX files, whole and streamed, and MNIST built from them.

use super::*;

// ---------------------------------------------------------------- IDX

/// A valid IDX file: 1 to 4 dimensions of 1 to 5, any bytes.
fn idx_file() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(1usize..=5, 1..=4).prop_flat_map(|dims| {
        let len = dims.iter().product::<usize>();
        proptest::collection::vec(any::<u8>(), len)
            .prop_map(move |data| idx::encode_idx(&dims, &data))
    })
}

/// A valid 3-d image file, or a label file whose labels are digits.
fn idx_images_or_labels() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (1usize..=6, 1usize..=5, 1usize..=5).prop_flat_map(|(n, h, w)| {
            proptest::collection::vec(any::<u8>(), n * h * w)
                .prop_map(move |d| idx::encode_idx(&[n, h, w], &d))
        }),
        proptest::collection::vec(0u8..10, 1..=8)
            .prop_map(|labels| idx::encode_idx(&[labels.len()], &labels)),
        idx_file(),
    ]
}

/// Every IDX entry point on `bytes`; the stream, fed in `cuts`, must agree
/// with the whole-file parse.
fn check_idx(bytes: &[u8], cuts: &[usize]) -> Result<String, TestCaseError> {
    let whole = idx::parse_idx_named("fuzz", bytes);
    let outcome = match &whole {
        Ok(i) => format!("ok, {}-d", i.dims.len()),
        Err(e) => data_kind(e),
    };
    match &whole {
        Ok(i) => {
            prop_assert!(!i.dims.is_empty());
            prop_assert_eq!(i.dims.iter().product::<usize>(), i.data.len());
        }
        Err(e) => says_something(e)?,
    }
    let owned = idx::Idx::from_vec("fuzz", bytes.to_vec());
    prop_assert_eq!(owned.as_ref().ok(), whole.as_ref().ok());

    let images = Images::from_idx_named("fuzz", bytes);
    match &images {
        Ok(im) => {
            prop_assert_eq!(im.pixels.len(), im.count * im.dim());
            prop_assert_eq!(im.image(im.count - 1).len(), im.dim());
        }
        Err(e) => says_something(e)?,
    }
    match data::labels_from_idx("fuzz", bytes) {
        Ok(l) => prop_assert!(l.iter().all(|&d| d < 10)),
        Err(e) => says_something(&e)?,
    }

    // The streaming decoder, as the worker feeds it.
    let mut s = ImageStream::new("fuzz");
    let mut from = 0;
    let mut streamed = Ok(());
    for &to in cuts.iter().chain([&bytes.len()]) {
        let to = to.clamp(from, bytes.len());
        streamed = s.push(&bytes[from..to]);
        from = to;
        if streamed.is_err() {
            break;
        }
        prop_assert!(s.count() <= s.total());
        prop_assert_eq!(s.pixels().len(), s.count() * s.height() * s.width());
        prop_assert_eq!(s.done(), s.total() > 0 && s.count() == s.total());
    }
    if streamed.is_ok() {
        streamed = s.finish();
    }
    match (&streamed, &images) {
        (Ok(()), Ok(im)) => {
            prop_assert!(s.done());
            prop_assert_eq!(s.pixels(), &im.pixels[..]);
            prop_assert_eq!((s.height(), s.width()), (im.height, im.width));
        }
        (Err(e), Err(_)) => says_something(e)?,
        (a, b) => prop_assert!(
            false,
            "stream and whole file disagree: {:?} vs {:?}",
            a,
            b.as_ref().map(|i| i.count)
        ),
    }
    Ok(outcome)
}

/// The variant's name: `Truncated`, `BadMagic`, ...
fn data_kind(e: &data::DataError) -> String {
    let debug = format!("{e:?}");
    debug
        .split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn idx_mutated_files() {
    let strategy = || {
        (
            mutated(idx_images_or_labels()),
            proptest::collection::vec(0usize..200, 0..6),
        )
    };
    let tally = fuzz(
        "IDX, mutated files",
        strategy,
        |((base, edits), mut cuts)| {
            let bytes = edited(base, &edits);
            cuts.sort_unstable();
            check_idx(&bytes, &cuts)
        },
    );
    // Past the magic: accepted files, and each length and header check.
    for outcome in [
        "ok, 3-d",
        "ok, 1-d",
        "Truncated",
        "Trailing",
        "BadMagic",
        "ZeroDim",
    ] {
        assert!(count(&tally, outcome) > 0, "no case ended in {outcome}");
    }
}

#[test]
fn idx_raw_bytes() {
    let strategy = || {
        (
            proptest::collection::vec(any::<u8>(), 0..64),
            proptest::collection::vec(0usize..64, 0..4),
        )
    };
    let tally = fuzz("IDX, raw bytes", strategy, |(bytes, mut cuts)| {
        cuts.sort_unstable();
        check_idx(&bytes, &cuts)?;
        // Raw bytes rarely pass the magic: behind a valid magic, they are
        // random dimensions and data.
        let mut prefixed = vec![0, 0, 8, 1 + bytes.first().copied().unwrap_or(0) % 4];
        prefixed.extend_from_slice(&bytes);
        check_idx(&prefixed, &cuts)
    });
    assert!(count(&tally, "Truncated") + count(&tally, "Trailing") > 0);
}

#[test]
fn mnist_from_mutated_files() {
    // Each of two places gets its own good file or another one, with 0 to
    // 3 edits.
    let place = || {
        (
            proptest::option::of(idx_images_or_labels()),
            proptest::collection::vec(byte_edit(), 0..3),
        )
    };
    let strategy = || (place(), place(), 0usize..4);
    let tally = fuzz(
        "MNIST, four files, two mutated",
        strategy,
        |((a, ea), (b, eb), pick)| {
            let images = idx::encode_idx(&[2, 3, 3], &[7; 18]);
            let labels = idx::encode_idx(&[2], &[1, 9]);
            let mut files = [images.clone(), labels.clone(), images, labels];
            let (i, j) = (pick, (pick + 1) % 4);
            files[i] = edited(a.unwrap_or_else(|| files[i].clone()), &ea);
            files[j] = edited(b.unwrap_or_else(|| files[j].clone()), &eb);
            Ok(
                match data::Mnist::from_bytes(&files[0], &files[1], &files[2], &files[3]) {
                    Ok(m) => {
                        prop_assert_eq!(m.train.count, m.train_labels.len());
                        prop_assert_eq!(m.test.count, m.test_labels.len());
                        "ok".to_string()
                    }
                    Err(e) => {
                        says_something(&e)?;
                        data_kind(&e)
                    }
                },
            )
        },
    );
    for outcome in ["ok", "CountMismatch", "WrongNdim", "BadLabel"] {
        assert!(count(&tally, outcome) > 0, "no case ended in {outcome}");
    }
}
