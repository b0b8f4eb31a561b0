//! What each rule of `docs/embedding.md` saves: every mistake the guide warns about, made on
//! purpose beside the right way, and measured.
//!
//! ```text
//! cargo run --release -p gc-bench --example embedding_costs
//! ```
//!
//! 1. handles cloned and dropped, and cells borrowed, by a thread that is attached or not;
//! 2. a collection while another attached thread blocks inside `blocking` or outside it;
//! 3. a cell borrow held across allocations, and across a blocking call;
//! 4. two threads writing one object through a `GcCell` and through a `GcLock`;
//! 5. threads sharing a table of objects, counted or immortal.

use std::hint::black_box;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use gc_core::{Gc, GcCell, GcLock, Heap, Trace};

#[derive(Trace)]
struct Node {
    next: GcCell<Option<Gc<Node>>>,
}

fn node(heap: &Heap) -> Gc<Node> {
    heap.alloc(Node {
        next: GcCell::new(None),
    })
}

/// A self-cycle left as garbage: something for a collection to examine, so that it stops the
/// world.
fn garbage_cycle(heap: &Heap) {
    let a = node(heap);
    a.next.set(Some(a.clone()));
}

/// Nanoseconds per iteration of `f`, the best of five runs of `n` iterations.
fn per_op(n: u64, mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_nanos() as f64 / n as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn attached_or_not(heap: &Heap) {
    const N: u64 = 2_000_000;
    let shared = node(heap);
    let target = node(heap);
    shared.next.set(Some(target));
    let clone_drop = || drop(black_box(shared.clone()));
    let borrow = || {
        black_box(shared.next.borrow().is_some());
    };
    let detached = (per_op(N, clone_drop), per_op(N, borrow));
    let m = heap.attach();
    let attached = (per_op(N, clone_drop), per_op(N, borrow));
    drop(m);
    println!("1. attach each thread that runs mutator code");
    println!(
        "   clone + drop of a tracked handle: attached {:.1} ns, detached {:.1} ns ({:.1}x)",
        attached.0,
        detached.0,
        detached.0 / attached.0
    );
    println!(
        "   GcCell borrow:                    attached {:.1} ns, detached {:.1} ns ({:.1}x)",
        attached.1,
        detached.1,
        detached.1 / attached.1
    );
}

fn blocking_or_not(heap: &Heap) {
    const SLEEP: Duration = Duration::from_millis(200);
    let pause = |wrap: bool| {
        let (ready_tx, ready_rx) = mpsc::channel();
        let worker = {
            let heap = heap.clone();
            std::thread::spawn(move || {
                let m = heap.attach();
                ready_tx.send(()).unwrap();
                if wrap {
                    m.blocking(|| std::thread::sleep(SLEEP));
                } else {
                    std::thread::sleep(SLEEP);
                }
            })
        };
        ready_rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(5));
        garbage_cycle(heap);
        let bounded = heap.collect_within(Duration::from_millis(20));
        let t = Instant::now();
        heap.collect();
        let waited = t.elapsed();
        worker.join().unwrap();
        (waited, bounded.is_err())
    };
    let (inside, inside_stalled) = pause(true);
    let (outside, outside_stalled) = pause(false);
    println!("2. wrap every blocking call of an attached thread in `blocking`");
    println!(
        "   collect() while another thread sleeps 200 ms (after the bounded try below): inside \
         blocking {:.2} ms, outside {:.1} ms",
        inside.as_secs_f64() * 1e3,
        outside.as_secs_f64() * 1e3
    );
    println!(
        "   collect_within(20 ms) first: inside blocking {}, outside {}",
        if inside_stalled { "stalled" } else { "ran" },
        if outside_stalled {
            "GcError::Stalled, naming the thread"
        } else {
            "ran"
        }
    );
}

fn borrow_across_calls(heap: &Heap) {
    const GARBAGE: usize = 200_000;
    const SLEEP: Duration = Duration::from_millis(200);
    // Across allocations: the object is a root while borrowed, nothing else changes.
    let listed_after = |hold: bool| {
        heap.collect();
        let m = heap.attach();
        let frame = node(heap);
        let guard = hold.then(|| frame.next.borrow_mut());
        for _ in 0..GARBAGE {
            let a = m.alloc(Node {
                next: GcCell::new(None),
            });
            a.next.set(Some(a.clone()));
        }
        let listed = heap.object_count().total();
        drop(guard);
        drop(frame);
        listed
    };
    let released = listed_after(false);
    let held = listed_after(true);
    // Across a blocking call, on a thread that is not attached: the borrow holds the world.
    let stalled = |inside: bool| {
        let shared = Arc::new(node(heap));
        let (ready_tx, ready_rx) = mpsc::channel();
        let worker = {
            let shared = shared.clone();
            std::thread::spawn(move || {
                let guard = shared.next.borrow();
                ready_tx.send(()).unwrap();
                if inside {
                    gc_core::blocking(|| std::thread::sleep(SLEEP));
                } else {
                    std::thread::sleep(SLEEP);
                }
                drop(guard);
            })
        };
        ready_rx.recv().unwrap();
        garbage_cycle(heap);
        let t = Instant::now();
        heap.collect();
        let waited = t.elapsed();
        worker.join().unwrap();
        waited
    };
    let inside = stalled(true);
    let outside = stalled(false);
    println!("3. a cell borrow holds the world: keep it out of blocking calls");
    println!(
        "   objects listed after {GARBAGE} self-cycles made under a borrow: {held} (without the \
         borrow: {released})"
    );
    println!(
        "   collect() while a detached thread sleeps 200 ms holding a borrow: inside blocking \
         {:.2} ms, outside {:.1} ms",
        inside.as_secs_f64() * 1e3,
        outside.as_secs_f64() * 1e3
    );
}

fn shared_writes(heap: &Heap) {
    const WRITES: usize = 200_000;
    let cell = Arc::new(node(heap));
    let lock = Arc::new(heap.alloc(GcLock::new(0u64)));
    let run = |write: &(dyn Fn() -> bool + Sync)| {
        std::thread::scope(|s| {
            let writers: Vec<_> = (0..2)
                .map(|_| {
                    let heap = heap.clone();
                    s.spawn(move || {
                        let _m = heap.attach();
                        (0..WRITES).filter(|_| !write()).count()
                    })
                })
                .collect();
            writers
                .into_iter()
                .map(|w| w.join().unwrap())
                .sum::<usize>()
        })
    };
    let failed_cell = run(&|| cell.next.try_borrow_mut().map(|mut g| *g = None).is_ok());
    let t = Instant::now();
    let failed_lock = run(&|| {
        *lock.write() += 1;
        true
    });
    let lock_ns = t.elapsed().as_nanos() as f64 / (2 * WRITES) as f64;
    println!("4. objects that threads share and mutate need a GcLock");
    println!(
        "   two threads writing one object {WRITES} times each: GcCell refused {failed_cell} \
         writes (a borrow error naming the other thread; `borrow_mut` panics); GcLock \
         refused {failed_lock}, {lock_ns:.0} ns per write, total {}",
        *lock.read()
    );
}

fn immortal_or_not(heap: &Heap) {
    let p1 = gc_bench::workloads::w11_shared_globals::Params::with_threads(1);
    let p2 = gc_bench::workloads::w11_shared_globals::Params::with_threads(2);
    let time = |p, immortal| {
        let t = Instant::now();
        black_box(gc_bench::workloads::w11_shared_globals::gc_core(
            heap, p, immortal,
        ));
        t.elapsed().as_secs_f64()
    };
    let counted = time(&p1, false) / time(&p2, false);
    let immortal = time(&p1, true) / time(&p2, true);
    println!("5. make the objects every thread reads immortal");
    println!(
        "   a shared table, 2 threads against 1 (throughput): counted {counted:.2}x, immortal \
         {immortal:.2}x"
    );
}

fn main() {
    let heap = Heap::new();
    attached_or_not(&heap);
    blocking_or_not(&heap);
    borrow_across_calls(&heap);
    shared_writes(&heap);
    immortal_or_not(&heap);
}
