//! The dense layers' fused products (`matmul_fused` in `matmul.wgsl`) and
//! the paired loss sum: what used to be two or three dispatches each.
//!
//! * forward: `y = act(x W^T + b)`, bias and activation in the epilogue;
//! * weights: `dW += dy^T x` with `db += colsum(dy)` from a virtual column of
//!   ones in `x`;
//! * data: `dpre = (dy W [+ dpost]) * act'(y)`, the previous activation's
//!   derivative in the epilogue.
//!
//! Shape legend: B batch, D features.

use super::kernels::*;
use super::recorder::{u32_of, Recorder, MAX_GROUPS};
use crate::backend::{Activation, View};

/// Epilogue modes of `matmul_fused` (the `EPI` override).
const EPI_BIAS_ACT: u32 = 1;
const EPI_BIAS_GRAD: u32 = 2;
const EPI_DACT: u32 = 3;

/// Where `vec` is bound (the `VEC_IN` override): its own binding, or inside
/// B's or C's binding when it shares their buffer.
const VEC_OWN: u32 = 0;
const VEC_IN_B: u32 = 1;
const VEC_IN_C: u32 = 2;

/// The smallest view of one buffer covering `u` and `v`, and the word
/// offsets of `u` and `v` inside it.
fn union(u: View, v: View) -> (View, u32, u32) {
    debug_assert_eq!(u.buf, v.buf);
    let start = u.offset.min(v.offset);
    let end = (u.offset + u.len).max(v.offset + v.len);
    let whole = View {
        buf: u.buf,
        offset: start,
        len: end - start,
    };
    (whole, u.offset - start, v.offset - start)
}

/// One `matmul_fused` dispatch: `C[m, n] = op(A) op(B)` with epilogue `epi`
/// over `vec` and `aux` (see the shader's header). `vec_in` says where vec
/// is: `VEC_OWN`, or `VEC_IN_B` / `VEC_IN_C` when it shares B's / C's buffer
/// (then B / C is bound as the span covering both, and vec's binding gets a
/// dummy); `aux: None` binds a dummy.
#[allow(clippy::too_many_arguments)]
fn fused(
    rec: &mut Recorder,
    [a, b, c, vec]: [View; 4],
    aux: Option<View>,
    [m, n, k]: [usize; 3],
    [trans_a, trans_b]: [bool; 2],
    epi: u32,
    act: u32,
    accumulate: bool,
) {
    assert!(
        a.len() >= m * k,
        "dense: A holds {} words, needs {}",
        a.len,
        m * k
    );
    assert!(
        b.len() >= k * n,
        "dense: B holds {} words, needs {}",
        b.len,
        k * n
    );
    assert!(
        c.len() >= m * n,
        "dense: C holds {} words, needs {}",
        c.len,
        m * n
    );
    let (m, n, k) = (u32_of(m, "m"), u32_of(n, "n"), u32_of(k, "k"));
    // The bias gradient's column of ones is column n.
    let cols = n + u32::from(epi == EPI_BIAS_GRAD);
    let groups = [cols.div_ceil(MATMUL_TILE), m.div_ceil(MATMUL_TILE)];
    assert!(
        groups[1] <= MAX_GROUPS && groups[0] <= MAX_GROUPS,
        "dense: {m} x {n} is too large for one dispatch"
    );
    let [dummy_vec, dummy_aux] = rec.dummies();
    let aux = aux.unwrap_or(dummy_aux);
    // (bound B, bound C, bound vec, B's, C's and vec's word offsets within
    // their bindings' views).
    let (vec_in, bb, cc, vv, [db, dc, dv]) = if vec.buf == b.buf {
        let (u, ob, ov) = union(b, vec);
        (VEC_IN_B, u, c, dummy_vec, [ob, 0, ov])
    } else if vec.buf == c.buf {
        let (u, oc, ov) = union(c, vec);
        (VEC_IN_C, b, u, dummy_vec, [0, oc, ov])
    } else {
        (VEC_OWN, b, c, vec, [0; 3])
    };
    let constants = [
        ("TRANS_A", trans_a as u32 as f64),
        ("TRANS_B", trans_b as u32 as f64),
        ("EPI", epi as f64),
        ("ACT", act as f64),
        ("VEC_IN", vec_in as f64),
    ];
    rec.dispatch(
        MATMUL_FUSED,
        &[a, bb, cc, vv, aux],
        groups,
        &constants,
        |o| FusedMatmulParams {
            m,
            n,
            k,
            a_off: o[0],
            b_off: o[1] + db,
            c_off: o[2] + dc,
            v_off: match vec_in {
                VEC_IN_B => o[1] + dv,
                VEC_IN_C => o[2] + dv,
                _ => o[3],
            },
            x_off: o[4],
            accumulate: accumulate as u32,
            _pad: [0; 3],
        },
    );
}

/// `y = act(x W^T + b)`: `x [B, in]`, `w [out, in]`, `b [out]`, `y [B, out]`.
#[allow(clippy::too_many_arguments)]
pub(super) fn forward(
    rec: &mut Recorder,
    x: View,
    w: View,
    b: View,
    y: View,
    rows: usize,
    [i, o]: [usize; 2],
    act: Activation,
) {
    assert!(b.len() >= o, "dense forward: bias too short");
    assert!(
        b.buf != y.buf,
        "dense forward: bias and output share a buffer"
    );
    fused(
        rec,
        [x, w, y, b],
        None,
        [rows, o, i],
        [false, true],
        EPI_BIAS_ACT,
        act.id(),
        false,
    );
}

/// `dw += dy^T x`, `db += colsum(dy)`: `x [B, in]`, `dy [B, out]`.
#[allow(clippy::too_many_arguments)]
pub(super) fn backward_weights(
    rec: &mut Recorder,
    x: View,
    dy: View,
    dw: View,
    db: View,
    rows: usize,
    [i, o]: [usize; 2],
) {
    assert!(db.len() >= o, "dense backward: bias gradient too short");
    assert!(
        db.buf != x.buf,
        "dense backward: bias gradient and input share a buffer"
    );
    fused(
        rec,
        [dy, x, dw, db],
        None,
        [o, i, rows],
        [true, false],
        EPI_BIAS_GRAD,
        0,
        true,
    );
}

/// `dpre = (dy W [+ dpost]) * act'(y)`: `dy [B, out]`, `w [out, in]`,
/// `y`, `dpost`, `dpre [B, in]`. `[act id, accumulate]`.
#[allow(clippy::too_many_arguments)]
pub(super) fn backward_data_act(
    rec: &mut Recorder,
    dy: View,
    w: View,
    y: View,
    dpost: View,
    dpre: View,
    rows: usize,
    [i, o]: [usize; 2],
    [act, accumulate]: [u32; 2],
) {
    let n = rows * i;
    assert!(
        y.len() >= n && dpost.len() >= n,
        "dense backward: views too short"
    );
    assert!(
        dpost.buf != w.buf && dpost.buf != dpre.buf,
        "dense backward: dpost shares a buffer with the weight or dpre"
    );
    fused(
        rec,
        [dy, w, dpre, dpost],
        Some(y),
        [rows, i, o],
        [false, false],
        EPI_DACT,
        act,
        accumulate != 0,
    );
}

/// `dst[0] += sum(a)`, `dst[1] += sum(b)`: one dispatch, two workgroups.
pub(super) fn sum_pair_into(rec: &mut Recorder, a: View, b: View, dst: View) {
    assert!(dst.len >= 2, "sum_pair_into: dst holds fewer than 2 words");
    let (len, len_b) = (a.len, b.len);
    rec.dispatch(SUM_PAIR, &[a, dst, b], [2, 1], &[], |o| ReduceParams {
        len,
        src_off: o[0],
        dst_off: o[1],
        len_b,
        b_off: o[2],
        _pad: [0; 3],
    });
}
