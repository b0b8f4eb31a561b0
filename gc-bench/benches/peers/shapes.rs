//! The workload shapes every peer shares: node types and workload bodies are written once here,
//! and each peer module instantiates them with its own pointer type, cell type and collection
//! call. Macros rather than generics, because each peer derives or implements its own `Trace`
//! on concrete node types; everything expands to the same code a hand-written peer would have.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

use gc_bench::workloads::w5_churn::Multiref;
use gc_bench::workloads::{w6_threaded_churn as w6, w8_parallel_trees as w8, Outcome};

/// Uniform access to a node's interior cell: `RefCell` borrows, `Mutex` locks.
pub trait Slot<T> {
    /// Shared access.
    fn slot(&self) -> impl Deref<Target = T> + '_;
    /// Exclusive access.
    fn slot_mut(&self) -> impl DerefMut<Target = T> + '_;
}

impl<T> Slot<T> for RefCell<T> {
    #[inline]
    fn slot(&self) -> impl Deref<Target = T> + '_ {
        self.borrow()
    }

    #[inline]
    fn slot_mut(&self) -> impl DerefMut<Target = T> + '_ {
        self.borrow_mut()
    }
}

impl<T> Slot<T> for Mutex<T> {
    #[inline]
    fn slot(&self) -> impl Deref<Target = T> + '_ {
        self.lock().unwrap()
    }

    #[inline]
    fn slot_mut(&self) -> impl DerefMut<Target = T> + '_ {
        self.lock().unwrap()
    }
}

/// W6 on a [`Multiref`] peer: the threaded phase is timed; `collect` runs after it.
#[inline]
pub fn w6_timed<M, F, R>(
    ctx: &M::Ctx,
    p: &w6::Params,
    thread_ctx: F,
    collect: impl FnOnce() -> R,
) -> w6::Timed
where
    M: Multiref,
    M::Handle: Send,
    F: Fn(usize) -> M::Ctx + Sync,
{
    let roots = w6::make_roots::<M>(ctx, p);
    let (checksum, elapsed) = w6::run::<M, _>(&roots, p, thread_ctx);
    drop(roots);
    collect();
    w6::Timed {
        outcome: Outcome::new(checksum, p.total_ops()),
        elapsed,
    }
}

/// W8 on a peer: `tree(ctx, depth)` builds and checks one tree; `collect` runs at the end.
#[inline]
pub fn w8_trees<C, G, T, R>(p: &w8::Params, ctx: G, tree: T, collect: impl FnOnce() -> R) -> Outcome
where
    G: Fn() -> C + Sync,
    T: Fn(&C, usize) -> u64 + Sync,
{
    let results = w8::spread(p.max_depth, p.threads, ctx, |c, depth, n| {
        let mut check = 0;
        for _ in 0..n {
            check += tree(c, depth);
        }
        check
    });
    collect();
    Outcome::new(w8::checksum(&results), p.objects())
}

/// Hand-written `Trace` impls for the node types of [`peer_workloads!`], for peers without a
/// derive (`trace` visits every pointer field); `$extra` goes into every impl.
macro_rules! manual_trace {
    ($($extra:tt)*) => {
        impl Trace for ListNode {
            fn trace(&self, tracer: &mut Tracer) {
                if let ListNode::Cons { next, previous } = self {
                    next.trace(tracer);
                    previous.trace(tracer);
                }
            }
            $($extra)*
        }

        impl Trace for Tree {
            fn trace(&self, tracer: &mut Tracer) {
                if let Tree::Nested { left, right } = self {
                    left.trace(tracer);
                    right.trace(tracer);
                }
            }
            $($extra)*
        }

        impl Trace for PTree {
            fn trace(&self, tracer: &mut Tracer) {
                match self {
                    PTree::Root { left, right } => {
                        left.trace(tracer);
                        right.trace(tracer);
                    }
                    PTree::Nested {
                        parent,
                        left,
                        right,
                    } => {
                        parent.trace(tracer);
                        left.trace(tracer);
                        right.trace(tracer);
                    }
                    PTree::End => {}
                }
            }
            $($extra)*
        }

        impl Trace for GraphNode {
            fn trace(&self, tracer: &mut Tracer) {
                self.edges.trace(tracer);
            }
            $($extra)*
        }

        impl Trace for Multi {
            fn trace(&self, tracer: &mut Tracer) {
                self.edges.trace(tracer);
            }
            $($extra)*
        }

        impl Trace for SelfNode {
            fn trace(&self, tracer: &mut Tracer) {
                self.me.trace(tracer);
            }
            $($extra)*
        }
    };
}

/// The node types and W1–W4, W7 (plus the W5 [`Multiref`] node `$peer`) on one peer.
///
/// - `ptr`: the peer's pointer type (`Ptr::new` allocates);
/// - `cell`: the interior cell (`RefCell` or `Mutex`, through [`Slot`]);
/// - `collect`: the peer's collection call;
/// - `derive`: the derives on every node type (the peer's `Trace` derive, if any);
/// - `w1_link`: runs on each new W1 head after it is linked (peer-specific hints).
macro_rules! peer_workloads {
    (
        ptr: $Ptr:ident,
        cell: $Cell:ident,
        collect: $collect:path,
        derive: [$($derive:ident),*],
        peer: $Peer:ident,
        w1_link: |$head:pat_param| $link:block $(,)?
    ) => {
        use super::shapes::Slot as _;

        #[derive($($derive),*)]
        enum ListNode {
            Cons {
                next: $Ptr<ListNode>,
                previous: $Cell<Option<$Ptr<ListNode>>>,
            },
            Nil,
        }

        /// W1.
        pub fn w1(p: &gc_bench::workloads::w1_linked_lists::Params)
            -> gc_bench::workloads::Outcome {
            let mut checksum = 0;
            for _ in 0..p.lists {
                let mut head = $Ptr::new(ListNode::Nil);
                for _ in 0..p.nodes {
                    let cons = $Ptr::new(ListNode::Cons {
                        next: head.clone(),
                        previous: $Cell::new(None),
                    });
                    if let ListNode::Cons { previous, .. } = &*head {
                        *previous.slot_mut() = Some(cons.clone());
                    }
                    head = cons;
                    let $head = &head;
                    $link
                }
                let mut len = 0;
                let mut cur = &head;
                while let ListNode::Cons { next, .. } = &**cur {
                    len += 1;
                    cur = next;
                }
                checksum = gc_bench::workloads::mix(checksum, len);
            }
            $collect();
            gc_bench::workloads::Outcome::new(checksum, p.objects())
        }

        #[derive($($derive),*)]
        enum Tree {
            Nested { left: $Ptr<Tree>, right: $Ptr<Tree> },
            End,
        }

        impl Tree {
            fn build(depth: usize) -> $Ptr<Tree> {
                if depth == 0 {
                    $Ptr::new(Tree::End)
                } else {
                    $Ptr::new(Tree::Nested {
                        left: Tree::build(depth - 1),
                        right: Tree::build(depth - 1),
                    })
                }
            }

            fn check(&self) -> u64 {
                match self {
                    Tree::Nested { left, right } => left.check() + right.check() + 1,
                    Tree::End => 1,
                }
            }
        }

        /// W2.
        pub fn w2(p: &gc_bench::workloads::w2_binary_trees::Params)
            -> gc_bench::workloads::Outcome {
            let checksum = trees(p.max_depth, |depth| Tree::build(depth).check());
            $collect();
            gc_bench::workloads::Outcome::new(checksum, p.objects())
        }

        /// The binary-trees loop of W2/W3: `tree(depth)` builds and checks one tree.
        #[inline]
        fn trees(max_depth: usize, tree: impl Fn(usize) -> u64) -> u64 {
            let mut checksum = 0;
            for (depth, iterations) in gc_bench::workloads::tree_depths(max_depth) {
                let mut check = 0;
                for _ in 0..iterations {
                    check += tree(depth);
                }
                checksum = gc_bench::workloads::mix(checksum, check);
            }
            checksum
        }

        #[derive($($derive),*)]
        enum PTree {
            Root {
                left: $Ptr<PTree>,
                right: $Ptr<PTree>,
            },
            Nested {
                parent: $Cell<Option<$Ptr<PTree>>>,
                left: $Ptr<PTree>,
                right: $Ptr<PTree>,
            },
            End,
        }

        impl PTree {
            fn build(depth: usize) -> $Ptr<PTree> {
                if depth == 0 {
                    return $Ptr::new(PTree::End);
                }
                let root = $Ptr::new(PTree::Root {
                    left: PTree::nested(depth - 1),
                    right: PTree::nested(depth - 1),
                });
                if let PTree::Root { left, right } = &*root {
                    left.adopt(&root);
                    right.adopt(&root);
                }
                root
            }

            fn nested(depth: usize) -> $Ptr<PTree> {
                if depth == 0 {
                    return $Ptr::new(PTree::End);
                }
                let node = $Ptr::new(PTree::Nested {
                    parent: $Cell::new(None),
                    left: PTree::nested(depth - 1),
                    right: PTree::nested(depth - 1),
                });
                if let PTree::Nested { left, right, .. } = &*node {
                    left.adopt(&node);
                    right.adopt(&node);
                }
                node
            }

            fn adopt(&self, parent: &$Ptr<PTree>) {
                if let PTree::Nested { parent: slot, .. } = self {
                    *slot.slot_mut() = Some(parent.clone());
                }
            }

            fn check(&self) -> u64 {
                match self {
                    PTree::Root { left, right } | PTree::Nested { left, right, .. } => {
                        left.check() + right.check() + 1
                    }
                    PTree::End => 1,
                }
            }
        }

        /// W3.
        pub fn w3(p: &gc_bench::workloads::w3_parent_trees::Params)
            -> gc_bench::workloads::Outcome {
            let checksum = trees(p.max_depth, |depth| PTree::build(depth).check());
            $collect();
            gc_bench::workloads::Outcome::new(
                checksum,
                gc_bench::workloads::w3_parent_trees::objects(p),
            )
        }

        #[derive($($derive),*)]
        struct GraphNode {
            _label: String,
            edges: Vec<$Ptr<$Cell<GraphNode>>>,
        }

        /// W4 (`Ptr<Cell<node>>`, as rust-cc's own stress test).
        pub fn w4(p: &gc_bench::workloads::w4_stress_graph::Params)
            -> gc_bench::workloads::Outcome {
            use gc_bench::workloads::{below, mix, rng, w4_stress_graph as w4};
            let mut rng = rng(p.seed);
            let mut nodes: Vec<$Ptr<$Cell<GraphNode>>> = (0..=p.nodes)
                .map(|i| {
                    $Ptr::new($Cell::new(GraphNode {
                        _label: w4::label(i),
                        edges: Vec::new(),
                    }))
                })
                .collect();
            for _ in 0..=p.edges {
                let a = below(&mut rng, nodes.len());
                let b = below(&mut rng, nodes.len());
                let target = nodes[b].clone();
                nodes[a].slot_mut().edges.push(target);
            }
            let mut checksum = 0;
            for keep in w4::truncations(p) {
                nodes.truncate(keep);
                $collect();
                checksum = mix(checksum, nodes.len() as u64);
                checksum = mix(
                    checksum,
                    nodes.last().map_or(0, |n| n.slot().edges.len()) as u64,
                );
            }
            drop(nodes);
            $collect();
            gc_bench::workloads::Outcome::new(checksum, p.objects())
        }

        #[derive($($derive),*)]
        pub struct Multi {
            id: u64,
            edges: $Cell<Vec<$Ptr<Multi>>>,
        }

        /// The W5 node on this peer.
        pub struct $Peer;

        impl gc_bench::workloads::w5_churn::Multiref for $Peer {
            type Handle = $Ptr<Multi>;
            type Ctx = ();

            #[inline]
            fn alloc(_: &(), id: u64) -> $Ptr<Multi> {
                $Ptr::new(Multi {
                    id,
                    edges: $Cell::new(Vec::new()),
                })
            }

            #[inline]
            fn id(node: &$Ptr<Multi>) -> u64 {
                node.id
            }

            #[inline]
            fn edit<R>(_: &(), node: &$Ptr<Multi>, f: impl FnOnce(&mut Vec<$Ptr<Multi>>) -> R) -> R {
                f(&mut node.edges.slot_mut())
            }
        }

        /// W5 on this peer with `collect` at the end (between `churn` and the `Outcome`).
        #[inline]
        fn churn_then(p: &gc_bench::workloads::w5_churn::Params)
            -> gc_bench::workloads::Outcome {
            let checksum = gc_bench::workloads::w5_churn::churn::<$Peer>(&(), p);
            $collect();
            gc_bench::workloads::Outcome::new(checksum, p.ops as u64)
        }

        #[derive($($derive),*)]
        struct SelfNode {
            id: u64,
            me: $Cell<Option<$Ptr<SelfNode>>>,
        }

        /// W7 (garbage accumulates until the final collection unless the peer collects on its
        /// own).
        pub fn w7(p: &gc_bench::workloads::w7_self_cycles::Params)
            -> gc_bench::workloads::Outcome {
            let mut checksum = 0;
            for i in 0..p.iterations {
                let node = $Ptr::new(SelfNode {
                    id: i as u64,
                    me: $Cell::new(None),
                });
                *node.me.slot_mut() = Some(node.clone());
                checksum = gc_bench::workloads::mix(
                    checksum,
                    node.me.slot().as_ref().map_or(u64::MAX, |n| n.id),
                );
            }
            $collect();
            gc_bench::workloads::Outcome::new(checksum, p.iterations as u64)
        }
    };
}

/// W5 for the dumpster flavours: automatic collection by dumpster's default condition, or off
/// for the run (a condition that never fires); a final collection either way.
macro_rules! dumpster_w5 {
    () => {
        /// W5 with dumpster's automatic collection on (its default condition) or off; a final
        /// collection either way.
        pub fn w5(p: &gc_bench::workloads::w5_churn::Params, automatic: bool) -> Outcome {
            if !automatic {
                set_collect_condition(|_| false);
            }
            let outcome = churn_then(p);
            set_collect_condition(default_collect_condition);
            outcome
        }
    };
}
