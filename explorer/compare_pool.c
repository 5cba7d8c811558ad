/*
 * compare_pool.c - evaluate many design points in parallel forked workers
 * (compare and recommend).  One worker per point, since SystemC elaborates
 * once per process; up to `jobs` at a time; the parent polls their pipes, so
 * a worker never blocks on a full pipe, and kills one that runs past the
 * timeout.  The parent never touches SystemC and holds no SQLite handle
 * while workers run.
 */
#include "compare.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
	int ok;
	char err[ARCH_ERR_MAX];
} wire_head;

typedef struct {
	pid_t pid;
	int fd;
	int idx;
	double start;
	size_t got;
	char *buf;
} slot;

static void finish(slot *s, xp_pool_item *it, size_t need, int killed, double timeout_s)
{
	int status = 0;
	close(s->fd);
	while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
		;
	it->wall_s = xp_now_s() - s->start;
	if (killed) {
		it->status = XP_POOL_TIMEOUT;
		snprintf(it->err, sizeof it->err, "timed out after %.1f s", timeout_s);
	} else if (s->got < need) {
		it->status = XP_POOL_FAILED;
		if (WIFSIGNALED(status))
			snprintf(it->err, sizeof it->err, "worker crashed (signal %d: %s)", WTERMSIG(status),
			         strsignal(WTERMSIG(status)));
		else
			snprintf(it->err, sizeof it->err, "worker exited with status %d before sending a result",
			         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	} else {
		wire_head h;
		memcpy(&h, s->buf, sizeof h);
		if (!h.ok) {
			it->status = XP_POOL_FAILED;
			snprintf(it->err, sizeof it->err, "%s", h.err);
		} else {
			memcpy(it->r, s->buf + sizeof h, sizeof *it->r);
			it->status = XP_POOL_OK;
			it->err[0] = 0;
		}
	}
	free(s->buf);
	s->buf = NULL;
	s->pid = 0;
	s->fd = -1;
}

int xp_pool_eval(xp_pool_item *items, int n, int jobs, double timeout_s, xp_pool_progress progress, void *ctx,
                 char *err, size_t errlen)
{
	if (jobs < 1)
		jobs = 1;
	if (jobs > 64)
		jobs = 64;
	const size_t need = sizeof(wire_head) + sizeof(res_t);
	slot slots[64];
	struct pollfd pfd[64];
	int map[64];
	for (int j = 0; j < jobs; j++)
		slots[j].pid = 0, slots[j].fd = -1, slots[j].buf = NULL;
	int next = 0, running = 0, finished = 0;
	while (finished < n) {
		/* start workers into free slots */
		for (int j = 0; j < jobs && next < n; j++) {
			if (slots[j].pid)
				continue;
			xp_pool_item *it = &items[next];
			int fds[2];
			if (pipe(fds)) {
				snprintf(err, errlen, "pipe: %s", strerror(errno));
				goto fail;
			}
			fflush(stdout);
			fflush(stderr);
			pid_t pid = fork();
			if (pid < 0) {
				close(fds[0]), close(fds[1]);
				snprintf(err, errlen, "fork: %s", strerror(errno));
				goto fail;
			}
			if (pid == 0) {
				close(fds[0]);
				for (int k = 0; k < jobs; k++)
					if (slots[k].fd >= 0)
						close(slots[k].fd);
				wire_head h;
				memset(&h, 0, sizeof h);
				res_t *r = calloc(1, sizeof *r);
				if (!r)
					_exit(3);
				h.ok = xp_evaluate(it->pt, r, h.err, sizeof h.err) == 0;
				if (xp_write_all(fds[1], &h, sizeof h) || xp_write_all(fds[1], r, sizeof *r))
					_exit(3);
				_exit(0);
			}
			close(fds[1]);
			slots[j].pid = pid;
			slots[j].fd = fds[0];
			slots[j].idx = next;
			slots[j].start = xp_now_s();
			slots[j].got = 0;
			slots[j].buf = malloc(need);
			if (!slots[j].buf) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			next++;
			running++;
		}
		int np = 0;
		double wait_s = 1.0;
		for (int j = 0; j < jobs; j++) {
			if (!slots[j].pid)
				continue;
			pfd[np].fd = slots[j].fd;
			pfd[np].events = POLLIN;
			pfd[np].revents = 0;
			map[np++] = j;
			if (timeout_s > 0) {
				double left = timeout_s - (xp_now_s() - slots[j].start);
				if (left < wait_s)
					wait_s = left > 0 ? left : 0;
			}
		}
		int pr = poll(pfd, (nfds_t)np, (int)(wait_s * 1000) + 1);
		if (pr < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			goto fail;
		}
		for (int q = 0; q < np; q++) {
			slot *s = &slots[map[q]];
			xp_pool_item *it = &items[s->idx];
			int done = 0, killed = 0;
			if (pfd[q].revents & (POLLIN | POLLHUP | POLLERR)) {
				ssize_t rd = read(s->fd, s->buf + s->got, need - s->got);
				if (rd < 0 && errno == EINTR)
					continue;
				if (rd <= 0)
					done = 1;
				else {
					s->got += (size_t)rd;
					done = s->got == need;
				}
			}
			if (!done && timeout_s > 0 && xp_now_s() - s->start > timeout_s) {
				kill(s->pid, SIGKILL);
				done = killed = 1;
			}
			if (done) {
				finish(s, it, need, killed, timeout_s);
				running--;
				finished++;
				if (progress)
					progress(ctx, finished, n, it);
			}
		}
	}
	return 0;
fail:
	for (int j = 0; j < jobs; j++)
		if (slots[j].pid) {
			kill(slots[j].pid, SIGKILL);
			close(slots[j].fd);
			waitpid(slots[j].pid, NULL, 0);
			free(slots[j].buf);
		}
	return -1;
}
