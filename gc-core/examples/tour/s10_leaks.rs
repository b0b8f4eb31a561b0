//! objgraph's leak hunt: `show_growth` between two moments tells which types pile up,
//! `find_backref_chain` tells what keeps one of them alive, and a leak report against a
//! baseline lists every survivor with its keeper. The leak: a cache that keeps every third
//! request. Each request also sits in a cycle with its session — garbage the collector frees,
//! which is not a leak.

use std::io;

use gc_core::objgraph::{self, Baseline, Describe, GraphOptions, GrowthTracker, Labels};
use gc_core::{Gc, GcCell, Heap, Trace};

use super::{say, Tour};

#[derive(Trace)]
struct Request {
    path: String,
    session: GcCell<Option<Gc<Session>>>,
}

impl Describe for Request {
    fn describe(&self) -> Option<String> {
        Some(self.path.clone())
    }
}

#[derive(Trace)]
struct Session {
    requests: GcCell<Vec<Gc<Request>>>,
}

#[derive(Trace)]
struct Cache {
    entries: GcCell<Vec<Gc<Request>>>,
}

/// Handles one request; every third is cached, and never evicted.
fn handle(heap: &Heap, cache: &Cache, n: usize) {
    let request = heap.alloc(Request {
        path: format!("/page/{n}"),
        session: GcCell::new(None),
    });
    let session = heap.alloc(Session {
        requests: GcCell::new(vec![request.clone()]),
    });
    *request.session.borrow_mut() = Some(session);
    if n.is_multiple_of(3) {
        cache.entries.borrow_mut().push(request);
    }
}

pub fn run(tour: &mut Tour<'_>) -> io::Result<()> {
    let heap = Heap::new();
    let cache = heap.alloc(Cache {
        entries: GcCell::new(Vec::new()),
    });
    let mut tracker = GrowthTracker::new();
    let mut table = Vec::new();
    say!(
        tour,
        "objgraph.show_growth()    # the first call lists everything"
    );
    tracker.show_growth(&heap, 10, &mut table)?;
    say!(tour, "{}", String::from_utf8_lossy(&table).trim_end());
    let baseline = Baseline::take(&heap);

    for n in 1..=9 {
        handle(&heap, &cache, n);
    }
    say!(tour, "handled 9 requests");
    say!(tour, "objgraph.show_growth()");
    let mut table = Vec::new();
    tracker.show_growth(&heap, 10, &mut table)?;
    say!(tour, "{}", String::from_utf8_lossy(&table).trim_end());
    say!(tour, "objgraph.show_most_common_types()");
    let mut table = Vec::new();
    objgraph::show_most_common_types(&heap, 10, &mut table)?;
    say!(tour, "{}", String::from_utf8_lossy(&table).trim_end());

    let leaked = objgraph::by_type::<Request>(&heap)
        .pop()
        .expect("a leaked request");
    let chain = objgraph::find_backref_chain(&heap, &leaked, objgraph::held_from_outside, 20)
        .expect("something keeps it");
    let labels = Labels::new().describe::<Request>();
    let links: Vec<String> = chain
        .iter()
        .map(|o| {
            let label = labels.label(o);
            match label.description {
                Some(d) => format!("{} {d}", label.type_label),
                None => label.type_label,
            }
        })
        .collect();
    say!(
        tour,
        "objgraph.find_backref_chain(request, held_from_outside)"
    );
    say!(tour, "{}", links.join(" -> "));
    drop(chain);

    let options = GraphOptions::default()
        .max_depth(2)
        .labels(Labels::new().describe::<Request>());
    let graph = objgraph::show_backrefs(&heap, &[leaked], &options);
    let path = tour.dir()?.join("leak-backrefs.dot");
    graph.write_dot(&path)?;
    say!(
        tour,
        "objgraph.show_backrefs([request]): {} objects, wrote {}",
        graph.nodes().len(),
        path.display()
    );

    say!(tour, "leak report against the baseline:");
    let report = baseline.leak_report(&heap);
    say!(tour, "{}", report.to_string().trim_end());
    drop(report);

    cache.entries.borrow_mut().clear();
    say!(tour, "cache cleared");
    say!(
        tour,
        "{}",
        baseline.leak_report(&heap).to_string().trim_end()
    );
    Ok(())
}
