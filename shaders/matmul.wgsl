// matmul.wgsl: C[m,n] (+)= op(A)[m,k] * op(B)[k,n], one dispatch per product.
//
// Shape legend: B batch, C channels, H height, W width, D features, Z latent.
// A dense layer uses this three ways: forward   y[B,Dout]  = x[B,Din] * W[Din,Dout],
// backward_data  dx[B,Din]  = dy[B,Dout] * W^T, backward_weights dW[Din,Dout] += x^T * dy.
//
// With trans_a, A is stored [k, m]; with trans_b, B is stored [n, k]. Offsets are
// in 32-bit words from the start of each bound (whole) buffer.
//
// Two entry points share the tile loop, the loads and the stores:
// matmul_forward (plain) and matmul_fused (with an epilogue, below).
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

// ---- The tile loop ------------------------------------------------------------

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
