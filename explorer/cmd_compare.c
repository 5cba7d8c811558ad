/*
 * cmd_compare.c - `codesim compare`, `codesim report` and `codesim recommend`.
 *
 * compare: every arch x model x phase point of the run options, evaluated
 * in parallel forked workers (compare_pool.c), stored in SQLite, rendered by
 * results/report.c.  The points are exactly the ones `codesim run` resolves
 * for the same options, so the numbers are the same.
 *
 * An arch in the --arch list may carry its own run options after colons:
 * `groq-lpu:tp=8:pp=8:dtype=int8` (flag names without dashes, or full
 * arch./model./run. key paths).
 */
#include "compare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../results/res.h"

#define EXIT_BAD 1
#define EXIT_INTERNAL 2
#define MAX_LIST 32

int xp_cmd_compare(int argc, char **argv, const char *home);
int xp_cmd_report(int argc, char **argv, const char *home);
int xp_cmd_recommend(int argc, char **argv, const char *home);
/* compare_report.c, recommend_cli.c */
int xp_report_cli(int argc, char **argv, const char *home);
int xp_recommend_cli(int argc, char **argv, const char *home);

static const char compare_usage[] =
    "usage: codesim compare --arch A,B,... --model M[,M2...] [--phase P[,P2...]] [run options]\n"
    "                       [--out FILE.md|FILE.html] [--db FILE | --no-db] [--fit] [--jobs N]\n"
    "                       [--timeout S] [--title T] [--json]\n"
    "\n"
    "Runs every arch x model x phase point with the run options (see codesim run --help) and\n"
    "writes a report: per chip time/TTFT/TPOT, tokens/s (system and per chip), MFU, memory fit,\n"
    "J/token, tokens/J, $/Mtok, where time goes; which chip wins for what and why; plots\n"
    "(roofline per chip, time breakdown, throughput) when gnuplot is installed.\n"
    "\n"
    "  --arch LIST     chips, comma-separated; one may carry its own run options after colons:\n"
    "                  groq-lpu:tp=8:pp=8  h100:tp=2  tpu-v5p:arch.clock_MHz=1900\n"
    "  --model LIST    models, comma-separated\n"
    "  --phase LIST    train | prefill | decode | serve, comma-separated (default decode)\n"
    "  --out FILE      FILE.md (plots as FILE-N-*.svg beside it) or FILE.html (self-contained);\n"
    "                  default: Markdown on stdout, tables only\n"
    "  --db FILE       store the points in this SQLite database (default compare.db);\n"
    "                  --no-db: do not store\n"
    "  --fit           run a chip that cannot hold the model on the smallest tp x pp layout\n"
    "                  that fits, instead of reporting it infeasible\n"
    "  --jobs N        parallel workers (default: the cores, at most 16)\n"
    "  --timeout S     seconds per point before its worker is stopped (default 120)\n"
    "  --json          one JSON object on stdout: every point as `codesim run --json` prints it,\n"
    "                  with its label and status, and the findings per group\n"
    "\n"
    "CODESIM_GNUPLOT=PATH runs that gnuplot (a path that does not run: tables only).\n"
    "\n"
    "example:\n"
    "  codesim compare --arch h100,mi300x,tpu-v5p,groq-lpu:tp=8:pp=8:dtype=int8 --model llama3-8b \\\n"
    "                  --phase decode --batch 8 --context 2048 --out report.html\n";

/* ---- lists ---------------------------------------------------------------- */

static int split_list(const char *s, char items[][256], int max, const char *flag)
{
	int n = 0;
	const char *p = s;
	while (*p) {
		size_t len = strcspn(p, ",");
		if (len == 0 || len >= 256) {
			fprintf(stderr, "codesim: %s %s: expected a comma-separated list of names\n", flag, s);
			return -1;
		}
		if (n >= max) {
			fprintf(stderr, "codesim: %s: at most %d entries\n", flag, max);
			return -1;
		}
		memcpy(items[n], p, len);
		items[n][len] = 0;
		n++;
		p += len;
		if (*p == ',') {
			p++;
			if (!*p) {
				fprintf(stderr, "codesim: %s %s: empty entry after ','\n", flag, s);
				return -1;
			}
		}
	}
	if (n == 0)
		fprintf(stderr, "codesim: %s needs at least one name\n", flag);
	return n > 0 ? n : -1;
}

/* ---- options -------------------------------------------------------------- */

typedef struct {
	char out[1024];
	char db[1024];
	int no_db;
	int fit;
	int jobs;
	double timeout_s;
	char title[256];
	char phases[512];
} compare_opts;

static int parse_num(const char *flag, const char *v, double lo, double hi, double *out)
{
	char *end;
	double d = strtod(v, &end);
	if (end == v || *end || !(d >= lo && d <= hi)) {
		fprintf(stderr, "codesim: %s %s: expected a number in [%g, %g]\n", flag, v, lo, hi);
		return -1;
	}
	*out = d;
	return 0;
}

static int compare_extra(int i, int argc, char **argv, void *ctx)
{
	compare_opts *o = ctx;
	const char *a = argv[i];
	if (!strcmp(a, "--no-db")) {
		o->no_db = 1;
		return 1;
	}
	if (!strcmp(a, "--fit")) {
		o->fit = 1;
		return 1;
	}
	if (strcmp(a, "--out") && strcmp(a, "--db") && strcmp(a, "--jobs") && strcmp(a, "--timeout") &&
	    strcmp(a, "--title"))
		return 0;
	if (i + 1 >= argc) {
		fprintf(stderr, "codesim: %s needs a value\n", a);
		return -1;
	}
	const char *v = argv[i + 1];
	double d;
	if (!strcmp(a, "--out"))
		snprintf(o->out, sizeof o->out, "%s", v);
	else if (!strcmp(a, "--db"))
		snprintf(o->db, sizeof o->db, "%s", v);
	else if (!strcmp(a, "--title"))
		snprintf(o->title, sizeof o->title, "%s", v);
	else if (!strcmp(a, "--jobs")) {
		if (parse_num(a, v, 1, 64, &d) || d != floor(d)) {
			if (d != floor(d))
				fprintf(stderr, "codesim: --jobs %s: expected an integer in [1, 64]\n", v);
			return -1;
		}
		o->jobs = (int)d;
	} else {
		if (parse_num(a, v, 0, 86400, &d))
			return -1;
		o->timeout_s = d;
	}
	return 2;
}

/* Take --phase out of argv (it may be a list); the rest goes to
 * xp_parse_point. Returns the new argc. */
static int take_phases(int argc, char **argv, char **rest, char *phases, size_t plen)
{
	int n = 0;
	phases[0] = 0;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--phase") && i + 1 < argc) {
			snprintf(phases, plen, "%s", argv[++i]);
			continue;
		}
		rest[n++] = argv[i];
	}
	rest[n] = NULL;
	return n;
}

/* Apply one arch entry's ":key=value" options to a spec. */
static int apply_arch_opts(xp_spec *s, const char *entry, char *label, size_t llen)
{
	char name[256], err[ARCH_ERR_MAX];
	const char *colon = strchr(entry, ':');
	size_t nlen = colon ? (size_t)(colon - entry) : strlen(entry);
	if (nlen == 0 || nlen >= sizeof name) {
		fprintf(stderr, "codesim: --arch entry '%s': expected NAME[:key=value...]\n", entry);
		return -1;
	}
	memcpy(name, entry, nlen);
	name[nlen] = 0;
	snprintf(s->arch, sizeof s->arch, "%s", name);
	snprintf(label, llen, "%.60s", name);
	if (!colon)
		return 0;
	size_t u = strlen(label);
	u += (size_t)snprintf(label + u, u < llen ? llen - u : 0, " (");
	int first = 1;
	for (const char *p = colon + 1; *p;) {
		char kv[200];
		size_t len = strcspn(p, ":");
		if (len == 0 || len >= 160) {
			fprintf(stderr, "codesim: --arch entry '%s': empty or too long option\n", entry);
			return -1;
		}
		memcpy(kv, p, len);
		kv[len] = 0;
		p += len + (p[len] == ':');
		char *eq = strchr(kv, '=');
		if (!eq || eq == kv || !eq[1]) {
			fprintf(stderr, "codesim: --arch entry '%s': option '%s' is not key=value (e.g. tp=8, "
			                "arch.clock_MHz=1900)\n", entry, kv);
			return -1;
		}
		if (!strncmp(kv, "arch.", 5) || !strncmp(kv, "model.", 6) || !strncmp(kv, "run.", 4)) {
			if (s->nsets >= XP_MAX_SETS) {
				fprintf(stderr, "codesim: too many overrides for %s\n", name);
				return -1;
			}
			snprintf(s->sets[s->nsets++], sizeof s->sets[0], "%.159s", kv);
		} else {
			*eq = 0;
			for (char *c = kv; *c; c++)
				if (*c == '-')
					*c = '_';
			char origin[300];
			snprintf(origin, sizeof origin, "--arch %.60s:%.200s", name, kv);
			if (arch_cfg_set(wl_run_keys, wl_run_nkeys, &s->sc, kv, eq + 1, origin, err, sizeof err)) {
				fprintf(stderr, "codesim: %s (run options: %s)\n", err,
				        "phase batch seq context gen dtype chips tp pp dp ep vpp micro_batch recompute zero fusion");
				return -1;
			}
			*eq = '=';
		}
		u += (size_t)snprintf(label + u, u < llen ? llen - u : 0, "%s%s", first ? "" : ", ", kv);
		first = 0;
	}
	if (u < llen)
		snprintf(label + u, llen - u, ")");
	return 0;
}

/* The smallest tp x pp layout (dp as given) on which the point's memory
 * fits; wl_build only (no simulation), in this process.  0 found. */
static int fit_search(const char *home, const xp_spec *spec, xp_spec *out, int *chips)
{
	xp_point *pt = malloc(sizeof *pt);
	if (!pt)
		return -1;
	char err[ARCH_ERR_MAX];
	int best = -1, best_pp = 0, best_tp = 0;
	int dp = spec->sc.dp > 0 ? spec->sc.dp : 1;
	static const int tps[] = {1, 2, 4, 8, 16, 32, 64, 128};
	xp_spec s0 = *spec;
	if (xp_resolve(home, &s0, pt, err, sizeof err)) {
		free(pt);
		return -1;
	}
	int layers = pt->model.n_layers;
	for (size_t a = 0; a < sizeof tps / sizeof *tps; a++)
		for (int pp = 1; pp <= layers && pp <= 512; pp++) {
			int c = tps[a] * pp * dp;
			if (best > 0 && (c > best || (c == best && pp >= best_pp)))
				continue;
			xp_spec s = *spec;
			s.sc.tp = tps[a], s.sc.pp = pp, s.sc.dp = dp, s.sc.chips = 0;
			if (xp_resolve(home, &s, pt, err, sizeof err))
				continue;
			wl_graph g;
			if (wl_build(&g, &pt->arch, &pt->model, &pt->sc, err, sizeof err))
				continue;
			int ok = g.feasible && g.chips == c;
			wl_graph_free(&g);
			if (ok) {
				best = c, best_pp = pp, best_tp = tps[a];
				*out = s;
			}
		}
	free(pt);
	if (best < 0)
		return -1;
	*chips = best;
	(void)best_tp;
	return 0;
}

typedef struct {
	xp_spec spec;
	xp_point pt;
	res_rpoint rp;
	char phase_name[16];
	char opts[200];       /* the arch entry's own options, less the layout ones */
} cpoint;

static void progress_cb(void *ctx, int done, int total, const xp_pool_item *it)
{
	(void)it;
	if (*(int *)ctx)
		fprintf(stderr, "\rcompare: %d/%d points", done, total);
	if (*(int *)ctx && done == total)
		fprintf(stderr, "\n");
}

static int store_points(const char *path, int argc, char **argv, cpoint *cp, int n, const xp_pool_item *items,
                        long long *sweep_out)
{
	char err[ARCH_ERR_MAX];
	res_db *db = NULL;
	if (res_db_open(path, &db, err, sizeof err)) {
		fprintf(stderr, "codesim: --db %s: %s\n", path, err);
		return -1;
	}
	/* the sweep's identity: the command line as given, and the model version */
	size_t cap = 64;
	for (int i = 0; i < argc; i++)
		cap += strlen(argv[i]) + 3;
	char *cmd = malloc(cap), *spec_text = NULL, *cfg = NULL;
	int rc = -1;
	if (!cmd)
		goto out_db;
	size_t u = 0;
	u += (size_t)snprintf(cmd + u, cap - u, "codesim compare");
	for (int i = 1; i < argc; i++)
		u += (size_t)snprintf(cmd + u, cap - u, " %s", argv[i]);
	if (!(spec_text = xp_sweep_identity_text(cmd, CODESIM_MODEL_VERSION)))
		goto out_db;
	long long sid = res_db_sweep(db, "compare", spec_text, err, sizeof err);
	static const char *const axes[] = {"arch", "model", "run.phase"};
	if (sid < 0 || res_db_sweep_axes(db, sid, 3, axes, err, sizeof err))
		goto out_err;
	if (res_db_begin(db)) {
		snprintf(err, sizeof err, "cannot start a transaction");
		goto out_err;
	}
	for (int i = 0; i < n; i++) {
		char hash[17];
		free(cfg);
		if (!(cfg = xp_point_identity(&cp[i].pt, CODESIM_MODEL_VERSION, hash))) {
			snprintf(err, sizeof err, "out of memory");
			goto out_err;
		}
		const char *vals[3] = {cp[i].pt.arch.name, cp[i].pt.model.name, cp[i].phase_name};
		res_db_point dp;
		memset(&dp, 0, sizeof dp);
		dp.sweep_id = sid;
		dp.idx = i;
		dp.hash = hash;
		dp.config_text = cfg;
		dp.status = cp[i].rp.status;
		dp.reason = cp[i].rp.r.reason;
		dp.wall_s = items[i].wall_s;
		dp.rss_kB = -1;
		dp.nparams = 3;
		dp.param_keys = axes;
		dp.param_values = vals;
		const res_t *r = items[i].status == XP_POOL_OK ? &cp[i].rp.r : NULL;
		if (res_db_put_point(db, &dp, r, err, sizeof err))
			goto out_err;
	}
	if (res_db_commit(db)) {
		snprintf(err, sizeof err, "commit failed");
		goto out_err;
	}
	*sweep_out = sid;
	rc = 0;
	goto out_db;
out_err:
	fprintf(stderr, "codesim: --db %s: %s\n", path, err);
out_db:
	free(cfg);
	free(cmd);
	free(spec_text);
	res_db_close(db);
	return rc;
}

static void json_points(FILE *f, const cpoint *cp, int n, long long sweep_id, const char *db)
{
	fprintf(f, "{\"command\":\"compare\",");
	if (sweep_id >= 0) {
		fprintf(f, "\"db\":");
		res_json_str(f, db);
		fprintf(f, ",\"sweep_id\":%lld,", sweep_id);
	}
	fprintf(f, "\"points\":[");
	for (int i = 0; i < n; i++) {
		fprintf(f, "%s{\"label\":", i ? "," : "");
		res_json_str(f, cp[i].rp.label);
		fprintf(f, ",\"status\":\"%s\",\"hint\":", cp[i].rp.status);
		res_json_str(f, cp[i].rp.hint);
		fprintf(f, ",\"fit_chips\":%d,\"result\":", cp[i].rp.fit_chips);
		/* exactly what `codesim run --json` prints, less its newline */
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);
		if (m) {
			res_json(m, &cp[i].rp.r);
			fclose(m);
			while (len > 0 && buf[len - 1] == '\n')
				buf[--len] = 0;
			fputs(buf, f);
		} else {
			fputs("null", f);
		}
		free(buf);
		fputc('}', f);
	}
	fprintf(f, "],\"groups\":[");
	size_t nz = n > 0 ? (size_t)n : 1;
	int *done = calloc(nz, sizeof *done);
	const res_rpoint **g = malloc(nz * sizeof *g);
	char *find = malloc(16384);
	int first = 1;
	for (int i = 0; done && g && find && i < n; i++) {
		if (done[i])
			continue;
		int ng = 0;
		for (int j = i; j < n; j++)
			if (!done[j] && !strcmp(cp[j].rp.r.model, cp[i].rp.r.model) && cp[j].rp.r.phase == cp[i].rp.r.phase) {
				g[ng++] = &cp[j].rp;
				done[j] = 1;
			}
		res_report_findings(g, ng, find, 16384);
		fprintf(f, "%s{\"model\":", first ? "" : ",");
		res_json_str(f, cp[i].rp.r.model);
		fprintf(f, ",\"phase\":\"%s\",\"findings\":[", wl_phase_names[cp[i].rp.r.phase]);
		int k = 0;
		for (char *line = find; *line;) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = 0;
			/* findings carry **bold** for the report; JSON gets plain text */
			char plain[2048];
			size_t w = 0;
			for (const char *c = line; *c && w + 1 < sizeof plain; c++)
				if (!(c[0] == '*' && c[1] == '*'))
					plain[w++] = *c;
				else
					c++;
			plain[w] = 0;
			fprintf(f, "%s", k++ ? "," : "");
			res_json_str(f, plain);
			if (!nl)
				break;
			line = nl + 1;
		}
		fprintf(f, "]}");
		first = 0;
	}
	fprintf(f, "]}\n");
	free(done), free(g), free(find);
}

int xp_cmd_compare(int argc, char **argv, const char *home)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(compare_usage, stdout);
			return 0;
		}
	compare_opts o;
	memset(&o, 0, sizeof o);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	o.jobs = ncpu > 0 ? (ncpu < 16 ? (int)ncpu : 16) : 2;
	o.timeout_s = 120;
	snprintf(o.db, sizeof o.db, "compare.db");
	char **rest = calloc((size_t)argc + 1, sizeof *rest);
	if (!rest)
		return EXIT_INTERNAL;
	int rargc = take_phases(argc, argv, rest, o.phases, sizeof o.phases);
	xp_spec spec;
	xp_spec_init(&spec);
	int json = 0, verbose = 0;
	int bad = xp_parse_point(rargc, rest, 1, &spec, &json, &verbose, compare_extra, &o);
	free(rest);
	if (bad)
		return EXIT_BAD;
	if (!spec.arch[0] || !spec.model[0]) {
		fprintf(stderr, "codesim: compare needs --arch A,B,... and --model M (see codesim compare --help)\n");
		return EXIT_BAD;
	}
	char(*archs)[256] = calloc(3 * MAX_LIST, sizeof *archs);
	if (!archs)
		return EXIT_INTERNAL;
	char(*models)[256] = archs + MAX_LIST, (*phases)[256] = archs + 2 * MAX_LIST;
	int na = split_list(spec.arch, archs, MAX_LIST, "--arch");
	int nm = na > 0 ? split_list(spec.model, models, MAX_LIST, "--model") : -1;
	int np = 1;
	if (o.phases[0])
		np = split_list(o.phases, phases, MAX_LIST, "--phase");
	else
		snprintf(phases[0], sizeof phases[0], "%s", wl_phase_names[spec.sc.phase]);
	if (na < 0 || nm < 0 || np < 0) {
		free(archs);
		return EXIT_BAD;
	}
	int n = na * nm * np;
	cpoint *cp = calloc((size_t)n, sizeof *cp);
	xp_pool_item *items = calloc((size_t)n, sizeof *items);
	if (!cp || !items) {
		free(cp), free(items), free(archs);
		fprintf(stderr, "codesim: out of memory\n");
		return EXIT_INTERNAL;
	}
	int rc = EXIT_BAD, k = 0;
	char err[ARCH_ERR_MAX];
	for (int im = 0; im < nm; im++)
		for (int ip = 0; ip < np; ip++)
			for (int ia = 0; ia < na; ia++, k++) {
				cpoint *c = &cp[k];
				c->spec = spec;
				snprintf(c->spec.model, sizeof c->spec.model, "%s", models[im]);
				if (arch_cfg_set(wl_run_keys, wl_run_nkeys, &c->spec.sc, "phase", phases[ip], "--phase", err,
				                 sizeof err)) {
					fprintf(stderr, "codesim: %s\n", err);
					goto out;
				}
				if (apply_arch_opts(&c->spec, archs[ia], c->rp.label, sizeof c->rp.label))
					goto out;
				/* options other than the layout, for a fitted point's label */
				const char *colon = strchr(archs[ia], ':');
				for (const char *p = colon; p && *p;) {
					p++;
					size_t len = strcspn(p, ":");
					if (strncmp(p, "tp=", 3) && strncmp(p, "pp=", 3) && strncmp(p, "dp=", 3) &&
					    strncmp(p, "chips=", 6) && strlen(c->opts) + len + 3 < sizeof c->opts)
						snprintf(c->opts + strlen(c->opts), sizeof c->opts - strlen(c->opts), ", %.*s", (int)len, p);
					p += len;
				}
				snprintf(c->phase_name, sizeof c->phase_name, "%s", wl_phase_names[c->spec.sc.phase]);
				if (xp_resolve(home, &c->spec, &c->pt, err, sizeof err)) {
					fprintf(stderr, "codesim: %s on %s: %s\n", models[im], archs[ia], err);
					goto out;
				}
			}
	/* a chip that cannot hold the model: find the smallest layout that does */
	for (int i = 0; i < n; i++) {
		cpoint *c = &cp[i];
		wl_graph g;
		if (wl_build(&g, &c->pt.arch, &c->pt.model, &c->pt.sc, err, sizeof err)) {
			fprintf(stderr, "codesim: %s on %s: %s\n", c->spec.model, c->rp.label, err);
			goto out;
		}
		int over = !g.feasible && g.mem_capacity > 0 && g.mem_total > g.mem_capacity;
		wl_graph_free(&g);
		if (!over)
			continue;
		xp_spec fs;
		int chips = 0;
		if (fit_search(home, &c->spec, &fs, &chips) == 0) {
			c->rp.fit_chips = chips;
			char lay[64] = "";
			if (fs.sc.tp > 1)
				snprintf(lay, sizeof lay, "--tp %d", fs.sc.tp);
			if (fs.sc.pp > 1)
				snprintf(lay + strlen(lay), sizeof lay - strlen(lay), "%s--pp %d", lay[0] ? " " : "", fs.sc.pp);
			snprintf(c->rp.hint, sizeof c->rp.hint, "the smallest layout that fits is %s%s",
			         lay[0] ? lay : "one chip", fs.sc.dp > 1 ? " with dp as given" : "");
			if (o.fit) {
				char label[128];
				if (fs.sc.pp > 1)
					snprintf(label, sizeof label, "%.30s (fit: tp %d, pp %d%.40s)", c->pt.arch.name, fs.sc.tp, fs.sc.pp,
					         c->opts);
				else
					snprintf(label, sizeof label, "%.30s (fit: tp %d%.50s)", c->pt.arch.name, fs.sc.tp, c->opts);
				c->spec = fs;
				if (xp_resolve(home, &c->spec, &c->pt, err, sizeof err)) {
					fprintf(stderr, "codesim: %s: %s\n", label, err);
					goto out;
				}
				snprintf(c->rp.label, sizeof c->rp.label, "%.95s", label);
			}
		} else {
			snprintf(c->rp.hint, sizeof c->rp.hint, "no tp x pp layout (tp up to 128, pp up to n_layers) holds it");
		}
	}
	for (int i = 0; i < n; i++) {
		items[i].pt = &cp[i].pt;
		items[i].r = &cp[i].rp.r;
	}
	int show = verbose;
	if (xp_pool_eval(items, n, o.jobs, o.timeout_s, progress_cb, &show, err, sizeof err)) {
		fprintf(stderr, "codesim: %s\n", err);
		rc = EXIT_INTERNAL;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		cpoint *c = &cp[i];
		c->rp.arch = c->pt.arch;
		if (items[i].status != XP_POOL_OK) {
			res_infeasible(&c->rp.r, &c->pt.arch, &c->pt.model, &c->pt.sc, items[i].err);
			snprintf(c->rp.status, sizeof c->rp.status, "%s",
			         items[i].status == XP_POOL_TIMEOUT ? "timeout" : "failed");
		} else {
			snprintf(c->rp.status, sizeof c->rp.status, "%s", c->rp.r.feasible ? "ok" : "infeasible");
		}
	}
	long long sweep_id = -1;
	if (!o.no_db && store_points(o.db, argc, argv, cp, n, items, &sweep_id)) {
		rc = EXIT_BAD;
		goto out;
	}
	if (json && !o.out[0]) {
		json_points(stdout, cp, n, sweep_id, o.db);
		rc = 0;
		goto out;
	}
	{
		res_plotter plot;
		res_doc d;
		res_plot_open(&plot);
		if (res_doc_open(&d, o.out[0] ? o.out : NULL, &plot, err, sizeof err)) {
			fprintf(stderr, "codesim: %s\n", err);
			res_plot_close(&plot);
			goto out;
		}
		res_rpoint *rp = malloc((size_t)n * sizeof *rp);
		char cmd[2048];
		size_t u = 0;
		u += (size_t)snprintf(cmd, sizeof cmd, "codesim compare");
		for (int i = 1; i < argc && u < sizeof cmd; i++)
			u += (size_t)snprintf(cmd + u, sizeof cmd - u, strpbrk(argv[i], " \t'\"$`") ? " '%s'" : " %s", argv[i]);
		res_report_opts ro = {o.title[0] ? o.title : NULL, cmd};
		int w = -1;
		if (rp) {
			for (int i = 0; i < n; i++)
				rp[i] = cp[i].rp;
			w = res_report_compare(&d, rp, n, &ro, err, sizeof err);
			if (w == 0 && sweep_id >= 0) {
				char note[1600];
				snprintf(note, sizeof note, "The points are stored in `%.1000s`, sweep %lld: `codesim report --db "
				                            "%.100s --sweep %lld` renders this report again, `codesim query --db %.100s` "
				                            "reads them.",
				         o.db, sweep_id, o.db, sweep_id, o.db);
				res_doc_p(&d, note);
			}
		}
		free(rp);
		if (w)
			fprintf(stderr, "codesim: %s\n", rp ? err : "out of memory");
		if (res_doc_close(&d, err, sizeof err)) {
			fprintf(stderr, "codesim: %s\n", err);
			w = -1;
		}
		res_plot_close(&plot);
		if (w)
			goto out;
		if (json)
			json_points(stdout, cp, n, sweep_id, o.db);
		else if (o.out[0])
			fprintf(stderr, "codesim: wrote %s (%d points%s)\n", o.out, n,
			        plot.available ? "" : ", tables only: gnuplot not available");
	}
	rc = 0;
out:
	free(cp);
	free(items);
	free(archs);
	return rc;
}

int xp_cmd_report(int argc, char **argv, const char *home)
{
	return xp_report_cli(argc, argv, home);
}

int xp_cmd_recommend(int argc, char **argv, const char *home)
{
	return xp_recommend_cli(argc, argv, home);
}
