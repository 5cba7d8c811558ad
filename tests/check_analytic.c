/* check_analytic.c - the engine against physics: compute-bound GEMMs meet
 * FLOPs / (peak x efficiency), memory-bound GEMVs meet bytes / bandwidth, no
 * kernel beats peak compute or peak bandwidth, more bandwidth or more cores
 * never slow things down, and the same input gives the same output. */
#include "tests.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	arch_t a;
	wl_op op;
} kjob;

static int kjob_fn(const void *arg, void *out, char *err, size_t errlen)
{
	const kjob *j = arg;
	return xp_kernel_eval(&j->a, &j->op, 0, FUSE_EAGER, 1, out, err, errlen);
}

static void load_arch(arch_t *a, const char *name, const char *set)
{
	char err[512];
	ck_assert_msg(arch_load(a, t_home(), name, err, sizeof err) == 0, "%s", err);
	if (set)
		ck_assert_msg(arch_override(a, set, err, sizeof err) == 0, "%s", err);
}

static xp_kernel_result run_op(const arch_t *a, const wl_op *op)
{
	kjob j;
	xp_kernel_result kr;
	char err[512];
	j.a = *a;
	j.op = *op;
	ck_assert_msg(xp_fork_call(kjob_fn, &j, &kr, sizeof kr, 60, NULL, err, sizeof err) == 0, "%s", err);
	return kr;
}

static wl_op gemm_op(long m, long n, long k, int dtype)
{
	wl_op op;
	memset(&op, 0, sizeof op);
	snprintf(op.name, sizeof op.name, "gemm");
	op.kind = OP_GEMM, op.cls = CLS_GEMM, op.dtype = dtype;
	op.m = m, op.n = n, op.k = k, op.batch = 1, op.b_is_weight = 1;
	op.flops = 2.0 * m * n * k;
	return op;
}

START_TEST(large_gemm_meets_peak_times_efficiency)
{
	static const char *archs[] = {"h100", "a100", "mi300x", "b200"};
	for (size_t i = 0; i < sizeof archs / sizeof *archs; i++) {
		arch_t a;
		load_arch(&a, archs[i], NULL);
		wl_op op = gemm_op(16384, 16384, 16384, DT_BF16);
		xp_kernel_result kr = run_op(&a, &op);
		double expect = op.flops / (arch_peak_flops(&a, DT_BF16) * a.core.matrix_efficiency);
		double ratio = kr.time_s / expect;
		ck_assert_msg(kr.bound == BOUND_COMPUTE, "%s: bound %d", archs[i], kr.bound);
		/* wave tails and the first tile's load cost a little, never more than a few % */
		ck_assert_msg(ratio >= 1.0 && ratio < 1.05, "%s: time %.4g vs %.4g (x%.3f)", archs[i], kr.time_s, expect,
		              ratio);
	}
}
END_TEST

START_TEST(gemv_meets_bytes_over_bandwidth)
{
	static const char *archs[] = {"h100", "a100", "h200", "tpu-v5p"};
	for (size_t i = 0; i < sizeof archs / sizeof *archs; i++) {
		arch_t a;
		load_arch(&a, archs[i], NULL);
		wl_op op = gemm_op(1, 28672, 8192, DT_BF16);   /* 470 MB of weights */
		xp_kernel_result kr = run_op(&a, &op);
		double bytes = 28672.0 * 8192 * 2;
		double expect = bytes / (a.memory.bandwidth_GBps * 1e9 * a.memory.efficiency);
		double ratio = kr.time_s / expect;
		ck_assert_msg(kr.bound == BOUND_MEMORY, "%s: bound %d", archs[i], kr.bound);
		ck_assert_msg(ratio >= 1.0 && ratio < 1.10, "%s: time %.4g vs bytes/bw %.4g (x%.3f)", archs[i], kr.time_s,
		              expect, ratio);
	}
}
END_TEST

START_TEST(writes_stream_at_the_write_efficiency)
{
	/* An element-wise op over 2^28 fp16 elements reads 512 MiB and writes
	 * 512 MiB.  Reads move at bandwidth x memory.efficiency, written bytes at
	 * bandwidth x memory.write_efficiency (0: the read fraction), so on an
	 * A100 (2.039 TB/s) at 0.8 / 0.5 it takes 537e6/(2.039e12 x 0.8) +
	 * 537e6/(2.039e12 x 0.5) = 0.329 + 0.527 ms; unset, 1074e6/(2.039e12 x
	 * 0.8) = 0.658 ms.  A GEMV, which writes almost nothing, keeps its
	 * bytes-over-read-bandwidth time whatever the write fraction. */
	arch_t a;
	wl_op op;
	memset(&op, 0, sizeof op);
	snprintf(op.name, sizeof op.name, "add");
	op.kind = OP_ELEM, op.cls = CLS_ELEM, op.dtype = DT_FP16;
	op.elems = 268435456.0;
	op.bytes_in = op.bytes_out = op.elems * 2;
	op.vflops = op.flops = op.elems;
	double bw = 2.039e12, B = op.bytes_in;
	load_arch(&a, "a100", "memory.efficiency=0.8");
	ck_assert_msg(arch_override(&a, "memory.write_efficiency=0.5", NULL, 0) == 0, "override");
	double t_split = run_op(&a, &op).time_s, want_split = B / (bw * 0.8) + B / (bw * 0.5);
	ck_assert_msg(fabs(t_split / want_split - 1) < 0.03, "read 0.8 / write 0.5: %.4g s, expected %.4g", t_split,
	              want_split);
	ck_assert_msg(arch_override(&a, "memory.write_efficiency=0", NULL, 0) == 0, "override");
	double t_same = run_op(&a, &op).time_s, want_same = 2 * B / (bw * 0.8);
	ck_assert_msg(fabs(t_same / want_same - 1) < 0.03, "write fraction unset: %.4g s, expected %.4g", t_same,
	              want_same);
	/* the roofline bound charges written bytes as the engine does: at 0.8 /
	 * 0.2 the copy takes 6.25 B/bw, of which reading every byte at the read
	 * fraction would explain only 2.5 (under half: "latency"); it is memory */
	ck_assert_msg(arch_override(&a, "memory.write_efficiency=0.2", NULL, 0) == 0, "override");
	xp_kernel_result slow = run_op(&a, &op);
	ck_assert_msg(fabs(slow.time_s / (B / (bw * 0.8) + B / (bw * 0.2)) - 1) < 0.03, "write 0.2: %.4g s",
	              slow.time_s);
	ck_assert_msg(slow.bound == BOUND_MEMORY, "write 0.2: bound %d, expected memory", slow.bound);
	ck_assert_msg(arch_override(&a, "memory.write_efficiency=0", NULL, 0) == 0, "override");
	wl_op gemv = gemm_op(1, 28672, 8192, DT_BF16);
	double t_read = run_op(&a, &gemv).time_s;
	ck_assert_msg(arch_override(&a, "memory.write_efficiency=0.5", NULL, 0) == 0, "override");
	double t_read_w = run_op(&a, &gemv).time_s;
	ck_assert_msg(fabs(t_read_w / t_read - 1) < 0.005, "gemv %.4g s with writes at 0.5, %.4g s without", t_read_w,
	              t_read);
}
END_TEST

START_TEST(no_kernel_beats_peak)
{
	static const char *archs[] = {"h100", "a100", "v100", "mi300x", "tpu-v5e", "tpu-v6e", "groq-lpu"};
	unsigned seed = 12345;
	for (size_t i = 0; i < sizeof archs / sizeof *archs; i++) {
		arch_t a;
		load_arch(&a, archs[i], NULL);
		int dt = a.core.macs_bf16 > 0 ? DT_BF16 : DT_FP16;
		for (int s = 0; s < 12; s++) {
			/* shapes from GEMV to large, ragged sizes included */
			long m = 1 + rand_r(&seed) % (s < 4 ? 64 : 9000);
			long n = 1 + rand_r(&seed) % 12000;
			long k = 1 + rand_r(&seed) % 12000;
			wl_op op = gemm_op(m, n, k, dt);
			xp_kernel_result kr = run_op(&a, &op);
			double peak = arch_peak_flops(&a, (arch_dtype)dt);
			double min_bytes = ((double)m * k + (double)k * n + (double)m * n) * arch_dtype_bytes((arch_dtype)dt);
			ck_assert_msg(kr.time_s > 0, "%s %ldx%ldx%ld: no time", archs[i], m, n, k);
			ck_assert_msg(op.flops / kr.time_s <= peak * 1.000001, "%s %ldx%ldx%ld: %.4g FLOP/s > peak %.4g",
			              archs[i], m, n, k, op.flops / kr.time_s, peak);
			ck_assert_msg(min_bytes / kr.time_s <= arch_mem_bw_Bps(&a) * 1.000001,
			              "%s %ldx%ldx%ld: moves %.4g B/s > peak %.4g", archs[i], m, n, k, min_bytes / kr.time_s,
			              arch_mem_bw_Bps(&a));
		}
		/* attention and a normalization as well */
		wl_op at;
		memset(&at, 0, sizeof at);
		at.kind = OP_ATTN, at.cls = CLS_ATTN, at.dtype = dt;
		at.batch = 4, at.heads = 32, at.kv_heads = 8, at.head_dim = 128, at.q_len = 2048, at.kv_len = 2048;
		at.causal = 1;
		at.flops = 4.0 * 4 * 32 * (2048.0 * 2049 / 2) * 128;
		xp_kernel_result kr = run_op(&a, &at);
		ck_assert_msg(at.flops / kr.time_s <= arch_peak_flops(&a, (arch_dtype)dt), "%s attention beats peak",
		              archs[i]);
		wl_op nm;
		memset(&nm, 0, sizeof nm);
		nm.kind = OP_NORM, nm.cls = CLS_NORM, nm.dtype = dt;
		nm.elems = 8192.0 * 8192, nm.bytes_in = nm.bytes_out = nm.elems * 2, nm.vflops = 5 * nm.elems;
		nm.flops = nm.vflops;
		kr = run_op(&a, &nm);
		ck_assert_msg((nm.bytes_in + nm.bytes_out) / kr.time_s <= arch_mem_bw_Bps(&a), "%s norm beats bandwidth",
		              archs[i]);
	}
}
END_TEST

START_TEST(more_cores_never_slow_a_compute_bound_gemm)
{
	static const char *counts[] = {"core.count=33", "core.count=66", "core.count=132", "core.count=264"};
	double prev = INFINITY;
	for (size_t i = 0; i < 4; i++) {
		arch_t a;
		load_arch(&a, "h100", counts[i]);
		wl_op op = gemm_op(8192, 8192, 8192, DT_BF16);
		xp_kernel_result kr = run_op(&a, &op);
		ck_assert_msg(kr.time_s <= prev * 1.0000001, "%s: %.4g > %.4g", counts[i], kr.time_s, prev);
		prev = kr.time_s;
	}
}
END_TEST

static res_t *run_point(const char *arch, const char *model, const char *phase, const char *const *sets, int nsets)
{
	xp_spec spec;
	xp_point pt;
	char err[512];
	res_t *r = calloc(1, sizeof *r);
	xp_spec_init(&spec);
	snprintf(spec.arch, sizeof spec.arch, "%s", arch);
	snprintf(spec.model, sizeof spec.model, "%s", model);
	ck_assert_int_eq(arch_cfg_set(wl_run_keys, wl_run_nkeys, &spec.sc, "phase", phase, "test", err, sizeof err), 0);
	for (int i = 0; i < nsets; i++)
		snprintf(spec.sets[spec.nsets++], sizeof spec.sets[0], "%s", sets[i]);
	ck_assert_msg(xp_resolve(t_home(), &spec, &pt, err, sizeof err) == 0, "%s", err);
	ck_assert_msg(xp_evaluate_forked(&pt, 60, r, err, sizeof err) == 0, "%s", err);
	return r;
}

START_TEST(more_bandwidth_never_slows_and_decode_follows_it)
{
	static const char *bws[] = {"arch.memory.bandwidth_GBps=1675", "arch.memory.bandwidth_GBps=3350",
	                            "arch.memory.bandwidth_GBps=6700", "arch.memory.bandwidth_GBps=13400"};
	double t[4];
	for (int i = 0; i < 4; i++) {
		const char *sets[] = {bws[i], "run.batch=8", "run.context=2048"};
		res_t *r = run_point("h100", "llama3-8b", "decode", sets, 3);
		ck_assert(r->feasible);
		t[i] = r->time_s;
		free(r);
		if (i)
			ck_assert_msg(t[i] <= t[i - 1], "bandwidth x2 slowed decode: %.4g -> %.4g", t[i - 1], t[i]);
	}
	/* decode is memory-bound: doubling bandwidth from the preset speeds it up
	 * nearly 2x (launch gaps and latency do not scale) */
	double speedup = t[1] / t[2];
	ck_assert_msg(speedup > 1.5 && speedup <= 2.0, "2x bandwidth gave %.3fx", speedup);
	/* and prefill, compute-bound, hardly moves */
	const char *a1[] = {"arch.memory.bandwidth_GBps=3350", "run.seq=2048"};
	const char *a2[] = {"arch.memory.bandwidth_GBps=6700", "run.seq=2048"};
	res_t *p1 = run_point("h100", "llama3-8b", "prefill", a1, 2);
	res_t *p2 = run_point("h100", "llama3-8b", "prefill", a2, 2);
	ck_assert(p2->time_s <= p1->time_s);
	ck_assert_msg(p1->time_s / p2->time_s < 1.25, "prefill sped up %.3fx with bandwidth", p1->time_s / p2->time_s);
	free(p1);
	free(p2);
}
END_TEST

START_TEST(same_command_same_json)
{
	static char o1[1 << 16], o2[1 << 16], e[4096];
	const char *args = "run --arch h100 --model llama3-8b --phase decode --batch 8 --context 2048 --json";
	ck_assert_int_eq(t_cli(args, o1, sizeof o1, e, sizeof e), 0);
	ck_assert_int_eq(t_cli(args, o2, sizeof o2, e, sizeof e), 0);
	ck_assert(strlen(o1) > 100);
	ck_assert_str_eq(o1, o2);
	const char *k = "kernel --arch tpu-v5e --op gemm --m 1000 --n 3000 --k 700 --json";
	ck_assert_int_eq(t_cli(k, o1, sizeof o1, e, sizeof e), 0);
	ck_assert_int_eq(t_cli(k, o2, sizeof o2, e, sizeof e), 0);
	ck_assert_str_eq(o1, o2);
}
END_TEST

Suite *suite_analytic(void)
{
	Suite *s = suite_create("analytic");
	TCase *tc = tcase_create("physics");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, large_gemm_meets_peak_times_efficiency);
	tcase_add_test(tc, gemv_meets_bytes_over_bandwidth);
	tcase_add_test(tc, writes_stream_at_the_write_efficiency);
	tcase_add_test(tc, no_kernel_beats_peak);
	tcase_add_test(tc, more_cores_never_slow_a_compute_bound_gemm);
	tcase_add_test(tc, more_bandwidth_never_slows_and_decode_follows_it);
	tcase_add_test(tc, same_command_same_json);
	suite_add_tcase(s, tc);
	return s;
}
