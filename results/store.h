/*
 * store.h - the results database (DESIGN 8): SQLite schema, migrations,
 * writes of design points, read-only queries and shard merging.
 *
 * Only a parent process opens a res_db: never carry a handle across
 * fork(), and never call these functions in a forked worker.
 *
 * Schema (PRAGMA user_version = RES_DB_SCHEMA_VERSION; README.md "The database"):
 *   sweeps(id, name, spec_hash, spec_text, axes, created)
 *   points(id, hash UNIQUE, sweep_id, status, reason, config, wall_s, cpu_s, rss_kB, created)
 *   sweep_points(sweep_id, point_id, idx)      membership: a point may serve many sweeps
 *   parameters(point_id, key, value, num)      the swept keys, long format
 *   metrics(point_id, ...one column per res_t headline field...)   wide: one row per point
 *   kernels(point_id, idx, name, kind, segment, tiling, count, time_s, flops, bytes, ...)
 *   views v_results, v_ok, v_best, v_pareto, v_pareto_power, v_sweep_<id>
 */
#ifndef CODESIM_STORE_H
#define CODESIM_STORE_H

#include <stddef.h>
#include <stdio.h>

#include "res.h"

#define RES_DB_SCHEMA_VERSION 2

typedef struct res_db res_db;

/* Open (create, migrate) a database for writing.  0, or -1 with err. */
int res_db_open(const char *path, res_db **out, char *err, size_t errlen);
/* Open an existing database read-only (queries); no schema change. */
int res_db_open_readonly(const char *path, res_db **out, char *err, size_t errlen);
void res_db_close(res_db *db);

/* Find-or-create the sweep (name, hash of spec_text); its id, or -1 with err. */
long long res_db_sweep(res_db *db, const char *name, const char *spec_text, char *err, size_t errlen);
/* Record the swept keys of a sweep and (re)create its pivot view
 * v_sweep_<id>: one column per key ('.' becomes '_').  Keys must be
 * declared key paths ([A-Za-z0-9_.]).  0 or -1 with err. */
int res_db_sweep_axes(res_db *db, long long sweep_id, int nkeys, const char *const *keys, char *err,
                      size_t errlen);

/* 1 if the point with this hash is finished (status ok or infeasible). */
int res_db_point_done(res_db *db, const char *hash);

/* One design point's rows (points, sweep_points, parameters, metrics,
 * kernels) in one savepoint: all or nothing.  r may be NULL (failed or
 * timeout: no metrics).  A finished point already stored is only linked to
 * the sweep; a failed/timeout row is replaced.  0 or -1 with err. */
int res_db_put(res_db *db, long long sweep_id, const char *hash, const char *config_text, const char *status,
               const char *reason, double wall_s, int nparams, const char *const *param_keys,
               const char *const *param_values, const res_t *r, char *err, size_t errlen);

/* Everything res_db_put takes, plus what a worker pool knows. */
typedef struct {
	long long sweep_id;
	long long idx;            /* index in the sweep's sampling order (-1: none) */
	const char *hash, *config_text, *status, *reason;
	double wall_s;            /* worker wall time, fork to result */
	long rss_kB;              /* worker peak resident set (-1: unknown) */
	int nparams;
	const char *const *param_keys, *const *param_values;
	double cpu_s;             /* worker CPU time, user + system (<= 0: unknown) */
} res_db_point;
int res_db_put_point(res_db *db, const res_db_point *p, const res_t *r, char *err, size_t errlen);

/* Link an already finished point to a sweep (resume, duplicates); adds the
 * sweep's parameters if missing.  0, 1 if the point is not stored, -1 error. */
int res_db_link(res_db *db, long long sweep_id, long long idx, const char *hash, int nparams,
                const char *const *param_keys, const char *const *param_values, char *err, size_t errlen);

/* Batched transactions (BEGIN IMMEDIATE / COMMIT).  0 or -1. */
int res_db_begin(res_db *db);
int res_db_commit(res_db *db);

/* Run SQL (one or more statements) and print every result set: an aligned
 * table, or CSV (RFC 4180 quoting).  0, or -1 with err (bad SQL, write on
 * a read-only database). */
int res_db_query_print(res_db *db, const char *sql, int csv, FILE *out, char *err, size_t errlen);
/* Print the tables and views with their columns and row counts. */
int res_db_describe(res_db *db, FILE *out, char *err, size_t errlen);

/* Rows of a query, for callers that compute with them (reports, demo).
 * Every statement is prepared; params bind as text ('?1'...), or NULL.
 * cb gets each row's values as text (NULL for SQL NULL); non-zero stops. */
typedef int (*res_db_row_fn)(void *ctx, int ncols, const char *const *names, const char *const *values);
int res_db_rows(res_db *db, const char *sql, int nparams, const char *const *params, res_db_row_fn cb, void *ctx,
                char *err, size_t errlen);

/* Merge the database at in_path into db: sweeps by (name, spec hash),
 * points by hash (a finished point wins over failed/timeout; two finished
 * ones are the same point).  Counts what was added/linked. */
typedef struct {
	long sweeps, points_added, points_replaced, points_linked;
} res_db_merge_stats;
int res_db_merge(res_db *db, const char *in_path, res_db_merge_stats *st, char *err, size_t errlen);

/* Lowercase hex of arch_hash(text): a point's or a spec's identity. */
void res_db_hash_hex(const char *text, size_t len, char out[17]);

/* Set the field of r that metrics column `col` holds from its text (as
 * SQLite returns it): the one table that writes the columns reads them.
 * 0, or 1 for a column that is not a metric. */
int res_metric_set(res_t *r, const char *col, const char *text);

#endif
