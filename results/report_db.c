/*
 * report_db.c - read a finished sweep back from the results database for a
 * report: its points, their swept parameters, headline metrics, kernels and
 * the chip each ran on (rebuilt from the point's resolved config text).
 * Read-only; every statement is prepared (res_db_rows).
 */
#include "report.h"
#include "store.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define MAX_AXES 32

static char *dupstr(const char *s)
{
	size_t n = strlen(s ? s : "") + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s ? s : "", n);
	return d;
}

/* ---- row callbacks ---------------------------------------------------------- */

static int cb_sweep(void *ctx, int n, const char *const *names, const char *const *v)
{
	res_sweep *s = ctx;
	(void)names;
	if (n < 5)
		return 1;
	s->id = v[0] ? atoll(v[0]) : -1;
	snprintf(s->name, sizeof s->name, "%s", v[1] ? v[1] : "");
	s->spec_text = dupstr(v[2]);
	const char *axes = v[3] ? v[3] : "";
	snprintf(s->created, sizeof s->created, "%s", v[4] ? v[4] : "");
	s->axes = calloc(MAX_AXES, sizeof *s->axes);
	if (!s->axes)
		return 1;
	for (const char *p = axes; *p && s->naxes < MAX_AXES;) {
		size_t len = strcspn(p, " ");
		if (len > 0) {
			char *k = malloc(len + 1);
			if (!k)
				return 1;
			memcpy(k, p, len);
			k[len] = 0;
			s->axes[s->naxes++] = k;
		}
		p += len;
		while (*p == ' ')
			p++;
	}
	return 0;
}

typedef struct {
	res_sweep *s;
	int cap;
	char **configs;
	int ccap;
} load_ctx;

static int cb_point(void *ctx, int n, const char *const *names, const char *const *v)
{
	load_ctx *lc = ctx;
	res_sweep *s = lc->s;
	(void)names;
	if (n < 6)
		return 1;
	if (s->nrows == lc->cap) {
		int cap = lc->cap ? lc->cap * 2 : 64;
		res_sweep_row *rows = realloc(s->rows, (size_t)cap * sizeof *rows);
		char **cfg = realloc(lc->configs, (size_t)cap * sizeof *cfg);
		if (!rows || !cfg) {
			if (rows)
				s->rows = rows;
			if (cfg)
				lc->configs = cfg;
			return 1;
		}
		s->rows = rows, lc->configs = cfg, lc->cap = cap;
	}
	res_sweep_row *r = &s->rows[s->nrows];
	memset(r, 0, sizeof *r);
	r->point_id = v[0] ? atoll(v[0]) : -1;
	snprintf(r->hash, sizeof r->hash, "%s", v[1] ? v[1] : "");
	snprintf(r->status, sizeof r->status, "%s", v[2] ? v[2] : "");
	snprintf(r->reason, sizeof r->reason, "%s", v[3] ? v[3] : "");
	lc->configs[s->nrows] = dupstr(v[4]);
	r->idx = v[5] ? atoll(v[5]) : -1;
	r->values = calloc((size_t)(s->naxes ? s->naxes : 1), sizeof *r->values);
	r->num = malloc((size_t)(s->naxes ? s->naxes : 1) * sizeof *r->num);
	if (!r->values || !r->num || !lc->configs[s->nrows])
		return 1;
	for (int a = 0; a < s->naxes; a++)
		r->num[a] = NAN;
	s->nrows++;
	return 0;
}

typedef struct {
	res_sweep *s;
	res_sweep_row *row;
} row_ctx;

static int cb_param(void *ctx, int n, const char *const *names, const char *const *v)
{
	row_ctx *rc = ctx;
	(void)names;
	if (n < 3 || !v[0])
		return 0;
	for (int a = 0; a < rc->s->naxes; a++)
		if (!strcmp(rc->s->axes[a], v[0])) {
			free(rc->row->values[a]);
			rc->row->values[a] = dupstr(v[1]);
			rc->row->num[a] = v[2] ? atof(v[2]) : NAN;
			if (!v[2] && v[1]) {
				char *end;
				double d = strtod(v[1], &end);
				if (end != v[1] && !*end)
					rc->row->num[a] = d;
			}
		}
	return 0;
}

static int cb_metrics(void *ctx, int n, const char *const *names, const char *const *v)
{
	res_t *r = ctx;
	for (int i = 0; i < n; i++)
		if (names[i] && v[i])
			res_metric_set(r, names[i], v[i]);
	return 0;
}

static int cb_kernel(void *ctx, int n, const char *const *names, const char *const *v)
{
	res_t *r = ctx;
	(void)names;
	if (n < 11 || r->nkernels >= RES_MAX_KERNELS)
		return 0;
	res_kernel *k = &r->kernels[r->nkernels++];
	memset(k, 0, sizeof *k);
	snprintf(k->name, sizeof k->name, "%s", v[0] ? v[0] : "");
	snprintf(k->kind, sizeof k->kind, "%s", v[1] ? v[1] : "");
	snprintf(k->segment, sizeof k->segment, "%s", v[2] ? v[2] : "");
	snprintf(k->tiling, sizeof k->tiling, "%s", v[3] ? v[3] : "");
	k->count = v[4] ? atof(v[4]) : 0;
	k->time_s = v[5] ? atof(v[5]) : 0;
	k->flops = v[6] ? atof(v[6]) : 0;
	k->bytes = v[7] ? atof(v[7]) : 0;
	k->sram_bytes = v[8] ? atof(v[8]) : 0;
	k->bound = BOUND_LATENCY;
	for (int b = 0; b < BOUND_COUNT; b++)
		if (v[9] && !strcmp(v[9], res_bound_names[b]))
			k->bound = b;
	k->recomputed = v[10] ? atoi(v[10]) : 0;
	return 0;
}

/* Rebuild the chip from "arch.<key> = <value>;" lines of a config text. */
static void arch_from_config(arch_t *a, const char *cfg)
{
	char err[ARCH_ERR_MAX];
	arch_cfg_defaults(arch_keys, arch_nkeys, a);
	for (const char *line = cfg; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (len > 5 && len < 600 && !strncmp(line, "arch.", 5)) {
			char buf[600];
			memcpy(buf, line + 5, len - 5);
			buf[len - 5] = 0;
			char *eq = strstr(buf, " = ");
			if (eq) {
				*eq = 0;
				char *val = eq + 3;
				size_t vl = strlen(val);
				if (vl && val[vl - 1] == ';')
					val[--vl] = 0;
				if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
					val[vl - 1] = 0;
					val++;
				}
				arch_cfg_set(arch_keys, arch_nkeys, a, buf, val, "stored config", err, sizeof err);
			}
		}
		line = nl ? nl + 1 : NULL;
	}
}

int res_sweep_load(res_db *db, long long id, res_sweep *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	snprintf(s->metric, sizeof s->metric, "tokens_per_s");
	char ids[32];
	const char *p1[1] = {ids};
	int rc;
	s->id = -1;
	if (id >= 0) {
		snprintf(ids, sizeof ids, "%lld", id);
		rc = res_db_rows(db, "SELECT id, name, spec_text, axes, created FROM sweeps WHERE id = ?1", 1, p1, cb_sweep,
		                 s, err, errlen);
	} else {
		rc = res_db_rows(db, "SELECT id, name, spec_text, axes, created FROM sweeps ORDER BY id DESC LIMIT 1", 0, NULL,
		                 cb_sweep, s, err, errlen);
	}
	if (rc)
		return -1;
	if (s->id < 0 || !s->axes) {
		if (id >= 0)
			snprintf(err, errlen, "--sweep %lld: no such sweep (codesim query --db FILE 'SELECT id, name FROM sweeps')",
			         id);
		else
			snprintf(err, errlen, "the database has no sweeps");
		return -1;
	}
	snprintf(ids, sizeof ids, "%lld", s->id);
	load_ctx lc = {s, 0, NULL, 0};
	if (res_db_rows(db,
	                "SELECT p.id, p.hash, p.status, p.reason, p.config, sp.idx FROM sweep_points sp "
	                "JOIN points p ON p.id = sp.point_id WHERE sp.sweep_id = ?1 ORDER BY sp.idx, p.id",
	                1, p1, cb_point, &lc, err, errlen))
		goto fail;
	for (int i = 0; i < s->nrows; i++) {
		res_sweep_row *row = &s->rows[i];
		char pid[32];
		const char *pp[1] = {pid};
		snprintf(pid, sizeof pid, "%lld", row->point_id);
		row_ctx rcx = {s, row};
		if (res_db_rows(db, "SELECT key, value, num FROM parameters WHERE point_id = ?1", 1, pp, cb_param, &rcx, err,
		                errlen))
			goto fail;
		for (int a = 0; a < s->naxes; a++)
			if (!row->values[a] && !(row->values[a] = dupstr("")))
				goto oom;
		if (strcmp(row->status, "ok") && strcmp(row->status, "infeasible"))
			continue;
		row->rp = calloc(1, sizeof *row->rp);
		if (!row->rp)
			goto oom;
		res_t *r = &row->rp->r;
		if (res_db_rows(db, "SELECT * FROM metrics WHERE point_id = ?1", 1, pp, cb_metrics, r, err, errlen))
			goto fail;
		r->nkernels = 0;   /* the kernels are the kernels table's rows, not the stored count */
		if (res_db_rows(db,
		                "SELECT name, kind, segment, tiling, count, time_s, flops, bytes, sram_bytes, bound, recomputed "
		                "FROM kernels WHERE point_id = ?1 ORDER BY idx",
		                1, pp, cb_kernel, r, err, errlen))
			goto fail;
		arch_from_config(&row->rp->arch, lc.configs[i]);
		snprintf(row->rp->status, sizeof row->rp->status, "%s", row->status);
		if (r->chips > 1) {
			char lay[64] = "";
			size_t u = 0;
			const struct {
				const char *n;
				int v;
			} deg[] = {{"tp", r->tp}, {"pp", r->pp}, {"dp", r->dp}, {"ep", r->ep}};
			for (size_t k = 0; k < 4; k++)
				if (deg[k].v > 1)
					u += (size_t)snprintf(lay + u, sizeof lay - u, "%s%s %d", u ? ", " : "", deg[k].n, deg[k].v);
			snprintf(row->rp->label, sizeof row->rp->label, "%.40s (%.48s)", r->arch, lay);
		} else {
			snprintf(row->rp->label, sizeof row->rp->label, "%.60s", r->arch);
		}
	}
	for (int i = 0; i < s->nrows; i++)
		free(lc.configs[i]);
	free(lc.configs);
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	for (int i = 0; i < s->nrows; i++)
		free(lc.configs ? lc.configs[i] : NULL);
	free(lc.configs);
	res_sweep_free(s);
	return -1;
}

void res_sweep_free(res_sweep *s)
{
	for (int i = 0; i < s->nrows; i++) {
		for (int a = 0; a < s->naxes; a++)
			free(s->rows[i].values ? s->rows[i].values[a] : NULL);
		free(s->rows[i].values);
		free(s->rows[i].num);
		free(s->rows[i].rp);
	}
	free(s->rows);
	for (int a = 0; a < s->naxes; a++)
		free(s->axes[a]);
	free(s->axes);
	free(s->spec_text);
	memset(s, 0, sizeof *s);
}
