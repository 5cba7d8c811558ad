/*
 * compare_pool.c - evaluate many design points in parallel forked workers
 * (compare and recommend), on the fork pool (forkpool.h): one worker per
 * point, up to `jobs` at a time, a worker past the timeout killed.  The
 * parent never touches SystemC and holds no SQLite handle while workers
 * run.
 */
#include "compare.h"
#include "forkpool.h"

#include <stdio.h>
#include <string.h>

typedef struct {
	xp_pool_item *items;
	int n, next, finished;
	xp_pool_progress progress;
	void *ctx;
} eval_pool;

static int next_item(void *ctx, int slot, long *job)
{
	eval_pool *E = ctx;
	(void)slot;
	if (E->next >= E->n)
		return XP_NEXT_NONE;
	*job = E->next++;
	return XP_NEXT_START;
}

static int eval_item(void *ctx, int slot, long job, void *out, char *err, size_t errlen)
{
	const eval_pool *E = ctx;
	(void)slot;
	return xp_evaluate(E->items[job].pt, out, err, errlen);
}

static int item_done(void *ctx, int slot, long job, const xp_job_result *r)
{
	eval_pool *E = ctx;
	xp_pool_item *it = &E->items[job];
	(void)slot;
	it->wall_s = r->wall_s;
	if (r->status == XP_JOB_OK) {
		memcpy(it->r, r->out, sizeof *it->r);
		it->status = XP_POOL_OK;
		it->err[0] = 0;
	} else {
		it->status = r->status == XP_JOB_TIMEOUT ? XP_POOL_TIMEOUT : XP_POOL_FAILED;
		snprintf(it->err, sizeof it->err, "%s", r->err);
	}
	if (r->status == XP_JOB_CANCELLED)
		return 0;
	E->finished++;
	if (E->progress)
		E->progress(E->ctx, E->finished, E->n, it);
	return 0;
}

int xp_pool_eval(xp_pool_item *items, int n, int jobs, double timeout_s, xp_pool_progress progress, void *ctx,
                 char *err, size_t errlen)
{
	eval_pool E = {items, n, 0, 0, progress, ctx};
	xp_forkpool p = {.jobs = jobs < 1 ? 1 : jobs > 64 ? 64 : jobs, .timeout_s = timeout_s, .size = sizeof(res_t),
	                 .ctx = &E, .next = next_item, .work = eval_item, .done = item_done};
	return xp_forkpool_run(&p, NULL, err, errlen);
}
