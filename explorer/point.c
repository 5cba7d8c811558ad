/*
 * point.c - resolve a design point and evaluate it: graph, kernels, sim,
 * metrics.  Forked workers run the evaluation; the parent resolves.
 */
#include "forkpool.h"
#include "xp.h"

#include "../results/res.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void xp_spec_init(xp_spec *s)
{
	memset(s, 0, sizeof *s);
	wl_scenario_defaults(&s->sc);
}

int xp_resolve(const char *home, const xp_spec *spec, xp_point *pt, char *err, size_t errlen)
{
	memset(pt, 0, sizeof *pt);
	if (!spec->arch[0]) {
		snprintf(err, errlen, "--arch is required (see 'codesim list archs')");
		return -1;
	}
	if (!spec->model[0]) {
		snprintf(err, errlen, "--model is required (see 'codesim list models')");
		return -1;
	}
	if (arch_load(&pt->arch, home, spec->arch, err, errlen))
		return -1;
	if (wl_model_load(&pt->model, home, spec->model, err, errlen))
		return -1;
	pt->sc = spec->sc;
	for (int i = 0; i < spec->nsets; i++) {
		const char *s = spec->sets[i];
		int rc;
		if (!strncmp(s, "arch.", 5))
			rc = arch_override(&pt->arch, s + 5, err, errlen);
		else if (!strncmp(s, "model.", 6))
			rc = wl_model_override(&pt->model, s + 6, err, errlen);
		else if (!strncmp(s, "run.", 4))
			rc = wl_scenario_override(&pt->sc, s + 4, err, errlen);
		else {
			snprintf(err, errlen, "-s %s: keys start with arch., model. or run.", s);
			rc = -1;
		}
		if (rc)
			return -1;
	}
	if (arch_validate(&pt->arch, err, errlen))
		return -1;
	if (wl_model_validate(&pt->model, err, errlen))
		return -1;
	wl_scenario sc = pt->sc;
	if (wl_parallel_resolve(&pt->arch, &pt->model, &sc, err, errlen))
		return -1;
	return 0;
}

size_t xp_point_text(const xp_point *pt, char *buf, size_t len)
{
	size_t n = arch_cfg_dump(arch_keys, arch_nkeys, &pt->arch, "arch.", buf, len);
	n += arch_cfg_dump(wl_model_keys, wl_model_nkeys, &pt->model, "model.", buf ? buf + (n < len ? n : len) : NULL,
	                   n < len ? len - n : 0);
	n += arch_cfg_dump(wl_run_keys, wl_run_nkeys, &pt->sc, "run.", buf ? buf + (n < len ? n : len) : NULL,
	                   n < len ? len - n : 0);
	return n;
}

int xp_evaluate(const xp_point *pt, res_t *r, char *err, size_t errlen)
{
	wl_graph g;
	kern_program kp;
	sim_stats st;
	int rc = -1;
	memset(&st, 0, sizeof st);
	if (wl_build(&g, &pt->arch, &pt->model, &pt->sc, err, errlen))
		return -1;
	if (!g.feasible) {
		res_compute(r, &pt->arch, &pt->model, &pt->sc, &g, NULL, NULL);
		wl_graph_free(&g);
		return 0;
	}
	if (kern_lower(&pt->arch, &g, pt->sc.fusion, &kp, err, errlen)) {
		/* no legal tiling is a property of the design point */
		wl_graph_free(&g);
		res_infeasible(r, &pt->arch, &pt->model, &pt->sc, err);
		return 0;
	}
	st.seg_s = calloc((size_t)(kp.prog.nsegs ? kp.prog.nsegs : 1), sizeof *st.seg_s);
	st.k = calloc((size_t)(kp.prog.nkernels ? kp.prog.nkernels : 1), sizeof *st.k);
	if (!st.seg_s || !st.k) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (sim_run(&kp.prog, &st, err, errlen))
		goto out;
	res_compute(r, &pt->arch, &pt->model, &pt->sc, &g, &kp, &st);
	rc = 0;
out:
	free(st.seg_s);
	free(st.k);
	kern_program_free(&kp);
	wl_graph_free(&g);
	return rc;
}

char *xp_point_identity(const xp_point *pt, const char *version, char hash[17])
{
	char head[160];
	int h = snprintf(head, sizeof head, "codesim.model_version = \"%.100s\";\n", version);
	size_t n = (size_t)h + xp_point_text(pt, NULL, 0) + 1;
	char *text = malloc(n);
	if (!text)
		return NULL;
	memcpy(text, head, (size_t)h);
	xp_point_text(pt, text + h, n - (size_t)h);
	res_db_hash_hex(text, strlen(text), hash);
	return text;
}

char *xp_sweep_identity_text(const char *text, const char *version)
{
	size_t n = strlen(text) + strlen(version) + 64;
	char *out = malloc(n);
	if (out)
		snprintf(out, n, "# codesim model version %s\n%s", version, text);
	return out;
}

/* ---- forked workers --------------------------------------------------- */

char *xp_read_all(FILE *f)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	int oom = !buf;
	while (!oom) {
		if (cap - n < 4096 + 1) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				oom = 1;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	if (oom || ferror(f)) {
		int e = oom ? ENOMEM : errno;
		free(buf);
		errno = e ? e : EIO;
		return NULL;
	}
	buf[n] = 0;
	return buf;
}

int xp_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

double xp_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* xp_fork_call: a pool of one job */
typedef struct {
	xp_work_fn fn;
	const void *arg;
	void *out;
	size_t size;
	int rc, timed_out;
	char *err;
	size_t errlen;
	int started;
} one_call;

static int one_next(void *ctx, int slot, long *job)
{
	one_call *c = ctx;
	(void)slot;
	if (c->started)
		return XP_NEXT_NONE;
	c->started = 1;
	*job = 0;
	return XP_NEXT_START;
}

static int one_work(void *ctx, int slot, long job, void *out, char *err, size_t errlen)
{
	const one_call *c = ctx;
	(void)slot, (void)job;
	return c->fn(c->arg, out, err, errlen);
}

static int one_done(void *ctx, int slot, long job, const xp_job_result *r)
{
	one_call *c = ctx;
	(void)slot, (void)job;
	if (r->status == XP_JOB_OK) {
		memcpy(c->out, r->out, c->size);
		c->rc = 0;
	} else {
		c->timed_out = r->status == XP_JOB_TIMEOUT;
		snprintf(c->err, c->errlen, "%s", r->err);
	}
	return 0;
}

int xp_fork_call(xp_work_fn fn, const void *arg, void *out, size_t size, double timeout_s, int *timed_out,
                 char *err, size_t errlen)
{
	one_call c = {fn, arg, out, size, -1, 0, err, errlen, 0};
	xp_forkpool p = {.jobs = 1, .timeout_s = timeout_s, .size = size, .ctx = &c, .next = one_next,
	                 .work = one_work, .done = one_done};
	if (timed_out)
		*timed_out = 0;
	if (xp_forkpool_run(&p, NULL, err, errlen))
		return -1;
	if (timed_out)
		*timed_out = c.timed_out;
	return c.rc;
}

static int eval_fn(const void *arg, void *out, char *err, size_t errlen)
{
	return xp_evaluate(arg, out, err, errlen);
}

int xp_evaluate_forked(const xp_point *pt, double timeout_s, res_t *r, char *err, size_t errlen)
{
	return xp_fork_call(eval_fn, pt, r, sizeof *r, timeout_s, NULL, err, errlen);
}

/* ---- one operator --------------------------------------------------- */

int xp_kernel_eval(const arch_t *a, const wl_op *op, int attn_impl, int fusion, int with_fwd, xp_kernel_result *kr,
                   char *err, size_t errlen)
{
	_Static_assert(XP_KERNELS_MAX >= 2 * KERN_NAIVE_MAX, "kernel result arrays too small");
	sim_kernel sk[XP_KERNELS_MAX];
	kern_info ki[XP_KERNELS_MAX];
	sim_segment seg;
	sim_kstat ks[XP_KERNELS_MAX];
	double seg_s[1];
	sim_stats st;
	memset(kr, 0, sizeof *kr);
	memset(&st, 0, sizeof st);
	memset(ks, 0, sizeof ks);
	int n;
	/* one operator alone, no neighbours to fuse with: as a framework calls
	 * it (FUSE_EAGER: its library kernels) or as a compiler emits it on its
	 * own (FUSE_COMPILER) */
	if (op->kind == OP_ATTN && op->backward && with_fwd) {
		/* a training step's attention: the forward, then its backward */
		wl_op fwd = *op;
		fwd.backward = 0;
		n = kern_lower_op(a, &fwd, fusion, attn_impl, sk, ki, KERN_NAIVE_MAX, err, errlen);
		if (n < 0)
			return -1;
		int nb = kern_lower_op(a, op, fusion, attn_impl, sk + n, ki + n, XP_KERNELS_MAX - n, err, errlen);
		if (nb < 0)
			return -1;
		n += nb;
	} else {
		n = kern_lower_op(a, op, fusion, attn_impl, sk, ki, KERN_NAIVE_MAX, err, errlen);
		if (n < 0)
			return -1;
	}
	sim_program p;
	memset(&p, 0, sizeof p);
	kern_chip(a, &p);
	/* one kernel alone: no launch gap in front of it (kernel timers start at
	 * the kernel), as a measured kernel time would be */
	for (int i = 0; i < n; i++)
		sk[i].launch = i > 0;
	memset(&seg, 0, sizeof seg);
	snprintf(seg.name, sizeof seg.name, "kernel");
	seg.role = SEG_STEP;
	seg.count = 1;
	seg.first = 0;
	seg.n = n;
	p.kernels = sk;
	p.nkernels = n;
	p.segs = &seg;
	p.nsegs = 1;
	st.seg_s = seg_s;
	st.k = ks;
	if (sim_run(&p, &st, err, errlen))
		return -1;
	snprintf(kr->arch, sizeof kr->arch, "%s", a->name);
	snprintf(kr->op, sizeof kr->op, "%s", wl_op_kind_names[op->kind]);
	kr->time_s = st.step_s;
	kr->nkernels = n;
	double tc = 0, tm = 0;
	for (int i = 0; i < n; i++) {
		kr->flops += ki[i].flops;
		kr->mem_bytes += ki[i].mem_bytes;
		kr->sram_bytes += ki[i].sram_bytes;
		kr->comm_bytes += ki[i].comm_bytes;
		tc += fmax(ki[i].ideal_compute_s, ks[i].busy_mac_s);
		tm += kern_ideal_mem_s(&p, &sk[i], &ki[i]);
		snprintf(kr->tiling[i], sizeof kr->tiling[i], "%.95s", ki[i].tiling);
		snprintf(kr->names[i], sizeof kr->names[i], "%.39s", ki[i].name);
		kr->ktime[i] = ks[i].time_s;
	}
	if (op->kind == OP_ATTN || op->kind == OP_GEMM)
		kr->flops = op->flops > 0 ? op->flops : kr->flops;
	kr->achieved_flops = kr->time_s > 0 ? kr->flops / kr->time_s : 0;
	kr->achieved_bw = kr->time_s > 0 ? kr->mem_bytes / kr->time_s : 0;
	kr->peak_flops = arch_peak_flops(a, (arch_dtype)op->dtype);
	kr->peak_bw = arch_mem_bw_Bps(a);
	if (op->kind == OP_COMM)
		kr->bound = BOUND_COMM;
	else if (fmax(tc, tm) < 0.5 * kr->time_s)
		kr->bound = BOUND_LATENCY;
	else
		kr->bound = tc >= tm ? BOUND_COMPUTE : BOUND_MEMORY;
	kr->events = st.events;
	return 0;
}
