//! The two runtimes behind one set of names, so each chapter's scenario is written
//! once and run on both.
//!
//! A chapter writes its scenario inside `on_both_runtimes! { … }` and calls
//! `rt::spawn`, `rt::sleep`, `rt::Semaphore::new`, … The macro compiles it twice:
//! once with `rt` = [`glassbox`] (`shim/glassbox.rs`), once with `rt` = [`tokio`]
//! (`shim/tokio.rs`). Read the two files side by side: each name maps one idea to
//! each runtime's way of saying it.
//!
//! # Ground rules
//! - Both modules offer the same names with the same signatures; a scenario that
//!   compiles against one compiles against the other.
//! - The glassbox module re-exports glassbox's own API wherever it fits as is; it
//!   wraps only to give both runtimes one spelling (the TCP types).
//! - Where tokio has no equivalent of an asyncio idea (`Queue`, `retry`), the tokio
//!   module builds the closest one from tokio primitives and says so in its docs;
//!   the chapter's table names it as such.
//! - tokio runs as the current_thread runtime with a `LocalSet`, so scenarios can
//!   share state through `Rc`, as single-threaded glassbox code does.

pub mod glassbox;
pub mod tokio;

/// Compiles the scenario twice: `glassbox_side::…` and `tokio_side::…`.
macro_rules! on_both_runtimes {
    ($($scenario:tt)*) => {
        pub mod glassbox_side {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use crate::shim::glassbox as rt;
            $($scenario)*
        }
        pub mod tokio_side {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use crate::shim::tokio as rt;
            $($scenario)*
        }
    };
}
pub(crate) use on_both_runtimes;
