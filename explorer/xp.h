/*
 * xp.h - the explorer: design points, forked workers, the command line.
 *
 * A design point is an arch, a model and a scenario, each with overrides.
 * The parent resolves and validates it (so bad input never reaches a
 * worker), then a forked worker elaborates SystemC once, simulates, and
 * sends the fixed-size result back over a pipe.  Only the parent writes
 * SQLite.
 */
#ifndef CODESIM_XP_H
#define CODESIM_XP_H

#include "../arch/arch.h"
#include "../kernels/kern.h"
#include "../results/res.h"
#include "../workloads/wl.h"
#include "model_version.h"

#define XP_MAX_SETS 64

typedef struct {
	char arch[256];
	char model[256];
	wl_scenario sc;
	int nsets;
	char sets[XP_MAX_SETS][160];   /* "arch.x=v", "model.x=v", "run.x=v" */
} xp_spec;

typedef struct {
	arch_t arch;
	wl_model model;
	wl_scenario sc;
} xp_point;

void xp_spec_init(xp_spec *s);
/* Load presets, apply overrides, validate.  -1 with err on bad input. */
int xp_resolve(const char *home, const xp_spec *spec, xp_point *pt, char *err, size_t errlen);
/* The canonical text of a resolved point (its inputs). */
size_t xp_point_text(const xp_point *pt, char *buf, size_t len);
/* A point's stored identity: its config text, "codesim.model_version =
 * \"V\";" then xp_point_text (malloc'd, the caller frees; NULL: out of
 * memory), and in hash the hex hash of that text.  version: the model
 * version (CODESIM_MODEL_VERSION; another only in tests). */
char *xp_point_identity(const xp_point *pt, const char *version, char hash[17]);
/* A stored sweep's identity text: "# codesim model version V" then the
 * sweep's own text (malloc'd; NULL: out of memory). */
char *xp_sweep_identity_text(const char *text, const char *version);

/* Simulate in this process (SystemC: once per process). 0, or -1 with
 * err for an internal error; an infeasible point is 0 with r->feasible 0. */
int xp_evaluate(const xp_point *pt, res_t *r, char *err, size_t errlen);

/* Fork a worker (forkpool.h) that runs fn(arg, out) and sends `size` bytes
 * of out back.  timeout_s <= 0: none.  Returns 0; -1 with err when the
 * worker crashed, failed or timed out (*timed_out set). */
typedef int (*xp_work_fn)(const void *arg, void *out, char *err, size_t errlen);
int xp_fork_call(xp_work_fn fn, const void *arg, void *out, size_t size, double timeout_s,
                 int *timed_out, char *err, size_t errlen);

/* Write all n bytes (retrying short writes and EINTR); 0 or -1. */
int xp_write_all(int fd, const void *buf, size_t n);
/* Read f to its end into a NUL-terminated malloc'd buffer; NULL on a read
 * error (errno from the stream) or no memory (errno ENOMEM). */
char *xp_read_all(FILE *f);
/* Monotonic clock, seconds. */
double xp_now_s(void);

/* Evaluate a point in a forked worker. */
int xp_evaluate_forked(const xp_point *pt, double timeout_s, res_t *r, char *err, size_t errlen);

/* One operator alone (codesim kernel): its forward kernels and, for an
 * attention with --backward, its backward ones (2 x KERN_NAIVE_MAX). */
#define XP_KERNELS_MAX 20
typedef struct {
	char arch[64];
	char op[16];
	double time_s, flops, mem_bytes, sram_bytes, comm_bytes;
	double achieved_flops, achieved_bw;
	double peak_flops, peak_bw;
	int bound;
	int nkernels;
	char tiling[XP_KERNELS_MAX][96];
	char names[XP_KERNELS_MAX][40];
	double ktime[XP_KERNELS_MAX];
	long events;
} xp_kernel_result;

/* One operator alone.  An attention backward (op->backward) runs after its
 * forward when with_fwd is set (what a fwd+bwd benchmark times), else alone. */
int xp_kernel_eval(const arch_t *a, const wl_op *op, int attn_impl, int fusion, int with_fwd, xp_kernel_result *kr,
                   char *err, size_t errlen);

/* The command line. */
int xp_main(int argc, char **argv);
/* 1 if argv has --help or -h. */
int xp_want_help(int argc, char **argv);
/* -1 (and a message naming the flag) if argv[i] has no value after it. */
int xp_need_value(int i, int argc, char **argv);
/* Parse the options of a design point (run, compare, recommend share them);
 * extra(i, argc, argv, ctx) may take command-specific options and returns
 * how many argv entries it consumed (0: not its option, -1: error). */
typedef int (*xp_extra_opt)(int i, int argc, char **argv, void *ctx);
int xp_parse_point(int argc, char **argv, int first, xp_spec *spec, int *json, int *verbose,
                   xp_extra_opt extra, void *ctx);

#endif
