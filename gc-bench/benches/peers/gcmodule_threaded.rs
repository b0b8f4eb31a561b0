//! gcmodule 0.3, `ThreadedCc` on a `ThreadedObjectSpace` (thread-safe; every access goes through
//! `borrow()`, which read-locks the space's collector lock; collection only when asked).

use std::sync::{Arc, Mutex, PoisonError};

use gc_bench::workloads::w5_churn::Multiref;
use gc_bench::workloads::{w6_threaded_churn as w6, w8_parallel_trees as w8, Outcome};
use gcmodule::{ThreadedCc, ThreadedObjectSpace, Trace, Tracer};

use super::shapes::{w6_timed, w8_trees};

pub struct Multi {
    id: u64,
    edges: Mutex<Vec<ThreadedCc<Multi>>>,
}

impl Trace for Multi {
    fn trace(&self, tracer: &mut Tracer) {
        self.edges.trace(tracer);
    }

    fn is_type_tracked() -> bool {
        true
    }
}

/// The W6 node on gcmodule `ThreadedCc`; the context is the shared object space.
pub struct GcmoduleThreaded;

impl Multiref for GcmoduleThreaded {
    type Handle = ThreadedCc<Multi>;
    type Ctx = Arc<ThreadedObjectSpace>;

    #[inline]
    fn alloc(space: &Arc<ThreadedObjectSpace>, id: u64) -> ThreadedCc<Multi> {
        space.create(Multi {
            id,
            edges: Mutex::new(Vec::new()),
        })
    }

    #[inline]
    fn id(node: &ThreadedCc<Multi>) -> u64 {
        node.borrow().id
    }

    #[inline]
    fn edit<R>(
        _: &Arc<ThreadedObjectSpace>,
        node: &ThreadedCc<Multi>,
        f: impl FnOnce(&mut Vec<ThreadedCc<Multi>>) -> R,
    ) -> R {
        let node = node.borrow();
        let mut edges = node.edges.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut edges)
    }
}

/// W6: the threaded phase is timed; the final collection runs after it.
pub fn w6(p: &w6::Params) -> w6::Timed {
    let space = Arc::new(ThreadedObjectSpace::default());
    w6_timed::<GcmoduleThreaded, _, _>(&space, p, |_| space.clone(), || space.collect_cycles())
}

enum Tree {
    Nested {
        left: ThreadedCc<Tree>,
        right: ThreadedCc<Tree>,
    },
    End,
}

impl Trace for Tree {
    fn trace(&self, tracer: &mut Tracer) {
        if let Tree::Nested { left, right } = self {
            left.trace(tracer);
            right.trace(tracer);
        }
    }

    fn is_type_tracked() -> bool {
        true
    }
}

impl Tree {
    fn build(space: &ThreadedObjectSpace, depth: usize) -> ThreadedCc<Tree> {
        if depth == 0 {
            space.create(Tree::End)
        } else {
            space.create(Tree::Nested {
                left: Tree::build(space, depth - 1),
                right: Tree::build(space, depth - 1),
            })
        }
    }

    fn check(node: &ThreadedCc<Tree>) -> u64 {
        match &*node.borrow() {
            Tree::Nested { left, right } => Tree::check(left) + Tree::check(right) + 1,
            Tree::End => 1,
        }
    }
}

/// W8: every thread allocates in one shared object space.
pub fn w8(p: &w8::Params) -> Outcome {
    let space = ThreadedObjectSpace::default();
    w8_trees(
        p,
        || &space,
        |space, depth| Tree::check(&Tree::build(space, depth)),
        || space.collect_cycles(),
    )
}
