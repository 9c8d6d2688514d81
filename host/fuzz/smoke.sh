#!/usr/bin/env bash
# The CI smoke run of the fuzz targets: builds them and runs each for a few
# seconds from its seed corpus, failing on any crash. Not a search for new
# bugs (see README.md here for the long run), but proof that the targets
# build and that no seed, old crash included, fails again.
#
# Usage: host/fuzz/smoke.sh [SECONDS]   (10 by default)
#
# Only stable Rust is needed: cargo-fuzz's -Z flags are let through with
# RUSTC_BOOTSTRAP=1. cargo-fuzz is installed if missing.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-10}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

targets=(urls_line jsonl_line plugin_answers)
# The optimised build long runs use too. `--dev` built a third quicker
# cold, but its targets ran 10 to 30 times slower.
cargo fuzz build --sanitizer address
passed=0
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for target in "${targets[@]}"; do
    # New inputs go to a scratch folder: the committed seeds stay as they are.
    scratch="$(mktemp -d)"
    echo "== fuzz $target for ${seconds}s"
    status=0
    cargo fuzz run --sanitizer address "$target" "$scratch" "corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1 || status=$?
    rm -rf "$scratch"
    grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec)' "$log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 80 "$log"
        echo "fuzz target $target failed (exit $status); the input is in host/fuzz/artifacts/$target/"
        echo "fuzz: $passed passed, 1 failed"
        exit 1
    fi
    passed=$((passed + 1))
done
echo "fuzz: $passed passed, 0 failed"
