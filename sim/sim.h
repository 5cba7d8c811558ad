/*
 * sim.h - the chip/system model behind a C API.
 *
 * sim/ executes a tile program (built by kernels/) on a cycle-approximate
 * model of one chip and its links, on the SystemC event kernel.  An event
 * is a tile step (a chunk's DMA, a tile's matrix work, a chunk on a link),
 * never a single cycle.  Shared resources (off-chip memory, shared SRAM,
 * links) are FIFO servers: concurrent requesters queue and share
 * bandwidth.  Each core's matrix/vector unit is a server shared by the
 * tiles resident on it.
 *
 * SystemC can elaborate once per process: sim_run() may be called once per
 * process.  Callers fork (explorer/worker.c); Check forks every test.
 * Plain C structs only: no C++ leaks out of sim/.
 */
#ifndef CODESIM_SIM_H
#define CODESIM_SIM_H

#include <stddef.h>

#define SIM_MAX_TILE_CLASSES 6
#define SIM_MAX_PHASES 3   /* a collective's base latency, then its scale-up and scale-out rings */

/* A class of identical tiles of one kernel. */
typedef struct {
	double n_tiles;       /* how many tiles of this class (integral) */
	double mac_cycles;    /* matrix-unit busy cycles per tile (efficiency applied) */
	double vec_cycles;    /* vector-unit busy cycles per tile */
	double mem_bytes;     /* bytes read from the backing memory per tile */
	double sram_bytes;    /* bytes read from the shared SRAM level (L2/CMEM) per tile */
	double store_bytes;   /* bytes written back to memory per tile */
	int ksteps;           /* pipeline steps of the tile's inner loop (>= 1) */
} sim_tiles;

/* A collective phase: `steps` sequential transfers of bytes_per_step on a
 * link of bw_Bps (achievable), each paying latency_s. */
typedef struct {
	int steps;
	double bytes_per_step;
	double bw_Bps;
	double latency_s;
	int link;             /* 0: scale-up, 1: scale-out */
} sim_phase;

typedef struct {
	char name[40];
	int cls;              /* kernel class (caller's enum) for breakdowns */
	int is_comm;          /* a collective on the links */
	int overlap;          /* comm: runs beside the following compute kernels */
	int launch;           /* pays the launch overhead before it starts */
	int blocks_per_core;  /* resident tiles per core */
	int cores;            /* cores used (0 = all) */
	int ntc;
	sim_tiles tc[SIM_MAX_TILE_CLASSES];
	int nphases;
	sim_phase ph[SIM_MAX_PHASES];
	double count;         /* consecutive instances (identical): simulated once, repeated */
} sim_kernel;

/* STEP: once per step (count times); FWD/BWD: one micro-batch through this
 * stage; SYNC: a gradient sync that overlaps the last micro-batch's backward
 * (only the part longer than that backward adds to the step). */
typedef enum { SEG_STEP, SEG_FWD, SEG_BWD, SEG_SYNC } sim_seg_role;

typedef struct {
	char name[40];
	int role;             /* sim_seg_role */
	double count;         /* repetitions per step (fwd/bwd: per micro-batch) */
	int first, n;         /* kernels[first .. first+n) */
	int once;             /* runs on one pipeline stage only (embedding, head):
	                       * bookkeeping for system totals, no effect on time */
} sim_segment;

typedef struct {
	/* chip */
	int cores;
	double clock_hz;
	double mem_bw_Bps;        /* achievable backing-memory bandwidth */
	double mem_write_cost;    /* a written byte's share of it, in read bytes (0 or 1: the same) */
	double mem_latency_s;
	double sram_bw_Bps;       /* shared SRAM level (0: none) */
	double sram_latency_s;
	double launch_s;
	int static_schedule;      /* partition bandwidth per core: no contention */
	int comm_cores;           /* cores an overlapped collective holds while it runs: a
	                           * compute kernel launched meanwhile starts on the others
	                           * and takes the held ones back when the collective ends */
	/* program */
	sim_kernel *kernels;
	int nkernels;
	sim_segment *segs;
	int nsegs;
	/* pipeline schedule (1F1B, interleaved by vpp) */
	int pp, vpp, n_micro;
	double p2p_s;             /* stage-to-stage activation transfer per micro-batch */
	int p2p_blocking;         /* the stages wait for their transfers: each forward and
	                           * backward of a model chunk ends with one (Megatron-LM
	                           * 2021's synchronous send/recv) */
	int steady;               /* decode in steady state: micro-batches cycle through
	                           * the pipeline token after token (no fill or drain) */
} sim_program;

typedef struct {
	double time_s;        /* one instance, start to end (incl. its launch gap) */
	double busy_mac_s;    /* matrix-unit busy time summed over cores / cores */
	double mem_bytes, sram_bytes;
} sim_kstat;

typedef struct {
	double step_s;            /* whole step */
	double fwd_s, bwd_s;      /* one micro-batch through one stage */
	double step_only_s;       /* per-step segments (optimizer, un-overlapped syncs) */
	double pipeline_s;        /* pipelined part */
	double bubble_frac;       /* idle fraction of a stage in the pipeline */
	double token_latency_s;   /* one micro-batch through every stage (decode) */
	double *seg_s;            /* per segment, one run (nsegs), caller-allocated */
	sim_kstat *k;             /* per kernel (nkernels), caller-allocated */
	long events;              /* events processed (for bench) */
} sim_stats;

/* Run the program; fills st (st->seg_s and st->k must have room).
 * Returns 0, or -1 with err (SystemC errors are caught and reported). */
int sim_run(const sim_program *p, sim_stats *st, char *err, size_t errlen);

const char *sim_version(void);

#endif
