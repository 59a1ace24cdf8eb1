// bias.wgsl: y[B, D] += bias[D] (forward) and db[D] += sum_B dy[B, D] (backward).
//
// Shape legend: B batch, C channels, H height, W width, D features, Z latent.
// Matrices are row-major [rows = B, cols = D]; offsets are in 32-bit words.

struct Params {
    rows: u32,
    cols: u32,
    y_off: u32,
    bias_off: u32,
}

override WG: u32 = 256u;

// Column-sum tiling for bias_backward_weights: a workgroup owns GC columns and
// GR row lanes; lane r sums rows r, r + GR, ...; the GR partials are then added
// in workgroup memory (fixed order, so the result is deterministic).
const GC: u32 = 32u;
const GR: u32 = 8u;

@group(0) @binding(0) var<uniform> p: Params;
// forward: y, bias; backward: dy (in y), db (in bias).
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> bias: array<f32>;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(WG)
fn bias_forward(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = (wg.y * nwg.x + wg.x) * WG + li;
    if (i < p.rows * p.cols) {
        y[p.y_off + i] += bias[p.bias_off + i % p.cols];
    }
}

@compute @workgroup_size(32, 8)
fn bias_backward_weights(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wg: vec3<u32>,
) {
    let col = wg.x * GC + lid.x;
    var s = 0.0;
    if (col < p.cols) {
        for (var r = lid.y; r < p.rows; r += GR) {
            s += y[p.y_off + r * p.cols + col];
        }
    }
    partial[lid.y * GC + lid.x] = s;
    workgroupBarrier();
    if (lid.y == 0u && col < p.cols) {
        var t = 0.0;
        for (var r = 0u; r < GR; r++) {
            t += partial[r * GC + lid.x];
        }
        bias[p.bias_off + col] += t;
    }
}
