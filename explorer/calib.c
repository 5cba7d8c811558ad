/*
 * calib.c - calibration of a chip's few physical efficiency parameters on
 * the fit cases of that chip: GSL nonlinear least squares (trust region,
 * Levenberg-Marquardt), residuals = relative errors, each parameter kept in
 * its bounds by a logistic transform, finite differences taken with steps
 * in parameter units (the simulator counts whole cycles, so the tiny steps
 * GSL would choose see no change).
 */
#include "valid.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_vector.h>

/* Bounds: inside each key's declared range, narrowed to what is physical
 * for the quantity the key stands for.  An efficiency under 0.2 would mean
 * the model misses a mechanism, not a constant.  The launch overhead is
 * the gap a kernel launch leaves on the device timeline (2-6 us measured on
 * recent GPUs); host-side framework time (PyTorch eager dispatch plus a
 * synchronize, 10-50 us per op in host-timed benchmarks) is not a property
 * of the chip, so a fit that wants more than 10 us stops at the bound and
 * says so. */
const xp_calparam xp_calparams[XP_CAL_MAXP] = {
    {"core.matrix_efficiency", "core", "matrix_efficiency", 0.2, 1.0, 0.01, NULL},
    {"memory.efficiency", "memory", "efficiency", 0.2, 1.0, 0.01, NULL},
    {"sched.launch_overhead_us", "sched", "launch_overhead_us", 0.0, 10.0, 0.5, NULL},
    {"system.scaleup_efficiency", "system", "scaleup_efficiency", 0.2, 1.0, 0.02, NULL},
    {"system.scaleout_efficiency", "system", "scaleout_efficiency", 0.2, 1.0, 0.02, NULL},
    {"memory.write_efficiency", "memory", "write_efficiency", 0.2, 1.0, 0.01, "memory.efficiency"},
    {"core.matrix_efficiency_fp8", "core", "matrix_efficiency_fp8", 0.2, 1.0, 0.01, "core.matrix_efficiency"},
    {"core.smem_efficiency", "core", "smem_efficiency", 0.2, 1.0, 0.01, NULL},
};

/* ---- generic bounded fit ------------------------------------------------- */

typedef struct {
	xp_cal_model fn;
	void *ctx;
	int np, n;
	const double *lo, *hi, *step;
	double *u_last, *r_last;
	int have_last;
	int evals;
	int failed;
	char err[256];
} fitctx;

static double u_to_p(double u, double lo, double hi)
{
	return lo + (hi - lo) / (1.0 + exp(-u));
}

static double dp_du(double u, double lo, double hi)
{
	double s = 1.0 / (1.0 + exp(-u));
	return (hi - lo) * s * (1.0 - s);
}

static double p_to_u(double p, double lo, double hi)
{
	double x = (p - lo) / (hi - lo);
	if (x < 1e-4)
		x = 1e-4;
	if (x > 1 - 1e-4)
		x = 1 - 1e-4;
	return log(x / (1 - x));
}

static int eval_p(fitctx *fc, const double *p, double *r)
{
	fc->evals++;
	if (fc->fn(fc->ctx, p, fc->np, r, fc->n)) {
		fc->failed = 1;
		snprintf(fc->err, sizeof fc->err, "the model evaluation failed");
		return -1;
	}
	/* a case that loses its prediction counts as 100% off */
	for (int i = 0; i < fc->n; i++)
		if (!isfinite(r[i]))
			r[i] = 1.0;
	return 0;
}

static int fit_f(const gsl_vector *x, void *params, gsl_vector *f)
{
	fitctx *fc = params;
	double p[XP_CAL_MAXP], u[XP_CAL_MAXP];
	for (int i = 0; i < fc->np; i++) {
		u[i] = gsl_vector_get(x, (size_t)i);
		p[i] = u_to_p(u[i], fc->lo[i], fc->hi[i]);
	}
	double *r = malloc((size_t)fc->n * sizeof *r);
	if (!r || eval_p(fc, p, r)) {
		free(r);
		return GSL_EFAILED;
	}
	for (int i = 0; i < fc->n; i++)
		gsl_vector_set(f, (size_t)i, r[i]);
	memcpy(fc->u_last, u, (size_t)fc->np * sizeof *u);
	memcpy(fc->r_last, r, (size_t)fc->n * sizeof *r);
	fc->have_last = 1;
	free(r);
	return GSL_SUCCESS;
}

static int fit_df(const gsl_vector *x, void *params, gsl_matrix *J)
{
	fitctx *fc = params;
	double p[XP_CAL_MAXP], u[XP_CAL_MAXP];
	int same = fc->have_last;
	for (int i = 0; i < fc->np; i++) {
		u[i] = gsl_vector_get(x, (size_t)i);
		p[i] = u_to_p(u[i], fc->lo[i], fc->hi[i]);
		if (!fc->have_last || u[i] != fc->u_last[i])
			same = 0;
	}
	double *r0 = malloc((size_t)fc->n * sizeof *r0), *r1 = malloc((size_t)fc->n * sizeof *r1);
	int rc = GSL_EFAILED;
	if (!r0 || !r1)
		goto out;
	if (same)
		memcpy(r0, fc->r_last, (size_t)fc->n * sizeof *r0);
	else if (eval_p(fc, p, r0))
		goto out;
	for (int j = 0; j < fc->np; j++) {
		double q[XP_CAL_MAXP];
		memcpy(q, p, sizeof q);
		double h = fc->step[j];
		if (q[j] + h > fc->hi[j])
			h = -h;
		q[j] += h;
		if (eval_p(fc, q, r1))
			goto out;
		double chain = dp_du(u[j], fc->lo[j], fc->hi[j]);
		for (int i = 0; i < fc->n; i++)
			gsl_matrix_set(J, (size_t)i, (size_t)j, (r1[i] - r0[i]) / h * chain);
	}
	rc = GSL_SUCCESS;
out:
	free(r0);
	free(r1);
	return rc;
}

int xp_cal_fit(xp_cal_model fn, void *ctx, int np, const double *lo, const double *hi, const double *step,
               const double *start, int n, int max_iter, double *fitted, double *sigma, int *iters, int *evals,
               char *err, size_t errlen)
{
	if (np < 1 || np > XP_CAL_MAXP || n < np) {
		snprintf(err, errlen, "a fit needs 1 to %d parameters and at least as many cases (have %d and %d)",
		         XP_CAL_MAXP, np, n);
		return -1;
	}
	fitctx fc;
	memset(&fc, 0, sizeof fc);
	fc.fn = fn, fc.ctx = ctx, fc.np = np, fc.n = n, fc.lo = lo, fc.hi = hi, fc.step = step;
	fc.u_last = calloc((size_t)np, sizeof *fc.u_last);
	fc.r_last = calloc((size_t)n, sizeof *fc.r_last);
	gsl_vector *x0 = gsl_vector_alloc((size_t)np);
	gsl_matrix *covar = gsl_matrix_alloc((size_t)np, (size_t)np);
	gsl_multifit_nlinear_workspace *w = NULL;
	int rc = -1;
	if (!fc.u_last || !fc.r_last || !x0 || !covar) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (int i = 0; i < np; i++)
		gsl_vector_set(x0, (size_t)i, p_to_u(start[i], lo[i], hi[i]));
	gsl_multifit_nlinear_fdf fdf;
	memset(&fdf, 0, sizeof fdf);
	fdf.f = fit_f;
	fdf.df = fit_df;
	fdf.fvv = NULL;
	fdf.n = (size_t)n;
	fdf.p = (size_t)np;
	fdf.params = &fc;
	gsl_multifit_nlinear_parameters fp = gsl_multifit_nlinear_default_parameters();
	fp.trs = gsl_multifit_nlinear_trs_lm;
	w = gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &fp, (size_t)n, (size_t)np);
	if (!w) {
		snprintf(err, errlen, "out of memory (GSL workspace)");
		goto out;
	}
	gsl_error_handler_t *old = gsl_set_error_handler_off();
	int info = 0;
	int st = gsl_multifit_nlinear_init(x0, &fdf, w);
	if (st == GSL_SUCCESS)
		st = gsl_multifit_nlinear_driver((size_t)max_iter, 1e-3, 1e-6, 1e-6, NULL, NULL, &info, w);
	gsl_set_error_handler(old);
	if (fc.failed) {
		snprintf(err, errlen, "%s", fc.err);
		goto out;
	}
	if (st != GSL_SUCCESS && st != GSL_EMAXITER && st != GSL_ENOPROG) {
		snprintf(err, errlen, "GSL fit: %s", gsl_strerror(st));
		goto out;
	}
	gsl_vector *x = gsl_multifit_nlinear_position(w);
	gsl_vector *f = gsl_multifit_nlinear_residual(w);
	gsl_matrix *J = gsl_multifit_nlinear_jac(w);
	double chisq;
	gsl_blas_ddot(f, f, &chisq);
	gsl_multifit_nlinear_covar(J, 0.0, covar);
	double dof = n - np > 0 ? n - np : 1;
	for (int i = 0; i < np; i++) {
		double u = gsl_vector_get(x, (size_t)i);
		fitted[i] = u_to_p(u, lo[i], hi[i]);
		double vu = gsl_matrix_get(covar, (size_t)i, (size_t)i) * chisq / dof;
		/* with as many cases as parameters the fit is exact and says nothing
		 * about its own uncertainty */
		sigma[i] = n <= np ? NAN : vu > 0 ? sqrt(vu) * dp_du(u, lo[i], hi[i]) : 0;
	}
	if (iters)
		*iters = (int)gsl_multifit_nlinear_niter(w);
	rc = 0;
out:
	if (evals)
		*evals = fc.evals;
	if (w)
		gsl_multifit_nlinear_free(w);
	gsl_vector_free(x0);
	gsl_matrix_free(covar);
	free(fc.u_last);
	free(fc.r_last);
	return rc;
}

/* ---- calibrating an arch on the case file --------------------------------- */

typedef struct {
	const xp_calopts *o;
	const xp_vset *set;
	const int *idx;
	int n;
	const int *which;
	int np;
	xp_vres *res;
	int evals;
} calctx;

static double residual(const xp_calopts *o, const xp_vcase *c, const xp_vres *r)
{
	if (r->status != VST_OK)
		return NAN;
	if (o->loss_log)
		return log(r->predicted / c->published);
	return (r->predicted - c->published) / c->published;
}

static int run_at(calctx *cc, const double *p, int np)
{
	xp_vover ov[XP_CAL_MAXP];
	char err[256];
	for (int i = 0; i < np; i++) {
		snprintf(ov[i].arch, sizeof ov[i].arch, "%s", cc->o->arch);
		snprintf(ov[i].set, sizeof ov[i].set, "arch.%s=%.6g", xp_calparams[cc->which[i]].key, p[i]);
	}
	xp_vopts vo = cc->o->vo;
	vo.ov = ov;
	vo.nov = np;
	if (xp_vrun(&vo, cc->set, cc->idx, cc->n, cc->res, err, sizeof err)) {
		if (cc->o->log)
			fprintf(cc->o->log, "codesim: calibrate: %s\n", err);
		return -1;
	}
	cc->evals++;
	return 0;
}

static int cal_model(void *ctx, const double *p, int np, double *r, int n)
{
	calctx *cc = ctx;
	if (run_at(cc, p, np))
		return -1;
	double ss = 0;
	int k = 0, first_bad = -1;
	for (int i = 0; i < n && i < cc->n; i++) {
		r[i] = residual(cc->o, &cc->set->cases[cc->idx[i]], &cc->res[i]);
		if (isfinite(r[i]))
			ss += r[i] * r[i], k++;
		else if (first_bad < 0)
			first_bad = i;
	}
	/* every case had a prediction at the start; losing most of them is a
	 * broken run (a preset that no longer loads, a crash), not a residual */
	if (2 * k < n) {
		if (cc->o->log)
			fprintf(cc->o->log, "codesim: calibrate: %d of %d fit cases lost their prediction (first: %s: %s)\n",
			        n - k, n, cc->set->cases[cc->idx[first_bad]].id, cc->res[first_bad].reason);
		return -1;
	}
	if (cc->o->log && cc->o->verbose) {
		fprintf(cc->o->log, "  evaluation %d:", cc->evals);
		for (int i = 0; i < np; i++)
			fprintf(cc->o->log, " %s=%.4g", xp_calparams[cc->which[i]].name, p[i]);
		fprintf(cc->o->log, "  rms %.2f%%\n", k ? 100 * sqrt(ss / k) : 0);
	}
	return 0;
}

static void summarize(const xp_calopts *o, const xp_vset *set, const int *idx, const xp_vres *res, int n,
                      double *rms, double *mape)
{
	double ss = 0, sa = 0;
	int k = 0;
	for (int i = 0; i < n; i++) {
		double r = residual(o, &set->cases[idx[i]], &res[i]);
		if (!isfinite(r))
			continue;
		double rel = res[i].err_pct / 100;
		ss += r * r;
		sa += fabs(rel);
		k++;
	}
	*rms = k ? 100 * sqrt(ss / k) : 0;
	*mape = k ? 100 * sa / k : 0;
}

static void cat_add(const xp_vset *set, const int *idx, const xp_vres *res, int n, double *sum, int *cnt)
{
	for (int i = 0; i < n; i++)
		if (res[i].status == VST_OK) {
			sum[set->cases[idx[i]].category] += fabs(res[i].err_pct);
			cnt[set->cases[idx[i]].category]++;
		}
}

int xp_calibrate(const xp_calopts *o, const xp_vset *set, xp_calresult *cr, char *err, size_t errlen)
{
	double cs_before[VCAT_COUNT] = {0}, cs_after[VCAT_COUNT] = {0};
	int cn_before[VCAT_COUNT] = {0}, cn_after[VCAT_COUNT] = {0};
	memset(cr, 0, sizeof *cr);
	int *fit = malloc((size_t)(set->n ? set->n : 1) * sizeof *fit);
	int *hold = malloc((size_t)(set->n ? set->n : 1) * sizeof *hold);
	xp_vres *res = calloc((size_t)(set->n ? set->n : 1), sizeof *res);
	/* fit cases of the categories left out of the fit (--category): judged
	 * with the hold-out in the per-category table, not fitted */
	int *other = malloc((size_t)(set->n ? set->n : 1) * sizeof *other);
	int nf = 0, nh = 0, no = 0, rc = -1;
	calctx cc;
	memset(&cc, 0, sizeof cc);
	if (!fit || !hold || !res || !other) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (int i = 0; i < set->n; i++)
		if (!strcmp(set->cases[i].arch, o->arch)) {
			/* the hold-out keeps every category: the fit is judged on all of them */
			if (set->cases[i].split == VSPLIT_FIT) {
				if (!o->cat_mask || (o->cat_mask & (1u << set->cases[i].category)))
					fit[nf++] = i;
				else
					other[no++] = i;
			} else {
				hold[nh++] = i;
			}
		}
	if (!nf) {
		snprintf(err, errlen, "%s has no fit cases for --arch %s", set->file, o->arch);
		goto out;
	}
	arch_t a;
	if (arch_load(&a, o->vo.home, o->arch, err, errlen))
		goto out;
	double start_all[XP_CAL_MAXP];
	for (int i = 0; i < XP_CAL_MAXP; i++)
		start_all[i] = arch_cfg_get(arch_cfg_find(arch_keys, arch_nkeys, xp_calparams[i].key), &a);
	/* an unset write efficiency (0) is the read one; an unset FP8 matrix
	 * efficiency the 16-bit one */
	for (int i = 0; i < XP_CAL_MAXP; i++) {
		if (!strcmp(xp_calparams[i].key, "memory.write_efficiency") && start_all[i] <= 0)
			start_all[i] = a.memory.efficiency;
		if (!strcmp(xp_calparams[i].key, "core.matrix_efficiency_fp8") && start_all[i] <= 0)
			start_all[i] = a.core.matrix_efficiency;
	}

	/* the fit and hold-out error as the preset stands */
	if (o->log)
		fprintf(o->log, "codesim: calibrate %s: %d fit and %d hold-out cases; running them as the preset "
		        "stands\n", o->arch, nf, nh);
	xp_vopts vo = o->vo;
	if (xp_vrun(&vo, set, hold, nh, res, err, errlen))
		goto out;
	for (int i = 0; i < nh; i++)
		cr->nhold_failed += res[i].status != VST_OK;
	double dummy;
	summarize(o, set, hold, res, nh, &dummy, &cr->hold_mape_before);
	cat_add(set, hold, res, nh, cs_before, cn_before);
	if (no) {
		if (xp_vrun(&vo, set, other, no, res, err, errlen))
			goto out;
		cat_add(set, other, res, no, cs_before, cn_before);
	}
	if (xp_vrun(&vo, set, fit, nf, res, err, errlen))
		goto out;
	/* cases without a prediction (infeasible, or the model cannot run them)
	 * constrain nothing: they leave the fit */
	int k = 0;
	for (int i = 0; i < nf; i++) {
		if (res[i].status == VST_OK) {
			cr->fit_per_cat[set->cases[fit[i]].category]++;
			res[k] = res[i];
			fit[k++] = fit[i];
		} else {
			cr->nfit_failed++;
		}
	}
	nf = k;
	cr->nfit = nf;
	cr->nhold = nh;
	if (!nf) {
		snprintf(err, errlen, "none of the fit cases of %s has a prediction", o->arch);
		goto out;
	}
	summarize(o, set, fit, res, nf, &cr->fit_rms_before, &cr->fit_mape_before);
	cat_add(set, fit, res, nf, cs_before, cn_before);
	double *r0 = malloc((size_t)nf * sizeof *r0);
	if (!r0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (int i = 0; i < nf; i++)
		r0[i] = residual(o, &set->cases[fit[i]], &res[i]);

	/* which parameters do these cases constrain?  One step of each, alone */
	int which_all[XP_CAL_MAXP];
	cc.o = o, cc.set = set, cc.idx = fit, cc.n = nf, cc.res = res;
	for (int j = 0; j < XP_CAL_MAXP; j++) {
		if (o->keys_mask && !(o->keys_mask & (1u << j)))
			continue;
		const xp_calparam *cp = &xp_calparams[j];
		double p = start_all[j], h = cp->step;
		if (p < cp->lo || p > cp->hi) {
			cr->fate[j] = CAL_OUT_OF_BOUNDS;
			if (o->log)
				fprintf(o->log, "codesim: calibrate: %s = %g lies outside the fit bounds [%g, %g]; it is left "
				        "as it is\n", cp->key, p, cp->lo, cp->hi);
			continue;
		}
		if (p + h > cp->hi)
			h = -h;
		p += h;
		which_all[0] = j;
		cc.which = which_all;
		cc.np = 1;
		if (run_at(&cc, &p, 1)) {
			free(r0);
			snprintf(err, errlen, "running the fit cases failed");
			goto out;
		}
		double s = 0;
		for (int i = 0; i < nf; i++) {
			double r1 = residual(o, &set->cases[fit[i]], &res[i]);
			if (isfinite(r1) && fabs(r1 - r0[i]) > s)
				s = fabs(r1 - r0[i]);
		}
		cr->sens[j] = s;
		cr->fate[j] = s >= 1e-3 ? CAL_FITTED : CAL_INSENSITIVE;
		/* a step of 1-2% that moves no case by 0.1% (of its value) constrains nothing */
		if (s >= 1e-3) {
			cr->which[cr->np] = j;
			cr->start[cr->np] = start_all[j];
			cr->np++;
		} else if (o->log) {
			fprintf(o->log, "codesim: calibrate: %s: no fit case of %s depends on it; not fitted\n", cp->key,
			        o->arch);
		}
	}
	free(r0);
	/* fewer cases than parameters: keep the ones the cases move most */
	while (cr->np > nf) {
		int weakest = 0;
		for (int i = 1; i < cr->np; i++)
			if (cr->sens[cr->which[i]] < cr->sens[cr->which[weakest]])
				weakest = i;
		if (o->log)
			fprintf(o->log, "codesim: calibrate: %s: only %d fit case%s; the least constrained parameter is "
			        "not fitted\n", xp_calparams[cr->which[weakest]].key, nf, nf == 1 ? "" : "s");
		cr->fate[cr->which[weakest]] = CAL_TOO_FEW_CASES;
		for (int i = weakest; i + 1 < cr->np; i++) {
			cr->which[i] = cr->which[i + 1];
			cr->start[i] = cr->start[i + 1];
		}
		cr->np--;
	}
	if (!cr->np) {
		snprintf(err, errlen, "the fit cases of %s constrain none of the calibration parameters", o->arch);
		goto out;
	}
	double lo[XP_CAL_MAXP], hi[XP_CAL_MAXP], step[XP_CAL_MAXP];
	for (int i = 0; i < cr->np; i++) {
		const xp_calparam *cp = &xp_calparams[cr->which[i]];
		lo[i] = cp->lo, hi[i] = cp->hi, step[i] = cp->step;
	}
	cc.which = cr->which;
	cc.np = cr->np;
	if (o->log)
		fprintf(o->log, "codesim: calibrate %s: fitting %d parameter%s on %d cases\n", o->arch, cr->np,
		        cr->np > 1 ? "s" : "", nf);
	if (xp_cal_fit(cal_model, &cc, cr->np, lo, hi, step, cr->start, nf, o->max_iter > 0 ? o->max_iter : 30,
	               cr->fitted, cr->sigma, &cr->iterations, &cr->evaluations, err, errlen))
		goto out;
	snprintf(cr->status_text, sizeof cr->status_text, "%d iterations, %d evaluations of the fit cases",
	         cr->iterations, cr->evaluations);
	/* a parameter pinned at a bound: the cases ask for a value the physical
	 * parameter cannot take, i.e. a mechanism is missing */
	for (int i = 0; i < cr->np; i++) {
		double span = hi[i] - lo[i];
		cr->at_bound[i] = cr->fitted[i] - lo[i] < 0.005 * span || hi[i] - cr->fitted[i] < 0.005 * span;
	}
	/* the error at the solution, fit and hold-out */
	if (run_at(&cc, cr->fitted, cr->np)) {
		snprintf(err, errlen, "running the fit cases failed");
		goto out;
	}
	summarize(o, set, fit, res, nf, &cr->fit_rms_after, &cr->fit_mape_after);
	cat_add(set, fit, res, nf, cs_after, cn_after);
	cc.idx = hold, cc.n = nh;
	if (nh && run_at(&cc, cr->fitted, cr->np)) {
		snprintf(err, errlen, "running the hold-out cases failed");
		goto out;
	}
	summarize(o, set, hold, res, nh, &dummy, &cr->hold_mape_after);
	cat_add(set, hold, res, nh, cs_after, cn_after);
	cc.idx = other, cc.n = no;
	if (no) {
		if (run_at(&cc, cr->fitted, cr->np)) {
			snprintf(err, errlen, "running the other cases failed");
			goto out;
		}
		cat_add(set, other, res, no, cs_after, cn_after);
	}
	/* a physical parameter set right helps every kind of measurement; one
	 * that trades a category for another absorbs a missing mechanism */
	cr->worse_cat = -1;
	for (int c = 0; c < VCAT_COUNT; c++) {
		cr->cat_n[c] = cn_after[c];
		cr->cat_mape_before[c] = cn_before[c] ? cs_before[c] / cn_before[c] : 0;
		cr->cat_mape_after[c] = cn_after[c] ? cs_after[c] / cn_after[c] : 0;
		if (cn_after[c] && cn_before[c] && cr->cat_mape_after[c] > cr->cat_mape_before[c] + 0.5 &&
		    (cr->worse_cat < 0 || cr->cat_mape_after[c] - cr->cat_mape_before[c] >
		                              cr->cat_mape_after[cr->worse_cat] - cr->cat_mape_before[cr->worse_cat]))
			cr->worse_cat = c;
	}
	rc = 0;
out:
	free(fit);
	free(hold);
	free(other);
	free(res);
	return rc;
}

/* ---- writing the preset --------------------------------------------------- */

static int is_ident(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

/* The group a line opens ("core = {"), or 0. */
static int line_opens_group(const char *s, size_t len, char *name, size_t nlen)
{
	size_t i = 0;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	size_t b = i;
	while (i < len && is_ident(s[i]))
		i++;
	if (i == b || i - b >= nlen)
		return 0;
	size_t e = i;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i >= len || (s[i] != '=' && s[i] != ':'))
		return 0;
	i++;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i >= len || s[i] != '{')
		return 0;
	memcpy(name, s + b, e - b);
	name[e - b] = 0;
	return 1;
}

static int line_closes_group(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i < len && s[i] == '}';
}

typedef struct {
	char *buf;
	size_t len, cap;
	int oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 4096) + n;
		char *nb = realloc(b->buf, cap);
		if (!nb) {
			b->oom = 1;
			return;
		}
		b->buf = nb, b->cap = cap;
	}
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = 0;
}

/* Rewrite "NAME = VALUE; # comment" keeping the indentation and the comment
 * column; the old comment becomes the cited part of the new one. */
static int rewrite_line(sbuf *out, const char *s, size_t len, const char *name, double value, double sigma,
                        const char *note)
{
	size_t i = 0;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	size_t nl = strlen(name);
	if (len - i < nl || memcmp(s + i, name, nl) || (i + nl < len && is_ident(s[i + nl])))
		return 0;
	size_t j = i + nl;
	while (j < len && (s[j] == ' ' || s[j] == '\t'))
		j++;
	if (j >= len || (s[j] != '=' && s[j] != ':'))
		return 0;
	const char *semi = memchr(s + j, ';', len - j);
	if (!semi)
		return 0;
	const char *hash = memchr(semi, '#', len - (size_t)(semi - s));
	size_t comment_col = hash ? (size_t)(hash - s) : 0;
	char oldval[64];
	size_t vb = j + 1;
	while (vb < len && (s[vb] == ' ' || s[vb] == '\t'))
		vb++;
	snprintf(oldval, sizeof oldval, "%.*s", (int)((size_t)(semi - s) - vb), s + vb);
	char cited[1024] = "";
	if (hash) {
		const char *c = hash + 1;
		while (*c == ' ')
			c++;
		size_t cl = len - (size_t)(c - s);
		char old[1024];
		snprintf(old, sizeof old, "%.*s", (int)cl, c);
		const char *prev = strstr(old, "; cited value ");
		if (!strncmp(old, "calibrated ", 11) && prev)
			snprintf(cited, sizeof cited, "%.1000s", prev + 2);
		else
			snprintf(cited, sizeof cited, "cited value %.63s: %.900s", oldval, old);
	} else {
		snprintf(cited, sizeof cited, "cited value %s", oldval);
	}
	char head[256], val[32];
	if (!strcmp(name, "launch_overhead_us"))
		snprintf(val, sizeof val, "%.2f", value);
	else
		snprintf(val, sizeof val, "%.3f", value);
	int hl = snprintf(head, sizeof head, "%.*s%s = %s;", (int)i, s, name, val);
	sb_add(out, head, (size_t)hl);
	size_t col = (size_t)hl;
	do
		sb_add(out, " ", 1);
	while (++col < comment_col);
	char comment[2048], sig[48];
	if (isfinite(sigma))
		snprintf(sig, sizeof sig, "+-%.*f (1 sigma)", strcmp(name, "launch_overhead_us") ? 3 : 2, sigma);
	else
		snprintf(sig, sizeof sig, "no uncertainty (as many cases as parameters)");
	int cl = snprintf(comment, sizeof comment, "# %s, %s; %s", note, sig, cited);
	sb_add(out, comment, (size_t)(cl < (int)sizeof comment ? cl : (int)sizeof comment - 1));
	return 1;
}

/* Length of a line's leading blanks. */
static size_t indent_of(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

char *xp_cal_rewrite_text(const char *text, const xp_calresult *cr, const char *note, char *err, size_t errlen)
{
	sbuf out = {0};
	int done[XP_CAL_MAXP] = {0};
	char group[64] = "";
	/* the group's last setting line: its indentation and comment column,
	 * which a line the writer adds copies */
	char indent[64] = "  ";
	size_t comment_col = 0;
	const char *p = text;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char gname[64];
		int replaced = 0;
		if (line_opens_group(p, len, gname, sizeof gname)) {
			snprintf(group, sizeof group, "%s", gname);
			snprintf(indent, sizeof indent, "  ");
			comment_col = 0;
		} else if (line_closes_group(p, len)) {
			/* a key whose 0 means "use another key" may be absent from
			 * its group: it goes in as the group's last line */
			for (int i = 0; i < cr->np && group[0]; i++) {
				const xp_calparam *cp = &xp_calparams[cr->which[i]];
				if (done[i] || !cp->fallback || strcmp(group, cp->group))
					continue;
				char unset[512];
				int ul = snprintf(unset, sizeof unset, "%s%s = 0;", indent, cp->name);
				while (ul < (int)comment_col && ul < (int)sizeof unset - 200)
					unset[ul++] = ' ';
				snprintf(unset + ul, sizeof unset - (size_t)ul, "%s# not set (0: %s)", ul > 0 && unset[ul - 1] == ';' ? " " : "",
				         cp->fallback);
				rewrite_line(&out, unset, strlen(unset), cp->name, cr->fitted[i], cr->sigma[i], note);
				sb_add(&out, "\n", 1);
				done[i] = 1;
			}
			group[0] = 0;
		} else if (group[0]) {
			for (int i = 0; i < cr->np && !replaced; i++) {
				const xp_calparam *cp = &xp_calparams[cr->which[i]];
				if (done[i] || strcmp(group, cp->group))
					continue;
				if (rewrite_line(&out, p, len, cp->name, cr->fitted[i], cr->sigma[i], note))
					replaced = done[i] = 1;
			}
			const char *hash = memchr(p, '#', len), *eq = memchr(p, '=', len);
			size_t in = indent_of(p, len);
			if (eq && in < len && in < sizeof indent) {
				snprintf(indent, sizeof indent, "%.*s", (int)in, p);
				comment_col = hash && hash > eq ? (size_t)(hash - p) : 0;
			}
		}
		if (!replaced)
			sb_add(&out, p, len);
		if (eol)
			sb_add(&out, "\n", 1);
		p = eol ? eol + 1 : p + len;
	}
	for (int i = 0; i < cr->np; i++)
		if (!done[i]) {
			free(out.buf);
			snprintf(err, errlen, "the preset has no line '%s = ...;' inside its '%s = { ... };' group",
			         xp_calparams[cr->which[i]].name, xp_calparams[cr->which[i]].group);
			return NULL;
		}
	if (out.oom) {
		free(out.buf);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!out.buf) {
		out.buf = calloc(1, 1);
		if (!out.buf)
			snprintf(err, errlen, "out of memory");
	}
	return out.buf;
}

int xp_cal_write_preset(const char *file, const xp_calresult *cr, const char *note, char *err, size_t errlen)
{
	FILE *f = fopen(file, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", file, strerror(errno));
		return -1;
	}
	struct stat stt;
	if (fstat(fileno(f), &stt)) {
		fclose(f);
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	char *text = malloc((size_t)stt.st_size + 1);
	size_t got = text ? fread(text, 1, (size_t)stt.st_size, f) : 0;
	fclose(f);
	if (!text || got != (size_t)stt.st_size) {
		free(text);
		snprintf(err, errlen, "%s: read error", file);
		return -1;
	}
	text[got] = 0;
	char *nt = xp_cal_rewrite_text(text, cr, note, err, errlen);
	free(text);
	if (!nt) {
		char tmp[ARCH_ERR_MAX];
		snprintf(tmp, sizeof tmp, "%s: %s", file, err);
		snprintf(err, errlen, "%s", tmp);
		return -1;
	}
	char tmp[1100];
	snprintf(tmp, sizeof tmp, "%s.calibrate-%ld.tmp", file, (long)getpid());
	FILE *o = fopen(tmp, "wb");
	int bad = !o;
	if (o) {
		size_t nl = strlen(nt);
		bad = fwrite(nt, 1, nl, o) != nl;
		bad |= fflush(o) != 0;
		bad |= fsync(fileno(o)) != 0;
		fchmod(fileno(o), stt.st_mode & 07777);
		bad |= fclose(o) != 0;
	}
	free(nt);
	if (bad || rename(tmp, file)) {
		snprintf(err, errlen, "%s: cannot write (via %s): %s", file, tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
