//! Runs a Scheme program on gc-core (`gc_bench::interp`) and prints the value of each
//! top-level form, as a REPL would.
//!
//! ```text
//! cargo run -p gc-bench --example scheme -- program.scm
//! cargo run -p gc-bench --example scheme -- -e '(define (f n) (if (= n 0) 1 (* n (f (- n 1))))) (f 20)'
//! cargo run -p gc-bench --example scheme -- --stats program.scm    # and the collections it caused
//! ```

use std::process::ExitCode;

use gc_bench::interp::{reader, Interp, Machine, Value};
use gc_core::Heap;

const USAGE: &str = "usage: scheme [--stats] (FILE | -e EXPRESSIONS)";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let stats = args.first().is_some_and(|a| a == "--stats");
    if stats {
        args.remove(0);
    }
    let src = match args.as_slice() {
        [flag, text] if flag == "-e" => text.clone(),
        [path] if !path.starts_with('-') => match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("scheme: {path}: {e}");
                return ExitCode::FAILURE;
            }
        },
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::FAILURE;
        }
    };

    let heap = Heap::new();
    let scheme = Interp::new(&heap);
    let m = heap.attach();
    let status = match run(&scheme, &m, &src) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scheme: {e}");
            ExitCode::FAILURE
        }
    };
    if stats {
        for (g, s) in heap.stats().iter().enumerate() {
            println!(
                ";; generation {g}: {} collections, {} objects collected",
                s.collections, s.collected
            );
        }
        println!(";; {} procedure calls", scheme.calls());
    }
    status
}

/// Evaluates the forms of `src` one by one, printing each value as it comes.
fn run(scheme: &Interp, m: &gc_core::Mutator, src: &str) -> gc_bench::interp::Result<()> {
    let machine = Machine::new(scheme, m);
    for datum in reader::read_all(scheme, m, src)? {
        match machine.eval_top(&datum)? {
            Value::Unspecified => {}
            value => println!("{}", value.written()),
        }
    }
    Ok(())
}
