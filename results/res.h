/*
 * res.h - metrics from simulation statistics, and their output.
 *
 * res_t is plain data of fixed size: a worker process sends it to the
 * parent over a pipe as it is.  results/ runs no simulation.
 */
#ifndef CODESIM_RES_H
#define CODESIM_RES_H

#include <stdio.h>

#include "../arch/arch.h"
#include "../kernels/kern.h"
#include "../sim/sim.h"
#include "../workloads/wl.h"

#define RES_MAX_KERNELS 160

typedef enum { BOUND_COMPUTE, BOUND_MEMORY, BOUND_LATENCY, BOUND_COMM, BOUND_COUNT } res_bound;
extern const char *const res_bound_names[];

typedef struct {
	char name[40];
	char kind[16];        /* kernel class: gemm, attention, norm, elementwise, comm, other */
	char segment[40];
	char tiling[96];
	double count;         /* instances per step on one chip */
	double time_s;        /* per instance */
	double flops;         /* per instance */
	double bytes;         /* backing-memory bytes per instance */
	double sram_bytes;    /* shared-SRAM bytes per instance */
	int bound;            /* res_bound */
	int recomputed;
} res_kernel;

typedef struct {
	char arch[64], model[64];
	int phase, dtype, fusion, recompute, zero;
	int batch, seq, context, gen, micro_batch;
	int chips, tp, pp, dp, ep, vpp, n_micro;
	int feasible;
	char reason[256];
	/* headline metrics (DESIGN 6) */
	double time_s;         /* train: step; prefill: TTFT; decode: one step; serve: end to end */
	double tokens_per_s;   /* whole system */
	double mfu, hfu;
	double flops;          /* model FLOPs, whole system, per time_s */
	double hw_flops;       /* executed FLOPs incl. recomputation, whole system */
	double hbm_bytes;      /* backing-memory bytes, whole system */
	double sram_bytes;
	double comm_bytes;     /* per chip */
	double energy_j;       /* whole system */
	double avg_power_w;    /* per chip */
	double j_per_token, tokens_per_j, usd_per_mtok;
	double ttft_s, tpot_s; /* serve/prefill/decode latencies where defined */
	double token_latency_s;   /* decode: one token through all pipeline stages */
	double peak_flops;     /* per chip, the dtype */
	double bubble_frac;
	double fusion_saved_bytes;   /* per step, whole system */
	/* memory fit per chip (GB) */
	double mem_weights_GB, mem_grads_GB, mem_optim_GB, mem_act_GB, mem_kv_GB, mem_total_GB, mem_capacity_GB;
	double params_B, active_params_B;
	/* where time went: serial kernel time per step on one chip, by bound */
	double bound_s[BOUND_COUNT];
	/* per kernel class: FLOPs and time (one chip, per step) */
	double cls_flops[CLS_COUNT], cls_time_s[CLS_COUNT];
	int nkernels;
	res_kernel kernels[RES_MAX_KERNELS];
	long events;
} res_t;

/* Fill r from one simulated point.  st == NULL for an infeasible point. */
void res_compute(res_t *r, const arch_t *a, const wl_model *m, const wl_scenario *s, const wl_graph *g,
                 const kern_program *kp, const sim_stats *st);
/* Start an infeasible/failed result with its reason. */
void res_infeasible(res_t *r, const arch_t *a, const wl_model *m, const wl_scenario *s, const char *reason);

/* Output. */
void res_json(FILE *f, const res_t *r);
void res_print(FILE *f, const res_t *r, int verbose);
/* JSON string escaping helper (shared by the CLI's other outputs). */
void res_json_str(FILE *f, const char *s);
/* Human-friendly numbers: "3.21 ms", "1.2 GB". */
const char *res_fmt_time(double s, char *buf, size_t len);
const char *res_fmt_bytes(double b, char *buf, size_t len);

/* The folder's one public header (DESIGN 11): the results store (SQLite)
 * and the reports are declared in store.h and report.h, which other folders
 * reach through here. */
#include "store.h"
#include "report.h"

#endif
