// reparam.wgsl: the reparameterization trick and the KL term.
//
// Shape legend: B batch, C channels, H height, W width, D features, Z latent.
// mu, logvar, eps, z, dz, dmu, dlogvar: [B, Z]; kl: [B]. Offsets in words.
//
// fused_forward:  eps[b, j] = normal(seed, stream, b * Z + j)
//                 z = mu + exp(lv / 2) * eps
//                 kl[b] = -1/2 * sum_j (1 + lv - mu^2 - exp(lv))
//                 (one dispatch, one invocation per row b)
// backward_data:  dmu = dz + kl_scale * mu
//                 dlogvar = dz * eps * exp(lv / 2) / 2 + kl_scale * (exp(lv) - 1) / 2
//                 (0 where logvar is outside [LOGVAR_MIN, LOGVAR_MAX])
// where lv = clamp(logvar, LOGVAR_MIN, LOGVAR_MAX): twins of src/backend/mod.rs's
// constants, so that one wild step cannot overflow exp.
//
// The RNG functions below are word-for-word twins of src/rng.rs (pcg, hash3,
// uniform, normal); keep them identical.

struct Params {
    rows: u32,
    zdim: u32,
    mu_off: u32,
    lv_off: u32,
    eps_off: u32,
    z_off: u32,
    kl_off: u32,
    dz_off: u32,
    dmu_off: u32,
    dlv_off: u32,
    seed: u32,
    stream: u32,
    kl_scale: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

override WG: u32 = 256u;

const LOGVAR_MIN: f32 = -30.0;
const LOGVAR_MAX: f32 = 20.0;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> mu: array<f32>;
@group(0) @binding(2) var<storage, read_write> logvar: array<f32>;
@group(0) @binding(3) var<storage, read_write> eps: array<f32>;
@group(0) @binding(4) var<storage, read_write> z: array<f32>;
@group(0) @binding(5) var<storage, read_write> kl: array<f32>;
@group(0) @binding(6) var<storage, read_write> dz: array<f32>;
@group(0) @binding(7) var<storage, read_write> dmu: array<f32>;
@group(0) @binding(8) var<storage, read_write> dlogvar: array<f32>;

// ---- counter-based RNG: twin of src/rng.rs --------------------------------

// PCG-RXS-M-XS on one 32-bit word.
fn pcg(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

// The random word at `index` of stream `stream` under `seed`.
fn hash3(seed: u32, stream: u32, index: u32) -> u32 {
    return pcg(pcg(pcg(seed) ^ stream) ^ index);
}

// Uniform in [0, 1) with 24 random bits.
fn rand_uniform(seed: u32, stream: u32, index: u32) -> f32 {
    return f32(hash3(seed, stream, index) >> 8u) * (1.0 / 16777216.0);
}

// Standard normal by Box-Muller over words 2*index and 2*index + 1.
fn rand_normal(seed: u32, stream: u32, index: u32) -> f32 {
    let a = hash3(seed, stream, index * 2u);
    let b = hash3(seed, stream, index * 2u + 1u);
    // u1 in (0, 1] so the log is finite.
    let u1 = f32((a >> 8u) + 1u) * (1.0 / 16777216.0);
    let u2 = f32(b >> 8u) * (1.0 / 16777216.0);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

// ----------------------------------------------------------------------------

fn flat_index(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * WG + li;
}

// One invocation per element (rows = 1, zdim = len). Bindings: mu, logvar, eps,
// dz, dmu, dlogvar.
@compute @workgroup_size(WG)
fn reparam_backward_data(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = flat_index(wg, nwg, li);
    if (i < p.rows * p.zdim) {
        let m = mu[p.mu_off + i];
        let lv = logvar[p.lv_off + i];
        let g = dz[p.dz_off + i];
        dmu[p.dmu_off + i] = g + p.kl_scale * m;
        if (lv < LOGVAR_MIN || lv > LOGVAR_MAX) {
            dlogvar[p.dlv_off + i] = 0.0;
        } else {
            let sigma = exp(0.5 * lv);
            dlogvar[p.dlv_off + i] = g * eps[p.eps_off + i] * sigma * 0.5 + p.kl_scale * (exp(lv) - 1.0) * 0.5;
        }
    }
}

// One invocation per row b, walking its Z elements. Bindings: mu, logvar, eps, z, kl.
@compute @workgroup_size(WG)
fn reparam_fused_forward(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let r = flat_index(wg, nwg, li);
    if (r < p.rows) {
        var s = 0.0;
        for (var j = 0u; j < p.zdim; j++) {
            let i = r * p.zdim + j;
            let e = rand_normal(p.seed, p.stream, i);
            eps[p.eps_off + i] = e;
            let m = mu[p.mu_off + i];
            let lv = clamp(logvar[p.lv_off + i], LOGVAR_MIN, LOGVAR_MAX);
            z[p.z_off + i] = m + exp(0.5 * lv) * e;
            s += 1.0 + lv - m * m - exp(lv);
        }
        kl[p.kl_off + r] = -0.5 * s;
    }
}
