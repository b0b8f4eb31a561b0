//! Unit tests of the world lock and of holds owned by their guards.

use core::panic::Location;

use super::*;
use std::sync::atomic::AtomicUsize as StdUsize;
use std::sync::Arc as StdArc;

fn count() -> usize {
    holds::with(|h| h.count.get())
}

/// The holders of this thread's slot, as the slot word counts them.
fn slot_holders() -> u64 {
    world().slots[my_slot()].load(Ordering::Relaxed) & COUNT
}

#[test]
fn nested_holds_touch_the_slot_once() {
    let outer = Hold::take();
    let inner = Hold::take();
    assert_eq!(count(), 2);
    assert_eq!(slot_holders(), 1);
    drop(inner);
    assert_eq!(slot_holders(), 1);
    drop(outer);
    assert_eq!(count(), 0);
    assert_eq!(slot_holders(), 0);
}

#[test]
fn held_inside_a_hold_runs_under_the_hold_it_finds() {
    held(|| {
        held(|| {
            assert_eq!(count(), 1, "no second hold");
            assert_eq!(slot_holders(), 1);
        });
        assert_eq!(count(), 1);
    });
    assert_eq!(count(), 0);
    assert_eq!(slot_holders(), 0);
}

#[test]
fn a_hold_dropped_inside_detached_goes_back_to_its_own_frame() {
    let outer = Hold::take();
    let kept = Hold::take();
    detached(|| {
        assert!(!is_holding(), "detached: the slot is given up");
        assert_eq!(slot_holders(), 0);
        drop(outer);
        assert!(!is_holding());
        let inner = Hold::take();
        assert_eq!(slot_holders(), 1, "a hold taken inside takes the slot");
        drop(inner);
        assert_eq!(slot_holders(), 0);
    });
    assert_eq!(count(), 1, "one hold of the outer frame is left");
    assert_eq!(slot_holders(), 1);
    drop(kept);
    assert_eq!(count(), 0);
    assert_eq!(slot_holders(), 0);
}

#[test]
fn a_hold_made_inside_detached_and_returned_keeps_the_slot() {
    let returned = detached(Hold::take);
    assert_eq!(count(), 1);
    assert_eq!(slot_holders(), 1);
    // Nested sections: the returned hold now belongs to the outer frame.
    detached(|| {
        assert_eq!(slot_holders(), 0);
        detached(|| drop(returned));
        assert_eq!(slot_holders(), 0);
    });
    assert_eq!(count(), 0);
    assert_eq!(slot_holders(), 0);
}

#[test]
fn an_attachment_dropped_inside_detached_is_no_longer_attached_after() {
    let attachment = Attachment::take(Location::caller());
    assert!(holds::with(|h| h.attached.get()) == 1);
    detached(move || drop(attachment));
    assert!(holds::with(|h| h.attached.get()) == 0 && !is_holding());
    assert_eq!(slot_holders(), 0);
}

#[test]
fn stop_waits_for_a_holder_and_excludes_it() {
    let inside = StdArc::new(StdUsize::new(0));
    let started = StdArc::new(std::sync::Barrier::new(2));
    let t = {
        let inside = inside.clone();
        let started = started.clone();
        std::thread::spawn(move || {
            let attachment = Attachment::take(Location::caller());
            started.wait();
            for _ in 0..200 {
                inside.fetch_add(1, Ordering::SeqCst);
                safepoint();
                std::thread::yield_now();
            }
            drop(attachment);
        })
    };
    started.wait();
    for _ in 0..20 {
        let stopped = stop(None).expect("unbounded stop cannot time out");
        let before = inside.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_micros(200));
        assert_eq!(
            before,
            inside.load(Ordering::SeqCst),
            "a thread ran while stopped"
        );
        drop(stopped);
    }
    t.join().unwrap();
}

#[test]
fn bounded_stop_times_out_against_a_blocked_holder_and_names_it() {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let t = std::thread::Builder::new()
        .name("blocked-holder".into())
        .spawn(move || {
            let attachment = Attachment::take(Location::caller());
            ready_tx.send(()).unwrap();
            rx.recv().unwrap();
            drop(attachment);
        })
        .unwrap();
    ready_rx.recv().unwrap();
    let stalled = stop(Some(Duration::from_millis(20)))
        .err()
        .expect("timed out");
    assert!(
        stalled
            .threads
            .iter()
            .any(|t| t.contains("'blocked-holder'")
                && t.contains("attached at")
                && t.contains(file!())),
        "{stalled:?}"
    );
    let again = still_stalled().expect("the holder has not moved");
    assert_eq!(again.threads, stalled.threads);
    let counted = stalls();
    assert!(
        counted
            .iter()
            .any(|s| s.name.as_deref() == Some("blocked-holder") && s.stalls >= 1),
        "{counted:?}"
    );
    tx.send(()).unwrap();
    t.join().unwrap();
    assert!(still_stalled().is_none(), "it moved");
    assert!(stop(Some(Duration::from_secs(10))).is_ok());
}

#[test]
#[should_panic(expected = "world stopped")]
fn taking_a_hold_while_stopping_panics() {
    let _stopped = stop(None).unwrap();
    let _hold = Hold::take();
}
