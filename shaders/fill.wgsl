// fill.wgsl: dst[i] = value; and a word copy for views inside one buffer.
//
// Shape legend: B batch, C channels, H height, W width, D features, Z latent.
// Views are flat spans of `len` 32-bit words; offsets are in words.
// Dispatch: ceil(len / WG) workgroups, folded into x (<= 65535) and y.

struct Params {
    len: u32,
    dst_off: u32,
    src_off: u32,
    value: f32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read_write> src: array<u32>;

fn flat_index(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * WG + li;
}

@compute @workgroup_size(WG)
fn fill_forward(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = flat_index(wg, nwg, li);
    if (i < p.len) {
        dst[p.dst_off + i] = p.value;
    }
}

// Bit-exact word copy (used when source and destination share a buffer, where a
// buffer-to-buffer copy is not allowed).
@compute @workgroup_size(WG)
fn copy_forward(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = flat_index(wg, nwg, li);
    if (i < p.len) {
        dst[p.dst_off + i] = bitcast<f32>(src[p.src_off + i]);
    }
}
