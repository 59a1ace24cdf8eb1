// matmul.wgsl: C[m,n] (+)= op(A)[m,k] * op(B)[k,n], one dispatch per product.
//
// Shape legend: B batch, C channels, H height, W width, D features, Z latent.
// A dense layer uses this three ways: forward   y[B,Dout]  = x[B,Din] * W[Din,Dout],
// backward_data  dx[B,Din]  = dy[B,Dout] * W^T, backward_weights dW[Din,Dout] += x^T * dy.
//
// With trans_a, A is stored [k, m]; with trans_b, B is stored [n, k]. Offsets are
// in 32-bit words from the start of each bound (whole) buffer.
//
// Two shapes, one loop each, sharing the loads and epilogues: the tiled
// entry points (matmul_forward, matmul_fused) for GPUs, and the lane entry
// points (*_lanes, below) for CPU adapters; the host picks one per adapter.
//
// Tiling: each workgroup computes a TM x TN = 64 x 64 tile of C with 64 threads,
// each thread an 8 x 8 micro-tile held in registers (16 vec4 accumulators); K is
// walked in slabs of TK = 16 staged through workgroup memory as vec4s, so the
// inner loop does 4 vec4 loads per 64 FMAs: few fat threads, high arithmetic
// intensity per load, the standard shape for real GPUs.
// Loads are bounds-checked (zero padding), so any m, n, k works. The geometry is
// fixed by the workgroup-memory array sizes, so the workgroup size is a const.
// The transposes are override constants (TRANS_A, TRANS_B): one specialized
// pipeline per combination, so the staging index math folds at compile time.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    a_off: u32,
    b_off: u32,
    c_off: u32,
    // matmul_forward: the transposes, unused by the kernel (the overrides
    // below decide); matmul_fused: the offsets of vec and aux.
    v_off: u32,
    x_off: u32,
    accumulate: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

const TM: u32 = 64u;
const TN: u32 = 64u;
const TK: u32 = 16u;
const THREADS: u32 = 64u;

override TRANS_A: bool = false;
override TRANS_B: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// Both tiles k-major, four consecutive m (or n) per vec4:
// As[kk * 16 + mm / 4][mm % 4], Bs[kk * 16 + nn / 4][nn % 4].
var<workgroup> As: array<vec4<f32>, 256>;
var<workgroup> Bs: array<vec4<f32>, 256>;

// ---- The tile loop (the one of this file's tiled entry points) --------------

// A 64 x 64 tile of op(A) op(B): acc{2r+h} is row r of the thread's 8 x 8
// micro-tile, columns 4h .. 4h+4 (named, not an indexed array: some compilers
// spill an indexed private array to memory).
struct Tile {
    acc0: vec4<f32>, acc1: vec4<f32>, acc2: vec4<f32>, acc3: vec4<f32>,
    acc4: vec4<f32>, acc5: vec4<f32>, acc6: vec4<f32>, acc7: vec4<f32>,
    acc8: vec4<f32>, acc9: vec4<f32>, acc10: vec4<f32>, acc11: vec4<f32>,
    acc12: vec4<f32>, acc13: vec4<f32>, acc14: vec4<f32>, acc15: vec4<f32>,
}

// The product of the tile at (row0, col0); op(B) through load_b (which adds
// the ones column of EPI 2).
fn tile_product(li: u32, row0: u32, col0: u32) -> Tile {
    let tx = li % 8u;
    let ty = li / 8u;
    let ta = TRANS_A;
    let tb = TRANS_B;
    var t: Tile;
    for (var k0 = 0u; k0 < p.k; k0 += TK) {
        // Stage op(A)[row0.., k0..] and op(B)[k0.., col0..]: 256 vec4 slots each,
        // four per thread. Neighbouring threads walk the stored layout's
        // contiguous axis, so global reads stay coalesced for every transpose.
        for (var i = 0u; i < 4u; i++) {
            let e = li + i * THREADS;
            let kk_a = select(e % TK, e / 16u, ta);
            let mq = select(e / TK, e % 16u, ta);
            let gm = row0 + mq * 4u;
            let gk_a = k0 + kk_a;
            As[kk_a * 16u + mq] = vec4<f32>(load_a(gm, gk_a), load_a(gm + 1u, gk_a), load_a(gm + 2u, gk_a), load_a(gm + 3u, gk_a));
            let kk_b = select(e / 16u, e % TK, tb);
            let nq = select(e % 16u, e / TK, tb);
            let gn = col0 + nq * 4u;
            let gk_b = k0 + kk_b;
            Bs[kk_b * 16u + nq] = vec4<f32>(load_b(gk_b, gn), load_b(gk_b, gn + 1u), load_b(gk_b, gn + 2u), load_b(gk_b, gn + 3u));
        }
        workgroupBarrier();
        fma_slab(&t, ty, tx);
        workgroupBarrier();
    }
    return t;
}

// t += As Bs over one staged slab of TK, for thread (ty, tx). conv_gemm.wgsl
// has the same loop over its own staging.
fn fma_slab(t: ptr<function, Tile>, ty: u32, tx: u32) {
    for (var kk = 0u; kk < TK; kk++) {
        let a0 = As[kk * 16u + ty * 2u];
        let a1 = As[kk * 16u + ty * 2u + 1u];
        let b0 = Bs[kk * 16u + tx * 2u];
        let b1 = Bs[kk * 16u + tx * 2u + 1u];
        (*t).acc0 = fma(vec4<f32>(a0.x), b0, (*t).acc0);
        (*t).acc1 = fma(vec4<f32>(a0.x), b1, (*t).acc1);
        (*t).acc2 = fma(vec4<f32>(a0.y), b0, (*t).acc2);
        (*t).acc3 = fma(vec4<f32>(a0.y), b1, (*t).acc3);
        (*t).acc4 = fma(vec4<f32>(a0.z), b0, (*t).acc4);
        (*t).acc5 = fma(vec4<f32>(a0.z), b1, (*t).acc5);
        (*t).acc6 = fma(vec4<f32>(a0.w), b0, (*t).acc6);
        (*t).acc7 = fma(vec4<f32>(a0.w), b1, (*t).acc7);
        (*t).acc8 = fma(vec4<f32>(a1.x), b0, (*t).acc8);
        (*t).acc9 = fma(vec4<f32>(a1.x), b1, (*t).acc9);
        (*t).acc10 = fma(vec4<f32>(a1.y), b0, (*t).acc10);
        (*t).acc11 = fma(vec4<f32>(a1.y), b1, (*t).acc11);
        (*t).acc12 = fma(vec4<f32>(a1.z), b0, (*t).acc12);
        (*t).acc13 = fma(vec4<f32>(a1.z), b1, (*t).acc13);
        (*t).acc14 = fma(vec4<f32>(a1.w), b0, (*t).acc14);
        (*t).acc15 = fma(vec4<f32>(a1.w), b1, (*t).acc15);
    }
}

// ---- The lane loop (the one of this file's lane entry points) ----------------
//
// For CPU adapters (lavapipe, SwiftShader), which run a workgroup's
// invocations as the lanes of SIMD vectors and turn every buffer or
// workgroup-memory load into a per-lane gather: no workgroup memory, no
// barrier, and a 16 x 16 register tile per invocation read straight from the
// buffers (32 loads per 256 FMAs, where the tiled loop has ~20 per 64).
// A workgroup is 8 invocations (one 256-bit vector) side by side along n:
// 16 rows x 128 columns. Rows and columns past the matrix are clamped
// (computed, never stored), so the loop has no branch. Unrolled by hand:
// an indexed private array would be a gather too.

const LR: u32 = 16u;
const LC: u32 = 16u;
const LANES: u32 = 8u;

// Row r of the invocation's tile, columns 4q .. 4q+4, in t{4r+q}.
struct LaneTile {
    t0: vec4<f32>,
    t1: vec4<f32>,
    t2: vec4<f32>,
    t3: vec4<f32>,
    t4: vec4<f32>,
    t5: vec4<f32>,
    t6: vec4<f32>,
    t7: vec4<f32>,
    t8: vec4<f32>,
    t9: vec4<f32>,
    t10: vec4<f32>,
    t11: vec4<f32>,
    t12: vec4<f32>,
    t13: vec4<f32>,
    t14: vec4<f32>,
    t15: vec4<f32>,
    t16: vec4<f32>,
    t17: vec4<f32>,
    t18: vec4<f32>,
    t19: vec4<f32>,
    t20: vec4<f32>,
    t21: vec4<f32>,
    t22: vec4<f32>,
    t23: vec4<f32>,
    t24: vec4<f32>,
    t25: vec4<f32>,
    t26: vec4<f32>,
    t27: vec4<f32>,
    t28: vec4<f32>,
    t29: vec4<f32>,
    t30: vec4<f32>,
    t31: vec4<f32>,
    t32: vec4<f32>,
    t33: vec4<f32>,
    t34: vec4<f32>,
    t35: vec4<f32>,
    t36: vec4<f32>,
    t37: vec4<f32>,
    t38: vec4<f32>,
    t39: vec4<f32>,
    t40: vec4<f32>,
    t41: vec4<f32>,
    t42: vec4<f32>,
    t43: vec4<f32>,
    t44: vec4<f32>,
    t45: vec4<f32>,
    t46: vec4<f32>,
    t47: vec4<f32>,
    t48: vec4<f32>,
    t49: vec4<f32>,
    t50: vec4<f32>,
    t51: vec4<f32>,
    t52: vec4<f32>,
    t53: vec4<f32>,
    t54: vec4<f32>,
    t55: vec4<f32>,
    t56: vec4<f32>,
    t57: vec4<f32>,
    t58: vec4<f32>,
    t59: vec4<f32>,
    t60: vec4<f32>,
    t61: vec4<f32>,
    t62: vec4<f32>,
    t63: vec4<f32>,
}

fn lane_product(row0: u32, col0: u32, t: ptr<function, LaneTile>) {
    // Per k, A advances by astep words and B by bstep.
    let astep = select(1u, p.m, TRANS_A);
    let arow = select(p.k, 1u, TRANS_A);
    let bstep = select(p.n, 1u, TRANS_B);
    let bcol = select(1u, p.k, TRANS_B);
    let lm = max(p.m, 1u) - 1u;
    let ln = max(p.n, 1u) - 1u;
    let ia0 = p.a_off + min(row0 + 0u, lm) * arow;
    let ia1 = p.a_off + min(row0 + 1u, lm) * arow;
    let ia2 = p.a_off + min(row0 + 2u, lm) * arow;
    let ia3 = p.a_off + min(row0 + 3u, lm) * arow;
    let ia4 = p.a_off + min(row0 + 4u, lm) * arow;
    let ia5 = p.a_off + min(row0 + 5u, lm) * arow;
    let ia6 = p.a_off + min(row0 + 6u, lm) * arow;
    let ia7 = p.a_off + min(row0 + 7u, lm) * arow;
    let ia8 = p.a_off + min(row0 + 8u, lm) * arow;
    let ia9 = p.a_off + min(row0 + 9u, lm) * arow;
    let ia10 = p.a_off + min(row0 + 10u, lm) * arow;
    let ia11 = p.a_off + min(row0 + 11u, lm) * arow;
    let ia12 = p.a_off + min(row0 + 12u, lm) * arow;
    let ia13 = p.a_off + min(row0 + 13u, lm) * arow;
    let ia14 = p.a_off + min(row0 + 14u, lm) * arow;
    let ia15 = p.a_off + min(row0 + 15u, lm) * arow;
    let jb0 = p.b_off + min(col0 + 0u, ln) * bcol;
    let jb1 = p.b_off + min(col0 + 1u, ln) * bcol;
    let jb2 = p.b_off + min(col0 + 2u, ln) * bcol;
    let jb3 = p.b_off + min(col0 + 3u, ln) * bcol;
    let jb4 = p.b_off + min(col0 + 4u, ln) * bcol;
    let jb5 = p.b_off + min(col0 + 5u, ln) * bcol;
    let jb6 = p.b_off + min(col0 + 6u, ln) * bcol;
    let jb7 = p.b_off + min(col0 + 7u, ln) * bcol;
    let jb8 = p.b_off + min(col0 + 8u, ln) * bcol;
    let jb9 = p.b_off + min(col0 + 9u, ln) * bcol;
    let jb10 = p.b_off + min(col0 + 10u, ln) * bcol;
    let jb11 = p.b_off + min(col0 + 11u, ln) * bcol;
    let jb12 = p.b_off + min(col0 + 12u, ln) * bcol;
    let jb13 = p.b_off + min(col0 + 13u, ln) * bcol;
    let jb14 = p.b_off + min(col0 + 14u, ln) * bcol;
    let jb15 = p.b_off + min(col0 + 15u, ln) * bcol;
    // EPI 2 (matmul_fused's weight gradient): column n is all ones.
    let one0 = vec4<bool>(EPI == 2u && col0 + 0u == p.n, EPI == 2u && col0 + 1u == p.n, EPI == 2u && col0 + 2u == p.n, EPI == 2u && col0 + 3u == p.n);
    let one1 = vec4<bool>(EPI == 2u && col0 + 4u == p.n, EPI == 2u && col0 + 5u == p.n, EPI == 2u && col0 + 6u == p.n, EPI == 2u && col0 + 7u == p.n);
    let one2 = vec4<bool>(EPI == 2u && col0 + 8u == p.n, EPI == 2u && col0 + 9u == p.n, EPI == 2u && col0 + 10u == p.n, EPI == 2u && col0 + 11u == p.n);
    let one3 = vec4<bool>(EPI == 2u && col0 + 12u == p.n, EPI == 2u && col0 + 13u == p.n, EPI == 2u && col0 + 14u == p.n, EPI == 2u && col0 + 15u == p.n);
    var ka = 0u;
    var kb = 0u;
    for (var k = 0u; k < p.k; k++) {
        let b0 = select(vec4<f32>(b[jb0 + kb], b[jb1 + kb], b[jb2 + kb], b[jb3 + kb]), vec4<f32>(1.0), one0);
        let b1 = select(vec4<f32>(b[jb4 + kb], b[jb5 + kb], b[jb6 + kb], b[jb7 + kb]), vec4<f32>(1.0), one1);
        let b2 = select(vec4<f32>(b[jb8 + kb], b[jb9 + kb], b[jb10 + kb], b[jb11 + kb]), vec4<f32>(1.0), one2);
        let b3 = select(vec4<f32>(b[jb12 + kb], b[jb13 + kb], b[jb14 + kb], b[jb15 + kb]), vec4<f32>(1.0), one3);
        let a0 = vec4<f32>(a[ia0 + ka]);
        let a1 = vec4<f32>(a[ia1 + ka]);
        let a2 = vec4<f32>(a[ia2 + ka]);
        let a3 = vec4<f32>(a[ia3 + ka]);
        let a4 = vec4<f32>(a[ia4 + ka]);
        let a5 = vec4<f32>(a[ia5 + ka]);
        let a6 = vec4<f32>(a[ia6 + ka]);
        let a7 = vec4<f32>(a[ia7 + ka]);
        let a8 = vec4<f32>(a[ia8 + ka]);
        let a9 = vec4<f32>(a[ia9 + ka]);
        let a10 = vec4<f32>(a[ia10 + ka]);
        let a11 = vec4<f32>(a[ia11 + ka]);
        let a12 = vec4<f32>(a[ia12 + ka]);
        let a13 = vec4<f32>(a[ia13 + ka]);
        let a14 = vec4<f32>(a[ia14 + ka]);
        let a15 = vec4<f32>(a[ia15 + ka]);
        (*t).t0 = fma(a0, b0, (*t).t0);
        (*t).t1 = fma(a0, b1, (*t).t1);
        (*t).t2 = fma(a0, b2, (*t).t2);
        (*t).t3 = fma(a0, b3, (*t).t3);
        (*t).t4 = fma(a1, b0, (*t).t4);
        (*t).t5 = fma(a1, b1, (*t).t5);
        (*t).t6 = fma(a1, b2, (*t).t6);
        (*t).t7 = fma(a1, b3, (*t).t7);
        (*t).t8 = fma(a2, b0, (*t).t8);
        (*t).t9 = fma(a2, b1, (*t).t9);
        (*t).t10 = fma(a2, b2, (*t).t10);
        (*t).t11 = fma(a2, b3, (*t).t11);
        (*t).t12 = fma(a3, b0, (*t).t12);
        (*t).t13 = fma(a3, b1, (*t).t13);
        (*t).t14 = fma(a3, b2, (*t).t14);
        (*t).t15 = fma(a3, b3, (*t).t15);
        (*t).t16 = fma(a4, b0, (*t).t16);
        (*t).t17 = fma(a4, b1, (*t).t17);
        (*t).t18 = fma(a4, b2, (*t).t18);
        (*t).t19 = fma(a4, b3, (*t).t19);
        (*t).t20 = fma(a5, b0, (*t).t20);
        (*t).t21 = fma(a5, b1, (*t).t21);
        (*t).t22 = fma(a5, b2, (*t).t22);
        (*t).t23 = fma(a5, b3, (*t).t23);
        (*t).t24 = fma(a6, b0, (*t).t24);
        (*t).t25 = fma(a6, b1, (*t).t25);
        (*t).t26 = fma(a6, b2, (*t).t26);
        (*t).t27 = fma(a6, b3, (*t).t27);
        (*t).t28 = fma(a7, b0, (*t).t28);
        (*t).t29 = fma(a7, b1, (*t).t29);
        (*t).t30 = fma(a7, b2, (*t).t30);
        (*t).t31 = fma(a7, b3, (*t).t31);
        (*t).t32 = fma(a8, b0, (*t).t32);
        (*t).t33 = fma(a8, b1, (*t).t33);
        (*t).t34 = fma(a8, b2, (*t).t34);
        (*t).t35 = fma(a8, b3, (*t).t35);
        (*t).t36 = fma(a9, b0, (*t).t36);
        (*t).t37 = fma(a9, b1, (*t).t37);
        (*t).t38 = fma(a9, b2, (*t).t38);
        (*t).t39 = fma(a9, b3, (*t).t39);
        (*t).t40 = fma(a10, b0, (*t).t40);
        (*t).t41 = fma(a10, b1, (*t).t41);
        (*t).t42 = fma(a10, b2, (*t).t42);
        (*t).t43 = fma(a10, b3, (*t).t43);
        (*t).t44 = fma(a11, b0, (*t).t44);
        (*t).t45 = fma(a11, b1, (*t).t45);
        (*t).t46 = fma(a11, b2, (*t).t46);
        (*t).t47 = fma(a11, b3, (*t).t47);
        (*t).t48 = fma(a12, b0, (*t).t48);
        (*t).t49 = fma(a12, b1, (*t).t49);
        (*t).t50 = fma(a12, b2, (*t).t50);
        (*t).t51 = fma(a12, b3, (*t).t51);
        (*t).t52 = fma(a13, b0, (*t).t52);
        (*t).t53 = fma(a13, b1, (*t).t53);
        (*t).t54 = fma(a13, b2, (*t).t54);
        (*t).t55 = fma(a13, b3, (*t).t55);
        (*t).t56 = fma(a14, b0, (*t).t56);
        (*t).t57 = fma(a14, b1, (*t).t57);
        (*t).t58 = fma(a14, b2, (*t).t58);
        (*t).t59 = fma(a14, b3, (*t).t59);
        (*t).t60 = fma(a15, b0, (*t).t60);
        (*t).t61 = fma(a15, b1, (*t).t61);
        (*t).t62 = fma(a15, b2, (*t).t62);
        (*t).t63 = fma(a15, b3, (*t).t63);
        ka += astep;
        kb += bstep;
    }
}

// ---- Entry points -------------------------------------------------------------

@compute @workgroup_size(64)
fn matmul_forward(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
) {
    let t = tile_product(li, wg.y * TM, wg.x * TN);
    // Thread (ty, tx) owns rows gm0 .. +8 and columns gn0 .. +8.
    let gm0 = wg.y * TM + (li / 8u) * 8u;
    let gn0 = wg.x * TN + (li % 8u) * 8u;
    store8(gm0 + 0u, gn0, t.acc0, t.acc1);
    store8(gm0 + 1u, gn0, t.acc2, t.acc3);
    store8(gm0 + 2u, gn0, t.acc4, t.acc5);
    store8(gm0 + 3u, gn0, t.acc6, t.acc7);
    store8(gm0 + 4u, gn0, t.acc8, t.acc9);
    store8(gm0 + 5u, gn0, t.acc10, t.acc11);
    store8(gm0 + 6u, gn0, t.acc12, t.acc13);
    store8(gm0 + 7u, gn0, t.acc14, t.acc15);
}

@compute @workgroup_size(8)
fn matmul_forward_lanes(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
) {
    let row0 = wg.y * LR;
    let col0 = (wg.x * LANES + li) * LC;
    var tile: LaneTile;
    let t = &tile;
    lane_product(row0, col0, t);
    store4(row0 + 0u, col0 + 0u, (*t).t0);
    store4(row0 + 0u, col0 + 4u, (*t).t1);
    store4(row0 + 0u, col0 + 8u, (*t).t2);
    store4(row0 + 0u, col0 + 12u, (*t).t3);
    store4(row0 + 1u, col0 + 0u, (*t).t4);
    store4(row0 + 1u, col0 + 4u, (*t).t5);
    store4(row0 + 1u, col0 + 8u, (*t).t6);
    store4(row0 + 1u, col0 + 12u, (*t).t7);
    store4(row0 + 2u, col0 + 0u, (*t).t8);
    store4(row0 + 2u, col0 + 4u, (*t).t9);
    store4(row0 + 2u, col0 + 8u, (*t).t10);
    store4(row0 + 2u, col0 + 12u, (*t).t11);
    store4(row0 + 3u, col0 + 0u, (*t).t12);
    store4(row0 + 3u, col0 + 4u, (*t).t13);
    store4(row0 + 3u, col0 + 8u, (*t).t14);
    store4(row0 + 3u, col0 + 12u, (*t).t15);
    store4(row0 + 4u, col0 + 0u, (*t).t16);
    store4(row0 + 4u, col0 + 4u, (*t).t17);
    store4(row0 + 4u, col0 + 8u, (*t).t18);
    store4(row0 + 4u, col0 + 12u, (*t).t19);
    store4(row0 + 5u, col0 + 0u, (*t).t20);
    store4(row0 + 5u, col0 + 4u, (*t).t21);
    store4(row0 + 5u, col0 + 8u, (*t).t22);
    store4(row0 + 5u, col0 + 12u, (*t).t23);
    store4(row0 + 6u, col0 + 0u, (*t).t24);
    store4(row0 + 6u, col0 + 4u, (*t).t25);
    store4(row0 + 6u, col0 + 8u, (*t).t26);
    store4(row0 + 6u, col0 + 12u, (*t).t27);
    store4(row0 + 7u, col0 + 0u, (*t).t28);
    store4(row0 + 7u, col0 + 4u, (*t).t29);
    store4(row0 + 7u, col0 + 8u, (*t).t30);
    store4(row0 + 7u, col0 + 12u, (*t).t31);
    store4(row0 + 8u, col0 + 0u, (*t).t32);
    store4(row0 + 8u, col0 + 4u, (*t).t33);
    store4(row0 + 8u, col0 + 8u, (*t).t34);
    store4(row0 + 8u, col0 + 12u, (*t).t35);
    store4(row0 + 9u, col0 + 0u, (*t).t36);
    store4(row0 + 9u, col0 + 4u, (*t).t37);
    store4(row0 + 9u, col0 + 8u, (*t).t38);
    store4(row0 + 9u, col0 + 12u, (*t).t39);
    store4(row0 + 10u, col0 + 0u, (*t).t40);
    store4(row0 + 10u, col0 + 4u, (*t).t41);
    store4(row0 + 10u, col0 + 8u, (*t).t42);
    store4(row0 + 10u, col0 + 12u, (*t).t43);
    store4(row0 + 11u, col0 + 0u, (*t).t44);
    store4(row0 + 11u, col0 + 4u, (*t).t45);
    store4(row0 + 11u, col0 + 8u, (*t).t46);
    store4(row0 + 11u, col0 + 12u, (*t).t47);
    store4(row0 + 12u, col0 + 0u, (*t).t48);
    store4(row0 + 12u, col0 + 4u, (*t).t49);
    store4(row0 + 12u, col0 + 8u, (*t).t50);
    store4(row0 + 12u, col0 + 12u, (*t).t51);
    store4(row0 + 13u, col0 + 0u, (*t).t52);
    store4(row0 + 13u, col0 + 4u, (*t).t53);
    store4(row0 + 13u, col0 + 8u, (*t).t54);
    store4(row0 + 13u, col0 + 12u, (*t).t55);
    store4(row0 + 14u, col0 + 0u, (*t).t56);
    store4(row0 + 14u, col0 + 4u, (*t).t57);
    store4(row0 + 14u, col0 + 8u, (*t).t58);
    store4(row0 + 14u, col0 + 12u, (*t).t59);
    store4(row0 + 15u, col0 + 0u, (*t).t60);
    store4(row0 + 15u, col0 + 4u, (*t).t61);
    store4(row0 + 15u, col0 + 8u, (*t).t62);
    store4(row0 + 15u, col0 + 12u, (*t).t63);
}

// op(A)[gm, gk], zero outside the matrix.
fn load_a(gm: u32, gk: u32) -> f32 {
    if (gm >= p.m || gk >= p.k) {
        return 0.0;
    }
    return a[p.a_off + select(gm * p.k + gk, gk * p.m + gm, TRANS_A)];
}

// op(B)[gk, gn], zero outside the matrix; with EPI 2 (matmul_fused's weight
// gradient), column n is all ones.
fn load_b(gk: u32, gn: u32) -> f32 {
    if (gk >= p.k) {
        return 0.0;
    }
    if (gn >= p.n) {
        return select(0.0, 1.0, EPI == 2u && gn == p.n);
    }
    return b[p.b_off + select(gk * p.n + gn, gn * p.k + gk, TRANS_B)];
}

// The plain epilogue: c[gm, gn] (+)= v.
fn store(gm: u32, gn: u32, v: f32) {
    if (gm < p.m && gn < p.n) {
        let idx = p.c_off + gm * p.n + gn;
        var r = v;
        if (p.accumulate != 0u) {
            r += c[idx];
        }
        c[idx] = r;
    }
}

// Row gm, columns gn0 .. gn0 + 4.
fn store4(gm: u32, gn0: u32, v: vec4<f32>) {
    for (var j = 0u; j < 4u; j++) {
        store(gm, gn0 + j, v[j]);
    }
}

// Row gm, columns gn0 .. gn0 + 8 (lo, hi).
fn store8(gm: u32, gn0: u32, lo: vec4<f32>, hi: vec4<f32>) {
    store4(gm, gn0, lo);
    store4(gm, gn0 + 4u, hi);
}

// ---- matmul_fused: the same product with a fused epilogue --------------------
//
// Dense layers' three products with what used to follow them as separate
// dispatches (EPI, an override constant: one pipeline per mode and ACT):
//   EPI 1, forward:  c = act(A B + vec[n])            (bias, then ACT; y = act(x W^T + b))
//   EPI 2, weights:  c (+)= A B, and vec[m] += sum_k A[m, k]  (dW += dy^T x, db += colsum(dy)):
//                    op(B) gets a virtual column n of ones, whose column of C is the bias gradient
//   EPI 3, data:     c = (A B [+ vec[m, n] if accumulate]) * ACT'(aux[m, n])
//                    (dx through the previous layer's activation, from its output y = aux)
// ACT ids as in activation.wgsl; ACT' from the activation's output alone
// (relu / leaky relu: y > 0 exactly where x > 0).
// Bindings: a 1, b 2, c 3, vec 4 (bias / bias gradient / accumulate source), aux 5;
// the host binds a one-word dummy for a binding the mode leaves unused.


// 0: matmul_forward, which has no epilogue of its own.
override EPI: u32 = 0u;
override ACT: u32 = 0u;
// Where vec lives: 0 its own binding; 1 inside b (the forward's bias next to
// its weight in one parameter buffer); 2 inside c (the bias gradient next to
// the weight gradient). One binding per buffer keeps ranges from overlapping.
override VEC_IN: u32 = 0u;
const LEAKY_SLOPE: f32 = 0.01;

@group(0) @binding(4) var<storage, read_write> vec_v: array<f32>;
@group(0) @binding(5) var<storage, read_write> aux: array<f32>;

@compute @workgroup_size(64)
fn matmul_fused(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
) {
    let t = tile_product(li, wg.y * TM, wg.x * TN);
    let gm0 = wg.y * TM + (li / 8u) * 8u;
    let gn0 = wg.x * TN + (li % 8u) * 8u;
    store8f(gm0 + 0u, gn0, t.acc0, t.acc1);
    store8f(gm0 + 1u, gn0, t.acc2, t.acc3);
    store8f(gm0 + 2u, gn0, t.acc4, t.acc5);
    store8f(gm0 + 3u, gn0, t.acc6, t.acc7);
    store8f(gm0 + 4u, gn0, t.acc8, t.acc9);
    store8f(gm0 + 5u, gn0, t.acc10, t.acc11);
    store8f(gm0 + 6u, gn0, t.acc12, t.acc13);
    store8f(gm0 + 7u, gn0, t.acc14, t.acc15);
}

@compute @workgroup_size(8)
fn matmul_fused_lanes(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
) {
    let row0 = wg.y * LR;
    let col0 = (wg.x * LANES + li) * LC;
    var tile: LaneTile;
    let t = &tile;
    lane_product(row0, col0, t);
    store4f(row0 + 0u, col0 + 0u, (*t).t0);
    store4f(row0 + 0u, col0 + 4u, (*t).t1);
    store4f(row0 + 0u, col0 + 8u, (*t).t2);
    store4f(row0 + 0u, col0 + 12u, (*t).t3);
    store4f(row0 + 1u, col0 + 0u, (*t).t4);
    store4f(row0 + 1u, col0 + 4u, (*t).t5);
    store4f(row0 + 1u, col0 + 8u, (*t).t6);
    store4f(row0 + 1u, col0 + 12u, (*t).t7);
    store4f(row0 + 2u, col0 + 0u, (*t).t8);
    store4f(row0 + 2u, col0 + 4u, (*t).t9);
    store4f(row0 + 2u, col0 + 8u, (*t).t10);
    store4f(row0 + 2u, col0 + 12u, (*t).t11);
    store4f(row0 + 3u, col0 + 0u, (*t).t12);
    store4f(row0 + 3u, col0 + 4u, (*t).t13);
    store4f(row0 + 3u, col0 + 8u, (*t).t14);
    store4f(row0 + 3u, col0 + 12u, (*t).t15);
    store4f(row0 + 4u, col0 + 0u, (*t).t16);
    store4f(row0 + 4u, col0 + 4u, (*t).t17);
    store4f(row0 + 4u, col0 + 8u, (*t).t18);
    store4f(row0 + 4u, col0 + 12u, (*t).t19);
    store4f(row0 + 5u, col0 + 0u, (*t).t20);
    store4f(row0 + 5u, col0 + 4u, (*t).t21);
    store4f(row0 + 5u, col0 + 8u, (*t).t22);
    store4f(row0 + 5u, col0 + 12u, (*t).t23);
    store4f(row0 + 6u, col0 + 0u, (*t).t24);
    store4f(row0 + 6u, col0 + 4u, (*t).t25);
    store4f(row0 + 6u, col0 + 8u, (*t).t26);
    store4f(row0 + 6u, col0 + 12u, (*t).t27);
    store4f(row0 + 7u, col0 + 0u, (*t).t28);
    store4f(row0 + 7u, col0 + 4u, (*t).t29);
    store4f(row0 + 7u, col0 + 8u, (*t).t30);
    store4f(row0 + 7u, col0 + 12u, (*t).t31);
    store4f(row0 + 8u, col0 + 0u, (*t).t32);
    store4f(row0 + 8u, col0 + 4u, (*t).t33);
    store4f(row0 + 8u, col0 + 8u, (*t).t34);
    store4f(row0 + 8u, col0 + 12u, (*t).t35);
    store4f(row0 + 9u, col0 + 0u, (*t).t36);
    store4f(row0 + 9u, col0 + 4u, (*t).t37);
    store4f(row0 + 9u, col0 + 8u, (*t).t38);
    store4f(row0 + 9u, col0 + 12u, (*t).t39);
    store4f(row0 + 10u, col0 + 0u, (*t).t40);
    store4f(row0 + 10u, col0 + 4u, (*t).t41);
    store4f(row0 + 10u, col0 + 8u, (*t).t42);
    store4f(row0 + 10u, col0 + 12u, (*t).t43);
    store4f(row0 + 11u, col0 + 0u, (*t).t44);
    store4f(row0 + 11u, col0 + 4u, (*t).t45);
    store4f(row0 + 11u, col0 + 8u, (*t).t46);
    store4f(row0 + 11u, col0 + 12u, (*t).t47);
    store4f(row0 + 12u, col0 + 0u, (*t).t48);
    store4f(row0 + 12u, col0 + 4u, (*t).t49);
    store4f(row0 + 12u, col0 + 8u, (*t).t50);
    store4f(row0 + 12u, col0 + 12u, (*t).t51);
    store4f(row0 + 13u, col0 + 0u, (*t).t52);
    store4f(row0 + 13u, col0 + 4u, (*t).t53);
    store4f(row0 + 13u, col0 + 8u, (*t).t54);
    store4f(row0 + 13u, col0 + 12u, (*t).t55);
    store4f(row0 + 14u, col0 + 0u, (*t).t56);
    store4f(row0 + 14u, col0 + 4u, (*t).t57);
    store4f(row0 + 14u, col0 + 8u, (*t).t58);
    store4f(row0 + 14u, col0 + 12u, (*t).t59);
    store4f(row0 + 15u, col0 + 0u, (*t).t60);
    store4f(row0 + 15u, col0 + 4u, (*t).t61);
    store4f(row0 + 15u, col0 + 8u, (*t).t62);
    store4f(row0 + 15u, col0 + 12u, (*t).t63);
}

fn act_f(v: f32) -> f32 {
    switch ACT {
        case 1u: { return max(v, 0.0); }
        case 2u: { return select(LEAKY_SLOPE * v, v, v > 0.0); }
        case 3u: {
            let e = exp(-abs(v));
            return select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0);
        }
        case 4u: {
            let e = exp(-2.0 * abs(v));
            return sign(v) * (1.0 - e) / (1.0 + e);
        }
        default: { return v; }
    }
}

// The activation's derivative from its output y.
fn dact_f(y: f32) -> f32 {
    switch ACT {
        case 1u: { return select(0.0, 1.0, y > 0.0); }
        case 2u: { return select(LEAKY_SLOPE, 1.0, y > 0.0); }
        case 3u: { return y * (1.0 - y); }
        case 4u: { return 1.0 - y * y; }
        default: { return 1.0; }
    }
}

// The fused epilogue of element (gm, gn); column n of EPI 2 is the bias
// gradient.
fn store_f(gm: u32, gn: u32, v: f32) {
    if (gm >= p.m) {
        return;
    }
    let idx = gm * p.n + gn;
    if (gn < p.n) {
        var r = v;
        if (EPI == 1u) {
            var bias_v: f32;
            if (VEC_IN == 1u) {
                bias_v = b[p.v_off + gn];
            } else {
                bias_v = vec_v[p.v_off + gn];
            }
            r = act_f(r + bias_v);
        } else if (EPI == 2u) {
            if (p.accumulate != 0u) {
                r += c[p.c_off + idx];
            }
        } else {
            if (p.accumulate != 0u) {
                r += vec_v[p.v_off + idx];
            }
            r *= dact_f(aux[p.x_off + idx]);
        }
        c[p.c_off + idx] = r;
    } else if (EPI == 2u && gn == p.n) {
        if (VEC_IN == 2u) {
            c[p.v_off + gm] += v;
        } else {
            vec_v[p.v_off + gm] += v;
        }
    }
}

fn store4f(gm: u32, gn0: u32, v: vec4<f32>) {
    for (var j = 0u; j < 4u; j++) {
        store_f(gm, gn0 + j, v[j]);
    }
}

fn store8f(gm: u32, gn0: u32, lo: vec4<f32>, hi: vec4<f32>) {
    store4f(gm, gn0, lo);
    store4f(gm, gn0 + 4u, hi);
}
