//! Phase 6, resurrect: with the world stopped once more — only if a finalizer ran in phase 5 —
//! trial deletion over the garbage alone, its counts less the collector's hold on each:
//! whatever is referenced from outside it now, and everything that reaches, was resurrected
//! and goes back on the lists intact, not a field cleared. What remains is garbage for good.
//!
//! ```text
//!  garbage [b c d]   b's finalizer stored b in a live object: b referenced from outside
//!  check:            b marked, and c (b → c)      d unmarked
//!  after:            b c back on list g + 1, released      garbage [d]
//! ```

use std::time::Duration;

use super::phase2_subtract_refs as subtract_refs;
use super::phase3_mark as mark;
use super::phase4_relist::{hand_back, relist_objects};
use super::structures::edge_log::EdgeLog;
use super::structures::garbage::{self, Garbage};
use super::structures::region::Region;
use crate::candidates;
use crate::header::HeaderPtr;
use crate::heap::HeapInner;
use crate::seeded;
use crate::world;

/// Finds what the finalizers of the garbage resurrected, puts it back on the lists (generation
/// `gen + 1`, or the oldest) and returns the rest. `pause` grows by the stop. If the stop's
/// wait runs out, everything is kept: finalizers never run twice, so the next collection that
/// examines the garbage tears it down without this check (on a heap that scans candidates,
/// what is kept unjudged is recorded as candidates again, to be examined).
pub(crate) fn run(
    heap: &HeapInner,
    gen: usize,
    garbage: Garbage,
    timeout: Option<Duration>,
    pause: &mut Duration,
) -> Garbage {
    if !garbage.finalizers || seeded::NO_RESURRECTION_CHECK {
        return garbage;
    }
    let dest = (gen + 1).min(heap.generations() - 1);
    let Ok(stopped) = world::stop(timeout) else {
        hand_back(heap, garbage.objects.iter().copied(), dest);
        candidates::record_again(heap, &garbage.objects, false);
        garbage::release(&garbage.objects);
        return Garbage::none();
    };
    let (resurrected, objects, sure) = find_resurrected(heap, garbage.objects);
    relist_objects(heap, resurrected.iter().copied(), dest);
    if !sure {
        candidates::record_again(heap, &resurrected, true);
    }
    *pause += stopped.started().elapsed();
    drop(stopped);
    garbage::release(&resurrected);
    Garbage {
        objects,
        // The set was kept intact for this check (`IN_SET`): the teardown flags it itself.
        torn: false,
        ..garbage
    }
}

/// Trial deletion restricted to the unreachable set, minus the collector's own reference on
/// each: what is marked now was resurrected. The world is stopped. Returns the resurrected,
/// the garbage, and whether the verdicts are sure (else all is counted resurrected).
fn find_resurrected(
    heap: &HeapInner,
    unreachable: Vec<HeaderPtr>,
) -> (Vec<HeaderPtr>, Vec<HeaderPtr>, bool) {
    let region = Region::flagged(heap, unreachable, 1);
    let mut log = EdgeLog::new(region.len(), region.chunk_len());
    subtract_refs::sequential(heap, &region, &mut log);
    // An overcounted member (a wrong `Trace` the first scan did not catch) makes every verdict
    // doubtful: then everything is kept.
    let sure = mark::sequential(&region, &log).is_ok();
    let (mut resurrected, mut garbage) = (Vec::new(), Vec::new());
    for (p, object) in region.members() {
        if !sure || region.is_marked(p) {
            resurrected.push(object);
        } else {
            garbage.push(object);
        }
    }
    (resurrected, garbage, sure)
}
