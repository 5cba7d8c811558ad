/*
 * kern.h - lowering operators to tile kernels.
 *
 * kernels/ reads the chip (arch_t) and the op graph (wl_graph) and builds the
 * tile program sim/ executes: per kernel a grid of tiles, per tile its
 * matrix and vector work and its traffic at each memory level.  Tile shapes
 * come from a search under the core's SRAM (memoized per op shape); fusion
 * follows the policy; collectives become chunked transfers on links.
 * kernels/ advances no time: its estimates only rank candidate tilings.
 */
#ifndef CODESIM_KERN_H
#define CODESIM_KERN_H

#include "../arch/arch.h"
#include "../sim/sim.h"
#include "../workloads/wl.h"

/* What a kernel is, for reports (parallel to the sim kernels). */
typedef struct {
	char name[40];
	int cls;                /* wl_class */
	int kind;               /* wl_op_kind of the main op */
	char tiling[96];        /* e.g. "128x256x64 s3 x2/SM split1 grid 640 (4.8 waves)" */
	int tile_m, tile_n, tile_k, stages, blocks_per_core, split_k;
	double tiles, waves;
	double sram_per_tile_B; /* core SRAM one tile needs */
	double flops;           /* per instance (matrix + vector) */
	double mem_bytes;       /* backing-memory bytes per instance */
	double sram_bytes;      /* shared-SRAM (L2/CMEM) bytes per instance */
	double ideal_compute_s; /* FLOPs at the achievable matrix/vector peak */
	double ideal_mem_s;     /* bytes at the achievable bandwidth */
	double comm_bytes;      /* collectives: payload per chip */
	int recomputed;
	int fused_ops;          /* element-wise ops folded into this kernel */
} kern_info;

typedef struct {
	sim_program prog;       /* kernels and segments for sim_run */
	kern_info *info;        /* one per prog.kernels[i] */
	int cap_k, cap_s;
	double mem_bytes_saved; /* memory bytes fusion kept on chip (per step, this chip) */
} kern_program;

typedef struct {
	int bm, bn, bk, stages, bpc, split_k;
	double est_s;           /* the search's estimate (ranking only) */
	double smem_B;          /* SRAM per tile */
	int stream_k;           /* stream-K: the tiles' k-steps shared evenly by one
	                         * resident block per slot (split_k is then 1) */
} kern_tiling;

/* Fill prog's chip fields from the arch. */
void kern_chip(const arch_t *a, sim_program *p);

/* A kernel's bytes at the achievable bandwidth, as the engine charges them:
 * ki->ideal_mem_s plus what its written bytes cost beyond a read's
 * (memory.write_efficiency).  What the roofline bound of a kernel uses. */
double kern_ideal_mem_s(const sim_program *p, const sim_kernel *sk, const kern_info *ki);

/* Lower the whole graph under a fusion policy (wl_fusion). */
int kern_lower(const arch_t *a, const wl_graph *g, int fusion, kern_program *kp,
               char *err, size_t errlen);
void kern_program_free(kern_program *kp);

/* The most kernels one op lowers to: naive attention's backward under
 * eager (four GEMMs, the dropout gradient, dP*P, the softmax gradient,
 * the dQ and dK scales, the packed gradient's stack). */
#define KERN_NAIVE_MAX 10

/* Lower one op alone (codesim kernel) under a fusion policy.  Produces up
 * to max_out kernels (naive attention up to KERN_NAIVE_MAX each
 * way); returns how many, or -1. */
int kern_lower_op(const arch_t *a, const wl_op *op, int fusion, int attn_impl,
                  sim_kernel *sk, kern_info *ki, int max_out, char *err, size_t errlen);

/* GEMM tiling: search the legal shapes for the fastest estimate.
 * out_eb is the output's bytes per element (0: the operands' dtype; 2 where
 * an 8-bit GEMM writes a 16-bit product).  sram_limit_B caps the per-tile
 * SRAM (0: the core's SRAM); stream_k lets tensor-core chips take the
 * stream-K decomposition where it is faster. */
int kern_gemm_search(const arch_t *a, long m, long n, long k, long batch, int dtype, double out_eb,
                     double sram_limit_B, int stream_k, kern_tiling *out);
/* Build the sim kernel of a GEMM for a given tiling (out_eb as above). */
void kern_gemm_build(const arch_t *a, long m, long n, long k, long batch, int dtype, double out_eb,
                     const kern_tiling *t, sim_kernel *sk, kern_info *ki);
/* Matrix-unit cycles for one bm x bn tile over depth k (padding included). */
double kern_tile_mac_cycles(const arch_t *a, int dtype, long bm, long bn, long k);
/* Elements a wr x wc grid of warps reads from shared memory for an m x n x k
 * product: k * (m * wc + n * wr). */
double kern_warp_grid_elems(double m, double n, double k, double wr, double wc);
/* Shared-memory cycles of that tile's operands where the native MMA is warp-level
 * mma.sync (0 elsewhere): the tile takes at least this long. */
double kern_gemm_smem_cycles(const arch_t *a, int dtype, long bm, long bn, long k);
/* Weight-stationary systolic cycles (SCALE-Sim closed form) for an
 * [m x k] @ [k x n] GEMM on one rows x cols array. */
double kern_systolic_cycles(long rows, long cols, long m, long n, long k);

/* Collective: the phases of a collective on the chip's links. */
int kern_collective(const arch_t *a, int coll, double bytes, int group, int local, sim_kernel *sk, kern_info *ki);

#endif
