//! Implicit-GEMM Conv2d (`conv_gemm.wgsl`): the forward with the channel bias
//! in its epilogue, and the weight gradient as a split-K product (with the
//! bias gradient as one more column) plus a fixed-order reduce. Neither
//! writes a patch matrix: the tile loads read `x` directly.
//!
//! Shape legend: B batch, C channels, H height, W width. `K = Ci KH KW`,
//! `P = OH OW`, `N = B P`.

use super::kernels::{CONV_GEMM_BACKWARD_WEIGHTS, CONV_GEMM_FORWARD, CONV_GEMM_REDUCE};
use super::recorder::{u32_of, Recorder, MAX_GROUPS};
use crate::backend::{Conv2dShape, View};
use bytemuck::{Pod, Zeroable};

/// Tile edge of `conv_gemm.wgsl` (TM = TN = 64) and its K slab (TK).
const TILE: usize = 64;
const SLAB: usize = 16;
/// Workgroups the weight gradient aims for: enough to keep every core of a
/// software adapter (and a small GPU's units) busy on a thin product.
const TARGET_GROUPS: usize = 64;
/// The shortest slice of N worth a workgroup of its own.
const MIN_SLICE: usize = 256;

/// The twin of `conv_gemm.wgsl`'s `struct Params` (80 bytes; a uniform slot
/// holds 256).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
struct ConvGemmParams {
    nb: u32,
    ci: u32,
    h: u32,
    w: u32,
    co: u32,
    oh: u32,
    ow: u32,
    kh: u32,
    kw: u32,
    sh: u32,
    sw: u32,
    ph: u32,
    pw: u32,
    src_off: u32,
    src2_off: u32,
    dst_off: u32,
    aux_off: u32,
    flags: u32,
    slice_len: u32,
    slices: u32,
}

const _: () = assert!(std::mem::size_of::<ConvGemmParams>() <= 256);

fn params(g: &Conv2dShape, nb: usize, bias: bool) -> ConvGemmParams {
    let [oh, ow] = g.out_size();
    ConvGemmParams {
        nb: u32_of(nb, "batch"),
        ci: u32_of(g.in_channels, "in_channels"),
        h: u32_of(g.in_size[0], "height"),
        w: u32_of(g.in_size[1], "width"),
        co: u32_of(g.out_channels, "out_channels"),
        oh: u32_of(oh, "out height"),
        ow: u32_of(ow, "out width"),
        kh: u32_of(g.kernel[0], "kernel height"),
        kw: u32_of(g.kernel[1], "kernel width"),
        sh: u32_of(g.stride[0], "stride"),
        sw: u32_of(g.stride[1], "stride"),
        ph: u32_of(g.padding[0], "padding"),
        pw: u32_of(g.padding[1], "padding"),
        flags: bias as u32,
        ..Default::default()
    }
}

/// `y = conv2d(x, w) (+ bias[co])`, overwritten; views already checked.
/// The batch runs in chunks whose `N` fits one dispatch's workgroups.
pub(super) fn forward(
    rec: &mut Recorder,
    x: View,
    w: View,
    bias: Option<View>,
    y: View,
    dummy: View,
    g: &Conv2dShape,
) {
    let p = g.out_positions().max(1);
    // Columns and rows per workgroup.
    let (cols, rows) = (TILE, TILE);
    let step = (MAX_GROUPS as usize * cols / p).clamp(1, g.batch.max(1));
    let row_groups = u32_of(g.out_channels.div_ceil(rows), "out_channels");
    let aux = bias.map_or(dummy, |b| b.slice(0, g.out_channels));
    let mut first = 0;
    while first < g.batch {
        let nb = step.min(g.batch - first);
        let base = params(g, nb, bias.is_some());
        let xs = x.slice(first * g.in_len(), nb * g.in_len());
        let ys = y.slice(first * g.out_len(), nb * g.out_len());
        let groups = [u32_of((nb * p).div_ceil(cols), "columns"), row_groups];
        let views = [xs, w.slice(0, g.weight_len()), ys, aux];
        rec.dispatch(CONV_GEMM_FORWARD, &views, groups, &[], |o| ConvGemmParams {
            src_off: o[0],
            src2_off: o[1],
            dst_off: o[2],
            aux_off: o[3],
            ..base
        });
        first += nb;
    }
}

/// The weight gradient's split: `(slice length, slices,
/// workgroups along K1, workgroups along the channels and slices)`, the
/// length a multiple of the K slab.
fn split(g: &Conv2dShape, kcols: usize) -> (usize, usize, usize, usize) {
    let n = (g.batch * g.out_positions()).max(1);
    let mtiles = g.out_channels.div_ceil(TILE);
    let ktiles = kcols.div_ceil(TILE);
    let by_groups = TARGET_GROUPS.div_ceil(mtiles * ktiles);
    let by_length = (n / MIN_SLICE).max(1);
    let wanted = by_groups.min(by_length).max(1);
    let len = n.div_ceil(wanted).div_ceil(SLAB) * SLAB;
    let slices = n.div_ceil(len);
    (len, slices, ktiles, mtiles * slices)
}

/// Words of the partial products `backward_weights` needs.
pub(super) fn partial_words(g: &Conv2dShape, bias: bool) -> usize {
    let kcols = g.patch_len() + bias as usize;
    split(g, kcols).1 * g.out_channels * kcols
}

/// `dw += sum_{b, p} dy col(x)^T` and, with `db`, `db[co] += sum_{b, p} dy`:
/// per slice of N a partial product into `part`, then one reduce.
#[allow(clippy::too_many_arguments)]
pub(super) fn backward_weights(
    rec: &mut Recorder,
    x: View,
    dy: View,
    dw: View,
    db: Option<View>,
    part: View,
    dummy: View,
    g: &Conv2dShape,
) {
    let bias = db.is_some();
    let kcols = g.patch_len() + bias as usize;
    let (slice_len, slices, kgroups, rgroups) = split(g, kcols);
    let mut base = params(g, g.batch, bias);
    base.slice_len = u32_of(slice_len, "slice");
    base.slices = u32_of(slices, "slices");
    let groups = [u32_of(kgroups, "patch columns"), u32_of(rgroups, "slices")];
    assert!(
        groups[0] <= MAX_GROUPS && groups[1] <= MAX_GROUPS,
        "conv2d_backward_weights: {g:?} is too large for one dispatch"
    );
    let part = part.slice(0, slices * g.out_channels * kcols);
    let views = [
        x.slice(0, g.batch * g.in_len()),
        dy.slice(0, g.batch * g.out_len()),
        part,
    ];
    rec.dispatch(CONV_GEMM_BACKWARD_WEIGHTS, &views, groups, &[], |o| {
        ConvGemmParams {
            src_off: o[0],
            src2_off: o[1],
            dst_off: o[2],
            ..base
        }
    });
    let db = db.map_or(dummy, |v| v.slice(0, g.out_channels));
    let views = [part, dw.slice(0, g.weight_len()), db];
    let groups = rec.elementwise_groups(g.out_channels * kcols);
    rec.dispatch(CONV_GEMM_REDUCE, &views, groups, &[], |o| ConvGemmParams {
        src_off: o[0],
        src2_off: o[1],
        dst_off: o[2],
        ..base
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(batch: usize, ci: usize, size: usize, co: usize) -> Conv2dShape {
        Conv2dShape {
            batch,
            in_channels: ci,
            in_size: [size, size],
            out_channels: co,
            kernel: [4, 4],
            stride: [2, 2],
            padding: [1, 1],
        }
    }

    #[test]
    fn the_split_covers_n_in_whole_slabs() {
        for g in [
            shape(128, 1, 28, 32),
            shape(128, 32, 14, 64),
            shape(1, 1, 5, 1),
            shape(3, 3, 9, 7),
        ] {
            let n = g.batch * g.out_positions();
            for kcols in [g.patch_len(), g.patch_len() + 1] {
                let (len, slices, _, _) = split(&g, kcols);
                assert_eq!(len % SLAB, 0, "{g:?}");
                assert!(len * slices >= n && len * (slices - 1) < n, "{g:?}");
            }
        }
        // The thin first layer of `conv`: many slices, not one workgroup.
        assert!(split(&shape(128, 1, 28, 32), 17).1 >= 32);
    }
}
