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

mod join_all;

pub use join_all::join_all;
