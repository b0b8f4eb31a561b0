//! How many objects a heap holds and what its collections did in all:
//! [`Heap::object_count`] and [`Heap::totals`].

use crate::heap::Heap;
use crate::stats::GenerationStats;
use crate::world;

/// Tracked objects alive on a heap, by generation ([`Heap::object_count`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectCount {
    /// The objects of each generation, youngest first (one entry per generation).
    pub generations: Vec<usize>,
    /// The objects of the permanent generation ([`Heap::freeze`]).
    pub permanent: usize,
}

impl ObjectCount {
    /// Every generation's objects, the permanent one's included: the length of
    /// [`Heap::objects(None)`](Heap::objects).
    pub fn total(&self) -> usize {
        self.generations.iter().sum::<usize>() + self.permanent
    }
}

impl Heap {
    /// The tracked objects alive on this heap, by generation and in the permanent one: the
    /// lengths of [`objects`](Heap::objects) without the vector of handles (CPython's
    /// `len(gc.get_objects(g))`, which builds the list).
    ///
    /// It stops the world briefly, as `objects` does, to read every shard's lists (and take in
    /// what other threads handed over to them), and costs one read per shard and generation,
    /// not per object. An object whose value is being dropped at that moment (its last handle
    /// went on a thread whose `Drop` let the stop in) is still counted; the garbage a
    /// collection in progress has taken off the lists is not. Untracked objects are never
    /// counted.
    ///
    /// ```
    /// use gc_core::{Gc, GcCell, Heap, Trace};
    ///
    /// #[derive(Trace)]
    /// struct Node(GcCell<Option<Gc<Node>>>);
    ///
    /// let heap = Heap::new();
    /// let a = heap.alloc(Node(GcCell::new(None)));
    /// heap.collect(); // a survives into the oldest generation
    /// let b = heap.alloc(Node(GcCell::new(None)));
    /// let _text = heap.alloc(String::from("untracked"));
    /// let count = heap.object_count();
    /// assert_eq!(count.generations, [1, 0, 1]);
    /// assert_eq!((count.permanent, count.total()), (0, 2));
    /// heap.freeze();
    /// assert_eq!(heap.object_count().permanent, 2);
    /// # drop((a, b));
    /// ```
    pub fn object_count(&self) -> ObjectCount {
        let generations = self.generations();
        let mut count = ObjectCount {
            generations: vec![0; generations],
            permanent: 0,
        };
        let stopped = world::stop(None).expect("an unbounded wait never runs out");
        // SAFETY: the world is stopped, so the lists hold only objects that are alive or
        // dying, and nothing moves them.
        unsafe {
            self.inner.drain_all();
            for shard in self.inner.shards().iter() {
                let lists = shard.lists();
                for (g, list) in lists[..generations].iter().enumerate() {
                    count.generations[g] += list.len();
                }
                count.permanent += lists[generations].len();
            }
        }
        drop(stopped);
        count
    }

    /// The statistics of every generation added up ([`stats`](Heap::stats) summed):
    /// `collections`, `collected`, `uncollectable`, `examined`, `missed`, and the total `pause`
    /// and `time`, are sums; `max_pause` is the longest pause of any generation. A collection
    /// counts once, under the oldest generation it collected, so `collections` is the number
    /// of collections the heap ran.
    ///
    /// ```
    /// use gc_core::{Gc, GcCell, Heap, Trace};
    ///
    /// #[derive(Trace)]
    /// struct Node(GcCell<Option<Gc<Node>>>);
    ///
    /// let heap = Heap::new();
    /// let a = heap.alloc(Node(GcCell::new(None)));
    /// *a.0.borrow_mut() = Some(a.clone());
    /// drop(a);
    /// heap.collect_generation(0).unwrap();
    /// heap.collect();
    /// let totals = heap.totals();
    /// assert_eq!((totals.collections, totals.collected), (2, 1));
    /// assert!(totals.time >= totals.pause && totals.pause >= totals.max_pause);
    /// ```
    pub fn totals(&self) -> GenerationStats {
        self.stats()
            .iter()
            .fold(GenerationStats::default(), |total, g| GenerationStats {
                collections: total.collections + g.collections,
                collected: total.collected + g.collected,
                uncollectable: total.uncollectable + g.uncollectable,
                examined: total.examined + g.examined,
                pause: total.pause + g.pause,
                max_pause: total.max_pause.max(g.max_pause),
                time: total.time + g.time,
                missed: total.missed + g.missed,
            })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Config, Gc, GcCell, Heap, Trace};

    #[derive(Trace)]
    struct Node(GcCell<Option<Gc<Node>>>);

    fn node(heap: &Heap) -> Gc<Node> {
        heap.alloc(Node(GcCell::new(None)))
    }

    #[test]
    fn object_counts_agree_with_objects_in_every_generation_and_inbox() {
        // One shard, the main thread's: the other thread's objects reach it through its inbox.
        let heap = Heap::with_config(Config::default().workers(1).shards(1)).unwrap();
        heap.disable();
        let old = node(&heap);
        heap.collect_generation(0).unwrap();
        let young: Vec<Gc<Node>> = (0..3).map(|_| node(&heap)).collect();
        let heap2 = heap.clone();
        let theirs = std::thread::spawn(move || node(&heap2)).join().unwrap();
        let count = heap.object_count();
        assert_eq!(count.generations, [4, 1, 0]);
        assert_eq!(count.total(), heap.objects(None).unwrap().len());
        for (g, &n) in count.generations.iter().enumerate() {
            assert_eq!(n, heap.objects(Some(g)).unwrap().len());
        }
        heap.freeze();
        assert_eq!(heap.object_count().permanent, 5);
        heap.unfreeze();
        drop((old, young, theirs));
        assert_eq!(heap.object_count().total(), 0);
        let totals = heap.totals();
        assert_eq!(totals.collections, 1);
        assert_eq!(totals.max_pause, heap.stats()[0].max_pause);
    }
}
