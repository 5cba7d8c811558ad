/*
 * main.c - the codesim command line (DESIGN 6).
 *
 * Exit codes: 0 ok (an infeasible design is still 0), 1 bad input,
 * 2 internal error.  stdout carries results (--json: one object and
 * nothing else); errors and progress go to stderr.
 */
#include "xp.h"
#include "valid.h"
#include "../results/res.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXIT_BAD 1
#define EXIT_INTERNAL 2

int xp_cmd_sweep(int argc, char **argv, const char *home);
int xp_cmd_query(int argc, char **argv, const char *home);
int xp_cmd_merge(int argc, char **argv, const char *home);
int xp_cmd_compare(int argc, char **argv, const char *home);
int xp_cmd_report(int argc, char **argv, const char *home);
int xp_cmd_recommend(int argc, char **argv, const char *home);
int xp_cmd_validate(int argc, char **argv, const char *home);
int xp_cmd_calibrate(int argc, char **argv, const char *home);
int xp_cmd_demo(int argc, char **argv, const char *home);

static const char usage[] =
    "codesim - hardware/model co-design simulator (GPU, TPU, LPU; dense and MoE transformers)\n"
    "\n"
    "usage: codesim <command> [options]\n"
    "\n"
    "commands:\n"
    "  run        simulate one design point: a model on a chip/system in a scenario\n"
    "  kernel     simulate one operator (GEMM, attention, norm, ..., a collective)\n"
    "  sweep      run a sweep spec in parallel workers into SQLite\n"
    "  query      run SQL on a results database (table or --csv)\n"
    "  merge      merge shard databases without duplicates\n"
    "  compare    compare architectures on a model; Markdown/HTML report\n"
    "  report     render a report from a finished sweep\n"
    "  recommend  rank model shapes near a parameter budget for a chip\n"
    "  validate   predicted vs published measurements, error per category\n"
    "  calibrate  fit a chip's efficiency parameters to measurements\n"
    "  list       list archs | models | keys\n"
    "  demo       a short tour: prefill vs decode, then a small sweep into demo.db\n"
    "\n"
    "'codesim <command> --help' describes each.  Presets are names (codesim list archs)\n"
    "or paths to .cfg files.  Data directory: $CODESIM_HOME or the binary's directory.\n";

static const char run_usage[] =
    "usage: codesim run --arch A --model M [options]\n"
    "\n"
    "  --arch A            chip preset name or .cfg path (codesim list archs)\n"
    "  --model M           model preset name or .cfg path (codesim list models)\n"
    "  --phase P           train | prefill | decode | serve            (default decode)\n"
    "  --batch N           train: global batch in sequences; else requests  (default 1)\n"
    "  --seq N             tokens per sequence / prompt                  (default 2048)\n"
    "  --context N         decode: tokens already in the KV cache        (default 2048)\n"
    "  --gen N             serve: output tokens per request              (default 128)\n"
    "  --dtype D           bf16 | fp16 | fp8 | int8                      (default bf16)\n"
    "  --chips N --tp N --pp N --dp N   parallelism; give any consistent subset,\n"
    "                      the missing degree is inferred (--chips 64 --tp 8: dp 8)\n"
    "  --ep N              expert parallelism (divides tp*dp and n_experts)\n"
    "  --vpp N             virtual pipeline stages (interleaved 1F1B)\n"
    "  --micro-batch N     train: sequences per micro-batch             (default 1)\n"
    "  --recompute R       none | selective | full                       (default none)\n"
    "  --zero Z            0 | 1 | 2 | 3 optimizer/gradient/weight sharding (default 1)\n"
    "  --fusion F          eager | compiler | megakernel                (default compiler)\n"
    "  -s KEY=V            override any declared key: arch.memory.bandwidth_GBps=6700,\n"
    "                      model.d_model=5120, run.attn_impl=naive (codesim list keys)\n"
    "  --json              one JSON object on stdout (DESIGN 6 fields), nothing else\n"
    "  --db FILE           also store the point in SQLite (a sweep named \"run\"; codesim query)\n"
    "  -v, --verbose       also print every kernel with its time, bound and tiling\n"
    "\n"
    "time_s is the step (train), TTFT (prefill), one token step for the batch (decode),\n"
    "or end-to-end latency (serve); tokens/s is for the whole system.\n"
    "\n"
    "examples:\n"
    "  codesim run --arch h100 --model llama3-8b --phase decode --batch 8 --context 2048\n"
    "  codesim run --arch h100 --model llama3-8b --phase prefill --seq 2048 --json\n"
    "  codesim run --arch h100 --model llama3-8b -s arch.memory.bandwidth_GBps=6700\n"
    "  codesim run --arch h100 --model llama3-70b --phase train --chips 64 --tp 8 --pp 2 \\\n"
    "              --batch 512 --seq 4096 --micro-batch 1 --recompute selective\n";

static const char kernel_usage[] =
    "usage: codesim kernel --arch A --op OP [shape options] [--dtype D] [--fusion F]\n"
    "                      [-s arch.KEY=V] [--json]\n"
    "\n"
    "  --op gemm        --m M --n N --k K [--batch B] [--no-stream-k] [--out-dtype D]\n"
    "                   C[MxN] = A[MxK] B[KxN] (x B)\n"
    "                   (--no-stream-k: one block per output tile or split-K only, as GEMM\n"
    "                   libraries before stream-K; by default a tensor-core chip may share\n"
    "                   all tiles' k-steps evenly over its blocks when that is faster;\n"
    "                   --out-dtype bf16|fp16|fp8|int8|fp32: the element C is stored in,\n"
    "                   default --dtype's (an 8-bit GEMM that dequantizes to 16 bits, as\n"
    "                   TensorRT-LLM's FP8Linear and Transformer Engine run, is --out-dtype bf16))\n"
    "  --op attention   --batch B --heads H [--kv-heads G] --seq S [--kv-seq L] --head-dim D\n"
    "                   [--causal] [--backward | --backward-only]\n"
    "                   [--impl flash|flash2|naive|mmha] [--qkv-packed]\n"
    "                   [--mask add|where|fused]\n"
    "                   (--seq queries attend to --kv-seq keys; decode: --seq 1 --kv-seq 4096;\n"
    "                   --backward: the forward then the backward, as a training step runs\n"
    "                   them (FLOPs 3.5x the forward's); --backward-only: the backward pass\n"
    "                   alone, as a benchmark times loss.backward() (FLOPs 2.5x);\n"
    "                   --impl mmha: TensorRT-LLM's masked multi-head attention for\n"
    "                   generation (one block per query head, dot products on the vector\n"
    "                   units; --seq below 128), its fused FMHA for prompts, no backward;\n"
    "                   --qkv-packed: q, k, v are views of one [B, S, 3, H, D] tensor, which\n"
    "                   naive attention copies per head and its backward stacks back;\n"
    "                   --mask: how eager naive attention applies the causal mask, as\n"
    "                   run.causal_mask: add (default; a mask built in fp32 per call, cast,\n"
    "                   added), where (a stored one-byte mask), fused (in the softmax))\n"
    "  --op norm | softmax | elementwise   --m ROWS --n COLS\n"
    "  --op allreduce | allgather | reducescatter | alltoall   --bytes B --chips N\n"
    "  --fusion F       eager (default): the framework's library kernel(s), as PyTorch calls\n"
    "                   them; compiler: the kernel a compiler (TorchInductor, XLA) emits for\n"
    "                   the operator (a norm reads its row twice, the second time from L2\n"
    "                   when the rows in flight fit; a compiler's kernel keeps rows of up\n"
    "                   to 1024 elements in registers and reads them once)\n"
    "\n"
    "times one operator alone (no fusion with neighbours); prints time, achieved FLOP/s and\n"
    "bandwidth, bytes from memory and shared SRAM, the bound and the tiling chosen.\n"
    "\n"
    "example: codesim kernel --arch h100 --op gemm --m 8192 --n 8192 --k 8192 --dtype bf16\n";

/* ---- small helpers ----------------------------------------------------- */

int xp_want_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	return 0;
}

int xp_need_value(int i, int argc, char **argv)
{
	if (i + 1 >= argc) {
		fprintf(stderr, "codesim: %s needs a value\n", argv[i]);
		return -1;
	}
	return 0;
}

/* Scenario flags map onto declared run keys, so ranges live in one table. */
static const struct {
	const char *flag, *key;
} run_flags[] = {
    {"--phase", "phase"}, {"--batch", "batch"}, {"--seq", "seq"}, {"--context", "context"},
    {"--gen", "gen"}, {"--dtype", "dtype"}, {"--chips", "chips"}, {"--tp", "tp"},
    {"--pp", "pp"}, {"--dp", "dp"}, {"--ep", "ep"}, {"--vpp", "vpp"},
    {"--micro-batch", "micro_batch"}, {"--recompute", "recompute"}, {"--zero", "zero"},
    {"--fusion", "fusion"},
};

int xp_parse_point(int argc, char **argv, int first, xp_spec *spec, int *json, int *verbose,
                   xp_extra_opt extra, void *ctx)
{
	char err[ARCH_ERR_MAX];
	for (int i = first; i < argc; i++) {
		const char *a = argv[i];
		int handled = 0;
		if (!strcmp(a, "--json")) {
			if (json)
				*json = 1;
			continue;
		}
		if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			if (verbose)
				*verbose = 1;
			continue;
		}
		if (!strcmp(a, "--arch") || !strcmp(a, "--model")) {
			if (xp_need_value(i, argc, argv))
				return -1;
			char *dst = a[2] == 'a' ? spec->arch : spec->model;
			snprintf(dst, sizeof spec->arch, "%s", argv[++i]);
			continue;
		}
		if (!strcmp(a, "-s")) {
			if (xp_need_value(i, argc, argv))
				return -1;
			if (spec->nsets >= XP_MAX_SETS) {
				fprintf(stderr, "codesim: too many -s overrides (max %d)\n", XP_MAX_SETS);
				return -1;
			}
			const char *kv = argv[++i];
			if (!strchr(kv, '=') || strlen(kv) >= sizeof spec->sets[0]) {
				fprintf(stderr, "codesim: -s %s: expected arch.KEY=V, model.KEY=V or run.KEY=V\n", kv);
				return -1;
			}
			snprintf(spec->sets[spec->nsets++], sizeof spec->sets[0], "%s", kv);
			continue;
		}
		for (size_t f = 0; f < sizeof run_flags / sizeof *run_flags; f++)
			if (!strcmp(a, run_flags[f].flag)) {
				if (xp_need_value(i, argc, argv))
					return -1;
				if (arch_cfg_set(wl_run_keys, wl_run_nkeys, &spec->sc, run_flags[f].key, argv[i + 1], a, err,
				                 sizeof err)) {
					fprintf(stderr, "codesim: %s\n", err);
					return -1;
				}
				i++;
				handled = 1;
				break;
			}
		if (handled)
			continue;
		if (extra) {
			int took = extra(i, argc, argv, ctx);
			if (took < 0)
				return -1;
			if (took > 0) {
				i += took - 1;
				continue;
			}
		}
		fprintf(stderr, "codesim: unknown option '%s' (see --help)\n", a);
		return -1;
	}
	return 0;
}

/* ---- run ------------------------------------------------------------------ */

static int run_extra(int i, int argc, char **argv, void *ctx)
{
	if (strcmp(argv[i], "--db"))
		return 0;
	if (xp_need_value(i, argc, argv))
		return -1;
	snprintf(ctx, 1024, "%s", argv[i + 1]);
	return 2;
}

/* `codesim run --db FILE`: the point is a sweep of one, named "run" */
static int store_run(const char *path, const xp_point *pt, const res_t *r, double wall_s)
{
	char err[ARCH_ERR_MAX], hash[17];
	res_db *db = NULL;
	char *cfg = xp_point_identity(pt, CODESIM_MODEL_VERSION, hash);
	char *spec_text = xp_sweep_identity_text("codesim run", CODESIM_MODEL_VERSION);
	int rc = -1;
	if (!cfg || !spec_text) {
		fprintf(stderr, "codesim: out of memory\n");
		free(cfg);
		free(spec_text);
		return -1;
	}
	if (res_db_open(path, &db, err, sizeof err))
		goto fail;
	long long sid = res_db_sweep(db, "run", spec_text, err, sizeof err);
	static const char *const keys[] = {"arch", "model", "run.phase"};
	const char *vals[] = {pt->arch.name, pt->model.name, wl_phase_names[pt->sc.phase]};
	if (sid < 0 || res_db_sweep_axes(db, sid, 3, keys, err, sizeof err))
		goto fail;
	if (res_db_put(db, sid, hash, cfg, r->feasible ? "ok" : "infeasible", r->reason, wall_s, 3, keys, vals, r, err,
	               sizeof err))
		goto fail;
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "codesim: --db %s: %s\n", path, err);
out:
	res_db_close(db);
	free(cfg);
	free(spec_text);
	return rc;
}

static int cmd_run(int argc, char **argv, const char *home)
{
	if (xp_want_help(argc, argv)) {
		fputs(run_usage, stdout);
		return 0;
	}
	xp_spec spec;
	xp_point pt;
	res_t *r = NULL;
	char err[ARCH_ERR_MAX], db[1024] = "";
	int json = 0, verbose = 0;
	xp_spec_init(&spec);
	if (xp_parse_point(argc, argv, 1, &spec, &json, &verbose, run_extra, db))
		return EXIT_BAD;
	if (xp_resolve(home, &spec, &pt, err, sizeof err)) {
		fprintf(stderr, "codesim: %s\n", err);
		return EXIT_BAD;
	}
	r = calloc(1, sizeof *r);
	if (!r) {
		fprintf(stderr, "codesim: out of memory\n");
		return EXIT_INTERNAL;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (xp_evaluate_forked(&pt, 0, r, err, sizeof err)) {
		fprintf(stderr, "codesim: internal error: %s\n", err);
		free(r);
		return EXIT_INTERNAL;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (db[0] && store_run(db, &pt, r, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9)) {
		free(r);
		return EXIT_BAD;
	}
	if (json)
		res_json(stdout, r);
	else
		res_print(stdout, r, verbose);
	free(r);
	return 0;
}

/* ---- kernel --------------------------------------------------------------- */

typedef struct {
	arch_t *a;
	wl_op op;
	int attn_impl, fusion, with_fwd;
	const char *home;
} kernel_job;

static int kernel_fn(const void *arg, void *out, char *err, size_t errlen)
{
	const kernel_job *j = arg;
	return xp_kernel_eval(j->a, &j->op, j->attn_impl, j->fusion, j->with_fwd, out, err, errlen);
}

static int cmd_kernel(int argc, char **argv, const char *home)
{
	if (xp_want_help(argc, argv)) {
		fputs(kernel_usage, stdout);
		return 0;
	}
	/* one parser and one operator builder, shared with codesim validate */
	char err[ARCH_ERR_MAX];
	int json = 0;
	xp_kspec ks;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--json"))
			json = 1;
	if (xp_kspec_parse(argc, argv, 1, &ks, err, sizeof err)) {
		fprintf(stderr, "codesim: %s (see codesim kernel --help)\n", err);
		return EXIT_BAD;
	}
	arch_t a;
	kernel_job job;
	memset(&job, 0, sizeof job);
	if (xp_kspec_build(home, &ks, NULL, 0, &a, &job.op, &job.attn_impl, err, sizeof err)) {
		fprintf(stderr, "codesim: %s\n", err);
		return EXIT_BAD;
	}
	job.a = &a;
	job.fusion = ks.fusion;
	job.with_fwd = ks.backward == 1;
	job.home = home;
	const char *opname = ks.op;
	int dtype = ks.dtype;
	xp_kernel_result kr;
	if (xp_fork_call(kernel_fn, &job, &kr, sizeof kr, 0, NULL, err, sizeof err)) {
		if (strstr(err, "no ") && strstr(err, "tiling")) {
			fprintf(stderr, "codesim: %s\n", err);
			return EXIT_BAD;
		}
		fprintf(stderr, "codesim: internal error: %s\n", err);
		return EXIT_INTERNAL;
	}
	if (json) {
		printf("{\"arch\":");
		res_json_str(stdout, kr.arch);
		printf(",\"op\":\"%s\",\"dtype\":\"%s\",\"time_s\":%.10g,\"flops\":%.10g,\"hbm_bytes\":%.10g,"
		       "\"sram_bytes\":%.10g,\"comm_bytes\":%.10g,\"achieved_flops\":%.10g,\"achieved_bw\":%.10g,"
		       "\"peak_flops\":%.10g,\"peak_bw\":%.10g,\"bound\":\"%s\",\"tiling\":",
		       opname, arch_dtype_names[dtype], kr.time_s, kr.flops, kr.mem_bytes, kr.sram_bytes,
		       kr.comm_bytes, kr.achieved_flops, kr.achieved_bw, kr.peak_flops, kr.peak_bw,
		       res_bound_names[kr.bound]);
		res_json_str(stdout, kr.tiling[0]);
		printf(",\"kernels\":[");
		for (int i = 0; i < kr.nkernels; i++) {
			printf("%s{\"name\":", i ? "," : "");
			res_json_str(stdout, kr.names[i]);
			printf(",\"time_s\":%.10g,\"tiling\":", kr.ktime[i]);
			res_json_str(stdout, kr.tiling[i]);
			printf("}");
		}
		printf("]}\n");
		return 0;
	}
	char b1[32], b2[32];
	printf("%s on %s (%s)\n", opname, kr.arch, arch_dtype_names[dtype]);
	printf("  time        %s\n", res_fmt_time(kr.time_s, b1, sizeof b1));
	if (kr.flops > 0)
		printf("  compute     %.1f TFLOP/s achieved, %.1f%% of the %.0f TFLOP/s peak\n", kr.achieved_flops / 1e12,
		       100 * kr.achieved_flops / kr.peak_flops, kr.peak_flops / 1e12);
	printf("  memory      %s from %s (%.0f GB/s, %.1f%% of peak)",
	       res_fmt_bytes(kr.mem_bytes, b1, sizeof b1), arch_has_hbm(&a) ? "HBM" : "SRAM", kr.achieved_bw / 1e9,
	       100 * kr.achieved_bw / kr.peak_bw);
	if (kr.sram_bytes > 0)
		printf(", %s from L2/shared SRAM", res_fmt_bytes(kr.sram_bytes, b2, sizeof b2));
	printf("\n");
	if (kr.comm_bytes > 0)
		printf("  links       %s per chip\n", res_fmt_bytes(kr.comm_bytes, b1, sizeof b1));
	printf("  bound       %s\n", res_bound_names[kr.bound]);
	for (int i = 0; i < kr.nkernels; i++)
		printf("  %-11s %s%s%s\n", i ? "" : "tiling", kr.nkernels > 1 ? kr.names[i] : "", kr.nkernels > 1 ? ": " : "",
		       kr.tiling[i]);
	return 0;
}

/* ---- list ----------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int list_dir(const char *home, const char *dir, char ***names)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", home, dir);
	DIR *d = opendir(path);
	int n = 0, cap = 0;
	*names = NULL;
	if (!d)
		return -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".cfg"))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			char **nn = realloc(*names, (size_t)cap * sizeof *nn);
			if (!nn)
				break;
			*names = nn;
		}
		(*names)[n] = strndup(e->d_name, l - 4);
		n++;
	}
	closedir(d);
	qsort(*names, (size_t)n, sizeof **names, cmp_str);
	return n;
}

static void print_keys(const cfg_key *keys, size_t n, const char *prefix)
{
	for (size_t i = 0; i < n; i++) {
		const cfg_key *k = &keys[i];
		char range[96] = "";
		if (k->type == CFG_INT || k->type == CFG_FLOAT)
			snprintf(range, sizeof range, "[%g, %g]", k->min, k->max);
		else if (k->type == CFG_ENUM) {
			size_t u = 0;
			for (int j = 0; k->names[j] && u < sizeof range; j++)
				u += (size_t)snprintf(range + u, sizeof range - u, "%s%s", j ? "|" : "", k->names[j]);
		} else if (k->type == CFG_BOOL)
			snprintf(range, sizeof range, "true|false");
		printf("  %s%-30s %-9s %-22s %s\n", prefix, k->path, k->unit, range, k->doc);
	}
}

static int cmd_list(int argc, char **argv, const char *home)
{
	if (argc < 2 || xp_want_help(argc, argv)) {
		printf("usage: codesim list archs | models | keys\n");
		return argc < 2 ? EXIT_BAD : 0;
	}
	char err[ARCH_ERR_MAX], **names;
	if (!strcmp(argv[1], "archs")) {
		int n = list_dir(home, "arch/presets", &names);
		if (n < 0) {
			fprintf(stderr, "codesim: no arch/presets under %s (set CODESIM_HOME)\n", home);
			return EXIT_BAD;
		}
		printf("%-10s %-4s %6s %9s %9s %7s %8s %9s %10s  %s\n", "arch", "fam", "cores", "bf16 TF", "fp8/i8 TF",
		       "mem GB", "mem TB/s", "SRAM/core", "shared MiB", "description");
		for (int i = 0; i < n; i++) {
			arch_t a;
			if (arch_load(&a, home, names[i], err, sizeof err)) {
				printf("%-10s (does not load: %s)\n", names[i], err);
			} else {
				double b = arch_peak_flops(&a, DT_BF16), h = arch_peak_flops(&a, DT_FP16);
				double lo = arch_peak_flops(&a, DT_FP8) > 0 ? arch_peak_flops(&a, DT_FP8) : arch_peak_flops(&a, DT_INT8);
				char bf[16];
				if (b > 0)
					snprintf(bf, sizeof bf, "%.0f", b / 1e12);
				else
					snprintf(bf, sizeof bf, "(fp16 %.0f)", h / 1e12);
				printf("%-10s %-4s %6d %9s %9.0f %7.0f %8.2f %6.0f KiB %10.1f  %s\n", names[i],
				       arch_family_names[a.family], a.core.count, bf, lo / 1e12, a.memory.capacity_GB,
				       arch_mem_bw_Bps(&a) / 1e12, a.core.sram_KiB, a.global_sram.size_MiB, a.description);
			}
			free(names[i]);
		}
		free(names);
		return 0;
	}
	if (!strcmp(argv[1], "models")) {
		int n = list_dir(home, "workloads/models", &names);
		if (n < 0) {
			fprintf(stderr, "codesim: no workloads/models under %s (set CODESIM_HOME)\n", home);
			return EXIT_BAD;
		}
		printf("%-14s %7s %8s %6s %7s %5s %7s %8s %9s  %s\n", "model", "layers", "d_model", "heads", "kv_heads",
		       "ffn", "experts", "params", "active", "description");
		for (int i = 0; i < n; i++) {
			wl_model m;
			if (wl_model_load(&m, home, names[i], err, sizeof err)) {
				printf("%-14s (does not load: %s)\n", names[i], err);
			} else {
				char ex[16];
				snprintf(ex, sizeof ex, m.n_experts ? "%d/top%d" : "-", m.n_experts, m.top_k);
				printf("%-14s %7d %8d %6d %7d %5s %7s %7.1fB %8.1fB  %s\n", names[i], m.n_layers, m.d_model, m.n_heads,
				       m.n_kv_heads ? m.n_kv_heads : m.n_heads, m.gated_ffn ? "glu" : "mlp", ex,
				       wl_params_total(&m) / 1e9, wl_params_active(&m) / 1e9, m.description);
			}
			free(names[i]);
		}
		free(names);
		return 0;
	}
	if (!strcmp(argv[1], "keys")) {
		printf("arch keys (arch/presets/*.cfg, -s arch.KEY=V):\n");
		print_keys(arch_keys, arch_nkeys, "arch.");
		printf("\nmodel keys (workloads/models/*.cfg, -s model.KEY=V):\n");
		print_keys(wl_model_keys, wl_model_nkeys, "model.");
		printf("\nscenario keys (command-line flags, -s run.KEY=V):\n");
		print_keys(wl_run_keys, wl_run_nkeys, "run.");
		return 0;
	}
	fprintf(stderr, "codesim: list %s: expected archs, models or keys\n", argv[1]);
	return EXIT_BAD;
}

/* ---- dispatch --------------------------------------------------------------- */

int xp_main(int argc, char **argv)
{
	char home[1024];
	arch_home(home, sizeof home);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage, stdout);
		return argc < 2 ? EXIT_BAD : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("codesim 0.1 (SystemC %s), model version %s\n", sim_version(), CODESIM_MODEL_VERSION);
		return 0;
	}
	static const struct {
		const char *name;
		int (*fn)(int, char **, const char *);
	} cmds[] = {
	    {"run", cmd_run},           {"kernel", cmd_kernel},         {"list", cmd_list},
	    {"sweep", xp_cmd_sweep},    {"query", xp_cmd_query},        {"merge", xp_cmd_merge},
	    {"compare", xp_cmd_compare}, {"report", xp_cmd_report},      {"recommend", xp_cmd_recommend},
	    {"validate", xp_cmd_validate}, {"calibrate", xp_cmd_calibrate}, {"demo", xp_cmd_demo},
	};
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1, home);
	fprintf(stderr, "codesim: unknown command '%s' (see codesim --help)\n", argv[1]);
	return EXIT_BAD;
}
