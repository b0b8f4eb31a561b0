//! bacon_rajan_cc 0.4 (`Cc`, thread-local; collection only when asked).

use std::cell::RefCell;

use bacon_rajan_cc::{collect_cycles, Cc, Trace, Tracer};
use gc_bench::workloads::w5_churn::{self, churn, Multiref};
use gc_bench::workloads::{
    below, mix, rng, tree_depths, w1_linked_lists as w1, w2_binary_trees as w2,
    w3_parent_trees as w3, w4_stress_graph as w4, w7_self_cycles as w7, Outcome,
};

enum ListNode {
    Cons {
        next: Cc<ListNode>,
        previous: RefCell<Option<Cc<ListNode>>>,
    },
    Nil,
}

impl Trace for ListNode {
    fn trace(&self, tracer: &mut Tracer) {
        if let ListNode::Cons { next, previous } = self {
            next.trace(tracer);
            previous.trace(tracer);
        }
    }
}

/// W1.
pub fn w1(p: &w1::Params) -> Outcome {
    let mut checksum = 0;
    for _ in 0..p.lists {
        let mut head = Cc::new(ListNode::Nil);
        for _ in 0..p.nodes {
            let cons = Cc::new(ListNode::Cons {
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
    collect_cycles();
    Outcome {
        checksum,
        ops: p.objects(),
        ..Outcome::default()
    }
}

enum Tree {
    Nested { left: Cc<Tree>, right: Cc<Tree> },
    End,
}

impl Trace for Tree {
    fn trace(&self, tracer: &mut Tracer) {
        if let Tree::Nested { left, right } = self {
            left.trace(tracer);
            right.trace(tracer);
        }
    }
}

impl Tree {
    fn build(depth: usize) -> Cc<Tree> {
        if depth == 0 {
            Cc::new(Tree::End)
        } else {
            Cc::new(Tree::Nested {
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
    collect_cycles();
    Outcome {
        checksum,
        ops: p.objects(),
        ..Outcome::default()
    }
}

enum PTree {
    Root {
        left: Cc<PTree>,
        right: Cc<PTree>,
    },
    Nested {
        parent: RefCell<Option<Cc<PTree>>>,
        left: Cc<PTree>,
        right: Cc<PTree>,
    },
    End,
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
}

impl PTree {
    fn build(depth: usize) -> Cc<PTree> {
        if depth == 0 {
            return Cc::new(PTree::End);
        }
        let root = Cc::new(PTree::Root {
            left: PTree::nested(depth - 1),
            right: PTree::nested(depth - 1),
        });
        if let PTree::Root { left, right } = &*root {
            left.adopt(&root);
            right.adopt(&root);
        }
        root
    }

    fn nested(depth: usize) -> Cc<PTree> {
        if depth == 0 {
            return Cc::new(PTree::End);
        }
        let node = Cc::new(PTree::Nested {
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

    fn adopt(&self, parent: &Cc<PTree>) {
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
    collect_cycles();
    Outcome {
        checksum,
        ops: w3::objects(p),
        ..Outcome::default()
    }
}

struct GraphNode {
    _label: String,
    edges: Vec<Cc<RefCell<GraphNode>>>,
}

impl Trace for GraphNode {
    fn trace(&self, tracer: &mut Tracer) {
        self.edges.trace(tracer);
    }
}

/// W4.
pub fn w4(p: &w4::Params) -> Outcome {
    let mut rng = rng(p.seed);
    let mut nodes: Vec<Cc<RefCell<GraphNode>>> = (0..=p.nodes)
        .map(|i| {
            Cc::new(RefCell::new(GraphNode {
                _label: w4::label(i),
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
        collect_cycles();
        checksum = mix(checksum, nodes.len() as u64);
        checksum = mix(
            checksum,
            nodes.last().map_or(0, |n| n.borrow().edges.len()) as u64,
        );
    }
    drop(nodes);
    collect_cycles();
    Outcome {
        checksum,
        ops: p.objects(),
        ..Outcome::default()
    }
}

pub struct Multi {
    id: u64,
    edges: RefCell<Vec<Cc<Multi>>>,
}

impl Trace for Multi {
    fn trace(&self, tracer: &mut Tracer) {
        self.edges.trace(tracer);
    }
}

/// The W5 node on bacon_rajan_cc.
pub struct Bacon;

impl Multiref for Bacon {
    type Handle = Cc<Multi>;
    type Ctx = ();

    #[inline]
    fn alloc(_: &(), id: u64) -> Cc<Multi> {
        Cc::new(Multi {
            id,
            edges: RefCell::new(Vec::new()),
        })
    }

    #[inline]
    fn id(node: &Cc<Multi>) -> u64 {
        node.id
    }

    #[inline]
    fn edit<R>(_: &(), node: &Cc<Multi>, f: impl FnOnce(&mut Vec<Cc<Multi>>) -> R) -> R {
        f(&mut node.edges.borrow_mut())
    }
}

/// W5 (no automatic collection exists; one collection at the end).
pub fn w5(p: &w5_churn::Params) -> Outcome {
    let checksum = churn::<Bacon>(&(), p);
    collect_cycles();
    Outcome {
        checksum,
        ops: p.ops as u64,
        ..Outcome::default()
    }
}

struct SelfNode {
    id: u64,
    me: RefCell<Option<Cc<SelfNode>>>,
}

impl Trace for SelfNode {
    fn trace(&self, tracer: &mut Tracer) {
        self.me.trace(tracer);
    }
}

/// W7 (garbage accumulates until the final collection).
pub fn w7(p: &w7::Params) -> Outcome {
    let mut checksum = 0;
    for i in 0..p.iterations {
        let node = Cc::new(SelfNode {
            id: i as u64,
            me: RefCell::new(None),
        });
        *node.me.borrow_mut() = Some(node.clone());
        checksum = mix(
            checksum,
            node.me.borrow().as_ref().map_or(u64::MAX, |n| n.id),
        );
    }
    collect_cycles();
    Outcome {
        checksum,
        ops: p.iterations as u64,
        ..Outcome::default()
    }
}
