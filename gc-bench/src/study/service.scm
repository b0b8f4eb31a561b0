;; The interp shape of the threshold study: a small service written in Scheme.
;;
;; (open! n) builds the long-lived state: n accounts, each a closure over its own balance and
;; history (and over a helper defined inside it, so every account is a cycle), in a balanced
;; tree. (handle k) serves request k: it builds a list, maps, filters and folds over it with
;; closures, and deposits the result into account k mod n. Each request leaves cyclic garbage:
;; the frame of its `let` holds the procedure defined in it, which closes over that frame, and
;; every tenth request also drops a ring of three pairs.

(define (iota n)
  (let loop ((i n) (acc '()))
    (if (= i 0) acc (loop (- i 1) (cons i acc)))))

(define (map f l)
  (if (null? l) '() (cons (f (car l)) (map f (cdr l)))))

(define (filter keep? l)
  (cond ((null? l) '())
        ((keep? (car l)) (cons (car l) (filter keep? (cdr l))))
        (else (filter keep? (cdr l)))))

(define (fold f acc l)
  (if (null? l) acc (fold f (f acc (car l)) (cdr l))))

(define (take n l)
  (if (or (= n 0) (null? l)) '() (cons (car l) (take (- n 1) (cdr l)))))

(define (make-account id)
  (let ((balance 0) (history '()))
    (define (deposit! amount)
      (set! balance (+ balance amount))
      (set! history (take 8 (cons amount history)))
      balance)
    (lambda (message amount)
      (if (eq? message 'deposit) (deposit! amount) balance))))

;; A node is (key account left right).
(define (make-tree lo hi)
  (if (> lo hi)
      '()
      (let ((mid (quotient (+ lo hi) 2)))
        (list mid (make-account mid) (make-tree lo (- mid 1)) (make-tree (+ mid 1) hi)))))

(define (lookup tree key)
  (let ((k (car tree)))
    (cond ((= key k) (car (cdr tree)))
          ((< key k) (lookup (car (cdr (cdr tree))) key))
          (else (lookup (car (cdr (cdr (cdr tree)))) key)))))

(define entries 0)
(define accounts '())

(define (open! n)
  (set! entries n)
  (set! accounts (make-tree 0 (- n 1))))

(define (handle k)
  (let ((items (map (lambda (i) (+ i k)) (iota 16))))
    (define (total)
      (fold + 0 (filter (lambda (x) (= 0 (remainder x 3))) items)))
    (if (= 0 (remainder k 10))
        (let ((ring (list k k k)))
          (set-cdr! (cdr (cdr ring)) ring)))
    ((lookup accounts (remainder k entries)) 'deposit (total))))
