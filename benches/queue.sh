#!/usr/bin/env bash
# The queue's throughput and its cost per job (README: "Beyond one
# machine"), against loopback nginx answering at once:
#
#   bash benches/queue.sh [JOBS] [THREADS] [ROUNDS]   (defaults: 100000, 64, 2)
#
# Each round runs, on the same JOBS distinct URLs, one after the other:
#   plain:    one `tb-host run -j THREADS`, no queue;
#   queue x1: `enqueue`, then one `tb-host run --queue -j THREADS`;
#   queue x3: `enqueue` on a new queue, then three `run --queue -j THREADS`
#             at once (on one machine: they share its cores with nginx and
#             Redis);
# then `results` of the last queue. Prints for each row: wall seconds,
# jobs/s, tb-host CPU per job (user + sys of all its processes, GNU time)
# and Redis CPU per job (INFO cpu, used_cpu_user + used_cpu_sys, over the
# run alone: enqueue is its own row).
#
# Needs what benches/lib/loopback.sh installs (nginx, its echo module, GNU
# time; it builds tb-host in release) and redis-server (installed when
# missing, Debian, as root), which is started on a free port with its
# files in a temporary directory, AOF on (`appendfsync everysec`, the
# default), as the README advises.
#
# TB_BENCH_BIN=PATH measures that tb-host instead of this tree's.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=${1:-100000}
threads=${2:-64}
rounds=${3:-2}

# shellcheck source=lib/loopback.sh
source benches/lib/loopback.sh
# TB_BENCH_BIN: another tb-host to measure (another branch's build), in
# the same conditions.
bin=${TB_BENCH_BIN:-$bin}
command -v redis-server >/dev/null ||
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

rport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$rport" --bind 127.0.0.1 --appendonly yes --save "" --dir "$work" \
  --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log"
trap 'kill $(cat "$work/nginx.pid" "$work/redis.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
until redis-cli -p "$rport" PING >/dev/null 2>&1; do sleep 0.05; done

make_urls "$jobs" "$work/urls.txt"

# Redis's CPU seconds so far.
redis_cpu() {
  redis-cli -p "$rport" INFO cpu | tr -d '\r' |
    awk -F: '$1 == "used_cpu_user" || $1 == "used_cpu_sys" { s += $2 } END { printf "%.6f", s }'
}

# row NAME WALL CLIENT_CPU REDIS_CPU: one line of the table.
row() {
  awk -v name="$1" -v wall="$2" -v cpu="$3" -v redis="$4" -v jobs="$jobs" 'BEGIN {
    printf "%-10s %7.2f s %8.0f jobs/s %7.1f us tb-host CPU/job %6.1f us Redis CPU/job\n",
      name, wall, jobs / wall, cpu * 1e6 / jobs, redis * 1e6 / jobs }'
}

# measure NAME PROCESSES COMMAND...: runs PROCESSES copies of COMMAND at
# once (each writing its stdout to $work/NAME.N) and prints its row.
measure() {
  local name=$1 n=$2
  shift 2
  local redis_before start end
  redis_before=$(redis_cpu)
  start=$(date +%s.%N)
  for i in $(seq 1 "$n"); do
    /usr/bin/time -f "%U %S" -o "$work/$name.$i.time" "$@" >"$work/$name.$i" 2>"$work/$name.$i.err" &
  done
  wait
  end=$(date +%s.%N)
  local cpu
  cpu=$(cat "$work/$name".*.time | awk '{ s += $1 + $2 } END { print s }')
  row "$name" "$(echo "$end - $start" | bc)" "$cpu" "$(echo "$(redis_cpu) - $redis_before" | bc)"
}

echo "$jobs URLs, -j $threads, $rounds rounds; $(nproc) CPUs, shared by everything"
for round in $(seq 1 "$rounds"); do
  echo "round $round"
  measure plain 1 "$bin" run -q -j "$threads" "$work/urls.txt"
  for n in 1 3; do
    queue="redis://127.0.0.1:$rport/bench-$round-$n"
    measure "enqueue" 1 "$bin" enqueue "$queue" "$work/urls.txt"
    measure "queue x$n" "$n" "$bin" run -q --queue "$queue" -j "$threads"
  done
  measure results 1 "$bin" results "$queue" -o "$work/records.jsonl"
  records=$(wc -l <"$work/records.jsonl")
  [ "$records" -eq "$jobs" ] || { echo "results wrote $records records, not $jobs" >&2; exit 1; }
done
echo "Redis: $(redis-cli -p "$rport" INFO memory | tr -d '\r' | grep '^used_memory_human:')," \
  "$(redis-cli -p "$rport" INFO server | tr -d '\r' | grep '^redis_version:')"
