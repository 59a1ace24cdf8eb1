//! The lazy pipeline cache: one shader module per `.wgsl` file, one bind-group
//! and pipeline layout per storage-binding shape, one compute pipeline per
//! (shader, entry point, override constants). Built on first use, then reused:
//! a steady-state step creates none of them.

use super::kernels::{Kernel, Shader};
use std::borrow::Cow;
use std::collections::HashMap;

/// Shader, entry point and override constants (name, value bits).
type PipelineKey = (Shader, &'static str, Vec<(&'static str, u64)>);

pub(super) struct Pipelines {
    device: wgpu::Device,
    /// Threads per workgroup of the element-wise kernels (the `WG` override).
    wg: u32,
    modules: HashMap<Shader, wgpu::ShaderModule>,
    layouts: HashMap<&'static [u32], (wgpu::BindGroupLayout, wgpu::PipelineLayout)>,
    pipelines: HashMap<PipelineKey, wgpu::ComputePipeline>,
}

impl Pipelines {
    pub(super) fn new(device: wgpu::Device, wg: u32) -> Self {
        Pipelines {
            device,
            wg,
            modules: HashMap::new(),
            layouts: HashMap::new(),
            pipelines: HashMap::new(),
        }
    }

    /// Cached shader modules, layouts and pipelines.
    pub(super) fn sizes(&self) -> (usize, usize, usize) {
        (self.modules.len(), self.layouts.len(), self.pipelines.len())
    }

    fn module(&mut self, shader: Shader) -> wgpu::ShaderModule {
        let device = &self.device;
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

    /// The bind-group layout (binding 0: the params uniform with a dynamic
    /// offset; then `storage`, all `read_write`) and its pipeline layout.
    pub(super) fn layout(
        &mut self,
        storage: &'static [u32],
    ) -> (wgpu::BindGroupLayout, wgpu::PipelineLayout) {
        let device = &self.device;
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
    pub(super) fn get(
        &mut self,
        k: Kernel,
        constants: &[(&'static str, f64)],
    ) -> wgpu::ComputePipeline {
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
}
