#!/usr/bin/env bash
# tb-host against loopback nginx, side by side with its peers on the same
# URL list in the same run, in three scenarios:
#
#   bash benches/bench.sh [URLS] [THREADS...]     (defaults: 20000, 16 64)
#
# narrow: a fast server (answers at once), few workers, against curl;
# wide: a server that answers each request after 100 ms, 1,000 and 5,000
#   in flight, against oha;
# isolation: a plugin that loops in 1% of its `authorize` calls, beside
#   the same run without the loops.
# body: one 10 MiB body POSTed to 2,000 URLs, against curl.
# polite: a rate-limited API beside nginx (see Polite below).
# TB_BENCH_SCENARIOS picks some of them (default "narrow wide isolation body
# polite").
#
# Each client runs TB_BENCH_RUNS times in a row (default 3; requests-toolbelt,
# a thousand times slower, once) and its row is its median run by requests/s:
# the machine is shared and one run is noisy.
#
# Installs nginx, its echo module, curl, GNU time and bc when missing
# (Debian, as root), starts nginx on 127.0.0.1 (one worker process,
# keep-alive), builds tb-host and the plugins in release, and prints the
# tables below. Install oha for its rows: `cargo install oha --locked`.
#
# Narrow, for each thread count: requests/s, client CPU seconds and
# microseconds per request, peak RSS and the ratio to curl, for
#   - curl --parallel --parallel-max THREADS,
#   - oha -c THREADS, if `oha` is on the PATH (it picks URLs from the list at
#     random rather than each once),
#   - Python's requests-toolbelt Pool.from_urls, if the venv in
#     $TB_BENCH_VENV (default ~/.cache/tb-host-bench-venv) has it:
#       python3 -m venv ~/.cache/tb-host-bench-venv
#       ~/.cache/tb-host-bench-venv/bin/pip install requests-toolbelt
#   - tb-host with no plugin, and with bearer-auth and retry-backoff (hooks
#     on every request).
# Then the plugins' cost: the median, over TB_BENCH_PAIRS alternating pairs
# (default 5) of a run without plugins and one with, of the requests/s
# lost. Then start-up: mean wall time of a run of one URL, with and without
# plugins; and memory: peak RSS of `tb-host run -j 16` on 10,000 and
# 1,000,000 URLs, read from a file and from stdin (TB_BENCH_MEMORY=0 skips
# it).
#
# Wide: TB_BENCH_WIDE_URLS (default 50,000) distinct URLs answered after
# 100 ms (echo_sleep), with TB_BENCH_WIDE_THREADS in flight (default
# "1000 5000"): oha -c N, tb-host -j N with no plugin and with bearer-auth
# and retry-backoff; the same columns, and each row's ratios to oha's:
# requests/s (goal at least 0.9), peak RSS (goal at most 2) and CPU per
# request (goal at most 1.5).
#
# Isolation: 2,000 jobs to the 100 ms server, -j 200, with the `hostile`
# test plugin (tests/fixtures/hostile) loaded; in one run every 100th job
# has `?authorize=loop` (its `authorize` never returns and is stopped at
# its 100 ms deadline), in the other none does. Prints, for each, the run's
# wall time and the p50 and p99 of the healthy jobs' `elapsed_ms`, and the
# ratios of the first run's to the second's.
#
# Body: TB_BENCH_BODY_URLS (default 2,000) POSTs of one 10 MiB random file
# at TB_BENCH_BODY_THREADS in flight (default "16 64"): `curl --parallel
# --data-binary @file` and `tb-host --data-file`, with each row's peak RSS
# less curl's (goal: at most 100 MiB at -j 64; the body is shared, never
# copied per job).
#
# Polite: TB_BENCH_POLITE_JOBS (default 4,000) jobs to a loopback API that
# allows 200 requests a second (tb-rate-limited: 429 with Retry-After
# beyond, X-RateLimit-Limit/-Remaining/-Reset on every answer), as many to
# nginx interleaved with them, -j 64 with retry-backoff. Prints the run's
# time against the ideal (jobs / 200; goal at most 1.15 times), the share
# of requests answered 429 (goal at most 2%), how many were sent while a
# pause the API announced was in force (goal 0, those sent in its first
# 100 ms excepted), and when the other origin's last job ended, beside the
# time its jobs take alone.
set -euo pipefail
cd "$(dirname "$0")/.."
urls=${1:-20000}; shift || true
threads=("${@:-16 64}"); read -r -a threads <<<"${threads[*]}"
venv=${TB_BENCH_VENV:-$HOME/.cache/tb-host-bench-venv}
scenarios=" ${TB_BENCH_SCENARIOS:-narrow wide isolation body polite} "
wide_urls=${TB_BENCH_WIDE_URLS:-50000}
read -r -a wide_threads <<<"${TB_BENCH_WIDE_THREADS:-1000 5000}"

source benches/lib/loopback.sh
# 5,000 connections want 5,000 descriptors for each client (tb-host raises
# its own soft limit to fit -j; oha and curl do not).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

cargo build -q --profile plugin --target wasm32-wasip2 --target-dir target/wasm \
  -p bearer-auth -p retry-backoff -p hostile-plugin
wasm=target/wasm/wasm32-wasip2/plugin
plugins=(--plugin "$wasm/bearer_auth.wasm" --plugin "$wasm/retry_backoff.wasm"
  --plugin-config bearer_auth:token=bench)
# Compile the plugins into the cache once, so no timed run pays for it.
make_urls 1 "$work/one.txt"
"$bin" run -q -o /dev/null "${plugins[@]}" "$work/one.txt" </dev/null >/dev/null 2>&1 || true
"$bin" run -q -o /dev/null --plugin "$wasm/hostile_plugin.wasm" "$work/one.txt" \
  </dev/null >/dev/null 2>&1 || true

runs=${TB_BENCH_RUNS:-3}
# How many requests the runs being measured make (set per scenario).
count=$urls

# once NAME CMD...: runs CMD once, prints "name req/s cpu_s us_per_req rss_mib"
once() {
  local name=$1; shift
  if ! /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >/dev/null 2>"$work/stderr"; then
    echo "$name failed:" >&2; tail -3 "$work/stderr" >&2
  fi
  read -r wall user sys rss < <(tail -1 "$work/time")
  awk -v n="$name" -v u="$count" -v w="$wall" -v c="$(echo "$user + $sys" | bc)" -v r="$rss" \
    'BEGIN { printf "%-36s %9.0f %7.2f %8.1f %8.1f\n", n, u / w, c, c * 1e6 / u, r / 1024 }'
}

# measure NAME CMD...: runs CMD $runs times, prints its median row by req/s
measure() {
  local i
  for i in $(seq "$runs"); do once "$@"; done |
    awk '{ print $(NF - 3) "\t" $0 }' | sort -n | sed -n "$(((runs + 1) / 2))p" | cut -f2-
}

echo "date: $(date -u +%F), nginx 1 worker on 127.0.0.1, $(nproc) cores"

narrow() {
  count=$urls
  make_urls "$urls" "$work/urls.txt"
  sed 's|.*|url = "&"\noutput = /dev/null|' "$work/urls.txt" >"$work/curl.cfg"
  echo
  echo "narrow: $urls URLs, answered at once"
  printf "%-36s %9s %7s %8s %8s %8s\n" "client" "req/s" "cpu_s" "us/req" "rss_MiB" "vs_curl"
  for t in "${threads[@]}"; do
    rows=()
    rows+=("$(measure "curl --parallel-max $t" curl -s --parallel --parallel-max "$t" -K "$work/curl.cfg")")
    if command -v oha >/dev/null; then
      rows+=("$(measure "oha -c $t (random URLs)" oha --no-tui --output-format quiet \
        -n "$urls" -c "$t" --urls-from-file "$work/urls.txt")")
    fi
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import requests_toolbelt' 2>/dev/null; then
      rows+=("$(once "requests-toolbelt Pool ($t)" "$venv/bin/python" \
        benches/lib/toolbelt_pool.py "$work/urls.txt" "$t")")
    fi
    rows+=("$(measure "tb-host -j $t (no plugin)" "$bin" run -q -j "$t" -o /dev/null "$work/urls.txt")")
    rows+=("$(measure "tb-host -j $t (bearer+retry)" "$bin" run -q -j "$t" -o /dev/null \
      "${plugins[@]}" "$work/urls.txt")")
    curl_rate=$(echo "${rows[0]}" | awk '{print $(NF-3)}')
    for row in "${rows[@]}"; do
      rate=$(echo "$row" | awk '{print $(NF-3)}')
      printf "%s %8.2f\n" "$row" "$(echo "$rate / $curl_rate" | bc -l)"
    done
    # The plugins' cost as the goal reads it: the median over alternating
    # pairs (a run without them, then one with), so both runs of a pair
    # see the same moment of a shared machine.
    local pairs=${TB_BENCH_PAIRS:-5} i cost
    cost=$(for i in $(seq "$pairs"); do
      echo "$(once x "$bin" run -q -j "$t" -o /dev/null "$work/urls.txt" | awk '{print $2}')" \
        "$(once x "$bin" run -q -j "$t" -o /dev/null "${plugins[@]}" "$work/urls.txt" | awk '{print $2}')"
    done | awk '{ print 100 * (1 - $2 / $1) }' | sort -n | sed -n "$(((pairs + 1) / 2))p")
    printf "plugins' cost at -j %s: %.1f%% of req/s (median of %s alternating pairs)\n" \
      "$t" "$cost" "$pairs"
  done

  # Start-up: a whole run of one URL with both plugins, loaded from the warm
  # plugin cache, is an upper bound on the time to the first request.
  for what in "no plugin" "bearer+retry"; do
    args=(); [ "$what" = "no plugin" ] || args=("${plugins[@]}")
    began=$(date +%s%N)
    for _ in $(seq 20); do "$bin" run -q -o /dev/null "${args[@]}" "$work/one.txt"; done
    printf "start-up, one URL, %-14s %6.1f ms (mean of 20 runs)\n" "$what:" \
      "$(echo "($(date +%s%N) - $began) / 20000000" | bc -l)"
  done

  [ "${TB_BENCH_MEMORY:-1}" = 0 ] && return
  echo
  printf "%-36s %9s %7s %8s\n" "memory, tb-host -j 16" "req/s" "wall_s" "rss_MiB"
  for n in 10000 1000000; do
    make_urls "$n" "$work/urls.txt"
    for source in file stdin; do
      if [ "$source" = file ]; then
        /usr/bin/time -f "%e %M" -o "$work/time" "$bin" run -q -j 16 -o /dev/null "$work/urls.txt"
      else
        cat "$work/urls.txt" |
          /usr/bin/time -f "%e %M" -o "$work/time" "$bin" run -q -j 16 -o /dev/null -
      fi
      read -r wall rss <"$work/time"
      awk -v s="$n URLs from $source" -v n="$n" -v w="$wall" -v r="$rss" \
        'BEGIN { printf "%-36s %9.0f %7.2f %8.1f\n", s, n / w, w, r / 1024 }'
    done
  done
}

wide() {
  count=$wide_urls
  make_urls "$wide_urls" "$work/slow.txt" slow
  echo
  echo "wide: $wide_urls URLs, each answered after 100 ms; ratios to oha (goals: req/s >= 0.9, rss <= 2, us/req <= 1.5)"
  printf "%-36s %9s %7s %8s %8s %7s %7s %7s\n" "client" "req/s" "cpu_s" "us/req" "rss_MiB" \
    "x_req/s" "x_rss" "x_us/req"
  for t in "${wide_threads[@]}"; do
    rows=()
    if command -v oha >/dev/null; then
      rows+=("$(measure "oha -c $t (random URLs)" oha --no-tui --output-format quiet \
        -n "$wide_urls" -c "$t" --urls-from-file "$work/slow.txt")")
    fi
    rows+=("$(measure "tb-host -j $t (no plugin)" "$bin" run -q -j "$t" -o /dev/null "$work/slow.txt")")
    rows+=("$(measure "tb-host -j $t (bearer+retry)" "$bin" run -q -j "$t" -o /dev/null \
      "${plugins[@]}" "$work/slow.txt")")
    read -r -a base < <(echo "${rows[0]}" | awk '{print $(NF-3), $(NF-1), $NF}')
    for row in "${rows[@]}"; do
      echo "$row" | awk -v r="${base[0]}" -v c="${base[1]}" -v m="${base[2]}" \
        '{ printf "%s %7.2f %7.2f %7.2f\n", $0, $(NF-3) / r, $NF / m, $(NF-1) / c }'
    done
    # One keep-alive connection per worker is what oha has; a worker whose
    # connection is not back in its pool when it sends again opens another.
    head -n $((3 * t)) "$work/slow.txt" >"$work/some.txt"
    before=$(accepted)
    "$bin" run -q -j "$t" -o /dev/null "$work/some.txt"
    echo "tb-host -j $t: $(($(accepted) - before - 1)) connections for $((3 * t)) URLs"
  done
}

isolation() {
  local jobs=2000 t=200 with
  echo
  echo "isolation: $jobs jobs answered after 100 ms, -j $t, hostile plugin; healthy jobs' elapsed_ms"
  printf "%-36s %8s %8s %8s %8s\n" "run" "wall_s" "p50_ms" "p99_ms" "failed"
  make_urls "$jobs" "$work/calm.txt" slow
  awk 'NR % 100 == 0 { print $0 "?authorize=loop"; next } { print }' "$work/calm.txt" >"$work/loops.txt"
  for with in loops calm; do
    /usr/bin/time -f "%e" -o "$work/time" "$bin" run -q -j "$t" -o "$work/$with.jsonl" \
      --plugin "$wasm/hostile_plugin.wasm" "$work/$with.txt" >/dev/null 2>&1 || true
    python3 - "$work/$with.jsonl" "$(tail -1 "$work/time")" "$with" >>"$work/isolation" <<'PY'
import json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
healthy = sorted(r["elapsed_ms"] for r in records if r["status"] == 200)
def pct(p):
    return healthy[min(len(healthy) - 1, int(p * len(healthy)))] if healthy else float("nan")
name = "1% looping in authorize" if sys.argv[3] == "loops" else "no loops (same run otherwise)"
print(f"{name:<36} {float(sys.argv[2]):8.2f} {pct(0.5):8.1f} {pct(0.99):8.1f} {len(records) - len(healthy):8d}")
PY
  done
  cat "$work/isolation"
  awk 'NR == 1 { w = $(NF-3); p = $(NF-2); q = $(NF-1) }
       NR == 2 { printf "%-36s %8.2f %8.2f %8.2f\n", "ratio, loops to none", w / $(NF-3), p / $(NF-2), q / $(NF-1) }' \
    "$work/isolation"
}

body() {
  local t
  count=${TB_BENCH_BODY_URLS:-2000}
  make_urls "$count" "$work/posts.txt"
  sed 's|.*|url = "&"\noutput = /dev/null|' "$work/posts.txt" >"$work/posts.cfg"
  head -c $((10 << 20)) /dev/urandom >"$work/body.bin"
  echo
  echo "body: $count POSTs of one 10 MiB file; peak RSS less curl's (goal at -j 64: at most 100 MiB)"
  printf "%-36s %9s %7s %8s %8s %8s\n" "client" "req/s" "cpu_s" "us/req" "rss_MiB" "rss-curl"
  for t in ${TB_BENCH_BODY_THREADS:-16 64}; do
    rows=()
    rows+=("$(measure "curl --parallel-max $t --data-binary" curl -s --parallel --parallel-max "$t" \
      --data-binary "@$work/body.bin" -K "$work/posts.cfg")")
    rows+=("$(measure "tb-host -j $t --data-file" "$bin" run -q -j "$t" -X POST \
      --data-file "$work/body.bin" -o /dev/null "$work/posts.txt")")
    curl_rss=$(echo "${rows[0]}" | awk '{print $NF}')
    for row in "${rows[@]}"; do
      printf "%s %8.1f\n" "$row" "$(echo "$(echo "$row" | awk '{print $NF}') - $curl_rss" | bc -l)"
    done
  done
}

polite() {
  local jobs=${TB_BENCH_POLITE_JOBS:-4000} per_second=200 t=64 base
  cargo build --release -q -p tb-loopback --bin tb-rate-limited
  local from to
  coproc LIMITED { target/release/tb-rate-limited "$per_second"; }
  # Its own descriptors: bash forgets the coprocess's once it has exited.
  exec {from}<&"${LIMITED[0]}" {to}>&"${LIMITED[1]}"
  read -r base <&"$from"
  seq 0 $((jobs - 1)) | sed "s|^|$base/items/|" >"$work/limited.txt"
  make_urls "$jobs" "$work/other.txt" other
  paste -d '\n' "$work/limited.txt" "$work/other.txt" >"$work/both.txt"
  echo
  echo "polite: $jobs jobs to an API that allows $per_second requests a second (429 and Retry-After beyond,"
  echo "  X-RateLimit-* on every answer), $jobs to nginx beside them, -j $t, retry-backoff"
  /usr/bin/time -f "%e" -o "$work/time" "$bin" run -q -j "$t" -o /dev/null "$work/other.txt"
  local alone
  alone=$(tail -1 "$work/time")
  "$bin" run -q -j "$t" --plugin "$wasm/retry_backoff.wasm" --plugin-config max-attempts=10 \
    "$work/both.txt" 2>/dev/null | { python3 -c '
import json, sys, time
started = time.monotonic()
last_other = done = 0
statuses = {}
for line in sys.stdin:
    record = json.loads(line)
    statuses[record.get("status")] = statuses.get(record.get("status"), 0) + 1
    if "/other/" in record["url"]:
        last_other = time.monotonic() - started
    done = time.monotonic() - started
print(done, last_other, json.dumps(statuses, separators=(",", ":")))
' >"$work/polite" || true; }
  # Its stdin closed (both copies), it prints what it saw and exits.
  exec {to}>&-
  eval "exec ${LIMITED[1]}>&-"
  local counts
  counts=$(cat <&"$from")
  exec {from}<&-
  read -r took other statuses <"$work/polite"
  python3 - "$jobs" "$per_second" "$took" "$other" "$alone" "$statuses" "$counts" <<'PY'
import json, sys
jobs, per_second = int(sys.argv[1]), int(sys.argv[2])
took, other, alone = map(float, sys.argv[3:6])
statuses, counts = json.loads(sys.argv[6]), json.loads(sys.argv[7])
ideal = jobs / per_second
share = 100 * counts["limited"] / max(1, counts["requests"])
print(f"run: {took:.2f} s, {took / ideal:.2f} times the ideal {ideal:.0f} s (goal at most 1.15)")
print(f"statuses of the {2 * jobs} jobs: {statuses}")
print(f"limited API: {counts['requests']} requests, {counts['limited']} answered 429 ({share:.2f}%, goal at most 2%),")
print(f"  {counts['during_pause']} sent during an announced pause (goal 0)")
print(f"the other origin's last job ended after {other:.2f} s; its jobs alone took {alone:.2f} s")
PY
}

for scenario in narrow wide isolation body polite; do
  case "$scenarios" in *" $scenario "*) "$scenario" ;; esac
done
