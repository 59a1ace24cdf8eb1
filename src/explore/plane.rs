//! Planes through the latent space: the two axes a scatter and a grid are
//! drawn on (two latent dims, or the two principal axes of the codes), the
//! grid of points over one, and the scatter of test images on it.

use super::{in_range, invalid, symmetric_eigen, ExploreError, Explorer, MAX_SCATTER};
use crate::backend::Backend;
use crate::train::normal_quantile;
use serde::{Deserialize, Serialize};

/// Which plane to project onto.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PlaneSpec {
    /// Two latent dimensions: `u = e_dx`, `v = e_dy`, origin 0.
    Dims { dx: usize, dy: usize },
    /// The two principal axes of the encodings, through their mean.
    Principal,
}

/// A plane in latent space: `z = origin + a u + b v`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plane {
    /// "dims" or "principal".
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dx: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dy: Option<usize>,
    pub origin: Vec<f32>,
    pub u: Vec<f32>,
    pub v: Vec<f32>,
    /// Variance of the encodings along `u` and `v`.
    #[serde(default)]
    pub variance: [f32; 2],
    /// Those as fractions of the encodings' total variance.
    #[serde(default)]
    pub explained: [f32; 2],
}

impl Plane {
    /// The plane of two latent dimensions, with no statistics.
    pub fn dims(zdim: usize, dx: usize, dy: usize) -> Plane {
        let e = |d: usize| {
            let mut v = vec![0.0; zdim];
            v[d] = 1.0;
            v
        };
        Plane {
            kind: "dims".into(),
            dx: Some(dx),
            dy: Some(dy),
            origin: vec![0.0; zdim],
            u: e(dx),
            v: e(dy),
            variance: [0.0; 2],
            explained: [0.0; 2],
        }
    }

    pub fn zdim(&self) -> usize {
        self.origin.len()
    }

    /// A sentence if the plane does not fit a latent size of `zdim` or
    /// holds a non-finite number.
    pub fn check(&self, zdim: usize) -> Result<(), String> {
        if self.origin.len() != zdim || self.u.len() != zdim || self.v.len() != zdim {
            return Err(format!(
                "the plane's origin, u and v need {zdim} numbers each (the latent size), got {}, {} and {}",
                self.origin.len(),
                self.u.len(),
                self.v.len()
            ));
        }
        let all = self.origin.iter().chain(&self.u).chain(&self.v);
        if !all.into_iter().all(|x| x.is_finite()) {
            return Err("the plane holds a number that is not finite".into());
        }
        Ok(())
    }

    /// Plane coordinates `(a, b)` of codes (`n * Z` values): `n * 2` values,
    /// the projections of `z - origin` onto `u` and `v`.
    pub fn project(&self, codes: &[f32]) -> Vec<f32> {
        let zdim = self.zdim().max(1);
        let mut out = Vec::with_capacity(codes.len() / zdim * 2);
        for z in codes.chunks_exact(zdim) {
            let (mut a, mut b) = (0.0f64, 0.0f64);
            for j in 0..zdim {
                let d = (z[j] - self.origin[j]) as f64;
                a += d * self.u[j] as f64;
                b += d * self.v[j] as f64;
            }
            out.push(a as f32);
            out.push(b as f32);
        }
        out
    }

    /// Codes (`n * Z`) of plane points (`n * 2`).
    pub fn codes(&self, points: &[f32]) -> Vec<f32> {
        let zdim = self.zdim();
        let mut out = Vec::with_capacity(points.len() / 2 * zdim);
        for p in points.chunks_exact(2) {
            for j in 0..zdim {
                out.push(self.origin[j] + p[0] * self.u[j] + p[1] * self.v[j]);
            }
        }
        out
    }
}

/// The plane `spec` asks for, with the statistics of `codes` (`n * Z`).
pub fn plane_of(spec: PlaneSpec, codes: &[f32], zdim: usize) -> Plane {
    let cov = covariance(codes, zdim);
    let trace: f64 = (0..zdim).map(|j| cov.1[j * zdim + j]).sum();
    let frac = |v: f64| if trace > 0.0 { (v / trace) as f32 } else { 0.0 };
    match spec {
        PlaneSpec::Dims { dx, dy } => {
            let mut p = Plane::dims(zdim, dx, dy);
            let (vx, vy) = (cov.1[dx * zdim + dx], cov.1[dy * zdim + dy]);
            p.variance = [vx as f32, vy as f32];
            p.explained = [frac(vx), frac(vy)];
            p
        }
        PlaneSpec::Principal => {
            let (values, vectors) = symmetric_eigen(&cov.1, zdim);
            // Largest two; ties keep the lower index.
            let mut order: Vec<usize> = (0..zdim).collect();
            order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
            let axis = |k: usize| -> Vec<f32> {
                let col = order[k.min(zdim - 1)];
                let mut v: Vec<f64> = (0..zdim).map(|r| vectors[r * zdim + col]).collect();
                // A fixed sign: the largest component positive, so the
                // picture does not flip between refreshes.
                let big = v
                    .iter()
                    .copied()
                    .max_by(|a, b| a.abs().total_cmp(&b.abs()))
                    .unwrap_or(1.0);
                if big < 0.0 {
                    v.iter_mut().for_each(|x| *x = -*x);
                }
                v.into_iter().map(|x| x as f32).collect()
            };
            let (l0, l1) = (values[order[0]], values[order[1.min(zdim - 1)]]);
            Plane {
                kind: "principal".into(),
                dx: None,
                dy: None,
                origin: cov.0.iter().map(|&m| m as f32).collect(),
                u: axis(0),
                v: axis(1),
                variance: [l0 as f32, l1 as f32],
                explained: [frac(l0), frac(l1)],
            }
        }
    }
}

/// Mean `[Z]` and covariance `[Z, Z]` (population) of `n * Z` codes, in f64.
fn covariance(codes: &[f32], zdim: usize) -> (Vec<f64>, Vec<f64>) {
    let n = codes.len() / zdim.max(1);
    let mut mean = vec![0.0f64; zdim];
    for z in codes.chunks_exact(zdim) {
        for j in 0..zdim {
            mean[j] += z[j] as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
    let mut cov = vec![0.0f64; zdim * zdim];
    for z in codes.chunks_exact(zdim) {
        for a in 0..zdim {
            let da = z[a] as f64 - mean[a];
            for b in a..zdim {
                cov[a * zdim + b] += da * (z[b] as f64 - mean[b]);
            }
        }
    }
    for a in 0..zdim {
        for b in a..zdim {
            let c = cov[a * zdim + b] / n.max(1) as f64;
            cov[a * zdim + b] = c;
            cov[b * zdim + a] = c;
        }
    }
    (mean, cov)
}

/// How a plane grid spaces its cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Spacing {
    /// Evenly from `lo` to `hi`.
    Linear,
    /// At the standard-normal quantiles `Phi^-1((i + 0.5) / size)`.
    Quantile,
}

/// The axis value of each of `size` cells (the same on both axes).
pub fn grid_coords(size: usize, spacing: Spacing, lo: f32, hi: f32) -> Vec<f32> {
    (0..size)
        .map(|i| {
            let f = (i as f64 + 0.5) / size as f64;
            match spacing {
                Spacing::Linear => (lo as f64 + f * (hi - lo) as f64) as f32,
                Spacing::Quantile => normal_quantile(f) as f32,
            }
        })
        .collect()
}

/// Plane points of a `size x size` grid, row 0 at the top (highest b),
/// column 0 at the left (lowest a): `size * size * 2` values.
pub fn grid_points(coords: &[f32]) -> Vec<f32> {
    let size = coords.len();
    let mut out = Vec::with_capacity(size * size * 2);
    for row in 0..size {
        for &a in coords {
            out.push(a);
            out.push(coords[size - 1 - row]);
        }
    }
    out
}

/// The scatter of some test images on a plane.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scatter {
    pub points: Vec<f32>,
    pub labels: Vec<u8>,
    pub indices: Vec<u32>,
    pub plane: Plane,
    /// `[amin, amax, bmin, bmax]` of the points.
    pub bounds: [f32; 4],
    /// The codes (mu), `n * Z`: not sent to the page.
    #[serde(skip)]
    pub codes: Vec<f32>,
}

impl<B: Backend> Explorer<'_, B> {
    /// The first `n` test images encoded (mu) and projected on the plane of
    /// `spec`, with their labels (255 where none).
    pub async fn scatter(&mut self, n: usize, spec: PlaneSpec) -> Result<Scatter, ExploreError> {
        let zdim = self.zdim();
        let (_, count) = self.test()?;
        in_range("scatter size", n, 1, MAX_SCATTER)?;
        if let PlaneSpec::Dims { dx, dy } = spec {
            if dx >= zdim || dy >= zdim {
                return invalid(format!(
                    "plane dims {dx},{dy} are out of range: use dims below {zdim}"
                ));
            }
        }
        let n = n.min(count);
        let indices: Vec<u32> = (0..n as u32).collect();
        let codes = self.t.encode_test(&indices).await?;
        let plane = plane_of(spec, &codes, zdim);
        let points = plane.project(&codes);
        let mut bounds = [
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ];
        for p in points.chunks_exact(2) {
            bounds[0] = bounds[0].min(p[0]);
            bounds[1] = bounds[1].max(p[0]);
            bounds[2] = bounds[2].min(p[1]);
            bounds[3] = bounds[3].max(p[1]);
        }
        let labels = indices
            .iter()
            .map(|&i| self.t.test_labels.get(i as usize).copied().unwrap_or(255))
            .collect();
        Ok(Scatter {
            points,
            labels,
            indices,
            plane,
            bounds,
            codes,
        })
    }

    /// Decodes plane points (`n * 2`).
    pub async fn decode_plane(
        &mut self,
        plane: &Plane,
        points: &[f32],
    ) -> Result<Vec<f32>, ExploreError> {
        plane.check(self.zdim()).or_else(invalid)?;
        if !points.len().is_multiple_of(2)
            || points.len() / 2 > 4096
            || !points.iter().all(|p| p.is_finite())
        {
            return invalid(format!(
                "plane points need pairs of finite numbers, at most 4096 of them, got {} numbers",
                points.len()
            ));
        }
        Ok(self.t.decode(&plane.codes(points)).await?)
    }

    /// `size x size` decodes over the plane and the axis value of each cell.
    pub async fn plane_grid(
        &mut self,
        plane: &Plane,
        size: usize,
        spacing: Spacing,
        lo: f32,
        hi: f32,
    ) -> Result<(Vec<f32>, Vec<f32>), ExploreError> {
        in_range("grid size", size, 1, 32)?;
        if spacing == Spacing::Linear && !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return invalid(format!(
                "grid range {lo} to {hi} is not valid: use finite numbers with lo below hi"
            ));
        }
        let coords = grid_coords(size, spacing, lo, hi);
        let images = self.decode_plane(plane, &grid_points(&coords)).await?;
        Ok((images, coords))
    }
}
