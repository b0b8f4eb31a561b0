//! The `gc` module's controls and counters, on a heap: `isenabled`, `get_threshold`,
//! `get_count`, `get_objects`, `is_tracked`, `collect(generation)`, `get_stats`,
//! `callbacks`, `freeze`.

use std::io;

use gc_core::{Gc, GcCell, Heap, Phase, Trace};

use super::{py, say, tuple, Tour};

#[derive(Trace)]
struct Node {
    next: GcCell<Option<Gc<Node>>>,
}

pub fn run(tour: &mut Tour<'_>) -> io::Result<()> {
    let heap = Heap::new();
    say!(tour, "gc.isenabled() = {}", py(heap.is_enabled()));
    say!(tour, "gc.get_threshold() = {}", tuple(&heap.thresholds()));
    say!(tour, "gc.get_count() = {}", tuple(&heap.count()));

    let nodes: Vec<Gc<Node>> = (0..10)
        .map(|_| {
            heap.alloc(Node {
                next: GcCell::new(None),
            })
        })
        .collect();
    let numbers: Vec<Gc<u64>> = (0..5).map(|i| heap.alloc(i)).collect();
    say!(
        tour,
        "made 10 Nodes (they can hold references) and 5 integers (they cannot)"
    );
    say!(
        tour,
        "gc.get_count() = {}    # only tracked allocations count",
        tuple(&heap.count())
    );
    say!(
        tour,
        "len(gc.get_objects()) = {}",
        heap.objects(None).unwrap().len()
    );
    say!(
        tour,
        "gc.is_tracked(node) = {}",
        py(heap.is_tracked(&nodes[0]))
    );
    say!(
        tour,
        "gc.is_tracked(42) = {}",
        py(heap.is_tracked(&numbers[0]))
    );

    say!(
        tour,
        "gc.collect(0) = {}",
        heap.collect_generation(0).unwrap()
    );
    say!(
        tour,
        "gc.get_count() = {}    # one more young collection counted",
        tuple(&heap.count())
    );
    say!(
        tour,
        "len(gc.get_objects(0)) = {}, len(gc.get_objects(1)) = {}    # survivors promoted",
        heap.objects(Some(0)).unwrap().len(),
        heap.objects(Some(1)).unwrap().len()
    );

    let log = tour.log();
    let callback = heap.add_callback(move |phase, info| match phase {
        Phase::Start => log.say(format!(
            "    callback: start, generation {}",
            info.generation
        )),
        Phase::Stop => log.say(format!(
            "    callback: stop, generation {}, collected {}, uncollectable {}",
            info.generation, info.collected, info.uncollectable
        )),
    });
    let garbage = heap.alloc(Node {
        next: GcCell::new(None),
    });
    *garbage.next.borrow_mut() = Some(garbage.clone());
    drop(garbage);
    say!(
        tour,
        "gc.callbacks.append(cb); a self-referencing node made and dropped"
    );
    say!(tour, "gc.collect() = {}", heap.collect());
    heap.remove_callback(callback);
    say!(tour, "gc.get_count() = {}", tuple(&heap.count()));
    let stats = heap.stats();
    say!(
        tour,
        "gc.get_stats()[2] = {{'collections': {}, 'collected': {}, 'uncollectable': {}}}",
        stats[2].collections,
        stats[2].collected,
        stats[2].uncollectable
    );

    heap.freeze();
    say!(
        tour,
        "gc.freeze(); gc.get_freeze_count() = {}",
        heap.freeze_count()
    );
    say!(
        tour,
        "len(gc.get_objects(2)) = {}    # frozen objects are never scanned",
        heap.objects(Some(2)).unwrap().len()
    );
    heap.unfreeze();
    say!(
        tour,
        "gc.unfreeze(); gc.get_freeze_count() = {}",
        heap.freeze_count()
    );

    heap.set_thresholds(&[1000, 20, 20]).unwrap();
    say!(
        tour,
        "gc.set_threshold(1000, 20, 20); gc.get_threshold() = {}",
        tuple(&heap.thresholds())
    );
    heap.disable();
    say!(
        tour,
        "gc.disable(); gc.isenabled() = {}",
        py(heap.is_enabled())
    );
    drop((nodes, numbers));
    say!(
        tour,
        "all dropped: len(gc.get_objects()) = {}",
        heap.objects(None).unwrap().len()
    );
    Ok(())
}
