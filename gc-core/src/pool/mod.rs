//! The object pool: memory for small objects, CPython's `obmalloc` for threads.
//!
//! Objects of at most [`MAX_BLOCK`] bytes (aligned to at most 16) come from 64 KiB pages of
//! one size class each (`page`), sixteen to a 1 MiB arena (`arena`). Every page belongs to one
//! thread, which takes and gives back its blocks with no atomic operation: a pop or a push on
//! the page's list. Another thread
//! gives a block back by pushing it on the page's remote stack with one compare-and-swap; the
//! owner takes that stack whole the next time it runs out of blocks. A garbage cycle torn down
//! on the thread that built it is thus given back at the cost of a list push per object, where
//! the system allocator spends a hundred or more instructions and an atomic operation.
//!
//! ```text
//!  thread A (owner)                 page (class 64 B)                 thread B
//!  ───────────────                 ─────────────────                 ────────
//!  allocate ── pop ──────────────▶ free ──▶ [b] ──▶ [b]
//!  give back ─ push ─────────────▶ free
//!  out of blocks: take remote ◀─── remote ◀── [b] ◀── [b] ◀── CAS ── give back
//!                                     │ first block on an empty stack:
//!  registry: pages waiting ◀──────────┘ B also files the page under A's token
//! ```
//!
//! # Protocol
//!
//! - A page's `used` counts its blocks given out and not back with the owner. While `used` is
//!   above zero some block is out, so the page stays allocated; a thread giving a block back
//!   touches the page only until its push succeeds.
//! - A push onto an empty remote stack happens with the registry locked, which also files the
//!   page under its owner's token (read under the lock: it changes only under the lock). The
//!   owner takes its filed pages and empties their stacks in its slow path; a stack that is
//!   not empty has been filed already, so pushes onto it need no lock.
//! - The owner gives a page back to its arena when `used` falls to zero and it is not the page
//!   blocks come from now: no block is out, so no other thread can reach it.
//! - A thread that exits collects its pages, frees the empty ones and leaves the others in the
//!   registry, owner 0, under the lock. A thread out of pages adopts one of them (under the
//!   lock) with a free block, or frees it if all its blocks came back.
//!
//! Under loom (pages of 1 KiB, arenas from the global allocator, the registry re-created for
//! every interleaving) the models of `gc-loom-tests` drive this protocol through `hooks`;
//! the collector's models take their objects from the system allocator (`alloc`). Miri's race
//! detector checks it too, in the tests below.

mod arena;
#[cfg(loom)]
pub mod hooks;
mod page;

use core::alloc::Layout;
use core::cell::{Cell, RefCell};
use core::ptr::NonNull;

use page::{Chain, Page, UNLISTED};

use crate::seeded;
use crate::sync::{AtomicUsize, Mutex, MutexGuard, Ordering};
use crate::world;

/// The largest block: larger objects come from the system allocator.
pub(crate) const MAX_BLOCK: usize = 512;

/// Block sizes step by this many bytes, which is also the largest alignment served.
const STEP: usize = 16;

/// Size classes: class `c` holds blocks of `(c + 1) * STEP` bytes.
const CLASSES: usize = MAX_BLOCK / STEP;

/// The size class serving `layout`, if the pool serves it.
#[inline]
fn class_of(layout: Layout) -> Option<usize> {
    (layout.size() <= MAX_BLOCK && layout.align() <= STEP)
        .then(|| layout.size().max(1).div_ceil(STEP) - 1)
}

/// A block for `layout` from the calling thread's pages; `None` if the pool does not serve the
/// layout, the thread is exiting, or memory ran out.
#[inline]
pub(crate) fn allocate(layout: Layout) -> Option<NonNull<u8>> {
    let class = class_of(layout)?;
    let current = FAST.try_with(|fast| fast.current[class].get()).ok()?;
    if let Some(page) = current {
        // SAFETY: a current page is this thread's.
        if let Some(block) = unsafe { Page::pop(page) } {
            return Some(block);
        }
    }
    LOCAL
        .try_with(|local| local.try_borrow_mut().ok()?.refill(class))
        .ok()
        .flatten()
}

/// Gives a block back.
///
/// # Safety
/// `block` came from [`allocate`] and is not used any more.
#[inline]
pub(crate) unsafe fn deallocate(block: NonNull<u8>) {
    // SAFETY: a block of the pool.
    let page = unsafe { Page::of(block) };
    // SAFETY: the page is alive while the block is out.
    let owner = unsafe { page.as_ref() }.owner();
    let mine = owner != 0 && owner == world::thread_token();
    // SAFETY: forwarded; the page is this thread's if `mine`.
    if !(mine && unsafe { give_back_mine(page, block) }) {
        // SAFETY: forwarded.
        unsafe { give_back_remote(page, Chain::one(block)) };
    }
}

/// Gives a block back to a page this thread owns; false if this thread's books are gone
/// (it is exiting), with nothing done.
///
/// # Safety
/// `block` came from [`allocate`], from `page`, owned by this thread, and is not used any more.
#[inline]
unsafe fn give_back_mine(page: NonNull<Page>, block: NonNull<u8>) -> bool {
    // SAFETY: alive while the block is out; this thread's.
    let this = unsafe { page.as_ref() };
    if this.stays_listed_after_push() {
        // SAFETY: this thread owns the page; the block is back from the caller. The page is
        // listed already and keeps a block out: no bookkeeping.
        unsafe { this.push(block) };
        return true;
    }
    let kept = LOCAL.try_with(|local| {
        let Ok(mut local) = local.try_borrow_mut() else {
            return false;
        };
        // SAFETY: as above.
        let empty = unsafe { this.push(block) };
        local.returned(page, empty);
        true
    });
    kept.unwrap_or(false)
}

/// Gives a chain of blocks back to a page this thread does not own.
///
/// # Safety
/// The chain's blocks came from [`allocate`], from `page`, and are not used any more.
unsafe fn give_back_remote(page: NonNull<Page>, chain: Chain) {
    // SAFETY: the page is alive while the blocks are out; this push only succeeds onto a stack
    // that is not empty, one filed with the owner already.
    if unsafe { Page::push_remote_if_filed(page, chain) } {
        return;
    }
    let mut registry = registry();
    // SAFETY: alive as above; the owner is read under the lock, where it changes.
    let owner = unsafe { page.as_ref() }.owner();
    // SAFETY: alive as above; the page is not touched after the push.
    let first = unsafe { Page::push_remote(page, chain) };
    if first && owner != 0 && !seeded::FIRST_PUSH_UNFILED {
        registry.file(owner, page);
    }
}

/// Blocks given back one after another by one thread (a teardown's): those of pages another
/// thread owns are gathered into one chain per run of blocks of the same page and pushed with
/// one compare-and-swap, rather than one each.
pub(crate) struct Batch {
    /// The page of the chain being gathered, and the chain.
    gathered: Option<(NonNull<Page>, Chain)>,
    /// This thread's token (`world::thread_token`), read once.
    token: usize,
}

impl Batch {
    pub(crate) fn new() -> Batch {
        Batch {
            gathered: None,
            token: world::thread_token(),
        }
    }

    /// Gives a block back.
    ///
    /// # Safety
    /// As for [`deallocate`].
    #[inline]
    pub(crate) unsafe fn give_back(&mut self, block: NonNull<u8>) {
        // SAFETY: a block of the pool.
        let page = unsafe { Page::of(block) };
        match self.gathered {
            Some((gathering, chain)) if gathering == page => {
                // SAFETY: the block is free and ours; the chain's blocks are ours.
                self.gathered = Some((page, unsafe { chain.with_front(block) }));
            }
            _ => {
                // SAFETY: the page is alive while the block is out.
                let owner = unsafe { page.as_ref() }.owner();
                // SAFETY: forwarded; the page is this thread's if the tokens match.
                if owner == self.token && unsafe { give_back_mine(page, block) } {
                    return;
                }
                self.flush();
                self.gathered = Some((page, Chain::one(block)));
            }
        }
    }

    /// Pushes the chain gathered so far.
    fn flush(&mut self) {
        if let Some((page, chain)) = self.gathered.take() {
            // SAFETY: the chain's blocks are from `page`, given back to the batch.
            unsafe { give_back_remote(page, chain) };
        }
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        self.flush();
    }
}

/// What threads share: the registry, and a count of the pages in it.
struct Shared {
    /// Pages with blocks waiting on their remote stacks, plus abandoned pages: when zero, a
    /// thread out of blocks does not lock the registry.
    pending: AtomicUsize,
    registry: Mutex<Registry>,
}

/// Pages filed for their owners, and abandoned pages.
struct Registry {
    /// Owner token and the pages filed for it (each has blocks on its remote stack).
    filed: Vec<(usize, Vec<PagePtr>)>,
    /// Pages whose owner exited while some of their blocks were out, by class.
    abandoned: [Vec<PagePtr>; CLASSES],
}

/// A page pointer kept in the registry.
struct PagePtr(NonNull<Page>);

// SAFETY: the registry hands a page only to its owner, or under the lock to the thread that
// adopts or frees an abandoned one.
unsafe impl Send for PagePtr {}

crate::sync::global! {
    fn shared() -> &'static Shared = Shared {
        pending: AtomicUsize::new(0),
        registry: Mutex::new(Registry::new()),
    };
}

fn registry() -> MutexGuard<'static, Registry> {
    shared().registry.lock()
}

impl Registry {
    const fn new() -> Registry {
        Registry {
            filed: Vec::new(),
            abandoned: [const { Vec::new() }; CLASSES],
        }
    }

    fn file(&mut self, owner: usize, page: NonNull<Page>) {
        shared().pending.fetch_add(1, Ordering::Relaxed);
        match self.filed.iter_mut().find(|(token, _)| *token == owner) {
            Some((_, pages)) => pages.push(PagePtr(page)),
            None => self.filed.push((owner, vec![PagePtr(page)])),
        }
    }

    fn take_filed(&mut self, owner: usize) -> Vec<PagePtr> {
        let Some(at) = self.filed.iter().position(|(token, _)| *token == owner) else {
            return Vec::new();
        };
        let (_, pages) = self.filed.swap_remove(at);
        shared().pending.fetch_sub(pages.len(), Ordering::Relaxed);
        pages
    }
}

/// A page for `class`, owned by `owner`, in memory from an arena.
fn new_page(block: usize, class: usize, owner: usize) -> Option<NonNull<Page>> {
    let memory = arena::take()?;
    // SAFETY: page memory that no thread refers to any more.
    Some(unsafe { Page::init(memory, block, class, owner) })
}

/// Gives the memory of a page none of whose blocks is out, and which no thread refers to any
/// more, back to its arena.
///
/// # Safety
/// As said: no block out, no reference left.
unsafe fn retire(page: NonNull<Page>) {
    // SAFETY: alive until given back just below.
    unsafe { page.as_ref() }.freed();
    // SAFETY: forwarded; the page's memory came from `arena::take`.
    unsafe { arena::give_back(page.cast()) };
}

/// Abandoned pages a thread looks at before making a new page.
const ADOPT_TRIES: usize = 4;

/// What the allocation fast path reads without borrowing [`Local`]: this thread's current
/// pages. (A page's owner is a thread's `world::thread_token`, 0 once the thread has exited.)
struct Fast {
    /// The page each class takes blocks from.
    current: [Cell<Option<NonNull<Page>>>; CLASSES],
}

/// One thread's pages.
struct Local {
    /// Per class, the pages with blocks to give, other than the current one.
    available: [Vec<NonNull<Page>>; CLASSES],
    /// Every page this thread owns.
    owned: Vec<NonNull<Page>>,
}

crate::sync::thread_local_facade! {
    static FAST: Fast = Fast {
        current: [const { Cell::new(None) }; CLASSES],
    };
    static LOCAL: RefCell<Local> = RefCell::new(Local::new());
}

/// The page class `class` takes blocks from on this thread.
fn current(class: usize) -> Option<NonNull<Page>> {
    FAST.try_with(|fast| fast.current[class].get())
        .ok()
        .flatten()
}

impl Local {
    /// A thread's books before it takes its first page.
    const fn new() -> Local {
        Local {
            available: [const { Vec::new() }; CLASSES],
            owned: Vec::new(),
        }
    }

    /// The slow path: blocks from filed pages, another page with blocks, an adopted page or
    /// a new one.
    #[cold]
    fn refill(&mut self, class: usize) -> Option<NonNull<u8>> {
        let token = world::thread_token();
        let pending = shared().pending.load(Ordering::Relaxed) != 0;
        let mut registry = pending.then(registry);
        if let Some(registry) = registry.as_mut() {
            for PagePtr(page) in registry.take_filed(token) {
                // SAFETY: a page filed for this thread is this thread's.
                let empty = unsafe { page.as_ref() }.collect();
                self.returned(page, empty);
            }
        }
        if let Some(page) = current(class) {
            // SAFETY: this thread owns its current pages.
            if let Some(block) = unsafe { Page::pop(page) } {
                return Some(block);
            }
        }
        let page = match self.available[class].pop() {
            Some(page) => {
                // SAFETY: owned by this thread.
                unsafe { page.as_ref() }.available_at.set(UNLISTED);
                page
            }
            None => match registry.as_mut().and_then(|r| self.adopt(r, class)) {
                Some(page) => page,
                None => {
                    let page = new_page((class + 1) * STEP, class, token)?;
                    self.own(page);
                    page
                }
            },
        };
        drop(registry);
        FAST.try_with(|fast| fast.current[class].set(Some(page)))
            .ok()?;
        // SAFETY: owned by this thread.
        unsafe { Page::pop(page) }
    }

    /// Takes over an abandoned page of `class` with a free block, freeing the empty ones
    /// looked at on the way.
    fn adopt(&mut self, registry: &mut Registry, class: usize) -> Option<NonNull<Page>> {
        let pages = &mut registry.abandoned[class];
        let mut at = pages.len();
        for _ in 0..ADOPT_TRIES {
            at = at.checked_sub(1)?;
            let page = pages[at].0;
            // SAFETY: abandoned pages are the registry's, and it is locked.
            let this = unsafe { page.as_ref() };
            let empty = this.collect();
            if empty || this.has_free() {
                pages.swap_remove(at);
                shared().pending.fetch_sub(1, Ordering::Relaxed);
            }
            if empty {
                // SAFETY: no block of it is out; it is off every list.
                unsafe { retire(page) };
            } else if this.has_free() {
                this.owner.store(world::thread_token(), Ordering::Relaxed);
                self.own(page);
                return Some(page);
            }
        }
        None
    }

    fn own(&mut self, page: NonNull<Page>) {
        // SAFETY: this thread owns the page.
        unsafe { page.as_ref() }
            .owned_at
            .set(self.owned.len() as u32);
        self.owned.push(page);
    }

    /// After blocks came back to `page`, an owned page: lists it as having blocks to give,
    /// or frees it if it is `empty` and not a current page.
    #[inline]
    fn returned(&mut self, page: NonNull<Page>, empty: bool) {
        // SAFETY: owned by this thread.
        let this = unsafe { page.as_ref() };
        let class = this.class as usize;
        if current(class) == Some(page) {
            return;
        }
        if empty {
            self.release(page);
        } else if this.available_at.get() == UNLISTED {
            this.available_at.set(self.available[class].len() as u32);
            self.available[class].push(page);
        }
    }

    /// Frees an owned page that is empty and not current.
    #[cold]
    fn release(&mut self, page: NonNull<Page>) {
        // SAFETY: owned by this thread.
        let this = unsafe { page.as_ref() };
        let at = this.available_at.get();
        if at != UNLISTED {
            remove_at(&mut self.available[this.class as usize], at, |p| {
                &p.available_at
            });
        }
        remove_at(&mut self.owned, this.owned_at.get(), |p| &p.owned_at);
        // SAFETY: empty: no block is out, so no other thread can reach it; off every list.
        unsafe { retire(page) };
    }
}

/// Removes the page at `at` from `list`, one of a thread's lists of its pages whose positions
/// the pages keep (`position`), updating the position of the page moved into its place.
fn remove_at(list: &mut Vec<NonNull<Page>>, at: u32, position: impl Fn(&Page) -> &Cell<u32>) {
    list.swap_remove(at as usize);
    if let Some(moved) = list.get(at as usize) {
        // SAFETY: the thread's own lists hold only its pages.
        position(unsafe { moved.as_ref() }).set(at);
    }
}

impl Drop for Local {
    /// The thread exits: empty pages are freed, the others abandoned to the registry.
    fn drop(&mut self) {
        if self.owned.is_empty() {
            return;
        }
        // The fast paths see no page of this thread's from now on: no current page, and no
        // page owned by its token once the loop below is done.
        let _ = FAST.try_with(|fast| {
            for current in &fast.current {
                current.set(None);
            }
        });
        let mut registry = registry();
        drop(registry.take_filed(world::thread_token()));
        for page in self.owned.drain(..) {
            // SAFETY: owned by this thread until abandoned below.
            let this = unsafe { page.as_ref() };
            if this.collect() || seeded::EXIT_FREES_BUSY_PAGE {
                // SAFETY: no block is out, so no other thread can reach it.
                unsafe { retire(page) };
            } else {
                this.available_at.set(UNLISTED);
                if !seeded::ABANDON_KEEPS_OWNER {
                    this.owner.store(0, Ordering::Relaxed);
                }
                shared().pending.fetch_add(1, Ordering::Relaxed);
                registry.abandoned[this.class as usize].push(PagePtr(page));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use core::alloc::Layout;
    use core::ptr::NonNull;
    use std::collections::HashSet;

    use super::page::{Page, PAGE};
    use super::{allocate, class_of, deallocate, Batch, MAX_BLOCK};

    /// A pointer sent to another thread in a test.
    struct Sent(NonNull<u8>);
    // SAFETY: the blocks are plain memory owned by the test.
    unsafe impl Send for Sent {}

    fn layout(size: usize) -> Layout {
        Layout::from_size_align(size, 8).unwrap()
    }

    /// Blocks of `layout`, each written with its number.
    fn blocks(layout: Layout, n: usize) -> Vec<NonNull<u8>> {
        (0..n)
            .map(|i| {
                let block = allocate(layout).expect("the pool serves small layouts");
                // SAFETY: a fresh block of at least 8 bytes.
                unsafe { block.cast::<usize>().write(i) };
                block
            })
            .collect()
    }

    /// Blocks of `layout` allocated by a thread that has exited since, each written with its
    /// number: its pages are abandoned with blocks out.
    fn blocks_of_an_exited_thread(layout: Layout, n: usize) -> Vec<Sent> {
        std::thread::spawn(move || blocks(layout, n).into_iter().map(Sent).collect())
            .join()
            .unwrap()
    }

    fn give_back(blocks: impl IntoIterator<Item = NonNull<u8>>) {
        for block in blocks {
            // SAFETY: from `allocate`, not used any more.
            unsafe { deallocate(block) };
        }
    }

    #[test]
    fn sizes_map_to_classes_of_sixteen_bytes_and_large_or_overaligned_layouts_are_refused() {
        assert_eq!(class_of(layout(1)), Some(0));
        assert_eq!(class_of(layout(16)), Some(0));
        assert_eq!(class_of(layout(17)), Some(1));
        assert_eq!(class_of(layout(MAX_BLOCK)), Some(MAX_BLOCK / 16 - 1));
        assert_eq!(class_of(layout(MAX_BLOCK + 1)), None);
        assert_eq!(class_of(Layout::from_size_align(64, 32).unwrap()), None);
        assert!(allocate(layout(MAX_BLOCK + 1)).is_none());
    }

    #[test]
    fn blocks_are_distinct_aligned_inside_their_page_and_reused_once_given_back() {
        // More than a page of 64-byte blocks.
        let n = PAGE / 64 + 10;
        let taken = blocks(layout(64), n);
        let distinct: HashSet<_> = taken.iter().map(|b| b.as_ptr() as usize).collect();
        assert_eq!(distinct.len(), n, "no block given twice");
        for (i, block) in taken.iter().enumerate() {
            let address = block.as_ptr() as usize;
            assert_eq!(address % 16, 0);
            // SAFETY: a block of the pool.
            let page = unsafe { Page::of(*block) }.as_ptr() as usize;
            assert!(address >= page + 64 && address + 64 <= page + PAGE);
            // SAFETY: still ours, written by `blocks`.
            let written = unsafe { block.cast::<usize>().read() };
            assert_eq!(written, i, "blocks do not overlap");
        }
        // The full first page is freed whole; the blocks of the current page are taken again
        // before its never-used ones.
        let current: Vec<_> = taken[PAGE / 64 - 1..].to_vec();
        give_back(taken.iter().copied());
        let again = blocks(layout(64), current.len());
        let mut expected: Vec<_> = current.iter().map(|b| b.as_ptr() as usize).collect();
        let mut got: Vec<_> = again.iter().map(|b| b.as_ptr() as usize).collect();
        expected.sort_unstable();
        got.sort_unstable();
        assert_eq!(got, expected, "given-back blocks are taken first");
        give_back(again);
    }

    #[test]
    fn blocks_given_back_by_another_thread_return_to_the_owner() {
        let n = 300;
        let taken = blocks(layout(48), n);
        let addresses: HashSet<_> = taken.iter().map(|b| b.as_ptr() as usize).collect();
        let sent: Vec<Sent> = taken.into_iter().map(Sent).collect();
        std::thread::spawn(move || give_back(sent.into_iter().map(|s| s.0)))
            .join()
            .unwrap();
        // The owner takes the remote stack when its current page runs out: allocate until
        // the blocks given back come round again.
        let mut more = Vec::new();
        let mut seen = 0;
        while seen < n && more.len() < 4 * PAGE / 48 {
            let block = allocate(layout(48)).unwrap();
            if addresses.contains(&(block.as_ptr() as usize)) {
                seen += 1;
            }
            more.push(block);
        }
        assert_eq!(seen, n, "every block given back remotely is reused");
        give_back(more);
    }

    #[test]
    fn a_batch_gives_back_runs_of_blocks_of_other_threads_pages_and_its_own_at_once() {
        // This thread's own blocks first (its own current page, so it adopts nothing below).
        let mine = blocks(layout(32), 40);
        let mine_addresses: HashSet<_> = mine.iter().map(|b| b.as_ptr() as usize).collect();
        // Two pages' worth from another thread, kept out past its exit: its pages are
        // abandoned with blocks out.
        let n = PAGE / 32 + 50;
        let theirs = blocks_of_an_exited_thread(layout(32), n);
        // SAFETY: blocks of the pool.
        let pages: HashSet<usize> = theirs
            .iter()
            .map(|b| unsafe { Page::of(b.0) }.as_ptr() as usize)
            .collect();
        let abandoned = |page: &usize| {
            let registry = super::registry();
            registry.abandoned[class_of(layout(32)).unwrap()]
                .iter()
                .any(|p| p.0.as_ptr() as usize == *page)
        };
        assert!(
            pages.iter().all(abandoned),
            "pages with blocks out are abandoned"
        );
        let mut batch = Batch::new();
        let mut own = mine.iter();
        for (i, block) in theirs.iter().enumerate() {
            // SAFETY: from `allocate`, not used any more.
            unsafe { batch.give_back(block.0) };
            if i % 32 == 0 {
                if let Some(&own) = own.next() {
                    // SAFETY: as above.
                    unsafe { batch.give_back(own) };
                }
            }
        }
        assert!(
            own.next().is_none(),
            "every block of this thread's given back"
        );
        drop(batch);
        // This thread's own blocks went straight back to its page: taken first again.
        let again = blocks(layout(32), mine.len());
        for block in &again {
            assert!(mine_addresses.contains(&(block.as_ptr() as usize)));
        }
        give_back(again);
        // Every block of the other thread's pages came back through the chains: a thread out
        // of pages looks at them and frees them, as they are empty.
        std::thread::spawn(|| give_back(blocks(layout(32), 1)))
            .join()
            .unwrap();
        assert!(
            !pages.iter().any(abandoned),
            "empty abandoned pages are freed"
        );
    }

    #[test]
    fn pages_of_an_exited_thread_are_given_back_and_adopted() {
        let n = 200;
        let sent = blocks_of_an_exited_thread(layout(80), n);
        for (i, block) in sent.iter().enumerate() {
            // SAFETY: still out, written by `blocks` on the exited thread.
            assert_eq!(unsafe { block.0.cast::<usize>().read() }, i);
        }
        // SAFETY: a block of the pool.
        let abandoned = unsafe { Page::of(sent[0].0) }.as_ptr() as usize;
        let (first, rest) = sent.split_at(n / 2);
        // Half given back from here: the abandoned page takes them on its remote stack.
        give_back(first.iter().map(|s| s.0));
        let rest: Vec<Sent> = rest.iter().map(|s| Sent(s.0)).collect();
        std::thread::spawn(move || {
            // A new thread with no page of this class adopts the abandoned one, which has
            // blocks to give, and hands out one of the blocks given back.
            let block = allocate(layout(80)).unwrap();
            // SAFETY: a block of the pool.
            let page = unsafe { Page::of(block) }.as_ptr() as usize;
            assert_eq!(page, abandoned, "the page is adopted");
            give_back(rest.into_iter().map(|s| s.0));
            give_back([block]);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn threads_allocating_and_giving_back_each_others_blocks_keep_every_block_intact() {
        let rounds = if cfg!(miri) { 2 } else { 50 };
        let workers: Vec<_> = (0..3)
            .map(|t| {
                std::thread::spawn(move || {
                    let mut held: Vec<Sent> = Vec::new();
                    for round in 0..rounds {
                        let size = 16 + 16 * ((t + round) % 4);
                        let fresh = blocks(layout(size), 100);
                        for (i, block) in fresh.iter().enumerate() {
                            // SAFETY: ours, written by `blocks`.
                            assert_eq!(unsafe { block.cast::<usize>().read() }, i);
                        }
                        give_back(held.drain(..).map(|s| s.0));
                        held.extend(fresh.into_iter().map(Sent));
                    }
                    held
                })
            })
            .collect();
        let held: Vec<Vec<Sent>> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        // Every thread's last blocks given back here, after their owners exited.
        for blocks in held {
            give_back(blocks.into_iter().map(|s| s.0));
        }
    }
}
