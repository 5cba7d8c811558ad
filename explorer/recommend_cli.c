/*
 * recommend_cli.c - `codesim recommend`: options, and the ranked shapes
 * with their hardware reasons as text or JSON.
 */
#include "compare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int xp_recommend_cli(int argc, char **argv, const char *home);

static const char recommend_usage[] =
    "usage: codesim recommend --arch A --params P [--model BASE] [--phase P] [run options]\n"
    "                         [--metric M] [--tolerance F] [--top N] [--max-candidates N]\n"
    "                         [--raw] [--jobs N] [--timeout S] [--json]\n"
    "\n"
    "Searches model shapes near P parameters (d_model, n_heads, head_dim, n_kv_heads, d_ff,\n"
    "n_layers, vocab; experts and top-k for an MoE base) in the style of a base model, keeps\n"
    "those within the tolerance that divide by tp (and pp, ep), simulates them on the chip and\n"
    "ranks them.  For each recommendation it says why, from the chip and the shape: tile and\n"
    "wave quantization of the matrix unit, head_dim vs the unit width, divisibility by tp,\n"
    "memory fit, and what nearby natural choices (d_ff = 8/3 d_model, ragged head_dim) lose.\n"
    "\n"
    "  --arch A            the chip (codesim list archs)\n"
    "  --params P          target parameters: 7e9, 7B, 1.3e9, 500M\n"
    "  --model BASE        style of the shapes: FFN kind, norms, GQA group, vocab, MoE\n"
    "                      (default llama3-8b; mixtral-8x7b for MoE)\n"
    "  --phase P           train (default) | prefill | decode | serve; the run options\n"
    "                      (--batch --seq --chips --tp ... -s) as for codesim run.  train\n"
    "                      without --batch uses 16 sequences per chip\n"
    "  --metric M          tokens_per_s (default) | mfu | usd_per_mtok | ttft\n"
    "  --tolerance F       parameter tolerance, fraction (default 0.05)\n"
    "  --top N             recommendations to show and explain (default 5)\n"
    "  --max-candidates N  shapes simulated at most (default 160); more are pre-filtered by\n"
    "                      how well they fill the matrix unit, then by closeness to P\n"
    "  --raw               rank by the metric as simulated; by default throughput is taken at\n"
    "                      the target size (tokens/s x params/P; cost and TTFT x P/params), so\n"
    "                      a shape does not win by being 4% smaller\n"
    "  --json              one JSON object: every simulated candidate with its -s overrides\n"
    "\n"
    "example:\n"
    "  codesim recommend --arch h100 --params 7e9 --phase train --chips 8 --zero 3 --seq 4096\n"
    "  codesim recommend --arch groq-lpu --params 8e9 --phase decode --dtype int8 --tp 8 --pp 8\n";

typedef struct {
	xp_rec *rec;
	int batch_given;
	int model_given;
} rec_opts;

static int parse_int(const char *flag, const char *v, long lo, long hi, int *out)
{
	char *end;
	double d = strtod(v, &end);
	if (end == v || *end || d != floor(d) || d < lo || d > hi) {
		fprintf(stderr, "codesim: %s %s: expected an integer in [%ld, %ld]\n", flag, v, lo, hi);
		return -1;
	}
	*out = (int)d;
	return 0;
}

static int rec_extra(int i, int argc, char **argv, void *ctx)
{
	rec_opts *o = ctx;
	xp_rec *rec = o->rec;
	const char *a = argv[i];
	if (!strcmp(a, "--raw")) {
		rec->raw = 1;
		return 1;
	}
	static const char *const valued[] = {"--params", "--metric", "--tolerance", "--top", "--max-candidates",
	                                     "--jobs", "--timeout", "--candidate", NULL};
	int known = 0;
	for (int k = 0; valued[k]; k++)
		known |= !strcmp(a, valued[k]);
	if (!known)
		return 0;
	if (i + 1 >= argc) {
		fprintf(stderr, "codesim: %s needs a value\n", a);
		return -1;
	}
	const char *v = argv[i + 1];
	char *end;
	if (!strcmp(a, "--candidate")) {
		if (rec->ngiven >= XP_REC_MAX_GIVEN) {
			fprintf(stderr, "codesim: at most %d --candidate shapes\n", XP_REC_MAX_GIVEN);
			return -1;
		}
		xp_rec_cand *c = &rec->given[rec->ngiven];
		memset(c, 0, sizeof *c);
		int *f[] = {&c->d_model, &c->n_heads, &c->head_dim, &c->n_kv_heads, &c->d_ff, &c->n_layers, &c->vocab,
		            &c->n_experts, &c->top_k};
		static const char *const keys[] = {"d_model", "n_heads", "head_dim", "n_kv_heads", "d_ff", "n_layers",
		                                   "vocab", "n_experts", "top_k"};
		for (size_t k = 0; k < 9; k++)
			*f[k] = -1;
		char buf[512];
		snprintf(buf, sizeof buf, "%s", v);
		for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
			char *eq = strchr(tok, '=');
			int hit = -1;
			if (eq) {
				*eq = 0;
				for (size_t k = 0; k < 9; k++)
					if (!strcmp(tok, keys[k]))
						hit = (int)k;
			}
			if (hit < 0) {
				fprintf(stderr, "codesim: --candidate %s: expected KEY=N[,KEY=N...] with keys d_model, n_heads, "
				                "head_dim, n_kv_heads, d_ff, n_layers, vocab, n_experts, top_k\n", v);
				return -1;
			}
			if (parse_int("--candidate", eq + 1, 1, 1 << 24, f[hit]))
				return -1;
		}
		rec->ngiven++;
	} else if (!strcmp(a, "--params")) {
		double p = strtod(v, &end);
		if (end != v && (*end == 'B' || *end == 'b') && !end[1])
			p *= 1e9;
		else if (end != v && (*end == 'M' || *end == 'm') && !end[1])
			p *= 1e6;
		else if (end == v || *end)
			p = -1;
		if (!(p >= 1e6 && p <= 1e13)) {
			fprintf(stderr, "codesim: --params %s: expected a parameter count from 1e6 to 1e13 (7e9, 7B, 500M)\n", v);
			return -1;
		}
		rec->target = p;
	} else if (!strcmp(a, "--metric")) {
		int m = -1;
		for (int k = 0; xp_rec_metric_names[k]; k++)
			if (!strcmp(v, xp_rec_metric_names[k]))
				m = k;
		if (m < 0) {
			fprintf(stderr, "codesim: --metric %s: expected tokens_per_s, mfu, usd_per_mtok or ttft\n", v);
			return -1;
		}
		rec->metric = m;
	} else if (!strcmp(a, "--tolerance")) {
		double t = strtod(v, &end);
		if (end == v || *end || !(t > 0 && t <= 0.5)) {
			fprintf(stderr, "codesim: --tolerance %s: expected a fraction in (0, 0.5], e.g. 0.05 for +-5%%\n", v);
			return -1;
		}
		rec->tolerance = t;
	} else if (!strcmp(a, "--top")) {
		if (parse_int(a, v, 1, 1000, &rec->top))
			return -1;
	} else if (!strcmp(a, "--max-candidates")) {
		if (parse_int(a, v, 1, 5000, &rec->max_sim))
			return -1;
	} else if (!strcmp(a, "--jobs")) {
		if (parse_int(a, v, 1, 64, &rec->jobs))
			return -1;
	} else {
		double t = strtod(v, &end);
		if (end == v || *end || !(t >= 0 && t <= 86400)) {
			fprintf(stderr, "codesim: --timeout %s: expected seconds in [0, 86400]\n", v);
			return -1;
		}
		rec->timeout_s = t;
	}
	return 2;
}

static const char *metric_label(int m)
{
	static const char *const l[] = {"tokens/s", "MFU", "$/Mtok", "TTFT"};
	return m >= 0 && m < 4 ? l[m] : "?";
}

static void fmt_metric(int m, double v, char *buf, size_t len)
{
	if (m == REC_MFU)
		snprintf(buf, len, "%.2f%%", 100 * v);
	else if (m == REC_TTFT)
		res_fmt_time(v, buf, len);
	else if (m == REC_USD_PER_MTOK)
		snprintf(buf, len, "%.4g", v);
	else
		snprintf(buf, len, "%.1f", v);
}

static double pct(const xp_rec *rec, double a, double b)
{
	/* how much worse a is than b, in % of b (positive: a loses) */
	if (!(b > 0) || !(a > 0))
		return NAN;
	int hb = rec->metric == REC_TOKENS_PER_S || rec->metric == REC_MFU;
	return hb ? 100 * (b - a) / b : 100 * (a - b) / b;
}

static void print_shape(FILE *f, const xp_rec *rec, const xp_rec_cand *c)
{
	fprintf(f, "d_model %d, %d heads x %d (kv %d), d_ff %d, %d layers, vocab %d", c->d_model, c->n_heads,
	        c->head_dim, c->n_kv_heads, c->d_ff, c->n_layers, c->vocab);
	if (rec->model.n_experts)
		fprintf(f, ", %d experts top-%d", c->n_experts, c->top_k);
}

static void print_text(const xp_rec *rec, int rc)
{
	char b1[32], b2[32], b3[32];
	const wl_scenario *s = &rec->sc;
	printf("codesim recommend: a %.3gB-parameter %s-style model on %s\n", rec->target / 1e9, rec->model.name,
	       rec->arch.name);
	printf("  scenario: %s, batch %d, seq %d", wl_phase_names[s->phase], s->batch, s->seq);
	if (s->phase == PH_DECODE)
		printf(", context %d", s->context);
	printf(", %s, %d chip%s (tp %d, pp %d, dp %d%s)\n", arch_dtype_names[s->dtype], s->chips, s->chips == 1 ? "" : "s",
	       s->tp, s->pp, s->dp, s->ep > 1 ? ", ep" : "");
	printf("  matrix unit: %s\n", rec->unit_text);
	printf("  searched %d shapes within %.1f%% of %.4g parameters; %d do not fit in memory; simulated %d (%d "
	       "feasible)\n",
	       rec->nenum, 100 * rec->tolerance, rec->target, rec->nnofit, rec->ncand, rec->nfeasible);
	printf("  ranked by %s%s\n\n", xp_rec_metric_names[rec->metric],
	       rec->raw || rec->metric == REC_MFU ? "" : " at the target size (scaled by params / target)");
	if (rc == 1) {
		printf("No candidate is feasible in this scenario: %s\n",
		       rec->ncand ? rec->cand[0].err : rec->nofit_reason);
		printf("(give the chips room: e.g. --chips 8 --zero 3 for training, or --tp N)\n");
		return;
	}
	printf("%4s %7s %5s %4s %3s %6s %6s %6s %8s %11s %11s %7s %6s\n", "rank", "d_model", "heads", "hd", "kv", "d_ff",
	       "layers", "vocab", "params", metric_label(rec->metric), "at target", "MFU", "fill");
	int top = rec->top < rec->ncand ? rec->top : rec->ncand;
	for (int i = 0; i < top; i++) {
		const xp_rec_cand *c = &rec->cand[i];
		if (!c->r || !c->r->feasible) {
			printf("%4d %7d %5d %4d %3d %6d %6d %6d %7.3fB  infeasible: %s\n", i + 1, c->d_model, c->n_heads,
			       c->head_dim, c->n_kv_heads, c->d_ff, c->n_layers, c->vocab, c->params / 1e9, c->err);
			continue;
		}
		fmt_metric(rec->metric, c->value, b1, sizeof b1);
		fmt_metric(rec->metric, c->score, b2, sizeof b2);
		printf("%4d %7d %5d %4d %3d %6d %6d %6d %7.3fB %11s %11s %6.2f%% %5.1f%%", i + 1, c->d_model, c->n_heads,
		       c->head_dim, c->n_kv_heads, c->d_ff, c->n_layers, c->vocab, c->params / 1e9, b1, b2, 100 * c->r->mfu,
		       100 * c->align);
		if (c->given)
			printf("  (--candidate)");
		if (rec->model.n_experts)
			printf("  %d experts top-%d", c->n_experts, c->top_k);
		printf("\n");
	}
	char *why = malloc(8192);
	for (int i = 0; why && i < top && i < 3; i++) {
		const xp_rec_cand *c = &rec->cand[i];
		if (!c->r || !c->r->feasible)
			continue;
		printf("\n#%d: ", i + 1);
		print_shape(stdout, rec, c);
		printf(" (%.3fB parameters)\n", c->params / 1e9);
		xp_rec_explain(rec, c, why, 8192);
		for (char *line = why; *line;) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = 0;
			if (*line)
				printf("  - %s\n", line);
			if (!nl)
				break;
			line = nl + 1;
		}
		if (i > 0) {
			double d = pct(rec, c->score, rec->cand[0].score);
			printf("  - %.2f%% behind #1 at the target size.\n", d);
		}
	}
	free(why);
	if (rec->nnat > 0) {
		const xp_rec_cand *best = &rec->cand[0];
		printf("\nNearby natural choices against #1 (same d_model; n_layers re-solved for the budget where d_ff changes; simulated):\n");
		for (int i = 0; i < rec->nnat; i++) {
			const xp_rec_cand *c = &rec->nat[i];
			printf("  - %s: ", c->what);
			if (!c->r || !c->r->feasible) {
				printf("infeasible: %s\n", c->err);
				continue;
			}
			fmt_metric(rec->metric, c->value, b1, sizeof b1);
			fmt_metric(rec->metric, best->value, b2, sizeof b2);
			double dv = pct(rec, c->value, best->value), ds = pct(rec, c->score, best->score);
			snprintf(b3, sizeof b3, "%+.2f%%", -ds);
			printf("%s %s vs %s (%.3fB vs %.3fB params); at the target size %s against #1", metric_label(rec->metric),
			       b1, b2, c->params / 1e9, best->params / 1e9, b3);
			printf("%s", ds > 0.05    ? ": it loses"
			             : ds < -0.05 ? ": it does better, so on this chip that choice costs nothing (it lies outside "
			                            "the searched grid)"
			                          : ": no difference on this chip");
			printf(" (raw %+.2f%%; unit fill %.1f%% vs %.1f%%)\n", -dv, 100 * c->align, 100 * best->align);
		}
	}
}

static void json_cand(FILE *f, const xp_rec *rec, const xp_rec_cand *c, int rank)
{
	char sets[16][160];
	int ns = xp_rec_sets(rec, c, sets, 16);
	fprintf(f, "{");
	if (rank > 0)
		fprintf(f, "\"rank\":%d,", rank);
	if (c->given)
		fprintf(f, "\"given\":true,");
	if (c->what[0]) {
		fprintf(f, "\"what\":");
		res_json_str(f, c->what);
		fprintf(f, ",");
	}
	fprintf(f, "\"d_model\":%d,\"n_heads\":%d,\"head_dim\":%d,\"n_kv_heads\":%d,\"d_ff\":%d,\"n_layers\":%d,"
	           "\"vocab\":%d,",
	        c->d_model, c->n_heads, c->head_dim, c->n_kv_heads, c->d_ff, c->n_layers, c->vocab);
	if (rec->model.n_experts)
		fprintf(f, "\"n_experts\":%d,\"top_k\":%d,", c->n_experts, c->top_k);
	int ok = c->r && c->status == XP_POOL_OK && c->r->feasible;
	fprintf(f, "\"params\":%.10g,\"active_params\":%.10g,\"unit_fill\":%.6g,\"feasible\":%s,\"value\":%.10g,"
	           "\"score\":%.10g,",
	        c->params, c->active, c->align, ok ? "true" : "false", c->value, c->score);
	if (c->r && c->status == XP_POOL_OK)
		fprintf(f, "\"time_s\":%.10g,\"tokens_per_s\":%.10g,\"mfu\":%.10g,\"usd_per_mtok\":%.10g,\"ttft_s\":%.10g,",
		        c->r->time_s, c->r->tokens_per_s, c->r->mfu, c->r->usd_per_mtok, c->r->ttft_s);
	fprintf(f, "\"reason\":");
	res_json_str(f, ok ? "" : c->err);
	fprintf(f, ",\"sets\":[");
	for (int k = 0; k < ns; k++) {
		fprintf(f, "%s", k ? "," : "");
		res_json_str(f, sets[k]);
	}
	fprintf(f, "]}");
}

static void print_json(const xp_rec *rec, int rc)
{
	const wl_scenario *s = &rec->sc;
	printf("{\"arch\":");
	res_json_str(stdout, rec->arch.name);
	printf(",\"base\":");
	res_json_str(stdout, rec->model.name);
	printf(",\"target_params\":%.10g,\"tolerance\":%.6g,\"metric\":\"%s\",\"at_target_size\":%s,", rec->target,
	       rec->tolerance, xp_rec_metric_names[rec->metric], rec->raw || rec->metric == REC_MFU ? "false" : "true");
	printf("\"scenario\":{\"phase\":\"%s\",\"batch\":%d,\"seq\":%d,\"context\":%d,\"gen\":%d,\"dtype\":\"%s\","
	       "\"chips\":%d,\"tp\":%d,\"pp\":%d,\"dp\":%d,\"ep\":%d},",
	       wl_phase_names[s->phase], s->batch, s->seq, s->context, s->gen, arch_dtype_names[s->dtype], s->chips, s->tp,
	       s->pp, s->dp, s->ep);
	printf("\"unit\":");
	res_json_str(stdout, rec->unit_text);
	printf(",\"unit_n\":%d,\"unit_k\":%d,\"enumerated\":%d,\"do_not_fit\":%d,\"simulated\":%d,\"feasible\":%d,",
	       rec->unit_n, rec->unit_k, rec->nenum, rec->nnofit, rec->ncand, rec->nfeasible);
	if (rc == 1) {
		printf("\"reason\":");
		res_json_str(stdout, rec->ncand ? rec->cand[0].err : rec->nofit_reason);
		printf(",");
	}
	printf("\"candidates\":[");
	for (int i = 0; i < rec->ncand; i++) {
		printf("%s", i ? "," : "");
		json_cand(stdout, rec, &rec->cand[i], i + 1);
	}
	printf("],\"natural\":[");
	for (int i = 0; i < rec->nnat; i++) {
		printf("%s", i ? "," : "");
		json_cand(stdout, rec, &rec->nat[i], 0);
	}
	printf("],\"explanations\":[");
	char *why = malloc(8192);
	int top = rec->top < rec->ncand ? rec->top : rec->ncand;
	for (int i = 0; why && rc == 0 && i < top; i++) {
		xp_rec_explain(rec, &rec->cand[i], why, 8192);
		printf("%s[", i ? "," : "");
		int k = 0;
		for (char *line = why; *line;) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = 0;
			if (*line) {
				printf("%s", k++ ? "," : "");
				res_json_str(stdout, line);
			}
			if (!nl)
				break;
			line = nl + 1;
		}
		printf("]");
	}
	free(why);
	printf("]}\n");
}

int xp_recommend_cli(int argc, char **argv, const char *home)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(recommend_usage, stdout);
			return 0;
		}
	xp_rec *rec = calloc(1, sizeof *rec);
	if (!rec)
		return 2;
	snprintf(rec->home, sizeof rec->home, "%s", home);
	xp_spec_init(&rec->base);
	rec->base.sc.phase = PH_TRAIN;
	rec->tolerance = 0.05;
	rec->top = 5;
	rec->max_sim = 160;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	rec->jobs = ncpu > 0 ? (ncpu < 16 ? (int)ncpu : 16) : 2;
	rec->timeout_s = 120;
	rec_opts o = {rec, 0, 0};
	for (int i = 1; i < argc; i++) {
		o.batch_given |= !strcmp(argv[i], "--batch") || !strncmp(argv[i], "run.batch=", 10);
		o.model_given |= !strcmp(argv[i], "--model");
	}
	int json = 0, verbose = 0, rc = 1;
	if (xp_parse_point(argc, argv, 1, &rec->base, &json, &verbose, rec_extra, &o))
		goto out;
	if (!rec->base.arch[0] || rec->target <= 0) {
		fprintf(stderr, "codesim: recommend needs --arch A and --params P (see codesim recommend --help)\n");
		goto out;
	}
	if (strchr(rec->base.arch, ',')) {
		fprintf(stderr, "codesim: recommend --arch takes one chip (%s); run it once per chip\n", rec->base.arch);
		goto out;
	}
	if (!o.model_given)
		snprintf(rec->base.model, sizeof rec->base.model, "llama3-8b");
	if (rec->base.sc.phase == PH_TRAIN && !o.batch_given) {
		int chips = rec->base.sc.chips;
		if (chips <= 0)
			chips = (rec->base.sc.tp > 0 ? rec->base.sc.tp : 1) * (rec->base.sc.pp > 0 ? rec->base.sc.pp : 1) *
			        (rec->base.sc.dp > 0 ? rec->base.sc.dp : 1);
		rec->base.sc.batch = 16 * chips;
	}
	rec->quiet = json && !verbose;
	char err[ARCH_ERR_MAX];
	int r = xp_recommend(rec, err, sizeof err);
	if (r < 0) {
		fprintf(stderr, "codesim: %s\n", err);
		rc = strstr(err, "out of memory") || strstr(err, "fork") || strstr(err, "pipe") ? 2 : 1;
		goto out;
	}
	if (json)
		print_json(rec, r);
	else
		print_text(rec, r);
	rc = 0;
out:
	xp_rec_free(rec);
	free(rec);
	return rc;
}
