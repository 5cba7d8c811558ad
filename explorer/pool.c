/*
 * pool.c - run a sweep: a pool of forked workers, one design point per
 * worker process, results into the database by the parent alone.
 *
 * Why one process per point: SystemC elaborates once per process (DESIGN
 * 4), and a point that crashes or hangs takes only its own process down.
 * The parent resolves every point (xp_resolve) before forking, so bad input
 * never reaches a worker, and it never calls the simulator nor lets a
 * worker touch SQLite: a child only computes and writes a fixed-size
 * result to its pipe, then _exit()s (no atexit handlers, no sqlite3 calls
 * on the inherited handle; POSIX record locks are not inherited).
 *
 * Resume: a point's identity is the hash of its resolved config; before
 * forking, the parent asks the database whether it is finished.  Rows are
 * committed in batches of whole points, so a SIGKILL loses at most the
 * batch in flight, which the next run computes again.
 *
 * Interrupts: SIGINT/SIGTERM/SIGHUP are blocked in the parent and polled,
 * so it can kill its workers, commit what is finished and say how to
 * resume.  Workers ask the kernel to kill them when the parent dies
 * (PR_SET_PDEATHSIG), so a SIGKILLed sweep leaves no hanging worker.
 */
#include "sweep.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define BATCH_POINTS 64
#define BATCH_SECONDS 0.2
#define PROGRESS_SECONDS 0.1

typedef struct {
	int ok;
	long rss_kB;
	double cpu_s;
	char err[ARCH_ERR_MAX];
} wire_head;

typedef enum { FAULT_NONE, FAULT_CRASH, FAULT_HANG, FAULT_SLOW } fault_kind;

typedef struct {
	pid_t pid;
	int fd;
	long idx;
	double start;
	size_t got;
	char *buf;                         /* wire_head + res_t */
	char hash[17];
	char *config;
	char vals[XP_AXES_MAX][XP_VAL_MAX];
} slot_t;

typedef struct {
	const xp_sweep *sw;
	const xp_sweep_opts *o;
	res_db *db;
	xp_sweep_stats *st;
	slot_t *slots;
	int nslots, running;
	sigset_t block, old;
	int in_batch, batch_n;
	double batch_start, t0, last_progress;
	const char *keys[XP_AXES_MAX];
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

/* In the child: compute one point, send it, exit.  Never returns. */
static void worker(pool_t *P, const xp_point *pt, int fd, int fault, pid_t parent)
{
	sigprocmask(SIG_SETMASK, &P->old, NULL);
#ifdef __linux__
	prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
	if (getppid() != parent)   /* the parent died before prctl took effect */
		_exit(4);
	if (fault == FAULT_CRASH) {
		struct rlimit no_core = {0, 0};
		setrlimit(RLIMIT_CORE, &no_core);
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
	}
	if (fault == FAULT_HANG)
		for (;;)
			pause();
	if (fault == FAULT_SLOW) {
		struct timespec ts = {0, 30 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	wire_head h;
	memset(&h, 0, sizeof h);
	res_t *r = calloc(1, sizeof *r);
	if (!r) {
		snprintf(h.err, sizeof h.err, "out of memory");
	} else {
		h.ok = xp_evaluate(pt, r, h.err, sizeof h.err) == 0;
	}
	struct rusage ru;
	/* a forked child's usage counts from the fork: this point alone */
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		h.rss_kB = ru.ru_maxrss;
		h.cpu_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
	} else {
		h.rss_kB = -1;
	}
	if (xp_write_all(fd, &h, sizeof h) || (r && xp_write_all(fd, r, sizeof *r)))
		_exit(3);
	_exit(0);
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

/* Resolve point idx and fork its worker, or write its row at once
 * (finished before, invalid).  0, or -1 on an internal error. */
static int start_point(pool_t *P, long idx)
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
		return 0;
	}
	size_t n = xp_point_text(&pt, NULL, 0) + 1;
	char *config = malloc(n);
	if (!config) {
		snprintf(P->err, P->errlen, "out of memory");
		return -1;
	}
	xp_point_text(&pt, config, n);
	res_db_hash_hex(config, strlen(config), hash);
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
		return 0;
	}
	for (int s = 0; s < P->nslots; s++)
		if (P->slots[s].pid > 0 && !strcmp(P->slots[s].hash, hash)) {
			/* the same point is running now (random sampling can repeat) */
			free(config);
			st->skipped++;
			return 0;
		}
	xp_point resolved;
	if (xp_resolve(P->o->home, &spec, &resolved, err, sizeof err)) {
		/* a combination no worker can run (e.g. heads not dividing d_model
		 * that no constraint excluded): an infeasible row with the reason */
		char reason[ARCH_ERR_MAX + 32];
		snprintf(reason, sizeof reason, "invalid design point: %s", err);
		res_infeasible(P->r, &pt.arch, &pt.model, &pt.sc, reason);
		int rc = put_row(P, idx, hash, config, "infeasible", P->r->reason, 0, -1, 0, vals, P->r);
		free(config);
		if (!rc)
			st->infeasible++;
		return rc;
	}
	int slot = -1;
	for (int s = 0; s < P->nslots && slot < 0; s++)
		if (P->slots[s].pid <= 0)
			slot = s;
	slot_t *S = &P->slots[slot];
	int fds[2];
	if (pipe(fds)) {
		free(config);
		snprintf(P->err, P->errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	int fault = fault_for(sw, P->o->fault, vals);
	pid_t parent = getpid();
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		free(config);
		snprintf(P->err, P->errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		worker(P, &resolved, fds[1], fault, parent);
	}
	close(fds[1]);
	S->pid = pid;
	S->fd = fds[0];
	S->idx = idx;
	S->start = xp_now_s();
	S->got = 0;
	S->config = config;
	snprintf(S->hash, sizeof S->hash, "%s", hash);
	memcpy(S->vals, vals, sizeof vals);
	P->running++;
	return 0;
}

static int interrupt_pending(void)
{
	sigset_t pend;
	if (sigpending(&pend))
		return 0;
	return sigismember(&pend, SIGINT) || sigismember(&pend, SIGTERM) || sigismember(&pend, SIGHUP);
}

/* A worker is done (EOF), or must go (timeout, interrupt): reap it and
 * write its row unless the sweep is being interrupted. */
static int finish_slot(pool_t *P, slot_t *S, int timed_out)
{
	int status = 0;
	if (timed_out)
		kill(S->pid, SIGKILL);
	while (waitpid(S->pid, &status, 0) < 0 && errno == EINTR)
		;
	close(S->fd);
	double wall = xp_now_s() - S->start;
	size_t need = sizeof(wire_head) + sizeof(res_t);
	wire_head h;
	memset(&h, 0, sizeof h);
	if (S->got >= sizeof h)
		memcpy(&h, S->buf, sizeof h);
	int rc = 0;
	int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	int stop_sig = sig == SIGINT || sig == SIGTERM || sig == SIGHUP;
	if (timed_out < 0 || (S->got < need && stop_sig && interrupt_pending())) {
		/* interrupted: no row; the next run computes it */
	} else if (timed_out) {
		char reason[96];
		snprintf(reason, sizeof reason, "timed out after %.3g s (--timeout)", P->o->timeout_s);
		rc = put_row(P, S->idx, S->hash, S->config, "timeout", reason, wall, -1, 0, S->vals, NULL);
		P->st->timeout++;
	} else if (S->got < need) {
		char reason[160];
		if (sig)
			snprintf(reason, sizeof reason, "worker crashed (signal %d: %s)", sig, strsignal(sig));
		else
			snprintf(reason, sizeof reason, "worker exited with status %d before sending a result",
			         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		rc = put_row(P, S->idx, S->hash, S->config, "failed", reason, wall, -1, 0, S->vals, NULL);
		P->st->failed++;
	} else if (!h.ok) {
		char reason[ARCH_ERR_MAX + 32];
		snprintf(reason, sizeof reason, "internal error: %s", h.err);
		rc = put_row(P, S->idx, S->hash, S->config, "failed", reason, wall, h.rss_kB, h.cpu_s, S->vals, NULL);
		P->st->failed++;
	} else {
		const res_t *r = (const res_t *)(S->buf + sizeof h);
		int feasible = r->feasible;
		rc = put_row(P, S->idx, S->hash, S->config, feasible ? "ok" : "infeasible", r->reason, wall, h.rss_kB,
		             h.cpu_s, S->vals, r);
		if (feasible)
			P->st->ok++;
		else
			P->st->infeasible++;
		if (h.rss_kB > P->st->max_rss_kB)
			P->st->max_rss_kB = h.rss_kB;
	}
	free(S->config);
	S->config = NULL;
	S->pid = 0;
	S->fd = -1;
	P->running--;
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

static int kill_all(pool_t *P)
{
	for (int s = 0; s < P->nslots; s++)
		if (P->slots[s].pid > 0) {
			kill(P->slots[s].pid, SIGKILL);
			finish_slot(P, &P->slots[s], -1);
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
	err[0] = 0;
	if (o->jobs < 1 || o->shard_n < 1 || o->shard_i < 0 || o->shard_i >= o->shard_n) {
		snprintf(err, errlen, "jobs must be >= 1 and the shard I/N must have 0 <= I < N");
		return -1;
	}
	for (int a = 0; a < sw->naxes; a++)
		P.keys[a] = sw->axes[a].key;
	st->sweep_id = res_db_sweep(db, sw->name, sw->text, err, errlen);
	if (st->sweep_id < 0 || res_db_sweep_axes(db, st->sweep_id, sw->naxes, P.keys, err, errlen))
		return -1;
	st->total = sw->npoints / o->shard_n + (o->shard_i < sw->npoints % o->shard_n ? 1 : 0);
	P.nslots = o->jobs;
	P.slots = calloc((size_t)P.nslots, sizeof *P.slots);
	P.r = calloc(1, sizeof *P.r);
	if (!P.slots || !P.r) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	for (int s = 0; s < P.nslots; s++) {
		P.slots[s].fd = -1;
		if (!(P.slots[s].buf = malloc(sizeof(wire_head) + sizeof(res_t)))) {
			snprintf(err, errlen, "out of memory");
			goto out_free;
		}
	}
	struct pollfd *pfd = calloc((size_t)P.nslots, sizeof *pfd);
	int *pslot = calloc((size_t)P.nslots, sizeof *pslot);
	if (!pfd || !pslot) {
		free(pfd);
		free(pslot);
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	sigemptyset(&P.block);
	sigaddset(&P.block, SIGINT);
	sigaddset(&P.block, SIGTERM);
	sigaddset(&P.block, SIGHUP);
	sigprocmask(SIG_BLOCK, &P.block, &P.old);
	P.t0 = xp_now_s();
	long next = o->shard_i;
	size_t need = sizeof(wire_head) + sizeof(res_t);
	for (;;) {
		if (interrupt_pending()) {
			st->interrupted = 1;
			break;
		}
		/* fill free workers; rows written without a worker count toward the batch */
		double fill_start = xp_now_s();
		while (P.running < P.nslots && next < sw->npoints) {
			if (start_point(&P, next))
				goto out_kill;
			next += o->shard_n;
			/* a long run of finished points must not starve the workers' pipes */
			if (P.running > 0 && xp_now_s() - fill_start > 0.05)
				break;
		}
		if (P.running == 0 && next >= sw->npoints)
			break;
		int np = 0;
		double t = xp_now_s(), wait_s = PROGRESS_SECONDS;
		for (int s = 0; s < P.nslots; s++) {
			slot_t *S = &P.slots[s];
			if (S->pid <= 0)
				continue;
			if (o->timeout_s > 0)
				wait_s = fmin(wait_s, fmax(0, S->start + o->timeout_s - t));
			pfd[np].fd = S->fd;
			pfd[np].events = POLLIN;
			pfd[np].revents = 0;
			pslot[np++] = s;
		}
		if (np > 0 && poll(pfd, (nfds_t)np, (int)ceil(wait_s * 1000)) < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			goto out_kill;
		}
		for (int i = 0; i < np; i++) {
			slot_t *S = &P.slots[pslot[i]];
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(S->fd, S->buf + S->got, need - S->got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n > 0)
				S->got += (size_t)n;
			if ((n == 0 || n < 0 || S->got == need) && finish_slot(&P, S, 0))
				goto out_kill;
		}
		t = xp_now_s();
		for (int s = 0; o->timeout_s > 0 && s < P.nslots; s++) {
			slot_t *S = &P.slots[s];
			if (S->pid > 0 && t - S->start >= o->timeout_s && finish_slot(&P, S, 1))
				goto out_kill;
		}
		if (P.in_batch && (P.batch_n >= BATCH_POINTS || xp_now_s() - P.batch_start >= BATCH_SECONDS) &&
		    batch_commit(&P))
			goto out_kill;
		progress(&P, 0);
	}
	rc = 0;
out_kill:
	kill_all(&P);
	if (batch_commit(&P))
		rc = -1;
	if (st->interrupted) {
		/* consume the signal so that restoring the mask does not kill us */
		int sig;
		while (interrupt_pending())
			sigwait(&P.block, &sig);
	}
	sigprocmask(SIG_SETMASK, &P.old, NULL);
	st->wall_s = xp_now_s() - P.t0;
	progress(&P, 1);
	free(pfd);
	free(pslot);
out_free:
	for (int s = 0; P.slots && s < P.nslots; s++)
		free(P.slots[s].buf);
	free(P.slots);
	free(P.r);
	return rc;
}
