//! The tour's examples, run as tests: each step's printed observations are checked.

use std::path::PathBuf;

#[path = "../examples/tour/mod.rs"]
mod tour;

/// Runs one step (or all with `None`), files going to a directory of the test's own.
fn run(step: Option<&str>) -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("tour")
        .join(step.unwrap_or("all"));
    let mut out = Vec::new();
    tour::run(&mut out, step, Some(&dir)).unwrap();
    String::from_utf8(out).unwrap()
}

/// Asserts that `expected` lines occur in `output`, in this order (other lines between).
#[track_caller]
fn assert_lines(output: &str, expected: &[&str]) {
    let mut lines = output.lines();
    for want in expected {
        assert!(
            lines.any(|line| line == *want),
            "missing (or out of order) line {want:?} in:\n{output}"
        );
    }
}

/// The value after `prefix` on the line starting with it.
#[track_caller]
fn value<'a>(output: &'a str, prefix: &str) -> &'a str {
    output
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{output}"))
}

#[test]
fn s01_names_are_labels() {
    let out = run(Some("names"));
    assert_eq!(value(&out, "id(a) = "), value(&out, "id(b) = "));
    assert_ne!(value(&out, "id(a) = "), value(&out, "id(c) = "));
    assert!(value(&out, "id(a) = ").starts_with("0x"));
    assert_lines(
        &out,
        &[
            "a is b: True",
            "b.append(4)",
            "a = [1, 2, 3, 4]",
            "a == c: True",
            "a is c: False",
            "x is a: False, x is c: True",
        ],
    );
}

#[test]
fn s02_small_values_are_shared() {
    let out = run(Some("small_values"));
    assert_lines(
        &out,
        &[
            "a is b: True    # both from the small-int table",
            "ref_count(a) = 3    # the table, a and b",
            "c is d: False   # outside the table: two objects",
            "c == d: True",
            "s is t: True",
            "u == v: True, u is v: False",
        ],
    );
    let ab = value(&out, "id(a) = ");
    let (a, b) = ab.split_once(", id(b) = ").unwrap();
    assert_eq!(a, b);
    let cd = value(&out, "id(c) = ");
    let (c, d) = cd.split_once(", id(d) = ").unwrap();
    assert_ne!(c, d);
}

#[test]
fn s03_reference_counts_follow_every_reference() {
    let out = run(Some("refcounts"));
    let counts: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_once("ref_count(x) = ").map(|(_, n)| &n[..1]))
        .collect();
    // object, y = x, a borrow, [x, x], {'key': x}, inside f, after f, del d['key'], del l, del y
    assert_eq!(counts, ["1", "2", "2", "4", "5", "6", "5", "4", "2", "1"]);
    assert_lines(
        &out,
        &["del x                   freed: a weak reference to it now gives None: True"],
    );
}

#[test]
fn s04_finalizers_run_when_the_count_hits_zero() {
    let out = run(Some("finalizers"));
    assert_lines(
        &out,
        &[
            "del obj",
            "    __del__: first is being destroyed",
            "x = Noisy('second'); y = x",
            "del x                # ref_count(y) = 1: nothing happens",
            "del y",
            "    __del__: second is being destroyed",
            "f()",
            "  in f(): local = Noisy('local')",
            "    __del__: local is being destroyed",
            "f() returned",
            "z = Noisy('new')     # the old object loses its last name",
            "    __del__: old is being destroyed",
            "z is now new",
            "end of scope",
            "    __del__: new is being destroyed",
        ],
    );
    assert_eq!(out.matches("__del__").count(), 5, "each object dies once");
}

#[test]
fn s05_a_cycle_needs_the_collector() {
    let out = run(Some("cycles"));
    assert_lines(
        &out,
        &[
            "ref_count(a) = 2, ref_count(b) = 2",
            "del b                # no __del__: each is still referred to by the other",
            "tracked objects alive: 2",
            "collected = gc.collect()",
            "Collected 2 objects",
            "tracked objects alive: 0",
            "a weak reference to a now gives None: True",
        ],
    );
    let before_collect = out.split("collected = gc.collect()").next().unwrap();
    assert!(
        !before_collect.contains("    __del__:"),
        "nothing died before the collection"
    );
    assert!(out.contains("    __del__: a (its next, b, is still intact)"));
    assert!(out.contains("    __del__: b (its next, a, is still intact)"));
}

#[test]
fn s06_the_gc_module_surface() {
    let out = run(Some("gc_module"));
    assert_lines(
        &out,
        &[
            "gc.isenabled() = True",
            "gc.get_threshold() = (700, 10, 10)",
            "gc.get_count() = (0, 0, 0)",
            "gc.get_count() = (10, 0, 0)    # only tracked allocations count",
            "len(gc.get_objects()) = 10",
            "gc.is_tracked(node) = True",
            "gc.is_tracked(42) = False",
            "gc.collect(0) = 0",
            "gc.get_count() = (0, 1, 0)    # one more young collection counted",
            "len(gc.get_objects(0)) = 0, len(gc.get_objects(1)) = 10    # survivors promoted",
            "    callback: start, generation 2",
            "    callback: stop, generation 2, collected 1, uncollectable 0",
            "gc.collect() = 1",
            "gc.get_count() = (0, 0, 0)",
            "gc.get_stats()[2] = {'collections': 1, 'collected': 1, 'uncollectable': 0}",
            "gc.freeze(); gc.get_freeze_count() = 10",
            "len(gc.get_objects(2)) = 0    # frozen objects are never scanned",
            "gc.unfreeze(); gc.get_freeze_count() = 0",
            "gc.set_threshold(1000, 20, 20); gc.get_threshold() = (1000, 20, 20)",
            "gc.disable(); gc.isenabled() = False",
            "all dropped: len(gc.get_objects()) = 0",
        ],
    );
}

#[test]
fn s07_saveall_keeps_the_garbage() {
    let out = run(Some("saveall"));
    assert_lines(
        &out,
        &[
            "gc.set_debug(gc.DEBUG_SAVEALL)",
            "gc.collect() = 2",
            "len(gc.garbage) = 2",
            "gc.collect() = 2    # now they are freed",
            "len(gc.garbage) = 0",
        ],
    );
    assert_eq!(
        value(&out, "gc.garbage = [").matches("<Node at 0x").count(),
        2
    );
    let intact = value(&out, "still intact: ");
    assert!(
        intact == "gc.garbage[0].name = 'a', its next = 'b'"
            || intact == "gc.garbage[0].name = 'b', its next = 'a'",
        "{intact}"
    );
}

#[test]
fn s08_weak_references_and_callbacks() {
    let out = run(Some("weakrefs"));
    assert_lines(
        &out,
        &[
            "r() = <Node obj>",
            "r() is obj: True",
            "ref_count(obj) = 1    # r does not count",
            "del obj",
            "    callback: r's object has died",
            "r() = None",
            "w() = <Node a>    # unreachable, but not found yet",
            "    callback: a was collected",
            "gc.collect() = 2",
            "w() = None",
        ],
    );
    assert!(
        !out.contains("never runs"),
        "a garbage weak reference's callback ran:\n{out}"
    );
}

#[test]
fn s09_show_refs_draws_the_graph() {
    let out = run(Some("show_refs"));
    assert_lines(
        &out,
        &[
            "4 objects, 6 references",
            "in a cycle (drawn in red): list, len 3; list, len 1; list, len 1; dict, len 1",
            "digraph ObjectGraph {",
            "  n0 -> n1 [color=\"red\", penwidth=2];",
            "  n3 -> n1 [color=\"red\", penwidth=2];",
            "}",
        ],
    );
    let dot = PathBuf::from(value(&out, "wrote "));
    assert!(dot.ends_with("sample-graph.dot"));
    let text = std::fs::read_to_string(&dot).unwrap();
    assert!(text.starts_with("digraph ObjectGraph {\n"));
    assert!(text.contains("object\\nlist, len 3\\n0x"));
    let drawn = out
        .lines()
        .any(|l| l.starts_with("wrote ") && l.ends_with("sample-graph.svg"));
    let explained = out
        .lines()
        .any(|l| l.starts_with("no picture: Graphviz is not installed"));
    assert!(drawn || explained, "{out}");
}

#[test]
fn s10_hunting_a_leak() {
    let out = run(Some("leaks"));
    assert_lines(
        &out,
        &[
            "objgraph.show_growth()    # the first call lists everything",
            "Cache        1        +1",
            "handled 9 requests",
            "objgraph.show_growth()",
            "Request        3        +3",
            "Session        3        +3",
            "objgraph.show_most_common_types()",
            "Request 3",
            "Session 3",
            "Cache   1",
            "objgraph.find_backref_chain(request, held_from_outside)",
            "leak report against the baseline:",
            "  new objects by type:",
            "    Request 3",
            "    Session 3",
            "cache cleared",
        ],
    );
    let chain = out
        .lines()
        .skip_while(|l| !l.starts_with("objgraph.find_backref_chain"))
        .nth(1)
        .unwrap();
    assert!(chain.starts_with("Cache -> Request /page/"), "{chain}");
    assert!(out.contains("objgraph.show_backrefs([request]): 3 objects, wrote "));
    assert!(out.contains("leak report: 6 new objects survived a full collection"));
    assert!(
        out.contains(": 6 new objects\n"),
        "the cache keeps them all:\n{out}"
    );
    assert!(out.trim_end().ends_with(
        "leak report: clean (the final collection found 6 unreachable; nothing new survived, \
         no garbage, nothing uncollectable)"
    ));
}

#[test]
fn the_whole_tour_runs_every_step_in_order() {
    let out = run(None);
    let headings: Vec<&str> = out.lines().filter(|l| l.starts_with("== ")).collect();
    let expected: Vec<String> = tour::STEPS
        .iter()
        .map(|s| format!("== {} ==", s.title))
        .collect();
    assert_eq!(headings, expected);
    assert!(out.contains("Collected 2 objects"));
    let mut sink = Vec::new();
    let err = tour::run(&mut sink, Some("no-such-step"), None).unwrap_err();
    assert!(err
        .to_string()
        .contains("the steps are names, small_values"));
}
