//! Carrying the current context into spawned tasks, blocking pools and threads.

use opentelemetry::Context;
#[cfg(feature = "tokio")]
use opentelemetry::context::FutureExt as _;

/// Wraps `f` so it runs in the current context, wherever it is called: for
/// thread pools (rayon's `spawn`, `scope`), callbacks and queues of closures.
pub fn bind<R>(f: impl FnOnce() -> R) -> impl FnOnce() -> R {
    let cx = Context::current();
    move || {
        let _attached = cx.attach();
        f()
    }
}

/// `std::thread::spawn` that carries the current context into the thread.
pub fn spawn_thread<F, R>(f: F) -> std::thread::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    std::thread::spawn(bind(f))
}

/// `tokio::spawn` that carries the current context into the task (feature `tokio`).
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(future.with_current_context())
}

/// `tokio::task::spawn_blocking` that carries the current context into the closure
/// (feature `tokio`).
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub fn spawn_blocking<F, R>(f: F) -> tokio::task::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    tokio::task::spawn_blocking(bind(f))
}
