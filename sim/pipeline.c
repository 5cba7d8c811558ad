/*
 * pipeline.c - the 1F1B pipeline schedule over pp stages.
 *
 * Every stage runs its fixed 1F1B order (warm-up forwards, alternating
 * one-forward-one-backward, cool-down backwards); a forward waits for the
 * previous stage's forward of the same micro-batch plus the activation
 * transfer, a backward for the next stage's backward plus the gradient
 * transfer.  The schedule is evaluated by relaxing those dependencies in
 * order, so the bubble (p-1)/(m+p-1) comes out of the schedule, not out of
 * a formula.  Interleaving (vpp > 1 model chunks per stage) divides the
 * warm-up and cool-down by vpp (Narayanan et al., SC21, eq. for the
 * interleaved schedule); it is applied as that closed form.
 */
#include <stdlib.h>

int sim_pipeline_time(int pp, int vpp, int n_micro, double t_f, double t_b, double p2p_s,
                      double *total_s, double *bubble_frac);

typedef struct {
	int fwd;   /* 1 forward, 0 backward */
	int mb;
} pipe_op;

int sim_pipeline_time(int pp, int vpp, int n_micro, double t_f, double t_b, double p2p_s,
                      double *total_s, double *bubble_frac)
{
	int p = pp < 1 ? 1 : pp, m = n_micro < 1 ? 1 : n_micro;
	if (vpp > 1 && p > 1) {
		double per = (t_f + t_b);
		double total = (m + (double)(p - 1) / vpp) * per + 2.0 * (p - 1) * p2p_s;
		*total_s = total;
		*bubble_frac = 1.0 - m * per / total;
		return 0;
	}
	int nops = 2 * m;
	pipe_op *order = malloc(sizeof *order * (size_t)p * (size_t)nops);
	double *fdone = malloc(sizeof *fdone * (size_t)p * (size_t)m);
	double *bdone = malloc(sizeof *bdone * (size_t)p * (size_t)m);
	int *next = calloc((size_t)p, sizeof *next);
	double *free_at = calloc((size_t)p, sizeof *free_at);
	if (!order || !fdone || !bdone || !next || !free_at) {
		free(order), free(fdone), free(bdone), free(next), free(free_at);
		return -1;
	}
	for (int s = 0; s < p; s++) {
		pipe_op *o = order + (size_t)s * nops;
		int warm = p - s - 1 < m ? p - s - 1 : m, n = 0, f = 0, b = 0;
		for (int i = 0; i < warm; i++)
			o[n++] = (pipe_op){1, f++};
		while (f < m) {
			o[n++] = (pipe_op){1, f++};
			o[n++] = (pipe_op){0, b++};
		}
		while (b < m)
			o[n++] = (pipe_op){0, b++};
	}
	for (int i = 0; i < p * m; i++)
		fdone[i] = bdone[i] = -1;
	int left = p * nops;
	while (left > 0) {
		int progress = 0;
		for (int s = 0; s < p; s++) {
			while (next[s] < nops) {
				pipe_op op = order[(size_t)s * nops + next[s]];
				double ready;
				if (op.fwd) {
					if (s == 0)
						ready = 0;
					else if (fdone[(s - 1) * m + op.mb] < 0)
						break;
					else
						ready = fdone[(s - 1) * m + op.mb] + p2p_s;
				} else {
					if (s == p - 1)
						ready = fdone[s * m + op.mb];
					else if (bdone[(s + 1) * m + op.mb] < 0)
						break;
					else
						ready = bdone[(s + 1) * m + op.mb] + p2p_s;
				}
				double start = ready > free_at[s] ? ready : free_at[s];
				double end = start + (op.fwd ? t_f : t_b);
				free_at[s] = end;
				if (op.fwd)
					fdone[s * m + op.mb] = end;
				else
					bdone[s * m + op.mb] = end;
				next[s]++;
				left--;
				progress = 1;
			}
		}
		if (!progress)
			break;  /* cannot happen for a valid 1F1B order */
	}
	double total = 0;
	for (int s = 0; s < p; s++)
		if (free_at[s] > total)
			total = free_at[s];
	*total_s = total;
	*bubble_frac = total > 0 ? 1.0 - m * (t_f + t_b) / total : 0;
	free(order), free(fdone), free(bdone), free(next), free(free_at);
	return left == 0 ? 0 : -1;
}
