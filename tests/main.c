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
