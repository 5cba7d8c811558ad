/* check_workloads.c - workloads and parallelism (issue 4): collectives meet
 * their closed forms, all-to-all grows with EP, the 1F1B bubble is
 * (p-1)/(m+p-1), memory fits or not as published, MoE reads only the active
 * experts and the busiest expert sets the pace, serving composes prefill and
 * decode, every phase runs for every model preset, micro-batches accumulate
 * their weight gradients (in fp32 for bf16), 8-bit training runs Transformer
 * Engine's casts, pipeline transfers block and cross the network as
 * Megatron-LM 2021 ran them, a gated FFN's gate and up projections run
 * as one GEMM or two, and 8-bit serving quantizes each linear layer's input. */
#include "tests.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sim_pipeline_time(int pp, int vpp, int n_micro, double t_f, double t_b, double p2p_s, double *total_s,
                      double *bubble_frac);

static char out[1 << 18], err[8192];

/* a 2-layer GPT (d 1024, 16 heads, FFN 4096, vocab 32000) for hand-counted
 * training checks: qkv 1024x3072, o 1024x1024, up 1024x4096, down 4096x1024 */
#define SMALL_GPT                                                                                  \
	"--model gpt3-175b -s model.n_layers=2 -s model.d_model=1024 -s model.n_heads=16 "             \
	"-s model.n_kv_heads=16 -s model.head_dim=64 -s model.d_ff=4096 -s model.vocab=32000"

static double cli_num(const char *args, const char *key)
{
	int rc = t_cli(args, out, sizeof out, err, sizeof err);
	ck_assert_msg(rc == 0, "'%s': %s", args, err);
	return t_json_num(out, key);
}

/* Sum count x field over the kernels of a run's JSON whose name starts with
 * `prefix`; *n gets the instance count. */
static double kernels_sum(const char *json, const char *prefix, const char *field, double *n)
{
	double sum = 0, cnt = 0;
	char key[32];
	snprintf(key, sizeof key, "\"%s\":", field);
	size_t pl = strlen(prefix);
	for (const char *p = strstr(json, "\"kernels\""); p && (p = strstr(p, "{\"name\":\"")) != NULL;) {
		p += 9;
		if (strncmp(p, prefix, pl))
			continue;
		const char *c = strstr(p, "\"count\":"), *f = strstr(p, key);
		ck_assert(c && f);
		double k = atof(c + 8);
		cnt += k;
		sum += k * atof(f + strlen(key));
	}
	if (n)
		*n = cnt;
	return sum;
}

/* Run `args` and count the kernel instances whose name starts with `prefix`. */
static double kernels_named(const char *args, const char *prefix)
{
	double n;
	int rc = t_cli(args, out, sizeof out, err, sizeof err);
	ck_assert_msg(rc == 0, "'%s': %s", args, err);
	kernels_sum(out, prefix, "bytes", &n);
	return n;
}

/* `codesim BASE EXTRA` runs no kernel named PREFIX... */
static void no_kernels_named(const char *base, const char *extra, const char *prefix)
{
	char args[1024];
	snprintf(args, sizeof args, "%s %s", base, extra);
	double n = kernels_named(args, prefix);
	ck_assert_msg(n == 0, "%g %s kernels with '%s'", n, prefix, extra);
}

START_TEST(collectives_match_closed_forms)
{
	arch_t a;
	char e[512];
	ck_assert_int_eq(arch_load(&a, t_home(), "h100", e, sizeof e), 0);
	double bw = a.system.scaleup_bandwidth_GBps * 1e9 * a.system.scaleup_efficiency;
	double lat = a.system.scaleup_latency_us * 1e-6;
	double S = 1e9;
	for (int p = 2; p <= 8; p *= 2) {
		char args[256];
		/* ring all-reduce: 2(p-1) steps of S/p */
		snprintf(args, sizeof args,
		         "kernel --arch h100 --op allreduce --bytes %.0f --chips %d -s arch.system.nccl_protocols=false --json", S, p);
		double t = cli_num(args, "time_s");
		double ring = 2.0 * (p - 1) * (lat + S / p / bw);
		ck_assert_msg(fabs(t / ring - 1) < 1e-6, "all-reduce p=%d: %.6g vs %.6g", p, t, ring);
		/* all-gather: p-1 steps of S/p */
		snprintf(args, sizeof args,
		         "kernel --arch h100 --op allgather --bytes %.0f --chips %d -s arch.system.nccl_protocols=false --json", S, p);
		t = cli_num(args, "time_s");
		ck_assert_msg(fabs(t / ((p - 1) * (lat + S / p / bw)) - 1) < 1e-6, "all-gather p=%d", p);
	}
	/* 16 chips = 2 nodes of 8: the payload inside the node, 1/8 of it across
	 * nodes over the scale-out network; latency of one ring over all 16
	 * ranks: 2*(16-2) scale-up steps and 2*(2-1) network steps (NCCL) */
	double obw = a.system.scaleout_bandwidth_GBps * 1e9 * a.system.scaleout_efficiency;
	double olat = a.system.scaleout_latency_us * 1e-6;
	double t = cli_num("kernel --arch h100 --op allreduce --bytes 1e9 --chips 16 -s arch.system.nccl_protocols=false --json", "time_s");
	double hier = 2.0 * 14 * (lat + S / 16 / bw) + 2.0 * 1 * (olat + S / 8 / 2 / obw);
	ck_assert_msg(fabs(t / hier - 1) < 1e-6, "hierarchical %.6g vs %.6g", t, hier);
	/* all-to-all of a fixed per-chip payload grows with the group */
	double prev = 0;
	for (int p = 2; p <= 64; p *= 2) {
		char args[256];
		snprintf(args, sizeof args, "kernel --arch h100 --op alltoall --bytes 1e8 --chips %d --json", p);
		double ta = cli_num(args, "time_s");
		ck_assert_msg(ta > prev, "all-to-all over %d chips %.4g <= %.4g", p, ta, prev);
		prev = ta;
	}
}
END_TEST

/* NCCL's ring cost model (src/graph/tuning.cc), worked by hand for 8 H100s
 * (bus bandwidth 450 GB/s x 0.82 = 369 GB/s, 14 ring steps of S/8):
 *  64 KiB: LL     3.6 + 14 x (0.47 + 8192 B / (369/4 GB/s))  = 11.42 us  <- least
 *          LL128 10.0 + 14 x (1.9  + 8192 B / (369x0.92))    = 36.94 us
 *          Simple 8.4 + 14 x (3.4  + 8192 B / 369 GB/s)      = 56.31 us
 *  1 GB:   Simple 8.4 + 14 x (3.4 + 1.25e8 B / 369 GB/s)     = 4798.5 us <- least
 *          LL128 10.0 + 14 x (1.9 + 1.25e8 B / 339.5 GB/s)   = 5191 us */
START_TEST(nccl_protocol_cost_model)
{
	double small = cli_num("kernel --arch h100 --op allreduce --bytes 65536 --chips 8 --json", "time_s");
	double ll = (3.6 + 14 * (0.47 + 8192.0 / (369e9 / 4) * 1e6)) * 1e-6;
	ck_assert_msg(fabs(small / ll - 1) < 1e-3, "64 KiB all-reduce %.6g s vs LL %.6g s", small, ll);
	double big = cli_num("kernel --arch h100 --op allreduce --bytes 1e9 --chips 8 --json", "time_s");
	double simple = (8.4 + 14 * (3.4 + 1.25e8 / 369e9 * 1e6)) * 1e-6;
	ck_assert_msg(fabs(big / simple - 1) < 1e-3, "1 GB all-reduce %.6g s vs Simple %.6g s", big, simple);
}
END_TEST

/* 8-bit GEMMs leave the hidden states 16-bit: an FP8 prefill all-reduces the
 * same T x d x 2 bytes as a BF16 one, so the TP all-reduce takes as long as
 * `kernel --op allreduce` of 128 x 4096 x 2 bytes over 2 chips. */
START_TEST(fp8_serving_reduces_16bit_hidden_states)
{
	static const char *dts[] = {"fp8", "bf16"};
	double t_ar[2];
	for (int i = 0; i < 2; i++) {
		char args[256];
		snprintf(args, sizeof args,
		         "run --arch h100 --model llama3-8b --phase prefill --seq 128 --tp 2 --dtype %s --json", dts[i]);
		ck_assert_int_eq(t_cli(args, out, sizeof out, err, sizeof err), 0);
		const char *k = strstr(out, "\"name\":\"tp-allreduce-attn\"");
		ck_assert_msg(k != NULL, "no tp-allreduce-attn kernel");
		t_ar[i] = t_json_num(k, "time_s");
	}
	double one = cli_num("kernel --arch h100 --op allreduce --bytes 1048576 --chips 2 --json", "time_s");
	ck_assert_msg(fabs(t_ar[0] / one - 1) < 1e-6, "fp8 all-reduce %.6g vs 1 MiB %.6g", t_ar[0], one);
	ck_assert_msg(fabs(t_ar[0] / t_ar[1] - 1) < 1e-6, "fp8 %.6g vs bf16 %.6g", t_ar[0], t_ar[1]);
}
END_TEST

/* 8-bit serving quantizes each linear layer's 16-bit input before its GEMM
 * (TensorRT-LLM's FP8Linear: quantize, FP8 GEMM, dequantize), 2 B read and
 * 1 B written an element.  The 2-layer GPT's prefill of 512 tokens: per
 * layer the qkv, o and up inputs (512 x 1024) and the down input (512 x
 * 4096), and the output layer's one last-token row (1 x 1024): 9 kernels
 * under eager fusion; a compiler folds them into the ops that produce the
 * inputs; a bf16 run has none. */
START_TEST(fp8_serving_quantizes_each_linear_input)
{
	const char *base = "run --arch h100 " SMALL_GPT " --phase prefill --seq 512 --batch 1 --json";
	char args[1024];
	double n;
	snprintf(args, sizeof args, "%s --dtype fp8 --fusion eager", base);
	ck_assert_int_eq(t_cli(args, out, sizeof out, err, sizeof err), 0);
	double bytes = kernels_sum(out, "quantize", "bytes", &n);
	double elems = 2 * 512.0 * (3 * 1024 + 4096) + 1024;
	ck_assert_msg(n == 9, "%g quantize kernels", n);
	ck_assert_msg(fabs(bytes / (3 * elems) - 1) < 1e-9, "%.6g B quantized, expected %.6g", bytes, 3 * elems);
	no_kernels_named(base, "--dtype fp8 --fusion compiler", "quantize");   /* folded by a compiler */
	no_kernels_named(base, "--dtype bf16 --fusion eager", "quantize");     /* nothing to quantize */
}
END_TEST

START_TEST(fp8_kv_cache_halves_cache_and_decode_reads)
{
	/* Llama-3-8B (32 layers, 8 KV heads x 128) decoding 32 requests at
	 * context 4096: the cache holds B (ctx+1) L 2 kvh hd elements =
	 * 32 x 4097 x 32 x 2 x 8 x 128 = 8.59e9; 2 bytes each by default, one
	 * with run.kv_cache=fp8 (TensorRT-LLM --fp8_kv_cache) */
	const char *base = "run --arch h100 --model llama3-8b --phase decode --batch 32 --context 4096 --dtype fp8";
	double elems = 32.0 * 4097 * 32 * 2 * 8 * 128;
	char args[256];
	double kv[2], t_att[2], b_att[2];
	for (int i = 0; i < 2; i++) {
		snprintf(args, sizeof args, "%s%s --json", base, i ? " -s run.kv_cache=fp8" : "");
		kv[i] = cli_num(args, "kv_cache");
		const char *k = strstr(out, "\"name\":\"attention\"");
		ck_assert_msg(k != NULL, "no attention kernel");
		t_att[i] = t_json_num(k, "time_s");
		b_att[i] = t_json_num(k, "bytes");
	}
	ck_assert_msg(fabs(kv[0] / (elems * 2 / 1e9) - 1) < 1e-6, "16-bit cache %.5g GB", kv[0]);
	ck_assert_msg(fabs(kv[1] / (elems * 1 / 1e9) - 1) < 1e-6, "fp8 cache %.5g GB", kv[1]);
	/* the decode attention streams the cache once (Q and O are 0.05% of it):
	 * its memory bytes and, memory-bound, its time halve */
	ck_assert_msg(fabs(b_att[1] / b_att[0] - 0.5) < 0.01, "attention bytes %.4g -> %.4g", b_att[0], b_att[1]);
	ck_assert_msg(t_att[1] / t_att[0] > 0.45 && t_att[1] / t_att[0] < 0.6, "attention time %.4g -> %.4g", t_att[0],
	              t_att[1]);
	/* a prefill reads the K/V its own QKV GEMM produced: unchanged */
	double p16 = cli_num("run --arch h100 --model llama3-8b --phase prefill --seq 2048 --dtype fp8 --json", "time_s");
	double p8 = cli_num("run --arch h100 --model llama3-8b --phase prefill --seq 2048 --dtype fp8 -s run.kv_cache=fp8 "
	                    "--json", "time_s");
	ck_assert_msg(fabs(p8 / p16 - 1) < 1e-12, "prefill %.6g vs %.6g", p8, p16);
	/* and it is what let TensorRT-LLM run Llama-2 7B at batch 64, 128+2048
	 * tokens on a 48 GB L40S (performance.md): 73 GB of 16-bit cache do not fit */
	const char *l2 = "run --arch l40s --model llama3-8b -s model.n_kv_heads=32 -s model.d_ff=11008 -s model.vocab=32000 "
	                 "--phase serve --batch 64 --seq 128 --gen 2047 --dtype fp8";
	snprintf(args, sizeof args, "%s --json", l2);
	ck_assert_int_eq(t_cli(args, out, sizeof out, err, sizeof err), 0);
	ck_assert_msg(strstr(out, "\"feasible\":false"), "16-bit cache fits?");
	snprintf(args, sizeof args, "%s -s run.kv_cache=fp8 --json", l2);
	ck_assert_int_eq(t_cli(args, out, sizeof out, err, sizeof err), 0);
	ck_assert_msg(strstr(out, "\"feasible\":true"), "%s", out);
}
END_TEST

START_TEST(pipeline_bubble)
{
	static const int ps[] = {2, 4, 8}, ms[] = {1, 4, 16, 64};
	for (size_t i = 0; i < 3; i++)
		for (size_t j = 0; j < 4; j++) {
			double total, bubble;
			int p = ps[i], m = ms[j];
			ck_assert_int_eq(sim_pipeline_time(p, 1, m, 1.0, 2.0, 0, &total, &bubble), 0);
			double expect = (double)(p - 1) / (m + p - 1);
			ck_assert_msg(fabs(bubble - expect) < 1e-12, "p=%d m=%d bubble %.6f vs %.6f", p, m, bubble, expect);
			ck_assert(fabs(total - (m + p - 1) * 3.0) < 1e-9);
		}
	/* end to end: a training run reports the bubble of its schedule */
	double b = cli_num("run --arch h100 --model llama3-8b --phase train --batch 8 --seq 1024 --pp 4 --json",
	                   "bubble_frac");
	ck_assert_msg(fabs(b - 3.0 / 11.0) < 0.02, "bubble %.4f vs 3/11", b);
	/* interleaving shrinks it */
	double bi = cli_num("run --arch h100 --model llama3-8b --phase train --batch 8 --seq 1024 --pp 4 --vpp 2 --json",
	                    "bubble_frac");
	ck_assert(bi < b);
}
END_TEST

START_TEST(memory_fits_as_published)
{
	/* Llama-3-70B bf16 weights (141 GB) do not fit one 80 GB H100 */
	ck_assert_int_eq(t_cli("run --arch h100 --model llama3-70b --phase decode --json", out, sizeof out, err, sizeof err), 0);
	ck_assert(strstr(out, "\"feasible\":false"));
	ck_assert_msg(strstr(out, "needs 14") && strstr(out, "h100 has 85.5 GB"), "%s", out);
	/* they fit two H100s with tensor parallelism (~71 GB each).  One
	 * "141 GB" H200 (143771 MiB = 150.76e9 B as CUDA sees it) holds the bf16
	 * weights (141.1 GB) and a KV cache up to ~9.6 GB: Llama-3-70B's KV is
	 * 80 layers x 8 heads x 128 x 2 x 2 B = 327680 B a token, so 8 x 2048
	 * tokens (5.4 GB) fit and 16 x 2048 (10.7 GB) do not; in fp8 the
	 * weights halve and 16 x 2048 fits */
	ck_assert_int_eq(t_cli("run --arch h100 --model llama3-70b --phase decode --tp 2 --json", out, sizeof out, err, sizeof err), 0);
	ck_assert(strstr(out, "\"feasible\":true"));
	ck_assert_int_eq(t_cli("run --arch h200 --model llama3-70b --phase decode --batch 8 --context 2048 --json", out,
	                       sizeof out, err, sizeof err), 0);
	ck_assert_msg(strstr(out, "\"feasible\":true"), "%s", out);
	ck_assert_int_eq(t_cli("run --arch h200 --model llama3-70b --phase decode --batch 16 --context 2048 --json", out,
	                       sizeof out, err, sizeof err), 0);
	ck_assert_msg(strstr(out, "\"feasible\":false"), "%s", out);
	ck_assert_int_eq(t_cli("run --arch h200 --model llama3-70b --phase decode --batch 16 --context 2048 --dtype fp8 --json",
	                       out, sizeof out, err, sizeof err), 0);
	ck_assert(strstr(out, "\"feasible\":true"));
	/* training 70B with Adam on 8 GPUs needs 16 bytes/param = 1.1 TB: not
	 * without sharding; ZeRO-3 over 64 GPUs brings it under 80 GB */
	ck_assert_int_eq(t_cli("run --arch h100 --model llama3-70b --phase train --chips 8 --tp 8 --batch 8 --seq 2048 --json",
	                       out, sizeof out, err, sizeof err), 0);
	ck_assert(strstr(out, "\"feasible\":false"));
	ck_assert_int_eq(t_cli("run --arch h100 --model llama3-70b --phase train --chips 64 --dp 64 --tp 1 --zero 3 "
	                       "--recompute full --batch 64 --seq 2048 --json", out, sizeof out, err, sizeof err), 0);
	ck_assert_msg(strstr(out, "\"feasible\":true"), "%s", out);
	double total = t_json_num(out, "total");
	ck_assert(total < 80);
}
END_TEST

START_TEST(moe_reads_active_experts_and_busiest_sets_pace)
{
	/* Mixtral decode at batch 1 touches 2 of 8 experts per layer: memory
	 * traffic near 12.9B active params x 2 bytes, far below 46.7B x 2 */
	double bytes = cli_num("run --arch h100 --model mixtral-8x7b --phase decode --batch 1 --tp 2 --json", "hbm_bytes");
	ck_assert_msg(bytes > 0.95 * 12.9e9 * 2 && bytes < 1.25 * 12.9e9 * 2, "decode moves %.3g B", bytes);
	/* a large batch touches every expert */
	bytes = cli_num("run --arch h100 --model mixtral-8x7b --phase decode --batch 64 --tp 2 --json", "hbm_bytes");
	ck_assert_msg(bytes > 0.95 * 46.7e9 * 2, "batch 64 moves %.3g B", bytes);
	/* routing skew: with experts spread over chips the chip holding the
	 * busiest expert sets the pace (the capacity factor caps its load) */
	const char *ep = "run --arch h100 --model mixtral-8x7b --phase prefill --batch 8 --seq 2048 --chips 8 --tp 1 "
	                 "--dp 8 --ep 8 --json";
	double t1 = cli_num(ep, "time_s");
	char args[512];
	snprintf(args, sizeof args, "%s -s model.skew=2 -s model.capacity_factor=4", ep);
	double t2 = cli_num(args, "time_s");
	ck_assert_msg(t2 > 1.3 * t1, "skew 2 under EP: %.4g vs %.4g", t2, t1);
	snprintf(args, sizeof args, "%s -s model.skew=2 -s model.capacity_factor=1.25", ep);
	double t3 = cli_num(args, "time_s");
	ck_assert_msg(t3 < t2 && t3 > t1, "capacity factor 1.25 caps the skew: %.4g", t3);
	/* with every expert on one chip the work is the same, skewed or not */
	double s1 = cli_num("run --arch h100 --model mixtral-8x7b --phase prefill --batch 4 --seq 2048 --tp 2 --json", "time_s");
	double s2 = cli_num("run --arch h100 --model mixtral-8x7b --phase prefill --batch 4 --seq 2048 --tp 2 "
	                    "-s model.skew=2 -s model.capacity_factor=2 --json", "time_s");
	ck_assert_msg(fabs(s2 / s1 - 1) < 0.05, "skew without EP: %.4g vs %.4g", s2, s1);
	/* expert parallelism adds all-to-all dispatch and combine */
	ck_assert_int_eq(t_cli("run --arch h100 --model mixtral-8x7b --phase decode --batch 8 --chips 8 --tp 1 --dp 8 "
	                       "--ep 8 --json", out, sizeof out, err, sizeof err), 0);
	ck_assert_msg(strstr(out, "ep-dispatch") && strstr(out, "ep-combine"), "no all-to-all in EP run");
}
END_TEST

START_TEST(serve_composes_prefill_and_decode)
{
	double serve = cli_num("run --arch h100 --model llama3-8b --phase serve --batch 4 --seq 512 --gen 64 --json", "time_s");
	double ttft = t_json_num(out, "ttft_s"), tpot = t_json_num(out, "tpot_s");
	double pre = cli_num("run --arch h100 --model llama3-8b --phase prefill --batch 4 --seq 512 --json", "time_s");
	double dec = cli_num("run --arch h100 --model llama3-8b --phase decode --batch 4 --context 544 --json", "time_s");
	ck_assert_msg(fabs(ttft / pre - 1) < 0.01, "ttft %.4g vs prefill %.4g", ttft, pre);
	ck_assert_msg(fabs(tpot / dec - 1) < 0.02, "tpot %.4g vs decode at mean context %.4g", tpot, dec);
	ck_assert_msg(fabs(serve / (pre + 64 * dec) - 1) < 0.02, "serve %.4g vs %.4g", serve, pre + 64 * dec);
}
END_TEST

START_TEST(every_model_every_phase)
{
	/* each model preset in each phase on a system big enough for it: it runs
	 * (or is infeasible with its reason), and tokens/s follows time */
	static const struct {
		const char *model, *par;
	} cases[] = {
	    {"bert-large", "--chips 1"},
	    {"gpt3-175b", "--chips 64 --tp 8 --pp 8"},
	    {"llama3-8b", "--chips 8 --tp 8"},
	    {"llama3-70b", "--chips 64 --tp 8 --pp 8"},
	    {"llama3-405b", "--chips 128 --tp 8 --pp 16"},
	    {"mixtral-8x7b", "--chips 8 --tp 8 --ep 8"},
	    {"grok1-314b", "--chips 64 --tp 8 --pp 8 --ep 8"},
	    {"deepseek-v3", "--chips 128 --tp 8 --pp 16 --ep 8"},
	    {"palm-540b", "--chips 256 --tp 8 --pp 32"},
	};
	static const char *phases[] = {"train --batch 64 --seq 2048 --recompute full --zero 1",
	                               "prefill --batch 8 --seq 2048", "decode --batch 64 --context 4096",
	                               "serve --batch 8 --seq 1024 --gen 32"};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
		for (size_t p = 0; p < 4; p++) {
			char args[512];
			snprintf(args, sizeof args, "run --arch h100 --model %s %s --phase %s --json", cases[c].model, cases[c].par,
			         phases[p]);
			int rc = t_cli(args, out, sizeof out, err, sizeof err);
			ck_assert_msg(rc == 0, "%s: rc %d %s", args, rc, err);
			if (strstr(out, "\"feasible\":false")) {
				ck_assert_msg(strstr(out, "needs"), "%s: infeasible without a reason: %.300s", args, out);
				continue;
			}
			double t = t_json_num(out, "time_s"), tps = t_json_num(out, "tokens_per_s"), mfu = t_json_num(out, "mfu");
			ck_assert_msg(t > 0 && tps > 0 && mfu > 0 && mfu < 0.9, "%s: t %.4g tok/s %.4g mfu %.3f", args, t, tps, mfu);
		}
}
END_TEST


/* A ring collective's latency grows with every rank of the group, and
 * ZeRO-3 gathers each weight before each use and reduce-scatters each
 * weight's gradient; a framework that blocks on every gather (DeepSpeed
 * 2021) serializes all of it with compute. */
START_TEST(ring_latency_and_zero3_per_weight_collectives)
{
	/* 1536 ranks on 192 DGX-A100 nodes, a payload too small to matter: the
	 * NCCL tuning model for a ring all-gather, Simple protocol, without its
	 * base term: (1535 - 191) NVLink steps x 3.4 us + 191 network steps x
	 * 9.6 us = 6403.2 us (NVIDIA/nccl src/graph/tuning.cc, hand-worked) */
	double t = cli_num("kernel --arch a100 --op allgather --bytes 1536 --chips 1536 "
	                   "-s arch.system.nccl_protocols=false --json", "time_s");
	ck_assert_msg(fabs(t / 6403.2e-6 - 1) < 0.01, "1536-rank all-gather %.4g s vs 6.403 ms", t);
	/* with NCCL's protocol choice such a message goes LL: its 3.6 us base +
	 * 1344 x 0.47 us + 191 x 2.7 us = 1151.0 us, still ~200x the 8-rank ring */
	double tll = cli_num("kernel --arch a100 --op allgather --bytes 1536 --chips 1536 --json", "time_s");
	ck_assert_msg(fabs(tll / 1151.0e-6 - 1) < 0.01, "1536-rank LL all-gather %.4g s vs 1.151 ms", tll);
	/* the same bytes over 8 ranks in one node: 7 steps, three orders less */
	double t8 = cli_num("kernel --arch a100 --op allgather --bytes 8 --chips 8 "
	                    "-s arch.system.nccl_protocols=false --json", "time_s");
	ck_assert_msg(fabs(t8 / (7 * 3.4e-6) - 1) < 0.01, "8-rank all-gather %.4g s", t8);

	/* 2 layers of 4 weights with full recomputation, plus the LM head: each
	 * layer weight is gathered 3 times (forward, recomputed forward,
	 * backward) and reduce-scattered once; the head 2 times and once */
	const char *base = "run --arch a100 " SMALL_GPT " --phase train --batch 64 --seq 512 --chips 64 --dp 64 --tp 1 "
	                   "--zero 3 --recompute full --json";
	double step[2];
	for (int ov = 0; ov < 2; ov++) {
		char args[1024];
		snprintf(args, sizeof args, "%s -s run.overlap=%d", base, ov);
		ck_assert_int_eq(t_cli(args, out, sizeof out, err, sizeof err), 0);
		step[ov] = t_json_num(out, "time_s");
		/* walk the kernels: counts of the ZeRO-3 collectives, and the sum of
		 * every kernel's time */
		double gathers, scatters;
		double comm = kernels_sum(out, "zero3-allgather", "time_s", &gathers) +
		              kernels_sum(out, "zero3-reduce-scatter", "time_s", &scatters);
		double sum = kernels_sum(out, "", "time_s", NULL);
		ck_assert_msg(gathers == 2 * 4 * 3 + 2, "%g gathers", gathers);
		ck_assert_msg(scatters == 2 * 4 + 1, "%g reduce-scatters", scatters);
		ck_assert(comm > 0.5 * sum);   /* 64 ranks on 8 nodes, a small model: latency-bound */
		if (ov == 0)   /* blocking: the step is every kernel back to back */
			ck_assert_msg(fabs(step[0] / sum - 1) < 1e-3, "serial step %.6g vs sum %.6g", step[0], sum);
	}
	/* prefetching hides part of the collectives behind compute */
	ck_assert_msg(step[1] < step[0], "overlapped %.6g vs blocking %.6g", step[1], step[0]);
	/* the overlapped collectives hold 24 of a100's 108 SMs (arch.system.comm_cores): the
	 * compute beside them is slower than beside collectives that take no cores, by less
	 * than the collectives' own time (one node, where the collectives are short enough
	 * for compute to be on the critical path) */
	{
		const char *node = "run --arch a100 " SMALL_GPT " --phase train --batch 64 --seq 512 --chips 8 --dp 8 "
		                   "--tp 1 --zero 3 --recompute full -s run.overlap=1 --json";
		double th[2], coll = 0;
		for (int held = 0; held < 2; held++) {
			char args[1024];
			snprintf(args, sizeof args, "%s%s", node, held ? "" : " -s arch.system.comm_cores=0");
			ck_assert_int_eq(t_cli(args, out, sizeof out, err, sizeof err), 0);
			th[held] = t_json_num(out, "time_s");
			if (held)
				coll = kernels_sum(out, "zero3-", "time_s", NULL);
		}
		ck_assert_msg(th[1] > th[0], "holding SMs %.6g vs not %.6g", th[1], th[0]);
		ck_assert_msg(th[1] - th[0] < coll, "holding SMs adds %.6g s, collectives %.6g s", th[1] - th[0], coll);
	}

	/* DeepSpeed <= 0.4's collectives: PyTorch copies each rank's chunk of a
	 * tensor-list collective with its own kernel, 64 per collective:
	 * (26 + 9) x 64 = 2240 copies, each at least a launch (4 us on a100) on
	 * the blocking critical path */
	char args[1024];
	snprintf(args, sizeof args, "%s -s run.overlap=0 -s run.coll_lists=1", base);
	ck_assert_int_eq(t_cli(args, out, sizeof out, err, sizeof err), 0);
	double lists = t_json_num(out, "time_s"), copies = 0;
	for (const char *p = out; (p = strstr(p, "-copy-")) != NULL; p++) {
		const char *c = strstr(p, "\"count\":");
		ck_assert_ptr_nonnull(c);
		copies += atof(c + 8);
	}
	ck_assert_msg(copies == 35 * 64, "%g copies", copies);
	/* and each all-gather lands in a buffer DeepSpeed zeroes first: 26
	 * fills writing every gathered weight, (2 layers x 3 gathers x
	 * 12582912 + 2 head gathers x 32768000) x 2 B = 282066944 B */
	double fills, zeroed = kernels_sum(out, "allgather-buffer-zero", "bytes", &fills);
	ck_assert_msg(fills == 26, "%g zero fills", fills);
	ck_assert_msg(fabs(zeroed / 282066944.0 - 1) < 1e-9, "%.10g bytes zeroed", zeroed);
	double least = 2240 * 4e-6 + 282066944.0 / 2039e9;   /* launches, and the fills at a100's peak bandwidth */
	ck_assert_msg(lists - step[0] >= least, "copies and fills add %.6g s, under %.6g", lists - step[0], least);
	ck_assert_msg(lists - step[0] < 2240 * 20e-6, "copies and fills add %.6g s", lists - step[0]);
}
END_TEST

/* A gated FFN's gate and up projections as one GEMM of twice the width or
 * as two (run.split_gate_up): the same FLOPs and weights, one more GEMM per
 * layer and, under ZeRO-3, one more weight to gather and reduce-scatter; an
 * ungated FFN has nothing to split. */
START_TEST(gate_and_up_projections_fuse_or_split)
{
	/* 2 Llama layers, d 1024, FFN 2816, 512 tokens: gate + up = 2 x 2 x 512 x
	 * 2816 x 1024 FLOPs a layer, however they are cut (eager: the SwiGLU is a
	 * kernel of its own, not in the GEMM's epilogue) */
	const char *llama = "run --arch h100 --model llama3-8b -s model.n_layers=2 -s model.d_model=1024 "
	                    "-s model.n_heads=16 -s model.n_kv_heads=4 -s model.head_dim=64 -s model.d_ff=2816 "
	                    "--phase prefill --seq 512 --chips 1 --fusion eager --json";
	const double want = 2 * 2 * 2.0 * 512 * 2816 * 1024;
	char args[1024];
	double n, fused, gate, up, w[2];
	ck_assert_int_eq(t_cli(llama, out, sizeof out, err, sizeof err), 0);
	fused = kernels_sum(out, "ffn-gate-up", "flops", &n);
	ck_assert_msg(n == 2 && fabs(fused / want - 1) < 1e-9, "fused: %g GEMMs, %.6g FLOPs", n, fused);
	ck_assert_double_eq(kernels_sum(out, "ffn-gate\"", "flops", NULL), 0);
	w[0] = t_json_num(out, "weights");
	snprintf(args, sizeof args, "%s -s run.split_gate_up=1", llama);
	ck_assert_int_eq(t_cli(args, out, sizeof out, err, sizeof err), 0);
	ck_assert_double_eq(kernels_sum(out, "ffn-gate-up", "flops", NULL), 0);
	gate = kernels_sum(out, "ffn-gate\"", "flops", &n);
	ck_assert_msg(n == 2, "%g gate GEMMs", n);
	up = kernels_sum(out, "ffn-up\"", "flops", &n);
	ck_assert_msg(n == 2, "%g up GEMMs", n);
	ck_assert_msg(fabs(gate / up - 1) < 1e-12 && fabs((gate + up) / want - 1) < 1e-9, "split: %.6g + %.6g FLOPs",
	              gate, up);
	w[1] = t_json_num(out, "weights");
	ck_assert_msg(w[0] > 0 && fabs(w[1] / w[0] - 1) < 1e-12, "weights %.6g vs %.6g GB", w[1], w[0]);

	/* ZeRO-3 training, full recomputation: 5 weights a layer instead of 4,
	 * each gathered 3 times and reduce-scattered once; the head 2 and 1 */
	const char *z3 = "run --arch a100 --model llama3-8b -s model.n_layers=2 -s model.d_model=1024 "
	                 "-s model.n_heads=16 -s model.n_kv_heads=4 -s model.head_dim=64 -s model.d_ff=2816 "
	                 "--phase train --batch 64 --seq 512 --chips 64 --dp 64 --tp 1 --zero 3 --recompute full --json";
	for (int split = 0; split < 2; split++) {
		snprintf(args, sizeof args, "%s -s run.split_gate_up=%d", z3, split);
		ck_assert_int_eq(t_cli(args, out, sizeof out, err, sizeof err), 0);
		double g, r;
		kernels_sum(out, "zero3-allgather", "time_s", &g);
		kernels_sum(out, "zero3-reduce-scatter", "time_s", &r);
		ck_assert_msg(g == 2 * (4 + split) * 3 + 2 && r == 2 * (4 + split) + 1, "split %d: %g gathers, %g scatters",
		              split, g, r);
	}

	/* DeepSeek-V3 (3 dense layers, then MoE), eager: the routed experts and
	 * the shared expert split the same way, and each runs its SwiGLU
	 * between its up and down GEMMs */
	ck_assert_int_eq(t_cli("run --arch h100 --model deepseek-v3 -s model.n_layers=4 --phase decode --batch 8 "
	                       "--chips 8 --tp 1 --ep 8 --dtype fp8 --fusion eager -s run.split_gate_up=1 --json",
	                       out, sizeof out, err, sizeof err),
	                 0);
	static const char *const moe[] = {"expert-gate(busiest)", "expert-up(busiest)", "expert-act(busiest)",
	                                  "shared-gate", "shared-up", "shared-act", "shared-down"};
	for (size_t i = 0; i < sizeof moe / sizeof moe[0]; i++) {
		char nm[64];
		snprintf(nm, sizeof nm, "%s\"", moe[i]);
		kernels_sum(out, nm, "time_s", &n);
		ck_assert_msg(n == 1, "%s: %g kernels", moe[i], n);
	}

	/* GPT-3's ungated FFN: the option changes nothing */
	const char *gpt = "run --arch h100 " SMALL_GPT " --phase prefill --seq 512 --chips 1 --json";
	double t0 = cli_num(gpt, "time_s");
	snprintf(args, sizeof args, "%s -s run.split_gate_up=1", gpt);
	ck_assert_double_eq(cli_num(args, "time_s"), t0);
}
END_TEST

START_TEST(gradient_accumulation_per_micro_batch)
{
	/* 2 layers (qkv 1024x3072, o 1024x1024, up 1024x4096, down 4096x1024:
	 * 12,582,912 weights each) and a 32000 x 1024 head: 57,933,824 weights.
	 * Batch 8 in micro-batches of 2 is 4 micro-batches; under eager PyTorch
	 * each adds its weight gradients into the accumulator with a kernel of
	 * its own: 9 kernels a micro-batch, 2 B read of the new gradient, then
	 * the accumulator read and written: fp32 in bf16 (run.grad_dtype=auto,
	 * Megatron-LM's rule), 4 + 4 B, so 10 B per weight; 6 B in 16 bits. */
	const char *base = "run --arch a100 " SMALL_GPT " --phase train --seq 512 --micro-batch 2 --fusion eager --json";
	const double weights = 57933824.0, peak = 2039e9;   /* a100 HBM, the preset's figure */
	char args[1024];
	double n, bytes, t;
	snprintf(args, sizeof args, "%s --batch 8 --chips 1", base);
	ck_assert_int_eq(t_cli(args, out, sizeof out, err, sizeof err), 0);
	double add = t_json_num(out, "time_s");
	bytes = kernels_sum(out, "grad-accum", "bytes", &n);
	t = kernels_sum(out, "grad-accum", "time_s", NULL);
	ck_assert_msg(n == 4 * 9, "%g accumulations", n);
	ck_assert_msg(fabs(bytes / (4 * 10 * weights) - 1) < 1e-9, "%.6g B accumulated", bytes);
	ck_assert_msg(t >= bytes / peak, "accumulation %.4g s, faster than HBM allows (%.4g s)", t, bytes / peak);
	/* a 16-bit accumulator: asked for, and by default in fp16 */
	snprintf(args, sizeof args, "%s --batch 8 --chips 1 -s run.grad_dtype=16bit", base);
	ck_assert_int_eq(t_cli(args, out, sizeof out, err, sizeof err), 0);
	bytes = kernels_sum(out, "grad-accum", "bytes", &n);
	ck_assert_msg(n == 4 * 9 && fabs(bytes / (4 * 6 * weights) - 1) < 1e-9, "%g x, %.6g B in 16 bits", n, bytes);
	snprintf(args, sizeof args, "%s --batch 8 --chips 1 --dtype fp16", base);
	ck_assert_int_eq(t_cli(args, out, sizeof out, err, sizeof err), 0);
	bytes = kernels_sum(out, "grad-accum", "bytes", &n);
	ck_assert_msg(fabs(bytes / (4 * 6 * weights) - 1) < 1e-9, "%.6g B in fp16", bytes);

	/* fused into the weight-gradient GEMM (beta = 1): no kernel of its own,
	 * the GEMM reads the fp32 accumulator in its epilogue and writes it in
	 * place of its 16-bit output; the step saves at least the new
	 * gradient's write and read (2 + 2 B per weight) */
	snprintf(args, sizeof args, "%s --batch 8 --chips 1 -s run.grad_accum=fused", base);
	ck_assert_int_eq(t_cli(args, out, sizeof out, err, sizeof err), 0);
	kernels_sum(out, "grad-accum", "bytes", &n);
	ck_assert_msg(n == 0, "%g separate accumulations when fused", n);
	double fused = t_json_num(out, "time_s");
	ck_assert_msg(add - fused >= 4 * 4 * weights / peak, "fused saves %.4g s", add - fused);

	/* one micro-batch per step: nothing to accumulate */
	no_kernels_named(base, "--batch 2 --chips 1", "grad-accum");
	/* ZeRO-3 reduce-scatters each gradient as it is computed */
	no_kernels_named(base, "--batch 8 --chips 2 --dp 2 --zero 3", "grad-accum");
}
END_TEST

START_TEST(gradient_element_follows_the_training_dtype)
{
	/* Megatron-LM keeps, accumulates and all-reduces bf16 training's
	 * gradients in fp32 and fp16's in 16 bits (run.grad_dtype=auto).  Adam
	 * then moves 26 B per parameter plus its gradient's element: 30 B in
	 * bf16, 28 B in fp16; the gradients take 4 B against 2 B of memory; the
	 * data-parallel all-reduce is that of 4 B per parameter, timed as the
	 * collective of those bytes on its own. */
	const char *base = "run --arch a100 " SMALL_GPT " --phase train --seq 512 --micro-batch 2 --batch 4 --chips 2 --dp 2 "
	                   "--zero 0 --json";
	char args[1024];
	double adam[2], grads[2], ar = 0;
	for (int i = 0; i < 2; i++) {
		snprintf(args, sizeof args, "%s --dtype %s", base, i ? "fp16" : "bf16");
		ck_assert_int_eq(t_cli(args, out, sizeof out, err, sizeof err), 0);
		adam[i] = kernels_sum(out, "adam", "bytes", NULL);
		grads[i] = t_json_num(out, "grads");
		if (i == 0)
			ar = kernels_sum(out, "dp-allreduce", "time_s", NULL);
	}
	double params = adam[1] / 28;
	ck_assert_msg(fabs(adam[0] / (30 * params) - 1) < 1e-9, "adam %.6g B in bf16, %.6g in fp16", adam[0], adam[1]);
	ck_assert_msg(fabs(grads[0] / (2 * grads[1]) - 1) < 1e-9, "grads %.4g GB in bf16, %.4g in fp16", grads[0],
	              grads[1]);
	snprintf(args, sizeof args, "kernel --arch a100 --op allreduce --bytes %.0f --chips 2 --json", 4 * params);
	ck_assert_int_eq(t_cli(args, out, sizeof out, err, sizeof err), 0);
	double alone = t_json_num(out, "time_s");
	ck_assert_msg(fabs(ar / alone - 1) < 1e-6, "dp all-reduce %.6g s, 4 B/param alone %.6g s", ar, alone);
	/* asked for 16 bits in bf16 (--grad-reduce-in-bf16): as fp16 */
	snprintf(args, sizeof args, "%s -s run.grad_dtype=16bit", base);
	ck_assert_int_eq(t_cli(args, out, sizeof out, err, sizeof err), 0);
	ck_assert_msg(fabs(kernels_sum(out, "adam", "bytes", NULL) / adam[1] - 1) < 1e-9, "16bit in bf16");
}
END_TEST

START_TEST(fp8_training_runs_the_transformer_engine_recipe)
{
	/* 2 layers of 4 linear layers each (qkv 1024->3072, o 1024->1024, up
	 * 1024->4096, down 4096->1024) in FP8, 2 x 512 tokens a micro-batch, 2
	 * micro-batches.  Transformer Engine casts each linear layer's input in
	 * the forward (8 a micro-batch) and its output gradient in the backward
	 * (8), reading 2 B and writing the 1-byte copy and its transpose: 4 B an
	 * element; the weights once a step.  Under eager fusion each is a kernel:
	 * forward casts 2 x 1024 x (1024 + 1024 + 1024 + 4096) elements a layer,
	 * backward casts 1024 x (3072 + 1024 + 4096 + 1024) a layer.  The output
	 * layer is not a TE module and stays 16-bit: no cast, and never faster
	 * than the bf16 peak.  Weights take 4 B a parameter (16-bit parameter,
	 * FP8 copy and transpose). */
	const char *base = "run --arch h100 " SMALL_GPT " --phase train --seq 512 --micro-batch 2 --batch 4 --chips 1 "
	                   "-s run.attn_impl=flash --json";
	char args[1024];
	snprintf(args, sizeof args, "%s --dtype fp8 --fusion eager", base);
	ck_assert_int_eq(t_cli(args, out, sizeof out, err, sizeof err), 0);
	double n_all, n_w, tok = 2 * 512, n_b = 0, bwd_b = 0;
	double fwd_b = kernels_sum(out, "fp8-cast-transpose", "bytes", &n_all);
	static const char *const grads[] = {"qkv-proj.fp8-cast", "o-proj.fp8-cast", "ffn-up.fp8-cast",
	                                    "ffn-down.fp8-cast"};
	for (int i = 0; i < 4; i++) {
		double k;
		bwd_b += kernels_sum(out, grads[i], "bytes", &k);
		n_b += k;
	}
	double w_b = kernels_sum(out, "fp8-weight-cast", "bytes", &n_w);
	double fwd_e = 2 * tok * (1024 + 1024 + 1024 + 4096), bwd_e = 2 * tok * (3072 + 1024 + 4096 + 1024);
	ck_assert_msg(n_all == 2 * 8 && n_b == 2 * 8, "%g forward and %g backward casts", n_all, n_b);
	ck_assert_msg(fabs(fwd_b / (2 * 4 * fwd_e) - 1) < 1e-9, "%.6g B cast forward", fwd_b);
	ck_assert_msg(fabs(bwd_b / (2 * 4 * bwd_e) - 1) < 1e-9, "%.6g B cast backward", bwd_b);
	double weights = t_json_num(out, "weights") * 1e9;   /* memory_gb */
	ck_assert_msg(n_w == 1 && fabs(w_b / weights - 1) < 1e-9, "%g weight casts of %.6g B for %.6g B of weights", n_w,
	              w_b, weights);
	double head_t = kernels_sum(out, "lm-head", "time_s", NULL);
	double head_f = kernels_sum(out, "lm-head", "flops", NULL);
	ck_assert_msg(head_f / head_t <= 989.4e12, "16-bit output layer at %.4g TFLOP/s", head_f / head_t / 1e12);
	/* 4 B of weights a parameter, against 2 B in bf16 */
	snprintf(args, sizeof args, "%s --dtype bf16 --fusion eager", base);
	ck_assert_int_eq(t_cli(args, out, sizeof out, err, sizeof err), 0);
	ck_assert_msg(fabs(weights / (2 * t_json_num(out, "weights") * 1e9) - 1) < 1e-9, "fp8 weights %.6g B", weights);
	kernels_sum(out, "fp8-", "bytes", &n_all);
	ck_assert_msg(n_all == 0, "%g casts in bf16", n_all);
}
END_TEST

START_TEST(pipeline_transfers_block_and_cross_the_network)
{
	/* One micro-batch through 2 stages of tp 8 on DGX A100s: the stages are
	 * on different nodes.  Each transfer is 2048 x 4096 x 2 B = 16 MiB, split
	 * over the 8 tensor-parallel ranks: 2 MiB on each rank's InfiniBand link
	 * (25 GB/s x 0.90, 9.6 us a step) then an all-gather of the other 7/8
	 * over NVLink (300 GB/s x 0.68, 3.4 us): 178.17 us.  Blocking (Megatron-LM
	 * 2021: run.overlap = 0) the sender waits for it after its forward and
	 * after its backward: 2 transfers more on the critical path than when
	 * they only delay the receiver (with one micro-batch, whatever the
	 * number of stages: 2p transfers against 2(p-1)). */
	const char *base = "run --arch a100 --model gpt3-175b -s model.n_layers=4 -s model.d_model=4096 "
	                   "-s model.n_heads=32 -s model.n_kv_heads=32 -s model.head_dim=128 -s model.d_ff=16384 "
	                   "-s model.vocab=32000 --phase train --batch 1 --seq 2048 --micro-batch 1 --dp 1 "
	                   "--zero 0 --fusion eager --json";
	const double mib16 = 2048.0 * 4096 * 2;
	const double net = mib16 / 8 / (25e9 * 0.90) + 9.6e-6 + 7.0 / 8 * mib16 / (300e9 * 0.68) + 3.4e-6;
	const double nvl = mib16 / (300e9 * 0.68) + 3.4e-6;
	/* 4 stages of tp 4 span two nodes: the boundary between stages 1 and 2
	 * crosses the network, each rank sending a quarter */
	const double net4 = mib16 / 4 / (25e9 * 0.90) + 9.6e-6 + 3.0 / 4 * mib16 / (300e9 * 0.68) + 3.4e-6;
	struct {
		const char *where;
		double e;
	} c[3] = {{"--tp 8 --pp 2 --chips 16", net},
	          {"--tp 2 --pp 2 --chips 4", nvl},   /* both stages on one node */
	          {"--tp 4 --pp 4 --chips 16", net4}};
	for (int i = 0; i < 3; i++) {
		double t[2];
		for (int ov = 0; ov < 2; ov++) {
			char args[1024];
			snprintf(args, sizeof args, "%s %s -s run.overlap=%d", base, c[i].where, ov);
			t[ov] = cli_num(args, "time_s");
		}
		ck_assert_msg(fabs((t[0] - t[1]) / (2 * c[i].e) - 1) < 1e-3, "%s: blocking adds %.6g s, expected 2 x %.6g",
		              c[i].where, t[0] - t[1], c[i].e);
	}

	/* A decode token passes every boundary in turn, each at its own link's
	 * cost.  4 stages of tp 2 on H100s: one 4096-element fp16 hidden state,
	 * 8192 B, takes 8192 / (450 GB/s x 0.82) + 1 us over NVLink and
	 * 8192 / (50 GB/s x 0.90) + 2 us over InfiniBand, 1.160 us more.  With 8
	 * chips a node no boundary crosses, with 4 the middle one, with 2 all
	 * three: the token latency grows by 1 and 3 times that. */
	const char *dec = "run --arch h100 --model llama3-8b --phase decode --batch 1 --chips 8 --tp 2 --pp 4 --json "
	                  "-s arch.system.chips_per_node=%d";
	const double more = 8192 / (50e9 * 0.90) + 2e-6 - (8192 / (450e9 * 0.82) + 1e-6);
	double lat[3];
	const int cpn[3] = {8, 4, 2};
	for (int i = 0; i < 3; i++) {
		char args[512];
		snprintf(args, sizeof args, dec, cpn[i]);
		lat[i] = cli_num(args, "token_latency_s");
	}
	ck_assert_msg(fabs((lat[1] - lat[0]) / more - 1) < 1e-3, "one crossing adds %.6g s, expected %.6g", lat[1] - lat[0],
	              more);
	ck_assert_msg(fabs((lat[2] - lat[0]) / (3 * more) - 1) < 1e-3, "three crossings add %.6g s, expected %.6g",
	              lat[2] - lat[0], 3 * more);
}
END_TEST

Suite *suite_workloads(void)
{
	Suite *s = suite_create("workloads");
	TCase *tc = tcase_create("parallelism");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, collectives_match_closed_forms);
	tcase_add_test(tc, nccl_protocol_cost_model);
	tcase_add_test(tc, fp8_serving_reduces_16bit_hidden_states);
	tcase_add_test(tc, fp8_serving_quantizes_each_linear_input);
	tcase_add_test(tc, fp8_kv_cache_halves_cache_and_decode_reads);
	tcase_add_test(tc, pipeline_bubble);
	tcase_add_test(tc, ring_latency_and_zero3_per_weight_collectives);
	tcase_add_test(tc, memory_fits_as_published);
	tcase_add_test(tc, moe_reads_active_experts_and_busiest_sets_pace);
	tcase_add_test(tc, serve_composes_prefill_and_decode);
	tcase_add_test(tc, every_model_every_phase);
	tcase_add_test(tc, gradient_accumulation_per_micro_batch);
	tcase_add_test(tc, gradient_element_follows_the_training_dtype);
	tcase_add_test(tc, fp8_training_runs_the_transformer_engine_recipe);
	tcase_add_test(tc, pipeline_transfers_block_and_cross_the_network);
	tcase_add_test(tc, gate_and_up_projections_fuse_or_split);
	suite_add_tcase(s, tc);
	return s;
}
