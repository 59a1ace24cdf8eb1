// adam.wgsl: one Adam step over flat parameter, gradient and moment buffers.
//
// Shape legend: B batch, C channels, H height, W width, D features, Z latent.
// params, grads, m, v: flat spans of `len` words (every parameter of the model).
//
// PyTorch semantics (torch.optim.Adam, no weight decay, no amsgrad):
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g^2
//   p -= step_size * m / (sqrt(v) / bc2_sqrt + eps)
// with step_size = lr / (1 - beta1^t) and bc2_sqrt = sqrt(1 - beta2^t), both
// computed on the host (AdamStep::corrections) in double precision.

struct Params {
    len: u32,
    p_off: u32,
    g_off: u32,
    m_off: u32,
    v_off: u32,
    step_size: f32,
    bc2_sqrt: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    _pad0: u32,
    _pad1: u32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> params: array<f32>;
@group(0) @binding(2) var<storage, read_write> grads: array<f32>;
@group(0) @binding(3) var<storage, read_write> m1: array<f32>;
@group(0) @binding(4) var<storage, read_write> m2: array<f32>;

@compute @workgroup_size(WG)
fn adam_forward(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = (wg.y * nwg.x + wg.x) * WG + li;
    if (i < p.len) {
        let g = grads[p.g_off + i];
        let m = p.beta1 * m1[p.m_off + i] + (1.0 - p.beta1) * g;
        let v = p.beta2 * m2[p.v_off + i] + (1.0 - p.beta2) * g * g;
        m1[p.m_off + i] = m;
        m2[p.v_off + i] = v;
        let denom = sqrt(v) / p.bc2_sqrt + p.eps;
        params[p.p_off + i] = params[p.p_off + i] - p.step_size * m / denom;
    }
}
