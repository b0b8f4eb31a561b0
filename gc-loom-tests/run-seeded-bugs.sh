#!/usr/bin/env bash
# Shows the loom models can fail: builds gc-core with each seeded bug
# (`--cfg gc_seeded_bug="NAME"`, see docs/loom-models.md), runs every model against it, and
# checks that the model meant to catch the bug fails. Prints which models caught each bug.
#
#   gc-loom-tests/run-seeded-bugs.sh            # all seeded bugs
#   gc-loom-tests/run-seeded-bugs.sh NAME...    # only these
#
# Exits non-zero if a seeded bug is not caught by its model (or does not build).
# Environment: LOOM_MAX_PREEMPTIONS (default 2), SEEDED_TARGET_DIR (default target/loom-seeded),
# SEEDED_TIMEOUT seconds per bug (default 900).
set -u
cd "$(dirname "$0")/.."

export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
target_dir="${SEEDED_TARGET_DIR:-target/loom-seeded}"
per_bug_timeout="${SEEDED_TIMEOUT:-900}"

# seeded bug                model (test file) that must catch it
bugs=(
    "slot_relaxed           stw_handshake"
    "clone_no_hold          edge_clone_during_collect"
    "free_no_hold           last_drop_during_collect"
    "weak_not_cleared       weak_upgrade_during_clear"
    "cell_no_hold           cell_move_during_collect"
    "subtract_racy          parallel_phases"
    "stripe_by_source       parallel_phases"
    "no_resurrection_check  finalizer_resurrection"
    "auto_wait_unbounded    bounded_wait_blocked_thread"
    "trace_dropped          dying_object_during_collect"
    "no_handover_on_unwind  dying_object_during_collect"
    "holds_by_value         hold_moved_into_blocking"
    "remote_push_relaxed    pool_remote_free"
    "take_remote_relaxed    pool_remote_free"
    "first_push_unfiled     pool_remote_free"
    "exit_frees_busy_page   pool_abandoned_page"
    "abandon_keeps_owner    pool_abandoned_page"
    "unique_no_weak_lock    unique_handle"
    "get_mut_no_mark        unique_handle"
    "get_mut_unmark_unheld  unique_handle"
)

selected=("$@")
mkdir -p "$target_dir"
status=0
for entry in "${bugs[@]}"; do
    read -r bug model <<<"$entry"
    if [ ${#selected[@]} -gt 0 ] && [[ ! " ${selected[*]} " =~ " $bug " ]]; then
        continue
    fi
    log="$target_dir/$bug.log"
    started=$(date +%s)
    RUSTFLAGS="--cfg loom --cfg gc_seeded_bug=\"$bug\"" timeout "$per_bug_timeout" \
        cargo test -p gc-loom-tests --release --target-dir "$target_dir" --no-fail-fast \
        --tests >"$log" 2>&1
    code=$?
    elapsed=$(($(date +%s) - started))
    if grep -q '^error\(\[E[0-9]*\]\)\?:' "$log" && ! grep -q '^     Running ' "$log"; then
        echo "BUILD FAILED  $bug (see $log)"
        status=1
        continue
    fi
    # Test binaries that failed, from cargo's summary (it names crashed binaries too).
    failed=$(grep -o -- '--test [A-Za-z0-9_]*`' "$log" | sed 's/--test //; s/`//' |
        sort -u | tr '\n' ' ')
    if [ "$code" -eq 124 ]; then
        failed="$failed(timed out after ${per_bug_timeout}s)"
    fi
    if [[ " $failed " =~ " $model " ]]; then
        echo "caught        $bug by $model (${elapsed}s; failing models: ${failed% })"
    else
        echo "NOT CAUGHT    $bug: $model passed (${elapsed}s; failing models: ${failed:-none}; see $log)"
        status=1
    fi
done
exit $status
