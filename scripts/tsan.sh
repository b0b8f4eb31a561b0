#!/usr/bin/env bash
# ThreadSanitizer over gc-core's stress tests: the multi-threaded collector tests, the oracle
# (fewer cases), the soak test (short), the teardown's unit tests (a worker dropping and
# freeing half the garbage, or freeing it behind the drops) and the pool's (blocks given back
# across threads, pages of exited threads).
#
#   scripts/tsan.sh                   # all five
#   scripts/tsan.sh soak              # one of: collector, oracle, soak, teardown, pool
#   GC_SOAK_SECS=60 scripts/tsan.sh soak
#
# Needs a nightly toolchain with rust-src (std is rebuilt with the sanitizer):
#   rustup toolchain install nightly --component rust-src
# Reports go to target/tsan/logs/; the script prints the first report of each test binary and
# exits non-zero if there was any report (or a test failed).
#
# ThreadSanitizer does not model standalone fences, so `Header::dec_strong`/`dec_weak`
# (gc-core/src/header.rs) follow the last decrement with an acquire load instead, as std's `Arc`
# does under the sanitizer: all five run without reports.
set -uo pipefail

cd "$(dirname "$0")/.."

TARGET=${TSAN_TARGET:-x86_64-unknown-linux-gnu}
TOOLCHAIN=${TSAN_TOOLCHAIN:-nightly}
TARGET_DIR=target/tsan
LOGS=$TARGET_DIR/logs

why_not() {
    echo "tsan.sh: cannot run ThreadSanitizer here: $*" >&2
    exit 2
}

command -v rustup >/dev/null || why_not "rustup is not installed"
rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1 ||
    why_not "no '$TOOLCHAIN' toolchain (rustup toolchain install $TOOLCHAIN --component rust-src)"
sysroot=$(rustup run "$TOOLCHAIN" rustc --print sysroot)
[ -d "$sysroot/lib/rustlib/src/rust/library" ] ||
    why_not "the $TOOLCHAIN toolchain has no rust-src (rustup component add rust-src --toolchain $TOOLCHAIN)"
case "$TARGET" in
    x86_64-unknown-linux-gnu | aarch64-unknown-linux-gnu | x86_64-apple-darwin | aarch64-apple-darwin) ;;
    *) why_not "ThreadSanitizer is not supported on $TARGET" ;;
esac

# -Zsanitizer=thread must be used for every crate, std included (-Zbuild-std), or
# uninstrumented atomics in std show up as false races.
export RUSTFLAGS="-Zsanitizer=thread -Cdebuginfo=1 ${RUSTFLAGS:-}"
export RUSTDOCFLAGS="-Zsanitizer=thread"
export CARGO_TARGET_DIR=$TARGET_DIR
# Keep going after a report, so one run shows them all; symbolised stacks.
export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 history_size=4 ${TSAN_OPTIONS:-}"
export RUST_BACKTRACE=0
export GC_SOAK_SECS=${GC_SOAK_SECS:-5}
export PROPTEST_CASES=${PROPTEST_CASES:-24}

cargo_test() {
    cargo +"$TOOLCHAIN" test -Zbuild-std --target "$TARGET" -p gc-core "$@"
}

mkdir -p "$LOGS"
echo "tsan.sh: building (std is rebuilt with the sanitizer; the first build takes minutes)"
if ! cargo_test --no-run --lib --test collector --test oracle --test soak 2>"$TARGET_DIR.build.log"; then
    tail -n 30 "$TARGET_DIR.build.log" >&2
    why_not "the build failed (log: $TARGET_DIR.build.log)"
fi

status=0
run() {
    local name=$1
    shift
    local log=$LOGS/$name.log
    echo "tsan.sh: running $name"
    local started=$SECONDS
    cargo_test "$@" >"$log" 2>&1
    local rc=$?
    local reports
    reports=$(grep -c '^WARNING: ThreadSanitizer' "$log")
    echo "tsan.sh: $name: exit $rc, $reports ThreadSanitizer report(s), $((SECONDS - started))s (log: $log)"
    grep -E '^test result|^soak: |^(one thread|several threads): ' "$log" | sed 's/^/    /'
    if [ "$reports" -gt 0 ]; then
        echo "tsan.sh: first report of $name:"
        # Header lines and the first frames of each stack, without addresses and build ids.
        awk '
            /^WARNING: ThreadSanitizer/ { on = 1; print "    " $0; next }
            !on { next }
            /^SUMMARY/ { print "    " $0; exit }
            /^  Thread T[0-9]+ .*created by/ { skip = 1; next }
            /^  [A-Z]/ { print "    " $0; frames = 0; skip = 0; next }
            /^    #[0-9]+ / && !skip {
                if (frames++ < 10) {
                    line = $0
                    sub(/ \(.*$/, "", line)
                    sub(/ \/[^ ]*\/lib\/rustlib\/src\/rust\/[^ ]*/, "", line)
                    print "    " substr(line, 1, 160)
                }
            }' "$log"
        status=1
    fi
    [ "$rc" -eq 0 ] || status=1
}

what=${1:-all}
case "$what" in all | collector) run collector --test collector ;; esac
case "$what" in all | oracle) run oracle --test oracle ;; esac
case "$what" in all | soak) run soak --release --test soak -- --ignored --nocapture ;; esac
case "$what" in all | teardown) run teardown --lib -- teardown ;; esac
case "$what" in all | pool) run pool --lib -- pool:: ;; esac
exit $status
