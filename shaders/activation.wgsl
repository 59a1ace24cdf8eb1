// activation.wgsl: element-wise non-linearities, y = f(x) and dx = dy * f'(x).
//
// Shape legend: B batch, C channels, H height, W width, D features, Z latent.
// All views are flat spans of `len` words (any shape, e.g. [B, D] or [B, C, H, W]).
// Activation ids (src/backend/mod.rs, Activation::id): 0 identity, 1 relu,
// 2 leaky relu (slope 0.01), 3 sigmoid, 4 tanh.

struct Params {
    len: u32,
    act: u32,
    x_off: u32,
    y_off: u32,
    dy_off: u32,
    dx_off: u32,
    _pad0: u32,
    _pad1: u32,
}

const LEAKY_SLOPE: f32 = 0.01;

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

fn sigmoid(v: f32) -> f32 {
    // Stable on both sides: exp of a non-positive number never overflows.
    let e = exp(-abs(v));
    return select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0);
}

fn tanh_stable(v: f32) -> f32 {
    // Some drivers' tanh returns NaN for large |v|; this form cannot.
    let e = exp(-2.0 * abs(v));
    return sign(v) * (1.0 - e) / (1.0 + e);
}

fn act_forward(id: u32, v: f32) -> f32 {
    switch id {
        case 1u: { return max(v, 0.0); }
        case 2u: { return select(LEAKY_SLOPE * v, v, v > 0.0); }
        case 3u: { return sigmoid(v); }
        case 4u: { return tanh_stable(v); }
        default: { return v; }
    }
}

fn act_derivative(id: u32, xv: f32, yv: f32) -> f32 {
    switch id {
        case 1u: { return select(0.0, 1.0, xv > 0.0); }
        case 2u: { return select(LEAKY_SLOPE, 1.0, xv > 0.0); }
        case 3u: { return yv * (1.0 - yv); }
        case 4u: { return 1.0 - yv * yv; }
        default: { return 1.0; }
    }
}

@compute @workgroup_size(WG)
fn activation_forward(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = (wg.y * nwg.x + wg.x) * WG + li;
    if (i < p.len) {
        y[p.y_off + i] = act_forward(p.act, x[p.x_off + i]);
    }
}

@compute @workgroup_size(WG)
fn activation_backward_data(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = (wg.y * nwg.x + wg.x) * WG + li;
    if (i < p.len) {
        let d = act_derivative(p.act, x[p.x_off + i], y[p.y_off + i]);
        dx[p.dx_off + i] = dy[p.dy_off + i] * d;
    }
}
