/*
 * valid_case.c - the validation case file, the FLOP conventions of the
 * sources and the metric conversions, and the kernel command's options
 * (parsed as codesim kernel parses them, so a case runs what the CLI runs).
 */
#include "valid.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const xp_vsplit_names[] = {"fit", "holdout", "all", NULL};
const char *const xp_vcat_names[] = {"gemm", "attention", "vector", "training", "inference", NULL};
const char *const xp_vmetric_names[] = {
    "tflops", "tflops_fa", "time_ms", "wall_ms", "ttft_ms", "gelems_per_s", "wall_gelems_per_s",
    "tflops_per_chip_hw", "tflops_per_chip_model", "tflops_per_chip_fa2", "tokens_per_s",
    "tokens_per_s_per_chip", "tpot_ms", "layers_ms", "wall_compiled_ms", "wall_compiled_gelems_per_s",
    "static_tokens_per_s", "sum_wall_ms", "static_tokens_per_s_per_chip", NULL};
const char *const xp_vstatus_names[] = {"ok", "infeasible", "error", NULL};

static const char header_cols[] = "id\tcategory\targs\tmetric\tpublished\tsplit\tsource\tnotes";

static int find_name(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

static void list_names(const char *const *names, char *buf, size_t len)
{
	size_t u = 0;
	buf[0] = 0;
	for (int i = 0; names[i] && u < len; i++)
		u += (size_t)snprintf(buf + u, len - u, "%s%s", i ? ", " : "", names[i]);
}

void xp_vset_default_file(const char *home, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/tests/validation/cases.tsv", home);
}

void xp_vset_free(xp_vset *set)
{
	free(set->cases);
	set->cases = NULL;
	set->n = 0;
}

static char *read_text(const char *file, char *err, size_t errlen)
{
	FILE *f = fopen(file, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", file, strerror(errno));
		return NULL;
	}
	char *buf = xp_read_all(f);
	if (!buf)
		snprintf(err, errlen, "%s: %s", file, errno == ENOMEM ? "out of memory" : "read error");
	fclose(f);
	return buf;
}

/* Split s in place on tabs into at most max fields; returns the count. */
static int split_tabs(char *s, char **f, int max)
{
	int n = 0;
	f[n++] = s;
	for (char *p = s; *p; p++)
		if (*p == '\t') {
			*p = 0;
			if (n == max)
				return max + 1;
			f[n++] = p + 1;
		}
	return n;
}

static void arch_of_args(const char *args, char *out, size_t len)
{
	out[0] = 0;
	const char *p = strstr(args, "--arch ");
	if (!p)
		return;
	p += 7;
	size_t n = strcspn(p, " ");
	snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), p);
}

/* A sum case: "sum TERM + TERM ...", TERM = [Nx] kernel OPTIONS.  Split
 * argv (the words after "sum") into its terms: term i is the words
 * [start[i], end[i]) (the kernel command) repeated count[i] times.
 * Returns the number of terms, or -1 with err. */
int xp_vsum_terms(int argc, char **argv, int *start, int *end, int *count, int max, char *err, size_t errlen)
{
	int n = 0, i = 0;
	while (i < argc) {
		if (n == max) {
			snprintf(err, errlen, "more than %d terms", max);
			return -1;
		}
		int cnt = 1;
		size_t l = strlen(argv[i]);
		if (l >= 2 && argv[i][l - 1] == 'x' && strspn(argv[i], "0123456789") == l - 1) {
			cnt = atoi(argv[i]);
			if (cnt < 1 || cnt > 1000) {
				snprintf(err, errlen, "term %d: count %s: expected 1x to 1000x", n + 1, argv[i]);
				return -1;
			}
			i++;
		}
		if (i >= argc || strcmp(argv[i], "kernel")) {
			snprintf(err, errlen, "term %d: expected '[Nx] kernel ...'", n + 1);
			return -1;
		}
		start[n] = i;
		while (i < argc && strcmp(argv[i], "+"))
			i++;
		end[n] = i;
		count[n++] = cnt;
		if (i < argc && ++i == argc) {
			snprintf(err, errlen, "a '+' ends the sum: expected another term after it");
			return -1;
		}
	}
	if (!n)
		snprintf(err, errlen, "no terms: expected 'sum [Nx] kernel ... + [Nx] kernel ...'");
	return n ? n : -1;
}

/* A sum's terms parse as kernel commands (the one kernel-option parser,
 * so a bad flag is a load error naming the term) and all name the case's
 * arch (calibrate fits one chip's parameters to a case). */
int xp_vsum_check(const char *args, const char *arch, char *err, size_t errlen)
{
	char buf[XP_VARGS_MAX], *argv[XP_VSUM_WORDS];
	int argc = 0, start[XP_VSUM_MAX], end[XP_VSUM_MAX], count[XP_VSUM_MAX];
	snprintf(buf, sizeof buf, "%s", args);
	for (char *p = strtok(buf, " "); p; p = strtok(NULL, " ")) {
		if (argc == XP_VSUM_WORDS) {
			snprintf(err, errlen, "more than %d words", XP_VSUM_WORDS);
			return -1;
		}
		argv[argc++] = p;
	}
	int n = xp_vsum_terms(argc - 1, argv + 1, start, end, count, XP_VSUM_MAX, err, errlen);
	if (n < 0)
		return -1;
	xp_kspec *ks = malloc(sizeof *ks);
	if (!ks) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = 0;
	char why[200];
	for (int t = 0; t < n && !rc; t++) {
		if (xp_kspec_parse(end[t] - start[t], argv + 1 + start[t], 1, ks, why, sizeof why)) {
			snprintf(err, errlen, "term %d: %s", t + 1, why);
			rc = -1;
		} else if (strcmp(ks->arch, arch)) {
			snprintf(err, errlen, "term %d: --arch %.60s: expected --arch %.60s, as the first term", t + 1, ks->arch,
			         arch);
			rc = -1;
		}
	}
	free(ks);
	return rc;
}

int xp_vset_load(xp_vset *set, const char *file, char *err, size_t errlen)
{
	memset(set, 0, sizeof *set);
	snprintf(set->file, sizeof set->file, "%s", file);
	char *text = read_text(file, err, errlen);
	if (!text)
		return -1;
	int cap = 0, lineno = 0, have_header = 0, rc = -1;
	char names[256];
	char *line = text;
	while (line && *line) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		lineno++;
		size_t l = strlen(line);
		if (l && line[l - 1] == '\r')
			line[--l] = 0;
		if (!l || line[0] == '#') {
			line = next;
			continue;
		}
		if (!have_header) {
			if (strcmp(line, header_cols)) {
				snprintf(err, errlen, "%s:%d: expected the header line '%s' (tab-separated)", file, lineno,
				         "id category args metric published split source notes");
				goto out;
			}
			have_header = 1;
			line = next;
			continue;
		}
		char *f[9];
		int nf = split_tabs(line, f, 8);
		if (nf < 7 || nf > 8) {
			snprintf(err, errlen, "%s:%d: expected 8 tab-separated columns (id category args metric published "
			         "split source notes), found %d", file, lineno, nf > 8 ? 9 : nf);
			goto out;
		}
		if (set->n == cap) {
			cap = cap ? cap * 2 : 256;
			xp_vcase *nc = realloc(set->cases, (size_t)cap * sizeof *nc);
			if (!nc) {
				snprintf(err, errlen, "%s: out of memory", file);
				goto out;
			}
			set->cases = nc;
		}
		xp_vcase *c = &set->cases[set->n];
		memset(c, 0, sizeof *c);
		c->line = lineno;
		if (!f[0][0] || strlen(f[0]) >= sizeof c->id || strchr(f[0], ' ')) {
			snprintf(err, errlen, "%s:%d: id: expected a non-empty name without spaces, shorter than %zu", file,
			         lineno, sizeof c->id);
			goto out;
		}
		snprintf(c->id, sizeof c->id, "%s", f[0]);
		for (int i = 0; i < set->n; i++)
			if (!strcmp(set->cases[i].id, c->id)) {
				snprintf(err, errlen, "%s:%d: id %s: already used at line %d (ids are unique)", file, lineno, c->id,
				         set->cases[i].line);
				goto out;
			}
		if ((c->category = find_name(xp_vcat_names, f[1])) < 0) {
			list_names(xp_vcat_names, names, sizeof names);
			snprintf(err, errlen, "%s:%d: category '%s': expected one of %s", file, lineno, f[1], names);
			goto out;
		}
		int is_sum = !strncmp(f[2], "sum ", 4);
		if (strlen(f[2]) >= sizeof c->args ||
		    (strncmp(f[2], "run ", 4) && strncmp(f[2], "kernel ", 7) && !is_sum)) {
			snprintf(err, errlen, "%s:%d: args: expected 'run ...', 'kernel ...' or 'sum [Nx] kernel ... + ...' "
			         "(codesim command lines, shorter than %zu)", file, lineno, sizeof c->args);
			goto out;
		}
		snprintf(c->args, sizeof c->args, "%s", f[2]);
		arch_of_args(c->args, c->arch, sizeof c->arch);
		if ((c->metric = find_name(xp_vmetric_names, f[3])) < 0) {
			list_names(xp_vmetric_names, names, sizeof names);
			snprintf(err, errlen, "%s:%d: metric '%s': expected one of %s", file, lineno, f[3], names);
			goto out;
		}
		if (is_sum != (c->metric == VM_SUM_WALL_MS)) {
			snprintf(err, errlen, "%s:%d: metric %s: %s", file, lineno, f[3],
			         is_sum ? "a 'sum' case takes the metric sum_wall_ms"
			                : "sum_wall_ms is the metric of a 'sum [Nx] kernel ... + ...' case");
			goto out;
		}
		if (is_sum && xp_vsum_check(c->args, c->arch, names, sizeof names)) {
			snprintf(err, errlen, "%s:%d: args: %s", file, lineno, names);
			goto out;
		}
		char *end;
		errno = 0;
		c->published = strtod(f[4], &end);
		if (end == f[4] || *end || errno || !(c->published > 0) || !isfinite(c->published)) {
			snprintf(err, errlen, "%s:%d: published '%s': expected a positive number", file, lineno, f[4]);
			goto out;
		}
		if (!strcmp(f[5], "fit"))
			c->split = VSPLIT_FIT;
		else if (!strcmp(f[5], "holdout"))
			c->split = VSPLIT_HOLDOUT;
		else {
			snprintf(err, errlen, "%s:%d: split '%s': expected fit or holdout", file, lineno, f[5]);
			goto out;
		}
		snprintf(c->source, sizeof c->source, "%.*s", (int)sizeof c->source - 1, f[6]);
		c->uncertain = nf == 8 && (strstr(f[7], "UNCERTAIN") || strstr(f[7], "approx."));
		set->n++;
		line = next;
	}
	if (!have_header) {
		snprintf(err, errlen, "%s: no header line (expected '%s')", file,
		         "id category args metric published split source notes");
		goto out;
	}
	rc = 0;
out:
	free(text);
	if (rc)
		xp_vset_free(set);
	return rc;
}

/* ---- FLOP conventions ---------------------------------------------------- */

double xp_flops_gemm(double m, double n, double k, double batch)
{
	return 2.0 * m * n * k * batch;
}

double xp_flops_fa(double b, double s, double skv, double h, double d, int causal, int backward)
{
	double f = 4.0 * b * s * skv * h * d;
	if (causal)
		f *= 0.5;
	if (backward)
		f *= backward == 2 ? 2.5 : 3.5;
	return f;
}

double xp_flops_megatron(double b, double s, double l, double h, double v)
{
	return 96.0 * b * s * l * h * h * (1.0 + s / (6.0 * h) + v / (16.0 * l * h));
}

double xp_flops_fa2(double b, double s, double n_params, double l, double h)
{
	return (6.0 * s * n_params + 12.0 * l * h * s * s) * b;
}

/* A host-timed framework op (time.time() around one PyTorch call and a
 * synchronize) pays the host path of that call besides the kernel: the
 * framework's dispatch, the launch, and the synchronize's return.  That is
 * a property of the measuring host and framework, not of the chip, so the
 * figure comes with the measurement where the source gives it.
 *
 * Every wall-clock case is LLMCompass's A100 artifact (ae/figure5), and the
 * artifact states its host's per-call overhead by op: matmul 21 us, softmax
 * 12 us, and 45 us for LayerNorm and GELU, which it times through
 * @torch.compile wrappers (hardware_model/compute_module.py
 * overhead_dict["A100"]; gpu_kernel_launch_overhead() in its
 * software_model/ files times each call on a 1x1 tensor).  The compiled call
 * also runs the TorchDynamo guard check, the AOTAutograd/Inductor wrappers
 * and Triton's Python launcher before its one fused kernel is enqueued; the
 * same order as Triton's own launch-latency test of 2023, median ~42-55 us
 * per launch timed with time.time() on CI (triton-lang/triton PR #1431).
 *
 * Any other eager op: ~20 us between the host call and the first
 * instruction of a PyTorch eager op on a V100 (NVIDIA Nsight guide, via
 * [GROUNDY] in ../shared/reference/hardware.md 8.3), of which the chip's
 * own launch gap is a part.  None of these is fitted to the cases.  A
 * wall-clock case from another host would need that host's figures: the
 * by-op values here are LLMCompass's. */
#define XP_EAGER_ROUND_TRIP_S 20e-6
#define XP_EAGER_MATMUL_S 21e-6
#define XP_EAGER_SOFTMAX_S 12e-6
#define XP_COMPILED_ROUND_TRIP_S 45e-6

static double host_round_trip(const xp_vmetric_in *in, int compiled)
{
	double h = XP_EAGER_ROUND_TRIP_S;
	if (compiled)
		h = XP_COMPILED_ROUND_TRIP_S;
	else if (in->op && !strcmp(in->op, "gemm"))
		h = XP_EAGER_MATMUL_S;
	else if (in->op && !strcmp(in->op, "softmax"))
		h = XP_EAGER_SOFTMAX_S;
	return in->launch_s > h ? in->launch_s : h;
}

int xp_vmetric_convert(int metric, const xp_vmetric_in *in, double *out, char *err, size_t errlen)
{
	double t = in->time_s, v = 0;
	if (!(t > 0) && metric != VM_TOKENS && metric != VM_TOKENS_CHIP) {
		snprintf(err, errlen, "codesim predicted a time of %g s", t);
		return -1;
	}
	double chips = in->chips > 0 ? in->chips : 1;
	switch (metric) {
	case VM_TFLOPS:
		v = xp_flops_gemm(in->m, in->n, in->k, in->kbatch > 0 ? in->kbatch : 1) / t / 1e12;
		break;
	case VM_TFLOPS_FA:
		v = xp_flops_fa(in->kbatch > 0 ? in->kbatch : 1, in->kseq, in->kv_seq > 0 ? in->kv_seq : in->kseq, in->heads,
		                in->head_dim, in->causal, in->backward) / t / 1e12;
		break;
	case VM_TIME_MS:
	case VM_TTFT_MS:
		v = t * 1e3;
		break;
	case VM_WALL_MS:
	case VM_WALL_COMPILED_MS:
		v = (t + host_round_trip(in, metric == VM_WALL_COMPILED_MS)) * 1e3;
		break;
	case VM_GELEMS:
		v = in->m * in->n / t / 1e9;
		break;
	case VM_WALL_GELEMS:
	case VM_WALL_COMPILED_GELEMS:
		v = in->m * in->n / (t + host_round_trip(in, metric == VM_WALL_COMPILED_GELEMS)) / 1e9;
		break;
	case VM_TFLOPS_HW:
		v = xp_flops_megatron(in->batch, in->seq, in->n_layers, in->d_model, in->vocab) / t / chips / 1e12;
		break;
	case VM_TFLOPS_MODEL:
		v = in->model_flops / t / chips / 1e12;
		break;
	case VM_TFLOPS_FA2:
		v = xp_flops_fa2(in->batch, in->seq, in->n_params, in->n_layers, in->d_model) / t / chips / 1e12;
		break;
	case VM_TOKENS:
		v = in->tokens_per_s;
		break;
	case VM_TOKENS_CHIP:
		v = in->tokens_per_s / chips;
		break;
	case VM_TPOT_MS:
		v = in->tpot_s * 1e3;
		break;
	case VM_STATIC_TOKENS:
	case VM_STATIC_TOKENS_CHIP:
		/* a static-batch benchmark (TensorRT-LLM gptSessionBenchmark) times
		 * generate() for OSL new tokens: step 0 is the context phase, whose
		 * logits give the first token, then OSL-1 generation steps
		 * (GptSession::generate, `for step < maxNewTokens`); it reports
		 * OSL * batch / latency.  The case runs serve with --gen OSL-1, so
		 * each request emits gen + 1 tokens in time_s. */
		if (in->phase != PH_SERVE || !(in->gen > 0)) {
			snprintf(err, errlen, "%s needs run --phase serve --gen N", xp_vmetric_names[metric]);
			return -1;
		}
		v = in->tokens_per_s * (in->gen + 1) / in->gen;
		if (metric == VM_STATIC_TOKENS_CHIP)
			v /= chips;
		break;
	case VM_LAYERS_MS:
		v = (t - in->nonlayer_s) * 1e3;
		break;
	default:
		snprintf(err, errlen, "unknown metric %d", metric);
		return -1;
	}
	if (!(v > 0) || !isfinite(v)) {
		snprintf(err, errlen, "%s came out as %g", xp_vmetric_names[metric], v);
		return -1;
	}
	*out = v;
	return 0;
}

/* ---- kernel options --------------------------------------------------------
 * The same flags, ranges and checks as cmd_kernel in main.c. */

static int parse_long_opt(const char *flag, const char *v, long lo, long hi, long *out, char *err, size_t errlen)
{
	char *end;
	double d = strtod(v, &end);
	if (end == v || *end || d != (long)d || d < lo || d > hi) {
		snprintf(err, errlen, "%s %s: expected an integer in [%ld, %ld]", flag, v, lo, hi);
		return -1;
	}
	*out = (long)d;
	return 0;
}

int xp_kspec_parse(int argc, char **argv, int first, xp_kspec *ks, char *err, size_t errlen)
{
	memset(ks, 0, sizeof *ks);
	ks->batch = 1;
	ks->dtype = DT_BF16;
	snprintf(ks->impl, sizeof ks->impl, "flash");
	ks->fusion = FUSE_EAGER;
	static const struct {
		const char *flag;
		long lo, hi;
	} nums[] = {{"--m", 1, 1L << 40}, {"--n", 1, 1L << 40}, {"--k", 1, 1L << 40}, {"--batch", 1, 1L << 30},
	            {"--heads", 1, 1L << 20}, {"--kv-heads", 1, 1L << 20}, {"--seq", 1, 1L << 30},
	            {"--kv-seq", 1, 1L << 30}, {"--head-dim", 1, 1L << 16}, {"--chips", 1, 1L << 24}};
	long *dst[] = {&ks->m, &ks->n, &ks->k, &ks->batch, &ks->heads, &ks->kv_heads, &ks->seq, &ks->kv_seq,
	               &ks->head_dim, &ks->chips};
	for (int i = first; i < argc; i++) {
		const char *a = argv[i];
		int done = 0;
		for (size_t f = 0; f < sizeof nums / sizeof *nums; f++)
			if (!strcmp(a, nums[f].flag)) {
				if (i + 1 >= argc) {
					snprintf(err, errlen, "%s needs a value", a);
					return -1;
				}
				if (parse_long_opt(a, argv[i + 1], nums[f].lo, nums[f].hi, dst[f], err, errlen))
					return -1;
				i++;
				done = 1;
				break;
			}
		if (done)
			continue;
		if (!strcmp(a, "--arch") || !strcmp(a, "--op") || !strcmp(a, "--impl") || !strcmp(a, "--dtype") ||
		    !strcmp(a, "--out-dtype") || !strcmp(a, "--bytes") || !strcmp(a, "--fusion") || !strcmp(a, "--mask") || !strcmp(a, "-s")) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "%s needs a value", a);
				return -1;
			}
			const char *v = argv[++i];
			if (!strcmp(a, "--arch"))
				snprintf(ks->arch, sizeof ks->arch, "%s", v);
			else if (!strcmp(a, "--op"))
				snprintf(ks->op, sizeof ks->op, "%s", v);
			else if (!strcmp(a, "--impl")) {
				if (strcmp(v, "naive") && strcmp(v, "flash") && strcmp(v, "flash2") && strcmp(v, "mmha")) {
					snprintf(err, errlen, "--impl %s: expected naive, flash, flash2 or mmha", v);
					return -1;
				}
				snprintf(ks->impl, sizeof ks->impl, "%s", v);
			} else if (!strcmp(a, "--mask")) {
				int m = 0;
				while (wl_causal_mask_names[m] && strcmp(v, wl_causal_mask_names[m]))
					m++;
				if (!wl_causal_mask_names[m]) {
					snprintf(err, errlen, "--mask %s: expected add, where or fused", v);
					return -1;
				}
				ks->mask_form = m;
			} else if (!strcmp(a, "--fusion")) {
				/* one operator alone has no neighbours: a megakernel
				 * would be the compiler's kernel */
				if (!strcmp(v, "eager"))
					ks->fusion = FUSE_EAGER;
				else if (!strcmp(v, "compiler"))
					ks->fusion = FUSE_COMPILER;
				else {
					snprintf(err, errlen, "--fusion %s: expected eager or compiler", v);
					return -1;
				}
			} else if (!strcmp(a, "--dtype")) {
				ks->dtype = find_name(arch_dtype_names, v);
				if (ks->dtype < 0) {
					snprintf(err, errlen, "--dtype %s: expected bf16, fp16, fp8 or int8", v);
					return -1;
				}
			} else if (!strcmp(a, "--out-dtype")) {
				int d = find_name(arch_dtype_names, v);
				if (d < 0 && strcmp(v, "fp32")) {
					snprintf(err, errlen, "--out-dtype %s: expected bf16, fp16, fp8, int8 or fp32", v);
					return -1;
				}
				ks->out_eb = d < 0 ? 4.0 : arch_dtype_bytes((arch_dtype)d);
			} else if (!strcmp(a, "--bytes")) {
				char *end;
				ks->bytes = strtod(v, &end);
				if (end == v || *end || ks->bytes <= 0 || ks->bytes > 1e15) {
					snprintf(err, errlen, "--bytes %s: expected a positive number up to 1e15", v);
					return -1;
				}
			} else {
				if (strncmp(v, "arch.", 5) || !strchr(v, '=') || ks->nsets >= XP_MAX_SETS ||
				    strlen(v) >= sizeof ks->sets[0]) {
					snprintf(err, errlen, "kernel -s %s: expected arch.KEY=V", v);
					return -1;
				}
				snprintf(ks->sets[ks->nsets++], sizeof ks->sets[0], "%s", v);
			}
			continue;
		}
		/* switches: each sets one flag of the spec */
		const struct {
			const char *name;
			int *flag;
		} sw[] = {{"--causal", &ks->causal}, {"--qkv-packed", &ks->qkv_packed},
		          {"--no-stream-k", &ks->no_stream_k}};
		size_t w = 0;
		while (w < sizeof sw / sizeof sw[0] && strcmp(a, sw[w].name))
			w++;
		if (w < sizeof sw / sizeof sw[0]) {
			*sw[w].flag = 1;
			continue;
		}
		if (!strcmp(a, "--backward") || !strcmp(a, "--backward-only")) {
			int want = strcmp(a, "--backward-only") ? 1 : 2;
			if (ks->backward && ks->backward != want) {
				snprintf(err, errlen, "kernel: --backward (forward then backward) and --backward-only "
				         "(the backward alone) exclude each other");
				return -1;
			}
			ks->backward = want;
			continue;
		}
		if (!strcmp(a, "--json"))
			continue;
		snprintf(err, errlen, "kernel: unknown option '%s'", a);
		return -1;
	}
	if (!ks->arch[0] || !ks->op[0]) {
		snprintf(err, errlen, "kernel needs --arch and --op");
		return -1;
	}
	return 0;
}

int xp_kspec_build(const char *home, const xp_kspec *ks, const char (*extra)[160], int nextra, arch_t *a,
                   wl_op *op, int *attn_impl, char *err, size_t errlen)
{
	if (arch_load(a, home, ks->arch, err, errlen))
		return -1;
	for (int i = 0; i < ks->nsets + nextra; i++) {
		const char *s = i < ks->nsets ? ks->sets[i] : extra[i - ks->nsets];
		if (strncmp(s, "arch.", 5)) {
			snprintf(err, errlen, "-s %s: a kernel takes arch.KEY=V only", s);
			return -1;
		}
		if (arch_override(a, s + 5, err, errlen) || arch_validate(a, err, errlen))
			return -1;
	}
	int dtype = ks->dtype;
	if (arch_macs_per_clk(a, (arch_dtype)dtype) <= 0) {
		snprintf(err, errlen, "%s has no %s matrix unit", a->name, arch_dtype_names[dtype]);
		return -1;
	}
	if (strcmp(ks->op, "gemm") && ks->out_eb > 0) {
		snprintf(err, errlen, "--out-dtype applies to --op gemm only, not --op %s", ks->op);
		return -1;
	}
	if (strcmp(ks->op, "attention") && (ks->backward || ks->causal)) {
		snprintf(err, errlen, "--%s applies to --op attention only, not --op %s",
		         ks->causal ? "causal" : ks->backward == 2 ? "backward-only" : "backward", ks->op);
		return -1;
	}
	memset(op, 0, sizeof *op);
	op->no_stream_k = ks->no_stream_k;
	*attn_impl = ATTN_FLASH;
	op->dtype = dtype;
	double eb = arch_dtype_bytes((arch_dtype)dtype);
	snprintf(op->name, sizeof op->name, "%s", ks->op);
	const char *o = ks->op;
	if (!strcmp(o, "gemm")) {
		if (!ks->m || !ks->n || !ks->k) {
			snprintf(err, errlen, "--op gemm needs --m, --n and --k");
			return -1;
		}
		op->kind = OP_GEMM, op->cls = CLS_GEMM;
		op->m = ks->m, op->n = ks->n, op->k = ks->k, op->batch = ks->batch, op->b_is_weight = 1;
		op->out_eb = ks->out_eb;
		op->flops = 2.0 * ks->m * ks->n * ks->k * ks->batch;
	} else if (!strcmp(o, "attention")) {
		if (!ks->heads || !ks->seq || !ks->head_dim) {
			snprintf(err, errlen, "--op attention needs --heads, --seq and --head-dim");
			return -1;
		}
		long kvh = ks->kv_heads ? ks->kv_heads : ks->heads;
		if (ks->heads % kvh) {
			snprintf(err, errlen, "--kv-heads %ld does not divide --heads %ld", kvh, ks->heads);
			return -1;
		}
		long kvseq = ks->kv_seq ? ks->kv_seq : ks->seq;
		if (kvseq < ks->seq) {
			snprintf(err, errlen, "--kv-seq %ld is shorter than --seq %ld", kvseq, ks->seq);
			return -1;
		}
		op->kind = OP_ATTN, op->cls = CLS_ATTN;
		op->batch = ks->batch, op->heads = (int)ks->heads, op->kv_heads = (int)kvh, op->head_dim = (int)ks->head_dim;
		op->q_len = ks->seq, op->kv_len = kvseq, op->causal = ks->causal, op->backward = ks->backward != 0;
		op->qkv_packed = ks->qkv_packed;
		op->mask_form = ks->mask_form;
		double pairs = (double)ks->seq * kvseq;
		if (ks->causal && ks->seq > 1)
			pairs = (double)ks->seq * (kvseq - ks->seq) + (double)ks->seq * (ks->seq + 1) / 2.0;
		double fwd = 4.0 * ks->batch * ks->heads * pairs * ks->head_dim;
		op->flops = ks->backward == 1 ? 3.5 * fwd : ks->backward == 2 ? 2.5 * fwd : fwd;
		/* mmha is an inference kernel (TensorRT-LLM's generation attention;
		 * prompts take its fused FMHA): there is no backward to time */
		if (!strcmp(ks->impl, "mmha") && ks->backward) {
			snprintf(err, errlen, "--impl mmha has no backward (an inference kernel): drop --%s",
			         ks->backward == 2 ? "backward-only" : "backward");
			return -1;
		}
		*attn_impl = !strcmp(ks->impl, "naive")  ? ATTN_NAIVE
		             : !strcmp(ks->impl, "flash2") ? ATTN_FLASH2
		             : !strcmp(ks->impl, "mmha")   ? ATTN_MMHA
		                                           : ATTN_FLASH;
	} else if (!strcmp(o, "norm") || !strcmp(o, "softmax") || !strcmp(o, "elementwise")) {
		if (!ks->m || !ks->n) {
			snprintf(err, errlen, "--op %s needs --m and --n", o);
			return -1;
		}
		op->kind = o[0] == 'n' ? OP_NORM : o[0] == 's' ? OP_SOFTMAX : OP_ELEM;
		op->cls = op->kind == OP_NORM ? CLS_NORM : op->kind == OP_ELEM ? CLS_ELEM : CLS_OTHER;
		op->m = ks->m, op->n = ks->n;   /* rows of n elements */
		op->elems = (double)ks->m * ks->n;
		op->bytes_in = op->elems * eb;
		op->bytes_out = op->elems * eb;
		op->vflops = op->elems * (op->kind == OP_ELEM ? 1 : 5);
		op->flops = op->vflops;
	} else if (!strcmp(o, "allreduce") || !strcmp(o, "allgather") || !strcmp(o, "reducescatter") ||
	           !strcmp(o, "alltoall")) {
		if (ks->bytes <= 0 || ks->chips < 2) {
			snprintf(err, errlen, "--op %s needs --bytes and --chips >= 2", o);
			return -1;
		}
		op->kind = OP_COMM, op->cls = CLS_COMM;
		op->coll = o[3] == 'r' ? COLL_ALLREDUCE : o[3] == 'g' ? COLL_ALLGATHER
		           : o[0] == 'r' ? COLL_REDUCESCATTER : COLL_ALLTOALL;
		op->comm_bytes = ks->bytes;
		op->group = (int)ks->chips;
	} else {
		snprintf(err, errlen, "--op %s: expected gemm, attention, norm, softmax, elementwise, allreduce, "
		         "allgather, reducescatter or alltoall", o);
		return -1;
	}
	return 0;
}
