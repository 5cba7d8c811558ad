/*
 * cmd_sweep.c - codesim sweep, query and merge (README.md, "Sweeps").
 *
 * Exit codes: 0 done; 1 bad input (spec, options, SQL); 2 internal error;
 * 3 the sweep finished but some points failed or timed out (they are rows;
 * run the same command again to retry them); 130 interrupted (resumable).
 */
#include "sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_BAD 1
#define EXIT_INTERNAL 2
#define EXIT_POINTS_FAILED 3
#define EXIT_INTERRUPTED 130

int xp_cmd_sweep(int argc, char **argv, const char *home);
int xp_cmd_query(int argc, char **argv, const char *home);
int xp_cmd_merge(int argc, char **argv, const char *home);

static const char sweep_usage[] =
    "usage: codesim sweep SPEC.cfg [--db FILE] [--jobs N] [--shard I/N] [--timeout S] [--quiet]\n"
    "\n"
    "  SPEC.cfg      a sweep spec (explorer/sweeps/*.cfg; a name there or a path)\n"
    "  --db FILE     results database (default: NAME.db in the current directory,\n"
    "                NAME the spec's name); created and migrated as needed\n"
    "  --jobs N      worker processes at once (default: the number of cores)\n"
    "  --shard I/N   run only the I-th of N disjoint slices (points with index % N == I),\n"
    "                0 <= I < N; merge the shard databases with codesim merge\n"
    "  --timeout S   seconds per design point before it is a timeout row (default 60)\n"
    "  --quiet       no progress bar or summary\n"
    "\n"
    "Re-running the same command resumes: finished points (same config hash) are\n"
    "skipped; failed and timed-out points are tried again.  Ctrl-C stops cleanly.\n"
    "The hash includes the simulator's model version (codesim --version): after a\n"
    "change to the model, the same command recomputes every point into a new sweep\n"
    "of the same name and reuses nothing the older version stored.\n"
    "Exit: 0 done, 1 bad input, 2 internal error, 3 some points failed or timed out,\n"
    "130 interrupted.  Query the results with: codesim query --db FILE\n";

static const char query_usage[] =
    "usage: codesim query --db FILE [SQL | -] [--csv]\n"
    "\n"
    "Runs SQL (read-only) and prints an aligned table, or CSV with --csv; '-' reads the\n"
    "SQL from stdin.  Without SQL: the tables and views with their columns.\n"
    "\n"
    "views: v_results (one row per sweep x point: params, headline metrics), v_ok (status ok),\n"
    "       v_best (best point per metric and sweep), v_pareto (tokens/s vs $/Mtok),\n"
    "       v_pareto_power (tokens/s vs system power), v_sweep_<id> (one column per axis)\n"
    "examples:\n"
    "  codesim query --db demo.db \"SELECT * FROM v_best\"\n"
    "  codesim query --db demo.db \"SELECT * FROM v_sweep_1 ORDER BY tokens_per_s DESC LIMIT 5\"\n"
    "  codesim query --db demo.db --csv \"SELECT * FROM v_results\" > results.csv\n";

static const char merge_usage[] =
    "usage: codesim merge OUT.db IN.db...\n"
    "\n"
    "Adds the sweeps and points of every IN.db to OUT.db (created if missing).  Points\n"
    "are matched by config hash: a point present twice is stored once, and a finished\n"
    "point replaces a failed or timed-out one.\n";

static int parse_int(const char *flag, const char *v, long lo, long hi, long *out)
{
	char *end;
	long x = strtol(v, &end, 10);
	if (end == v || *end || x < lo || x > hi) {
		fprintf(stderr, "codesim: %s %s: expected an integer in [%ld, %ld]\n", flag, v, lo, hi);
		return -1;
	}
	*out = x;
	return 0;
}

/* A spec given as a name is looked up in explorer/sweeps/. */
static void spec_path(const char *home, const char *arg, char *out, size_t len)
{
	if (strchr(arg, '/') || strstr(arg, ".cfg") || access(arg, R_OK) == 0)
		snprintf(out, len, "%s", arg);
	else
		snprintf(out, len, "%s/explorer/sweeps/%s.cfg", home, arg);
}

int xp_cmd_sweep(int argc, char **argv, const char *home)
{
	if (xp_want_help(argc, argv)) {
		fputs(sweep_usage, stdout);
		return 0;
	}
	const char *spec_arg = NULL, *db_arg = NULL;
	long jobs = sysconf(_SC_NPROCESSORS_ONLN), si = 0, sn = 1;
	double timeout = 60;
	int quiet = 0;
	if (jobs < 1)
		jobs = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int has_val = i + 1 < argc;
		if (!strcmp(a, "--db") || !strcmp(a, "--jobs") || !strcmp(a, "--shard") || !strcmp(a, "--timeout")) {
			if (!has_val) {
				fprintf(stderr, "codesim: %s needs a value\n", a);
				return EXIT_BAD;
			}
			const char *v = argv[++i];
			if (!strcmp(a, "--db")) {
				db_arg = v;
			} else if (!strcmp(a, "--jobs")) {
				if (parse_int(a, v, 1, 1024, &jobs))
					return EXIT_BAD;
			} else if (!strcmp(a, "--shard")) {
				char *slash = strchr(v, '/'), left[32];
				if (!slash || (size_t)(slash - v) >= sizeof left) {
					fprintf(stderr, "codesim: --shard %s: expected I/N with 0 <= I < N\n", v);
					return EXIT_BAD;
				}
				memcpy(left, v, (size_t)(slash - v));
				left[slash - v] = 0;
				if (parse_int("--shard N", slash + 1, 1, 1000000, &sn) || parse_int("--shard I", left, 0, sn - 1, &si))
					return EXIT_BAD;
			} else {
				char *end;
				timeout = strtod(v, &end);
				if (end == v || *end || !(timeout > 0) || timeout > 1e6) {
					fprintf(stderr, "codesim: --timeout %s: expected seconds in (0, 1e6]\n", v);
					return EXIT_BAD;
				}
			}
			continue;
		}
		if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			quiet = 1;
			continue;
		}
		if (a[0] == '-' && a[1]) {
			fprintf(stderr, "codesim: sweep: unknown option '%s' (see codesim sweep --help)\n", a);
			return EXIT_BAD;
		}
		if (spec_arg) {
			fprintf(stderr, "codesim: sweep takes one spec file ('%s' and '%s')\n", spec_arg, a);
			return EXIT_BAD;
		}
		spec_arg = a;
	}
	if (!spec_arg) {
		fputs(sweep_usage, stderr);
		return EXIT_BAD;
	}
	char path[1024], err[ARCH_ERR_MAX], dbpath[1024];
	spec_path(home, spec_arg, path, sizeof path);
	xp_sweep *sw = calloc(1, sizeof *sw);
	if (!sw) {
		fprintf(stderr, "codesim: out of memory\n");
		return EXIT_INTERNAL;
	}
	/* the whole spec is checked before the database is even opened */
	if (xp_sweep_load(sw, home, path, err, sizeof err)) {
		fprintf(stderr, "codesim: %s\n", err);
		free(sw);
		return EXIT_BAD;
	}
	snprintf(dbpath, sizeof dbpath, "%s", db_arg ? db_arg : "");
	if (!db_arg)
		snprintf(dbpath, sizeof dbpath, "%s.db", sw->name);
	res_db *db;
	if (res_db_open(dbpath, &db, err, sizeof err)) {
		fprintf(stderr, "codesim: %s\n", err);
		xp_sweep_free(sw);
		free(sw);
		return EXIT_BAD;
	}
	xp_sweep_opts o = {home, (int)jobs, (int)si, (int)sn, timeout, quiet ? -1 : isatty(2) ? 1 : 0,
	                   getenv("CODESIM_TEST_FAULT"), NULL};
	xp_sweep_stats st;
	int rc = xp_sweep_run(sw, &o, db, &st, err, sizeof err);
	res_db_close(db);
	if (rc) {
		fprintf(stderr, "codesim: sweep %s: internal error: %s\n", sw->name, err);
		xp_sweep_free(sw);
		free(sw);
		return EXIT_INTERNAL;
	}
	long ran = st.ok + st.infeasible + st.failed + st.timeout;
	if (!quiet) {
		char shard[48] = "";
		if (sn > 1)
			snprintf(shard, sizeof shard, " shard %ld/%ld", si, sn);
		fprintf(stderr, "sweep %s (id %lld)%s: %ld points: %ld ok, %ld infeasible, %ld failed, %ld timeout; "
		                "%ld done before, %ld excluded by constraints; %.2f s, %.1f points/s",
		        sw->name, st.sweep_id, shard, st.total, st.ok, st.infeasible, st.failed, st.timeout, st.skipped,
		        st.excluded, st.wall_s, st.wall_s > 0 ? ran / st.wall_s : 0.0);
		if (st.max_rss_kB > 0)
			fprintf(stderr, ", worker peak RSS %.1f MB", st.max_rss_kB / 1024.0);
		fprintf(stderr, "\n  results: %s   (codesim query --db %s \"SELECT * FROM v_sweep_%lld\")\n", dbpath, dbpath,
		        st.sweep_id);
		if (st.other_versions)
			fprintf(stderr, "  note: %ld earlier run(s) of this spec by another model version (latest: sweep id "
			                "%lld) are kept apart and not reused; this is model version %s\n",
			        st.other_versions, st.other_version_id, CODESIM_MODEL_VERSION);
		if (st.interrupted)
			fprintf(stderr, "  interrupted: run the same command again to resume\n");
		else if (st.failed + st.timeout)
			fprintf(stderr, "  %ld point(s) failed or timed out (see SELECT reason FROM points WHERE status IN "
			                "('failed','timeout')); run again to retry them\n", st.failed + st.timeout);
	}
	xp_sweep_free(sw);
	free(sw);
	if (st.interrupted)
		return EXIT_INTERRUPTED;
	return st.failed + st.timeout ? EXIT_POINTS_FAILED : 0;
}

int xp_cmd_query(int argc, char **argv, const char *home)
{
	(void)home;
	if (xp_want_help(argc, argv)) {
		fputs(query_usage, stdout);
		return 0;
	}
	const char *dbpath = NULL, *sql = NULL;
	int csv = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--db")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "codesim: --db needs a value\n");
				return EXIT_BAD;
			}
			dbpath = argv[++i];
		} else if (!strcmp(argv[i], "--csv")) {
			csv = 1;
		} else if (argv[i][0] == '-' && argv[i][1] && !sql) {
			fprintf(stderr, "codesim: query: unknown option '%s' (see codesim query --help)\n", argv[i]);
			return EXIT_BAD;
		} else if (sql) {
			fprintf(stderr, "codesim: query takes one SQL argument (quote it)\n");
			return EXIT_BAD;
		} else {
			sql = argv[i];
		}
	}
	if (!dbpath) {
		fputs(query_usage, stderr);
		return EXIT_BAD;
	}
	char err[1024];
	res_db *db;
	if (res_db_open_readonly(dbpath, &db, err, sizeof err)) {
		fprintf(stderr, "codesim: %s\n", err);
		return EXIT_BAD;
	}
	char *owned = NULL;
	if (sql && !strcmp(sql, "-"))
		sql = owned = xp_read_all(stdin);
	int rc;
	if (!sql) {
		rc = res_db_describe(db, stdout, err, sizeof err);
		if (!rc)
			printf("\nusage: codesim query --db %s \"SELECT ...\" [--csv]   (views: codesim query --help)\n",
			       dbpath);
	} else {
		rc = res_db_query_print(db, sql, csv, stdout, err, sizeof err);
	}
	res_db_close(db);
	free(owned);
	if (rc) {
		fprintf(stderr, "codesim: query: %s\n", err);
		return EXIT_BAD;
	}
	return 0;
}

int xp_cmd_merge(int argc, char **argv, const char *home)
{
	(void)home;
	if (xp_want_help(argc, argv)) {
		fputs(merge_usage, stdout);
		return 0;
	}
	if (argc < 3) {
		fputs(merge_usage, stderr);
		return EXIT_BAD;
	}
	char err[1024];
	struct stat out_st, in_st;
	/* inputs must exist and must not be the output (same file, any path) */
	int have_out = stat(argv[1], &out_st) == 0;
	for (int i = 2; i < argc; i++) {
		if (stat(argv[i], &in_st)) {
			fprintf(stderr, "codesim: merge: %s: no such database\n", argv[i]);
			return EXIT_BAD;
		}
		if (have_out && in_st.st_dev == out_st.st_dev && in_st.st_ino == out_st.st_ino) {
			fprintf(stderr, "codesim: merge: %s is the output database\n", argv[i]);
			return EXIT_BAD;
		}
	}
	res_db *db;
	if (res_db_open(argv[1], &db, err, sizeof err)) {
		fprintf(stderr, "codesim: %s\n", err);
		return EXIT_BAD;
	}
	int rc = 0;
	for (int i = 2; i < argc; i++) {
		res_db_merge_stats ms = {0, 0, 0, 0};
		if (res_db_merge(db, argv[i], &ms, err, sizeof err)) {
			fprintf(stderr, "codesim: merge: %s\n", err);
			rc = EXIT_BAD;
			break;
		}
		fprintf(stderr, "merged %s: %ld sweep(s), %ld point(s) added, %ld replaced a failed one, %ld already "
		                "present\n", argv[i], ms.sweeps, ms.points_added, ms.points_replaced, ms.points_linked);
	}
	res_db_close(db);
	return rc;
}
