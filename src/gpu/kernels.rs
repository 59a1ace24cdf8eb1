//! The WGSL sources, one `#[repr(C)]` params struct per shader (the twin of its
//! `struct Params`), and the table of kernels: which file, which entry point,
//! which storage bindings (in the order the op passes its views).
//!
//! Shape legend: B batch, C channels, H height, W width, D features, Z latent.

use bytemuck::{Pod, Zeroable};

/// One `.wgsl` file under `shaders/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shader {
    Matmul,
    Fill,
    Bias,
    Activation,
    Reparam,
    Recon,
    Reduce,
    Adam,
    Gather,
    Conv,
    ConvGemm,
}

impl Shader {
    pub fn name(self) -> &'static str {
        match self {
            Shader::Matmul => "matmul.wgsl",
            Shader::Fill => "fill.wgsl",
            Shader::Bias => "bias.wgsl",
            Shader::Activation => "activation.wgsl",
            Shader::Reparam => "reparam.wgsl",
            Shader::Recon => "recon.wgsl",
            Shader::Reduce => "reduce.wgsl",
            Shader::Adam => "adam.wgsl",
            Shader::Gather => "gather.wgsl",
            Shader::Conv => "conv.wgsl",
            Shader::ConvGemm => "conv_gemm.wgsl",
        }
    }

    pub fn source(self) -> &'static str {
        match self {
            Shader::Matmul => include_str!("../../shaders/matmul.wgsl"),
            Shader::Fill => include_str!("../../shaders/fill.wgsl"),
            Shader::Bias => include_str!("../../shaders/bias.wgsl"),
            Shader::Activation => include_str!("../../shaders/activation.wgsl"),
            Shader::Reparam => include_str!("../../shaders/reparam.wgsl"),
            Shader::Recon => include_str!("../../shaders/recon.wgsl"),
            Shader::Reduce => include_str!("../../shaders/reduce.wgsl"),
            Shader::Adam => include_str!("../../shaders/adam.wgsl"),
            Shader::Gather => include_str!("../../shaders/gather.wgsl"),
            Shader::Conv => include_str!("../../shaders/conv.wgsl"),
            Shader::ConvGemm => include_str!("../../shaders/conv_gemm.wgsl"),
        }
    }
}

/// One entry point and its bind-group shape. Binding 0 is always the `Params`
/// uniform (dynamic offset); `storage` lists the storage bindings the entry
/// point uses, in the order the recording op passes its views.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Kernel {
    pub shader: Shader,
    pub entry: &'static str,
    pub storage: &'static [u32],
    /// Whether the entry point's workgroup size is the `WG` override constant.
    pub wg_override: bool,
}

macro_rules! kernel {
    ($name:ident, $shader:ident, $entry:literal, [$($b:literal),*], $wg:literal) => {
        pub const $name: Kernel = Kernel {
            shader: Shader::$shader,
            entry: $entry,
            storage: &[$($b),*],
            wg_override: $wg,
        };
    };
}

kernel!(MATMUL, Matmul, "matmul_forward", [1, 2, 3], false);
kernel!(FILL, Fill, "fill_forward", [1], true);
kernel!(COPY, Fill, "copy_forward", [1, 2], true);
kernel!(BIAS_ADD, Bias, "bias_forward", [1, 2], true);
kernel!(BIAS_GRAD, Bias, "bias_backward_weights", [1, 2], false);
kernel!(ACT_FORWARD, Activation, "activation_forward", [1, 2], true);
kernel!(
    ACT_BACKWARD,
    Activation,
    "activation_backward_data",
    [1, 2, 3, 4],
    true
);
kernel!(
    REPARAM_BACKWARD,
    Reparam,
    "reparam_backward_data",
    [1, 2, 3, 6, 7, 8],
    true
);
kernel!(RECON, Recon, "recon_loss_forward", [1, 2, 3, 4], false);
kernel!(SUM_INTO, Reduce, "sum_into_forward", [1, 2], false);
kernel!(ADAM, Adam, "adam_forward", [1, 2, 3, 4], true);
kernel!(GATHER, Gather, "gather_images_forward", [1, 2, 3], true);
kernel!(RNG_WORDS, Gather, "rng_words_forward", [4], true);
kernel!(COL2IM, Conv, "col2im_backward_data", [1, 2], true);
kernel!(PERMUTE, Conv, "permute_forward", [1, 2], true);
kernel!(CHANNEL_BIAS_ADD, Conv, "channel_bias_forward", [1, 2], true);
kernel!(
    CHANNEL_BIAS_GRAD,
    Conv,
    "channel_bias_backward_weights",
    [1, 2],
    false
);
kernel!(
    CONV_GEMM_FORWARD,
    ConvGemm,
    "conv_gemm_forward",
    [1, 2, 3, 4],
    false
);
kernel!(
    CONV_GEMM_BACKWARD_WEIGHTS,
    ConvGemm,
    "conv_gemm_backward_weights",
    [1, 2, 3],
    false
);
kernel!(
    CONV_GEMM_REDUCE,
    ConvGemm,
    "conv_gemm_reduce",
    [1, 2, 3],
    true
);

kernel!(MATMUL_FUSED, Matmul, "matmul_fused", [1, 2, 3, 4, 5], false);
kernel!(SUM_PAIR, Reduce, "sum_pair_forward", [1, 2, 3], false);
kernel!(
    REPARAM_FUSED,
    Reparam,
    "reparam_fused_forward",
    [1, 2, 3, 4, 5],
    true
);

/// Tile edge of `matmul.wgsl` (TM = TN = 64).
pub const MATMUL_TILE: u32 = 64;
/// Columns per workgroup of `bias_backward_weights` (GC in bias.wgsl).
pub const BIAS_GRAD_COLS: u32 = 32;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct MatmulParams {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub a_off: u32,
    pub b_off: u32,
    pub c_off: u32,
    pub trans_a: u32,
    pub trans_b: u32,
    pub accumulate: u32,
    pub _pad: [u32; 3],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct FillParams {
    pub len: u32,
    pub dst_off: u32,
    pub src_off: u32,
    pub value: f32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct BiasParams {
    pub rows: u32,
    pub cols: u32,
    pub y_off: u32,
    pub bias_off: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ActivationParams {
    pub len: u32,
    pub act: u32,
    pub x_off: u32,
    pub y_off: u32,
    pub dy_off: u32,
    pub dx_off: u32,
    pub _pad: [u32; 2],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ReparamParams {
    pub rows: u32,
    pub zdim: u32,
    pub mu_off: u32,
    pub lv_off: u32,
    pub eps_off: u32,
    pub z_off: u32,
    pub kl_off: u32,
    pub dz_off: u32,
    pub dmu_off: u32,
    pub dlv_off: u32,
    pub seed: u32,
    pub stream: u32,
    pub kl_scale: f32,
    pub _pad: [u32; 3],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ReconParams {
    pub rows: u32,
    pub cols: u32,
    pub logits_off: u32,
    pub target_off: u32,
    pub dlogits_off: u32,
    pub loss_off: u32,
    pub kind: u32,
    pub grad_scale: f32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ReduceParams {
    pub len: u32,
    pub src_off: u32,
    pub dst_off: u32,
    pub len_b: u32,
    pub b_off: u32,
    pub _pad: [u32; 3],
}

/// `matmul_fused`: `MatmulParams`' layout with the transposes' slots
/// holding the offsets of `vec` and `aux`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct FusedMatmulParams {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub a_off: u32,
    pub b_off: u32,
    pub c_off: u32,
    pub v_off: u32,
    pub x_off: u32,
    pub accumulate: u32,
    pub _pad: [u32; 3],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct AdamParams {
    pub len: u32,
    pub p_off: u32,
    pub g_off: u32,
    pub m_off: u32,
    pub v_off: u32,
    pub step_size: f32,
    pub bc2_sqrt: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub _pad: [u32; 2],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct GatherParams {
    pub rows: u32,
    pub dim: u32,
    pub bytes_off: u32,
    pub idx_off: u32,
    pub first: u32,
    pub out_off: u32,
    pub binarize: u32,
    pub seed: u32,
    pub stream: u32,
    pub _pad: [u32; 3],
}

/// `conv.wgsl`: im2col / col2im / permute / channel-bias geometry (see the
/// shader's header for which fields each entry point reads).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ConvParams {
    pub n: u32,
    pub c: u32,
    pub h: u32,
    pub w: u32,
    pub oh: u32,
    pub ow: u32,
    pub kh: u32,
    pub kw: u32,
    pub sh: u32,
    pub sw: u32,
    pub ph: u32,
    pub pw: u32,
    pub src_off: u32,
    pub dst_off: u32,
    pub flag: u32,
    pub _pad: u32,
}

/// Every params struct fits one uniform slot.
pub const PARAMS_MAX: usize = 64;
const _: () = {
    assert!(std::mem::size_of::<MatmulParams>() <= PARAMS_MAX);
    assert!(std::mem::size_of::<ReparamParams>() <= PARAMS_MAX);
    assert!(std::mem::size_of::<AdamParams>() <= PARAMS_MAX);
    assert!(std::mem::size_of::<GatherParams>() <= PARAMS_MAX);
    assert!(std::mem::size_of::<ConvParams>() <= PARAMS_MAX);
};
