//! The recorder's buffers: allocation into the arena (reusing freed ids),
//! writes, reads, clears and copies, and the limits a model is checked
//! against.

use super::{u32_of, Cmd, Recorder, Slot, SCRATCH_ID_BASE};
use crate::backend::{MemoryReport, View};
use crate::gpu::readback::ReadFuture;

impl Recorder {
    /// The longest buffer (in words) that can be allocated and bound whole.
    pub(in crate::gpu) fn max_buffer_words(&self) -> usize {
        usize::try_from(self.max_buffer.min(self.max_binding) / 4).unwrap_or(usize::MAX)
    }

    /// Lowers the buffer and binding limits to `bytes` (never raises them).
    pub(in crate::gpu) fn cap_buffers(&mut self, bytes: u64) {
        self.max_buffer = self.max_buffer.min(bytes);
        self.max_binding = self.max_binding.min(bytes);
    }

    /// Live buffers (the alias scratch included), their bytes, the table's length.
    pub(in crate::gpu) fn memory(&self) -> MemoryReport {
        let live = self.bufs.iter().flatten();
        let scratch = self.scratch.as_ref().map_or(0, |s| s.size);
        MemoryReport {
            buffers: live.clone().count() + usize::from(self.scratch.is_some()),
            bytes: live.map(|s| s.size).sum::<u64>() + scratch,
            slots: self.bufs.len(),
        }
    }

    pub(super) fn slot(&self, buf: u32) -> &Slot {
        self.bufs
            .get(buf as usize)
            .and_then(|s| s.as_ref())
            .unwrap_or_else(|| panic!("view of a freed or unknown buffer {buf}"))
    }

    /// Panics unless `v` lies inside a live buffer.
    pub(in crate::gpu) fn check(&self, v: View, what: &str) {
        let size = self.slot(v.buf).size;
        assert!(
            (v.offset as u64 + v.len as u64) * 4 <= size,
            "{what}: view {v:?} past the end of a buffer of {} words",
            size / 4
        );
    }

    pub(in crate::gpu) fn alloc(&mut self, len: usize, label: &str) -> View {
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

    pub(in crate::gpu) fn free(&mut self, view: View) {
        // Pending commands hold their own handles, so the memory goes once they ran.
        if let Some(slot) = self.bufs.get_mut(view.buf as usize) {
            if slot.take().is_some() {
                self.free_ids.push(view.buf);
            }
        }
        self.bind_groups
            .retain(|(_, r), _| r.iter().all(|x| x.0 != view.buf));
    }

    pub(in crate::gpu) fn write_u32(&mut self, dst: View, data: &[u32]) {
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
    pub(in crate::gpu) fn read(&mut self, src: View) -> ReadFuture {
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
    pub(in crate::gpu) fn clear(&mut self, dst: View) {
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
    pub(in crate::gpu) fn copy_between_buffers(&mut self, src: View, dst: View) {
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
}
