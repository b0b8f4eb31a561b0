use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::{WeakFinalizer, WeakKeyDictionary, WeakSet, WeakValueDictionary};
use crate::test_support::quiet_heap;
use crate::{Gc, GcCell, Heap, Trace};

#[derive(Trace)]
struct Node {
    name: String,
    next: GcCell<Option<Gc<Node>>>,
}

fn node(heap: &Heap, name: &str) -> Gc<Node> {
    heap.alloc(Node {
        name: name.into(),
        next: GcCell::new(None),
    })
}

/// A two-node cycle with no handle left outside: garbage for the next collection.
fn ring(heap: &Heap, a: &Gc<Node>) {
    let b = node(heap, "b");
    b.next.set(Some(a.clone()));
    a.next.set(Some(b));
}

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn the_containers_are_send_and_sync_when_their_contents_are() {
    assert_send_sync::<WeakValueDictionary<String, Node>>();
    assert_send_sync::<WeakKeyDictionary<Node, Vec<u8>>>();
    assert_send_sync::<WeakSet<dyn core::fmt::Debug + Send + Sync>>();
    assert_send_sync::<WeakFinalizer<[u8]>>();
}

#[test]
fn value_entries_vanish_on_refcount_death_and_in_a_collection() {
    let heap = quiet_heap();
    let d: WeakValueDictionary<&'static str, Node> = WeakValueDictionary::new();
    let a = node(&heap, "a");
    let c = node(&heap, "c");
    assert!(d.insert("a", &a).is_none());
    d.insert("c", &c);
    assert_eq!(d.len(), 2);
    assert_eq!(d.get("a").unwrap().name, "a");
    drop(c);
    assert!(!d.contains_key("c"), "refcount death removes the entry");
    assert_eq!(d.keys().collect::<Vec<_>>(), ["a"]);
    ring(&heap, &a);
    drop(a);
    assert_eq!(d.len(), 1, "a cycle is alive until collected");
    assert_eq!(heap.collect(), 2);
    assert!(d.is_empty());
    assert!(d.get("a").is_none());
    assert_eq!(d.iter().count(), 0);
}

#[test]
fn a_replaced_value_does_not_remove_its_successor() {
    let heap = quiet_heap();
    let d = WeakValueDictionary::new();
    let first = node(&heap, "first");
    let second = node(&heap, "second");
    d.insert(1, &first);
    let replaced = d.insert(1, &second).unwrap();
    assert!(Gc::ptr_eq(&replaced, &first));
    drop((first, replaced));
    assert_eq!(d.get(&1).unwrap().name, "second");
    // The same object again under its key: one entry, removed once.
    d.insert(1, &second);
    drop(second);
    assert!(d.is_empty());
}

#[test]
fn judged_garbage_is_never_returned_even_before_its_callback_runs() {
    let heap = quiet_heap();
    let values: Arc<WeakValueDictionary<u32, Node>> = Arc::new(WeakValueDictionary::new());
    let keys: Arc<WeakKeyDictionary<Node, u32>> = Arc::new(WeakKeyDictionary::new());
    let set: Arc<WeakSet<Node>> = Arc::new(WeakSet::new());
    let a = node(&heap, "a");
    values.insert(1, &a);
    keys.insert(&a, 1);
    set.insert(&a);
    // Registered last, so called first: the containers' own callbacks have not run yet.
    let seen = Arc::new(Mutex::new(None));
    let (v, k, s, out) = (values.clone(), keys.clone(), set.clone(), seen.clone());
    let probe = Gc::downgrade_with_callback(&a, move |_| {
        *out.lock().unwrap() = Some((
            v.get(&1).is_none() && v.is_empty() && v.iter().count() == 0,
            k.is_empty() && k.keys().count() == 0,
            s.is_empty() && s.iter().count() == 0,
        ));
    });
    ring(&heap, &a);
    drop(a);
    assert_eq!(heap.collect(), 2);
    assert_eq!(*seen.lock().unwrap(), Some((true, true, true)));
    assert!(values.is_empty() && keys.is_empty() && set.is_empty());
    drop(probe);
}

#[test]
fn key_entries_follow_their_keys_and_compare_by_identity() {
    let heap = quiet_heap();
    let d = WeakKeyDictionary::new();
    let a = node(&heap, "same");
    let b = node(&heap, "same");
    d.insert(&a, vec![1]);
    d.insert(&b, vec![2]);
    assert_eq!(d.insert(&a, vec![3]), Some(vec![1]));
    assert_eq!((d.get(&a), d.get(&b)), (Some(vec![3]), Some(vec![2])));
    assert_eq!(d.len(), 2);
    drop(b);
    assert_eq!(
        d.iter()
            .map(|(k, v)| (k.name.clone(), v))
            .collect::<Vec<_>>(),
        [("same".to_string(), vec![3])]
    );
    ring(&heap, &a);
    let kept = Gc::downgrade(&a);
    drop(a);
    assert_eq!(heap.collect(), 2);
    assert!(d.is_empty());
    assert!(kept.upgrade().is_none());
}

#[test]
fn a_weak_key_dictionary_drops_its_values_when_the_key_dies() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let heap = quiet_heap();
    let drops = Arc::new(AtomicUsize::new(0));
    let d = WeakKeyDictionary::new();
    let key = heap.alloc(0u8);
    d.insert(&key, Counted(drops.clone()));
    assert!(d.remove(&key).is_some());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    d.insert(&key, Counted(drops.clone()));
    drop(key);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    let key = heap.alloc(1u8);
    d.insert(&key, Counted(drops.clone()));
    drop(d);
    assert_eq!(drops.load(Ordering::SeqCst), 3, "the dictionary's drop");
    drop(key);
}

#[test]
fn a_weak_set_iterates_only_live_members_of_any_type() {
    let heap = quiet_heap();
    let set: WeakSet<dyn core::fmt::Debug + Send + Sync> = WeakSet::new();
    let one: Gc<dyn core::fmt::Debug + Send + Sync> =
        crate::coerce_gc!(heap.alloc(1u32), dyn core::fmt::Debug + Send + Sync);
    let text: Gc<dyn core::fmt::Debug + Send + Sync> =
        crate::coerce_gc!(heap.alloc("text"), dyn core::fmt::Debug + Send + Sync);
    assert!(set.insert(&one) && set.insert(&text));
    assert!(set.contains(&one));
    let dying = set.iter();
    drop(one);
    let shown: Vec<String> = dying.map(|m| format!("{m:?}")).collect();
    assert_eq!(
        shown,
        ["\"text\""],
        "skips a member that died after the snapshot"
    );
    assert!(set.remove(&text));
    assert!(!set.remove(&text));
    assert!(set.is_empty());
}

#[test]
fn an_intern_table_hands_out_one_object_per_key_across_threads() {
    let heap = quiet_heap();
    let table: Arc<WeakValueDictionary<String, String>> = Arc::new(WeakValueDictionary::new());
    let made = Arc::new(AtomicUsize::new(0));
    let intern = {
        let (heap, table, made) = (heap.clone(), table.clone(), made.clone());
        move |s: &str| {
            table.get_or_insert_with(s.to_owned(), || {
                made.fetch_add(1, Ordering::SeqCst);
                heap.alloc(s.to_owned())
            })
        }
    };
    let kept = intern("kept");
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let intern = intern.clone();
            std::thread::spawn(move || {
                (0..20)
                    .map(|i| intern(if i % 2 == 0 { "kept" } else { "short" }))
                    .filter(|s| s.as_str() == "kept")
                    .map(|s| Gc::id(&s))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for thread in threads {
        assert!(thread.join().unwrap().iter().all(|&id| id == Gc::id(&kept)));
    }
    assert_eq!(table.keys().collect::<Vec<_>>(), ["kept"]);
    assert!(
        made.load(Ordering::SeqCst) >= 2,
        "'short' is made again once it dies"
    );
    drop(kept);
    assert!(table.is_empty());
}

#[test]
fn a_cache_keeps_what_is_in_use_and_forgets_the_rest() {
    #[derive(Trace)]
    struct Image {
        pixels: Vec<u8>,
        parent: GcCell<Option<Gc<Image>>>,
    }
    let heap = quiet_heap();
    let cache: WeakValueDictionary<u32, Image> = WeakValueDictionary::new();
    let load = |id: u32| {
        cache.get_or_insert_with(id, || {
            heap.alloc(Image {
                pixels: vec![id as u8; 4],
                parent: GcCell::new(None),
            })
        })
    };
    let open: Vec<Gc<Image>> = (0..4).map(load).collect();
    assert!(Gc::ptr_eq(&load(2), &open[2]), "a hit");
    // Two images that reference each other, then are closed: the cycle goes in a collection.
    open[0].parent.set(Some(open[1].clone()));
    open[1].parent.set(Some(open[0].clone()));
    let mut open = open;
    open.drain(..2);
    assert_eq!(cache.len(), 4);
    assert_eq!(heap.collect(), 2);
    let mut cached: Vec<u32> = cache.keys().collect();
    cached.sort_unstable();
    assert_eq!(cached, [2, 3]);
    assert_eq!(load(0).pixels, [0; 4], "a miss reloads");
}

#[test]
fn a_finalizer_runs_once_on_death_by_count_or_collection_unless_detached() {
    let heap = quiet_heap();
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = |runs: &Arc<AtomicUsize>| {
        let runs = runs.clone();
        move || {
            runs.fetch_add(1, Ordering::SeqCst);
        }
    };
    // Its handle dropped at once: still armed.
    let a = node(&heap, "a");
    drop(WeakFinalizer::new(&a, counter(&runs)));
    drop(a);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    // In a collection, on the collecting thread.
    let b = node(&heap, "b");
    let finalizer = WeakFinalizer::new(&b, counter(&runs));
    assert!(Gc::ptr_eq(&finalizer.peek().unwrap(), &b));
    ring(&heap, &b);
    drop(b);
    assert!(finalizer.alive());
    let heap2 = heap.clone();
    assert_eq!(
        std::thread::spawn(move || heap2.collect()).join().unwrap(),
        2
    );
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert!(!finalizer.alive() && finalizer.peek().is_none());
    assert!(finalizer.detach().is_none());
    // Called by hand: once.
    let c = node(&heap, "c");
    let finalizer = WeakFinalizer::new(&c, counter(&runs));
    assert!(finalizer.call());
    assert!(!finalizer.call());
    drop(c);
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    // Detached: never, and the callback comes back.
    let d = node(&heap, "d");
    let finalizer = WeakFinalizer::new(&d, counter(&runs));
    let (object, callback) = finalizer.detach().unwrap();
    assert!(Gc::ptr_eq(&object, &d));
    drop((object, d));
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    callback();
    assert_eq!(runs.load(Ordering::SeqCst), 4);
}
