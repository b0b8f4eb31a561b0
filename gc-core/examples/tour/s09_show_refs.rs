//! objgraph's first picture: `x = []; y = [x, [x], dict(x=x)]; show_refs([y])` — here with
//! `x.append(y)` as well, to show how a cycle is marked. The graph is written as Graphviz DOT,
//! and drawn as SVG when Graphviz is installed.

use std::collections::BTreeMap;
use std::io;

use gc_core::objgraph::{self, Describe, GraphOptions, Labels, RenderError};
use gc_core::{Gc, GcAny, GcCell, Heap, Trace};

use super::{say, Tour};

/// Python's lists and dicts, enough of them for the picture.
#[derive(Trace)]
enum Value {
    List(GcCell<Vec<Gc<Value>>>),
    Dict(GcCell<BTreeMap<String, Gc<Value>>>),
}

impl Describe for Value {
    fn type_label() -> String {
        "object".into()
    }

    fn describe(&self) -> Option<String> {
        Some(match self {
            Value::List(items) => format!("list, len {}", items.borrow().len()),
            Value::Dict(items) => format!("dict, len {}", items.borrow().len()),
        })
    }
}

fn list(heap: &Heap, items: Vec<Gc<Value>>) -> Gc<Value> {
    heap.alloc(Value::List(GcCell::new(items)))
}

pub fn run(tour: &mut Tour<'_>) -> io::Result<()> {
    let heap = Heap::new();
    let x = list(&heap, vec![]);
    let dict = heap.alloc(Value::Dict(GcCell::new(BTreeMap::from([(
        "x".to_string(),
        x.clone(),
    )]))));
    let y = list(&heap, vec![x.clone(), list(&heap, vec![x.clone()]), dict]);
    if let Value::List(items) = &*x {
        items.borrow_mut().push(y.clone());
    }
    say!(tour, "x = []; y = [x, [x], dict(x=x)]; x.append(y)");
    say!(tour, "objgraph.show_refs([y], filename='sample-graph.svg')");

    let options = GraphOptions::default().labels(Labels::new().describe::<Value>());
    let graph = objgraph::show_refs(&heap, &[GcAny::from(&y)], &options);
    let in_cycle: Vec<String> = graph
        .nodes()
        .iter()
        .filter(|n| n.in_cycle)
        .map(|n| n.description.clone().unwrap_or_default())
        .collect();
    say!(
        tour,
        "{} objects, {} references",
        graph.nodes().len(),
        graph.edges().len()
    );
    say!(tour, "in a cycle (drawn in red): {}", in_cycle.join("; "));
    say!(tour, "{}", graph.to_dot().trim_end());

    let dir = tour.dir()?.to_path_buf();
    let dot = dir.join("sample-graph.dot");
    graph.write_dot(&dot)?;
    say!(tour, "wrote {}", dot.display());
    let svg = dir.join("sample-graph.svg");
    match graph.render(&svg) {
        Ok(()) => say!(tour, "wrote {}", svg.display()),
        Err(e @ RenderError::DotNotFound(_)) => say!(tour, "no picture: {e}"),
        Err(e) => return Err(io::Error::other(e)),
    }
    if let Value::List(items) = &*x {
        items.borrow_mut().clear();
    }
    Ok(())
}
