// matmul.wgsl: C[m,n] (+)= op(A)[m,k] * op(B)[k,n], one dispatch per product.
//
// Shape legend: B batch, C channels, H height, W width, D features, Z latent.
// A dense layer uses this three ways: forward   y[B,Dout]  = x[B,Din] * W[Din,Dout],
// backward_data  dx[B,Din]  = dy[B,Dout] * W^T, backward_weights dW[Din,Dout] += x^T * dy.
//
// With trans_a, A is stored [k, m]; with trans_b, B is stored [n, k]. Offsets are
// in 32-bit words from the start of each bound (whole) buffer.
//
// Tiling: each workgroup computes a TM x TN = 64 x 64 tile of C with 256 threads,
// each thread a 4 x 4 micro-tile held in registers; K is walked in slabs of TK = 16
// staged through workgroup memory. Loads are bounds-checked (zero padding), so any
// m, n, k works. The tile geometry is fixed by workgroup-memory array sizes, so the
// workgroup size is a const here (256 = (TM/4) * (TN/4)), not an override.
// The transposes are override constants (TRANS_A, TRANS_B): one specialized
// pipeline per combination, so the staging index math folds at compile time.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    a_off: u32,
    b_off: u32,
    c_off: u32,
    // Unused by the kernel (the overrides below decide); kept for debugging.
    trans_a: u32,
    trans_b: u32,
    accumulate: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

const TM: u32 = 64u;
const TN: u32 = 64u;
const TK: u32 = 16u;
const THREADS: u32 = 256u;

override TRANS_A: bool = false;
override TRANS_B: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// Both tiles are stored k-major: As[kk * TM + mm], Bs[kk * TN + nn].
var<workgroup> As: array<f32, 1024>;
var<workgroup> Bs: array<f32, 1024>;

@compute @workgroup_size(256)
fn matmul_forward(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
) {
    let row0 = wg.y * TM;
    let col0 = wg.x * TN;
    let tx = li % 16u;
    let ty = li / 16u;
    let ta = TRANS_A;
    let tb = TRANS_B;

    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);

    for (var k0 = 0u; k0 < p.k; k0 += TK) {
        // Stage op(A)[row0.., k0..] (64 x 16): four elements per thread, walking
        // the stored layout's contiguous axis across neighbouring threads.
        for (var i = 0u; i < 4u; i++) {
            let e = li + i * THREADS;
            var mm: u32;
            var kk: u32;
            if (ta) {
                kk = e / TM;
                mm = e % TM;
            } else {
                mm = e / TK;
                kk = e % TK;
            }
            let gm = row0 + mm;
            let gk = k0 + kk;
            var v = 0.0;
            if (gm < p.m && gk < p.k) {
                let idx = select(gm * p.k + gk, gk * p.m + gm, ta);
                v = a[p.a_off + idx];
            }
            As[kk * TM + mm] = v;
        }
        // Stage op(B)[k0.., col0..] (16 x 64).
        for (var i = 0u; i < 4u; i++) {
            let e = li + i * THREADS;
            var nn: u32;
            var kk: u32;
            if (tb) {
                nn = e / TK;
                kk = e % TK;
            } else {
                kk = e / TN;
                nn = e % TN;
            }
            let gn = col0 + nn;
            let gk = k0 + kk;
            var v = 0.0;
            if (gn < p.n && gk < p.k) {
                let idx = select(gk * p.n + gn, gn * p.k + gk, tb);
                v = b[p.b_off + idx];
            }
            Bs[kk * TN + nn] = v;
        }
        workgroupBarrier();

        for (var kk = 0u; kk < TK; kk++) {
            let ab = kk * TM + ty * 4u;
            let bb = kk * TN + tx * 4u;
            let av = vec4<f32>(As[ab], As[ab + 1u], As[ab + 2u], As[ab + 3u]);
            let bv = vec4<f32>(Bs[bb], Bs[bb + 1u], Bs[bb + 2u], Bs[bb + 3u]);
            acc0 = fma(vec4<f32>(av.x), bv, acc0);
            acc1 = fma(vec4<f32>(av.y), bv, acc1);
            acc2 = fma(vec4<f32>(av.z), bv, acc2);
            acc3 = fma(vec4<f32>(av.w), bv, acc3);
        }
        workgroupBarrier();
    }

    let gn0 = col0 + tx * 4u;
    let gm0 = row0 + ty * 4u;
    store_row(gm0, gn0, acc0);
    store_row(gm0 + 1u, gn0, acc1);
    store_row(gm0 + 2u, gn0, acc2);
    store_row(gm0 + 3u, gn0, acc3);
}

fn store_row(gm: u32, gn0: u32, v: vec4<f32>) {
    if (gm >= p.m) {
        return;
    }
    for (var j = 0u; j < 4u; j++) {
        let gn = gn0 + j;
        if (gn < p.n) {
            let idx = p.c_off + gm * p.n + gn;
            var r = v[j];
            if (p.accumulate != 0u) {
                r += c[idx];
            }
            c[idx] = r;
        }
    }
}
