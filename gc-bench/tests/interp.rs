//! The Scheme interpreter on real programs: results, output, errors, tail calls, threads, and
//! the garbage its environments make, freed by the cycle collector.

use gc_bench::interp::{Interp, Machine, Value};
use gc_core::{Config, Heap};

/// Runs `src` on a fresh heap and returns the written form of its last value.
fn eval(src: &str) -> Result<String, String> {
    let heap = Heap::new();
    let scheme = Interp::new(&heap);
    let m = heap.attach();
    scheme
        .eval_str(&m, src)
        .map(|v| v.written())
        .map_err(|e| e.to_string())
}

#[track_caller]
fn assert_evals(src: &str, expected: &str) {
    assert_eq!(eval(src).as_deref(), Ok(expected), "{src}");
}

#[track_caller]
fn assert_fails(src: &str, message: &str) {
    match eval(src) {
        Ok(v) => panic!("{src} gave {v}, not an error"),
        Err(e) => assert!(e.contains(message), "{src}: {e:?} does not say {message:?}"),
    }
}

/// Tracked objects on `heap`, all generations.
fn objects(heap: &Heap) -> usize {
    heap.objects(None).expect("all generations").len()
}

#[test]
fn arithmetic_lists_and_special_forms() {
    assert_evals("(+ 1 (* 2 3) (- 10 4))", "13");
    assert_evals("(- 5)", "-5");
    assert_evals(
        "(list (quotient 17 5) (remainder -17 5) (modulo -17 5))",
        "(3 -2 3)",
    );
    assert_evals(
        "(list (< 1 2 3) (< 1 3 2) (= 4 4) (>= 3 3 1))",
        "(#t #f #t #t)",
    );
    assert_evals("(cons 1 (cons 2 3))", "(1 2 . 3)");
    assert_evals("'(a \"b\" (c . d) #t ())", "(a \"b\" (c . d) #t ())");
    assert_evals("(length (list 1 2 3 4))", "4");
    assert_evals(
        "(list (null? '()) (pair? '()) (pair? '(1)) (not 0))",
        "(#t #f #t #f)",
    );
    assert_evals("(eq? 'a 'a)", "#t");
    assert_evals("(if #f 1)", "#<unspecified>");
    assert_evals(
        "(define (classify n) (cond ((< n 0) 'negative) ((= n 0) 'zero) (else 'positive)))
         (list (classify -3) (classify 0) (classify 8))",
        "(negative zero positive)",
    );
    assert_evals(
        "(list (and) (and 1 2) (and 1 #f 3) (or) (or #f 2))",
        "(#t 2 #f #f 2)",
    );
    assert_evals("(let ((x 2) (y 3)) (let ((x 7)) (* x y)))", "21");
    assert_evals("(begin (define x 1) (set! x (+ x 1)) x)", "2");
    assert_evals("((lambda (a . rest) (list a rest)) 1 2 3)", "(1 (2 3))");
    assert_evals("((lambda args args) 1 2)", "(1 2)");
    assert_evals(
        "(let loop ((i 0) (acc '())) (if (= i 4) acc (loop (+ i 1) (cons i acc))))",
        "(3 2 1 0)",
    );
}

#[test]
fn closures_keep_their_own_mutable_state() {
    assert_evals(
        "(define (make-counter)
           (let ((n 0))
             (lambda () (set! n (+ n 1)) n)))
         (define a (make-counter))
         (define b (make-counter))
         (a) (a) (b)
         (list (a) (b))",
        "(3 2)",
    );
    assert_evals(
        "(define (make-account balance)
           (define (withdraw amount) (set! balance (- balance amount)) balance)
           (define (deposit amount) (set! balance (+ balance amount)) balance)
           (lambda (op amount) (if (eq? op 'withdraw) (withdraw amount) (deposit amount))))
         (define acc (make-account 100))
         (acc 'withdraw 30)
         (acc 'deposit 5)",
        "75",
    );
}

#[test]
fn recursion_and_a_million_tail_calls_in_constant_stack() {
    assert_evals(
        "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2))))) (fib 20)",
        "6765",
    );
    let heap = Heap::new();
    let scheme = Interp::new(&heap);
    let m = heap.attach();
    scheme
        .run(
            &m,
            "(define (count-down n) (if (= n 0) 'done (count-down (- n 1))))
             (define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))
             (define (even? n) (if (= n 0) #t (odd? (- n 1))))
             (define (odd? n) (if (= n 0) #f (even? (- n 1))))",
        )
        .unwrap();
    // A budget far too small for 1,000 levels of real recursion is enough for 10^6 tail calls,
    // direct or mutual: they do not grow the Rust stack.
    let machine = Machine::with_stack_budget(&scheme, &m, 256 << 10);
    let call = |src: &str| {
        let datum = gc_bench::interp::reader::read_all(&scheme, &m, src).unwrap();
        machine.eval_top(&datum[0])
    };
    assert_eq!(call("(count-down 1000000)").unwrap().written(), "done");
    assert_eq!(call("(even? 100001)").unwrap().written(), "#f");
    assert_eq!(
        call("(deep 1000)").unwrap_err().to_string(),
        "recursion too deep"
    );
    assert_eq!(call("(deep 10)").unwrap().written(), "10");
    drop(machine);
    assert!(scheme.calls() > 1_000_000, "{}", scheme.calls());
}

#[test]
fn display_writes_to_the_output() {
    let heap = Heap::new();
    let scheme = Interp::capturing(&heap);
    let m = heap.attach();
    scheme
        .run(
            &m,
            "(display \"total: \") (display (+ 40 2)) (newline) (display '(\"x\" y))",
        )
        .unwrap();
    assert_eq!(scheme.take_output(), "total: 42\n(x y)");
    assert_eq!(scheme.take_output(), "");
}

#[test]
fn errors_are_results_naming_what_went_wrong() {
    assert_fails("(car 1)", "car: expected a pair, got an integer");
    assert_fails("(cdr '())", "cdr: expected a pair, got the empty list");
    assert_fails("(+ 1 'a)", "+: expected an integer, got a symbol");
    assert_fails("nowhere", "unbound variable: nowhere");
    assert_fails("(set! nowhere 1)", "unbound variable: nowhere");
    assert_fails("((lambda (x) x))", "expected 1 argument(s), got 0");
    assert_fails(
        "(define (f a b) a) (f 1 2 3)",
        "f: expected 2 argument(s), got 3",
    );
    assert_fails("(cons 1)", "cons: expected 2 argument(s), got 1");
    assert_fails("(quotient 1 0)", "quotient: division by zero");
    assert_fails("(* 9223372036854775807 2)", "*: integer overflow");
    assert_fails("(1 2)", "not a procedure: 1");
    assert_fails("(if)", "bad syntax: (if)");
    assert_fails("(lambda (x 1) x)", "bad syntax");
    assert_fails("(define if 3)", "bad syntax");
    assert_fails("(let ((x)) x)", "bad syntax");
    assert_fails("()", "bad syntax: ()");
    assert_fails("(length '(1 . 2))", "length: not a proper list");
    assert_fails(
        "(define l (list 1 2 3)) (set-cdr! (cdr (cdr l)) l) (length l)",
        "length: the list is circular",
    );
    assert_fails("(+ 1 2", "line 1: unclosed '('");
    assert_fails("\n)", "line 2: unexpected ')'");
    assert_fails("\"abc", "unterminated string");
    assert_fails("99999999999999999999", "integer out of range");
    assert_fails("(join 5)", "join: expected a thread, got an integer");
    // The error of a form stops the program: what follows does not run.
    let heap = Heap::new();
    let scheme = Interp::new(&heap);
    let m = heap.attach();
    assert!(scheme.run(&m, "(define a 1) (car a) (define b 2)").is_err());
    assert_eq!(scheme.eval_str(&m, "a").unwrap().written(), "1");
    assert!(scheme.eval_str(&m, "b").is_err());
}

#[test]
fn cyclic_structures_are_freed_by_a_collection() {
    let heap = Heap::with_config(Config::default().thresholds(&[0, 10, 10])).unwrap();
    let scheme = Interp::new(&heap);
    let m = heap.attach();
    scheme
        .run(
            &m,
            // Each call leaves its frame holding `me`, whose closure holds the frame: a cycle.
            "(define (make-cycle) (define (me) me) 0)
             (define (churn n) (if (= n 0) 'done (begin (make-cycle) (churn (- n 1)))))",
        )
        .unwrap();
    let before = objects(&heap);
    scheme.run(&m, "(churn 100)").unwrap();
    assert_eq!(
        objects(&heap),
        before + 200,
        "100 frames and their closures"
    );

    // A circular list, then forgotten.
    scheme
        .run(
            &m,
            "(define ring (list 1 2 3)) (set-cdr! (cdr (cdr ring)) ring)",
        )
        .unwrap();
    let ring = scheme.eval_str(&m, "ring").unwrap();
    assert!(ring.written().ends_with("...)"), "printed with a bound");
    drop(ring);
    scheme.run(&m, "(set! ring 0)").unwrap();
    assert_eq!(objects(&heap), before + 203);

    assert_eq!(heap.collect(), 203);
    assert_eq!(objects(&heap), before);
}

#[test]
fn threads_share_the_globals_and_their_functions() {
    let heap = Heap::new();
    let scheme = Interp::capturing(&heap);
    let m = heap.attach();
    let v = scheme
        .eval_str(
            &m,
            "(define shared (list 1 2 3 4 5))
             (define (sum l) (if (null? l) 0 (+ (car l) (sum (cdr l)))))
             (define (make-cycle) (define (me) me) 0)
             (define (work k)
               (let loop ((i 0) (acc 0))
                 (if (= i 20000)
                     acc
                     (begin (make-cycle) (loop (+ i 1) (+ acc (* k (sum shared))))))))
             (define results '())
             (define (report! r) (set! results (cons r results)))
             (define threads
               (list (spawn (lambda () (work 1)))
                     (spawn (lambda () (report! 'second) (work 2)))
                     (spawn (lambda () (display \"hello\") 3))))
             (define values (list (join (car threads)) (join (car (cdr threads)))
                                  (join (car (cdr (cdr threads))))))
             (list values results (join (car threads)))",
        )
        .unwrap();
    assert_eq!(v.written(), "((300000 600000 3) (second) 300000)");
    assert_eq!(scheme.take_output(), "hello");
    // The threads' cyclic garbage was collected while they ran, automatically.
    let collected: u64 = heap.stats().iter().map(|s| s.collected).sum();
    assert!(collected > 10_000, "collected {collected}");
}

#[test]
fn a_thread_error_comes_back_from_join() {
    assert_fails(
        "(join (spawn (lambda () (car '()))))",
        "car: expected a pair, got the empty list",
    );
    assert_fails("(spawn 3)", "spawn: expected a procedure, got an integer");
    // A thread that waits for its own thread object, then joins itself.
    assert_fails(
        "(define box (list #f))
         (define t (spawn (lambda () (let wait () (if (car box) (join (car box)) (wait))))))
         (set-car! box t)
         (join t)",
        "join: a thread cannot join itself",
    );
}

#[test]
fn cyclic_environment_garbage_stays_bounded_under_automatic_collection() {
    let heap = Heap::new();
    let scheme = Interp::new(&heap);
    let m = heap.attach();
    scheme
        .run(
            &m,
            "(define keep '())
             (define (make-cycle k)
               (define (me) (list me k))
               (if (= 0 (remainder k 1000)) (set! keep (cons k keep)))
               k)
             (define (churn n) (if (= n 0) (length keep) (begin (make-cycle n) (churn (- n 1)))))",
        )
        .unwrap();
    let threshold = heap.thresholds()[0];
    let mut peak = 0;
    for _ in 0..20 {
        let v = scheme.eval_str(&m, "(churn 10000)").unwrap();
        assert!(matches!(v, Value::Int(_)));
        peak = peak.max(objects(&heap));
        assert!(
            heap.count()[0] <= 2 * threshold,
            "gen 0: {:?}",
            heap.count()
        );
    }
    // 200,000 calls made 400,000 objects, every one of them in a cycle.
    let collected: u64 = heap.stats().iter().map(|s| s.collected).sum();
    assert!(collected >= 390_000, "collected {collected}");
    assert!(peak < 20_000, "peak of {peak} tracked objects");
    assert_eq!(
        scheme.eval_str(&m, "(length keep)").unwrap().written(),
        "200"
    );
}
