#!/usr/bin/env bash
# Throughput of tb-host against a fast loopback server, side by side with
# curl --parallel on the same URL list in the same run.
#
#   bash benches/throughput.sh [URLS] [THREADS...]     (defaults: 20000, 16 64)
#
# Installs nginx, curl and GNU time when missing (Debian, as root), starts
# nginx on 127.0.0.1 (one worker process, keep-alive), builds tb-host and the
# plugins in release, and prints one table: requests/s, client CPU seconds,
# peak RSS, and the ratio to curl of the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
urls=${1:-20000}; shift || true
threads=("${@:-16 64}"); read -r -a threads <<<"${threads[*]}"

source benches/lib/loopback.sh

make_urls "$urls" "$work/urls.txt"
sed 's|.*|url = "&"\noutput = /dev/null|' "$work/urls.txt" >"$work/curl.cfg"

cargo build -q --profile plugin --target wasm32-wasip2 --target-dir target/wasm \
  -p bearer-auth -p retry-backoff
wasm=target/wasm/wasm32-wasip2/plugin

# measure NAME CMD...: prints "name requests/s cpu_s peak_rss_mib"
measure() {
  local name=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || true
  read -r wall user sys rss <"$work/time"
  awk -v n="$name" -v u="$urls" -v w="$wall" -v c="$(echo "$user + $sys" | bc)" -v r="$rss" \
    'BEGIN { printf "%-34s %10.0f %9.2f %9.1f\n", n, u / w, c, r / 1024 }'
}

echo "date: $(date -u +%F), $urls URLs, nginx 1 worker on 127.0.0.1, $(nproc) cores"
printf "%-34s %10s %9s %9s %8s\n" "client" "req/s" "cpu_s" "rss_MiB" "vs_curl"
for t in "${threads[@]}"; do
  rows=()
  rows+=("$(measure "curl --parallel-max $t" curl -s --parallel --parallel-max "$t" -K "$work/curl.cfg")")
  rows+=("$(measure "tb-host -j $t (no plugin)" "$bin" run -q -j "$t" -o /dev/null "$work/urls.txt")")
  rows+=("$(measure "tb-host -j $t (bearer+retry)" "$bin" run -q -j "$t" -o /dev/null \
      --plugin "$wasm/bearer_auth.wasm" --plugin "$wasm/retry_backoff.wasm" \
      --plugin-config bearer_auth:token=bench "$work/urls.txt")")
  curl_rate=$(echo "${rows[0]}" | awk '{print $(NF-2)}')
  for row in "${rows[@]}"; do
    rate=$(echo "$row" | awk '{print $(NF-2)}')
    printf "%s %8.2f\n" "$row" "$(echo "$rate / $curl_rate" | bc -l)"
  done
done
