/*
 * compare_report.c - `codesim report --db FILE [--sweep ID]`: the report of
 * a finished sweep (or compare) from the results database.
 */
#include "compare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../results/res.h"

int xp_report_cli(int argc, char **argv, const char *home);

static const char report_usage[] =
    "usage: codesim report --db FILE [--sweep ID] [--out FILE.md|FILE.html] [--metric M] [--title T]\n"
    "\n"
    "Renders the report of a finished sweep from the results database: every point with its\n"
    "swept parameters and headline metrics, the best point per metric, a plot of the main\n"
    "metric over the swept axes (line plot or heatmap) and the best point's roofline.  A sweep\n"
    "written by codesim compare renders as the comparison report.\n"
    "\n"
    "  --db FILE      results database (codesim sweep / compare --db)\n"
    "  --sweep ID     the sweep (default: the latest); codesim query --db FILE\n"
    "                 'SELECT id, name, created FROM sweeps' lists them\n"
    "  --out FILE     FILE.md (plots as SVG files beside it) or FILE.html (self-contained);\n"
    "                 default: Markdown on stdout, tables only\n"
    "  --metric M     main metric: tokens_per_s (default), mfu, hfu, time_s, ttft_s, tpot_s,\n"
    "                 usd_per_mtok, j_per_token, tokens_per_j, energy_j\n";

int xp_report_cli(int argc, char **argv, const char *home)
{
	(void)home;
	char db_path[1024] = "", out[1024] = "", metric[32] = "tokens_per_s", title[256] = "";
	long long sweep = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(report_usage, stdout);
			return 0;
		}
		if (strcmp(a, "--db") && strcmp(a, "--sweep") && strcmp(a, "--out") && strcmp(a, "--metric") &&
		    strcmp(a, "--title")) {
			fprintf(stderr, "codesim: report: unknown option '%s' (see codesim report --help)\n", a);
			return 1;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "codesim: %s needs a value\n", a);
			return 1;
		}
		const char *v = argv[++i];
		if (!strcmp(a, "--db"))
			snprintf(db_path, sizeof db_path, "%s", v);
		else if (!strcmp(a, "--out"))
			snprintf(out, sizeof out, "%s", v);
		else if (!strcmp(a, "--title"))
			snprintf(title, sizeof title, "%s", v);
		else if (!strcmp(a, "--metric")) {
			if (res_metric(&(res_t){0}, v, NULL, NULL)) {
				fprintf(stderr, "codesim: --metric %s: expected one of", v);
				for (int k = 0; res_metric_names[k]; k++)
					fprintf(stderr, " %s", res_metric_names[k]);
				fprintf(stderr, "\n");
				return 1;
			}
			snprintf(metric, sizeof metric, "%s", v);
		} else {
			char *end;
			sweep = strtoll(v, &end, 10);
			if (end == v || *end || sweep < 0) {
				fprintf(stderr, "codesim: --sweep %s: expected a sweep id (a non-negative integer)\n", v);
				return 1;
			}
		}
	}
	if (!db_path[0]) {
		fprintf(stderr, "codesim: report needs --db FILE (see codesim report --help)\n");
		return 1;
	}
	char err[ARCH_ERR_MAX];
	FILE *probe = fopen(db_path, "rb");
	if (!probe) {
		fprintf(stderr, "codesim: --db %s: no such file\n", db_path);
		return 1;
	}
	fclose(probe);
	res_db *db = NULL;
	if (res_db_open_readonly(db_path, &db, err, sizeof err)) {
		fprintf(stderr, "codesim: --db %s: %s\n", db_path, err);
		return 1;
	}
	res_sweep *s = calloc(1, sizeof *s);
	if (!s) {
		res_db_close(db);
		return 2;
	}
	int rc = res_sweep_load(db, sweep, s, err, sizeof err);
	res_db_close(db);
	if (rc) {
		fprintf(stderr, "codesim: --db %s: %s\n", db_path, err);
		free(s);
		return 1;
	}
	snprintf(s->metric, sizeof s->metric, "%s", metric);
	res_plotter plot;
	res_doc d;
	res_plot_open(&plot);
	if (res_doc_open(&d, out[0] ? out : NULL, &plot, err, sizeof err)) {
		fprintf(stderr, "codesim: %s\n", err);
		res_plot_close(&plot);
		res_sweep_free(s);
		free(s);
		return 1;
	}
	char cmd[1500];
	snprintf(cmd, sizeof cmd, "codesim report --db %.1000s --sweep %lld", db_path, s->id);
	res_report_opts ro = {title[0] ? title : NULL, cmd};
	rc = res_report_sweep(&d, s, &ro, err, sizeof err);
	if (rc)
		fprintf(stderr, "codesim: %s\n", err);
	if (res_doc_close(&d, err, sizeof err)) {
		fprintf(stderr, "codesim: %s\n", err);
		rc = -1;
	}
	res_plot_close(&plot);
	if (!rc && out[0])
		fprintf(stderr, "codesim: wrote %s (sweep %lld, %d points%s)\n", out, s->id, s->nrows,
		        plot.available ? "" : ", tables only: gnuplot not available");
	res_sweep_free(s);
	free(s);
	return rc ? 1 : 0;
}
