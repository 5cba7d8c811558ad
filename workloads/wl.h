/*
 * wl.h - models, scenarios, and the operator graph one chip executes.
 *
 * workloads/ turns a model description plus a scenario (phase, batch, seq,
 * dtype, parallelism, fusion) into the ops of one chip (one pipeline stage,
 * one TP/EP shard), grouped in segments that repeat (a decoder layer runs
 * n_layers times), with FLOP and byte accounting and the collectives that
 * parallelism implies.  It knows no tile shapes and no timing.
 */
#ifndef CODESIM_WL_H
#define CODESIM_WL_H

#include "../arch/arch.h"

typedef enum { MODEL_DECODER, MODEL_ENCODER } wl_model_kind;
typedef enum { NORM_RMS, NORM_LAYER } wl_norm;
typedef enum { ATTN_GQA, ATTN_MLA } wl_attn_kind;
extern const char *const wl_model_kind_names[];
extern const char *const wl_norm_names[];
extern const char *const wl_attn_names[];

typedef struct {
	char name[64];
	char description[160];
	char source[240];
	int kind;              /* wl_model_kind */
	int n_layers;
	int d_model;
	int n_heads;
	int n_kv_heads;        /* == n_heads: MHA; 1: MQA; else GQA */
	int head_dim;          /* 0: d_model / n_heads */
	int d_ff;              /* dense FFN width */
	int gated_ffn;         /* SwiGLU/GeGLU: 3 matrices; else 2 (GELU) */
	int vocab;
	int tied_embeddings;
	int norm;              /* wl_norm */
	int attention;         /* wl_attn_kind */
	/* MLA (DeepSeek-V2/V3), approximated: compressed KV of kv_lora_rank +
	 * rope_head_dim per token, low-rank Q of q_lora_rank */
	int kv_lora_rank, q_lora_rank, rope_head_dim, v_head_dim;
	/* mixture of experts (n_experts == 0: dense) */
	int n_experts, top_k, n_shared_experts, expert_d_ff, n_dense_layers;
	double capacity_factor;  /* tokens an expert may take vs the even share */
	double skew;             /* busiest expert's load / mean load (>= 1) */
	/* published sizes for checks (billions; 0 = not given) */
	double published_params_B, published_active_B;
	/* details that matter to the parameter count of older architectures */
	int bias;              /* linear layers and LayerNorms carry biases (BERT, GPT-2/3) */
	int learned_pos_embeddings;  /* rows of a learned absolute position table (0: rotary) */
	int dropout;           /* training applies dropout to hidden states (BERT, GPT-3) */
} wl_model;

extern const cfg_key wl_model_keys[];
extern const size_t wl_model_nkeys;

int wl_model_load(wl_model *m, const char *home, const char *name_or_path, char *err, size_t errlen);
int wl_model_override(wl_model *m, const char *assignment, char *err, size_t errlen);
int wl_model_validate(const wl_model *m, char *err, size_t errlen);
int wl_head_dim(const wl_model *m);
/* Parameter counts (embedding included; untied head counted once more). */
double wl_params_total(const wl_model *m);
double wl_params_active(const wl_model *m);     /* per token (MoE: top_k + shared) */

typedef enum { PH_TRAIN, PH_PREFILL, PH_DECODE, PH_SERVE } wl_phase;
typedef enum { FUSE_EAGER, FUSE_COMPILER, FUSE_MEGAKERNEL } wl_fusion;
typedef enum { RECOMP_NONE, RECOMP_SELECTIVE, RECOMP_FULL } wl_recompute;
extern const char *const wl_phase_names[];
extern const char *const wl_fusion_names[];
extern const char *const wl_recompute_names[];
/* KV-cache element format: 16-bit (the model dtype, or 16 bits under 8-bit
 * GEMMs) or 8-bit FP8 (TensorRT-LLM --fp8_kv_cache) */
typedef enum { KV_16BIT, KV_FP8 } wl_kv_cache;
extern const char *const wl_kv_cache_names[];

typedef struct {
	int phase;             /* wl_phase */
	int batch;             /* train: global batch (sequences); else requests */
	int seq;               /* train/prefill/serve input tokens per sequence */
	int context;           /* decode: tokens already in the KV cache */
	int gen;               /* serve: output tokens */
	int dtype;             /* arch_dtype */
	int chips, tp, pp, dp, ep, vpp;   /* 0 = infer */
	int micro_batch;       /* train: sequences per micro-batch */
	int recompute;         /* wl_recompute */
	int zero;              /* 0..3 */
	int fusion;            /* wl_fusion */
	int attn_impl;         /* wl_attn_impl */
	int overlap;           /* the framework overlaps collectives with compute */
	int coll_lists;        /* all-gather / reduce-scatter take one tensor per rank */
	int stream_k;          /* the GEMM library may decompose a GEMM stream-K */
	int split_gate_up;     /* a gated FFN's gate and up projections are GEMMs of their own */
	int kv_cache;          /* wl_kv_cache: element format of the inference KV cache */
	int causal_mask;       /* wl_causal_mask: how eager naive attention applies the causal mask */
	int grad_accum;        /* wl_grad_accum: how micro-batch weight gradients are accumulated */
	int grad_dtype;        /* wl_grad_dtype: the element of the accumulated and reduced gradients */
} wl_scenario;

/* How a training step with several micro-batches accumulates their weight
 * gradients: auto (add under eager fusion, else fused), add (a kernel of its
 * own per weight and micro-batch: PyTorch's AccumulateGrad, Megatron-LM's
 * main_grad hook), fused (the dW GEMM accumulates in place, beta = 1:
 * Megatron-LM --gradient-accumulation-fusion, XLA's output fusion). */
typedef enum { GACC_AUTO, GACC_ADD, GACC_FUSED } wl_grad_accum;
extern const char *const wl_grad_accum_names[];

/* The element the weight gradients are accumulated over micro-batches and
 * reduced over data parallelism in: auto (fp32 when training in bf16 or 8
 * bits, 16-bit in fp16), 16bit, fp32.  Megatron-LM accumulates and
 * all-reduces in fp32 for bf16 (arguments.py: "bfloat16 requires gradient
 * accumulation and all-reduce to be done in fp32"), as DeepSpeed's
 * BF16_Optimizer does (its fp32 gradients are the ones it reduces). */
typedef enum { GDT_AUTO, GDT_16BIT, GDT_FP32 } wl_grad_dtype;
extern const char *const wl_grad_dtype_names[];
/* bytes of one accumulated / reduced gradient element in a training scenario */
double wl_grad_bytes(const wl_scenario *s);

/* How eager framework code applies a causal mask to the score matrix:
 * add a q x kv mask tensor built per call in fp32 and cast (the
 * FlashAttention benchmark, flash_attn's SelfAttention), select with a
 * stored boolean mask (Hugging Face GPT-2: torch.where on a slice of its
 * registered `bias` buffer), or inside a fused scale-mask-softmax kernel
 * (Megatron-LM's FusedScaleMaskSoftmax). */
typedef enum { MASK_ADD, MASK_WHERE, MASK_FUSED } wl_causal_mask;
extern const char *const wl_causal_mask_names[];

/* attention kernels: the chip's native fused kernel (FlashAttention-2 on
 * Ampere, -3 on Hopper), framework ops with the score matrix in memory, or
 * FlashAttention-2's warp-synchronous MMA code on any chip; auto lets the
 * fusion policy decide (naive under eager, flash otherwise); mmha is the
 * fused kernel for prompts and, for generation, the masked multi-head
 * attention of FasterTransformer / TensorRT-LLM before XQA (v0.8): one
 * block per (sequence, query head) on the vector units, each reading its
 * KV head's cache for itself */
typedef enum { ATTN_FLASH, ATTN_NAIVE, ATTN_FLASH2, ATTN_AUTO, ATTN_MMHA } wl_attn_impl;
/* the attention kernel a scenario runs (ATTN_AUTO resolved) */
int wl_attn_impl_of(const wl_scenario *s);

extern const cfg_key wl_run_keys[];
extern const size_t wl_run_nkeys;
void wl_scenario_defaults(wl_scenario *s);
int wl_scenario_override(wl_scenario *s, const char *assignment, char *err, size_t errlen);

/* ---- operator graph ------------------------------------------------- */
typedef enum {
	OP_GEMM,      /* batch x [m x k] @ [k x n]; b_is_weight: B streams from memory */
	OP_ATTN,      /* fused scaled-dot-product attention (flash or naive) */
	OP_NORM,      /* RMSNorm / LayerNorm over rows of width n */
	OP_ELEM,      /* element-wise: activation, residual add, rotary, dropout */
	OP_SOFTMAX,   /* row softmax (naive attention, logits) */
	OP_EMBED,     /* embedding gather */
	OP_OPTIM,     /* optimizer update over parameters */
	OP_ROUTE,     /* MoE router top-k + gather/scatter of tokens */
	OP_COMM,      /* a collective on the links */
	OP_COPY       /* device-to-device copies, `repeat` identical kernels back to back */
} wl_op_kind;
extern const char *const wl_op_kind_names[];

typedef enum { CLS_GEMM, CLS_ATTN, CLS_NORM, CLS_ELEM, CLS_COMM, CLS_OTHER, CLS_COUNT } wl_class;
extern const char *const wl_class_names[];

typedef enum { COLL_ALLREDUCE, COLL_ALLGATHER, COLL_REDUCESCATTER, COLL_ALLTOALL, COLL_P2P } wl_coll;
extern const char *const wl_coll_names[];

typedef struct {
	char name[40];
	int kind;             /* wl_op_kind */
	int cls;              /* wl_class */
	int dtype;            /* arch_dtype of the operands */
	/* GEMM */
	long m, n, k, batch;
	int b_is_weight;      /* B is a weight (read once from memory) */
	double out_eb;        /* GEMM: bytes per output element (0: the operands' dtype; 2 where an
	                       * 8-bit GEMM dequantizes its product to the 16-bit hidden state) */
	int no_stream_k;      /* GEMM: the library has no stream-K decomposition (run.stream_k = 0) */
	int mask_form;        /* attention: wl_causal_mask (eager naive attention) */
	/* attention: per chip shard */
	long q_len, kv_len;
	int heads, kv_heads, head_dim, causal, backward;
	int dropout;          /* attention: dropout on the probabilities (training) */
	int qkv_packed;       /* attention: q, k, v are views of one [batch, seq, 3, heads,
	                       * head_dim] tensor (naive attention copies them per head) */
	double kv_eb;         /* attention: bytes per cached K/V element read (0: the operand dtype) */
	/* element-wise, norm, softmax, embed, optim, route: bytes and work */
	double elems;         /* elements processed */
	double bytes_in, bytes_out;   /* unfused memory traffic */
	double bytes_ext;     /* part of bytes_in that is not a neighbour's output
	                       * (a residual stream, a cache): fusion cannot save it */
	double vflops;        /* vector FLOPs */
	double repeat;        /* copy: identical kernels back to back (0 or 1: one) */
	/* collective */
	int coll;             /* wl_coll */
	double comm_bytes;    /* payload per chip */
	int group;            /* chips in the group */
	int local;            /* members of the group per node (0: packed, as many as fit) */
	int fold;             /* element-wise op: 0 as the fusion policy decides, -1 never folded
	                       * (a kernel of its own), 1 always folded into the kernel before
	                       * it (a GEMM epilogue the library provides: run.grad_accum) */
	int fwd_only;         /* the backward does not mirror it (it emits its own: ZeRO-3
	                       * gathers, a collective's copies) */
	int scaleout;         /* group spans nodes: hierarchical */
	int overlap;          /* may overlap with compute of the same segment */
	/* accounting */
	double flops;         /* FLOPs of one instance (matrix + vector) */
	int recomputed;       /* work repeated for recomputation: HFU only */
} wl_op;

typedef enum { ROLE_STEP, ROLE_FWD, ROLE_BWD, ROLE_SYNC } wl_seg_role;

typedef struct {
	char name[40];
	int role;             /* wl_seg_role: per step, per micro-batch fwd/bwd,
	                       * or a gradient sync overlapping the last backward */
	double count;         /* times the segment runs (fwd/bwd: per micro-batch) */
	int first, n;         /* ops[first .. first+n) */
	int once;             /* once per model (embedding, head), not per stage */
} wl_segment;

typedef struct {
	wl_op *ops;
	int nops, cap_ops;
	wl_segment *segs;
	int nsegs, cap_segs;
	/* parallel layout */
	int chips, tp, pp, dp, ep, vpp;
	int n_micro;          /* micro-batches per step (train) */
	int layers_per_stage;
	/* accounting, whole system, per step */
	double model_flops;   /* MFU numerator */
	double hw_flops;      /* executed FLOPs (recomputation included) */
	double recompute_flops; /* executed FLOPs of recomputation: HFU = model + these */
	double tokens;        /* tokens the step produces (see DESIGN 6) */
	double steps;         /* serve: decode steps */
	/* memory per chip (bytes) */
	double mem_weights, mem_grads, mem_optim, mem_act, mem_kv, mem_total, mem_capacity;
	int feasible;
	char reason[256];
	/* pipeline: bytes sent between stages per micro-batch */
	double p2p_bytes;
	int p2p_split;        /* each of this many tensor-parallel ranks sends its share over its
	                       * own link and the receivers all-gather it (Megatron-LM's
	                       * scatter-gather optimization); 1: every rank sends it all */
	double p2p_net;       /* share of the transfer time paid at the network's cost: 1 when
	                       * the slowest boundary sets the pace (training's lockstep 1F1B)
	                       * and one crosses nodes, else the share of the pp-1 stage
	                       * boundaries that cross (a token passes them all in turn) */
	int p2p_blocking;     /* the stage waits for its sends and receives (no overlap) */
	int attn_impl;        /* wl_attn_impl of the scenario */
	int steady;           /* decode: the pipeline stays full from token to token */
} wl_graph;

/* Build the per-chip graph.  Returns -1 for bad input (err filled);
 * returns 0 with g->feasible = 0 and g->reason for a design point that
 * cannot run (does not fit). */
int wl_build(wl_graph *g, const arch_t *a, const wl_model *m, const wl_scenario *s,
             char *err, size_t errlen);
void wl_graph_free(wl_graph *g);

/* Resolve missing parallel degrees (chips = tp*pp*dp) and check them. */
int wl_parallel_resolve(const arch_t *a, const wl_model *m, wl_scenario *s, char *err, size_t errlen);

#endif
