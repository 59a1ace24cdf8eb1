//! Bytes from outside: gzip streams unpacked with a cap, files and
//! directories read (natively), and the sentence for a file of no kind read.

use super::super::cifar::RECORD;
use super::super::DataError;
use super::{fail, MAX_GUNZIP};
#[cfg(not(target_arch = "wasm32"))]
use {
    super::super::detect::{sniff, Kind},
    super::{DataSet, Family},
};

/// Decompresses a gzip stream (a `.gz` download), at most [`MAX_GUNZIP`]
/// bytes out.
pub fn gunzip(name: &str, bytes: &[u8]) -> Result<Vec<u8>, DataError> {
    gunzip_capped(name, bytes, MAX_GUNZIP)
}

/// As [`gunzip`], at most `cap` bytes out: a stream that unpacks to more
/// (a gzip bomb) is refused after reading `cap + 1` bytes, no more.
pub fn gunzip_capped(name: &str, bytes: &[u8], cap: usize) -> Result<Vec<u8>, DataError> {
    use std::io::Read;
    let mut out = Vec::new();
    let mut reader = flate2::read::MultiGzDecoder::new(bytes).take(cap as u64 + 1);
    reader.read_to_end(&mut out).map_err(|e| {
        fail(
            name,
            format!("the gzip stream is corrupt or truncated ({e}); download it again"),
        )
    })?;
    if out.len() > cap {
        return Err(fail(
            name,
            format!(
                "it unpacks to more than {} bytes ({} MiB); too large",
                cap,
                cap >> 20
            ),
        ));
    }
    Ok(out)
}

/// The sentence for a file that is none of the kinds read.
pub(super) fn unknown(name: &str, bytes: &[u8]) -> DataError {
    if bytes.is_empty() {
        return fail(name, "the file is empty (0 bytes)");
    }
    let mut why = String::from(
        "not a data file this reads: not an IDX image or label file of unsigned bytes \
         (those start 00 00 08 03 or 00 00 08 01)",
    );
    if bytes.len() >= 4 && bytes[0] == 0 && bytes[1] == 0 {
        why = format!(
            "an IDX file of element type 0x{:02x} with {} dimensions; only unsigned-byte \
             (0x08) images (3 dimensions) and labels (1 dimension) are read",
            bytes[2], bytes[3]
        );
    } else if bytes.len().is_multiple_of(RECORD + 1) && !bytes.len().is_multiple_of(RECORD) {
        why.push_str(
            ", and its length is whole 3,074-byte records: a CIFAR-100 batch? only CIFAR-10 \
             (3,073-byte records) is read",
        );
    } else {
        why.push_str(
            ", not a CIFAR-10 binary batch (3,073-byte records starting with a label 0-9), \
             not a PNG or JPEG picture",
        );
    }
    fail(name, why)
}

/// Reads files and directories (natively: the CLI's `--data`). Directories
/// are walked (sorted, hidden entries skipped, 3 levels deep); files in them
/// that are none of the kinds read (a `readme.html`, `batches.meta.txt`)
/// are skipped and returned by name; a named file must be readable data.
#[cfg(not(target_arch = "wasm32"))]
pub fn load_paths(
    paths: &[std::path::PathBuf],
) -> Result<(DataSet, Vec<std::path::PathBuf>), DataError> {
    use std::path::{Path, PathBuf};
    fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), DataError> {
        let io = |source| DataError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(io)?;
        entries.sort();
        for p in entries {
            let hidden = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if hidden {
                continue;
            }
            if p.is_dir() {
                if depth > 0 {
                    walk(&p, depth - 1, out)?;
                }
            } else {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut set = DataSet::new();
    let mut skipped = Vec::new();
    for path in paths {
        let (files, named) = if path.is_dir() {
            let mut files = Vec::new();
            walk(path, 3, &mut files)?;
            (files, false)
        } else if path.exists() {
            (vec![path.clone()], true)
        } else {
            return Err(DataError::MissingFile { path: path.clone() });
        };
        for file in files {
            let bytes = std::fs::read(&file).map_err(|source| DataError::Io {
                path: file.clone(),
                source,
            })?;
            let name = file.display().to_string();
            let kind = match sniff(&bytes) {
                Kind::Gzip => sniff(&gunzip(&name, &bytes)?),
                k => k,
            };
            match kind {
                Kind::Unknown if !named => skipped.push(file),
                Kind::Png | Kind::Jpeg => {
                    set.check_family(&name, Family::Pictures)?;
                    let picture = crate::data::images::decode(&name, &bytes)?;
                    set.add_picture(&name, picture)?;
                }
                _ => {
                    set.add_file(&name, &bytes)?;
                }
            }
        }
    }
    if set.is_empty() {
        let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(fail(
            &list.join(", "),
            "no data files found: give IDX image (and label) files, CIFAR-10 binary batches \
             (data_batch_N.bin, test_batch.bin) or PNG/JPEG pictures",
        ));
    }
    Ok((set, skipped))
}
