//! `std::process::exit` on an attached main thread: the process ends quietly, without a
//! message about a thread exiting attached (the main thread's holds go with the process).
//!
//! Its own harness, so that the child process runs on the real main thread: the binary runs
//! itself with an environment variable set, and checks what the child printed.

const NAME: &str = "process_exit_on_an_attached_main_thread_prints_nothing";
const CHILD: &str = "GC_CORE_EXIT_ATTACHED_CHILD";

#[derive(gc_core::Trace)]
struct Node {
    next: gc_core::GcCell<Option<gc_core::Gc<Node>>>,
}

fn main() {
    if std::env::var(CHILD).is_ok() {
        let heap = gc_core::Heap::new();
        let m = heap.attach();
        let node = m.alloc(Node {
            next: gc_core::GcCell::new(None),
        });
        let _borrow = node.next.borrow_mut();
        std::process::exit(0);
    }
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        // The listing test runners ask for (`--ignored`: none).
        if !args.iter().any(|a| a == "--ignored") {
            println!("{NAME}: test");
        }
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("gc-core"), "the child printed: {stderr}");
    println!("test {NAME} ... ok");
}
