//! CPython shares small values: the integers -5 to 256 are preallocated, and `sys.intern` keeps
//! one object per string. The same, for a gc-core heap: a table of shared objects.

use std::collections::HashMap;
use std::sync::Mutex;

use gc_core::{Gc, Heap};

/// CPython's small-int cache: one preallocated object for each integer from -5 to 256.
pub struct SmallInts {
    heap: Heap,
    table: Vec<Gc<i64>>,
}

impl SmallInts {
    /// The range CPython caches.
    pub const RANGE: std::ops::RangeInclusive<i64> = -5..=256;

    /// Preallocates the small integers on `heap`.
    pub fn new(heap: &Heap) -> SmallInts {
        SmallInts {
            heap: heap.clone(),
            table: Self::RANGE.map(|i| heap.alloc(i)).collect(),
        }
    }

    /// The integer `value`: the shared object for a small one, a new object otherwise.
    pub fn int(&self, value: i64) -> Gc<i64> {
        if Self::RANGE.contains(&value) {
            self.table[(value - Self::RANGE.start()) as usize].clone()
        } else {
            self.heap.alloc(value)
        }
    }
}

/// `sys.intern` for strings: the first call allocates, later calls return the same object.
pub struct Strings {
    heap: Heap,
    table: Mutex<HashMap<String, Gc<String>>>,
}

impl Strings {
    /// An empty table on `heap`.
    pub fn new(heap: &Heap) -> Strings {
        Strings {
            heap: heap.clone(),
            table: Mutex::new(HashMap::new()),
        }
    }

    /// The one shared object holding `s`.
    pub fn intern(&self, s: &str) -> Gc<String> {
        self.table
            .lock()
            .unwrap()
            .entry(s.to_string())
            .or_insert_with(|| self.heap.alloc(s.to_string()))
            .clone()
    }
}
