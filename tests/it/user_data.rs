//! Each reader of a user's data on good, truncated, mislabelled
//! and oversized input: IDX images of any size and IDX labels, CIFAR-10
//! binary batches, gzip, PNG and JPEG pictures. Every refusal is a sentence
//! that starts with the file's name, and leaves the data set as it was.

use vae_playground::backend::Backend;
use vae_playground::config::{ImageShape, VaeConfig};
use vae_playground::cpu::CpuBackend;
use vae_playground::data::cifar::{encode_batch, RECORD};
use vae_playground::data::idx::encode_idx;
use vae_playground::data::images::decode;
use vae_playground::data::synthetic::colour_blobs;
use vae_playground::data::user::DataSet;
use vae_playground::train::Trainer;

fn idx_images(n: usize, h: usize, w: usize) -> Vec<u8> {
    encode_idx(
        &[n, h, w],
        &(0..n * h * w).map(|i| (i % 253) as u8).collect::<Vec<_>>(),
    )
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    encode_idx(&[labels.len()], labels)
}

fn cifar(n: usize) -> Vec<u8> {
    let images = colour_blobs(ImageShape::CIFAR, n, 5);
    encode_batch(&images, &(0..n).map(|i| (i % 10) as u8).collect::<Vec<_>>())
}

fn picture(w: u32, h: u32, format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 99]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// Adds `bytes` to a fresh set as `name`; the error sentence, if any, with
/// the set checked unchanged.
fn refusal(name: &str, bytes: &[u8]) -> Option<String> {
    let mut set = DataSet::new();
    let result = match vae_playground::data::detect::sniff(bytes) {
        vae_playground::data::detect::Kind::Png | vae_playground::data::detect::Kind::Jpeg => {
            decode(name, bytes).and_then(|p| set.add_picture(name, p))
        }
        _ => set.add_file(name, bytes),
    };
    match result {
        Ok(_) => None,
        Err(e) => {
            assert!(set.is_empty(), "{name}: refused but added");
            let msg = e.to_string();
            assert!(msg.starts_with(&format!("{name}: ")), "{msg}");
            Some(msg)
        }
    }
}

fn refused(name: &str, bytes: &[u8], needle: &str) {
    let msg = refusal(name, bytes).unwrap_or_else(|| panic!("{name}: accepted"));
    assert!(msg.contains(needle), "{name}: {needle:?} not in {msg}");
}

#[test]
fn good_files_of_each_kind_are_read() {
    for (name, bytes) in [
        ("idx-images", idx_images(3, 28, 28)),
        ("idx-images-any-size", idx_images(2, 7, 40)),
        ("idx-labels", idx_labels(&[0, 5, 9, 25])),
        ("data_batch_1.bin", cifar(3)),
        ("images.gz", gzip(&idx_images(2, 5, 5))),
        ("a.png", picture(9, 5, image::ImageFormat::Png)),
        ("b.jpg", picture(5, 9, image::ImageFormat::Jpeg)),
    ] {
        assert_eq!(refusal(name, &bytes), None, "{name}");
    }
}

#[test]
fn truncated_files_say_so() {
    let idx = idx_images(3, 28, 28);
    refused(
        "train-images",
        &idx[..idx.len() - 1],
        "truncated: its IDX header says 3 images of 28x28",
    );
    refused("train-images", &idx[..10], "truncated header");
    let labels = idx_labels(&[1, 2, 3]);
    refused("train-labels", &labels[..9], "truncated");
    let batch = cifar(2);
    refused(
        "data_batch_1.bin",
        &batch[..RECORD + 17],
        "1 records and 17 bytes over",
    );
    let gz = gzip(&idx);
    refused(
        "x.gz",
        &gz[..gz.len() / 2],
        "gzip stream is corrupt or truncated",
    );
    let png = picture(30, 30, image::ImageFormat::Png);
    refused(
        "a.png",
        &png[..png.len() / 2],
        "not a readable PNG or JPEG picture",
    );
    let jpg = picture(30, 30, image::ImageFormat::Jpeg);
    refused(
        "b.jpg",
        &jpg[..jpg.len() / 3],
        "not a readable PNG or JPEG picture",
    );
    refused("empty", &[], "empty");
}

#[test]
fn mislabelled_files_are_refused() {
    // A CIFAR-10 record whose label is past 9 (or a CIFAR-100 file).
    let mut batch = cifar(3);
    batch[RECORD] = 10;
    refused("data_batch_1.bin", &batch, "not a data file");
    let mut batch = cifar(3);
    batch.truncate(RECORD + 5);
    batch.extend(std::iter::repeat_n(0, 2 * RECORD - batch.len() + 2));
    refused("cifar-100.bin", &batch, "CIFAR-100");
    // An IDX label file that pairs with no images file (wrong count), and
    // images swapped for labels.
    let mut set = DataSet::new();
    set.add_file("train-images", &idx_images(10, 28, 28))
        .unwrap();
    set.add_file("train-labels", &idx_labels(&[1; 9])).unwrap();
    let msg = set.build(ImageShape::MNIST).unwrap_err().to_string();
    assert!(
        msg.starts_with("train-labels: its 9 labels pair with no images file"),
        "{msg}"
    );
    // Signed or float IDX elements.
    let mut f32idx = idx_images(1, 2, 2);
    f32idx[2] = 0x0d;
    refused("floats", &f32idx, "element type 0x0d");
    // IDX with 2 dimensions.
    refused("matrix", &encode_idx(&[2, 2], &[0; 4]), "2 dimensions");
    // A text file.
    refused(
        "readme.html",
        b"<html>CIFAR-10</html>",
        "not a data file this reads",
    );
}

#[test]
fn oversized_files_are_refused_before_allocating() {
    // A header that claims far more than the file holds: refused by length.
    let mut huge = idx_images(1, 4, 4);
    huge[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
    refused("huge", &huge, "truncated");
    // Dimensions whose product overflows.
    let mut overflow = encode_idx(&[1, 1, 1], &[0]);
    for at in [4, 8, 12] {
        overflow[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    }
    refused("overflow", &overflow, "overflows");
    // Real images larger than 1024 a side.
    refused(
        "big-idx",
        &idx_images(1, 1025, 3),
        "larger than 1024 pixels on a side",
    );
    // A picture larger than 4096 a side (refused by the decoder's limits).
    let wide = picture(4097, 1, image::ImageFormat::Png);
    refused("wide.png", &wide, "larger than 4096 pixels on a side");
    let mut set = DataSet::new();
    let e = set
        .add_rgba("wide.png", &[0; 16], 5000, 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("larger than 4096"), "{e}");
    // A gzip bomb: 1 MiB of zeros in a few kB, against a cap of 64 KiB
    // (the real cap, 512 MiB, works the same way: reading stops at cap + 1).
    let bomb = gzip(&vec![0u8; 1 << 20]);
    assert!(bomb.len() < 16 << 10, "{}", bomb.len());
    let e = vae_playground::data::user::gunzip_capped("bomb.gz", &bomb, 64 << 10)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("bomb.gz: it unpacks to more than 65536 bytes"),
        "{e}"
    );
    assert_eq!(
        vae_playground::data::user::gunzip_capped("ok.gz", &bomb, 1 << 20)
            .unwrap()
            .len(),
        1 << 20
    );
}

#[test]
fn a_data_set_takes_one_kind_of_file() {
    let mut set = DataSet::new();
    set.add_file("data_batch_1.bin", &cifar(2)).unwrap();
    let e = set
        .add_file("train-images", &idx_images(2, 28, 28))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("train-images: holds IDX files but the data set holds CIFAR-10"),
        "{e}"
    );
    let e = set
        .add_rgba("a.png", &[0; 4], 1, 1)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("a.png: holds PNG/JPEG pictures"), "{e}");
    let e = set
        .add_file("a.png", &picture(2, 2, image::ImageFormat::Png))
        .unwrap_err()
        .to_string();
    assert!(e.contains("decode it"), "{e}");
    assert_eq!(set.len(), 1);
    // IDX images of two sizes do not mix.
    let mut set = DataSet::new();
    set.add_file("train-images", &idx_images(2, 28, 28))
        .unwrap();
    let e = set
        .add_file("t10k-images", &idx_images(2, 32, 32))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("its images are 32x32 but train-images's are 28x28"),
        "{e}"
    );
}

/// `Session.testImages` reads the test images back from the backend
/// (`Trainer::test_pixels`): the bytes `setData` built, on both backends,
/// for colour CIFAR-10 data built from batches, past a batch boundary.
#[test]
fn test_pixels_read_back_what_set_data_built_on_both_backends() {
    let mut set = DataSet::new();
    set.add_file("data_batch_1.bin", &cifar(30)).unwrap();
    set.add_file("test_batch.bin", &cifar(13)).unwrap();
    let built = set.build(ImageShape::CIFAR).unwrap();
    assert_eq!((built.train.count, built.test.count), (30, 13));
    let mut config = VaeConfig::preset("cifar").unwrap();
    config.batch = 4;
    let indices = [12u32, 0, 5, 12, 7, 3, 1];
    let want: Vec<u8> = indices
        .iter()
        .flat_map(|&i| built.test.image(i as usize).to_vec())
        .collect();
    fn read<B: Backend>(
        be: B,
        config: VaeConfig,
        b: &vae_playground::data::user::Built,
        idx: &[u32],
    ) -> Vec<u8> {
        let mut t = Trainer::new(be, config).unwrap();
        t.set_train_images(&b.train.pixels, b.train.count);
        t.set_test_images(&b.test.pixels, b.test.count);
        pollster::block_on(t.test_pixels(idx)).unwrap()
    }
    assert_eq!(
        read(CpuBackend::new(), config.clone(), &built, &indices),
        want
    );
    assert_eq!(
        read(crate::common::gpu::new_gpu(), config, &built, &indices),
        want
    );
}
