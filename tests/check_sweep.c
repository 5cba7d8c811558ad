/*
 * check_sweep.c - sweep specs, sampling, the worker pool and the results
 * database (issue 6).  The end-to-end tests run the built ./codesim, as a
 * user would; each uses its own files under /tmp and small sweeps, so the
 * suite stays at a few seconds (the longest waits are the 1 s timeouts).
 */
#include "tests.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../explorer/forkpool.h"
#include "../explorer/sweep.h"
#include "../results/res.h"

/* ---- helpers ----------------------------------------------------------- */

/* A per-test path under /tmp (Check forks each test: pids differ). */
static const char *tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "/tmp/codesim-sweep-%d-%s", (int)getpid(), name);
	return buf;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

static void rm_db(const char *path)
{
	char p[1100];
	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static void load_spec(xp_sweep *sw, const char *name, const char *text)
{
	char path[256], err[ARCH_ERR_MAX];
	tmp_path(path, sizeof path, name);
	write_file(path, text);
	int rc = xp_sweep_load(sw, t_home(), path, err, sizeof err);
	unlink(path);
	ck_assert_msg(rc == 0, "spec did not load: %s", err);
}

typedef struct {
	long long v[256];
	char s[256][128];
	int n;
} rows_t;

static int grab(void *ctx, int nc, const char *const *names, const char *const *vals)
{
	rows_t *r = ctx;
	(void)names;
	if (r->n < 256) {
		r->v[r->n] = nc > 0 && vals[0] ? atoll(vals[0]) : -1;
		snprintf(r->s[r->n], sizeof r->s[0], "%s", nc > 1 && vals[1] ? vals[1] : "");
		r->n++;
	}
	return 0;
}

/* Rows of (integer, text) from a database opened read-only. */
static void query(const char *db, const char *sql, rows_t *out)
{
	res_db *h;
	char err[512];
	memset(out, 0, sizeof *out);
	ck_assert_msg(res_db_open_readonly(db, &h, err, sizeof err) == 0, "%s", err);
	ck_assert_msg(res_db_rows(h, sql, 0, NULL, grab, out, err, sizeof err) == 0, "%s: %s", sql, err);
	res_db_close(h);
}

static long long query_int(const char *db, const char *sql)
{
	rows_t r;
	query(db, sql, &r);
	ck_assert_int_eq(r.n, 1);
	return r.v[0];
}

/* ---- sampling ------------------------------------------------------------ */

START_TEST(test_grid_points)
{
	xp_sweep sw;
	load_spec(&sw, "grid.cfg",
	          "arch = \"h100\"; model = \"llama3-8b\";\n"
	          "axes = ( { key = \"arch.memory.bandwidth_GBps\"; start = 1000.0; stop = 8000.0; steps = 4; "
	          "scale = \"log\"; },\n"
	          "         { key = \"run.batch\"; start = 1; stop = 64; factor = 4; },\n"
	          "         { key = \"arch\"; values = [\"h100\", \"a100\"]; } );\n");
	/* independent expectation: log steps 1000..8000 in 4 are powers of 2 */
	const char *bw[] = {"1000", "2000", "4000", "8000"}, *batch[] = {"1", "4", "16", "64"}, *arch[] = {"h100", "a100"};
	ck_assert_int_eq(sw.npoints, 4 * 4 * 2);
	char vals[XP_AXES_MAX][XP_VAL_MAX];
	long i = 0;
	for (int a = 0; a < 4; a++)
		for (int b = 0; b < 4; b++)
			for (int c = 0; c < 2; c++, i++) {
				xp_sweep_values(&sw, i, vals);
				ck_assert_str_eq(vals[0], bw[a]);
				ck_assert_str_eq(vals[1], batch[b]);
				ck_assert_str_eq(vals[2], arch[c]);
			}
	/* the point's spec carries the axis values as overrides and presets */
	xp_spec spec;
	xp_sweep_values(&sw, 2 * 8 + 1 * 2 + 1, vals);
	xp_sweep_spec(&sw, vals, &spec);
	ck_assert_str_eq(spec.arch, "a100");
	xp_point pt;
	char err[ARCH_ERR_MAX];
	ck_assert_msg(xp_sweep_apply(t_home(), &spec, &pt, err, sizeof err) == 0, "%s", err);
	ck_assert_double_eq(pt.arch.memory.bandwidth_GBps, 4000);
	ck_assert_int_eq(pt.sc.batch, 4);
	xp_sweep_free(&sw);

	/* a linear step range with an integer key, rounded and deduplicated */
	load_spec(&sw, "grid2.cfg",
	          "arch = \"h100\"; model = \"llama3-8b\";\n"
	          "axes = ( { key = \"run.context\"; start = 0; stop = 10; step = 2.5; } );\n");
	ck_assert_int_eq(sw.npoints, 5);
	const char *ctx[] = {"0", "3", "5", "8", "10"};   /* 2.5 -> 3 and 7.5 -> 8 (round half away) */
	for (long p = 0; p < 5; p++) {
		xp_sweep_values(&sw, p, vals);
		ck_assert_str_eq(vals[0], ctx[p]);
	}
	xp_sweep_free(&sw);
}
END_TEST

static const char random_spec[] =
    "arch = \"h100\"; model = \"llama3-8b\";\n"
    "axes = ( { key = \"arch.memory.bandwidth_GBps\"; dist = \"uniform\"; min = 1000.0; max = 3000.0; },\n"
    "         { key = \"arch.global_sram.size_MiB\"; dist = \"loguniform\"; min = 10.0; max = 1000.0; },\n"
    "         { key = \"model.d_model\"; dist = \"uniform\"; min = 2048; max = 8192; multiple_of = 128; },\n"
    "         { key = \"run.batch\"; values = [1, 2, 4, 8]; } );\n";

static void spec_with(char *buf, size_t len, const char *sampling, int samples, int seed)
{
	snprintf(buf, len, "%ssampling = \"%s\"; samples = %d; seed = %d;\n", random_spec, sampling, samples, seed);
}

START_TEST(test_random_reproducible)
{
	char text[2048];
	xp_sweep a, b, c;
	spec_with(text, sizeof text, "random", 50, 7);
	load_spec(&a, "r1.cfg", text);
	load_spec(&b, "r2.cfg", text);
	spec_with(text, sizeof text, "random", 50, 8);
	load_spec(&c, "r3.cfg", text);
	ck_assert_int_eq(a.npoints, 50);
	char va[XP_AXES_MAX][XP_VAL_MAX], vb[XP_AXES_MAX][XP_VAL_MAX], vc[XP_AXES_MAX][XP_VAL_MAX];
	int differ = 0, batches[4] = {0};
	for (long i = 0; i < 50; i++) {
		xp_sweep_values(&a, i, va);
		xp_sweep_values(&b, i, vb);
		xp_sweep_values(&c, i, vc);
		for (int x = 0; x < 4; x++) {
			ck_assert_str_eq(va[x], vb[x]);   /* same seed, same points */
			differ += strcmp(va[x], vc[x]) != 0;
		}
		double bw = atof(va[0]), l2 = atof(va[1]), dm = atof(va[2]);
		ck_assert(bw >= 1000 && bw <= 3000);
		ck_assert(l2 >= 10 && l2 <= 1000);
		ck_assert(dm >= 2048 && dm <= 8192 && fmod(dm, 128) == 0);
		int bt = atoi(va[3]);
		ck_assert(bt == 1 || bt == 2 || bt == 4 || bt == 8);
		batches[bt == 1 ? 0 : bt == 2 ? 1 : bt == 4 ? 2 : 3]++;
	}
	ck_assert_msg(differ > 100, "another seed gives other points (%d of 200 values differ)", differ);
	for (int k = 0; k < 4; k++)
		ck_assert_msg(batches[k] > 0, "every listed value is drawn in 50 samples");
	xp_sweep_free(&a);
	xp_sweep_free(&b);
	xp_sweep_free(&c);
}
END_TEST

START_TEST(test_lhs_strata)
{
	char text[2048];
	xp_sweep a, b;
	int n = 20;
	spec_with(text, sizeof text, "lhs", n, 42);
	load_spec(&a, "l1.cfg", text);
	load_spec(&b, "l2.cfg", text);
	int seen_bw[20] = {0}, seen_l2[20] = {0}, batches[4] = {0};
	char v[XP_AXES_MAX][XP_VAL_MAX], w[XP_AXES_MAX][XP_VAL_MAX];
	for (long i = 0; i < n; i++) {
		xp_sweep_values(&a, i, v);
		xp_sweep_values(&b, i, w);
		for (int x = 0; x < 4; x++)
			ck_assert_str_eq(v[x], w[x]);
		/* stratum of each value in CDF space: uniform and log-uniform */
		int k = (int)floor((atof(v[0]) - 1000) / 2000 * n);
		int m = (int)floor(log(atof(v[1]) / 10) / log(100) * n);
		ck_assert(k >= 0 && k < n && m >= 0 && m < n);
		seen_bw[k]++;
		seen_l2[m]++;
		int bt = atoi(v[3]);
		batches[bt == 1 ? 0 : bt == 2 ? 1 : bt == 4 ? 2 : 3]++;
	}
	for (int k = 0; k < n; k++) {
		ck_assert_msg(seen_bw[k] == 1, "uniform axis: stratum %d used %d times", k, seen_bw[k]);
		ck_assert_msg(seen_l2[k] == 1, "log-uniform axis: stratum %d used %d times", k, seen_l2[k]);
	}
	/* a list axis in LHS: 20 strata over 4 values, each value 5 times */
	for (int k = 0; k < 4; k++)
		ck_assert_int_eq(batches[k], 5);
	xp_sweep_free(&a);
	xp_sweep_free(&b);
}
END_TEST

/* ---- constraints ----------------------------------------------------------- */

START_TEST(test_constraints)
{
	xp_spec spec;
	xp_point pt;
	xp_constraint c;
	char err[ARCH_ERR_MAX];
	xp_spec_init(&spec);
	snprintf(spec.arch, sizeof spec.arch, "h100");
	snprintf(spec.model, sizeof spec.model, "llama3-8b");
	snprintf(spec.sets[spec.nsets++], sizeof spec.sets[0], "run.tp=2");
	snprintf(spec.sets[spec.nsets++], sizeof spec.sets[0], "run.pp=2");
	ck_assert_msg(xp_resolve(t_home(), &spec, &pt, err, sizeof err) == 0, "%s", err);
	static const struct {
		const char *expr;
		int want;
	} cases[] = {
	    {"model.d_model % model.n_heads == 0", 1},       /* 4096 % 32 */
	    {"model.d_model % 48 == 0", 0},
	    {"run.phase == \"decode\" && arch == \"h100\"", 1},
	    {"run.phase != \"decode\" || model == \"llama3-70b\"", 0},
	    {"chips == 4 && system_tdp_W == 2800", 1},        /* tp 2 x pp 2, 700 W each */
	    {"arch.memory.bandwidth_GBps / 1000 > 3.3 && -arch.clock_MHz < 0", 1},
	    {"min(run.tp, 7) * max(1, 2) == 4 && abs(-3) == 3 && log2(64) == 6 && floor(2.7) == 2", 1},
	    {"params_B > 7.9 && params_B < 8.1 && head_dim == 128", 1},
	    {"1 / 0 > 0 && 0 / 0 == 0", 0},                    /* NaN never holds */
	    {"!(run.batch > 1)", 1},
	    {"2 + 3 * 4 == 14 && (2 + 3) * 4 == 20 && 7 % 4 == 3", 1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		ck_assert_msg(xp_expr_compile(cases[i].expr, &c, err, sizeof err) == 0, "%s: %s", cases[i].expr, err);
		ck_assert_msg(xp_expr_eval(&c, &pt) == cases[i].want, "%s should be %d", cases[i].expr, cases[i].want);
		xp_expr_free(&c);
	}
	static const char *const bad[] = {"run.phase > 3", "model.heads == 1", "1 +", "run.batch < (2", "\"x\"",
	                                  "system(\"rm\")", "run.batch = 1"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err[0] = 0;
		ck_assert_msg(xp_expr_compile(bad[i], &c, err, sizeof err) != 0, "'%s' must not compile", bad[i]);
		ck_assert_msg(strstr(err, "column") != NULL, "error says where: %s", err);
	}
}
END_TEST

/* ---- the store, directly -------------------------------------------------- */

START_TEST(test_store_api)
{
	char db_path[256], err[512];
	res_db *db;
	tmp_path(db_path, sizeof db_path, "api.db");
	rm_db(db_path);
	ck_assert_msg(res_db_open(db_path, &db, err, sizeof err) == 0, "%s", err);
	long long s1 = res_db_sweep(db, "t", "spec text", err, sizeof err);
	long long s2 = res_db_sweep(db, "t", "spec text", err, sizeof err);
	long long s3 = res_db_sweep(db, "t", "other spec", err, sizeof err);
	ck_assert(s1 > 0 && s1 == s2 && s3 != s1);
	res_t *r = calloc(1, sizeof *r);
	snprintf(r->arch, sizeof r->arch, "h100");
	r->feasible = 1;
	r->tokens_per_s = 1234.5;
	r->nkernels = 2;
	snprintf(r->kernels[1].name, sizeof r->kernels[1].name, "qkv");
	const char *keys[] = {"run.batch"}, *vals[] = {"8"};
	ck_assert_int_eq(res_db_point_done(db, "00000000000000aa"), 0);
	ck_assert(res_db_begin(db) == 0);
	ck_assert_msg(res_db_put(db, s1, "00000000000000aa", "cfg", "failed", "crashed", 0.1, 1, keys, vals, NULL, err,
	                         sizeof err) == 0, "%s", err);
	ck_assert(res_db_commit(db) == 0);
	ck_assert_int_eq(res_db_point_done(db, "00000000000000aa"), 0);   /* failed is retried */
	ck_assert(res_db_put(db, s1, "00000000000000aa", "cfg", "ok", "", 0.2, 1, keys, vals, r, err, sizeof err) == 0);
	ck_assert_int_eq(res_db_point_done(db, "00000000000000aa"), 1);
	/* the same point again, from another sweep: linked, not duplicated */
	ck_assert(res_db_put(db, s3, "00000000000000aa", "cfg", "ok", "", 0.3, 1, keys, vals, r, err, sizeof err) == 0);
	/* a finished point is never downgraded */
	ck_assert(res_db_put(db, s1, "00000000000000aa", "cfg", "timeout", "x", 1, 1, keys, vals, NULL, err,
	                     sizeof err) == 0);
	ck_assert(res_db_put(db, s1, "00000000000000bb", "cfg", "weird", "", 0, 0, NULL, NULL, NULL, err, sizeof err) != 0);
	res_db_close(db);
	ck_assert_int_eq(query_int(db_path, "PRAGMA user_version"), RES_DB_SCHEMA_VERSION);
	ck_assert_int_eq(query_int(db_path, "SELECT count(*) FROM points"), 1);
	ck_assert_int_eq(query_int(db_path, "SELECT count(*) FROM sweep_points"), 2);
	ck_assert_int_eq(query_int(db_path, "SELECT count(*) FROM kernels"), 2);
	ck_assert_int_eq(query_int(db_path, "SELECT count(*) FROM metrics WHERE tokens_per_s = 1234.5"), 1);
	ck_assert_int_eq(query_int(db_path, "SELECT count(*) FROM points WHERE status = 'ok' AND wall_s = 0.2"), 1);
	ck_assert_int_eq(query_int(db_path, "SELECT count(*) FROM parameters WHERE key = 'run.batch' AND num = 8"), 1);
	/* reopening migrates nothing and keeps the rows */
	ck_assert(res_db_open(db_path, &db, err, sizeof err) == 0);
	res_db_close(db);
	ck_assert_int_eq(query_int(db_path, "SELECT count(*) FROM points"), 1);
	free(r);
	rm_db(db_path);
}
END_TEST

START_TEST(test_schema_migration)
{
	char db_path[256], err[512];
	res_db *db;
	sqlite3 *h;
	tmp_path(db_path, sizeof db_path, "mig.db");
	rm_db(db_path);
	ck_assert(res_db_open(db_path, &db, err, sizeof err) == 0);
	long long s = res_db_sweep(db, "m", "spec", err, sizeof err);
	ck_assert(res_db_put(db, s, "00000000000000dd", "cfg", "failed", "x", 0.1, 0, NULL, NULL, NULL, err, sizeof err) == 0);
	res_db_close(db);
	/* turn it into a version-1 database: points without cpu_s, the views
	 * as they were (SQLite checks every view when a column is dropped, so
	 * they are dropped and recreated around it) */
	ck_assert(sqlite3_open(db_path, &h) == SQLITE_OK);
	char views[8][4096], names[8][64];
	int nv = 0;
	sqlite3_stmt *st;
	ck_assert(sqlite3_prepare_v2(h, "SELECT name, sql FROM sqlite_master WHERE type = 'view'", -1, &st, NULL) ==
	          SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && nv < 8) {
		snprintf(names[nv], sizeof names[0], "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(views[nv], sizeof views[0], "%s", (const char *)sqlite3_column_text(st, 1));
		char *cpu = strstr(views[nv], "p.cpu_s, ");
		if (cpu)
			memmove(cpu, cpu + 9, strlen(cpu + 9) + 1);
		nv++;
	}
	sqlite3_finalize(st);
	ck_assert_int_ge(nv, 5);
	for (int i = 0; i < nv; i++) {
		char sql[700];
		snprintf(sql, sizeof sql, "DROP VIEW %s", names[i]);
		ck_assert(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK);
	}
	ck_assert_msg(sqlite3_exec(h, "ALTER TABLE points DROP COLUMN cpu_s; PRAGMA user_version = 1", NULL, NULL,
	                           NULL) == SQLITE_OK, "%s", sqlite3_errmsg(h));
	for (int i = 0; i < nv; i++)
		ck_assert_msg(sqlite3_exec(h, views[i], NULL, NULL, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(h));
	sqlite3_close(h);
	ck_assert_int_eq(query_int(db_path, "SELECT count(*) FROM pragma_table_info('points') WHERE name = 'cpu_s'"), 0);
	/* opening migrates it: the column, the view, the rows kept */
	ck_assert_msg(res_db_open(db_path, &db, err, sizeof err) == 0, "%s", err);
	res_db_close(db);
	ck_assert_int_eq(query_int(db_path, "PRAGMA user_version"), RES_DB_SCHEMA_VERSION);
	ck_assert_int_eq(query_int(db_path, "SELECT count(*) FROM pragma_table_info('points') WHERE name = 'cpu_s'"), 1);
	ck_assert_int_eq(query_int(db_path, "SELECT count(*) FROM v_results WHERE status = 'failed' AND cpu_s IS NULL"),
	                 1);
	ck_assert_int_eq(query_int(db_path, "SELECT count(*) FROM pragma_table_info('v_ok') WHERE name = 'cpu_s'"), 1);
	/* a database from a newer codesim is refused, and left alone */
	ck_assert(sqlite3_open(db_path, &h) == SQLITE_OK);
	ck_assert(sqlite3_exec(h, "PRAGMA user_version = 99", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(h);
	ck_assert(res_db_open(db_path, &db, err, sizeof err) != 0);
	ck_assert_msg(strstr(err, "newer"), "%s", err);
	ck_assert_int_eq(query_int(db_path, "PRAGMA user_version"), 99);
	/* so is a file that is some other database */
	rm_db(db_path);
	ck_assert(sqlite3_open(db_path, &h) == SQLITE_OK);
	ck_assert(sqlite3_exec(h, "CREATE TABLE mine (x)", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(h);
	ck_assert(res_db_open(db_path, &db, err, sizeof err) != 0);
	ck_assert_msg(strstr(err, "not a codesim results database"), "%s", err);
	rm_db(db_path);
}
END_TEST

/* ---- end to end with ./codesim ----------------------------------------------- */

static const char small_spec[] =
    "name = \"t-small\";\n"
    "arch = \"h100\"; model = \"llama3-8b\";\n"
    "run = { phase = \"decode\"; context = 1024; };\n"
    "axes = ( { key = \"arch.memory.bandwidth_GBps\"; values = [2000.0, 3350.0, 5000.0]; },\n"
    "         { key = \"run.batch\"; values = [1, 4, 16, 64]; } );\n";

START_TEST(test_bad_input_writes_nothing)
{
	static const struct {
		const char *name, *text, *want;
	} bad[] = {
	    {"syntax.cfg", "arch = \"h100\";\nmodel = \"llama3-8b\";\naxes = ( { key = ; } );\n", ":3: syntax error"},
	    {"unknown-top.cfg", "arch = \"h100\";\nmodel = \"llama3-8b\";\nsampels = 3;\n", ":3: unknown key 'sampels'"},
	    {"unknown-axis.cfg", "arch = \"h100\";\nmodel = \"llama3-8b\";\naxes = (\n { key = \"arch.memory.bandwith_GBps\"; "
	     "values = [1.0]; } );\n", ":4: axis: unknown key 'arch.memory.bandwith_GBps'"},
	    {"range.cfg", "arch = \"h100\";\nmodel = \"llama3-8b\";\naxes = ( { key = \"run.batch\"; values = [1,\n 0]; } );\n",
	     ":4: axis run.batch: batch = 0 is out of range [1, "},
	    {"preset.cfg", "arch = \"h100\";\nmodel = \"llama3-8b\";\naxes = ( { key = \"model\"; values = [\"llama9\"]; } );\n",
	     ":3: axis model: model = \"llama9\": unknown preset"},
	    {"constraint.cfg", "arch = \"h100\";\nmodel = \"llama3-8b\";\nconstraints = [\n \"model.d_model % model.nheads == 0\" ];\n",
	     ":4: constraints[0]: unknown name 'model.nheads'"},
	    {"bigint.cfg", "arch = \"h100\";\nmodel = \"llama3-8b\";\n\nset = [ \"arch.clock_MHz=1\" ];\nseed = 5000000000;\n",
	     ":5: integer literal 5000000000 does not fit 32 bits"},
	    {"grid-dist.cfg", "arch = \"h100\";\nmodel = \"llama3-8b\";\naxes = ( { key = \"run.batch\"; dist = \"uniform\"; "
	     "min = 1; max = 8; } );\n", ":3: axis run.batch is a distribution: it needs sampling"},
	    {"run.cfg", "arch = \"h100\";\nmodel = \"llama3-8b\";\nrun = { phase = \"decoding\"; };\n",
	     ":3: run: phase = 'decoding' is not one of"},
	};
	char spec[256], db[256], args[1024], out[4096], errout[4096];
	tmp_path(db, sizeof db, "bad.db");
	rm_db(db);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		tmp_path(spec, sizeof spec, bad[i].name);
		write_file(spec, bad[i].text);
		snprintf(args, sizeof args, "sweep %s --db %s", spec, db);
		int rc = t_cli(args, out, sizeof out, errout, sizeof errout);
		ck_assert_msg(rc == 1, "%s: exit %d, want 1 (%s)", bad[i].name, rc, errout);
		ck_assert_msg(strstr(errout, spec) && strstr(errout, bad[i].want), "%s: error '%s' should name the file and "
		              "say '%s'", bad[i].name, errout, bad[i].want);
		ck_assert_msg(!exists(db), "%s: no database for a spec that fails validation", bad[i].name);
		unlink(spec);
	}
	/* an existing database is left as it was */
	tmp_path(spec, sizeof spec, "good.cfg");
	write_file(spec, "arch = \"h100\"; model = \"llama3-8b\"; axes = ( { key = \"run.batch\"; values = [1]; } );\n");
	snprintf(args, sizeof args, "sweep %s --db %s --quiet", spec, db);
	ck_assert_int_eq(t_cli(args, out, sizeof out, errout, sizeof errout), 0);
	tmp_path(spec, sizeof spec, bad[1].name);
	write_file(spec, bad[1].text);
	snprintf(args, sizeof args, "sweep %s --db %s", spec, db);
	ck_assert_int_eq(t_cli(args, out, sizeof out, errout, sizeof errout), 1);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM sweeps"), 1);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM points"), 1);

	/* bad SQL: a clear error, exit 1; writes are refused (read-only) */
	snprintf(args, sizeof args, "query --db %s \"SELEC * FROM points\"", db);
	ck_assert_int_eq(t_cli(args, out, sizeof out, errout, sizeof errout), 1);
	ck_assert_msg(strstr(errout, "syntax error"), "%s", errout);
	snprintf(args, sizeof args, "query --db %s \"SELECT nope FROM points\"", db);
	ck_assert_int_eq(t_cli(args, out, sizeof out, errout, sizeof errout), 1);
	ck_assert_msg(strstr(errout, "no such column: nope"), "%s", errout);
	snprintf(args, sizeof args, "query --db %s \"DELETE FROM points\"", db);
	ck_assert_int_eq(t_cli(args, out, sizeof out, errout, sizeof errout), 1);
	ck_assert_msg(strstr(errout, "readonly"), "%s", errout);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM points"), 1);
	snprintf(args, sizeof args, "query --db %s.missing \"SELECT 1\"", db);
	ck_assert_int_eq(t_cli(args, out, sizeof out, errout, sizeof errout), 1);
	/* good SQL: a table and CSV */
	snprintf(args, sizeof args, "query --db %s \"SELECT status, run_batch FROM v_sweep_1\"", db);
	ck_assert_int_eq(t_cli(args, out, sizeof out, errout, sizeof errout), 0);
	ck_assert_msg(strstr(out, "status  run_batch") && strstr(out, "ok") && strstr(out, "(1 row)"), "%s", out);
	snprintf(args, sizeof args, "query --db %s --csv \"SELECT 'a,b' AS x, 2 AS y\"", db);
	ck_assert_int_eq(t_cli(args, out, sizeof out, errout, sizeof errout), 0);
	ck_assert_str_eq(out, "x,y\n\"a,b\",2\n");
	unlink(spec);
	tmp_path(spec, sizeof spec, "good.cfg");
	unlink(spec);
	rm_db(db);
}
END_TEST

START_TEST(test_crash_and_hang_recorded)
{
	char spec[256], db[256], args[1024], out[4096], errout[4096];
	tmp_path(spec, sizeof spec, "fault.cfg");
	tmp_path(db, sizeof db, "fault.db");
	rm_db(db);
	write_file(spec, "arch = \"h100\"; model = \"llama3-8b\";\n"
	                 "axes = ( { key = \"run.batch\"; values = [1, 2, 3, 4, 5]; } );\n");
	setenv("CODESIM_TEST_FAULT", "crash:run.batch=2;hang:run.batch=3", 1);
	snprintf(args, sizeof args, "sweep %s --db %s --jobs 2 --timeout 1", spec, db);
	int rc = t_cli(args, out, sizeof out, errout, sizeof errout);
	ck_assert_msg(rc == 3, "exit %d (3: some points failed): %s", rc, errout);
	rows_t r;
	query(db, "SELECT p.num, s.status || ': ' || s.reason FROM points s JOIN parameters p ON p.point_id = s.id "
	          "ORDER BY p.num", &r);
	ck_assert_int_eq(r.n, 5);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(r.v[i], i + 1);
		if (i == 1)
			ck_assert_msg(strstr(r.s[i], "failed: worker crashed (signal 11"), "%s", r.s[i]);
		else if (i == 2)
			ck_assert_msg(strstr(r.s[i], "timeout: timed out after 1 s"), "%s", r.s[i]);
		else
			ck_assert_str_eq(r.s[i], "ok: ");
	}
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM metrics"), 3);
	/* without the fault, a re-run retries exactly the two and finishes */
	unsetenv("CODESIM_TEST_FAULT");
	snprintf(args, sizeof args, "sweep %s --db %s --jobs 2 --timeout 10", spec, db);
	rc = t_cli(args, out, sizeof out, errout, sizeof errout);
	ck_assert_msg(rc == 0, "exit %d: %s", rc, errout);
	ck_assert_msg(strstr(errout, "2 ok") && strstr(errout, "3 done before"), "%s", errout);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM points WHERE status = 'ok'"), 5);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM points"), 5);
	unlink(spec);
	rm_db(db);
}
END_TEST

START_TEST(test_sigkill_resume)
{
	char spec[256], db[256], args[1024], out[4096], errout[4096], exe[1100];
	tmp_path(spec, sizeof spec, "kill.cfg");
	tmp_path(db, sizeof db, "kill.db");
	rm_db(db);
	write_file(spec, "name = \"t-kill\"; arch = \"h100\"; model = \"llama3-8b\";\n"
	                 "axes = ( { key = \"run.batch\"; start = 1; stop = 40; step = 1; } );\n");
	snprintf(exe, sizeof exe, "%s/codesim", t_home());
	pid_t pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0) {
		/* each point sleeps 30 ms so that the kill lands mid-sweep */
		setenv("CODESIM_TEST_FAULT", "slow:*", 1);
		if (!freopen("/dev/null", "w", stderr))
			_exit(126);
		execl(exe, exe, "sweep", spec, "--db", db, "--jobs", "2", (char *)NULL);
		_exit(127);
	}
	/* wait for the first committed batch, then SIGKILL */
	long long before = 0;
	for (int i = 0; i < 2000 && before == 0; i++) {
		struct timespec ts = {0, 2 * 1000 * 1000};
		nanosleep(&ts, NULL);
		if (exists(db)) {
			res_db *h;
			char err[256];
			rows_t r;
			memset(&r, 0, sizeof r);
			if (res_db_open_readonly(db, &h, err, sizeof err) == 0) {
				if (res_db_rows(h, "SELECT count(*) FROM points", 0, NULL, grab, &r, err, sizeof err) == 0 && r.n)
					before = r.v[0];
				res_db_close(h);
			}
		}
	}
	kill(pid, SIGKILL);
	int status;
	waitpid(pid, &status, 0);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the sweep was to be killed mid-way, but it %s %d "
	              "(%lld points seen)", WIFSIGNALED(status) ? "died of signal" : "exited with",
	              WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), before);
	before = query_int(db, "SELECT count(*) FROM points");
	ck_assert_msg(before > 0 && before < 40, "killed mid-sweep: %lld of 40 points stored", before);
	/* resume: every point exactly once */
	snprintf(args, sizeof args, "sweep %s --db %s --jobs 2", spec, db);
	int rc = t_cli(args, out, sizeof out, errout, sizeof errout);
	ck_assert_msg(rc == 0, "exit %d: %s", rc, errout);
	char want[64];
	snprintf(want, sizeof want, "%lld done before", before);
	ck_assert_msg(strstr(errout, want), "the resume skips the %lld finished points: %s", before, errout);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM points WHERE status = 'ok'"), 40);
	ck_assert_int_eq(query_int(db, "SELECT count(DISTINCT hash) FROM points"), 40);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM sweep_points"), 40);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM metrics"), 40);
	rows_t r;
	query(db, "SELECT num FROM parameters ORDER BY num", &r);
	ck_assert_int_eq(r.n, 40);
	for (int i = 0; i < 40; i++)
		ck_assert_int_eq(r.v[i], i + 1);
	unlink(spec);
	rm_db(db);
}
END_TEST

START_TEST(test_shard_merge)
{
	char spec[256], full[256], shard[3][256], merged[256], args[2048], out[4096], errout[4096];
	tmp_path(spec, sizeof spec, "shard.cfg");
	tmp_path(full, sizeof full, "full.db");
	tmp_path(merged, sizeof merged, "merged.db");
	write_file(spec, small_spec);
	rm_db(full);
	rm_db(merged);
	snprintf(args, sizeof args, "sweep %s --db %s --quiet", spec, full);
	ck_assert_int_eq(t_cli(args, out, sizeof out, errout, sizeof errout), 0);
	long long total = 0;
	for (int i = 0; i < 3; i++) {
		char name[32];
		snprintf(name, sizeof name, "shard%d.db", i);
		tmp_path(shard[i], sizeof shard[i], name);
		rm_db(shard[i]);
		snprintf(args, sizeof args, "sweep %s --db %s --shard %d/3 --jobs 1 --quiet", spec, shard[i], i);
		ck_assert_int_eq(t_cli(args, out, sizeof out, errout, sizeof errout), 0);
		total += query_int(shard[i], "SELECT count(*) FROM points");
	}
	ck_assert_int_eq(total, 12);   /* disjoint slices that cover the grid */
	/* shard 1 merged twice: still no duplicate */
	snprintf(args, sizeof args, "merge %s %s %s %s %s", merged, shard[0], shard[1], shard[2], shard[1]);
	ck_assert_int_eq(t_cli(args, out, sizeof out, errout, sizeof errout), 0);
	ck_assert_int_eq(query_int(merged, "SELECT count(*) FROM points"), 12);
	ck_assert_int_eq(query_int(merged, "SELECT count(*) FROM sweeps"), 1);
	ck_assert_int_eq(query_int(merged, "SELECT count(*) FROM sweep_points"), 12);
	ck_assert_int_eq(query_int(merged, "SELECT count(*) FROM v_sweep_1"), 12);
	/* the same hashes, statuses, metrics and kernels as the unsharded sweep */
	res_db *h;
	char err[512];
	ck_assert(res_db_open(merged, &h, err, sizeof err) == 0);
	rows_t r;
	memset(&r, 0, sizeof r);
	ck_assert_msg(res_db_rows(h, "ATTACH DATABASE ?1 AS f", 1, (const char *const[]){full}, NULL, NULL, err,
	                          sizeof err) == 0, "%s", err);
	ck_assert(res_db_rows(h, "SELECT count(*) FROM points p JOIN f.points q ON q.hash = p.hash AND q.status = p.status "
	                         "AND q.config = p.config JOIN metrics m ON m.point_id = p.id JOIN f.metrics n ON "
	                         "n.point_id = q.id WHERE m.tokens_per_s = n.tokens_per_s AND m.time_s = n.time_s AND "
	                         "m.energy_j = n.energy_j AND m.nkernels = n.nkernels", 0, NULL, grab, &r, err,
	                      sizeof err) == 0);
	ck_assert_int_eq(r.v[0], 12);
	memset(&r, 0, sizeof r);
	ck_assert(res_db_rows(h, "SELECT (SELECT count(*) FROM kernels) - (SELECT count(*) FROM f.kernels)", 0, NULL, grab,
	                      &r, err, sizeof err) == 0);
	ck_assert_int_eq(r.v[0], 0);
	res_db_close(h);
	/* merging a database into itself is refused */
	snprintf(args, sizeof args, "merge %s %s", merged, merged);
	ck_assert_int_eq(t_cli(args, out, sizeof out, errout, sizeof errout), 1);
	unlink(spec);
	rm_db(full);
	rm_db(merged);
	for (int i = 0; i < 3; i++)
		rm_db(shard[i]);
}
END_TEST

START_TEST(test_constraints_and_invalid_points)
{
	char spec[256], db[256], args[1024], out[4096], errout[4096];
	tmp_path(spec, sizeof spec, "heads.cfg");
	tmp_path(db, sizeof db, "heads.db");
	rm_db(db);
	/* 3 x 3 = 9 points: the constraint excludes the 3 with d_model 3072;
	 * 24 heads divide neither 2048 nor 4096, which no constraint says:
	 * those 2 points do not validate and become infeasible rows */
	write_file(spec, "arch = \"h100\"; model = \"llama3-8b\";\n"
	                 "run = { phase = \"prefill\"; seq = 512; };\n"
	                 "set = [ \"model.head_dim=0\" ];\n"
	                 "axes = ( { key = \"model.d_model\"; values = [2048, 3072, 4096]; },\n"
	                 "         { key = \"model.n_heads\"; values = [16, 24, 32]; } );\n"
	                 "constraints = [ \"model.d_model != 3072\" ];\n");
	snprintf(args, sizeof args, "sweep %s --db %s --jobs 2", spec, db);
	int rc = t_cli(args, out, sizeof out, errout, sizeof errout);
	ck_assert_msg(rc == 0, "exit %d: %s", rc, errout);
	ck_assert_msg(strstr(errout, "3 excluded by constraints"), "%s", errout);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM points"), 6);
	/* 2048/24 and 4096/24 do not divide: infeasible rows that say why */
	rows_t r;
	query(db, "SELECT model_d_model, reason FROM v_sweep_1 WHERE status = 'infeasible' ORDER BY 1", &r);
	ck_assert_int_eq(r.n, 2);
	ck_assert_int_eq(r.v[0], 2048);
	ck_assert_int_eq(r.v[1], 4096);
	ck_assert_msg(strstr(r.s[0], "invalid design point") && strstr(r.s[0], "does not divide"), "%s", r.s[0]);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM v_ok"), 4);
	unlink(spec);
	rm_db(db);
}
END_TEST

START_TEST(test_demo_runs)
{
	char db[256], args[512], out[16384], errout[4096];
	tmp_path(db, sizeof db, "demo.db");
	rm_db(db);
	snprintf(args, sizeof args, "demo --db %s --jobs 2", db);
	int rc = t_cli(args, out, sizeof out, errout, sizeof errout);
	ck_assert_msg(rc == 0, "exit %d: %s", rc, errout);
	ck_assert_msg(strstr(out, "prefill") && strstr(out, "What it found") && strstr(out, "codesim query"), "%s", out);
	ck_assert_int_eq(query_int(db, "SELECT count(*) FROM points WHERE status = 'ok'"), 18);
	/* a second run reuses every point */
	rc = t_cli(args, out, sizeof out, errout, sizeof errout);
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(strstr(out, "18 reused"), "%s", out);
	rm_db(db);
}
END_TEST

/* A point stored under another model version is not done: the resumed
 * sweep recomputes it, as a sweep of its own (no mixing), and only then
 * skips it. */
START_TEST(test_model_version_resume)
{
	char db_path[256], err[ARCH_ERR_MAX];
	tmp_path(db_path, sizeof db_path, "version.db");
	rm_db(db_path);
	xp_sweep sw;
	load_spec(&sw, "version.cfg",
	          "name = \"t-version\"; arch = \"h100\"; model = \"llama3-8b\";\n"
	          "run = { phase = \"decode\"; context = 1024; };\n"
	          "axes = ( { key = \"run.batch\"; values = [1, 2, 3]; } );\n");
	res_db *db;
	ck_assert_msg(res_db_open(db_path, &db, err, sizeof err) == 0, "%s", err);
	xp_sweep_opts o = {t_home(), 2, 0, 1, 60, -1, NULL, "t-older"};
	xp_sweep_stats st1, st2, st3;
	ck_assert_msg(xp_sweep_run(&sw, &o, db, &st1, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(st1.ok, 3);
	ck_assert_int_eq(st1.other_versions, 0);
	/* the same spec, this codesim's version: nothing is done yet */
	o.model_version = NULL;
	ck_assert_msg(xp_sweep_run(&sw, &o, db, &st2, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(st2.skipped, 0);
	ck_assert_int_eq(st2.ok, 3);
	ck_assert(st2.sweep_id != st1.sweep_id);
	ck_assert_int_eq(st2.other_versions, 1);
	ck_assert_int_eq(st2.other_version_id, st1.sweep_id);
	/* and now it is */
	ck_assert_msg(xp_sweep_run(&sw, &o, db, &st3, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(st3.skipped, 3);
	ck_assert_int_eq(st3.ok, 0);
	ck_assert_int_eq(st3.sweep_id, st2.sweep_id);
	res_db_close(db);
	/* the identity, built by hand: the version line, then the resolved config */
	xp_spec spec;
	xp_point pt;
	char vals[XP_AXES_MAX][XP_VAL_MAX], sql[512];
	xp_sweep_values(&sw, 1, vals);
	xp_sweep_spec(&sw, vals, &spec);
	ck_assert_msg(xp_resolve(t_home(), &spec, &pt, err, sizeof err) == 0, "%s", err);
	size_t n = xp_point_text(&pt, NULL, 0) + 1;
	char *text = malloc(n + 128), hash[17], old_hash[17];
	ck_assert(text != NULL);
	int h = snprintf(text, 128, "codesim.model_version = \"%s\";\n", CODESIM_MODEL_VERSION);
	xp_point_text(&pt, text + h, n);
	res_db_hash_hex(text, strlen(text), hash);
	h = snprintf(text, 128, "codesim.model_version = \"t-older\";\n");
	xp_point_text(&pt, text + h, n);
	res_db_hash_hex(text, strlen(text), old_hash);
	ck_assert_str_ne(hash, old_hash);
	free(text);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM v_results WHERE sweep_id = %lld AND hash = '%s' AND idx = 1",
	         st2.sweep_id, hash);
	ck_assert_int_eq(query_int(db_path, sql), 1);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM v_results WHERE sweep_id = %lld AND hash = '%s' AND idx = 1",
	         st1.sweep_id, old_hash);
	ck_assert_int_eq(query_int(db_path, sql), 1);
	/* each sweep holds its own version's three points, no more */
	ck_assert_int_eq(query_int(db_path, "SELECT count(*) FROM points"), 6);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM v_results WHERE sweep_id = %lld", st2.sweep_id);
	ck_assert_int_eq(query_int(db_path, sql), 3);
	ck_assert_int_eq(query_int(db_path, "SELECT count(*) FROM points WHERE config LIKE "
	                                    "'codesim.model_version = \"t-older\";%'"), 3);
	xp_sweep_free(&sw);
	rm_db(db_path);
}
END_TEST

/* ---- the fork pool (forkpool.h) ----------------------------------------- */

typedef struct {
	int njobs, next, running, max_running, ticks, interrupt_at;
	int ndone[8], status[8];
	long out[8], rss[8];
	char err[8][ARCH_ERR_MAX];
} tpool;

static int tp_next(void *ctx, int slot, long *job)
{
	tpool *T = ctx;
	(void)slot;
	if (T->next >= T->njobs)
		return XP_NEXT_NONE;
	*job = T->next++;
	if (++T->running > T->max_running)
		T->max_running = T->running;
	return XP_NEXT_START;
}

/* job 2 crashes, 3 hangs, 4 fails with a message, 6 hangs; the rest send job^2 */
static int tp_work(void *ctx, int slot, long job, void *out, char *err, size_t errlen)
{
	(void)ctx, (void)slot;
	if (job == 2) {
		struct rlimit no_core = {0, 0};
		setrlimit(RLIMIT_CORE, &no_core);
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
	}
	if (job == 3 || job == 6)
		for (;;)
			pause();
	if (job == 4) {
		snprintf(err, errlen, "nope");
		return -1;
	}
	*(long *)out += job * job;   /* out arrives zeroed */
	return 0;
}

static int tp_done(void *ctx, int slot, long job, const xp_job_result *r)
{
	tpool *T = ctx;
	(void)slot;
	T->running--;
	T->ndone[job]++;
	T->status[job] = r->status;
	T->out[job] = r->out ? *(const long *)r->out : -1;
	T->rss[job] = r->rss_kB;
	snprintf(T->err[job], sizeof T->err[job], "%s", r->err);
	return 0;
}

static int tp_tick(void *ctx)
{
	tpool *T = ctx;
	if (T->interrupt_at && ++T->ticks == T->interrupt_at)
		kill(getpid(), SIGINT);
	return 0;
}

START_TEST(test_forkpool_results)
{
	tpool T;
	memset(&T, 0, sizeof T);
	T.njobs = 6;
	xp_forkpool p = {.jobs = 3, .timeout_s = 0.5, .size = sizeof(long), .ctx = &T, .next = tp_next,
	                 .work = tp_work, .done = tp_done};
	char err[256] = "";
	int intr = -1;
	double t0 = xp_now_s();
	ck_assert_msg(xp_forkpool_run(&p, &intr, err, sizeof err) == 0, "%s", err);
	double wall = xp_now_s() - t0;
	ck_assert_int_eq(intr, 0);
	/* every job ended exactly once, never more than 3 at a time */
	for (int j = 0; j < 6; j++)
		ck_assert_msg(T.ndone[j] == 1, "job %d ended %d times", j, T.ndone[j]);
	ck_assert_int_eq(T.max_running, 3);
	ck_assert_int_eq(T.running, 0);
	for (int j = 0; j < 6; j++)
		if (j == 0 || j == 1 || j == 5) {
			ck_assert_int_eq(T.status[j], XP_JOB_OK);
			ck_assert_int_eq(T.out[j], (long)j * j);
			ck_assert(T.rss[j] > 0);
		}
	ck_assert_int_eq(T.status[2], XP_JOB_CRASHED);
	ck_assert_msg(strstr(T.err[2], "worker crashed (signal 11"), "%s", T.err[2]);
	ck_assert_int_eq(T.rss[2], -1);
	ck_assert_int_eq(T.status[3], XP_JOB_TIMEOUT);
	ck_assert_str_eq(T.err[3], "timed out after 0.5 s");
	ck_assert_int_eq(T.status[4], XP_JOB_FAILED);
	ck_assert_str_eq(T.err[4], "nope");
	ck_assert_int_eq(T.out[4], -1);
	/* the hang costs the timeout, not more than a poll tick past it */
	ck_assert_msg(wall >= 0.5 && wall < 2.0, "wall %.3f s", wall);
}
END_TEST

START_TEST(test_forkpool_interrupt)
{
	tpool T;
	memset(&T, 0, sizeof T);
	T.njobs = 8;
	T.interrupt_at = 3;
	/* jobs 3 and 6 hang with no timeout: only the interrupt ends the run */
	xp_forkpool p = {.jobs = 8, .size = sizeof(long), .stop_on_signal = 1, .ctx = &T, .next = tp_next,
	                 .work = tp_work, .done = tp_done, .tick = tp_tick};
	char err[256] = "";
	int intr = 0;
	ck_assert_msg(xp_forkpool_run(&p, &intr, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(intr, 1);
	ck_assert_int_eq(T.running, 0);
	for (int j = 0; j < 8; j++)
		ck_assert_msg(T.ndone[j] == 1, "job %d ended %d times", j, T.ndone[j]);
	ck_assert_int_eq(T.status[3], XP_JOB_CANCELLED);
	ck_assert_int_eq(T.status[6], XP_JOB_CANCELLED);
	/* the signal was consumed and the caller's mask is back: nothing pending, nothing blocked */
	sigset_t set;
	sigpending(&set);
	ck_assert(!sigismember(&set, SIGINT));
	sigprocmask(SIG_BLOCK, NULL, &set);
	ck_assert(!sigismember(&set, SIGINT));
	/* no worker is left behind */
	ck_assert(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
}
END_TEST

/* a resumed sweep: every job already finished, skipped without a worker;
 * Ctrl-C arrives early in the walk */
static long skip_calls;
static int skip_next(void *ctx, int slot, long *job)
{
	(void)ctx, (void)slot, (void)job;
	if (skip_calls >= 200000000L)
		return XP_NEXT_NONE;
	if (++skip_calls == 1000)
		kill(getpid(), SIGINT);
	return XP_NEXT_SKIP;
}

START_TEST(test_forkpool_interrupt_while_skipping)
{
	/* the pool notices the interrupt within a fill slice, not after walking
	 * all 2e8 finished jobs (which would end the walk uninterrupted and let
	 * the pending SIGINT kill this process when the mask is restored) */
	tpool T;
	memset(&T, 0, sizeof T);
	skip_calls = 0;
	xp_forkpool p = {.jobs = 2, .size = sizeof(long), .stop_on_signal = 1, .ctx = &T, .next = skip_next,
	                 .work = tp_work, .done = tp_done, .tick = tp_tick};
	char err[256] = "";
	int intr = 0;
	ck_assert_msg(xp_forkpool_run(&p, &intr, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(intr, 1);
	ck_assert_msg(skip_calls < 200000000L, "walked all %ld skipped jobs before stopping", skip_calls);
	sigset_t set;
	sigpending(&set);
	ck_assert(!sigismember(&set, SIGINT));
}
END_TEST

Suite *suite_sweep(void)
{
	Suite *s = suite_create("sweep");
	TCase *unit = tcase_create("spec");
	tcase_add_test(unit, test_grid_points);
	tcase_add_test(unit, test_random_reproducible);
	tcase_add_test(unit, test_lhs_strata);
	tcase_add_test(unit, test_constraints);
	tcase_add_test(unit, test_store_api);
	tcase_add_test(unit, test_schema_migration);
	suite_add_tcase(s, unit);
	TCase *e2e = tcase_create("end-to-end");
	tcase_set_timeout(e2e, 60);
	tcase_add_test(e2e, test_bad_input_writes_nothing);
	tcase_add_test(e2e, test_crash_and_hang_recorded);
	tcase_add_test(e2e, test_forkpool_results);
	tcase_add_test(e2e, test_model_version_resume);
	tcase_add_test(e2e, test_forkpool_interrupt);
	tcase_add_test(e2e, test_forkpool_interrupt_while_skipping);
	tcase_add_test(e2e, test_sigkill_resume);
	tcase_add_test(e2e, test_shard_merge);
	tcase_add_test(e2e, test_constraints_and_invalid_points);
	tcase_add_test(e2e, test_demo_runs);
	suite_add_tcase(s, e2e);
	return s;
}
