/*
 * arch.h - chip and system descriptions (arch_t), the declared-key table
 * machinery shared by every libconfig file codesim reads, and presets.
 *
 * arch/ knows nothing about workloads.  Every number a preset uses is a
 * published figure cited next to it in arch/presets/NAME.cfg.
 */
#ifndef CODESIM_ARCH_H
#define CODESIM_ARCH_H

#include <stddef.h>
#include <stdint.h>

#define ARCH_NAME_MAX 64
#define ARCH_ERR_MAX 512

/* ---------------------------------------------------------------------
 * Declared-key tables (used by arch/, workloads/ and explorer/).
 * Every key a file may contain is declared once: path, type, unit,
 * default, accepted range, doc.  Unknown keys are errors.
 * ------------------------------------------------------------------- */
typedef enum { CFG_INT, CFG_FLOAT, CFG_BOOL, CFG_STRING, CFG_ENUM } cfg_type;

typedef struct {
	const char *path;              /* dotted path, e.g. "memory.bandwidth_GBps" */
	cfg_type type;
	size_t offset;                 /* offsetof() into the target struct */
	const char *unit;              /* "GB/s", "MiB", "" ... */
	double def, min, max;          /* default and accepted range (numbers) */
	const char *doc;
	const char *const *names;      /* CFG_ENUM: NULL-terminated names */
	size_t str_size;               /* CFG_STRING: buffer size */
} cfg_key;

/* Fill every field of obj with its declared default. */
void arch_cfg_defaults(const cfg_key *keys, size_t n, void *obj);
/* Read a libconfig file into obj.  Unknown keys, type errors, values out of
 * range and integer literals past libconfig's 32-bit wrap are errors naming
 * file, line and key.  Returns 0 or -1 with err filled. */
int arch_cfg_load(const cfg_key *keys, size_t n, void *obj, const char *file,
                  char *err, size_t errlen);
/* Set one key from text ("6700", "true", "gpu"); origin names where the text
 * came from (e.g. "-s arch.clock_MHz") for the error message. */
int arch_cfg_set(const cfg_key *keys, size_t n, void *obj, const char *path,
                 const char *value, const char *origin, char *err, size_t errlen);
/* Find a key by path, or NULL. */
const cfg_key *arch_cfg_find(const cfg_key *keys, size_t n, const char *path);
/* Canonical resolved text of obj ("path = value;\n" per key, table order),
 * written into buf; returns the length that was needed. */
size_t arch_cfg_dump(const cfg_key *keys, size_t n, const void *obj,
                     const char *prefix, char *buf, size_t buflen);
/* Value of a numeric/bool/enum key as a double (for sweeps and reports). */
double arch_cfg_get(const cfg_key *key, const void *obj);
/* Resolve a preset: a name (looked up in <home>/<dir>/NAME.cfg) or a path.
 * home is the codesim data directory.  Returns 0 or -1. */
int arch_cfg_resolve(const char *home, const char *dir, const char *name_or_path,
                     char *out, size_t outlen, char *err, size_t errlen);
/* Load a preset (name in <home>/<dir>/NAME.cfg, or a path) into obj, after
 * its defaults; when the file sets no name, name it after the file. */
int arch_cfg_load_preset(const cfg_key *keys, size_t n, void *obj, const char *home, const char *dir,
                         const char *name_or_path, char *name, size_t name_size, char *err, size_t errlen);
/* The codesim data directory: $CODESIM_HOME, else the directory of the
 * running executable. */
void arch_home(char *out, size_t outlen);
/* 64-bit FNV-1a hash of a byte string (config identity). */
uint64_t arch_hash(const char *s, size_t len);

/* ---------------------------------------------------------------------
 * Data types and chip families
 * ------------------------------------------------------------------- */
typedef enum { DT_BF16, DT_FP16, DT_FP8, DT_INT8, DT_COUNT } arch_dtype;
extern const char *const arch_dtype_names[];   /* "bf16","fp16","fp8","int8",NULL */
double arch_dtype_bytes(arch_dtype dt);

typedef enum { FAM_GPU, FAM_TPU, FAM_LPU } arch_family;
extern const char *const arch_family_names[];  /* "gpu","tpu","lpu",NULL */

/* How the matrix unit is timed.
 * TENSOR: MACs/clk per core at the MMA granularity (mma_m x mma_n x mma_k),
 *         padded work at tile edges (GPU tensor cores, AMD matrix cores).
 * SYSTOLIC: a rows x cols weight-stationary array per core: per fold
 *         (2*rows + cols + T - 2) cycles (TPU MXU, LPU MXM plane). */
typedef enum { MXU_TENSOR, MXU_SYSTOLIC } arch_mxu_kind;
extern const char *const arch_mxu_names[];     /* "tensor","systolic",NULL */

typedef enum { TOPO_SWITCH, TOPO_TORUS2D, TOPO_TORUS3D, TOPO_MESH } arch_topology;
extern const char *const arch_topology_names[];

typedef struct {
	char name[ARCH_NAME_MAX];
	char description[160];
	int family;                    /* arch_family */
	double clock_MHz;

	struct {
		int count;                 /* SMs / CUs / MXUs (TPU) / MXM planes (LPU) */
		double sram_KiB;           /* shared memory / LDS / VMEM share per core */
		int mxu_kind;              /* arch_mxu_kind */
		double macs_bf16, macs_fp16, macs_fp8, macs_int8; /* dense MAC/clk per core */
		int mma_m, mma_n, mma_k;   /* MMA granularity (tensor) */
		int mxu_rows, mxu_cols;    /* systolic array size */
		double weight_load_Bpc;    /* bytes/clk installing a fold's weights in the array;
		                            * 0 = shifted in one row per clock (TPU) */
		double vector_flops_per_clk; /* vector FLOP/clk per core (fp32) */
		double sfu_ops_per_clk;    /* transcendental (exp) results/clk per core; 0 = vector rate */
		double smem_bytes_per_clk; /* shared-memory bandwidth per core, the path warp-level
		                            * MMA operands take (ldmatrix); 0 = not modelled */
		double smem_efficiency;    /* the fraction of it operand traffic achieves: the
		                            * L1/shared-memory data path also carries the block's
		                            * cp.async fills, global loads and atomics, and ldmatrix
		                            * issue and bank effects cost more (calibrated) */
		int max_blocks;            /* resident tiles per core (occupancy cap) */
		int max_threads;           /* resident threads per core (GPU occupancy limit);
		                            * 0 = not modelled */
		double matrix_efficiency;  /* achievable fraction of the MMA peak (issue, power) */
		double matrix_efficiency_fp8; /* the same for 8-bit MMAs, whose full rate draws more
		                            * power than the clock can hold; 0 = matrix_efficiency */
		int multicast;             /* tiles of a cluster sharing one shared-SRAM read of an
		                            * operand panel (Hopper TMA multicast); 1 = none */
		double warp_mma_fraction;  /* the MMA rate a kernel written for the previous
		                            * generation's warp-synchronous MMA (mma.sync) reaches,
		                            * as a fraction of the native rate; 1 = it is native */
	} core;

	struct {
		double size_MiB;           /* L2 / CMEM / LPU global SRAM */
		double bandwidth_GBps;
		double latency_ns;
	} global_sram;

	struct {
		double capacity_GB;        /* 0 = no off-chip memory (LPU) */
		double bandwidth_GBps;
		double latency_ns;
		double efficiency;         /* achievable fraction of bandwidth_GBps */
		double write_efficiency;   /* the same for written bytes (the bus turns around
		                            * between reads and writes); 0 = efficiency */
	} memory;

	struct {
		double launch_overhead_us; /* per kernel launch (GPU); per-op dispatch (TPU) */
		int static_schedule;       /* 1: compiler-timed, no contention (LPU) */
	} sched;

	struct {
		int chips_per_node;        /* scale-up domain size */
		int topology;              /* arch_topology of the scale-up domain */
		double scaleup_bandwidth_GBps;   /* per chip, per direction */
		double scaleup_latency_us;
		double scaleup_efficiency;
		double scaleout_bandwidth_GBps;  /* per chip, per direction */
		double scaleout_latency_us;
		double scaleout_efficiency;
		int nccl_protocols;        /* 1: ring collectives follow NCCL's protocol cost model */
		int comm_cores;            /* cores a collective's kernel holds while it runs
		                            * beside compute (NCCL: one block per channel) */
	} system;

	struct {
		double tdp_W;
		double idle_W;
		double pJ_per_flop;        /* matrix FLOP (bf16) */
		double pJ_per_hbm_byte;
		double pJ_per_sram_byte;
		double pJ_per_link_byte;
	} power;

	struct {
		double usd_per_hour;       /* rental price per chip-hour */
	} cost;
} arch_t;

extern const cfg_key arch_keys[];
extern const size_t arch_nkeys;

/* Load a preset by name or path into a (defaults first).  file_out, if not
 * NULL, receives the resolved path. */
int arch_load(arch_t *a, const char *home, const char *name_or_path,
              char *err, size_t errlen);
/* Apply "path=value" (path without the "arch." prefix). */
int arch_override(arch_t *a, const char *assignment, char *err, size_t errlen);
/* Cross-key checks (e.g. systolic arrays need rows/cols). */
int arch_validate(const arch_t *a, char *err, size_t errlen);

/* Derived figures. */
double arch_macs_per_clk(const arch_t *a, arch_dtype dt);   /* per core */
double arch_peak_flops(const arch_t *a, arch_dtype dt);     /* dense, chip */
double arch_matrix_efficiency(const arch_t *a, arch_dtype dt); /* achievable fraction of it */
double arch_mem_bw_Bps(const arch_t *a);   /* peak bytes/s of the backing store */
double arch_smem_Bpc(const arch_t *a);     /* achieved shared-memory bytes/clk per core for
                                            * MMA operands; 0 = not modelled */
double arch_clock_hz(const arch_t *a);
int arch_has_hbm(const arch_t *a);

#endif
