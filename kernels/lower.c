/*
 * lower.c - operators to tile kernels, fusion policies, the tile program.
 *
 * Fusion policies (DESIGN, issue "tile kernels"):
 *  eager      every op is its own kernel: a launch each, every intermediate
 *             goes to memory and back.
 *  compiler   element-wise and activation ops are folded into the
 *             neighbouring GEMM/attention kernel (epilogue, or the prologue
 *             of the next one); their intermediates never leave the core;
 *             only external inputs (a residual stream) are read.  A norm is
 *             its own kernel, host to the element-wise ops next to it.
 *  megakernel one persistent kernel per segment: a single launch, fused as
 *             above with the norms too, and activations passed between ops through the shared
 *             SRAM when they fit in it; weights still stream from memory.
 */
#include "kern.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long cdiv(long a, long b) { return (a + b - 1) / b; }

void kern_chip(const arch_t *a, sim_program *p)
{
	p->cores = a->core.count;
	p->clock_hz = arch_clock_hz(a);
	if (arch_has_hbm(a)) {
		p->mem_bw_Bps = a->memory.bandwidth_GBps * 1e9 * a->memory.efficiency;
		if (a->memory.write_efficiency > 0)
			p->mem_write_cost = a->memory.efficiency / a->memory.write_efficiency;
		p->mem_latency_s = a->memory.latency_ns * 1e-9;
		p->sram_bw_Bps = a->global_sram.bandwidth_GBps * 1e9;
		p->sram_latency_s = a->global_sram.latency_ns * 1e-9;
	} else {
		/* SRAM-only chip: the global SRAM is the backing store */
		p->mem_bw_Bps = a->global_sram.bandwidth_GBps * 1e9;
		p->mem_latency_s = a->global_sram.latency_ns * 1e-9;
		p->sram_bw_Bps = 0;
		p->sram_latency_s = 0;
	}
	p->launch_s = a->sched.launch_overhead_us * 1e-6;
	p->static_schedule = a->sched.static_schedule;
	p->comm_cores = a->system.comm_cores;
	p->pp = p->vpp = p->n_micro = 1;
}

double kern_ideal_mem_s(const sim_program *p, const sim_kernel *sk, const kern_info *ki)
{
	double wc = p->mem_write_cost > 0 ? p->mem_write_cost : 1.0;
	if (wc == 1.0 || p->mem_bw_Bps <= 0)
		return ki->ideal_mem_s;
	double stored = 0;
	for (int c = 0; c < sk->ntc; c++)
		stored += sk->tc[c].n_tiles * sk->tc[c].store_bytes;
	return ki->ideal_mem_s + stored * (wc - 1.0) / p->mem_bw_Bps;
}

static double mem_bw(const arch_t *a)
{
	return arch_mem_bw_Bps(a) * (arch_has_hbm(a) ? a->memory.efficiency : 1.0);
}

static void info_common(const arch_t *a, int dtype, kern_info *ki)
{
	double pk = arch_peak_flops(a, (arch_dtype)dtype) * arch_matrix_efficiency(a, (arch_dtype)dtype);
	ki->ideal_mem_s = ki->mem_bytes / mem_bw(a);
	if (ki->ideal_compute_s <= 0 && pk > 0)
		ki->ideal_compute_s = ki->flops / pk;
}

/* ---- vector ops: memory-bound tiles over rows ---------------------- */

static void lower_vector(const arch_t *a, const wl_op *op, double in_B, double out_B,
                         sim_kernel *sk, kern_info *ki)
{
	memset(sk, 0, sizeof *sk);
	double bytes = in_B + out_B;
	/* 64 KiB of traffic per tile, at most 8 tiles per core resident in turn */
	double tiles = ceil(fmax(1.0, fmin(bytes / 65536.0, (double)a->core.count * 8)));
	sk->ntc = 1;
	sk->tc[0].n_tiles = tiles;
	sk->tc[0].mem_bytes = in_B / tiles;
	sk->tc[0].store_bytes = out_B / tiles;
	sk->tc[0].vec_cycles = op->vflops / tiles / a->core.vector_flops_per_clk;
	sk->tc[0].ksteps = 2;
	sk->blocks_per_core = a->core.max_blocks;
	sk->launch = 1;
	sk->count = 1;
	memset(ki, 0, sizeof *ki);
	ki->tiles = tiles;
	ki->waves = tiles / ((double)a->core.count * sk->blocks_per_core);
	ki->flops = op->vflops;
	ki->mem_bytes = bytes;
	ki->ideal_compute_s = op->vflops / (a->core.vector_flops_per_clk * a->core.count * arch_clock_hz(a));
	info_common(a, op->dtype, ki);
	snprintf(ki->tiling, sizeof ki->tiling, "row tiles of %.0f KiB, grid %.0f", bytes / tiles / 1024, tiles);
}

/* A normalization is a row reduction: its statistics (mean and variance,
 * by Welford) must be complete before the first element of its output, so a
 * kernel that cannot hold the row in registers makes two passes over it and
 * reads it twice.  PyTorch's eager kernel always does (layer_norm_kernel.cu,
 * vectorized_layer_norm_kernel: compute_stats over the row, then a second
 * loop over X; a 128-thread block per row); TorchInductor's does when the
 * row is longer than its persistent-reduction limit of 1024 elements
 * (should_use_persistent_reduction; past it the reduction loops over the row
 * in RBLOCK = 2048 chunks with 8 warps, triton_heuristics.py reduction /
 * triton_config_reduction).  The second read is an L2 hit only if the rows
 * in flight fit: between a chunk's two reads each resident program reads a
 * whole row and writes, on average, half of one, so the footprint is
 * resident rows x (row in + row out / 2).  A cyclic reuse larger than the
 * cache misses on every line under LRU, so past the L2's size the row comes
 * from memory twice.  Resident rows: the chip's resident threads per core
 * over the program's threads, on every core.  Returns the bytes of the
 * second read that come from memory (0 if it hits, or if the chip's L2 or
 * occupancy is not modelled). */
static double norm_reread_bytes(const arch_t *a, const wl_op *op, int fusion)
{
	double l2 = a->global_sram.size_MiB * 1048576.0;
	if (op->kind != OP_NORM || op->n <= 0 || op->elems <= 0 || a->family != FAM_GPU ||
	    !arch_has_hbm(a) || l2 <= 0 || a->core.max_threads <= 0)
		return 0;
	int threads;
	if (fusion == FUSE_EAGER)
		threads = 128;
	else if (fusion == FUSE_COMPILER && op->n > 1024)
		threads = 256;
	else
		return 0;   /* a persistent reduction holds the row; a megakernel folds it */
	double rows = op->elems / (double)op->n;
	double resident = fmin(rows, (double)a->core.count * (a->core.max_threads / threads));
	double footprint = resident * (op->bytes_in + op->bytes_out / 2.0) / rows;
	return footprint > l2 ? op->bytes_in : 0;
}

/* A softmax as a framework's library kernel runs it on a GPU: PyTorch's
 * ATen softmax (aten/src/ATen/native/cuda/SoftMax.cu, PersistentSoftmax.cuh).
 * ATen is built without fast math, so its std::exp is CUDA's accurate expf
 * (range reduction by FMAs around one ex2.approx on the special-function
 * unit) and its division is IEEE div.rn.f32 (rcp.approx on the SFU, then
 * Newton FMAs and a range check).  Rows up to 1024 elements (4 KiB) run the
 * warp-per-row persistent kernel: one exp and one division per element.
 * Longer rows run the block-per-row kernel in three passes (max; sum of
 * exp; the epilogue exp(x - max) / sum), which computes the exp twice.
 * Per element, in FP32-pipe lane instructions besides the SFU ones:
 * conversions, max, subtract, sum, loads and stores (~5 persistent; ~8 block,
 * with the shared-memory copy of the row), expf ~8 each, the
 * division ~7.  These counts are read off the kernels' source and the
 * usual expf / div.rn sequences, not off SASS: UNCERTAIN to a few
 * instructions.  The FP32 pipe and the SFU issue side by side, so an
 * element costs the slower of the two.  Returns cycles per element per
 * core, or 0 on a chip without special-function units (the vector cost of
 * the op stands). */
/* PyTorch's choice of the warp-per-row kernel (host_softmax: dim_size <= 1024
 * and dim_size * sizeof(scalar_t) <= 4096) */
static int softmax_persistent(long row, double eb)
{
	return row > 0 && row <= 1024 && row * eb <= 4096;
}

static double framework_softmax_cyc(const arch_t *a, long row, double eb)
{
	if (a->core.sfu_ops_per_clk <= 0 || a->core.vector_flops_per_clk <= 0)
		return 0;
	int persistent = softmax_persistent(row, eb);
	double alu = persistent ? 5.0 + 8.0 + 7.0 : 8.0 + 2 * 8.0 + 7.0;
	double sfu = persistent ? 2.0 : 3.0;
	double lanes = a->core.vector_flops_per_clk / 2.0;   /* FP32 lanes: the rate counts an FMA as 2 */
	return fmax(alu / lanes, sfu / a->core.sfu_ops_per_clk);
}

/* The softmax of `elems` elements in rows of `row`, lowered by
 * lower_vector, as the framework's kernel runs it: its grid (the persistent
 * kernel puts 4 warps in a block, a warp on one row, two when rows are at
 * most 128; the block kernel a block on each row), so the work spreads over
 * as many cores as there are blocks, and at least its instruction cost. */
static void framework_softmax(const arch_t *a, double elems, long row, double eb, sim_kernel *sk, kern_info *ki)
{
	double c = framework_softmax_cyc(a, row, eb);
	if (c <= 0)
		return;
	int persistent = softmax_persistent(row, eb);
	double rows_per_block = persistent ? 4.0 * (row <= 128 ? 2 : 1) : 1.0;
	double blocks = ceil(elems / (row > 0 ? (double)row : elems) / rows_per_block);
	sim_tiles *t = &sk->tc[0];
	double tiles = fmin(blocks, (double)a->core.count * 8);
	if (tiles > t->n_tiles) {
		double f = t->n_tiles / tiles;
		t->mem_bytes *= f, t->store_bytes *= f, t->vec_cycles *= f;
		t->n_tiles = tiles;
		ki->tiles = tiles;
		ki->waves = tiles / ((double)a->core.count * sk->blocks_per_core);
		snprintf(ki->tiling, sizeof ki->tiling, "%s rows of %ld, grid %.0f",
		         persistent ? "warp-per-row" : "block-per-row", row, tiles);
	}
	double per_tile = elems * c / t->n_tiles;
	if (per_tile > t->vec_cycles)
		t->vec_cycles = per_tile;
	double s = elems * c / ((double)a->core.count * arch_clock_hz(a));
	if (s > ki->ideal_compute_s)
		ki->ideal_compute_s = s;
}

/* ---- attention ------------------------------------------------------ */

/* Shared-memory bytes per MAC of FlashAttention-2's tiles.  Its mma.sync
 * operands reach the tensor cores from shared memory through ldmatrix, and
 * each warp reads the rows of A and the columns of B its part of the output
 * needs: an M x N x K product split over a wm x wn grid of warps reads
 * K * (M * wn + N * wm) elements (kern_warp_grid_elems, which GEMM tiles
 * count by too).  Block shapes and warp grids are those
 * FlashAttention-2 launches on sm80/sm90 (csrc/flash_attn/src/
 * flash_fwd_launch_template.h, flash_bwd_launch_template.h, kernel_traits.h):
 * forward Br x Bc with w warps split along the query rows (S = QK^T reads
 * Q and all of K per warp; O += PV takes P from registers and reads all of
 * V); K and V are copied into shared memory once per block.  Backward per
 * (query block, key block): S and dP (Br x Bc x d) on a grid of aS rows of
 * warps, dV and dK (Bc x d x Br) on aKV, dQ (Br x d x Bc) on aQ; P and dS
 * are written to shared memory (they are read transposed), Q and dO copied
 * in. */
static double fa2_smem_bytes_per_mac(int hd, int backward, double eb)
{
	double d = hd;
	if (!backward) {
		double br = 128, bc = hd <= 64 ? 128 : 64, w = hd <= 128 ? 4 : 8;
		double elems = kern_warp_grid_elems(br, bc, d, w, 1)   /* S = QK^T */
		               + w * bc * d        /* O += PV: P from registers, V by every warp */
		               + 2 * bc * d;       /* K, V copied in */
		return elems * eb / (2 * br * bc * d);
	}
	double br, bc, w = 8, as, akv, aq;
	if (hd <= 64)
		br = 128, bc = 128, as = 4, akv = 4, aq = 4;
	else if (hd <= 128)
		br = 64, bc = 128, as = 2, akv = 4, aq = 2;
	else
		br = 64, bc = 64, as = 4, akv = 2, aq = 2;
	double elems = 2 * kern_warp_grid_elems(br, bc, d, as, w / as)     /* S, dP */
	               + 2 * kern_warp_grid_elems(bc, d, br, akv, w / akv) /* dV, dK */
	               + kern_warp_grid_elems(br, d, bc, aq, w / aq)       /* dQ */
	               + 2 * br * bc                           /* P, dS stored */
	               + 2 * br * d;                           /* Q, dO copied in */
	return elems * eb / (5 * br * bc * d);
}

/* Flash attention: one tile per (batch, head, query block); the tile
 * streams K/V blocks with an online softmax, scores stay on the core.
 * Decode (few queries): split the KV length to fill the chip
 * (flash-decoding); the query heads of a KV group share the K/V stream. */
static void lower_flash(const arch_t *a, const wl_op *op, int impl, sim_kernel *sk, kern_info *ki)
{
	double eb = arch_dtype_bytes((arch_dtype)op->dtype);
	double kv_eb = op->kv_eb > 0 ? op->kv_eb : eb;   /* cached K/V elements (FP8 cache: 1 byte) */
	long q = op->q_len, kv = op->kv_len;
	int hd = op->head_dim, grp = op->heads / (op->kv_heads > 0 ? op->kv_heads : 1);
	int sys = a->core.mxu_kind == MXU_SYSTOLIC;
	/* masked multi-head attention for generation (FasterTransformer's
	 * decoderMaskedMultiheadAttention, TensorRT-LLM's until its XQA kernel,
	 * v0.8, "for MQA and GQA during generation phase ... using tensor cores,
	 * reducing data loading"): one block per (sequence, query head), no KV
	 * split, q.k and p.v as dot products on the vector units; the query
	 * heads of a KV group each read that head's cache, the repeats served
	 * by the L2 where the group's blocks run side by side */
	int mmha = impl == ATTN_MMHA && q < 128;
	long br = q >= 128 ? (sys ? a->core.mxu_rows : 128) : mmha ? q : q * grp;  /* query rows per tile */
	long bc = sys ? a->core.mxu_cols : 128;                            /* kv columns per step */
	double units;                 /* tiles */
	long rows;                    /* query rows one tile computes */
	double kv_per_tile;           /* kv positions a tile visits */
	if (q >= 128) {
		rows = br;
		units = (double)op->batch * op->heads * cdiv(q, br);
		kv_per_tile = op->causal ? (double)(kv - q) + (q + br) / 2.0 : (double)kv;
	} else if (mmha) {
		rows = br;
		units = (double)op->batch * op->heads;
		kv_per_tile = (double)kv;
	} else {
		rows = br;                /* q * group rows of one KV head */
		double base = (double)op->batch * op->kv_heads;
		double want = (double)a->core.count * a->core.max_blocks;
		double splits = fmax(1.0, fmin(ceil(want / base), ceil((double)kv / bc)));
		units = base * splits;
		kv_per_tile = (double)kv / splits;
	}
	double pass = op->backward ? 2.5 : 1.0;   /* backward: 5 matmuls vs 2 */
	double mac_cyc = mmha ? 0 : pass * 2.0 * kern_tile_mac_cycles(a, op->dtype, rows, hd, (long)ceil(kv_per_tile));
	/* QK^T and PV are each rows x kv x hd; kern_tile_mac_cycles(rows, hd, kv)
	 * is one of them (padding to the MMA shape included).  FlashAttention-2's
	 * code issues warp-synchronous mma.sync: on a chip whose native MMA is
	 * another instruction (Hopper's wgmma) it runs at that path's rate */
	double warp = a->core.warp_mma_fraction;
	int warp_native = !(warp > 0 && warp < 1);
	if (impl == ATTN_FLASH2 && !warp_native)
		mac_cyc /= warp;
	/* FlashAttention-2's code (flash2 anywhere; flash where mma.sync is the
	 * native MMA) cannot feed its tensor cores faster than shared memory
	 * delivers the operands: the matrix work takes at least its
	 * shared-memory bytes at the shared-memory bandwidth its operand traffic
	 * achieves (arch_smem_Bpc) */
	if (a->core.mxu_kind == MXU_TENSOR && arch_smem_Bpc(a) > 0 &&
	    (impl == ATTN_FLASH2 || warp_native) && q >= 128) {
		double macs = pass * 2.0 * rows * hd * ceil(kv_per_tile);
		double smem_cyc = macs * fa2_smem_bytes_per_mac(hd, op->backward, eb) / arch_smem_Bpc(a);
		if (smem_cyc > mac_cyc)
			mac_cyc = smem_cyc;
	}
	/* the online softmax: scale, max, subtract, sum per score on the vector
	 * unit, and one exp per score on the special-function unit where the
	 * chip has one (the backward recomputes P: one more exp) */
	double scores = rows * kv_per_tile;
	double sfu = a->core.sfu_ops_per_clk > 0 ? a->core.sfu_ops_per_clk : a->core.vector_flops_per_clk;
	double vec = pass * scores * 4.0 / a->core.vector_flops_per_clk + scores / sfu;
	/* causal: the kv blocks that cross the diagonal are masked score by
	 * score (FlashAttention-2 apply_mask_causal; FlashAttention-3 the same):
	 * a compare of the column against the row's limit and a select of -inf,
	 * 2 instructions, over the rows x max(rows, bc) scores of those blocks,
	 * once per pass (the backward masks its recomputed S).  A query block's
	 * other blocks run unmasked, so the cost weighs most at short sequences. */
	if (op->causal && q >= 128)
		vec += 2.0 * rows * fmax((double)rows, (double)bc) * 2.0 / a->core.vector_flops_per_clk;
	if (mmha)   /* q.k and p.v: an FMA per (query row, key, element) each */
		vec += 2.0 * 2.0 * rows * kv_per_tile * hd / a->core.vector_flops_per_clk;
	double kv_load = kv_per_tile * hd * 2.0 * kv_eb;           /* K and V blocks */
	double q_load = (double)rows * hd * eb * (op->backward ? 3 : 1);  /* Q (+O, dO) */
	double out = (double)rows * hd * eb * (op->backward ? 1 : 1);
	double extra_bwd = op->backward ? kv_per_tile * hd * 2.0 * 4 / (q >= 128 ? cdiv(q, br) : 1) : 0;
	/* K/V re-read by every query block and every head of a group: through L2
	 * if the group's K/V fit there, else from memory */
	double kv_unique = (double)op->batch * op->kv_heads * kv * hd * 2.0 * kv_eb;
	double kv_reads = units * kv_load;
	double l2 = a->global_sram.size_MiB * 1048576.0;
	int have_l2 = l2 > 0 && a->global_sram.bandwidth_GBps > 0 && arch_has_hbm(a);
	/* the tiles of one KV head (its query heads x query blocks) run side by
	 * side in grid order, so the K/V in use at once are those of the KV heads
	 * one wave touches */
	double per_head = kv_unique / fmax(1.0, (double)op->batch * op->kv_heads);
	double tiles_per_head = units / fmax(1.0, (double)op->batch * op->kv_heads);
	double wave = (double)a->core.count * a->core.max_blocks;
	double heads_live = fmin((double)op->batch * op->kv_heads, ceil(wave / tiles_per_head) + 1);
	double kv_mem = have_l2 && per_head * heads_live <= l2 ? kv_unique : kv_reads;
	if (kv_mem > kv_reads)
		kv_mem = kv_reads;
	memset(sk, 0, sizeof *sk);
	sk->ntc = 1;
	sim_tiles *c = &sk->tc[0];
	c->n_tiles = units;
	c->mac_cycles = mac_cyc;
	c->vec_cycles = vec;
	c->mem_bytes = (kv_mem / units) + q_load;
	c->sram_bytes = (kv_reads - kv_mem) / units;
	c->store_bytes = out + extra_bwd;
	c->ksteps = (int)fmax(1, ceil(kv_per_tile / bc));
	/* SRAM: Q block + double-buffered K/V blocks */
	double smem = (double)rows * hd * eb + 2.0 * 2.0 * bc * hd * kv_eb;
	int fit = (int)floor(a->core.sram_KiB * 1024.0 / smem);
	sk->blocks_per_core = fit < 1 ? 1 : (fit < a->core.max_blocks ? fit : a->core.max_blocks);
	sk->launch = 1;
	sk->count = 1;
	memset(ki, 0, sizeof *ki);
	ki->tile_m = (int)rows, ki->tile_n = (int)bc, ki->tile_k = hd;
	ki->tiles = units;
	ki->blocks_per_core = sk->blocks_per_core;
	ki->waves = units / ((double)a->core.count * sk->blocks_per_core);
	ki->sram_per_tile_B = smem;
	ki->flops = op->flops;
	ki->mem_bytes = units * (c->mem_bytes + c->store_bytes);
	ki->sram_bytes = units * c->sram_bytes;
	info_common(a, op->dtype, ki);
	snprintf(ki->tiling, sizeof ki->tiling, "%s Br=%ld Bc=%ld d=%d grid %.0f (%.2f waves)%s",
	         mmha ? "mmha" : impl == ATTN_FLASH2 ? "flash2" : "flash", rows, bc, hd, units, ki->waves,
	         mmha ? " per query head" : q < 128 ? " split-kv" : "");
}

/* ---- collectives ---------------------------------------------------- */

/* NCCL's own cost model of a ring collective (NVIDIA/nccl src/graph/tuning.cc,
 * ncclTopoTuneModel / ncclTopoGetAlgoTime): time = baseLat + nsteps * hwLat +
 * bytes / algBW, for each protocol LL, LL128, Simple; NCCL runs the one its
 * model says is fastest for the message.  Ring values of that table, in us:
 * baseLat {3.6, 10.0, 8.4}; hwLat over NVLink {0.47, 1.9, 3.4} and over the
 * network {2.7, 4.0, 9.6}.  Bandwidth: LL moves 8 bytes per 16 (flag words)
 * and is modelled at 1/4 of the bus bandwidth for all-reduce (1/3 for the
 * others), LL128 at 0.92 (120 of 128 bytes), Simple at the full bandwidth.
 * The chip's own scale-up/scale-out efficiency stays the Simple bandwidth. */
static const double nccl_base_us[3] = {3.6, 10.0, 8.4};
static const double nccl_hop_us[2][3] = {{0.47, 1.9, 3.4}, {2.7, 4.0, 9.6}};

static double nccl_bw_factor(int proto, int coll, int nodes)
{
	if (proto == 0)
		return (nodes > 1 || coll == COLL_ALLREDUCE) ? 0.25 : 1.0 / 3.0;
	return proto == 1 ? 0.92 : 1.0;
}

/* the protocol with the least modelled time for `bytes` over a ring of
 * `inner` chips per node and `nodes` nodes (the phases kern_collective builds:
 * nodes x (inner-1) scale-up hops and nodes-1 network hops per phase) */
static int nccl_pick(int coll, double bytes, int inner, int nodes, double up_bw, double out_bw)
{
	int rs = coll == COLL_ALLREDUCE ? 2 : 1, best = 2;
	double tbest = INFINITY;
	for (int p = 0; p < 3; p++) {
		double f = nccl_bw_factor(p, coll, nodes), t = nccl_base_us[p] * 1e-6;
		if (inner > 1)
			t += rs * nodes * (inner - 1) * (nccl_hop_us[0][p] * 1e-6 + bytes / inner / nodes / (up_bw * f));
		if (nodes > 1)
			t += rs * (nodes - 1) * (nccl_hop_us[1][p] * 1e-6 + bytes / inner / nodes / (out_bw * f));
		if (t < tbest)
			tbest = t, best = p;
	}
	return best;
}

int kern_collective(const arch_t *a, int coll, double bytes, int group, int local, sim_kernel *sk, kern_info *ki)
{
	memset(sk, 0, sizeof *sk);
	sk->is_comm = 1;
	sk->count = 1;
	int per_node = a->system.chips_per_node;
	/* members of the group that share a node: all of a node when the group
	 * is packed (local <= 0); fewer when its ranks are strided across nodes
	 * (a data-parallel group beside tensor parallelism) */
	int cap = local > 0 && local < per_node ? local : per_node;
	int inner = group < cap ? group : cap;
	int nodes = (group + inner - 1) / inner;
	double up_bw = a->system.scaleup_bandwidth_GBps * 1e9 * a->system.scaleup_efficiency;
	double out_bw = a->system.scaleout_bandwidth_GBps * 1e9 * a->system.scaleout_efficiency;
	double up_lat = a->system.scaleup_latency_us * 1e-6, out_lat = a->system.scaleout_latency_us * 1e-6;
	if (up_bw <= 0) {
		up_bw = out_bw;
		up_lat = out_lat;
	}
	if (out_bw <= 0) {
		out_bw = up_bw;
		out_lat = up_lat;
	}
	/* ring steps per phase: all-reduce = reduce-scatter + all-gather */
	int rs = coll == COLL_ALLREDUCE ? 2 : 1;
	int ring = coll == COLL_ALLREDUCE || coll == COLL_ALLGATHER || coll == COLL_REDUCESCATTER;
	int proto = -1;   /* NCCL protocol chosen, -1: plain link model */
	if (ring && a->system.nccl_protocols && group > 1)
		proto = nccl_pick(coll, bytes, inner, nodes, up_bw, out_bw);
	switch (coll) {
	case COLL_ALLREDUCE:
	case COLL_ALLGATHER:
	case COLL_REDUCESCATTER:
		/* Bandwidth: a ring moves the payload inside the scale-up domain
		 * and each chip's 1/inner share across nodes (what a hierarchical
		 * ring does, and what a flat ring with one channel per NIC moves per
		 * link).  Latency: one ring over all `group` ranks, as NCCL runs
		 * all-gather / reduce-scatter (ring only) and a ring all-reduce:
		 * group-1 steps per phase, of which nodes-1 cross the network and the
		 * rest are scale-up hops, each step paying its hop's latency (NCCL
		 * tuning model: latency = (nsteps - nInterSteps) * intraLat +
		 * nInterSteps * interLat, NVIDIA/nccl src/graph/tuning.cc).  So the
		 * latency term grows with the whole group, not with inner + nodes:
		 * a 1536-rank all-gather takes 1535 steps, not 7 + 191. */
		if (proto >= 0) {
			/* NCCL: the collective's base latency (launch and protocol set-up),
			 * then the ring steps at the protocol's per-hop latency and bandwidth */
			sim_phase *p = &sk->ph[sk->nphases++];
			p->steps = 1;
			p->bytes_per_step = 0;
			p->bw_Bps = up_bw;
			p->latency_s = nccl_base_us[proto] * 1e-6;
			p->link = 0;
			double f = nccl_bw_factor(proto, coll, nodes);
			up_bw *= f, out_bw *= f;
			up_lat = nccl_hop_us[0][proto] * 1e-6;
			out_lat = nccl_hop_us[1][proto] * 1e-6;
		}
		if (inner > 1) {
			sim_phase *p = &sk->ph[sk->nphases++];
			p->steps = rs * nodes * (inner - 1);
			p->bytes_per_step = bytes / inner / nodes;   /* rs*(inner-1)*bytes/inner in all */
			p->bw_Bps = up_bw;
			p->latency_s = up_lat;
			p->link = 0;
		}
		if (nodes > 1) {
			sim_phase *p = &sk->ph[sk->nphases++];
			p->steps = rs * (nodes - 1);
			p->bytes_per_step = bytes / inner / nodes;
			p->bw_Bps = out_bw;
			p->latency_s = out_lat;
			p->link = 1;
		}
		break;
	case COLL_ALLTOALL: {
		/* each chip sends bytes/group to every peer, all at once */
		double off = nodes > 1 ? (double)(group - inner) / group : 0;
		double on = (double)(inner - 1) / group;
		if (on > 0) {
			sim_phase *p = &sk->ph[sk->nphases++];
			p->steps = 1;
			p->bytes_per_step = bytes * on;
			p->bw_Bps = up_bw;
			p->latency_s = up_lat;
		}
		if (off > 0) {
			sim_phase *p = &sk->ph[sk->nphases++];
			p->steps = 1;
			p->bytes_per_step = bytes * off;
			p->bw_Bps = out_bw;
			p->latency_s = out_lat;
			p->link = 1;
		}
		break;
	}
	case COLL_P2P: {
		sim_phase *p = &sk->ph[sk->nphases++];
		p->steps = 1;
		p->bytes_per_step = bytes;
		p->bw_Bps = group <= per_node ? up_bw : out_bw;
		p->latency_s = group <= per_node ? up_lat : out_lat;
		p->link = group > per_node;
		break;
	}
	default:
		return -1;
	}
	if (ki) {
		memset(ki, 0, sizeof *ki);
		ki->comm_bytes = bytes;
		double t = 0;
		for (int i = 0; i < sk->nphases; i++)
			t += sk->ph[i].steps * (sk->ph[i].latency_s + sk->ph[i].bytes_per_step / sk->ph[i].bw_Bps);
		ki->ideal_mem_s = t;
		static const char *pn[3] = {" nccl LL", " nccl LL128", " nccl Simple"};
		snprintf(ki->tiling, sizeof ki->tiling, "%s over %d chips (%d x %d)%s%s", wl_coll_names[coll], group, inner,
		         nodes, nodes > 1 ? " hierarchical" : "", proto >= 0 ? pn[proto] : "");
	}
	return 0;
}

/* ---- one op --------------------------------------------------------- */

/* the kernels one attention op lowered to: all attention class, named after
 * their kern_info, carrying the op's recomputation flag */
static int attn_kernels(const wl_op *op, sim_kernel *sk, kern_info *ki, int n)
{
	for (int i = 0; i < n; i++) {
		ki[i].cls = CLS_ATTN;
		ki[i].kind = OP_ATTN;
		ki[i].recomputed = op->recomputed;
		sk[i].cls = CLS_ATTN;
		snprintf(sk[i].name, sizeof sk[i].name, "%s", ki[i].name);
	}
	return n;
}

int kern_lower_op(const arch_t *a, const wl_op *op, int fusion, int attn_impl, sim_kernel *sk,
                  kern_info *ki, int max_out, char *err, size_t errlen)
{
	if (max_out < 1)
		return -1;
	switch (op->kind) {
	case OP_GEMM: {
		kern_tiling t;
		if (kern_gemm_search(a, op->m, op->n, op->k, op->batch, op->dtype, op->out_eb, 0, !op->no_stream_k, &t)) {
			snprintf(err, errlen, "%s: no GEMM tiling fits %.0f KiB of core SRAM", op->name, a->core.sram_KiB);
			return -1;
		}
		kern_gemm_build(a, op->m, op->n, op->k, op->batch, op->dtype, op->out_eb, &t, sk, ki);
		info_common(a, op->dtype, ki);
		break;
	}
	case OP_ATTN:
		if (attn_impl == ATTN_NAIVE && max_out >= KERN_NAIVE_MAX) {
			/* Scores materialized in memory.  forward: S = QK^T, P = softmax(S),
			 * O = PV.  backward: dV = P^T dO, dP = dO V^T, dS = softmax'(P, dP),
			 * dQ = dS K, dK = dS^T Q.
			 * Under a compiler the causal mask, the dropout and the scale fuse
			 * into the softmax (or its gradient) and the GEMMs.  Under eager,
			 * each framework op is its own kernel, as PyTorch runs them:
			 * - the causal mask is a pass over the whole score matrix before
			 *   the softmax (op->mask_form, run.causal_mask), and dropout on
			 *   the probabilities another (with a one-byte mask), each with its
			 *   gradient in the backward.  add: a q x kv mask is built in fp32
			 *   on each call and cast (the FlashAttention benchmark's
			 *   attention_pytorch, flash_attn.modules.mha.SelfAttention:
			 *   torch.full, torch.triu -- not implemented for bf16 -- then
			 *   .to(dtype); three kernels) and added; where: torch.where
			 *   selects with a stored one-byte boolean mask (Hugging Face
			 *   GPT-2's `bias` buffer); fused: the softmax kernel masks as it
			 *   reads (Megatron-LM's scaled_upper_triang_masked_softmax), no
			 *   pass of its own.  The add or select broadcasts the mask over
			 *   batch and heads: a mask element is read again one (batch,
			 *   head) slice later, after that slice's scores were read and its
			 *   result written, so under LRU it stays in L2 only if the
			 *   slice's scores, result and mask fit there together; else
			 *   every slice reads it from memory (at 8k keys in fp16 as many
			 *   bytes as the scores);
			 * - the softmax is the framework's kernel (framework_softmax), and
			 *   its gradient two: softmax_backward_cuda_out (SoftMax.cu) first
			 *   forms `tmp = grad * output` as an element-wise kernel, then
			 *   reduces it row by row with P;
			 * - the 1/sqrt(d) scale is the scores GEMM's alpha
			 *   (torch.baddbmm(..., alpha=scale), as Megatron-LM and the
			 *   FlashAttention benchmark call it): free forward, but autograd
			 *   multiplies dQ and dK by alpha as kernels of their own
			 *   (tools/autograd/derivatives.yaml, baddbmm: maybe_multiply);
			 * - q, k, v packed in one [batch, seq, 3, heads, head_dim] tensor
			 *   (op->qkv_packed) are copied to per-head contiguous operands for
			 *   the batched GEMMs (a permute then a reshape that cannot be a
			 *   view), and the backward stacks their gradients back into the
			 *   packed layout (unbind's gradient). */
			int eager = fusion == FUSE_EAGER;
			long q = op->q_len, kv = op->kv_len, d = op->head_dim, bh = op->batch * op->heads;
			double eb = arch_dtype_bytes((arch_dtype)op->dtype);
			double scores = (double)q * kv * bh;
			double q_el = (double)bh * q * d;
			double kv_el = (double)op->batch * (op->kv_heads > 0 ? op->kv_heads : op->heads) * kv * d;
			double k_el = (double)bh * kv * d;   /* dK before any group reduction */
			int n = 0;
			wl_op v = *op;   /* the vector kernels' op: lower_vector reads its dtype and vflops */
#define NAIVE_VEC(tag, vfl, in_B, out_B)                                                      \
	do {                                                                                          \
		v.vflops = (vfl);                                                                     \
		lower_vector(a, &v, (in_B), (out_B), &sk[n], &ki[n]);                                 \
		snprintf(ki[n].name, sizeof ki[n].name, "%.26s.%s", op->name, (tag));                 \
		n++;                                                                                  \
	} while (0)
#define NAIVE_GEMM(tag, gm, gn, gk)                                                           \
	do {                                                                                          \
		kern_tiling t;                                                                        \
		if (kern_gemm_search(a, (gm), (gn), (gk), bh, op->dtype, 0, 0, !op->no_stream_k, &t))                  \
			goto no_tiling;                                                               \
		kern_gemm_build(a, (gm), (gn), (gk), bh, op->dtype, 0, &t, &sk[n], &ki[n]);          \
		info_common(a, op->dtype, &ki[n]);                                                   \
		snprintf(ki[n].name, sizeof ki[n].name, "%.26s.%s", op->name, (tag));                 \
		n++;                                                                                  \
	} while (0)
			/* the softmax (or its gradient), with what a compiler fuses into
			 * it: the mask and the dropout in the same pass (only the dropout's
			 * one-byte mask adds traffic), the dP * P product and the scale of
			 * dQ and dK; the same work as eager's separate kernels */
			int masked = op->causal && q > 1;   /* a single query sees every key */
			double sm_in = scores * eb * (op->backward ? 2 : 1), sm_out = scores * eb;
			double sm_vfl = scores * (op->backward ? 3 : 5);
			if (masked && !op->backward && (!eager || op->mask_form == MASK_FUSED))
				sm_vfl += scores;   /* the softmax applies the mask */
			if (!eager) {
				if (op->dropout) {
					sm_vfl += scores * (op->backward ? 2 : 4);
					if (op->backward)
						sm_in += scores;
					else
						sm_out += scores;
				}
				if (op->backward)
					sm_vfl += scores + q_el + k_el;
			}
			if (!op->backward) {
				if (op->qkv_packed)
					NAIVE_VEC("qkv-copy", 0, (q_el + 2 * kv_el) * eb, (q_el + 2 * kv_el) * eb);
				NAIVE_GEMM("scores", q, kv, d);
				if (eager && masked && op->mask_form != MASK_FUSED) {
					double mel = (double)q * kv;
					double mb = op->mask_form == MASK_WHERE ? 1.0 : eb;   /* bytes per mask element */
					if (op->mask_form == MASK_ADD) {
						/* data movement: a fill, a select, a conversion */
						NAIVE_VEC("mask-full", 0, 0, mel * 4);
						NAIVE_VEC("mask-triu", 0, mel * 4, mel * 4);
						NAIVE_VEC("mask-cast", 0, mel * 4, mel * eb);
					}
					double l2 = arch_has_hbm(a) ? a->global_sram.size_MiB * 1048576.0 : 0;
					double mask_reads = mel * (2 * eb + mb) <= l2 ? mel * mb : (double)bh * mel * mb;
					NAIVE_VEC("mask", scores, scores * eb + mask_reads, scores * eb);
				}
				NAIVE_VEC("softmax", sm_vfl, sm_in, sm_out);
				if (eager)
					framework_softmax(a, scores, kv, eb, &sk[n - 1], &ki[n - 1]);
				if (eager && op->dropout)
					NAIVE_VEC("dropout", scores * 4, scores * eb, scores * (eb + 1));
				NAIVE_GEMM("pv", q, d, kv);
			} else {
				NAIVE_GEMM("dv", kv, d, q);
				NAIVE_GEMM("dp", q, kv, d);
				if (eager && op->dropout)
					NAIVE_VEC("dropout-bwd", scores * 2, scores * (eb + 1), scores * eb);
				if (eager)
					NAIVE_VEC("dp-times-p", scores, 2 * scores * eb, scores * eb);
				NAIVE_VEC("softmax-bwd", sm_vfl, sm_in, sm_out);
				NAIVE_GEMM("dq", q, d, kv);
				if (eager)
					NAIVE_VEC("dq-scale", q_el, q_el * eb, q_el * eb);
				NAIVE_GEMM("dk", kv, d, q);
				if (eager)
					NAIVE_VEC("dk-scale", k_el, k_el * eb, k_el * eb);
				if (op->qkv_packed)
					NAIVE_VEC("dqkv-stack", 0, (q_el + 2 * kv_el) * eb, (q_el + 2 * kv_el) * eb);
			}
#undef NAIVE_VEC
#undef NAIVE_GEMM
			return attn_kernels(op, sk, ki, n);
		}
		if (op->backward && max_out >= 3) {
			/* FlashAttention's backward is three kernels (FA2
			 * flash_bwd_launch_template.h; FA3 has the same pre/post
			 * passes): D = rowsum(dO * O) while clearing an fp32 dQ
			 * accumulator, the main kernel (dQ added into the accumulator),
			 * then the accumulator converted to dQ.  The two small passes
			 * are O(sequence) memory traffic, which is why the backward's
			 * efficiency falls at short sequences. */
			double eb = arch_dtype_bytes((arch_dtype)op->dtype);
			double rows = (double)op->batch * op->heads * op->q_len;
			double o_B = rows * op->head_dim * eb, acc_B = rows * op->head_dim * 4.0;
			wl_op v = *op;
			v.kind = OP_ELEM;
			v.vflops = 2.0 * rows * op->head_dim;
			lower_vector(a, &v, 2.0 * o_B, rows * 4.0 + acc_B, &sk[0], &ki[0]);
			snprintf(ki[0].name, sizeof ki[0].name, "%.26s.bwd-pre", op->name);
			lower_flash(a, op, attn_impl, &sk[1], &ki[1]);
			snprintf(ki[1].name, sizeof ki[1].name, "%s", op->name);
			v.vflops = rows * op->head_dim;
			lower_vector(a, &v, acc_B, o_B, &sk[2], &ki[2]);
			snprintf(ki[2].name, sizeof ki[2].name, "%.26s.bwd-dq", op->name);
			ki[1].flops = op->flops;
			return attn_kernels(op, sk, ki, 3);
		}
		lower_flash(a, op, attn_impl, sk, ki);
		break;
	case OP_COMM:
		if (kern_collective(a, op->coll, op->comm_bytes, op->group, op->local, sk, ki)) {
			snprintf(err, errlen, "%s: unknown collective", op->name);
			return -1;
		}
		sk->overlap = op->overlap;
		break;
	default:
		lower_vector(a, op, op->bytes_in + norm_reread_bytes(a, op, fusion), op->bytes_out, sk, ki);
		if (op->kind == OP_SOFTMAX && fusion == FUSE_EAGER && op->n > 0)
			framework_softmax(a, op->elems, op->n, arch_dtype_bytes((arch_dtype)op->dtype), sk, ki);
		break;
	}
	snprintf(sk->name, sizeof sk->name, "%s", op->name);
	snprintf(ki->name, sizeof ki->name, "%s", op->name);
	sk->cls = op->cls;
	ki->cls = op->cls;
	ki->kind = op->kind;
	ki->recomputed = op->recomputed;
	if (op->kind != OP_ATTN && op->kind != OP_COMM && op->kind != OP_GEMM)
		ki->flops = op->flops;
	if (op->kind == OP_COPY && op->repeat > 1)
		sk->count = op->repeat;
	return 1;
no_tiling:
	snprintf(err, errlen, "%s: no tiling fits %.0f KiB of core SRAM", op->name, a->core.sram_KiB);
	return -1;
}

/* ---- the program ---------------------------------------------------- */

static int push_kernel(kern_program *kp, const sim_kernel *sk, const kern_info *ki)
{
	sim_program *p = &kp->prog;
	if (p->nkernels == kp->cap_k) {
		int cap = kp->cap_k ? kp->cap_k * 2 : 64;
		sim_kernel *nk = realloc(p->kernels, (size_t)cap * sizeof *nk);
		if (!nk)
			return -1;
		p->kernels = nk;
		kern_info *ni = realloc(kp->info, (size_t)cap * sizeof *ni);
		if (!ni)
			return -1;
		kp->info = ni;
		kp->cap_k = cap;
	}
	p->kernels[p->nkernels] = *sk;
	kp->info[p->nkernels] = *ki;
	p->nkernels++;
	return 0;
}

typedef struct {
	long m, n, k, batch;
	int dtype;
	double out_eb;
	kern_tiling t;
} memo_entry;

/* Fold a vector op into a GEMM/attention kernel: its vector work spread
 * over the kernel's tiles, its external inputs read in the epilogue. */
static double fold_into(const arch_t *a, sim_kernel *host, kern_info *hi, const wl_op *op)
{
	double tiles = 0;
	for (int c = 0; c < host->ntc; c++)
		tiles += host->tc[c].n_tiles;
	if (tiles <= 0)
		return 0;
	double vc = op->vflops / tiles / a->core.vector_flops_per_clk;
	double ext = op->bytes_ext / tiles;
	for (int c = 0; c < host->ntc; c++) {
		host->tc[c].vec_cycles += vc;
		host->tc[c].mem_bytes += ext;
	}
	hi->flops += op->flops;
	hi->mem_bytes += op->bytes_ext;
	hi->fused_ops++;
	hi->ideal_mem_s = hi->mem_bytes / (arch_mem_bw_Bps(a) * (arch_has_hbm(a) ? a->memory.efficiency : 1));
	/* the intermediate it would have read and written stays on chip */
	return op->bytes_in - op->bytes_ext + op->bytes_out;
}

/* What a fusing policy folds into a neighbouring kernel.  Element-wise
 * (bias, activation, dropout, residual add, rotary) and routing ops are
 * per-element maps: a compiler puts them in a GEMM's or attention kernel's
 * epilogue/prologue (XLA's output fusion, TorchInductor's epilogue fusion).
 * A normalization is a row reduction whose statistics must be complete
 * before any element of its output exists, so a compiler emits it as its own
 * reduction kernel (XLA's reduction "input fusion"), which absorbs the
 * element-wise ops around it and hands its output to the next GEMM through
 * memory.  Only a megakernel keeps a whole row on chip and folds the norm. */
static int foldable(const wl_op *op, int fusion)
{
	if (op->kind == OP_NORM)
		return fusion == FUSE_MEGAKERNEL;
	if (op->fold < 0)
		return 0;
	return op->kind == OP_ELEM || op->kind == OP_ROUTE;
}

/* The kernels that vector ops fold into. */
static int hosts_folds(const wl_op *op, int fusion)
{
	return op->kind == OP_GEMM || op->kind == OP_ATTN || (op->kind == OP_NORM && fusion == FUSE_COMPILER);
}

/* One stage-to-stage transfer of a micro-batch's activations (or their
 * gradients).  Over scale-up links when the neighbouring stage shares the
 * node, else over each chip's network link (p2p_net: the share of the
 * transfer paid at that cost); split over the tensor-parallel
 * ranks, each sends its share and the receivers all-gather the rest over
 * scale-up (Megatron-LM's scatter-gather: p2p_communication.py
 * split_tensor_into_1d_equal_chunks / gather_split_1d_tensor). */
static double p2p_time(const arch_t *a, const wl_graph *g)
{
	double bytes = g->p2p_bytes;
	double up_bw = a->system.scaleup_bandwidth_GBps * 1e9 * a->system.scaleup_efficiency;
	double out_bw = a->system.scaleout_bandwidth_GBps * 1e9 * a->system.scaleout_efficiency;
	double up_lat = a->system.scaleup_latency_us * 1e-6, out_lat = a->system.scaleout_latency_us * 1e-6;
	if (bytes <= 0 || (up_bw <= 0 && out_bw <= 0))
		return 0;
	double inside = bytes / (up_bw > 0 ? up_bw : out_bw) + (up_bw > 0 ? up_lat : out_lat);
	if (g->p2p_net <= 0 || out_bw <= 0)
		return inside;
	int k = g->p2p_split > 1 ? g->p2p_split : 1;
	double across = bytes / k / out_bw + out_lat;
	if (k > 1 && up_bw > 0)
		across += (k - 1.0) / k * bytes / up_bw + up_lat;
	return g->p2p_net * across + (1 - g->p2p_net) * inside;
}

int kern_lower(const arch_t *a, const wl_graph *g, int fusion, kern_program *kp, char *err, size_t errlen)
{
	memset(kp, 0, sizeof *kp);
	kern_chip(a, &kp->prog);
	sim_program *p = &kp->prog;
	p->pp = g->pp;
	p->vpp = g->vpp;
	p->n_micro = g->n_micro;
	p->steady = g->steady;
	p->p2p_s = p2p_time(a, g);
	p->p2p_blocking = g->p2p_blocking;
	kp->cap_s = g->nsegs;
	p->segs = calloc((size_t)(g->nsegs ? g->nsegs : 1), sizeof *p->segs);
	memo_entry *memo = NULL;
	int nmemo = 0, capmemo = 0;
	if (!p->segs)
		goto oom;
	/* the scenario's attention kernel (auto resolved by the graph builder:
	 * eager runs the framework's separate ops with the scores in memory) */
	int attn_impl = g->attn_impl;
	for (int s = 0; s < g->nsegs; s++) {
		const wl_segment *ws = &g->segs[s];
		sim_segment *ss = &p->segs[p->nsegs++];
		snprintf(ss->name, sizeof ss->name, "%s", ws->name);
		ss->role = ws->role == ROLE_FWD ? SEG_FWD : ws->role == ROLE_BWD ? SEG_BWD
		           : ws->role == ROLE_SYNC ? SEG_SYNC : SEG_STEP;
		ss->count = ws->count;
		ss->once = ws->once;
		ss->first = p->nkernels;
		int pending_fold[64], npending = 0;   /* vector ops waiting for the next host */
		int last_host = -1;                     /* index of the last GEMM/attention kernel */
		double saved = 0;                       /* bytes fusion keeps on chip, one run */
		double reps = ws->count * ((ws->role == ROLE_FWD || ws->role == ROLE_BWD) ? g->n_micro : 1);
		for (int i = ws->first; i < ws->first + ws->n; i++) {
			const wl_op *op = &g->ops[i];
			wl_op o = *op;
			/* a library epilogue (fold > 0) joins the kernel before it under
			 * any policy */
			if (op->fold > 0 && last_host >= 0 && last_host == p->nkernels - 1) {
				saved += fold_into(a, &p->kernels[last_host], &kp->info[last_host], op);
				continue;
			}
			/* eager never fuses; the others fold vector ops into a host */
			if (fusion != FUSE_EAGER && foldable(op, fusion)) {
				if (last_host >= 0 && last_host == p->nkernels - 1) {
					saved += fold_into(a, &p->kernels[last_host], &kp->info[last_host], op);
					continue;
				}
				if (npending < 64) {
					pending_fold[npending++] = i;
					continue;
				}
			}
			sim_kernel sk[KERN_NAIVE_MAX];
			kern_info ki[KERN_NAIVE_MAX];
			int nk;
			if (op->kind == OP_GEMM) {
				kern_tiling t;
				int hit = -1;
				for (int j = 0; j < nmemo; j++)
					if (memo[j].m == op->m && memo[j].n == op->n && memo[j].k == op->k &&
					    memo[j].batch == op->batch && memo[j].dtype == op->dtype && memo[j].out_eb == op->out_eb) {
						hit = j;
						break;
					}
				if (hit >= 0) {
					t = memo[hit].t;
				} else {
					if (kern_gemm_search(a, op->m, op->n, op->k, op->batch, op->dtype, op->out_eb, 0, !op->no_stream_k,
					                     &t)) {
						snprintf(err, errlen, "%s: no GEMM tiling fits %.0f KiB of core SRAM", op->name,
						         a->core.sram_KiB);
						goto fail;
					}
					if (nmemo == capmemo) {
						capmemo = capmemo ? capmemo * 2 : 32;
						memo_entry *nm = realloc(memo, (size_t)capmemo * sizeof *nm);
						if (!nm)
							goto oom;
						memo = nm;
					}
					memo[nmemo++] = (memo_entry){op->m, op->n, op->k, op->batch, op->dtype, op->out_eb, t};
				}
				kern_gemm_build(a, op->m, op->n, op->k, op->batch, op->dtype, op->out_eb, &t, &sk[0], &ki[0]);
				info_common(a, op->dtype, &ki[0]);
				snprintf(sk[0].name, sizeof sk[0].name, "%s", op->name);
				snprintf(ki[0].name, sizeof ki[0].name, "%s", op->name);
				sk[0].cls = ki[0].cls = op->cls;
				ki[0].kind = op->kind;
				ki[0].recomputed = op->recomputed;
				nk = 1;
			} else {
				nk = kern_lower_op(a, &o, fusion, attn_impl, sk, ki, KERN_NAIVE_MAX, err, errlen);
				if (nk < 0)
					goto fail;
			}
			for (int j = 0; j < nk; j++) {
				if (push_kernel(kp, &sk[j], &ki[j]))
					goto oom;
			}
			if (hosts_folds(op, fusion)) {
				last_host = p->nkernels - 1;
				/* vector ops that came before fold into this kernel's prologue */
				for (int j = 0; j < npending; j++)
					saved += fold_into(a, &p->kernels[last_host], &kp->info[last_host], &g->ops[pending_fold[j]]);
				npending = 0;
			} else {
				last_host = -1;
			}
		}
		/* vector ops with no host left: their own kernels */
		for (int j = 0; j < npending; j++) {
			sim_kernel sk;
			kern_info ki;
			if (kern_lower_op(a, &g->ops[pending_fold[j]], fusion, 0, &sk, &ki, 1, err, errlen) < 0)
				goto fail;
			if (push_kernel(kp, &sk, &ki))
				goto oom;
		}
		ss->n = p->nkernels - ss->first;
		kp->mem_bytes_saved += saved * reps;
		if (fusion == FUSE_MEGAKERNEL) {
			/* one persistent kernel runs the whole step: no launches (its one
			 * launch is amortized over the step); activations through the
			 * shared SRAM when an op's working activations fit there */
			double l2 = arch_has_hbm(a) ? a->global_sram.size_MiB * 1048576.0 : 0;
			for (int k = ss->first; k < ss->first + ss->n; k++) {
				sim_kernel *sk = &p->kernels[k];
				if (sk->is_comm)
					continue;
				sk->launch = 0;
				const wl_op *src = NULL;
				for (int i = ws->first; i < ws->first + ws->n; i++)
					if (!strcmp(g->ops[i].name, sk->name)) {
						src = &g->ops[i];
						break;
					}
				if (src && src->kind == OP_GEMM && src->b_is_weight && l2 > 0) {
					double act = ((double)src->m * src->k + (double)src->m * src->n) *
					             arch_dtype_bytes((arch_dtype)src->dtype) * src->batch;
					if (act <= l2) {
						/* A operand and output stay on chip: move their memory
						 * share to the shared SRAM */
						for (int c = 0; c < sk->ntc; c++) {
							sim_tiles *tc = &sk->tc[c];
							double tot = tc->mem_bytes + tc->sram_bytes;
							double wfrac = (double)src->n / (double)(src->m + src->n);
							double keep = fmin(tc->mem_bytes, tot * wfrac);
							tc->sram_bytes += tc->mem_bytes - keep;
							tc->mem_bytes = keep;
							tc->sram_bytes += tc->store_bytes;
							tc->store_bytes = 0;
						}
						kern_info *ki = &kp->info[k];
						double mb = 0, sb = 0;
						for (int c = 0; c < sk->ntc; c++) {
							mb += sk->tc[c].n_tiles * (sk->tc[c].mem_bytes + sk->tc[c].store_bytes);
							sb += sk->tc[c].n_tiles * sk->tc[c].sram_bytes;
						}
						kp->mem_bytes_saved += (ki->mem_bytes - mb) * reps;
						ki->mem_bytes = mb;
						ki->sram_bytes = sb;
						ki->ideal_mem_s = mb / mem_bw(a);
					}
				}
			}
		}
	}
	free(memo);
	return 0;
oom:
	snprintf(err, errlen, "out of memory lowering the graph");
fail:
	free(memo);
	kern_program_free(kp);
	return -1;
}

void kern_program_free(kern_program *kp)
{
	free(kp->prog.kernels);
	free(kp->prog.segs);
	free(kp->info);
	memset(kp, 0, sizeof *kp);
}
