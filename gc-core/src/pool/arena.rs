//! Where pages come from: arenas of 1 MiB, sixteen pages each, aligned to their size.
//!
//! ```text
//!  arena (1 MiB, aligned to 1 MiB)
//!  +--------+--------+--------+-- ... --+--------+
//!  | page 0 | page 1 | page 2 |         | page 15|      free: a bit per page not in use
//!  +--------+--------+--------+-- ... --+--------+
//! ```
//!
//! A page is one sixteenth of an arena, so the system allocator sees one large allocation per
//! sixteen pages: asking it for each 64 KiB page aligned to its size would leave, around every
//! one, remainders whose headers it writes — measured, 10 % more resident memory than the same
//! objects from the system allocator directly. A page no thread uses any more goes back to its
//! arena, which is freed once all its pages have been back for [`KEEP`]: a program that frees
//! a large structure and builds another reuses the memory rather than having it unmapped and
//! mapped again. The arenas' books are behind one lock, taken once per page (some thousand
//! objects), never per object.

use core::ptr::NonNull;
use std::collections::BTreeMap;
use std::time::Duration;

use super::page::PAGE;
use crate::sync::{Instant, Mutex};

/// Pages per arena.
const PAGES: usize = 16;

/// Bytes in an arena, and its alignment.
const ARENA: usize = PAGES * PAGE;

/// Every page of an arena free (`Arena::free`).
const ALL_FREE: u16 = u16::MAX;

/// How long an arena whose pages are all free is kept before its memory goes back.
const KEEP: Duration = Duration::from_secs(1);

/// The books of one arena.
struct Arena {
    /// The arena's memory.
    base: NonNull<u8>,
    /// A bit per page: set if the page is not in use.
    free: u16,
    /// When a page last came back.
    freed_at: Instant,
}

// SAFETY: an arena is plain memory; its books are only touched under the lock.
unsafe impl Send for Arena {}

/// The arenas, by address (lowest first: pages are taken from the lowest arena with a free
/// one, so the higher ones empty and go back).
static ARENAS: Mutex<BTreeMap<usize, Arena>> = Mutex::new(BTreeMap::new());

const _: () = assert!(PAGES == u16::BITS as usize);

fn layout() -> core::alloc::Layout {
    core::alloc::Layout::from_size_align(ARENA, ARENA).expect("a valid arena layout")
}

/// Memory for a page, aligned to [`PAGE`]; `None` when memory runs out.
pub(crate) fn take() -> Option<NonNull<u8>> {
    let now = Instant::now();
    let mut arenas = ARENAS.lock();
    trim(&mut arenas, now);
    if let Some(arena) = arenas.values_mut().find(|arena| arena.free != 0) {
        let page = arena.free.trailing_zeros() as usize;
        arena.free &= !(1 << page);
        // SAFETY: page `page` lies inside the arena.
        return Some(unsafe { arena.base.add(page * PAGE) });
    }
    // SAFETY: `layout()` has a non-zero size.
    let base = NonNull::new(unsafe { std::alloc::alloc(layout()) })?;
    arenas.insert(
        base.as_ptr().addr(),
        Arena {
            base,
            free: ALL_FREE & !1,
            freed_at: now,
        },
    );
    Some(base)
}

/// Gives back the memory of a page.
///
/// # Safety
/// `page` came from [`take`], no block of it is out, and no thread refers to it any more.
pub(crate) unsafe fn give_back(page: NonNull<u8>) {
    let now = Instant::now();
    let address = page.as_ptr().addr();
    let mut arenas = ARENAS.lock();
    let arena = arenas
        .get_mut(&(address & !(ARENA - 1)))
        .expect("a page comes from an arena");
    arena.free |= 1 << ((address % ARENA) / PAGE);
    arena.freed_at = now;
    trim(&mut arenas, now);
}

/// Frees the arenas whose pages have all been free for [`KEEP`].
fn trim(arenas: &mut BTreeMap<usize, Arena>, now: Instant) {
    arenas.retain(|_, arena| {
        let done = arena.free == ALL_FREE && now.duration_since(arena.freed_at) >= KEEP;
        if done {
            // SAFETY: allocated with `layout()`; no page of it is in use.
            unsafe { std::alloc::dealloc(arena.base.as_ptr(), layout()) };
        }
        !done
    });
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use super::{give_back, take, trim, Arena, ALL_FREE, ARENA, ARENAS, KEEP, PAGE};
    use crate::sync::Instant;

    #[test]
    fn pages_are_distinct_aligned_sixteenths_of_arenas_and_come_back_free() {
        let pages: Vec<_> = (0..20).map(|_| take().expect("memory")).collect();
        let addresses: HashSet<_> = pages.iter().map(|p| p.as_ptr().addr()).collect();
        assert_eq!(addresses.len(), pages.len(), "no page given twice");
        for page in &pages {
            let address = page.as_ptr().addr();
            assert_eq!(address % PAGE, 0);
            let arenas = ARENAS.lock();
            let arena = &arenas[&(address & !(ARENA - 1))];
            let bit = 1 << ((address % ARENA) / PAGE);
            assert_eq!(arena.free & bit, 0, "a page taken is not free");
        }
        // Twenty pages need two arenas at least.
        let arenas: HashSet<_> = addresses.iter().map(|a| a & !(ARENA - 1)).collect();
        assert!(arenas.len() >= 2);
        for &page in &pages {
            // SAFETY: from `take`, unused.
            unsafe { give_back(page) };
        }
        for page in &pages {
            let address = page.as_ptr().addr();
            let arenas = ARENAS.lock();
            // The arena is kept for a while after its pages came back.
            let arena = &arenas[&(address & !(ARENA - 1))];
            assert_ne!(arena.free & 1 << ((address % ARENA) / PAGE), 0);
        }
    }

    #[test]
    fn an_arena_goes_back_only_once_all_its_pages_have_been_free_for_a_while() {
        // SAFETY: a non-zero size.
        let memory = unsafe { std::alloc::alloc(super::layout()) };
        let base = core::ptr::NonNull::new(memory).unwrap();
        let start = Instant::now();
        let mut arenas = BTreeMap::new();
        arenas.insert(
            base.as_ptr().addr(),
            Arena {
                base,
                free: ALL_FREE & !(1 << 3),
                freed_at: start,
            },
        );
        std::thread::sleep(KEEP);
        trim(&mut arenas, Instant::now());
        assert_eq!(arenas.len(), 1, "a page in use keeps its arena");
        arenas.values_mut().for_each(|arena| {
            arena.free = ALL_FREE;
            arena.freed_at = Instant::now();
        });
        trim(&mut arenas, Instant::now());
        assert_eq!(arenas.len(), 1, "freed just now: kept for reuse");
        std::thread::sleep(KEEP);
        // Frees the arena (Miri reports a leak if it does not).
        trim(&mut arenas, Instant::now());
        assert!(arenas.is_empty(), "free for long enough: given back");
    }
}
