/*
 * recommend.c - model shapes near a parameter budget, ranked on a chip.
 *
 * Enumerate: d_model in multiples of 64 over a range of aspect ratios
 * (d_model / n_layers in [64, 256], where published dense and MoE models
 * sit), head_dim in {64, 128, 256} with n_heads = d_model / head_dim, KV
 * heads keeping the base's group size (or 8), d_ff around 8/3 d_model
 * (gated FFN; 4 d_model plain; and the base's own ratio) rounded to
 * multiples of 64, 128, 256 and of the matrix unit's width, vocab as the
 * base's (and rounded up to the unit x tp), MoE: experts and top-k around
 * the base's; n_layers solved to hit the target exactly (parameters are
 * linear in n_layers, so two wl_params_total calls give the slope).  Keep
 * the shapes within the tolerance whose heads and FFN divide by tp (and
 * layers by pp, experts by ep).
 *
 * Pre-filter (when there are more than max_sim): an analytic fill of the
 * matrix unit, FLOP-weighted over the layer's GEMMs (how much of each
 * tile/fold is real work), then closeness to the target.  The survivors
 * are simulated in forked workers, exactly as `codesim run` would.
 *
 * Ranking: by the metric at the target size.  Within a +-5% budget a
 * smaller model is faster simply because it is smaller, which would hide
 * the hardware fit that the question is about; so throughput is scaled by
 * params / target (and cost and TTFT by target / params) before ranking.
 * MFU needs no scaling.  --raw ranks by the metric as simulated.
 */
#include "compare.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const xp_rec_metric_names[] = {"tokens_per_s", "mfu", "usd_per_mtok", "ttft", NULL};

static long cdivl(long a, long b) { return (a + b - 1) / b; }
static double fill(long x, long u) { return x > 0 && u > 0 ? (double)x / (double)(cdivl(x, u) * u) : 1.0; }

static int gated(const wl_model *m) { return m->gated_ffn; }

/* Apply a candidate to a copy of the base model. */
static void cand_model(const xp_rec *rec, const xp_rec_cand *c, wl_model *m)
{
	*m = rec->model;
	m->d_model = c->d_model;
	m->n_heads = c->n_heads;
	m->head_dim = c->head_dim;
	m->n_kv_heads = c->n_kv_heads;
	m->n_layers = c->n_layers;
	m->vocab = c->vocab;
	if (rec->model.n_experts) {
		m->expert_d_ff = c->d_ff;
		if (rec->model.n_dense_layers == 0)
			m->d_ff = c->d_ff;
		m->n_experts = c->n_experts;
		m->top_k = c->top_k;
	} else {
		m->d_ff = c->d_ff;
	}
}

int xp_rec_sets(const xp_rec *rec, const xp_rec_cand *c, char sets[][160], int max)
{
	int n = 0;
#define SET(...)                                                                                                       \
	do {                                                                                                           \
		if (n < max)                                                                                           \
			snprintf(sets[n++], 160, __VA_ARGS__);                                                         \
	} while (0)
	SET("model.d_model=%d", c->d_model);
	SET("model.n_heads=%d", c->n_heads);
	SET("model.head_dim=%d", c->head_dim);
	SET("model.n_kv_heads=%d", c->n_kv_heads);
	if (rec->model.n_experts) {
		SET("model.expert_d_ff=%d", c->d_ff);
		if (rec->model.n_dense_layers == 0)
			SET("model.d_ff=%d", c->d_ff);
		SET("model.n_experts=%d", c->n_experts);
		SET("model.top_k=%d", c->top_k);
	} else {
		SET("model.d_ff=%d", c->d_ff);
	}
	SET("model.n_layers=%d", c->n_layers);
	SET("model.vocab=%d", c->vocab);
#undef SET
	return n;
}

/* The GEMMs of one layer on one chip: n (output width) and k (depth), and
 * FLOP weights (per token, one chip). */
typedef struct {
	const char *name;
	long n, k;
	double w;
} gemm_dim;

static int layer_gemms(const xp_rec *rec, const xp_rec_cand *c, gemm_dim *g)
{
	int tp = rec->sc.tp > 0 ? rec->sc.tp : 1;
	long hd = c->head_dim, h = c->n_heads / tp, kv = c->n_kv_heads / tp > 0 ? c->n_kv_heads / tp : 1;
	long dff = c->d_ff / tp;
	double experts = rec->model.n_experts ? c->top_k : 1;
	int k = 0;
	g[k++] = (gemm_dim){"qkv-proj", (h + 2 * kv) * hd, c->d_model, (double)(h + 2 * kv) * hd * c->d_model};
	g[k++] = (gemm_dim){"o-proj", c->d_model, h * hd, (double)h * hd * c->d_model};
	g[k++] = (gemm_dim){"ffn-gate-up", (gated(&rec->model) ? 2 : 1) * dff, c->d_model,
	                    experts * (gated(&rec->model) ? 2 : 1) * dff * c->d_model};
	g[k++] = (gemm_dim){"ffn-down", c->d_model, dff, experts * dff * c->d_model};
	g[k++] = (gemm_dim){"lm-head", c->vocab / tp, c->d_model,
	                    (double)c->vocab / tp * c->d_model / (c->n_layers > 0 ? c->n_layers : 1)};
	/* attention: QK^T has depth head_dim, PV has width head_dim */
	g[k++] = (gemm_dim){"attention", hd, hd, 0.1 * (double)h * hd * c->d_model};
	return k;
}

static double align_score(const xp_rec *rec, const xp_rec_cand *c)
{
	gemm_dim g[8];
	int n = layer_gemms(rec, c, g);
	double num = 0, den = 0;
	for (int i = 0; i < n; i++) {
		num += g[i].w * fill(g[i].n, rec->unit_n) * fill(g[i].k, rec->unit_k);
		den += g[i].w;
	}
	return den > 0 ? num / den : 1;
}

/* ---- enumeration -------------------------------------------------------------- */

typedef struct {
	xp_rec_cand *v;
	int n, cap;
} cand_list;

static int push(cand_list *l, const xp_rec_cand *c)
{
	for (int i = 0; i < l->n; i++) {
		const xp_rec_cand *o = &l->v[i];
		if (o->d_model == c->d_model && o->n_heads == c->n_heads && o->head_dim == c->head_dim &&
		    o->n_kv_heads == c->n_kv_heads && o->d_ff == c->d_ff && o->n_layers == c->n_layers &&
		    o->vocab == c->vocab && o->n_experts == c->n_experts && o->top_k == c->top_k)
			return 0;
	}
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 256;
		xp_rec_cand *v = realloc(l->v, (size_t)cap * sizeof *v);
		if (!v)
			return -1;
		l->v = v, l->cap = cap;
	}
	l->v[l->n++] = *c;
	return 0;
}

static int add_unique(int *v, int n, int max, int x)
{
	if (x <= 0)
		return n;
	for (int i = 0; i < n; i++)
		if (v[i] == x)
			return n;
	if (n < max)
		v[n++] = x;
	return n;
}

static long round_to(double x, long q) { return (long)floor(x / q + 0.5) * q; }

/* Solve n_layers for the target and push the legal shapes within tolerance. */
static int solve_layers(xp_rec *rec, cand_list *l, xp_rec_cand c)
{
	wl_model m;
	int pp = rec->sc.pp > 0 ? rec->sc.pp : 1;
	c.n_layers = 1;
	cand_model(rec, &c, &m);
	m.n_dense_layers = 0;
	double p1 = wl_params_total(&m);
	m.n_layers = 2;
	double slope = wl_params_total(&m) - p1;
	if (slope <= 0)
		return 0;
	double lstar = 1 + (rec->target - p1) / slope;
	int lo = (int)floor(lstar), hi = (int)ceil(lstar);
	int tries[4] = {lo, hi, 0, 0}, nt = 2;
	if (pp > 1) {
		tries[0] = (int)(floor(lstar / pp) * pp), tries[1] = (int)(ceil(lstar / pp) * pp);
	}
	(void)nt;
	for (int t = 0; t < 2; t++) {
		int L = tries[t];
		if (L < 2 || L < rec->model.n_dense_layers || L < pp || L > 100000)
			continue;
		c.n_layers = L;
		cand_model(rec, &c, &m);
		c.params = wl_params_total(&m);
		c.active = wl_params_active(&m);
		/* the aspect ratio range where published models sit */
		double aspect = (double)c.d_model / L;
		if (aspect < 32 || aspect > 320)
			continue;
		if (fabs(c.params - rec->target) > rec->tolerance * rec->target) {
			rec->nrejected++;
			continue;
		}
		c.align = align_score(rec, &c);
		if (push(l, &c))
			return -1;
	}
	return 0;
}

static int enumerate(xp_rec *rec, cand_list *l)
{
	const wl_model *b = &rec->model;
	int tp = rec->sc.tp > 0 ? rec->sc.tp : 1, ep = rec->sc.ep > 0 ? rec->sc.ep : 1;
	int base_kv = b->n_kv_heads ? b->n_kv_heads : b->n_heads;
	int group = b->n_heads / base_kv > 0 ? b->n_heads / base_kv : 1;
	int moe = b->n_experts > 0;
	double base_ratio = moe ? (double)(b->expert_d_ff ? b->expert_d_ff : b->d_ff) / b->d_model
	                        : (double)b->d_ff / b->d_model;
	double std_ratio = gated(b) ? 8.0 / 3.0 : 4.0;
	/* d_model range: P ~ k d^3 / aspect with k from the base's own shape */
	wl_model probe = *b;
	double pb = wl_params_total(&probe);
	double k3 = pb > 0 ? pb * ((double)b->d_model / b->n_layers) / pow(b->d_model, 3) : 12;
	double dlo = pow(rec->target * 48 / k3, 1.0 / 3), dhi = pow(rec->target * 256 / k3, 1.0 / 3);
	int experts_opts[3], ne = 0, topk_opts[3], nk = 0;
	if (moe) {
		ne = add_unique(experts_opts, ne, 3, b->n_experts);
		if (b->n_experts >= 4 && (b->n_experts / 2) % ep == 0)
			ne = add_unique(experts_opts, ne, 3, b->n_experts / 2);
		if (b->n_experts * 2 <= 512 && (b->n_experts * 2) % ep == 0)
			ne = add_unique(experts_opts, ne, 3, b->n_experts * 2);
	} else {
		experts_opts[ne++] = 0;
	}
	for (long d = (long)(floor(dlo / 64) * 64); d <= (long)(ceil(dhi / 64) * 64) && d <= 65536; d += 64) {
		if (d < 256)
			continue;
		/* head_dim: the usual widths, and the array's own width on a systolic chip */
		int hds[4] = {64, 128, 256, 0}, nhd = 3;
		if (rec->arch.core.mxu_kind == MXU_SYSTOLIC && rec->unit_k % 64)
			hds[nhd++] = rec->unit_k;
		for (int ih = 0; ih < nhd; ih++) {
			int hd = hds[ih];
			if (d % hd)
				continue;
			int h = (int)(d / hd);
			if (h % tp)
				continue;
			int kvs[3], nkv = 0;
			if (h % group == 0)
				nkv = add_unique(kvs, nkv, 3, h / group);
			if (group > 1 && h % 8 == 0 && h / 8 >= 2)
				nkv = add_unique(kvs, nkv, 3, 8);
			if (group == 1)
				nkv = add_unique(kvs, nkv, 3, h);
			if (nkv == 0)
				continue;   /* keep the base's attention style: GQA groups of its size */
			int ffs[16], nff = 0;
			double centers[2] = {std_ratio * d, base_ratio * d};
			int ncent = fabs(base_ratio / std_ratio - 1) > 0.04 ? 2 : 1;
			for (int ci = 0; ci < ncent; ci++) {
				static const int qs[] = {64, 128, 256};
				for (size_t iq = 0; iq < sizeof qs / sizeof *qs; iq++)
					nff = add_unique(ffs, nff, 16, (int)round_to(centers[ci], qs[iq]));
				nff = add_unique(ffs, nff, 16, (int)(floor(centers[ci] / 256) * 256));
				nff = add_unique(ffs, nff, 16, (int)(ceil(centers[ci] / 256) * 256));
				if (rec->unit_n % 64)
					nff = add_unique(ffs, nff, 16, (int)round_to(centers[ci], rec->unit_n));
			}
			int vocs[2], nvoc = 0;
			nvoc = add_unique(vocs, nvoc, 2, b->vocab);
			long vq = (long)(rec->unit_n > 64 ? rec->unit_n : 128) * tp;
			nvoc = add_unique(vocs, nvoc, 2, (int)(cdivl(b->vocab, vq) * vq));
			for (int ik = 0; ik < nkv; ik++)
				for (int iff = 0; iff < nff; iff++) {
					if (ffs[iff] % tp)
						continue;
					for (int iv = 0; iv < nvoc; iv++)
						for (int ie = 0; ie < ne; ie++) {
							if (moe) {
								nk = 0;
								nk = add_unique(topk_opts, nk, 3, b->top_k);
								if (b->top_k != 1 && experts_opts[ie] >= 4)
									nk = add_unique(topk_opts, nk, 3, 1);
								if (b->top_k * 2 <= experts_opts[ie] / 2)
									nk = add_unique(topk_opts, nk, 3, b->top_k * 2);
							} else {
								topk_opts[0] = 0, nk = 1;
							}
							for (int it = 0; it < nk; it++) {
								xp_rec_cand c;
								memset(&c, 0, sizeof c);
								c.d_model = (int)d, c.n_heads = h, c.head_dim = hd, c.n_kv_heads = kvs[ik];
								c.d_ff = ffs[iff], c.vocab = vocs[iv];
								c.n_experts = experts_opts[ie], c.top_k = topk_opts[it];
								if (solve_layers(rec, l, c))
									return -1;
							}
						}
				}
		}
	}
	return 0;
}

/* ---- ranking -------------------------------------------------------------------- */

static double metric_value(const xp_rec *rec, const res_t *r)
{
	switch (rec->metric) {
	case REC_MFU: return r->mfu;
	case REC_USD_PER_MTOK: return r->usd_per_mtok;
	case REC_TTFT: return r->ttft_s;
	default: return r->tokens_per_s;
	}
}

static int higher_better(int metric) { return metric == REC_TOKENS_PER_S || metric == REC_MFU; }

static double score_of(const xp_rec *rec, const xp_rec_cand *c)
{
	double v = c->value, s = c->params / rec->target;
	if (rec->raw || rec->metric == REC_MFU)
		return v;
	return higher_better(rec->metric) ? v * s : v / s;
}

static int usable(const xp_rec_cand *c)
{
	return c->evaluated && c->status == XP_POOL_OK && c->r && c->r->feasible && c->value > 0;
}

/* qsort has no context argument: the direction travels in the array. */
typedef struct {
	xp_rec_cand *c;
	int hb;
} rank_ref;

static int by_score(const void *a, const void *b)
{
	const rank_ref *x = a, *y = b;
	int ux = usable(x->c), uy = usable(y->c);
	if (ux != uy)
		return uy - ux;
	if (ux && x->c->score != y->c->score)
		return (x->hb ? x->c->score < y->c->score : x->c->score > y->c->score) ? 1 : -1;
	/* ties and unusable ones: closer to the target first, then the shape */
	double dx = fabs(x->c->params - y->c->params);
	if (dx > 0)
		return x->c->params < y->c->params ? -1 : 1;
	return x->c->d_model - y->c->d_model;
}

static int by_prefilter(const void *a, const void *b)
{
	const xp_rec_cand *x = a, *y = b;
	if (fabs(x->align - y->align) > 1e-9)
		return x->align < y->align ? 1 : -1;
	/* closeness to the target is in align's tie: stored in score */
	if (x->score != y->score)
		return x->score < y->score ? -1 : 1;
	return x->d_model - y->d_model;
}

static int simulate(xp_rec *rec, xp_rec_cand *c, int n, char *err, size_t errlen)
{
	xp_point *pts = calloc((size_t)(n ? n : 1), sizeof *pts);
	xp_pool_item *items = calloc((size_t)(n ? n : 1), sizeof *items);
	int *map = calloc((size_t)(n ? n : 1), sizeof *map);
	int m = 0, rc = -1;
	if (!pts || !items || !map) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		xp_spec s = rec->base;
		char sets[16][160];
		int ns = xp_rec_sets(rec, &c[i], sets, 16);
		for (int k = 0; k < ns && s.nsets < XP_MAX_SETS; k++)
			snprintf(s.sets[s.nsets++], sizeof s.sets[0], "%.159s", sets[k]);
		char e[ARCH_ERR_MAX];
		c[i].evaluated = 1;
		c[i].r = calloc(1, sizeof *c[i].r);
		if (!c[i].r) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		if (xp_resolve(rec->home, &s, &pts[m], e, sizeof e)) {
			c[i].status = XP_POOL_FAILED;
			snprintf(c[i].err, sizeof c[i].err, "%.199s", e);
			continue;
		}
		items[m].pt = &pts[m];
		items[m].r = c[i].r;
		map[m++] = i;
	}
	if (xp_pool_eval(items, m, rec->jobs, rec->timeout_s, NULL, NULL, err, errlen))
		goto out;
	for (int j = 0; j < m; j++) {
		xp_rec_cand *x = &c[map[j]];
		x->status = items[j].status;
		if (items[j].status != XP_POOL_OK)
			snprintf(x->err, sizeof x->err, "%.199s", items[j].err);
		else if (!x->r->feasible)
			snprintf(x->err, sizeof x->err, "%.199s", x->r->reason);
		x->value = x->status == XP_POOL_OK && x->r->feasible ? metric_value(rec, x->r) : 0;
		x->score = score_of(rec, x);
	}
	rc = 0;
out:
	free(pts), free(items), free(map);
	return rc;
}

/* ---- natural variants of the best shape ------------------------------------------ */

/* n_layers that brings c closest to the target (a multiple of pp). */
static int resolve_layers(const xp_rec *rec, const xp_rec_cand *c)
{
	wl_model m;
	int pp = rec->sc.pp > 0 ? rec->sc.pp : 1, best = c->n_layers;
	double bd = INFINITY;
	for (int L = pp; L <= 4 * c->n_layers + pp; L += pp) {
		xp_rec_cand x = *c;
		x.n_layers = L;
		cand_model(rec, &x, &m);
		double d = fabs(wl_params_total(&m) - rec->target);
		if (d < bd)
			bd = d, best = L;
	}
	return best;
}

static int natural_variants(xp_rec *rec, const xp_rec_cand *best)
{
	const wl_model *b = &rec->model;
	int tp = rec->sc.tp > 0 ? rec->sc.tp : 1;
	double ratio = gated(b) ? 8.0 / 3.0 : 4.0;
	int nat_ff = (int)floor(ratio * best->d_model + 0.5);
	/* a tensor-parallel shard must be whole */
	nat_ff -= nat_ff % tp;
	int n = 0;
	if (nat_ff != best->d_ff) {
		xp_rec_cand c = *best;
		c.d_ff = nat_ff;
		c.n_layers = resolve_layers(rec, &c);
		snprintf(c.what, sizeof c.what, "d_ff = %s d_model = %d%s (%d layers for the budget)", gated(b) ? "8/3" : "4",
		         nat_ff, nat_ff % 64 ? ", not rounded" : " (a round number here)", c.n_layers);
		rec->nat[n++] = c;
	}
	/* heads that give a head_dim the unit does not divide */
	int try_h[4] = {b->n_heads, best->d_model / 96, best->d_model / 80, best->d_model / 112};
	int ragged = 0;
	xp_rec_cand hv = *best;
	for (int i = 0; i < 4 && !ragged; i++) {
		int h = try_h[i];
		if (h <= 0 || best->d_model % h || h % tp)
			continue;
		int hd = best->d_model / h;
		if (hd == best->head_dim || (hd % rec->unit_k == 0 && hd % 64 == 0))
			continue;
		/* keep the recommended shape's KV width (kv x head_dim) as near as
		 * the heads allow, so the KV cache does not change the comparison */
		int kv = h, want = best->n_kv_heads * best->head_dim;
		for (int q = 1; q <= h; q++)
			if (h % q == 0 && abs(q * hd - want) < abs(kv * hd - want))
				kv = q;
		hv.n_heads = h, hv.head_dim = hd, hv.n_kv_heads = kv;
		snprintf(hv.what, sizeof hv.what, "%d heads of head_dim %d (d_model / n_heads)", h, hd);
		ragged = 1;
	}
	if (ragged)
		rec->nat[n++] = hv;
	if (ragged && nat_ff != best->d_ff && n < XP_REC_MAX_NATURAL) {
		xp_rec_cand c = hv;
		c.d_ff = nat_ff;
		c.n_layers = resolve_layers(rec, &c);
		snprintf(c.what, sizeof c.what, "both: %d heads of %d and d_ff %d (%d layers)", hv.n_heads, hv.head_dim,
		         nat_ff, c.n_layers);
		rec->nat[n++] = c;
	}
	for (int i = 0; i < n; i++) {
		wl_model m;
		cand_model(rec, &rec->nat[i], &m);
		rec->nat[i].params = wl_params_total(&m);
		rec->nat[i].active = wl_params_active(&m);
		rec->nat[i].align = align_score(rec, &rec->nat[i]);
		rec->nat[i].evaluated = 0;
		rec->nat[i].r = NULL;
	}
	rec->nnat = n;
	return n;
}

/* ---- the search ---------------------------------------------------------------------- */

int xp_recommend(xp_rec *rec, char *err, size_t errlen)
{
	xp_point *pt = calloc(1, sizeof *pt);
	cand_list l = {NULL, 0, 0};
	int rc = -1;
	if (!pt) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (xp_resolve(rec->home, &rec->base, pt, err, errlen))
		goto out;
	rec->arch = pt->arch;
	rec->model = pt->model;
	rec->sc = pt->sc;
	if (wl_parallel_resolve(&rec->arch, &rec->model, &rec->sc, err, errlen))
		goto out;
	if (rec->model.attention == ATTN_MLA) {
		snprintf(err, errlen, "--model %s: MLA models are not searched (use a GQA base such as llama3-8b or "
		                      "mixtral-8x7b)", rec->model.name);
		goto out;
	}
	if (rec->metric == REC_TTFT && rec->sc.phase != PH_PREFILL && rec->sc.phase != PH_SERVE) {
		snprintf(err, errlen, "--metric ttft needs --phase prefill or serve (TTFT is not defined for %s)",
		         wl_phase_names[rec->sc.phase]);
		goto out;
	}
	const arch_t *a = &rec->arch;
	if (a->core.mxu_kind == MXU_SYSTOLIC) {
		rec->unit_n = a->core.mxu_cols, rec->unit_k = a->core.mxu_rows;
		snprintf(rec->unit_text, sizeof rec->unit_text, "%d x %d systolic array%s (%d per chip)", a->core.mxu_rows,
		         a->core.mxu_cols, a->family == FAM_LPU ? " (MXM plane)" : " (MXU)", a->core.count);
	} else {
		/* thread-block tiles come in 64/128/256; 64 is the grain a dimension
		 * must keep to leave no tile partly empty */
		rec->unit_n = 64, rec->unit_k = 64;
		snprintf(rec->unit_text, sizeof rec->unit_text,
		         "tensor cores (MMA %dx%dx%d), thread-block tiles of 64/128/256, %d %s", a->core.mma_m,
		         a->core.mma_n, a->core.mma_k, a->core.count, a->family == FAM_GPU ? "SMs/CUs" : "cores");
	}
	if (enumerate(rec, &l)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rec->nenum = l.n;
	if (l.n == 0) {
		snprintf(err, errlen, "no shape of a %s-style model is within %.1f%% of %.3g parameters with heads and d_ff "
		                      "divisible by tp %d (try a larger --tolerance or another --model base)",
		         rec->model.name, 100 * rec->tolerance, rec->target, rec->sc.tp);
		goto out;
	}
	/* shapes that cannot fit the chips are not worth a simulation: the graph
	 * alone (no SystemC) says so */
	{
		int keep = 0;
		for (int i = 0; i < l.n; i++) {
			wl_model m;
			wl_graph g;
			cand_model(rec, &l.v[i], &m);
			wl_scenario sc = rec->sc;
			char e[ARCH_ERR_MAX];
			int fits = wl_model_validate(&m, e, sizeof e) == 0 && wl_build(&g, &rec->arch, &m, &sc, e, sizeof e) == 0;
			if (fits) {
				fits = g.feasible;
				if (!fits && !rec->nofit_reason[0])
					snprintf(rec->nofit_reason, sizeof rec->nofit_reason, "%.250s", g.reason);
				wl_graph_free(&g);
			} else if (!rec->nofit_reason[0]) {
				snprintf(rec->nofit_reason, sizeof rec->nofit_reason, "%.250s", e);
			}
			if (fits)
				l.v[keep++] = l.v[i];
			else
				rec->nnofit++;
		}
		l.n = keep;
		if (l.n == 0 && rec->ngiven == 0) {
			rc = 1;
			goto out;
		}
	}
	/* pre-filter: unit fill first, then closeness to the target */
	for (int i = 0; i < l.n; i++)
		l.v[i].score = fabs(l.v[i].params - rec->target);
	qsort(l.v, (size_t)l.n, sizeof *l.v, by_prefilter);
	int n = l.n < rec->max_sim ? l.n : rec->max_sim;
	/* --candidate shapes join the simulated ones, whatever their size */
	if (rec->ngiven > 0) {
		xp_rec_cand *v = realloc(l.v, (size_t)(n + rec->ngiven) * sizeof *v);
		if (!v) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		l.v = v;
		for (int g = 0; g < rec->ngiven; g++) {
			xp_rec_cand c = rec->given[g];
			const wl_model *b = &rec->model;
			int base_kv = b->n_kv_heads ? b->n_kv_heads : b->n_heads;
			if (c.d_model < 0)
				c.d_model = b->d_model;
			if (c.n_heads < 0)
				c.n_heads = b->n_heads;
			if (c.head_dim < 0)
				c.head_dim = c.d_model == b->d_model && c.n_heads == b->n_heads ? wl_head_dim(b) : c.d_model / c.n_heads;
			if (c.n_kv_heads < 0)
				c.n_kv_heads = base_kv;
			if (c.d_ff < 0)
				c.d_ff = b->n_experts && b->expert_d_ff ? b->expert_d_ff : b->d_ff;
			if (c.n_layers < 0)
				c.n_layers = b->n_layers;
			if (c.vocab < 0)
				c.vocab = b->vocab;
			if (c.n_experts < 0)
				c.n_experts = b->n_experts;
			if (c.top_k < 0)
				c.top_k = b->top_k;
			wl_model m;
			cand_model(rec, &c, &m);
			c.params = wl_params_total(&m);
			c.active = wl_params_active(&m);
			c.align = align_score(rec, &c);
			c.given = 1;
			l.v[n++] = c;
		}
	}
	rec->cand = l.v;
	l.v = NULL;
	rec->ncand = n;
	for (int i = 0; i < n; i++)
		rec->cand[i].score = 0;
	if (!rec->quiet)
		fprintf(stderr, "recommend: %d shapes within %.1f%% of %.3g parameters; simulating %d on %s\n", rec->nenum,
		        100 * rec->tolerance, rec->target, n, rec->arch.name);
	if (simulate(rec, rec->cand, n, err, errlen))
		goto out;
	rank_ref *refs = malloc((size_t)n * sizeof *refs);
	xp_rec_cand *sorted = malloc((size_t)n * sizeof *sorted);
	if (!refs || !sorted) {
		free(refs), free(sorted);
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++)
		refs[i].c = &rec->cand[i], refs[i].hb = higher_better(rec->metric) || rec->metric == REC_MFU;
	qsort(refs, (size_t)n, sizeof *refs, by_score);
	for (int i = 0; i < n; i++)
		sorted[i] = *refs[i].c;
	memcpy(rec->cand, sorted, (size_t)n * sizeof *sorted);
	free(refs), free(sorted);
	rec->nfeasible = 0;
	for (int i = 0; i < n; i++)
		rec->nfeasible += usable(&rec->cand[i]);
	if (rec->nfeasible == 0) {
		rc = 1;
		goto out;
	}
	if (natural_variants(rec, &rec->cand[0]) > 0 && simulate(rec, rec->nat, rec->nnat, err, errlen))
		goto out;
	rc = 0;
out:
	free(l.v);
	free(pt);
	return rc;
}

void xp_rec_free(xp_rec *rec)
{
	for (int i = 0; i < rec->ncand; i++)
		free(rec->cand[i].r);
	free(rec->cand);
	for (int i = 0; i < rec->nnat; i++)
		free(rec->nat[i].r);
	rec->cand = NULL;
	rec->ncand = rec->nnat = 0;
}

/* ---- explanation ------------------------------------------------------------------------ */

typedef struct {
	char *buf;
	size_t len, used;
} tbuf;

static void tb_add(tbuf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tb_add(tbuf *t, const char *fmt, ...)
{
	if (t->used + 1 >= t->len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->buf + t->used, t->len - t->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->used = t->used + (size_t)n < t->len ? t->used + (size_t)n : t->len - 1;
}

static const res_kernel *find_kernel(const res_t *r, const char *name)
{
	for (int i = 0; r && i < r->nkernels; i++)
		if (!strcmp(r->kernels[i].name, name))
			return &r->kernels[i];
	return NULL;
}

void xp_rec_explain(const xp_rec *rec, const xp_rec_cand *c, char *buf, size_t len)
{
	tbuf t = {buf, len, 0};
	if (len)
		buf[0] = 0;
	const arch_t *a = &rec->arch;
	int tp = rec->sc.tp > 0 ? rec->sc.tp : 1;
	int sys = a->core.mxu_kind == MXU_SYSTOLIC;
	gemm_dim g[8];
	int ng = layer_gemms(rec, c, g);
	/* tile quantization over the unit */
	int ragged = 0;
	double worst = 1;
	const char *worst_name = "";
	long worst_dim = 0;
	for (int i = 0; i < ng - 1; i++) {
		double f = fill(g[i].n, rec->unit_n) * fill(g[i].k, rec->unit_k);
		if (f < 0.9999) {
			ragged++;
			if (f < worst)
				worst = f, worst_name = g[i].name, worst_dim = fill(g[i].n, rec->unit_n) < 0.9999 ? g[i].n : g[i].k;
		}
	}
	if (sys) {
		if (!ragged)
			tb_add(&t, "Tile quantization: every GEMM dimension on a chip is a multiple of the %dx%d array (qkv %ld, "
			           "d_model %d, d_ff/tp %d, vocab/tp %d), so no fold of the array is partly empty.\n",
			       rec->unit_k, rec->unit_n, g[0].n, c->d_model, c->d_ff / tp, c->vocab / tp);
		else
			tb_add(&t, "Tile quantization: %d of the layer's GEMMs have a dimension that is not a multiple of the "
			           "%d-wide array; the worst, %s (%ld), fills %.1f%% of its folds.\n",
			       ragged, rec->unit_n, worst_name, worst_dim, 100 * worst);
	} else {
		if (!ragged)
			tb_add(&t, "Tile quantization: every GEMM dimension on a chip is a multiple of 64 (qkv %ld, d_model %d, "
			           "d_ff/tp %d, vocab/tp %d), so 64/128/256-wide thread-block tiles have no partly empty edge "
			           "tiles.\n",
			       g[0].n, c->d_model, c->d_ff / tp, c->vocab / tp);
		else
			tb_add(&t, "Tile quantization: %d of the layer's GEMMs have a dimension that is not a multiple of 64; "
			           "the worst, %s (%ld), leaves %.1f%% of its edge tiles' work as padding.\n",
			       ragged, worst_name, worst_dim, 100 * (1 - worst));
	}
	/* the tiles the search chose and their waves (from the simulation) */
	const res_t *r = c->r;
	static const char *const main_k[] = {"ffn-gate-up", "ffn-down", "qkv-proj", "o-proj"};
	int said = 0;
	for (size_t i = 0; r && r->feasible && i < sizeof main_k / sizeof *main_k; i++) {
		const res_kernel *k = find_kernel(r, main_k[i]);
		if (!k)
			continue;
		int bm = 0, bn = 0, bk = 0;
		double grid = 0, waves = 0, blocks = 0;
		const char *gp = strstr(k->tiling, "grid ");
		const char *sp = strstr(k->tiling, "stream-K ");
		if (sscanf(k->tiling, "%dx%dx%d", &bm, &bn, &bk) != 3)
			continue;
		int streamk = sp && sscanf(sp, "stream-K %lf tiles on %lf blocks (%lf waves)", &grid, &blocks, &waves) == 3;
		if (!streamk && (!gp || sscanf(gp, "grid %lf (%lf waves)", &grid, &waves) != 2))
			continue;
		double weff = waves > 0 ? waves / ceil(waves) : 1;
		const char *units = sys ? (a->family == FAM_LPU ? "MXM planes" : "MXUs") : (a->family == FAM_GPU ? "SMs/CUs" : "cores");
		if (!said)
			tb_add(&t, "Wave quantization (the simulated tiling): ");
		if (streamk)
			tb_add(&t, "%s%s %dx%d tiles, %.0f tiles = %.2f waves over %d %s, run stream-K on %.0f blocks (the "
			           "last wave's %.0f%% costs partial-sum hand-offs instead of idle slots)",
			       said ? "; " : "", k->name, bm, bn, grid, waves, a->core.count, units, blocks, 100 * weff);
		else
			tb_add(&t, "%s%s %dx%d tiles, %.0f tiles = %.2f waves over %d %s (%.0f%% of the slots busy)", said ? "; " : "",
			       k->name, bm, bn, grid, waves, a->core.count, units, 100 * weff);
		said = 1;
	}
	if (said)
		tb_add(&t, ".\n");
	/* head_dim against the unit */
	if (sys) {
		if (c->head_dim < rec->unit_k)
			tb_add(&t, "head_dim %d is %s the %d-wide array: QK^T (depth head_dim) and PV (width head_dim) use %.0f%% "
			           "of its rows/columns.\n",
			       c->head_dim, c->head_dim * 2 <= rec->unit_k ? "at most half of" : "narrower than", rec->unit_k,
			       100.0 * c->head_dim / rec->unit_k);
		else
			tb_add(&t, "head_dim %d %s the %d-wide array in attention (%.0f%% fill).\n", c->head_dim,
			       c->head_dim % rec->unit_k ? "does not divide into" : "fills", rec->unit_k,
			       100 * fill(c->head_dim, rec->unit_k));
	} else {
		tb_add(&t, "head_dim %d is %sa multiple of the MMA depth %d and of 64: attention tiles %s.\n", c->head_dim,
		       c->head_dim % a->core.mma_k == 0 && c->head_dim % 64 == 0 ? "" : "not ", a->core.mma_k,
		       c->head_dim % 64 == 0 ? "fill exactly" : "carry padding");
	}
	/* divisibility by tp */
	if (tp > 1) {
		int kvc = c->n_kv_heads / tp;
		tb_add(&t, "Tensor parallelism %d: %d heads, d_ff %d and vocab %d split evenly (%d heads, %d FFN columns per "
		           "chip)",
		       tp, c->n_heads, c->d_ff, c->vocab, c->n_heads / tp, c->d_ff / tp);
		if (c->vocab % tp)
			tb_add(&t, ", except the vocab (%d %% %d = %d rows dropped from the shard)", c->vocab, tp, c->vocab % tp);
		if (kvc < 1)
			tb_add(&t, "; %d KV heads < tp %d, so each KV head is replicated on %d chips (more KV cache per chip)",
			       c->n_kv_heads, tp, tp / c->n_kv_heads);
		tb_add(&t, ".\n");
	}
	/* memory / SRAM fit */
	if (r && r->mem_capacity_GB > 0)
		tb_add(&t, "Memory: %.2f GB per chip of %.4g GB %s (weights %.2f, KV %.2f, activations %.2f)%s.\n",
		       r->mem_total_GB, r->mem_capacity_GB, arch_has_hbm(a) ? "HBM" : "on-chip SRAM", r->mem_weights_GB,
		       r->mem_kv_GB, r->mem_act_GB, r->feasible ? "" : ": does not fit");
	if (r && r->feasible) {
		double tot = 0;
		for (int b = 0; b < BOUND_COUNT; b++)
			tot += r->bound_s[b];
		tb_add(&t, "Where time goes: compute %.0f%%, memory %.0f%%, latency %.0f%%, comm %.0f%%; MFU %.1f%%.\n",
		       tot > 0 ? 100 * r->bound_s[BOUND_COMPUTE] / tot : 0, tot > 0 ? 100 * r->bound_s[BOUND_MEMORY] / tot : 0,
		       tot > 0 ? 100 * r->bound_s[BOUND_LATENCY] / tot : 0, tot > 0 ? 100 * r->bound_s[BOUND_COMM] / tot : 0,
		       100 * r->mfu);
	}
}
