#!/usr/bin/env bash
# tb-host against a fast loopback server, side by side with its peers on the
# same URL list in the same run, then its peak memory as the input grows.
#
#   bash benches/bench.sh [URLS] [THREADS...]     (defaults: 20000, 16 64)
#
# Each client runs TB_BENCH_RUNS times in a row (default 3; requests-toolbelt,
# a thousand times slower, once) and its row is its median run by requests/s:
# the machine is shared and one run is noisy.
#
# Installs nginx, curl, GNU time and bc when missing (Debian, as root),
# starts nginx on 127.0.0.1 (one worker process, keep-alive), builds tb-host
# and the plugins in release, and prints two tables.
#
# Throughput, for each thread count: requests/s, client CPU seconds and
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
#
# Start-up: mean wall time of a run of one URL, with and without plugins.
#
# Memory: peak RSS of `tb-host run -j 16` on 10,000 and 1,000,000 URLs, read
# from a file and from stdin. Set TB_BENCH_MEMORY=0 to skip it.
set -euo pipefail
cd "$(dirname "$0")/.."
urls=${1:-20000}; shift || true
threads=("${@:-16 64}"); read -r -a threads <<<"${threads[*]}"
venv=${TB_BENCH_VENV:-$HOME/.cache/tb-host-bench-venv}

source benches/lib/loopback.sh

make_urls "$urls" "$work/urls.txt"
sed 's|.*|url = "&"\noutput = /dev/null|' "$work/urls.txt" >"$work/curl.cfg"

cargo build -q --profile plugin --target wasm32-wasip2 --target-dir target/wasm \
  -p bearer-auth -p retry-backoff
wasm=target/wasm/wasm32-wasip2/plugin
plugins=(--plugin "$wasm/bearer_auth.wasm" --plugin "$wasm/retry_backoff.wasm"
  --plugin-config bearer_auth:token=bench)
# Compile the plugins into the cache once, so no timed run pays for it.
"$bin" run -q -o /dev/null "${plugins[@]}" "$work/urls.txt" </dev/null >/dev/null 2>&1 || true

runs=${TB_BENCH_RUNS:-3}

# once NAME CMD...: runs CMD once, prints "name req/s cpu_s us_per_req rss_mib"
once() {
  local name=$1; shift
  if ! /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >/dev/null 2>"$work/stderr"; then
    echo "$name failed:" >&2; tail -3 "$work/stderr" >&2
  fi
  read -r wall user sys rss < <(tail -1 "$work/time")
  awk -v n="$name" -v u="$urls" -v w="$wall" -v c="$(echo "$user + $sys" | bc)" -v r="$rss" \
    'BEGIN { printf "%-36s %9.0f %7.2f %8.1f %8.1f\n", n, u / w, c, c * 1e6 / u, r / 1024 }'
}

# measure NAME CMD...: runs CMD $runs times, prints its median row by req/s
measure() {
  local i
  for i in $(seq "$runs"); do once "$@"; done |
    awk '{ print $(NF - 3) "\t" $0 }' | sort -n | sed -n "$(((runs + 1) / 2))p" | cut -f2-
}

echo "date: $(date -u +%F), $urls URLs, nginx 1 worker on 127.0.0.1, $(nproc) cores"
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
done

# Start-up: a whole run of one URL with both plugins, loaded from the warm
# plugin cache, is an upper bound on the time to the first request.
head -1 "$work/urls.txt" >"$work/one.txt"
for what in "no plugin" "bearer+retry"; do
  args=(); [ "$what" = "no plugin" ] || args=("${plugins[@]}")
  began=$(date +%s%N)
  for _ in $(seq 20); do "$bin" run -q -o /dev/null "${args[@]}" "$work/one.txt"; done
  printf "start-up, one URL, %-14s %6.1f ms (mean of 20 runs)\n" "$what:" \
    "$(echo "($(date +%s%N) - $began) / 20000000" | bc -l)"
done

[ "${TB_BENCH_MEMORY:-1}" = 0 ] && exit 0
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
