#!/usr/bin/env bash
# Instructions per plugin call, counted by callgrind: the same figure on
# every run of the same build, however loaded the machine is, where the
# timings of `cargo bench -p tb-host --bench plugin_calls` move with the
# load. A call is counted from the worker's await to its answer: the
# async call into the component, the guest's code, its calls back into
# the host (a `set-header`, a `header`) and the checks of its edits.
#
#   bash benches/calls.sh [BENCHMARK...]
#
# BENCHMARK names benchmarks of host/benches/plugin_calls.rs (default:
# every `authorize` and `decide-retry` one). Installs valgrind when
# missing (Debian, as root). Each takes a minute or two: valgrind runs
# the benchmark, plugins' compiling included, about fifty times slower.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
}
benchmarks=("$@")
[ ${#benchmarks[@]} -gt 0 ] || benchmarks=(
  authorize/bearer-auth/0-headers authorize/bearer-auth/20-headers
  authorize/api-key/0-headers authorize/api-key/20-headers
  authorize/aws-sigv4/0-headers authorize/aws-sigv4/20-headers
  decide-retry/retry-backoff/small decide-retry/retry-backoff/large
)
bin=$(cargo bench -q -p tb-host --bench plugin_calls --no-run --message-format=json |
  python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "plugin_calls" and m["executable"]:
        print(m["executable"])')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf "%-40s %12s %8s\n" "call" "instructions" "calls"
for benchmark in "${benchmarks[@]}"; do
  hook=${benchmark%%/*}
  hook=${hook//-/_}
  (cd host && valgrind --tool=callgrind --callgrind-out-file="$work/out" \
    "$bin" --bench --profile-time 2 "$benchmark" >/dev/null 2>&1)
  # The worker's side of the call: PluginInstance's hook method; its
  # inclusive count over the number of times it was called.
  callgrind_annotate --inclusive=yes --tree=calling "$work/out" 2>/dev/null |
    python3 -c 'import re, sys
hook = sys.argv[1]
name = re.compile(r"AwaitedHooks>::" + hook + r"::\{\{closure\}\}")
total = calls = None
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+) \([\d. %]+\)\s+([*>])\s+(.*)", line)
    if not m or not name.search(m.group(3)):
        continue
    count = int(m.group(1).replace(",", ""))
    if m.group(2) == "*" and total is None:
        total = count
    made = re.search(r"\(([\d,]+)x\)", m.group(3))
    if m.group(2) == ">" and made and calls is None:
        calls = int(made.group(1).replace(",", ""))
print(f"{sys.argv[2]:<40} {total // calls:12d} {calls:8d}")' "$hook" "$benchmark"
done
