/*
 * spec.c - sweep specs: read, validate, sample.
 *
 * A spec is a libconfig file (README.md, "Sweeps", explorer/sweeps/):
 *
 *   name = "decode-bw-sram";            arch = "h100";   model = "llama3-8b";
 *   run = { phase = "decode"; batch = 8; context = 2048; };
 *   set = [ "arch.power.tdp_W=700" ];   # fixed overrides, like -s
 *   axes = ( { key = "arch.memory.bandwidth_GBps"; values = [2000.0, 3350.0]; },
 *            { key = "arch.core.sram_KiB"; start = 128.0; stop = 512.0; steps = 3; scale = "log"; },
 *            { key = "model.d_model"; dist = "uniform"; min = 2048; max = 8192; multiple_of = 128; } );
 *   sampling = "grid";                  # | "random" | "lhs", with samples = N; seed = S;
 *   constraints = [ "model.d_model % model.n_heads == 0" ];
 *
 * Everything is checked before anything runs: unknown keys, types, every
 * axis value against its key's declared range, presets that must load,
 * constraint syntax.  Errors name file:line and the key.
 *
 * Sampling is deterministic: grid enumerates with the last axis fastest;
 * random and lhs draw from GSL's MT19937 seeded with `seed`, in a fixed
 * order (random: point by point, axis by axis; lhs: axis by axis, a
 * shuffled stratum permutation then one jitter per point), so a spec gives
 * the same points on every machine.
 */
#include "sweep.h"

#include <ctype.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <libconfig.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const xp_sampling_names[] = {"grid", "random", "lhs", NULL};

static int set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Shortest text that reads back as the same double. */
static void fmt_num(double v, char *buf, size_t len)
{
	for (int d = 10; d <= 17; d++) {
		snprintf(buf, len, "%.*g", d, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

static char *read_text(const char *file)
{
	FILE *f = fopen(file, "rb");
	if (!f)
		return NULL;
	char *buf = xp_read_all(f);
	fclose(f);
	return buf;
}

/* libconfig 1.5 silently wraps integer literals above 2^31 that lack an
 * 'L' suffix (DESIGN 5): refuse them, with the line.  A small lexer that
 * skips strings and comments and finds bare integer literals. */
static int check_int_literals(const char *file, const char *t, char *err, size_t errlen)
{
	int line = 1;
	for (const char *p = t; *p;) {
		if (*p == '\n') {
			line++, p++;
		} else if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				if (*p == '\n')
					line++;
			}
			if (*p)
				p++;
		} else if (*p == '#' || (*p == '/' && p[1] == '/')) {
			while (*p && *p != '\n')
				p++;
		} else if (*p == '/' && p[1] == '*') {
			for (p += 2; *p && !(*p == '*' && p[1] == '/'); p++)
				if (*p == '\n')
					line++;
			if (*p)
				p += 2;
		} else if (isdigit((unsigned char)*p) && (p == t || !(isalnum((unsigned char)p[-1]) || p[-1] == '_' ||
		                                                      p[-1] == '.'))) {
			const char *s = p;
			if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
				for (p += 2; isxdigit((unsigned char)*p); p++)
					;
				continue;
			}
			while (isdigit((unsigned char)*p))
				p++;
			if (*p == '.' || *p == 'e' || *p == 'E') {
				/* a float: skip the rest of it */
				for (p++; isdigit((unsigned char)*p) || *p == 'e' || *p == 'E' ||
				          ((*p == '+' || *p == '-') && (p[-1] == 'e' || p[-1] == 'E'));
				     p++)
					;
				continue;
			}
			if (*p == 'L')
				continue;
			double v = strtod(s, NULL);
			if (v > 2147483647.0)
				return set_err(err, errlen,
				               "%s:%d: integer literal %.*s does not fit 32 bits (libconfig would wrap it); "
				               "write it as a float (%.*s.0) or with an L suffix", file, line, (int)(p - s), s,
				               (int)(p - s), s);
		} else {
			p++;
		}
	}
	return 0;
}

/* The text of a scalar setting (libconfig number, bool or string). */
static int scalar_text(const config_setting_t *s, char *buf, size_t len)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		snprintf(buf, len, "%lld", (long long)config_setting_get_int64(s));
		return 0;
	case CONFIG_TYPE_FLOAT:
		fmt_num(config_setting_get_float(s), buf, len);
		return 0;
	case CONFIG_TYPE_BOOL:
		snprintf(buf, len, "%s", config_setting_get_bool(s) ? "true" : "false");
		return 0;
	case CONFIG_TYPE_STRING:
		if (strlen(config_setting_get_string(s)) >= len)
			return -1;
		snprintf(buf, len, "%s", config_setting_get_string(s));
		return 0;
	}
	return -1;
}

static int is_number(const config_setting_t *s, double *v)
{
	int t = config_setting_type(s);
	if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
		*v = (double)config_setting_get_int64(s);
	else if (t == CONFIG_TYPE_FLOAT)
		*v = config_setting_get_float(s);
	else
		return 0;
	return 1;
}

/* A key path with its prefix: which table, which declaration. */
static int find_key(const char *path, int *table, const cfg_key **k)
{
	*k = NULL;
	if (!strcmp(path, "arch"))
		return *table = XP_T_ARCH_PRESET, 0;
	if (!strcmp(path, "model"))
		return *table = XP_T_MODEL_PRESET, 0;
	if (!strncmp(path, "arch.", 5))
		*table = XP_T_ARCH, *k = arch_cfg_find(arch_keys, arch_nkeys, path + 5);
	else if (!strncmp(path, "model.", 6))
		*table = XP_T_MODEL, *k = arch_cfg_find(wl_model_keys, wl_model_nkeys, path + 6);
	else if (!strncmp(path, "run.", 4))
		*table = XP_T_RUN, *k = arch_cfg_find(wl_run_keys, wl_run_nkeys, path + 4);
	return *k ? 0 : -1;
}

/* Scratch objects to check a value against its key's declaration. */
typedef struct {
	arch_t arch;
	wl_model model;
	wl_scenario sc;
} scratch_t;

static int check_value(const char *home, scratch_t *scr, int table, const cfg_key *k, const char *value,
                       const char *where, char *err, size_t errlen)
{
	char e[ARCH_ERR_MAX];
	if (table == XP_T_ARCH_PRESET) {
		if (arch_load(&scr->arch, home, value, e, sizeof e))
			return set_err(err, errlen, "%s: arch = \"%s\": %s", where, value, e);
		return 0;
	}
	if (table == XP_T_MODEL_PRESET) {
		if (wl_model_load(&scr->model, home, value, e, sizeof e))
			return set_err(err, errlen, "%s: model = \"%s\": %s", where, value, e);
		return 0;
	}
	void *obj = table == XP_T_ARCH ? (void *)&scr->arch : table == XP_T_MODEL ? (void *)&scr->model : (void *)&scr->sc;
	const cfg_key *keys = table == XP_T_ARCH ? arch_keys : table == XP_T_MODEL ? wl_model_keys : wl_run_keys;
	size_t n = table == XP_T_ARCH ? arch_nkeys : table == XP_T_MODEL ? wl_model_nkeys : wl_run_nkeys;
	if (arch_cfg_set(keys, n, obj, k->path, value, where, e, sizeof e))
		return set_err(err, errlen, "%s", e);
	return 0;
}

static const char *const top_keys[] = {"name", "description", "arch", "model", "run", "set", "axes",
                                       "sampling", "samples", "seed", "constraints", NULL};
static const char *const axis_keys[] = {"key", "values", "start", "stop", "steps", "step", "factor", "scale",
                                        "dist", "min", "max", "multiple_of", NULL};

static int in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (!strcmp(*l, s))
			return 1;
	return 0;
}

static void list_text(const char *const *l, char *buf, size_t len)
{
	size_t u = 0;
	buf[0] = 0;
	for (int i = 0; l[i] && u < len; i++)
		u += (size_t)snprintf(buf + u, len - u, "%s%s", i ? ", " : "", l[i]);
}

typedef struct {
	xp_sweep *sw;
	const char *home;
	const char *file;
	scratch_t scr;
	char *err;
	size_t errlen;
} loader;

static int line_of(const config_setting_t *s) { return (int)config_setting_source_line(s); }

/* Round v for key k: integers to integers, and to a multiple if asked. */
static double quantize(const xp_axis *a, double v)
{
	/* ranges computed in floating point land a few ulps off (pow(8, 1/3.)
	 * is not 2): 12 significant digits give the values a person means */
	char t[40];
	snprintf(t, sizeof t, "%.12g", v);
	v = strtod(t, NULL);
	if (a->multiple_of > 0)
		v = round(v / a->multiple_of) * a->multiple_of;
	if (a->decl && a->decl->type == CFG_INT)
		v = round(v);
	return v;
}

static int add_value(loader *L, xp_axis *a, const char *text, int line)
{
	char where[1200];
	if (a->nvalues >= XP_AXIS_VALUES_MAX)
		return set_err(L->err, L->errlen, "%s:%d: axis %s: more than %d values", L->file, line, a->key,
		               XP_AXIS_VALUES_MAX);
	/* a range may round two steps to the same value: keep one */
	for (int i = 0; i < a->nvalues; i++)
		if (!strcmp(a->values[i], text))
			return 0;
	snprintf(where, sizeof where, "%s:%d: axis %s", L->file, line, a->key);
	if (check_value(L->home, &L->scr, a->table, a->decl, text, where, L->err, L->errlen))
		return -1;
	if (a->nvalues % 64 == 0) {
		char(*nv)[XP_VAL_MAX] = realloc(a->values, (size_t)(a->nvalues + 64) * sizeof *nv);
		if (!nv)
			return set_err(L->err, L->errlen, "out of memory");
		a->values = nv;
	}
	snprintf(a->values[a->nvalues++], XP_VAL_MAX, "%s", text);
	return 0;
}

static int get_num(loader *L, const config_setting_t *g, const char *name, const xp_axis *a, double *v, int *has)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	*has = s != NULL;
	if (!s)
		return 0;
	if (!is_number(s, v) || !isfinite(*v))
		return set_err(L->err, L->errlen, "%s:%d: axis %s: %s must be a number", L->file, line_of(s), a->key, name);
	return 0;
}

static int load_axis(loader *L, const config_setting_t *g, xp_axis *a)
{
	const char *file = L->file;
	int line = line_of(g);
	char list[256];
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return set_err(L->err, L->errlen, "%s:%d: axes: each axis is a group { key = \"...\"; values = [...]; }",
		               file, line);
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		if (!in_list(axis_keys, config_setting_name(m))) {
			list_text(axis_keys, list, sizeof list);
			return set_err(L->err, L->errlen, "%s:%d: axis: unknown key '%s' (expected %s)", file, line_of(m),
			               config_setting_name(m), list);
		}
	}
	const char *key;
	if (!config_setting_lookup_string(g, "key", &key))
		return set_err(L->err, L->errlen, "%s:%d: axis: key = \"arch.KEY\" | \"model.KEY\" | \"run.KEY\" | "
		               "\"arch\" | \"model\" is required", file, line);
	a->line = line;
	snprintf(a->key, sizeof a->key, "%s", key);
	if (strlen(key) >= sizeof a->key || find_key(key, &a->table, &a->decl))
		return set_err(L->err, L->errlen, "%s:%d: axis: unknown key '%s' (expected arch.KEY, model.KEY or "
		               "run.KEY from 'codesim list keys', or arch / model for the presets)", file, line, key);
	const config_setting_t *values = config_setting_get_member(g, "values");
	const config_setting_t *dist = config_setting_get_member(g, "dist");
	int has_start = config_setting_get_member(g, "start") != NULL;
	int forms = (values != NULL) + (dist != NULL) + has_start;
	if (forms != 1)
		return set_err(L->err, L->errlen, "%s:%d: axis %s: give exactly one of values = [...], a range (start, "
		               "stop, and steps, step or factor) or dist = \"uniform\" | \"loguniform\" (min, max)",
		               file, line, key);
	int numeric = a->decl && (a->decl->type == CFG_INT || a->decl->type == CFG_FLOAT);
	double mult = 0;
	int has_mult;
	if (get_num(L, g, "multiple_of", a, &mult, &has_mult))
		return -1;
	if (has_mult && (values || !numeric || mult <= 0))
		return set_err(L->err, L->errlen, "%s:%d: axis %s: multiple_of (> 0) applies to numeric ranges and "
		               "distributions", file, line, key);
	a->multiple_of = mult;
	if (values) {
		int t = config_setting_type(values);
		if ((t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) || config_setting_length(values) < 1)
			return set_err(L->err, L->errlen, "%s:%d: axis %s: values must be a non-empty list [a, b, ...]", file,
			               line_of(values), key);
		for (const char *const *k = axis_keys + 2; *k; k++)
			if (config_setting_get_member(g, *k) && strcmp(*k, "values"))
				return set_err(L->err, L->errlen, "%s:%d: axis %s: '%s' does not go with values", file, line,
				               key, *k);
		for (int i = 0; i < config_setting_length(values); i++) {
			const config_setting_t *v = config_setting_get_elem(values, (unsigned)i);
			char text[XP_VAL_MAX];
			if (scalar_text(v, text, sizeof text))
				return set_err(L->err, L->errlen, "%s:%d: axis %s: values[%d] must be a number, string or "
				               "boolean (at most %d characters)", file, line_of(v), key, i, XP_VAL_MAX - 1);
			if (add_value(L, a, text, line_of(v)))
				return -1;
		}
		return 0;
	}
	if (!numeric)
		return set_err(L->err, L->errlen, "%s:%d: axis %s is not numeric: give values = [...]", file, line, key);
	if (dist) {
		const char *d = config_setting_get_string(dist);
		if (!d || (strcmp(d, "uniform") && strcmp(d, "loguniform")))
			return set_err(L->err, L->errlen, "%s:%d: axis %s: dist must be \"uniform\" or \"loguniform\"", file,
			               line_of(dist), key);
		a->is_dist = 1;
		a->dist = strcmp(d, "uniform") ? XP_DIST_LOGUNIFORM : XP_DIST_UNIFORM;
		int hl, hh;
		if (get_num(L, g, "min", a, &a->lo, &hl) || get_num(L, g, "max", a, &a->hi, &hh))
			return -1;
		if (!hl || !hh || !(a->lo < a->hi))
			return set_err(L->err, L->errlen, "%s:%d: axis %s: dist needs min < max", file, line, key);
		if (a->dist == XP_DIST_LOGUNIFORM && a->lo <= 0)
			return set_err(L->err, L->errlen, "%s:%d: axis %s: loguniform needs min > 0", file, line, key);
		static const char *const not_dist[] = {"start", "stop", "steps", "step", "factor", "scale", NULL};
		for (const char *const *k = not_dist; *k; k++)
			if (config_setting_get_member(g, *k))
				return set_err(L->err, L->errlen, "%s:%d: axis %s: '%s' does not go with dist", file, line, key,
				               *k);
		/* both ends, as they will be rounded, must be legal values */
		char where[1200], text[XP_VAL_MAX];
		snprintf(where, sizeof where, "%s:%d: axis %s", file, line, key);
		double ends[2] = {a->lo, a->hi};
		for (int i = 0; i < 2; i++) {
			fmt_num(quantize(a, ends[i]), text, sizeof text);
			if (check_value(L->home, &L->scr, a->table, a->decl, text, where, L->err, L->errlen))
				return -1;
		}
		return 0;
	}
	/* a range */
	double start, stop, steps = 0, step = 0, factor = 0;
	int hs, ht, hn, hp, hf;
	if (get_num(L, g, "start", a, &start, &hs) || get_num(L, g, "stop", a, &stop, &ht) ||
	    get_num(L, g, "steps", a, &steps, &hn) || get_num(L, g, "step", a, &step, &hp) ||
	    get_num(L, g, "factor", a, &factor, &hf))
		return -1;
	if (!ht)
		return set_err(L->err, L->errlen, "%s:%d: axis %s: a range needs start and stop", file, line, key);
	if (hn + hp + hf != 1)
		return set_err(L->err, L->errlen, "%s:%d: axis %s: a range needs exactly one of steps (a count), step "
		               "(linear increment) or factor (geometric ratio)", file, line, key);
	int log_scale = 0;
	const char *scale;
	if (config_setting_lookup_string(g, "scale", &scale)) {
		if (strcmp(scale, "linear") && strcmp(scale, "log"))
			return set_err(L->err, L->errlen, "%s:%d: axis %s: scale must be \"linear\" or \"log\"", file, line,
			               key);
		log_scale = !strcmp(scale, "log");
		if (!hn)
			return set_err(L->err, L->errlen, "%s:%d: axis %s: scale goes with steps", file, line, key);
	} else if (config_setting_get_member(g, "scale")) {
		return set_err(L->err, L->errlen, "%s:%d: axis %s: scale must be \"linear\" or \"log\"", file, line, key);
	}
	char text[XP_VAL_MAX];
	if (hn) {
		if (steps < 1 || steps > XP_AXIS_VALUES_MAX || steps != floor(steps))
			return set_err(L->err, L->errlen, "%s:%d: axis %s: steps must be an integer in [1, %d]", file, line,
			               key, XP_AXIS_VALUES_MAX);
		if (log_scale && (start <= 0 || stop <= 0))
			return set_err(L->err, L->errlen, "%s:%d: axis %s: a log-spaced range needs start, stop > 0", file,
			               line, key);
		for (int i = 0; i < (int)steps; i++) {
			double f = steps > 1 ? i / (steps - 1) : 0;
			double v = log_scale ? start * pow(stop / start, f) : start + f * (stop - start);
			if (i == (int)steps - 1 && steps > 1)
				v = stop;   /* the end exactly, whatever the rounding */
			fmt_num(quantize(a, v), text, sizeof text);
			if (add_value(L, a, text, line))
				return -1;
		}
		return 0;
	}
	if (hp ? !(step > 0) : !(factor > 1))
		return set_err(L->err, L->errlen, "%s:%d: axis %s: %s", file, line, key,
		               hp ? "step must be > 0" : "factor must be > 1");
	if (stop < start || (hf && start <= 0))
		return set_err(L->err, L->errlen, "%s:%d: axis %s: a range needs start <= stop%s", file, line, key,
		               hf ? " and start > 0" : "");
	for (int i = 0;; i++) {
		double v = hp ? start + i * step : start * pow(factor, i);
		if (v > stop * (1 + 1e-12) + 1e-300 || i >= XP_AXIS_VALUES_MAX)
			break;
		fmt_num(quantize(a, v), text, sizeof text);
		if (add_value(L, a, text, line))
			return -1;
	}
	return 0;
}

static int load_run(loader *L, const config_setting_t *run)
{
	if (config_setting_type(run) != CONFIG_TYPE_GROUP)
		return set_err(L->err, L->errlen, "%s:%d: run must be a group { phase = \"decode\"; batch = 8; ... }",
		               L->file, line_of(run));
	for (int i = 0; i < config_setting_length(run); i++) {
		const config_setting_t *s = config_setting_get_elem(run, (unsigned)i);
		char text[XP_VAL_MAX], where[1200];
		snprintf(where, sizeof where, "%s:%d: run", L->file, line_of(s));
		if (!arch_cfg_find(wl_run_keys, wl_run_nkeys, config_setting_name(s)))
			return set_err(L->err, L->errlen, "%s: unknown key '%s' (scenario keys: codesim list keys)", where,
			               config_setting_name(s));
		if (scalar_text(s, text, sizeof text))
			return set_err(L->err, L->errlen, "%s: %s must be a number or a string", where,
			               config_setting_name(s));
		char e[ARCH_ERR_MAX];
		if (arch_cfg_set(wl_run_keys, wl_run_nkeys, &L->sw->base.sc, config_setting_name(s), text, where, e,
		                 sizeof e))
			return set_err(L->err, L->errlen, "%s", e);
	}
	return 0;
}

static int load_sets(loader *L, const config_setting_t *set)
{
	int t = config_setting_type(set);
	if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
		return set_err(L->err, L->errlen, "%s:%d: set must be a list of \"KEY=VALUE\" strings", L->file,
		               line_of(set));
	xp_spec *b = &L->sw->base;
	for (int i = 0; i < config_setting_length(set); i++) {
		const config_setting_t *s = config_setting_get_elem(set, (unsigned)i);
		const char *kv = config_setting_get_string(s);
		char path[160], where[1200];
		int line = line_of(s), table;
		const cfg_key *k;
		const char *eq = kv ? strchr(kv, '=') : NULL;
		if (!eq || (size_t)(eq - kv) >= sizeof path || strlen(kv) >= sizeof b->sets[0])
			return set_err(L->err, L->errlen, "%s:%d: set[%d]: expected \"arch.KEY=VALUE\", \"model.KEY=VALUE\" "
			               "or \"run.KEY=VALUE\"", L->file, line, i);
		memcpy(path, kv, (size_t)(eq - kv));
		path[eq - kv] = 0;
		if (find_key(path, &table, &k) || !k)
			return set_err(L->err, L->errlen, "%s:%d: set[%d]: unknown key '%s' (see 'codesim list keys')",
			               L->file, line, i, path);
		snprintf(where, sizeof where, "%s:%d: set %s", L->file, line, path);
		if (check_value(L->home, &L->scr, table, k, eq + 1, where, L->err, L->errlen))
			return -1;
		if (b->nsets >= XP_MAX_SETS)
			return set_err(L->err, L->errlen, "%s:%d: too many overrides (at most %d with the axes)", L->file,
			               line, XP_MAX_SETS);
		snprintf(b->sets[b->nsets++], sizeof b->sets[0], "%s", kv);
	}
	return 0;
}

/* Random and LHS draws, in a documented order (see the top of the file). */
static int make_draws(xp_sweep *sw, char *err, size_t errlen)
{
	long n = sw->npoints;
	int na = sw->naxes;
	if (sw->sampling == XP_GRID || na == 0)
		return 0;
	sw->draws = malloc((size_t)n * (size_t)na * sizeof *sw->draws);
	size_t *perm = sw->sampling == XP_LHS ? malloc((size_t)n * sizeof *perm) : NULL;
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	if (!sw->draws || !r || (sw->sampling == XP_LHS && !perm)) {
		free(perm);
		if (r)
			gsl_rng_free(r);
		return set_err(err, errlen, "out of memory for %ld samples", n);
	}
	gsl_rng_set(r, sw->seed);
	if (sw->sampling == XP_RANDOM) {
		for (long i = 0; i < n; i++)
			for (int a = 0; a < na; a++) {
				const xp_axis *x = &sw->axes[a];
				double u = gsl_rng_uniform(r);
				double *d = &sw->draws[i * na + a];
				if (!x->is_dist)
					*d = floor(u * x->nvalues);
				else
					*d = u;
			}
	} else {
		for (int a = 0; a < na; a++) {
			for (long i = 0; i < n; i++)
				perm[i] = (size_t)i;
			gsl_ran_shuffle(r, perm, (size_t)n, sizeof *perm);
			for (long i = 0; i < n; i++) {
				/* point i falls in stratum perm[i] of n: each stratum once */
				double u = ((double)perm[i] + gsl_rng_uniform(r)) / (double)n;
				const xp_axis *x = &sw->axes[a];
				sw->draws[i * na + a] = x->is_dist ? u : floor(u * x->nvalues);
			}
		}
	}
	/* dist draws: u to a value on the axis scale */
	for (long i = 0; i < n; i++)
		for (int a = 0; a < na; a++) {
			const xp_axis *x = &sw->axes[a];
			double *d = &sw->draws[i * na + a];
			if (!x->is_dist) {
				if (*d >= x->nvalues)
					*d = x->nvalues - 1;
				continue;
			}
			*d = x->dist == XP_DIST_UNIFORM ? x->lo + *d * (x->hi - x->lo)
			                                : exp(log(x->lo) + *d * (log(x->hi) - log(x->lo)));
		}
	free(perm);
	gsl_rng_free(r);
	return 0;
}

int xp_sweep_load(xp_sweep *sw, const char *home, const char *file, char *err, size_t errlen)
{
	config_t cfg;
	int rc = -1;
	memset(sw, 0, sizeof *sw);
	xp_spec_init(&sw->base);
	sw->seed = 1;
	snprintf(sw->file, sizeof sw->file, "%s", file);
	if (!(sw->text = read_text(file)))
		return set_err(err, errlen, "%s: cannot read file", file);
	if (check_int_literals(file, sw->text, err, errlen)) {
		xp_sweep_free(sw);
		return -1;
	}
	config_init(&cfg);
	if (!config_read_string(&cfg, sw->text)) {
		set_err(err, errlen, "%s:%d: syntax error: %s", file, config_error_line(&cfg), config_error_text(&cfg));
		goto out;
	}
	loader L;
	memset(&L, 0, sizeof L);
	L.sw = sw, L.home = home, L.file = file, L.err = err, L.errlen = errlen;
	arch_cfg_defaults(arch_keys, arch_nkeys, &L.scr.arch);
	arch_cfg_defaults(wl_model_keys, wl_model_nkeys, &L.scr.model);
	wl_scenario_defaults(&L.scr.sc);
	const config_setting_t *root = config_root_setting(&cfg), *s;
	char list[256];
	for (int i = 0; i < config_setting_length(root); i++) {
		s = config_setting_get_elem(root, (unsigned)i);
		if (!in_list(top_keys, config_setting_name(s))) {
			list_text(top_keys, list, sizeof list);
			set_err(err, errlen, "%s:%d: unknown key '%s' (a sweep spec has %s)", file, line_of(s),
			        config_setting_name(s), list);
			goto out;
		}
	}
	const char *str;
	/* name: the file's base name unless given */
	if ((s = config_lookup(&cfg, "name"))) {
		if (!(str = config_setting_get_string(s)) || !*str || strlen(str) >= sizeof sw->name) {
			set_err(err, errlen, "%s:%d: name must be a string of 1 to %zu characters", file, line_of(s),
			        sizeof sw->name - 1);
			goto out;
		}
		snprintf(sw->name, sizeof sw->name, "%s", str);
	} else {
		const char *b = strrchr(file, '/');
		snprintf(sw->name, sizeof sw->name, "%s", b ? b + 1 : file);
		char *dot = strstr(sw->name, ".cfg");
		if (dot)
			*dot = 0;
	}
	if ((s = config_lookup(&cfg, "description")) && !config_setting_get_string(s)) {
		set_err(err, errlen, "%s:%d: description must be a string", file, line_of(s));
		goto out;
	}
	static const char *const presets[] = {"arch", "model"};
	for (int p = 0; p < 2; p++) {
		if (!(s = config_lookup(&cfg, presets[p])))
			continue;
		char *dst = p ? sw->base.model : sw->base.arch;
		if (!(str = config_setting_get_string(s)) || strlen(str) >= sizeof sw->base.arch) {
			set_err(err, errlen, "%s:%d: %s must be a preset name or a .cfg path", file, line_of(s), presets[p]);
			goto out;
		}
		char where[1200];
		snprintf(where, sizeof where, "%s:%d", file, line_of(s));
		if (check_value(home, &L.scr, p ? XP_T_MODEL_PRESET : XP_T_ARCH_PRESET, NULL, str, where, err, errlen))
			goto out;
		snprintf(dst, sizeof sw->base.arch, "%s", str);
	}
	if ((s = config_lookup(&cfg, "run")) && load_run(&L, s))
		goto out;
	if ((s = config_lookup(&cfg, "set")) && load_sets(&L, s))
		goto out;
	if ((s = config_lookup(&cfg, "axes"))) {
		int t = config_setting_type(s);
		if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_GROUP) {
			set_err(err, errlen, "%s:%d: axes must be a list of groups: ( { key = ...; values = [...]; }, ... )",
			        file, line_of(s));
			goto out;
		}
		if (t == CONFIG_TYPE_GROUP) {
			/* one axis written without the list parentheses */
			set_err(err, errlen, "%s:%d: axes must be a list: axes = ( { key = ...; ... } );", file, line_of(s));
			goto out;
		}
		for (int i = 0; i < config_setting_length(s); i++) {
			const config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
			if (sw->naxes >= XP_AXES_MAX) {
				set_err(err, errlen, "%s:%d: more than %d axes", file, line_of(g), XP_AXES_MAX);
				goto out;
			}
			xp_axis *a = &sw->axes[sw->naxes++];
			if (load_axis(&L, g, a))
				goto out;
			for (int j = 0; j < sw->naxes - 1; j++)
				if (!strcmp(sw->axes[j].key, a->key)) {
					set_err(err, errlen, "%s:%d: axis %s appears twice (line %d)", file, a->line, a->key,
					        sw->axes[j].line);
					goto out;
				}
			size_t kl = strlen(a->key);
			for (int j = 0; j < sw->base.nsets; j++)
				if (!strncmp(sw->base.sets[j], a->key, kl) && sw->base.sets[j][kl] == '=') {
					set_err(err, errlen, "%s:%d: axis %s is also fixed by set: keep one", file, a->line, a->key);
					goto out;
				}
		}
	}
	if (sw->base.nsets + sw->naxes > XP_MAX_SETS) {
		set_err(err, errlen, "%s: %d overrides and %d axes: at most %d together", file, sw->base.nsets, sw->naxes,
		        XP_MAX_SETS);
		goto out;
	}
	int has_arch = sw->base.arch[0], has_model = sw->base.model[0];
	for (int i = 0; i < sw->naxes; i++) {
		has_arch |= sw->axes[i].table == XP_T_ARCH_PRESET;
		has_model |= sw->axes[i].table == XP_T_MODEL_PRESET;
	}
	if (!has_arch || !has_model) {
		set_err(err, errlen, "%s: %s = \"...\" is required (or an axis over it)", file, has_arch ? "model" : "arch");
		goto out;
	}
	sw->sampling = XP_GRID;
	if ((s = config_lookup(&cfg, "sampling"))) {
		str = config_setting_get_string(s);
		int k = -1;
		for (int i = 0; str && xp_sampling_names[i]; i++)
			if (!strcmp(str, xp_sampling_names[i]))
				k = i;
		if (k < 0) {
			set_err(err, errlen, "%s:%d: sampling must be \"grid\", \"random\" or \"lhs\"", file, line_of(s));
			goto out;
		}
		sw->sampling = k;
	}
	double v;
	if ((s = config_lookup(&cfg, "samples"))) {
		if (sw->sampling == XP_GRID) {
			set_err(err, errlen, "%s:%d: samples goes with sampling = \"random\" or \"lhs\" (a grid has every "
			        "point)", file, line_of(s));
			goto out;
		}
		if (!is_number(s, &v) || v < 1 || v > XP_SAMPLES_MAX || v != floor(v)) {
			set_err(err, errlen, "%s:%d: samples must be an integer in [1, %ld]", file, line_of(s), XP_SAMPLES_MAX);
			goto out;
		}
		sw->samples = (long)v;
	} else if (sw->sampling != XP_GRID) {
		set_err(err, errlen, "%s: sampling = \"%s\" needs samples = N", file, xp_sampling_names[sw->sampling]);
		goto out;
	}
	if ((s = config_lookup(&cfg, "seed"))) {
		int t = config_setting_type(s);
		if ((t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) || config_setting_get_int64(s) < 0) {
			set_err(err, errlen, "%s:%d: seed must be a non-negative integer", file, line_of(s));
			goto out;
		}
		sw->seed = (unsigned long)config_setting_get_int64(s);
	}
	if ((s = config_lookup(&cfg, "constraints"))) {
		int t = config_setting_type(s);
		if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
			set_err(err, errlen, "%s:%d: constraints must be a list of strings [\"expr\", ...]", file, line_of(s));
			goto out;
		}
		for (int i = 0; i < config_setting_length(s); i++) {
			const config_setting_t *c = config_setting_get_elem(s, (unsigned)i);
			char e[ARCH_ERR_MAX];
			if (sw->ncons >= XP_CONS_MAX) {
				set_err(err, errlen, "%s:%d: more than %d constraints", file, line_of(c), XP_CONS_MAX);
				goto out;
			}
			if (!(str = config_setting_get_string(c))) {
				set_err(err, errlen, "%s:%d: constraints[%d] must be a string", file, line_of(c), i);
				goto out;
			}
			if (xp_expr_compile(str, &sw->cons[sw->ncons], e, sizeof e)) {
				set_err(err, errlen, "%s:%d: constraints[%d]: %s", file, line_of(c), i, e);
				goto out;
			}
			sw->cons[sw->ncons++].line = line_of(c);
		}
	}
	/* how many points */
	if (sw->sampling == XP_GRID) {
		double n = 1;
		for (int i = 0; i < sw->naxes; i++) {
			if (sw->axes[i].is_dist) {
				set_err(err, errlen, "%s:%d: axis %s is a distribution: it needs sampling = \"random\" or \"lhs\"",
				        file, sw->axes[i].line, sw->axes[i].key);
				goto out;
			}
			n *= sw->axes[i].nvalues;
		}
		if (n > XP_GRID_MAX) {
			set_err(err, errlen, "%s: the grid has %.0f points, more than %ld: sample it (sampling = \"random\" "
			        "or \"lhs\")", file, n, XP_GRID_MAX);
			goto out;
		}
		sw->npoints = (long)n;
	} else {
		sw->npoints = sw->samples;
	}
	if (make_draws(sw, err, errlen))
		goto out;
	rc = 0;
out:
	config_destroy(&cfg);
	if (rc)
		xp_sweep_free(sw);
	return rc;
}

void xp_sweep_free(xp_sweep *sw)
{
	for (int i = 0; i < sw->naxes; i++)
		free(sw->axes[i].values);
	for (int i = 0; i < sw->ncons; i++)
		xp_expr_free(&sw->cons[i]);
	free(sw->draws);
	free(sw->text);
	sw->draws = NULL;
	sw->text = NULL;
	sw->naxes = sw->ncons = 0;
}

void xp_sweep_values(const xp_sweep *sw, long i, char vals[][XP_VAL_MAX])
{
	if (sw->sampling == XP_GRID) {
		/* mixed radix, the last axis fastest */
		for (int a = sw->naxes - 1; a >= 0; a--) {
			const xp_axis *x = &sw->axes[a];
			snprintf(vals[a], XP_VAL_MAX, "%s", x->values[i % x->nvalues]);
			i /= x->nvalues;
		}
		return;
	}
	for (int a = 0; a < sw->naxes; a++) {
		const xp_axis *x = &sw->axes[a];
		double d = sw->draws[i * sw->naxes + a];
		if (!x->is_dist) {
			snprintf(vals[a], XP_VAL_MAX, "%s", x->values[(int)d]);
			continue;
		}
		double q = quantize(x, d), m = x->multiple_of > 0 ? x->multiple_of : 1;
		int whole = x->multiple_of > 0 || x->decl->type == CFG_INT;
		/* rounding must not leave the declared interval */
		if (q < x->lo)
			q = whole ? ceil(x->lo / m) * m : x->lo;
		if (q > x->hi)
			q = whole ? floor(x->hi / m) * m : x->hi;
		if (x->decl->type == CFG_INT)
			snprintf(vals[a], XP_VAL_MAX, "%.0f", q);
		else if (x->multiple_of > 0)
			fmt_num(q, vals[a], XP_VAL_MAX);
		else
			snprintf(vals[a], XP_VAL_MAX, "%.8g", q);
	}
}

void xp_sweep_spec(const xp_sweep *sw, char vals[][XP_VAL_MAX], xp_spec *out)
{
	*out = sw->base;
	for (int a = 0; a < sw->naxes; a++) {
		const xp_axis *x = &sw->axes[a];
		if (x->table == XP_T_ARCH_PRESET)
			snprintf(out->arch, sizeof out->arch, "%s", vals[a]);
		else if (x->table == XP_T_MODEL_PRESET)
			snprintf(out->model, sizeof out->model, "%s", vals[a]);
		else
			snprintf(out->sets[out->nsets++], sizeof out->sets[0], "%s=%s", x->key, vals[a]);
	}
}

int xp_sweep_apply(const char *home, const xp_spec *spec, xp_point *pt, char *err, size_t errlen)
{
	memset(pt, 0, sizeof *pt);
	if (arch_load(&pt->arch, home, spec->arch, err, errlen) ||
	    wl_model_load(&pt->model, home, spec->model, err, errlen))
		return -1;
	pt->sc = spec->sc;
	for (int i = 0; i < spec->nsets; i++) {
		const char *s = spec->sets[i];
		int rc = !strncmp(s, "arch.", 5)    ? arch_override(&pt->arch, s + 5, err, errlen)
		         : !strncmp(s, "model.", 6) ? wl_model_override(&pt->model, s + 6, err, errlen)
		         : !strncmp(s, "run.", 4)   ? wl_scenario_override(&pt->sc, s + 4, err, errlen)
		                                    : set_err(err, errlen, "%s: keys start with arch., model. or run.", s);
		if (rc)
			return -1;
	}
	return 0;
}

int xp_sweep_admit(const xp_sweep *sw, const xp_point *pt, int *which)
{
	for (int i = 0; i < sw->ncons; i++)
		if (!xp_expr_eval(&sw->cons[i], pt)) {
			if (which)
				*which = i;
			return 0;
		}
	return 1;
}
