/* main.c - runs every Check suite; the last lines are Check's summary. */
#include "tests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *t_home(void)
{
	const char *h = getenv("CODESIM_HOME");
	return h && *h ? h : ".";
}

int t_cli(const char *args, char *out, size_t outlen, char *errout, size_t errlen)
{
	char cmd[4096], errfile[64];
	snprintf(errfile, sizeof errfile, "/tmp/codesim-test-%d.err", (int)getpid());
	snprintf(cmd, sizeof cmd, "cd '%s' && ./codesim %s 2>%s", t_home(), args, errfile);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	size_t n = out ? fread(out, 1, outlen - 1, p) : 0;
	if (out)
		out[n] = 0;
	char sink[4096];
	while (fread(sink, 1, sizeof sink, p) > 0)
		;
	int st = pclose(p);
	FILE *e = fopen(errfile, "r");
	if (e) {
		size_t m = errout ? fread(errout, 1, errlen - 1, e) : 0;
		if (errout)
			errout[m] = 0;
		fclose(e);
	} else if (errout) {
		errout[0] = 0;
	}
	unlink(errfile);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

double t_json_num(const char *json, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	const char *p = strstr(json, pat);
	ck_assert_msg(p != NULL, "no %s in %.200s", key, json);
	return strtod(p + strlen(pat), NULL);
}

typedef struct {
	sim_program chip;
	sim_kernel k[8];
	int n;
	int split;   /* > 0: kernels [0, split) are a backward, the rest a gradient sync */
} some_kernels;

static int some_kernels_fn(const void *arg, void *out, char *err, size_t errlen)
{
	const some_kernels *j = arg;
	sim_program p = j->chip;
	sim_kernel k[8];
	sim_kstat ks[8];
	sim_segment seg[2];
	double seg_s[2];
	sim_stats st;
	memcpy(k, j->k, sizeof k);
	memset(seg, 0, sizeof seg);
	memset(&st, 0, sizeof st);
	seg[0].count = 1, seg[0].n = j->n, seg[0].role = SEG_STEP;
	p.nsegs = 1;
	if (j->split > 0) {
		seg[0].n = j->split, seg[0].role = SEG_BWD;
		seg[1].count = 1, seg[1].first = j->split, seg[1].n = j->n - j->split, seg[1].role = SEG_SYNC;
		p.nsegs = 2;
	}
	p.kernels = k, p.nkernels = j->n, p.segs = seg;
	p.pp = p.vpp = p.n_micro = 1;
	st.k = ks, st.seg_s = seg_s;
	if (sim_run(&p, &st, err, errlen))
		return -1;
	*(double *)out = st.step_s;
	return 0;
}

/* the step time of j's kernels, simulated in a forked worker */
static double sim_some(const some_kernels *j)
{
	char err[512];
	double t = -1;
	ck_assert_msg(xp_fork_call(some_kernels_fn, j, &t, sizeof t, 60, NULL, err, sizeof err) == 0, "%s", err);
	return t;
}

double t_sim_kernels(const sim_program *chip, const sim_kernel *k, int n)
{
	some_kernels j;
	ck_assert(n >= 1 && n <= 8);
	memset(&j, 0, sizeof j);
	j.chip = *chip;
	memcpy(j.k, k, sizeof *k * (size_t)n);
	j.n = n;
	return sim_some(&j);
}

double t_sim_bwd_sync(const sim_program *chip, const sim_kernel *bwd, const sim_kernel *sync)
{
	some_kernels j;
	memset(&j, 0, sizeof j);
	j.chip = *chip;
	j.k[0] = *bwd, j.k[1] = *sync;
	j.n = 2, j.split = 1;
	return sim_some(&j);
}

double t_sim_kernel(const arch_t *a, const sim_kernel *k, int launch)
{
	sim_program chip;
	sim_kernel one = *k;
	memset(&chip, 0, sizeof chip);
	kern_chip(a, &chip);
	one.launch = launch;
	return t_sim_kernels(&chip, &one, 1);
}

int main(void)
{
	Suite *(*suites[])(void) = {
	    suite_config, suite_analytic, suite_model, suite_cli, suite_sweep, suite_compare,
	    suite_validation, suite_chips, suite_kernels, suite_workloads,
	};
	SRunner *sr = srunner_create(NULL);
	for (size_t i = 0; i < sizeof suites / sizeof *suites; i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
