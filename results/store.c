/*
 * store.c - the results database: schema and migrations, point writes,
 * queries, shard merging (DESIGN 8; the schema is documented in
 * README.md, "Sweeps" and store.h).
 *
 * Why these choices:
 * - A point's identity is the hash of its resolved config text, UNIQUE in
 *   points, and each point's rows are written in one savepoint: a sweep
 *   killed at any moment (SIGKILL included) leaves whole points or none,
 *   so a re-run skips exactly what is finished.
 * - points hold the identity; sweep_points says which sweeps a point
 *   serves, so two sweeps sharing a point compute it once.
 * - metrics is wide (one row per point, one column per res_t headline
 *   field): the questions people ask ("best tokens/s under $X/Mtok") are
 *   single-table SQL.  parameters is long (point, key, value), because the
 *   swept keys differ from sweep to sweep; v_sweep_<id> pivots them.
 * - WAL: a reader (sqlite3, codesim query) reads while a sweep writes.
 *   synchronous=NORMAL: a committed point survives a process crash; only
 *   an OS crash may lose the last commits, which a re-run recomputes.
 */
#include "store.h"

#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(BOUND_COUNT == 4, "metrics columns name each bound: add a schema migration for a new one");
_Static_assert(CLS_COUNT == 6, "metrics columns name each kernel class: add a schema migration for a new one");

struct res_db {
	sqlite3 *h;
	int readonly;
	sqlite3_stmt *done, *find_point, *ins_point, *upd_point, *link, *ins_param, *ins_metrics, *ins_kernel;
	sqlite3_stmt *del_params, *del_metrics, *del_kernels;
	sqlite3_stmt *find_sweep, *ins_sweep;
	sqlite3_stmt *sp_begin, *sp_release, *sp_rollback, *begin, *commit;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void res_db_hash_hex(const char *text, size_t len, char out[17])
{
	snprintf(out, 17, "%016llx", (unsigned long long)arch_hash(text, len));
}

/* ---- the metrics columns: one table drives DDL, inserts and copies ---- */

typedef enum { MC_DOUBLE, MC_INT, MC_LONG, MC_TEXT, MC_ENUM } mc_type;

typedef struct {
	const char *name;
	mc_type type;
	size_t off;
	const char *const *names;   /* MC_ENUM */
	size_t size;                /* MC_TEXT: the field's buffer */
} mcol;

#define MD(n, f) {n, MC_DOUBLE, offsetof(res_t, f), NULL, 0}
#define MI(n, f) {n, MC_INT, offsetof(res_t, f), NULL, 0}
#define MT(n, f) {n, MC_TEXT, offsetof(res_t, f), NULL, sizeof(((res_t *)0)->f)}
#define ME(n, f, names) {n, MC_ENUM, offsetof(res_t, f), names, 0}

/* Schema version 1: never edit these columns; add a migration instead. */
static const mcol mcols[] = {
	MT("arch", arch), MT("model", model), ME("phase", phase, wl_phase_names),
	ME("dtype", dtype, arch_dtype_names), ME("fusion", fusion, wl_fusion_names),
	ME("recompute", recompute, wl_recompute_names), MI("zero", zero), MI("batch", batch), MI("seq", seq),
	MI("context", context), MI("gen", gen), MI("micro_batch", micro_batch), MI("chips", chips), MI("tp", tp),
	MI("pp", pp), MI("dp", dp), MI("ep", ep), MI("vpp", vpp), MI("n_micro", n_micro), MI("feasible", feasible),
	MT("reason", reason),
	MD("time_s", time_s), MD("tokens_per_s", tokens_per_s), MD("mfu", mfu), MD("hfu", hfu), MD("flops", flops),
	MD("hw_flops", hw_flops), MD("hbm_bytes", hbm_bytes), MD("sram_bytes", sram_bytes),
	MD("comm_bytes", comm_bytes), MD("energy_j", energy_j), MD("avg_power_w", avg_power_w),
	MD("j_per_token", j_per_token), MD("tokens_per_j", tokens_per_j), MD("usd_per_mtok", usd_per_mtok),
	MD("ttft_s", ttft_s), MD("tpot_s", tpot_s), MD("peak_flops", peak_flops), MD("bubble_frac", bubble_frac),
	MD("fusion_saved_bytes", fusion_saved_bytes), MD("mem_weights_GB", mem_weights_GB),
	MD("mem_grads_GB", mem_grads_GB), MD("mem_optim_GB", mem_optim_GB), MD("mem_act_GB", mem_act_GB),
	MD("mem_kv_GB", mem_kv_GB), MD("mem_total_GB", mem_total_GB), MD("mem_capacity_GB", mem_capacity_GB),
	MD("params_B", params_B), MD("active_params_B", active_params_B),
	MD("bound_compute_s", bound_s[BOUND_COMPUTE]), MD("bound_memory_s", bound_s[BOUND_MEMORY]),
	MD("bound_latency_s", bound_s[BOUND_LATENCY]), MD("bound_comm_s", bound_s[BOUND_COMM]),
	MD("gemm_flops", cls_flops[CLS_GEMM]), MD("gemm_time_s", cls_time_s[CLS_GEMM]),
	MD("attention_flops", cls_flops[CLS_ATTN]), MD("attention_time_s", cls_time_s[CLS_ATTN]),
	MD("norm_flops", cls_flops[CLS_NORM]), MD("norm_time_s", cls_time_s[CLS_NORM]),
	MD("elementwise_flops", cls_flops[CLS_ELEM]), MD("elementwise_time_s", cls_time_s[CLS_ELEM]),
	MD("comm_flops", cls_flops[CLS_COMM]), MD("comm_time_s", cls_time_s[CLS_COMM]),
	MD("other_flops", cls_flops[CLS_OTHER]), MD("other_time_s", cls_time_s[CLS_OTHER]),
	{"nkernels", MC_INT, offsetof(res_t, nkernels), NULL, 0}, {"events", MC_LONG, offsetof(res_t, events), NULL, 0},
};
#define NMCOLS (sizeof mcols / sizeof mcols[0])

static const char *sql_type(mc_type t)
{
	return t == MC_DOUBLE ? "REAL" : (t == MC_TEXT || t == MC_ENUM) ? "TEXT" : "INTEGER";
}

/* "a, b, c" (prefix each with pre) into buf; returns 0 or -1 if too small. */
static int mcol_list(char *buf, size_t len, const char *pre, int with_types)
{
	size_t u = 0;
	for (size_t i = 0; i < NMCOLS; i++) {
		int w = snprintf(buf + u, len - u, "%s%s%s%s%s", i ? ", " : "", pre, mcols[i].name, with_types ? " " : "",
		                 with_types ? sql_type(mcols[i].type) : "");
		if (w < 0 || (size_t)w >= len - u)
			return -1;
		u += (size_t)w;
	}
	return 0;
}

int res_metric_set(res_t *r, const char *col, const char *text)
{
	for (size_t i = 0; i < NMCOLS; i++) {
		const mcol *c = &mcols[i];
		if (strcmp(c->name, col))
			continue;
		char *dst = (char *)r + c->off;
		switch (c->type) {
		case MC_DOUBLE: {
			double d = atof(text);
			memcpy(dst, &d, sizeof d);
			break;
		}
		case MC_INT: {
			int k = atoi(text);
			memcpy(dst, &k, sizeof k);
			break;
		}
		case MC_LONG: {
			long k = atol(text);
			memcpy(dst, &k, sizeof k);
			break;
		}
		case MC_TEXT:
			snprintf(dst, c->size, "%s", text);
			break;
		case MC_ENUM: {
			int k = 0;
			for (int e = 0; c->names[e]; e++)
				if (!strcmp(c->names[e], text))
					k = e;
			memcpy(dst, &k, sizeof k);
			break;
		}
		}
		return 0;
	}
	return 1;
}

/* ---- schema ---------------------------------------------------------- */

static const char schema_v1_head[] =
    "CREATE TABLE sweeps (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL,\n"
    "  spec_hash TEXT NOT NULL,\n"
    "  spec_text TEXT NOT NULL,\n"
    "  axes TEXT NOT NULL DEFAULT '',\n"
    "  created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),\n"
    "  UNIQUE (name, spec_hash));\n"
    "CREATE TABLE points (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  hash TEXT NOT NULL UNIQUE,\n"
    "  sweep_id INTEGER REFERENCES sweeps(id),\n"
    "  status TEXT NOT NULL CHECK (status IN ('ok', 'infeasible', 'failed', 'timeout')),\n"
    "  reason TEXT NOT NULL DEFAULT '',\n"
    "  config TEXT NOT NULL,\n"
    "  wall_s REAL,\n"
    "  rss_kB INTEGER,\n"
    "  created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')));\n"
    "CREATE TABLE sweep_points (\n"
    "  sweep_id INTEGER NOT NULL REFERENCES sweeps(id),\n"
    "  point_id INTEGER NOT NULL REFERENCES points(id),\n"
    "  idx INTEGER,\n"
    "  PRIMARY KEY (sweep_id, point_id)) WITHOUT ROWID;\n"
    "CREATE INDEX sweep_points_point ON sweep_points(point_id);\n"
    "CREATE TABLE parameters (\n"
    "  point_id INTEGER NOT NULL REFERENCES points(id),\n"
    "  key TEXT NOT NULL,\n"
    "  value TEXT NOT NULL,\n"
    "  num REAL,\n"
    "  PRIMARY KEY (point_id, key)) WITHOUT ROWID;\n"
    "CREATE INDEX parameters_key ON parameters(key, num);\n"
    "CREATE TABLE kernels (\n"
    "  point_id INTEGER NOT NULL REFERENCES points(id),\n"
    "  idx INTEGER NOT NULL,\n"
    "  name TEXT, kind TEXT, segment TEXT, tiling TEXT,\n"
    "  count REAL, time_s REAL, flops REAL, bytes REAL, sram_bytes REAL,\n"
    "  bound TEXT, recomputed INTEGER,\n"
    "  PRIMARY KEY (point_id, idx)) WITHOUT ROWID;\n";

/* v_results of schema version 1; version 2 adds points.cpu_s to it */
#define V_RESULTS(WORKER_COLS) \
    "CREATE VIEW v_results AS\n" \
    "SELECT sp.sweep_id, s.name AS sweep, sp.idx, p.id AS point_id, p.hash, p.status, p.reason,\n" \
    "  (SELECT group_concat(q.key || '=' || q.value, ' ') FROM parameters q WHERE q.point_id = p.id) AS params,\n" \
    "  m.arch, m.model, m.phase, m.dtype, m.batch, m.seq, m.context, m.gen, m.chips, m.tp, m.pp, m.dp, m.ep,\n" \
    "  m.feasible, m.time_s, m.tokens_per_s, m.mfu, m.hfu, m.flops, m.hbm_bytes, m.energy_j, m.j_per_token,\n" \
    "  m.usd_per_mtok, m.ttft_s, m.tpot_s, m.mem_total_GB, m.mem_capacity_GB, m.avg_power_w,\n" \
    "  m.avg_power_w * m.chips AS system_power_w,\n" \
    "  m.bound_compute_s, m.bound_memory_s, m.bound_latency_s, m.bound_comm_s, " WORKER_COLS "\n" \
    "FROM sweep_points sp JOIN points p ON p.id = sp.point_id JOIN sweeps s ON s.id = sp.sweep_id\n" \
    "LEFT JOIN metrics m ON m.point_id = p.id;\n"

static const char schema_v1_views[] =
    V_RESULTS("p.wall_s, p.rss_kB")
    "CREATE VIEW v_ok AS SELECT * FROM v_results WHERE status = 'ok';\n"
    "CREATE VIEW v_best AS\n"
    "SELECT sweep_id, sweep, metric, goal, value, point_id, params FROM (\n"
    "  SELECT sweep_id, sweep, 'tokens_per_s' AS metric, 'max' AS goal, tokens_per_s AS value, point_id, params,\n"
    "    row_number() OVER (PARTITION BY sweep_id ORDER BY tokens_per_s DESC, point_id) AS rn FROM v_ok\n"
    "  UNION ALL\n"
    "  SELECT sweep_id, sweep, 'mfu', 'max', mfu, point_id, params,\n"
    "    row_number() OVER (PARTITION BY sweep_id ORDER BY mfu DESC, point_id) FROM v_ok\n"
    "  UNION ALL\n"
    "  SELECT sweep_id, sweep, 'time_s', 'min', time_s, point_id, params,\n"
    "    row_number() OVER (PARTITION BY sweep_id ORDER BY time_s, point_id) FROM v_ok\n"
    "  UNION ALL\n"
    "  SELECT sweep_id, sweep, 'usd_per_mtok', 'min', usd_per_mtok, point_id, params,\n"
    "    row_number() OVER (PARTITION BY sweep_id ORDER BY usd_per_mtok, point_id) FROM v_ok\n"
    "  UNION ALL\n"
    "  SELECT sweep_id, sweep, 'j_per_token', 'min', j_per_token, point_id, params,\n"
    "    row_number() OVER (PARTITION BY sweep_id ORDER BY j_per_token, point_id) FROM v_ok)\n"
    "WHERE rn = 1;\n"
    "CREATE VIEW v_pareto AS\n"
    "SELECT a.sweep_id, a.sweep, a.point_id, a.params, a.arch, a.model, a.tokens_per_s, a.usd_per_mtok,\n"
    "  a.system_power_w, a.mfu FROM v_ok a\n"
    "WHERE NOT EXISTS (SELECT 1 FROM v_ok b WHERE b.sweep_id = a.sweep_id\n"
    "  AND b.tokens_per_s >= a.tokens_per_s AND b.usd_per_mtok <= a.usd_per_mtok\n"
    "  AND (b.tokens_per_s > a.tokens_per_s OR b.usd_per_mtok < a.usd_per_mtok))\n"
    "ORDER BY a.sweep_id, a.tokens_per_s;\n"
    "CREATE VIEW v_pareto_power AS\n"
    "SELECT a.sweep_id, a.sweep, a.point_id, a.params, a.arch, a.model, a.tokens_per_s, a.system_power_w,\n"
    "  a.usd_per_mtok, a.mfu FROM v_ok a\n"
    "WHERE NOT EXISTS (SELECT 1 FROM v_ok b WHERE b.sweep_id = a.sweep_id\n"
    "  AND b.tokens_per_s >= a.tokens_per_s AND b.system_power_w <= a.system_power_w\n"
    "  AND (b.tokens_per_s > a.tokens_per_s OR b.system_power_w < a.system_power_w))\n"
    "ORDER BY a.sweep_id, a.tokens_per_s;\n";

static int exec_sql(sqlite3 *h, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		set_err(err, errlen, "%s", msg ? msg : sqlite3_errmsg(h));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int migrate_v1(sqlite3 *h, char *err, size_t errlen)
{
	char cols[4096], *ddl;
	if (mcol_list(cols, sizeof cols, "", 1))
		return set_err(err, errlen, "metrics column list too long"), -1;
	size_t n = strlen(schema_v1_head) + strlen(cols) + strlen(schema_v1_views) + 256;
	if (!(ddl = malloc(n)))
		return set_err(err, errlen, "out of memory"), -1;
	snprintf(ddl, n, "%sCREATE TABLE metrics (\n  point_id INTEGER PRIMARY KEY REFERENCES points(id),\n  %s);\n%s",
	         schema_v1_head, cols, schema_v1_views);
	int rc = exec_sql(h, ddl, err, errlen);
	free(ddl);
	return rc;
}

/* Version 2: the worker's CPU time per point (what a point costs one core,
 * unlike wall time, which depends on what else runs). */
static int migrate_v2(sqlite3 *h, char *err, size_t errlen)
{
	/* a development build wrote cpu_s under version 1: add it only if missing */
	sqlite3_stmt *st;
	int have = 0;
	if (sqlite3_prepare_v2(h, "SELECT count(*) FROM pragma_table_info('points') WHERE name = 'cpu_s'", -1, &st,
	                       NULL) != SQLITE_OK)
		return set_err(err, errlen, "%s", sqlite3_errmsg(h)), -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		have = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (!have && exec_sql(h, "ALTER TABLE points ADD COLUMN cpu_s REAL", err, errlen))
		return -1;
	return exec_sql(h, "DROP VIEW v_results;\n" V_RESULTS("p.wall_s, p.cpu_s, p.rss_kB"), err, errlen);
}

/* Migrations in order: migrations[i] takes the schema from version i to i+1.
 * A released version is never edited: add a migration. */
static int (*const migrations[])(sqlite3 *, char *, size_t) = {migrate_v1, migrate_v2};
_Static_assert(sizeof migrations / sizeof migrations[0] == RES_DB_SCHEMA_VERSION, "one migration per version");

static int user_version(sqlite3 *h, const char *schema, int *v)
{
	sqlite3_stmt *st;
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA %s.user_version", schema);
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : -1;
	if (!rc)
		*v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc;
}

static int migrate(sqlite3 *h, const char *path, char *err, size_t errlen)
{
	int v;
	if (user_version(h, "main", &v))
		return set_err(err, errlen, "%s: %s", path, sqlite3_errmsg(h)), -1;
	if (v == RES_DB_SCHEMA_VERSION)
		return 0;
	if (v > RES_DB_SCHEMA_VERSION)
		return set_err(err, errlen, "%s: schema version %d is newer than this codesim's (%d)", path, v,
		               RES_DB_SCHEMA_VERSION), -1;
	/* BEGIN IMMEDIATE and read the version again: two processes opening a
	 * new database at once must not both migrate it */
	if (exec_sql(h, "BEGIN IMMEDIATE", err, errlen))
		return -1;
	if (user_version(h, "main", &v)) {
		set_err(err, errlen, "%s: %s", path, sqlite3_errmsg(h));
		goto rollback;
	}
	if (v == 0) {
		sqlite3_stmt *st;
		int other = 0;
		if (sqlite3_prepare_v2(h, "SELECT count(*) FROM sqlite_master", -1, &st, NULL) == SQLITE_OK) {
			if (sqlite3_step(st) == SQLITE_ROW)
				other = sqlite3_column_int(st, 0);
			sqlite3_finalize(st);
		}
		if (other) {
			set_err(err, errlen, "%s: not a codesim results database (it has tables, schema version 0)", path);
			goto rollback;
		}
	}
	for (; v < RES_DB_SCHEMA_VERSION; v++) {
		char e[512];
		if (migrations[v](h, e, sizeof e)) {
			set_err(err, errlen, "%s: migrating the schema to version %d: %s", path, v + 1, e);
			goto rollback;
		}
	}
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", RES_DB_SCHEMA_VERSION);
	if (exec_sql(h, sql, err, errlen) || exec_sql(h, "COMMIT", err, errlen))
		goto rollback;
	return 0;
rollback:
	sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* ---- open / close ---------------------------------------------------- */

static int prep(res_db *db, sqlite3_stmt **st, const char *sql, char *err, size_t errlen)
{
	if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
		set_err(err, errlen, "preparing '%.60s...': %s", sql, sqlite3_errmsg(db->h));
		return -1;
	}
	return 0;
}

static int prepare_all(res_db *db, char *err, size_t errlen)
{
	char cols[4096], ins[8192];
	if (mcol_list(cols, sizeof cols, "", 0))
		return set_err(err, errlen, "metrics column list too long"), -1;
	size_t u = (size_t)snprintf(ins, sizeof ins, "INSERT INTO metrics (point_id, %s) VALUES (?", cols);
	for (size_t i = 0; i < NMCOLS && u < sizeof ins; i++)
		u += (size_t)snprintf(ins + u, sizeof ins - u, ", ?");
	if (u + 2 >= sizeof ins)
		return set_err(err, errlen, "metrics insert too long"), -1;
	strcat(ins, ")");
	return prep(db, &db->done, "SELECT 1 FROM points WHERE hash = ?1 AND status IN ('ok', 'infeasible')", err,
	            errlen) ||
	       prep(db, &db->find_point, "SELECT id, status FROM points WHERE hash = ?1", err, errlen) ||
	       prep(db, &db->ins_point,
	            "INSERT INTO points (hash, sweep_id, status, reason, config, wall_s, rss_kB, cpu_s) "
	            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", err, errlen) ||
	       prep(db, &db->upd_point,
	            "UPDATE points SET sweep_id = ?2, status = ?3, reason = ?4, config = ?5, wall_s = ?6, rss_kB = ?7, "
	            "cpu_s = ?8, created = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?1", err, errlen) ||
	       prep(db, &db->link, "INSERT OR IGNORE INTO sweep_points (sweep_id, point_id, idx) VALUES (?1, ?2, ?3)",
	            err, errlen) ||
	       prep(db, &db->ins_param,
	            "INSERT OR IGNORE INTO parameters (point_id, key, value, num) VALUES (?1, ?2, ?3, ?4)", err, errlen) ||
	       prep(db, &db->ins_metrics, ins, err, errlen) ||
	       prep(db, &db->ins_kernel,
	            "INSERT INTO kernels (point_id, idx, name, kind, segment, tiling, count, time_s, flops, bytes, "
	            "sram_bytes, bound, recomputed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	            err, errlen) ||
	       prep(db, &db->del_params, "DELETE FROM parameters WHERE point_id = ?1", err, errlen) ||
	       prep(db, &db->del_metrics, "DELETE FROM metrics WHERE point_id = ?1", err, errlen) ||
	       prep(db, &db->del_kernels, "DELETE FROM kernels WHERE point_id = ?1", err, errlen) ||
	       prep(db, &db->find_sweep, "SELECT id FROM sweeps WHERE name = ?1 AND spec_hash = ?2", err, errlen) ||
	       prep(db, &db->ins_sweep, "INSERT INTO sweeps (name, spec_hash, spec_text) VALUES (?1, ?2, ?3)", err,
	            errlen) ||
	       prep(db, &db->sp_begin, "SAVEPOINT res_put", err, errlen) ||
	       prep(db, &db->sp_release, "RELEASE res_put", err, errlen) ||
	       prep(db, &db->sp_rollback, "ROLLBACK TO res_put", err, errlen) ||
	       prep(db, &db->begin, "BEGIN IMMEDIATE", err, errlen) || prep(db, &db->commit, "COMMIT", err, errlen)
	           ? -1
	           : 0;
}

static int open_db(const char *path, int readonly, res_db **out, char *err, size_t errlen)
{
	res_db *db = calloc(1, sizeof *db);
	*out = NULL;
	if (!db)
		return set_err(err, errlen, "out of memory"), -1;
	db->readonly = readonly;
	int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &db->h, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		set_err(err, errlen, "%s: cannot open database: %s", path, db->h ? sqlite3_errmsg(db->h) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(db->h, 10000);
	sqlite3_extended_result_codes(db->h, 1);
	if (readonly) {
		/* a read-only open succeeds on any file: check it is a database */
		int v;
		if (user_version(db->h, "main", &v)) {
			set_err(err, errlen, "%s: not a database: %s", path, sqlite3_errmsg(db->h));
			goto fail;
		}
		*out = db;
		return 0;
	}
	char e[512];
	if (exec_sql(db->h, "PRAGMA journal_mode = WAL", e, sizeof e) ||
	    exec_sql(db->h, "PRAGMA synchronous = NORMAL", e, sizeof e)) {
		set_err(err, errlen, "%s: %s", path, e);
		goto fail;
	}
	if (migrate(db->h, path, err, errlen) || prepare_all(db, err, errlen))
		goto fail;
	*out = db;
	return 0;
fail:
	res_db_close(db);
	return -1;
}

int res_db_open(const char *path, res_db **out, char *err, size_t errlen)
{
	return open_db(path, 0, out, err, errlen);
}

int res_db_open_readonly(const char *path, res_db **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return set_err(err, errlen, "%s: no such database", path), -1;
	fclose(f);
	return open_db(path, 1, out, err, errlen);
}

void res_db_close(res_db *db)
{
	if (!db)
		return;
	sqlite3_stmt *all[] = {db->done, db->find_point, db->ins_point, db->upd_point, db->link, db->ins_param,
	                       db->ins_metrics, db->ins_kernel, db->del_params, db->del_metrics, db->del_kernels,
	                       db->find_sweep, db->ins_sweep, db->sp_begin, db->sp_release, db->sp_rollback,
	                       db->begin, db->commit};
	for (size_t i = 0; i < sizeof all / sizeof *all; i++)
		sqlite3_finalize(all[i]);
	sqlite3_close(db->h);
	free(db);
}

/* ---- statements ------------------------------------------------------ */

/* Step a statement that returns no row, then reset it. */
static int run_stmt(res_db *db, sqlite3_stmt *st, char *err, size_t errlen)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		set_err(err, errlen, "%s", sqlite3_errmsg(db->h));
		return -1;
	}
	return 0;
}

int res_db_begin(res_db *db)
{
	return run_stmt(db, db->begin, NULL, 0);
}

int res_db_commit(res_db *db)
{
	return run_stmt(db, db->commit, NULL, 0);
}

long long res_db_sweep(res_db *db, const char *name, const char *spec_text, char *err, size_t errlen)
{
	char hash[17];
	long long id = -1;
	res_db_hash_hex(spec_text, strlen(spec_text), hash);
	sqlite3_bind_text(db->find_sweep, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(db->find_sweep, 2, hash, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(db->find_sweep);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(db->find_sweep, 0);
	sqlite3_reset(db->find_sweep);
	sqlite3_clear_bindings(db->find_sweep);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		set_err(err, errlen, "%s", sqlite3_errmsg(db->h));
		return -1;
	}
	if (id >= 0)
		return id;
	sqlite3_bind_text(db->ins_sweep, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(db->ins_sweep, 2, hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(db->ins_sweep, 3, spec_text, -1, SQLITE_TRANSIENT);
	if (run_stmt(db, db->ins_sweep, err, errlen))
		return -1;
	return sqlite3_last_insert_rowid(db->h);
}

static int key_is_safe(const char *k)
{
	if (!*k || strlen(k) > 120)
		return 0;
	for (const char *p = k; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      *p == '.'))
			return 0;
	return 1;
}

/* The pivot view of a sweep.  Identifiers and key literals cannot be bound
 * parameters in DDL; keys are checked to be [A-Za-z0-9_.] first. */
static int create_sweep_view(sqlite3 *h, long long id, const char *axes, char *err, size_t errlen)
{
	size_t cap = 4096 + 256 * (strlen(axes) / 4 + 1);
	char *sql = malloc(cap), key[128];
	if (!sql)
		return set_err(err, errlen, "out of memory"), -1;
	size_t u = (size_t)snprintf(sql, cap, "DROP VIEW IF EXISTS v_sweep_%lld; CREATE VIEW v_sweep_%lld AS SELECT "
	                                      "v.point_id, v.idx, v.status", id, id);
	for (const char *p = axes; *p;) {
		size_t n = strcspn(p, " ");
		if (n > 0 && n < sizeof key) {
			memcpy(key, p, n);
			key[n] = 0;
			if (!key_is_safe(key)) {
				free(sql);
				return set_err(err, errlen, "axis key '%s' is not a key path", key), -1;
			}
			/* the preset axes: metrics already has arch and model */
			if (strcmp(key, "arch") && strcmp(key, "model")) {
				char col[128];
				snprintf(col, sizeof col, "%s", key);
				for (char *c = col; *c; c++)
					if (*c == '.')
						*c = '_';
				u += (size_t)snprintf(sql + u, cap - u,
				                      ", (SELECT coalesce(q.num, q.value) FROM parameters q WHERE q.point_id = "
				                      "v.point_id AND q.key = '%s') AS \"%s\"", key, col);
			}
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	u += (size_t)snprintf(sql + u, cap - u,
	                      ", v.arch, v.model, v.phase, v.batch, v.seq, v.context, v.chips, v.tp, v.pp, v.dp, "
	                      "v.time_s, v.tokens_per_s, v.mfu, v.usd_per_mtok, v.j_per_token, v.system_power_w, "
	                      "v.mem_total_GB, v.bound_compute_s, v.bound_memory_s, v.bound_latency_s, v.bound_comm_s, "
	                      "v.reason, v.hash, v.wall_s, v.cpu_s, v.rss_kB FROM v_results v WHERE v.sweep_id = %lld", id);
	int rc = u < cap ? exec_sql(h, sql, err, errlen) : (set_err(err, errlen, "view too long"), -1);
	free(sql);
	return rc;
}

int res_db_sweep_axes(res_db *db, long long sweep_id, int nkeys, const char *const *keys, char *err, size_t errlen)
{
	char axes[4096];
	size_t u = 0;
	axes[0] = 0;
	for (int i = 0; i < nkeys; i++) {
		if (!key_is_safe(keys[i]))
			return set_err(err, errlen, "axis key '%s' is not a key path", keys[i]), -1;
		int w = snprintf(axes + u, sizeof axes - u, "%s%s", i ? " " : "", keys[i]);
		if (w < 0 || (size_t)w >= sizeof axes - u)
			return set_err(err, errlen, "too many axes"), -1;
		u += (size_t)w;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->h, "UPDATE sweeps SET axes = ?2 WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
		return set_err(err, errlen, "%s", sqlite3_errmsg(db->h)), -1;
	sqlite3_bind_int64(st, 1, sweep_id);
	sqlite3_bind_text(st, 2, axes, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return set_err(err, errlen, "%s", sqlite3_errmsg(db->h)), -1;
	return create_sweep_view(db->h, sweep_id, axes, err, errlen);
}

int res_db_point_done(res_db *db, const char *hash)
{
	sqlite3_bind_text(db->done, 1, hash, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(db->done);
	sqlite3_reset(db->done);
	sqlite3_clear_bindings(db->done);
	return rc == SQLITE_ROW;
}

/* id and status of a stored point; 0 found, 1 not found, -1 error. */
static int find_point(res_db *db, const char *hash, long long *id, char *status, size_t slen)
{
	sqlite3_bind_text(db->find_point, 1, hash, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(db->find_point), out = 1;
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(db->find_point, 0);
		snprintf(status, slen, "%s", (const char *)sqlite3_column_text(db->find_point, 1));
		out = 0;
	} else if (rc != SQLITE_DONE) {
		out = -1;
	}
	sqlite3_reset(db->find_point);
	sqlite3_clear_bindings(db->find_point);
	return out;
}

static int is_done(const char *status)
{
	return !strcmp(status, "ok") || !strcmp(status, "infeasible");
}

static int put_params(res_db *db, long long pid, int n, const char *const *keys, const char *const *values, char *err,
                      size_t errlen)
{
	for (int i = 0; i < n; i++) {
		char *end;
		double v = strtod(values[i], &end);
		sqlite3_bind_int64(db->ins_param, 1, pid);
		sqlite3_bind_text(db->ins_param, 2, keys[i], -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(db->ins_param, 3, values[i], -1, SQLITE_TRANSIENT);
		if (end != values[i] && !*end && isfinite(v))
			sqlite3_bind_double(db->ins_param, 4, v);
		else
			sqlite3_bind_null(db->ins_param, 4);
		if (run_stmt(db, db->ins_param, err, errlen))
			return -1;
	}
	return 0;
}

static int link_point(res_db *db, long long sweep_id, long long pid, long long idx, char *err, size_t errlen)
{
	sqlite3_bind_int64(db->link, 1, sweep_id);
	sqlite3_bind_int64(db->link, 2, pid);
	if (idx >= 0)
		sqlite3_bind_int64(db->link, 3, idx);
	else
		sqlite3_bind_null(db->link, 3);
	return run_stmt(db, db->link, err, errlen);
}

static int put_metrics(res_db *db, long long pid, const res_t *r, char *err, size_t errlen)
{
	sqlite3_stmt *st = db->ins_metrics;
	const char *base = (const char *)r;
	sqlite3_bind_int64(st, 1, pid);
	for (size_t i = 0; i < NMCOLS; i++) {
		const mcol *c = &mcols[i];
		int at = (int)i + 2;
		switch (c->type) {
		case MC_DOUBLE: {
			double v = *(const double *)(base + c->off);
			if (isfinite(v))
				sqlite3_bind_double(st, at, v);
			else
				sqlite3_bind_null(st, at);
			break;
		}
		case MC_INT:
			sqlite3_bind_int(st, at, *(const int *)(base + c->off));
			break;
		case MC_LONG:
			sqlite3_bind_int64(st, at, *(const long *)(base + c->off));
			break;
		case MC_TEXT:
			sqlite3_bind_text(st, at, base + c->off, -1, SQLITE_TRANSIENT);
			break;
		case MC_ENUM: {
			int v = *(const int *)(base + c->off), n = 0;
			while (c->names[n])
				n++;
			if (v >= 0 && v < n)
				sqlite3_bind_text(st, at, c->names[v], -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(st, at);
			break;
		}
		}
	}
	if (run_stmt(db, st, err, errlen))
		return -1;
	int nk = r->nkernels < RES_MAX_KERNELS ? r->nkernels : RES_MAX_KERNELS;
	for (int i = 0; i < nk; i++) {
		const res_kernel *k = &r->kernels[i];
		sqlite3_stmt *kt = db->ins_kernel;
		sqlite3_bind_int64(kt, 1, pid);
		sqlite3_bind_int(kt, 2, i);
		sqlite3_bind_text(kt, 3, k->name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(kt, 4, k->kind, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(kt, 5, k->segment, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(kt, 6, k->tiling, -1, SQLITE_TRANSIENT);
		sqlite3_bind_double(kt, 7, k->count);
		sqlite3_bind_double(kt, 8, k->time_s);
		sqlite3_bind_double(kt, 9, k->flops);
		sqlite3_bind_double(kt, 10, k->bytes);
		sqlite3_bind_double(kt, 11, k->sram_bytes);
		if (k->bound >= 0 && k->bound < BOUND_COUNT)
			sqlite3_bind_text(kt, 12, res_bound_names[k->bound], -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(kt, 12);
		sqlite3_bind_int(kt, 13, k->recomputed);
		if (run_stmt(db, kt, err, errlen))
			return -1;
	}
	return 0;
}

static int delete_rows(res_db *db, long long pid, char *err, size_t errlen)
{
	sqlite3_stmt *del[] = {db->del_params, db->del_metrics, db->del_kernels};
	for (size_t i = 0; i < 3; i++) {
		sqlite3_bind_int64(del[i], 1, pid);
		if (run_stmt(db, del[i], err, errlen))
			return -1;
	}
	return 0;
}

static int bind_point(sqlite3_stmt *st, const res_db_point *p, long long id_or_hash)
{
	if (id_or_hash >= 0)
		sqlite3_bind_int64(st, 1, id_or_hash);
	else
		sqlite3_bind_text(st, 1, p->hash, -1, SQLITE_TRANSIENT);
	if (p->sweep_id >= 0)
		sqlite3_bind_int64(st, 2, p->sweep_id);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_text(st, 3, p->status, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, p->reason ? p->reason : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, p->config_text, -1, SQLITE_TRANSIENT);
	if (p->wall_s >= 0)
		sqlite3_bind_double(st, 6, p->wall_s);
	else
		sqlite3_bind_null(st, 6);
	if (p->rss_kB >= 0)
		sqlite3_bind_int64(st, 7, p->rss_kB);
	else
		sqlite3_bind_null(st, 7);
	if (p->cpu_s > 0)
		sqlite3_bind_double(st, 8, p->cpu_s);
	else
		sqlite3_bind_null(st, 8);
	return 0;
}

int res_db_put_point(res_db *db, const res_db_point *p, const res_t *r, char *err, size_t errlen)
{
	static const char *const statuses[] = {"ok", "infeasible", "failed", "timeout"};
	int known = 0;
	for (size_t i = 0; i < 4; i++)
		known |= !strcmp(p->status, statuses[i]);
	if (!known)
		return set_err(err, errlen, "status '%s': expected ok, infeasible, failed or timeout", p->status), -1;
	if (run_stmt(db, db->sp_begin, err, errlen))
		return -1;
	long long pid = -1;
	char status[32];
	int found = find_point(db, p->hash, &pid, status, sizeof status);
	if (found < 0) {
		set_err(err, errlen, "%s", sqlite3_errmsg(db->h));
		goto rollback;
	}
	if (found == 0 && is_done(status)) {
		/* finished before: the same point (same hash), so only link it */
		if (link_point(db, p->sweep_id, pid, p->idx, err, errlen) ||
		    put_params(db, pid, p->nparams, p->param_keys, p->param_values, err, errlen))
			goto rollback;
		return run_stmt(db, db->sp_release, err, errlen);
	}
	if (found == 0) {
		/* a failed/timeout row is retried: replace it, keep its id and links */
		if (delete_rows(db, pid, err, errlen))
			goto rollback;
		bind_point(db->upd_point, p, pid);
		if (run_stmt(db, db->upd_point, err, errlen))
			goto rollback;
	} else {
		bind_point(db->ins_point, p, -1);
		if (run_stmt(db, db->ins_point, err, errlen))
			goto rollback;
		pid = sqlite3_last_insert_rowid(db->h);
	}
	if (link_point(db, p->sweep_id, pid, p->idx, err, errlen) ||
	    put_params(db, pid, p->nparams, p->param_keys, p->param_values, err, errlen) ||
	    (r && put_metrics(db, pid, r, err, errlen)))
		goto rollback;
	return run_stmt(db, db->sp_release, err, errlen);
rollback:
	run_stmt(db, db->sp_rollback, NULL, 0);
	run_stmt(db, db->sp_release, NULL, 0);
	return -1;
}

int res_db_put(res_db *db, long long sweep_id, const char *hash, const char *config_text, const char *status,
               const char *reason, double wall_s, int nparams, const char *const *param_keys,
               const char *const *param_values, const res_t *r, char *err, size_t errlen)
{
	res_db_point p = {sweep_id, -1, hash, config_text, status, reason, wall_s, -1, nparams, param_keys, param_values, 0};
	return res_db_put_point(db, &p, r, err, errlen);
}

int res_db_link(res_db *db, long long sweep_id, long long idx, const char *hash, int nparams,
                const char *const *param_keys, const char *const *param_values, char *err, size_t errlen)
{
	long long pid;
	char status[32];
	int found = find_point(db, hash, &pid, status, sizeof status);
	if (found)
		return found < 0 ? (set_err(err, errlen, "%s", sqlite3_errmsg(db->h)), -1) : 1;
	if (run_stmt(db, db->sp_begin, err, errlen))
		return -1;
	if (link_point(db, sweep_id, pid, idx, err, errlen) ||
	    put_params(db, pid, nparams, param_keys, param_values, err, errlen)) {
		run_stmt(db, db->sp_rollback, NULL, 0);
		run_stmt(db, db->sp_release, NULL, 0);
		return -1;
	}
	return run_stmt(db, db->sp_release, err, errlen);
}

/* ---- queries --------------------------------------------------------- */

int res_db_rows(res_db *db, const char *sql, int nparams, const char *const *params, res_db_row_fn cb, void *ctx,
                char *err, size_t errlen)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return set_err(err, errlen, "%s", sqlite3_errmsg(db->h)), -1;
	for (int i = 0; i < nparams; i++)
		if (params[i])
			sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT);
	int nc = sqlite3_column_count(st), rc = SQLITE_DONE, out = 0;
	/* any width: SELECT * FROM metrics has more than 64 columns */
	const char **names = calloc((size_t)nc + 1, sizeof *names), **vals = calloc((size_t)nc + 1, sizeof *vals);
	if (!names || !vals) {
		free(names);
		free(vals);
		sqlite3_finalize(st);
		return set_err(err, errlen, "out of memory"), -1;
	}
	for (int c = 0; c < nc; c++)
		names[c] = sqlite3_column_name(st, c);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int c = 0; c < nc; c++)
			vals[c] = (const char *)sqlite3_column_text(st, c);
		if (cb && cb(ctx, nc, names, vals)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	free(names);
	free(vals);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		set_err(err, errlen, "%s", sqlite3_errmsg(db->h));
		out = -1;
	}
	sqlite3_finalize(st);
	return out;
}

/* A REAL as the shortest text that reads back to the same double. */
static void fmt_real(double v, int digits, char *buf, size_t len)
{
	if (digits) {
		snprintf(buf, len, "%.*g", digits, v);
		return;
	}
	for (int d = 15; d <= 17; d++) {
		snprintf(buf, len, "%.*g", d, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

static void csv_cell(FILE *out, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

typedef struct {
	char **cells;      /* rows x ncols */
	int *numeric;      /* per column: every non-NULL cell is a number */
	size_t rows, cap;
} table_buf;

/* One prepared statement's rows, printed. */
static int print_stmt(sqlite3 *h, sqlite3_stmt *st, int csv, FILE *out, char *err, size_t errlen)
{
	enum { MAXW = 48 };
	int nc = sqlite3_column_count(st), rc;
	table_buf t = {NULL, NULL, 0, 0};
	if (csv)
		for (int c = 0; c < nc; c++) {
			if (c)
				fputc(',', out);
			csv_cell(out, sqlite3_column_name(st, c));
		}
	if (csv && nc)
		fputc('\n', out);
	t.numeric = calloc((size_t)(nc ? nc : 1), sizeof *t.numeric);
	if (!t.numeric)
		return set_err(err, errlen, "out of memory"), -1;
	for (int c = 0; c < nc; c++)
		t.numeric[c] = 1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!csv && t.rows == t.cap) {
			t.cap = t.cap ? t.cap * 2 : 64;
			char **nn = realloc(t.cells, t.cap * (size_t)nc * sizeof *nn);
			if (!nn) {
				rc = SQLITE_NOMEM;
				break;
			}
			t.cells = nn;
		}
		for (int c = 0; c < nc; c++) {
			char num[40];
			const char *s;
			int type = sqlite3_column_type(st, c);
			if (type == SQLITE_FLOAT) {
				fmt_real(sqlite3_column_double(st, c), csv ? 0 : 6, num, sizeof num);
				s = num;
			} else if (type == SQLITE_NULL) {
				s = "";
			} else {
				s = (const char *)sqlite3_column_text(st, c);
				if (!s)
					s = "";
				if (type != SQLITE_INTEGER)
					t.numeric[c] = 0;
			}
			if (csv) {
				if (c)
					fputc(',', out);
				csv_cell(out, s);
			} else {
				/* one line per row: configs and specs span lines */
				char *cell = strdup(s);
				for (char *q = cell; q && *q; q++)
					if (*q == '\n' || *q == '\r' || *q == '\t')
						*q = ' ';
				t.cells[t.rows * (size_t)nc + (size_t)c] = cell;
			}
		}
		if (csv)
			fputc('\n', out);
		else
			t.rows++;
	}
	int status = 0;
	if (rc != SQLITE_DONE) {
		set_err(err, errlen, "%s", rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(h));
		status = -1;
	}
	if (!csv && !status && nc > 0) {
		int *w = calloc((size_t)nc, sizeof *w);
		for (int c = 0; w && c < nc; c++) {
			w[c] = (int)strlen(sqlite3_column_name(st, c));
			for (size_t r = 0; r < t.rows; r++) {
				const char *s = t.cells[r * (size_t)nc + (size_t)c];
				int l = s ? (int)strlen(s) : 0;
				if (l > w[c])
					w[c] = l;
			}
			if (w[c] > MAXW)
				w[c] = MAXW;
		}
		for (int c = 0; w && c < nc; c++)
			fprintf(out, "%s%-*.*s", c ? "  " : "", w[c], w[c], sqlite3_column_name(st, c));
		fputc('\n', out);
		for (int c = 0; w && c < nc; c++) {
			fprintf(out, "%s", c ? "  " : "");
			for (int i = 0; i < w[c]; i++)
				fputc('-', out);
		}
		fputc('\n', out);
		for (size_t r = 0; w && r < t.rows; r++) {
			for (int c = 0; c < nc; c++) {
				const char *s = t.cells[r * (size_t)nc + (size_t)c];
				s = s ? s : "";
				/* long text (configs, params) is cut; --csv has it whole */
				char cut[MAXW + 1];
				if ((int)strlen(s) > w[c]) {
					snprintf(cut, sizeof cut, "%.*s...", w[c] - 3, s);
					s = cut;
				}
				if (t.numeric[c])
					fprintf(out, "%s%*s", c ? "  " : "", w[c], s);
				else
					fprintf(out, "%s%-*s", c ? "  " : "", c == nc - 1 ? 0 : w[c], s);
			}
			fputc('\n', out);
		}
		fprintf(out, "(%zu row%s)\n", t.rows, t.rows == 1 ? "" : "s");
		free(w);
	}
	for (size_t i = 0; i < t.rows * (size_t)nc; i++)
		free(t.cells[i]);
	free(t.cells);
	free(t.numeric);
	return status;
}

int res_db_query_print(res_db *db, const char *sql, int csv, FILE *out, char *err, size_t errlen)
{
	const char *tail = sql;
	int first = 1;
	while (tail && *tail) {
		sqlite3_stmt *st = NULL;
		const char *next;
		if (sqlite3_prepare_v2(db->h, tail, -1, &st, &next) != SQLITE_OK)
			return set_err(err, errlen, "%s", sqlite3_errmsg(db->h)), -1;
		if (!st) /* only whitespace or a comment left */
			break;
		if (!first && sqlite3_column_count(st) > 0)
			fputc('\n', out);
		int rc = print_stmt(db->h, st, csv, out, err, errlen);
		sqlite3_finalize(st);
		if (rc)
			return -1;
		first = 0;
		tail = next;
	}
	return 0;
}

int res_db_describe(res_db *db, FILE *out, char *err, size_t errlen)
{
	sqlite3_stmt *st, *cols;
	if (sqlite3_prepare_v2(db->h,
	                       "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE "
	                       "'sqlite_%' ORDER BY type, name", -1, &st, NULL) != SQLITE_OK)
		return set_err(err, errlen, "%s", sqlite3_errmsg(db->h)), -1;
	if (sqlite3_prepare_v2(db->h, "SELECT name FROM pragma_table_info(?1)", -1, &cols, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return set_err(err, errlen, "%s", sqlite3_errmsg(db->h)), -1;
	}
	int v = 0;
	user_version(db->h, "main", &v);
	fprintf(out, "schema version %d\n", v);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 0);
		char name[256];
		snprintf(name, sizeof name, "%s", (const char *)sqlite3_column_text(st, 1));
		long long rows = -1;
		if (!strcmp(type, "table") && !strchr(name, '"')) {
			char sql[320];
			sqlite3_stmt *cnt;
			snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", name);
			if (sqlite3_prepare_v2(db->h, sql, -1, &cnt, NULL) == SQLITE_OK) {
				if (sqlite3_step(cnt) == SQLITE_ROW)
					rows = sqlite3_column_int64(cnt, 0);
				sqlite3_finalize(cnt);
			}
		}
		if (rows >= 0)
			fprintf(out, "\n%s %s (%lld rows):", type, name, rows);
		else
			fprintf(out, "\n%s %s:", type, name);
		sqlite3_bind_text(cols, 1, name, -1, SQLITE_TRANSIENT);
		int col = 0, width = 4;
		while (sqlite3_step(cols) == SQLITE_ROW) {
			const char *c = (const char *)sqlite3_column_text(cols, 0);
			int l = (int)strlen(c) + 1;
			if (col)
				fputc(',', out);
			if (width + l > 96) {
				fprintf(out, "\n   ");
				width = 4;
			}
			fprintf(out, " %s", c);
			width += l + 1;
			col++;
		}
		fputc('\n', out);
		sqlite3_reset(cols);
	}
	sqlite3_finalize(cols);
	sqlite3_finalize(st);
	return 0;
}

/* ---- merge ----------------------------------------------------------- */

typedef struct {
	long long from, to;
} id_map;

int res_db_merge(res_db *db, const char *in_path, res_db_merge_stats *ms, char *err, size_t errlen)
{
	sqlite3 *h = db->h;
	sqlite3_stmt *att = NULL, *q = NULL;
	char cols[4096], e[512];
	id_map *map = NULL;
	size_t nmap = 0;
	int rc = -1, attached = 0, in_txn = 0;
	FILE *f = fopen(in_path, "rb");
	if (!f)
		return set_err(err, errlen, "%s: no such database", in_path), -1;
	fclose(f);
	if (mcol_list(cols, sizeof cols, "", 0))
		return set_err(err, errlen, "metrics column list too long"), -1;
	if (sqlite3_prepare_v2(h, "ATTACH DATABASE ?1 AS src", -1, &att, NULL) != SQLITE_OK)
		return set_err(err, errlen, "%s", sqlite3_errmsg(h)), -1;
	sqlite3_bind_text(att, 1, in_path, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(att) != SQLITE_DONE) {
		set_err(err, errlen, "%s: %s", in_path, sqlite3_errmsg(h));
		sqlite3_finalize(att);
		return -1;
	}
	sqlite3_finalize(att);
	attached = 1;
	int v;
	if (user_version(h, "src", &v)) {
		set_err(err, errlen, "%s: not a database: %s", in_path, sqlite3_errmsg(h));
		goto out;
	}
	if (v < 1 || v > RES_DB_SCHEMA_VERSION) {
		set_err(err, errlen, "%s: schema version %d, expected 1 to %d (a codesim results database)", in_path, v,
		        RES_DB_SCHEMA_VERSION);
		goto out;
	}
	int src_version = v;
	if (exec_sql(h, "BEGIN IMMEDIATE", err, errlen))
		goto out;
	in_txn = 1;
	/* sweeps: by (name, spec hash) */
	if (sqlite3_prepare_v2(h, "SELECT id, name, spec_hash, spec_text, axes FROM src.sweeps ORDER BY id", -1, &q,
	                       NULL) != SQLITE_OK)
		goto sqlerr;
	while ((v = sqlite3_step(q)) == SQLITE_ROW) {
		long long from = sqlite3_column_int64(q, 0);
		const char *name = (const char *)sqlite3_column_text(q, 1);
		const char *text = (const char *)sqlite3_column_text(q, 3);
		const char *axes = (const char *)sqlite3_column_text(q, 4);
		long long to = res_db_sweep(db, name, text, e, sizeof e);
		if (to < 0) {
			set_err(err, errlen, "%s", e);
			goto out;
		}
		if (axes && *axes) {
			/* keep the axes as the shard recorded them, and the pivot view */
			char buf[4096];
			const char *keys[64];
			int nk = 0;
			snprintf(buf, sizeof buf, "%s", axes);
			for (char *tok = strtok(buf, " "); tok && nk < 64; tok = strtok(NULL, " "))
				keys[nk++] = tok;
			if (res_db_sweep_axes(db, to, nk, keys, e, sizeof e)) {
				set_err(err, errlen, "%s", e);
				goto out;
			}
		}
		id_map *nm = realloc(map, (nmap + 1) * sizeof *nm);
		if (!nm)
			goto nomem;
		map = nm;
		map[nmap].from = from;
		map[nmap++].to = to;
		ms->sweeps++;
	}
	sqlite3_finalize(q);
	q = NULL;
	if (v != SQLITE_DONE)
		goto sqlerr;

	/* points: by hash */
	sqlite3_stmt *mem = NULL, *par = NULL, *met = NULL, *ker = NULL;
	char sql[2 * 4096 + 256];
	/* version 1 had no cpu_s (except from one development build) */
	sqlite3_stmt *has;
	int src_cpu = 0;
	if (sqlite3_prepare_v2(h, "SELECT count(*) FROM pragma_table_info('points', 'src') WHERE name = 'cpu_s'", -1,
	                       &has, NULL) == SQLITE_OK) {
		if (sqlite3_step(has) == SQLITE_ROW)
			src_cpu = sqlite3_column_int(has, 0);
		sqlite3_finalize(has);
	}
	(void)src_version;
	if (sqlite3_prepare_v2(h, src_cpu ? "SELECT id, hash, sweep_id, status, reason, config, wall_s, rss_kB, "
	                                             "cpu_s FROM src.points ORDER BY id"
	                                           : "SELECT id, hash, sweep_id, status, reason, config, wall_s, rss_kB, "
	                                             "NULL FROM src.points ORDER BY id",
	                       -1, &q, NULL) != SQLITE_OK)
		goto sqlerr;
	snprintf(sql, sizeof sql, "INSERT INTO main.metrics (point_id, %s) SELECT ?1, %s FROM src.metrics "
	                          "WHERE point_id = ?2", cols, cols);
	if (sqlite3_prepare_v2(h, "SELECT sweep_id, idx FROM src.sweep_points WHERE point_id = ?1", -1, &mem, NULL) ||
	    sqlite3_prepare_v2(h, "INSERT OR IGNORE INTO main.parameters (point_id, key, value, num) "
	                          "SELECT ?1, key, value, num FROM src.parameters WHERE point_id = ?2", -1, &par, NULL) ||
	    sqlite3_prepare_v2(h, sql, -1, &met, NULL) ||
	    sqlite3_prepare_v2(h, "INSERT INTO main.kernels SELECT ?1, idx, name, kind, segment, tiling, count, time_s, "
	                          "flops, bytes, sram_bytes, bound, recomputed FROM src.kernels WHERE point_id = ?2",
	                       -1, &ker, NULL)) {
		set_err(err, errlen, "%s", sqlite3_errmsg(h));
		goto out_points;
	}
	while ((v = sqlite3_step(q)) == SQLITE_ROW) {
		long long from = sqlite3_column_int64(q, 0), to = -1, sweep = -1;
		const char *hash = (const char *)sqlite3_column_text(q, 1);
		const char *status = (const char *)sqlite3_column_text(q, 3);
		long long src_sweep = sqlite3_column_int64(q, 2);
		for (size_t i = 0; i < nmap; i++)
			if (map[i].from == src_sweep)
				sweep = map[i].to;
		char have[32];
		int found = find_point(db, hash, &to, have, sizeof have);
		if (found < 0)
			goto points_sqlerr;
		int copy = found == 1 || (!is_done(have) && is_done(status));
		if (copy) {
			res_db_point p = {sweep, -1, hash, (const char *)sqlite3_column_text(q, 5), status,
			                  (const char *)sqlite3_column_text(q, 4),
			                  sqlite3_column_type(q, 6) == SQLITE_NULL ? -1 : sqlite3_column_double(q, 6),
			                  sqlite3_column_type(q, 7) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 7),
			                  0, NULL, NULL, sqlite3_column_type(q, 8) == SQLITE_NULL ? 0 : sqlite3_column_double(q, 8)};
			if (found == 0) {
				if (delete_rows(db, to, e, sizeof e))
					goto points_err;
				bind_point(db->upd_point, &p, to);
				if (run_stmt(db, db->upd_point, e, sizeof e))
					goto points_err;
				ms->points_replaced++;
			} else {
				bind_point(db->ins_point, &p, -1);
				if (run_stmt(db, db->ins_point, e, sizeof e))
					goto points_err;
				to = sqlite3_last_insert_rowid(h);
				ms->points_added++;
			}
			sqlite3_stmt *cp[] = {met, ker};
			for (int i = 0; i < 2; i++) {
				sqlite3_bind_int64(cp[i], 1, to);
				sqlite3_bind_int64(cp[i], 2, from);
				if (run_stmt(db, cp[i], e, sizeof e))
					goto points_err;
			}
		} else {
			ms->points_linked++;
		}
		sqlite3_bind_int64(par, 1, to);
		sqlite3_bind_int64(par, 2, from);
		if (run_stmt(db, par, e, sizeof e))
			goto points_err;
		sqlite3_bind_int64(mem, 1, from);
		while ((found = sqlite3_step(mem)) == SQLITE_ROW) {
			long long s = -1, from_s = sqlite3_column_int64(mem, 0);
			for (size_t i = 0; i < nmap; i++)
				if (map[i].from == from_s)
					s = map[i].to;
			long long idx = sqlite3_column_type(mem, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(mem, 1);
			if (s >= 0 && link_point(db, s, to, idx, e, sizeof e)) {
				sqlite3_reset(mem);
				goto points_err;
			}
		}
		sqlite3_reset(mem);
		if (found != SQLITE_DONE)
			goto points_sqlerr;
	}
	if (v != SQLITE_DONE)
		goto points_sqlerr;
	rc = 0;
	goto out_points;
points_sqlerr:
	set_err(err, errlen, "%s", sqlite3_errmsg(h));
	goto out_points;
points_err:
	set_err(err, errlen, "%s", e);
out_points:
	sqlite3_finalize(mem);
	sqlite3_finalize(par);
	sqlite3_finalize(met);
	sqlite3_finalize(ker);
	goto out;
nomem:
	set_err(err, errlen, "out of memory");
	goto out;
sqlerr:
	set_err(err, errlen, "%s", sqlite3_errmsg(h));
out:
	sqlite3_finalize(q);
	if (in_txn) {
		if (rc == 0 && exec_sql(h, "COMMIT", err, errlen))
			rc = -1;
		if (rc)
			sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
	}
	if (attached)
		sqlite3_exec(h, "DETACH DATABASE src", NULL, NULL, NULL);
	free(map);
	return rc;
}
