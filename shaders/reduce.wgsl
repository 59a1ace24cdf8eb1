// reduce.wgsl: dst[0] += sum(src), for metrics that stay on the device.
//
// Shape legend: B batch, C channels, H height, W width, D features, Z latent.
// src: any flat span of `len` words (e.g. per-row losses [B]); dst: one word.
//
// sum_pair_forward: dst[0] += sum(src) and dst[1] += sum(src_b), one
// workgroup each (the step's two loss sums in one dispatch).
//
// A single workgroup: each thread sums a strided slice, then a fixed-order tree
// reduction in workgroup memory (deterministic); thread 0 adds into dst.

struct Params {
    len: u32,
    src_off: u32,
    dst_off: u32,
    // sum_pair_forward: the second span's length and offset.
    len_b: u32,
    b_off: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

const WG_S: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<storage, read_write> src_b: array<f32>;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn sum_into_forward(@builtin(local_invocation_index) li: u32) {
    var s = 0.0;
    for (var i = li; i < p.len; i += WG_S) {
        s += src[p.src_off + i];
    }
    partial[li] = s;
    workgroupBarrier();
    for (var stride = WG_S / 2u; stride > 0u; stride = stride / 2u) {
        if (li < stride) {
            partial[li] += partial[li + stride];
        }
        workgroupBarrier();
    }
    if (li == 0u) {
        dst[p.dst_off] += partial[0];
    }
}

@compute @workgroup_size(256)
fn sum_pair_forward(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
) {
    // wg.x is uniform across the workgroup, so the barriers stay uniform.
    let second = wg.x == 1u;
    let len = select(p.len, p.len_b, second);
    var s = 0.0;
    for (var i = li; i < len; i += WG_S) {
        if (second) {
            s += src_b[p.b_off + i];
        } else {
            s += src[p.src_off + i];
        }
    }
    partial[li] = s;
    workgroupBarrier();
    for (var stride = WG_S / 2u; stride > 0u; stride = stride / 2u) {
        if (li < stride) {
            partial[li] += partial[li + stride];
        }
        workgroupBarrier();
    }
    if (li == 0u) {
        dst[p.dst_off + wg.x] += partial[0];
    }
}
