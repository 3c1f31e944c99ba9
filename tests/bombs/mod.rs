//! Values whose destructors panic, for the tests of containment: a [`Bomb`] payload
//! (its destructor panics with another `Bomb`, for ever), a [`Grenade`] (a value that
//! panics with a `Bomb` when dropped) and a [`BombingWaker`] (its `wake` does).
//!
//! Shared by path (`#[path = ...] mod bombs;`) with the patterns' test files, which are
//! another crate, as `hang_guard` is.
#![allow(dead_code)]

use std::sync::Arc;

/// A panic payload whose destructor panics with another one: dropped outside a
/// `catch_unwind`, it unwinds again.
pub struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        std::panic::panic_any(Bomb);
    }
}

/// A value whose destructor panics with a [`Bomb`].
pub struct Grenade;

impl Drop for Grenade {
    fn drop(&mut self) {
        std::panic::panic_any(Bomb);
    }
}

/// A waker whose `wake` panics with a [`Bomb`].
pub struct BombingWaker;

impl std::task::Wake for BombingWaker {
    fn wake(self: Arc<Self>) {
        std::panic::panic_any(Bomb);
    }
}
