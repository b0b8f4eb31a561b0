"""CPython's side of gc-bench's collector comparison (C1-C4, see gc-bench/README.md).

    python3 cpython_gc.py CASE N REPS

builds the graph of CASE (c1, c2, c3, c4) with N objects, times collections with
time.perf_counter_ns() and prints one line of JSON. The graph shapes mirror gc-bench's gc-core
versions; C2 and C3 are pyperformance's gc_collect and gc_traversal. The automatic collector is
disabled while a graph is built (except in C4, which measures it).
"""

import gc
import json
import platform
import sys
import time

RING = 21  # pyperformance gc_collect: a node plus 20 links


class Node:
    def __init__(self):
        self.next = None
        self.prev = None


def link(a, b):
    a.next = b
    b.prev = a


def create_cycle(node, n_links):
    current = node
    for _ in range(n_links):
        next_node = Node()
        link(current, next_node)
        current = next_node
    link(current, node)


def create_gc_cycles(n_cycles, n_links):
    cycles = []
    for _ in range(n_cycles):
        node = Node()
        cycles.append(node)
        create_cycle(node, n_links)
    return cycles


def create_recursive_containers(n_levels):
    current_list = []
    for n in range(n_levels):
        new_list = [None] * n
        for index in range(n):
            new_list[index] = current_list
        current_list = new_list
    return current_list


def timed_collect():
    t0 = time.perf_counter_ns()
    found = gc.collect()
    return time.perf_counter_ns() - t0, found


def c1(n, reps):
    """N live containers (a list of N lists): a full collection finds nothing."""
    gc.disable()
    root = [[] for _ in range(n)]
    gc.collect()
    times, found = [], 0
    for _ in range(reps):
        t, found = timed_collect()
        times.append(t)
    assert len(root) == n
    return {"objects": n + 1, "times_ns": times, "found": found}


def c2(n, reps):
    """N objects, all cyclic garbage: rings of 21 doubly linked nodes."""
    gc.disable()
    rings = max(1, n // RING)
    times, found = [], 0
    for _ in range(reps):
        gc.collect()
        cycles = create_gc_cycles(rings, RING - 1)
        del cycles
        t, found = timed_collect()
        times.append(t)
    return {"objects": rings * RING, "times_ns": times, "found": found}


def c3(n, reps):
    """pyperformance gc_traversal: 1,000 live lists holding 499,500 references."""
    gc.disable()
    levels = 1000
    containers = create_recursive_containers(levels)
    gc.collect()
    times, found = [], 0
    for _ in range(reps):
        t, found = timed_collect()
        times.append(t)
    assert len(containers) == levels - 1
    return {"objects": levels, "times_ns": times, "found": found}


def c4(n, reps):
    """Heap growth: N long-lived containers built with the automatic collector on."""
    times, gc_times, collections = [], [], None
    for _ in range(reps):
        gc.disable()
        gc.collect()
        gc.enable()
        before = [s["collections"] for s in gc.get_stats()]
        spent = [0, 0]

        def callback(phase, info):
            if phase == "start":
                spent[1] = time.perf_counter_ns()
            else:
                spent[0] += time.perf_counter_ns() - spent[1]

        gc.callbacks.append(callback)
        t0 = time.perf_counter_ns()
        root = []
        for _ in range(n):
            root.append([])
        elapsed = time.perf_counter_ns() - t0
        gc.callbacks.remove(callback)
        gc.disable()
        after = [s["collections"] for s in gc.get_stats()]
        collections = [a - b for a, b in zip(after, before)]
        times.append(elapsed)
        gc_times.append(spent[0])
        del root
    return {
        "objects": n,
        "times_ns": times,
        "gc_ns": gc_times,
        "collections": collections,
        "found": 0,
    }


def main():
    case, n, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    result = {"c1": c1, "c2": c2, "c3": c3, "c4": c4}[case](n, reps)
    result.update(
        case=case,
        n=n,
        reps=reps,
        version=platform.python_version(),
        implementation=platform.python_implementation(),
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
