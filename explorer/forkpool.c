/*
 * forkpool.c - the pool of forked workers (forkpool.h says what and why).
 */
#include "forkpool.h"

#include "xp.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define TICK_S 0.1         /* the longest the parent sleeps: interrupts, tick() */
#define FILL_SLICE_S 0.05  /* a long run of skipped jobs must not starve the workers' pipes
                              * nor hide an interrupt */

typedef struct {
	int ok;
	long rss_kB;
	double cpu_s;
	char err[ARCH_ERR_MAX];
} wire_head;

typedef struct {
	pid_t pid;                  /* > 0: running */
	int fd;
	long job;
	double start;
	size_t got;
	char *buf;                  /* wire_head + size */
} slot_t;

typedef struct {
	const xp_forkpool *p;
	slot_t *slots;
	int nslots, running;
	size_t need;
	sigset_t block, old;
} pool_t;

static int interrupt_pending(void)
{
	sigset_t pend;
	if (sigpending(&pend))
		return 0;
	return sigismember(&pend, SIGINT) || sigismember(&pend, SIGTERM) || sigismember(&pend, SIGHUP);
}

/* In the child: run the job, send the result, exit.  Never returns. */
static void worker(pool_t *P, int s, int fd, pid_t parent)
{
	sigprocmask(SIG_SETMASK, &P->old, NULL);
#ifdef __linux__
	prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
	if (getppid() != parent)   /* the parent died before prctl took effect */
		_exit(4);
	for (int k = 0; k < P->nslots; k++)
		if (k != s && P->slots[k].pid > 0)
			close(P->slots[k].fd);
	char *buf = P->slots[s].buf;
	wire_head h;
	memset(&h, 0, sizeof h);
	memset(buf + sizeof h, 0, P->p->size);
	h.ok = P->p->work(P->p->ctx, s, P->slots[s].job, buf + sizeof h, h.err, sizeof h.err) == 0;
	struct rusage ru;
	/* a forked child's usage counts from the fork: this job alone */
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		h.rss_kB = ru.ru_maxrss;
		h.cpu_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
	} else {
		h.rss_kB = -1;
	}
	memcpy(buf, &h, sizeof h);
	if (xp_write_all(fd, buf, P->need))
		_exit(3);
	_exit(0);
}

static int start(pool_t *P, int s, long job, char *err, size_t errlen)
{
	slot_t *S = &P->slots[s];
	int fds[2];
	if (pipe(fds)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	S->job = job;
	pid_t parent = getpid();
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		worker(P, s, fds[1], parent);
	}
	close(fds[1]);
	S->pid = pid;
	S->fd = fds[0];
	S->start = xp_now_s();
	S->got = 0;
	P->running++;
	return 0;
}

/* The worker of slot s ended (EOF, or its whole result), or must go
 * (how > 0: timeout; how < 0: cancelled): reap it and report the job. */
static int finish(pool_t *P, int s, int how)
{
	slot_t *S = &P->slots[s];
	int status = 0;
	if (how)
		kill(S->pid, SIGKILL);
	close(S->fd);
	while (waitpid(S->pid, &status, 0) < 0 && errno == EINTR)
		;
	xp_job_result r;
	memset(&r, 0, sizeof r);
	r.wall_s = xp_now_s() - S->start;
	r.rss_kB = -1;
	wire_head h;
	memset(&h, 0, sizeof h);
	if (S->got >= sizeof h)
		memcpy(&h, S->buf, sizeof h);
	int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	int stop_sig = sig == SIGINT || sig == SIGTERM || sig == SIGHUP;
	if (how < 0 || (S->got < P->need && stop_sig && interrupt_pending())) {
		/* killed with the rest of us (Ctrl-C reaches the whole process group) */
		r.status = XP_JOB_CANCELLED;
		snprintf(r.err, sizeof r.err, "cancelled");
	} else if (how > 0) {
		r.status = XP_JOB_TIMEOUT;
		snprintf(r.err, sizeof r.err, "timed out after %.1f s", P->p->timeout_s);
	} else if (S->got < P->need) {
		r.status = XP_JOB_CRASHED;
		if (sig)
			snprintf(r.err, sizeof r.err, "worker crashed (signal %d: %s)", sig, strsignal(sig));
		else
			snprintf(r.err, sizeof r.err, "worker exited with status %d before sending a result",
			         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	} else {
		r.status = h.ok ? XP_JOB_OK : XP_JOB_FAILED;
		r.out = h.ok ? S->buf + sizeof h : NULL;
		r.rss_kB = h.rss_kB;
		r.cpu_s = h.cpu_s;
		if (!h.ok)
			snprintf(r.err, sizeof r.err, "%s", h.err);
	}
	long job = S->job;
	S->pid = 0;
	S->fd = -1;
	P->running--;
	return P->p->done ? P->p->done(P->p->ctx, s, job, &r) : 0;
}

int xp_forkpool_run(const xp_forkpool *p, int *interrupted, char *err, size_t errlen)
{
	pool_t P;
	int rc = -1, intr = 0, more = 1;
	memset(&P, 0, sizeof P);
	if (interrupted)
		*interrupted = 0;
	P.p = p;
	P.nslots = p->jobs < 1 ? 1 : p->jobs;
	P.need = sizeof(wire_head) + p->size;
	P.slots = calloc((size_t)P.nslots, sizeof *P.slots);
	struct pollfd *pfd = calloc((size_t)P.nslots, sizeof *pfd);
	int *pslot = calloc((size_t)P.nslots, sizeof *pslot);
	if (!P.slots || !pfd || !pslot) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	for (int s = 0; s < P.nslots; s++) {
		P.slots[s].fd = -1;
		if (!(P.slots[s].buf = malloc(P.need))) {
			snprintf(err, errlen, "out of memory");
			goto out_free;
		}
	}
	sigemptyset(&P.block);
	sigaddset(&P.block, SIGINT);
	sigaddset(&P.block, SIGTERM);
	sigaddset(&P.block, SIGHUP);
	sigprocmask(SIG_BLOCK, &P.block, &P.old);
	for (;;) {
		if (interrupt_pending()) {
			intr = 1;
			break;
		}
		/* fill free slots */
		double fill_start = xp_now_s();
		int yielded = 0;
		while (more && P.running < P.nslots) {
			int s = 0;
			while (P.slots[s].pid > 0)
				s++;
			long job = -1;
			int k = p->next(p->ctx, s, &job);
			if (k < 0)
				goto out_kill;
			if (k == XP_NEXT_NONE)
				more = 0;
			else if (k == XP_NEXT_START && start(&P, s, job, err, errlen))
				goto out_kill;
			/* a long run of skipped jobs yields too, with or without workers:
			 * the loop's top notices an interrupt within a slice */
			if (more && xp_now_s() - fill_start > FILL_SLICE_S) {
				yielded = P.running < P.nslots;
				break;
			}
		}
		if (P.running == 0 && !more)
			break;
		int np = 0;
		double t = xp_now_s(), wait_s = yielded ? 0 : TICK_S;
		for (int s = 0; s < P.nslots; s++) {
			slot_t *S = &P.slots[s];
			if (S->pid <= 0)
				continue;
			if (p->timeout_s > 0)
				wait_s = fmin(wait_s, fmax(0, S->start + p->timeout_s - t));
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
			ssize_t n = read(S->fd, S->buf + S->got, P.need - S->got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n > 0)
				S->got += (size_t)n;
			if ((n <= 0 || S->got == P.need) && finish(&P, pslot[i], 0))
				goto out_kill;
		}
		t = xp_now_s();
		for (int s = 0; p->timeout_s > 0 && s < P.nslots; s++) {
			slot_t *S = &P.slots[s];
			if (S->pid > 0 && t - S->start >= p->timeout_s && finish(&P, s, 1))
				goto out_kill;
		}
		if (p->tick && p->tick(p->ctx))
			goto out_kill;
	}
	rc = 0;
out_kill:
	for (int s = 0; s < P.nslots; s++)
		if (P.slots[s].pid > 0)
			finish(&P, s, -1);
	if (p->finish && p->finish(p->ctx))
		rc = -1;
	if (intr && p->stop_on_signal) {
		/* consume the signal so that restoring the mask does not kill us */
		int sig;
		while (interrupt_pending())
			sigwait(&P.block, &sig);
		if (interrupted)
			*interrupted = 1;
	}
	sigprocmask(SIG_SETMASK, &P.old, NULL);
	if (intr && !p->stop_on_signal) {
		/* the signal, unblocked, did not end the process (a handler, or blocked by the caller) */
		snprintf(err, errlen, "interrupted");
		rc = -1;
	}
out_free:
	for (int s = 0; P.slots && s < P.nslots; s++)
		free(P.slots[s].buf);
	free(P.slots);
	free(pfd);
	free(pslot);
	return rc;
}
