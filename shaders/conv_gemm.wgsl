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

// ---- The tile loop's product (both kernels; the staging differs) ------------

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
