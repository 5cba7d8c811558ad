#!/bin/sh
# update.sh - re-record tests/golden/points.tsv (make golden).
#
# The golden points pin codesim's predictions: `make test` fails when any of
# them changes.  A change that moves a prediction must also bump
# CODESIM_MODEL_VERSION (explorer/model_version.h), so that stored sweeps are
# recomputed on resume; this script refuses to record new values under the
# version the file already holds.
set -eu
cd "$(dirname "$0")/../.."
file=tests/golden/points.tsv
version=$(./codesim --version | sed -n 's/.*model version \(.*\)$/\1/p')
[ -n "$version" ] || { echo "update.sh: cannot read the model version from ./codesim --version" >&2; exit 2; }
old_version=$(sed -n 's/^# model_version\t//p' "$file" 2>/dev/null || true)
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{
	sed -n '/^# model_version/q;p' "$file"
	printf '# model_version\t%s\n' "$version"
	printf 'args\ttime_s\n'
	grep -v '^#' "$file" | tail -n +2 | cut -f1 | while IFS= read -r args; do
		[ -n "$args" ] || continue
		out=$(./codesim $args --json) || { echo "update.sh: failed: codesim $args" >&2; exit 2; }
		t=$(printf '%s' "$out" | grep -o '"time_s":[^,}]*' | head -1 | cut -d: -f2)
		[ -n "$t" ] || { echo "update.sh: no time_s from: codesim $args" >&2; exit 2; }
		printf '%s\t%s\n' "$args" "$t"
	done
} > "$tmp"
if cmp -s "$tmp" "$file"; then
	echo "golden points unchanged (model version $version)"
	exit 0
fi
# a point recorded before whose value moved (new points, given as args alone, and reworded
# ones are fine)
moved=$(awk -F'\t' 'NR == FNR { if ($0 !~ /^#/ && NF > 1) old[$1] = $2; next }
	$0 !~ /^#/ && ($1 in old) && old[$1] != $2 { n++ } END { print n + 0 }' "$file" "$tmp")
if [ "$moved" -gt 0 ] && [ "$version" = "$old_version" ]; then
	echo "update.sh: $moved prediction(s) changed but the model version is still $version;" >&2
	echo "bump CODESIM_MODEL_VERSION in explorer/model_version.h, rebuild, and run make golden again" >&2
	diff "$file" "$tmp" >&2 || true
	exit 1
fi
mv "$tmp" "$file"
trap - EXIT
echo "recorded $file for model version $version"
