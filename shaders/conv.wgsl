// conv.wgsl: the data movement of Conv2d's gradient to the data (and so ConvTranspose2d's
// forward) and the channel bias; the products run in matmul.wgsl. The forward and the
// weight gradient are implicit GEMMs in conv_gemm.wgsl.
//
// Shape legend: B batch, C channels, H height, W width, D features, Z latent.
// x [B, Ci, H, W], w [Co, Ci, KH, KW], y [B, Co, OH, OW], all NCHW. For a chunk of
// nb samples, K = Ci * KH * KW, P = OH * OW, N = nb * P:
//   col [K, N], col[(ci * KH + kh) * KW + kw, b * P + oh * OW + ow]
//              = x[b, ci, oh * SH + kh - PH, ow * SW + kw - PW]   (0 outside the image)
// backward_data:    dx   = col2im(w^T [K, Co] * permute(dy))
// where permute moves between NCHW [nb, C, P] and channel-major [C, nb * P].
// Offsets are in 32-bit words from the start of each bound (whole) buffer.

struct Params {
    // Samples in this chunk (col2im, permute) or the batch (bias).
    n: u32,
    // Ci (col2im) or C (permute, bias).
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

// One thread per dx row (b, ci, iy), looping over ix and over only the taps
// that reach each pixel (ky = (iy + PH) mod SH, stepping by SH): a gather, no
// atomics. src = dcol, dst = dx (overwritten).
@compute @workgroup_size(WG)
fn col2im_backward_data(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let t = flat_index(li, wg, nwg);
    if (t >= p.n * p.c * p.h) {
        return;
    }
    let iy = t % p.h;
    let ci = (t / p.h) % p.c;
    let b = t / (p.h * p.c);
    let pos = p.oh * p.ow;
    let n = p.n * pos;
    let ty = iy + p.ph;
    let dst_row = p.dst_off + t * p.w;
    for (var ix = 0u; ix < p.w; ix++) {
        let tx = ix + p.pw;
        var s = 0.0;
        // oy * SH = ty - ky, so ky = ty mod SH, ty mod SH + SH, ...
        for (var ky = ty % p.sh; ky < p.kh && ky <= ty; ky += p.sh) {
            let oy = (ty - ky) / p.sh;
            if (oy >= p.oh) {
                continue;
            }
            let rowk = (ci * p.kh + ky) * p.kw;
            for (var kx = tx % p.sw; kx < p.kw && kx <= tx; kx += p.sw) {
                let ox = (tx - kx) / p.sw;
                if (ox < p.ow) {
                    s += src[p.src_off + (rowk + kx) * n + b * pos + oy * p.ow + ox];
                }
            }
        }
        dst[dst_row + ix] = s;
    }
}

// One thread per row of S contiguous elements: flag 0 writes channel-major
// [C, nb * S] from NCHW [nb, C, S]; flag 1 the reverse.
@compute @workgroup_size(WG)
fn permute_forward(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let t = flat_index(li, wg, nwg);
    let s = p.h;
    if (t >= p.n * p.c) {
        return;
    }
    // t = b * C + c indexes the NCHW row.
    let c = t % p.c;
    let b = t / p.c;
    let nchw = t * s;
    let cm = (c * p.n + b) * s;
    var from_off = p.src_off + nchw;
    var to_off = p.dst_off + cm;
    if (p.flag != 0u) {
        from_off = p.src_off + cm;
        to_off = p.dst_off + nchw;
    }
    for (var j = 0u; j < s; j++) {
        dst[to_off + j] = src[from_off + j];
    }
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
