//! Shared by the unit tests (the ones Miri runs over the unsafe paths).

use crate::{Config, Heap};

/// A small heap with automatic collection off and no worker pool: deterministic, and cheap
/// enough under Miri.
pub(crate) fn quiet_heap() -> Heap {
    let heap =
        Heap::with_config(Config::default().workers(1).shards(2)).expect("a valid configuration");
    heap.disable();
    heap
}
