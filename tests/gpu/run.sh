#!/bin/sh
# tests/gpu/run.sh - build the GPU measurement programs and run them on the GPU here.
#
#   sh tests/gpu/run.sh [OUTDIR]        (default: $OUT if set, else ./gpu-results)
#
# Needs nvcc and one NVIDIA GPU; nothing else in codesim does.  Writes to OUTDIR:
#   gemm.tsv          every shape of tests/gpu/shapes.txt, burst and sustained timings
#   membw.tsv         copy / read / triad bandwidth, 16 MiB - 4 GiB
#   launch.tsv        launch gap, host launch cost, round trip
#   device-cases.tsv  the sustained GEMM timings as codesim validation cases (the format of
#                     tests/validation/cases.tsv), dated and naming the device, to review and
#                     append to tests/validation/beyond.tsv
#   env.txt           nvidia-smi, nvcc and clock readings around the runs
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-${OUT:-./gpu-results}}
mkdir -p "$out"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT

arch=native
nvcc -O2 -arch=$arch -o "$bin/gemm" "$here/gemm.cu" -lcublas
nvcc -O2 -arch=$arch -o "$bin/membw" "$here/membw.cu"
nvcc -O2 -arch=$arch -o "$bin/launch" "$here/launch.cu"

{
	date -u +%Y-%m-%dT%H:%M:%SZ
	nvcc --version | tail -1
	nvidia-smi --query-gpu=name,driver_version,power.limit,clocks.max.sm,clocks.max.mem --format=csv 2>&1 || true
} > "$out/env.txt"

"$bin/launch" > "$out/launch.tsv"
"$bin/membw" > "$out/membw.tsv"
"$bin/gemm" "$here/shapes.txt" --dtype bf16 > "$out/gemm.tsv"
nvidia-smi --query-gpu=clocks.sm,power.draw,temperature.gpu --format=csv >> "$out/env.txt" 2>&1 || true

# sustained GEMM rows -> validation cases
day=$(date -u +%Y-%m-%d)
awk -F'\t' -v day="$day" -f "$here/cases.awk" "$out/gemm.tsv" > "$out/device-cases.tsv"
echo "tests/gpu: results in $out"
