/*
 * forkpool.h - the one pool of forked workers in explorer/: sweep
 * (pool.c), validate (valid_run.c), compare and recommend (compare_pool.c)
 * and a single isolated call (xp_fork_call, point.c) all run on it.
 *
 * Each job runs in its own forked worker (SystemC elaborates once per
 * process, DESIGN 4; a job that crashes or hangs takes only its worker
 * down).  Up to `jobs` workers run at once; the parent polls their pipes
 * (a worker never blocks on a full pipe), kills one that runs past the
 * timeout, and turns a worker that dies without sending its result into a
 * per-job error result with the reason: a job is never lost.
 *
 * The parent asks next() for jobs, so a caller may handle some indices
 * without a worker (a sweep's finished or invalid points) and keep its own
 * per-slot state (slot < jobs: at most one running job per slot).  The
 * child runs work() on its copy of the parent's memory, fills `size` bytes
 * of out (zeroed first) and _exit()s: no atexit handlers, no stdio
 * flushing, nothing that touches the parent's files or database.
 *
 * Signals: SIGINT, SIGTERM and SIGHUP are blocked in the parent while the
 * pool runs and polled (at least every 0.1 s).  On one the pool kills and
 * reaps its workers (done() sees them XP_JOB_CANCELLED), calls finish(),
 * and then either reports the interrupt (stop_on_signal: the signal is
 * consumed) or restores the signal mask, so the signal takes its usual
 * effect (the default: the process dies of it, as without the pool, but
 * with no worker left behind).  Workers restore the caller's mask and ask
 * the kernel to kill them when the parent dies (PR_SET_PDEATHSIG).
 */
#ifndef CODESIM_FORKPOOL_H
#define CODESIM_FORKPOOL_H

#include <stddef.h>

#include "../arch/arch.h"

typedef enum {
	XP_JOB_OK,        /* the worker sent its result: out */
	XP_JOB_FAILED,    /* work() returned non-zero: err is its message */
	XP_JOB_CRASHED,   /* the worker died or exited before sending its result: err says how */
	XP_JOB_TIMEOUT,   /* killed at the timeout: err says after how long */
	XP_JOB_CANCELLED  /* killed by the pool (interrupt, or an error elsewhere): no result */
} xp_job_status;

typedef struct {
	int status;             /* xp_job_status */
	const void *out;        /* XP_JOB_OK: the worker's `size` bytes (valid during done()); else NULL */
	char err[ARCH_ERR_MAX];
	double wall_s;          /* fork to result */
	long rss_kB;            /* OK, FAILED: the worker's peak resident set; else -1 */
	double cpu_s;           /* OK, FAILED: the worker's CPU time, user + system; else 0 */
} xp_job_result;

/* What next() returns. */
enum { XP_NEXT_NONE = 0, XP_NEXT_START = 1, XP_NEXT_SKIP = 2 };

typedef struct {
	int jobs;               /* workers at once (< 1: 1) */
	double timeout_s;       /* per job; <= 0: none */
	size_t size;            /* bytes of a job's result */
	int stop_on_signal;     /* 1: an interrupt stops the pool, see xp_forkpool_run */
	void *ctx;
	/* Parent: the next job for the free slot.  XP_NEXT_START with *job set:
	 * fork a worker for it; XP_NEXT_SKIP: handled without a worker, ask again;
	 * XP_NEXT_NONE: no more jobs; -1: stop with an error (the caller's). */
	int (*next)(void *ctx, int slot, long *job);
	/* Child: run the job into out (size bytes, zeroed).  0, or non-zero with
	 * err (XP_JOB_FAILED). */
	int (*work)(void *ctx, int slot, long job, void *out, char *err, size_t errlen);
	/* Parent: a started job ended (every started job ends here once).  0, or
	 * -1 to stop with an error (the caller's; ignored for XP_JOB_CANCELLED). */
	int (*done)(void *ctx, int slot, long job, const xp_job_result *r);
	/* Parent, optional: once per turn of the loop (0.1 s at most between
	 * turns while jobs run).  0, or -1 to stop with an error. */
	int (*tick)(void *ctx);
	/* Parent, optional: after the last job ended or was cancelled, before
	 * the signal mask is restored.  0, or -1 (the run returns -1). */
	int (*finish)(void *ctx);
} xp_forkpool;

/* Run the pool until next() says XP_NEXT_NONE and every job ended.
 * 0; 0 with *interrupted = 1 (may be NULL) when stop_on_signal and a
 * SIGINT/SIGTERM/SIGHUP stopped it early; -1 on an error: a callback's (err
 * untouched), or the pool's own (pipe, fork, poll, memory: err says), or an
 * interrupt whose signal did not end the process (without stop_on_signal). */
int xp_forkpool_run(const xp_forkpool *p, int *interrupted, char *err, size_t errlen);

#endif
