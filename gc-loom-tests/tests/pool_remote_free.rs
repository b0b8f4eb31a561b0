//! Model 9: blocks given back to a page by a thread that does not own it.
//!
//! The main thread takes both blocks of a page and hands them to a thread that gives them
//! back. The first push onto the page's empty remote stack files the page for its owner, under
//! the registry's lock; a push onto a stack that is not empty takes no lock. Meanwhile the
//! owner takes two blocks; out of blocks, it runs its slow path: it takes the pages filed for
//! it and empties their stacks, handing out the blocks given back, or takes a new page. A block reused before its push
//! happened before (the push must release, the take acquire) is a causality violation on the
//! block's contents, or on the page's memory if the owner frees the page. Once the giver is
//! joined, no page of the owner's may hold blocks on its remote stack without being filed.
#![cfg(loom)]

use gc_core::loom_hooks::pool;
use gc_loom_tests::loom::thread;
use gc_loom_tests::{model, Blocks, Held};

/// The owner's part while the giver runs: two blocks, the first through the slow path, which
/// takes what is filed (the second comes from the same page if two blocks came back).
fn take_two(blocks: &Blocks) -> [Held; 2] {
    [blocks.take(), blocks.take()]
}

/// The owner's part once the giver is joined: no page waits unfiled; everything back.
fn finish(blocks: &Blocks, taken: [Held; 2]) {
    assert_eq!(
        pool::unfiled(),
        0,
        "pages with blocks given back are filed for the owner"
    );
    for held in taken {
        blocks.give_back(held);
    }
    pool::exit();
    blocks.assert_end();
}

#[test]
fn blocks_given_back_one_at_a_time_against_the_owner_taking_them() {
    model(|| {
        let blocks = Blocks::new(2);
        let (a, b) = (blocks.take(), blocks.take());
        assert_eq!(a.page(), b.page(), "one page of two blocks");
        let giver = {
            let blocks = blocks.clone();
            // The first push files the page; the second goes without the lock unless the
            // owner took the stack in between.
            thread::spawn(move || {
                blocks.give_back(a);
                blocks.give_back(b);
            })
        };
        let taken = take_two(&blocks);
        giver.join().unwrap();
        finish(&blocks, taken);
    });
}

#[test]
fn blocks_given_back_as_one_chain_against_the_owner_taking_them() {
    model(|| {
        let blocks = Blocks::new(2);
        let (a, b) = (blocks.take(), blocks.take());
        let giver = {
            let blocks = blocks.clone();
            // A teardown's batch: both blocks in one chain, pushed with one compare-and-swap
            // when the batch is dropped.
            thread::spawn(move || {
                let mut batch = pool::Batch::new();
                blocks.give_back_in(&mut batch, a);
                blocks.give_back_in(&mut batch, b);
            })
        };
        let taken = take_two(&blocks);
        giver.join().unwrap();
        finish(&blocks, taken);
    });
}
