//! Where pages come from: arenas of 1 MiB, sixteen pages each, aligned to a page.
//!
//! ```text
//!  arena (1 MiB, aligned to 64 KiB)
//!  +--------+--------+--------+-- ... --+--------+
//!  | page 0 | page 1 | page 2 |         | page 15|      free: a bit per page not in use
//!  +--------+--------+--------+-- ... --+--------+
//! ```
//!
//! An arena is mapped from the system directly (`mmap` on Unix; the global allocator elsewhere
//! and under Miri and loom), and unmapped when it goes: its memory leaves the process then.
//! Through the system allocator, glibc's, arenas freed and asked for again fragmented its heap
//! — an aligned request cannot reuse a hole of the same size — and pages asked for one by one
//! left remainders whose headers it wrote: the CPython comparison's peak resident memory was 39 %
//! above that of the same objects from glibc directly (165 MB against 119); with mapped arenas
//! it is level (114–130 MB against 125). A page no thread uses any more goes back to its arena,
//! which is unmapped once all its pages have been back for [`KEEP`]: a program that frees a
//! large structure and builds another reuses the memory rather than having it unmapped and
//! mapped again. The arenas' books are behind one lock, taken once per page (some thousand
//! objects), never per object.
//!
//! Under loom the books are new in every interleaving, and its clock does not advance: no arena
//! goes back before the interleaving ends, when the books free those whose pages all came back
//! and loom reports any other as leaked.

use core::ptr::NonNull;
use std::collections::BTreeMap;
use std::time::Duration;

#[cfg(loom)]
use loom::alloc::{alloc, dealloc};
#[cfg(all(not(loom), any(not(unix), miri)))]
use std::alloc::{alloc, dealloc};

use super::page::PAGE;
use crate::sync::{Instant, Mutex};

/// Pages per arena.
const PAGES: usize = 16;

/// Bytes in an arena.
const ARENA: usize = PAGES * PAGE;

/// Every page of an arena free (`Arena::free`).
const ALL_FREE: u16 = u16::MAX;

/// How long an arena whose pages are all free is kept before its memory goes back.
const KEEP: Duration = Duration::from_secs(1);

/// The books of one arena.
struct Arena {
    /// The arena's first page.
    base: NonNull<u8>,
    /// The memory as the system gave it, to give it back.
    mapping: Mapping,
    /// A bit per page: set if the page is not in use.
    free: u16,
    /// When a page last came back.
    freed_at: Instant,
}

// SAFETY: an arena is plain memory; its books are only touched under the lock.
unsafe impl Send for Arena {}

/// The arenas' books.
struct Books {
    /// The arenas, by the address of their first page (lowest first: pages are taken from the
    /// lowest arena with a free one, so the higher ones empty and go back).
    arenas: BTreeMap<usize, Arena>,
    /// Free pages over all arenas: with none, a page is taken from a new arena without looking
    /// through the others (a growing heap).
    free_pages: usize,
    /// When the arenas were last looked through for ones to give back: at most every
    /// [`TRIM_EVERY`], not at every page taken or given back.
    trimmed_at: Option<Instant>,
}

/// How often the arenas are looked through for ones to give back.
const TRIM_EVERY: Duration = Duration::from_millis(250);

crate::sync::global! {
    fn arenas() -> &'static Mutex<Books> = Mutex::new(Books::new());
}

/// Pages taken and not given back, over all arenas.
#[cfg(loom)]
pub(crate) fn pages_in_use() -> usize {
    let books = arenas().lock();
    books.arenas.len() * PAGES - books.free_pages
}

/// The end of an interleaving: the arenas whose pages all came back go.
#[cfg(loom)]
impl Drop for Books {
    fn drop(&mut self) {
        for arena in self.arenas.values().filter(|arena| arena.free == ALL_FREE) {
            // SAFETY: mapped by `map`; no page of it is in use, and its books go with it.
            unsafe { unmap(arena.mapping) };
        }
    }
}

impl Books {
    const fn new() -> Books {
        Books {
            arenas: BTreeMap::new(),
            free_pages: 0,
            trimmed_at: None,
        }
    }

    /// Gives back the arenas free for long enough, if they were not looked through lately.
    fn trim_if_due(&mut self, now: Instant) {
        if self
            .trimmed_at
            .is_some_and(|at| now.duration_since(at) < TRIM_EVERY)
        {
            return;
        }
        self.trimmed_at = Some(now);
        self.free_pages -= PAGES * trim(&mut self.arenas, now);
    }
}

const _: () = assert!(PAGES == u16::BITS as usize);

/// An arena's memory as the system gave it.
#[derive(Clone, Copy)]
struct Mapping {
    start: NonNull<u8>,
    len: usize,
}

/// Maps the memory of an arena: its first page, aligned to [`PAGE`], and the mapping.
#[cfg(all(unix, not(miri), not(loom)))]
fn map() -> Option<(NonNull<u8>, Mapping)> {
    // One page more than the arena, so that an aligned arena fits; the part outside it is never
    // touched, so it takes no memory.
    let len = ARENA + PAGE;
    // SAFETY: an anonymous private mapping at an address of the system's choosing.
    let start = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if start == libc::MAP_FAILED {
        return None;
    }
    let start = NonNull::new(start.cast::<u8>())?;
    let offset = start.as_ptr().align_offset(PAGE);
    // SAFETY: `offset` is below PAGE, so the arena lies inside the mapping.
    let base = unsafe { start.add(offset) };
    Some((base, Mapping { start, len }))
}

/// Unmaps an arena.
///
/// # Safety
/// `mapping` came from [`map`], and no page of it is in use.
#[cfg(all(unix, not(miri), not(loom)))]
unsafe fn unmap(mapping: Mapping) {
    // SAFETY: forwarded: the whole of a mapping of ours.
    let unmapped = unsafe { libc::munmap(mapping.start.as_ptr().cast(), mapping.len) };
    debug_assert_eq!(unmapped, 0, "munmap of an arena");
}

/// The layout of `len` bytes of arena memory from the global allocator.
#[cfg(not(all(unix, not(miri), not(loom))))]
fn layout(len: usize) -> core::alloc::Layout {
    core::alloc::Layout::from_size_align(len, PAGE).expect("a valid arena layout")
}

/// The memory of an arena from the global allocator (through loom's leak tracking under loom).
#[cfg(not(all(unix, not(miri), not(loom))))]
fn map() -> Option<(NonNull<u8>, Mapping)> {
    // SAFETY: a non-zero size.
    let start = NonNull::new(unsafe { alloc(layout(ARENA)) })?;
    Some((start, Mapping { start, len: ARENA }))
}

/// Frees an arena.
///
/// # Safety
/// `mapping` came from [`map`], and no page of it is in use.
#[cfg(not(all(unix, not(miri), not(loom))))]
unsafe fn unmap(mapping: Mapping) {
    // SAFETY: forwarded; allocated with this layout.
    unsafe { dealloc(mapping.start.as_ptr(), layout(mapping.len)) };
}

/// Memory for a page, aligned to [`PAGE`]; `None` when memory runs out.
pub(crate) fn take() -> Option<NonNull<u8>> {
    let now = Instant::now();
    let mut books = arenas().lock();
    books.trim_if_due(now);
    if books.free_pages > 0 {
        books.free_pages -= 1;
        let arena = books
            .arenas
            .values_mut()
            .find(|arena| arena.free != 0)
            .expect("a free page is in some arena");
        let page = arena.free.trailing_zeros() as usize;
        arena.free &= !(1 << page);
        // SAFETY: page `page` lies inside the arena.
        return Some(unsafe { arena.base.add(page * PAGE) });
    }
    let (base, mapping) = map()?;
    books.free_pages += PAGES - 1;
    books.arenas.insert(
        base.as_ptr().addr(),
        Arena {
            base,
            mapping,
            free: ALL_FREE & !1,
            freed_at: now,
        },
    );
    Some(base)
}

/// The arena holding the page at `address`.
fn arena_of(arenas: &mut BTreeMap<usize, Arena>, address: usize) -> &mut Arena {
    let (&base, arena) = arenas
        .range_mut(..=address)
        .next_back()
        .expect("a page comes from an arena");
    assert!(address < base + ARENA, "a page comes from an arena");
    arena
}

/// Gives back the memory of a page.
///
/// # Safety
/// `page` came from [`take`], no block of it is out, and no thread refers to it any more.
pub(crate) unsafe fn give_back(page: NonNull<u8>) {
    let now = Instant::now();
    let address = page.as_ptr().addr();
    let mut books = arenas().lock();
    let arena = arena_of(&mut books.arenas, address);
    arena.free |= 1 << ((address - arena.base.as_ptr().addr()) / PAGE);
    arena.freed_at = now;
    books.free_pages += 1;
    books.trim_if_due(now);
}

/// Frees the arenas whose pages have all been free for [`KEEP`]; returns how many.
fn trim(arenas: &mut BTreeMap<usize, Arena>, now: Instant) -> usize {
    let before = arenas.len();
    arenas.retain(|_, arena| {
        let done = arena.free == ALL_FREE && now.duration_since(arena.freed_at) >= KEEP;
        if done {
            // SAFETY: mapped by `map`; no page of it is in use, and its books go with it.
            unsafe { unmap(arena.mapping) };
        }
        !done
    });
    before - arenas.len()
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use super::{arena_of, arenas, give_back, map, take, trim, Arena, ALL_FREE, KEEP, PAGE};
    use crate::sync::Instant;

    /// Whether the page at `address` is free in its arena's books.
    fn is_free(address: usize) -> bool {
        let mut books = arenas().lock();
        let arena = arena_of(&mut books.arenas, address);
        arena.free & 1 << ((address - arena.base.as_ptr().addr()) / PAGE) != 0
    }

    #[test]
    fn pages_are_distinct_aligned_sixteenths_of_arenas_and_come_back_free() {
        let pages: Vec<_> = (0..20).map(|_| take().expect("memory")).collect();
        let addresses: HashSet<_> = pages.iter().map(|p| p.as_ptr().addr()).collect();
        assert_eq!(addresses.len(), pages.len(), "no page given twice");
        for &address in &addresses {
            assert_eq!(address % PAGE, 0);
            assert!(!is_free(address), "a page taken is not free");
        }
        // Twenty pages need two arenas at least.
        let arenas: HashSet<_> = {
            let mut books = arenas().lock();
            addresses
                .iter()
                .map(|&a| arena_of(&mut books.arenas, a).base.as_ptr().addr())
                .collect()
        };
        assert!(arenas.len() >= 2);
        for &page in &pages {
            // SAFETY: from `take`, unused.
            unsafe { give_back(page) };
        }
        // The arenas are kept for a while after their pages came back.
        assert!(addresses.iter().all(|&a| is_free(a)));
    }

    #[test]
    fn an_arena_goes_back_only_once_all_its_pages_have_been_free_for_a_while() {
        let (base, mapping) = map().expect("memory");
        let mut arenas = BTreeMap::new();
        arenas.insert(
            base.as_ptr().addr(),
            Arena {
                base,
                mapping,
                free: ALL_FREE & !(1 << 3),
                freed_at: Instant::now(),
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
        // Unmaps the arena (Miri reports a leak if it does not).
        trim(&mut arenas, Instant::now());
        assert!(arenas.is_empty(), "free for long enough: given back");
    }
}
