/*
 * config.c - declared-key tables over libconfig.
 *
 * Why a table: every key is declared once (path, type, unit, default,
 * range, doc), so loading, overriding, validating, dumping and documenting
 * all read the same source of truth, and a typo is an error, never a
 * silently ignored setting.
 *
 * libconfig 1.5 (Debian 12) parses an integer literal above 2^31 without an
 * 'L' suffix as a wrapped 32-bit int, silently.  We re-read the literal from
 * the source line and refuse the file when the two disagree.
 */
#include "arch.h"

#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const cfg_key *arch_cfg_find(const cfg_key *keys, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i].path, path) == 0)
			return &keys[i];
	return NULL;
}

static int enum_index(const cfg_key *k, const char *s)
{
	for (int i = 0; k->names[i]; i++)
		if (strcmp(k->names[i], s) == 0)
			return i;
	return -1;
}

static void enum_list(const cfg_key *k, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = 0;
	for (int i = 0; k->names[i] && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "|" : "", k->names[i]);
}

void arch_cfg_defaults(const cfg_key *keys, size_t n, void *obj)
{
	char *base = obj;
	for (size_t i = 0; i < n; i++) {
		const cfg_key *k = &keys[i];
		switch (k->type) {
		case CFG_INT:
		case CFG_BOOL:
		case CFG_ENUM:
			*(int *)(base + k->offset) = (int)k->def;
			break;
		case CFG_FLOAT:
			*(double *)(base + k->offset) = k->def;
			break;
		case CFG_STRING:
			((char *)(base + k->offset))[0] = 0;
			break;
		}
	}
}

double arch_cfg_get(const cfg_key *k, const void *obj)
{
	const char *base = obj;
	switch (k->type) {
	case CFG_INT:
	case CFG_BOOL:
	case CFG_ENUM:
		return *(const int *)(base + k->offset);
	case CFG_FLOAT:
		return *(const double *)(base + k->offset);
	case CFG_STRING:
		return NAN;
	}
	return NAN;
}

/* Check range and store a number; where names the origin for the error. */
static int store_number(const cfg_key *k, void *obj, double v, const char *where,
                        char *err, size_t errlen)
{
	char *base = obj;
	if (!isfinite(v) || v < k->min || v > k->max) {
		set_err(err, errlen, "%s: %s = %g is out of range [%g, %g]%s%s", where,
		        k->path, v, k->min, k->max, k->unit[0] ? " " : "", k->unit);
		return -1;
	}
	if (k->type == CFG_INT) {
		if (v != floor(v)) {
			set_err(err, errlen, "%s: %s = %g must be an integer", where, k->path, v);
			return -1;
		}
		*(int *)(base + k->offset) = (int)v;
	} else if (k->type == CFG_BOOL) {
		*(int *)(base + k->offset) = v != 0;
	} else {
		*(double *)(base + k->offset) = v;
	}
	return 0;
}

int arch_cfg_set(const cfg_key *keys, size_t n, void *obj, const char *path,
                 const char *value, const char *origin, char *err, size_t errlen)
{
	const cfg_key *k = arch_cfg_find(keys, n, path);
	char *base = obj;
	if (!k) {
		set_err(err, errlen, "%s: unknown key '%s' (see 'codesim list keys')", origin, path);
		return -1;
	}
	switch (k->type) {
	case CFG_STRING:
		if (strlen(value) >= k->str_size) {
			set_err(err, errlen, "%s: %s is longer than %zu characters", origin, path,
			        k->str_size - 1);
			return -1;
		}
		strcpy(base + k->offset, value);
		return 0;
	case CFG_ENUM: {
		int i = enum_index(k, value);
		if (i < 0) {
			char list[256];
			enum_list(k, list, sizeof list);
			set_err(err, errlen, "%s: %s = '%s' is not one of %s", origin, path, value, list);
			return -1;
		}
		*(int *)(base + k->offset) = i;
		return 0;
	}
	case CFG_BOOL:
		if (!strcmp(value, "true") || !strcmp(value, "1")) {
			*(int *)(base + k->offset) = 1;
			return 0;
		}
		if (!strcmp(value, "false") || !strcmp(value, "0")) {
			*(int *)(base + k->offset) = 0;
			return 0;
		}
		set_err(err, errlen, "%s: %s = '%s' must be true or false", origin, path, value);
		return -1;
	case CFG_INT:
	case CFG_FLOAT: {
		char *end;
		errno = 0;
		double v = strtod(value, &end);
		if (end == value || *end || errno) {
			set_err(err, errlen, "%s: %s = '%s' is not a number", origin, path, value);
			return -1;
		}
		return store_number(k, obj, v, origin, err, errlen);
	}
	}
	return -1;
}

/* ---- file loading --------------------------------------------------- */

typedef struct {
	char **lines;
	int nlines;
} src_lines;

static void src_free(src_lines *s)
{
	for (int i = 0; i < s->nlines; i++)
		free(s->lines[i]);
	free(s->lines);
}

static int src_read(src_lines *s, const char *file)
{
	FILE *f = fopen(file, "r");
	char buf[4096];
	int cap = 0;
	s->lines = NULL;
	s->nlines = 0;
	if (!f)
		return -1;
	while (fgets(buf, sizeof buf, f)) {
		if (s->nlines == cap) {
			cap = cap ? cap * 2 : 64;
			char **nl = realloc(s->lines, (size_t)cap * sizeof *nl);
			if (!nl) {
				fclose(f);
				return -1;
			}
			s->lines = nl;
		}
		s->lines[s->nlines++] = strdup(buf);
	}
	fclose(f);
	return 0;
}

/* The literal written after "name =" or "name :" on a source line. */
static int literal_on_line(const src_lines *s, int line, const char *name, double *out)
{
	if (line < 1 || line > s->nlines)
		return -1;
	const char *p = s->lines[line - 1];
	size_t nl = strlen(name);
	while ((p = strstr(p, name)) != NULL) {
		int start_ok = p == s->lines[line - 1] || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
		const char *q = p + nl;
		p = q;
		if (!start_ok)
			continue;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q != '=' && *q != ':')
			continue;
		q++;
		char *end;
		double v = strtod(q, &end);
		if (end == q)
			return -1;
		*out = v;
		return 0;
	}
	return -1;
}

static void setting_path(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *chain[32];
	int n = 0;
	for (; s && config_setting_name(s) && n < 32; s = config_setting_parent(s))
		chain[n++] = s;
	size_t used = 0;
	buf[0] = 0;
	while (n-- > 0 && used < len)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "." : "",
		                         config_setting_name(chain[n]));
}

typedef struct {
	const cfg_key *keys;
	size_t n;
	void *obj;
	const char *file;
	const src_lines *src;
	char *err;
	size_t errlen;
} load_ctx;

static int load_group(load_ctx *c, const config_setting_t *g)
{
	int len = config_setting_length(g);
	for (int i = 0; i < len; i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		char path[256], where[512];
		int line = (int)config_setting_source_line(s);
		setting_path(s, path, sizeof path);
		snprintf(where, sizeof where, "%s:%d", c->file, line);
		int t = config_setting_type(s);
		if (t == CONFIG_TYPE_GROUP) {
			if (load_group(c, s))
				return -1;
			continue;
		}
		const cfg_key *k = arch_cfg_find(c->keys, c->n, path);
		if (!k) {
			set_err(c->err, c->errlen, "%s: unknown key '%s' (see 'codesim list keys')", where, path);
			return -1;
		}
		char *base = c->obj;
		switch (k->type) {
		case CFG_STRING:
		case CFG_ENUM: {
			if (t != CONFIG_TYPE_STRING) {
				set_err(c->err, c->errlen, "%s: %s must be a quoted string", where, path);
				return -1;
			}
			if (arch_cfg_set(c->keys, c->n, c->obj, path, config_setting_get_string(s), where,
			                 c->err, c->errlen))
				return -1;
			break;
		}
		case CFG_BOOL:
			if (t != CONFIG_TYPE_BOOL) {
				set_err(c->err, c->errlen, "%s: %s must be true or false", where, path);
				return -1;
			}
			*(int *)(base + k->offset) = config_setting_get_bool(s);
			break;
		case CFG_INT:
		case CFG_FLOAT: {
			double v;
			if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) {
				long long iv = config_setting_get_int64(s);
				double lit;
				v = (double)iv;
				/* libconfig 1.5 wraps big literals without 'L': compare with the text */
				if (literal_on_line(c->src, line, config_setting_name(s), &lit) == 0 &&
				    lit != v) {
					set_err(c->err, c->errlen,
					        "%s: %s = %.0f does not fit a 32-bit integer literal (libconfig "
					        "would read %lld); use a unit-scaled key or a float like %.1f",
					        where, path, lit, iv, lit);
					return -1;
				}
			} else if (t == CONFIG_TYPE_FLOAT) {
				v = config_setting_get_float(s);
			} else {
				set_err(c->err, c->errlen, "%s: %s must be a number (%s)", where, path, k->unit);
				return -1;
			}
			if (store_number(k, c->obj, v, where, c->err, c->errlen))
				return -1;
			break;
		}
		}
	}
	return 0;
}

int arch_cfg_load(const cfg_key *keys, size_t n, void *obj, const char *file,
                  char *err, size_t errlen)
{
	config_t cfg;
	src_lines src;
	int rc = -1;

	if (access(file, R_OK) != 0) {
		set_err(err, errlen, "%s: cannot read file", file);
		return -1;
	}
	config_init(&cfg);
	config_set_auto_convert(&cfg, 1);
	if (!config_read_file(&cfg, file)) {
		set_err(err, errlen, "%s:%d: syntax error: %s", file, config_error_line(&cfg),
		        config_error_text(&cfg));
		goto out_cfg;
	}
	if (src_read(&src, file)) {
		set_err(err, errlen, "%s: cannot read file", file);
		goto out_cfg;
	}
	load_ctx c = {keys, n, obj, file, &src, err, errlen};
	rc = load_group(&c, config_root_setting(&cfg));
	src_free(&src);
out_cfg:
	config_destroy(&cfg);
	return rc;
}

size_t arch_cfg_dump(const cfg_key *keys, size_t n, const void *obj, const char *prefix,
                     char *buf, size_t buflen)
{
	size_t used = 0;
	const char *base = obj;
	for (size_t i = 0; i < n; i++) {
		const cfg_key *k = &keys[i];
		char val[256];
		switch (k->type) {
		case CFG_STRING:
			snprintf(val, sizeof val, "\"%s\"", base + k->offset);
			break;
		case CFG_ENUM:
			snprintf(val, sizeof val, "\"%s\"", k->names[*(const int *)(base + k->offset)]);
			break;
		case CFG_BOOL:
			snprintf(val, sizeof val, "%s", *(const int *)(base + k->offset) ? "true" : "false");
			break;
		case CFG_INT:
			snprintf(val, sizeof val, "%d", *(const int *)(base + k->offset));
			break;
		case CFG_FLOAT:
			snprintf(val, sizeof val, "%.17g", *(const double *)(base + k->offset));
			break;
		}
		int w = snprintf(buf ? buf + used : NULL, buf && used < buflen ? buflen - used : 0,
		                 "%s%s = %s;\n", prefix, k->path, val);
		used += (size_t)w;
	}
	return used;
}

void arch_home(char *out, size_t outlen)
{
	const char *env = getenv("CODESIM_HOME");
	if (env && *env) {
		snprintf(out, outlen, "%s", env);
		return;
	}
	char exe[1024];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = 0;
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			/* tests live in tests/, the binary at the top */
			size_t l = strlen(exe);
			if (l >= 6 && strcmp(exe + l - 6, "/tests") == 0)
				exe[l - 6] = 0;
			snprintf(out, outlen, "%s", exe);
			return;
		}
	}
	snprintf(out, outlen, ".");
}

int arch_cfg_resolve(const char *home, const char *dir, const char *name_or_path,
                     char *out, size_t outlen, char *err, size_t errlen)
{
	if (!name_or_path || !*name_or_path) {
		set_err(err, errlen, "empty preset name");
		return -1;
	}
	if (strchr(name_or_path, '/') || strstr(name_or_path, ".cfg")) {
		if (access(name_or_path, R_OK) != 0) {
			set_err(err, errlen, "%s: cannot read file", name_or_path);
			return -1;
		}
		snprintf(out, outlen, "%s", name_or_path);
		return 0;
	}
	for (const char *p = name_or_path; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.')) {
			set_err(err, errlen, "'%s' is not a preset name", name_or_path);
			return -1;
		}
	snprintf(out, outlen, "%s/%s/%s.cfg", home, dir, name_or_path);
	if (access(out, R_OK) != 0) {
		set_err(err, errlen, "unknown preset '%s' (no %s/%s.cfg; try 'codesim list %s')",
		        name_or_path, dir, name_or_path,
		        strstr(dir, "arch") ? "archs" : "models");
		return -1;
	}
	return 0;
}

int arch_cfg_load_preset(const cfg_key *keys, size_t n, void *obj, const char *home, const char *dir,
                         const char *name_or_path, char *name, size_t name_size, char *err, size_t errlen)
{
	char path[1024];
	arch_cfg_defaults(keys, n, obj);
	if (arch_cfg_resolve(home, dir, name_or_path, path, sizeof path, err, errlen))
		return -1;
	if (arch_cfg_load(keys, n, obj, path, err, errlen))
		return -1;
	if (!name[0]) {
		const char *base = strrchr(path, '/');
		base = base ? base + 1 : path;
		size_t len = strlen(base);
		if (len > 4 && !strcmp(base + len - 4, ".cfg"))
			len -= 4;
		snprintf(name, name_size, "%.*s", (int)(len < name_size ? len : name_size - 1), base);
	}
	return 0;
}

uint64_t arch_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}
