//! The errors of a [`Queue`](super::Queue), named after asyncio's exceptions.
//!
//! # Ground rules
//! - An error of an operation that was handed an item gives the item back
//!   (`QueueShutDown<T>`, `PutNowaitError<T>`): a failed put never loses what it held.

use std::fmt;

#[cfg(doc)]
use super::Queue;

/// The error of [`Queue::put`] and [`Queue::get`]: the queue was shut down. A put
/// gets its item back in the field; a get's field is `()`.
///
/// asyncio equivalent: `asyncio.QueueShutDown` (Python 3.13).
/// tokio equivalent: `tokio::sync::mpsc::error::SendError` (which also carries the
/// value back).
///
/// ```
/// use patterns::{Queue, QueueShutDown};
///
/// let queue = Queue::new(0);
/// queue.shutdown(false);
/// let refused = executor::block_on(queue.put("letter"));
/// assert_eq!(refused, Err(QueueShutDown("letter")));
/// assert_eq!(executor::block_on(queue.get()), Err(QueueShutDown(())));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct QueueShutDown<T = ()>(pub T);

impl<T> QueueShutDown<T> {
    /// The item that was refused.
    ///
    /// asyncio equivalent: none (the item is simply not queued).
    /// tokio equivalent: `SendError`'s field `.0`.
    ///
    /// ```
    /// assert_eq!(patterns::QueueShutDown(5).into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueShutDown(..)")
    }
}

impl<T> fmt::Display for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is shut down")
    }
}

impl<T> std::error::Error for QueueShutDown<T> {}

/// The error of [`Queue::put_nowait`]. Either way the item comes back.
///
/// asyncio equivalent: `asyncio.QueueFull` / `asyncio.QueueShutDown`.
/// tokio equivalent: `tokio::sync::mpsc::error::TrySendError`.
///
/// ```
/// use patterns::{PutNowaitError, Queue};
///
/// let queue = Queue::new(1);
/// queue.put_nowait("first").unwrap();
/// let err = queue.put_nowait("second").unwrap_err();
/// assert!(matches!(err, PutNowaitError::Full(_)));
/// assert_eq!(err.into_inner(), "second");
/// ```
#[doc(alias = "QueueFull")]
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PutNowaitError<T> {
    /// The queue holds `maxsize` items (asyncio's `QueueFull`).
    Full(T),
    /// The queue was shut down (asyncio's `QueueShutDown`).
    ShutDown(T),
}

impl<T> PutNowaitError<T> {
    /// The item that was refused.
    ///
    /// asyncio equivalent: none (the item is simply not queued).
    /// tokio equivalent: `TrySendError::into_inner`.
    ///
    /// ```
    /// assert_eq!(patterns::PutNowaitError::Full('q').into_inner(), 'q');
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            PutNowaitError::Full(item) | PutNowaitError::ShutDown(item) => item,
        }
    }
}

impl<T> fmt::Debug for PutNowaitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutNowaitError::Full(_) => f.write_str("Full(..)"),
            PutNowaitError::ShutDown(_) => f.write_str("ShutDown(..)"),
        }
    }
}

impl<T> fmt::Display for PutNowaitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutNowaitError::Full(_) => f.write_str("queue is full"),
            PutNowaitError::ShutDown(_) => f.write_str("queue is shut down"),
        }
    }
}

impl<T> std::error::Error for PutNowaitError<T> {}

/// The error of [`Queue::get_nowait`].
///
/// asyncio equivalent: `asyncio.QueueEmpty` / `asyncio.QueueShutDown`.
/// tokio equivalent: `tokio::sync::mpsc::error::TryRecvError`.
///
/// ```
/// use patterns::{GetNowaitError, Queue};
///
/// let queue = Queue::<u8>::new(0);
/// assert_eq!(queue.get_nowait().unwrap_err(), GetNowaitError::Empty);
/// queue.shutdown(false);
/// assert_eq!(queue.get_nowait().unwrap_err(), GetNowaitError::ShutDown);
/// ```
#[doc(alias = "QueueEmpty")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetNowaitError {
    /// Nothing to get now (asyncio's `QueueEmpty`).
    Empty,
    /// Shut down and drained (asyncio's `QueueShutDown`).
    ShutDown,
}

impl fmt::Display for GetNowaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetNowaitError::Empty => f.write_str("queue is empty"),
            GetNowaitError::ShutDown => f.write_str("queue is shut down"),
        }
    }
}

impl std::error::Error for GetNowaitError {}

/// The error of [`Queue::task_done`] called more times than items entered the queue.
///
/// asyncio equivalent: `ValueError('task_done() called too many times')`.
/// tokio equivalent: none.
///
/// ```
/// let queue = patterns::Queue::<()>::new(0);
/// let err = queue.task_done().unwrap_err();
/// assert_eq!(err.to_string(), "task_done() called more times than items were put");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneError(());

impl TaskDoneError {
    pub(super) fn new() -> TaskDoneError {
        TaskDoneError(())
    }
}

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called more times than items were put")
    }
}

impl std::error::Error for TaskDoneError {}
