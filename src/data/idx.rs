//! The IDX file format (LeCun's MNIST format), unsigned-byte flavour.
//!
//! ```text
//! offset 0: 0x00 0x00 <dtype> <ndim>      magic; dtype 0x08 = unsigned byte
//! offset 4: ndim x u32, big-endian         dimensions, outermost first
//! offset 4 + 4 * ndim: prod(dims) bytes    the data, row-major
//! ```
//!
//! MNIST images are `0x00000803` (N, H, W), labels `0x00000801` (N).
//! The parser is strict: the file must hold exactly the bytes its header
//! declares, no fewer and no more.

use super::DataError;

/// The only element type we read: unsigned byte.
pub const DTYPE_U8: u8 = 0x08;

/// A parsed IDX file: dimensions (outermost first) and the raw data bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idx {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

impl Idx {
    /// Parse an IDX file already read into memory, reusing its allocation
    /// (only the header is shifted out). `name` appears in error messages.
    pub fn from_vec(name: &str, mut bytes: Vec<u8>) -> Result<Idx, DataError> {
        let (dims, header) = parse_header(name, &bytes)?;
        bytes.drain(..header);
        Ok(Idx { dims, data: bytes })
    }
}

/// Parse an IDX file of unsigned bytes. Errors name the data "IDX data";
/// use [`parse_idx_named`] to name the file.
pub fn parse_idx(bytes: &[u8]) -> Result<Idx, DataError> {
    parse_idx_named("IDX data", bytes)
}

/// Parse an IDX file of unsigned bytes; `name` (usually the file name)
/// starts every error message.
pub fn parse_idx_named(name: &str, bytes: &[u8]) -> Result<Idx, DataError> {
    let (dims, header) = parse_header(name, bytes)?;
    Ok(Idx {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// A checked IDX header: dimensions, its own length and the data length it
/// declares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub dims: Vec<usize>,
    pub len: usize,
    pub payload: usize,
}

/// How far reading a header from the start of a file got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HeaderRead {
    /// The bytes end before the header does; it needs this many.
    Needs(usize),
    Done(Header),
}

/// Check as much of the header as `bytes` (a prefix of the file) holds: an
/// error as soon as one is certain, so a whole file and a stream of chunks
/// are judged by the same code.
pub(crate) fn read_header(name: &str, bytes: &[u8]) -> Result<HeaderRead, DataError> {
    let file = || name.to_string();
    if bytes.len() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b {
        return Err(DataError::Gzip { file: file() });
    }
    if bytes.len() < 4 {
        return Ok(HeaderRead::Needs(4));
    }
    let magic = [bytes[0], bytes[1], bytes[2], bytes[3]];
    if magic[0] != 0 || magic[1] != 0 {
        return Err(DataError::BadMagic {
            file: file(),
            magic,
        });
    }
    if magic[2] != DTYPE_U8 {
        return Err(DataError::WrongDtype {
            file: file(),
            dtype: magic[2],
        });
    }
    let ndim = magic[3] as usize;
    if ndim == 0 {
        return Err(DataError::NoDims { file: file() });
    }
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Ok(HeaderRead::Needs(header));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    if dims.contains(&0) {
        return Err(DataError::ZeroDim { file: file(), dims });
    }
    let payload = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|p| p.checked_add(header).is_some());
    let Some(payload) = payload else {
        return Err(DataError::Overflow { file: file(), dims });
    };
    Ok(HeaderRead::Done(Header {
        dims,
        len: header,
        payload,
    }))
}

/// `file_len` bytes so far of a file with `header`: `Truncated` if fewer
/// than it declares (only when the file has ended), `Trailing` if more.
fn check_length(
    name: &str,
    header: &Header,
    file_len: usize,
    ended: bool,
) -> Result<(), DataError> {
    let whole = header.len + header.payload;
    if file_len == whole || (file_len < whole && !ended) {
        return Ok(());
    }
    let (file, dims) = (name.to_string(), header.dims.clone());
    let (header, payload, len) = (header.len, header.payload, file_len);
    Err(if file_len < whole {
        DataError::Truncated {
            file,
            dims,
            header,
            payload,
            len,
        }
    } else {
        DataError::Trailing {
            file,
            dims,
            header,
            payload,
            len,
        }
    })
}

/// Check the header and the total length of a whole file. Returns the
/// dimensions and the header length in bytes; the data is `bytes[header..]`.
pub(crate) fn parse_header(name: &str, bytes: &[u8]) -> Result<(Vec<usize>, usize), DataError> {
    if bytes.is_empty() {
        return Err(DataError::Empty {
            file: name.to_string(),
        });
    }
    match read_header(name, bytes)? {
        HeaderRead::Needs(needed) => Err(DataError::ShortHeader {
            file: name.to_string(),
            len: bytes.len(),
            needed,
        }),
        HeaderRead::Done(h) => {
            check_length(name, &h, bytes.len(), true)?;
            Ok((h.dims, h.len))
        }
    }
}

/// `dims` must have `expected` dimensions (3 for images, 1 for labels).
pub(crate) fn check_ndim(name: &str, dims: &[usize], expected: usize) -> Result<(), DataError> {
    if dims.len() != expected {
        return Err(DataError::WrongNdim {
            file: name.to_string(),
            expected,
            found: dims.len(),
        });
    }
    Ok(())
}

/// An IDX image file (N, H, W) read as its bytes arrive: push chunks of any
/// size, take the complete images out at any time. The header and the length
/// are checked by the same code as a whole file's.
#[derive(Clone, Debug)]
pub struct ImageStream {
    name: String,
    /// The file so far, header included.
    bytes: Vec<u8>,
    header: Option<Header>,
}

/// At most this much is reserved up front, whatever a header claims.
const MAX_RESERVE: usize = 64 << 20;

impl ImageStream {
    /// `name` starts every error message ("MNIST train images").
    pub fn new(name: &str) -> ImageStream {
        ImageStream {
            name: name.to_string(),
            bytes: Vec::new(),
            header: None,
        }
    }

    /// Appends the next bytes of the file. Fails on a bad header, a file
    /// that is not (N, H, W) images, or more bytes than the header declares.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), DataError> {
        self.bytes.extend_from_slice(chunk);
        if self.header.is_none() {
            if let HeaderRead::Done(h) = read_header(&self.name, &self.bytes)? {
                check_ndim(&self.name, &h.dims, 3)?;
                let want = (h.len + h.payload).min(MAX_RESERVE);
                self.bytes.reserve(want.saturating_sub(self.bytes.len()));
                self.header = Some(h);
            }
        }
        if let Some(h) = &self.header {
            check_length(&self.name, h, self.bytes.len(), false)?;
        }
        Ok(())
    }

    /// Checks that the whole file arrived.
    pub fn finish(&self) -> Result<(), DataError> {
        if self.header.is_none() {
            // Judged as a whole file: empty, short header.
            parse_header(&self.name, &self.bytes)?;
        }
        if let Some(h) = &self.header {
            check_length(&self.name, h, self.bytes.len(), true)?;
        }
        Ok(())
    }

    fn dim(&self, i: usize) -> usize {
        self.header.as_ref().map_or(0, |h| h.dims[i])
    }

    /// Images the header announces (0 until the header is read).
    pub fn total(&self) -> usize {
        self.dim(0)
    }

    pub fn height(&self) -> usize {
        self.dim(1)
    }

    pub fn width(&self) -> usize {
        self.dim(2)
    }

    /// Complete images so far.
    pub fn count(&self) -> usize {
        match &self.header {
            Some(h) => (self.bytes.len() - h.len) / (h.dims[1] * h.dims[2]),
            None => 0,
        }
    }

    /// All the images the header announced have arrived.
    pub fn done(&self) -> bool {
        self.total() > 0 && self.count() == self.total()
    }

    /// The complete images so far, `count * height * width` bytes.
    pub fn pixels(&self) -> &[u8] {
        match &self.header {
            Some(h) => &self.bytes[h.len..h.len + self.count() * h.dims[1] * h.dims[2]],
            None => &[],
        }
    }
}

/// Encode `data` as an unsigned-byte IDX file with the given dimensions
/// (the inverse of [`parse_idx`]; used by tests and tools).
///
/// Panics if `data.len()` is not the product of `dims`, if there are more
/// than 255 dimensions, or if a dimension does not fit in `u32`.
pub fn encode_idx(dims: &[usize], data: &[u8]) -> Vec<u8> {
    assert!(
        !dims.is_empty() && dims.len() <= 255,
        "IDX needs 1..=255 dimensions"
    );
    assert_eq!(
        dims.iter().product::<usize>(),
        data.len(),
        "data length must equal prod(dims)"
    );
    let mut out = Vec::with_capacity(4 + 4 * dims.len() + data.len());
    out.extend_from_slice(&[0, 0, DTYPE_U8, dims.len() as u8]);
    for &d in dims {
        let d = u32::try_from(d).expect("IDX dimensions are u32");
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images(n: usize, h: usize, w: usize) -> (Vec<u8>, Vec<u8>) {
        let data: Vec<u8> = (0..n * h * w).map(|i| (i * 7 % 256) as u8).collect();
        (encode_idx(&[n, h, w], &data), data)
    }

    #[test]
    fn round_trip_images_and_labels() {
        let (bytes, data) = images(3, 5, 4);
        assert_eq!(&bytes[..4], &[0, 0, 8, 3]);
        assert_eq!(bytes.len(), 16 + 60);
        let idx = parse_idx(&bytes).unwrap();
        assert_eq!(idx.dims, vec![3, 5, 4]);
        assert_eq!(idx.data, data);
        assert_eq!(Idx::from_vec("x", bytes).unwrap(), idx);

        let labels = encode_idx(&[4], &[0, 9, 3, 7]);
        assert_eq!(&labels[..8], &[0, 0, 8, 1, 0, 0, 0, 4]);
        let idx = parse_idx(&labels).unwrap();
        assert_eq!(idx.dims, vec![4]);
        assert_eq!(idx.data, vec![0, 9, 3, 7]);
    }

    #[test]
    fn big_endian_dims() {
        let data = vec![1u8; 300];
        let bytes = encode_idx(&[300], &data);
        assert_eq!(&bytes[4..8], &[0, 0, 1, 44]);
        assert_eq!(parse_idx(&bytes).unwrap().dims, vec![300]);
    }

    #[test]
    fn truncated() {
        let (bytes, _) = images(3, 5, 4);
        let err = parse_idx_named("train-images-idx3-ubyte", &bytes[..50]).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::Truncated {
                    payload: 60,
                    header: 16,
                    len: 50,
                    ..
                }
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.starts_with("train-images-idx3-ubyte: truncated"),
            "{msg}"
        );
        assert!(msg.contains("3 images of 5x4"), "{msg}");
        assert!(
            msg.contains("60 bytes") && msg.contains("holds 50 bytes"),
            "{msg}"
        );
        assert!(msg.contains("npm ci"), "{msg}");
        // Header only, no data.
        assert!(matches!(
            parse_idx(&bytes[..16]),
            Err(DataError::Truncated { .. })
        ));
    }

    #[test]
    fn short_header() {
        let (bytes, _) = images(3, 5, 4);
        for cut in [1, 3, 4, 8, 15] {
            let err = parse_idx(&bytes[..cut]).unwrap_err();
            assert!(
                matches!(err, DataError::ShortHeader { .. }),
                "cut {cut}: {err:?}"
            );
            assert!(err.to_string().contains("truncated header"));
        }
    }

    #[test]
    fn trailing_bytes() {
        let (mut bytes, _) = images(3, 5, 4);
        bytes.push(0);
        let err = parse_idx_named("t10k-images-idx3-ubyte", &bytes).unwrap_err();
        assert!(
            matches!(err, DataError::Trailing { len: 77, .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("t10k-images-idx3-ubyte: trailing bytes"),
            "{msg}"
        );
        assert!(msg.contains("1 too many"), "{msg}");
    }

    #[test]
    fn wrong_magic() {
        let (mut bytes, _) = images(2, 2, 2);
        bytes[0] = 0x50; // e.g. a text or HTML error page
        let err = parse_idx(&bytes).unwrap_err();
        assert!(matches!(err, DataError::BadMagic { .. }), "{err:?}");
        assert!(err.to_string().contains("not an IDX file"));

        let html = b"<!DOCTYPE html><html>Not Found</html>";
        assert!(matches!(parse_idx(html), Err(DataError::BadMagic { .. })));
    }

    #[test]
    fn gzip_is_named() {
        let err = parse_idx(&[0x1f, 0x8b, 0x08, 0x00, 0, 0]).unwrap_err();
        assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
        assert!(err.to_string().contains("gunzip"));
    }

    #[test]
    fn wrong_dtype() {
        let (mut bytes, _) = images(2, 2, 2);
        bytes[2] = 0x0D; // f32
        let err = parse_idx(&bytes).unwrap_err();
        assert!(
            matches!(err, DataError::WrongDtype { dtype: 0x0D, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("32-bit float"), "{err}");
    }

    #[test]
    fn empty_file() {
        let err = parse_idx_named("train-labels-idx1-ubyte", &[]).unwrap_err();
        assert!(matches!(err, DataError::Empty { .. }), "{err:?}");
        assert!(err
            .to_string()
            .starts_with("train-labels-idx1-ubyte: the file is empty"));
    }

    #[test]
    fn zero_size_header() {
        // ndim = 0: a header that declares nothing.
        let err = parse_idx(&[0, 0, 8, 0]).unwrap_err();
        assert!(matches!(err, DataError::NoDims { .. }), "{err:?}");
        // ndim = 0 followed by junk is still rejected as no dimensions.
        assert!(matches!(
            parse_idx(&[0, 0, 8, 0, 1, 2]),
            Err(DataError::NoDims { .. })
        ));
        // A zero-size dimension: no data.
        let bytes = [0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28];
        let err = parse_idx(&bytes).unwrap_err();
        assert!(matches!(err, DataError::ZeroDim { .. }), "{err:?}");
        assert!(err.to_string().contains("0x28x28"), "{err}");
    }

    #[test]
    fn absurd_dims_overflow() {
        let mut bytes = vec![0, 0, 8, 4];
        for _ in 0..4 {
            bytes.extend_from_slice(&u32::MAX.to_be_bytes());
        }
        bytes.extend_from_slice(&[1, 2, 3]);
        let err = parse_idx(&bytes).unwrap_err();
        assert!(matches!(err, DataError::Overflow { .. }), "{err:?}");
        assert!(err.to_string().contains("absurd"));
        // Huge but representable: truncated, not an allocation attempt.
        let mut bytes = vec![0, 0, 8, 1];
        bytes.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            parse_idx(&bytes),
            Err(DataError::Truncated { .. })
        ));
    }

    /// Pushes `bytes` split at `cuts` into a fresh stream.
    fn stream(bytes: &[u8], cuts: &[usize]) -> Result<ImageStream, DataError> {
        let mut s = ImageStream::new("MNIST train images");
        let mut from = 0;
        for &to in cuts.iter().chain([&bytes.len()]) {
            s.push(&bytes[from..to])?;
            from = to;
        }
        Ok(s)
    }

    #[test]
    fn stream_reads_images_split_anywhere() {
        let (bytes, data) = images(3, 5, 4);
        // Inside the magic, inside a dimension, at the header's end, inside
        // an image, at an image boundary, one byte at a time.
        let one_by_one: Vec<usize> = (1..bytes.len()).collect();
        for cuts in [
            vec![],
            vec![1, 2, 3],
            vec![6, 11],
            vec![16],
            vec![16, 17, 35],
            vec![36, 56],
            one_by_one,
        ] {
            let s = stream(&bytes, &cuts).unwrap();
            assert_eq!((s.total(), s.height(), s.width()), (3, 5, 4), "{cuts:?}");
            assert_eq!(s.count(), 3);
            assert!(s.done());
            assert_eq!(s.pixels(), &data[..]);
            s.finish().unwrap();
        }
        // Partway: only whole images come out, and the header's numbers are known.
        let s = stream(&bytes[..16 + 25], &[3, 10]).unwrap();
        assert_eq!((s.count(), s.total(), s.done()), (1, 3, false));
        assert_eq!(s.pixels(), &data[..20]);
        // Before the header ends nothing is known.
        let s = stream(&bytes[..10], &[]).unwrap();
        assert_eq!((s.count(), s.total(), s.height(), s.width()), (0, 0, 0, 0));
        assert!(s.pixels().is_empty() && !s.done());
    }

    #[test]
    fn stream_rejects_what_a_whole_file_parse_rejects() {
        let (bytes, _) = images(3, 5, 4);
        // A bad magic fails as soon as the first four bytes are in.
        let mut bad = bytes.clone();
        bad[1] = 0x50;
        let mut s = ImageStream::new("MNIST train images");
        s.push(&bad[..3]).unwrap();
        let err = s.push(&bad[3..5]).unwrap_err();
        assert!(matches!(err, DataError::BadMagic { .. }), "{err:?}");
        assert!(err
            .to_string()
            .starts_with("MNIST train images: not an IDX file"));
        // Gzip, and labels where images belong.
        assert!(matches!(
            stream(&[0x1f, 0x8b, 8, 0], &[1]),
            Err(DataError::Gzip { .. })
        ));
        let labels = encode_idx(&[4], &[0, 9, 3, 7]);
        assert!(matches!(
            stream(&labels, &[2]),
            Err(DataError::WrongNdim {
                expected: 3,
                found: 1,
                ..
            })
        ));
        // One byte too many, even split across chunks.
        let mut long = bytes.clone();
        long.push(1);
        let err = stream(&long, &[40, 75]).unwrap_err();
        assert!(
            matches!(err, DataError::Trailing { len: 77, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("1 too many"), "{err}");
    }

    #[test]
    fn stream_that_ends_early_fails_at_finish_as_a_whole_file_would() {
        let (bytes, _) = images(3, 5, 4);
        let name = "MNIST train images";
        // Inside the data, inside the header, nothing at all.
        for (len, cuts) in [(50, vec![7, 20]), (9, vec![3]), (0, vec![])] {
            let s = stream(&bytes[..len], &cuts).unwrap();
            let err = s.finish().unwrap_err();
            let whole = parse_idx_named(name, &bytes[..len]).unwrap_err();
            assert_eq!(format!("{err:?}"), format!("{whole:?}"));
        }
        let err = stream(&bytes[..50], &[]).unwrap().finish().unwrap_err();
        assert!(
            matches!(err, DataError::Truncated { len: 50, .. }),
            "{err:?}"
        );
    }
}
