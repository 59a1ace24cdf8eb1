//! Asynchronous readback: a MAP_READ staging buffer and a future that owns
//! everything it needs ('static). Natively it drives the device with
//! `poll(Wait)`; on the web it waits for the map callback to wake it.

use super::context::Fault;
use crate::backend::BackendError;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll, Waker};

#[derive(Default)]
struct MapSlot {
    done: Option<Result<(), wgpu::BufferAsyncError>>,
    waker: Option<Waker>,
}

pub struct ReadFuture {
    state: ReadState,
}

enum ReadState {
    Ready(Option<Result<Vec<f32>, BackendError>>),
    Pending {
        device: wgpu::Device,
        staging: wgpu::Buffer,
        slot: Arc<Mutex<MapSlot>>,
        fault: Fault,
    },
}

impl ReadFuture {
    pub fn ready(result: Result<Vec<f32>, BackendError>) -> Self {
        ReadFuture {
            state: ReadState::Ready(Some(result)),
        }
    }

    /// `staging` already has a copy submitted into it; this maps it.
    pub fn start(device: wgpu::Device, staging: wgpu::Buffer, fault: Fault) -> Self {
        let slot = Arc::new(Mutex::new(MapSlot::default()));
        let s = slot.clone();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            let mut s = s.lock().unwrap();
            s.done = Some(r);
            if let Some(w) = s.waker.take() {
                w.wake();
            }
        });
        ReadFuture {
            state: ReadState::Pending {
                device,
                staging,
                slot,
                fault,
            },
        }
    }
}

fn fault_of(fault: &Fault) -> Option<BackendError> {
    fault.lock().ok().and_then(|s| s.clone())
}

impl Future for ReadFuture {
    type Output = Result<Vec<f32>, BackendError>;

    // Natively the loop polls the device until the map callback has run; in
    // the browser the callback arrives between polls, so the body always returns.
    #[cfg_attr(target_arch = "wasm32", allow(clippy::never_loop))]
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let (device, staging, slot, fault) = match &this.state {
            ReadState::Ready(r) => {
                return Poll::Ready(r.clone().unwrap_or_else(|| {
                    Err(BackendError::Gpu(
                        "a read future was polled after it completed".into(),
                    ))
                }))
            }
            ReadState::Pending {
                device,
                staging,
                slot,
                fault,
            } => (device, staging, slot, fault),
        };
        loop {
            let done = {
                let mut s = slot.lock().unwrap();
                match s.done.take() {
                    Some(d) => Some(d),
                    None => {
                        s.waker = Some(cx.waker().clone());
                        None
                    }
                }
            };
            if let Some(done) = done {
                let result = match (done, fault_of(fault)) {
                    (_, Some(err)) => Err(err),
                    (Err(e), None) => Err(BackendError::Gpu(format!(
                        "mapping the readback buffer failed: {e}"
                    ))),
                    (Ok(()), None) => match staging.get_mapped_range(..) {
                        Ok(view) => {
                            let data: Vec<f32> = bytemuck::cast_slice(&view).to_vec();
                            drop(view);
                            staging.unmap();
                            Ok(data)
                        }
                        Err(e) => Err(BackendError::Gpu(format!(
                            "reading the mapped buffer failed: {e}"
                        ))),
                    },
                };
                staging.destroy();
                this.state = ReadState::Ready(None);
                return Poll::Ready(result);
            }
            if let Some(err) = fault_of(fault) {
                this.state = ReadState::Ready(None);
                return Poll::Ready(Err(err));
            }
            #[cfg(not(target_arch = "wasm32"))]
            {
                if let Err(e) = device.poll(wgpu::PollType::wait_indefinitely()) {
                    let err = fault_of(fault).unwrap_or_else(|| {
                        BackendError::Gpu(format!("waiting for the GPU failed: {e}"))
                    });
                    this.state = ReadState::Ready(None);
                    return Poll::Ready(Err(err));
                }
                continue;
            }
            #[cfg(target_arch = "wasm32")]
            {
                let _ = device;
                return Poll::Pending;
            }
        }
    }
}
