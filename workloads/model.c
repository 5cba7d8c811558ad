/*
 * model.c - model descriptions, scenario keys, parameter counting.
 */
#include "wl.h"

#include <stdio.h>
#include <string.h>

const char *const wl_model_kind_names[] = {"decoder", "encoder", NULL};
const char *const wl_norm_names[] = {"rmsnorm", "layernorm", NULL};
const char *const wl_attn_names[] = {"gqa", "mla", NULL};
const char *const wl_phase_names[] = {"train", "prefill", "decode", "serve", NULL};
const char *const wl_fusion_names[] = {"eager", "compiler", "megakernel", NULL};
const char *const wl_recompute_names[] = {"none", "selective", "full", NULL};
const char *const wl_kv_cache_names[] = {"16bit", "fp8", NULL};
const char *const wl_grad_accum_names[] = {"auto", "add", "fused", NULL};
const char *const wl_grad_dtype_names[] = {"auto", "16bit", "fp32", NULL};
const char *const wl_op_kind_names[] = {"gemm", "attention", "norm", "elementwise", "softmax",
                                        "embedding", "optimizer", "route", "collective", "copy", NULL};
const char *const wl_class_names[] = {"gemm", "attention", "norm", "elementwise", "comm", "other", NULL};
const char *const wl_coll_names[] = {"all-reduce", "all-gather", "reduce-scatter", "all-to-all", "p2p", NULL};

#define MI(path, field, def, lo, hi, doc) \
	{path, CFG_INT, offsetof(wl_model, field), "", def, lo, hi, doc, NULL, 0}
#define MF(path, field, unit, def, lo, hi, doc) \
	{path, CFG_FLOAT, offsetof(wl_model, field), unit, def, lo, hi, doc, NULL, 0}
#define MB(path, field, def, doc) \
	{path, CFG_BOOL, offsetof(wl_model, field), "", def, 0, 1, doc, NULL, 0}
#define ME(path, field, names, def, doc) \
	{path, CFG_ENUM, offsetof(wl_model, field), "", def, 0, 1e9, doc, names, 0}
#define MS(path, field, doc) \
	{path, CFG_STRING, offsetof(wl_model, field), "", 0, 0, 0, doc, NULL, sizeof(((wl_model *)0)->field)}

const cfg_key wl_model_keys[] = {
	MS("name", name, "preset name"),
	MS("description", description, "one line"),
	MS("source", source, "where the dimensions are published"),
	ME("kind", kind, wl_model_kind_names, MODEL_DECODER, "decoder (causal) | encoder (bidirectional)"),
	MI("n_layers", n_layers, 0, 1, 100000, "transformer layers"),
	MI("d_model", d_model, 0, 1, 1 << 20, "hidden size"),
	MI("n_heads", n_heads, 0, 1, 65536, "attention (query) heads"),
	MI("n_kv_heads", n_kv_heads, 0, 0, 65536, "key/value heads (0 = n_heads)"),
	MI("head_dim", head_dim, 0, 0, 65536, "per-head width (0 = d_model / n_heads)"),
	MI("d_ff", d_ff, 0, 1, 1 << 22, "dense FFN width"),
	MB("gated_ffn", gated_ffn, 1, "gated FFN (SwiGLU: 3 matrices) or plain (GELU: 2)"),
	MI("vocab", vocab, 32000, 1, 1 << 24, "vocabulary size"),
	MB("tied_embeddings", tied_embeddings, 0, "output head shares the embedding matrix"),
	ME("norm", norm, wl_norm_names, NORM_RMS, "rmsnorm | layernorm"),
	ME("attention", attention, wl_attn_names, ATTN_GQA, "gqa (MHA/GQA/MQA by n_kv_heads) | mla (approximated)"),
	MI("kv_lora_rank", kv_lora_rank, 0, 0, 1 << 20, "MLA: compressed KV width"),
	MI("q_lora_rank", q_lora_rank, 0, 0, 1 << 20, "MLA: low-rank query width (0 = full)"),
	MI("rope_head_dim", rope_head_dim, 0, 0, 65536, "MLA: decoupled rotary key width"),
	MI("v_head_dim", v_head_dim, 0, 0, 65536, "MLA: value head width (0 = head_dim)"),
	MI("n_experts", n_experts, 0, 0, 65536, "routed experts per MoE layer (0 = dense model)"),
	MI("top_k", top_k, 0, 0, 1024, "experts per token"),
	MI("n_shared_experts", n_shared_experts, 0, 0, 1024, "always-active experts"),
	MI("expert_d_ff", expert_d_ff, 0, 0, 1 << 22, "expert FFN width (0 = d_ff)"),
	MI("n_dense_layers", n_dense_layers, 0, 0, 100000, "leading layers with a dense FFN"),
	MF("capacity_factor", capacity_factor, "", 1.25, 1.0, 16.0, "tokens an expert may take vs its even share"),
	MF("skew", skew, "", 1.0, 1.0, 64.0, "busiest expert's load / mean load"),
	MF("published_params_B", published_params_B, "B", 0, 0, 1e6, "published total parameters"),
	MF("published_active_B", published_active_B, "B", 0, 0, 1e6, "published active parameters"),
	MB("bias", bias, 0, "linear layers and LayerNorms have biases (BERT, GPT-3; not Llama, PaLM)"),
	MI("learned_pos_embeddings", learned_pos_embeddings, 0, 0, 1 << 24,
	   "rows of a learned absolute position table (0 = rotary or none)"),
	MB("dropout", dropout, 0, "training applies dropout to hidden states (BERT, GPT-3; not Llama)"),
};
const size_t wl_model_nkeys = sizeof wl_model_keys / sizeof wl_model_keys[0];

#define RI(path, field, def, lo, hi, doc) \
	{path, CFG_INT, offsetof(wl_scenario, field), "", def, lo, hi, doc, NULL, 0}
#define RE(path, field, names, def, doc) \
	{path, CFG_ENUM, offsetof(wl_scenario, field), "", def, 0, 1e9, doc, names, 0}
static const char *const attn_impl_names[] = {"flash", "naive", "flash2", "auto", "mmha", NULL};
const char *const wl_causal_mask_names[] = {"add", "where", "fused", NULL};

const cfg_key wl_run_keys[] = {
	RE("phase", phase, wl_phase_names, PH_DECODE, "train | prefill | decode | serve"),
	RI("batch", batch, 1, 1, 1 << 24, "train: global batch in sequences; else requests"),
	RI("seq", seq, 2048, 1, 1 << 24, "tokens per sequence (train, prefill, serve input)"),
	RI("context", context, 2048, 0, 1 << 24, "decode: tokens in the KV cache"),
	RI("gen", gen, 128, 1, 1 << 24, "serve: output tokens"),
	RE("dtype", dtype, arch_dtype_names, DT_BF16, "bf16 | fp16 | fp8 | int8"),
	RI("chips", chips, 0, 0, 1 << 24, "chips (0 = tp*pp*dp)"),
	RI("tp", tp, 0, 0, 65536, "tensor-parallel degree (0 = infer)"),
	RI("pp", pp, 0, 0, 65536, "pipeline stages (0 = infer)"),
	RI("dp", dp, 0, 0, 1 << 24, "data-parallel degree (0 = infer)"),
	RI("ep", ep, 0, 0, 65536, "expert-parallel degree (0 = 1)"),
	RI("vpp", vpp, 1, 1, 1024, "virtual stages per pipeline rank (interleaved 1F1B)"),
	RI("micro_batch", micro_batch, 1, 1, 1 << 20, "train: sequences per micro-batch"),
	RE("recompute", recompute, wl_recompute_names, RECOMP_NONE, "none | selective | full"),
	RI("zero", zero, 1, 0, 3, "ZeRO stage of the optimizer sharding"),
	RE("fusion", fusion, wl_fusion_names, FUSE_COMPILER, "eager | compiler | megakernel"),
	RE("attn_impl", attn_impl, attn_impl_names, ATTN_AUTO, "attention kernel: flash (the chip's native fused kernel), flash2 (FlashAttention-2's mma.sync code), naive (scores in memory), auto (naive under eager fusion, else flash), mmha (flash for prompts; generation one block per query head on the vector units, as TensorRT-LLM before XQA)"),
	{"overlap", CFG_BOOL, offsetof(wl_scenario, overlap), "", 1, 0, 1,
	 "the framework overlaps collectives (ZeRO-3 gathers, gradient syncs) with compute", NULL, 0},
	{"coll_lists", CFG_BOOL, offsetof(wl_scenario, coll_lists), "", 0, 0, 1,
	 "all-gathers / reduce-scatters as DeepSpeed <= 0.4 called them: a list of one tensor per rank "
	 "(PyTorch <= 1.9 copies each rank's chunk with its own kernel), each gather into a buffer "
	 "zeroed first",
	 NULL, 0},
	{"stream_k", CFG_BOOL, offsetof(wl_scenario, stream_k), "", 1, 0, 1,
	 "the GEMM library may split a GEMM's k-steps evenly over persistent blocks (stream-K: CUTLASS 2.11+/3.x, "
	 "hipBLASLt); 0 = one block per output tile or split-K only, as the libraries before 2023 (Osama et al., "
	 "PPoPP 2023, measured stream-K against cuBLAS and CUTLASS as they stood)", NULL, 0},
	{"split_gate_up", CFG_BOOL, offsetof(wl_scenario, split_gate_up), "", 0, 0, 1,
	 "a gated FFN's gate and up projections run as two GEMMs (Hugging Face gate_proj / up_proj, "
	 "TensorRT-LLM's GatedMLP without --use_fused_mlp) instead of one of twice the width (default: "
	 "Megatron-LM linear_fc1, vLLM, TensorRT-LLM --use_fused_mlp)", NULL, 0},
	RE("kv_cache", kv_cache, wl_kv_cache_names, KV_16BIT,
	   "inference KV-cache format: 16bit (default: TensorRT-LLM and vLLM keep K/V in 16 bits) | fp8 (one byte per "
	   "cached K/V element, TensorRT-LLM --fp8_kv_cache: halves the cache and the decode attention's K/V reads; "
	   "the attention math stays 16-bit)"),
	RE("causal_mask", causal_mask, wl_causal_mask_names, MASK_ADD,
	   "how eager naive attention applies a causal mask: add (a q x kv mask built per call in fp32 by "
	   "torch.full and torch.triu, cast, and added: the FlashAttention benchmark, flash_attn SelfAttention) | "
	   "where (torch.where with a stored boolean mask: Hugging Face GPT-2) | fused (inside the softmax kernel: "
	   "Megatron-LM's FusedScaleMaskSoftmax)"),
	RE("grad_accum", grad_accum, wl_grad_accum_names, GACC_AUTO,
	   "train with several micro-batches per step: how each micro-batch's weight gradients are added into "
	   "the accumulated ones: add (an element-wise kernel per weight and micro-batch reading the new "
	   "gradient and the 16-bit accumulator and writing it back: PyTorch's AccumulateGrad, Megatron-LM's "
	   "main_grad hook) | fused (the weight-gradient GEMM accumulates in place, beta = 1, reading the "
	   "accumulator in its epilogue: Megatron-LM --gradient-accumulation-fusion, XLA) | auto (default: add "
	   "under --fusion eager, else fused)"),
	RE("grad_dtype", grad_dtype, wl_grad_dtype_names, GDT_AUTO,
	   "train: the element the weight gradients are accumulated and reduced in: fp32 (4 B: Megatron-LM for "
	   "bf16, arguments.py 'bfloat16 requires gradient accumulation and all-reduce to be done in fp32'; "
	   "DeepSpeed's BF16_Optimizer; PyTorch autocast with fp32 parameters) | 16bit (2 B: Megatron-LM and "
	   "DeepSpeed in fp16, --grad-reduce-in-bf16) | auto (default: fp32 when training in bf16, fp8 or int8, "
	   "16bit in fp16)"),
};
const size_t wl_run_nkeys = sizeof wl_run_keys / sizeof wl_run_keys[0];

void wl_scenario_defaults(wl_scenario *s)
{
	arch_cfg_defaults(wl_run_keys, wl_run_nkeys, s);
}

static int split_assign(const char *assignment, char *path, size_t plen, const char **val)
{
	const char *eq = strchr(assignment, '=');
	if (!eq || eq == assignment || (size_t)(eq - assignment) >= plen)
		return -1;
	memcpy(path, assignment, (size_t)(eq - assignment));
	path[eq - assignment] = 0;
	*val = eq + 1;
	return 0;
}

int wl_scenario_override(wl_scenario *s, const char *assignment, char *err, size_t errlen)
{
	char path[128], origin[200];
	const char *val;
	if (split_assign(assignment, path, sizeof path, &val)) {
		snprintf(err, errlen, "-s run.%s: expected run.KEY=VALUE", assignment);
		return -1;
	}
	snprintf(origin, sizeof origin, "-s run.%s", path);
	return arch_cfg_set(wl_run_keys, wl_run_nkeys, s, path, val, origin, err, errlen);
}

int wl_model_override(wl_model *m, const char *assignment, char *err, size_t errlen)
{
	char path[128], origin[200];
	const char *val;
	if (split_assign(assignment, path, sizeof path, &val)) {
		snprintf(err, errlen, "-s model.%s: expected model.KEY=VALUE", assignment);
		return -1;
	}
	snprintf(origin, sizeof origin, "-s model.%s", path);
	return arch_cfg_set(wl_model_keys, wl_model_nkeys, m, path, val, origin, err, errlen);
}

int wl_model_load(wl_model *m, const char *home, const char *name_or_path, char *err, size_t errlen)
{
	return arch_cfg_load_preset(wl_model_keys, wl_model_nkeys, m, home, "workloads/models", name_or_path, m->name,
	                            sizeof m->name, err, errlen);
}

int wl_head_dim(const wl_model *m)
{
	return m->head_dim ? m->head_dim : m->d_model / m->n_heads;
}

int wl_model_validate(const wl_model *m, char *err, size_t errlen)
{
	int kv = m->n_kv_heads ? m->n_kv_heads : m->n_heads;
	if (!m->head_dim && m->d_model % m->n_heads) {
		snprintf(err, errlen, "model %s: n_heads = %d does not divide d_model = %d (set head_dim "
		         "to decouple them)", m->name, m->n_heads, m->d_model);
		return -1;
	}
	if (m->n_heads % kv) {
		snprintf(err, errlen, "model %s: n_kv_heads = %d does not divide n_heads = %d", m->name, kv,
		         m->n_heads);
		return -1;
	}
	if (m->n_experts) {
		if (m->top_k < 1 || m->top_k > m->n_experts) {
			snprintf(err, errlen, "model %s: top_k = %d must be in [1, n_experts = %d]", m->name,
			         m->top_k, m->n_experts);
			return -1;
		}
		if (m->n_dense_layers > m->n_layers) {
			snprintf(err, errlen, "model %s: n_dense_layers = %d exceeds n_layers = %d", m->name,
			         m->n_dense_layers, m->n_layers);
			return -1;
		}
	}
	if (m->attention == ATTN_MLA && m->kv_lora_rank <= 0) {
		snprintf(err, errlen, "model %s: attention = \"mla\" needs kv_lora_rank", m->name);
		return -1;
	}
	return 0;
}

/* ---- parameter counts --------------------------------------------- */

/* A norm over width values: RMSNorm and bias-free LayerNorm (PaLM) have a
 * gain only; a LayerNorm with biases (BERT, GPT) has a shift as well. */
static double norm_params(const wl_model *m, double width)
{
	return (m->norm == NORM_LAYER && m->bias ? 2.0 : 1.0) * width;
}

static double attn_params(const wl_model *m)
{
	double d = m->d_model, hd = wl_head_dim(m);
	double h = m->n_heads, kv = m->n_kv_heads ? m->n_kv_heads : m->n_heads;
	double b = m->bias ? 1.0 : 0.0;   /* one bias per output of each projection */
	if (m->attention == ATTN_MLA) {
		double vd = m->v_head_dim ? m->v_head_dim : hd;
		double r = m->rope_head_dim, ckv = m->kv_lora_rank, cq = m->q_lora_rank;
		double q_out = h * (hd + r);
		/* low-rank query: down-projection, a norm on the latent, up-projection */
		double q = cq > 0 ? d * cq + norm_params(m, cq) + cq * q_out + b * (cq + q_out)
		                  : d * q_out + b * q_out;
		/* one down-projection yields the KV latent and the shared rotary key; the
		 * latent is normed, then up-projected to per-head keys and values */
		double kvp = d * (ckv + r) + norm_params(m, ckv) + ckv * h * (hd + vd) +
		             b * (ckv + r + h * (hd + vd));
		return q + kvp + h * vd * d + b * d;
	}
	return d * h * hd + 2 * d * kv * hd + h * hd * d + b * ((h + 2 * kv) * hd + d);
}

static double ffn_params(const wl_model *m, double dff)
{
	double mats = m->gated_ffn ? 3.0 : 2.0;
	/* biases on the up (and gate) projections' outputs and on the down one's */
	double bias = m->bias ? (mats - 1) * dff + m->d_model : 0.0;
	return mats * m->d_model * dff + bias;
}

static double expert_dff(const wl_model *m)
{
	return m->expert_d_ff ? m->expert_d_ff : m->d_ff;
}

static double params(const wl_model *m, int active)
{
	double L = m->n_layers, d = m->d_model;
	double moe_layers = m->n_experts ? L - m->n_dense_layers : 0;
	double dense_layers = L - moe_layers;
	/* two norms a layer, before (pre-norm) or after (post-norm) attention and FFN */
	double per_layer = attn_params(m) + 2 * norm_params(m, d);
	double total = L * per_layer + dense_layers * ffn_params(m, m->d_ff);
	if (moe_layers > 0) {
		double experts = active ? m->top_k : m->n_experts;
		/* the router scores every expert for every token, so it is active in full */
		total += moe_layers * ((experts + m->n_shared_experts) * ffn_params(m, expert_dff(m)) +
		                       d * m->n_experts);
	}
	/* one norm more: the final norm of a pre-norm stack, or the embedding norm
	 * of a post-norm one (BERT) */
	total += norm_params(m, d);
	total += (double)m->vocab * d * (m->tied_embeddings ? 1 : 2);
	total += (double)m->learned_pos_embeddings * d;
	return total;
}

double wl_params_total(const wl_model *m) { return params(m, 0); }
double wl_params_active(const wl_model *m) { return params(m, 1); }

double wl_grad_bytes(const wl_scenario *s)
{
	if (s->grad_dtype == GDT_FP32)
		return 4.0;
	if (s->grad_dtype == GDT_16BIT)
		return 2.0;
	return s->dtype == DT_FP16 ? 2.0 : 4.0;
}
