#!/usr/bin/env bash
# bench.sh CODESIM - make bench: speed and memory against the DESIGN 9 targets.
#   1. one full Llama-3-70B design point (decode, prefill, a training step):
#      wall time of `codesim run` (process start to exit), and the worker's
#      own wall time in a sweep (fork to result), vs < 50 ms on one core;
#   2. sweep throughput: the 200-point sweep bench/sweep-200.cfg with --jobs 2,
#      vs >= 200 points/s on 2 cores;
#   3. peak RSS per worker, vs < 100 MB.
# BENCH_RUNS (default 10) repetitions of each single point, 3 of the sweep.
set -euo pipefail
BIN=${1:-./codesim}
RUNS=${BENCH_RUNS:-10}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

now_ns() { date +%s%N; }
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || echo unknown)
echo "codesim bench  $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) cores ($cpu), $(uname -sr), $(awk '/MemTotal/ {printf "%.0f GB RAM", $2/1048576}' /proc/meminfo)"
load=$(cut -d' ' -f1-3 /proc/loadavg); echo "load average before: $load (other work on the machine slows every number)"
echo

declare -A ARGS=(
  [decode]="--arch h100 --model llama3-70b --phase decode --tp 8 --batch 32 --context 4096"
  [prefill]="--arch h100 --model llama3-70b --phase prefill --tp 8 --batch 4 --seq 2048"
  [train]="--arch h100 --model llama3-70b --phase train --chips 64 --tp 8 --pp 2 --batch 512 --seq 4096 --recompute selective"
)
echo "1. one full Llama-3-70B design point, $RUNS runs each (target < 50 ms)"
printf "   %-8s %10s %10s %10s %12s  %s\n" phase "mean ms" "min ms" "max ms" "peak RSS MB" "vs target (mean/50 ms)"
for phase in decode prefill train; do
  # shellcheck disable=SC2086
  "$BIN" run ${ARGS[$phase]} > /dev/null   # warm the page cache
  total=0; min=999999999999; max=0
  for ((i = 0; i < RUNS; i++)); do
    t0=$(now_ns)
    # shellcheck disable=SC2086
    "$BIN" run ${ARGS[$phase]} > /dev/null
    dt=$(( $(now_ns) - t0 ))
    total=$((total + dt)); ((dt < min)) && min=$dt; ((dt > max)) && max=$dt
  done
  rss=-
  if [ -x /usr/bin/time ]; then
    # shellcheck disable=SC2086
    rss=$(/usr/bin/time -f %M "$BIN" run ${ARGS[$phase]} 2>&1 >/dev/null | tail -1 | awk '{printf "%.1f", $1/1024}')
  fi
  awk -v p="$phase" -v t="$total" -v n="$RUNS" -v lo="$min" -v hi="$max" -v rss="$rss" 'BEGIN {
    m = t / n / 1e6; printf "   %-8s %10.2f %10.2f %10.2f %12s  %.2fx %s\n", p, m, lo / 1e6, hi / 1e6, rss, m / 50,
    (m < 50 ? "(meets)" : "(misses)") }'
done
echo "   (codesim run: process start, preset loading, one forked worker, SystemC elaboration, simulation)"
echo

echo "2. sweep throughput: bench/sweep-200.cfg (200 Llama-3-70B decode/prefill points), --jobs 2 (target >= 200 points/s)"
for rep in 1 2 3; do
  db="$TMP/sweep-$rep.db"
  t0=$(now_ns)
  if [ -x /usr/bin/time ]; then
    cpu=$(/usr/bin/time -f "%U %S" "$BIN" sweep "$HERE/sweep-200.cfg" --db "$db" --jobs 2 --quiet 2>&1 | tail -1)
  else
    "$BIN" sweep "$HERE/sweep-200.cfg" --db "$db" --jobs 2 --quiet; cpu="0 0"
  fi
  dt=$(( $(now_ns) - t0 ))
  n=$("$BIN" query --db "$db" --csv "SELECT count(*) FROM points WHERE status IN ('ok','infeasible')" | tail -1)
  # CPU seconds (parent + workers) give what 2 idle cores would do, whatever else runs now
  awk -v n="$n" -v dt="$dt" -v r="$rep" -v cpu="$cpu" 'BEGIN { split(cpu, c, " "); s = c[1] + c[2];
    printf "   run %d: %d points in %.3f s = %.0f points/s (%.2fx the target); %.2f CPU s = %.1f ms per point",
      r, n, dt / 1e9, n / (dt / 1e9), n / (dt / 1e9) / 200, s, s / n * 1000;
    if (s > 0) printf ", %.0f points/s on 2 idle cores (%.2fx)", 2 * n / s, 2 * n / s / 200; printf "\n" }'
done
echo "   (whole command: spec validation, resolving each point, 200 forks, SQLite writes)"
"$BIN" sweep "$HERE/train-70b.cfg" --db "$TMP/sweep-1.db" --jobs 2 --quiet
echo
echo "   per point inside the sweeps: the worker's CPU time (user + system, from fork to result: what one"
echo "   point costs one core, whatever else runs) and its wall time (inflated when the cores are shared)"
"$BIN" query --db "$TMP/sweep-1.db" "SELECT phase, count(*) AS points, round(avg(cpu_s) * 1000, 2) AS cpu_mean_ms,
  round(max(cpu_s) * 1000, 2) AS cpu_max_ms, round(avg(wall_s) * 1000, 2) AS wall_mean_ms,
  round(avg(cpu_s) * 1000 / 50, 2) AS cpu_vs_50ms_target FROM v_results GROUP BY phase ORDER BY phase" | sed 's/^/   /'
echo

echo "3. peak RSS per worker (getrusage in each worker; target < 100 MB)"
"$BIN" query --db "$TMP/sweep-1.db" "SELECT count(*) AS workers, round(avg(rss_kB) / 1024.0, 1) AS mean_MB,
  round(max(rss_kB) / 1024.0, 1) AS peak_MB, round(max(rss_kB) / 1024.0 / 100, 3) AS vs_100MB_target
  FROM points WHERE rss_kB IS NOT NULL" | sed 's/^/   /'
