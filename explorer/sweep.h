/*
 * sweep.h - sweeps inside explorer/: the spec (spec.c), constraint
 * expressions (spec_expr.c), the worker pool that runs a sweep into the
 * results database (pool.c).  Internal to explorer/ and its tests; the
 * command line is the public face (codesim sweep; README.md "Sweeps").
 */
#ifndef CODESIM_XP_SWEEP_H
#define CODESIM_XP_SWEEP_H

#include "../results/res.h"
#include "xp.h"

#define XP_AXES_MAX 16
#define XP_VAL_MAX 64          /* one axis value as text */
#define XP_CONS_MAX 32
#define XP_AXIS_VALUES_MAX 100000
#define XP_SAMPLES_MAX 1000000L
#define XP_GRID_MAX 100000000L

typedef enum { XP_GRID, XP_RANDOM, XP_LHS } xp_sampling;
extern const char *const xp_sampling_names[];   /* "grid","random","lhs",NULL */

/* What an axis (or a constraint variable) addresses. */
typedef enum { XP_T_ARCH, XP_T_MODEL, XP_T_RUN, XP_T_ARCH_PRESET, XP_T_MODEL_PRESET } xp_table;

typedef enum { XP_DIST_UNIFORM, XP_DIST_LOGUNIFORM } xp_dist;

typedef struct {
	char key[128];              /* "arch.memory.bandwidth_GBps", "run.batch", "arch", "model" */
	int line;                   /* where the spec declares it */
	int table;                  /* xp_table */
	const cfg_key *decl;        /* NULL for the preset axes */
	int is_dist;                /* 1: a distribution (random/lhs); 0: a list of values */
	int nvalues;
	char (*values)[XP_VAL_MAX]; /* lists and expanded ranges, as text */
	int dist;                   /* xp_dist */
	double lo, hi;              /* distribution bounds */
	double multiple_of;         /* distributions and ranges: round to a multiple (0: none) */
} xp_axis;

/* A compiled constraint: postfix code over numbers and strings. */
typedef struct xp_enode xp_enode;
typedef struct {
	char text[256];
	int line;
	int n;
	xp_enode *code;
} xp_constraint;

typedef struct {
	char file[1024];
	char name[128];
	char *text;                 /* the spec file as written: stored with the sweep */
	xp_spec base;               /* arch, model, run group, set overrides */
	int naxes;
	xp_axis axes[XP_AXES_MAX];
	int ncons;
	xp_constraint cons[XP_CONS_MAX];
	int sampling;               /* xp_sampling */
	long samples;
	unsigned long seed;
	long npoints;               /* points the sampling yields, before constraints */
	double *draws;              /* random/lhs: npoints x naxes (a value, or an index into values) */
} xp_sweep;

/* Read and validate a whole spec: every error names file:line and the key;
 * nothing runs and nothing is written for a spec that fails here.
 * 0, or -1 with err. */
int xp_sweep_load(xp_sweep *sw, const char *home, const char *file, char *err, size_t errlen);
void xp_sweep_free(xp_sweep *sw);

/* The axis values of point i (0 <= i < npoints), as text. */
void xp_sweep_values(const xp_sweep *sw, long i, char vals[][XP_VAL_MAX]);
/* The design-point spec of those values (base + one override per axis). */
void xp_sweep_spec(const xp_sweep *sw, char vals[][XP_VAL_MAX], xp_spec *out);
/* Load presets and apply overrides without the cross-key validation that
 * xp_resolve adds, so constraints can look at points that will not
 * validate.  0, or -1 with err. */
int xp_sweep_apply(const char *home, const xp_spec *spec, xp_point *pt, char *err, size_t errlen);
/* 1 if every constraint holds for pt; 0 with *which set to the first that
 * fails (a constraint that cannot be evaluated, e.g. x / 0, fails). */
int xp_sweep_admit(const xp_sweep *sw, const xp_point *pt, int *which);

/* Constraint expressions (spec_expr.c): compile checks syntax, key names
 * and types; err says what and at which column. */
int xp_expr_compile(const char *text, xp_constraint *c, char *err, size_t errlen);
/* 1 true, 0 false (or not computable). */
int xp_expr_eval(const xp_constraint *c, const xp_point *pt);
void xp_expr_free(xp_constraint *c);

/* ---- running a sweep (pool.c) ---- */

typedef struct {
	const char *home;
	int jobs;                   /* worker processes at once */
	int shard_i, shard_n;       /* run points with index % shard_n == shard_i */
	double timeout_s;           /* per point; <= 0: none */
	int progress;               /* 1: a live bar on stderr; 0: a summary line; -1: quiet */
	/* Test-only fault injection (CODESIM_TEST_FAULT; README.md "Test-only fault injection"):
	 * "ACTION:KEY=VALUE;..." with ACTION crash|hang|slow, matched against the
	 * point's axis values ("*" matches every point).  NULL: none. */
	const char *fault;
	/* Test-only: the model version the points are stored under (NULL:
	 * CODESIM_MODEL_VERSION), to play an older codesim. */
	const char *model_version;
} xp_sweep_opts;

typedef struct {
	long long sweep_id;
	long total;                 /* points in this shard */
	long excluded;              /* skipped by constraints */
	long skipped;               /* finished before (resume) or a repeat of a point in this run */
	long ok, infeasible, failed, timeout;
	int interrupted;            /* SIGINT/SIGTERM/SIGHUP: stopped early, resumable */
	double wall_s;
	long max_rss_kB;
	long other_versions;        /* runs of this spec stored by another model version (not reused) */
	long long other_version_id; /* the latest of them */
} xp_sweep_stats;

/* Run sw into db.  0 when every point of the shard was handled (failed and
 * timed-out points are rows, not errors); -1 with err for an internal error.
 * Check st->interrupted. */
int xp_sweep_run(const xp_sweep *sw, const xp_sweep_opts *o, res_db *db, xp_sweep_stats *st, char *err,
                 size_t errlen);

#endif
