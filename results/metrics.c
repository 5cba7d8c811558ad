/*
 * metrics.c - statistics to metrics (DESIGN 7) and their output.
 *
 * MFU = model FLOPs / (time x chips x dense peak of the dtype); HFU counts
 * the executed FLOPs (recomputation included).  Each kernel is attributed
 * to one bound: compute if its matrix/vector work at the achievable rate
 * explains at least half its time and exceeds its memory time, memory if
 * its bytes at the achievable bandwidth do, comm for collectives, and
 * latency otherwise (launch gaps, exposed DMA latency, fill/drain, too few
 * tiles to fill the chip).
 */
#include "res.h"

#include <math.h>
#include <string.h>

const char *const res_bound_names[] = {"compute", "memory", "latency", "comm", NULL};

void res_infeasible(res_t *r, const arch_t *a, const wl_model *m, const wl_scenario *s, const char *reason)
{
	memset(r, 0, sizeof *r);
	snprintf(r->arch, sizeof r->arch, "%s", a ? a->name : "");
	snprintf(r->model, sizeof r->model, "%s", m ? m->name : "");
	if (s) {
		r->phase = s->phase, r->dtype = s->dtype, r->fusion = s->fusion, r->recompute = s->recompute;
		r->zero = s->zero, r->batch = s->batch, r->seq = s->seq, r->context = s->context, r->gen = s->gen;
		r->micro_batch = s->micro_batch;
		r->chips = s->chips, r->tp = s->tp, r->pp = s->pp, r->dp = s->dp, r->ep = s->ep, r->vpp = s->vpp;
	}
	r->feasible = 0;
	snprintf(r->reason, sizeof r->reason, "%s", reason ? reason : "");
}

static int classify(const sim_program *p, const kern_info *ki, const sim_kernel *sk, const sim_kstat *ks,
                    double t)
{
	if (sk->is_comm)
		return BOUND_COMM;
	double tc = fmax(ki->ideal_compute_s, ks->busy_mac_s / (sk->count > 0 ? sk->count : 1));
	double tm = kern_ideal_mem_s(p, sk, ki);
	if (fmax(tc, tm) < 0.5 * t)
		return BOUND_LATENCY;
	return tc >= tm ? BOUND_COMPUTE : BOUND_MEMORY;
}

void res_compute(res_t *r, const arch_t *a, const wl_model *m, const wl_scenario *s, const wl_graph *g,
                 const kern_program *kp, const sim_stats *st)
{
	res_infeasible(r, a, m, s, g->feasible ? "" : g->reason);
	r->chips = g->chips, r->tp = g->tp, r->pp = g->pp, r->dp = g->dp, r->ep = g->ep, r->vpp = g->vpp;
	r->n_micro = g->n_micro;
	r->params_B = wl_params_total(m) / 1e9;
	r->active_params_B = wl_params_active(m) / 1e9;
	r->mem_weights_GB = g->mem_weights / 1e9;
	r->mem_grads_GB = g->mem_grads / 1e9;
	r->mem_optim_GB = g->mem_optim / 1e9;
	r->mem_act_GB = g->mem_act / 1e9;
	r->mem_kv_GB = g->mem_kv / 1e9;
	r->mem_total_GB = g->mem_total / 1e9;
	r->mem_capacity_GB = g->mem_capacity / 1e9;
	r->peak_flops = arch_peak_flops(a, (arch_dtype)s->dtype);
	r->flops = g->model_flops;
	if (!g->feasible || !st)
		return;
	r->feasible = 1;
	r->reason[0] = 0;
	r->time_s = st->step_s;
	r->bubble_frac = st->bubble_frac;
	r->token_latency_s = s->phase == PH_DECODE ? st->token_latency_s : 0;
	r->events = st->events;
	const sim_program *p = &kp->prog;
	/* one chip's totals, and the system's: pp stages of tp*dp chips; the
	 * simulated stage is the slowest, the others hold their share of the
	 * layers; the embedding and head run on one stage */
	double stage_share = fmin(1.0, (double)m->n_layers / ((double)g->layers_per_stage * g->pp));
	double chip_flops = 0, chip_mem = 0, chip_sram = 0, chip_comm = 0;
	double sys_flops = 0, sys_mem = 0, sys_sram = 0;
	for (int si = 0; si < p->nsegs; si++) {
		const sim_segment *sg = &p->segs[si];
		double reps = sg->count * ((sg->role == SEG_FWD || sg->role == SEG_BWD) ? p->n_micro : 1);
		double chips = sg->once ? (double)g->chips / g->pp : (double)g->chips * stage_share;
		for (int k = sg->first; k < sg->first + sg->n; k++) {
			const sim_kernel *sk = &p->kernels[k];
			const kern_info *ki = &kp->info[k];
			const sim_kstat *ks = &st->k[k];
			double inst = sk->count > 0 ? sk->count : 1;
			double cnt = reps * inst;
			double t = ks->time_s / inst;
			int bound = classify(p, ki, sk, ks, t);
			r->bound_s[bound] += cnt * t;
			int cls = ki->cls >= 0 && ki->cls < CLS_COUNT ? ki->cls : CLS_OTHER;
			r->cls_flops[cls] += cnt * ki->flops;
			r->cls_time_s[cls] += cnt * t;
			chip_flops += cnt * ki->flops;
			chip_mem += cnt * ki->mem_bytes;
			chip_sram += cnt * ki->sram_bytes;
			sys_flops += cnt * ki->flops * chips;
			sys_mem += cnt * ki->mem_bytes * chips;
			sys_sram += cnt * ki->sram_bytes * chips;
			chip_comm += cnt * ki->comm_bytes;
			if (r->nkernels < RES_MAX_KERNELS) {
				res_kernel *rk = &r->kernels[r->nkernels++];
				snprintf(rk->name, sizeof rk->name, "%s", ki->name);
				snprintf(rk->kind, sizeof rk->kind, "%s", wl_class_names[cls]);
				snprintf(rk->segment, sizeof rk->segment, "%s", sg->name);
				snprintf(rk->tiling, sizeof rk->tiling, "%s", ki->tiling);
				rk->count = cnt;
				rk->time_s = t;
				rk->flops = ki->flops;
				rk->bytes = ki->mem_bytes;
				rk->sram_bytes = ki->sram_bytes;
				rk->bound = bound;
				rk->recomputed = ki->recomputed;
			}
		}
	}
	r->hw_flops = sys_flops;
	r->hbm_bytes = sys_mem;
	r->sram_bytes = sys_sram;
	r->comm_bytes = chip_comm;
	r->fusion_saved_bytes = kp->mem_bytes_saved * g->chips * stage_share;
	r->tokens_per_s = r->time_s > 0 ? g->tokens / r->time_s : 0;
	double denom = r->time_s * g->chips * r->peak_flops;
	r->mfu = denom > 0 ? g->model_flops / denom : 0;
	/* HFU: the model's FLOPs plus the recomputation the hardware also ran
	 * (DESIGN 7), so HFU >= MFU by construction; hw_flops is what executed */
	r->hfu = denom > 0 ? (g->model_flops + g->recompute_flops) / denom : 0;
	/* energy: every chip's idle floor, plus the dynamic energy of the work
	 * computed and moved in the whole system */
	r->energy_j = g->chips * (a->power.idle_W * r->time_s + a->power.pJ_per_link_byte * 1e-12 * chip_comm) +
	              1e-12 * (a->power.pJ_per_flop * sys_flops + a->power.pJ_per_hbm_byte * sys_mem +
	                       a->power.pJ_per_sram_byte * sys_sram);
	r->avg_power_w = r->time_s > 0 ? r->energy_j / g->chips / r->time_s : 0;
	r->j_per_token = g->tokens > 0 ? r->energy_j / g->tokens : 0;
	r->tokens_per_j = r->energy_j > 0 ? g->tokens / r->energy_j : 0;
	r->usd_per_mtok = g->tokens > 0 ? a->cost.usd_per_hour * g->chips * r->time_s / 3600.0 / g->tokens * 1e6 : 0;
	if (s->phase == PH_PREFILL)
		r->ttft_s = r->time_s;
	else if (s->phase == PH_DECODE)
		r->tpot_s = r->time_s;
	else if (s->phase == PH_SERVE) {
		/* prefill segments are the fwd ones; decode steps the step ones */
		double pre = st->pipeline_s, dec = st->step_only_s;
		r->ttft_s = pre;
		r->tpot_s = s->gen > 0 ? dec / s->gen : 0;
	}
}

/* ---- output --------------------------------------------------------- */

void res_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void jnum(FILE *f, const char *key, double v, int comma)
{
	if (!isfinite(v))
		v = 0;
	fprintf(f, "\"%s\":%.10g%s", key, v, comma ? "," : "");
}

void res_json(FILE *f, const res_t *r)
{
	fputc('{', f);
	fprintf(f, "\"arch\":");
	res_json_str(f, r->arch);
	fprintf(f, ",\"model\":");
	res_json_str(f, r->model);
	fprintf(f, ",\"phase\":\"%s\",\"dtype\":\"%s\",\"fusion\":\"%s\",", wl_phase_names[r->phase],
	        arch_dtype_names[r->dtype], wl_fusion_names[r->fusion]);
	fprintf(f, "\"chips\":%d,\"tp\":%d,\"pp\":%d,\"dp\":%d,\"ep\":%d,", r->chips, r->tp, r->pp, r->dp, r->ep);
	fprintf(f, "\"batch\":%d,\"seq\":%d,\"context\":%d,\"gen\":%d,", r->batch, r->seq, r->context, r->gen);
	fprintf(f, "\"feasible\":%s,\"reason\":", r->feasible ? "true" : "false");
	res_json_str(f, r->reason);
	fputc(',', f);
	jnum(f, "time_s", r->time_s, 1);
	jnum(f, "tokens_per_s", r->tokens_per_s, 1);
	jnum(f, "mfu", r->mfu, 1);
	jnum(f, "hfu", r->hfu, 1);
	jnum(f, "flops", r->flops, 1);
	jnum(f, "hw_flops", r->hw_flops, 1);
	jnum(f, "hbm_bytes", r->hbm_bytes, 1);
	jnum(f, "energy_j", r->energy_j, 1);
	jnum(f, "j_per_token", r->j_per_token, 1);
	jnum(f, "usd_per_mtok", r->usd_per_mtok, 1);
	jnum(f, "avg_power_w", r->avg_power_w, 1);
	jnum(f, "ttft_s", r->ttft_s, 1);
	jnum(f, "tpot_s", r->tpot_s, 1);
	jnum(f, "token_latency_s", r->token_latency_s, 1);
	jnum(f, "bubble_frac", r->bubble_frac, 1);
	jnum(f, "fusion_saved_bytes", r->fusion_saved_bytes, 1);
	jnum(f, "params_b", r->params_B, 1);
	jnum(f, "active_params_b", r->active_params_B, 1);
	fprintf(f, "\"memory_gb\":{");
	jnum(f, "weights", r->mem_weights_GB, 1);
	jnum(f, "grads", r->mem_grads_GB, 1);
	jnum(f, "optimizer", r->mem_optim_GB, 1);
	jnum(f, "activations", r->mem_act_GB, 1);
	jnum(f, "kv_cache", r->mem_kv_GB, 1);
	jnum(f, "total", r->mem_total_GB, 1);
	jnum(f, "capacity", r->mem_capacity_GB, 0);
	fprintf(f, "},\"time_by_bound_s\":{");
	for (int b = 0; b < BOUND_COUNT; b++)
		jnum(f, res_bound_names[b], r->bound_s[b], b + 1 < BOUND_COUNT);
	fprintf(f, "},\"by_class\":[");
	int first = 1;
	for (int c = 0; c < CLS_COUNT; c++) {
		if (r->cls_flops[c] <= 0 && r->cls_time_s[c] <= 0)
			continue;
		fprintf(f, "%s{\"kind\":\"%s\",", first ? "" : ",", wl_class_names[c]);
		jnum(f, "flops", r->cls_flops[c], 1);
		jnum(f, "time_s", r->cls_time_s[c], 0);
		fputc('}', f);
		first = 0;
	}
	fprintf(f, "],\"kernels\":[");
	for (int i = 0; i < r->nkernels; i++) {
		const res_kernel *k = &r->kernels[i];
		fprintf(f, "%s{\"name\":", i ? "," : "");
		res_json_str(f, k->name);
		fprintf(f, ",\"kind\":\"%s\",\"segment\":", k->kind);
		res_json_str(f, k->segment);
		fputc(',', f);
		jnum(f, "count", k->count, 1);
		jnum(f, "time_s", k->time_s, 1);
		jnum(f, "flops", k->flops, 1);
		jnum(f, "bytes", k->bytes, 1);
		jnum(f, "sram_bytes", k->sram_bytes, 1);
		fprintf(f, "\"bound\":\"%s\",\"tiling\":", res_bound_names[k->bound]);
		res_json_str(f, k->tiling);
		fputc('}', f);
	}
	fprintf(f, "]}\n");
}

const char *res_fmt_time(double s, char *buf, size_t len)
{
	if (s >= 1)
		snprintf(buf, len, "%.3f s", s);
	else if (s >= 1e-3)
		snprintf(buf, len, "%.3f ms", s * 1e3);
	else
		snprintf(buf, len, "%.2f us", s * 1e6);
	return buf;
}

const char *res_fmt_bytes(double b, char *buf, size_t len)
{
	if (b >= 1e12)
		snprintf(buf, len, "%.2f TB", b / 1e12);
	else if (b >= 1e9)
		snprintf(buf, len, "%.2f GB", b / 1e9);
	else if (b >= 1e6)
		snprintf(buf, len, "%.2f MB", b / 1e6);
	else
		snprintf(buf, len, "%.1f KB", b / 1e3);
	return buf;
}

void res_print(FILE *f, const res_t *r, int verbose)
{
	char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32];
	static const char *what[] = {"step time", "TTFT", "step (one token)", "end-to-end"};
	fprintf(f, "%s on %s: %s, %s, %d chip%s (tp %d, pp %d, dp %d%s)\n", r->model, r->arch, wl_phase_names[r->phase],
	        arch_dtype_names[r->dtype], r->chips, r->chips == 1 ? "" : "s", r->tp, r->pp, r->dp,
	        r->ep > 1 ? ", ep" : "");
	if (!r->feasible) {
		fprintf(f, "  infeasible: %s\n", r->reason);
		return;
	}
	fprintf(f, "  %-18s %s\n", what[r->phase], res_fmt_time(r->time_s, b1, sizeof b1));
	if (r->phase == PH_SERVE)
		fprintf(f, "  %-18s %s   TPOT %s\n", "TTFT", res_fmt_time(r->ttft_s, b1, sizeof b1),
		        res_fmt_time(r->tpot_s, b2, sizeof b2));
	fprintf(f, "  %-18s %.1f (system)  %.1f per chip\n", r->phase == PH_TRAIN ? "tokens/s trained" :
	        r->phase == PH_PREFILL ? "prompt tokens/s" : "output tokens/s", r->tokens_per_s,
	        r->tokens_per_s / r->chips);
	fprintf(f, "  %-18s %.1f%%   HFU %.1f%%   (peak %.0f TFLOP/s per chip, %s)\n", "MFU", 100 * r->mfu,
	        100 * r->hfu, r->peak_flops / 1e12, arch_dtype_names[r->dtype]);
	if (r->pp > 1 && r->phase == PH_DECODE)
		fprintf(f, "  %-18s %s through %d stages (%d micro-batches in flight)\n", "token latency",
		        res_fmt_time(r->token_latency_s, b1, sizeof b1), r->pp, r->n_micro);
	if (r->pp > 1)
		fprintf(f, "  %-18s %.1f%%\n", "pipeline bubble", 100 * r->bubble_frac);
	fprintf(f, "  %-18s %s per chip of %s (weights %s, KV %s, activations %s, grads+optim %s)\n", "memory",
	        res_fmt_bytes(r->mem_total_GB * 1e9, b1, sizeof b1), res_fmt_bytes(r->mem_capacity_GB * 1e9, b2, sizeof b2),
	        res_fmt_bytes(r->mem_weights_GB * 1e9, b3, sizeof b3), res_fmt_bytes(r->mem_kv_GB * 1e9, b4, sizeof b4),
	        res_fmt_bytes(r->mem_act_GB * 1e9, b5, sizeof b5),
	        res_fmt_bytes((r->mem_grads_GB + r->mem_optim_GB) * 1e9, b6, sizeof b6));
	fprintf(f, "  %-18s %.3g J/token, %.0f W per chip, $%.3g per M tokens\n", "energy / cost", r->j_per_token,
	        r->avg_power_w, r->usd_per_mtok);
	double tot = 0;
	for (int b = 0; b < BOUND_COUNT; b++)
		tot += r->bound_s[b];
	fprintf(f, "  where the time went (kernel time on one chip):");
	for (int b = 0; b < BOUND_COUNT; b++)
		if (r->bound_s[b] > 0)
			fprintf(f, "  %s %.1f%%", res_bound_names[b], tot > 0 ? 100 * r->bound_s[b] / tot : 0);
	fputc('\n', f);
	double ft = 0;
	for (int c = 0; c < CLS_COUNT; c++)
		ft += r->cls_flops[c];
	fprintf(f, "  %-12s %10s %10s\n", "class", "FLOPs", "time");
	for (int c = 0; c < CLS_COUNT; c++)
		if (r->cls_flops[c] > 0 || r->cls_time_s[c] > 0)
			fprintf(f, "  %-12s %9.2f%% %9.2f%%\n", wl_class_names[c], ft > 0 ? 100 * r->cls_flops[c] / ft : 0,
			        tot > 0 ? 100 * r->cls_time_s[c] / tot : 0);
	/* under eager only library epilogues fuse (run.grad_accum=fused) */
	if (r->fusion_saved_bytes > 0)
		fprintf(f, "  %s (%s) kept %s of intermediates out of memory\n",
		        r->fusion == FUSE_EAGER ? "GEMM epilogues" : "fusion", wl_fusion_names[r->fusion],
		        res_fmt_bytes(r->fusion_saved_bytes, b1, sizeof b1));
	if (verbose) {
		fprintf(f, "\n  %-26s %-12s %8s %11s %9s %10s %-8s %s\n", "kernel", "kind", "count", "time/inst",
		        "TFLOP/s", "GB/s", "bound", "tiling");
		for (int i = 0; i < r->nkernels; i++) {
			const res_kernel *k = &r->kernels[i];
			fprintf(f, "  %-26.26s %-12s %8.0f %11s %9.1f %10.0f %-8s %s\n", k->name, k->kind, k->count,
			        res_fmt_time(k->time_s, b1, sizeof b1), k->time_s > 0 ? k->flops / k->time_s / 1e12 : 0,
			        k->time_s > 0 ? k->bytes / k->time_s / 1e9 : 0, res_bound_names[k->bound], k->tiling);
		}
	}
}
