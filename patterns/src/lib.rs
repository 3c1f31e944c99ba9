//! # patterns: asyncio's async programming patterns, on glassbox
//!
//! Each file is one pattern of Python asyncio's "Async Programming Patterns" lesson,
//! with its asyncio and tokio equivalents in its docs.
#![deny(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unsafe_code
)]

mod blocking;
mod join_all;

pub use blocking::{
    BlockingError, BlockingHandle, BlockingPool, BlockingPoolBuilder, DEFAULT_BLOCKING_KEEP_ALIVE,
    DEFAULT_MAX_BLOCKING_THREADS, spawn_blocking,
};
pub use join_all::join_all;
