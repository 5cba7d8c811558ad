/* check_validation.c - codesim validate and calibrate (issue 8): the FLOP
 * conventions of the sources against hand-computed values and a published
 * cross-check, the case file format and its errors, that a case runs what
 * the CLI runs, the fast validation against tests/validation/thresholds.tsv,
 * the fit recovering a known efficiency, and the in-place preset rewrite. */
#include "tests.h"

#include "../explorer/valid.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REL_EQ(a, b, tol) ck_assert_msg(fabs((double)(a) - (double)(b)) <= (tol) * fabs((double)(b)), "%s = %.10g, expected %.10g", #a, \
                                        (double)(a), (double)(b))

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

static xp_vopts opts(int jobs)
{
	xp_vopts o;
	memset(&o, 0, sizeof o);
	o.home = t_home();
	o.jobs = jobs;
	o.timeout_s = 120;
	return o;
}

static const char header[] = "id\tcategory\targs\tmetric\tpublished\tsplit\tsource\tnotes\n";

START_TEST(flop_conventions)
{
	/* GEMM: 2*M*N*K per batch */
	REL_EQ(xp_flops_gemm(8192, 8192, 8192, 1), 1099511627776.0, 1e-15);
	REL_EQ(xp_flops_gemm(2048, 128, 2048, 192), 2.0 * 2048 * 128 * 2048 * 192, 1e-15);
	/* FlashAttention: 4*B*S^2*H*d = 4*2*4096^2*16*128 = 274877906944 by hand;
	 * halved for causal, x3.5 for forward+backward */
	REL_EQ(xp_flops_fa(2, 4096, 4096, 16, 128, 0, 0), 274877906944.0, 1e-15);
	REL_EQ(xp_flops_fa(2, 4096, 4096, 16, 128, 1, 0), 137438953472.0, 1e-15);
	REL_EQ(xp_flops_fa(2, 4096, 4096, 16, 128, 1, 1), 481036337152.0, 1e-15);
	/* the backward alone (--backward-only): 2.5x the forward, 0.5 x 2.5 causal */
	REL_EQ(xp_flops_fa(2, 4096, 4096, 16, 128, 1, 2), 343597383680.0, 1e-15);
	/* Megatron Eq. 3 with V = 0, l = 1, B = 1, s = h = 2048:
	 * 96*2048*2048^2*(1 + 1/6) = 112 * 2^33 = 962072674304 */
	REL_EQ(xp_flops_megatron(1, 2048, 1, 2048, 0), 962072674304.0, 1e-15);
	/* published cross-check: Megatron-LM README (Sept 2020), GPT-2 1.2B
	 * (24 layers, h 1920, vocab 51200, batch 8, seq 1024) on one V100:
	 * 1121 ms per iteration and 71.9 TFLOP/s */
	REL_EQ(xp_flops_megatron(8, 1024, 24, 1920, 51200) / 1.121 / 1e12, 71.9, 1e-3);
	/* FlashAttention-2 end-to-end: (6*S*N + 12*L*h*S^2)*B */
	REL_EQ(xp_flops_fa2(8, 2048, 1.3e9, 24, 2048), (6 * 2048 * 1.3e9 + 12.0 * 24 * 2048 * 2048.0 * 2048) * 8, 1e-15);
}
END_TEST

START_TEST(metric_conversions)
{
	char err[256];
	double v;
	xp_vmetric_in in;
	memset(&in, 0, sizeof in);
	/* a 8192^3 GEMM in 4 ms: 1.0995e12 / 4e-3 = 274.88 TFLOP/s */
	in.time_s = 4e-3, in.m = 8192, in.n = 8192, in.k = 8192, in.kbatch = 1;
	ck_assert(xp_vmetric_convert(VM_TFLOPS, &in, &v, err, sizeof err) == 0);
	REL_EQ(v, 274.877906944, 1e-12);
	ck_assert(xp_vmetric_convert(VM_TIME_MS, &in, &v, err, sizeof err) == 0);
	REL_EQ(v, 4.0, 1e-15);
	/* a host-timed op adds the eager round trip (20 us), or the chip's
	 * launch gap where that is longer: 4 ms + 20 us, then 4 ms + 30 us */
	in.launch_s = 10e-6;
	ck_assert(xp_vmetric_convert(VM_WALL_MS, &in, &v, err, sizeof err) == 0);
	REL_EQ(v, 4.02, 1e-12);
	in.launch_s = 30e-6;
	ck_assert(xp_vmetric_convert(VM_WALL_MS, &in, &v, err, sizeof err) == 0);
	REL_EQ(v, 4.03, 1e-12);
	/* elements per second: 4096 x 4096 in 1 ms (+ the 20 us round trip) */
	memset(&in, 0, sizeof in);
	in.time_s = 1e-3, in.m = 4096, in.n = 4096, in.launch_s = 1e-6;
	ck_assert(xp_vmetric_convert(VM_GELEMS, &in, &v, err, sizeof err) == 0);
	REL_EQ(v, 16.777216, 1e-12);
	ck_assert(xp_vmetric_convert(VM_WALL_GELEMS, &in, &v, err, sizeof err) == 0);
	REL_EQ(v, 16.777216 / 1.020, 1e-12);
	/* the same op behind @torch.compile pays the compiled-call host path
	 * (45 us) instead: 1 ms + 45 us, and 1.045 ms as wall_compiled_ms */
	ck_assert(xp_vmetric_convert(VM_WALL_COMPILED_GELEMS, &in, &v, err, sizeof err) == 0);
	REL_EQ(v, 16.777216 / 1.045, 1e-12);
	ck_assert(xp_vmetric_convert(VM_WALL_COMPILED_MS, &in, &v, err, sizeof err) == 0);
	REL_EQ(v, 1.045, 1e-12);
	/* LLMCompass's A100 host states its own per-op eager overheads
	 * (overhead_dict["A100"]): matmul 21 us, softmax 12 us; other ops keep
	 * the generic 20 us, and the compiled path stays 45 us whatever the op */
	in.op = "gemm";
	ck_assert(xp_vmetric_convert(VM_WALL_MS, &in, &v, err, sizeof err) == 0);
	REL_EQ(v, 1.021, 1e-12);
	in.op = "softmax";
	ck_assert(xp_vmetric_convert(VM_WALL_GELEMS, &in, &v, err, sizeof err) == 0);
	REL_EQ(v, 16.777216 / 1.012, 1e-12);
	ck_assert(xp_vmetric_convert(VM_WALL_COMPILED_MS, &in, &v, err, sizeof err) == 0);
	REL_EQ(v, 1.045, 1e-12);
	in.op = "norm";
	ck_assert(xp_vmetric_convert(VM_WALL_MS, &in, &v, err, sizeof err) == 0);
	REL_EQ(v, 1.020, 1e-12);
	/* causal fwd+bwd attention, B 2, S 4096, H 16, d 128 in 2 ms */
	memset(&in, 0, sizeof in);
	in.time_s = 2e-3, in.kbatch = 2, in.kseq = 4096, in.heads = 16, in.head_dim = 128, in.causal = 1, in.backward = 1;
	ck_assert(xp_vmetric_convert(VM_TFLOPS_FA, &in, &v, err, sizeof err) == 0);
	REL_EQ(v, 240.518168576, 1e-12);
	/* Megatron per-GPU TFLOP/s: the 2020 V100 row, one chip, 1121 ms */
	memset(&in, 0, sizeof in);
	in.time_s = 1.121, in.chips = 1, in.batch = 8, in.seq = 1024, in.n_layers = 24, in.d_model = 1920,
	in.vocab = 51200;
	ck_assert(xp_vmetric_convert(VM_TFLOPS_HW, &in, &v, err, sizeof err) == 0);
	REL_EQ(v, 71.9, 1e-3);
	/* the same step on 4 chips is a quarter per chip */
	in.chips = 4;
	ck_assert(xp_vmetric_convert(VM_TFLOPS_HW, &in, &v, err, sizeof err) == 0);
	REL_EQ(v, 71.9 / 4, 1e-3);
	/* FA2 end-to-end, 8 chips, 1 s */
	memset(&in, 0, sizeof in);
	in.time_s = 1, in.chips = 8, in.batch = 8, in.seq = 2048, in.n_params = 1.3e9, in.n_layers = 24, in.d_model = 2048;
	ck_assert(xp_vmetric_convert(VM_TFLOPS_FA2, &in, &v, err, sizeof err) == 0);
	REL_EQ(v, 147586409299968.0 / 8 / 1e12, 1e-12);
	/* layer time: step minus embedding, head and optimizer kernels */
	memset(&in, 0, sizeof in);
	in.time_s = 0.069, in.nonlayer_s = 0.0006;
	ck_assert(xp_vmetric_convert(VM_LAYERS_MS, &in, &v, err, sizeof err) == 0);
	REL_EQ(v, 68.4, 1e-12);
	/* tokens and latencies */
	memset(&in, 0, sizeof in);
	in.time_s = 0.5, in.chips = 4, in.tokens_per_s = 1000, in.tpot_s = 0.02;
	ck_assert(xp_vmetric_convert(VM_TOKENS_CHIP, &in, &v, err, sizeof err) == 0);
	REL_EQ(v, 250, 1e-15);
	ck_assert(xp_vmetric_convert(VM_TPOT_MS, &in, &v, err, sizeof err) == 0);
	REL_EQ(v, 20, 1e-12);
	/* static batch, OSL 128: serve --gen 127 emits 127 tokens per request in
	 * time_s, the benchmark counts 128 (the prefill's): 1000 x 128/127 */
	ck_assert(xp_vmetric_convert(VM_STATIC_TOKENS, &in, &v, err, sizeof err) != 0);   /* not serve */
	in.phase = PH_SERVE, in.gen = 127;
	ck_assert(xp_vmetric_convert(VM_STATIC_TOKENS, &in, &v, err, sizeof err) == 0);
	REL_EQ(v, 1000.0 * 128 / 127, 1e-12);
	/* per GPU of a 4-way tensor-parallel engine: a quarter of that */
	ck_assert(xp_vmetric_convert(VM_STATIC_TOKENS_CHIP, &in, &v, err, sizeof err) == 0);
	REL_EQ(v, 1000.0 * 128 / 127 / 4, 1e-12);
	/* no prediction, no number */
	in.time_s = 0;
	ck_assert(xp_vmetric_convert(VM_TIME_MS, &in, &v, err, sizeof err) != 0);
}
END_TEST

START_TEST(beyond_the_set_is_never_fitted)
{
	/* tests/validation/beyond.tsv: published rows outside public.tsv, the
	 * check that the model generalises.  It loads, every row is held out
	 * (calibration fits only fit rows), and no id repeats one of cases.tsv. */
	char file[1024], err[1024];
	snprintf(file, sizeof file, "%s/tests/validation/beyond.tsv", t_home());
	xp_vset b, c;
	ck_assert_msg(xp_vset_load(&b, file, err, sizeof err) == 0, "%s", err);
	xp_vset_default_file(t_home(), file, sizeof file);
	ck_assert_msg(xp_vset_load(&c, file, err, sizeof err) == 0, "%s", err);
	ck_assert_int_gt(b.n, 0);
	for (int i = 0; i < b.n; i++) {
		ck_assert_msg(b.cases[i].split == VSPLIT_HOLDOUT, "%s is not holdout", b.cases[i].id);
		for (int j = 0; j < c.n; j++)
			ck_assert_msg(strcmp(b.cases[i].id, c.cases[j].id), "%s is also in cases.tsv", b.cases[i].id);
	}
	xp_vset_free(&b);
	xp_vset_free(&c);
}
END_TEST

START_TEST(gpu_tool_rows_are_cases)
{
	/* tests/gpu/cases.awk turns gemm.cu's output into validation cases: only
	 * the sustained timing, only chips a preset models (an H100 PCIe is not
	 * the h100 SXM preset), in a file codesim validate loads.  A hand-written
	 * gemm.cu output stands in for a GPU run. */
	char in[96], out[96], cmd[1536], err[1024];
	snprintf(in, sizeof in, "/tmp/codesim-gpuout-%d.tsv", (int)getpid());
	snprintf(out, sizeof out, "/tmp/codesim-gpucases-%d.tsv", (int)getpid());
	FILE *f = fopen(in, "w");
	ck_assert_ptr_nonnull(f);
	fputs("device\tdtype\tm\tn\tk\tlayout\tlabel\ttiming\tcalls\tus_per_call\ttflops\n"
	      "NVIDIA H100 80GB HBM3\tbf16\t4096\t12288\t4096\tNT\tqkv\tburst\t10\t560.0\t736.3\n"
	      "NVIDIA H100 80GB HBM3\tbf16\t4096\t12288\t4096\tNT\tqkv\tsustained\t900\t580.0\t710.9\n"
	      "NVIDIA H100 PCIe\tbf16\t4096\t12288\t4096\tNT\tqkv\tsustained\t900\t800.0\t515.4\n",
	      f);
	fclose(f);
	f = fopen(out, "w");
	ck_assert_ptr_nonnull(f);
	fputs("id\tcategory\targs\tmetric\tpublished\tsplit\tsource\tnotes\n", f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "awk -F'\\t' -v day=2026-11-21 -f %s/tests/gpu/cases.awk %s >> %s", t_home(), in, out);
	ck_assert_int_eq(system(cmd), 0);
	xp_vset set;
	ck_assert_msg(xp_vset_load(&set, out, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(set.n, 1);
	const xp_vcase *c = &set.cases[0];
	ck_assert_str_eq(c->id, "dev-2026-11-21-h100-gemm-bf16-4096x12288x4096-nt");
	ck_assert_int_eq(c->category, VCAT_GEMM);
	ck_assert_int_eq(c->metric, VM_TFLOPS);
	ck_assert_int_eq(c->split, VSPLIT_HOLDOUT);
	ck_assert_str_eq(c->arch, "h100");
	ck_assert(fabs(c->published - 710.9) < 1e-9);
	ck_assert_ptr_nonnull(strstr(c->args, "--m 4096 --n 12288 --k 4096 --dtype bf16"));
	ck_assert_ptr_nonnull(strstr(c->source, "NVIDIA H100 80GB HBM3, 2026-11-21"));
	xp_vset_free(&set);
	unlink(in);
	unlink(out);
}
END_TEST

START_TEST(case_file_format)
{
	char path[64], err[1024], text[4096];
	snprintf(path, sizeof path, "/tmp/codesim-vcases-%d.tsv", (int)getpid());
	xp_vset set;
	/* the project's own file loads, with every category and both splits */
	char file[1024];
	xp_vset_default_file(t_home(), file, sizeof file);
	ck_assert_msg(xp_vset_load(&set, file, err, sizeof err) == 0, "%s", err);
	ck_assert_int_ge(set.n, 200);
	int seen[VCAT_COUNT][2] = {{0}};
	for (int i = 0; i < set.n; i++) {
		const xp_vcase *c = &set.cases[i];
		seen[c->category][c->split]++;
		/* the host path a wall-clock metric adds is LLMCompass's A100 host's
		 * (its per-op overhead table, explorer/valid_case.c): a wall-clock case
		 * from another host or chip would be converted with the wrong figures */
		int wall = c->metric == VM_WALL_MS || c->metric == VM_WALL_GELEMS || c->metric == VM_WALL_COMPILED_MS ||
		           c->metric == VM_WALL_COMPILED_GELEMS;
		if (wall)
			ck_assert_msg(strstr(c->source, "LLMCompass") && !strcmp(c->arch, "a100"),
			              "%s: a wall-clock case not from LLMCompass's A100 host", c->id);
	}
	for (int c = 0; c < VCAT_COUNT; c++)
		ck_assert_msg(seen[c][VSPLIT_FIT] && seen[c][VSPLIT_HOLDOUT], "%s lacks a fit or holdout case",
		              xp_vcat_names[c]);
	xp_vset_free(&set);

	snprintf(text, sizeof text,
	         "# comment\n%s"
	         "g1\tgemm\tkernel --arch a100 --op gemm --m 64 --n 64 --k 64\ttflops\t1.5\tfit\tsrc\tUNCERTAIN value\n"
	         "\n"
	         "t1\ttraining\trun --arch h100 --model llama3-8b --phase train\ttime_ms\t1200\tholdout\tsrc\t\n",
	         header);
	write_file(path, text);
	ck_assert_msg(xp_vset_load(&set, path, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(set.n, 2);
	ck_assert_str_eq(set.cases[0].id, "g1");
	ck_assert_int_eq(set.cases[0].category, VCAT_GEMM);
	ck_assert_int_eq(set.cases[0].metric, VM_TFLOPS);
	ck_assert_str_eq(set.cases[0].arch, "a100");
	ck_assert(set.cases[0].uncertain && !set.cases[1].uncertain);
	ck_assert_int_eq(set.cases[0].line, 3);
	ck_assert_int_eq(set.cases[1].split, VSPLIT_HOLDOUT);
	ck_assert_str_eq(set.cases[1].arch, "h100");
	ck_assert(set.cases[1].published == 1200);
	xp_vset_free(&set);

	/* every error names the file, the line and what was expected */
	static const struct {
		const char *row, *want;
	} bad[] = {
	    {"x\tgemm\tkernel --arch a100\tnosuch\t1\tfit\ts\tn\n", ":3: metric 'nosuch': expected one of tflops"},
	    {"x\tgemms\tkernel --arch a100\ttflops\t1\tfit\ts\tn\n", ":3: category 'gemms': expected one of gemm"},
	    {"x\tgemm\tkernel --arch a100\ttflops\t-1\tfit\ts\tn\n", ":3: published '-1': expected a positive number"},
	    {"x\tgemm\tkernel --arch a100\ttflops\t1\ttrain\ts\tn\n", ":3: split 'train': expected fit or holdout"},
	    {"x\tgemm\tbench --arch a100\ttflops\t1\tfit\ts\tn\n", ":3: args: expected 'run ...', 'kernel ...' or 'sum"},
	    {"x\tinference\tsum kernel --arch a100 --op norm --m 8 --n 64\twall_ms\t1\tfit\ts\tn\n",
	     ":3: metric wall_ms: a 'sum' case takes the metric sum_wall_ms"},
	    {"x\tinference\tkernel --arch a100 --op norm --m 8 --n 64\tsum_wall_ms\t1\tfit\ts\tn\n",
	     ":3: metric sum_wall_ms: sum_wall_ms is the metric of a 'sum"},
	    {"x\tinference\tsum kernel --arch a100 --op norm --m 8 --n 64 + kernel --arch h100 --op norm --m 8 --n 64"
	     "\tsum_wall_ms\t1\tfit\ts\tn\n", ":3: args: term 2: --arch h100: expected --arch a100, as the first term"},
	    {"x\tinference\tsum kernel --arch a100 --op norm --m 8 --n 64 + kernel --arch a100 --op norm --m x"
	     "\tsum_wall_ms\t1\tfit\ts\tn\n", ":3: args: term 2: --m x: expected an integer"},
	    {"x\tinference\tsum kernel --arch a100 --op norm --m 8 --n 64 +\tsum_wall_ms\t1\tfit\ts\tn\n",
	     ":3: args: a '+' ends the sum"},
	    {"x\tinference\tsum kernel --arch a100 --op norm --m 8 --n 64 + 0x kernel --arch a100\tsum_wall_ms\t1\tfit"
	     "\ts\tn\n", ":3: args: term 2: count 0x: expected 1x to 1000x"},
	    {"x\tinference\tsum 2x run --arch a100\tsum_wall_ms\t1\tfit\ts\tn\n",
	     ":3: args: term 1: expected '[Nx] kernel ...'"},
	    {"x\tgemm\tkernel --arch a100\ttflops\t1\n", ":3: expected 8 tab-separated columns"},
	    {"x\tgemm\tkernel --arch a100\ttflops\t1\tfit\ts\tn\nx\tgemm\tkernel --arch a100\ttflops\t1\tfit\ts\tn\n",
	     ":4: id x: already used at line 3"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(text, sizeof text, "# c\n%s%s", header, bad[i].row);
		write_file(path, text);
		ck_assert(xp_vset_load(&set, path, err, sizeof err) != 0);
		ck_assert_msg(strstr(err, path) && strstr(err, bad[i].want), "row %zu: '%s' lacks '%s'", i, err,
		              bad[i].want);
	}
	write_file(path, "id,category\n");
	ck_assert(xp_vset_load(&set, path, err, sizeof err) != 0);
	ck_assert_msg(strstr(err, ":1: expected the header line"), "%s", err);
	unlink(path);
}
END_TEST

START_TEST(fast_subset_is_spread_and_deterministic)
{
	xp_vset set;
	memset(&set, 0, sizeof set);
	xp_vcase cases[20];
	memset(cases, 0, sizeof cases);
	/* 14 gemm cases and 3 training cases, interleaved with 3 vector */
	for (int i = 0; i < 20; i++)
		cases[i].category = i < 14 ? VCAT_GEMM : i < 17 ? VCAT_TRAINING : VCAT_VECTOR;
	set.cases = cases;
	set.n = 20;
	int in[20], out[20];
	for (int i = 0; i < 20; i++)
		in[i] = i;
	int n = xp_vfast_select(&set, in, 20, 6, out);
	/* gemm: floor(j*14/6) = 0 2 4 7 9 11; training and vector: all */
	static const int want[] = {0, 2, 4, 7, 9, 11, 14, 15, 16, 17, 18, 19};
	ck_assert_int_eq(n, (int)(sizeof want / sizeof *want));
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(out[i], want[i]);
}
END_TEST

/* the "time_s" field of a codesim --json output */
static double json_time(const char *out)
{
	const char *p = strstr(out, "\"time_s\":");
	ck_assert_msg(p != NULL, "no time_s in %s", out);
	return strtod(p + 9, NULL);
}

START_TEST(case_runs_what_the_cli_runs)
{
	static char out[1 << 16], errout[4096];
	xp_vopts o = opts(1);
	xp_vcase c;
	xp_vres r;
	/* a kernel case: the validator parses the kernel flags itself; its
	 * prediction must be the CLI's */
	static const char *kargs[] = {
	    "kernel --arch a100 --op gemm --m 2048 --n 128 --k 2048 --batch 192 --dtype fp16",
	    "kernel --arch h100 --op attention --batch 2 --heads 16 --seq 4096 --head-dim 128 --causal --backward "
	    "--impl flash --dtype fp16",
	    "kernel --arch a100 --op attention --batch 4 --heads 16 --seq 2048 --head-dim 128 --backward "
	    "--impl naive --dtype fp16",
	};
	static const int kmetric[] = {VM_TFLOPS, VM_TFLOPS_FA, VM_TFLOPS_FA};
	static const double kflops[] = {2.0 * 2048 * 128 * 2048 * 192, 4.0 * 2 * 4096 * 4096 * 16 * 128 / 2 * 3.5,
	                                4.0 * 4 * 2048 * 2048 * 16 * 128 * 3.5};
	for (int i = 0; i < 3; i++) {
		memset(&c, 0, sizeof c);
		snprintf(c.id, sizeof c.id, "k%d", i);
		snprintf(c.args, sizeof c.args, "%s", kargs[i]);
		snprintf(c.arch, sizeof c.arch, "%s", i == 1 ? "h100" : "a100");
		c.metric = kmetric[i];
		c.published = 100;
		xp_vcase_eval(&o, &c, &r);
		ck_assert_msg(r.status == VST_OK, "%s: %s", kargs[i], r.reason);
		char cmd[512];
		snprintf(cmd, sizeof cmd, "%s --json", kargs[i]);
		ck_assert_int_eq(t_cli(cmd, out, sizeof out, errout, sizeof errout), 0);
		double t = json_time(out);
		if (i) {
			/* fwd+bwd takes longer than the forward pass alone, by about 2.5x
			 * its FLOPs */
			snprintf(cmd, sizeof cmd, "%.*s --impl %s --dtype fp16 --json",
			         (int)(strstr(kargs[i], " --backward") - kargs[i]), kargs[i], i == 2 ? "naive" : "flash");
			ck_assert_int_eq(t_cli(cmd, out, sizeof out, errout, sizeof errout), 0);
			double tf = json_time(out);
			ck_assert_msg(t > 2.5 * tf && t < 8 * tf, "fwd+bwd %g s vs fwd %g s", t, tf);
		}
		REL_EQ(r.time_s, t, 1e-6);
		REL_EQ(r.predicted, kflops[i] / t / 1e12, 1e-6);
		REL_EQ(r.err_pct, 100 * (r.predicted - 100) / 100, 1e-9);
	}
	/* a sum case (a total the source added up from per-op host timings):
	 * each term is the CLI's kernel time plus the measuring host's round
	 * trip for that op (LLMCompass's A100 host: 21 us for an eager matmul,
	 * 45 us for a torch.compile'd call), times its count */
	static const char *ta = "kernel --arch a100 --op gemm --m 8 --n 3072 --k 12288 --dtype fp16",
	                  *tb = "kernel --arch a100 --op norm --m 8 --n 12288 --dtype fp16 --fusion compiler";
	memset(&c, 0, sizeof c);
	snprintf(c.args, sizeof c.args, "sum 3x %s + %s", ta, tb);
	snprintf(c.arch, sizeof c.arch, "a100");
	c.metric = VM_SUM_WALL_MS;
	c.published = 1;
	xp_vcase_eval(&o, &c, &r);
	ck_assert_msg(r.status == VST_OK, "%s", r.reason);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "%s --json", ta);
	ck_assert_int_eq(t_cli(cmd, out, sizeof out, errout, sizeof errout), 0);
	double t_a = json_time(out);
	snprintf(cmd, sizeof cmd, "%s --json", tb);
	ck_assert_int_eq(t_cli(cmd, out, sizeof out, errout, sizeof errout), 0);
	double t_b = json_time(out);
	REL_EQ(r.predicted, 3 * (t_a + 21e-6) * 1e3 + (t_b + 45e-6) * 1e3, 1e-6);
	REL_EQ(r.time_s, 3 * t_a + t_b, 1e-6);
	/* a term that cannot run makes the case an error naming the term */
	snprintf(c.args, sizeof c.args, "sum %s + kernel --arch a100 --op nosuch --m 8 --n 8", ta);
	xp_vcase_eval(&o, &c, &r);
	ck_assert_msg(r.status == VST_ERROR && strstr(r.reason, "term 2: "), "%d %s", r.status, r.reason);

	/* a run case: TTFT is the CLI's time_s */
	memset(&c, 0, sizeof c);
	snprintf(c.args, sizeof c.args, "run --arch a100 --model llama3-8b --phase prefill --batch 1 --seq 128");
	snprintf(c.arch, sizeof c.arch, "a100");
	c.metric = VM_TTFT_MS;
	c.published = 10;
	xp_vcase_eval(&o, &c, &r);
	ck_assert_msg(r.status == VST_OK, "%s", r.reason);
	ck_assert_int_eq(t_cli("run --arch a100 --model llama3-8b --phase prefill --batch 1 --seq 128 --json", out,
	                       sizeof out, errout, sizeof errout), 0);
	REL_EQ(r.predicted, json_time(out) * 1e3, 1e-6);
	/* overrides reach the case: half the memory bandwidth slows the
	 * memory-bound prefill of one short prompt */
	xp_vover ov = {"a100", "arch.memory.bandwidth_GBps=1000"};
	o.ov = &ov, o.nov = 1;
	xp_vres r2;
	xp_vcase_eval(&o, &c, &r2);
	ck_assert(r2.status == VST_OK && r2.predicted > r.predicted * 1.2);
	/* ... but only the cases of their arch */
	snprintf(ov.arch, sizeof ov.arch, "h100");
	xp_vcase_eval(&o, &c, &r2);
	REL_EQ(r2.predicted, r.predicted, 1e-12);
}
END_TEST

START_TEST(failures_are_rows)
{
	xp_vopts o = opts(1);
	xp_vcase c;
	xp_vres r;
	memset(&c, 0, sizeof c);
	c.published = 1;
	c.metric = VM_TIME_MS;
	/* bad input: an error row, not a crash, with the reason */
	snprintf(c.args, sizeof c.args, "kernel --arch nosuch --op gemm --m 1 --n 1 --k 1");
	xp_vcase_eval(&o, &c, &r);
	ck_assert_int_eq(r.status, VST_ERROR);
	ck_assert(!r.internal);
	ck_assert_msg(strstr(r.reason, "nosuch"), "%s", r.reason);
	snprintf(c.args, sizeof c.args, "run --arch a100 --model nosuch-model");
	xp_vcase_eval(&o, &c, &r);
	ck_assert_int_eq(r.status, VST_ERROR);
	/* a design point that does not fit: infeasible, with codesim's reason */
	snprintf(c.args, sizeof c.args, "run --arch a100 --model llama3-405b --phase train --chips 1 --batch 8");
	xp_vcase_eval(&o, &c, &r);
	ck_assert_int_eq(r.status, VST_INFEASIBLE);
	ck_assert_msg(strstr(r.reason, "GB"), "%s", r.reason);
	/* failures are counted, and kept out of the MAPE */
	xp_vset set;
	xp_vcase cs[3];
	memset(cs, 0, sizeof cs);
	xp_vres rs[3];
	memset(rs, 0, sizeof rs);
	rs[0].status = VST_OK, rs[0].err_pct = -10;
	rs[1].status = VST_OK, rs[1].err_pct = 30;
	rs[2].status = VST_INFEASIBLE;
	set.cases = cs, set.n = 3;
	int idx[3] = {0, 1, 2};
	xp_vstat st;
	xp_vstat_compute(&set, idx, rs, 3, -1, VSPLIT_ALL, &st);
	ck_assert_int_eq(st.count, 2);
	ck_assert_int_eq(st.failed, 1);
	REL_EQ(st.mape, 20, 1e-15);
	ck_assert_int_eq(st.worst, 1);
}
END_TEST

/* make test guards accuracy: the fast subset of the project's cases may not
 * exceed tests/validation/thresholds.tsv in any category */
START_TEST(fast_validation_within_thresholds)
{
	char file[1024], tfile[1024], err[1024];
	xp_vset set;
	xp_vthresholds th;
	xp_vset_default_file(t_home(), file, sizeof file);
	snprintf(tfile, sizeof tfile, "%s/tests/validation/thresholds.tsv", t_home());
	ck_assert_msg(xp_vthresholds_load(&th, tfile, err, sizeof err) == 0, "%s", err);
	ck_assert_msg(xp_vset_load(&set, file, err, sizeof err) == 0, "%s", err);
	int *all = malloc((size_t)set.n * sizeof *all), *idx = malloc((size_t)set.n * sizeof *idx);
	xp_vres *res = calloc((size_t)set.n, sizeof *res);
	for (int i = 0; i < set.n; i++)
		all[i] = i;
	int n = xp_vfast_select(&set, all, set.n, XP_VFAST_PER_CAT, idx);
	ck_assert_int_ge(n, VCAT_COUNT * 3);
	xp_vopts o = opts(2);
	ck_assert_msg(xp_vrun(&o, &set, idx, n, res, err, sizeof err) == 0, "%s", err);
	for (int i = 0; i < n; i++)
		ck_assert_msg(!res[i].internal, "%s: %s", set.cases[idx[i]].id, res[i].reason);
	char report[4096] = "";
	FILE *f = fmemopen(report, sizeof report, "w");
	int bad = xp_vthresholds_check(&th, &set, idx, res, n, 1, f);
	fclose(f);
	ck_assert_msg(bad == 0, "accuracy regressed:\n%s", report);
	free(all);
	free(idx);
	free(res);
	xp_vset_free(&set);
}
END_TEST

/* r_i(p) = (p*x_i - 0.42*x_i) / (0.42*x_i): the fit finds 0.42, and a
 * target outside the bounds stops at the bound */
typedef struct {
	double target;
	int evals;
} lin_ctx;

static int lin_model(void *ctx, const double *p, int np, double *r, int n)
{
	lin_ctx *c = ctx;
	(void)np;
	c->evals++;
	for (int i = 0; i < n; i++) {
		double x = 1 + i;
		r[i] = (p[0] * x - c->target * x) / (c->target * x);
	}
	return 0;
}

START_TEST(fit_recovers_analytic)
{
	lin_ctx c = {0.42, 0};
	double lo = 0.2, hi = 1.0, step = 0.01, start = 0.869, fitted, sigma;
	int it, ev;
	char err[256];
	ck_assert_msg(xp_cal_fit(lin_model, &c, 1, &lo, &hi, &step, &start, 5, 50, &fitted, &sigma, &it, &ev, err,
	                         sizeof err) == 0, "%s", err);
	REL_EQ(fitted, 0.42, 1e-4);
	ck_assert(sigma >= 0 && sigma < 1e-3);
	c.target = 1.5;
	ck_assert(xp_cal_fit(lin_model, &c, 1, &lo, &hi, &step, &start, 5, 50, &fitted, &sigma, &it, &ev, err,
	                     sizeof err) == 0);
	ck_assert_msg(fitted <= hi && fitted > 0.99, "fitted %g", fitted);
	/* fewer cases than parameters is refused */
	double lo2[2] = {0, 0}, hi2[2] = {1, 1}, st2[2] = {0.01, 0.01}, s2[2] = {0.5, 0.5}, f2[2], sg2[2];
	ck_assert(xp_cal_fit(lin_model, &c, 2, lo2, hi2, st2, s2, 1, 50, f2, sg2, &it, &ev, err, sizeof err) != 0);
}
END_TEST

/* calibrate on the simulator itself: the published numbers are codesim's
 * own GEMM rates at matrix_efficiency 0.70; the fit, started from the
 * preset's value, must find 0.70 again */
START_TEST(calibrate_recovers_known_efficiency)
{
	static const char *shapes[] = {"--m 8192 --n 8192 --k 8192", "--m 4096 --n 12288 --k 12288",
	                               "--m 16384 --n 3072 --k 12288"};
	char path[64], err[1024], text[4096];
	snprintf(path, sizeof path, "/tmp/codesim-vcal-%d.tsv", (int)getpid());
	xp_vopts o = opts(1);
	xp_vover ov = {"a100", "arch.core.matrix_efficiency=0.7"};
	size_t u = (size_t)snprintf(text, sizeof text, "%s", header);
	for (int i = 0; i < 3; i++) {
		xp_vcase c;
		xp_vres r;
		memset(&c, 0, sizeof c);
		snprintf(c.args, sizeof c.args, "kernel --arch a100 --op gemm %s --dtype fp16", shapes[i]);
		snprintf(c.arch, sizeof c.arch, "a100");
		c.metric = VM_TFLOPS;
		c.published = 1;
		o.ov = &ov, o.nov = 1;
		xp_vcase_eval(&o, &c, &r);
		ck_assert_msg(r.status == VST_OK, "%s", r.reason);
		u += (size_t)snprintf(text + u, sizeof text - u, "s%d\tgemm\t%s\ttflops\t%.9g\t%s\tsynthetic\t\n", i, c.args,
		                      r.predicted, i < 2 ? "fit" : "holdout");
	}
	write_file(path, text);
	xp_vset set;
	ck_assert_msg(xp_vset_load(&set, path, err, sizeof err) == 0, "%s", err);
	xp_calopts co;
	memset(&co, 0, sizeof co);
	co.vo = opts(1);
	co.arch = "a100";
	co.max_iter = 30;
	co.keys_mask = 1u << 0;   /* core.matrix_efficiency */
	xp_calresult cr;
	ck_assert_msg(xp_calibrate(&co, &set, &cr, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(cr.np, 1);
	ck_assert_str_eq(xp_calparams[cr.which[0]].key, "core.matrix_efficiency");
	ck_assert_int_eq(cr.nfit, 2);
	ck_assert_int_eq(cr.nhold, 1);
	ck_assert_msg(fabs(cr.fitted[0] - 0.70) < 0.005, "fitted %g, expected 0.70", cr.fitted[0]);
	ck_assert(cr.fit_rms_after < cr.fit_rms_before);
	ck_assert_msg(cr.hold_mape_after < 1.0, "hold-out MAPE after the fit %g%%", cr.hold_mape_after);
	ck_assert(cr.hold_mape_after < cr.hold_mape_before);
	ck_assert_int_eq(cr.worse_cat, -1);
	ck_assert(!cr.at_bound[0]);
	ck_assert_int_eq(cr.cat_n[VCAT_GEMM], 3);
	ck_assert(cr.cat_mape_after[VCAT_GEMM] < cr.cat_mape_before[VCAT_GEMM]);
	xp_vset_free(&set);
	unlink(path);
}
END_TEST

START_TEST(preset_rewrite_touches_only_the_keys)
{
	static const char preset[] =
	    "# chip\n"
	    "name = \"x\";\n"
	    "core = {\n"
	    "  count = 108;                      # SMs\n"
	    "  matrix_efficiency = 0.869;        # best measured GEMM 271.2 of 312 TF/s [MLE-ACC 8.1]\n"
	    "};\n"
	    "memory = {\n"
	    "  bandwidth_GBps = 2039.0;          # [GK-A100]\n"
	    "  efficiency = 0.90;                # streaming fraction\n"
	    "  latency_ns = 400.0;\n"
	    "};\n"
	    "sched = {\n"
	    "  efficiency_note = 1;              # not a calibrated key\n"
	    "};\n";
	xp_calresult cr;
	memset(&cr, 0, sizeof cr);
	cr.np = 2;
	cr.which[0] = 0, cr.fitted[0] = 0.8123, cr.sigma[0] = 0.004;   /* core.matrix_efficiency */
	cr.which[1] = 1, cr.fitted[1] = 0.777, cr.sigma[1] = 0.01;     /* memory.efficiency */
	char err[256];
	char *t = xp_cal_rewrite_text(preset, &cr, "calibrated 2026-11-21 on 3 cases", err, sizeof err);
	ck_assert_msg(t != NULL, "%s", err);
	/* line by line: only the two lines changed */
	const char *a = preset, *b = t;
	int changed = 0, lines = 0;
	while (*a && *b) {
		size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
		if (la != lb || memcmp(a, b, la)) {
			changed++;
			ck_assert_msg(strstr(a, "matrix_efficiency") || strstr(a, "  efficiency = 0.90"), "changed: %.*s",
			              (int)la, a);
		}
		lines++;
		a += la + (a[la] == '\n'), b += lb + (b[lb] == '\n');
	}
	ck_assert(!*a && !*b);
	ck_assert_int_eq(changed, 2);
	ck_assert_msg(strstr(t, "  matrix_efficiency = 0.812;        # calibrated 2026-11-21 on 3 cases, +-0.004 "
	                        "(1 sigma); cited value 0.869: best measured GEMM 271.2 of 312 TF/s [MLE-ACC 8.1]\n"),
	              "%s", t);
	ck_assert_msg(strstr(t, "  efficiency = 0.777;               # calibrated"), "%s", t);
	/* a second calibration keeps the cited value, once */
	cr.fitted[0] = 0.8;
	char *t2 = xp_cal_rewrite_text(t, &cr, "calibrated 2026-12-01 on 4 cases", err, sizeof err);
	ck_assert(t2 != NULL);
	const char *at = strstr(t2, "matrix_efficiency = 0.800;");
	ck_assert(at != NULL);
	char line[1024];
	snprintf(line, sizeof line, "%.*s", (int)strcspn(at, "\n"), at);
	ck_assert_msg(strstr(line, "calibrated 2026-12-01 on 4 cases") &&
	              strstr(line, "cited value 0.869: best measured GEMM"), "%s", line);
	ck_assert_msg(!strstr(strstr(line, "cited value") + 1, "cited value") && !strstr(line, "2026-11-21"), "%s", line);
	/* a preset without the key is an error naming the key and its group */
	cr.which[0] = 2;   /* sched.launch_overhead_us */
	char *t3 = xp_cal_rewrite_text(preset, &cr, "n", err, sizeof err);
	ck_assert(t3 == NULL);
	ck_assert_msg(strstr(err, "launch_overhead_us") && strstr(err, "sched"), "%s", err);
	/* ...but a key whose 0 means "use another key" may be absent: it goes in
	 * as its group's last line, aligned with the line before it, and nothing
	 * else changes */
	cr.np = 1;
	int fp8 = 0;
	while (fp8 < XP_CAL_MAXP && strcmp(xp_calparams[fp8].key, "core.matrix_efficiency_fp8"))
		fp8++;
	ck_assert_int_lt(fp8, XP_CAL_MAXP);
	cr.which[0] = fp8, cr.fitted[0] = 0.7088, cr.sigma[0] = 0.01;
	char *t4 = xp_cal_rewrite_text(preset, &cr, "calibrated 2026-11-21 on 4 cases", err, sizeof err);
	ck_assert_msg(t4 != NULL, "%s", err);
	const char *want = "  matrix_efficiency = 0.869;        # best measured GEMM 271.2 of 312 TF/s [MLE-ACC 8.1]\n"
	                   "  matrix_efficiency_fp8 = 0.709;    # calibrated 2026-11-21 on 4 cases, +-0.010 (1 sigma); "
	                   "cited value 0: not set (0: core.matrix_efficiency)\n"
	                   "};\n"
	                   "memory = {\n";
	ck_assert_msg(strstr(t4, want), "%s", t4);
	ck_assert_uint_eq(strlen(t4), strlen(preset) + strcspn(strstr(t4, "  matrix_efficiency_fp8"), "\n") + 1);
	/* once present, a second calibration rewrites that line in place */
	cr.fitted[0] = 0.72;
	char *t5 = xp_cal_rewrite_text(t4, &cr, "calibrated 2026-12-01 on 5 cases", err, sizeof err);
	ck_assert_msg(t5 != NULL, "%s", err);
	ck_assert_uint_eq(strlen(t5), strlen(t4));
	ck_assert_msg(strstr(t5, "matrix_efficiency_fp8 = 0.720;    # calibrated 2026-12-01 on 5 cases, +-0.010 "
	                         "(1 sigma); cited value 0: not set (0: core.matrix_efficiency)\n"), "%s", t5);
	free(t);
	free(t2);
	free(t4);
	free(t5);
}
END_TEST

START_TEST(cli_validate)
{
	static char out[1 << 17], errout[8192];
	char path[64], text[2048], cmd[256];
	/* --json: one object with cases and the summary */
	int rc = t_cli("validate --fast --category gemm --split fit --json", out, sizeof out, errout, sizeof errout);
	ck_assert_msg(rc == 0, "rc %d: %s", rc, errout);
	ck_assert(out[0] == '{' && strstr(out, "\"summary\":[") && strstr(out, "\"category\":\"gemm\",\"split\":\"fit\""));
	ck_assert(!strstr(out, "\"split\":\"holdout\""));
	/* an error row: reported, with its file:line, and exit 1 */
	snprintf(path, sizeof path, "/tmp/codesim-vcli-%d.tsv", (int)getpid());
	snprintf(text, sizeof text,
	         "%sok\tgemm\tkernel --arch a100 --op gemm --m 512 --n 512 --k 512\ttflops\t50\tfit\ts\t\n"
	         "bad\tgemm\tkernel --arch a100 --op gemm --m 512\ttflops\t50\tholdout\ts\t\n",
	         header);
	write_file(path, text);
	snprintf(cmd, sizeof cmd, "validate %s --jobs 1", path);
	rc = t_cli(cmd, out, sizeof out, errout, sizeof errout);
	ck_assert_int_eq(rc, 1);
	ck_assert_msg(strstr(out, "error: --op gemm needs --m, --n and --k"), "%s", out);
	ck_assert_msg(strstr(errout, ":3: case bad:"), "%s", errout);
	snprintf(cmd, sizeof cmd, "validate %s --jobs 2 --json", path);
	rc = t_cli(cmd, out, sizeof out, errout, sizeof errout);
	ck_assert_int_eq(rc, 1);
	ck_assert_msg(strstr(out, "{\"category\":\"gemm\",\"split\":\"fit\",\"count\":1,\"failed\":0,") &&
	              strstr(out, "{\"category\":\"gemm\",\"split\":\"holdout\",\"count\":0,\"failed\":1,") &&
	              strstr(out, "\"errors\":1,"), "%s", out);
	unlink(path);
	/* bad options */
	ck_assert_int_eq(t_cli("validate --split train", out, sizeof out, errout, sizeof errout), 1);
	ck_assert(strstr(errout, "expected fit, holdout or all"));
	ck_assert_int_eq(t_cli("calibrate", out, sizeof out, errout, sizeof errout), 1);
	ck_assert(strstr(errout, "needs --arch"));
}
END_TEST

Suite *suite_validation(void)
{
	Suite *s = suite_create("validation");
	TCase *tc = tcase_create("validation");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, flop_conventions);
	tcase_add_test(tc, metric_conversions);
	tcase_add_test(tc, case_file_format);
	tcase_add_test(tc, beyond_the_set_is_never_fitted);
	tcase_add_test(tc, gpu_tool_rows_are_cases);
	tcase_add_test(tc, fast_subset_is_spread_and_deterministic);
	tcase_add_test(tc, case_runs_what_the_cli_runs);
	tcase_add_test(tc, failures_are_rows);
	tcase_add_test(tc, fast_validation_within_thresholds);
	tcase_add_test(tc, fit_recovers_analytic);
	tcase_add_test(tc, calibrate_recovers_known_efficiency);
	tcase_add_test(tc, preset_rewrite_touches_only_the_keys);
	tcase_add_test(tc, cli_validate);
	suite_add_tcase(s, tc);
	return s;
}
