//! With `DEBUG_SAVEALL`, the collector keeps what it finds unreachable in `gc.garbage`
//! instead of freeing it — intact, for inspection. Clearing `gc.garbage` gives it back.

use std::io;

use gc_core::objgraph::short_type_name;
use gc_core::{DebugFlags, Gc, GcCell, Heap, Trace};

use super::{say, Tour};

#[derive(Trace)]
struct Node {
    name: String,
    next: GcCell<Option<Gc<Node>>>,
}

pub fn run(tour: &mut Tour<'_>) -> io::Result<()> {
    let heap = Heap::new();
    heap.disable();
    heap.set_debug(DebugFlags::SAVEALL);
    say!(tour, "gc.set_debug(gc.DEBUG_SAVEALL)");
    let node = |name: &str| {
        heap.alloc(Node {
            name: name.into(),
            next: GcCell::new(None),
        })
    };
    let (a, b) = (node("a"), node("b"));
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    drop((a, b));
    say!(tour, "a <-> b; del a, b");
    say!(tour, "gc.collect() = {}", heap.collect());
    let garbage = heap.garbage();
    say!(tour, "len(gc.garbage) = {}", garbage.len());
    let shown: Vec<String> = garbage
        .iter()
        .map(|o| format!("<{} at {:#x}>", short_type_name(o.type_name()), o.id()))
        .collect();
    say!(tour, "gc.garbage = [{}]", shown.join(", "));
    let first = garbage[0].downcast::<Node>().unwrap();
    let next = first.next.borrow().clone().unwrap();
    say!(
        tour,
        "still intact: gc.garbage[0].name = '{}', its next = '{}'",
        first.name,
        next.name
    );
    drop((first, next, garbage));

    heap.set_debug(DebugFlags::empty());
    drop(heap.take_garbage());
    say!(tour, "gc.set_debug(0); gc.garbage.clear()");
    say!(
        tour,
        "gc.collect() = {}    # now they are freed",
        heap.collect()
    );
    say!(tour, "len(gc.garbage) = {}", heap.garbage().len());
    Ok(())
}
