# tests/gpu/cases.awk - gemm.cu's sustained rows as codesim validation cases (cases.tsv format).
# awk -F'\t' -v day=YYYY-MM-DD -f cases.awk gemm.tsv
NR == 1 { next }
$8 != "sustained" { next }
{
	name = $1; a = "";
	# the presets are SXM parts of the full memory size: other variants are other chips
	if (name ~ /PCIe|NVL|40GB/) next;
	if (name ~ /H100/) a = "h100"; else if (name ~ /H200/) a = "h200"; else if (name ~ /A100/) a = "a100";
	else if (name ~ /B200/) a = "b200"; else if (name ~ /L40S/) a = "l40s";
	if (a == "") next;
	printf "dev-%s-%s-gemm-%s-%dx%dx%d-%s\tgemm\tkernel --arch %s --op gemm --m %d --n %d --k %d --dtype %s\ttflops\t%s\tholdout\tcodesim tests/gpu/gemm.cu (cuBLAS, %s layout %s), %s, %s\tsustained: %d back-to-back calls timed after 2 s of the same calls (a power-limited clock has settled); label %s\n",
	       day, a, $2, $3, $4, $5, tolower($6), a, $3, $4, $5, $2, $11, $2, $6, name, day, $9, $7
}
