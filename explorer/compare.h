/*
 * compare.h - private to explorer/: the parallel worker pool that compare
 * and recommend share, and the recommend search (explorer/recommend.c).
 * The public commands are xp_cmd_compare, xp_cmd_report and
 * xp_cmd_recommend (explorer/cmd_compare.c).
 */
#ifndef CODESIM_COMPARE_H
#define CODESIM_COMPARE_H

#include "xp.h"

/* ---- worker pool ---------------------------------------------------------- */

enum { XP_POOL_OK, XP_POOL_FAILED, XP_POOL_TIMEOUT };

typedef struct {
	const xp_point *pt;   /* in: the resolved point */
	res_t *r;             /* out: its result (XP_POOL_OK) */
	int status;           /* out: XP_POOL_* */
	char err[ARCH_ERR_MAX];
	double wall_s;        /* out: fork to result */
} xp_pool_item;

typedef void (*xp_pool_progress)(void *ctx, int done, int total, const xp_pool_item *it);

/* Evaluate n points, up to `jobs` forked workers at a time (timeout_s <= 0:
 * none).  A worker that fails or times out marks its item; the rest go on.
 * 0, or -1 with err when the pool itself cannot run (fork/pipe). */
int xp_pool_eval(xp_pool_item *items, int n, int jobs, double timeout_s, xp_pool_progress progress, void *ctx,
                 char *err, size_t errlen);

/* ---- recommend ---------------------------------------------------------------- */

#define XP_REC_MAX_NATURAL 3

typedef enum { REC_TOKENS_PER_S, REC_MFU, REC_USD_PER_MTOK, REC_TTFT } xp_rec_metric;
extern const char *const xp_rec_metric_names[];   /* tokens_per_s, mfu, usd_per_mtok, ttft */

typedef struct {
	int d_model, n_heads, head_dim, n_kv_heads, d_ff, n_layers, vocab;
	int n_experts, top_k;        /* MoE bases only */
	double params;               /* wl_params_total */
	double active;               /* wl_params_active */
	double align;                /* analytic fill of the matrix unit (pre-filter), 0..1 */
	/* simulated */
	int evaluated;               /* 1: r is set */
	int status;                  /* XP_POOL_* */
	char err[200];
	double value;                /* the metric as `codesim run --json` gives it */
	double score;                /* what ranks: value at the target size (see recommend.c) */
	res_t *r;
	char what[120];              /* natural variants: what was changed */
	int given;                   /* given with --candidate (not searched: any size) */
} xp_rec_cand;

#define XP_REC_MAX_GIVEN 8

typedef struct {
	/* inputs */
	char home[1024];
	xp_spec base;                /* arch, base model, scenario, user -s overrides */
	double target;               /* parameters */
	double tolerance;            /* fraction */
	int metric;                  /* xp_rec_metric */
	int raw;                     /* rank by the raw metric, not at the target size */
	int top;                     /* recommendations to explain */
	int max_sim;                 /* cap on simulated candidates */
	int jobs;
	double timeout_s;
	int quiet;
	int ngiven;                  /* --candidate shapes: fields < 0 are the base's */
	xp_rec_cand given[XP_REC_MAX_GIVEN];
	/* outputs */
	arch_t arch;
	wl_model model;              /* the base */
	wl_scenario sc;              /* resolved scenario of the first candidate */
	int unit_n, unit_k;          /* the alignment unit of the matrix unit (n and k) */
	char unit_text[200];
	int nenum;                   /* shapes enumerated (within tolerance, legal) */
	int nrejected;               /* shapes outside tolerance or illegal */
	int nnofit;                  /* legal shapes whose memory does not fit the chips */
	char nofit_reason[256];      /* the first such reason */
	int nfeasible;
	int ncand;
	xp_rec_cand *cand;           /* simulated candidates, ranked best first */
	int nnat;
	xp_rec_cand nat[XP_REC_MAX_NATURAL]; /* "natural" variants of the best one */
} xp_rec;

/* Run the search.  0, 1 when no candidate is feasible (rec->cand still
 * ranked with their reasons), or -1 with err for bad input / internal error. */
int xp_recommend(xp_rec *rec, char *err, size_t errlen);
void xp_rec_free(xp_rec *rec);
/* The -s overrides that make candidate c from the base model. */
int xp_rec_sets(const xp_rec *rec, const xp_rec_cand *c, char sets[][160], int max);
/* Why candidate c does well or badly on this chip, in plain words; one
 * sentence per line. */
void xp_rec_explain(const xp_rec *rec, const xp_rec_cand *c, char *buf, size_t len);

#endif
