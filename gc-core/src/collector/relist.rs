//! Phase 3, relist: with the marks made, the region goes back onto the lists and the rest of it
//! becomes the garbage, held by the collector.
//!
//! ```text
//!  region:   gen0 [a b c] gen1 [d e]          marked {a d e}          (collecting gen 1)
//!  judge:    b c → unreachable [b c]          flagged, +1 held, off the lists
//!  promote:  a d e → gen2 of their shard      gen bits and list position rewritten, in order
//! ```
//!
//! In a full collection the oldest list stays where it is: its survivors are not written to at
//! all (only their slots are read), and each hole its garbage leaves is filled with the list's
//! last survivor.
//!
//! The garbage is flagged for teardown at once (`tear`) — nothing can reach it once the
//! world restarts unless a finalizer or weak callback of it is to run; then [`keep_intact`]
//! takes the flag off again and numbers the set for the resurrection check.

use super::region::{prefetch, Region, PREFETCH};
use crate::generation::Object;
use crate::header::flag;
use crate::heap::HeapInner;
use crate::sync::Ordering;

/// What the unreachable objects need after the scan.
#[derive(Default)]
pub(crate) struct Seen {
    /// Some has weak callbacks registered.
    pub(crate) weak_callbacks: bool,
    /// Some has a finalizer that has not run.
    pub(crate) finalizers: bool,
}

/// Sorts the region after marking and gives its lists back: unreachable members are flagged
/// and held, into `unreachable` — flagged for teardown with `tear`; survivors of younger lists
/// go to list `dest` of their shard; survivors of a list already `dest` stay untouched, the
/// holes left by its garbage filled.
pub(crate) fn relist(
    heap: &HeapInner,
    region: &mut Region,
    dest: usize,
    tear: bool,
    unreachable: &mut Vec<Object>,
) -> Seen {
    let mut judge = Judge {
        judged: if tear {
            flag::TEARDOWN | flag::DROPPED
        } else {
            0
        },
        needs: 0,
        unreachable,
    };
    for s in 0..region.segments.len() {
        let (shard, gen, base) = {
            let segment = &region.segments[s];
            (segment.shard, segment.gen, segment.base)
        };
        let mut objects = core::mem::take(&mut region.segments[s].objects);
        let marked = |i: usize| region.is_marked(base + i);
        // SAFETY: the world is stopped. The segments of a shard come with the list that stays
        // in place first, so `dest` holds it (or the list not collected) before others append.
        let lists = unsafe { heap.shards[shard].lists() };
        if gen == dest {
            // Survivors in place are not touched: only their slots are read.
            let before = judge.unreachable.len();
            for (i, &object) in objects.iter().enumerate() {
                if !marked(i) {
                    judge.judge(object);
                }
            }
            if judge.unreachable.len() > before {
                fill_holes(&mut objects, marked);
            }
            lists[dest] = objects;
            continue;
        }
        let list = &mut lists[dest];
        for (i, &object) in objects.iter().enumerate() {
            if let Some(ahead) = objects.get(i + PREFETCH) {
                prefetch(ahead.0.as_ptr());
            }
            if !marked(i) {
                judge.judge(object);
                continue;
            }
            // The world is stopped: this thread alone writes flags.
            let header = object.header();
            let flags = flag::with_generation(header.flags(), dest);
            header.flags.store(flags, Ordering::Relaxed);
            header.index.store(list.len() as u32, Ordering::Relaxed);
            list.push(object);
        }
        objects.clear();
        lists[gen] = objects;
    }
    Seen {
        finalizers: judge.needs & flag::HAS_FINALIZER != 0,
        weak_callbacks: judge.needs & flag::HAS_WEAK_CALLBACKS != 0,
    }
}

// `Judge::judge` finds a finalizer not run yet by shifting `FINALIZED` onto `HAS_FINALIZER`.
const _: () = assert!(flag::FINALIZED == flag::HAS_FINALIZER << 1);

/// Judges unreachable members into the garbage.
struct Judge<'a> {
    /// Flags every unreachable member gets.
    judged: u32,
    /// `HAS_FINALIZER` if some member judged has a finalizer that has not run,
    /// `HAS_WEAK_CALLBACKS` if some has weak callbacks.
    needs: u32,
    unreachable: &'a mut Vec<Object>,
}

impl Judge<'_> {
    /// Flags an unreachable member, takes the collector's hold on it and adds it to the
    /// garbage. The world is stopped: this thread alone writes flags.
    #[inline]
    fn judge(&mut self, object: Object) {
        let header = object.header();
        let flags = header.flags();
        // `FINALIZED` sits one bit above `HAS_FINALIZER`: shifted down, it masks it out.
        let pending = flag::HAS_FINALIZER & !(flags >> 1);
        self.needs |= flags & (pending | flag::HAS_WEAK_CALLBACKS);
        let flags = (flags & !flag::LISTED) | flag::WEAK_CLEARED | self.judged;
        #[cfg(gc_seeded_bug = "weak_not_cleared")]
        let flags = flags & !flag::WEAK_CLEARED;
        header.flags.store(flags, Ordering::Relaxed);
        // The collector's hold. No other thread can reach an unreachable object's count
        // (nothing outside the region references it, and weak upgrades wait for the world).
        let strong = header.strong_count();
        header.strong.store(strong + 1, Ordering::Relaxed);
        self.unreachable.push(object);
    }
}

/// Makes the garbage the resurrection check's set, intact: the teardown flags off (if the scan
/// set them), flagged `IN_SET`, `index` its position in `unreachable`. For a garbage with
/// finalizers or weak callbacks to run first, or that is to be saved.
pub(crate) fn keep_intact(unreachable: &[Object]) {
    for (i, object) in unreachable.iter().enumerate() {
        let header = object.header();
        let flags = (header.flags() & !(flag::TEARDOWN | flag::DROPPED)) | flag::IN_SET;
        header.flags.store(flags, Ordering::Relaxed);
        header.index.store(i as u32, Ordering::Relaxed);
    }
}

/// Closes the holes of a list that stays in place (positions `i` where `survives(i)` is false)
/// by moving the last survivors into them.
fn fill_holes(list: &mut Vec<Object>, survives: impl Fn(usize) -> bool) {
    let mut end = list.len();
    let mut i = 0;
    // Positions below `i` hold survivors for good; positions from `end` on are done with.
    while i < end {
        if survives(i) {
            i += 1;
            continue;
        }
        while end > i + 1 && !survives(end - 1) {
            end -= 1;
        }
        if end == i + 1 {
            end = i;
            break;
        }
        let moved = list[end - 1];
        moved.header().index.store(i as u32, Ordering::Relaxed);
        list[i] = moved;
        end -= 1;
        i += 1;
    }
    list.truncate(end);
}
