//! How objects are named on graph nodes: a short type name, or what the type says of itself.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::handle::GcAny;
use crate::trace::Trace;

/// A type's own name and per-object description for graphs, registered with
/// [`Labels::describe`].
///
/// ```
/// use gc_core::objgraph::{Describe, Labels};
/// use gc_core::{GcAny, Heap, Trace};
///
/// #[derive(Trace)]
/// struct Account {
///     owner: String,
/// }
///
/// impl Describe for Account {
///     fn type_label() -> String {
///         "account".into()
///     }
///     fn describe(&self) -> Option<String> {
///         Some(self.owner.clone())
///     }
/// }
///
/// let heap = Heap::new();
/// let acct = GcAny::from(heap.alloc(Account { owner: "ada".into() }));
/// let label = Labels::new().describe::<Account>().label(&acct);
/// assert_eq!((label.type_label.as_str(), label.description.as_deref()), ("account", Some("ada")));
/// ```
pub trait Describe: Trace + Send + Sync + 'static {
    /// The name graphs show for the type; by default its [`short_type_name`].
    fn type_label() -> String {
        short_type_name(core::any::type_name::<Self>())
    }

    /// A line about this object (a field or two), shown under the type's name.
    fn describe(&self) -> Option<String> {
        None
    }
}

/// What a node shows: the type's name and, optionally, a line about the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The type's display name.
    pub type_label: String,
    /// A description of the object, if its type gives one.
    pub description: Option<String>,
}

type Labeler = Arc<dyn Fn(&GcAny) -> Option<Label> + Send + Sync>;

/// Per-type naming rules for graphs; types without one get their [`short_type_name`].
#[derive(Clone, Default)]
pub struct Labels {
    /// Keyed by `std::any::type_name`; each entry downcasts, so two types sharing a name
    /// cannot be confused. Newest registration last.
    by_type: HashMap<&'static str, Vec<Labeler>>,
}

impl Labels {
    /// No rules: every object is named by its type's short name.
    pub fn new() -> Labels {
        Labels::default()
    }

    /// Names `T`'s objects as its [`Describe`] impl says.
    pub fn describe<T: Describe>(self) -> Labels {
        self.register::<T>(Arc::new(|object: &GcAny| {
            object.downcast::<T>().map(|gc| Label {
                type_label: T::type_label(),
                description: gc.describe(),
            })
        }))
    }

    /// Describes `T`'s objects with `describe`, under the type's short name.
    pub fn with<T: Trace + Send + Sync + 'static>(
        self,
        describe: impl Fn(&T) -> String + Send + Sync + 'static,
    ) -> Labels {
        self.register::<T>(Arc::new(move |object: &GcAny| {
            object.downcast::<T>().map(|gc| Label {
                type_label: short_type_name(core::any::type_name::<T>()),
                description: Some(describe(&gc)),
            })
        }))
    }

    fn register<T: 'static>(mut self, labeler: Labeler) -> Labels {
        self.by_type
            .entry(core::any::type_name::<T>())
            .or_default()
            .push(labeler);
        self
    }

    /// The label of `object`: the newest rule registered for its type, else its short name.
    pub fn label(&self, object: &GcAny) -> Label {
        self.by_type
            .get(object.type_name())
            .and_then(|rules| rules.iter().rev().find_map(|rule| rule(object)))
            .unwrap_or_else(|| Label {
                type_label: short_type_name(object.type_name()),
                description: None,
            })
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut types: Vec<&str> = self.by_type.keys().copied().collect();
        types.sort_unstable();
        f.debug_struct("Labels").field("types", &types).finish()
    }
}

/// A type name without its module paths: `alloc::vec::Vec<my_crate::graph::Node>` becomes
/// `Vec<Node>` (objgraph's `shortnames`).
pub fn short_type_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    // Where the path being read started in `out`: a `::` drops what came since.
    let mut path_start = 0;
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            if out.len() > path_start {
                out.truncate(path_start);
            } else {
                out.push_str("::");
                path_start = out.len();
            }
        } else {
            out.push(c);
            if !(c.is_alphanumeric() || c == '_') {
                path_start = out.len();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::short_type_name;

    #[test]
    fn short_names_drop_every_module_path() {
        assert_eq!(short_type_name("i32"), "i32");
        assert_eq!(
            short_type_name("alloc::vec::Vec<my_crate::graph::Node>"),
            "Vec<Node>"
        );
        assert_eq!(
            short_type_name("core::option::Option<(alloc::string::String, [u8; 4])>"),
            "Option<(String, [u8; 4])>"
        );
        assert_eq!(
            short_type_name("std::collections::hash::map::HashMap<alloc::string::String, gc_core::handle::Gc<a::B>>"),
            "HashMap<String, Gc<B>>"
        );
        assert_eq!(
            short_type_name("<a::T as b::Trait>::Assoc"),
            "<T as Trait>::Assoc"
        );
    }
}
