// conv_gemm.wgsl: implicit-GEMM Conv2d, forward and backward to the weights (split-K).
//
// Shape legend: B batch, C channels, H height, W width, D features, Z latent.
// x [B, Ci, H, W], w [Co, Ci, KH, KW], y [B, Co, OH, OW], all NCHW. K = Ci KH KW,
// P = OH OW, N = nb P for nb samples. The patch matrix
//   col[k, n] = x[b, ci, oy SH + ky - PH, ox SW + kx - PW]   (0 outside the image)
// with k = (ci KH + ky) KW + kx and n = b P + oy OW + ox is never stored: the tile
// loads read x directly (im2col folded into the staging), and the products are
// written straight in NCHW (no permute).
//   conv_gemm_forward:         y [Co, N] = w [Co, K] col [K, N] (+ bias[co])
//   conv_gemm_backward_weights: part[s] [Co, K1] = dy [Co, N_s] col^T [N_s, K1]
//     over the s-th slice N_s of the N columns (split-K: thin layers such as
//     Co = 32, K = 16, N = 25,088 get one workgroup per slice instead of one in
//     all); with a bias, K1 = K + 1 and column K of col^T is all ones, so the
//     same product also sums dy per channel (the bias gradient).
//   conv_gemm_reduce: dw [Co, K] += sum_s part[s] (and db [Co] += column K).
// Each has a lane twin for CPU adapters (*_lanes, see below and matmul.wgsl).
// The tiling is matmul.wgsl's: 64 x 64 tiles of the product, 64 threads each
// holding an 8 x 8 micro-tile in registers, K walked in slabs of 16 staged as
// vec4s through workgroup memory. No integer division inside the K loop: the
// patch (and, backward, position) indices advance by 16 per slab with
// compare-and-subtract (divisions are scalarized on SIMD CPUs such as lavapipe).
// Offsets are in 32-bit words from the start of each bound (whole) buffer.

struct Params {
    // Samples (forward: of this chunk; backward: the whole batch).
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
    // forward: x, w, y, bias; backward: x, dy, part, (unused);
    // reduce: part, dw, db (in src_off, src2_off, dst_off).
    src_off: u32,
    src2_off: u32,
    dst_off: u32,
    aux_off: u32,
    // Bit 0: a bias (forward: add it; backward and reduce: the ones column / db).
    flags: u32,
    // Backward: columns of N per slice (a multiple of 16) and the slice count.
    slice_len: u32,
    slices: u32,
}

const TM: u32 = 64u;
const TN: u32 = 64u;
const TK: u32 = 16u;
const THREADS: u32 = 64u;

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> src2: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
@group(0) @binding(4) var<storage, read_write> aux: array<f32>;

var<workgroup> As: array<vec4<f32>, 256>;
var<workgroup> Bs: array<vec4<f32>, 256>;
// Backward: this tile's 64 patch columns: offset of (ci, ky, kx) within a
// sample's x, and (ky << 16 | kx); kind 1 = the ones column, 2 = past the end.
var<workgroup> col_off: array<i32, 64>;
var<workgroup> col_kykx: array<u32, 64>;
var<workgroup> col_kind: array<u32, 64>;

// ---- The tile loop's product (both tiled kernels; the staging differs) ------

// A 64 x 64 tile: acc{2r+h} is row r of the thread's 8 x 8 micro-tile,
// columns 4h .. 4h+4 (named, not an indexed array: some compilers spill an
// indexed private array to memory).
struct Tile {
    acc0: vec4<f32>, acc1: vec4<f32>, acc2: vec4<f32>, acc3: vec4<f32>,
    acc4: vec4<f32>, acc5: vec4<f32>, acc6: vec4<f32>, acc7: vec4<f32>,
    acc8: vec4<f32>, acc9: vec4<f32>, acc10: vec4<f32>, acc11: vec4<f32>,
    acc12: vec4<f32>, acc13: vec4<f32>, acc14: vec4<f32>, acc15: vec4<f32>,
}

// t += As Bs over one staged slab of TK, for thread (ty, tx).
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

// x at patch row (roff, ky, kx) of a column starting at (base, iy0, ix0); 0
// outside the image or where `ok` is false.
fn tap(ok: bool, base: i32, iy0: i32, ix0: i32, roff: i32, ky: u32, kx: u32) -> f32 {
    let iy = iy0 + i32(ky);
    let ix = ix0 + i32(kx);
    if (ok && u32(iy) < p.h && u32(ix) < p.w) {
        return src[u32(base + roff)];
    }
    return 0.0;
}

// w[gm, gk] (row-major [Co, K]), zero outside.
fn weight(gm: u32, gk: u32, kdim: u32) -> f32 {
    if (gm >= p.co || gk >= kdim) {
        return 0.0;
    }
    return src2[p.src2_off + gm * kdim + gk];
}

@compute @workgroup_size(64)
fn conv_gemm_forward(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
) {
    let row0 = wg.y * TM;
    let col0 = wg.x * TN;
    let tx = li % 8u;
    let ty = li / 8u;
    let kdim = p.ci * p.kh * p.kw;
    let pos = p.oh * p.ow;
    let ncols = p.nb * pos;
    let hw = p.h * p.w;

    // This thread stages B columns n = col0 + (li % 16) * 4 + j, j < 4, for
    // every slab: their sample base and top-left corner, found once.
    var cb = vec4<i32>(0);
    var cy = vec4<i32>(0);
    var cx = vec4<i32>(0);
    var cok = vec4<bool>(false);
    for (var j = 0u; j < 4u; j++) {
        let n = col0 + (li % 16u) * 4u + j;
        let b = n / pos;
        let r = n % pos;
        let iy0 = i32((r / p.ow) * p.sh) - i32(p.ph);
        let ix0 = i32((r % p.ow) * p.sw) - i32(p.pw);
        cb[j] = i32(p.src_off + b * p.ci * hw) + iy0 * i32(p.w) + ix0;
        cy[j] = iy0;
        cx[j] = ix0;
        cok[j] = n < ncols;
    }
    // ... and B rows k0 + li / 16 + 4 i, i < 4, as (ci, ky, kx), advanced by
    // TK per slab.
    let k_first = vec4<u32>(0u, 4u, 8u, 12u) + vec4<u32>(li / 16u);
    var rkx = k_first % vec4<u32>(p.kw);
    var rky = (k_first / vec4<u32>(p.kw)) % vec4<u32>(p.kh);
    var rci = k_first / vec4<u32>(p.kw * p.kh);

    var t: Tile;

    for (var k0 = 0u; k0 < kdim; k0 += TK) {
        let roff = vec4<i32>(rci * hw + rky * p.w + rkx);
        for (var i = 0u; i < 4u; i++) {
            let e = li + i * THREADS;
            // A = w, stored [Co, K]: As[kk * 16 + mq] holds rows 4 mq .. 4 mq + 4.
            let kk_a = e % TK;
            let mq = e / TK;
            let gm = row0 + mq * 4u;
            let gk = k0 + kk_a;
            As[kk_a * 16u + mq] = vec4<f32>(weight(gm, gk, kdim), weight(gm + 1u, gk, kdim), weight(gm + 2u, gk, kdim), weight(gm + 3u, gk, kdim));
            // B = col: row k0 + kk_b (this thread's i-th row), its 4 columns.
            let kk_b = e / 16u;
            let rok = k0 + kk_b < kdim;
            let ro = roff[i];
            let ky = rky[i];
            let kx = rkx[i];
            Bs[kk_b * 16u + li % 16u] = vec4<f32>(
                tap(rok && cok.x, cb.x, cy.x, cx.x, ro, ky, kx),
                tap(rok && cok.y, cb.y, cy.y, cx.y, ro, ky, kx),
                tap(rok && cok.z, cb.z, cy.z, cx.z, ro, ky, kx),
                tap(rok && cok.w, cb.w, cy.w, cx.w, ro, ky, kx),
            );
        }
        workgroupBarrier();

        fma_slab(&t, ty, tx);
        workgroupBarrier();

        // Advance the four rows by TK = 16 patch elements.
        rkx += vec4<u32>(TK);
        loop {
            let over = rkx >= vec4<u32>(p.kw);
            if (!any(over)) {
                break;
            }
            rkx = select(rkx, rkx - vec4<u32>(p.kw), over);
            rky = select(rky, rky + vec4<u32>(1u), over);
        }
        loop {
            let over = rky >= vec4<u32>(p.kh);
            if (!any(over)) {
                break;
            }
            rky = select(rky, rky - vec4<u32>(p.kh), over);
            rci = select(rci, rci + vec4<u32>(1u), over);
        }
    }

    // Thread (ty, tx) owns channels row0 + ty*8 .. +8 and columns
    // col0 + tx*8 .. +8, written to y[b, co, r] with n = b P + r.
    let gm0 = row0 + ty * 8u;
    let gn0 = col0 + tx * 8u;
    let b0 = gn0 / pos;
    let r0 = gn0 % pos;
    store_y(gm0 + 0u, gn0, b0, r0, t.acc0, t.acc1);
    store_y(gm0 + 1u, gn0, b0, r0, t.acc2, t.acc3);
    store_y(gm0 + 2u, gn0, b0, r0, t.acc4, t.acc5);
    store_y(gm0 + 3u, gn0, b0, r0, t.acc6, t.acc7);
    store_y(gm0 + 4u, gn0, b0, r0, t.acc8, t.acc9);
    store_y(gm0 + 5u, gn0, b0, r0, t.acc10, t.acc11);
    store_y(gm0 + 6u, gn0, b0, r0, t.acc12, t.acc13);
    store_y(gm0 + 7u, gn0, b0, r0, t.acc14, t.acc15);
}

// Row gm of the product, columns gn0 .. gn0 + 8 (lo, hi), into NCHW y; column
// gn0 is position r0 of sample b0.
fn store_y(gm: u32, gn0: u32, b0: u32, r0: u32, lo: vec4<f32>, hi: vec4<f32>) {
    if (gm >= p.co) {
        return;
    }
    let pos = p.oh * p.ow;
    let ncols = p.nb * pos;
    var add = 0.0;
    if ((p.flags & 1u) != 0u) {
        add = aux[p.aux_off + gm];
    }
    var b = b0;
    var r = r0;
    for (var j = 0u; j < 8u; j++) {
        if (gn0 + j >= ncols) {
            return;
        }
        let v = select(hi[j & 3u], lo[j & 3u], j < 4u);
        dst[p.dst_off + (b * p.co + gm) * pos + r] = v + add;
        r += 1u;
        if (r == pos) {
            r = 0u;
            b += 1u;
        }
    }
}

@compute @workgroup_size(64)
fn conv_gemm_backward_weights(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
) {
    let kdim = p.ci * p.kh * p.kw;
    let kcols = kdim + (p.flags & 1u);
    let mtiles = (p.co + TM - 1u) / TM;
    let slice = wg.y / mtiles;
    let row0 = (wg.y % mtiles) * TM;
    let col0 = wg.x * TN;
    let tx = li % 8u;
    let ty = li / 8u;
    let pos = p.oh * p.ow;
    let hw = p.h * p.w;
    let n_begin = slice * p.slice_len;
    let n_end = min(n_begin + p.slice_len, p.nb * pos);

    // The tile's patch columns, once.
    {
        let k = col0 + li;
        let kx = k % p.kw;
        let ky = (k / p.kw) % p.kh;
        let c = k / (p.kw * p.kh);
        col_off[li] = i32(c * hw + ky * p.w + kx);
        col_kykx[li] = (ky << 16u) | kx;
        col_kind[li] = select(select(2u, 1u, k == kdim && k < kcols), 0u, k < kdim);
    }
    workgroupBarrier();

    // This thread stages reduction row n = n_begin + k0 + li % 16 of both
    // operands, as (b, oy, ox), advanced by TK per slab.
    let n_first = n_begin + li % 16u;
    var b = n_first / pos;
    var oy = (n_first % pos) / p.ow;
    var ox = n_first % p.ow;

    var t: Tile;

    let kk = li % 16u;
    for (var n0 = n_begin; n0 < n_end; n0 += TK) {
        let nok = n0 + kk < n_end;
        // dy[b, co, oy, ox] = src2[dyb + co P].
        let dyb = p.src2_off + b * p.co * pos + oy * p.ow + ox;
        let xb = i32(p.src_off + b * p.ci * hw);
        let iy0 = i32(oy * p.sh) - i32(p.ph);
        let ix0 = i32(ox * p.sw) - i32(p.pw);
        let corner = xb + iy0 * i32(p.w) + ix0;
        for (var i = 0u; i < 4u; i++) {
            let q = li / 16u + 4u * i;
            // A = dy as [Co, N]: As[kk * 16 + q] holds channels 4 q .. 4 q + 4.
            let gm = row0 + q * 4u;
            var a = vec4<f32>(0.0);
            for (var j = 0u; j < 4u; j++) {
                if (nok && gm + j < p.co) {
                    a[j] = src2[dyb + (gm + j) * pos];
                }
            }
            As[kk * 16u + q] = a;
            // B = col^T as [N, K1]: Bs[kk * 16 + q] holds columns 4 q .. 4 q + 4.
            var v = vec4<f32>(0.0);
            for (var j = 0u; j < 4u; j++) {
                let col = q * 4u + j;
                let kind = col_kind[col];
                let kykx = col_kykx[col];
                if (nok && kind == 0u) {
                    v[j] = tap(true, corner, iy0, ix0, col_off[col], kykx >> 16u, kykx & 0xffffu);
                } else if (nok && kind == 1u) {
                    v[j] = 1.0;
                }
            }
            Bs[kk * 16u + q] = v;
        }
        workgroupBarrier();

        fma_slab(&t, ty, tx);
        workgroupBarrier();

        ox += TK;
        while (ox >= p.ow) {
            ox -= p.ow;
            oy += 1u;
        }
        while (oy >= p.oh) {
            oy -= p.oh;
            b += 1u;
        }
    }

    // part[slice] [Co, K1]: thread (ty, tx) owns rows row0 + ty*8 .. +8 and
    // columns col0 + tx*8 .. +8.
    let base = p.dst_off + slice * p.co * kcols;
    let gm0 = row0 + ty * 8u;
    let gn0 = col0 + tx * 8u;
    store_part(base, gm0 + 0u, gn0, kcols, t.acc0, t.acc1);
    store_part(base, gm0 + 1u, gn0, kcols, t.acc2, t.acc3);
    store_part(base, gm0 + 2u, gn0, kcols, t.acc4, t.acc5);
    store_part(base, gm0 + 3u, gn0, kcols, t.acc6, t.acc7);
    store_part(base, gm0 + 4u, gn0, kcols, t.acc8, t.acc9);
    store_part(base, gm0 + 5u, gn0, kcols, t.acc10, t.acc11);
    store_part(base, gm0 + 6u, gn0, kcols, t.acc12, t.acc13);
    store_part(base, gm0 + 7u, gn0, kcols, t.acc14, t.acc15);
}

fn store_part(base: u32, gm: u32, gn0: u32, kcols: u32, lo: vec4<f32>, hi: vec4<f32>) {
    if (gm >= p.co) {
        return;
    }
    for (var j = 0u; j < 8u; j++) {
        let gn = gn0 + j;
        if (gn < kcols) {
            dst[base + gm * kcols + gn] = select(hi[j & 3u], lo[j & 3u], j < 4u);
        }
    }
}

// ---- Lane kernels, for CPU adapters (see matmul.wgsl's lane loop) -----------
//
// No workgroup memory and no barrier: each invocation holds a 16 x 16
// register tile (16 output channels by 16 columns) read straight from the
// buffers, 32 loads per 256 FMAs. Channels and columns past the end are
// clamped (computed, never stored). Unrolled by hand: an indexed private
// array would be a per-lane gather on lavapipe.

const LR: u32 = 16u;
const LC: u32 = 16u;
const LANES: u32 = 8u;
// Weight gradient: invocations side by side along K1 (LX of them; the host
// picks 1, 2, 4 or 8 from K1), the other 8 / LX take further slices of N.
override LX: u32 = 8u;

// Channel r of the invocation's tile, columns 4q .. 4q+4, in t{4r+q}.
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

// t += the outer product of 16 channel values (w0..w3, four each, in order)
// and 16 columns (v0..v3): channel r's row, t{4r} .. t{4r+3}, gets w_r v.
// Both lane kernels' inner step; each output keeps its own fma chain over K.
fn lane_fma(t: ptr<function, LaneTile>, w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32>, w3: vec4<f32>,
            v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>) {
    let a0 = vec4<f32>(w0.x);
    let a1 = vec4<f32>(w0.y);
    let a2 = vec4<f32>(w0.z);
    let a3 = vec4<f32>(w0.w);
    let a4 = vec4<f32>(w1.x);
    let a5 = vec4<f32>(w1.y);
    let a6 = vec4<f32>(w1.z);
    let a7 = vec4<f32>(w1.w);
    let a8 = vec4<f32>(w2.x);
    let a9 = vec4<f32>(w2.y);
    let a10 = vec4<f32>(w2.z);
    let a11 = vec4<f32>(w2.w);
    let a12 = vec4<f32>(w3.x);
    let a13 = vec4<f32>(w3.y);
    let a14 = vec4<f32>(w3.z);
    let a15 = vec4<f32>(w3.w);
    (*t).t0 = fma(a0, v0, (*t).t0);
    (*t).t1 = fma(a0, v1, (*t).t1);
    (*t).t2 = fma(a0, v2, (*t).t2);
    (*t).t3 = fma(a0, v3, (*t).t3);
    (*t).t4 = fma(a1, v0, (*t).t4);
    (*t).t5 = fma(a1, v1, (*t).t5);
    (*t).t6 = fma(a1, v2, (*t).t6);
    (*t).t7 = fma(a1, v3, (*t).t7);
    (*t).t8 = fma(a2, v0, (*t).t8);
    (*t).t9 = fma(a2, v1, (*t).t9);
    (*t).t10 = fma(a2, v2, (*t).t10);
    (*t).t11 = fma(a2, v3, (*t).t11);
    (*t).t12 = fma(a3, v0, (*t).t12);
    (*t).t13 = fma(a3, v1, (*t).t13);
    (*t).t14 = fma(a3, v2, (*t).t14);
    (*t).t15 = fma(a3, v3, (*t).t15);
    (*t).t16 = fma(a4, v0, (*t).t16);
    (*t).t17 = fma(a4, v1, (*t).t17);
    (*t).t18 = fma(a4, v2, (*t).t18);
    (*t).t19 = fma(a4, v3, (*t).t19);
    (*t).t20 = fma(a5, v0, (*t).t20);
    (*t).t21 = fma(a5, v1, (*t).t21);
    (*t).t22 = fma(a5, v2, (*t).t22);
    (*t).t23 = fma(a5, v3, (*t).t23);
    (*t).t24 = fma(a6, v0, (*t).t24);
    (*t).t25 = fma(a6, v1, (*t).t25);
    (*t).t26 = fma(a6, v2, (*t).t26);
    (*t).t27 = fma(a6, v3, (*t).t27);
    (*t).t28 = fma(a7, v0, (*t).t28);
    (*t).t29 = fma(a7, v1, (*t).t29);
    (*t).t30 = fma(a7, v2, (*t).t30);
    (*t).t31 = fma(a7, v3, (*t).t31);
    (*t).t32 = fma(a8, v0, (*t).t32);
    (*t).t33 = fma(a8, v1, (*t).t33);
    (*t).t34 = fma(a8, v2, (*t).t34);
    (*t).t35 = fma(a8, v3, (*t).t35);
    (*t).t36 = fma(a9, v0, (*t).t36);
    (*t).t37 = fma(a9, v1, (*t).t37);
    (*t).t38 = fma(a9, v2, (*t).t38);
    (*t).t39 = fma(a9, v3, (*t).t39);
    (*t).t40 = fma(a10, v0, (*t).t40);
    (*t).t41 = fma(a10, v1, (*t).t41);
    (*t).t42 = fma(a10, v2, (*t).t42);
    (*t).t43 = fma(a10, v3, (*t).t43);
    (*t).t44 = fma(a11, v0, (*t).t44);
    (*t).t45 = fma(a11, v1, (*t).t45);
    (*t).t46 = fma(a11, v2, (*t).t46);
    (*t).t47 = fma(a11, v3, (*t).t47);
    (*t).t48 = fma(a12, v0, (*t).t48);
    (*t).t49 = fma(a12, v1, (*t).t49);
    (*t).t50 = fma(a12, v2, (*t).t50);
    (*t).t51 = fma(a12, v3, (*t).t51);
    (*t).t52 = fma(a13, v0, (*t).t52);
    (*t).t53 = fma(a13, v1, (*t).t53);
    (*t).t54 = fma(a13, v2, (*t).t54);
    (*t).t55 = fma(a13, v3, (*t).t55);
    (*t).t56 = fma(a14, v0, (*t).t56);
    (*t).t57 = fma(a14, v1, (*t).t57);
    (*t).t58 = fma(a14, v2, (*t).t58);
    (*t).t59 = fma(a14, v3, (*t).t59);
    (*t).t60 = fma(a15, v0, (*t).t60);
    (*t).t61 = fma(a15, v1, (*t).t61);
    (*t).t62 = fma(a15, v2, (*t).t62);
    (*t).t63 = fma(a15, v3, (*t).t63);
}

// y [Co, N] = w col: 8 invocations along N, each 16 columns; wg.y picks 16
// channels.
@compute @workgroup_size(8)
fn conv_gemm_forward_lanes(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
) {
    let kdim = p.ci * p.kh * p.kw;
    let pos = p.oh * p.ow;
    let ncols = p.nb * pos;
    let hw = p.h * p.w;
    let row0 = wg.y * LR;
    let col0 = (wg.x * LANES + li) * LC;
    let lc = max(ncols, 1u) - 1u;
    let lco = max(p.co, 1u) - 1u;
    // Column c: sample, top-left corner (y{c}, x{c}) and its offset in src.
    let n0 = min(col0 + 0u, lc);
    let r0 = n0 % pos;
    let y0 = i32((r0 / p.ow) * p.sh) - i32(p.ph);
    let x0 = i32((r0 % p.ow) * p.sw) - i32(p.pw);
    let o0 = i32(p.src_off + (n0 / pos) * p.ci * hw) + y0 * i32(p.w) + x0;
    let n1 = min(col0 + 1u, lc);
    let r1 = n1 % pos;
    let y1 = i32((r1 / p.ow) * p.sh) - i32(p.ph);
    let x1 = i32((r1 % p.ow) * p.sw) - i32(p.pw);
    let o1 = i32(p.src_off + (n1 / pos) * p.ci * hw) + y1 * i32(p.w) + x1;
    let n2 = min(col0 + 2u, lc);
    let r2 = n2 % pos;
    let y2 = i32((r2 / p.ow) * p.sh) - i32(p.ph);
    let x2 = i32((r2 % p.ow) * p.sw) - i32(p.pw);
    let o2 = i32(p.src_off + (n2 / pos) * p.ci * hw) + y2 * i32(p.w) + x2;
    let n3 = min(col0 + 3u, lc);
    let r3 = n3 % pos;
    let y3 = i32((r3 / p.ow) * p.sh) - i32(p.ph);
    let x3 = i32((r3 % p.ow) * p.sw) - i32(p.pw);
    let o3 = i32(p.src_off + (n3 / pos) * p.ci * hw) + y3 * i32(p.w) + x3;
    let n4 = min(col0 + 4u, lc);
    let r4 = n4 % pos;
    let y4 = i32((r4 / p.ow) * p.sh) - i32(p.ph);
    let x4 = i32((r4 % p.ow) * p.sw) - i32(p.pw);
    let o4 = i32(p.src_off + (n4 / pos) * p.ci * hw) + y4 * i32(p.w) + x4;
    let n5 = min(col0 + 5u, lc);
    let r5 = n5 % pos;
    let y5 = i32((r5 / p.ow) * p.sh) - i32(p.ph);
    let x5 = i32((r5 % p.ow) * p.sw) - i32(p.pw);
    let o5 = i32(p.src_off + (n5 / pos) * p.ci * hw) + y5 * i32(p.w) + x5;
    let n6 = min(col0 + 6u, lc);
    let r6 = n6 % pos;
    let y6 = i32((r6 / p.ow) * p.sh) - i32(p.ph);
    let x6 = i32((r6 % p.ow) * p.sw) - i32(p.pw);
    let o6 = i32(p.src_off + (n6 / pos) * p.ci * hw) + y6 * i32(p.w) + x6;
    let n7 = min(col0 + 7u, lc);
    let r7 = n7 % pos;
    let y7 = i32((r7 / p.ow) * p.sh) - i32(p.ph);
    let x7 = i32((r7 % p.ow) * p.sw) - i32(p.pw);
    let o7 = i32(p.src_off + (n7 / pos) * p.ci * hw) + y7 * i32(p.w) + x7;
    let n8 = min(col0 + 8u, lc);
    let r8 = n8 % pos;
    let y8 = i32((r8 / p.ow) * p.sh) - i32(p.ph);
    let x8 = i32((r8 % p.ow) * p.sw) - i32(p.pw);
    let o8 = i32(p.src_off + (n8 / pos) * p.ci * hw) + y8 * i32(p.w) + x8;
    let n9 = min(col0 + 9u, lc);
    let r9 = n9 % pos;
    let y9 = i32((r9 / p.ow) * p.sh) - i32(p.ph);
    let x9 = i32((r9 % p.ow) * p.sw) - i32(p.pw);
    let o9 = i32(p.src_off + (n9 / pos) * p.ci * hw) + y9 * i32(p.w) + x9;
    let n10 = min(col0 + 10u, lc);
    let r10 = n10 % pos;
    let y10 = i32((r10 / p.ow) * p.sh) - i32(p.ph);
    let x10 = i32((r10 % p.ow) * p.sw) - i32(p.pw);
    let o10 = i32(p.src_off + (n10 / pos) * p.ci * hw) + y10 * i32(p.w) + x10;
    let n11 = min(col0 + 11u, lc);
    let r11 = n11 % pos;
    let y11 = i32((r11 / p.ow) * p.sh) - i32(p.ph);
    let x11 = i32((r11 % p.ow) * p.sw) - i32(p.pw);
    let o11 = i32(p.src_off + (n11 / pos) * p.ci * hw) + y11 * i32(p.w) + x11;
    let n12 = min(col0 + 12u, lc);
    let r12 = n12 % pos;
    let y12 = i32((r12 / p.ow) * p.sh) - i32(p.ph);
    let x12 = i32((r12 % p.ow) * p.sw) - i32(p.pw);
    let o12 = i32(p.src_off + (n12 / pos) * p.ci * hw) + y12 * i32(p.w) + x12;
    let n13 = min(col0 + 13u, lc);
    let r13 = n13 % pos;
    let y13 = i32((r13 / p.ow) * p.sh) - i32(p.ph);
    let x13 = i32((r13 % p.ow) * p.sw) - i32(p.pw);
    let o13 = i32(p.src_off + (n13 / pos) * p.ci * hw) + y13 * i32(p.w) + x13;
    let n14 = min(col0 + 14u, lc);
    let r14 = n14 % pos;
    let y14 = i32((r14 / p.ow) * p.sh) - i32(p.ph);
    let x14 = i32((r14 % p.ow) * p.sw) - i32(p.pw);
    let o14 = i32(p.src_off + (n14 / pos) * p.ci * hw) + y14 * i32(p.w) + x14;
    let n15 = min(col0 + 15u, lc);
    let r15 = n15 % pos;
    let y15 = i32((r15 / p.ow) * p.sh) - i32(p.ph);
    let x15 = i32((r15 % p.ow) * p.sw) - i32(p.pw);
    let o15 = i32(p.src_off + (n15 / pos) * p.ci * hw) + y15 * i32(p.w) + x15;
    let iw0 = p.src2_off + min(row0 + 0u, lco) * kdim;
    let iw1 = p.src2_off + min(row0 + 1u, lco) * kdim;
    let iw2 = p.src2_off + min(row0 + 2u, lco) * kdim;
    let iw3 = p.src2_off + min(row0 + 3u, lco) * kdim;
    let iw4 = p.src2_off + min(row0 + 4u, lco) * kdim;
    let iw5 = p.src2_off + min(row0 + 5u, lco) * kdim;
    let iw6 = p.src2_off + min(row0 + 6u, lco) * kdim;
    let iw7 = p.src2_off + min(row0 + 7u, lco) * kdim;
    let iw8 = p.src2_off + min(row0 + 8u, lco) * kdim;
    let iw9 = p.src2_off + min(row0 + 9u, lco) * kdim;
    let iw10 = p.src2_off + min(row0 + 10u, lco) * kdim;
    let iw11 = p.src2_off + min(row0 + 11u, lco) * kdim;
    let iw12 = p.src2_off + min(row0 + 12u, lco) * kdim;
    let iw13 = p.src2_off + min(row0 + 13u, lco) * kdim;
    let iw14 = p.src2_off + min(row0 + 14u, lco) * kdim;
    let iw15 = p.src2_off + min(row0 + 15u, lco) * kdim;
    var tile: LaneTile;
    let t = &tile;
    var k = 0u;
    for (var ci = 0u; ci < p.ci; ci++) {
        for (var ky = 0u; ky < p.kh; ky++) {
            let roff = i32(ci * hw + ky * p.w);
            let row_in0 = u32(y0 + i32(ky)) < p.h;
            let row_in1 = u32(y1 + i32(ky)) < p.h;
            let row_in2 = u32(y2 + i32(ky)) < p.h;
            let row_in3 = u32(y3 + i32(ky)) < p.h;
            let row_in4 = u32(y4 + i32(ky)) < p.h;
            let row_in5 = u32(y5 + i32(ky)) < p.h;
            let row_in6 = u32(y6 + i32(ky)) < p.h;
            let row_in7 = u32(y7 + i32(ky)) < p.h;
            let row_in8 = u32(y8 + i32(ky)) < p.h;
            let row_in9 = u32(y9 + i32(ky)) < p.h;
            let row_in10 = u32(y10 + i32(ky)) < p.h;
            let row_in11 = u32(y11 + i32(ky)) < p.h;
            let row_in12 = u32(y12 + i32(ky)) < p.h;
            let row_in13 = u32(y13 + i32(ky)) < p.h;
            let row_in14 = u32(y14 + i32(ky)) < p.h;
            let row_in15 = u32(y15 + i32(ky)) < p.h;
            for (var kx = 0u; kx < p.kw; kx++) {
                let dx = roff + i32(kx);
                let in0 = row_in0 && u32(x0 + i32(kx)) < p.w;
                let in1 = row_in1 && u32(x1 + i32(kx)) < p.w;
                let in2 = row_in2 && u32(x2 + i32(kx)) < p.w;
                let in3 = row_in3 && u32(x3 + i32(kx)) < p.w;
                let in4 = row_in4 && u32(x4 + i32(kx)) < p.w;
                let in5 = row_in5 && u32(x5 + i32(kx)) < p.w;
                let in6 = row_in6 && u32(x6 + i32(kx)) < p.w;
                let in7 = row_in7 && u32(x7 + i32(kx)) < p.w;
                let in8 = row_in8 && u32(x8 + i32(kx)) < p.w;
                let in9 = row_in9 && u32(x9 + i32(kx)) < p.w;
                let in10 = row_in10 && u32(x10 + i32(kx)) < p.w;
                let in11 = row_in11 && u32(x11 + i32(kx)) < p.w;
                let in12 = row_in12 && u32(x12 + i32(kx)) < p.w;
                let in13 = row_in13 && u32(x13 + i32(kx)) < p.w;
                let in14 = row_in14 && u32(x14 + i32(kx)) < p.w;
                let in15 = row_in15 && u32(x15 + i32(kx)) < p.w;
                let v0 = vec4<f32>(select(0.0, src[u32(select(0, o0 + dx, in0))], in0), select(0.0, src[u32(select(0, o1 + dx, in1))], in1), select(0.0, src[u32(select(0, o2 + dx, in2))], in2), select(0.0, src[u32(select(0, o3 + dx, in3))], in3));
                let v1 = vec4<f32>(select(0.0, src[u32(select(0, o4 + dx, in4))], in4), select(0.0, src[u32(select(0, o5 + dx, in5))], in5), select(0.0, src[u32(select(0, o6 + dx, in6))], in6), select(0.0, src[u32(select(0, o7 + dx, in7))], in7));
                let v2 = vec4<f32>(select(0.0, src[u32(select(0, o8 + dx, in8))], in8), select(0.0, src[u32(select(0, o9 + dx, in9))], in9), select(0.0, src[u32(select(0, o10 + dx, in10))], in10), select(0.0, src[u32(select(0, o11 + dx, in11))], in11));
                let v3 = vec4<f32>(select(0.0, src[u32(select(0, o12 + dx, in12))], in12), select(0.0, src[u32(select(0, o13 + dx, in13))], in13), select(0.0, src[u32(select(0, o14 + dx, in14))], in14), select(0.0, src[u32(select(0, o15 + dx, in15))], in15));
                let w0 = vec4<f32>(src2[iw0 + k], src2[iw1 + k], src2[iw2 + k], src2[iw3 + k]);
                let w1 = vec4<f32>(src2[iw4 + k], src2[iw5 + k], src2[iw6 + k], src2[iw7 + k]);
                let w2 = vec4<f32>(src2[iw8 + k], src2[iw9 + k], src2[iw10 + k], src2[iw11 + k]);
                let w3 = vec4<f32>(src2[iw12 + k], src2[iw13 + k], src2[iw14 + k], src2[iw15 + k]);
                lane_fma(t, w0, w1, w2, w3, v0, v1, v2, v3);
                k += 1u;
            }
        }
    }
    store_y4(row0 + 0u, col0 + 0u, (*t).t0);
    store_y4(row0 + 0u, col0 + 4u, (*t).t1);
    store_y4(row0 + 0u, col0 + 8u, (*t).t2);
    store_y4(row0 + 0u, col0 + 12u, (*t).t3);
    store_y4(row0 + 1u, col0 + 0u, (*t).t4);
    store_y4(row0 + 1u, col0 + 4u, (*t).t5);
    store_y4(row0 + 1u, col0 + 8u, (*t).t6);
    store_y4(row0 + 1u, col0 + 12u, (*t).t7);
    store_y4(row0 + 2u, col0 + 0u, (*t).t8);
    store_y4(row0 + 2u, col0 + 4u, (*t).t9);
    store_y4(row0 + 2u, col0 + 8u, (*t).t10);
    store_y4(row0 + 2u, col0 + 12u, (*t).t11);
    store_y4(row0 + 3u, col0 + 0u, (*t).t12);
    store_y4(row0 + 3u, col0 + 4u, (*t).t13);
    store_y4(row0 + 3u, col0 + 8u, (*t).t14);
    store_y4(row0 + 3u, col0 + 12u, (*t).t15);
    store_y4(row0 + 4u, col0 + 0u, (*t).t16);
    store_y4(row0 + 4u, col0 + 4u, (*t).t17);
    store_y4(row0 + 4u, col0 + 8u, (*t).t18);
    store_y4(row0 + 4u, col0 + 12u, (*t).t19);
    store_y4(row0 + 5u, col0 + 0u, (*t).t20);
    store_y4(row0 + 5u, col0 + 4u, (*t).t21);
    store_y4(row0 + 5u, col0 + 8u, (*t).t22);
    store_y4(row0 + 5u, col0 + 12u, (*t).t23);
    store_y4(row0 + 6u, col0 + 0u, (*t).t24);
    store_y4(row0 + 6u, col0 + 4u, (*t).t25);
    store_y4(row0 + 6u, col0 + 8u, (*t).t26);
    store_y4(row0 + 6u, col0 + 12u, (*t).t27);
    store_y4(row0 + 7u, col0 + 0u, (*t).t28);
    store_y4(row0 + 7u, col0 + 4u, (*t).t29);
    store_y4(row0 + 7u, col0 + 8u, (*t).t30);
    store_y4(row0 + 7u, col0 + 12u, (*t).t31);
    store_y4(row0 + 8u, col0 + 0u, (*t).t32);
    store_y4(row0 + 8u, col0 + 4u, (*t).t33);
    store_y4(row0 + 8u, col0 + 8u, (*t).t34);
    store_y4(row0 + 8u, col0 + 12u, (*t).t35);
    store_y4(row0 + 9u, col0 + 0u, (*t).t36);
    store_y4(row0 + 9u, col0 + 4u, (*t).t37);
    store_y4(row0 + 9u, col0 + 8u, (*t).t38);
    store_y4(row0 + 9u, col0 + 12u, (*t).t39);
    store_y4(row0 + 10u, col0 + 0u, (*t).t40);
    store_y4(row0 + 10u, col0 + 4u, (*t).t41);
    store_y4(row0 + 10u, col0 + 8u, (*t).t42);
    store_y4(row0 + 10u, col0 + 12u, (*t).t43);
    store_y4(row0 + 11u, col0 + 0u, (*t).t44);
    store_y4(row0 + 11u, col0 + 4u, (*t).t45);
    store_y4(row0 + 11u, col0 + 8u, (*t).t46);
    store_y4(row0 + 11u, col0 + 12u, (*t).t47);
    store_y4(row0 + 12u, col0 + 0u, (*t).t48);
    store_y4(row0 + 12u, col0 + 4u, (*t).t49);
    store_y4(row0 + 12u, col0 + 8u, (*t).t50);
    store_y4(row0 + 12u, col0 + 12u, (*t).t51);
    store_y4(row0 + 13u, col0 + 0u, (*t).t52);
    store_y4(row0 + 13u, col0 + 4u, (*t).t53);
    store_y4(row0 + 13u, col0 + 8u, (*t).t54);
    store_y4(row0 + 13u, col0 + 12u, (*t).t55);
    store_y4(row0 + 14u, col0 + 0u, (*t).t56);
    store_y4(row0 + 14u, col0 + 4u, (*t).t57);
    store_y4(row0 + 14u, col0 + 8u, (*t).t58);
    store_y4(row0 + 14u, col0 + 12u, (*t).t59);
    store_y4(row0 + 15u, col0 + 0u, (*t).t60);
    store_y4(row0 + 15u, col0 + 4u, (*t).t61);
    store_y4(row0 + 15u, col0 + 8u, (*t).t62);
    store_y4(row0 + 15u, col0 + 12u, (*t).t63);
}

// Row co, columns n0 .. n0 + 4 of the product into NCHW y, plus the bias.
fn store_y4(co: u32, n0: u32, v: vec4<f32>) {
    let pos = p.oh * p.ow;
    if (co >= p.co) {
        return;
    }
    var add = 0.0;
    if ((p.flags & 1u) != 0u) {
        add = aux[p.aux_off + co];
    }
    for (var j = 0u; j < 4u; j++) {
        let n = n0 + j;
        if (n < p.nb * pos) {
            dst[p.dst_off + ((n / pos) * p.co + co) * pos + n % pos] = v[j] + add;
        }
    }
}

// part[s] [Co, K1] = dy col^T over slice s of N (slice_len columns): LX
// invocations along K1, 16 columns each; 8 / LX slices per workgroup; wg.y
// picks 16 channels and the workgroup's slices.
@compute @workgroup_size(8)
fn conv_gemm_backward_weights_lanes(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
) {
    let kdim = p.ci * p.kh * p.kw;
    let kcols = kdim + (p.flags & 1u);
    let mtiles = (p.co + LR - 1u) / LR;
    let slice = (wg.y / mtiles) * (LANES / LX) + li / LX;
    let row0 = (wg.y % mtiles) * LR;
    let col0 = (wg.x * LX + li % LX) * LC;
    let pos = p.oh * p.ow;
    let hw = p.h * p.w;
    let n_begin = min(slice * p.slice_len, p.nb * pos);
    let n_end = min(n_begin + p.slice_len, p.nb * pos);
    let lk = max(kdim, 1u) - 1u;
    let lco = max(p.co, 1u) - 1u;
    // Column c: patch element (ci, ky{c}, kx{c}) at offset f{c} from a
    // position's corner, or the ones column (k == K, with a bias).
    let k0 = min(col0 + 0u, lk);
    let kx0 = i32(k0 % p.kw);
    let ky0 = i32((k0 / p.kw) % p.kh);
    let f0 = i32((k0 / (p.kw * p.kh)) * hw) + ky0 * i32(p.w) + kx0;
    let real0 = col0 + 0u < kdim;
    let one0 = col0 + 0u == kdim;
    let k1 = min(col0 + 1u, lk);
    let kx1 = i32(k1 % p.kw);
    let ky1 = i32((k1 / p.kw) % p.kh);
    let f1 = i32((k1 / (p.kw * p.kh)) * hw) + ky1 * i32(p.w) + kx1;
    let real1 = col0 + 1u < kdim;
    let one1 = col0 + 1u == kdim;
    let k2 = min(col0 + 2u, lk);
    let kx2 = i32(k2 % p.kw);
    let ky2 = i32((k2 / p.kw) % p.kh);
    let f2 = i32((k2 / (p.kw * p.kh)) * hw) + ky2 * i32(p.w) + kx2;
    let real2 = col0 + 2u < kdim;
    let one2 = col0 + 2u == kdim;
    let k3 = min(col0 + 3u, lk);
    let kx3 = i32(k3 % p.kw);
    let ky3 = i32((k3 / p.kw) % p.kh);
    let f3 = i32((k3 / (p.kw * p.kh)) * hw) + ky3 * i32(p.w) + kx3;
    let real3 = col0 + 3u < kdim;
    let one3 = col0 + 3u == kdim;
    let k4 = min(col0 + 4u, lk);
    let kx4 = i32(k4 % p.kw);
    let ky4 = i32((k4 / p.kw) % p.kh);
    let f4 = i32((k4 / (p.kw * p.kh)) * hw) + ky4 * i32(p.w) + kx4;
    let real4 = col0 + 4u < kdim;
    let one4 = col0 + 4u == kdim;
    let k5 = min(col0 + 5u, lk);
    let kx5 = i32(k5 % p.kw);
    let ky5 = i32((k5 / p.kw) % p.kh);
    let f5 = i32((k5 / (p.kw * p.kh)) * hw) + ky5 * i32(p.w) + kx5;
    let real5 = col0 + 5u < kdim;
    let one5 = col0 + 5u == kdim;
    let k6 = min(col0 + 6u, lk);
    let kx6 = i32(k6 % p.kw);
    let ky6 = i32((k6 / p.kw) % p.kh);
    let f6 = i32((k6 / (p.kw * p.kh)) * hw) + ky6 * i32(p.w) + kx6;
    let real6 = col0 + 6u < kdim;
    let one6 = col0 + 6u == kdim;
    let k7 = min(col0 + 7u, lk);
    let kx7 = i32(k7 % p.kw);
    let ky7 = i32((k7 / p.kw) % p.kh);
    let f7 = i32((k7 / (p.kw * p.kh)) * hw) + ky7 * i32(p.w) + kx7;
    let real7 = col0 + 7u < kdim;
    let one7 = col0 + 7u == kdim;
    let k8 = min(col0 + 8u, lk);
    let kx8 = i32(k8 % p.kw);
    let ky8 = i32((k8 / p.kw) % p.kh);
    let f8 = i32((k8 / (p.kw * p.kh)) * hw) + ky8 * i32(p.w) + kx8;
    let real8 = col0 + 8u < kdim;
    let one8 = col0 + 8u == kdim;
    let k9 = min(col0 + 9u, lk);
    let kx9 = i32(k9 % p.kw);
    let ky9 = i32((k9 / p.kw) % p.kh);
    let f9 = i32((k9 / (p.kw * p.kh)) * hw) + ky9 * i32(p.w) + kx9;
    let real9 = col0 + 9u < kdim;
    let one9 = col0 + 9u == kdim;
    let k10 = min(col0 + 10u, lk);
    let kx10 = i32(k10 % p.kw);
    let ky10 = i32((k10 / p.kw) % p.kh);
    let f10 = i32((k10 / (p.kw * p.kh)) * hw) + ky10 * i32(p.w) + kx10;
    let real10 = col0 + 10u < kdim;
    let one10 = col0 + 10u == kdim;
    let k11 = min(col0 + 11u, lk);
    let kx11 = i32(k11 % p.kw);
    let ky11 = i32((k11 / p.kw) % p.kh);
    let f11 = i32((k11 / (p.kw * p.kh)) * hw) + ky11 * i32(p.w) + kx11;
    let real11 = col0 + 11u < kdim;
    let one11 = col0 + 11u == kdim;
    let k12 = min(col0 + 12u, lk);
    let kx12 = i32(k12 % p.kw);
    let ky12 = i32((k12 / p.kw) % p.kh);
    let f12 = i32((k12 / (p.kw * p.kh)) * hw) + ky12 * i32(p.w) + kx12;
    let real12 = col0 + 12u < kdim;
    let one12 = col0 + 12u == kdim;
    let k13 = min(col0 + 13u, lk);
    let kx13 = i32(k13 % p.kw);
    let ky13 = i32((k13 / p.kw) % p.kh);
    let f13 = i32((k13 / (p.kw * p.kh)) * hw) + ky13 * i32(p.w) + kx13;
    let real13 = col0 + 13u < kdim;
    let one13 = col0 + 13u == kdim;
    let k14 = min(col0 + 14u, lk);
    let kx14 = i32(k14 % p.kw);
    let ky14 = i32((k14 / p.kw) % p.kh);
    let f14 = i32((k14 / (p.kw * p.kh)) * hw) + ky14 * i32(p.w) + kx14;
    let real14 = col0 + 14u < kdim;
    let one14 = col0 + 14u == kdim;
    let k15 = min(col0 + 15u, lk);
    let kx15 = i32(k15 % p.kw);
    let ky15 = i32((k15 / p.kw) % p.kh);
    let f15 = i32((k15 / (p.kw * p.kh)) * hw) + ky15 * i32(p.w) + kx15;
    let real15 = col0 + 15u < kdim;
    let one15 = col0 + 15u == kdim;
    let ro0 = p.src2_off + min(row0 + 0u, lco) * pos;
    let ro1 = p.src2_off + min(row0 + 1u, lco) * pos;
    let ro2 = p.src2_off + min(row0 + 2u, lco) * pos;
    let ro3 = p.src2_off + min(row0 + 3u, lco) * pos;
    let ro4 = p.src2_off + min(row0 + 4u, lco) * pos;
    let ro5 = p.src2_off + min(row0 + 5u, lco) * pos;
    let ro6 = p.src2_off + min(row0 + 6u, lco) * pos;
    let ro7 = p.src2_off + min(row0 + 7u, lco) * pos;
    let ro8 = p.src2_off + min(row0 + 8u, lco) * pos;
    let ro9 = p.src2_off + min(row0 + 9u, lco) * pos;
    let ro10 = p.src2_off + min(row0 + 10u, lco) * pos;
    let ro11 = p.src2_off + min(row0 + 11u, lco) * pos;
    let ro12 = p.src2_off + min(row0 + 12u, lco) * pos;
    let ro13 = p.src2_off + min(row0 + 13u, lco) * pos;
    let ro14 = p.src2_off + min(row0 + 14u, lco) * pos;
    let ro15 = p.src2_off + min(row0 + 15u, lco) * pos;
    var b = n_begin / pos;
    var oy = (n_begin % pos) / p.ow;
    var ox = n_begin % p.ow;
    var tile: LaneTile;
    let t = &tile;
    for (var n = n_begin; n < n_end; n++) {
        let iy0 = i32(oy * p.sh) - i32(p.ph);
        let ix0 = i32(ox * p.sw) - i32(p.pw);
        let corner = i32(p.src_off + b * p.ci * hw) + iy0 * i32(p.w) + ix0;
        // dy [B, Co, P]: channel row r at ro{r} + d.
        let d = b * p.co * pos + oy * p.ow + ox;
        let in0 = real0 && u32(iy0 + ky0) < p.h && u32(ix0 + kx0) < p.w;
        let in1 = real1 && u32(iy0 + ky1) < p.h && u32(ix0 + kx1) < p.w;
        let in2 = real2 && u32(iy0 + ky2) < p.h && u32(ix0 + kx2) < p.w;
        let in3 = real3 && u32(iy0 + ky3) < p.h && u32(ix0 + kx3) < p.w;
        let in4 = real4 && u32(iy0 + ky4) < p.h && u32(ix0 + kx4) < p.w;
        let in5 = real5 && u32(iy0 + ky5) < p.h && u32(ix0 + kx5) < p.w;
        let in6 = real6 && u32(iy0 + ky6) < p.h && u32(ix0 + kx6) < p.w;
        let in7 = real7 && u32(iy0 + ky7) < p.h && u32(ix0 + kx7) < p.w;
        let in8 = real8 && u32(iy0 + ky8) < p.h && u32(ix0 + kx8) < p.w;
        let in9 = real9 && u32(iy0 + ky9) < p.h && u32(ix0 + kx9) < p.w;
        let in10 = real10 && u32(iy0 + ky10) < p.h && u32(ix0 + kx10) < p.w;
        let in11 = real11 && u32(iy0 + ky11) < p.h && u32(ix0 + kx11) < p.w;
        let in12 = real12 && u32(iy0 + ky12) < p.h && u32(ix0 + kx12) < p.w;
        let in13 = real13 && u32(iy0 + ky13) < p.h && u32(ix0 + kx13) < p.w;
        let in14 = real14 && u32(iy0 + ky14) < p.h && u32(ix0 + kx14) < p.w;
        let in15 = real15 && u32(iy0 + ky15) < p.h && u32(ix0 + kx15) < p.w;
        let v0 = vec4<f32>(select(select(0.0, src[u32(select(0, corner + f0, in0))], in0), 1.0, one0), select(select(0.0, src[u32(select(0, corner + f1, in1))], in1), 1.0, one1), select(select(0.0, src[u32(select(0, corner + f2, in2))], in2), 1.0, one2), select(select(0.0, src[u32(select(0, corner + f3, in3))], in3), 1.0, one3));
        let v1 = vec4<f32>(select(select(0.0, src[u32(select(0, corner + f4, in4))], in4), 1.0, one4), select(select(0.0, src[u32(select(0, corner + f5, in5))], in5), 1.0, one5), select(select(0.0, src[u32(select(0, corner + f6, in6))], in6), 1.0, one6), select(select(0.0, src[u32(select(0, corner + f7, in7))], in7), 1.0, one7));
        let v2 = vec4<f32>(select(select(0.0, src[u32(select(0, corner + f8, in8))], in8), 1.0, one8), select(select(0.0, src[u32(select(0, corner + f9, in9))], in9), 1.0, one9), select(select(0.0, src[u32(select(0, corner + f10, in10))], in10), 1.0, one10), select(select(0.0, src[u32(select(0, corner + f11, in11))], in11), 1.0, one11));
        let v3 = vec4<f32>(select(select(0.0, src[u32(select(0, corner + f12, in12))], in12), 1.0, one12), select(select(0.0, src[u32(select(0, corner + f13, in13))], in13), 1.0, one13), select(select(0.0, src[u32(select(0, corner + f14, in14))], in14), 1.0, one14), select(select(0.0, src[u32(select(0, corner + f15, in15))], in15), 1.0, one15));
        let w0 = vec4<f32>(src2[ro0 + d], src2[ro1 + d], src2[ro2 + d], src2[ro3 + d]);
        let w1 = vec4<f32>(src2[ro4 + d], src2[ro5 + d], src2[ro6 + d], src2[ro7 + d]);
        let w2 = vec4<f32>(src2[ro8 + d], src2[ro9 + d], src2[ro10 + d], src2[ro11 + d]);
        let w3 = vec4<f32>(src2[ro12 + d], src2[ro13 + d], src2[ro14 + d], src2[ro15 + d]);
        lane_fma(t, w0, w1, w2, w3, v0, v1, v2, v3);
        // The next position, without a division.
        ox += 1u;
        let wrap = ox == p.ow;
        ox = select(ox, 0u, wrap);
        oy = select(oy, oy + 1u, wrap);
        let wrap2 = oy == p.oh;
        oy = select(oy, 0u, wrap2);
        b = select(b, b + 1u, wrap2);
    }
    if (slice >= p.slices) {
        return;
    }
    let base = p.dst_off + slice * p.co * kcols;
    store_part4(base, row0 + 0u, col0 + 0u, kcols, (*t).t0);
    store_part4(base, row0 + 0u, col0 + 4u, kcols, (*t).t1);
    store_part4(base, row0 + 0u, col0 + 8u, kcols, (*t).t2);
    store_part4(base, row0 + 0u, col0 + 12u, kcols, (*t).t3);
    store_part4(base, row0 + 1u, col0 + 0u, kcols, (*t).t4);
    store_part4(base, row0 + 1u, col0 + 4u, kcols, (*t).t5);
    store_part4(base, row0 + 1u, col0 + 8u, kcols, (*t).t6);
    store_part4(base, row0 + 1u, col0 + 12u, kcols, (*t).t7);
    store_part4(base, row0 + 2u, col0 + 0u, kcols, (*t).t8);
    store_part4(base, row0 + 2u, col0 + 4u, kcols, (*t).t9);
    store_part4(base, row0 + 2u, col0 + 8u, kcols, (*t).t10);
    store_part4(base, row0 + 2u, col0 + 12u, kcols, (*t).t11);
    store_part4(base, row0 + 3u, col0 + 0u, kcols, (*t).t12);
    store_part4(base, row0 + 3u, col0 + 4u, kcols, (*t).t13);
    store_part4(base, row0 + 3u, col0 + 8u, kcols, (*t).t14);
    store_part4(base, row0 + 3u, col0 + 12u, kcols, (*t).t15);
    store_part4(base, row0 + 4u, col0 + 0u, kcols, (*t).t16);
    store_part4(base, row0 + 4u, col0 + 4u, kcols, (*t).t17);
    store_part4(base, row0 + 4u, col0 + 8u, kcols, (*t).t18);
    store_part4(base, row0 + 4u, col0 + 12u, kcols, (*t).t19);
    store_part4(base, row0 + 5u, col0 + 0u, kcols, (*t).t20);
    store_part4(base, row0 + 5u, col0 + 4u, kcols, (*t).t21);
    store_part4(base, row0 + 5u, col0 + 8u, kcols, (*t).t22);
    store_part4(base, row0 + 5u, col0 + 12u, kcols, (*t).t23);
    store_part4(base, row0 + 6u, col0 + 0u, kcols, (*t).t24);
    store_part4(base, row0 + 6u, col0 + 4u, kcols, (*t).t25);
    store_part4(base, row0 + 6u, col0 + 8u, kcols, (*t).t26);
    store_part4(base, row0 + 6u, col0 + 12u, kcols, (*t).t27);
    store_part4(base, row0 + 7u, col0 + 0u, kcols, (*t).t28);
    store_part4(base, row0 + 7u, col0 + 4u, kcols, (*t).t29);
    store_part4(base, row0 + 7u, col0 + 8u, kcols, (*t).t30);
    store_part4(base, row0 + 7u, col0 + 12u, kcols, (*t).t31);
    store_part4(base, row0 + 8u, col0 + 0u, kcols, (*t).t32);
    store_part4(base, row0 + 8u, col0 + 4u, kcols, (*t).t33);
    store_part4(base, row0 + 8u, col0 + 8u, kcols, (*t).t34);
    store_part4(base, row0 + 8u, col0 + 12u, kcols, (*t).t35);
    store_part4(base, row0 + 9u, col0 + 0u, kcols, (*t).t36);
    store_part4(base, row0 + 9u, col0 + 4u, kcols, (*t).t37);
    store_part4(base, row0 + 9u, col0 + 8u, kcols, (*t).t38);
    store_part4(base, row0 + 9u, col0 + 12u, kcols, (*t).t39);
    store_part4(base, row0 + 10u, col0 + 0u, kcols, (*t).t40);
    store_part4(base, row0 + 10u, col0 + 4u, kcols, (*t).t41);
    store_part4(base, row0 + 10u, col0 + 8u, kcols, (*t).t42);
    store_part4(base, row0 + 10u, col0 + 12u, kcols, (*t).t43);
    store_part4(base, row0 + 11u, col0 + 0u, kcols, (*t).t44);
    store_part4(base, row0 + 11u, col0 + 4u, kcols, (*t).t45);
    store_part4(base, row0 + 11u, col0 + 8u, kcols, (*t).t46);
    store_part4(base, row0 + 11u, col0 + 12u, kcols, (*t).t47);
    store_part4(base, row0 + 12u, col0 + 0u, kcols, (*t).t48);
    store_part4(base, row0 + 12u, col0 + 4u, kcols, (*t).t49);
    store_part4(base, row0 + 12u, col0 + 8u, kcols, (*t).t50);
    store_part4(base, row0 + 12u, col0 + 12u, kcols, (*t).t51);
    store_part4(base, row0 + 13u, col0 + 0u, kcols, (*t).t52);
    store_part4(base, row0 + 13u, col0 + 4u, kcols, (*t).t53);
    store_part4(base, row0 + 13u, col0 + 8u, kcols, (*t).t54);
    store_part4(base, row0 + 13u, col0 + 12u, kcols, (*t).t55);
    store_part4(base, row0 + 14u, col0 + 0u, kcols, (*t).t56);
    store_part4(base, row0 + 14u, col0 + 4u, kcols, (*t).t57);
    store_part4(base, row0 + 14u, col0 + 8u, kcols, (*t).t58);
    store_part4(base, row0 + 14u, col0 + 12u, kcols, (*t).t59);
    store_part4(base, row0 + 15u, col0 + 0u, kcols, (*t).t60);
    store_part4(base, row0 + 15u, col0 + 4u, kcols, (*t).t61);
    store_part4(base, row0 + 15u, col0 + 8u, kcols, (*t).t62);
    store_part4(base, row0 + 15u, col0 + 12u, kcols, (*t).t63);
}

fn store_part4(base: u32, co: u32, k0: u32, kcols: u32, v: vec4<f32>) {
    if (co >= p.co) {
        return;
    }
    for (var j = 0u; j < 4u; j++) {
        if (k0 + j < kcols) {
            dst[base + co * kcols + k0 + j] = v[j];
        }
    }
}

// dw [Co, K] += sum_s part[s] [Co, K1], and with a bias db [Co] += the sums of
// column K: one thread per (co, k1), the slices in a fixed order
// (deterministic). src = part, src2 = dw, dst = db.
@compute @workgroup_size(WG)
fn conv_gemm_reduce(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let t = (wg.y * nwg.x + wg.x) * WG + li;
    let kdim = p.ci * p.kh * p.kw;
    let kcols = kdim + (p.flags & 1u);
    let len = p.co * kcols;
    if (t >= len) {
        return;
    }
    var s = 0.0;
    for (var i = 0u; i < p.slices; i++) {
        s += src[p.src_off + i * len + t];
    }
    let co = t / kcols;
    let k = t % kcols;
    if (k < kdim) {
        src2[p.src2_off + co * kdim + k] += s;
    } else {
        dst[p.dst_off + co] += s;
    }
}
