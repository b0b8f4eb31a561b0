//! `find_backref_chain`: the shortest chain of references from a root to an object — the answer
//! to "what keeps this alive?".

use std::collections::{HashMap, VecDeque};

use super::index::HeapIndex;
use crate::handle::GcAny;
use crate::heap::Heap;

/// An object [`find_backref_chain`] asks its predicate about.
#[derive(Debug)]
pub struct Candidate<'a> {
    /// The object.
    pub object: &'a GcAny,
    /// Strong references to it from outside the heap's tracked objects: local variables,
    /// globals, handles in untraced fields (`#[gc(skip)]`, `Arc`), [`Heap::garbage`].
    pub outside_refs: usize,
}

/// The usual root predicate: the object is held from outside the heap's objects.
pub fn held_from_outside(candidate: &Candidate<'_>) -> bool {
    candidate.outside_refs > 0
}

/// The shortest chain of references `[root, ..., target]` whose first object satisfies
/// `is_root`, searching the target's referrers at most `max_depth` references back
/// (objgraph's `find_backref_chain`); `None` if there is none that close.
///
/// The target itself is not asked (the handle you pass is an outside reference of its own),
/// so a chain has at least two objects. With [`held_from_outside`] the first object of the
/// chain is what a local variable, a global or an untraced field holds.
pub fn find_backref_chain(
    heap: &Heap,
    target: &GcAny,
    is_root: impl Fn(&Candidate<'_>) -> bool,
    max_depth: usize,
) -> Option<Vec<GcAny>> {
    let index = HeapIndex::capture(heap);
    // Each reached object's next step towards the target.
    let mut towards: HashMap<usize, usize> = HashMap::new();
    towards.insert(target.id(), target.id());
    let mut queue = VecDeque::from([(target.id(), 0)]);
    while let Some((id, depth)) = queue.pop_front() {
        if depth == max_depth {
            continue;
        }
        for referrer in index.referrers(id) {
            let rid = referrer.id();
            if towards.contains_key(&rid) {
                continue;
            }
            towards.insert(rid, id);
            let candidate = Candidate {
                object: referrer,
                outside_refs: index.outside_refs(rid),
            };
            if is_root(&candidate) {
                let mut chain = vec![referrer.clone()];
                let mut at = id;
                while at != target.id() {
                    chain.push(index.get(at)?.clone());
                    at = towards[&at];
                }
                chain.push(target.clone());
                return Some(chain);
            }
            queue.push_back((rid, depth + 1));
        }
    }
    None
}
