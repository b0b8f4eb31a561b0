//! Checks of the collector's invariants between phases, in debug builds only (CPython's
//! `validate_list`): a collection that broke one stops at the phase that broke it.
//!
//! - [`lists`]: every listed object's position, generation, shard and flags agree with the list
//!   holding it (before phase 1 and after phase 4);
//! - [`marks`]: after phase 3, the marked set is closed under the logged edges.

use super::structures::edge_log::EdgeLog;
use super::structures::region::Region;
use crate::header::flag;
use crate::heap::HeapInner;
use crate::sync::Ordering;

/// [`check_lists`] in debug builds.
pub(crate) fn lists(heap: &HeapInner) {
    if cfg!(debug_assertions) {
        check_lists(heap);
    }
}

/// Every object on every list of `heap`: its `index` is its position, its generation and shard
/// bits name the list, it is `LISTED` and in no collection's set. The world is stopped.
pub(crate) fn check_lists(heap: &HeapInner) {
    for (s, shard) in heap.shards().iter().enumerate() {
        // SAFETY: the world is stopped.
        let lists = unsafe { shard.lists() };
        for (g, list) in lists.iter().enumerate() {
            for (i, object) in list.iter().enumerate() {
                let header = object.header();
                let flags = header.flags();
                assert_eq!(
                    header.index.load(Ordering::Relaxed) as usize,
                    i,
                    "gc-core: list position of a {} in shard {s}, generation {g}",
                    header.type_name()
                );
                assert_eq!(flag::generation(flags), g, "gc-core: generation bits");
                assert_eq!(flag::shard(flags), s, "gc-core: shard bits");
                assert!(
                    flags & flag::LISTED != 0,
                    "gc-core: a listed object not LISTED"
                );
                assert!(
                    flags & (flag::IN_SET | flag::TEARDOWN) == 0,
                    "gc-core: a listed object flagged as garbage"
                );
            }
        }
    }
}

/// After marking: every member a marked member has an edge to is marked too.
pub(crate) fn marks(region: &Region, log: &EdgeLog) {
    if !cfg!(debug_assertions) {
        return;
    }
    for p in (0..region.len()).filter(|&p| region.is_marked(p)) {
        let (chunk, from, to) = log.span(p);
        for &q in log.entries(chunk, from, to) {
            if q != super::structures::edge_log::NONE {
                assert!(
                    region.is_marked(q as usize),
                    "gc-core: position {q} reachable from marked {p} but not marked"
                );
            }
        }
    }
}
