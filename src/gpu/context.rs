//! Adapter and device creation, plus the sticky fault slot that the
//! uncaptured-error handler and the device-lost callback fill.

use crate::backend::BackendError;
use std::sync::{Arc, Mutex};

/// The first error the device reported; once set, every `read` fails with it.
pub type Fault = Arc<Mutex<Option<BackendError>>>;

pub struct Context {
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub fault: Fault,
}

fn record(fault: &Fault, err: BackendError) {
    if let Ok(mut slot) = fault.lock() {
        if slot.is_none() {
            *slot = Some(err);
        }
    }
}

impl Context {
    pub async fn new() -> Result<Context, BackendError> {
        // WGPU_BACKEND and friends may narrow the choice (e.g. WGPU_BACKEND=vulkan).
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle().with_env());
        let mut adapter = None;
        let mut tried = Vec::new();
        for (power, fallback) in [
            (wgpu::PowerPreference::HighPerformance, false),
            (wgpu::PowerPreference::LowPower, false),
            (wgpu::PowerPreference::None, true),
        ] {
            let options = wgpu::RequestAdapterOptions {
                power_preference: power,
                force_fallback_adapter: fallback,
                compatible_surface: None,
                ..Default::default()
            };
            match instance.request_adapter(&options).await {
                Ok(a) => {
                    adapter = Some(a);
                    break;
                }
                Err(e) => tried.push(format!(
                    "{power:?}{}: {e}",
                    if fallback { " (fallback)" } else { "" }
                )),
            }
        }
        let Some(adapter) = adapter else {
            return Err(BackendError::NoAdapter(format!(
                "wgpu found no adapter ({}). Natively, install a Vulkan driver (on a machine without a GPU, \
                 `apt-get install mesa-vulkan-drivers` provides the llvmpipe software adapter); in a browser, \
                 use one with WebGPU enabled.",
                tried.join("; ")
            )));
        };

        let have = adapter.limits();
        // WebGPU defaults, never above what the adapter offers, then the large
        // storage buffers a resident dataset needs (60000 * 784 bytes = 47 MB).
        let mut limits = wgpu::Limits::defaults().or_worse_values_from(&have);
        limits.max_storage_buffer_binding_size = have.max_storage_buffer_binding_size;
        limits.max_buffer_size = have.max_buffer_size;
        limits.max_storage_buffers_per_shader_stage = have
            .max_storage_buffers_per_shader_stage
            .max(limits.max_storage_buffers_per_shader_stage);
        let info = adapter.get_info();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("vae-playground device"),
                // Timestamp queries only where offered (GPU time per flush,
                // `timing.rs`); nothing else is optional.
                required_features: adapter.features() & wgpu::Features::TIMESTAMP_QUERY,
                required_limits: limits,
                ..Default::default()
            })
            .await
            .map_err(|e| {
                BackendError::NoAdapter(format!(
                    "the adapter \"{}\" ({:?}) refused to create a device: {e}",
                    info.name, info.backend
                ))
            })?;

        let fault: Fault = Arc::new(Mutex::new(None));
        let f = fault.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let err = match e {
                wgpu::Error::OutOfMemory { .. } => {
                    BackendError::OutOfMemory(format!("{e}; try a smaller batch or model"))
                }
                other => BackendError::Gpu(format!("{other}")),
            };
            record(&f, err);
        }));
        let f = fault.clone();
        device.set_device_lost_callback(move |reason, msg| {
            record(
                &f,
                BackendError::DeviceLost(format!(
                    "{reason:?}: {msg}. Reload the page (or restart the program) to get a new device."
                )),
            );
        });
        Ok(Context {
            adapter,
            device,
            queue,
            fault,
        })
    }

    /// Destroys the device and records why, as a lost device would be.
    pub fn lose(&self, why: &str) {
        record(&self.fault, BackendError::DeviceLost(why.to_string()));
        self.device.destroy();
    }

    pub fn fault(&self) -> Option<BackendError> {
        self.fault.lock().ok().and_then(|s| s.clone())
    }
}
