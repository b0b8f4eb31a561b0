//! `#[derive(Trace)]` exercised through gc-core's public API.

use std::collections::HashMap;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Mutex;

use gc_core::trace::edges;
use gc_core::{Finalize, Gc, GcCell, Heap, Trace};

/// Can hold a handle to another `Obj`, so it is tracked, and so is every `Gc<Obj>`.
#[derive(Trace)]
struct Obj {
    next: Option<Gc<Self>>,
}

fn obj(heap: &Heap) -> Gc<Obj> {
    heap.alloc(Obj { next: None })
}

fn id<T>(gc: &Gc<T>) -> usize {
    Gc::id(gc)
}

fn tracked<T: Trace>() -> bool {
    T::TRACKED
}

/// A type with no `Trace` impl.
struct Opaque {
    hidden: Gc<Obj>,
}

#[derive(Trace)]
struct Pair {
    first: Gc<Obj>,
    count: u32,
    second: Gc<Obj>,
    label: String,
    rest: Vec<Gc<Obj>>,
}

#[test]
fn named_struct_reports_fields_in_declaration_order() {
    let heap = Heap::new();
    let (a, b, c, d) = (obj(&heap), obj(&heap), obj(&heap), obj(&heap));
    let pair = Pair {
        first: b.clone(),
        count: 7,
        second: a.clone(),
        label: "pair".to_owned(),
        rest: vec![d.clone(), c.clone()],
    };
    assert_eq!(edges(&pair), [id(&b), id(&a), id(&d), id(&c)]);

    assert!(tracked::<Pair>());
    assert!(heap.is_tracked(&heap.alloc(pair)));
}

#[derive(Trace)]
struct Atom(i64);

#[derive(Trace)]
struct Triple(Gc<Obj>, String, Option<Gc<Obj>>);

#[test]
fn tuple_struct_reports_fields_by_position() {
    let heap = Heap::new();
    assert!(!tracked::<Atom>());
    assert!(edges(&Atom(5)).is_empty());
    assert!(!heap.is_tracked(&heap.alloc(Atom(5))));

    let (a, b) = (obj(&heap), obj(&heap));

    let full = Triple(a.clone(), "full".to_owned(), Some(b.clone()));
    assert_eq!(edges(&full), [id(&a), id(&b)]);

    let partial = Triple(b.clone(), String::new(), None);
    assert_eq!(edges(&partial), [id(&b)]);

    assert!(tracked::<Triple>());
    assert!(heap.is_tracked(&heap.alloc(full)));
}

#[derive(Trace)]
struct Marker;

#[test]
fn unit_struct_is_untracked_and_reports_nothing() {
    assert!(edges(&Marker).is_empty());
    assert!(!tracked::<Marker>());
    let heap = Heap::new();
    assert!(!heap.is_tracked(&heap.alloc(Marker)));
}

#[derive(Trace)]
enum Shape {
    Empty,
    Single(Gc<Obj>),
    Split(Gc<Obj>, u8, Gc<Obj>),
    Named {
        head: Gc<Obj>,
        label: String,
        tail: Option<Gc<Obj>>,
    },
}

#[test]
fn enum_reports_only_the_active_variant() {
    let heap = Heap::new();
    let (a, b) = (obj(&heap), obj(&heap));

    assert!(edges(&Shape::Empty).is_empty());
    assert_eq!(edges(&Shape::Single(a.clone())), [id(&a)]);
    assert_eq!(
        edges(&Shape::Split(b.clone(), 0, a.clone())),
        [id(&b), id(&a)]
    );

    let named = Shape::Named {
        head: a.clone(),
        label: "named".to_owned(),
        tail: Some(b.clone()),
    };
    assert_eq!(edges(&named), [id(&a), id(&b)]);
    let short = Shape::Named {
        head: b.clone(),
        label: String::new(),
        tail: None,
    };
    assert_eq!(edges(&short), [id(&b)]);

    assert!(tracked::<Shape>());
    assert!(heap.is_tracked(&heap.alloc(Shape::Empty)));
}

#[derive(Trace)]
enum Token {
    Number(f64),
    Word { text: String },
    End,
}

#[derive(Trace)]
enum Never {}

#[test]
fn enum_without_gc_fields_is_untracked() {
    assert!(!tracked::<Token>());
    assert!(!tracked::<Never>());

    let tokens = [
        Token::Number(1.5),
        Token::Word {
            text: "word".to_owned(),
        },
        Token::End,
    ];
    for token in &tokens {
        assert!(edges(token).is_empty());
    }

    let heap = Heap::new();
    assert!(!heap.is_tracked(&heap.alloc(Token::End)));
}

#[derive(Trace)]
struct Shadow {
    tracer: Gc<Obj>,
    this: Gc<Obj>,
}

#[derive(Trace)]
enum ShadowEnum {
    Fields { tracer: Gc<Obj>, __field0: Gc<Obj> },
    Tuple(Gc<Obj>, Gc<Obj>),
}

#[test]
fn field_names_do_not_clash_with_generated_names() {
    let heap = Heap::new();
    let (a, b) = (obj(&heap), obj(&heap));

    let shadow = Shadow {
        tracer: a.clone(),
        this: b.clone(),
    };
    assert_eq!(edges(&shadow), [id(&a), id(&b)]);

    let fields = ShadowEnum::Fields {
        tracer: b.clone(),
        __field0: a.clone(),
    };
    assert_eq!(edges(&fields), [id(&b), id(&a)]);
    assert_eq!(
        edges(&ShadowEnum::Tuple(a.clone(), b.clone())),
        [id(&a), id(&b)]
    );
}

#[derive(Trace)]
struct W<T> {
    x: T,
}

#[derive(Trace)]
enum Either<L, R> {
    Left(L),
    Right(R),
}

#[derive(Trace)]
struct Keyed<K, V>
where
    K: Eq + Hash,
{
    map: HashMap<K, V>,
    fallback: Option<V>,
}

#[test]
fn generic_types_are_tracked_iff_a_parameter_is() {
    assert!(!tracked::<W<i32>>());
    assert!(!tracked::<W<W<String>>>());
    assert!(tracked::<W<Gc<Obj>>>());
    assert!(tracked::<W<W<Option<Gc<Obj>>>>>());
    assert!(!tracked::<Either<i32, String>>());
    assert!(tracked::<Either<i32, Gc<Obj>>>());
    assert!(!tracked::<Keyed<String, u64>>());
    assert!(tracked::<Keyed<String, Gc<Obj>>>());

    let heap = Heap::new();
    let a = obj(&heap);
    assert!(!heap.is_tracked(&heap.alloc(W { x: 5_i32 })));
    let wrapped = heap.alloc(W { x: a.clone() });
    assert!(heap.is_tracked(&wrapped));

    assert_eq!(edges(&W { x: a.clone() }), [id(&a)]);
    assert!(edges(&W { x: 5_i32 }).is_empty());
    assert_eq!(edges(&Either::<Gc<Obj>, i32>::Left(a.clone())), [id(&a)]);
    assert!(edges(&Either::<Gc<Obj>, i32>::Right(3)).is_empty());

    let b = obj(&heap);
    let keyed = Keyed {
        map: HashMap::from([("a".to_owned(), a.clone())]),
        fallback: Some(b.clone()),
    };
    assert_eq!(edges(&keyed), [id(&a), id(&b)]);
}

#[derive(Trace)]
struct Partial {
    shown: Gc<Obj>,
    #[gc(skip)]
    opaque: Opaque,
    #[gc(skip)]
    ignored: Gc<Obj>,
}

#[derive(Trace)]
struct OnlySkipped {
    count: u32,
    #[gc(skip)]
    ignored: Gc<Obj>,
}

#[derive(Trace)]
enum SkipInVariant {
    Both(#[gc(skip)] Opaque, Gc<Obj>),
    Named {
        #[gc(skip)]
        ignored: Gc<Obj>,
    },
}

#[derive(Trace)]
struct View<'a> {
    items: Vec<Gc<Obj>>,
    #[gc(skip)]
    name: &'a str,
}

#[test]
fn skipped_fields_are_not_traced_or_required_to_be_trace() {
    let heap = Heap::new();
    let (a, b, c) = (obj(&heap), obj(&heap), obj(&heap));

    let partial = Partial {
        shown: a.clone(),
        opaque: Opaque { hidden: b.clone() },
        ignored: c.clone(),
    };
    assert_eq!(edges(&partial), [id(&a)]);
    assert_eq!(id(&partial.opaque.hidden), id(&b));
    assert_eq!(id(&partial.ignored), id(&c));

    // Skipped field types do not count towards TRACKED.
    assert!(!tracked::<OnlySkipped>());
    let only = OnlySkipped {
        count: 1,
        ignored: a.clone(),
    };
    assert!(edges(&only).is_empty());
    assert_eq!((only.count, id(&only.ignored)), (1, id(&a)));

    let both = SkipInVariant::Both(Opaque { hidden: a.clone() }, b.clone());
    assert_eq!(edges(&both), [id(&b)]);
    let named = SkipInVariant::Named { ignored: c.clone() };
    assert!(edges(&named).is_empty());
    if let (SkipInVariant::Both(opaque, _), SkipInVariant::Named { ignored }) = (&both, &named) {
        assert_eq!((id(&opaque.hidden), id(ignored)), (id(&a), id(&c)));
    }

    let view = View {
        items: vec![c.clone(), a.clone()],
        name: "view",
    };
    assert_eq!(edges(&view), [id(&c), id(&a)]);
    assert_eq!(view.name, "view");
}

#[derive(Trace)]
#[gc(bound = "")]
struct Tagged<T> {
    value: Gc<Obj>,
    #[gc(skip)]
    marker: PhantomData<T>,
}

/// Compiles only because `#[gc(bound = "")]` drops the inferred `T: Trace`.
fn tagged_edges<T>(tagged: &Tagged<T>) -> Vec<usize> {
    edges(tagged)
}

#[derive(Trace)]
#[gc(bound = "T: Trace + Clone")]
struct Custom<T> {
    inner: T,
}

/// Compiles only because the impl requires exactly `T: Trace + Clone`.
fn custom_edges<T: Trace + Clone>(custom: &Custom<T>) -> Vec<usize> {
    edges(custom)
}

#[test]
fn bound_attribute_replaces_inferred_bounds() {
    let heap = Heap::new();
    let a = obj(&heap);

    let tagged = Tagged::<Opaque> {
        value: a.clone(),
        marker: PhantomData,
    };
    assert_eq!(tagged_edges(&tagged), [id(&a)]);
    assert!(tracked::<Tagged<Opaque>>());
    assert_eq!(tagged.marker, PhantomData);

    assert_eq!(custom_edges(&Custom { inner: a.clone() }), [id(&a)]);
    assert!(custom_edges(&Custom { inner: 3_u8 }).is_empty());
    assert!(tracked::<Custom<Gc<Obj>>>());
    assert!(!tracked::<Custom<u8>>());
}

/// `Gc::id`s passed to a `Finalize::finalize` below.
static FINALIZED: Mutex<Vec<usize>> = Mutex::new(Vec::new());

fn was_finalized<T>(gc: &Gc<T>) -> bool {
    FINALIZED.lock().unwrap().contains(&id(gc))
}

#[derive(Trace)]
#[gc(finalize)]
struct Resource {
    handle: u32,
}

impl Finalize for Resource {
    fn finalize(this: &Gc<Self>) {
        FINALIZED.lock().unwrap().push(Gc::id(this));
    }
}

#[derive(Trace)]
#[gc(finalize, bound = "T: Trace + Send")]
struct Guarded<T> {
    value: T,
}

impl<T: Trace + Send> Finalize for Guarded<T> {
    fn finalize(this: &Gc<Self>) {
        FINALIZED.lock().unwrap().push(Gc::id(this));
    }
}

#[derive(Trace)]
#[gc(bound = "")]
#[gc(finalize)]
enum Slot<T> {
    Empty(#[gc(skip)] PhantomData<T>),
    Full(Gc<Obj>),
}

impl<T> Finalize for Slot<T> {
    fn finalize(this: &Gc<Self>) {
        FINALIZED.lock().unwrap().push(Gc::id(this));
    }
}

#[test]
fn finalize_attribute_installs_the_finalizer() {
    assert!(<Obj as Trace>::FINALIZER.is_none());
    assert!(<Pair as Trace>::FINALIZER.is_none());
    assert!(<W<Gc<Obj>> as Trace>::FINALIZER.is_none());

    let heap = Heap::new();

    assert!(!tracked::<Resource>());
    assert!(edges(&Resource { handle: 9 }).is_empty());
    let resource = heap.alloc(Resource { handle: 9 });
    let finalizer = <Resource as Trace>::FINALIZER.expect("Resource has #[gc(finalize)]");
    finalizer(&resource);
    assert!(was_finalized(&resource));

    let child = obj(&heap);
    let guarded = heap.alloc(Guarded {
        value: child.clone(),
    });
    assert!(tracked::<Guarded<Gc<Obj>>>());
    assert_eq!(
        edges(&Guarded {
            value: child.clone()
        }),
        [id(&child)]
    );
    let finalizer = <Guarded<Gc<Obj>> as Trace>::FINALIZER.expect("Guarded has #[gc(finalize)]");
    finalizer(&guarded);
    assert!(was_finalized(&guarded));

    let slot = heap.alloc(Slot::<Opaque>::Full(child.clone()));
    assert!(matches!(Slot::<Opaque>::Empty(PhantomData), Slot::Empty(_)));
    let finalizer = <Slot<Opaque> as Trace>::FINALIZER.expect("Slot has #[gc(finalize)]");
    finalizer(&slot);
    assert!(was_finalized(&slot));
}

#[derive(Trace)]
struct Plain {
    small: u8,
    signed: i64,
    float: f64,
    flag: bool,
    name: String,
    bytes: Vec<u8>,
    boxed: Option<Box<u64>>,
    pair: (u32, String),
    table: HashMap<String, Vec<i32>>,
}

#[derive(Trace)]
struct Tree {
    label: String,
    children: Vec<Gc<Tree>>,
}

#[allow(dead_code)] // only inspected at the type level: building one needs a `Gc<Cyclic>` first
#[derive(Trace)]
struct Cyclic {
    me: Gc<Self>,
}

#[derive(Trace)]
struct Holder {
    slot: GcCell<Option<Gc<Obj>>>,
}

#[test]
fn tracked_reflects_whether_a_gc_can_be_held() {
    assert!(!tracked::<Plain>());
    let plain = Plain {
        small: 1,
        signed: -2,
        float: 3.0,
        flag: true,
        name: "plain".to_owned(),
        bytes: vec![4, 5],
        boxed: Some(Box::new(6)),
        pair: (7, "eight".to_owned()),
        table: HashMap::from([("nine".to_owned(), vec![10])]),
    };
    assert!(edges(&plain).is_empty());
    let heap = Heap::new();
    assert!(!heap.is_tracked(&heap.alloc(plain)));

    // A field naming the type itself (`Self` or its own name) makes it tracked.
    assert!(tracked::<Obj>());
    assert!(tracked::<Cyclic>());
    assert!(tracked::<Tree>());
    let tail = obj(&heap);
    let head = Obj {
        next: Some(tail.clone()),
    };
    assert_eq!(edges(&head), [id(&tail)]);
    assert!(heap.is_tracked(&heap.alloc(head)));
    assert!(heap.is_tracked(&tail));

    let (left, right) = (
        heap.alloc(Tree {
            label: "left".to_owned(),
            children: Vec::new(),
        }),
        heap.alloc(Tree {
            label: "right".to_owned(),
            children: Vec::new(),
        }),
    );
    let root = Tree {
        label: "root".to_owned(),
        children: vec![left.clone(), right.clone()],
    };
    assert_eq!(edges(&root), [id(&left), id(&right)]);
    assert!(heap.is_tracked(&heap.alloc(root)));

    // Edges behind a `GcCell` are reported as they are at trace time.
    assert!(tracked::<Holder>());
    let holder = Holder {
        slot: GcCell::new(None),
    };
    assert!(edges(&holder).is_empty());
    let child = obj(&heap);
    *holder.slot.borrow_mut() = Some(child.clone());
    assert_eq!(edges(&holder), [id(&child)]);
    assert!(holder.slot.borrow().is_some());
}
