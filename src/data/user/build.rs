//! How a set of files becomes images: the plan (which file is train, test
//! or labels), its summary, the check against a preset's shape and the
//! build itself, with the held-out tenth.

use super::super::{DataError, Images};
use super::{fail, Built, DataSet, Family, FileInfo, Part, Plan, Role, Summary, MAX_BYTES};
use crate::config::ImageShape;

impl DataSet {
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
    /// [`crate::data::images::fit_planes`]), split into train and test.
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
        out.extend(crate::data::images::fit_planes(
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
