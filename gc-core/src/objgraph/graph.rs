//! `show_refs` and `show_backrefs`: the reference graph around chosen objects, with the
//! strongly connected components (the cycles) marked.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use super::index::HeapIndex;
use super::labels::Labels;
use crate::handle::GcAny;
use crate::heap::Heap;

type Predicate = Arc<dyn Fn(&GcAny) -> bool + Send + Sync>;

/// What [`show_refs`] and [`show_backrefs`] draw (objgraph's keyword arguments).
#[derive(Clone)]
pub struct GraphOptions {
    max_depth: usize,
    too_many: usize,
    refcounts: bool,
    labels: Labels,
    filter: Option<Predicate>,
    highlight: Option<Predicate>,
}

impl Default for GraphOptions {
    /// objgraph's defaults: depth 3, at most 10 references followed per object; reference
    /// counts shown.
    fn default() -> Self {
        GraphOptions {
            max_depth: 3,
            too_many: 10,
            refcounts: true,
            labels: Labels::new(),
            filter: None,
            highlight: None,
        }
    }
}

impl GraphOptions {
    /// How many references away from the starting objects the search goes.
    pub fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// Follows at most this many distinct references of each object; the rest are counted
    /// on the node ([`GraphNode::hidden`]) and drawn as one "+N more" marker.
    pub fn too_many(mut self, references: usize) -> Self {
        self.too_many = references;
        self
    }

    /// Whether node labels show reference counts.
    pub fn refcounts(mut self, show: bool) -> Self {
        self.refcounts = show;
        self
    }

    /// How nodes are named.
    pub fn labels(mut self, labels: Labels) -> Self {
        self.labels = labels;
        self
    }

    /// Only objects for which `keep` is true are added (the starting objects always are).
    pub fn filter(mut self, keep: impl Fn(&GcAny) -> bool + Send + Sync + 'static) -> Self {
        self.filter = Some(Arc::new(keep));
        self
    }

    /// Objects for which `highlight` is true are drawn in a colour of their own.
    pub fn highlight(mut self, highlight: impl Fn(&GcAny) -> bool + Send + Sync + 'static) -> Self {
        self.highlight = Some(Arc::new(highlight));
        self
    }

    fn keeps(&self, object: &GcAny) -> bool {
        match &self.filter {
            Some(keep) => keep(object),
            None => true,
        }
    }

    fn highlights(&self, object: &GcAny) -> bool {
        self.highlight.as_ref().is_some_and(|h| h(object))
    }
}

impl fmt::Debug for GraphOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphOptions")
            .field("max_depth", &self.max_depth)
            .field("too_many", &self.too_many)
            .field("refcounts", &self.refcounts)
            .field("labels", &self.labels)
            .field("filter", &self.filter.is_some())
            .field("highlight", &self.highlight.is_some())
            .finish()
    }
}

/// Which way a graph was searched. Edges always point from referrer to referent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the starting objects to what they reference ([`show_refs`]).
    Referents,
    /// From the starting objects to what references them ([`show_backrefs`]).
    Referrers,
}

/// One object in a [`RefGraph`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphNode {
    /// The object's id ([`Gc::id`](crate::Gc::id)).
    pub id: usize,
    /// `std::any::type_name` of the object's type.
    pub type_name: &'static str,
    /// The type's display name ([`Labels`]).
    pub type_label: String,
    /// A line about the object, if its type gives one.
    pub description: Option<String>,
    /// Strong handles to the object when the graph was made, the graph's own excluded.
    pub ref_count: usize,
    /// References between the object and the nearest starting object (0: a starting object).
    pub depth: usize,
    /// The object's references (or referrers, for [`show_backrefs`]) left out because it has
    /// more than [`GraphOptions::too_many`].
    pub hidden: usize,
    /// Chosen by [`GraphOptions::highlight`].
    pub highlighted: bool,
    /// Part of a cycle among the drawn objects (a strongly connected component of two or
    /// more nodes, or a node referring to itself).
    pub in_cycle: bool,
}

/// A reference from `from` to `to`, as indices into [`RefGraph::nodes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphEdge {
    /// The referrer.
    pub from: usize,
    /// The referent.
    pub to: usize,
    /// Both ends are in the same cycle.
    pub in_cycle: bool,
}

/// A picture of part of the reference graph: every reference between the drawn objects, one
/// edge per reference. Print it as Graphviz DOT with [`to_dot`](RefGraph::to_dot) (or
/// `Display`), save it with [`write_dot`](RefGraph::write_dot), draw it with
/// [`render`](RefGraph::render).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefGraph {
    pub(crate) direction: Direction,
    pub(crate) max_depth: usize,
    pub(crate) refcounts: bool,
    pub(crate) nodes: Vec<GraphNode>,
    pub(crate) edges: Vec<GraphEdge>,
}

impl RefGraph {
    /// The objects, starting objects first, then in order of discovery (breadth first,
    /// references in trace order).
    pub fn nodes(&self) -> &[GraphNode] {
        &self.nodes
    }

    /// The references between them, grouped by referrer in node order, then in trace order.
    pub fn edges(&self) -> &[GraphEdge] {
        &self.edges
    }

    /// Which way the graph was searched.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The node of the object with this id, if drawn.
    pub fn node(&self, id: usize) -> Option<&GraphNode> {
        self.nodes.iter().find(|n| n.id == id)
    }
}

/// The objects reachable from `roots` within [`GraphOptions::max_depth`] references
/// (objgraph's `show_refs`).
///
/// The graph holds no handles; reference counts are read once the search is done and leave
/// out its own handles (the `roots` you pass are counted).
pub fn show_refs(heap: &Heap, roots: &[GcAny], options: &GraphOptions) -> RefGraph {
    let found = search(roots, options, |object| heap.referents(object));
    let edges = edges_between(&found.nodes, |object| {
        heap.referents(object).iter().map(GcAny::id).collect()
    });
    finish(found, edges, Direction::Referents, options)
}

/// The objects from which `targets` can be reached within [`GraphOptions::max_depth`]
/// references (objgraph's `show_backrefs`). Edges point from referrer to referent, as in
/// objgraph.
///
/// Referrers are found among the tracked objects, traced once for the whole search.
pub fn show_backrefs(heap: &Heap, targets: &[GcAny], options: &GraphOptions) -> RefGraph {
    let index = HeapIndex::capture(heap);
    let found = search(targets, options, |object| {
        index.referrers(object.id()).cloned().collect()
    });
    let edges = edges_between(&found.nodes, |object| index.referents(object.id()).to_vec());
    // The index holds a handle on every object: drop it before counts are read.
    drop(index);
    finish(found, edges, Direction::Referrers, options)
}

/// The objects a search reached, each held once.
struct Found {
    nodes: Vec<GcAny>,
    depth: Vec<usize>,
    /// Per node, the neighbours it was not allowed to follow (`too_many`).
    skipped: Vec<Vec<usize>>,
}

/// Breadth-first search from `roots` along `neighbours`.
fn search(
    roots: &[GcAny],
    options: &GraphOptions,
    neighbours: impl Fn(&GcAny) -> Vec<GcAny>,
) -> Found {
    let mut found = Found {
        nodes: Vec::new(),
        depth: Vec::new(),
        skipped: Vec::new(),
    };
    let mut seen = HashSet::new();
    let mut add = |found: &mut Found, object: &GcAny, depth: usize| {
        if seen.insert(object.id()) {
            found.nodes.push(object.clone());
            found.depth.push(depth);
            found.skipped.push(Vec::new());
        }
    };
    for root in roots {
        add(&mut found, root, 0);
    }
    let mut next = 0;
    while next < found.nodes.len() {
        let current = next;
        next += 1;
        let depth = found.depth[current];
        if depth >= options.max_depth {
            continue;
        }
        let mut distinct = HashSet::new();
        let around: Vec<GcAny> = neighbours(&found.nodes[current])
            .into_iter()
            .filter(|o| distinct.insert(o.id()) && options.keeps(o))
            .collect();
        for (i, object) in around.iter().enumerate() {
            if i < options.too_many {
                add(&mut found, object, depth + 1);
            } else {
                found.skipped[current].push(object.id());
            }
        }
    }
    found
}

/// Every reference between two found objects, by node index, in node then trace order.
fn edges_between(nodes: &[GcAny], referents: impl Fn(&GcAny) -> Vec<usize>) -> Vec<(usize, usize)> {
    let position: HashMap<usize, usize> =
        nodes.iter().enumerate().map(|(i, o)| (o.id(), i)).collect();
    let mut edges = Vec::new();
    for (from, object) in nodes.iter().enumerate() {
        for id in referents(object) {
            if let Some(&to) = position.get(&id) {
                edges.push((from, to));
            }
        }
    }
    edges
}

fn finish(
    found: Found,
    edges: Vec<(usize, usize)>,
    direction: Direction,
    options: &GraphOptions,
) -> RefGraph {
    // The search holds exactly one handle on each object now.
    let counts: Vec<usize> = found
        .nodes
        .iter()
        .map(|o| o.ref_count().saturating_sub(1))
        .collect();
    let drawn: HashSet<usize> = found.nodes.iter().map(GcAny::id).collect();
    let component = cyclic_components(found.nodes.len(), &edges);
    let nodes = found
        .nodes
        .iter()
        .enumerate()
        .map(|(i, object)| {
            let label = options.labels.label(object);
            GraphNode {
                id: object.id(),
                type_name: object.type_name(),
                type_label: label.type_label,
                description: label.description,
                ref_count: counts[i],
                depth: found.depth[i],
                hidden: found.skipped[i]
                    .iter()
                    .filter(|id| !drawn.contains(id))
                    .count(),
                highlighted: options.highlights(object),
                in_cycle: component[i].is_some(),
            }
        })
        .collect();
    let edges = edges
        .into_iter()
        .map(|(from, to)| GraphEdge {
            from,
            to,
            in_cycle: component[from].is_some() && component[from] == component[to],
        })
        .collect();
    RefGraph {
        direction,
        max_depth: options.max_depth,
        refcounts: options.refcounts,
        nodes,
        edges,
    }
}

/// Tarjan's strongly connected components, iteratively. Returns, per node, the number of its
/// component if that component is a cycle (two or more nodes, or one with a self-reference).
fn cyclic_components(n: usize, edges: &[(usize, usize)]) -> Vec<Option<usize>> {
    let mut adjacent = vec![Vec::new(); n];
    let mut self_loop = vec![false; n];
    for &(from, to) in edges {
        adjacent[from].push(to);
        if from == to {
            self_loop[from] = true;
        }
    }
    const UNVISITED: usize = usize::MAX;
    let mut index = vec![UNVISITED; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut component = vec![None; n];
    let mut next_index = 0;
    let mut components = 0;
    for start in 0..n {
        if index[start] != UNVISITED {
            continue;
        }
        // Frames of the depth-first walk: a node and how many of its edges were followed.
        let mut walk = vec![(start, 0)];
        index[start] = next_index;
        low[start] = next_index;
        next_index += 1;
        stack.push(start);
        on_stack[start] = true;
        while let Some(frame) = walk.last_mut() {
            let v = frame.0;
            if let Some(&w) = adjacent[v].get(frame.1) {
                frame.1 += 1;
                if index[w] == UNVISITED {
                    index[w] = next_index;
                    low[w] = next_index;
                    next_index += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    walk.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            walk.pop();
            if let Some(&(parent, _)) = walk.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut members = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    members.push(w);
                    if w == v {
                        break;
                    }
                }
                if members.len() > 1 || self_loop[v] {
                    for w in members {
                        component[w] = Some(components);
                    }
                    components += 1;
                }
            }
        }
    }
    component
}

#[cfg(test)]
mod tests {
    use super::cyclic_components;

    #[test]
    fn components_mark_cycles_and_self_loops_only() {
        // 0 -> 1 -> 2 -> 0 is a cycle; 3 -> 3 a self-loop; 4 hangs off the cycle.
        let edges = [(0, 1), (1, 2), (2, 0), (2, 4), (3, 3)];
        let c = cyclic_components(5, &edges);
        assert!(c[0].is_some() && c[0] == c[1] && c[1] == c[2]);
        assert!(c[3].is_some() && c[3] != c[0]);
        assert_eq!(c[4], None);
    }

    #[test]
    fn a_long_chain_needs_no_recursion() {
        let n = 200_000;
        let mut edges: Vec<(usize, usize)> = (0..n - 1).map(|i| (i, i + 1)).collect();
        edges.push((n - 1, 0));
        let c = cyclic_components(n, &edges);
        assert!(c.iter().all(|&x| x == Some(0)));
    }
}
