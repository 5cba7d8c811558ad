// engine.cpp - the only C++ in codesim: the tile program on SystemC.
//
// Why this shape: the model logic is a handful of FIFO servers (memory,
// shared SRAM, links, each core's matrix unit) and per-slot state machines.
// SystemC supplies the one event kernel: each resident tile slot is an
// SC_METHOD re-armed with next_trigger() at its next tile step (a chunk's
// DMA issue, a tile's store), a driver SC_THREAD walks the kernel sequence,
// and a comm SC_THREAD moves collective chunks on the links beside compute.
// A request to a FIFO server is resolved when it is issued, and requests
// are issued in simulated-time order, so the queueing is exact for FIFO.
#include <systemc>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <string>
#include <vector>

extern "C" {
#include "sim.h"
int sim_pipeline_time(int pp, int vpp, int n_micro, double t_f, double t_b, double p2p_s,
                      double *total_s, double *bubble_frac);
}

using namespace sc_core;

// SystemC's library references sc_main; codesim never calls it.
extern "C" int sc_main(int, char **) { return 1; }

namespace {

// A bandwidth server with two classes.  Streams (a tile's body, a chunk on
// a link) queue first come, first served.  Short latency-critical requests
// (a tile's first k-step) go ahead of the streams, as a memory controller
// interleaves them rather than holding them behind megabytes of streaming,
// but the bandwidth they take delays the streams by as much.
struct Fifo {
	double free_at = 0, free_hi = 0, bw = 0, lat = 0;
	// Completion time of a stream of `bytes` requested at `now`.
	double request(double now, double bytes)
	{
		if (bytes <= 0 || bw <= 0)
			return now;
		double start = std::max(now, free_at);
		free_at = start + bytes / bw;
		return free_at + lat;
	}
	// Completion time of a short request that goes ahead of the streams.
	double request_first(double now, double bytes)
	{
		if (bytes <= 0 || bw <= 0)
			return now;
		double start = std::max(now, free_hi);
		free_hi = start + bytes / bw;
		free_at = std::max(free_at, now) + bytes / bw;
		return free_hi + lat;
	}
};

struct Engine;

struct Slot : sc_module {
	Engine *e;
	int core, idx;
	enum { IDLE, CHUNK, STORE } state = IDLE;
	const sim_tiles *tc = nullptr;
	int chunk = 0, nchunks = 1;
	double cend_prev = 0, cend = 0;
	sc_event kick;

	SC_HAS_PROCESS(Slot);
	Slot(sc_module_name n, Engine *eng, int c, int i) : sc_module(n), e(eng), core(c), idx(i)
	{
		SC_METHOD(step);
		sensitive << kick;
		dont_initialize();
	}
	void step();
	bool next_tile(double now);
	void do_chunk(double now);
};

struct CommJob {
	const sim_kernel *k;
	int kidx;
	double issued;
};

struct Engine : sc_module {
	const sim_program *p;
	sim_stats *st;
	std::vector<Slot *> slots;
	std::vector<double> core_free;
	Fifo mem, sram, link[2];
	// current compute kernel
	const sim_kernel *cur = nullptr;
	int cur_class = 0;
	int cur_cores = 0, cur_held = 0, cur_bpc = 1;   // cores it runs on, of them held by a collective
	int cur_held_at_launch = 0;
	double cur_left = 0;     // tiles left in cur_class
	int active = 0;
	double store_done = 0;
	double busy_mac = 0, mem_bytes = 0, sram_bytes = 0;
	sc_event kernel_done;
	// comm stream
	std::deque<CommJob> comm_q;
	sc_event comm_kick, comm_idle, comm_job_done;
	int comm_busy = 0;
	bool hold_all = false;   // every compute kernel starts beside a collective (the overlapped gradient sync)
	long events = 0;
	std::string error;

	SC_HAS_PROCESS(Engine);
	Engine(sc_module_name n, const sim_program *prog, sim_stats *stats)
	    : sc_module(n), p(prog), st(stats)
	{
		int max_blocks = 1;
		for (int i = 0; i < p->nkernels; i++)
			max_blocks = std::max(max_blocks, p->kernels[i].blocks_per_core);
		core_free.assign((size_t)p->cores, 0.0);
		// breadth first, as a block scheduler fills every core before doubling up
		for (int b = 0; b < max_blocks; b++)
			for (int c = 0; c < p->cores; c++) {
				char nm[32];
				snprintf(nm, sizeof nm, "slot_%d_%d", c, b);
				slots.push_back(new Slot(nm, this, c, b));
			}
		mem.bw = p->mem_bw_Bps;
		mem.lat = p->mem_latency_s;
		sram.bw = p->sram_bw_Bps;
		sram.lat = p->sram_latency_s;
		// two small loops: a 64 KiB coroutine stack each is plenty
		SC_THREAD(driver);
		set_stack_size(0x10000);
		SC_THREAD(comm);
		set_stack_size(0x10000);
	}

	static double now_s() { return sc_time_stamp().to_seconds(); }
	static sc_time dt(double seconds) { return sc_time(std::max(0.0, seconds), SC_SEC); }

	bool take_tile(const sim_tiles **tc)
	{
		while (cur_class < cur->ntc && cur_left <= 0) {
			cur_class++;
			if (cur_class < cur->ntc)
				cur_left = cur->tc[cur_class].n_tiles;
		}
		if (cur_class >= cur->ntc)
			return false;
		cur_left -= 1;
		*tc = &cur->tc[cur_class];
		return true;
	}

	// The collective is done: the cores it held take tiles of the running
	// kernel, if it has any left.
	void release_held()
	{
		if (!cur || cur_held <= 0 || active <= 0)
			return;
		for (Slot *s : slots)
			if (s->core >= cur_cores - cur_held && s->core < cur_cores && s->idx < cur_bpc) {
				active++;
				s->kick.notify(SC_ZERO_TIME);
			}
		cur_held = 0;
	}

	void slot_finished(double now)
	{
		if (--active == 0)
			kernel_done.notify(dt(std::max(store_done, now) - now));
	}

	void run_compute(int ki, sim_kstat *ks)
	{
		const sim_kernel *k = &p->kernels[ki];
		double t0 = now_s();
		if (k->launch && p->launch_s > 0)
			wait(dt(p->launch_s));
		cur = k;
		cur_class = 0;
		cur_left = k->ntc > 0 ? k->tc[0].n_tiles : 0;
		store_done = 0;
		busy_mac = mem_bytes = sram_bytes = 0;
		int cores = k->cores > 0 ? std::min(k->cores, p->cores) : p->cores;
		int bpc = std::max(1, k->blocks_per_core);
		// An overlapped collective in flight holds comm_cores cores (NCCL runs
		// one thread block per channel, and a GEMM block and a NCCL block do
		// not fit one SM together): the kernel's blocks go to the others, and
		// the held cores join when the collective ends (comm()).  Cores the
		// kernel leaves idle are taken first.
		int held = 0;
		if (p->comm_cores > 0 && (hold_all || comm_busy || !comm_q.empty()))
			held = std::min(cores - 1, std::max(0, p->comm_cores - (p->cores - cores)));
		cur_cores = cores;
		cur_held = held;
		cur_held_at_launch = held > 0;
		cur_bpc = bpc;
		active = 0;
		std::vector<Slot *> go;
		for (Slot *s : slots)
			if (s->core < cores - held && s->idx < bpc)
				go.push_back(s);
		double total = 0;
		for (int c = 0; c < k->ntc; c++)
			total += k->tc[c].n_tiles;
		if (total > 0) {
			active = (int)go.size();
			for (Slot *s : go)
				s->kick.notify(SC_ZERO_TIME);
			wait(kernel_done);
		}
		ks->time_s = now_s() - t0;
		ks->busy_mac_s = busy_mac / cores;
		ks->mem_bytes = mem_bytes;
		ks->sram_bytes = sram_bytes;
		cur = nullptr;
	}

	double run_segment(const sim_segment *sg)
	{
		double t0 = now_s();
		for (int i = sg->first; i < sg->first + sg->n; i++) {
			const sim_kernel *k = &p->kernels[i];
			sim_kstat *ks = &st->k[i];
			if (k->is_comm) {
				comm_q.push_back({k, i, now_s()});
				comm_kick.notify(SC_ZERO_TIME);
				if (!k->overlap)
					while (comm_busy || !comm_q.empty())
						wait(comm_job_done);
				continue;
			}
			double ts = now_s(), last = 0, done = 0;
			// identical consecutive instances: the rest take as long as the
			// last one simulated (the kernel's time is then that of all of
			// them, as for comm); instances that started beside a collective
			// are each simulated, up to 64, as the collective may end in any
			int held = 0;
			do {
				double t1 = now_s();
				run_compute(i, ks);
				held = cur_held_at_launch;
				last = now_s() - t1;
				done += 1;
			} while (held && !hold_all && k->count - done >= 1 && done < 64);
			if (k->count > done) {
				wait(dt((k->count - done) * last));
				ks->time_s = now_s() - ts;
			} else if (done > 1) {
				ks->time_s = now_s() - ts;
			}
		}
		while (comm_busy || !comm_q.empty())
			wait(comm_job_done);
		return now_s() - t0;
	}

	// What an overlapped gradient sync of `sync` seconds adds to a step
	// whose last backward takes `bwd` alone.  It starts with that backward
	// (DDP reduces buckets as their gradients land) and its NCCL blocks hold
	// comm_cores cores while it runs, so the backward runs slower beside it:
	// at the rate r = bwd / held, held being the backward's time on the
	// cores the collective leaves (simulated: memory-bound kernels lose less
	// than compute-bound ones, and waves requantize).  If the sync outlasts
	// the slowed backward the step waits for it (sync - bwd, as before);
	// else the backward is late by what it lost while the sync ran,
	// sync * (1 - r).  The two meet at sync = held.  Without comm_cores the
	// sync is free up to bwd.
	double sync_exposed(double sync, double bwd)
	{
		if (sync <= 0)
			return 0;
		if (p->comm_cores <= 0 || bwd <= 0)
			return std::max(0.0, sync - bwd);
		// On C - H of C cores a kernel of n tiles takes ceil(n/(C-H)) waves
		// for ceil(n/C): at most C/(C-H) + 1 times as many.  A sync at least
		// that much longer than the backward outlasts it however slowed, and
		// the answer is sync - bwd without simulating it again.
		int c = p->cores, h = std::min(p->comm_cores, p->cores - 1);
		if (sync >= bwd * (1.0 + (double)c / (c - h)))
			return sync - bwd;
		std::vector<sim_kstat> keep(st->k, st->k + p->nkernels);
		double held = 0;
		hold_all = true;
		for (int s = 0; s < p->nsegs; s++)
			if (p->segs[s].role == SEG_BWD)
				held += p->segs[s].count * run_segment(&p->segs[s]);
		hold_all = false;
		std::copy(keep.begin(), keep.end(), st->k);
		if (held <= bwd || sync >= held)
			return std::max(0.0, sync - bwd);
		return sync * (1.0 - bwd / held);
	}

	void driver()
	{
		double fwd = 0, bwd = 0, step_only = 0, sync = 0;
		for (int s = 0; s < p->nsegs; s++) {
			const sim_segment *sg = &p->segs[s];
			double t = run_segment(sg);
			st->seg_s[s] = t;
			if (sg->role == SEG_FWD)
				fwd += sg->count * t;
			else if (sg->role == SEG_BWD)
				bwd += sg->count * t;
			else if (sg->role == SEG_SYNC)
				sync += sg->count * t;
			else
				step_only += sg->count * t;
		}
		step_only += sync_exposed(sync, bwd);
		st->fwd_s = fwd;
		st->bwd_s = bwd;
		st->step_only_s = step_only;
		double pipe = 0, bubble = 0;
		int pp = std::max(1, p->pp), m = std::max(1, p->n_micro);
		if (p->steady && bwd <= 0) {
			// each micro-batch's next token enters once its last one left
			// the last stage: a period of max(m, pp) stage times
			pipe = std::max(m * fwd, pp * fwd + (pp - 1) * p->p2p_s);
			bubble = 1.0 - m * fwd / pipe;
		} else if (fwd + bwd > 0) {
			double edge = p->p2p_s;
			if (p->p2p_blocking && pp > 1) {
				// the sender is busy until its transfer lands: each model
				// chunk's forward and backward end with one, and the
				// receiver can start as soon as it does
				fwd += std::max(1, p->vpp) * p->p2p_s;
				bwd += std::max(1, p->vpp) * p->p2p_s;
				edge = 0;
			}
			sim_pipeline_time(p->pp, p->vpp, p->n_micro, fwd, bwd, edge, &pipe, &bubble);
		}
		st->token_latency_s = pp * fwd + (pp - 1) * p->p2p_s;
		st->pipeline_s = pipe;
		st->bubble_frac = bubble;
		st->step_s = pipe + step_only;
		sc_stop();
	}

	void comm()
	{
		for (;;) {
			while (comm_q.empty())
				wait(comm_kick);
			CommJob j = comm_q.front();
			comm_q.pop_front();
			comm_busy = 1;
			double t0 = now_s();
			for (int ph = 0; ph < j.k->nphases; ph++) {
				const sim_phase *f = &j.k->ph[ph];
				Fifo &l = link[f->link ? 1 : 0];
				l.bw = f->bw_Bps;
				for (int s = 0; s < f->steps; s++) {
					double now = now_s();
					double done = l.request(now, f->bytes_per_step) + f->latency_s;
					events++;
					wait(dt(done - now));
				}
			}
			if (j.k->count > 1)
				wait(dt((j.k->count - 1) * (now_s() - t0)));
			sim_kstat *ks = &st->k[j.kidx];
			ks->time_s = now_s() - t0;
			ks->busy_mac_s = 0;
			ks->mem_bytes = ks->sram_bytes = 0;
			comm_busy = 0;
			if (comm_q.empty())
				release_held();
			comm_job_done.notify(SC_ZERO_TIME);
		}
	}
};

// A tile in one event: its first inner-loop step (the prologue) is loaded
// ahead of the streams and computed with its latency exposed; the rest of
// the tile (the body) is requested behind it, as multi-stage TMA/cp.async
// pipelines and DMA double-buffering do, and streams: the body ends when its
// compute is done and its last data has arrived plus one step of compute.
bool Slot::next_tile(double now)
{
	if (!e->take_tile(&tc))
		return false;
	nchunks = std::max(1, tc->ksteps) == 1 ? 1 : 2;
	chunk = 0;
	cend_prev = std::max(now, e->core_free[(size_t)core]);
	cend = cend_prev;
	state = CHUNK;
	return true;
}

void Slot::do_chunk(double now)
{
	int ks = std::max(1, tc->ksteps);
	double first = nchunks == 1 ? 1.0 : 1.0 / ks;
	double &cf = e->core_free[(size_t)core];
	double cyc = (tc->mac_cycles + tc->vec_cycles) / e->p->clock_hz;
	double mb = tc->mem_bytes * first, sb = tc->sram_bytes * first;
	double ready;
	if (nchunks == 1)
		ready = std::max(e->mem.request(now, mb), e->sram.request(now, sb));
	else
		ready = std::max(e->mem.request_first(now, mb), e->sram.request_first(now, sb));
	double cstart = std::max(std::max(ready, cf), cend);
	cend = cstart + cyc * first;
	double busy_end = cend;
	if (nchunks == 2) {
		double rest = 1.0 - first;
		double mb1 = tc->mem_bytes * rest, sb1 = tc->sram_bytes * rest;
		double ready1 = std::max(e->mem.request(now, mb1), e->sram.request(now, sb1));
		double step = cyc * rest / (ks - 1);
		busy_end = cend + cyc * rest;
		cend = std::max(busy_end, ready1 + step);
		mb += mb1;
		sb += sb1;
	}
	cf = busy_end;
	e->mem_bytes += mb;
	e->sram_bytes += sb;
	e->busy_mac += tc->mac_cycles / e->p->clock_hz;
	e->events++;
	state = STORE;
	next_trigger(Engine::dt(cend - now));
}

void Slot::step()
{
	double now = Engine::now_s();
	if (state == IDLE) {
		if (!next_tile(now)) {
			e->slot_finished(now);
			next_trigger(kick);
			return;
		}
	}
	if (state == CHUNK) {
		do_chunk(now);
		return;
	}
	if (state == STORE) {
		double wc = e->p->mem_write_cost > 0 ? e->p->mem_write_cost : 1.0;
		double done = e->mem.request(now, tc->store_bytes * wc);
		e->mem_bytes += tc->store_bytes;
		e->store_done = std::max(e->store_done, done);
		state = IDLE;
		if (!next_tile(now)) {
			e->slot_finished(now);
			next_trigger(kick);
			return;
		}
	}
	do_chunk(now);
}

struct Quiet {
	Quiet()
	{
		sc_report_handler::set_actions(SC_INFO, SC_DO_NOTHING);
		sc_report_handler::set_actions(SC_WARNING, SC_DISPLAY);
		sc_report_handler::set_actions(SC_ID_IEEE_1666_DEPRECATION_, SC_DO_NOTHING);
		sc_report_handler::set_actions(SC_FATAL, SC_THROW);
		sc_report_handler::set_handler(handler);
	}
	static void handler(const sc_report &r, const sc_actions &a)
	{
		if (a & SC_DISPLAY)
			fprintf(stderr, "systemc: %s\n", r.get_msg());
		if (a & SC_THROW)
			throw r;
	}
};

} // namespace

extern "C" int sim_run(const sim_program *p, sim_stats *st, char *err, size_t errlen)
{
	try {
		static bool used = false;
		if (used) {
			snprintf(err, errlen, "sim_run: SystemC elaborates once per process; fork first");
			return -1;
		}
		used = true;
		if (p->cores <= 0 || p->clock_hz <= 0) {
			snprintf(err, errlen, "sim_run: program has no cores or clock");
			return -1;
		}
		Quiet q;
		Engine eng("chip", p, st);
		sc_start();
		st->events = eng.events;
		return 0;
	} catch (const sc_report &r) {
		snprintf(err, errlen, "systemc: %s", r.what());
	} catch (const std::exception &x) {
		snprintf(err, errlen, "sim: %s", x.what());
	} catch (...) {
		snprintf(err, errlen, "sim: unknown exception");
	}
	return -1;
}

extern "C" const char *sim_version(void) { return sc_core::sc_release(); }
