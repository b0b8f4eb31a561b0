//! dumpster 2.1, `unsync` (thread-local `Gc`, automatic collection by its default condition).

use std::cell::RefCell;

use dumpster::unsync::{collect, default_collect_condition, set_collect_condition, Gc};
use dumpster::Trace;
use gc_bench::workloads::w5_churn::{self, churn, Multiref};
use gc_bench::workloads::{
    below, mix, rng, tree_depths, w1_linked_lists as w1, w2_binary_trees as w2,
    w3_parent_trees as w3, w4_stress_graph as w4, w7_self_cycles as w7, Outcome,
};

#[derive(Trace)]
enum ListNode {
    Cons {
        next: Gc<ListNode>,
        previous: RefCell<Option<Gc<ListNode>>>,
    },
    Nil,
}

/// W1.
pub fn w1(p: &w1::Params) -> Outcome {
    let mut checksum = 0;
    for _ in 0..p.lists {
        let mut head = Gc::new(ListNode::Nil);
        for _ in 0..p.nodes {
            let cons = Gc::new(ListNode::Cons {
                next: head.clone(),
                previous: RefCell::new(None),
            });
            if let ListNode::Cons { previous, .. } = &*head {
                *previous.borrow_mut() = Some(cons.clone());
            }
            head = cons;
        }
        let mut len = 0;
        let mut cur = &head;
        while let ListNode::Cons { next, .. } = &**cur {
            len += 1;
            cur = next;
        }
        checksum = mix(checksum, len);
    }
    collect();
    Outcome {
        checksum,
        ops: p.objects(),
        ..Outcome::default()
    }
}

#[derive(Trace)]
enum Tree {
    Nested { left: Gc<Tree>, right: Gc<Tree> },
    End,
}

impl Tree {
    fn build(depth: usize) -> Gc<Tree> {
        if depth == 0 {
            Gc::new(Tree::End)
        } else {
            Gc::new(Tree::Nested {
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
pub fn w2(p: &w2::Params) -> Outcome {
    let mut checksum = 0;
    for (depth, iterations) in tree_depths(p.max_depth) {
        let mut check = 0;
        for _ in 0..iterations {
            check += Tree::build(depth).check();
        }
        checksum = mix(checksum, check);
    }
    collect();
    Outcome {
        checksum,
        ops: p.objects(),
        ..Outcome::default()
    }
}

#[derive(Trace)]
enum PTree {
    Root {
        left: Gc<PTree>,
        right: Gc<PTree>,
    },
    Nested {
        parent: RefCell<Option<Gc<PTree>>>,
        left: Gc<PTree>,
        right: Gc<PTree>,
    },
    End,
}

impl PTree {
    fn build(depth: usize) -> Gc<PTree> {
        if depth == 0 {
            return Gc::new(PTree::End);
        }
        let root = Gc::new(PTree::Root {
            left: PTree::nested(depth - 1),
            right: PTree::nested(depth - 1),
        });
        if let PTree::Root { left, right } = &*root {
            left.adopt(&root);
            right.adopt(&root);
        }
        root
    }

    fn nested(depth: usize) -> Gc<PTree> {
        if depth == 0 {
            return Gc::new(PTree::End);
        }
        let node = Gc::new(PTree::Nested {
            parent: RefCell::new(None),
            left: PTree::nested(depth - 1),
            right: PTree::nested(depth - 1),
        });
        if let PTree::Nested { left, right, .. } = &*node {
            left.adopt(&node);
            right.adopt(&node);
        }
        node
    }

    fn adopt(&self, parent: &Gc<PTree>) {
        if let PTree::Nested { parent: slot, .. } = self {
            *slot.borrow_mut() = Some(parent.clone());
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
pub fn w3(p: &w3::Params) -> Outcome {
    let mut checksum = 0;
    for (depth, iterations) in tree_depths(p.max_depth) {
        let mut check = 0;
        for _ in 0..iterations {
            check += PTree::build(depth).check();
        }
        checksum = mix(checksum, check);
    }
    collect();
    Outcome {
        checksum,
        ops: w3::objects(p),
        ..Outcome::default()
    }
}

#[derive(Trace)]
struct GraphNode {
    label: String,
    edges: Vec<Gc<RefCell<GraphNode>>>,
}

/// W4.
pub fn w4(p: &w4::Params) -> Outcome {
    let mut rng = rng(p.seed);
    let mut nodes: Vec<Gc<RefCell<GraphNode>>> = (0..=p.nodes)
        .map(|i| {
            Gc::new(RefCell::new(GraphNode {
                label: w4::label(i),
                edges: Vec::new(),
            }))
        })
        .collect();
    for _ in 0..=p.edges {
        let a = below(&mut rng, nodes.len());
        let b = below(&mut rng, nodes.len());
        let target = nodes[b].clone();
        nodes[a].borrow_mut().edges.push(target);
    }
    let mut checksum = 0;
    for keep in w4::truncations(p) {
        nodes.truncate(keep);
        collect();
        checksum = mix(checksum, nodes.len() as u64);
        checksum = mix(
            checksum,
            nodes.last().map_or(0, |n| n.borrow().edges.len()) as u64,
        );
    }
    drop(nodes);
    collect();
    Outcome {
        checksum,
        ops: p.objects(),
        ..Outcome::default()
    }
}

#[derive(Trace)]
pub struct Multi {
    id: u64,
    edges: RefCell<Vec<Gc<Multi>>>,
}

/// The W5 node on dumpster `unsync`.
pub struct DumpsterUnsync;

impl Multiref for DumpsterUnsync {
    type Handle = Gc<Multi>;
    type Ctx = ();

    #[inline]
    fn alloc(_: &(), id: u64) -> Gc<Multi> {
        Gc::new(Multi {
            id,
            edges: RefCell::new(Vec::new()),
        })
    }

    #[inline]
    fn id(node: &Gc<Multi>) -> u64 {
        node.id
    }

    #[inline]
    fn edit<R>(_: &(), node: &Gc<Multi>, f: impl FnOnce(&mut Vec<Gc<Multi>>) -> R) -> R {
        f(&mut node.edges.borrow_mut())
    }
}

/// W5 with dumpster's automatic collection on (its default condition) or off; a final
/// collection either way.
pub fn w5(p: &w5_churn::Params, automatic: bool) -> Outcome {
    if !automatic {
        set_collect_condition(|_| false);
    }
    let checksum = churn::<DumpsterUnsync>(&(), p);
    collect();
    set_collect_condition(default_collect_condition);
    Outcome {
        checksum,
        ops: p.ops as u64,
        ..Outcome::default()
    }
}

#[derive(Trace)]
struct SelfNode {
    id: u64,
    me: RefCell<Option<Gc<SelfNode>>>,
}

/// W7.
pub fn w7(p: &w7::Params) -> Outcome {
    let mut checksum = 0;
    for i in 0..p.iterations {
        let node = Gc::new(SelfNode {
            id: i as u64,
            me: RefCell::new(None),
        });
        *node.me.borrow_mut() = Some(node.clone());
        checksum = mix(
            checksum,
            node.me.borrow().as_ref().map_or(u64::MAX, |n| n.id),
        );
    }
    collect();
    Outcome {
        checksum,
        ops: p.iterations as u64,
        ..Outcome::default()
    }
}
