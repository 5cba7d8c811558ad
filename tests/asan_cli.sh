#!/bin/sh
# asan_cli.sh BIN - the command-line paths under AddressSanitizer and UBSan
# (make asan).  The Check suites run in-process code sanitized, but their CLI
# tests drive the plain ./codesim; this runs a representative command of
# every subcommand with the sanitized binary BIN and fails on any sanitizer
# report or unexpected exit status.  SystemC's coroutine switches make ASan
# print one "ignoring requested __asan_handle_no_return" warning per
# process: that warning alone is not a finding.
set -u
bin=${1:?usage: asan_cli.sh ./codesim-san}
tmp=$(mktemp -d /tmp/codesim-asan-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
n=0
check() {   # check EXPECTED_STATUS ARGS...
	want=$1
	shift
	n=$((n + 1))
	"$bin" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: (Address|Undefined)' "$tmp/err"; then
		echo "asan_cli: sanitizer report from: codesim $*" >&2
		grep -v -E 'handle_no_return|False positive|sanitizers/issues/189' "$tmp/err" | head -40 >&2
		fail=1
	elif [ "$rc" != "$want" ]; then
		echo "asan_cli: exit $rc (expected $want) from: codesim $*" >&2
		head -5 "$tmp/err" >&2
		fail=1
	fi
}
check 0 run --arch h100 --model llama3-8b --phase prefill --seq 2048 -v
check 0 run --arch a100 --model gpt3-175b -s model.n_layers=2 --phase train --batch 8 --seq 2048 --chips 8 --tp 2 --pp 2 --fusion eager -s run.attn_impl=naive --json
check 0 run --arch tpu-v5p --model mixtral-8x7b --phase decode --batch 16 --chips 8 --ep 8 --json
check 0 run --arch groq-lpu --model llama3-8b --phase decode --json
check 0 run --arch mi300x --model llama3-70b --phase serve --batch 8 --seq 1024 --gen 64 --chips 8 --fusion megakernel
check 0 run --arch h100 --model llama3-70b --phase train --chips 64 --tp 8 --pp 2 --batch 512 --seq 4096 --recompute selective --zero 3 --json
check 0 kernel --arch h100 --op gemm --m 8192 --n 8192 --k 8192 --dtype fp8
check 0 kernel --arch a100 --op attention --batch 4 --heads 16 --seq 1024 --head-dim 128 --causal --backward --impl naive --qkv-packed --dtype fp16 --json
check 0 kernel --arch h100 --op attention --batch 2 --heads 16 --seq 4096 --head-dim 128 --causal --backward --impl flash2
check 0 kernel --arch a100 --op allreduce --bytes 1e9 --chips 64 --json
check 0 kernel --arch a100 --op norm --m 4096 --n 32768 --dtype fp16 --fusion compiler --json
check 1 run --arch h100 --model llama3-8b -s model.d_model=-5
check 1 kernel --arch a100 --op attention --heads 3 --kv-heads 2 --seq 8 --head-dim 64
check 0 sweep explorer/sweeps/decode-bw-sram.cfg --db "$tmp/s.db" --jobs 2 --quiet
check 0 query --db "$tmp/s.db" --csv "SELECT count(*) FROM points"
check 0 compare --arch h100,mi300x,tpu-v5p --model llama3-8b --phase decode --batch 8 --no-db --out "$tmp/report.md"
check 0 recommend --arch h100 --params 1.3e9 --phase prefill --max-candidates 12 --top 3
check 0 validate --fast
check 0 list keys
if [ "$fail" = 0 ]; then
	echo "asan_cli: $n commands clean under ASan/UBSan ($bin)"
fi
exit $fail
