//! A `__del__` that announces each death shows when reference counting frees an object: at
//! the very moment its count reaches zero — a `del`, the end of a function, a name rebound.

use std::io;

use gc_core::{Finalize, Gc, Heap, Trace};

use super::{say, Log, Tour};

#[derive(Trace)]
#[gc(finalize)]
struct Noisy {
    name: String,
    #[gc(skip)]
    log: Log,
}

impl Finalize for Noisy {
    fn finalize(this: &Gc<Self>) {
        this.log
            .say(format!("    __del__: {} is being destroyed", this.name));
    }
}

fn noisy(heap: &Heap, log: &Log, name: &str) -> Gc<Noisy> {
    heap.alloc(Noisy {
        name: name.into(),
        log: log.clone(),
    })
}

/// A function whose local object dies when it returns.
fn f(tour: &mut Tour<'_>, heap: &Heap) -> io::Result<()> {
    let _local = noisy(heap, &tour.log(), "local");
    say!(tour, "  in f(): local = Noisy('local')");
    Ok(())
}

pub fn run(tour: &mut Tour<'_>) -> io::Result<()> {
    let heap = Heap::new();
    let log = tour.log();

    let obj = noisy(&heap, &log, "first");
    say!(tour, "obj = Noisy('first')");
    say!(tour, "del obj");
    drop(obj);

    let x = noisy(&heap, &log, "second");
    let y = x.clone();
    say!(tour, "x = Noisy('second'); y = x");
    drop(x);
    say!(
        tour,
        "del x                # ref_count(y) = {}: nothing happens",
        Gc::ref_count(&y)
    );
    say!(tour, "del y");
    drop(y);

    say!(tour, "f()");
    f(tour, &heap)?;
    say!(tour, "f() returned");

    let mut z = noisy(&heap, &log, "old");
    say!(tour, "z = Noisy('{}')", z.name);
    say!(
        tour,
        "z = Noisy('new')     # the old object loses its last name"
    );
    z = noisy(&heap, &log, "new");
    say!(tour, "z is now {}", z.name);
    say!(tour, "end of scope");
    drop(z);
    Ok(())
}
