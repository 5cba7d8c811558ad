/*
 * pool.c - run a sweep: design points on the fork pool (forkpool.h), one
 * point per worker process, results into the database by the parent alone.
 *
 * Why one process per point: SystemC elaborates once per process (DESIGN
 * 4), and a point that crashes or hangs takes only its own process down.
 * The parent resolves every point (xp_resolve) before forking, so bad input
 * never reaches a worker, and it never calls the simulator nor lets a
 * worker touch SQLite: a child only computes and writes a fixed-size
 * result to its pipe, then _exit()s (no atexit handlers, no sqlite3 calls
 * on the inherited handle; POSIX record locks are not inherited).
 *
 * Resume: a point's identity is the hash of its resolved config and the
 * model version (xp_point_identity); before forking, the parent asks the
 * database whether it is finished.  Rows are committed in batches of whole
 * points, so a SIGKILL loses at most the batch in flight, which the next
 * run computes again.
 *
 * Interrupts: the pool blocks SIGINT/SIGTERM/SIGHUP and polls them
 * (stop_on_signal), so the sweep can kill its workers, commit what is
 * finished and say how to resume.  Workers die with their parent
 * (PR_SET_PDEATHSIG), so a SIGKILLed sweep leaves no hanging worker.
 */
#include "forkpool.h"
#include "sweep.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define BATCH_POINTS 64
#define BATCH_SECONDS 0.2
#define PROGRESS_SECONDS 0.1

typedef enum { FAULT_NONE, FAULT_CRASH, FAULT_HANG, FAULT_SLOW } fault_kind;

/* What the parent knows of the point a slot's worker runs. */
typedef struct {
	int busy;
	int fault;
	char hash[17];
	char *config;
	char vals[XP_AXES_MAX][XP_VAL_MAX];
	xp_point resolved;                 /* what the worker evaluates */
} slot_t;

typedef struct {
	const xp_sweep *sw;
	const xp_sweep_opts *o;
	res_db *db;
	xp_sweep_stats *st;
	slot_t *slots;
	int nslots;
	long next;                         /* the next index of the sampling order */
	int in_batch, batch_n;
	double batch_start, t0, last_progress;
	const char *keys[XP_AXES_MAX];
	const char *version;
	res_t *r;                          /* scratch for rows the parent writes itself */
	char *err;
	size_t errlen;
} pool_t;

/* The test-only fault for a point: "ACTION:KEY=VALUE;..." (sweep.h). */
static int fault_for(const xp_sweep *sw, const char *spec, char vals[][XP_VAL_MAX])
{
	if (!spec || !*spec)
		return FAULT_NONE;
	char buf[1024];
	snprintf(buf, sizeof buf, "%s", spec);
	char *save = NULL;
	for (char *e = strtok_r(buf, ";", &save); e; e = strtok_r(NULL, ";", &save)) {
		char *colon = strchr(e, ':');
		if (!colon)
			continue;
		*colon = 0;
		const char *what = colon + 1;
		int kind = !strcmp(e, "crash") ? FAULT_CRASH : !strcmp(e, "hang") ? FAULT_HANG
		           : !strcmp(e, "slow") ? FAULT_SLOW : FAULT_NONE;
		if (kind == FAULT_NONE)
			continue;
		if (!strcmp(what, "*"))
			return kind;
		for (int a = 0; a < sw->naxes; a++) {
			size_t kl = strlen(sw->axes[a].key);
			if (!strncmp(what, sw->axes[a].key, kl) && what[kl] == '=' && !strcmp(what + kl + 1, vals[a]))
				return kind;
		}
	}
	return FAULT_NONE;
}

/* In the child: compute one point (with its test fault, if any). */
static int work(void *ctx, int slot, long idx, void *out, char *err, size_t errlen)
{
	const slot_t *S = &((pool_t *)ctx)->slots[slot];
	(void)idx;
	if (S->fault == FAULT_CRASH) {
		struct rlimit no_core = {0, 0};
		setrlimit(RLIMIT_CORE, &no_core);
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
	}
	if (S->fault == FAULT_HANG)
		for (;;)
			pause();
	if (S->fault == FAULT_SLOW) {
		struct timespec ts = {0, 30 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return xp_evaluate(&S->resolved, out, err, errlen);
}

static int batch_write_begin(pool_t *P)
{
	if (P->in_batch)
		return 0;
	if (res_db_begin(P->db)) {
		snprintf(P->err, P->errlen, "cannot start a transaction on the database");
		return -1;
	}
	P->in_batch = 1;
	P->batch_n = 0;
	P->batch_start = xp_now_s();
	return 0;
}

static int batch_commit(pool_t *P)
{
	if (!P->in_batch)
		return 0;
	P->in_batch = 0;
	if (res_db_commit(P->db)) {
		snprintf(P->err, P->errlen, "cannot commit to the database");
		return -1;
	}
	return 0;
}

static int put_row(pool_t *P, long idx, const char *hash, const char *config, const char *status, const char *reason,
                   double wall_s, long rss_kB, double cpu_s, char vals[][XP_VAL_MAX], const res_t *r)
{
	const char *values[XP_AXES_MAX];
	char e[ARCH_ERR_MAX];
	for (int a = 0; a < P->sw->naxes; a++)
		values[a] = vals[a];
	res_db_point p = {P->st->sweep_id, idx, hash, config, status, reason, wall_s, rss_kB, P->sw->naxes, P->keys,
	                  values, cpu_s};
	if (batch_write_begin(P))
		return -1;
	if (res_db_put_point(P->db, &p, r, e, sizeof e)) {
		snprintf(P->err, P->errlen, "writing point %ld: %s", idx, e);
		return -1;
	}
	P->batch_n++;
	return 0;
}

/* Resolve point idx and give it to the free slot for a worker, or write
 * its row at once (finished before, invalid).  XP_NEXT_START,
 * XP_NEXT_SKIP, or -1 on an internal error. */
static int start_point(pool_t *P, long idx, int slot)
{
	const xp_sweep *sw = P->sw;
	xp_sweep_stats *st = P->st;
	char vals[XP_AXES_MAX][XP_VAL_MAX], err[ARCH_ERR_MAX], hash[17];
	xp_spec spec;
	xp_point pt;
	xp_sweep_values(sw, idx, vals);
	xp_sweep_spec(sw, vals, &spec);
	if (xp_sweep_apply(P->o->home, &spec, &pt, err, sizeof err)) {
		/* the spec checked every value: this is a bug, not bad input */
		snprintf(P->err, P->errlen, "point %ld: %s", idx, err);
		return -1;
	}
	if (!xp_sweep_admit(sw, &pt, NULL)) {
		st->excluded++;
		return XP_NEXT_SKIP;
	}
	char *config = xp_point_identity(&pt, P->version, hash);
	if (!config) {
		snprintf(P->err, P->errlen, "out of memory");
		return -1;
	}
	const char *values[XP_AXES_MAX];
	for (int a = 0; a < sw->naxes; a++)
		values[a] = vals[a];
	if (res_db_point_done(P->db, hash)) {
		free(config);
		if (batch_write_begin(P) || res_db_link(P->db, st->sweep_id, idx, hash, sw->naxes, P->keys, values, err,
		                                        sizeof err) < 0) {
			if (!P->err[0])
				snprintf(P->err, P->errlen, "linking point %ld: %s", idx, err);
			return -1;
		}
		st->skipped++;
		return XP_NEXT_SKIP;
	}
	for (int s = 0; s < P->nslots; s++)
		if (P->slots[s].busy && !strcmp(P->slots[s].hash, hash)) {
			/* the same point is running now (random sampling can repeat) */
			free(config);
			st->skipped++;
			return XP_NEXT_SKIP;
		}
	slot_t *S = &P->slots[slot];
	if (xp_resolve(P->o->home, &spec, &S->resolved, err, sizeof err)) {
		/* a combination no worker can run (e.g. heads not dividing d_model
		 * that no constraint excluded): an infeasible row with the reason */
		char reason[ARCH_ERR_MAX + 32];
		snprintf(reason, sizeof reason, "invalid design point: %s", err);
		res_infeasible(P->r, &pt.arch, &pt.model, &pt.sc, reason);
		int rc = put_row(P, idx, hash, config, "infeasible", P->r->reason, 0, -1, 0, vals, P->r);
		free(config);
		if (rc)
			return -1;
		st->infeasible++;
		return XP_NEXT_SKIP;
	}
	S->busy = 1;
	S->fault = fault_for(sw, P->o->fault, vals);
	S->config = config;
	snprintf(S->hash, sizeof S->hash, "%s", hash);
	memcpy(S->vals, vals, sizeof vals);
	return XP_NEXT_START;
}

static int next_point(void *ctx, int slot, long *job)
{
	pool_t *P = ctx;
	if (P->next >= P->sw->npoints)
		return XP_NEXT_NONE;
	*job = P->next;
	P->next += P->o->shard_n;
	return start_point(P, *job, slot);
}

/* A worker ended: write its row, unless it was cancelled (interrupt). */
static int point_done(void *ctx, int slot, long idx, const xp_job_result *jr)
{
	pool_t *P = ctx;
	slot_t *S = &P->slots[slot];
	int rc = 0;
	if (jr->status == XP_JOB_CANCELLED) {
		/* interrupted: no row; the next run computes it */
	} else if (jr->status == XP_JOB_TIMEOUT) {
		char reason[96];
		snprintf(reason, sizeof reason, "timed out after %.3g s (--timeout)", P->o->timeout_s);
		rc = put_row(P, idx, S->hash, S->config, "timeout", reason, jr->wall_s, -1, 0, S->vals, NULL);
		P->st->timeout++;
	} else if (jr->status == XP_JOB_CRASHED) {
		rc = put_row(P, idx, S->hash, S->config, "failed", jr->err, jr->wall_s, -1, 0, S->vals, NULL);
		P->st->failed++;
	} else if (jr->status == XP_JOB_FAILED) {
		char reason[ARCH_ERR_MAX + 32];
		snprintf(reason, sizeof reason, "internal error: %s", jr->err);
		rc = put_row(P, idx, S->hash, S->config, "failed", reason, jr->wall_s, jr->rss_kB, jr->cpu_s, S->vals, NULL);
		P->st->failed++;
	} else {
		const res_t *r = jr->out;
		int feasible = r->feasible;
		rc = put_row(P, idx, S->hash, S->config, feasible ? "ok" : "infeasible", r->reason, jr->wall_s, jr->rss_kB,
		             jr->cpu_s, S->vals, r);
		if (feasible)
			P->st->ok++;
		else
			P->st->infeasible++;
		if (jr->rss_kB > P->st->max_rss_kB)
			P->st->max_rss_kB = jr->rss_kB;
	}
	free(S->config);
	S->config = NULL;
	S->busy = 0;
	return rc;
}

static void progress(pool_t *P, int final)
{
	const xp_sweep_stats *st = P->st;
	double t = xp_now_s();
	if (P->o->progress != 1 || (!final && t - P->last_progress < PROGRESS_SECONDS))
		return;
	P->last_progress = t;
	long run = st->ok + st->infeasible + st->failed + st->timeout;
	long done = run + st->excluded + st->skipped;
	double el = t - P->t0, rate = el > 0 ? run / el : 0;
	double frac = st->total > 0 ? (double)done / st->total : 1;
	char bar[32], eta[32];
	int w = 24, fill = (int)(frac * w + 0.5);
	for (int i = 0; i < w; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[w] = 0;
	if (rate > 0 && done < st->total)
		snprintf(eta, sizeof eta, "ETA %.*f s", (st->total - done) / rate < 10 ? 1 : 0, (st->total - done) / rate);
	else
		snprintf(eta, sizeof eta, "%s", final ? "done" : "");
	fprintf(stderr, "\r\033[K[%s] %3.0f%% %ld/%ld  ok %ld  infeasible %ld  failed %ld  timeout %ld  skipped %ld | "
	                "%.0f pts/s  %s%s",
	        bar, 100 * frac, done, st->total, st->ok, st->infeasible, st->failed, st->timeout,
	        st->skipped + st->excluded, rate, eta, final ? "\n" : "");
	fflush(stderr);
}

/* Each turn of the pool's loop: commit a full or old batch, draw the bar. */
static int tick(void *ctx)
{
	pool_t *P = ctx;
	if (P->in_batch && (P->batch_n >= BATCH_POINTS || xp_now_s() - P->batch_start >= BATCH_SECONDS) &&
	    batch_commit(P))
		return -1;
	progress(P, 0);
	return 0;
}

/* After the last worker, signals still blocked: commit what is finished. */
static int finish(void *ctx)
{
	return batch_commit(ctx);
}

static int other_version_row(void *ctx, int ncols, const char *const *names, const char *const *values)
{
	xp_sweep_stats *st = ctx;
	(void)names;
	if (ncols == 2 && values[0] && values[1]) {
		st->other_versions = atol(values[0]);
		st->other_version_id = atoll(values[1]);
	}
	return 0;
}

int xp_sweep_run(const xp_sweep *sw, const xp_sweep_opts *o, res_db *db, xp_sweep_stats *st, char *err,
                 size_t errlen)
{
	pool_t P;
	int rc = -1;
	memset(&P, 0, sizeof P);
	memset(st, 0, sizeof *st);
	P.sw = sw, P.o = o, P.db = db, P.st = st, P.err = err, P.errlen = errlen;
	P.version = o->model_version ? o->model_version : CODESIM_MODEL_VERSION;
	err[0] = 0;
	if (o->jobs < 1 || o->shard_n < 1 || o->shard_i < 0 || o->shard_i >= o->shard_n) {
		snprintf(err, errlen, "jobs must be >= 1 and the shard I/N must have 0 <= I < N");
		return -1;
	}
	for (int a = 0; a < sw->naxes; a++)
		P.keys[a] = sw->axes[a].key;
	char *text = xp_sweep_identity_text(sw->text, P.version);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->sweep_id = res_db_sweep(db, sw->name, text, err, errlen);
	free(text);
	if (st->sweep_id < 0 || res_db_sweep_axes(db, st->sweep_id, sw->naxes, P.keys, err, errlen))
		return -1;
	/* the same spec stored by another model version (or by a codesim from
	 * before versions, with the bare text): its points are not reused */
	char id[32];
	snprintf(id, sizeof id, "%lld", st->sweep_id);
	const char *params[3] = {sw->name, id, sw->text};
	if (res_db_rows(db, "SELECT count(*), max(id) FROM sweeps WHERE name = ?1 AND id != ?2 AND (spec_text = ?3 OR "
	                "(spec_text LIKE '# codesim model version %' AND "
	                "substr(spec_text, instr(spec_text, char(10)) + 1) = ?3))",
	                3, params, other_version_row, st, err, errlen))
		return -1;
	st->total = sw->npoints / o->shard_n + (o->shard_i < sw->npoints % o->shard_n ? 1 : 0);
	P.nslots = o->jobs;
	P.next = o->shard_i;
	P.slots = calloc((size_t)P.nslots, sizeof *P.slots);
	P.r = calloc(1, sizeof *P.r);
	if (!P.slots || !P.r) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	xp_forkpool fp = {.jobs = o->jobs, .timeout_s = o->timeout_s, .size = sizeof(res_t), .stop_on_signal = 1,
	                  .ctx = &P, .next = next_point, .work = work, .done = point_done, .tick = tick,
	                  .finish = finish};
	P.t0 = xp_now_s();
	rc = xp_forkpool_run(&fp, &st->interrupted, err, errlen);
	st->wall_s = xp_now_s() - P.t0;
	progress(&P, 1);
out:
	free(P.slots);
	free(P.r);
	return rc;
}
