//! The semaphore's errors.
//!
//! # Ground rules
//! - Only closing makes an acquire fail; `try_acquire` also fails when it would wait.

use std::fmt;

#[cfg(doc)]
use super::Semaphore;

/// The error of [`Semaphore::acquire`]: the semaphore was closed.
///
/// asyncio equivalent: none (a waiting task is cancelled instead).
/// tokio equivalent: `tokio::sync::AcquireError`.
///
/// ```
/// let sem = patterns::Semaphore::new(0);
/// sem.close();
/// let err = executor::block_on(sem.acquire()).unwrap_err();
/// assert_eq!(err.to_string(), "semaphore closed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquireError(pub(super) ());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// The error of [`Semaphore::try_acquire`].
///
/// asyncio equivalent: none.
/// tokio equivalent: `tokio::sync::TryAcquireError`.
///
/// ```
/// use patterns::{Semaphore, TryAcquireError};
/// let sem = Semaphore::new(0);
/// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
/// sem.close();
/// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits free, or others are waiting for them.
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}
