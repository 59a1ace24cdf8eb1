// recon.wgsl: per-row reconstruction loss on decoder logits and its gradient.
//
// Shape legend: B batch, C channels, H height, W width, D features, Z latent.
// logits s, target x, dlogits: [B, D]; loss: [B]. Offsets in words.
//
// kind 0 (Bernoulli, BCE with logits): l = max(s, 0) - s * x + ln(1 + e^-|s|),
//                                       dl/ds = sigmoid(s) - x
// kind 1 (Gaussian, mean sigmoid(s)):  l = (sigmoid(s) - x)^2,
//                                       dl/ds = 2 (sigmoid(s) - x) sigmoid(s) (1 - sigmoid(s))
// loss[b] = sum_d l(s[b, d], x[b, d]); dlogits = grad_scale * dl/ds.
//
// One workgroup of WG_R threads per row (rows folded into x and y of the dispatch);
// the row sum is a fixed-order tree reduction in workgroup memory.

struct Params {
    rows: u32,
    cols: u32,
    logits_off: u32,
    target_off: u32,
    dlogits_off: u32,
    loss_off: u32,
    kind: u32,
    grad_scale: f32,
}

const WG_R: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> target_x: array<f32>;
@group(0) @binding(3) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;

var<workgroup> partial: array<f32, 256>;

fn sigmoid(v: f32) -> f32 {
    let e = exp(-abs(v));
    return select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0);
}

@compute @workgroup_size(256)
fn recon_loss_forward(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let r = wg.y * nwg.x + wg.x;
    // `r` is uniform across the workgroup, so the barriers below stay uniform.
    let row_ok = r < p.rows;
    var s_acc = 0.0;
    if (row_ok) {
        let base = r * p.cols;
        for (var c = li; c < p.cols; c += WG_R) {
            let s = logits[p.logits_off + base + c];
            let x = target_x[p.target_off + base + c];
            let sg = sigmoid(s);
            var l: f32;
            var g: f32;
            if (p.kind == 0u) {
                l = max(s, 0.0) - s * x + log(1.0 + exp(-abs(s)));
                g = sg - x;
            } else {
                let d = sg - x;
                l = d * d;
                g = 2.0 * d * sg * (1.0 - sg);
            }
            dlogits[p.dlogits_off + base + c] = p.grad_scale * g;
            s_acc += l;
        }
    }
    partial[li] = s_acc;
    workgroupBarrier();
    for (var stride = WG_R / 2u; stride > 0u; stride = stride / 2u) {
        if (li < stride) {
            partial[li] += partial[li + stride];
        }
        workgroupBarrier();
    }
    if (row_ok && li == 0u) {
        loss[p.loss_off + r] = partial[0];
    }
}
