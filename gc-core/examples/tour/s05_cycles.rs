//! Two objects referring to each other keep each other's count above zero after the last
//! name goes: reference counting never frees them. The cycle collector does — finalizers
//! first, while both are intact.

use std::io;

use gc_core::{Finalize, Gc, GcCell, Heap, Trace};

use super::{py, say, Log, Tour};

#[derive(Trace)]
#[gc(finalize)]
struct Node {
    name: String,
    next: GcCell<Option<Gc<Node>>>,
    #[gc(skip)]
    log: Log,
}

impl Finalize for Node {
    fn finalize(this: &Gc<Self>) {
        let next = this.next.borrow();
        let next = next.as_ref().map_or("nothing", |n| n.name.as_str());
        this.log.say(format!(
            "    __del__: {} (its next, {next}, is still intact)",
            this.name
        ));
    }
}

pub fn run(tour: &mut Tour<'_>) -> io::Result<()> {
    let heap = Heap::new();
    heap.disable();
    say!(
        tour,
        "gc.disable()         # only explicit collections, for a clear picture"
    );
    let log = tour.log();
    let node = |name: &str| {
        heap.alloc(Node {
            name: name.into(),
            next: GcCell::new(None),
            log: log.clone(),
        })
    };
    let (a, b) = (node("a"), node("b"));
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    say!(tour, "a = Node('a'); b = Node('b'); a.next = b; b.next = a");
    say!(
        tour,
        "ref_count(a) = {}, ref_count(b) = {}",
        Gc::ref_count(&a),
        Gc::ref_count(&b)
    );
    let weak = Gc::downgrade(&a);
    drop(a);
    let left = weak.upgrade().map_or(0, |a| Gc::ref_count(&a) - 1);
    say!(
        tour,
        "del a                # a's count is now {left}: b.next still refers to it"
    );
    drop(b);
    say!(
        tour,
        "del b                # no __del__: each is still referred to by the other"
    );
    say!(
        tour,
        "tracked objects alive: {}",
        heap.objects(None).unwrap().len()
    );
    say!(tour, "collected = gc.collect()");
    let collected = heap.collect();
    say!(tour, "Collected {collected} objects");
    say!(
        tour,
        "tracked objects alive: {}",
        heap.objects(None).unwrap().len()
    );
    say!(
        tour,
        "a weak reference to a now gives None: {}",
        py(weak.upgrade().is_none())
    );
    Ok(())
}
