#!/usr/bin/env bash
# Shows the models can fail: builds gc-core with each seeded bug (`--cfg gc_seeded_bug="NAME"`,
# see docs/loom-models.md), runs every loom model against it under each scan it is listed for
# (GC_CORE_SCAN), and checks that the model meant to catch the bug fails. A bug whose model is
# `miri:FILTER` is a use after free: it is shown by gc-core's unit tests matching FILTER under
# Miri instead. Prints which models caught each bug.
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

# seeded bug                model (test file) that must catch it, and under which scans
bugs=(
    "slot_relaxed           stw_handshake                 both"
    "clone_no_hold          edge_clone_during_collect     generations"
    "free_no_hold           last_drop_during_collect      generations"
    "weak_not_cleared       weak_upgrade_during_clear     both"
    "cell_no_hold           cell_move_during_collect      both"
    "subtract_racy          parallel_phases               both"
    "stripe_by_source       parallel_phases               both"
    "no_resurrection_check  finalizer_resurrection        both"
    "auto_wait_unbounded    bounded_wait_blocked_thread   both"
    "trace_dropped          dying_object_during_collect   generations"
    "no_handover_on_unwind  dying_object_during_collect   both"
    "holds_by_value         hold_moved_into_blocking      both"
    "drop_no_hold           candidate_drop_during_collect candidates"
    "seeds_let_go           candidate_kept_by_older_generation candidates"
    "zombie_freed_early     miri:candidates::tests::a_candidate_that_dies candidates"
    "remote_push_relaxed    pool_remote_free              both"
    "take_remote_relaxed    pool_remote_free              both"
    "first_push_unfiled     pool_remote_free              both"
    "exit_frees_busy_page   pool_abandoned_page           both"
    "abandon_keeps_owner    pool_abandoned_page           both"
    "unique_no_weak_lock    unique_handle                 generations"
    "get_mut_no_mark        unique_handle                 both"
    "get_mut_unmark_unheld  unique_handle                 both"
)

selected=("$@")
mkdir -p "$target_dir"
status=0
for entry in "${bugs[@]}"; do
    read -r bug model scans <<<"$entry"
    if [ ${#selected[@]} -gt 0 ] && [[ ! " ${selected[*]} " =~ " $bug " ]]; then
        continue
    fi
    case "$scans" in
        both) scans="candidates generations" ;;
    esac
    for scan in $scans; do
        log="$target_dir/$bug.$scan.log"
        started=$(date +%s)
        if [[ "$model" == miri:* ]]; then
            filter=${model#miri:}
            GC_CORE_SCAN=$scan RUSTFLAGS="--cfg gc_seeded_bug=\"$bug\"" \
                MIRIFLAGS="-Zmiri-disable-isolation" timeout "$per_bug_timeout" \
                cargo +nightly miri test -p gc-core --lib --target-dir "$target_dir/miri" \
                -- "$filter" >"$log" 2>&1
            code=$?
            elapsed=$(($(date +%s) - started))
            if grep -q 'Undefined Behavior' "$log"; then
                echo "caught        $bug by Miri on $filter, $scan scan (${elapsed}s)"
            else
                echo "NOT CAUGHT    $bug: Miri on $filter passed, $scan scan (${elapsed}s; see $log)"
                status=1
            fi
            continue
        fi
        GC_CORE_SCAN=$scan RUSTFLAGS="--cfg loom --cfg gc_seeded_bug=\"$bug\"" \
            timeout "$per_bug_timeout" \
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
            echo "caught        $bug by $model, $scan scan (${elapsed}s; failing models: ${failed% })"
        else
            echo "NOT CAUGHT    $bug: $model passed, $scan scan (${elapsed}s; failing models: ${failed:-none}; see $log)"
            status=1
        fi
    done
done
exit $status
