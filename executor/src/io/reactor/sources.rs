//! What the reactor can tell about its sources, for the snapshot (`snapshot/`): every
//! registered source, what readiness it remembers, and whose wakers are parked on it;
//! and, for `Debug`, how many there are.
//!
//! A child of `reactor.rs` so it can read the slots without widening their fields; the
//! loop never calls it, and it knows nothing of how the snapshot shows it.
//!
//! # Ground rules
//! - The slots are borrowed only while they are copied out. Naming an owner only reads
//!   a waker's pointers, and must not touch the reactor.

use std::fmt;
use std::task::Waker;

use super::{Known, Reactor, Side, Slot, token_name};
use crate::event::TokenName;

/// One registered source, its parked wakers named by the caller's `owner`.
pub(crate) struct SourceView<Owner> {
    pub(crate) token: TokenName,
    /// Readiness remembered (not drained) in each direction.
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    /// The owners of the wakers parked to read (or accept), and to write (or connect).
    pub(crate) readers: Vec<Owner>,
    pub(crate) writers: Vec<Owner>,
}

impl Reactor {
    /// Every registered source, each parked waker named by `owner`.
    pub(crate) fn sources<Owner>(&self, owner: impl Fn(&Waker) -> Owner) -> Vec<SourceView<Owner>> {
        let parked = |side: &Side| {
            let wakers = side.waiters.iter().filter_map(|(_, waker)| waker.as_ref());
            wakers.map(&owner).collect()
        };
        let slots = self.slots.borrow();
        let view = |slot: &Slot| SourceView {
            token: token_name(slot.token),
            readable: slot.read.known != Known::Drained,
            writable: slot.write.known != Known::Drained,
            readers: parked(&slot.read),
            writers: parked(&slot.write),
        };
        slots.iter().map(|(_, slot)| view(slot)).collect()
    }
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("sources", &self.slots.borrow().len())
            .finish_non_exhaustive()
    }
}
