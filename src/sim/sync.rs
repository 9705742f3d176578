//! Locking shared simulator state without letting one panicking handler wedge the server.
//!
//! Must not know: what is behind the lock.

use std::sync::{Mutex, MutexGuard};

/// Locks a mutex, recovering from poisoning (a panicking handler must not wedge the server).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
