//! CPython preallocates the integers from -5 to 256, so every 256 is the same object while two
//! 257s made separately are two; `sys.intern` does the same for strings on request. gc-core
//! shares nothing by itself: a table of shared objects (`intern.rs`) does it.

use std::io;

use gc_core::{Gc, Heap};

use super::intern::{SmallInts, Strings};
use super::{py, say, Tour};

pub fn run(tour: &mut Tour<'_>) -> io::Result<()> {
    let heap = Heap::new();
    let ints = SmallInts::new(&heap);

    let (a, b) = (ints.int(256), ints.int(256));
    say!(tour, "a = 256; b = 256");
    say!(
        tour,
        "a is b: {}    # both from the small-int table",
        py(Gc::ptr_eq(&a, &b))
    );
    say!(tour, "id(a) = {:#x}, id(b) = {:#x}", Gc::id(&a), Gc::id(&b));
    say!(
        tour,
        "ref_count(a) = {}    # the table, a and b",
        Gc::ref_count(&a)
    );

    let (c, d) = (ints.int(257), ints.int(257));
    say!(tour, "c = 257; d = 257");
    say!(
        tour,
        "c is d: {}   # outside the table: two objects",
        py(Gc::ptr_eq(&c, &d))
    );
    say!(tour, "id(c) = {:#x}, id(d) = {:#x}", Gc::id(&c), Gc::id(&d));
    say!(tour, "c == d: {}", py(c == d));

    let strings = Strings::new(&heap);
    let (s, t) = (strings.intern("hello"), strings.intern("hello"));
    say!(tour, "s = sys.intern('hello'); t = sys.intern('hello')");
    say!(tour, "s is t: {}", py(Gc::ptr_eq(&s, &t)));
    let (u, v) = (
        heap.alloc(String::from("hello world")),
        heap.alloc(String::from("hello world")),
    );
    say!(
        tour,
        "u = 'hello world'; v = 'hello world'    # not interned"
    );
    say!(
        tour,
        "u == v: {}, u is v: {}",
        py(u == v),
        py(Gc::ptr_eq(&u, &v))
    );
    Ok(())
}
