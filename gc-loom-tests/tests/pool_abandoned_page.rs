//! Model 10: a page whose owner exits with blocks out, then adopted or freed by other threads.
//!
//! A thread takes both blocks of a page, hands one to a thread that gives it back, and exits
//! with the other out (it goes to the main thread). The exit collects the remote stack and
//! leaves the page in the registry, owner 0, racing the giver's push, which files the page for
//! its owner if it still has one. The main thread then needs a block of the class, racing the
//! giver still. A thread needing a page looks at the abandoned ones: it frees one whose blocks
//! all came back, adopts one with a block to give (a push onto it then files it for the new
//! owner), and leaves the others. A touch of the page after it was freed fails on the page's
//! memory; a block handed out before it came back fails on the block's contents; at the end
//! the registry is empty and every page is back in its arena.
#![cfg(loom)]

use gc_core::loom_hooks::pool;
use gc_loom_tests::loom::sync::Arc;
use gc_loom_tests::loom::thread::{self, JoinHandle};
use gc_loom_tests::{model, Blocks, Held};

/// A thread takes both blocks of a page, hands one to a giver and exits; returns the other
/// block and the giver.
fn abandon(blocks: &Arc<Blocks>) -> (Held, JoinHandle<()>) {
    let blocks = blocks.clone();
    thread::spawn(move || {
        let (a, b) = (blocks.take(), blocks.take());
        let giver = {
            let blocks = blocks.clone();
            thread::spawn(move || blocks.give_back(a))
        };
        pool::exit();
        (b, giver)
    })
    .join()
    .unwrap()
}

/// The main thread takes a block while the giver may not have given its block back: it adopts
/// the page if it has, and leaves it otherwise, until a new thread finds it empty and frees it.
#[test]
fn a_page_abandoned_with_a_block_out_is_adopted_or_left() {
    model(|| {
        let blocks = Blocks::new(2);
        let (b, giver) = abandon(&blocks);
        let c = blocks.take();
        blocks.give_back(b);
        giver.join().unwrap();
        blocks.give_back(c);
        pool::exit();
        let sweeper = {
            let blocks = blocks.clone();
            thread::spawn(move || {
                blocks.give_back(blocks.take());
                pool::exit();
            })
        };
        sweeper.join().unwrap();
        blocks.assert_end();
    });
}

/// The main thread gives its block back first: the page always has a block to give when the
/// main thread looks, which frees it if the giver's block is back too, and adopts it otherwise;
/// the giver's push then files it for the main thread.
#[test]
fn a_page_abandoned_with_its_blocks_coming_back_is_freed_or_adopted() {
    model(|| {
        let blocks = Blocks::new(2);
        let (b, giver) = abandon(&blocks);
        blocks.give_back(b);
        let c = blocks.take();
        giver.join().unwrap();
        blocks.give_back(c);
        pool::exit();
        blocks.assert_end();
    });
}
