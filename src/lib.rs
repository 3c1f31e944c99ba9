//! # glassbox: a see-through async runtime
//!
//! glassbox is a single-threaded async runtime written to be read: a task slab, a
//! ready queue, wakers, a hierarchical timer wheel and a mio reactor (crate
//! [`executor`]), and on top of them the patterns of Python asyncio's "Async
//! Programming Patterns" lesson (crate [`patterns`]). This facade re-exports both, as
//! `smol` does for its parts, so `glassbox::spawn`, `glassbox::Runtime`, … all work.
//!
//! ```
//! let mut rt = glassbox::Runtime::new().unwrap();
//! let out = rt.block_on(async { glassbox::spawn(async { 21 * 2 }).await.unwrap() });
//! assert_eq!(out, 42);
//! ```
#![deny(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unsafe_code
)]

pub use executor::*;
pub use patterns::*;
