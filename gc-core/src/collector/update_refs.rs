//! Phase 1, `update_refs`: copy each object's strong count into its `gc_refs`.
//!
//! An object whose count is already zero is dying on a thread that waits for the world to
//! restart (DESIGN race 3): it gets `gc_refs = 1`, a root, so neither it nor anything it still
//! reaches is judged garbage under the feet of its free path. An immortal object is a root too.

use rayon::prelude::*;

use super::Object;
use crate::header::IMMORTAL;
use crate::heap::HeapInner;
use crate::sync::Ordering;

#[inline]
fn update(object: &Object) {
    let header = object.header();
    let strong = header.strong_count();
    let refs = if strong == 0 { 1 } else { strong.min(IMMORTAL) };
    header.index.store(refs, Ordering::Relaxed);
}

pub(crate) fn run(heap: &HeapInner, set: &[Object]) {
    match heap.parallel_pool(set.len()) {
        Some(pool) => pool.install(|| set.par_iter().for_each(update)),
        None => set.iter().for_each(update),
    }
}
