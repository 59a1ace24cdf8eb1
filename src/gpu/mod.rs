//! The GPU backend: every `Backend` op records a WGSL compute dispatch (or a
//! clear / copy) into a pending list; `flush` encodes the list into one command
//! buffer (consecutive dispatches share one compute pass) and submits it.
//!
//! Shape legend: B batch, C channels, H height, W width, D features, Z latent.
//!
//! * Buffers live in an arena indexed by `View::buf`; ids are never reused.
//! * Whole buffers are bound and element offsets travel in each kernel's
//!   uniform `Params`. Every storage binding is `read_write` (wgpu forbids a
//!   buffer being read-only in one binding and writable in another within one
//!   dispatch). When two views of one dispatch share a buffer, each gets a tight
//!   range (start rounded down to the storage-offset alignment) so that no two
//!   writable bindings overlap, as WebGPU requires; if even tight ranges
//!   overlap, the later view goes through a scratch copy.
//! * Params are written into a CPU-side arena of 256-byte slots and uploaded
//!   with one `write_buffer` per flush; each dispatch picks its slot with a
//!   dynamic offset.
//! * Pipelines are cached per (shader, entry point, override constants), bind
//!   groups per (layout, buffer ranges): a steady-state step creates no wgpu
//!   objects.

mod context;
mod conv;
pub mod kernels;
mod readback;

use crate::backend::{
    Activation, AdamStep, Backend, BackendError, Conv2dShape, Matmul, Noise, Recon, View,
};
use context::Context;
use kernels::*;
use readback::ReadFuture;
use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;

/// Uniform slots per flush; recording more dispatches than this flushes early.
const UNIFORM_SLOTS: usize = 1024;
/// Threads per workgroup of the element-wise kernels (the `WG` override).
const DEFAULT_WG: u32 = 256;
/// The most workgroups per dispatch dimension WebGPU guarantees.
const MAX_GROUPS: u32 = 65535;

struct Slot {
    buffer: wgpu::Buffer,
    size: u64,
}

enum Cmd {
    Dispatch {
        pipeline: wgpu::ComputePipeline,
        bind_group: wgpu::BindGroup,
        uniform_offset: u32,
        groups: [u32; 2],
    },
    Clear {
        buffer: wgpu::Buffer,
        offset: u64,
        size: u64,
    },
    Copy {
        src: wgpu::Buffer,
        src_offset: u64,
        dst: wgpu::Buffer,
        dst_offset: u64,
        size: u64,
    },
}

/// A buffer id, byte start and byte size of one storage binding.
type Range = (u32, u64, u64);
type BindKey = (&'static [u32], Vec<Range>);
/// Shader, entry point and override constants (name, value bits).
type PipelineKey = (Shader, &'static str, Vec<(&'static str, u64)>);

/// Scratch bindings get ids from the top of the id space, one per growth.
const SCRATCH_ID_BASE: u32 = u32::MAX / 2;

/// The WGSL compute backend (wgpu: Vulkan / Metal / DX12 natively, WebGPU in
/// the browser).
pub struct GpuBackend {
    ctx: Context,
    bufs: Vec<Option<Slot>>,
    modules: HashMap<Shader, wgpu::ShaderModule>,
    layouts: HashMap<&'static [u32], (wgpu::BindGroupLayout, wgpu::PipelineLayout)>,
    pipelines: HashMap<PipelineKey, wgpu::ComputePipeline>,
    bind_groups: HashMap<BindKey, wgpu::BindGroup>,
    uniform_buffer: wgpu::Buffer,
    uniforms: Vec<u8>,
    slot_size: usize,
    pending: Vec<Cmd>,
    scratch: Option<(wgpu::Buffer, u32, u64)>,
    scratch_cursor: u64,
    scratch_generation: u32,
    storage_align: u64,
    max_binding: u64,
    max_buffer: u64,
    wg: u32,
    /// Submissions not yet known to be finished, oldest first.
    in_flight: std::collections::VecDeque<wgpu::SubmissionIndex>,
    /// im2col scratch of the convolutions (see `conv.rs`).
    conv: conv::ConvScratch,
}

/// Training steps queued on the device before `pace` waits for the oldest.
const MAX_IN_FLIGHT: usize = 2;

fn ceil_div(a: u32, b: u32) -> u32 {
    a.div_ceil(b)
}

/// `n` workgroups folded into x (<= 65535) and y; kernels recover the flat
/// index as `(wg.y * num_workgroups.x + wg.x)`.
fn fold_groups(n: u32) -> [u32; 2] {
    if n == 0 {
        return [0, 0];
    }
    let x = n.min(MAX_GROUPS);
    [x, ceil_div(n, x)]
}

fn u32_of(n: usize, what: &str) -> u32 {
    u32::try_from(n)
        .unwrap_or_else(|_| panic!("{what} = {n} does not fit the GPU's 32-bit indices"))
}

impl GpuBackend {
    /// Finds an adapter (a real GPU if any, else a software one such as Mesa's
    /// llvmpipe or the browser's SwiftShader) and creates the device.
    pub async fn new() -> Result<Self, BackendError> {
        let ctx = Context::new().await?;
        let limits = ctx.device.limits();
        let slot_size = (limits.min_uniform_buffer_offset_alignment as usize).max(256);
        let uniform_buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params uniforms"),
            size: (slot_size * UNIFORM_SLOTS) as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(GpuBackend {
            bufs: Vec::new(),
            modules: HashMap::new(),
            layouts: HashMap::new(),
            pipelines: HashMap::new(),
            bind_groups: HashMap::new(),
            uniform_buffer,
            uniforms: Vec::with_capacity(slot_size * 64),
            slot_size,
            pending: Vec::new(),
            scratch: None,
            scratch_cursor: 0,
            scratch_generation: 0,
            storage_align: (limits.min_storage_buffer_offset_alignment as u64).max(4),
            max_binding: limits.max_storage_buffer_binding_size,
            max_buffer: limits.max_buffer_size,
            wg: DEFAULT_WG,
            in_flight: std::collections::VecDeque::new(),
            conv: conv::ConvScratch::default(),
            ctx,
        })
    }

    /// `new`, blocking on the adapter and device requests (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new_blocking() -> Result<Self, BackendError> {
        pollster::block_on(Self::new())
    }

    /// Name, vendor, driver, backend and device type of the adapter in use.
    pub fn adapter_info(&self) -> wgpu::AdapterInfo {
        self.ctx.adapter.get_info()
    }

    /// The limits the device was created with.
    pub fn limits(&self) -> wgpu::Limits {
        self.ctx.device.limits()
    }

    pub fn device(&self) -> &wgpu::Device {
        &self.ctx.device
    }

    pub fn queue(&self) -> &wgpu::Queue {
        &self.ctx.queue
    }

    /// The first error the device reported (validation, out of memory, device
    /// lost), if any. Once set, every `read` fails with it.
    pub fn error(&self) -> Option<BackendError> {
        self.ctx.fault()
    }

    /// Flushes and blocks until the GPU has finished all submitted work
    /// (native; on the web this only flushes, as the browser cannot block: await
    /// a small `read` instead to throttle).
    pub fn wait_idle(&mut self) {
        self.flush();
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = self.ctx.device.poll(wgpu::PollType::wait_indefinitely());
        }
    }

    /// Writes the raw RNG words `hash3(noise.seed, noise.stream, first + i)` into
    /// `out` (as u32 bits), so tests can compare the WGSL RNG with `rng.rs`.
    pub fn rng_words(&mut self, out: View, noise: Noise, first: u32) {
        let n = out.len;
        self.dispatch(
            RNG_WORDS,
            &[out],
            fold_groups(ceil_div(n, self.wg)),
            &[],
            |o| GatherParams {
                rows: n,
                out_off: o[0],
                first,
                seed: noise.seed,
                stream: noise.stream,
                ..Default::default()
            },
        );
    }

    fn slot(&self, buf: u32) -> &Slot {
        self.bufs
            .get(buf as usize)
            .and_then(|s| s.as_ref())
            .unwrap_or_else(|| panic!("view of a freed or unknown buffer {buf}"))
    }

    fn check(&self, v: View, what: &str) {
        let size = self.slot(v.buf).size;
        assert!(
            (v.offset as u64 + v.len as u64) * 4 <= size,
            "{what}: view {v:?} past the end of a buffer of {} words",
            size / 4
        );
    }

    fn module(&mut self, shader: Shader) -> wgpu::ShaderModule {
        let device = &self.ctx.device;
        self.modules
            .entry(shader)
            .or_insert_with(|| {
                device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(shader.name()),
                    source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(shader.source())),
                })
            })
            .clone()
    }

    fn layout(&mut self, storage: &'static [u32]) -> (wgpu::BindGroupLayout, wgpu::PipelineLayout) {
        let device = &self.ctx.device;
        self.layouts
            .entry(storage)
            .or_insert_with(|| {
                let mut entries = vec![wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: true,
                        min_binding_size: None,
                    },
                    count: None,
                }];
                for &b in storage {
                    entries.push(wgpu::BindGroupLayoutEntry {
                        binding: b,
                        visibility: wgpu::ShaderStages::COMPUTE,
                        ty: wgpu::BindingType::Buffer {
                            ty: wgpu::BufferBindingType::Storage { read_only: false },
                            has_dynamic_offset: false,
                            min_binding_size: None,
                        },
                        count: None,
                    });
                }
                let label = format!("bind group layout {storage:?}");
                let bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                    label: Some(&label),
                    entries: &entries,
                });
                let label = format!("pipeline layout {storage:?}");
                let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                    label: Some(&label),
                    bind_group_layouts: &[Some(&bgl)],
                    immediate_size: 0,
                });
                (bgl, pl)
            })
            .clone()
    }

    /// The pipeline of `k` specialized with `constants` (plus `WG` where the
    /// entry point's workgroup size is that override).
    fn pipeline(&mut self, k: Kernel, constants: &[(&'static str, f64)]) -> wgpu::ComputePipeline {
        let mut all: Vec<(&'static str, f64)> = constants.to_vec();
        if k.wg_override {
            all.push(("WG", self.wg as f64));
        }
        let key: PipelineKey = (
            k.shader,
            k.entry,
            all.iter().map(|&(n, v)| (n, v.to_bits())).collect(),
        );
        if let Some(p) = self.pipelines.get(&key) {
            return p.clone();
        }
        let module = self.module(k.shader);
        let (_, layout) = self.layout(k.storage);
        let label = format!("{} {:?}", k.entry, all);
        let p = self
            .ctx
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&label),
                layout: Some(&layout),
                module: &module,
                entry_point: Some(k.entry),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: &all,
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            });
        self.pipelines.insert(key, p.clone());
        p
    }

    /// A region of the scratch buffer (for views that cannot be bound in place).
    fn scratch_region(&mut self, bytes: u64) -> (wgpu::Buffer, u32, u64) {
        let need = self.scratch_cursor + bytes;
        let grow = match &self.scratch {
            Some((_, _, size)) => *size < need,
            None => true,
        };
        if grow {
            let size = need.next_power_of_two().max(1 << 16);
            self.scratch_generation += 1;
            let id = SCRATCH_ID_BASE + self.scratch_generation;
            let buffer = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("alias scratch"),
                size,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            if let Some((_, old, _)) = self.scratch.take() {
                self.bind_groups
                    .retain(|(_, r), _| r.iter().all(|x| x.0 != old));
            }
            self.scratch = Some((buffer, id, size));
            self.scratch_cursor = 0;
        }
        let (buffer, id, _) = self.scratch.as_ref().unwrap();
        let start = self.scratch_cursor;
        self.scratch_cursor = (start + bytes).div_ceil(self.storage_align) * self.storage_align;
        (buffer.clone(), *id, start)
    }

    /// Records one dispatch of `k` over `views` (its storage bindings, in
    /// order). `params` receives each view's word offset within its binding.
    fn dispatch<P: bytemuck::Pod>(
        &mut self,
        k: Kernel,
        views: &[View],
        groups: [u32; 2],
        constants: &[(&'static str, f64)],
        params: impl FnOnce(&[u32]) -> P,
    ) {
        debug_assert_eq!(views.len(), k.storage.len());
        if groups[0] == 0 || groups[1] == 0 {
            return;
        }
        if self.uniforms.len() + self.slot_size > self.slot_size * UNIFORM_SLOTS {
            self.flush();
        }
        for v in views {
            self.check(*v, k.entry);
        }

        // Resolve each view to a binding range and a word offset inside it.
        let mut ranges: Vec<Range> = Vec::with_capacity(views.len());
        let mut offsets: Vec<u32> = Vec::with_capacity(views.len());
        let mut buffers: Vec<wgpu::Buffer> = Vec::with_capacity(views.len());
        let mut post: Vec<Cmd> = Vec::new();
        for (i, v) in views.iter().enumerate() {
            let slot = self.slot(v.buf);
            let (buffer, size) = (slot.buffer.clone(), slot.size);
            let shared = views
                .iter()
                .enumerate()
                .any(|(j, w)| j != i && w.buf == v.buf);
            if !shared && size <= self.max_binding {
                ranges.push((v.buf, 0, size));
                offsets.push(v.offset);
                buffers.push(buffer);
                continue;
            }
            let start = (v.offset as u64 * 4) / self.storage_align * self.storage_align;
            let end = ((v.offset as u64 + v.len as u64) * 4)
                .max(start + 4)
                .min(size);
            let overlaps = ranges
                .iter()
                .any(|&(b, s, n)| b == v.buf && s < end && start < s + n);
            if !overlaps {
                assert!(
                    end - start <= self.max_binding,
                    "{}: a view of {} bytes exceeds this device's storage binding limit of {} bytes",
                    k.entry,
                    end - start,
                    self.max_binding
                );
                ranges.push((v.buf, start, end - start));
                offsets.push(v.offset - (start / 4) as u32);
                buffers.push(buffer);
                continue;
            }
            // Bind a scratch copy instead: copy in before, copy back after.
            let bytes = (v.len as u64 * 4).max(4);
            let (scratch, id, at) = self.scratch_region(bytes);
            if v.len > 0 {
                self.pending.push(Cmd::Copy {
                    src: buffer.clone(),
                    src_offset: v.offset as u64 * 4,
                    dst: scratch.clone(),
                    dst_offset: at,
                    size: bytes,
                });
                post.push(Cmd::Copy {
                    src: scratch.clone(),
                    src_offset: at,
                    dst: buffer,
                    dst_offset: v.offset as u64 * 4,
                    size: bytes,
                });
            }
            ranges.push((id, at, bytes));
            offsets.push(0);
            buffers.push(scratch);
        }

        let pipeline = self.pipeline(k, constants);
        let key: BindKey = (k.storage, ranges);
        let bind_group = match self.bind_groups.get(&key) {
            Some(bg) => bg.clone(),
            None => {
                let (bgl, _) = self.layout(k.storage);
                let mut entries = vec![wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &self.uniform_buffer,
                        offset: 0,
                        size: wgpu::BufferSize::new(self.slot_size as u64),
                    }),
                }];
                for ((&b, r), buffer) in k.storage.iter().zip(&key.1).zip(&buffers) {
                    entries.push(wgpu::BindGroupEntry {
                        binding: b,
                        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer,
                            offset: r.1,
                            size: wgpu::BufferSize::new(r.2),
                        }),
                    });
                }
                let bg = self
                    .ctx
                    .device
                    .create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some(k.entry),
                        layout: &bgl,
                        entries: &entries,
                    });
                self.bind_groups.insert(key, bg.clone());
                bg
            }
        };

        let p = params(&offsets);
        let uniform_offset = self.uniforms.len();
        self.uniforms.extend_from_slice(bytemuck::bytes_of(&p));
        self.uniforms.resize(uniform_offset + self.slot_size, 0);
        self.pending.push(Cmd::Dispatch {
            pipeline,
            bind_group,
            uniform_offset: uniform_offset as u32,
            groups,
        });
        self.pending.extend(post);
    }

    fn elementwise_groups(&self, n: usize) -> [u32; 2] {
        fold_groups(ceil_div(u32_of(n, "element count"), self.wg))
    }
}

impl Backend for GpuBackend {
    fn describe(&self) -> String {
        self.ctx.adapter.get_info().name
    }

    fn alloc(&mut self, len: usize, label: &str) -> View {
        let size = len.max(1) as u64 * 4;
        assert!(
            size <= self.max_buffer,
            "alloc {label}: {size} bytes exceeds this device's largest buffer ({} bytes)",
            self.max_buffer
        );
        let buffer = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let id = u32_of(self.bufs.len(), "buffer count");
        assert!(id < SCRATCH_ID_BASE, "too many buffers");
        self.bufs.push(Some(Slot { buffer, size }));
        View {
            buf: id,
            offset: 0,
            len: u32_of(len, "buffer length"),
        }
    }

    fn free(&mut self, view: View) {
        // Pending commands hold their own handles, so the memory goes once they ran.
        if let Some(slot) = self.bufs.get_mut(view.buf as usize) {
            *slot = None;
        }
        self.bind_groups
            .retain(|(_, r), _| r.iter().all(|x| x.0 != view.buf));
    }

    fn write(&mut self, dst: View, data: &[f32]) {
        self.write_u32(dst, bytemuck::cast_slice(data));
    }

    fn write_u32(&mut self, dst: View, data: &[u32]) {
        assert!(
            data.len() <= dst.len(),
            "write of {} words into a view of {}",
            data.len(),
            dst.len
        );
        self.check(dst, "write");
        if data.is_empty() {
            return;
        }
        // Earlier recorded work must run before this write lands.
        self.flush();
        let buffer = &self.slot(dst.buf).buffer;
        self.ctx
            .queue
            .write_buffer(buffer, dst.offset as u64 * 4, bytemuck::cast_slice(data));
    }

    fn read(
        &mut self,
        src: View,
    ) -> impl Future<Output = Result<Vec<f32>, BackendError>> + 'static {
        self.check(src, "read");
        self.flush();
        if let Some(err) = self.ctx.fault() {
            return ReadFuture::ready(Err(err));
        }
        if src.is_empty() {
            return ReadFuture::ready(Ok(Vec::new()));
        }
        let size = src.len as u64 * 4;
        let staging = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback staging"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("readback"),
            });
        enc.copy_buffer_to_buffer(
            &self.slot(src.buf).buffer,
            src.offset as u64 * 4,
            &staging,
            0,
            size,
        );
        self.ctx.queue.submit([enc.finish()]);
        ReadFuture::start(self.ctx.device.clone(), staging, self.ctx.fault.clone())
    }

    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        if !self.uniforms.is_empty() {
            self.ctx
                .queue
                .write_buffer(&self.uniform_buffer, 0, &self.uniforms);
        }
        let mut enc = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("recorded ops"),
            });
        let cmds = std::mem::take(&mut self.pending);
        let mut i = 0;
        while i < cmds.len() {
            match &cmds[i] {
                Cmd::Dispatch { .. } => {
                    let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("recorded dispatches"),
                        timestamp_writes: None,
                    });
                    while let Some(Cmd::Dispatch {
                        pipeline,
                        bind_group,
                        uniform_offset,
                        groups,
                    }) = cmds.get(i)
                    {
                        pass.set_pipeline(pipeline);
                        pass.set_bind_group(0, bind_group, &[*uniform_offset]);
                        pass.dispatch_workgroups(groups[0], groups[1], 1);
                        i += 1;
                    }
                }
                Cmd::Clear {
                    buffer,
                    offset,
                    size,
                } => {
                    enc.clear_buffer(buffer, *offset, Some(*size));
                    i += 1;
                }
                Cmd::Copy {
                    src,
                    src_offset,
                    dst,
                    dst_offset,
                    size,
                } => {
                    enc.copy_buffer_to_buffer(src, *src_offset, dst, *dst_offset, *size);
                    i += 1;
                }
            }
        }
        let index = self.ctx.queue.submit([enc.finish()]);
        self.in_flight.push_back(index);
        self.uniforms.clear();
        self.scratch_cursor = 0;
    }

    /// Natively, waits until at most `MAX_IN_FLIGHT` flushes are queued. On
    /// the web the browser cannot block; callers pace with an awaited `read`.
    fn pace(&mut self) {
        while self.in_flight.len() > MAX_IN_FLIGHT {
            let _index = self.in_flight.pop_front();
            #[cfg(not(target_arch = "wasm32"))]
            if let Some(index) = _index {
                let _ = self.ctx.device.poll(wgpu::PollType::Wait {
                    submission_index: Some(index),
                    timeout: None,
                });
            }
        }
    }

    fn fill(&mut self, dst: View, value: f32) {
        self.check(dst, "fill");
        if dst.is_empty() {
            return;
        }
        if value.to_bits() == 0 {
            let buffer = self.slot(dst.buf).buffer.clone();
            self.pending.push(Cmd::Clear {
                buffer,
                offset: dst.offset as u64 * 4,
                size: dst.len as u64 * 4,
            });
            return;
        }
        let len = dst.len;
        self.dispatch(FILL, &[dst], self.elementwise_groups(dst.len()), &[], |o| {
            FillParams {
                len,
                dst_off: o[0],
                src_off: 0,
                value,
            }
        });
    }

    fn copy(&mut self, src: View, dst: View) {
        assert_eq!(src.len, dst.len, "copy between views of different lengths");
        self.check(src, "copy");
        self.check(dst, "copy");
        if src.is_empty() {
            return;
        }
        if src.buf != dst.buf {
            let (s, d) = (
                self.slot(src.buf).buffer.clone(),
                self.slot(dst.buf).buffer.clone(),
            );
            self.pending.push(Cmd::Copy {
                src: s,
                src_offset: src.offset as u64 * 4,
                dst: d,
                dst_offset: dst.offset as u64 * 4,
                size: src.len as u64 * 4,
            });
            return;
        }
        // A buffer cannot be copied into itself: use a kernel (bindings: dst, src).
        let len = src.len;
        self.dispatch(
            COPY,
            &[dst, src],
            self.elementwise_groups(src.len()),
            &[],
            |o| FillParams {
                len,
                dst_off: o[0],
                src_off: o[1],
                value: 0.0,
            },
        );
    }

    fn matmul(&mut self, a: View, b: View, c: View, s: Matmul) {
        assert!(
            a.len() >= s.m * s.k,
            "matmul: A holds {} words, needs {}",
            a.len,
            s.m * s.k
        );
        assert!(
            b.len() >= s.k * s.n,
            "matmul: B holds {} words, needs {}",
            b.len,
            s.k * s.n
        );
        assert!(
            c.len() >= s.m * s.n,
            "matmul: C holds {} words, needs {}",
            c.len,
            s.m * s.n
        );
        let (m, n, k) = (u32_of(s.m, "m"), u32_of(s.n, "n"), u32_of(s.k, "k"));
        let groups = [ceil_div(n, MATMUL_TILE), ceil_div(m, MATMUL_TILE)];
        assert!(
            groups[1] <= MAX_GROUPS,
            "matmul: m = {m} is too large for one dispatch"
        );
        let constants = [
            ("TRANS_A", s.trans_a as u32 as f64),
            ("TRANS_B", s.trans_b as u32 as f64),
        ];
        self.dispatch(MATMUL, &[a, b, c], groups, &constants, |o| MatmulParams {
            m,
            n,
            k,
            a_off: o[0],
            b_off: o[1],
            c_off: o[2],
            trans_a: s.trans_a as u32,
            trans_b: s.trans_b as u32,
            accumulate: s.accumulate as u32,
            _pad: [0; 3],
        });
    }

    fn bias_add(&mut self, y: View, bias: View, rows: usize, cols: usize) {
        assert!(
            y.len() >= rows * cols && bias.len() >= cols,
            "bias_add: views too short"
        );
        let (r, c) = (u32_of(rows, "rows"), u32_of(cols, "cols"));
        self.dispatch(
            BIAS_ADD,
            &[y, bias],
            self.elementwise_groups(rows * cols),
            &[],
            |o| BiasParams {
                rows: r,
                cols: c,
                y_off: o[0],
                bias_off: o[1],
            },
        );
    }

    fn bias_grad(&mut self, dy: View, db: View, rows: usize, cols: usize) {
        assert!(
            dy.len() >= rows * cols && db.len() >= cols,
            "bias_grad: views too short"
        );
        let (r, c) = (u32_of(rows, "rows"), u32_of(cols, "cols"));
        let groups = fold_groups(ceil_div(c, BIAS_GRAD_COLS));
        assert!(groups[1] <= 1, "bias_grad: too many columns");
        self.dispatch(BIAS_GRAD, &[dy, db], groups, &[], |o| BiasParams {
            rows: r,
            cols: c,
            y_off: o[0],
            bias_off: o[1],
        });
    }

    fn conv2d_forward(&mut self, x: View, w: View, y: View, shape: Conv2dShape) {
        self.conv_forward(x, w, y, shape);
    }

    fn conv2d_backward_data(&mut self, dy: View, w: View, dx: View, shape: Conv2dShape) {
        self.conv_backward_data(dy, w, dx, shape);
    }

    fn conv2d_backward_weights(&mut self, x: View, dy: View, dw: View, shape: Conv2dShape) {
        self.conv_backward_weights(x, dy, dw, shape);
    }

    fn channel_bias_add(
        &mut self,
        y: View,
        bias: View,
        batch: usize,
        channels: usize,
        spatial: usize,
    ) {
        self.conv_bias_add(y, bias, batch, channels, spatial);
    }

    fn channel_bias_grad(
        &mut self,
        dy: View,
        db: View,
        batch: usize,
        channels: usize,
        spatial: usize,
    ) {
        self.conv_bias_grad(dy, db, batch, channels, spatial);
    }

    fn activation(&mut self, act: Activation, x: View, y: View) {
        assert_eq!(x.len, y.len, "activation: x and y differ in length");
        let len = x.len;
        self.dispatch(
            ACT_FORWARD,
            &[x, y],
            self.elementwise_groups(x.len()),
            &[],
            |o| ActivationParams {
                len,
                act: act.id(),
                x_off: o[0],
                y_off: o[1],
                ..Default::default()
            },
        );
    }

    fn activation_backward(&mut self, act: Activation, x: View, y: View, dy: View, dx: View) {
        assert!(
            x.len == y.len && x.len == dy.len && x.len == dx.len,
            "activation_backward: views differ in length"
        );
        let len = x.len;
        self.dispatch(
            ACT_BACKWARD,
            &[x, y, dy, dx],
            self.elementwise_groups(x.len()),
            &[],
            |o| ActivationParams {
                len,
                act: act.id(),
                x_off: o[0],
                y_off: o[1],
                dy_off: o[2],
                dx_off: o[3],
                _pad: [0; 2],
            },
        );
    }

    fn reparam_forward(
        &mut self,
        mu: View,
        logvar: View,
        eps: View,
        z: View,
        kl: View,
        rows: usize,
        zdim: usize,
        noise: Noise,
    ) {
        let n = rows * zdim;
        assert!(
            mu.len() >= n
                && logvar.len() >= n
                && eps.len() >= n
                && z.len() >= n
                && kl.len() >= rows,
            "reparam_forward: views too short"
        );
        let base = ReparamParams {
            rows: u32_of(rows, "rows"),
            zdim: u32_of(zdim, "zdim"),
            seed: noise.seed,
            stream: noise.stream,
            ..Default::default()
        };
        self.dispatch(
            REPARAM_FORWARD,
            &[mu, logvar, eps, z],
            self.elementwise_groups(n),
            &[],
            |o| ReparamParams {
                mu_off: o[0],
                lv_off: o[1],
                eps_off: o[2],
                z_off: o[3],
                ..base
            },
        );
        self.dispatch(
            REPARAM_KL,
            &[mu, logvar, kl],
            self.elementwise_groups(rows),
            &[],
            |o| ReparamParams {
                mu_off: o[0],
                lv_off: o[1],
                kl_off: o[2],
                ..base
            },
        );
    }

    fn reparam_backward(
        &mut self,
        mu: View,
        logvar: View,
        eps: View,
        dz: View,
        dmu: View,
        dlogvar: View,
        kl_scale: f32,
    ) {
        let n = dmu.len;
        assert!(
            [mu, logvar, eps, dz, dlogvar].iter().all(|v| v.len >= n),
            "reparam_backward: views too short"
        );
        self.dispatch(
            REPARAM_BACKWARD,
            &[mu, logvar, eps, dz, dmu, dlogvar],
            self.elementwise_groups(dmu.len()),
            &[],
            |o| ReparamParams {
                rows: 1,
                zdim: n,
                mu_off: o[0],
                lv_off: o[1],
                eps_off: o[2],
                dz_off: o[3],
                dmu_off: o[4],
                dlv_off: o[5],
                kl_scale,
                ..Default::default()
            },
        );
    }

    fn recon_loss(
        &mut self,
        kind: Recon,
        logits: View,
        target: View,
        dlogits: View,
        loss: View,
        rows: usize,
        cols: usize,
        grad_scale: f32,
    ) {
        let n = rows * cols;
        assert!(
            logits.len() >= n && target.len() >= n && dlogits.len() >= n && loss.len() >= rows,
            "recon_loss: views too short"
        );
        let (r, c) = (u32_of(rows, "rows"), u32_of(cols, "cols"));
        self.dispatch(
            RECON,
            &[logits, target, dlogits, loss],
            fold_groups(r),
            &[],
            |o| ReconParams {
                rows: r,
                cols: c,
                logits_off: o[0],
                target_off: o[1],
                dlogits_off: o[2],
                loss_off: o[3],
                kind: kind.id(),
                grad_scale,
            },
        );
    }

    fn sum_into(&mut self, src: View, dst: View) {
        assert!(dst.len >= 1, "sum_into: empty destination");
        let len = src.len;
        self.dispatch(SUM_INTO, &[src, dst], [1, 1], &[], |o| ReduceParams {
            len,
            src_off: o[0],
            dst_off: o[1],
            _pad: 0,
        });
    }

    fn adam(&mut self, params: View, grads: View, m: View, v: View, step: AdamStep) {
        assert!(
            params.len == grads.len && params.len == m.len && params.len == v.len,
            "adam: buffers differ in length"
        );
        let (step_size, bc2_sqrt) = step.corrections();
        let len = params.len;
        self.dispatch(
            ADAM,
            &[params, grads, m, v],
            self.elementwise_groups(params.len()),
            &[],
            |o| AdamParams {
                len,
                p_off: o[0],
                g_off: o[1],
                m_off: o[2],
                v_off: o[3],
                step_size,
                bc2_sqrt,
                beta1: step.beta1,
                beta2: step.beta2,
                eps: step.eps,
                _pad: [0; 2],
            },
        );
    }

    fn gather_images(
        &mut self,
        bytes: View,
        dim: usize,
        indices: View,
        first: usize,
        rows: usize,
        out: View,
        binarize: Option<Noise>,
    ) {
        assert!(
            indices.len() >= first + rows,
            "gather_images: indices too short"
        );
        assert!(out.len() >= rows * dim, "gather_images: out too short");
        let noise = binarize.unwrap_or(Noise { seed: 0, stream: 0 });
        let (r, d, f) = (
            u32_of(rows, "rows"),
            u32_of(dim, "dim"),
            u32_of(first, "first"),
        );
        self.dispatch(
            GATHER,
            &[bytes, indices, out],
            self.elementwise_groups(rows * dim),
            &[],
            |o| GatherParams {
                rows: r,
                dim: d,
                bytes_off: o[0],
                idx_off: o[1],
                first: f,
                out_off: o[2],
                binarize: binarize.is_some() as u32,
                seed: noise.seed,
                stream: noise.stream,
                _pad: [0; 3],
            },
        );
    }
}

/// Releases the device's memory at once: in the browser dropping wgpu
/// handles frees nothing until garbage collection, and an embedding page that
/// removes a playground expects its GPU memory back.
impl Drop for GpuBackend {
    fn drop(&mut self) {
        self.pending.clear();
        self.ctx.device.destroy();
    }
}
