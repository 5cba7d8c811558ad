/*
 * valid_run.c - running validation cases.  The parent (or, with several
 * jobs, a worker of the fork pool, one per case) parses and resolves a
 * case, and the simulation runs in a worker forked by xp_fork_call, so no
 * process that runs several cases ever elaborates SystemC (DESIGN 4).
 */
#include "forkpool.h"
#include "valid.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGV 256

/* Split a case's args on spaces in place (README: values hold no spaces). */
static int split_args(char *s, char **argv, int max)
{
	int n = 0;
	for (char *p = strtok(s, " "); p; p = strtok(NULL, " ")) {
		if (n == max)
			return -1;
		argv[n++] = p;
	}
	return n;
}

typedef struct {
	arch_t a;
	wl_op op;
	int attn_impl, fusion, with_fwd;
} kjob;

static int kernel_work(const void *arg, void *out, char *err, size_t errlen)
{
	const kjob *j = arg;
	return xp_kernel_eval(&j->a, &j->op, j->attn_impl, j->fusion, j->with_fwd, out, err, errlen);
}

static int is_nonlayer_segment(const char *seg)
{
	return strstr(seg, "embed") || strstr(seg, "head") || strstr(seg, "optim");
}

static void set_error(xp_vres *r, int internal, const char *what, const char *err)
{
	r->status = VST_ERROR;
	r->internal = internal;
	snprintf(r->reason, sizeof r->reason, "%s%s%.200s", what, *what && *err ? ": " : "", err);
}

static void eval_run(const xp_vopts *o, const xp_vcase *c, int argc, char **argv, const char (*sets)[160],
                     int nsets, xp_vres *r)
{
	char err[ARCH_ERR_MAX];
	xp_spec *spec = calloc(1, sizeof *spec);
	xp_point *pt = calloc(1, sizeof *pt);
	res_t *rs = calloc(1, sizeof *rs);
	if (!spec || !pt || !rs) {
		set_error(r, 1, "out of memory", "");
		goto out;
	}
	xp_spec_init(spec);
	fflush(stderr);
	if (xp_parse_point(argc, argv, 1, spec, NULL, NULL, NULL, NULL)) {
		set_error(r, 0, "bad run options", "the message above on stderr");
		goto out;
	}
	for (int i = 0; i < nsets; i++) {
		if (spec->nsets >= XP_MAX_SETS) {
			set_error(r, 0, "too many -s overrides", "");
			goto out;
		}
		snprintf(spec->sets[spec->nsets++], sizeof spec->sets[0], "%.159s", sets[i]);
	}
	if (xp_resolve(o->home, spec, pt, err, sizeof err)) {
		set_error(r, 0, "", err);
		goto out;
	}
	if (xp_evaluate_forked(pt, o->timeout_s, rs, err, sizeof err)) {
		set_error(r, 1, "worker", err);
		goto out;
	}
	r->time_s = rs->time_s;
	if (!rs->feasible) {
		r->status = VST_INFEASIBLE;
		snprintf(r->reason, sizeof r->reason, "%.255s", rs->reason);
		goto out;
	}
	xp_vmetric_in in;
	memset(&in, 0, sizeof in);
	in.time_s = rs->time_s;
	in.chips = rs->chips;
	in.launch_s = pt->arch.sched.launch_overhead_us * 1e-6;
	in.tokens_per_s = rs->tokens_per_s;
	in.tpot_s = rs->tpot_s;
	in.model_flops = rs->flops;
	for (int i = 0; i < rs->nkernels && i < RES_MAX_KERNELS; i++)
		if (is_nonlayer_segment(rs->kernels[i].segment))
			in.nonlayer_s += rs->kernels[i].count * rs->kernels[i].time_s;
	in.n_layers = pt->model.n_layers;
	in.d_model = pt->model.d_model;
	in.vocab = pt->model.vocab;
	in.n_params = wl_params_total(&pt->model);
	in.batch = pt->sc.batch;
	in.seq = pt->sc.seq;
	in.gen = pt->sc.gen;
	in.phase = pt->sc.phase;
	if (xp_vmetric_convert(c->metric, &in, &r->predicted, err, sizeof err)) {
		set_error(r, 0, "metric", err);
		goto out;
	}
	r->status = VST_OK;
out:
	free(spec);
	free(pt);
	free(rs);
}

static void eval_kernel(const xp_vopts *o, const xp_vcase *c, int argc, char **argv, const char (*sets)[160],
                        int nsets, xp_vres *r)
{
	char err[ARCH_ERR_MAX];
	xp_kspec *ks = calloc(1, sizeof *ks);
	kjob *job = calloc(1, sizeof *job);
	xp_kernel_result kr;
	if (!ks || !job) {
		set_error(r, 1, "out of memory", "");
		goto out;
	}
	if (xp_kspec_parse(argc, argv, 1, ks, err, sizeof err) ||
	    xp_kspec_build(o->home, ks, sets, nsets, &job->a, &job->op, &job->attn_impl, err, sizeof err)) {
		set_error(r, 0, "", err);
		goto out;
	}
	job->fusion = ks->fusion;
	job->with_fwd = ks->backward == 1;
	/* a term of a sum case: converted as its own per-op case would be, the
	 * compiled call's round trip for a term that runs the compiler's kernel */
	int metric = c->metric;
	if (metric == VM_SUM_WALL_MS)
		metric = ks->fusion == FUSE_COMPILER ? VM_WALL_COMPILED_MS : VM_WALL_MS;
	/* attention --backward: xp_kernel_eval simulates the forward and then the
	 * backward pass, what the FlashAttention benchmark's fwd_bwd times */
	if (xp_fork_call(kernel_work, job, &kr, sizeof kr, o->timeout_s, NULL, err, sizeof err)) {
		/* no legal tiling is a property of the design point, as in codesim kernel */
		if (strstr(err, "no ") && strstr(err, "tiling")) {
			r->status = VST_INFEASIBLE;
			snprintf(r->reason, sizeof r->reason, "%.255s", err);
		} else {
			set_error(r, 1, "worker", err);
		}
		goto out;
	}
	double t = kr.time_s;
	r->time_s = t;
	xp_vmetric_in in;
	memset(&in, 0, sizeof in);
	in.time_s = t;
	in.chips = 1;
	in.launch_s = job->a.sched.launch_overhead_us * 1e-6;
	in.op = ks->op;
	in.m = ks->m, in.n = ks->n, in.k = ks->k, in.kbatch = ks->batch;
	in.heads = ks->heads, in.kseq = ks->seq, in.kv_seq = ks->kv_seq, in.head_dim = ks->head_dim;
	in.causal = ks->causal, in.backward = ks->backward;
	if (xp_vmetric_convert(metric, &in, &r->predicted, err, sizeof err)) {
		set_error(r, 0, "metric", err);
		goto out;
	}
	r->status = VST_OK;
out:
	free(ks);
	free(job);
}

/* A total the source added up from per-op host timings (LLMCompass's
 * per-layer "total"): each term is one op timed alone, converted by
 * eval_kernel as its own case would be (wall_ms; wall_compiled_ms for a
 * term that runs the compiler's kernel, a torch.compile'd call), times its
 * count, summed.  The first term that is infeasible or fails decides the
 * case's status. */
static void eval_sum(const xp_vopts *o, const xp_vcase *c, int argc, char **argv, const char (*sets)[160],
                     int nsets, xp_vres *r)
{
	char err[256];
	int start[XP_VSUM_MAX], end[XP_VSUM_MAX], count[XP_VSUM_MAX];
	int n = xp_vsum_terms(argc - 1, argv + 1, start, end, count, XP_VSUM_MAX, err, sizeof err);
	if (n < 0) {
		set_error(r, 0, "args", err);
		return;
	}
	double total = 0, time = 0;
	for (int t = 0; t < n; t++) {
		xp_vres tr;
		memset(&tr, 0, sizeof tr);
		eval_kernel(o, c, end[t] - start[t], argv + 1 + start[t], sets, nsets, &tr);
		if (tr.status != VST_OK) {
			*r = tr;
			snprintf(r->reason, sizeof r->reason, "term %d: %.*s", t + 1, (int)sizeof r->reason - 32, tr.reason);
			return;
		}
		total += count[t] * tr.predicted;
		time += count[t] * tr.time_s;
	}
	r->predicted = total;
	r->time_s = time;
	r->status = VST_OK;
}

void xp_vcase_eval(const xp_vopts *o, const xp_vcase *c, xp_vres *r)
{
	memset(r, 0, sizeof *r);
	char buf[XP_VARGS_MAX], *argv[MAX_ARGV];
	char sets[XP_VOV_MAX][160];
	int nsets = 0;
	snprintf(buf, sizeof buf, "%s", c->args);
	int argc = split_args(buf, argv, MAX_ARGV);
	if (argc < 1) {
		set_error(r, 0, "args", "more than 256 words");
		return;
	}
	for (int i = 0; i < o->nov; i++)
		if (!o->ov[i].arch[0] || !strcmp(o->ov[i].arch, c->arch)) {
			if (nsets == XP_VOV_MAX) {
				set_error(r, 0, "overrides", "more than 16 apply to one case");
				return;
			}
			snprintf(sets[nsets++], sizeof sets[0], "%s", o->ov[i].set);
		}
	if (!strcmp(argv[0], "run"))
		eval_run(o, c, argc, argv, (const char(*)[160])sets, nsets, r);
	else if (!strcmp(argv[0], "kernel"))
		eval_kernel(o, c, argc, argv, (const char(*)[160])sets, nsets, r);
	else if (!strcmp(argv[0], "sum") && c->metric == VM_SUM_WALL_MS)
		eval_sum(o, c, argc, argv, (const char(*)[160])sets, nsets, r);
	else
		set_error(r, 0, "args", "expected 'run ...', 'kernel ...' or 'sum ...' (metric sum_wall_ms)");
	if (r->status == VST_OK)
		r->err_pct = 100.0 * (r->predicted - c->published) / c->published;
}

/* ---- cases in parallel: the fork pool ------------------------------------ */

typedef struct {
	const xp_vopts *o;
	const xp_vset *set;
	const int *idx;
	int n, next;
	xp_vres *res;
	char *done;
} vpool;

static int next_case(void *ctx, int slot, long *job)
{
	vpool *V = ctx;
	(void)slot;
	if (V->next >= V->n)
		return XP_NEXT_NONE;
	*job = V->next++;
	return XP_NEXT_START;
}

/* In the worker: parse and resolve the case; its simulation runs in a
 * worker of its own (xp_fork_call), with the case's timeout. */
static int eval_case(void *ctx, int slot, long pos, void *out, char *err, size_t errlen)
{
	const vpool *V = ctx;
	(void)slot, (void)err, (void)errlen;
	xp_vcase_eval(V->o, &V->set->cases[V->idx[pos]], out);
	fflush(stderr);
	return 0;
}

static int case_done(void *ctx, int slot, long pos, const xp_job_result *r)
{
	vpool *V = ctx;
	(void)slot;
	if (r->status == XP_JOB_CANCELLED)
		return 0;
	if (r->status == XP_JOB_OK) {
		memcpy(&V->res[pos], r->out, sizeof V->res[pos]);
	} else {
		memset(&V->res[pos], 0, sizeof V->res[pos]);
		set_error(&V->res[pos], 1, "validation worker", r->err);
	}
	V->done[pos] = 1;
	return 0;
}

int xp_vrun(const xp_vopts *o, const xp_vset *set, const int *idx, int n, xp_vres *res, char *err, size_t errlen)
{
	int jobs = o->jobs < n ? o->jobs : n;
	char *done = jobs > 1 ? calloc((size_t)n, 1) : NULL;
	if (done) {
		vpool V = {o, set, idx, n, 0, res, done};
		xp_forkpool p = {.jobs = jobs, .size = sizeof(xp_vres), .ctx = &V, .next = next_case, .work = eval_case,
		                 .done = case_done};
		char perr[ARCH_ERR_MAX];
		if (xp_forkpool_run(&p, NULL, perr, sizeof perr) && !memchr(done, 1, (size_t)n)) {
			free(done);
			snprintf(err, errlen, "could not start a validation worker: %s", perr);
			return -1;
		}
	}
	/* without a pool (one job), or what the pool could not run: here, one at a time */
	for (int i = 0; i < n; i++)
		if (!done || !done[i])
			xp_vcase_eval(o, &set->cases[idx[i]], &res[i]);
	free(done);
	return 0;
}

/* ---- summaries ------------------------------------------------------------ */

void xp_vstat_compute(const xp_vset *set, const int *idx, const xp_vres *res, int n, int cat, int split,
                      xp_vstat *st)
{
	memset(st, 0, sizeof *st);
	st->worst = -1;
	double sum = 0;
	for (int i = 0; i < n; i++) {
		const xp_vcase *c = &set->cases[idx[i]];
		if ((cat >= 0 && c->category != cat) || (split != VSPLIT_ALL && c->split != split))
			continue;
		if (res[i].status != VST_OK) {
			st->failed++;
			continue;
		}
		double a = fabs(res[i].err_pct);
		st->count++;
		sum += a;
		if (st->worst < 0 || a > st->worst_abs) {
			st->worst_abs = a;
			st->worst = i;
		}
	}
	st->mape = st->count ? sum / st->count : 0;
}

int xp_vfast_select(const xp_vset *set, const int *in, int nin, int per_cat, int *idx)
{
	int out = 0;
	char *take = calloc((size_t)(nin ? nin : 1), 1);
	if (!take)
		return 0;
	for (int cat = 0; cat < VCAT_COUNT; cat++) {
		int cnt = 0;
		for (int i = 0; i < nin; i++)
			cnt += set->cases[in[i]].category == cat;
		/* with more than per_cat cases, take the q-th case of the category at
		 * q = floor(j * cnt / per_cat), j = 0 .. per_cat-1 */
		long q = 0, want = 0;
		for (int i = 0; i < nin; i++) {
			if (set->cases[in[i]].category != cat)
				continue;
			if (cnt <= per_cat || (want < per_cat && q == want * cnt / per_cat)) {
				take[i] = 1;
				want++;
			}
			q++;
		}
	}
	for (int i = 0; i < nin; i++)
		if (take[i])
			idx[out++] = in[i];
	free(take);
	return out;
}

/* ---- thresholds ------------------------------------------------------------ */

int xp_vthresholds_load(xp_vthresholds *t, const char *file, char *err, size_t errlen)
{
	memset(t, 0, sizeof *t);
	FILE *f = fopen(file, "r");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", file, strerror(errno));
		return -1;
	}
	char line[1024];
	int lineno = 0, header = 0, rc = -1;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		if (!header) {
			if (strcmp(line, "category\tmax_mape_pct\tmax_failed\tfast_max_mape_pct\tfast_max_failed")) {
				snprintf(err, errlen, "%s:%d: expected the header 'category max_mape_pct max_failed "
				         "fast_max_mape_pct fast_max_failed' (tab-separated)", file, lineno);
				goto out;
			}
			header = 1;
			continue;
		}
		char cat[64];
		double v[4];
		int used = 0;
		if (sscanf(line, "%63[^\t]\t%lf\t%lf\t%lf\t%lf%n", cat, &v[0], &v[1], &v[2], &v[3], &used) != 5 ||
		    line[used]) {
			snprintf(err, errlen, "%s:%d: expected a category and four numbers, tab-separated", file, lineno);
			goto out;
		}
		int c = -1;
		for (int i = 0; xp_vcat_names[i]; i++)
			if (!strcmp(xp_vcat_names[i], cat))
				c = i;
		if (c < 0) {
			snprintf(err, errlen, "%s:%d: category '%s': expected gemm, attention, vector, training or inference",
			         file, lineno, cat);
			goto out;
		}
		for (int i = 0; i < 4; i++)
			if (!(v[i] >= 0)) {
				snprintf(err, errlen, "%s:%d: thresholds are numbers >= 0", file, lineno);
				goto out;
			}
		t->max_mape[c] = v[0], t->max_failed[c] = v[1], t->fast_max_mape[c] = v[2], t->fast_max_failed[c] = v[3];
		t->have[c] = 1;
	}
	if (!header) {
		snprintf(err, errlen, "%s: no header line", file);
		goto out;
	}
	rc = 0;
out:
	fclose(f);
	return rc;
}

int xp_vthresholds_check(const xp_vthresholds *t, const xp_vset *set, const int *idx, const xp_vres *res,
                         int n, int fast, FILE *f)
{
	int bad = 0;
	for (int c = 0; c < VCAT_COUNT; c++) {
		xp_vstat st;
		xp_vstat_compute(set, idx, res, n, c, VSPLIT_ALL, &st);
		if (!st.count && !st.failed)
			continue;
		if (!t->have[c]) {
			if (f)
				fprintf(f, "%s: no threshold for this category\n", xp_vcat_names[c]);
			bad++;
			continue;
		}
		double mx = fast ? t->fast_max_mape[c] : t->max_mape[c];
		double mf = fast ? t->fast_max_failed[c] : t->max_failed[c];
		if (st.count && st.mape > mx) {
			if (f)
				fprintf(f, "%s: MAPE %.2f%% exceeds the threshold %.2f%%%s\n", xp_vcat_names[c], st.mape, mx,
				        fast ? " (fast subset)" : "");
			bad++;
		}
		if (st.failed > mf) {
			if (f)
				fprintf(f, "%s: %d cases failed (infeasible or error), the threshold allows %g%s\n",
				        xp_vcat_names[c], st.failed, mf, fast ? " (fast subset)" : "");
			bad++;
		}
	}
	return bad;
}
