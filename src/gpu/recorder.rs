//! The recorder: everything between an op and the queue. It owns the device's
//! buffers (an arena indexed by `View::buf`; a freed id is reused by the next
//! allocation, so the table stays as long as the most buffers ever live), the
//! pipeline and bind-group caches, the uniform arena, the alias scratch, and
//! the list of recorded commands that `flush` submits as one command buffer
//! (consecutive dispatches share one compute pass).
//!
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
//! * Bind groups are cached per (layout, buffer ranges) and dropped with the
//!   buffers they name.
//!
//! The buffer ops live in `recorder/buffers.rs`, the counters and profile
//! mode in `recorder/profile.rs`.

mod buffers;
mod profile;

use super::context::Context;
use super::kernels::Kernel;
use super::pipelines::Pipelines;
use super::timing::{Counters, OpProfile, Timestamps};
use crate::backend::View;
use std::collections::{HashMap, VecDeque};

/// Uniform slots per flush; recording more dispatches than this flushes early.
const UNIFORM_SLOTS: usize = 1024;
/// Threads per workgroup of the element-wise kernels (the `WG` override).
const DEFAULT_WG: u32 = 256;
/// The most workgroups per dispatch dimension WebGPU guarantees.
pub(super) const MAX_GROUPS: u32 = 65535;
/// Training steps queued on the device before `pace` waits for the oldest.
const MAX_IN_FLIGHT: usize = 2;
/// Scratch bindings get ids from the top of the id space, one per growth.
const SCRATCH_ID_BASE: u32 = u32::MAX / 2;

/// `n` workgroups folded into x (<= 65535) and y; kernels recover the flat
/// index as `(wg.y * num_workgroups.x + wg.x)`.
pub(super) fn fold_groups(n: u32) -> [u32; 2] {
    if n == 0 {
        return [0, 0];
    }
    let x = n.min(MAX_GROUPS);
    [x, n.div_ceil(x)]
}

pub(super) fn u32_of(n: usize, what: &str) -> u32 {
    u32::try_from(n)
        .unwrap_or_else(|_| panic!("{what} = {n} does not fit the GPU's 32-bit indices"))
}

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

/// The buffer that views go through when they cannot be bound in place;
/// regions are handed out from `cursor`, which every flush resets.
struct AliasScratch {
    buffer: wgpu::Buffer,
    id: u32,
    size: u64,
}

pub(super) struct Recorder {
    ctx: Context,
    bufs: Vec<Option<Slot>>,
    /// Freed ids, reused before the table grows.
    free_ids: Vec<u32>,
    pipelines: Pipelines,
    bind_groups: HashMap<BindKey, wgpu::BindGroup>,
    uniform_buffer: wgpu::Buffer,
    uniforms: Vec<u8>,
    slot_size: usize,
    pending: Vec<Cmd>,
    scratch: Option<AliasScratch>,
    scratch_cursor: u64,
    scratch_generation: u32,
    storage_align: u64,
    max_binding: u64,
    max_buffer: u64,
    wg: u32,
    /// Submissions not yet known to be finished, oldest first.
    in_flight: VecDeque<wgpu::SubmissionIndex>,
    counters: Counters,
    /// Two one-word buffers for a kernel's bindings that a mode leaves unused.
    dummies: Option<[View; 2]>,
    /// The bytes the next dispatch moves, where the op knows better than
    /// its views' lengths (a gather binds the whole data set).
    bytes_hint: Option<u64>,
    /// Per-kernel timing (each op flushed and waited for) when set.
    profile: Option<OpProfile>,
    /// Per-flush GPU time, where the device has timestamp queries.
    timestamps: Option<Timestamps>,
}

impl Recorder {
    pub(super) fn new(ctx: Context) -> Recorder {
        let limits = ctx.device.limits();
        let slot_size = (limits.min_uniform_buffer_offset_alignment as usize).max(256);
        let uniform_buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params uniforms"),
            size: (slot_size * UNIFORM_SLOTS) as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut rec = Recorder {
            bufs: Vec::new(),
            free_ids: Vec::new(),
            pipelines: Pipelines::new(ctx.device.clone(), DEFAULT_WG),
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
            in_flight: VecDeque::new(),
            counters: Counters::default(),
            dummies: None,
            bytes_hint: None,
            profile: None,
            timestamps: Timestamps::new(&ctx),
            ctx,
        };
        // Allocated up front, so that the first fused dispatch of a model
        // (or of `Session.probe`'s throwaway one) leaves no buffer behind.
        rec.dummies();
        rec
    }

    /// Two distinct one-word views for bindings a kernel's mode leaves
    /// unused (a view bound twice would go through the alias scratch).
    pub(super) fn dummies(&mut self) -> [View; 2] {
        if let Some(d) = self.dummies {
            return d;
        }
        let d = [
            self.alloc(1, "unused binding 0"),
            self.alloc(1, "unused binding 1"),
        ];
        self.dummies = Some(d);
        d
    }

    pub(super) fn ctx(&self) -> &Context {
        &self.ctx
    }

    /// The largest storage binding this device allows, in bytes.
    pub(super) fn max_binding(&self) -> u64 {
        self.max_binding
    }

    /// Entries in the shader-module, layout, pipeline and bind-group caches.
    pub(super) fn cache_sizes(&self) -> super::CacheSizes {
        let (modules, layouts, pipelines) = self.pipelines.sizes();
        super::CacheSizes {
            modules,
            layouts,
            pipelines,
            bind_groups: self.bind_groups.len(),
        }
    }

    /// Workgroups for one thread per element of `n`.
    pub(super) fn elementwise_groups(&self, n: usize) -> [u32; 2] {
        fold_groups(u32_of(n, "element count").div_ceil(self.wg))
    }

    /// A region of the scratch buffer (for views that cannot be bound in place).
    fn scratch_region(&mut self, bytes: u64) -> (wgpu::Buffer, u32, u64) {
        let need = self.scratch_cursor + bytes;
        if self.scratch.as_ref().is_none_or(|s| s.size < need) {
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
            if let Some(old) = self.scratch.take() {
                self.bind_groups
                    .retain(|(_, r), _| r.iter().all(|x| x.0 != old.id));
            }
            self.scratch = Some(AliasScratch { buffer, id, size });
            self.scratch_cursor = 0;
        }
        let s = self.scratch.as_ref().unwrap();
        let start = self.scratch_cursor;
        self.scratch_cursor = (start + bytes).div_ceil(self.storage_align) * self.storage_align;
        (s.buffer.clone(), s.id, start)
    }

    /// Records one dispatch of `k` over `views` (its storage bindings, in
    /// order). `params` receives each view's word offset within its binding.
    pub(super) fn dispatch<P: bytemuck::Pod>(
        &mut self,
        k: Kernel,
        views: &[View],
        groups: [u32; 2],
        constants: &[(&'static str, f64)],
        params: impl FnOnce(&[u32]) -> P,
    ) {
        debug_assert_eq!(views.len(), k.storage.len());
        if groups[0] == 0 || groups[1] == 0 {
            self.bytes_hint = None;
            return;
        }
        if self.uniforms.len() + self.slot_size > self.slot_size * UNIFORM_SLOTS
            || self.profile.is_some()
        {
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
                self.counters.copies += 2;
                self.counters.bytes += bytes * 4;
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

        let pipeline = self.pipelines.get(k, constants);
        let key: BindKey = (k.storage, ranges);
        let bind_group = match self.bind_groups.get(&key) {
            Some(bg) => bg.clone(),
            None => {
                let bg = self.bind_group(k, &key.1, &buffers);
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
        self.counters.dispatches += 1;
        let bound = views.iter().map(|v| v.len as u64 * 4).sum::<u64>();
        self.counters.bytes += self.bytes_hint.take().unwrap_or(bound);
        self.profile_op(|| {
            let mut name = k.entry.to_string();
            for (c, v) in constants {
                name.push_str(&format!(" {c}={v}"));
            }
            name
        });
    }

    /// A new bind group of `k`: the params uniform, then `buffers` over `ranges`.
    fn bind_group(
        &mut self,
        k: Kernel,
        ranges: &[Range],
        buffers: &[wgpu::Buffer],
    ) -> wgpu::BindGroup {
        let (bgl, _) = self.pipelines.layout(k.storage);
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &self.uniform_buffer,
                offset: 0,
                size: wgpu::BufferSize::new(self.slot_size as u64),
            }),
        }];
        for ((&b, r), buffer) in k.storage.iter().zip(ranges).zip(buffers) {
            entries.push(wgpu::BindGroupEntry {
                binding: b,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer,
                    offset: r.1,
                    size: wgpu::BufferSize::new(r.2),
                }),
            });
        }
        self.ctx
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(k.entry),
                layout: &bgl,
                entries: &entries,
            })
    }

    /// Encodes the recorded commands into one command buffer and submits it.
    pub(super) fn flush(&mut self) {
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
        // Timestamps at the start of the first compute pass and the end of
        // the last (where offered and no readback is in flight).
        let is_pass_start = |i: usize| {
            matches!(cmds[i], Cmd::Dispatch { .. })
                && (i == 0 || !matches!(cmds[i - 1], Cmd::Dispatch { .. }))
        };
        let first_pass = (0..cmds.len()).find(|&i| is_pass_start(i));
        let last_pass = (0..cmds.len()).rev().find(|&i| is_pass_start(i));
        let timestamps = self
            .timestamps
            .as_ref()
            .filter(|t| first_pass.is_some() && t.ready());
        let mut i = 0;
        while i < cmds.len() {
            match &cmds[i] {
                Cmd::Dispatch { .. } => {
                    let timestamp_writes = timestamps
                        .and_then(|t| t.writes(Some(i) == first_pass, Some(i) == last_pass));
                    let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("recorded dispatches"),
                        timestamp_writes,
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
        if let Some(t) = timestamps {
            t.resolve(&mut enc);
        }
        let index = self.ctx.queue.submit([enc.finish()]);
        if let Some(t) = timestamps {
            t.map();
        }
        self.counters.flushes += 1;
        self.counters.uniform_bytes += self.uniforms.len() as u64;
        self.in_flight.push_back(index);
        self.uniforms.clear();
        self.scratch_cursor = 0;
    }

    /// Drops the commands recorded since the last flush, unsubmitted; the
    /// pipelines and bind groups their recording created stay cached (see
    /// `warm.rs`).
    pub(super) fn discard(&mut self) {
        self.pending.clear();
        self.uniforms.clear();
        self.scratch_cursor = 0;
    }

    /// Natively, waits until at most `MAX_IN_FLIGHT` flushes are queued. On
    /// the web the browser cannot block; callers pace with an awaited `read`.
    pub(super) fn pace(&mut self) {
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
}

/// Releases the device's memory at once: in the browser dropping wgpu
/// handles frees nothing until garbage collection, and an embedding page that
/// removes a playground expects its GPU memory back.
impl Drop for Recorder {
    fn drop(&mut self) {
        self.pending.clear();
        self.ctx.device.destroy();
    }
}
