//! The reactor's pane of a snapshot (`snapshot.rs`): every registered source, what
//! readiness it remembers, and whose wakers are parked on it.
//!
//! A child of `reactor.rs` so it can read the slots without widening their fields; the
//! loop never calls it.
//!
//! # Ground rules
//! - The slots are borrowed only while they are copied out. Naming an owner only reads
//!   a waker's pointers, and must not touch the reactor.

use std::task::Waker;

use super::{Known, Reactor, Side, Slot, token_name};
use crate::snapshot::{IoRegistration, Owner};

impl Reactor {
    /// Every registered source as `snapshot.rs` shows it, each parked waker named by
    /// `owner`.
    pub(crate) fn registrations(&self, owner: impl Fn(&Waker) -> Owner) -> Vec<IoRegistration> {
        let parked = |side: &Side| {
            let wakers = side.waiters.iter().filter_map(|(_, waker)| waker.as_ref());
            wakers.map(&owner).collect()
        };
        let slots = self.slots.borrow();
        let registration = |slot: &Slot| IoRegistration {
            token: token_name(slot.token).to_string(),
            readable: slot.read.known != Known::Drained,
            writable: slot.write.known != Known::Drained,
            readers: parked(&slot.read),
            writers: parked(&slot.write),
        };
        slots.iter().map(|(_, slot)| registration(slot)).collect()
    }
}
