//! The objgraph tools on known heaps: graph export (exact DOT), rendering with and without
//! Graphviz, type statistics, growth, back-reference chains and leak reports.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use gc_core::objgraph::{
    self, Baseline, Describe, Direction, GraphOptions, GrowthTracker, Labels, RenderError,
};
use gc_core::{DebugFlags, Gc, GcAny, GcCell, Heap, Trace};

#[derive(Trace)]
struct Node {
    name: String,
    edges: GcCell<Vec<Gc<Node>>>,
    payload: GcCell<Option<Gc<String>>>,
}

impl Describe for Node {
    fn type_label() -> String {
        "Node".into()
    }
    fn describe(&self) -> Option<String> {
        Some(self.name.clone())
    }
}

fn heap() -> Heap {
    let heap = Heap::new();
    heap.disable();
    heap
}

fn node(heap: &Heap, name: &str) -> Gc<Node> {
    heap.alloc(Node {
        name: name.into(),
        edges: GcCell::new(Vec::new()),
        payload: GcCell::new(None),
    })
}

fn link(from: &Gc<Node>, to: &Gc<Node>) {
    from.edges.borrow_mut().push(to.clone());
}

fn labelled() -> GraphOptions {
    GraphOptions::default().labels(Labels::new().describe::<Node>())
}

/// a -> b, a -> c, b -> c, c -> a (a cycle of three), c -> d, d -> "payload".
/// Returns `a` (the only handle kept) and the ids of a, b, c, d and the payload.
fn known_graph(heap: &Heap) -> (Gc<Node>, [usize; 5]) {
    let (a, b, c, d) = (
        node(heap, "a"),
        node(heap, "b"),
        node(heap, "c"),
        node(heap, "d"),
    );
    let s = heap.alloc(String::from("payload"));
    link(&a, &b);
    link(&a, &c);
    link(&b, &c);
    link(&c, &a);
    link(&c, &d);
    *d.payload.borrow_mut() = Some(s.clone());
    let ids = [Gc::id(&a), Gc::id(&b), Gc::id(&c), Gc::id(&d), Gc::id(&s)];
    (a, ids)
}

fn break_cycles(heap: &Heap, a: Gc<Node>) {
    drop(a);
    heap.collect();
}

#[test]
fn show_refs_exports_the_exact_nodes_and_edges_as_dot() {
    let heap = heap();
    let (a, [ia, ib, ic, id, is]) = known_graph(&heap);
    let roots = [GcAny::from(&a)];
    let graph = objgraph::show_refs(&heap, &roots, &labelled());

    assert_eq!(graph.direction(), Direction::Referents);
    let ids: Vec<usize> = graph.nodes().iter().map(|n| n.id).collect();
    assert_eq!(ids, [ia, ib, ic, id, is], "breadth first, trace order");
    let edges: Vec<(usize, usize, bool)> = graph
        .edges()
        .iter()
        .map(|e| (e.from, e.to, e.in_cycle))
        .collect();
    assert_eq!(
        edges,
        [
            (0, 1, true),
            (0, 2, true),
            (1, 2, true),
            (2, 0, true),
            (2, 3, false),
            (3, 4, false)
        ]
    );
    let counts: Vec<usize> = graph.nodes().iter().map(|n| n.ref_count).collect();
    // a: the local handle, c's edge and the root passed in; the rest: their referrers only.
    assert_eq!(counts, [3, 1, 2, 1, 1]);
    let payload = graph.node(is).unwrap();
    assert_eq!(payload.type_name, "alloc::string::String");
    assert_eq!(payload.type_label, "String");
    assert_eq!(payload.depth, 3);

    let expected = format!(
        "digraph ObjectGraph {{
  node [shape=box, style=filled, fillcolor=white, fontname=\"Helvetica\", fontsize=10];
  n0 [label=\"Node\\na\\n{ia:#x}\\nrefcount 3\", fillcolor=\"palegreen\", color=\"red\", penwidth=2];
  n1 [label=\"Node\\nb\\n{ib:#x}\\nrefcount 1\", fillcolor=\"0,0,0.800\", color=\"red\", penwidth=2];
  n2 [label=\"Node\\nc\\n{ic:#x}\\nrefcount 2\", fillcolor=\"0,0,0.800\", color=\"red\", penwidth=2];
  n3 [label=\"Node\\nd\\n{id:#x}\\nrefcount 1\", fillcolor=\"0,0,0.900\"];
  n4 [label=\"String\\n{is:#x}\\nrefcount 1\", fillcolor=\"0,0,1.000\"];
  n0 -> n1 [color=\"red\", penwidth=2];
  n0 -> n2 [color=\"red\", penwidth=2];
  n1 -> n2 [color=\"red\", penwidth=2];
  n2 -> n0 [color=\"red\", penwidth=2];
  n2 -> n3;
  n3 -> n4;
}}
"
    );
    assert_eq!(graph.to_dot(), expected);
    assert_eq!(graph.to_string(), expected);
    drop(roots);
    break_cycles(&heap, a);
}

#[test]
fn depth_filter_highlight_and_too_many_shape_the_picture() {
    let heap = heap();
    let (a, [ia, ib, ic, _, _]) = known_graph(&heap);
    let roots = [GcAny::from(&a)];

    // Depth 1: a and its two referents; the edges among them all drawn, b -> c and c -> a too.
    let graph = objgraph::show_refs(&heap, &roots, &labelled().max_depth(1));
    let ids: Vec<usize> = graph.nodes().iter().map(|n| n.id).collect();
    assert_eq!(ids, [ia, ib, ic]);
    assert_eq!(graph.edges().len(), 4);
    assert!(graph.nodes().iter().all(|n| n.in_cycle));

    // At most one reference followed per object: c is found through b instead.
    let graph = objgraph::show_refs(&heap, &roots, &labelled().too_many(1));
    assert_eq!(graph.nodes()[0].hidden, 0, "c was reached another way");
    let graph = objgraph::show_refs(&heap, &roots, &labelled().too_many(1).max_depth(1));
    assert_eq!(graph.nodes().len(), 2);
    assert_eq!(graph.nodes()[0].hidden, 1);
    let dot = graph.to_dot();
    assert!(dot.contains(
        "  n0_more [label=\"+1 more\", shape=plaintext, style=\"\", fontcolor=\"red\"];\n"
    ));
    assert!(dot.contains("  n0 -> n0_more [style=dashed];\n"));

    // Filtered-out objects are not drawn; highlighted ones are coloured; counts can be hidden.
    let options = labelled()
        .filter(|o| o.is::<Node>())
        .highlight(move |o| o.id() == ic)
        .refcounts(false);
    let graph = objgraph::show_refs(&heap, &roots, &options);
    assert_eq!(graph.nodes().len(), 4, "the payload string is filtered out");
    assert!(graph.node(ic).unwrap().highlighted);
    let dot = graph.to_dot();
    assert!(dot.contains(&format!(
        "  n2 [label=\"Node\\nc\\n{ic:#x}\", fillcolor=\"lightskyblue\", color=\"red\", penwidth=2];"
    )));
    assert!(!dot.contains("refcount"));
    drop(roots);
    break_cycles(&heap, a);
}

#[test]
fn show_backrefs_walks_referrers_and_draws_references_forward() {
    let heap = heap();
    let (a, [ia, ib, ic, id, is]) = known_graph(&heap);
    let d = objgraph::by_type::<Node>(&heap)
        .into_iter()
        .find(|o| o.id() == id)
        .and_then(|o| o.downcast::<Node>())
        .unwrap();
    let s = GcAny::from(d.payload.borrow().clone().unwrap());
    drop(d);
    assert_eq!(s.id(), is);
    let graph = objgraph::show_backrefs(&heap, &[s], &labelled());
    assert_eq!(graph.direction(), Direction::Referrers);
    let ids: Vec<usize> = graph.nodes().iter().map(|n| n.id).collect();
    assert_eq!(&ids[..3], [is, id, ic], "payload <- d <- c");
    let found: HashSet<usize> = ids.iter().copied().collect();
    assert_eq!(found, HashSet::from([ia, ib, ic, id, is]));
    let position = |x: usize| ids.iter().position(|&i| i == x).unwrap();
    let edges: HashSet<(usize, usize)> = graph.edges().iter().map(|e| (e.from, e.to)).collect();
    let expected: HashSet<(usize, usize)> =
        [(ia, ib), (ia, ic), (ib, ic), (ic, ia), (ic, id), (id, is)]
            .iter()
            .map(|&(f, t)| (position(f), position(t)))
            .collect();
    assert_eq!(edges, expected);
    assert_eq!(
        graph.node(is).unwrap().ref_count,
        2,
        "d's edge and the target passed in"
    );
    assert_eq!(
        graph.node(ia).unwrap().ref_count,
        2,
        "the local handle and c's edge"
    );

    // Too many referrers: the marker points into the node.
    let shared = heap.alloc(String::from("shared"));
    let holders: Vec<Gc<Node>> = (0..3)
        .map(|i| {
            let n = node(&heap, &format!("h{i}"));
            *n.payload.borrow_mut() = Some(shared.clone());
            n
        })
        .collect();
    let graph = objgraph::show_backrefs(&heap, &[GcAny::from(&shared)], &labelled().too_many(2));
    assert_eq!(graph.nodes().len(), 3);
    assert_eq!(graph.nodes()[0].hidden, 1);
    assert!(graph.to_dot().contains("  n0_more -> n0 [style=dashed];\n"));
    drop(holders);
    break_cycles(&heap, a);
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("objgraph-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn graphviz_installed() -> bool {
    std::process::Command::new("dot")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn rendering_writes_dot_and_draws_with_graphviz_or_says_how_to_get_it() {
    let heap = heap();
    let (a, _) = known_graph(&heap);
    let graph = objgraph::show_refs(&heap, &[GcAny::from(&a)], &labelled());

    let dot_path = scratch("known.dot");
    graph.render(&dot_path).unwrap();
    assert_eq!(std::fs::read_to_string(&dot_path).unwrap(), graph.to_dot());

    let missing = graph
        .render_with("gc-core-test-no-such-graphviz", scratch("known.svg"))
        .unwrap_err();
    assert!(matches!(missing, RenderError::DotNotFound(_)));
    let message = missing.to_string();
    assert!(message.contains("Graphviz is not installed"), "{message}");
    assert!(message.contains("apt-get install graphviz"), "{message}");

    let no_format = graph.render(scratch("no-extension")).unwrap_err();
    assert!(matches!(no_format, RenderError::NoFormat(_)));

    if graphviz_installed() {
        let svg = scratch("known.svg");
        graph.render(&svg).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.contains("<svg"), "an SVG document");
        assert!(text.contains("payload") || text.contains("String"));
        let png = scratch("known.png");
        graph.render(&png).unwrap();
        assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
        let bad = graph.render(scratch("known.nosuchformat")).unwrap_err();
        assert!(matches!(bad, RenderError::Failed { .. }), "{bad}");
    }
    break_cycles(&heap, a);
}

#[derive(Trace)]
struct Leaf {
    parent: GcCell<Option<Gc<Node>>>,
}

#[test]
fn type_statistics_count_tracked_objects_by_type() {
    let heap = heap();
    let nodes: Vec<Gc<Node>> = (0..3).map(|i| node(&heap, &i.to_string())).collect();
    let leaves: Vec<Gc<Leaf>> = (0..5)
        .map(|_| {
            heap.alloc(Leaf {
                parent: GcCell::new(None),
            })
        })
        .collect();
    let _untracked = heap.alloc(7u64);

    let stats = objgraph::type_stats(&heap);
    assert_eq!(stats.len(), 2, "untracked objects are not listed");
    assert_eq!(stats[std::any::type_name::<Node>()], 3);
    let common = objgraph::most_common_types(&heap, 10);
    let rows: Vec<(String, usize)> = common.iter().map(|t| (t.short_name(), t.count)).collect();
    assert_eq!(rows, [("Leaf".to_string(), 5), ("Node".to_string(), 3)]);
    assert_eq!(objgraph::most_common_types(&heap, 1).len(), 1);

    let mut out = Vec::new();
    objgraph::show_most_common_types(&heap, 10, &mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "Leaf 5\nNode 3\n");

    let found = objgraph::by_type::<Leaf>(&heap);
    assert_eq!(found.len(), 5);
    assert!(found
        .iter()
        .all(|o| leaves.iter().any(|l| Gc::id(l) == o.id())));
    drop((nodes, leaves, found));
}

#[test]
fn show_growth_reports_types_above_their_peak() {
    let heap = heap();
    let mut tracker = GrowthTracker::new();
    let mut kept: Vec<Gc<Node>> = (0..3).map(|i| node(&heap, &i.to_string())).collect();
    let mut out = Vec::new();
    tracker.show_growth(&heap, 10, &mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "Node        3        +3\n");

    let mut out = Vec::new();
    tracker.show_growth(&heap, 10, &mut out).unwrap();
    assert!(out.is_empty(), "nothing grew");

    // Garbage does not count (growth collects first); new leaves and nodes do.
    let cycle = node(&heap, "garbage");
    link(&cycle, &cycle);
    drop(cycle);
    kept.extend((0..2).map(|i| node(&heap, &format!("more{i}"))));
    let _leaf = heap.alloc(Leaf {
        parent: GcCell::new(Some(kept[0].clone())),
    });
    let growth = tracker.growth(&heap, 10);
    let rows: Vec<(String, usize, usize)> = growth
        .iter()
        .map(|g| (g.short_name(), g.count, g.delta))
        .collect();
    assert_eq!(
        rows,
        [("Node".to_string(), 5, 2), ("Leaf".to_string(), 1, 1)]
    );
    assert_eq!(tracker.growth(&heap, 10), []);

    // Fewer than the peak is no growth either.
    kept.truncate(1);
    assert_eq!(tracker.growth(&heap, 10), []);
}

#[derive(Trace)]
struct Registry {
    entries: GcCell<Vec<Gc<Node>>>,
}

#[test]
fn find_backref_chain_leads_from_what_is_held_outside_to_the_object() {
    let heap = heap();
    let registry = heap.alloc(Registry {
        entries: GcCell::new(Vec::new()),
    });
    let (a, b) = (node(&heap, "a"), node(&heap, "b"));
    link(&a, &b);
    registry.entries.borrow_mut().push(a.clone());
    drop(a);
    let target = GcAny::from(b);

    let chain = objgraph::find_backref_chain(&heap, &target, objgraph::held_from_outside, 20)
        .expect("a chain");
    let types: Vec<String> = chain
        .iter()
        .map(|o| objgraph::short_type_name(o.type_name()))
        .collect();
    assert_eq!(types, ["Registry", "Node", "Node"]);
    assert_eq!(chain[0].id(), Gc::id(&registry));
    assert!(GcAny::ptr_eq(&chain[2], &target));
    drop(chain);

    // A predicate of one's own: stop at the first Node.
    let chain =
        objgraph::find_backref_chain(&heap, &target, |c| c.object.is::<Node>(), 20).unwrap();
    assert_eq!(chain.len(), 2);
    // A chain's handles are outside references like any other.
    drop(chain);
    // Too shallow, or nothing refers to it at all.
    assert!(objgraph::find_backref_chain(&heap, &target, objgraph::held_from_outside, 1).is_none());
    let orphan = GcAny::from(node(&heap, "alone"));
    assert!(
        objgraph::find_backref_chain(&heap, &orphan, objgraph::held_from_outside, 20).is_none()
    );
}

/// Holds a handle in an untraced field: a cycle through it is invisible to the collector.
/// (`friend` makes the type tracked, so the objgraph tools see its objects.)
#[derive(Trace)]
struct Hidden {
    friend: GcCell<Option<Gc<Node>>>,
    #[gc(skip)]
    slot: Arc<Mutex<Option<Gc<Hidden>>>>,
}

#[derive(Trace)]
struct Fragile {
    me: GcCell<Option<Gc<Fragile>>>,
}

impl Drop for Fragile {
    fn drop(&mut self) {
        if let Some(me) = self.me.get_mut() {
            // Reaches into its own garbage cycle: panics, counted as uncollectable.
            let _ = me.me.borrow();
        }
    }
}

#[test]
fn a_leak_report_names_new_survivors_their_keepers_and_the_garbage() {
    let heap = heap();
    let old = node(&heap, "old");
    let baseline = Baseline::take(&heap);
    assert!(baseline.leak_report(&heap).is_clean());

    // Collectable garbage is not a leak.
    let cycle = node(&heap, "cycle");
    link(&cycle, &cycle);
    drop(cycle);
    // A registry held by a local keeps two new nodes.
    let registry = heap.alloc(Registry {
        entries: GcCell::new(vec![node(&heap, "r1"), node(&heap, "r2")]),
    });
    // An old object keeps a new one.
    link(&old, &node(&heap, "from-old"));
    // A cycle through an untraced Arc field survives every collection.
    let hidden = heap.alloc(Hidden {
        friend: GcCell::new(None),
        slot: Arc::new(Mutex::new(None)),
    });
    *hidden.slot.lock().unwrap() = Some(hidden.clone());
    let hidden_id = Gc::id(&hidden);
    drop(hidden);

    let report = baseline.leak_report(&heap);
    assert_eq!(report.collected, 1);
    assert_eq!(report.uncollectable, 0);
    assert!(!report.is_clean());
    let by_type: Vec<(String, usize)> = report
        .by_type()
        .iter()
        .map(|t| (t.short_name(), t.count))
        .collect();
    assert_eq!(
        by_type,
        [
            ("Node".to_string(), 3),
            ("Hidden".to_string(), 1),
            ("Registry".to_string(), 1)
        ]
    );
    let survivor = |id: usize| {
        report
            .new_objects
            .iter()
            .find(|s| s.object.id() == id)
            .unwrap()
    };
    let keeper = |id: usize| survivor(id).kept_by.as_ref().map(GcAny::id);
    let r1 = Gc::id(&registry.entries.borrow()[0]);
    assert_eq!(keeper(r1), Some(Gc::id(&registry)));
    assert_eq!(survivor(r1).outside_refs, 0);
    assert_eq!(
        survivor(Gc::id(&registry)).outside_refs,
        1,
        "the local variable"
    );
    let from_old = Gc::id(&old.edges.borrow()[0]);
    assert_eq!(keeper(from_old), Some(Gc::id(&old)));
    assert_eq!(
        survivor(hidden_id).outside_refs,
        1,
        "the untraced Arc field"
    );
    assert_eq!(keeper(hidden_id), Some(hidden_id));

    let text = report.to_string();
    assert!(text.starts_with("leak report: 5 new objects survived a full collection (which found 1 unreachable); 0 uncollectable since the baseline\n"), "{text}");
    assert!(
        text.contains("  new objects by type:\n    Node     3\n    Hidden   1\n    Registry 1\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "    Registry {:#x}: 3 new objects\n",
            Gc::id(&registry)
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("    Node {:#x}: 1 new objects\n", Gc::id(&old))),
        "{text}"
    );
    assert!(
        text.contains("  garbage kept by DebugFlags::SAVEALL: none\n"),
        "{text}"
    );
    drop(report);

    // Garbage kept by SAVEALL, and Drops that panic, show up too.
    let baseline = Baseline::take(&heap);
    drop(registry);
    heap.set_debug(DebugFlags::SAVEALL);
    let saved = node(&heap, "saved");
    link(&saved, &saved);
    drop(saved);
    let report = baseline.leak_report(&heap);
    assert_eq!(report.garbage.len(), 1);
    assert!(report.new_objects.is_empty(), "garbage is listed apart");
    assert!(report
        .to_string()
        .contains("  garbage kept by DebugFlags::SAVEALL: 1 objects\n    Node 1\n"));
    heap.set_debug(DebugFlags::empty());
    drop(report);
    drop(heap.take_garbage());

    let baseline = Baseline::take(&heap);
    let fragile = heap.alloc(Fragile {
        me: GcCell::new(None),
    });
    *fragile.me.borrow_mut() = Some(fragile.clone());
    drop(fragile);
    let report = baseline.leak_report(&heap);
    assert_eq!((report.collected, report.uncollectable), (1, 1));
    assert!(report.new_objects.is_empty());
    assert!(!report.is_clean());
    assert!(report
        .to_string()
        .contains("; 1 uncollectable since the baseline"));

    old.edges.borrow_mut().clear();
    assert!(Baseline::take(&heap)
        .leak_report(&heap)
        .to_string()
        .starts_with("leak report: clean"));
}

#[test]
fn labels_from_closures_and_the_default_short_names() {
    let heap = heap();
    let n = GcAny::from(node(&heap, "x"));
    let plain = Labels::new().label(&n);
    assert_eq!(plain.type_label, "Node");
    assert_eq!(plain.description, None);
    let custom = Labels::new().with(|n: &Node| format!("named {}", n.name));
    assert_eq!(custom.label(&n).description.as_deref(), Some("named x"));
    // The newest rule for a type wins.
    let both = Labels::new()
        .describe::<Node>()
        .with(|_: &Node| "closure".to_string());
    assert_eq!(both.label(&n).description.as_deref(), Some("closure"));
    // A rule for another type does not apply.
    let other = Labels::new().with(|_: &Leaf| "leaf".to_string());
    assert_eq!(other.label(&n).description, None);
    assert!(format!("{other:?}").contains("Leaf"));
}
