//! CIFAR-10 binary batches, as published in `cifar-10-binary.tar.gz`
//! (<https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz>):
//! `data_batch_1.bin` .. `data_batch_5.bin` and `test_batch.bin`, each
//! 10,000 records of 3,073 bytes:
//!
//! ```text
//! byte 0:          the label, 0-9 (airplane .. truck)
//! bytes 1..1025:   the red plane, 32x32, row-major
//! bytes 1025..2049 the green plane
//! bytes 2049..3073 the blue plane
//! ```
//!
//! The planes are already CHW, the `cifar` preset's layout, so a record's
//! pixels are copied as they are.

use super::{DataError, Images};
use crate::config::ImageShape;

/// Bytes per record: one label and 3x32x32 pixels.
pub const RECORD: usize = 1 + 3 * 32 * 32;
/// Classes (labels 0-9).
pub const CLASSES: usize = 10;
/// The class names, by label (`batches.meta.txt`).
pub const CLASS_NAMES: [&str; CLASSES] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// One batch: `count` images of 3x32x32 (CHW) and their labels.
pub fn parse_batch(name: &str, bytes: &[u8]) -> Result<(Images, Vec<u8>), DataError> {
    let fail = |what: String| DataError::Format {
        file: name.to_string(),
        what,
    };
    if bytes.is_empty() {
        return Err(fail("the file is empty (0 bytes)".to_string()));
    }
    let (count, over) = (bytes.len() / RECORD, bytes.len() % RECORD);
    if over != 0 {
        return Err(fail(format!(
            "a CIFAR-10 batch is whole records of 3,073 bytes (a label and 3x32x32 pixels), \
             but its {} bytes are {count} records and {over} bytes over; the file is truncated \
             or not a CIFAR-10 binary batch (CIFAR-100 records are 3,074 bytes)",
            bytes.len()
        )));
    }
    let shape = ImageShape::CIFAR;
    let mut pixels = Vec::with_capacity(count * shape.dim());
    let mut labels = Vec::with_capacity(count);
    for (i, record) in bytes.chunks_exact(RECORD).enumerate() {
        if record[0] as usize >= CLASSES {
            return Err(fail(format!(
                "record {i} has label {}, outside 0-9; the file is corrupt or not a CIFAR-10 \
                 binary batch",
                record[0]
            )));
        }
        labels.push(record[0]);
        pixels.extend_from_slice(&record[1..]);
    }
    Ok((
        Images {
            pixels,
            count,
            channels: shape.channels,
            height: shape.height,
            width: shape.width,
        },
        labels,
    ))
}

/// Encodes images of 3x32x32 and their labels as a CIFAR-10 batch (the
/// inverse of [`parse_batch`]; for tests and tools). Panics on a bad shape.
pub fn encode_batch(images: &Images, labels: &[u8]) -> Vec<u8> {
    assert_eq!(
        (images.channels, images.height, images.width),
        (3, 32, 32),
        "CIFAR-10 images are 3x32x32"
    );
    assert_eq!(images.count, labels.len(), "one label per image");
    let mut out = Vec::with_capacity(images.count * RECORD);
    for (i, &label) in labels.iter().enumerate() {
        out.push(label);
        out.extend_from_slice(images.image(i));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::synthetic::colour_blobs;
    use super::*;

    #[test]
    fn round_trip() {
        let images = colour_blobs(ImageShape::CIFAR, 5, 3);
        let labels = [0, 9, 3, 3, 1];
        let bytes = encode_batch(&images, &labels);
        assert_eq!(bytes.len(), 5 * 3073);
        let (back, l) = parse_batch("data_batch_1.bin", &bytes).unwrap();
        assert_eq!(back, images);
        assert_eq!(l, labels);
    }

    #[test]
    fn truncated_mislabelled_and_empty_files_are_named() {
        let images = colour_blobs(ImageShape::CIFAR, 3, 3);
        let mut bytes = encode_batch(&images, &[1, 2, 3]);
        let msg = |b: &[u8]| parse_batch("test_batch.bin", b).unwrap_err().to_string();
        let m = msg(&bytes[..bytes.len() - 7]);
        assert!(
            m.starts_with("test_batch.bin: ") && m.contains("2 records and 3066 bytes over"),
            "{m}"
        );
        bytes[2 * RECORD] = 12;
        let m = msg(&bytes);
        assert!(m.contains("record 2 has label 12"), "{m}");
        assert!(msg(&[]).contains("empty"));
    }
}
