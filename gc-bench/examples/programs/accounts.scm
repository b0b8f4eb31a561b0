; Accounts, closures over mutable state, moved money around by four threads that share the
; global environment (the table of accounts and the procedures); each thread transfers only
; between its own four accounts, whose frames it alone touches. Pairs, set!, and cyclic
; garbage (every account's history points back at it). Prints the transfers made, the number
; of accounts, the total balance (transfers keep it), and 120 = 5!.

(define (make-account balance)
  ; A closure over its own balance; `history' is a list that points back at the account,
  ; so every account is a cycle once dropped.
  (define history '())
  (define (self message amount)
    (cond ((eq? message 'deposit) (set! balance (+ balance amount)) balance)
          ((eq? message 'withdraw) (set! balance (- balance amount)) balance)
          ((eq? message 'balance) balance)
          (else 0)))
  (set! history (cons self history))
  self)

(define accounts
  (let loop ((n 16) (acc '()))
    (if (= n 0) acc (loop (- n 1) (cons (make-account 100) acc)))))

(define (nth lst k) (if (= k 0) (car lst) (nth (cdr lst) (- k 1))))

(define (transfer from to amount)
  ((nth accounts from) 'withdraw amount)
  ((nth accounts to) 'deposit amount))

(define (worker k)
  (lambda ()
    (let loop ((i 0) (x (+ k 1)))
      (if (< i 2000)
          (begin
            (transfer (+ (* 4 k) (modulo x 4)) (+ (* 4 k) (modulo (* x 7) 4)) (modulo x 10))
            ; Scratch accounts: garbage cycles for the collector.
            (make-account i)
            (loop (+ i 1) (modulo (+ (* x 1103) 12345) 65536)))
          i))))

(define threads (list (spawn (worker 0)) (spawn (worker 1)) (spawn (worker 2)) (spawn (worker 3))))
(define (join-all ts) (if (null? ts) 0 (+ (join (car ts)) (join-all (cdr ts)))))
(join-all threads)

(define (total lst) (if (null? lst) 0 (+ ((car lst) 'balance 0) (total (cdr lst)))))
(length accounts)
(total accounts)
(let fact ((n 5)) (if (= n 0) 1 (* n (fact (- n 1)))))
