//! What a user's file is, judged by its bytes (never by its name): an IDX
//! image or label file, a CIFAR-10 binary batch, a PNG or JPEG image, a gzip
//! stream (to decompress and judge again), or none of these.
//!
//! Sniffing is cheap (the header and the length, plus CIFAR's label bytes)
//! and never fails; the readers ([`super::cifar`], [`super::idx`]) then
//! judge the whole file and say precisely what is wrong.

use super::cifar::RECORD;
use super::idx::DTYPE_U8;

/// A file's kind by content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// IDX, unsigned bytes, 3 dimensions (N, H, W).
    IdxImages,
    /// IDX, unsigned bytes, 1 dimension (N).
    IdxLabels,
    /// Records of 3,073 bytes whose first byte (the label) is 0-9.
    Cifar10,
    Png,
    Jpeg,
    Gzip,
    Unknown,
}

impl Kind {
    /// The name JS sees (`DataSet.sniff`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::IdxImages => "idx-images",
            Kind::IdxLabels => "idx-labels",
            Kind::Cifar10 => "cifar10",
            Kind::Png => "png",
            Kind::Jpeg => "jpeg",
            Kind::Gzip => "gzip",
            Kind::Unknown => "unknown",
        }
    }
}

pub const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

/// The kind of `bytes`. An IDX header is enough to say IDX (a truncated IDX
/// file is still IDX: its reader says it is truncated); a CIFAR-10 batch
/// needs at least one record and every whole record's label byte below 10
/// (a truncated batch is still CIFAR-10 to its reader). An IDX header whose
/// declared length does not match while the file is whole CIFAR-10 records
/// is CIFAR-10 (a first record of label 0 whose pixels start 0, 8, 3).
pub fn sniff(bytes: &[u8]) -> Kind {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Kind::Gzip;
    }
    if bytes.starts_with(&PNG_SIGNATURE) {
        return Kind::Png;
    }
    if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        return Kind::Jpeg;
    }
    let idx = idx_kind(bytes);
    if let Some((kind, exact)) = idx {
        if exact {
            return kind;
        }
    }
    if cifar_labels_ok(bytes) {
        return Kind::Cifar10;
    }
    match idx {
        Some((kind, _)) => kind,
        None => Kind::Unknown,
    }
}

/// `Some((kind, length matches the header))` for an unsigned-byte IDX header
/// of 1 or 3 dimensions.
fn idx_kind(bytes: &[u8]) -> Option<(Kind, bool)> {
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 || bytes[2] != DTYPE_U8 {
        return None;
    }
    let kind = match bytes[3] {
        1 => Kind::IdxLabels,
        3 => Kind::IdxImages,
        _ => return None,
    };
    let ndim = bytes[3] as usize;
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Some((kind, false));
    }
    let payload = bytes[4..header].chunks_exact(4).try_fold(1usize, |acc, c| {
        acc.checked_mul(u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
    });
    let exact = payload.and_then(|p| p.checked_add(header)) == Some(bytes.len());
    Some((kind, exact))
}

/// At least one whole record, and each whole record starts with a label 0-9.
fn cifar_labels_ok(bytes: &[u8]) -> bool {
    bytes.len() >= RECORD && bytes.chunks_exact(RECORD).all(|r| r[0] < 10)
}

#[cfg(test)]
mod tests {
    use super::super::idx::encode_idx;
    use super::*;

    #[test]
    fn each_kind_is_told_by_content() {
        assert_eq!(sniff(&encode_idx(&[2, 3, 3], &[7; 18])), Kind::IdxImages);
        assert_eq!(sniff(&encode_idx(&[4], &[1, 2, 3, 4])), Kind::IdxLabels);
        // A truncated IDX file is still IDX.
        let mut cut = encode_idx(&[2, 3, 3], &[7; 18]);
        cut.truncate(20);
        assert_eq!(sniff(&cut), Kind::IdxImages);
        let mut cifar = vec![0u8; 2 * RECORD];
        cifar[RECORD] = 9;
        assert_eq!(sniff(&cifar), Kind::Cifar10);
        // Truncated CIFAR: still CIFAR-10 for its reader to judge.
        assert_eq!(sniff(&cifar[..RECORD + 100]), Kind::Cifar10);
        // A label of 10 in a whole record: not CIFAR-10.
        cifar[RECORD] = 10;
        assert_eq!(sniff(&cifar), Kind::Unknown);
        assert_eq!(sniff(&PNG_SIGNATURE), Kind::Png);
        assert_eq!(sniff(&[0xff, 0xd8, 0xff, 0xe0]), Kind::Jpeg);
        assert_eq!(sniff(&[0x1f, 0x8b, 8, 0]), Kind::Gzip);
        assert_eq!(sniff(b"<html>readme</html>"), Kind::Unknown);
        assert_eq!(sniff(&[]), Kind::Unknown);
    }

    #[test]
    fn cifar_records_that_look_like_an_idx_header_are_cifar() {
        // Label 0, then pixels 0, 8, 3: an IDX image header whose declared
        // length cannot match the 3,073-byte records.
        let mut cifar = vec![1u8; RECORD];
        cifar[..4].copy_from_slice(&[0, 0, 8, 3]);
        assert_eq!(sniff(&cifar), Kind::Cifar10);
    }
}
