/*
 * valid.h - validation against published measurements and calibration
 * (codesim validate / codesim calibrate).  Internal to explorer/: the
 * commands live in cmd_validate.c, the case file, metric conventions and
 * the case runner in valid_case.c and valid_run.c, the GSL fit in calib.c.
 *
 * A case is one line of tests/validation/cases.tsv: a codesim command line
 * (run or kernel, or a sum of kernel commands), the published number, and
 * the name of the conversion that turns codesim's prediction into the
 * source's own metric.
 */
#ifndef CODESIM_VALID_H
#define CODESIM_VALID_H

#include <stdio.h>

#include "xp.h"

#define XP_VID_MAX 96
#define XP_VARGS_MAX 2048
#define XP_VSRC_MAX 160
#define XP_VOV_MAX 16
#define XP_VFAST_PER_CAT 10           /* --fast: cases per category */

typedef enum { VSPLIT_FIT, VSPLIT_HOLDOUT, VSPLIT_ALL } xp_vsplit;
extern const char *const xp_vsplit_names[];      /* "fit","holdout","all",NULL */

/* Categories, in report order. */
typedef enum { VCAT_GEMM, VCAT_ATTENTION, VCAT_VECTOR, VCAT_TRAINING, VCAT_INFERENCE, VCAT_COUNT } xp_vcat;
extern const char *const xp_vcat_names[];        /* NULL-terminated */

/* Metrics: how a prediction becomes the source's number (tests/validation/README.md). */
typedef enum {
	VM_TFLOPS,            /* kernel gemm: 2*M*N*K*batch / t */
	VM_TFLOPS_FA,         /* kernel attention: 4*B*S*Skv*H*d (/2 causal, x3.5 fwd+bwd, x2.5 bwd alone) / t */
	VM_TIME_MS,           /* kernel time or run time_s, ms */
	VM_WALL_MS,           /* kernel: one launched op timed on the host: t + launch overhead, ms */
	VM_TTFT_MS,           /* run prefill: time_s, ms */
	VM_GELEMS,            /* kernel norm|softmax|elementwise: M*N / t / 1e9 */
	VM_WALL_GELEMS,       /* as gelems_per_s over t + launch overhead */
	VM_TFLOPS_HW,         /* run train: Megatron SC21 Eq. 3 / t / chips */
	VM_TFLOPS_MODEL,      /* run: model FLOPs (res flops) / t / chips */
	VM_TFLOPS_FA2,        /* run train: (6*S*N + 12*L*h*S^2)*B / t / chips */
	VM_TOKENS,            /* run: whole-system tokens/s */
	VM_TOKENS_CHIP,       /* run: tokens/s per chip */
	VM_TPOT_MS,           /* run decode/serve: time per output token, ms */
	VM_LAYERS_MS,         /* run: time_s minus embedding, head and optimizer kernels, ms */
	VM_WALL_COMPILED_MS,  /* as wall_ms for a torch.compile'd function (compiled-call round trip) */
	VM_WALL_COMPILED_GELEMS, /* as wall_gelems_per_s for a torch.compile'd function */
	VM_STATIC_TOKENS,     /* run serve --gen OSL-1: static batch, OSL output tokens per request
	                       * (the prefill emits the first): tokens_per_s * (gen+1) / gen */
	VM_SUM_WALL_MS,       /* sum: a total the source added up from per-op host timings: each
	                       * kernel term as wall_ms (wall_compiled_ms under --fusion compiler),
	                       * times its count, summed */
	VM_STATIC_TOKENS_CHIP, /* as static_tokens_per_s, per chip (a tensor-parallel engine's
	                        * throughput per GPU) */
	VM_COUNT
} xp_vmetric;
extern const char *const xp_vmetric_names[];     /* NULL-terminated */

typedef struct {
	char id[XP_VID_MAX];
	int category;                 /* xp_vcat */
	char args[XP_VARGS_MAX];
	int metric;                   /* xp_vmetric */
	double published;
	int split;                    /* VSPLIT_FIT or VSPLIT_HOLDOUT */
	char source[XP_VSRC_MAX];
	int uncertain;                /* notes or value say UNCERTAIN / approx. */
	char arch[64];                /* --arch of args, for calibrate */
	int line;                     /* line in the file */
} xp_vcase;

typedef struct {
	char file[1024];
	xp_vcase *cases;
	int n;
} xp_vset;

/* Read a case file (format: tests/validation/README.md).  -1 with err
 * naming file:line and what was expected. */
int xp_vset_load(xp_vset *set, const char *file, char *err, size_t errlen);
void xp_vset_free(xp_vset *set);
/* Default file: <home>/tests/validation/cases.tsv. */
void xp_vset_default_file(const char *home, char *out, size_t outlen);

/* A sum case ("sum [Nx] kernel ... + [Nx] kernel ..."): at most
 * XP_VSUM_MAX terms and XP_VSUM_WORDS words.  xp_vsum_terms splits the
 * words after "sum" into terms (term i: words [start, end), count times);
 * the number of terms or -1 with err.  xp_vsum_check: the terms parse and
 * each names `arch`; -1 with err. */
#define XP_VSUM_MAX 32
#define XP_VSUM_WORDS 256
int xp_vsum_terms(int argc, char **argv, int *start, int *end, int *count, int max, char *err, size_t errlen);
int xp_vsum_check(const char *args, const char *arch, char *err, size_t errlen);

/* ---- FLOP conventions of the sources (pure functions, unit-tested) ---- */
double xp_flops_gemm(double m, double n, double k, double batch);
/* FlashAttention benchmark convention: 4*B*S*Skv*H*d, halved if causal,
 * x3.5 for forward+backward (backward 1), x2.5 for the backward alone
 * (backward 2). */
double xp_flops_fa(double b, double s, double skv, double h, double d, int causal, int backward);
/* Megatron SC21 Eq. 3 (counts the recomputed forward):
 * 96*B*s*l*h^2*(1 + s/(6h) + V/(16*l*h)). */
double xp_flops_megatron(double b, double s, double l, double h, double v);
/* FlashAttention-2 end-to-end: (6*S*N + 12*L*h*S^2)*B. */
double xp_flops_fa2(double b, double s, double n_params, double l, double h);

/* ---- kernel command options (the same flags as codesim kernel) ---- */
typedef struct {
	char arch[256];
	int nsets;
	char sets[XP_MAX_SETS][160];  /* arch.KEY=V */
	char op[32];
	char impl[16];
	long m, n, k, batch, heads, kv_heads, seq, kv_seq, head_dim, chips;
	double bytes;
	int causal, qkv_packed, dtype;
	int backward;                 /* 0 the forward, 1 --backward (forward then backward),
	                               * 2 --backward-only (the backward pass alone) */
	int mask_form;                /* --mask: wl_causal_mask (eager naive causal attention) */
	int no_stream_k;              /* --no-stream-k: the GEMM library lacks stream-K */
	double out_eb;                /* --out-dtype: bytes of a GEMM output element (0: --dtype's) */
	int fusion;            /* wl_fusion: FUSE_EAGER (the library kernel) or FUSE_COMPILER */
} xp_kspec;

/* Parse `kernel` options argv[first..argc).  -1 with err. */
int xp_kspec_parse(int argc, char **argv, int first, xp_kspec *ks, char *err, size_t errlen);
/* Load the arch (with the spec's and then the extra arch.KEY=V overrides)
 * and build the operator, as codesim kernel does.  -1 with err. */
int xp_kspec_build(const char *home, const xp_kspec *ks, const char (*extra)[160], int nextra, arch_t *a,
                   wl_op *op, int *naive, char *err, size_t errlen);

/* ---- running cases ---- */
typedef enum { VST_OK, VST_INFEASIBLE, VST_ERROR } xp_vstatus;
extern const char *const xp_vstatus_names[];

typedef struct {
	int status;                   /* xp_vstatus */
	int internal;                 /* VST_ERROR from a crashed/timed-out worker (not bad input) */
	double predicted;             /* in the metric's unit */
	double err_pct;               /* 100*(predicted-published)/published */
	double time_s;                /* codesim's raw time */
	char reason[256];
} xp_vres;

/* Overrides applied to the cases of one arch ("" = every case): "arch.KEY=V". */
typedef struct {
	char arch[64];
	char set[160];
} xp_vover;

typedef struct {
	const char *home;
	const xp_vover *ov;
	int nov;
	int jobs;                     /* concurrent workers (<= 1: one at a time) */
	double timeout_s;             /* per case; <= 0: none */
} xp_vopts;

/* Run one case: parse and resolve here, simulate in a forked worker. */
void xp_vcase_eval(const xp_vopts *o, const xp_vcase *c, xp_vres *r);
/* Run cases idx[0..n) of set, results into res[0..n), with o->jobs workers
 * in flight.  Returns 0, or -1 with err when no worker could be started. */
int xp_vrun(const xp_vopts *o, const xp_vset *set, const int *idx, int n, xp_vres *res, char *err, size_t errlen);

/* Convert a raw prediction (the metric inputs) into the metric. */
typedef struct {
	double time_s;                /* kernel time or run time_s */
	double chips;
	double launch_s;              /* the arch's launch overhead */
	double nonlayer_s;            /* run: embedding + head + optimizer kernel time */
	double tokens_per_s, tpot_s, model_flops;
	/* model dims (run) */
	double n_layers, d_model, vocab, n_params, batch, seq;
	double gen;                   /* run serve: decode steps (--gen) */
	int phase;                    /* run: wl_phase */
	/* kernel shape */
	const char *op;               /* kernel op name ("gemm", "softmax", ...); NULL for run */
	double m, n, k, kbatch, heads, kseq, kv_seq, head_dim;
	int causal, backward;
} xp_vmetric_in;
/* 0 and *out, or -1 with err (the metric needs what the case lacks). */
int xp_vmetric_convert(int metric, const xp_vmetric_in *in, double *out, char *err, size_t errlen);

/* ---- summaries ---- */
typedef struct {
	int count;                    /* cases run with a prediction */
	int failed;                   /* infeasible or error */
	double mape;                  /* mean |err_pct| over count */
	double worst_abs;             /* |err_pct| of the worst case */
	int worst;                    /* index into the result arrays, -1 none */
} xp_vstat;

/* Stats for cases of category cat (-1: all) and split (VSPLIT_ALL: both). */
void xp_vstat_compute(const xp_vset *set, const int *idx, const xp_vres *res, int n, int cat, int split,
                      xp_vstat *st);

/* Deterministic fast subset: per category at most per_cat cases, evenly
 * spaced in file order.  Writes indices into idx, returns the count. */
int xp_vfast_select(const xp_vset *set, const int *in, int nin, int per_cat, int *idx);

/* Thresholds (tests/validation/thresholds.tsv): per category. */
typedef struct {
	double max_mape[VCAT_COUNT], max_failed[VCAT_COUNT];
	double fast_max_mape[VCAT_COUNT], fast_max_failed[VCAT_COUNT];
	int have[VCAT_COUNT];
} xp_vthresholds;
int xp_vthresholds_load(xp_vthresholds *t, const char *file, char *err, size_t errlen);
/* Compare; prints each violation to f (may be NULL).  Returns the number of
 * violations. */
int xp_vthresholds_check(const xp_vthresholds *t, const xp_vset *set, const int *idx, const xp_vres *res,
                         int n, int fast, FILE *f);

/* ---- calibration ---- */
#define XP_CAL_MAXP 8
typedef struct {
	const char *key;              /* arch key path, e.g. "core.matrix_efficiency" */
	const char *group, *name;     /* libconfig group and setting in the preset */
	double lo, hi;                /* bounds of the fit (within the declared range) */
	double step;                  /* finite-difference step, in parameter units */
	const char *fallback;         /* 0 means "use this key instead" (a preset may omit
	                               * the line; --write then adds it), or NULL */
} xp_calparam;
extern const xp_calparam xp_calparams[XP_CAL_MAXP];

/* What became of each parameter. */
typedef enum { CAL_NOT_TRIED, CAL_FITTED, CAL_INSENSITIVE, CAL_TOO_FEW_CASES, CAL_OUT_OF_BOUNDS } xp_calfate;

typedef struct {
	int np;
	int which[XP_CAL_MAXP];       /* indices into xp_calparams */
	double start[XP_CAL_MAXP], fitted[XP_CAL_MAXP], sigma[XP_CAL_MAXP];
	int at_bound[XP_CAL_MAXP];    /* the fit stopped within 0.5% of the range at a bound */
	/* indexed like xp_calparams: the largest change of a residual one
	 * finite-difference step makes at the start; tested: it was tried */
	double sens[XP_CAL_MAXP];
	int fate[XP_CAL_MAXP];        /* xp_calfate */
	int nfit, nhold;              /* cases used */
	int fit_per_cat[VCAT_COUNT];  /* fit cases used, per category */
	int nfit_failed, nhold_failed;
	double fit_rms_before, fit_rms_after, fit_mape_before, fit_mape_after;
	double hold_mape_before, hold_mape_after;
	/* per category, over the fit and hold-out cases of the arch together */
	double cat_mape_before[VCAT_COUNT], cat_mape_after[VCAT_COUNT];
	int cat_n[VCAT_COUNT];
	int worse_cat;                /* a category whose MAPE grew by > 0.5 points, -1 none */
	int iterations, evaluations, status;
	char status_text[128];
} xp_calresult;

typedef struct {
	xp_vopts vo;
	const char *arch;
	int loss_log;                 /* residual ln(pred/pub) instead of (pred-pub)/pub */
	int max_iter;
	unsigned keys_mask;           /* bit i: xp_calparams[i] may be fitted; 0: all */
	unsigned cat_mask;            /* bit c: the fit uses category c; 0: all */
	int verbose;
	FILE *log;                    /* progress, may be NULL */
} xp_calopts;

/* Residual function of the fit: evaluates the cases idx[0..n) with the
 * arch overrides for params p (in parameter units) and returns residuals in
 * r (NAN for a case without prediction).  A plug-in point for tests. */
typedef int (*xp_cal_model)(void *ctx, const double *p, int np, double *r, int n);

/* Generic bounded least squares (GSL trust region, logistic transform):
 * minimise sum r_i(p)^2 over lo <= p <= hi from start.  Fills fitted and
 * sigma (1-sigma, from the covariance at the solution).  Returns 0 or -1
 * with err. */
int xp_cal_fit(xp_cal_model fn, void *ctx, int np, const double *lo, const double *hi, const double *step,
               const double *start, int n, int max_iter, double *fitted, double *sigma, int *iters, int *evals,
               char *err, size_t errlen);

/* Calibrate one arch on the fit cases of set. */
int xp_calibrate(const xp_calopts *o, const xp_vset *set, xp_calresult *cr, char *err, size_t errlen);
/* Rewrite the calibrated keys of the preset file in place (temp + rename);
 * every other byte stays.  note: the comment's fit description. */
int xp_cal_write_preset(const char *file, const xp_calresult *cr, const char *note, char *err, size_t errlen);
/* Same on text in memory (for tests): returns a malloc'd new text or NULL. */
char *xp_cal_rewrite_text(const char *text, const xp_calresult *cr, const char *note, char *err, size_t errlen);

#endif
