/*
 * gemm.c - GEMM tiling: legal tile shapes per matrix-unit kind, an estimate
 * to rank them, and the tile program of the chosen one.
 *
 * Tensor-core chips (GPU): thread-block tiles bm x bn x bk in `stages`
 * shared-memory buffers; an edge tile still computes the whole tile (tile
 * quantization); tiles run in waves over cores x resident blocks (wave
 * quantization); split-K fills the chip when the grid is small, and
 * stream-K (where the library has it) shares all tiles' k-steps evenly
 * over persistent blocks so the last wave is not part-empty.
 * Systolic chips (TPU MXU, LPU MXM): weight-stationary folds of the array
 * (see kern_systolic_cycles), so small or ragged matrices waste cycles;
 * VMEM holds a tile's operands double-buffered plus its fp32 accumulator.
 * Reuse between tiles in the shared SRAM (L2/CMEM): each operand is read
 * from memory once if it stays resident across the raster, else once per
 * sweep of the other dimension; the better raster order is taken, as
 * swizzling libraries do.
 */
#include "kern.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static long cdiv(long a, long b) { return (a + b - 1) / b; }
static long pad(long a, long g) { return g > 1 ? cdiv(a, g) * g : a; }

/* Weight-stationary timing of [m x k] @ [k x n] on a rows x cols array: the
 * weights are split in folds of rows x cols; each fold streams the m rows
 * of activations through.  The next fold's weights shift in while the
 * current fold streams (weights are double-buffered in the array: Jouppi et
 * al., ISCA 2017, sec. 2), so a fold takes max(rows, m) cycles; the first
 * weight load (rows) and one fill/drain (rows + cols - 2) are exposed.  For
 * m >= rows this is SCALE-Sim's (2R + C + T - 2) per fold with the weight
 * load and fill/drain overlapped between folds. */
double kern_systolic_cycles(long rows, long cols, long m, long n, long k)
{
	double folds = (double)cdiv(k, rows) * (double)cdiv(n, cols);
	return (double)rows + folds * (double)(m > rows ? m : rows) + (double)(rows + cols - 2);
}

double kern_tile_mac_cycles(const arch_t *a, int dtype, long bm, long bn, long k)
{
	double macs = arch_macs_per_clk(a, (arch_dtype)dtype);
	double eff = arch_matrix_efficiency(a, (arch_dtype)dtype);
	if (macs <= 0)
		return INFINITY;
	if (a->core.mxu_kind == MXU_SYSTOLIC) {
		long R = a->core.mxu_rows, C = a->core.mxu_cols;
		/* rows of activations streamed per clock: a dtype slower or faster
		 * than one MAC per PE per clock streams proportionally */
		double rate = macs / ((double)R * C);
		double stream = bm / rate / eff;
		/* installing a fold's weights: one row per clock (shift), or at the
		 * array's weight-load bandwidth */
		double load = a->core.weight_load_Bpc > 0
		                  ? (double)R * C * arch_dtype_bytes((arch_dtype)dtype) / a->core.weight_load_Bpc
		                  : (double)R;
		double folds = (double)cdiv(k, R) * (double)cdiv(bn, C);
		return load + folds * (stream > load ? stream : load) + (double)(R + C - 2);
	}
	double work = (double)pad(bm, a->core.mma_m) * pad(bn, a->core.mma_n) * pad(k, a->core.mma_k);
	return work / macs / eff;
}

/* Elements a wr x wc grid of warps reads from shared memory for an m x n x k
 * product held in shared memory: each warp reads the m / wr rows of A and the
 * n / wc columns of B its part of the output needs, over all of k, so the
 * grid reads k * (m * wc + n * wr).  The count behind both the GEMM tiles
 * below and FlashAttention-2's tiles (lower.c). */
double kern_warp_grid_elems(double m, double n, double k, double wr, double wc)
{
	return k * (m * wc + n * wr);
}

/* Shared-memory cycles of one bm x bn tile over k on a chip whose native
 * MMA is warp-synchronous (mma.sync: V100, A100, Ada): the operands reach
 * the tensor cores from shared memory (ldmatrix on Ampere and Ada, plain
 * shared loads on Volta), each warp reading the rows of A and the columns
 * of B its part of the tile needs, after both panels were written in
 * (cp.async; Volta stores them from registers).  The warps of a block split it in a
 * grid, as CUTLASS's and cuBLAS's sm80 kernels do: 4 warps in 2 x 2, 8 warps
 * (tiles of 128 x 256 and up) in 2 x 4 along the longer side, never a warp
 * narrower than one MMA.  A wr x wc grid reads k * (bm * wc + bn * wr)
 * elements and writes k * (bm + bn): 0.094 B/MAC for 128 x 128 (96 of the
 * 128 B/clk at A100's 1024 MAC/clk), 0.19 B/MAC for 64 x 64, so small tiles
 * cannot feed the tensor cores at their peak.  The same count as the
 * FlashAttention-2 tiles in lower.c; 0 where the chip does not model its
 * shared memory or its native MMA reads operands another way (wgmma,
 * systolic arrays). */
double kern_gemm_smem_cycles(const arch_t *a, int dtype, long bm, long bn, long k)
{
	double w = a->core.warp_mma_fraction;
	if (a->core.mxu_kind != MXU_TENSOR || arch_smem_Bpc(a) <= 0 || (w > 0 && w < 1))
		return 0;
	int warps = (double)bm * bn >= 128.0 * 256 ? 8 : 4;
	long wr = 2, wc = warps / 2;
	if (bm > bn)
		wr = warps / 2, wc = 2;
	while (wr > 1 && bm / wr < a->core.mma_m)
		wr /= 2;
	while (wc > 1 && bn / wc < a->core.mma_n)
		wc /= 2;
	double eb = arch_dtype_bytes((arch_dtype)dtype);
	double elems = kern_warp_grid_elems((double)bm, (double)bn, (double)k, (double)wr, (double)wc) +
	               (double)k * ((double)bm + bn);   /* the panels written in */
	return elems * eb / arch_smem_Bpc(a);
}

typedef struct {
	double a_B, b_B, out_B;     /* whole problem */
	double loads, hbm, sram;    /* summed over tiles */
	double tiles;
	long tm, tn;
	int mc_a, mc_b;             /* multicast sharing of A and B panels */
} gemm_traffic;

static void traffic(const arch_t *a, long m, long n, long k, long batch, double eb, double oeb,
                    const kern_tiling *t, gemm_traffic *tr)
{
	long tm = cdiv(m, t->bm), tn = cdiv(n, t->bn);
	tr->tm = tm, tr->tn = tn;
	tr->tiles = (double)tm * tn * t->split_k * batch;
	tr->a_B = (double)m * k * eb * batch;
	tr->b_B = (double)k * n * eb * batch;
	tr->out_B = (double)m * n * oeb * batch;
	/* every tile reads its A panel and B panel for its k range; a cluster of
	 * `multicast` neighbouring tiles shares one read of the operand whose
	 * re-reads cost more */
	int mc = a->core.multicast > 1 ? a->core.multicast : 1;
	double ra = tr->a_B * tn, rb = tr->b_B * tm;
	tr->mc_a = ra >= rb && tn >= mc ? mc : 1;
	tr->mc_b = tr->mc_a == 1 && tm >= mc ? mc : 1;
	tr->loads = ra / tr->mc_a + rb / tr->mc_b;
	double l2 = a->global_sram.size_MiB * 1048576.0;
	int have_l2 = l2 > 0 && a->global_sram.bandwidth_GBps > 0 && arch_has_hbm(a);
	if (!have_l2) {
		tr->hbm = tr->loads;
	} else {
		/* tiles of one wave step through K together, so the shared SRAM needs
		 * only their current k-slices: each wave reads the A and B panels of
		 * its block of tiles from memory once; a swizzled raster makes the
		 * block as square as the grid allows.  When both operands fit the
		 * shared SRAM outright, they are read once. */
		double per_a = tr->a_B / batch, per_b = tr->b_B / batch;
		double W = fmin((double)tm * tn, fmax(1.0, (double)a->core.count * t->bpc / t->split_k));
		double best = INFINITY;
		/* the block that minimizes wr*bm*A/m + wc*bn*B/n with wr*wc = W has
		 * wr = sqrt(W * (bn*B/n) / (bm*A/m)); try its neighbours and the ends */
		double ca = (double)t->bm / m * per_a, cb = (double)t->bn / n * per_b;
		double wr_opt = ca > 0 ? sqrt(W * cb / ca) : 1;
		long cand[4] = {1, (long)floor(wr_opt), (long)ceil(wr_opt), tm};
		for (int ci = 0; ci < 4; ci++) {
			long wr = cand[ci] < 1 ? 1 : cand[ci] > tm ? tm : cand[ci];
			long wc = (long)fmin((double)tn, ceil(W / wr));
			double slices = ((double)wr * t->bm + (double)wc * t->bn) * t->bk * t->stages * eb;
			if (slices > l2)
				continue;
			double waves = ceil((double)tm / wr) * ceil((double)tn / wc);
			double per_wave = ((double)wr * t->bm / m * per_a + (double)wc * t->bn / n * per_b);
			best = fmin(best, waves * per_wave);
		}
		if (per_a + per_b <= l2)
			best = per_a + per_b;
		best = isfinite(best) ? fmax(best, per_a + per_b) * batch : tr->loads;
		tr->hbm = fmin(best, tr->loads);
	}
	tr->sram = tr->loads - tr->hbm;
}

static double smem_of(const arch_t *a, const kern_tiling *t, double eb)
{
	double s = t->stages * ((double)t->bm * t->bk + (double)t->bk * t->bn) * eb;
	if (a->core.mxu_kind == MXU_SYSTOLIC)
		s += (double)t->bm * t->bn * 4;    /* fp32 accumulator held in VMEM */
	return s;
}

/* Stream-K (Osama et al., "Stream-K: Work-centric Parallel Decomposition
 * for Dense Matrix-Matrix Multiplication on the GPU", PPoPP 2023): instead of
 * one block per output tile, one persistent block per slot (cores x
 * resident blocks) takes an equal share of all the tiles' k-steps, so the
 * last wave is not left part-empty.  A block whose share starts or ends
 * inside a tile hands its fp32 partial sum to the block that finishes the
 * tile (written, then read back): at most one partial per block boundary. */
typedef struct {
	double units;      /* persistent blocks */
	double steps;      /* k-steps of one tile */
	double per_unit;   /* k-steps each block runs (the longest share) */
	double pieces;     /* tile-sized pieces a share falls into (a block
	                    * stores each tile's output as it finishes it) */
	double partials;   /* fp32 bm x bn partial sums handed over */
} streamk_plan;

static void streamk_of(const arch_t *a, const kern_tiling *t, double tiles, long k, streamk_plan *p)
{
	p->steps = (double)cdiv(k, t->bk);
	double iters = tiles * p->steps;
	p->units = fmin((double)a->core.count * t->bpc, iters);
	p->per_unit = ceil(iters / p->units);
	p->pieces = fmax(1.0, round(p->per_unit / p->steps));
	int aligned = fmod(iters, p->units) == 0 && fmod(p->per_unit, p->steps) == 0;
	p->partials = aligned ? 0 : p->units - 1;
}

static double estimate(const arch_t *a, long m, long n, long k, long batch, int dtype, double oeb,
                       const kern_tiling *t)
{
	double eb = arch_dtype_bytes((arch_dtype)dtype);
	gemm_traffic tr;
	traffic(a, m, n, k, batch, eb, oeb, t, &tr);
	long kk = cdiv(k, t->split_k);
	double clk = arch_clock_hz(a);
	double cyc = fmax(kern_tile_mac_cycles(a, dtype, t->bm, t->bn, kk),
	                  kern_gemm_smem_cycles(a, dtype, t->bm, t->bn, kk));
	double per_core = ceil(tr.tiles / a->core.count);
	double t_c = per_core * cyc / clk;
	double mem_bw = arch_mem_bw_Bps(a) * (arch_has_hbm(a) ? a->memory.efficiency : 1.0);
	double sram_bw = a->global_sram.bandwidth_GBps * 1e9;
	/* split-K writes fp32 partials; a reduction pass after the GEMM reads
	 * them back and writes the output */
	double store = t->split_k > 1 ? tr.out_B / oeb * 4.0 * t->split_k : tr.out_B;
	double reduce = t->split_k > 1 ? (tr.out_B / oeb * 4.0 * t->split_k + tr.out_B) / mem_bw : 0;
	double fixup = 0;
	if (t->stream_k) {
		streamk_plan sp;
		streamk_of(a, t, tr.tiles, k, &sp);
		/* a core runs its resident blocks' shares one after another */
		t_c = sp.per_unit * fmin((double)t->bpc, sp.units / a->core.count) * (cyc / sp.steps) / clk;
		fixup = sp.partials * (double)t->bm * t->bn * 4.0;
		per_core = sp.pieces;
	}
	double t_m = (tr.hbm + store + 2 * fixup) / mem_bw;
	if (tr.sram > 0 && sram_bw > 0)
		t_m = fmax(t_m, tr.sram / sram_bw);
	double conc = fmin(tr.tiles, (double)a->core.count * t->bpc);
	double steps = (double)cdiv(kk, t->bk);
	double first = (tr.loads / tr.tiles) / steps * conc / mem_bw;
	double lat = (arch_has_hbm(a) ? a->memory.latency_ns : a->global_sram.latency_ns) * 1e-9;
	/* a tile's first step load is exposed; with two tiles resident a core
	 * hides the next tile's behind the current one's compute */
	double exposed = t->bpc >= 2 ? 1 : per_core;
	/* the last tile on each core stores after everything else is done */
	double tail = store / fmax(1.0, per_core) / mem_bw;
	return fmax(t_c, t_m) + (lat + first) * exposed + cyc / clk / steps + tail + reduce;
}

int kern_gemm_search(const arch_t *a, long m, long n, long k, long batch, int dtype, double out_eb,
                     double sram_limit_B, int stream_k, kern_tiling *out)
{
	static const int tens_mn[] = {16, 32, 64, 128, 256};
	/* deeper buffering and deeper k-steps only cost SRAM in this model (the
	 * streamed body hides the loads either way), so they are never faster:
	 * the search keeps double buffering and the two shallowest k-steps */
	static const int tens_k[] = {32, 64};
	static const int sys_m[] = {8, 32, 128, 256, 512, 1024, 2048, 4096, 8192};
	static const int splits[] = {1, 2, 4, 8, 16, 32};
	double eb = arch_dtype_bytes((arch_dtype)dtype);
	double oeb = out_eb > 0 ? out_eb : eb;
	double limit = a->core.sram_KiB * 1024.0;
	if (sram_limit_B > 0 && sram_limit_B < limit)
		limit = sram_limit_B;
	kern_tiling best = {0};
	best.est_s = INFINITY;
	int sys = a->core.mxu_kind == MXU_SYSTOLIC;
	int streamk = stream_k && !sys;
	long R = a->core.mxu_rows, C = a->core.mxu_cols;
	int nm = sys ? (int)(sizeof sys_m / sizeof *sys_m) : (int)(sizeof tens_mn / sizeof *tens_mn);
	for (int im = 0; im < nm; im++) {
		int bm = sys ? sys_m[im] : tens_mn[im];
		if (!sys && bm < a->core.mma_m)
			continue;
		if (bm > 2 * pad(m, sys ? 8 : a->core.mma_m) && bm > (sys ? 8 : a->core.mma_m))
			continue;   /* far larger than the problem: never better */
		for (int in = 0; in < 8; in++) {
			int bn = sys ? (int)(C << in) : (in < 5 ? tens_mn[in] : 0);
			if (bn <= 0 || (!sys && bn < a->core.mma_n) || (sys && in > 4))
				continue;
			if (bn > 2 * pad(n, sys ? C : a->core.mma_n) && bn > (sys ? C : a->core.mma_n))
				continue;
			for (int ik = 0; ik < 6; ik++) {
				int bk = sys ? (int)(R << ik) : (ik < 2 ? tens_k[ik] : 0);
				if (bk <= 0 || (!sys && bk < a->core.mma_k))
					continue;
				for (int st = 2; st <= 2; st++) {
					for (size_t is = 0; is < sizeof splits / sizeof *splits; is++) {
						int sk = splits[is];
						if (sk > 1 && cdiv(k, sk) < 2L * bk)
							continue;
						kern_tiling t = {bm, bn, bk, st, 1, sk, 0, 0, 0};
						t.smem_B = smem_of(a, &t, eb);
						if (t.smem_B > limit)
							continue;
						int fit = (int)floor(limit / t.smem_B);
						int max_bpc = fit < a->core.max_blocks ? fit : a->core.max_blocks;
						/* stream-K in place of split-K where the chip's GEMM library has it */
						int nsk = sk == 1 && streamk ? 2 : 1;
						for (t.stream_k = 0; t.stream_k < nsk; t.stream_k++)
							for (t.bpc = 1; t.bpc <= max_bpc; t.bpc++) {
								t.est_s = estimate(a, m, n, k, batch, dtype, oeb, &t);
								if (t.est_s < best.est_s * (1 - 1e-9))
									best = t;
							}
					}
				}
			}
		}
	}
	if (!isfinite(best.est_s))
		return -1;
	*out = best;
	return 0;
}

void kern_gemm_build(const arch_t *a, long m, long n, long k, long batch, int dtype, double out_eb,
                     const kern_tiling *t, sim_kernel *sk, kern_info *ki)
{
	double eb = arch_dtype_bytes((arch_dtype)dtype);
	double oeb = out_eb > 0 ? out_eb : eb;
	gemm_traffic tr;
	traffic(a, m, n, k, batch, eb, oeb, t, &tr);
	long kk = cdiv(k, t->split_k);
	long me = m - (tr.tm - 1) * t->bm, ne = n - (tr.tn - 1) * t->bn;
	double hbm_frac = tr.loads > 0 ? tr.hbm / tr.loads : 1;
	int sys = a->core.mxu_kind == MXU_SYSTOLIC;
	memset(sk, 0, sizeof *sk);
	sk->blocks_per_core = t->bpc;
	sk->launch = 1;
	sk->count = 1;
	/* four classes: interior, last row of tiles, last column, corner */
	long ext_m[2] = {t->bm, me}, ext_n[2] = {t->bn, ne};
	double cnt_m[2] = {(double)tr.tm - 1, 1}, cnt_n[2] = {(double)tr.tn - 1, 1};
	double mult = (double)t->split_k * batch;
	streamk_plan sp;
	memset(&sp, 0, sizeof sp);
	if (t->stream_k) {
		/* one class: each persistent block runs its share of the k-steps
		 * in tile-sized pieces, reading its share of the operands, storing
		 * the tiles it finishes, and handing over (or taking up) a partial
		 * sum; units x pieces equal pieces, taken by the blocks in turn */
		streamk_of(a, t, tr.tiles, k, &sp);
		sim_tiles *c = &sk->tc[sk->ntc++];
		double np = sp.units * sp.pieces;
		double fix = sp.partials * (double)t->bm * t->bn * 4.0 / np;
		double cyc = fmax(kern_tile_mac_cycles(a, dtype, t->bm, t->bn, k),
		                  kern_gemm_smem_cycles(a, dtype, t->bm, t->bn, k));
		c->n_tiles = np;
		c->mac_cycles = sp.per_unit * cyc / sp.steps / sp.pieces;
		c->mem_bytes = tr.loads * hbm_frac / np + fix;
		c->sram_bytes = tr.loads * (1 - hbm_frac) / np;
		c->store_bytes = tr.out_B / np + fix;
		c->ksteps = (int)ceil(sp.per_unit / sp.pieces);
	}
	for (int i = 0; i < 2 && !t->stream_k; i++)
		for (int j = 0; j < 2; j++) {
			double cnt = cnt_m[i] * cnt_n[j] * mult;
			if (cnt <= 0)
				continue;
			sim_tiles *c = &sk->tc[sk->ntc++];
			long em = ext_m[i], en = ext_n[j];
			/* tensor cores compute the whole tile; a systolic array streams only real rows */
			c->n_tiles = cnt;
			c->mac_cycles = kern_tile_mac_cycles(a, dtype, sys ? em : t->bm, sys ? en : t->bn, kk);
			c->mac_cycles = fmax(c->mac_cycles, kern_gemm_smem_cycles(a, dtype, t->bm, t->bn, kk));
			double ld = ((double)em * kk / tr.mc_a + (double)kk * en / tr.mc_b) * eb;
			c->mem_bytes = ld * hbm_frac;
			c->sram_bytes = ld - c->mem_bytes;
			c->store_bytes = (double)em * en * (t->split_k > 1 ? 4.0 : oeb);
			c->ksteps = (int)cdiv(kk, t->bk);
		}
	if (t->split_k > 1) {
		/* the reduction pass: read every fp32 partial, write the output */
		double elems = (double)m * n * batch;
		double rt = ceil(fmax(1.0, fmin(elems * 4 * t->split_k / 65536.0, (double)a->core.count * 4)));
		sim_tiles *c = &sk->tc[sk->ntc++];
		c->n_tiles = rt;
		c->mem_bytes = elems * 4.0 * t->split_k / rt;
		c->store_bytes = elems * oeb / rt;
		c->vec_cycles = elems * t->split_k / rt / a->core.vector_flops_per_clk;
		c->ksteps = 2;
	}
	if (ki) {
		memset(ki, 0, sizeof *ki);
		ki->tile_m = t->bm, ki->tile_n = t->bn, ki->tile_k = t->bk;
		ki->stages = t->stages, ki->blocks_per_core = t->bpc, ki->split_k = t->split_k;
		ki->tiles = tr.tiles;
		ki->waves = tr.tiles / ((double)a->core.count * t->bpc);
		ki->sram_per_tile_B = t->smem_B;
		ki->flops = 2.0 * m * n * k * batch;
		double store = 0;
		for (int c = 0; c < sk->ntc; c++)
			store += sk->tc[c].store_bytes * sk->tc[c].n_tiles;
		/* the reduction pass reads its partials from memory too */
		double reduce_reads = t->split_k > 1 ? (double)m * n * batch * 4.0 * t->split_k : 0;
		ki->mem_bytes = tr.hbm + store + reduce_reads + sp.partials * (double)t->bm * t->bn * 4.0;
		ki->sram_bytes = tr.sram;
		ki->ideal_compute_s = ki->flops / (arch_peak_flops(a, (arch_dtype)dtype) * arch_matrix_efficiency(a, (arch_dtype)dtype));
		ki->ideal_mem_s = ki->mem_bytes / (arch_mem_bw_Bps(a) * (arch_has_hbm(a) ? a->memory.efficiency : 1));
		if (t->stream_k)
			snprintf(ki->tiling, sizeof ki->tiling, "%dx%dx%d s%d x%d/core stream-K %.0f tiles on %.0f blocks (%.2f waves)",
			         t->bm, t->bn, t->bk, t->stages, t->bpc, tr.tiles, sp.units, ki->waves);
		else
			snprintf(ki->tiling, sizeof ki->tiling, "%dx%dx%d s%d x%d/core split%d grid %.0f (%.2f waves)",
			         t->bm, t->bn, t->bk, t->stages, t->bpc, t->split_k, tr.tiles, ki->waves);
	}
}
