//! A weak reference does not keep its object alive; calling it gives the object or `None`.
//! Its callback runs when the object dies — by reference count at once, or in a collection —
//! unless the weak reference is itself part of the garbage.

use std::io;

use gc_core::{Gc, GcCell, Heap, Trace, Weak};

use super::{py, say, Log, Tour};

#[derive(Trace)]
struct Node {
    name: String,
    next: GcCell<Option<Gc<Node>>>,
    /// A weak reference with a callback, owned by the node.
    watch: Option<Weak<Node>>,
}

fn node(heap: &Heap, name: &str, watch: Option<Weak<Node>>) -> Gc<Node> {
    heap.alloc(Node {
        name: name.into(),
        next: GcCell::new(None),
        watch,
    })
}

/// A callback that announces itself in the log.
fn announce(log: &Log, line: &'static str) -> impl FnOnce(&Weak<Node>) + Send + 'static {
    let log = log.clone();
    move |_| log.say(line.into())
}

fn show(weak: &Weak<Node>) -> String {
    weak.upgrade()
        .map_or("None".into(), |o| format!("<Node {}>", o.name))
}

pub fn run(tour: &mut Tour<'_>) -> io::Result<()> {
    let heap = Heap::new();
    heap.disable();
    let log = tour.log();

    let obj = node(&heap, "obj", None);
    let r = Gc::downgrade_with_callback(&obj, announce(&log, "    callback: r's object has died"));
    say!(tour, "r = weakref.ref(obj, callback)");
    say!(tour, "r() = {}", show(&r));
    say!(
        tour,
        "r() is obj: {}",
        py(r.upgrade().is_some_and(|o| Gc::ptr_eq(&o, &obj)))
    );
    say!(
        tour,
        "ref_count(obj) = {}    # r does not count",
        Gc::ref_count(&obj)
    );
    say!(
        tour,
        "weak_count(obj) = {}    # r, and the weak handle its callback will be given",
        Gc::weak_count(&obj)
    );
    say!(tour, "del obj");
    drop(obj);
    say!(tour, "r() = {}", show(&r));

    let a = node(&heap, "a", None);
    let inner =
        Gc::downgrade_with_callback(&a, announce(&log, "    callback of b.watch (never runs)"));
    let b = node(&heap, "b", Some(inner));
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    let w = Gc::downgrade_with_callback(&a, announce(&log, "    callback: a was collected"));
    say!(
        tour,
        "a <-> b; b.watch = weakref.ref(a, callback2); w = weakref.ref(a, callback)"
    );
    drop((a, b));
    say!(tour, "del a, b");
    say!(
        tour,
        "w() = {}    # unreachable, but not found yet",
        show(&w)
    );
    say!(tour, "gc.collect() = {}", heap.collect());
    say!(tour, "w() = {}", show(&w));
    say!(tour, "callback2 did not run: b.watch was garbage itself");
    Ok(())
}
