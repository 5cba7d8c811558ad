/*
 * cmd_validate.c - codesim validate and codesim calibrate.
 *
 * validate runs every case of a case file and prints predicted vs
 * published per case, and count / MAPE / worst case per category and
 * split.  Exit codes: 0 ok (infeasible cases are failures in the report,
 * but the run is fine); 1 a case could not be run for bad input (an error
 * row), a threshold was exceeded, or bad options; 2 a worker crashed or
 * timed out.
 *
 * calibrate fits a chip's efficiency parameters to the fit cases of that
 * chip and, with --write, records them in its preset.
 */
#include "valid.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_BAD 1
#define EXIT_INTERNAL 2

int xp_cmd_validate(int argc, char **argv, const char *home);
int xp_cmd_calibrate(int argc, char **argv, const char *home);

static const char validate_usage[] =
    "usage: codesim validate [FILE] [options]\n"
    "\n"
    "Runs every case of FILE (default tests/validation/cases.tsv in the data directory):\n"
    "predicted vs published per case, converted to the source's own metric, then per\n"
    "category and split (fit | holdout) the count, the mean absolute percentage error\n"
    "(MAPE) and the worst case.  Format and metrics: tests/validation/README.md.\n"
    "\n"
    "  --json              one JSON object on stdout\n"
    "  --fast              a deterministic subset: at most 10 cases per category,\n"
    "                      evenly spaced in file order (what make test runs)\n"
    "  --split S           fit | holdout | all                           (default all)\n"
    "  --category C        gemm | attention | vector | training | inference\n"
    "  --arch A            only the cases of this arch preset\n"
    "  --jobs N            cases simulated at once            (default: the CPU count)\n"
    "  --timeout S         seconds per case                                (default 300)\n"
    "  -s [A:]arch.KEY=V   override a key in every case (or in the cases of arch A)\n"
    "  --thresholds FILE   fail (exit 1) when a category's MAPE or failure count exceeds\n"
    "                      the file's limits (tests/validation/thresholds.tsv)\n"
    "\n"
    "A case codesim finds infeasible is a failure of that case (the published run\n"
    "happened).  A case that cannot run (bad options, unsupported) is an error row.\n"
    "Exit: 0 ok; 1 an error row, a threshold exceeded or bad options; 2 a worker crashed.\n";

static const char calibrate_usage[] =
    "usage: codesim calibrate --arch A [FILE] [options]\n"
    "\n"
    "Fits the efficiency parameters of chip A that its fit cases constrain\n"
    "(core.matrix_efficiency, core.matrix_efficiency_fp8, core.smem_efficiency, memory.efficiency,\n"
    "memory.write_efficiency, sched.launch_overhead_us, system.scaleup_efficiency,\n"
    "system.scaleout_efficiency)\n"
    "by GSL nonlinear least squares on the relative errors of the fit cases of A, and\n"
    "reports the hold-out error of A before and after.\n"
    "\n"
    "  --write             record the fitted values in arch/presets/A.cfg (only those keys\n"
    "                      and their comments), unless the hold-out error grows\n"
    "  --force             with --write: write even if the hold-out error grows\n"
    "  --keys K,K          fit only these keys (matrix_efficiency, efficiency, ...)\n"
    "  --category C,C      fit only on the fit cases of these categories; the others\n"
    "                      and the hold-out still judge the result\n"
    "  --loss rel|log      residual (pred-pub)/pub or ln(pred/pub)           (default rel)\n"
    "  --max-iter N        trust-region iterations                           (default 30)\n"
    "  --jobs N  --timeout S   as for validate\n"
    "  --date YYYY-MM-DD   the date written in the preset comment        (default today)\n"
    "  --json  -v          JSON result; progress of every evaluation on stderr\n";

static int parse_int(const char *flag, const char *v, int lo, int hi, int *out)
{
	char *end;
	long x = strtol(v, &end, 10);
	if (end == v || *end || x < lo || x > hi) {
		fprintf(stderr, "codesim: %s %s: expected an integer in [%d, %d]\n", flag, v, lo, hi);
		return -1;
	}
	*out = (int)x;
	return 0;
}

static int parse_seconds(const char *flag, const char *v, double *out)
{
	char *end;
	double x = strtod(v, &end);
	if (end == v || *end || !(x > 0) || x > 86400) {
		fprintf(stderr, "codesim: %s %s: expected seconds in (0, 86400]\n", flag, v);
		return -1;
	}
	*out = x;
	return 0;
}

/* A non-flag argument of validate/calibrate: the one case file.  An
 * unknown flag or a second file is an error (printed); 0 or -1. */
static int case_file_arg(const char *cmd, const char *a, char *file, size_t size)
{
	if (a[0] == '-') {
		fprintf(stderr, "codesim: %s: unknown option '%s' (see codesim %s --help)\n", cmd, a, cmd);
		return -1;
	}
	if (file[0]) {
		fprintf(stderr, "codesim: %s takes one case file (got '%s' and '%s')\n", cmd, file, a);
		return -1;
	}
	snprintf(file, size, "%s", a);
	return 0;
}

static int default_jobs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

static void json_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.6g", v);
	else
		fputs("null", f);
}

/* The file name as the user would type it: relative to the data directory. */
static const char *short_path(const char *home, const char *file)
{
	size_t hl = strlen(home);
	if (!strncmp(file, home, hl) && file[hl] == '/')
		return file + hl + 1;
	return file;
}

static void print_text(const xp_vset *set, const int *idx, const xp_vres *res, int n, const char *home)
{
	printf("codesim validate: %s, %d case%s\n\n", short_path(home, set->file), n, n == 1 ? "" : "s");
	printf("%-56s %-9s %-7s %11s %11s %9s\n", "case", "category", "split", "predicted", "published", "error");
	for (int i = 0; i < n; i++) {
		const xp_vcase *c = &set->cases[idx[i]];
		const xp_vres *r = &res[i];
		printf("%-56s %-9s %-7s ", c->id, xp_vcat_names[c->category], xp_vsplit_names[c->split]);
		if (r->status == VST_OK)
			printf("%11.4g %11.4g %+8.1f%%\n", r->predicted, c->published, r->err_pct);
		else
			printf("%11s %11.4g %9s\n      %s: %s\n", "-", c->published, xp_vstatus_names[r->status],
			       xp_vstatus_names[r->status], r->reason);
	}
	printf("\nper category and split (MAPE: mean |error| over the cases with a prediction;\n"
	       "failed: infeasible or error, not in the MAPE)\n");
	printf("%-10s %-8s %6s %7s %9s  %s\n", "category", "split", "count", "failed", "MAPE", "worst case");
	for (int cat = 0; cat <= VCAT_COUNT; cat++) {
		int cc = cat == VCAT_COUNT ? -1 : cat;
		for (int sp = 0; sp <= VSPLIT_ALL; sp++) {
			xp_vstat st;
			xp_vstat_compute(set, idx, res, n, cc, sp, &st);
			if (!st.count && !st.failed)
				continue;
			printf("%-10s %-8s %6d %7d ", cc < 0 ? "all" : xp_vcat_names[cc], xp_vsplit_names[sp], st.count,
			       st.failed);
			if (st.count)
				printf("%8.1f%%  %s (%+.1f%%)\n", st.mape, set->cases[idx[st.worst]].id, res[st.worst].err_pct);
			else
				printf("%9s\n", "-");
		}
	}
}

static void print_json(const xp_vset *set, const int *idx, const xp_vres *res, int n, const char *home,
                       int checked, int violations)
{
	printf("{\"file\":");
	res_json_str(stdout, short_path(home, set->file));
	printf(",\"cases\":[");
	for (int i = 0; i < n; i++) {
		const xp_vcase *c = &set->cases[idx[i]];
		const xp_vres *r = &res[i];
		printf("%s{\"id\":", i ? "," : "");
		res_json_str(stdout, c->id);
		printf(",\"category\":\"%s\",\"split\":\"%s\",\"arch\":", xp_vcat_names[c->category],
		       xp_vsplit_names[c->split]);
		res_json_str(stdout, c->arch);
		printf(",\"metric\":\"%s\",\"status\":\"%s\",\"predicted\":", xp_vmetric_names[c->metric],
		       xp_vstatus_names[r->status]);
		json_num(stdout, r->status == VST_OK ? r->predicted : NAN);
		printf(",\"published\":");
		json_num(stdout, c->published);
		printf(",\"error_pct\":");
		json_num(stdout, r->status == VST_OK ? r->err_pct : NAN);
		printf(",\"time_s\":");
		json_num(stdout, r->time_s);
		printf(",\"uncertain\":%s,\"reason\":", c->uncertain ? "true" : "false");
		res_json_str(stdout, r->reason);
		printf("}");
	}
	printf("],\"summary\":[");
	int first = 1;
	for (int cat = 0; cat <= VCAT_COUNT; cat++) {
		int cc = cat == VCAT_COUNT ? -1 : cat;
		for (int sp = 0; sp <= VSPLIT_ALL; sp++) {
			xp_vstat st;
			xp_vstat_compute(set, idx, res, n, cc, sp, &st);
			if (!st.count && !st.failed)
				continue;
			printf("%s{\"category\":\"%s\",\"split\":\"%s\",\"count\":%d,\"failed\":%d,\"mape_pct\":", first ? "" : ",",
			       cc < 0 ? "all" : xp_vcat_names[cc], xp_vsplit_names[sp], st.count, st.failed);
			first = 0;
			json_num(stdout, st.count ? st.mape : NAN);
			printf(",\"worst_id\":");
			if (st.count)
				res_json_str(stdout, set->cases[idx[st.worst]].id);
			else
				printf("null");
			printf(",\"worst_error_pct\":");
			json_num(stdout, st.count ? res[st.worst].err_pct : NAN);
			printf("}");
		}
	}
	int nerr = 0, ninf = 0;
	for (int i = 0; i < n; i++)
		nerr += res[i].status == VST_ERROR, ninf += res[i].status == VST_INFEASIBLE;
	printf("],\"errors\":%d,\"infeasible\":%d,\"thresholds_checked\":%s,\"threshold_violations\":%d}\n", nerr, ninf,
	       checked ? "true" : "false", violations);
}

/* "-s [A:]arch.KEY=V" */
static int add_override(xp_vover *ov, int *nov, const char *v)
{
	if (*nov >= XP_VOV_MAX) {
		fprintf(stderr, "codesim: too many -s overrides (max %d)\n", XP_VOV_MAX);
		return -1;
	}
	xp_vover *o = &ov[*nov];
	memset(o, 0, sizeof *o);
	const char *colon = strchr(v, ':');
	const char *eq = strchr(v, '=');
	if (colon && eq && colon < eq) {
		if ((size_t)(colon - v) >= sizeof o->arch || colon == v) {
			fprintf(stderr, "codesim: -s %s: expected [ARCH:]KEY=V\n", v);
			return -1;
		}
		memcpy(o->arch, v, (size_t)(colon - v));
		v = colon + 1;
	}
	if (!strchr(v, '=') || strlen(v) >= sizeof o->set ||
	    (strncmp(v, "arch.", 5) && strncmp(v, "model.", 6) && strncmp(v, "run.", 4))) {
		fprintf(stderr, "codesim: -s %s: expected [ARCH:]arch.KEY=V (or model./run. keys for run cases)\n", v);
		return -1;
	}
	snprintf(o->set, sizeof o->set, "%s", v);
	(*nov)++;
	return 0;
}

int xp_cmd_validate(int argc, char **argv, const char *home)
{
	if (xp_want_help(argc, argv)) {
		fputs(validate_usage, stdout);
		return 0;
	}
	char file[1024] = "", thresholds[1024] = "", arch[64] = "", err[ARCH_ERR_MAX];
	int json = 0, fast = 0, split = VSPLIT_ALL, category = -1, jobs = default_jobs();
	double timeout = 300;
	xp_vover ov[XP_VOV_MAX];
	int nov = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--json"))
			json = 1;
		else if (!strcmp(a, "--fast"))
			fast = 1;
		else if (!strcmp(a, "--split") || !strcmp(a, "--category") || !strcmp(a, "--arch") ||
		         !strcmp(a, "--jobs") || !strcmp(a, "--timeout") || !strcmp(a, "-s") ||
		         !strcmp(a, "--thresholds")) {
			if (xp_need_value(i, argc, argv))
				return EXIT_BAD;
			const char *v = argv[++i];
			if (!strcmp(a, "--split")) {
				split = -1;
				for (int s = 0; xp_vsplit_names[s]; s++)
					if (!strcmp(v, xp_vsplit_names[s]))
						split = s;
				if (split < 0) {
					fprintf(stderr, "codesim: --split %s: expected fit, holdout or all\n", v);
					return EXIT_BAD;
				}
			} else if (!strcmp(a, "--category")) {
				for (int c = 0; xp_vcat_names[c]; c++)
					if (!strcmp(v, xp_vcat_names[c]))
						category = c;
				if (category < 0) {
					fprintf(stderr, "codesim: --category %s: expected gemm, attention, vector, training or "
					        "inference\n", v);
					return EXIT_BAD;
				}
			} else if (!strcmp(a, "--arch")) {
				snprintf(arch, sizeof arch, "%s", v);
			} else if (!strcmp(a, "--jobs")) {
				if (parse_int(a, v, 1, 256, &jobs))
					return EXIT_BAD;
			} else if (!strcmp(a, "--timeout")) {
				if (parse_seconds(a, v, &timeout))
					return EXIT_BAD;
			} else if (!strcmp(a, "-s")) {
				if (add_override(ov, &nov, v))
					return EXIT_BAD;
			} else {
				snprintf(thresholds, sizeof thresholds, "%s", v);
			}
		} else if (case_file_arg("validate", a, file, sizeof file)) {
			return EXIT_BAD;
		}
	}
	if (!file[0])
		xp_vset_default_file(home, file, sizeof file);
	xp_vthresholds th;
	if (thresholds[0] && xp_vthresholds_load(&th, thresholds, err, sizeof err)) {
		fprintf(stderr, "codesim: %s\n", err);
		return EXIT_BAD;
	}
	xp_vset set;
	if (xp_vset_load(&set, file, err, sizeof err)) {
		fprintf(stderr, "codesim: %s\n", err);
		return EXIT_BAD;
	}
	int *sel = malloc((size_t)(set.n ? set.n : 1) * sizeof *sel);
	int *idx = malloc((size_t)(set.n ? set.n : 1) * sizeof *idx);
	xp_vres *res = calloc((size_t)(set.n ? set.n : 1), sizeof *res);
	int rc = EXIT_INTERNAL, n = 0;
	if (!sel || !idx || !res) {
		fprintf(stderr, "codesim: out of memory\n");
		goto out;
	}
	for (int i = 0; i < set.n; i++) {
		const xp_vcase *c = &set.cases[i];
		if ((split == VSPLIT_ALL || c->split == split) && (category < 0 || c->category == category) &&
		    (!arch[0] || !strcmp(arch, c->arch)))
			sel[n++] = i;
	}
	if (fast)
		n = xp_vfast_select(&set, sel, n, XP_VFAST_PER_CAT, idx);
	else
		memcpy(idx, sel, (size_t)n * sizeof *idx);
	if (!n) {
		fprintf(stderr, "codesim: %s: no case matches the selection\n", file);
		rc = EXIT_BAD;
		goto out;
	}
	xp_vopts vo = {home, ov, nov, jobs, timeout};
	if (xp_vrun(&vo, &set, idx, n, res, err, sizeof err)) {
		fprintf(stderr, "codesim: %s\n", err);
		goto out;
	}
	int violations = 0;
	if (thresholds[0])
		violations = xp_vthresholds_check(&th, &set, idx, res, n, fast, NULL);
	if (json)
		print_json(&set, idx, res, n, home, thresholds[0] != 0, violations);
	else
		print_text(&set, idx, res, n, home);
	int bad = 0, internal = 0;
	for (int i = 0; i < n; i++)
		if (res[i].status == VST_ERROR) {
			if (res[i].internal)
				internal++;
			else
				bad++;
			fprintf(stderr, "codesim: %s:%d: case %s: %s\n", short_path(home, file), set.cases[idx[i]].line,
			        set.cases[idx[i]].id, res[i].reason);
		}
	if (thresholds[0]) {
		xp_vthresholds_check(&th, &set, idx, res, n, fast, stderr);
		if (violations)
			fprintf(stderr, "codesim: validate: %d threshold%s of %s exceeded\n", violations,
			        violations == 1 ? "" : "s", thresholds);
	}
	rc = internal ? EXIT_INTERNAL : (bad || violations) ? EXIT_BAD : 0;
out:
	free(sel);
	free(idx);
	free(res);
	xp_vset_free(&set);
	return rc;
}

/* ---- calibrate ---------------------------------------------------------------- */

static int parse_keys(const char *v, unsigned *mask)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s", v);
	*mask = 0;
	for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
		int found = -1;
		for (int i = 0; i < XP_CAL_MAXP; i++)
			if (!strcmp(t, xp_calparams[i].key) || !strcmp(t, xp_calparams[i].name) ||
			    (!strncmp(t, "arch.", 5) && !strcmp(t + 5, xp_calparams[i].key)))
				found = i;
		if (found < 0) {
			fprintf(stderr, "codesim: --keys %s: expected matrix_efficiency, efficiency (memory), "
			        "write_efficiency, launch_overhead_us, scaleup_efficiency, scaleout_efficiency, matrix_efficiency_fp8 "
			        "or smem_efficiency\n", t);
			return -1;
		}
		*mask |= 1u << found;
	}
	return *mask ? 0 : -1;
}

static void today(char *out, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%d", &tm);
}

int xp_cmd_calibrate(int argc, char **argv, const char *home)
{
	if (xp_want_help(argc, argv)) {
		fputs(calibrate_usage, stdout);
		return 0;
	}
	char file[1024] = "", arch[64] = "", date[32] = "", err[ARCH_ERR_MAX];
	int json = 0, write = 0, force = 0, jobs = default_jobs(), max_iter = 30, loss_log = 0, verbose = 0;
	unsigned mask = 0, cat_mask = 0;
	double timeout = 300;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--json"))
			json = 1;
		else if (!strcmp(a, "--write"))
			write = 1;
		else if (!strcmp(a, "--force"))
			force = 1;
		else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
			verbose = 1;
		else if (!strcmp(a, "--arch") || !strcmp(a, "--keys") || !strcmp(a, "--loss") || !strcmp(a, "--jobs") ||
		         !strcmp(a, "--category") ||
		         !strcmp(a, "--max-iter") || !strcmp(a, "--timeout") || !strcmp(a, "--date")) {
			if (xp_need_value(i, argc, argv))
				return EXIT_BAD;
			const char *v = argv[++i];
			if (!strcmp(a, "--arch"))
				snprintf(arch, sizeof arch, "%s", v);
			else if (!strcmp(a, "--keys")) {
				if (parse_keys(v, &mask))
					return EXIT_BAD;
			} else if (!strcmp(a, "--category")) {
				char buf[256];
				snprintf(buf, sizeof buf, "%s", v);
				for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
					int c = -1;
					for (int k = 0; xp_vcat_names[k]; k++)
						if (!strcmp(t, xp_vcat_names[k]))
							c = k;
					if (c < 0) {
						fprintf(stderr, "codesim: --category %s: expected gemm, attention, vector, training or "
						        "inference\n", t);
						return EXIT_BAD;
					}
					cat_mask |= 1u << c;
				}
			} else if (!strcmp(a, "--loss")) {
				if (strcmp(v, "rel") && strcmp(v, "log")) {
					fprintf(stderr, "codesim: --loss %s: expected rel or log\n", v);
					return EXIT_BAD;
				}
				loss_log = !strcmp(v, "log");
			} else if (!strcmp(a, "--jobs")) {
				if (parse_int(a, v, 1, 256, &jobs))
					return EXIT_BAD;
			} else if (!strcmp(a, "--max-iter")) {
				if (parse_int(a, v, 1, 1000, &max_iter))
					return EXIT_BAD;
			} else if (!strcmp(a, "--timeout")) {
				if (parse_seconds(a, v, &timeout))
					return EXIT_BAD;
			} else {
				int y, m, d;
				char tail;
				if (sscanf(v, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1 || d > 31) {
					fprintf(stderr, "codesim: --date %s: expected YYYY-MM-DD\n", v);
					return EXIT_BAD;
				}
				snprintf(date, sizeof date, "%s", v);
			}
		} else if (case_file_arg("calibrate", a, file, sizeof file)) {
			return EXIT_BAD;
		}
	}
	if (!arch[0]) {
		fprintf(stderr, "codesim: calibrate needs --arch (see codesim calibrate --help)\n");
		return EXIT_BAD;
	}
	if (!file[0])
		xp_vset_default_file(home, file, sizeof file);
	if (!date[0])
		today(date, sizeof date);
	char preset[1024];
	if (arch_cfg_resolve(home, "arch/presets", arch, preset, sizeof preset, err, sizeof err)) {
		fprintf(stderr, "codesim: %s\n", err);
		return EXIT_BAD;
	}
	arch_t a;
	if (arch_load(&a, home, arch, err, sizeof err)) {
		fprintf(stderr, "codesim: %s\n", err);
		return EXIT_BAD;
	}
	xp_vset set;
	if (xp_vset_load(&set, file, err, sizeof err)) {
		fprintf(stderr, "codesim: %s\n", err);
		return EXIT_BAD;
	}
	xp_calopts co;
	memset(&co, 0, sizeof co);
	co.vo.home = home;
	co.vo.jobs = jobs;
	co.vo.timeout_s = timeout;
	co.arch = arch;
	co.loss_log = loss_log;
	co.max_iter = max_iter;
	co.keys_mask = mask;
	co.cat_mask = cat_mask;
	co.verbose = verbose;
	co.log = stderr;
	xp_calresult cr;
	if (xp_calibrate(&co, &set, &cr, err, sizeof err)) {
		fprintf(stderr, "codesim: calibrate %s: %s\n", arch, err);
		xp_vset_free(&set);
		return EXIT_BAD;
	}
	/* the note recorded next to each value: which cases, how many, residual, date */
	char cats[256] = "", note[768];
	size_t u = 0;
	for (int c = 0; c < VCAT_COUNT; c++)
		if (cr.fit_per_cat[c])
			u += (size_t)snprintf(cats + u, sizeof cats - u, "%s%s %d", u ? ", " : "", xp_vcat_names[c],
			                      cr.fit_per_cat[c]);
	char hold[96];
	if (cr.nhold > cr.nhold_failed)
		snprintf(hold, sizeof hold, "hold-out MAPE %.1f%% -> %.1f%% (n=%d)", cr.hold_mape_before, cr.hold_mape_after,
		         cr.nhold - cr.nhold_failed);
	else
		snprintf(hold, sizeof hold, "no hold-out case");
	snprintf(note, sizeof note, "calibrated %s by codesim calibrate on the %d fit case%s of %s in %s (%s), "
	         "rms relative residual %.1f%% -> %.1f%%, %s", date, cr.nfit, cr.nfit == 1 ? "" : "s", arch,
	         short_path(home, file), cats, cr.fit_rms_before, cr.fit_rms_after, hold);
	int hold_worse = cr.nhold > cr.nhold_failed && cr.hold_mape_after > cr.hold_mape_before;
	int pinned = 0;
	for (int i = 0; i < cr.np; i++)
		pinned += cr.at_bound[i];
	int written = 0;
	const char *why_not = write ? "" : "not asked (--write)";
	if (write && hold_worse && !force)
		why_not = "the hold-out error grew (--force writes anyway)";
	else if (write && cr.nhold <= cr.nhold_failed && !force)
		why_not = "no hold-out case of this chip judges the fit (--force writes anyway)";
	else if (write && cr.worse_cat >= 0 && !force)
		why_not = "the fit makes a category worse (see the table): it trades one kind of measurement for "
		          "another instead of fixing a physical constant (--keys, or --force writes anyway)";
	else if (write && pinned && !force)
		why_not = "a parameter stopped at a bound of its physical range: the cases ask for a mechanism the "
		          "model lacks, not for a constant (--keys leaves it out; --force writes anyway)";
	else if (write) {
		if (xp_cal_write_preset(preset, &cr, note, err, sizeof err)) {
			fprintf(stderr, "codesim: %s\n", err);
			xp_vset_free(&set);
			return EXIT_INTERNAL;
		}
		written = 1;
	}
	if (json) {
		printf("{\"arch\":");
		res_json_str(stdout, arch);
		printf(",\"file\":");
		res_json_str(stdout, short_path(home, file));
		printf(",\"loss\":\"%s\",\"fit_cases\":%d,\"fit_cases_without_prediction\":%d,\"holdout_cases\":%d,"
		       "\"holdout_cases_without_prediction\":%d,\"parameters\":[",
		       loss_log ? "log" : "rel", cr.nfit, cr.nfit_failed, cr.nhold, cr.nhold_failed);
		for (int i = 0; i < cr.np; i++) {
			printf("%s{\"key\":\"%s\",\"preset\":", i ? "," : "", xp_calparams[cr.which[i]].key);
			json_num(stdout, cr.start[i]);
			printf(",\"fitted\":");
			json_num(stdout, cr.fitted[i]);
			printf(",\"sigma\":");
			json_num(stdout, cr.sigma[i]);
			printf(",\"sensitivity\":");
			json_num(stdout, cr.sens[cr.which[i]]);
			printf(",\"at_bound\":%s}", cr.at_bound[i] ? "true" : "false");
		}
		printf("],\"fit_rms_pct\":[");
		json_num(stdout, cr.fit_rms_before);
		printf(",");
		json_num(stdout, cr.fit_rms_after);
		printf("],\"fit_mape_pct\":[");
		json_num(stdout, cr.fit_mape_before);
		printf(",");
		json_num(stdout, cr.fit_mape_after);
		printf("],\"holdout_mape_pct\":[");
		json_num(stdout, cr.hold_mape_before);
		printf(",");
		json_num(stdout, cr.hold_mape_after);
		printf("],\"categories\":[");
		for (int c = 0, first = 1; c < VCAT_COUNT; c++)
			if (cr.cat_n[c]) {
				printf("%s{\"category\":\"%s\",\"cases\":%d,\"mape_before_pct\":", first ? "" : ",",
				       xp_vcat_names[c], cr.cat_n[c]);
				json_num(stdout, cr.cat_mape_before[c]);
				printf(",\"mape_after_pct\":");
				json_num(stdout, cr.cat_mape_after[c]);
				printf("}");
				first = 0;
			}
		printf("],\"iterations\":%d,\"evaluations\":%d,\"written\":%s,\"preset\":", cr.iterations,
		       cr.evaluations, written ? "true" : "false");
		res_json_str(stdout, short_path(home, preset));
		printf("}\n");
	} else {
		printf("calibrate %s on %s (%s residuals): %d fit cases with a prediction (%s)", arch,
		       short_path(home, file), loss_log ? "log-ratio" : "relative", cr.nfit, cats);
		if (cr.nfit_failed)
			printf(", %d without one left out", cr.nfit_failed);
		printf("; %d hold-out cases", cr.nhold);
		if (cr.nhold_failed)
			printf(" (%d without a prediction)", cr.nhold_failed);
		printf("\n\n%-28s %9s %9s %11s %12s\n", "parameter", "preset", "fitted", "+-1 sigma", "sensitivity");
		for (int i = 0; i < cr.np; i++) {
			char sig[32];
			snprintf(sig, sizeof sig, isfinite(cr.sigma[i]) ? "%.2g" : "n/a", cr.sigma[i]);
			printf("%-28s %9.4g %9.4g %11s %12.3g%s\n", xp_calparams[cr.which[i]].key, cr.start[i], cr.fitted[i], sig,
			       cr.sens[cr.which[i]], cr.at_bound[i] ? "  AT BOUND" : "");
		}
		for (int j = 0; j < XP_CAL_MAXP; j++) {
			const char *why = cr.fate[j] == CAL_INSENSITIVE      ? "no fit case moves by 0.1% for one step"
			                  : cr.fate[j] == CAL_TOO_FEW_CASES  ? "fewer fit cases than parameters; it moves them least"
			                  : cr.fate[j] == CAL_OUT_OF_BOUNDS  ? "the preset value lies outside the fit bounds"
			                  : NULL;
			if (why)
				printf("%-28s %9.4g  not fitted: %s\n", xp_calparams[j].key,
				       arch_cfg_get(arch_cfg_find(arch_keys, arch_nkeys, xp_calparams[j].key), &a), why);
		}
		printf("(fit bounds: efficiencies [0.2, 1], launch overhead [0, 10] us; sensitivity: the largest change "
		       "of a relative error for one step)\n");
		printf("\nfit cases      rms residual %6.1f%% -> %6.1f%%    MAPE %6.1f%% -> %6.1f%%\n", cr.fit_rms_before,
		       cr.fit_rms_after, cr.fit_mape_before, cr.fit_mape_after);
		if (cr.nhold > cr.nhold_failed)
			printf("hold-out cases                                 MAPE %6.1f%% -> %6.1f%%\n", cr.hold_mape_before,
			       cr.hold_mape_after);
		else
			printf("hold-out cases                                 none with a prediction\n");
		printf("\n%-10s %6s %9s %9s   (MAPE over the fit and hold-out cases of %s)\n", "category", "cases",
		       "before", "after", arch);
		for (int c = 0; c < VCAT_COUNT; c++)
			if (cr.cat_n[c])
				printf("%-10s %6d %8.1f%% %8.1f%%%s\n", xp_vcat_names[c], cr.cat_n[c], cr.cat_mape_before[c],
				       cr.cat_mape_after[c], c == cr.worse_cat ? "  WORSE" : "");
		printf("%s\n", cr.status_text);
		if (written)
			printf("written to %s\n", short_path(home, preset));
		else
			printf("not written to %s: %s\n", short_path(home, preset), why_not);
	}
	xp_vset_free(&set);
	return 0;
}
