//! The matrix product `C (+)= op(A) op(B)` (`matmul.wgsl`): the dense
//! layers' plain products and the convolutions' input gradient call it.
//!
//! Shape legend: `A [m, k]`, `B [k, n]`, `C [m, n]`, each stored transposed
//! where its flag says so.

use super::kernels::*;
use super::recorder::{u32_of, Recorder, MAX_GROUPS};
use crate::backend::{Matmul, View};

/// `C (+)= op(A) op(B)` with the tiled kernel; the convolutions call it too.
pub(super) fn call_matmul(rec: &mut Recorder, a: View, b: View, c: View, s: Matmul) {
    assert!(
        a.len() >= s.m * s.k,
        "matmul: A holds {} words, needs {}",
        a.len,
        s.m * s.k
    );
    assert!(
        b.len() >= s.k * s.n,
        "matmul: B holds {} words, needs {}",
        b.len,
        s.k * s.n
    );
    assert!(
        c.len() >= s.m * s.n,
        "matmul: C holds {} words, needs {}",
        c.len,
        s.m * s.n
    );
    let (m, n, k) = (u32_of(s.m, "m"), u32_of(s.n, "n"), u32_of(s.k, "k"));
    let groups = [n.div_ceil(MATMUL_TILE), m.div_ceil(MATMUL_TILE)];
    assert!(
        groups[1] <= MAX_GROUPS && groups[0] <= MAX_GROUPS,
        "matmul: {m} x {n} is too large for one dispatch"
    );
    let constants = [
        ("TRANS_A", s.trans_a as u32 as f64),
        ("TRANS_B", s.trans_b as u32 as f64),
    ];
    rec.dispatch(MATMUL, &[a, b, c], groups, &constants, |o| MatmulParams {
        m,
        n,
        k,
        a_off: o[0],
        b_off: o[1],
        c_off: o[2],
        trans_a: s.trans_a as u32,
        trans_b: s.trans_b as u32,
        accumulate: s.accumulate as u32,
        _pad: [0; 3],
    });
}
