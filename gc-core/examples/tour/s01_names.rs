//! Python names are labels on objects, not boxes holding values: `b = a` puts a second label
//! on the same list, so a change through `b` shows through `a`. A `Gc` handle is such a label;
//! `Gc::ptr_eq` is `is` and `Gc::id` is `id()`.

use std::io;

use gc_core::{Gc, GcCell, Heap};

use super::{py, say, Tour};

pub fn run(tour: &mut Tour<'_>) -> io::Result<()> {
    let heap = Heap::new();
    let a = heap.alloc(GcCell::new(vec![1, 2, 3]));
    say!(tour, "a = [1, 2, 3]");
    let b = a.clone();
    say!(
        tour,
        "b = a                # a second label on the same list, not a copy"
    );
    say!(tour, "id(a) = {:#x}", Gc::id(&a));
    say!(tour, "id(b) = {:#x}", Gc::id(&b));
    say!(tour, "a is b: {}", py(Gc::ptr_eq(&a, &b)));
    b.borrow_mut().push(4);
    say!(tour, "b.append(4)");
    say!(tour, "a = {:?}", *a.borrow());

    let c = heap.alloc(GcCell::new(vec![1, 2, 3, 4]));
    say!(
        tour,
        "c = [1, 2, 3, 4]     # an equal list, but another object"
    );
    say!(tour, "id(c) = {:#x}", Gc::id(&c));
    say!(tour, "a == c: {}", py(*a.borrow() == *c.borrow()));
    say!(tour, "a is c: {}", py(Gc::ptr_eq(&a, &c)));

    let mut x = a.clone();
    say!(tour, "x = a; x is a: {}", py(Gc::ptr_eq(&x, &a)));
    x = c.clone();
    say!(
        tour,
        "x = c                # rebinding moves the label; a is untouched: a = {:?}",
        *a.borrow()
    );
    say!(
        tour,
        "x is a: {}, x is c: {}",
        py(Gc::ptr_eq(&x, &a)),
        py(Gc::ptr_eq(&x, &c))
    );
    Ok(())
}
