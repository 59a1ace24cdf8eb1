// conv.wgsl: the data movement of Conv2d / ConvTranspose2d; the products run in matmul.wgsl.
//
// Shape legend: B batch, C channels, H height, W width, D features, Z latent.
// x [B, Ci, H, W], w [Co, Ci, KH, KW], y [B, Co, OH, OW], all NCHW. For a chunk of
// nb samples, K = Ci * KH * KW, P = OH * OW, N = nb * P:
//   col [K, N], col[(ci * KH + kh) * KW + kw, b * P + oh * OW + ow]
//              = x[b, ci, oh * SH + kh - PH, ow * SW + kw - PW]   (0 outside the image)
// forward:          y    = permute(w [Co, K] * im2col(x))
// backward_data:    dx   = col2im(w^T [K, Co] * permute(dy))
// backward_weights: dw  += permute(dy) [Co, N] * im2col(x)^T
// where permute moves between NCHW [nb, C, P] and channel-major [C, nb * P].
// Offsets are in 32-bit words from the start of each bound (whole) buffer.

struct Params {
    // Samples in this chunk (im2col, col2im, permute) or the batch (bias).
    n: u32,
    // Ci (im2col, col2im) or C (permute, bias).
    c: u32,
    // Input H, W; permute and bias use h as the spatial size S.
    h: u32,
    w: u32,
    oh: u32,
    ow: u32,
    kh: u32,
    kw: u32,
    sh: u32,
    sw: u32,
    ph: u32,
    pw: u32,
    src_off: u32,
    dst_off: u32,
    // permute: 0 = [nb, C, S] -> [C, nb * S], 1 = back.
    flag: u32,
    _pad: u32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

var<workgroup> partial: array<f32, 256>;

fn flat_index(li: u32, wg: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return (wg.y * nwg.x + wg.x) * WG + li;
}

// One thread per col element: src = x, dst = col.
@compute @workgroup_size(WG)
fn im2col_forward(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = flat_index(li, wg, nwg);
    let pos = p.oh * p.ow;
    let n = p.n * pos;
    if (i >= p.c * p.kh * p.kw * n) {
        return;
    }
    let k = i / n;
    let j = i % n;
    let kx = k % p.kw;
    let ky = (k / p.kw) % p.kh;
    let ci = k / (p.kw * p.kh);
    let b = j / pos;
    let q = j % pos;
    let iy = i32((q / p.ow) * p.sh + ky) - i32(p.ph);
    let ix = i32((q % p.ow) * p.sw + kx) - i32(p.pw);
    var v = 0.0;
    if (iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w)) {
        v = src[p.src_off + ((b * p.c + ci) * p.h + u32(iy)) * p.w + u32(ix)];
    }
    dst[p.dst_off + i] = v;
}

// One thread per dx element, gathering the (at most KH * KW) patch entries
// copied from it: src = dcol, dst = dx (overwritten). No atomics.
@compute @workgroup_size(WG)
fn col2im_backward_data(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = flat_index(li, wg, nwg);
    if (i >= p.n * p.c * p.h * p.w) {
        return;
    }
    let ix = i % p.w;
    let iy = (i / p.w) % p.h;
    let ci = (i / (p.w * p.h)) % p.c;
    let b = i / (p.w * p.h * p.c);
    let pos = p.oh * p.ow;
    let n = p.n * pos;
    var s = 0.0;
    for (var ky = 0u; ky < p.kh; ky++) {
        // oy * SH = iy + PH - ky must be a non-negative multiple of SH below OH * SH.
        let ty = i32(iy + p.ph) - i32(ky);
        if (ty < 0 || u32(ty) % p.sh != 0u) {
            continue;
        }
        let oy = u32(ty) / p.sh;
        if (oy >= p.oh) {
            continue;
        }
        for (var kx = 0u; kx < p.kw; kx++) {
            let tx = i32(ix + p.pw) - i32(kx);
            if (tx < 0 || u32(tx) % p.sw != 0u) {
                continue;
            }
            let ox = u32(tx) / p.sw;
            if (ox >= p.ow) {
                continue;
            }
            let k = (ci * p.kh + ky) * p.kw + kx;
            s += src[p.src_off + k * n + b * pos + oy * p.ow + ox];
        }
    }
    dst[p.dst_off + i] = s;
}

// One thread per element, indexed by dst: flag 0 writes channel-major
// [C, nb * S] from NCHW [nb, C, S]; flag 1 the reverse.
@compute @workgroup_size(WG)
fn permute_forward(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = flat_index(li, wg, nwg);
    let s = p.h;
    if (i >= p.n * p.c * s) {
        return;
    }
    var si: u32;
    if (p.flag == 0u) {
        let c = i / (p.n * s);
        let r = i % (p.n * s);
        si = ((r / s) * p.c + c) * s + r % s;
    } else {
        let c = (i / s) % p.c;
        let b = i / (s * p.c);
        si = c * (p.n * s) + b * s + i % s;
    }
    dst[p.dst_off + i] = src[p.src_off + si];
}

// y[B, C, S] += bias[C]: src = bias, dst = y.
@compute @workgroup_size(WG)
fn channel_bias_forward(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = flat_index(li, wg, nwg);
    if (i < p.n * p.c * p.h) {
        dst[p.dst_off + i] += src[p.src_off + (i / p.h) % p.c];
    }
}

// db[C] += sum_{B, S} dy[B, C, S]: one workgroup per channel, a fixed-order
// tree in workgroup memory (deterministic). src = dy, dst = db.
@compute @workgroup_size(256)
fn channel_bias_backward_weights(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let c = wg.y * nwg.x + wg.x;
    let s = p.h;
    var acc = 0.0;
    if (c < p.c) {
        for (var j = li; j < p.n * s; j += 256u) {
            acc += src[p.src_off + ((j / s) * p.c + c) * s + j % s];
        }
    }
    partial[li] = acc;
    workgroupBarrier();
    for (var half = 128u; half > 0u; half >>= 1u) {
        if (li < half) {
            partial[li] += partial[li + half];
        }
        workgroupBarrier();
    }
    if (li == 0u && c < p.c) {
        dst[p.dst_off + c] += partial[0];
    }
}
