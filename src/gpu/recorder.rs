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

use super::context::Context;
use super::kernels::{Kernel, KernelShape};
use super::pipelines::Pipelines;
use super::readback::ReadFuture;
use super::timing::{GpuTime, Timestamps};
use crate::backend::View;
use std::collections::{BTreeMap, HashMap, VecDeque};

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

/// What the recorder has recorded since the last `reset_counters`: the
/// figures of `vae bench --profile`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Compute dispatches.
    pub dispatches: u64,
    /// Buffer clears (`fill` with zero).
    pub clears: u64,
    /// Buffer-to-buffer copies, the alias scratch's included.
    pub copies: u64,
    /// Bytes of the views each dispatch binds (each view counted once, as
    /// if read or written once; a kernel that reads and writes a view moves
    /// twice that), plus bytes cleared, plus twice the bytes copied.
    pub bytes: u64,
    /// Bytes of uniform params uploaded (one slot per dispatch).
    pub uniform_bytes: u64,
    /// Command buffers submitted.
    pub flushes: u64,
}

/// The time of each kernel (entry point and override constants), each
/// dispatch, clear and copy flushed and waited for on its own.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OpProfile {
    pub ops: BTreeMap<String, OpTime>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OpTime {
    pub calls: u64,
    /// Wall seconds from recording to completion (submit and wait included).
    pub wall_s: f64,
    /// GPU milliseconds from timestamp queries, where offered, and how many
    /// of the calls they cover.
    pub gpu_ms: f64,
    pub gpu_timed: u64,
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
    /// Which product kernels dispatches use.
    shape: KernelShape,
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
            shape: KernelShape::for_adapter(&ctx.adapter.get_info()),
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

    pub(super) fn counters(&self) -> Counters {
        self.counters
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

    /// Counts `bytes` for the next dispatch instead of its views' lengths.
    pub(super) fn hint_bytes(&mut self, bytes: u64) {
        self.bytes_hint = Some(bytes);
    }

    /// Puts back counters saved before recording that was then discarded.
    pub(super) fn restore_counters(&mut self, saved: Counters) {
        self.counters = saved;
    }

    pub(super) fn reset_counters(&mut self) {
        self.counters = Counters::default();
    }

    pub(super) fn timestamps(&self) -> Option<&Timestamps> {
        self.timestamps.as_ref()
    }

    pub(super) fn gpu_time(&self) -> GpuTime {
        #[cfg(not(target_arch = "wasm32"))]
        let _ = self.ctx.device.poll(wgpu::PollType::Poll);
        self.timestamps
            .as_ref()
            .map_or_else(GpuTime::default, Timestamps::time)
    }

    /// Starts (`true`, a fresh table) or stops timing each kernel on its own.
    pub(super) fn set_profile(&mut self, on: bool) {
        self.flush();
        self.wait_idle();
        self.profile = on.then(OpProfile::default);
    }

    pub(super) fn profile(&self) -> Option<&OpProfile> {
        self.profile.as_ref()
    }

    /// Natively, waits until everything submitted has run.
    pub(super) fn wait_idle(&mut self) {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = self.ctx.device.poll(wgpu::PollType::wait_indefinitely());
            self.in_flight.clear();
        }
    }

    /// In profile mode, flushes the op just recorded as `name`, waits for
    /// it and adds its wall time to the table.
    fn profile_op(&mut self, name: impl FnOnce() -> String) {
        if self.profile.is_none() {
            return;
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            let before = self.timestamps.as_ref().map(|t| t.time().flushes);
            let start = std::time::Instant::now();
            self.flush();
            self.wait_idle();
            let secs = start.elapsed().as_secs_f64();
            // The wait ran the map callback: the op's own timestamps.
            let gpu = self.timestamps.as_ref().map(Timestamps::time);
            let gpu_ms = match (before, gpu) {
                (Some(n), Some(t)) if t.flushes > n => t.last_flush_ms,
                _ => None,
            };
            if let Some(p) = self.profile.as_mut() {
                let e = p.ops.entry(name()).or_default();
                e.calls += 1;
                e.wall_s += secs;
                if let Some(ms) = gpu_ms {
                    e.gpu_ms += ms;
                    e.gpu_timed += 1;
                }
            }
        }
        #[cfg(target_arch = "wasm32")]
        let _ = name;
    }

    pub(super) fn shape(&self) -> KernelShape {
        self.shape
    }

    pub(super) fn set_shape(&mut self, shape: KernelShape) {
        self.shape = shape;
    }

    pub(super) fn ctx(&self) -> &Context {
        &self.ctx
    }

    /// The largest storage binding this device allows, in bytes.
    pub(super) fn max_binding(&self) -> u64 {
        self.max_binding
    }

    /// The longest buffer (in words) that can be allocated and bound whole.
    pub(super) fn max_buffer_words(&self) -> usize {
        usize::try_from(self.max_buffer.min(self.max_binding) / 4).unwrap_or(usize::MAX)
    }

    /// Lowers the buffer and binding limits to `bytes` (never raises them).
    pub(super) fn cap_buffers(&mut self, bytes: u64) {
        self.max_buffer = self.max_buffer.min(bytes);
        self.max_binding = self.max_binding.min(bytes);
    }

    /// Live buffers (the alias scratch included), their bytes, the table's length.
    pub(super) fn memory(&self) -> crate::backend::MemoryReport {
        let live = self.bufs.iter().flatten();
        let scratch = self.scratch.as_ref().map_or(0, |s| s.size);
        crate::backend::MemoryReport {
            buffers: live.clone().count() + usize::from(self.scratch.is_some()),
            bytes: live.map(|s| s.size).sum::<u64>() + scratch,
            slots: self.bufs.len(),
        }
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

    fn slot(&self, buf: u32) -> &Slot {
        self.bufs
            .get(buf as usize)
            .and_then(|s| s.as_ref())
            .unwrap_or_else(|| panic!("view of a freed or unknown buffer {buf}"))
    }

    /// Panics unless `v` lies inside a live buffer.
    pub(super) fn check(&self, v: View, what: &str) {
        let size = self.slot(v.buf).size;
        assert!(
            (v.offset as u64 + v.len as u64) * 4 <= size,
            "{what}: view {v:?} past the end of a buffer of {} words",
            size / 4
        );
    }

    pub(super) fn alloc(&mut self, len: usize, label: &str) -> View {
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
        let slot = Some(Slot { buffer, size });
        let id = match self.free_ids.pop() {
            Some(id) => {
                self.bufs[id as usize] = slot;
                id
            }
            None => {
                let id = u32_of(self.bufs.len(), "buffer count");
                assert!(id < SCRATCH_ID_BASE, "too many buffers");
                self.bufs.push(slot);
                id
            }
        };
        View {
            buf: id,
            offset: 0,
            len: u32_of(len, "buffer length"),
        }
    }

    pub(super) fn free(&mut self, view: View) {
        // Pending commands hold their own handles, so the memory goes once they ran.
        if let Some(slot) = self.bufs.get_mut(view.buf as usize) {
            if slot.take().is_some() {
                self.free_ids.push(view.buf);
            }
        }
        self.bind_groups
            .retain(|(_, r), _| r.iter().all(|x| x.0 != view.buf));
    }

    pub(super) fn write_u32(&mut self, dst: View, data: &[u32]) {
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

    /// Flushes, then copies `src` into a staging buffer and maps it.
    pub(super) fn read(&mut self, src: View) -> ReadFuture {
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

    /// Records zeroing `dst` (a buffer clear, no kernel).
    pub(super) fn clear(&mut self, dst: View) {
        self.check(dst, "clear");
        if dst.is_empty() {
            return;
        }
        if self.profile.is_some() {
            self.flush();
        }
        let buffer = self.slot(dst.buf).buffer.clone();
        self.pending.push(Cmd::Clear {
            buffer,
            offset: dst.offset as u64 * 4,
            size: dst.len as u64 * 4,
        });
        self.counters.clears += 1;
        self.counters.bytes += dst.len as u64 * 4;
        self.profile_op(|| "clear (buffer)".to_string());
    }

    /// Records a buffer-to-buffer copy; `src` and `dst` are in different
    /// buffers (a buffer cannot be copied into itself).
    pub(super) fn copy_between_buffers(&mut self, src: View, dst: View) {
        assert_ne!(src.buf, dst.buf, "copy_between_buffers within one buffer");
        assert_eq!(src.len, dst.len, "copy between views of different lengths");
        self.check(src, "copy");
        self.check(dst, "copy");
        if src.is_empty() {
            return;
        }
        let (s, d) = (
            self.slot(src.buf).buffer.clone(),
            self.slot(dst.buf).buffer.clone(),
        );
        if self.profile.is_some() {
            self.flush();
        }
        self.pending.push(Cmd::Copy {
            src: s,
            src_offset: src.offset as u64 * 4,
            dst: d,
            dst_offset: dst.offset as u64 * 4,
            size: src.len as u64 * 4,
        });
        self.counters.copies += 1;
        self.counters.bytes += src.len as u64 * 8;
        self.profile_op(|| "copy (buffer)".to_string());
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
