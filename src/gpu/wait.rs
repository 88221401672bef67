//! Waiting for the GPU without blocking: futures resolved by wgpu's callbacks.
//!
//! On native backends a callback fires only while the device is polled, so each poll of a
//! [`Callback`] also polls the device once, without blocking, and asks to be polled again. On
//! WebGPU the browser fires callbacks itself and wakes the future. The `*_blocking` functions of
//! this crate instead wait in `Device::poll` and then resolve the future at once.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::error::{Error, Result};

/// How a GPU operation waits: by polling its future, or by blocking in `Device::poll`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Waiting {
    /// Never block (the `async fn`s).
    Async,
    /// Block the thread in `Device::poll` before each await (the `*_blocking` functions).
    Blocking,
}

impl Waiting {
    /// Waits for `callback`, which submission `index` triggers (blocking first in
    /// `Device::poll` until that submission is done when `self` is `Blocking`).
    pub(crate) async fn wait<T>(
        self,
        device: &wgpu::Device,
        index: wgpu::SubmissionIndex,
        callback: Callback<T>,
    ) -> Result<T> {
        if self == Waiting::Blocking {
            let until = wgpu::PollType::Wait { submission_index: Some(index), timeout: None };
            device.poll(until).map_err(|e| Error::Gpu(e.to_string()))?;
        }
        Ok(callback.await)
    }
}

/// The state a callback and its future share.
struct Shared<T> {
    value: Option<T>,
    waker: Option<Waker>,
}

/// A future for the value a wgpu callback delivers.
pub(crate) struct Callback<T> {
    shared: Arc<Mutex<Shared<T>>>,
    device: wgpu::Device,
}

/// A callback to hand to wgpu, and the future that resolves when it is called.
pub(crate) fn callback<T: Send + 'static>(device: &wgpu::Device) -> (impl FnOnce(T) + Send + 'static, Callback<T>) {
    let shared = Arc::new(Mutex::new(Shared { value: None, waker: None }));
    let sender = Arc::clone(&shared);
    let send = move |value: T| {
        let waker = {
            let mut state = sender.lock().unwrap_or_else(|e| e.into_inner());
            state.value = Some(value);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    };
    (send, Callback { shared, device: device.clone() })
}

impl<T> Callback<T> {
    fn take(&self, cx: &mut Context<'_>) -> Option<T> {
        let mut state = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        let value = state.value.take();
        if value.is_none() {
            state.waker = Some(cx.waker().clone());
        }
        value
    }
}

impl<T> Future for Callback<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        if let Some(value) = self.take(cx) {
            return Poll::Ready(value);
        }
        // Native: let wgpu run the callbacks of finished work, without blocking.
        let _ = self.device.poll(wgpu::PollType::Poll);
        if let Some(value) = self.take(cx) {
            return Poll::Ready(value);
        }
        // Native callbacks fire only while someone polls the device: come back. (On WebGPU the
        // browser calls the callback, which wakes this future.)
        if !cfg!(target_arch = "wasm32") {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}
