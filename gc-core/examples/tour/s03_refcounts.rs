//! `sys.getrefcount` through the life of an object: every name, container slot and function
//! parameter that refers to it is one reference. `Gc::ref_count` is `sys.getrefcount(x) - 1`
//! (it has no argument of its own to count). A Rust borrow (`&x`) is not a reference.

use std::collections::HashMap;
use std::io;

use gc_core::{Gc, GcCell, Heap};

use super::{py, say, Tour};

/// A function taking ownership of a handle: one reference more while it runs.
fn inside(x: Gc<String>) -> usize {
    Gc::ref_count(&x)
}

pub fn run(tour: &mut Tour<'_>) -> io::Result<()> {
    let heap = Heap::new();
    let x = heap.alloc(String::from("an object"));
    let count = |x: &Gc<String>| Gc::ref_count(x);
    say!(
        tour,
        "x = object()            ref_count(x) = {}    # sys.getrefcount(x) = {}",
        count(&x),
        count(&x) + 1
    );
    let y = x.clone();
    say!(tour, "y = x                   ref_count(x) = {}", count(&x));
    let r = &x;
    say!(tour, "r = &x (a borrow)       ref_count(x) = {}", count(r));
    let list = heap.alloc(GcCell::new(vec![x.clone(), x.clone()]));
    say!(tour, "l = [x, x]              ref_count(x) = {}", count(&x));
    let dict = heap.alloc(GcCell::new(HashMap::from([("key", x.clone())])));
    say!(
        tour,
        "d = {{'key': x}}          ref_count(x) = {}",
        count(&x)
    );
    say!(
        tour,
        "inside f(x)             ref_count(x) = {}",
        inside(x.clone())
    );
    say!(tour, "after f(x) returns      ref_count(x) = {}", count(&x));
    dict.borrow_mut().remove("key");
    say!(tour, "del d['key']            ref_count(x) = {}", count(&x));
    drop(list);
    say!(tour, "del l                   ref_count(x) = {}", count(&x));
    drop(y);
    say!(tour, "del y                   ref_count(x) = {}", count(&x));
    let weak = Gc::downgrade(&x);
    drop(x);
    say!(
        tour,
        "del x                   freed: a weak reference to it now gives None: {}",
        py(weak.upgrade().is_none())
    );
    Ok(())
}
