/*
 * arch.c - the chip/system key table, preset loading, overrides, checks.
 */
#include "arch.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *const arch_dtype_names[] = {"bf16", "fp16", "fp8", "int8", NULL};
const char *const arch_family_names[] = {"gpu", "tpu", "lpu", NULL};
const char *const arch_mxu_names[] = {"tensor", "systolic", NULL};
const char *const arch_topology_names[] = {"switch", "torus2d", "torus3d", "mesh", NULL};

double arch_dtype_bytes(arch_dtype dt)
{
	return (dt == DT_FP8 || dt == DT_INT8) ? 1.0 : 2.0;
}

#define F(path, field, unit, def, lo, hi, doc) \
	{path, CFG_FLOAT, offsetof(arch_t, field), unit, def, lo, hi, doc, NULL, 0}
#define I(path, field, unit, def, lo, hi, doc) \
	{path, CFG_INT, offsetof(arch_t, field), unit, def, lo, hi, doc, NULL, 0}
#define B(path, field, def, doc) \
	{path, CFG_BOOL, offsetof(arch_t, field), "", def, 0, 1, doc, NULL, 0}
#define E(path, field, names, def, doc) \
	{path, CFG_ENUM, offsetof(arch_t, field), "", def, 0, 1e9, doc, names, 0}
#define S(path, field, doc) \
	{path, CFG_STRING, offsetof(arch_t, field), "", 0, 0, 0, doc, NULL, sizeof(((arch_t *)0)->field)}

const cfg_key arch_keys[] = {
	S("name", name, "preset name"),
	S("description", description, "one line: what the preset models"),
	E("family", family, arch_family_names, FAM_GPU, "gpu | tpu | lpu: how tiles are scheduled"),
	F("clock_MHz", clock_MHz, "MHz", 0, 1, 10000, "clock at which the matrix peak is quoted"),

	I("core.count", core.count, "", 0, 1, 100000, "compute cores: SMs, CUs, TPU MXUs, LPU MXM planes"),
	F("core.sram_KiB", core.sram_KiB, "KiB", 0, 0, 1048576, "software-managed SRAM per core (SMEM/LDS/VMEM share)"),
	E("core.mxu_kind", core.mxu_kind, arch_mxu_names, MXU_TENSOR, "tensor (MMA granularity) | systolic (weight-stationary array)"),
	F("core.macs_bf16", core.macs_bf16, "MAC/clk", 0, 0, 1e7, "dense bf16 MACs per clock per core (0 = unsupported)"),
	F("core.macs_fp16", core.macs_fp16, "MAC/clk", 0, 0, 1e7, "dense fp16 MACs per clock per core"),
	F("core.macs_fp8", core.macs_fp8, "MAC/clk", 0, 0, 1e7, "dense fp8 MACs per clock per core"),
	F("core.macs_int8", core.macs_int8, "MAC/clk", 0, 0, 1e7, "dense int8 MACs per clock per core"),
	I("core.mma_m", core.mma_m, "", 16, 1, 4096, "MMA instruction M granularity (tensor)"),
	I("core.mma_n", core.mma_n, "", 8, 1, 4096, "MMA instruction N granularity (tensor)"),
	I("core.mma_k", core.mma_k, "", 16, 1, 4096, "MMA instruction K granularity (tensor)"),
	I("core.mxu_rows", core.mxu_rows, "", 128, 1, 4096, "systolic array rows (reduction dim)"),
	I("core.mxu_cols", core.mxu_cols, "", 128, 1, 4096, "systolic array columns (output dim)"),
	F("core.weight_load_Bpc", core.weight_load_Bpc, "B/clk", 0, 0, 1e7, "systolic: bytes/clk to install a fold's weights (0 = one row per clock)"),
	F("core.vector_flops_per_clk", core.vector_flops_per_clk, "FLOP/clk", 0, 1, 1e7, "vector-unit FLOPs per clock per core"),
	F("core.sfu_ops_per_clk", core.sfu_ops_per_clk, "op/clk", 0, 0, 1e6, "special-function (exp) results per clock per core; 0 = at the vector rate"),
	F("core.smem_bytes_per_clk", core.smem_bytes_per_clk, "B/clk", 0, 0, 1e6, "shared-memory bandwidth per core that warp-level MMA operands stream through; 0 = not modelled"),
	F("core.smem_efficiency", core.smem_efficiency, "", 1.0, 0.05, 1.0, "achievable fraction of core.smem_bytes_per_clk for MMA operand traffic (calibrated)"),
	I("core.max_blocks", core.max_blocks, "", 2, 1, 64, "tiles resident per core at once"),
	I("core.max_threads", core.max_threads, "", 0, 0, 65536, "threads resident per core (GPU occupancy limit of row-reduction programs); 0 = not modelled"),
	F("core.matrix_efficiency", core.matrix_efficiency, "", 1.0, 0.05, 1.0, "achievable fraction of MMA peak in steady state (calibrated)"),
	F("core.matrix_efficiency_fp8", core.matrix_efficiency_fp8, "", 0, 0, 1.0, "achievable fraction of the FP8/INT8 MMA peak in steady state (calibrated); 0 = core.matrix_efficiency"),
	I("core.multicast", core.multicast, "", 1, 1, 16, "tiles sharing one shared-SRAM read of an operand (TMA multicast cluster)"),
	F("core.warp_mma_fraction", core.warp_mma_fraction, "", 1.0, 0.05, 1.0, "MMA rate of warp-synchronous mma.sync code (FlashAttention-2) as a fraction of the native rate"),

	F("global_sram.size_MiB", global_sram.size_MiB, "MiB", 0, 0, 1e6, "shared on-chip SRAM: L2, CMEM, or the LPU's global SRAM"),
	F("global_sram.bandwidth_GBps", global_sram.bandwidth_GBps, "GB/s", 0, 0, 1e6, "shared SRAM bandwidth"),
	F("global_sram.latency_ns", global_sram.latency_ns, "ns", 100, 0, 1e5, "shared SRAM access latency"),

	F("memory.capacity_GB", memory.capacity_GB, "GB", 0, 0, 1e5, "off-chip memory (HBM) capacity; 0 = none (LPU)"),
	F("memory.bandwidth_GBps", memory.bandwidth_GBps, "GB/s", 0, 0, 1e6, "peak off-chip bandwidth"),
	F("memory.latency_ns", memory.latency_ns, "ns", 500, 0, 1e5, "off-chip access latency"),
	F("memory.efficiency", memory.efficiency, "", 0.9, 0.05, 1.0, "achievable fraction of peak bandwidth (calibrated)"),
	F("memory.write_efficiency", memory.write_efficiency, "", 0, 0, 1.0, "achievable fraction of peak bandwidth for written bytes, whose traffic turns the bus around (calibrated); 0 = memory.efficiency"),

	F("sched.launch_overhead_us", sched.launch_overhead_us, "us", 0, 0, 1e4, "per-kernel launch/dispatch gap"),
	B("sched.static_schedule", sched.static_schedule, 0, "compiler-timed schedule: no contention, deterministic (LPU)"),

	I("system.chips_per_node", system.chips_per_node, "", 8, 1, 100000, "chips in one scale-up domain"),
	E("system.topology", system.topology, arch_topology_names, TOPO_SWITCH, "switch | torus2d | torus3d | mesh"),
	F("system.scaleup_bandwidth_GBps", system.scaleup_bandwidth_GBps, "GB/s", 0, 0, 1e6, "scale-up bandwidth per chip per direction"),
	F("system.scaleup_latency_us", system.scaleup_latency_us, "us", 1, 0, 1e4, "latency of one collective ring step (hop) on the scale-up link"),
	F("system.scaleup_efficiency", system.scaleup_efficiency, "", 0.8, 0.05, 1.0, "achievable fraction of scale-up bandwidth"),
	F("system.scaleout_bandwidth_GBps", system.scaleout_bandwidth_GBps, "GB/s", 0, 0, 1e6, "scale-out bandwidth per chip per direction"),
	F("system.scaleout_latency_us", system.scaleout_latency_us, "us", 5, 0, 1e4, "latency of one collective ring step (hop) across the scale-out network"),
	F("system.scaleout_efficiency", system.scaleout_efficiency, "", 0.8, 0.05, 1.0, "achievable fraction of scale-out bandwidth"),
	B("system.nccl_protocols", system.nccl_protocols, 0,
	  "ring all-reduce/all-gather/reduce-scatter priced as NCCL does (src/graph/tuning.cc): a base latency per "
	  "collective plus a per-step latency, for the cheapest of its LL, LL128 and Simple protocols"),
	I("system.comm_cores", system.comm_cores, "", 0, 0, 100000,
	  "cores a collective's kernel holds while it runs beside compute (NCCL: one thread block per channel); "
	  "a compute kernel launched during an overlapped collective gets the others until it ends; 0 = collectives "
	  "take no cores (DMA engines)"),

	F("power.tdp_W", power.tdp_W, "W", 0, 0, 1e5, "thermal design power per chip"),
	F("power.idle_W", power.idle_W, "W", 0, 0, 1e5, "power when idle"),
	F("power.pJ_per_flop", power.pJ_per_flop, "pJ", 0, 0, 1e4, "energy per matrix FLOP"),
	F("power.pJ_per_hbm_byte", power.pJ_per_hbm_byte, "pJ", 0, 0, 1e4, "energy per off-chip byte"),
	F("power.pJ_per_sram_byte", power.pJ_per_sram_byte, "pJ", 0, 0, 1e4, "energy per shared-SRAM byte"),
	F("power.pJ_per_link_byte", power.pJ_per_link_byte, "pJ", 0, 0, 1e5, "energy per byte sent on a link"),

	F("cost.usd_per_hour", cost.usd_per_hour, "USD/h", 0, 0, 1e5, "rental price per chip-hour"),
};
const size_t arch_nkeys = sizeof arch_keys / sizeof arch_keys[0];

int arch_load(arch_t *a, const char *home, const char *name_or_path, char *err, size_t errlen)
{
	if (arch_cfg_load_preset(arch_keys, arch_nkeys, a, home, "arch/presets", name_or_path, a->name, sizeof a->name,
	                         err, errlen))
		return -1;
	return arch_validate(a, err, errlen);
}

int arch_override(arch_t *a, const char *assignment, char *err, size_t errlen)
{
	char path[256], origin[300];
	const char *eq = strchr(assignment, '=');
	if (!eq || eq == assignment || (size_t)(eq - assignment) >= sizeof path) {
		snprintf(err, errlen, "-s arch.%s: expected arch.KEY=VALUE", assignment);
		return -1;
	}
	memcpy(path, assignment, (size_t)(eq - assignment));
	path[eq - assignment] = 0;
	snprintf(origin, sizeof origin, "-s arch.%s", path);
	if (arch_cfg_set(arch_keys, arch_nkeys, a, path, eq + 1, origin, err, errlen))
		return -1;
	return 0;
}

int arch_validate(const arch_t *a, char *err, size_t errlen)
{
	if (a->clock_MHz <= 0 || a->core.count <= 0) {
		snprintf(err, errlen, "%s: clock_MHz and core.count must be set", a->name);
		return -1;
	}
	if (a->core.macs_bf16 <= 0 && a->core.macs_fp16 <= 0 && a->core.macs_fp8 <= 0 &&
	    a->core.macs_int8 <= 0) {
		snprintf(err, errlen, "%s: no matrix unit rate set (core.macs_bf16/fp16/fp8/int8)", a->name);
		return -1;
	}
	if (a->memory.capacity_GB > 0 && a->memory.bandwidth_GBps <= 0) {
		snprintf(err, errlen, "%s: memory.capacity_GB is set but memory.bandwidth_GBps is 0", a->name);
		return -1;
	}
	if (a->memory.capacity_GB <= 0 && (a->global_sram.size_MiB <= 0 || a->global_sram.bandwidth_GBps <= 0)) {
		snprintf(err, errlen, "%s: a chip without off-chip memory needs global_sram.size_MiB and "
		         "global_sram.bandwidth_GBps", a->name);
		return -1;
	}
	return 0;
}

double arch_macs_per_clk(const arch_t *a, arch_dtype dt)
{
	switch (dt) {
	case DT_BF16: return a->core.macs_bf16;
	case DT_FP16: return a->core.macs_fp16;
	case DT_FP8: return a->core.macs_fp8;
	case DT_INT8: return a->core.macs_int8;
	default: return 0;
	}
}

double arch_clock_hz(const arch_t *a) { return a->clock_MHz * 1e6; }

double arch_peak_flops(const arch_t *a, arch_dtype dt)
{
	return 2.0 * arch_macs_per_clk(a, dt) * a->core.count * arch_clock_hz(a);
}

double arch_matrix_efficiency(const arch_t *a, arch_dtype dt)
{
	int bits8 = dt == DT_FP8 || dt == DT_INT8;
	if (bits8 && a->core.matrix_efficiency_fp8 > 0)
		return a->core.matrix_efficiency_fp8;
	return a->core.matrix_efficiency;
}

int arch_has_hbm(const arch_t *a) { return a->memory.capacity_GB > 0; }

double arch_smem_Bpc(const arch_t *a)
{
	return a->core.smem_bytes_per_clk > 0 ? a->core.smem_bytes_per_clk * a->core.smem_efficiency : 0;
}

double arch_mem_bw_Bps(const arch_t *a)
{
	return arch_has_hbm(a) ? a->memory.bandwidth_GBps * 1e9 : a->global_sram.bandwidth_GBps * 1e9;
}
