/*
 * report.c - the architecture comparison report: per (model, phase) group a
 * table per concern (speed, memory/energy/cost, where time goes), the
 * findings in plain words, and plots (time breakdown, throughput, one
 * roofline per chip).
 *
 * Findings compare numbers that are in the tables with the chips' published
 * figures (peak FLOP/s, memory bandwidth, link bandwidth, launch overhead,
 * price): the reason given for a win is the resource behind the loser's
 * dominant bound.
 */
#include "report.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

const char *const res_metric_names[] = {"tokens_per_s", "mfu", "hfu", "time_s", "ttft_s", "tpot_s",
                                        "usd_per_mtok", "j_per_token", "tokens_per_j", "energy_j", NULL};

int res_metric(const res_t *r, const char *name, double *v, int *higher_better)
{
	static const struct {
		const char *name;
		size_t off;
		int hb;
	} m[] = {
	    {"tokens_per_s", offsetof(res_t, tokens_per_s), 1}, {"mfu", offsetof(res_t, mfu), 1},
	    {"hfu", offsetof(res_t, hfu), 1}, {"time_s", offsetof(res_t, time_s), 0},
	    {"ttft_s", offsetof(res_t, ttft_s), 0}, {"tpot_s", offsetof(res_t, tpot_s), 0},
	    {"usd_per_mtok", offsetof(res_t, usd_per_mtok), 0}, {"j_per_token", offsetof(res_t, j_per_token), 0},
	    {"tokens_per_j", offsetof(res_t, tokens_per_j), 1}, {"energy_j", offsetof(res_t, energy_j), 0},
	};
	for (size_t i = 0; i < sizeof m / sizeof *m; i++)
		if (!strcmp(name, m[i].name)) {
			if (v)
				memcpy(v, (const char *)r + m[i].off, sizeof *v);
			if (higher_better)
				*higher_better = m[i].hb;
			return 0;
		}
	return -1;
}

/* ---- small text helpers ------------------------------------------------- */

typedef struct {
	char *buf;
	size_t len, used;
} sbuf;

static void sb_add(sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_add(sbuf *s, const char *fmt, ...)
{
	if (s->used >= s->len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(s->buf + s->used, s->len - s->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		s->used = s->used + (size_t)n < s->len ? s->used + (size_t)n : s->len - 1;
}

static const char *fmt_time(double s, char *buf, size_t len)
{
	return res_fmt_time(s, buf, len);
}

static const char *fmt_pct(double f, char *buf, size_t len)
{
	snprintf(buf, len, f >= 0.1 ? "%.1f%%" : "%.2f%%", 100 * f);
	return buf;
}

static const char *layout(const res_t *r, char *buf, size_t len)
{
	sbuf s = {buf, len, 0};
	buf[0] = 0;
	sb_add(&s, "%d", r->chips);
	int first = 1;
	const struct {
		const char *n;
		int v;
	} deg[] = {{"tp", r->tp}, {"pp", r->pp}, {"dp", r->dp}, {"ep", r->ep}};
	for (size_t i = 0; i < sizeof deg / sizeof *deg; i++)
		if (deg[i].v > 1) {
			sb_add(&s, "%s%s %d", first ? " (" : ", ", deg[i].n, deg[i].v);
			first = 0;
		}
	if (!first)
		sb_add(&s, ")");
	return buf;
}

static const char *phase_verb(int phase)
{
	static const char *const v[] = {"trains", "prefills", "decodes", "serves"};
	return phase >= 0 && phase < 4 ? v[phase] : "runs";
}

static const char *tokens_name(int phase)
{
	static const char *const v[] = {"tokens/s trained", "prompt tokens/s", "output tokens/s", "output tokens/s"};
	return phase >= 0 && phase < 4 ? v[phase] : "tokens/s";
}

static double bound_total(const res_t *r)
{
	double t = 0;
	for (int b = 0; b < BOUND_COUNT; b++)
		t += r->bound_s[b];
	return t;
}

static int dominant_bound(const res_t *r)
{
	int best = 0;
	for (int b = 1; b < BOUND_COUNT; b++)
		if (r->bound_s[b] > r->bound_s[best])
			best = b;
	return best;
}

/* What limits a bound, per chip, with its name and unit. */
static double resource(const res_rpoint *p, int bound, char *name, size_t nlen, char *val, size_t vlen)
{
	const arch_t *a = &p->arch;
	double v = 0;
	switch (bound) {
	case BOUND_COMPUTE:
		v = p->r.peak_flops;
		snprintf(name, nlen, "dense %s peak", arch_dtype_names[p->r.dtype]);
		snprintf(val, vlen, "%.0f TFLOP/s", v / 1e12);
		break;
	case BOUND_MEMORY:
		v = arch_mem_bw_Bps(a);
		snprintf(name, nlen, "memory bandwidth");
		snprintf(val, vlen, "%.3g TB/s %s", v / 1e12, arch_has_hbm(a) ? "HBM" : "on-chip SRAM");
		break;
	case BOUND_COMM:
		v = a->system.scaleup_bandwidth_GBps * 1e9;
		snprintf(name, nlen, "chip-to-chip link bandwidth");
		snprintf(val, vlen, "%.0f GB/s", v / 1e9);
		break;
	default:
		/* launch and sync gaps: the shorter, the better */
		v = a->sched.launch_overhead_us > 0 ? 1.0 / a->sched.launch_overhead_us : 0;
		snprintf(name, nlen, "per-kernel overhead");
		snprintf(val, vlen, "%.2g us", a->sched.launch_overhead_us);
		break;
	}
	return v;
}

/* ---- findings ------------------------------------------------------------- */

static int by_tps_desc(const void *a, const void *b)
{
	const res_rpoint *x = *(const res_rpoint *const *)a, *y = *(const res_rpoint *const *)b;
	return (x->r.tokens_per_s < y->r.tokens_per_s) - (x->r.tokens_per_s > y->r.tokens_per_s);
}

static void finding_speed(sbuf *s, const res_rpoint *w, const res_rpoint *l)
{
	char b1[32], b2[32], rn[64], wv[48], lv[48], rn2[64];
	double ratio = l->r.tokens_per_s > 0 ? w->r.tokens_per_s / l->r.tokens_per_s : INFINITY;
	sb_add(s, "**%s** %s %.2fx faster than %s (%s vs %s %s", w->label, phase_verb(w->r.phase), ratio, l->label,
	       res_fmt_num(w->r.tokens_per_s, b1, sizeof b1), res_fmt_num(l->r.tokens_per_s, b2, sizeof b2),
	       tokens_name(w->r.phase));
	if (w->r.chips != l->r.chips)
		sb_add(s, " on %d vs %d chips", w->r.chips, l->r.chips);
	sb_add(s, ")");
	int b = dominant_bound(&l->r);
	double tot = bound_total(&l->r);
	double share = tot > 0 ? l->r.bound_s[b] / tot : 0;
	double rw = resource(w, b, rn, sizeof rn, wv, sizeof wv);
	double rl = resource(l, b, rn2, sizeof rn2, lv, sizeof lv);
	/* a system's compute and memory add up over its chips */
	double sys_w = rw, sys_l = rl;
	if (b == BOUND_COMPUTE || b == BOUND_MEMORY)
		sys_w *= w->r.chips, sys_l *= l->r.chips;
	sb_add(s, ": on %s the step is %s-bound (%.0f%% of kernel time)", l->label, res_bound_names[b], 100 * share);
	if (sys_l > 0 && sys_w > sys_l * 1.02) {
		if (b == BOUND_LATENCY)
			sb_add(s, " and %s pays less per kernel (%s vs %s launch/dispatch overhead)", w->label, wv, lv);
		else if (w->r.chips != l->r.chips && (b == BOUND_COMPUTE || b == BOUND_MEMORY))
			sb_add(s, " and %s has %.2fx the %s over its chips (%d x %s vs %d x %s)", w->label, sys_w / sys_l, rn,
			       w->r.chips, wv, l->r.chips, lv);
		else
			sb_add(s, " and %s has %.2fx the %s (%s vs %s)", w->label, sys_w / sys_l, rn, wv, lv);
	} else {
		double tw = w->r.bound_s[b], tl = l->r.bound_s[b];
		sb_add(s, "; %s does not have more %s (%s vs %s) but spends %s vs %s per step in %s-bound kernels "
		          "(better tiling fit or fewer bytes moved)",
		       w->label, rn, wv, lv, fmt_time(tw, b1, sizeof b1), fmt_time(tl, b2, sizeof b2), res_bound_names[b]);
	}
	sb_add(s, ".\n");
}

int res_report_findings(const res_rpoint *const *pts, int n, char *buf, size_t len)
{
	sbuf s = {buf, len, 0};
	int count = 0;
	if (len)
		buf[0] = 0;
	const res_rpoint *ok[64];
	int nok = 0;
	for (int i = 0; i < n && nok < 64; i++)
		if (pts[i]->r.feasible)
			ok[nok++] = pts[i];
	qsort(ok, (size_t)nok, sizeof *ok, by_tps_desc);
	char b1[48], b2[48], b3[48];
	if (nok == 0 && n > 0) {
		sb_add(&s, "No chip can run this point as given; see the reasons below.\n");
		count++;
	} else if (nok == 1 && n > 1) {
		sb_add(&s, "Only **%s** can run this point as given (%s %s).\n", ok[0]->label,
		       res_fmt_num(ok[0]->r.tokens_per_s, b1, sizeof b1), tokens_name(ok[0]->r.phase));
		count++;
	}
	if (nok >= 2) {
		int mixed = 0;
		for (int i = 1; i < nok; i++)
			mixed |= ok[i]->r.dtype != ok[0]->r.dtype;
		if (mixed) {
			sb_add(&s, "Data types differ:");
			for (int dt = 0; dt < DT_COUNT; dt++) {
				int k = 0;
				for (int i = 0; i < nok; i++)
					if (ok[i]->r.dtype == dt)
						sb_add(&s, "%s %s", k++ ? "," : (dt ? ";" : ""), ok[i]->label);
				if (k)
					sb_add(&s, " run%s %s", k == 1 ? "s" : "", arch_dtype_names[dt]);
			}
			sb_add(&s, ". A narrower type moves fewer bytes per weight and may have a higher peak, so part of a "
			           "difference below is the data type, not the chip.\n");
			count++;
		}
		finding_speed(&s, ok[0], ok[1]);
		count++;
		if (nok >= 3) {
			sb_add(&s, "Ranking by %s: ", tokens_name(ok[0]->r.phase));
			for (int i = 0; i < nok; i++)
				sb_add(&s, "%s%s %s", i ? ", " : "", ok[i]->label, res_fmt_num(ok[i]->r.tokens_per_s, b1, sizeof b1));
			sb_add(&s, "; %s is %.2fx faster than %s, the slowest.\n", ok[0]->label,
			       ok[nok - 1]->r.tokens_per_s > 0 ? ok[0]->r.tokens_per_s / ok[nok - 1]->r.tokens_per_s : 0,
			       ok[nok - 1]->label);
			count++;
		}
		/* per chip, when the systems differ in size */
		int best_pc = 0, differ = 0;
		for (int i = 1; i < nok; i++) {
			differ |= ok[i]->r.chips != ok[0]->r.chips;
			if (ok[i]->r.tokens_per_s / ok[i]->r.chips > ok[best_pc]->r.tokens_per_s / ok[best_pc]->r.chips)
				best_pc = i;
		}
		if (differ && best_pc != 0) {
			sb_add(&s, "Per chip, **%s** does the most work: %s %s per chip vs %s on %s, which uses %d chips.\n",
			       ok[best_pc]->label, res_fmt_num(ok[best_pc]->r.tokens_per_s / ok[best_pc]->r.chips, b1, sizeof b1),
			       tokens_name(ok[0]->r.phase), res_fmt_num(ok[0]->r.tokens_per_s / ok[0]->r.chips, b2, sizeof b2),
			       ok[0]->label, ok[0]->r.chips);
			count++;
		}
		/* latency where it differs from the throughput winner (serve) */
		if (ok[0]->r.phase == PH_SERVE) {
			int bt = 0, bp = 0;
			for (int i = 1; i < nok; i++) {
				if (ok[i]->r.ttft_s < ok[bt]->r.ttft_s)
					bt = i;
				if (ok[i]->r.tpot_s < ok[bp]->r.tpot_s)
					bp = i;
			}
			sb_add(&s, "Lowest TTFT: **%s** (%s); lowest TPOT: **%s** (%s).\n", ok[bt]->label,
			       fmt_time(ok[bt]->r.ttft_s, b1, sizeof b1), ok[bp]->label, fmt_time(ok[bp]->r.tpot_s, b2, sizeof b2));
			count++;
		}
		/* MFU */
		int bm = 0;
		for (int i = 1; i < nok; i++)
			if (ok[i]->r.mfu > ok[bm]->r.mfu)
				bm = i;
		int bnd = dominant_bound(&ok[bm]->r);
		sb_add(&s, "Highest MFU: **%s** at %s of its %.0f TFLOP/s %s peak", ok[bm]->label,
		       fmt_pct(ok[bm]->r.mfu, b1, sizeof b1), ok[bm]->r.peak_flops / 1e12, arch_dtype_names[ok[bm]->r.dtype]);
		if (bnd != BOUND_COMPUTE && ok[bm]->r.mfu < 0.2)
			sb_add(&s, " (low everywhere: the step is %s-bound, so the matrix units mostly wait)", res_bound_names[bnd]);
		sb_add(&s, ".\n");
		count++;
		/* cost */
		int bc = -1, bc2 = -1;
		for (int i = 0; i < nok; i++) {
			if (ok[i]->r.usd_per_mtok <= 0)
				continue;
			if (bc < 0 || ok[i]->r.usd_per_mtok < ok[bc]->r.usd_per_mtok)
				bc2 = bc, bc = i;
			else if (bc2 < 0 || ok[i]->r.usd_per_mtok < ok[bc2]->r.usd_per_mtok)
				bc2 = i;
		}
		if (bc >= 0) {
			sb_add(&s, "Cheapest per token: **%s** at $%s per million tokens", ok[bc]->label,
			       res_fmt_num(ok[bc]->r.usd_per_mtok, b1, sizeof b1));
			if (bc2 >= 0)
				sb_add(&s, ", %.2fx less than %s ($%s)", ok[bc2]->r.usd_per_mtok / ok[bc]->r.usd_per_mtok,
				       ok[bc2]->label, res_fmt_num(ok[bc2]->r.usd_per_mtok, b2, sizeof b2));
			sb_add(&s, ": $%.3g per chip-hour x %d chips for %s %s.\n", ok[bc]->arch.cost.usd_per_hour,
			       ok[bc]->r.chips, res_fmt_num(ok[bc]->r.tokens_per_s, b3, sizeof b3), tokens_name(ok[bc]->r.phase));
			count++;
		}
		/* energy */
		int be = -1, be2 = -1;
		for (int i = 0; i < nok; i++) {
			if (ok[i]->r.tokens_per_j <= 0)
				continue;
			if (be < 0 || ok[i]->r.tokens_per_j > ok[be]->r.tokens_per_j)
				be2 = be, be = i;
			else if (be2 < 0 || ok[i]->r.tokens_per_j > ok[be2]->r.tokens_per_j)
				be2 = i;
		}
		if (be >= 0) {
			sb_add(&s, "Most energy-efficient: **%s** with %s tokens/J (%s J/token)", ok[be]->label,
			       res_fmt_num(ok[be]->r.tokens_per_j, b1, sizeof b1), res_fmt_num(ok[be]->r.j_per_token, b2, sizeof b2));
			if (be2 >= 0)
				sb_add(&s, ", %.2fx %s", ok[be]->r.tokens_per_j / ok[be2]->r.tokens_per_j, ok[be2]->label);
			sb_add(&s, " (%.0f W per chip on average).\n", ok[be]->r.avg_power_w);
			count++;
		}
		/* memory headroom */
		int bh = -1;
		for (int i = 0; i < nok; i++)
			if (ok[i]->r.mem_capacity_GB > 0 &&
			    (bh < 0 || ok[i]->r.mem_capacity_GB - ok[i]->r.mem_total_GB >
			                   ok[bh]->r.mem_capacity_GB - ok[bh]->r.mem_total_GB))
				bh = i;
		if (bh >= 0) {
			sb_add(&s, "Most memory headroom: **%s** uses %.1f of %.0f GB per chip, %.1f GB left for a larger batch "
			           "or a longer context.\n",
			       ok[bh]->label, ok[bh]->r.mem_total_GB, ok[bh]->r.mem_capacity_GB,
			       ok[bh]->r.mem_capacity_GB - ok[bh]->r.mem_total_GB);
			count++;
		}
	}
	for (int i = 0; i < n; i++) {
		const res_rpoint *p = pts[i];
		if (p->r.feasible)
			continue;
		if (!strcmp(p->status, "infeasible")) {
			sb_add(&s, "**%s** cannot run this point: %s.", p->label, p->r.reason);
			if (p->fit_chips > 0)
				sb_add(&s, " It needs %d chips to hold the model: %s (`--fit` runs it).", p->fit_chips, p->hint);
			else if (p->hint[0])
				sb_add(&s, " %s.", p->hint);
			sb_add(&s, "\n");
		} else {
			sb_add(&s, "**%s** did not finish (%s): %s.\n", p->label, p->status, p->r.reason);
		}
		count++;
	}
	return count;
}

/* ---- tables --------------------------------------------------------------- */

static void scenario_text(const res_t *r, char *buf, size_t len)
{
	sbuf s = {buf, len, 0};
	switch (r->phase) {
	case PH_TRAIN:
		sb_add(&s, "training step: global batch %d sequences of %d tokens, micro-batch %d, recompute %s, ZeRO %d",
		       r->batch, r->seq, r->micro_batch, wl_recompute_names[r->recompute], r->zero);
		break;
	case PH_PREFILL:
		sb_add(&s, "prefill: %d prompt%s of %d tokens (time = TTFT)", r->batch, r->batch == 1 ? "" : "s", r->seq);
		break;
	case PH_DECODE:
		sb_add(&s, "decode: one token for each of %d sequence%s with %d tokens of KV cache (time = TPOT)", r->batch,
		       r->batch == 1 ? "" : "s", r->context);
		break;
	default:
		sb_add(&s, "serve: %d request%s of %d input and %d output tokens, end to end", r->batch,
		       r->batch == 1 ? "" : "s", r->seq, r->gen);
	}
	sb_add(&s, "; %s, fusion %s", arch_dtype_names[r->dtype], wl_fusion_names[r->fusion]);
}

static void table_speed(res_doc *d, const res_rpoint *const *g, int n)
{
	int ph = g[0]->r.phase;
	const char *cols[9];
	int nc = 0;
	cols[nc++] = "chip";
	cols[nc++] = "chips";
	if (ph == PH_TRAIN)
		cols[nc++] = "step time";
	else if (ph == PH_PREFILL)
		cols[nc++] = "TTFT";
	else if (ph == PH_DECODE)
		cols[nc++] = "TPOT (step)";
	else {
		cols[nc++] = "end to end";
		cols[nc++] = "TTFT";
		cols[nc++] = "TPOT";
	}
	cols[nc++] = tokens_name(ph);
	cols[nc++] = "per chip";
	cols[nc++] = "MFU";
	cols[nc++] = "HFU";
	res_doc_table(d, nc, cols, ph == PH_SERVE ? "lrrrrrrrr" : "lrrrrrr");
	for (int i = 0; i < n; i++) {
		const res_t *r = &g[i]->r;
		char c[9][112];
		const char *cells[9];
		int k = 0;
		snprintf(c[k], sizeof c[k], "%s", g[i]->label), k++;
		layout(r, c[k], sizeof c[k]), k++;
		if (!r->feasible) {
			snprintf(c[k], sizeof c[k], "%s", g[i]->status), k++;
			while (k < nc)
				snprintf(c[k], sizeof c[k], "-"), k++;
		} else {
			fmt_time(r->time_s, c[k], sizeof c[k]), k++;
			if (ph == PH_SERVE) {
				fmt_time(r->ttft_s, c[k], sizeof c[k]), k++;
				fmt_time(r->tpot_s, c[k], sizeof c[k]), k++;
			}
			res_fmt_num(r->tokens_per_s, c[k], sizeof c[k]), k++;
			res_fmt_num(r->tokens_per_s / r->chips, c[k], sizeof c[k]), k++;
			fmt_pct(r->mfu, c[k], sizeof c[k]), k++;
			fmt_pct(r->hfu, c[k], sizeof c[k]), k++;
		}
		for (int j = 0; j < nc; j++)
			cells[j] = c[j];
		res_doc_row(d, nc, cells);
	}
	res_doc_table_end(d);
}

static void table_cost(res_doc *d, const res_rpoint *const *g, int n)
{
	static const char *const cols[] = {"chip", "memory per chip", "capacity", "fits", "J/token", "tokens/J",
	                                   "W per chip", "$ per M tokens"};
	res_doc_table(d, 8, cols, "lrrlrrrr");
	for (int i = 0; i < n; i++) {
		const res_t *r = &g[i]->r;
		char c[8][300];
		const char *cells[8];
		snprintf(c[0], sizeof c[0], "%s", g[i]->label);
		snprintf(c[1], sizeof c[1], "%.1f GB", r->mem_total_GB);
		snprintf(c[2], sizeof c[2], "%.4g GB", r->mem_capacity_GB);
		if (r->feasible)
			snprintf(c[3], sizeof c[3], "yes (%.0f%%)",
			         r->mem_capacity_GB > 0 ? 100 * r->mem_total_GB / r->mem_capacity_GB : 0);
		else
			snprintf(c[3], sizeof c[3], "no: %.280s", r->reason);
		if (r->feasible) {
			res_fmt_num(r->j_per_token, c[4], sizeof c[4]);
			res_fmt_num(r->tokens_per_j, c[5], sizeof c[5]);
			snprintf(c[6], sizeof c[6], "%.0f", r->avg_power_w);
			res_fmt_num(r->usd_per_mtok, c[7], sizeof c[7]);
		} else {
			for (int j = 4; j < 8; j++)
				snprintf(c[j], sizeof c[j], "-");
		}
		for (int j = 0; j < 8; j++)
			cells[j] = c[j];
		res_doc_row(d, 8, cells);
	}
	res_doc_table_end(d);
}

static void table_time(res_doc *d, const res_rpoint *const *g, int n)
{
	static const char *const cols[] = {"chip", "compute", "memory", "latency", "comm", "kernel time / step",
	                                   "top kernel (share of time)"};
	res_doc_table(d, 7, cols, "lrrrrrl");
	for (int i = 0; i < n; i++) {
		const res_t *r = &g[i]->r;
		if (!r->feasible)
			continue;
		char c[7][96];
		const char *cells[7];
		double tot = bound_total(r);
		snprintf(c[0], sizeof c[0], "%s", g[i]->label);
		for (int b = 0; b < BOUND_COUNT; b++)
			fmt_pct(tot > 0 ? r->bound_s[b] / tot : 0, c[1 + b], sizeof c[1 + b]);
		fmt_time(tot, c[5], sizeof c[5]);
		int top = -1;
		for (int k = 0; k < r->nkernels; k++)
			if (top < 0 || r->kernels[k].count * r->kernels[k].time_s > r->kernels[top].count * r->kernels[top].time_s)
				top = k;
		if (top >= 0)
			snprintf(c[6], sizeof c[6], "%s, %s-bound (%.0f%%)", r->kernels[top].name,
			         res_bound_names[r->kernels[top].bound],
			         tot > 0 ? 100 * r->kernels[top].count * r->kernels[top].time_s / tot : 0);
		else
			snprintf(c[6], sizeof c[6], "-");
		for (int j = 0; j < 7; j++)
			cells[j] = c[j];
		res_doc_row(d, 7, cells);
	}
	res_doc_table_end(d);
}

/* ---- plots of a group ------------------------------------------------------ */

static int can_plot(const res_doc *d)
{
	return d->plot && d->plot->available && (d->format == RES_DOC_HTML || d->asset_base[0]);
}

static void plot_rooflines(res_doc *d, const res_rpoint *const *g, int n, const char *gname);

/* The time breakdown and throughput of a group, side by side. */
static void plot_group(res_doc *d, const res_rpoint *const *g, int n, const char *gname)
{
	if (!can_plot(d))
		return;
	char err[300], title[400], cap[512];
	const char *labels[64];
	double vals[64 * BOUND_COUNT], tps[64];
	int nb = 0;
	for (int i = 0; i < n && nb < 64; i++) {
		if (!g[i]->r.feasible)
			continue;
		labels[nb] = g[i]->label;
		for (int b = 0; b < BOUND_COUNT; b++)
			vals[nb * BOUND_COUNT + b] = g[i]->r.bound_s[b] * 1e3;
		tps[nb] = g[i]->r.tokens_per_s / g[i]->r.chips;
		nb++;
	}
	if (nb == 0)
		return;
	snprintf(title, sizeof title, "%s: where time goes (one chip, per step)", gname);
	char *svg = res_plot_stacked(d->plot, title, "kernel time per step (ms)", nb, labels, BOUND_COUNT,
	                             res_bound_names, vals, err, sizeof err);
	snprintf(cap, sizeof cap, "Time breakdown: serial kernel time of one chip per step, by what bounds each "
	                          "kernel (compute, memory, latency: launch/sync/fill, comm: collectives).");
	if (!svg)
		res_doc_p(d, err);
	res_doc_svg(d, "breakdown", cap, svg);
	static const char *const one[] = {"per chip"};
	snprintf(title, sizeof title, "%s: %s per chip", gname, tokens_name(g[0]->r.phase));
	svg = res_plot_stacked(d->plot, title, tokens_name(g[0]->r.phase), nb, labels, 1, one, tps, err, sizeof err);
	if (!svg)
		res_doc_p(d, err);
	res_doc_svg(d, "throughput", "Throughput per chip (system tokens/s divided by its chips).", svg);
}

/* One roofline per chip with the step's kernels on it. */
static void plot_rooflines(res_doc *d, const res_rpoint *const *g, int n, const char *gname)
{
	char err[300], title[400], cap[512];
	char *svg;
	if (!can_plot(d))
		return;
	for (int i = 0; i < n; i++) {
		const res_t *r = &g[i]->r;
		if (!r->feasible)
			continue;
		res_plot_kpoint kp[RES_MAX_KERNELS];
		int nk = 0;
		double tot = bound_total(r);
		for (int k = 0; k < r->nkernels; k++) {
			const res_kernel *rk = &r->kernels[k];
			if (rk->bound == BOUND_COMM || rk->flops <= 0 || rk->bytes <= 0 || rk->time_s <= 0)
				continue;
			kp[nk].name = rk->name;
			kp[nk].x = rk->flops / rk->bytes;
			kp[nk].y = rk->flops / rk->time_s;
			kp[nk].bound = rk->bound;
			kp[nk].weight = tot > 0 ? rk->count * rk->time_s / tot : 0;
			nk++;
		}
		snprintf(title, sizeof title, "%s: roofline, %s (%s)", g[i]->label, gname, arch_dtype_names[r->dtype]);
		svg = res_plot_roofline(d->plot, title, r->peak_flops, arch_mem_bw_Bps(&g[i]->arch), kp, nk, err, sizeof err);
		snprintf(cap, sizeof cap,
		         "Roofline of %s: attainable FLOP/s = min(%.0f TFLOP/s, %.3g TB/s x FLOP/byte); ridge at %.0f "
		         "FLOP/byte. Each dot is a kernel of the step (size: its share of time).",
		         g[i]->label, r->peak_flops / 1e12, arch_mem_bw_Bps(&g[i]->arch) / 1e12,
		         r->peak_flops / arch_mem_bw_Bps(&g[i]->arch));
		if (!svg)
			res_doc_p(d, err);
		char name[80];
		snprintf(name, sizeof name, "roofline-%s", g[i]->arch.name);
		res_doc_svg(d, name, cap, svg);
	}
}

/* ---- the report ------------------------------------------------------------ */

int res_report_compare(res_doc *d, const res_rpoint *pts, int n, const res_report_opts *o, char *err,
                       size_t errlen)
{
	if (n <= 0) {
		snprintf(err, errlen, "no points to report");
		return -1;
	}
	const res_rpoint **g = malloc((size_t)n * sizeof *g);
	int *done = calloc((size_t)n, sizeof *done);
	char *find = malloc(16384);
	if (!g || !done || !find) {
		free(g), free(done), free(find);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	char title[512], buf[1024];
	if (o && o->title) {
		snprintf(title, sizeof title, "%s", o->title);
	} else {
		sbuf s = {title, sizeof title, 0};
		sb_add(&s, "codesim compare: ");
		/* the distinct archs, models, phases in order */
		for (int i = 0, k = 0; i < n; i++) {
			int seen = 0;
			for (int j = 0; j < i; j++)
				seen |= !strcmp(pts[j].r.model, pts[i].r.model);
			if (!seen)
				sb_add(&s, "%s%s", k++ ? ", " : "", pts[i].r.model);
		}
		sb_add(&s, " on ");
		for (int i = 0, k = 0; i < n; i++) {
			int seen = 0;
			for (int j = 0; j < i; j++)
				seen |= !strcmp(pts[j].label, pts[i].label);
			if (!seen)
				sb_add(&s, "%s%s", k++ ? ", " : "", pts[i].label);
		}
	}
	res_doc_begin(d, title);
	if (o && o->command) {
		snprintf(buf, sizeof buf, "Command: `%.900s`", o->command);
		res_doc_p(d, buf);
	}
	res_doc_p(d, "Every number below is what `codesim run --json` gives for the same design point. Time is per "
	             "step: a training step, a prefill (TTFT), one decode step (TPOT) or a served request end to end; "
	             "tokens/s is for the whole system. Findings are computed from these numbers and the chips' "
	             "published figures.");
	res_doc_plots_note(d);
	for (int i = 0; i < n; i++) {
		if (done[i])
			continue;
		int ng = 0;
		for (int j = i; j < n; j++)
			if (!done[j] && !strcmp(pts[j].r.model, pts[i].r.model) && pts[j].r.phase == pts[i].r.phase) {
				g[ng++] = &pts[j];
				done[j] = 1;
			}
		char gname[160], scen[400];
		snprintf(gname, sizeof gname, "%s %s", pts[i].r.model, wl_phase_names[pts[i].r.phase]);
		res_doc_h(d, 2, gname);
		scenario_text(&pts[i].r, scen, sizeof scen);
		snprintf(buf, sizeof buf, "Scenario: %s. Model: %.1fB parameters (%.1fB active per token).", scen,
		         pts[i].r.params_B, pts[i].r.active_params_B);
		res_doc_p(d, buf);
		res_doc_h(d, 3, "Which chip wins for what, and why");
		res_report_findings(g, ng, find, 16384);
		for (char *line = find, *nl; *line; line = nl + 1) {
			nl = strchr(line, '\n');
			if (!nl)
				nl = line + strlen(line) - 1;
			char save = nl[0];
			nl[0] = 0;
			if (*line)
				res_doc_li(d, line);
			nl[0] = save;
			if (!save)
				break;
		}
		res_doc_list_end(d);
		res_doc_h(d, 3, "Speed");
		table_speed(d, g, ng);
		plot_group(d, g, ng, gname);
		res_doc_h(d, 3, "Memory, energy and cost");
		table_cost(d, g, ng);
		int any = 0;
		for (int k = 0; k < ng; k++)
			any |= g[k]->r.feasible;
		if (any) {
			res_doc_h(d, 3, "Where the time goes");
			res_doc_p(d, "Share of one chip's serial kernel time per step by what bounds each kernel: compute "
			             "(matrix/vector units), memory (HBM, or SRAM on an LPU), latency (launch, sync, fill/drain, "
			             "too few tiles) and comm (collectives on the links).");
			table_time(d, g, ng);
			if (can_plot(d))
				res_doc_h(d, 3, "Rooflines");
			plot_rooflines(d, g, ng, gname);
		}
	}
	free(g), free(done), free(find);
	return 0;
}
