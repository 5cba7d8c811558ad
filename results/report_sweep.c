/*
 * report_sweep.c - the report of a finished sweep: every point with its
 * swept parameters and headline metrics, the best point per metric, and
 * the main metric over the swept axes (a line plot over one numeric axis,
 * series for the others; a heatmap over two categorical or short axes).
 * A `codesim compare` sweep renders as the comparison report.
 */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TABLE_ROWS 400
#define MAX_SERIES 10

static int row_ok(const res_sweep_row *r)
{
	return r->rp && r->rp->r.feasible && !strcmp(r->status, "ok");
}

static double metric_of(const res_sweep_row *r, const char *m)
{
	double v = NAN;
	if (!row_ok(r) || res_metric(&r->rp->r, m, &v, NULL))
		return NAN;
	return v;
}

static void params_text(const res_sweep *s, const res_sweep_row *r, char *buf, size_t len)
{
	size_t u = 0;
	buf[0] = 0;
	for (int a = 0; a < s->naxes && u < len; a++)
		u += (size_t)snprintf(buf + u, len - u, "%s%s=%s", a ? " " : "", s->axes[a], r->values[a]);
}

/* distinct values of axis a, in first-seen order (pointers into rows) */
static int distinct(const res_sweep *s, int a, const char **out, int max)
{
	int n = 0;
	for (int i = 0; i < s->nrows; i++) {
		const char *v = s->rows[i].values[a];
		int seen = 0;
		for (int j = 0; j < n && !seen; j++)
			seen = !strcmp(out[j], v);
		if (!seen) {
			if (n == max)
				return max + 1;
			out[n++] = v;
		}
	}
	return n;
}

static int idx_of(const char **vals, int n, const char *v)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(vals[i], v))
			return i;
	return -1;
}

/* The row with the best value of metric m, or -1. */
static int best_row(const res_sweep *s, const char *m)
{
	int hb = 1, best = -1;
	double bv = 0;
	res_metric(&(res_t){0}, m, NULL, &hb);
	for (int i = 0; i < s->nrows; i++) {
		double v = metric_of(&s->rows[i], m);
		if (!isfinite(v) || (v <= 0 && !hb))
			continue;
		if (best < 0 || (hb ? v > bv : v < bv))
			best = i, bv = v;
	}
	return best;
}

static int axis_numeric(const res_sweep *s, int a)
{
	for (int i = 0; i < s->nrows; i++)
		if (!isfinite(s->rows[i].num[a]))
			return 0;
	return 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void plot_over_axes(res_doc *d, const res_sweep *s, int hb)
{
	if (!d->plot || !d->plot->available || (d->format == RES_DOC_MD && !d->asset_base[0]))
		return;
	int vary[32], nv = 0;
	const char **vals = malloc((size_t)(s->nrows + 2) * sizeof *vals);
	if (!vals)
		return;
	for (int a = 0; a < s->naxes && nv < 32; a++)
		if (distinct(s, a, vals, s->nrows) >= 2)
			vary[nv++] = a;
	char err[300], title[300], cap[600];
	char *svg = NULL;
	const char *m = s->metric;
	if (nv == 0) {
		free(vals);
		return;
	}
	/* the x axis: the numeric varying axis with most values; else the first */
	int xa = -1, best_n = 0;
	for (int i = 0; i < nv; i++) {
		int nd = distinct(s, vary[i], vals, s->nrows);
		if (axis_numeric(s, vary[i]) && nd > best_n)
			xa = vary[i], best_n = nd;
	}
	if (nv == 2 && (xa < 0 || best_n <= 8)) {
		/* heatmap over the two axes; several points per cell: the best */
		int ax = vary[0], ay = vary[1];
		const char **xv = malloc((size_t)s->nrows * sizeof *xv), **yv = malloc((size_t)s->nrows * sizeof *yv);
		int nx = xv ? distinct(s, ax, xv, s->nrows) : 0, ny = yv ? distinct(s, ay, yv, s->nrows) : 0;
		double *z = xv && yv ? malloc((size_t)(nx * ny) * sizeof *z) : NULL;
		if (z) {
			for (int i = 0; i < nx * ny; i++)
				z[i] = NAN;
			for (int i = 0; i < s->nrows; i++) {
				double v = metric_of(&s->rows[i], m);
				int ix = idx_of(xv, nx, s->rows[i].values[ax]), iy = idx_of(yv, ny, s->rows[i].values[ay]);
				if (!isfinite(v) || ix < 0 || iy < 0)
					continue;
				double *c = &z[iy * nx + ix];
				if (!isfinite(*c) || (hb ? v > *c : v < *c))
					*c = v;
			}
			snprintf(title, sizeof title, "%s over %s and %s", m, s->axes[ax], s->axes[ay]);
			svg = res_plot_heatmap(d->plot, title, s->axes[ax], s->axes[ay], nx, xv, ny, yv, z, m, err, sizeof err);
			snprintf(cap, sizeof cap, "Heatmap of %s over the swept axes %s and %s (blank: infeasible or failed).", m,
			         s->axes[ax], s->axes[ay]);
		}
		free(xv), free(yv), free(z);
	} else {
		if (xa < 0)
			xa = vary[0];
		int numeric = axis_numeric(s, xa);
		/* x values: numbers sorted, or categories in order (positions) */
		const char **cats = malloc((size_t)s->nrows * sizeof *cats);
		double *xs = malloc((size_t)s->nrows * sizeof *xs);
		int nx = 0;
		if (cats && xs) {
			if (numeric) {
				for (int i = 0; i < s->nrows; i++) {
					double v = s->rows[i].num[xa];
					int seen = 0;
					for (int j = 0; j < nx && !seen; j++)
						seen = xs[j] == v;
					if (!seen)
						xs[nx++] = v;
				}
				qsort(xs, (size_t)nx, sizeof *xs, cmp_double);
			} else {
				nx = distinct(s, xa, cats, s->nrows);
				for (int i = 0; i < nx; i++)
					xs[i] = i;
			}
		}
		/* series: the other varying axis with the fewest values; any further
		 * axes are folded in by taking the best point */
		int sa = -1, sn = 0;
		for (int k = 0; k < nv; k++) {
			if (vary[k] == xa)
				continue;
			int nd = distinct(s, vary[k], vals, s->nrows);
			if (sa < 0 || nd < sn)
				sa = vary[k], sn = nd;
		}
		char(*sname)[160] = calloc(MAX_SERIES + 1, sizeof *sname);
		double *y = malloc((size_t)MAX_SERIES * (size_t)(nx > 0 ? nx : 1) * sizeof *y);
		int ns = 0, dropped = 0;
		if (sname && y && nx > 0) {
			for (int i = 0; i < MAX_SERIES * nx; i++)
				y[i] = NAN;
			for (int i = 0; i < s->nrows; i++) {
				const res_sweep_row *r = &s->rows[i];
				char key[160];
				key[0] = 0;
				if (sa >= 0)
					snprintf(key, sizeof key, "%.80s=%.70s", s->axes[sa], r->values[sa]);
				if (!key[0])
					snprintf(key, sizeof key, "%s", m);
				int si = -1;
				for (int k = 0; k < ns; k++)
					if (!strcmp(sname[k], key))
						si = k;
				if (si < 0) {
					if (ns == MAX_SERIES) {
						dropped = 1;
						continue;
					}
					si = ns++;
					snprintf(sname[si], sizeof sname[si], "%s", key);
				}
				int ix = -1;
				if (numeric) {
					for (int k = 0; k < nx; k++)
						if (xs[k] == r->num[xa])
							ix = k;
				} else {
					ix = idx_of(cats, nx, r->values[xa]);
				}
				double v = metric_of(r, m);
				if (ix < 0 || !isfinite(v))
					continue;
				double *c = &y[si * nx + ix];
				if (!isfinite(*c) || (hb ? v > *c : v < *c))
					*c = v;
			}
			const char *names[MAX_SERIES];
			for (int k = 0; k < ns; k++)
				names[k] = sname[k];
			snprintf(title, sizeof title, "%s over %s", m, s->axes[xa]);
			if (numeric) {
				svg = res_plot_lines(d->plot, title, s->axes[xa], m, nx, xs, ns, names, y, err, sizeof err);
			} else {
				/* categories: one bar per value of the best over the other axes */
				double *best = malloc((size_t)nx * sizeof *best);
				if (best) {
					for (int k = 0; k < nx; k++) {
						best[k] = NAN;
						for (int q = 0; q < ns; q++) {
							double v = y[q * nx + k];
							if (isfinite(v) && (!isfinite(best[k]) || (hb ? v > best[k] : v < best[k])))
								best[k] = v;
						}
						if (!isfinite(best[k]))
							best[k] = 0;
					}
					const char *one[] = {m};
					svg = res_plot_stacked(d->plot, title, m, nx, cats, 1, one, best, err, sizeof err);
					free(best);
				}
			}
			snprintf(cap, sizeof cap, "%s over %s%s%.80s%s%s.", m, s->axes[xa], sa >= 0 ? ", one line per value of " : "",
			         sa >= 0 ? s->axes[sa] : "", nv > 2 ? ", the best point over the other swept axes" : "",
			         dropped ? " (first 10 values only)" : "");
		}
		free(cats), free(xs), free(sname), free(y);
	}
	if (!svg && err[0])
		res_doc_p(d, err);
	res_doc_svg(d, "sweep", cap, svg);
	free(vals);
}

int res_report_sweep(res_doc *d, const res_sweep *s, const res_report_opts *o, char *err, size_t errlen)
{
	char buf[1600], b1[48], b2[48];
	int hb = 1;
	if (res_metric(&(res_t){0}, s->metric, NULL, &hb)) {
		snprintf(err, errlen, "--metric %s: expected one of tokens_per_s, mfu, hfu, time_s, ttft_s, tpot_s, "
		                      "usd_per_mtok, j_per_token, tokens_per_j, energy_j", s->metric);
		return -1;
	}
	/* a compare sweep is the comparison report */
	if (!strcmp(s->name, "compare")) {
		res_rpoint *pts = malloc((size_t)(s->nrows ? s->nrows : 1) * sizeof *pts);
		if (!pts) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		int n = 0;
		for (int i = 0; i < s->nrows; i++)
			if (s->rows[i].rp)
				pts[n++] = *s->rows[i].rp;
		char title[200];
		snprintf(title, sizeof title, "codesim report: compare sweep %lld", s->id);
		res_report_opts ro = {o && o->title ? o->title : title, s->spec_text};
		int rc = res_report_compare(d, pts, n, &ro, err, errlen);
		free(pts);
		return rc;
	}
	char title[300];
	snprintf(title, sizeof title, "%s", o && o->title ? o->title : "");
	if (!title[0])
		snprintf(title, sizeof title, "codesim report: sweep %lld (%s)", s->id, s->name);
	res_doc_begin(d, title);
	int nok = 0, ninf = 0, nfail = 0;
	for (int i = 0; i < s->nrows; i++) {
		if (row_ok(&s->rows[i]))
			nok++;
		else if (!strcmp(s->rows[i].status, "infeasible"))
			ninf++;
		else
			nfail++;
	}
	size_t u = 0;
	u += (size_t)snprintf(buf + u, sizeof buf - u, "Sweep %lld `%s`, created %s: %d points (%d ok, %d infeasible, %d "
	                      "failed or timed out). Swept: ", s->id, s->name, s->created, s->nrows, nok, ninf, nfail);
	for (int a = 0; a < s->naxes && u < sizeof buf; a++)
		u += (size_t)snprintf(buf + u, sizeof buf - u, "%s`%s`", a ? ", " : "", s->axes[a]);
	if (u < sizeof buf)
		snprintf(buf + u, sizeof buf - u, "%s. Main metric: `%s` (%s is better).", s->naxes ? "" : "nothing",
		         s->metric, hb ? "higher" : "lower");
	res_doc_p(d, buf);
	if (o && o->command) {
		snprintf(buf, sizeof buf, "Command: `%.1000s`", o->command);
		res_doc_p(d, buf);
	}
	res_doc_plots_note(d);
	/* best point per metric */
	static const char *const best_metrics[] = {"tokens_per_s", "mfu", "time_s", "usd_per_mtok", "j_per_token"};
	res_doc_h(d, 2, "Best point per metric");
	static const char *const bcols[] = {"metric", "best", "point"};
	res_doc_table(d, 3, bcols, "lrl");
	size_t nb = sizeof best_metrics / sizeof *best_metrics;
	int main_listed = 0;
	for (size_t k = 0; k < nb; k++)
		main_listed |= !strcmp(best_metrics[k], s->metric);
	for (size_t k = 0; k < nb + !main_listed; k++) {
		const char *m = k < nb ? best_metrics[k] : s->metric;
		int best = best_row(s, m);
		char ptxt[1000];
		const char *cells[3] = {m, "-", "no ok point"};
		if (best >= 0) {
			res_fmt_num(metric_of(&s->rows[best], m), b1, sizeof b1);
			params_text(s, &s->rows[best], ptxt, sizeof ptxt);
			cells[1] = b1, cells[2] = ptxt;
		}
		res_doc_row(d, 3, cells);
	}
	int best_main = best_row(s, s->metric);
	res_doc_table_end(d);
	res_doc_h(d, 2, "The main metric over the swept axes");
	plot_over_axes(d, s, hb);
	/* points */
	res_doc_h(d, 2, "Points");
	int nc = s->naxes + 8;
	const char **cols = malloc((size_t)nc * sizeof *cols);
	const char **cells = malloc((size_t)nc * sizeof *cells);
	char(*c)[300] = malloc((size_t)nc * sizeof *c);
	char *align = malloc((size_t)nc + 1);
	if (!cols || !cells || !c || !align) {
		free(cols), free(cells), free(c), free(align);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int k = 0;
	cols[k] = "#", align[k++] = 'r';
	for (int a = 0; a < s->naxes; a++)
		cols[k] = s->axes[a], align[k++] = 'l';
	static const char *const mcols[] = {"status", "time", "tokens/s", "MFU", "$ per M tokens", "J/token",
	                                    "memory per chip"};
	for (int q = 0; q < 7; q++)
		cols[k] = mcols[q], align[k++] = q ? 'r' : 'l';
	align[k] = 0;
	res_doc_table(d, nc, cols, align);
	for (int i = 0; i < s->nrows && i < MAX_TABLE_ROWS; i++) {
		const res_sweep_row *r = &s->rows[i];
		k = 0;
		snprintf(c[k++], sizeof c[0], "%lld", r->idx >= 0 ? r->idx : i);
		for (int a = 0; a < s->naxes; a++)
			snprintf(c[k++], sizeof c[0], "%.299s", r->values[a]);
		if (row_ok(r)) {
			const res_t *x = &r->rp->r;
			snprintf(c[k++], sizeof c[0], "ok");
			res_fmt_time(x->time_s, c[k++], sizeof c[0]);
			res_fmt_num(x->tokens_per_s, c[k++], sizeof c[0]);
			snprintf(c[k++], sizeof c[0], "%.2f%%", 100 * x->mfu);
			res_fmt_num(x->usd_per_mtok, c[k++], sizeof c[0]);
			res_fmt_num(x->j_per_token, c[k++], sizeof c[0]);
			snprintf(c[k++], sizeof c[0], "%.1f GB", x->mem_total_GB);
		} else {
			snprintf(c[k++], sizeof c[0], "%s: %.250s", r->status, r->reason);
			for (int q = 1; q < 7; q++)
				snprintf(c[k++], sizeof c[0], "-");
		}
		for (int q = 0; q < nc; q++)
			cells[q] = c[q];
		res_doc_row(d, nc, cells);
	}
	res_doc_table_end(d);
	if (s->nrows > MAX_TABLE_ROWS) {
		snprintf(buf, sizeof buf, "%d more points are not listed (codesim query reads them all).",
		         s->nrows - MAX_TABLE_ROWS);
		res_doc_p(d, buf);
	}
	free(cols), free(cells), free(c), free(align);
	/* the best point in detail */
	if (best_main >= 0) {
		const res_rpoint *bp = s->rows[best_main].rp;
		char ptxt[1000];
		params_text(s, &s->rows[best_main], ptxt, sizeof ptxt);
		snprintf(buf, sizeof buf, "The best point by %s", s->metric);
		res_doc_h(d, 2, buf);
		snprintf(buf, sizeof buf, "`%.900s`: %s %s, time %s, MFU %.1f%%, on %s.", ptxt,
		         res_fmt_num(bp->r.tokens_per_s, b1, sizeof b1), "tokens/s", res_fmt_time(bp->r.time_s, b2, sizeof b2),
		         100 * bp->r.mfu, bp->label);
		res_doc_p(d, buf);
		const res_rpoint *one[1] = {bp};
		char find[4096];
		res_report_findings(one, 1, find, sizeof find);
		for (char *line = find; *line;) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = 0;
			if (*line)
				res_doc_li(d, line);
			if (!nl)
				break;
			line = nl + 1;
		}
		res_doc_list_end(d);
		if (d->plot && d->plot->available && bp->r.nkernels > 0 && (d->format == RES_DOC_HTML || d->asset_base[0])) {
			res_plot_kpoint kp[RES_MAX_KERNELS];
			int nk = 0;
			double tot = 0;
			for (int b = 0; b < BOUND_COUNT; b++)
				tot += bp->r.bound_s[b];
			for (int q = 0; q < bp->r.nkernels; q++) {
				const res_kernel *rk = &bp->r.kernels[q];
				if (rk->bound == BOUND_COMM || rk->flops <= 0 || rk->bytes <= 0 || rk->time_s <= 0)
					continue;
				kp[nk].name = rk->name, kp[nk].x = rk->flops / rk->bytes, kp[nk].y = rk->flops / rk->time_s;
				kp[nk].bound = rk->bound, kp[nk].weight = tot > 0 ? rk->count * rk->time_s / tot : 0;
				nk++;
			}
			char t[200];
			snprintf(t, sizeof t, "%s: roofline of the best point", bp->label);
			char *svg = res_plot_roofline(d->plot, t, bp->r.peak_flops, arch_mem_bw_Bps(&bp->arch), kp, nk, err, errlen);
			if (!svg)
				res_doc_p(d, err);
			res_doc_svg(d, "best-roofline", "Roofline of the best point with its kernels.", svg);
			err[0] = 0;
		}
	}
	return 0;
}
