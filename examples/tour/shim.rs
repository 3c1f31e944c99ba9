//! The two runtimes behind one set of names, so each chapter's scenario is written
//! once and run on both.
//!
//! A chapter writes its scenario inside `on_both_runtimes! { … }` and calls
//! `rt::spawn`, `rt::sleep`, … The macro compiles it twice: once with `rt` =
//! [`glassbox`] (this file's module of that name), once with `rt` = [`tokio`]. Where
//! tokio has no equivalent of an asyncio idea, the `tokio` module builds the closest
//! one from tokio primitives and says so.

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

/// glassbox, under the shared names.
pub mod glassbox {
    use std::future::Future;
    use std::time::{Duration, Instant};

    pub use glassbox::{spawn, yield_now};

    /// Runs `future` on a fresh glassbox runtime (stall reports off: the tour makes
    /// its own).
    pub fn block_on<F: Future>(future: F) -> F::Output {
        let mut rt = glassbox::Runtime::builder()
            .stall_threshold(None)
            .build()
            .expect("glassbox runtime");
        rt.block_on(future)
    }

    pub async fn sleep(duration: Duration) {
        glassbox::time::Timer::new(glassbox::time::now() + duration).await
    }

    pub fn now() -> Instant {
        glassbox::time::now()
    }
}

/// tokio's current_thread runtime, under the shared names. Tasks are spawned with
/// `spawn_local` on a `LocalSet`, because the scenarios share state through `Rc`, as
/// single-threaded glassbox code does.
pub mod tokio {
    use std::future::Future;
    use std::time::{Duration, Instant};

    pub use tokio::task::{spawn_local as spawn, yield_now};

    pub fn block_on<F: Future>(future: F) -> F::Output {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        tokio::task::LocalSet::new().block_on(&rt, future)
    }

    pub async fn sleep(duration: Duration) {
        tokio::time::sleep(duration).await
    }

    pub fn now() -> Instant {
        tokio::time::Instant::now().into_std()
    }
}
