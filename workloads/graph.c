/*
 * graph.c - the operator graph one chip executes for a scenario.
 *
 * One chip of a TP/EP group does the same work as its peers, so one chip is
 * described: the slowest pipeline stage (the last: its layers plus the
 * output head).  Ops are grouped in segments (a decoder layer's forward, its
 * backward, the optimizer, a gradient sync) that repeat.  Model FLOPs follow
 * the literature (DESIGN 7): training 6*N_active per token plus attention
 * 12*L*h*hd*s per token (PaLM, Chowdhery et al. 2022, App. B); inference
 * 2*N_active per token plus attention (causal: the unmasked half).
 */
#include "wl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GB 1e9

typedef struct {
	wl_graph *g;
	const arch_t *a;
	const wl_model *m;
	const wl_scenario *s;
	double eb;       /* bytes per element of the GEMM operands (weights) */
	double aeb;      /* bytes per element of the hidden states between GEMMs */
	int t;           /* tensor-parallel degree */
	int recomputed;  /* ops being added are recomputation */
	int in_bwd;      /* building backward ops (bias grads are reductions in dW) */
	int z3;          /* ZeRO-3 over dp > 1: weights are gathered before use */
	int dp;
	int accum;       /* wl_grad_accum resolved (GACC_AUTO: none): weight gradients are
	                  * accumulated over the step's micro-batches */
	int te8;         /* training with 8-bit GEMMs as Transformer Engine runs them
	                  * (fp8_cast below): 16-bit weights and GEMM outputs, operands
	                  * cast per GEMM */
	int hp;          /* te8: the GEMMs being added run in 16 bits (the output layer) */
} bld;

static wl_op *add_op(bld *b, int kind, int cls, const char *name)
{
	wl_graph *g = b->g;
	if (g->nops == g->cap_ops) {
		int cap = g->cap_ops ? g->cap_ops * 2 : 64;
		wl_op *n = realloc(g->ops, (size_t)cap * sizeof *n);
		if (!n)
			return NULL;
		g->ops = n;
		g->cap_ops = cap;
	}
	wl_op *op = &g->ops[g->nops++];
	memset(op, 0, sizeof *op);
	snprintf(op->name, sizeof op->name, "%s", name);
	op->kind = kind;
	op->cls = cls;
	op->dtype = b->s->dtype;
	op->recomputed = b->recomputed;
	op->no_stream_k = !b->s->stream_k;
	op->mask_form = b->s->causal_mask;
	return op;
}

static int begin_seg(bld *b, const char *name, int role, double count)
{
	wl_graph *g = b->g;
	if (g->nsegs == g->cap_segs) {
		int cap = g->cap_segs ? g->cap_segs * 2 : 16;
		wl_segment *n = realloc(g->segs, (size_t)cap * sizeof *n);
		if (!n)
			return -1;
		g->segs = n;
		g->cap_segs = cap;
	}
	wl_segment *sg = &g->segs[g->nsegs++];
	memset(sg, 0, sizeof *sg);
	snprintf(sg->name, sizeof sg->name, "%s", name);
	sg->role = role;
	sg->count = count;
	sg->first = g->nops;
	return 0;
}

static void end_seg(bld *b)
{
	wl_graph *g = b->g;
	wl_segment *sg = &g->segs[g->nsegs - 1];
	sg->n = g->nops - sg->first;
	/* the embedding and the output head live on one stage of the pipeline */
	sg->once = strstr(sg->name, "embed") || strstr(sg->name, "head");
	if (sg->n == 0 || sg->count <= 0)
		g->nsegs--;
}

static void vec(bld *b, int kind, int cls, const char *name, double elems, double in_elems,
                double ext_elems, double out_elems, double flops_per_elem);
static void comm_dp(bld *b, const char *name, int coll, double bytes, int overlap);
static void norm(bld *b, const char *name, double elems, long row, double flops_per_elem);

/* Training with 8-bit GEMMs, as NVIDIA Transformer Engine runs them: the
 * parameters stay 16-bit, and each FP8 GEMM operand is cast from its 16-bit
 * tensor with a scale, both as it is and transposed (Hopper's FP8 MMA takes
 * only the TN layout, so the weight-gradient GEMM needs the transposes of
 * the input and of the output gradient): TE's fp8_cast_transpose reads 2 B
 * and writes 1 + 1 B an element.  The forward casts each linear layer's
 * input, the backward its output gradient; the weights are cast once a step
 * (TE's is_first_microbatch).  GEMM outputs are 16-bit.  Attention stays
 * 16-bit (TE's FP8 attention is opt-in).  TE fuses the input cast into a
 * preceding LayerNorm or GELU where there is one, and a fusing policy folds
 * a forward cast the same way; the backward's casts of the output gradients
 * (cast_transpose on the 16-bit dgrad of the layer above) and the weight
 * cast are kernels of their own (own = 1) under any policy. */
static void fp8_cast(bld *b, const char *name, double elems, int own)
{
	if (!b->te8)
		return;
	int n0 = b->g->nops;
	vec(b, OP_ELEM, CLS_ELEM, name, elems, elems, 0, elems, 2);
	if (b->g->nops > n0) {
		b->g->ops[n0].fwd_only = 1;   /* no backward of its own: the backward casts its gradient */
		if (own)
			b->g->ops[n0].fold = -1;
	}
}

static void gemm(bld *b, const char *name, long m, long n, long k, long batch, int weight)
{
	if (m <= 0 || n <= 0 || k <= 0 || batch <= 0)
		return;
	if (weight && !b->in_bwd && !b->hp)
		fp8_cast(b, "fp8-cast-transpose", (double)m * k * batch, 0);
	/* 8-bit serving (FP8 / INT8 GEMMs outside training): the hidden states
	 * stay 16-bit, so each linear layer quantizes its input first: reads 2 B
	 * and writes 1 B an element (TensorRT-LLM's FP8Linear.forward: quantize
	 * -> FP8 GEMM -> dequantize to the model dtype, tensorrt_llm/quantization/
	 * layers.py).  A kernel of its own when nothing fuses it; a fusing policy
	 * folds it into the op that produced the input. */
	if (weight && !b->te8 && b->eb < 2 && b->s->phase != PH_TRAIN) {
		double e = (double)m * k * batch;
		vec(b, OP_ELEM, CLS_ELEM, "quantize", e, e, 0, e * b->eb / b->aeb, 2);
	}
	/* ZeRO-3: the weight's shards are all-gathered before the GEMM that
	 * uses it, one collective per weight tensor, as DeepSpeed fetches a
	 * sub-module's parameters (stage3.py fetch_sub_module: one all_gather per
	 * partitioned parameter; biases and norms under
	 * stage3_param_persistence_threshold, 1e5 elements, stay whole and are
	 * not gathered).  The forward, the recomputed forward and the backward
	 * each gather it: the parameter is released (re-partitioned) after
	 * every use.  The backward's gathers are emitted by layer_bwd_from. */
	if (weight && b->z3 && !b->in_bwd) {
		char nm[48];
		snprintf(nm, sizeof nm, "zero3-allgather(%.30s)", name);
		int n0 = b->g->nops;
		comm_dp(b, nm, COLL_ALLGATHER, (double)n * k * batch * (b->te8 ? b->aeb : b->eb), 1);
		for (int i = n0; i < b->g->nops; i++)
			b->g->ops[i].fwd_only = 1;
	}
	wl_op *op = add_op(b, OP_GEMM, CLS_GEMM, name);
	op->m = m, op->n = n, op->k = k, op->batch = batch;
	op->b_is_weight = weight;
	op->flops = 2.0 * m * n * k * batch;
	double ieb = b->eb;
	if (b->hp) {
		op->dtype = arch_macs_per_clk(b->a, DT_BF16) > 0 ? DT_BF16 : DT_FP16;
		ieb = b->aeb;
	}
	op->bytes_in = ((double)m * k + (double)k * n) * batch * ieb;
	/* the product leaves in the hidden-state dtype: 16-bit behind 8-bit
	 * GEMMs (TE's FP8 training and 8-bit serving dequantize it) */
	op->bytes_out = (double)m * n * batch * b->aeb;
	op->out_eb = b->aeb;
	/* a biased projection adds its bias: its own kernel unless fused */
	if (weight && b->m->bias && !b->in_bwd) {
		double e = (double)m * n * batch;
		vec(b, OP_ELEM, CLS_ELEM, "bias-add", e, e, 0, e, 1);
	}
}

/* A feed-forward block's input projection: for a gated FFN the gate and up
 * matrices, as one GEMM of twice the width named `fused` (Megatron-LM's
 * linear_fc1, vLLM's merged column-parallel linear) or, with
 * run.split_gate_up, as two GEMMs of their own, `gate` and `up` (Hugging
 * Face's gate_proj and up_proj; TensorRT-LLM's GatedMLP without
 * --use_fused_mlp: docs/source/performance.md, Known Issues).  An ungated
 * FFN has one matrix, `up`. */
static void ffn_in(bld *b, const char *fused, const char *gate, const char *up, long m, long ff, long d, long batch)
{
	if (!b->m->gated_ffn) {
		gemm(b, up, m, ff, d, batch, 1);
	} else if (!b->s->split_gate_up) {
		gemm(b, fused, m, 2 * ff, d, batch, 1);
	} else {
		gemm(b, gate, m, ff, d, batch, 1);
		gemm(b, up, m, ff, d, batch, 1);
	}
}

/* dropout on a hidden state while training (mask generated and applied) */
static void dropout(bld *b, const char *name, double elems)
{
	if (b->m->dropout && b->s->phase == PH_TRAIN)
		vec(b, OP_ELEM, CLS_ELEM, name, elems, elems, 0, elems * 1.5, 4);   /* output + 1-byte mask */
}

/* element-wise family: elems processed, inputs/outputs in elements */
static void vec(bld *b, int kind, int cls, const char *name, double elems, double in_elems,
                double ext_elems, double out_elems, double flops_per_elem)
{
	if (elems <= 0)
		return;
	wl_op *op = add_op(b, kind, cls, name);
	op->elems = elems;
	op->bytes_in = in_elems * b->aeb;
	op->bytes_ext = ext_elems * b->aeb;
	op->bytes_out = out_elems * b->aeb;
	op->vflops = elems * flops_per_elem;
	op->flops = op->vflops;
}

/* a normalization over rows of `row` elements (the residual stream it reads
 * is external: fusion cannot save it) */
static void norm(bld *b, const char *name, double elems, long row, double flops_per_elem)
{
	int n0 = b->g->nops;
	vec(b, OP_NORM, CLS_NORM, name, elems, elems, elems, elems, flops_per_elem);
	if (b->g->nops > n0)
		b->g->ops[n0].n = row;
}

static void attention(bld *b, const char *name, long batch, long q, long kv, int heads,
                      int kv_heads, int hd, int causal, int backward)
{
	wl_op *op = add_op(b, OP_ATTN, CLS_ATTN, name);
	/* 8-bit serving quantizes the GEMMs; attention (QK, softmax, PV) and its
	 * KV cache stay in 16 bits, as TensorRT-LLM and vLLM run it by default */
	if (op->dtype == DT_FP8 || op->dtype == DT_INT8)
		op->dtype = arch_macs_per_clk(b->a, DT_BF16) > 0 ? DT_BF16 : DT_FP16;
	op->dropout = b->m->dropout && b->s->phase == PH_TRAIN;
	op->batch = batch, op->q_len = q, op->kv_len = kv;
	op->heads = heads, op->kv_heads = kv_heads, op->head_dim = hd;
	op->causal = causal, op->backward = backward;
	/* MACs actually needed: the causal mask removes the upper triangle */
	double pairs = (double)q * kv;
	if (causal && q > 1)
		pairs = (double)q * (kv - q) + (double)q * (q + 1) / 2.0;
	double fwd = 4.0 * batch * heads * pairs * hd;
	op->flops = backward ? 2.5 * fwd : fwd;
	double eb = arch_dtype_bytes((arch_dtype)op->dtype);
	/* an FP8 KV cache (TensorRT-LLM --fp8_kv_cache): the step that reads
	 * cached tokens (q < kv: decode) loads one byte per K/V element and
	 * dequantizes it on the core (masked MHA: QK and PV stay 16-bit); a
	 * prefill reads the K/V its own QKV GEMM produced, in 16 bits */
	double kv_eb = eb;
	if (b->s->kv_cache == KV_FP8 && b->s->phase != PH_TRAIN && q < kv)
		op->kv_eb = kv_eb = 1.0;
	op->bytes_in = (double)batch * (q * heads * eb + 2.0 * kv * kv_heads * kv_eb) * hd;
	op->bytes_out = (double)batch * q * heads * hd * eb;
}

static void comm(bld *b, const char *name, int coll, double bytes, int group, int overlap)
{
	if (group <= 1 || bytes <= 0)
		return;
	/* DeepSpeed <= 0.4 gathers each parameter into a buffer it allocates
	 * zeroed (partition_parameters.py _allgather_param: flat_tensor =
	 * torch.zeros(aligned_param_size), then torch.cuda.synchronize()): a
	 * fill kernel writing the whole gathered weight before every gather */
	if (b->s->coll_lists && coll == COLL_ALLGATHER) {
		wl_op *z = add_op(b, OP_COPY, CLS_OTHER, "allgather-buffer-zero");
		if (z) {
			z->elems = bytes / b->eb;
			z->bytes_out = bytes;   /* writes only */
			z->repeat = 1;
			z->fwd_only = 1;   /* the backward's gather brings its own */
		}
	}
	wl_op *op = add_op(b, OP_COMM, CLS_COMM, name);
	op->coll = coll;
	op->comm_bytes = bytes;
	op->group = group;
	op->overlap = overlap && b->s->overlap;
	op->scaleout = group > b->a->system.chips_per_node;
	/* A collective called with one tensor per rank (torch.distributed
	 * all_gather / reduce_scatter with tensor lists, as DeepSpeed ZeRO of
	 * 2020-21 called them: partition_parameters.py _allgather_param passes
	 * world_size views): PyTorch's ProcessGroupNCCL runs the collective on a
	 * flat buffer and copies each rank's chunk between it and the list with
	 * its own copy_ kernel, group-size copies of bytes/group per collective
	 * (ProcessGroupNCCL.cpp allgather: "Copy the flattened output tensors to
	 * the outputs"; reduce_scatter: flatten_for_scatter_gather).  Each copy
	 * pays a launch, so the cost grows with the group like the ring's. */
	if (b->s->coll_lists && (coll == COLL_ALLGATHER || coll == COLL_REDUCESCATTER)) {
		wl_op *cp = add_op(b, OP_COPY, CLS_OTHER, coll == COLL_ALLGATHER ? "allgather-copy-out" : "reduce-scatter-copy-in");
		double chunk = bytes / group;
		cp->elems = chunk / b->eb;
		cp->bytes_in = chunk;
		cp->bytes_out = chunk;
		cp->repeat = group;
		cp->fwd_only = 1;
	}
}

/* A collective over the data-parallel group.  Rank order as Megatron-LM
 * builds its groups (mpu/initialize.py): tensor-parallel ranks are adjacent,
 * a data-parallel group takes every tp-th rank.  So beside tp the dp group
 * has only chips_per_node / tp members on a node (one when tp fills the
 * node) and its ring crosses the network on the whole payload. */
static void comm_dp(bld *b, const char *name, int coll, double bytes, int overlap)
{
	int n0 = b->g->nops;
	comm(b, name, coll, bytes, b->dp, overlap);
	if (b->g->nops > n0 && b->t > 1) {
		wl_op *op = &b->g->ops[n0];   /* the collective (its copies follow) */
		int per = b->a->system.chips_per_node / b->t;
		op->local = per > 1 ? per : 1;
		op->scaleout = op->group > op->local;
	}
}

/* ---- parallel layout ---------------------------------------------- */

static int kv_heads_of(const wl_model *m)
{
	return m->n_kv_heads ? m->n_kv_heads : m->n_heads;
}

int wl_parallel_resolve(const arch_t *a, const wl_model *m, wl_scenario *s, char *err, size_t errlen)
{
	int tp = s->tp, pp = s->pp, dp = s->dp, chips = s->chips;
	(void)a;
	int given = (tp > 0) + (pp > 0) + (dp > 0);
	if (chips <= 0) {
		tp = tp > 0 ? tp : 1;
		pp = pp > 0 ? pp : 1;
		dp = dp > 0 ? dp : 1;
		chips = tp * pp * dp;
	} else {
		long known = (long)(tp > 0 ? tp : 1) * (pp > 0 ? pp : 1) * (dp > 0 ? dp : 1);
		if (chips % known) {
			snprintf(err, errlen, "--chips %d is not a multiple of tp*pp*dp = %ld", chips, known);
			return -1;
		}
		int rest = (int)(chips / known);
		if (given == 3 && rest != 1) {
			snprintf(err, errlen, "tp*pp*dp = %d*%d*%d = %ld but --chips is %d", tp, pp, dp, known, chips);
			return -1;
		}
		/* the missing degree takes the rest: dp first (DESIGN 6), then tp, then pp */
		if (dp <= 0)
			dp = rest, rest = 1;
		if (tp <= 0)
			tp = rest, rest = 1;
		if (pp <= 0)
			pp = rest, rest = 1;
		if (rest != 1) {
			snprintf(err, errlen, "tp*pp*dp = %d*%d*%d does not equal --chips %d", tp, pp, dp, chips);
			return -1;
		}
	}
	if (m->n_heads % tp) {
		snprintf(err, errlen, "--tp %d does not divide n_heads = %d of %s", tp, m->n_heads, m->name);
		return -1;
	}
	if (pp > m->n_layers) {
		snprintf(err, errlen, "--pp %d exceeds n_layers = %d of %s", pp, m->n_layers, m->name);
		return -1;
	}
	int ep = s->ep > 0 ? s->ep : 1;
	if (ep > 1) {
		if (!m->n_experts) {
			snprintf(err, errlen, "--ep %d given but %s has no experts", ep, m->name);
			return -1;
		}
		if (m->n_experts % ep) {
			snprintf(err, errlen, "--ep %d does not divide n_experts = %d of %s", ep, m->n_experts, m->name);
			return -1;
		}
		if ((tp * dp) % ep) {
			snprintf(err, errlen, "--ep %d does not divide tp*dp = %d", ep, tp * dp);
			return -1;
		}
	}
	if (s->phase == PH_TRAIN) {
		if (s->batch % dp) {
			snprintf(err, errlen, "--batch %d is not divisible by dp = %d", s->batch, dp);
			return -1;
		}
		if ((s->batch / dp) % s->micro_batch) {
			snprintf(err, errlen, "per-replica batch %d is not divisible by --micro-batch %d",
			         s->batch / dp, s->micro_batch);
			return -1;
		}
	}
	s->tp = tp, s->pp = pp, s->dp = dp, s->chips = chips, s->ep = ep;
	return 0;
}

int wl_attn_impl_of(const wl_scenario *s)
{
	if (s->attn_impl != ATTN_AUTO)
		return s->attn_impl;
	return s->fusion == FUSE_EAGER ? ATTN_NAIVE : ATTN_FLASH;
}

/* ---- one transformer layer ---------------------------------------- */

/* The forward ops of one layer for `mb` sequences of q new tokens attending
 * to kv tokens.  moe: whether this layer's FFN is a mixture of experts. */
static void layer_fwd(bld *b, long mb, long q, long kv, int moe, double train_tokens_group)
{
	const wl_model *m = b->m;
	int t = b->t, hd = wl_head_dim(m);
	long T = mb * q;                       /* tokens through this chip */
	double d = m->d_model;
	int h = m->n_heads / t;
	int kvh = kv_heads_of(m) / t > 0 ? kv_heads_of(m) / t : 1;
	int causal = m->kind == MODEL_DECODER;

	norm(b, "norm-attn", T * d, m->d_model, m->norm == NORM_LAYER ? 8 : 5);
	if (m->attention == ATTN_MLA) {
		/* MLA approximated as its projections plus attention over the
		 * compressed cache: q (low-rank), kv down, k/v up, then MHA with
		 * head_dim + rope_head_dim for scores and v_head_dim for values. */
		int r = m->rope_head_dim, vd = m->v_head_dim ? m->v_head_dim : hd;
		if (m->q_lora_rank) {
			gemm(b, "q-down", T, m->q_lora_rank, (long)d, 1, 1);
			gemm(b, "q-up", T, (long)h * (hd + r), m->q_lora_rank, 1, 1);
		} else {
			gemm(b, "q-proj", T, (long)h * (hd + r), (long)d, 1, 1);
		}
		gemm(b, "kv-down", T, m->kv_lora_rank + r, (long)d, 1, 1);
		gemm(b, "kv-up", mb * kv, (long)h * (hd + vd), m->kv_lora_rank, 1, 1);
		attention(b, "attention", mb, q, kv, h, h, hd + r, causal, 0);
		gemm(b, "o-proj", T, (long)d, (long)h * vd, 1, 1);
	} else {
		gemm(b, "qkv-proj", T, (long)(h + 2 * kvh) * hd, (long)d, 1, 1);
		if (m->kind == MODEL_DECODER && !m->learned_pos_embeddings)
			vec(b, OP_ELEM, CLS_ELEM, "rotary", (double)T * (h + kvh) * hd, (double)T * (h + kvh) * hd, 0,
			    (double)T * (h + kvh) * hd, 6);
		attention(b, "attention", mb, q, kv, h, kvh, hd, causal, 0);
		gemm(b, "o-proj", T, (long)d, (long)h * hd, 1, 1);
	}
	comm(b, "tp-allreduce-attn", COLL_ALLREDUCE, T * d * b->aeb, t, 0);
	dropout(b, "dropout-attn", T * d);
	vec(b, OP_ELEM, CLS_ELEM, "residual-attn", T * d, 2 * T * d, T * d, T * d, 1);
	norm(b, "norm-ffn", T * d, m->d_model, m->norm == NORM_LAYER ? 8 : 5);

	int nmat_in = m->gated_ffn ? 2 : 1;
	if (!moe) {
		long ff = m->d_ff / t;
		ffn_in(b, "ffn-gate-up", "ffn-gate", "ffn-up", T, ff, (long)d, 1);
		vec(b, OP_ELEM, CLS_ELEM, m->gated_ffn ? "swiglu" : "gelu", (double)T * ff,
		    (double)T * ff * nmat_in, 0, (double)T * ff, m->gated_ffn ? 6 : 8);
		gemm(b, "ffn-down", T, (long)d, ff, 1, 1);
	} else {
		int ep = b->g->ep;
		long eff = m->expert_d_ff ? m->expert_d_ff : m->d_ff;
		double E = m->n_experts, k = m->top_k;
		/* tokens routed inside the EP group, and this chip's share of experts */
		double group_tokens = train_tokens_group > 0 ? train_tokens_group : (double)T * ep;
		double local_experts = E / ep;
		gemm(b, "router", T, m->n_experts, (long)d, 1, 1);
		vec(b, OP_ROUTE, CLS_OTHER, "route-topk", (double)T * E, (double)T * E, 0, (double)T * k, 4);
		comm(b, "ep-dispatch", COLL_ALLTOALL, (double)T * k * d * b->aeb, ep, 0);
		/* token-to-expert assignments in the EP group; the busiest expert takes
		 * skew x the mean, capped by the capacity factor (the rest is dropped) */
		double assign = group_tokens * k, mean = assign / E;
		double busiest = mean * fmin(m->skew, m->capacity_factor);
		/* the simulated chip hosts the busiest expert: with EP its other
		 * local experts see the mean load; without EP every expert is local
		 * and the others share what the busiest did not take */
		double others, n_others;
		if (ep > 1) {
			n_others = local_experts - 1;
			others = mean * n_others;
		} else {
			/* expected experts that receive any token: only their weights are read */
			n_others = fmax(0.0, E * (1.0 - pow(1.0 - k / E, group_tokens)) - 1);
			others = fmax(0.0, assign - busiest);
		}
		long ffl = eff / t;
		long mb_busy = (long)ceil(fmax(busiest, 1.0));
		long n_oth = (long)ceil(n_others - 1e-9);
		long mb_other = n_oth > 0 ? (long)ceil(fmax(others / n_others, 1.0)) : 0;
		ffn_in(b, "expert-up(busiest)", "expert-gate(busiest)", "expert-up(busiest)", mb_busy, ffl, (long)d, 1);
		vec(b, OP_ELEM, CLS_ELEM, "expert-act(busiest)", (double)mb_busy * ffl,
		    (double)mb_busy * ffl * nmat_in, 0, (double)mb_busy * ffl, 6);
		gemm(b, "expert-down(busiest)", mb_busy, (long)d, ffl, 1, 1);
		if (n_oth > 0 && mb_other > 0) {
			ffn_in(b, "expert-up", "expert-gate", "expert-up", mb_other, ffl, (long)d, n_oth);
			vec(b, OP_ELEM, CLS_ELEM, "expert-act", (double)mb_other * ffl * n_oth,
			    (double)mb_other * ffl * nmat_in * n_oth, 0, (double)mb_other * ffl * n_oth, 6);
			gemm(b, "expert-down", mb_other, (long)d, ffl, n_oth, 1);
		}
		if (m->n_shared_experts) {
			long sff = eff * m->n_shared_experts / t;
			ffn_in(b, "shared-up", "shared-gate", "shared-up", T, sff, (long)d, 1);
			vec(b, OP_ELEM, CLS_ELEM, "shared-act", (double)T * sff, (double)T * sff * nmat_in, 0, (double)T * sff,
			    m->gated_ffn ? 6 : 8);
			gemm(b, "shared-down", T, (long)d, sff, 1, 1);
		}
		comm(b, "ep-combine", COLL_ALLTOALL, (double)T * k * d * b->aeb, ep, 0);
		vec(b, OP_ROUTE, CLS_OTHER, "combine-scatter", (double)T * k * d, (double)T * k * d, 0, T * d, 2);
	}
	comm(b, "tp-allreduce-ffn", COLL_ALLREDUCE, T * d * b->aeb, t, 0);
	dropout(b, "dropout-ffn", T * d);
	vec(b, OP_ELEM, CLS_ELEM, "residual-ffn", T * d, 2 * T * d, T * d, T * d, 1);
}

/* A micro-batch's weight gradient added into the step's accumulated one:
 * read the new 16-bit gradient and the accumulator (gb bytes an element,
 * run.grad_dtype), write the accumulator back.  As its own kernel (add) it
 * costs all three; fused, the dW GEMM's epilogue reads the accumulator and
 * writes in place of its own 16-bit output, so what remains is that read
 * and the wider write (gb - 2 more bytes), folded into the GEMM like any
 * element-wise op: bytes_ext. */
static void grad_accum(bld *b, double elems)
{
	if (b->accum == GACC_AUTO)
		return;
	int n0 = b->g->nops;
	vec(b, OP_ELEM, CLS_ELEM, "grad-accum", elems, 2 * elems, elems, elems, 1);
	if (b->g->nops == n0)
		return;
	wl_op *op = &b->g->ops[n0];
	double gb = wl_grad_bytes(b->s);
	op->bytes_in = (2.0 + gb) * elems;   /* the new gradient and the accumulator */
	op->bytes_out = gb * elems;
	op->bytes_ext = (2.0 * gb - 2.0) * elems;
	op->fold = b->accum == GACC_ADD ? -1 : 1;
}

/* Backward of the ops [first, last) just built: per GEMM a data-gradient and
 * a weight-gradient GEMM, attention backward, element-wise twice the traffic. */
static void layer_bwd_from(bld *b, int first, int last)
{
	b->in_bwd = 1;
	for (int i = last - 1; i >= first; i--) {
		wl_op o = b->g->ops[i];
		char nm[48];
		if (o.fwd_only)
			continue;   /* the backward emits its own (gathers before its GEMMs, copies with their collective) */
		switch (o.kind) {
		case OP_GEMM:
			b->hp = b->te8 && o.dtype != b->s->dtype;   /* a 16-bit GEMM's gradients are 16-bit too */
			/* ZeRO-3: the weight is gathered again for its gradients */
			if (o.b_is_weight && b->z3) {
				snprintf(nm, sizeof nm, "zero3-allgather.bwd(%.24s)", o.name);
				comm_dp(b, nm, COLL_ALLGATHER, (double)o.n * o.k * o.batch * (b->te8 ? b->aeb : b->eb), 1);
			}
			if (o.b_is_weight && !b->hp) {
				snprintf(nm, sizeof nm, "%.20s.fp8-cast-transpose", o.name);
				fp8_cast(b, nm, (double)o.m * o.n * o.batch, 1);   /* the output gradient */
			}
			snprintf(nm, sizeof nm, "%.30s.dX", o.name);
			gemm(b, nm, o.m, o.k, o.n, o.batch, 1);
			if (o.b_is_weight) {
				snprintf(nm, sizeof nm, "%.30s.dW", o.name);
				gemm(b, nm, o.k, o.n, o.m, o.batch, 0);
				/* ZeRO-3: each weight's gradient is reduce-scattered on its
				 * own once computed (DeepSpeed partition_parameters.py
				 * _reduce_scatter_gradients: one reduce_scatter per parameter) */
				if (b->z3) {
					snprintf(nm, sizeof nm, "zero3-reduce-scatter(%.20s)", o.name);
					comm_dp(b, nm, COLL_REDUCESCATTER, (double)o.n * o.k * o.batch * wl_grad_bytes(b->s), 1);
				}
				grad_accum(b, (double)o.n * o.k * o.batch);
			}
			break;
		case OP_ATTN:
			snprintf(nm, sizeof nm, "%.30s.bwd", o.name);
			attention(b, nm, o.batch, o.q_len, o.kv_len, o.heads, o.kv_heads, o.head_dim, o.causal, 1);
			break;
		case OP_COMM:
			snprintf(nm, sizeof nm, "%.30s.bwd", o.name);
			{
				int n0 = b->g->nops;
				comm(b, nm, o.coll, o.comm_bytes, o.group, o.overlap);
				if (b->g->nops > n0) {
					b->g->ops[n0].local = o.local;
					b->g->ops[n0].scaleout = o.scaleout;
				}
			}
			break;
		default: {
			snprintf(nm, sizeof nm, "%.30s.bwd", o.name);
			double e = o.elems;
			int n0 = b->g->nops;
			vec(b, o.kind, o.cls, nm, e, 2 * o.bytes_in / b->aeb, o.bytes_ext / b->aeb, o.bytes_in / b->aeb,
			    2 * o.vflops / (e > 0 ? e : 1));
			if (b->g->nops > n0)
				b->g->ops[n0].n = o.n;   /* a norm's row */
			break;
		}
		}
	}
	b->in_bwd = 0;
	b->hp = 0;
}

static double layer_params_chip(const wl_model *m, int moe, int t, int ep)
{
	wl_model one = *m;
	one.n_layers = 1;
	one.vocab = 1;
	one.tied_embeddings = 1;
	one.n_dense_layers = moe ? 0 : 1;
	if (!moe)
		one.n_experts = 0;
	double p = wl_params_total(&one) - m->d_model;   /* drop the 1-token "embedding" */
	if (moe) {
		double ex = (m->gated_ffn ? 3.0 : 2.0) * m->d_model * (m->expert_d_ff ? m->expert_d_ff : m->d_ff);
		double experts = m->n_experts * ex;
		return (p - experts) / t + experts / ((double)ep * t);
	}
	return p / t;
}

/* ---- scenario ------------------------------------------------------- */

static double kv_bytes_per_token_layer(const wl_model *m, int t, double eb, int kv_cache)
{
	if (eb < 2)
		eb = 2;   /* the KV cache stays 16-bit under 8-bit GEMMs (see attention()) */
	if (kv_cache == KV_FP8)
		eb = 1;   /* unless it is stored in FP8 (run.kv_cache=fp8) */
	if (m->attention == ATTN_MLA)
		return (m->kv_lora_rank + m->rope_head_dim) * eb;   /* compressed cache, not sharded */
	int kvh = kv_heads_of(m) / t > 0 ? kv_heads_of(m) / t : 1;
	return 2.0 * kvh * wl_head_dim(m) * eb;
}

/* Which layers the slowest (last) stage holds: dense and MoE counts. */
static void stage_layers(const wl_model *m, int pp, int *lps, int *dense_here, int *moe_here)
{
	int L = m->n_layers;
	*lps = (L + pp - 1) / pp;
	int moe_first = m->n_experts ? m->n_dense_layers : L;
	int stage_first = L - *lps;
	*dense_here = stage_first < moe_first ? (moe_first - stage_first < *lps ? moe_first - stage_first : *lps) : 0;
	*moe_here = *lps - *dense_here;
}

/* Parameters on one chip of the last stage (its layers, the output head,
 * and the embedding when the whole model is one stage), before ZeRO. */
static double params_chip(const wl_model *m, int tp, int pp, int ep)
{
	int lps, dense_here, moe_here;
	stage_layers(m, pp, &lps, &dense_here, &moe_here);
	return dense_here * layer_params_chip(m, 0, tp, ep) + moe_here * layer_params_chip(m, 1, tp, ep) +
	       (double)m->vocab * m->d_model / tp * (m->tied_embeddings ? 1 : (pp == 1 ? 2 : 1));
}

/* Memory per chip for a resolved scenario (bytes).  balanced: the model is
 * placed by bytes, not whole layers (a static compiler places an SRAM-only
 * chip's tensors anywhere), so every chip holds an equal share. */
static void mem_estimate(const wl_model *m, const wl_scenario *sc, int n_micro, int balanced, wl_graph *g)
{
	int t = sc->tp, pp = sc->pp, lps, dh, mh;
	stage_layers(m, pp, &lps, &dh, &mh);
	double eb = arch_dtype_bytes((arch_dtype)sc->dtype), d = m->d_model;
	double p_chip = balanced ? wl_params_total(m) / ((double)t * pp) : params_chip(m, t, pp, sc->ep);
	double kv_layers = balanced ? (double)m->n_layers / pp : lps;
	g->mem_weights = g->mem_grads = g->mem_optim = g->mem_act = g->mem_kv = 0;
	if (sc->phase == PH_TRAIN) {
		double S = sc->seq, mb = sc->micro_batch, h = m->n_heads;
		/* 8-bit training keeps 16-bit parameters and TE's FP8 copy and its
		 * transpose: 4 B a parameter */
		g->mem_weights = p_chip * (eb < 2 ? 4 : eb) / (sc->zero >= 3 ? sc->dp : 1);
		g->mem_grads = p_chip * wl_grad_bytes(sc) / (sc->zero >= 2 ? sc->dp : 1);
		g->mem_optim = p_chip * 12 / (sc->zero >= 1 ? sc->dp : 1);
		/* activations per layer (Korthikanti et al. 2022, eq. 2, bytes, 16-bit:
		 * 34 sbh = attention 11 + MLP 19 + norms 4).  With 8-bit GEMMs
		 * (Transformer Engine) the four linear layers' saved inputs are their
		 * 1-byte casts, which the weight gradients read: QKV 2 -> 1, output
		 * projection 2 -> 1, FC1 2 -> 1, FC2 8 -> 4, so 27 sbh. */
		double sbh = S * mb * d, per_layer, lin = eb < 2 ? 27.0 : 34.0;
		if (sc->recompute == RECOMP_FULL)
			per_layer = 2 * sbh;
		else if (sc->recompute == RECOMP_SELECTIVE)
			per_layer = lin * sbh / t;
		else if (wl_attn_impl_of(sc) == ATTN_NAIVE)
			per_layer = sbh * (lin / t + 5.0 * h * S / (d * t));
		else
			per_layer = lin * sbh / t;   /* flash attention stores no score matrix: the 5as/h term goes */
		int inflight = pp < n_micro ? pp : n_micro;
		g->mem_act = per_layer * lps * inflight;
	} else {
		double B = sc->batch, q = sc->phase == PH_DECODE ? 1 : sc->seq;
		double max_ctx = sc->phase == PH_DECODE ? sc->context + 1 : sc->phase == PH_SERVE ? sc->seq + sc->gen : sc->seq;
		double mb = ceil(B / (n_micro > 0 ? n_micro : 1));
		g->mem_weights = p_chip * eb;
		g->mem_kv = B * max_ctx * kv_layers * kv_bytes_per_token_layer(m, t, eb, sc->kv_cache);
		g->mem_act = mb * q * (d + (double)m->d_ff / t) * eb * 2;
	}
	g->mem_total = g->mem_weights + g->mem_grads + g->mem_optim + g->mem_act + g->mem_kv;
}

static int micro_batches(const wl_scenario *sc)
{
	if (sc->phase == PH_TRAIN)
		return sc->batch / sc->dp / sc->micro_batch;
	/* inference through a pipeline: the batch streams as up to pp micro-batches */
	return sc->pp > 1 ? (sc->batch < sc->pp ? sc->batch : sc->pp) : 1;
}

/* A chip with no off-chip memory holds everything in SRAM: when the user
 * gives no parallelism, place the model on as few chips as hold it, layer
 * by layer across a pipeline (tensor-split a layer only if one layer does
 * not fit one chip). */
static void sram_place(const arch_t *a, const wl_model *m, wl_scenario *sc)
{
	if (arch_has_hbm(a) || sc->chips > 0 || sc->tp > 0 || sc->pp > 0 || sc->dp > 0)
		return;
	double cap = a->global_sram.size_MiB * 1048576.0;
	for (int tp = 1; tp <= m->n_heads; tp *= 2) {
		if (m->n_heads % tp)
			break;
		for (int pp = 1; pp <= m->n_layers; pp++) {
			wl_scenario t = *sc;
			wl_graph g;
			t.tp = tp, t.pp = pp, t.dp = 1, t.ep = 1, t.chips = tp * pp;
			memset(&g, 0, sizeof g);
			mem_estimate(m, &t, micro_batches(&t), 1, &g);
			if (g.mem_total <= cap) {
				sc->tp = tp, sc->pp = pp, sc->dp = 1;
				return;
			}
			/* more stages cannot help once a stage holds a single layer */
			if ((m->n_layers + pp - 1) / pp == 1)
				break;
		}
	}
}

/* Pipeline stage boundaries that cross nodes.  Megatron-LM's rank order
 * (mpu/initialize.py) puts tensor-parallel ranks together and the next stage
 * tp*dp ranks on: stage i holds ranks [i k, (i+1) k), k = tp*dp, so the
 * boundary after it crosses when its last rank and the next stage's first
 * sit on different nodes of chips_per_node. */
static int boundaries_crossing(const arch_t *a, const wl_scenario *sc, int pp)
{
	long k = (long)sc->tp * sc->dp, cpn = a->system.chips_per_node > 0 ? a->system.chips_per_node : 1;
	int n = 0;
	for (int i = 0; i + 1 < pp; i++)
		n += ((i + 1) * k - 1) / cpn != ((i + 1) * k) / cpn;
	return n;
}

int wl_build(wl_graph *g, const arch_t *a, const wl_model *m, const wl_scenario *sc_in,
             char *err, size_t errlen)
{
	wl_scenario sc = *sc_in;
	memset(g, 0, sizeof *g);
	if (wl_model_validate(m, err, errlen))
		return -1;
	sram_place(a, m, &sc);
	if (wl_parallel_resolve(a, m, &sc, err, errlen))
		return -1;
	/* 8-bit GEMMs (FP8 / INT8 serving) quantize only the GEMM operands: the
	 * hidden states between GEMMs (norms, residual stream, TP all-reduce, the
	 * MoE dispatch) stay 16-bit.  TensorRT-LLM's FP8Linear quantizes its input,
	 * multiplies in FP8 and dequantizes the product back to the model dtype
	 * (tensorrt_llm/quantization/layers.py, FP8Linear.forward: quantize ->
	 * dequantize(..., self.dtype) -> multiply_gather); its all-reduce plugin
	 * then reduces that 16-bit tensor. */
	double eb0 = arch_dtype_bytes((arch_dtype)sc.dtype);
	bld b = {g, a, m, &sc, eb0, eb0 < 2 ? 2 : eb0, sc.tp, 0, 0, 0, 1, GACC_AUTO, 0, 0};
	g->chips = sc.chips, g->tp = sc.tp, g->pp = sc.pp, g->dp = sc.dp, g->ep = sc.ep, g->vpp = sc.vpp;
	g->feasible = 1;
	g->attn_impl = wl_attn_impl_of(&sc);
	g->steady = sc.phase == PH_DECODE;

	if (arch_macs_per_clk(a, (arch_dtype)sc.dtype) <= 0) {
		g->feasible = 0;
		snprintf(g->reason, sizeof g->reason, "%s has no %s matrix unit (try --dtype %s)", a->name,
		         arch_dtype_names[sc.dtype], a->core.macs_fp16 > 0 ? "fp16" : "int8");
	}

	int L = m->n_layers, pp = sc.pp, t = sc.tp;
	int lps, dense_here, moe_here;
	stage_layers(m, pp, &lps, &dense_here, &moe_here);
	g->layers_per_stage = lps;
	double d = m->d_model;
	/* parameters that do matrix work per token: the input embedding is a
	 * lookup; the output head is a GEMM (Megatron's count includes it) */
	double embed = m->tied_embeddings ? 0 : (double)m->vocab * d;
	double head = m->kind == MODEL_DECODER ? (double)m->vocab * d : 0;
	double N_mm = wl_params_active(m) - embed;
	int causal = m->kind == MODEL_DECODER;
	int hd = wl_head_dim(m), h = m->n_heads;
	double p_chip = params_chip(m, t, pp, sc.ep);
	double cap = arch_has_hbm(a) ? a->memory.capacity_GB * GB : a->global_sram.size_MiB * 1048576.0;
	g->mem_capacity = cap;

	if (sc.phase == PH_TRAIN) {
		long mb = sc.micro_batch, S = sc.seq;
		g->n_micro = sc.batch / sc.dp / sc.micro_batch;
		long T = mb * S;
		double group_tokens = (double)T * sc.ep;
		b.dp = sc.dp;
		/* 8-bit GEMMs in training: Transformer Engine's FP8 recipe.  INT8
		 * training, which no source here measures, is given the same recipe
		 * (an assumption: 16-bit weights and outputs, operands cast per use) */
		b.te8 = eb0 < 2;
		if (sc.zero >= 3 && sc.dp > 1) {
			b.z3 = 1;
		}
		/* several micro-batches: their weight gradients are summed (ZeRO-3
		 * reduce-scatters each one as computed and sums only its shard) */
		if (g->n_micro > 1 && !b.z3)
			b.accum = sc.grad_accum != GACC_AUTO ? sc.grad_accum
			          : sc.fusion == FUSE_EAGER ? GACC_ADD : GACC_FUSED;
		/* forward of one micro-batch through the stage */
		if (begin_seg(&b, "embed", ROLE_FWD, 1))
			goto oom;
		vec(&b, OP_EMBED, CLS_OTHER, "embedding", T * d, T * d, T * d, T * d, 0);
		end_seg(&b);
		int f0 = g->nops;
		if (dense_here) {
			begin_seg(&b, "layer-fwd", ROLE_FWD, dense_here);
			f0 = g->nops;
			layer_fwd(&b, mb, S, S, 0, group_tokens);
			end_seg(&b);
		}
		int fd0 = f0, fd1 = g->nops;
		int fm0 = g->nops, fm1 = g->nops;
		if (moe_here) {
			begin_seg(&b, "moe-layer-fwd", ROLE_FWD, moe_here);
			fm0 = g->nops;
			layer_fwd(&b, mb, S, S, 1, group_tokens);
			fm1 = g->nops;
			end_seg(&b);
		}
		begin_seg(&b, "head-fwd", ROLE_FWD, 1);
		int h0 = g->nops;
		norm(&b, "final-norm", T * d, m->d_model, 5);
		/* Megatron-Core's output layer is its own ColumnParallelLinear, not a
		 * Transformer Engine module: under TE's FP8 it stays 16-bit */
		b.hp = b.te8;
		gemm(&b, "lm-head", T, m->vocab / t, (long)d, 1, 1);
		b.hp = 0;
		vec(&b, OP_SOFTMAX, CLS_OTHER, "cross-entropy", (double)T * m->vocab / t, (double)T * m->vocab / t, 0, T, 5);
		int h1 = g->nops;
		end_seg(&b);
		/* backward, recomputing what the policy drops */
		begin_seg(&b, "head-bwd", ROLE_BWD, 1);
		layer_bwd_from(&b, h0, h1);
		end_seg(&b);
		for (int pass = 0; pass < 2; pass++) {
			int n_here = pass == 0 ? moe_here : dense_here;
			int o0 = pass == 0 ? fm0 : fd0, o1 = pass == 0 ? fm1 : fd1;
			if (!n_here || o0 == o1)
				continue;
			begin_seg(&b, pass == 0 ? "moe-layer-bwd" : "layer-bwd", ROLE_BWD, n_here);
			b.recomputed = 1;
			if (sc.recompute == RECOMP_FULL) {
				layer_fwd(&b, mb, S, S, pass == 0, group_tokens);
			} else if (sc.recompute == RECOMP_SELECTIVE) {
				for (int i = o0; i < o1; i++)
					if (g->ops[i].kind == OP_ATTN) {
						wl_op o = g->ops[i];
						attention(&b, "attention(recompute)", o.batch, o.q_len, o.kv_len, o.heads, o.kv_heads,
						          o.head_dim, o.causal, 0);
					}
			}
			b.recomputed = 0;
			layer_bwd_from(&b, o0, o1);
			end_seg(&b);
		}
		/* gradient sync over dp, then the optimizer */
		double p_grad = p_chip, gb = wl_grad_bytes(&sc);
		begin_seg(&b, "grad-sync", sc.overlap ? ROLE_SYNC : ROLE_STEP, 1);
		if (sc.zero >= 3)
			;   /* reduce-scattered layer by layer in the backward */
		else if (sc.zero >= 2)
			comm_dp(&b, "dp-reduce-scatter", COLL_REDUCESCATTER, p_grad * gb, 0);
		else
			comm_dp(&b, "dp-allreduce", COLL_ALLREDUCE, p_grad * gb, 0);
		end_seg(&b);
		begin_seg(&b, "optimizer", ROLE_STEP, 1);
		double p_opt = sc.zero >= 1 ? p_chip / sc.dp : p_chip;
		/* Adam with fp32 master weights: read the gradient (gb), master/m/v
		 * (12) and write them (12) and the 16-bit weight (2): 26 + gb bytes
		 * per parameter */
		{
			wl_op *op = add_op(&b, OP_OPTIM, CLS_OTHER, "adam");
			op->elems = p_opt;
			op->bytes_in = (12 + gb) * p_opt;
			op->bytes_ext = op->bytes_in;
			op->bytes_out = 14 * p_opt;
			op->vflops = 12 * p_opt;
			op->flops = op->vflops;
		}
		/* TE casts the updated 16-bit weights to FP8 and its transpose once a
		 * step (the output layer stays 16-bit, counted too: a bound) */
		fp8_cast(&b, "fp8-weight-cast", p_chip, 1);
		end_seg(&b);
		if (sc.zero >= 1 && sc.zero < 3) {
			/* the updated shards are gathered back into full weights */
			begin_seg(&b, "param-allgather", ROLE_STEP, 1);
			comm_dp(&b, "dp-allgather", COLL_ALLGATHER, p_chip * 2, 0);
			end_seg(&b);
		}
		g->p2p_bytes = pp > 1 ? (double)T * d * b.aeb : 0;
		/* Once the pipeline spans nodes some stage boundary crosses the
		 * network (boundaries_crossing), and in lockstep 1F1B the slowest
		 * boundary sets the pace.  Megatron-LM splits each transfer over the tp ranks and, before 2022, waits
		 * for it (p2p_communication.py: batch_isend_irecv, then
		 * torch.cuda.synchronize()): run.overlap = 0 */
		g->p2p_net = boundaries_crossing(a, &sc, pp) > 0 ? 1 : 0;
		g->p2p_split = sc.tp;
		g->p2p_blocking = !sc.overlap;
		double tokens = (double)sc.batch * S;
		g->tokens = tokens;
		g->model_flops = 6.0 * N_mm * tokens + 12.0 * L * h * hd * (double)S * tokens;
		mem_estimate(m, &sc, g->n_micro, !arch_has_hbm(a), g);
	} else {
		/* inference: prefill, decode, serve; through a pipeline the batch
		 * streams as micro-batches of B sequences */
		long B_all = sc.batch;
		g->n_micro = micro_batches(&sc);
		long B = (B_all + g->n_micro - 1) / g->n_micro;
		long q, kv;
		double ctx_mean = 0;
		if (sc.phase == PH_DECODE) {
			q = 1, kv = sc.context + 1;
		} else {
			q = sc.seq, kv = sc.seq;
		}
		/* prefill / decode step segments (fwd role: pipelined over pp) */
		const char *tag = sc.phase == PH_DECODE ? "decode" : "prefill";
		char nm[40];
		snprintf(nm, sizeof nm, "%s-embed", tag);
		begin_seg(&b, nm, ROLE_FWD, 1);
		vec(&b, OP_EMBED, CLS_OTHER, "embedding", B * q * d, B * q * d, B * q * d, B * q * d, 0);
		end_seg(&b);
		if (dense_here) {
			snprintf(nm, sizeof nm, "%s-layer", tag);
			begin_seg(&b, nm, ROLE_FWD, dense_here);
			layer_fwd(&b, B, q, kv, 0, 0);
			end_seg(&b);
		}
		if (moe_here) {
			snprintf(nm, sizeof nm, "%s-moe-layer", tag);
			begin_seg(&b, nm, ROLE_FWD, moe_here);
			layer_fwd(&b, B, q, kv, 1, 0);
			end_seg(&b);
		}
		snprintf(nm, sizeof nm, "%s-head", tag);
		begin_seg(&b, nm, ROLE_FWD, 1);
		norm(&b, "final-norm", B * d, m->d_model, 5);
		if (m->kind == MODEL_DECODER)
			gemm(&b, "lm-head", B, m->vocab / t, (long)d, 1, 1);   /* last token of each sequence */
		end_seg(&b);
		if (sc.phase == PH_SERVE) {
			/* the gen decode steps, simulated at the mean context */
			ctx_mean = sc.seq + sc.gen / 2.0;
			long kvm = (long)ceil(ctx_mean);
			begin_seg(&b, "decode-layer", ROLE_STEP, (double)dense_here * sc.gen);
			if (dense_here)
				layer_fwd(&b, B, 1, kvm, 0, 0);
			end_seg(&b);
			begin_seg(&b, "decode-moe-layer", ROLE_STEP, (double)moe_here * sc.gen);
			if (moe_here)
				layer_fwd(&b, B, 1, kvm, 1, 0);
			end_seg(&b);
			begin_seg(&b, "decode-head", ROLE_STEP, sc.gen);
			gemm(&b, "lm-head", B, m->vocab / t, (long)d, 1, 1);
			end_seg(&b);
			g->steps = sc.gen;
		}
		g->p2p_bytes = pp > 1 ? (double)B * q * d * b.aeb : 0;
		/* the same placement as in training, but a token crosses every
		 * boundary in turn, so each costs what its own link does; every
		 * tensor-parallel rank sends its own full copy over its own link
		 * (no scatter-gather) */
		g->p2p_net = pp > 1 ? (double)boundaries_crossing(a, &sc, pp) / (pp - 1) : 0;
		g->p2p_split = 1;
		/* tokens and model FLOPs (inference: 2 per MAC of the needed work;
		 * the head only where logits are computed: a prompt's last token) */
		double attn_per_tok_ctx = 4.0 * L * h * hd;   /* per token per context position */
		double body = N_mm - head;
		double Bt = (double)B_all;
		double pre = 2.0 * body * Bt * q + 2.0 * head * Bt + attn_per_tok_ctx * Bt * (causal ? (q + 1) / 2.0 : q) * q;
		if (sc.phase == PH_PREFILL) {
			g->tokens = Bt * q;
			g->model_flops = pre;
		} else if (sc.phase == PH_DECODE) {
			g->tokens = Bt;
			g->model_flops = 2.0 * N_mm * Bt + attn_per_tok_ctx * Bt * kv;
		} else {
			g->tokens = Bt * sc.gen;
			g->model_flops = pre + 2.0 * N_mm * Bt * sc.gen + attn_per_tok_ctx * Bt * sc.gen * ctx_mean;
		}
		g->model_flops *= sc.dp;   /* dp replicas serve their own batches */
		g->tokens *= sc.dp;
		mem_estimate(m, &sc, g->n_micro, !arch_has_hbm(a), g);
	}
	/* the system: pp stages of tp*dp chips; the simulated stage is the
	 * slowest, the others hold their share of the layers; the embedding and
	 * head run on one stage */
	double share = (double)L / ((double)lps * pp);
	g->hw_flops = g->recompute_flops = 0;
	for (int i = 0; i < g->nsegs; i++) {
		wl_segment *sg = &g->segs[i];
		double per = 0, re = 0;
		for (int k = sg->first; k < sg->first + sg->n; k++)
			if (g->ops[k].kind != OP_COMM) {
				per += g->ops[k].flops;
				if (g->ops[k].recomputed)
					re += g->ops[k].flops;
			}
		double reps = sg->count * ((sg->role == ROLE_FWD || sg->role == ROLE_BWD) ? g->n_micro : 1);
		double chips = sg->once ? (double)g->chips / pp : (double)g->chips * (share < 1 ? share : 1);
		g->hw_flops += per * reps * chips;
		g->recompute_flops += re * reps * chips;
	}
	if (g->feasible && g->mem_total > cap) {
		g->feasible = 0;
		snprintf(g->reason, sizeof g->reason,
		         "needs %.1f GB per chip (weights %.1f, grads %.1f, optimizer %.1f, activations %.1f, "
		         "KV %.1f); %s has %.1f GB",
		         g->mem_total / GB, g->mem_weights / GB, g->mem_grads / GB, g->mem_optim / GB,
		         g->mem_act / GB, g->mem_kv / GB, a->name, cap / GB);
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory building the op graph");
	return -1;
}

void wl_graph_free(wl_graph *g)
{
	free(g->ops);
	free(g->segs);
	memset(g, 0, sizeof *g);
}
