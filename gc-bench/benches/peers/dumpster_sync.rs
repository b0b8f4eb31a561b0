//! dumpster 2.1, `sync` (thread-safe `Gc`, concurrent collector, automatic collection by its
//! default condition). Cells are `Mutex`es, as `sync::Gc` needs `Sync` contents.

use std::sync::Mutex;

use dumpster::sync::{collect, default_collect_condition, set_collect_condition, Gc};
use dumpster::Trace;
use gc_bench::workloads::w5_churn::{self, churn, Multiref};
use gc_bench::workloads::{
    below, mix, rng, tree_depths, w1_linked_lists as w1, w2_binary_trees as w2,
    w3_parent_trees as w3, w4_stress_graph as w4, w6_threaded_churn as w6, w7_self_cycles as w7,
    w8_parallel_trees as w8, Outcome,
};

#[derive(Trace)]
enum ListNode {
    Cons {
        next: Gc<ListNode>,
        previous: Mutex<Option<Gc<ListNode>>>,
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
                previous: Mutex::new(None),
            });
            if let ListNode::Cons { previous, .. } = &*head {
                *previous.lock().unwrap() = Some(cons.clone());
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
        parent: Mutex<Option<Gc<PTree>>>,
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
            parent: Mutex::new(None),
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
            *slot.lock().unwrap() = Some(parent.clone());
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
    edges: Vec<Gc<Mutex<GraphNode>>>,
}

/// W4.
pub fn w4(p: &w4::Params) -> Outcome {
    let mut rng = rng(p.seed);
    let mut nodes: Vec<Gc<Mutex<GraphNode>>> = (0..=p.nodes)
        .map(|i| {
            Gc::new(Mutex::new(GraphNode {
                label: w4::label(i),
                edges: Vec::new(),
            }))
        })
        .collect();
    for _ in 0..=p.edges {
        let a = below(&mut rng, nodes.len());
        let b = below(&mut rng, nodes.len());
        let target = nodes[b].clone();
        nodes[a].lock().unwrap().edges.push(target);
    }
    let mut checksum = 0;
    for keep in w4::truncations(p) {
        nodes.truncate(keep);
        collect();
        checksum = mix(checksum, nodes.len() as u64);
        checksum = mix(
            checksum,
            nodes.last().map_or(0, |n| n.lock().unwrap().edges.len()) as u64,
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
    edges: Mutex<Vec<Gc<Multi>>>,
}

/// The W5 node on dumpster `sync`.
pub struct DumpsterSync;

impl Multiref for DumpsterSync {
    type Handle = Gc<Multi>;
    type Ctx = ();

    #[inline]
    fn alloc(_: &(), id: u64) -> Gc<Multi> {
        Gc::new(Multi {
            id,
            edges: Mutex::new(Vec::new()),
        })
    }

    #[inline]
    fn id(node: &Gc<Multi>) -> u64 {
        node.id
    }

    #[inline]
    fn edit<R>(_: &(), node: &Gc<Multi>, f: impl FnOnce(&mut Vec<Gc<Multi>>) -> R) -> R {
        f(&mut node.edges.lock().unwrap())
    }
}

/// W5 with dumpster's automatic collection on (its default condition) or off; a final
/// collection either way.
pub fn w5(p: &w5_churn::Params, automatic: bool) -> Outcome {
    if !automatic {
        set_collect_condition(|_| false);
    }
    let checksum = churn::<DumpsterSync>(&(), p);
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
    me: Mutex<Option<Gc<SelfNode>>>,
}

/// W7.
pub fn w7(p: &w7::Params) -> Outcome {
    let mut checksum = 0;
    for i in 0..p.iterations {
        let node = Gc::new(SelfNode {
            id: i as u64,
            me: Mutex::new(None),
        });
        *node.me.lock().unwrap() = Some(node.clone());
        checksum = mix(
            checksum,
            node.me.lock().unwrap().as_ref().map_or(u64::MAX, |n| n.id),
        );
    }
    collect();
    Outcome {
        checksum,
        ops: p.iterations as u64,
        ..Outcome::default()
    }
}

/// W6: the threaded phase is timed; the final collection runs after it.
pub fn w6(p: &w6::Params) -> w6::Timed {
    let roots = w6::make_roots::<DumpsterSync>(&(), p);
    let (checksum, elapsed) = w6::run::<DumpsterSync, _>(&roots, p, |_| ());
    drop(roots);
    collect();
    w6::Timed {
        outcome: Outcome {
            checksum,
            ops: p.total_ops(),
            ..Outcome::default()
        },
        elapsed,
    }
}

/// W8.
pub fn w8(p: &w8::Params) -> Outcome {
    let results = w8::spread(
        p.max_depth,
        p.threads,
        || (),
        |_, depth, n| {
            let mut check = 0;
            for _ in 0..n {
                check += Tree::build(depth).check();
            }
            check
        },
    );
    collect();
    Outcome {
        checksum: w8::checksum(&results),
        ops: p.objects(),
        ..Outcome::default()
    }
}
