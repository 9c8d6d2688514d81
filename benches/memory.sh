#!/usr/bin/env bash
# Peak memory of `tb-host run` as the input grows: 10,000 and 1,000,000
# URLs, read from a file and from stdin, against nginx on loopback. Memory
# must stay flat: jobs are read as the workers need them.
#
#   bash benches/memory.sh [THREADS]     (default 16)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-16}

source benches/lib/loopback.sh

echo "date: $(date -u +%F), nginx 1 worker on 127.0.0.1, $(nproc) cores, -j $threads"
printf "%-28s %10s %9s %9s\n" "input" "req/s" "wall_s" "rss_MiB"
for n in 10000 1000000; do
  make_urls "$n" "$work/urls.txt"
  for source in file stdin; do
    if [ "$source" = file ]; then
      /usr/bin/time -f "%e %M" -o "$work/time" "$bin" run -q -j "$threads" -o /dev/null "$work/urls.txt"
    else
      cat "$work/urls.txt" |
        /usr/bin/time -f "%e %M" -o "$work/time" "$bin" run -q -j "$threads" -o /dev/null -
    fi
    read -r wall rss <"$work/time"
    awk -v s="$n URLs from $source" -v n="$n" -v w="$wall" -v r="$rss" \
      'BEGIN { printf "%-28s %10.0f %9.2f %9.1f\n", s, n / w, w, r / 1024 }'
  done
done
