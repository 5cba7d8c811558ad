/*
 * check_compare.c - architecture comparison reports and model-dimension
 * recommendations (issue 7).  End-to-end through the built ./codesim, as a
 * user runs it; expectations come from `codesim run --json` for the same
 * points and from wl_params_total, not from the code under test.  Small
 * scenarios (decode, short prefill, few candidates) keep it to seconds.
 */
#include "tests.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../results/res.h"

#define BIG (1 << 20)

/* ---- helpers ------------------------------------------------------------ */

static const char *tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "/tmp/codesim-compare-%d-%s", (int)getpid(), name);
	return buf;
}

/* Run `ENV ./codesim ARGS` in the data directory; stdout into out (malloc'd). */
static int run_env(const char *env, const char *args, char **out)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "cd '%s' && %s ./codesim %s 2>/dev/null", t_home(), env ? env : "", args);
	FILE *p = popen(cmd, "r");
	ck_assert_msg(p != NULL, "popen failed");
	size_t cap = BIG, n = 0;
	char *buf = malloc(cap);
	ck_assert(buf != NULL);
	for (;;) {
		size_t r = fread(buf + n, 1, cap - n - 1, p);
		n += r;
		if (r == 0)
			break;
		if (n + 1 >= cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			ck_assert(buf != NULL);
		}
	}
	buf[n] = 0;
	int st = pclose(p);
	*out = buf;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	if (b)
		b[n] = 0;
	fclose(f);
	return b;
}

/* The end of the JSON value starting at p ('{' or '['): past its closing bracket. */
static const char *json_end(const char *p)
{
	int depth = 0, str = 0;
	for (; *p; p++) {
		if (str) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				str = 0;
			continue;
		}
		if (*p == '"')
			str = 1;
		else if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']') {
			if (--depth == 0)
				return p + 1;
		}
	}
	return p;
}

/* Number after "key": inside [obj, end). NAN when absent. */
static double json_num(const char *obj, const char *end, const char *key)
{
	char k[80];
	snprintf(k, sizeof k, "\"%s\":", key);
	const char *p = strstr(obj, k);
	if (!p || (end && p >= end))
		return NAN;
	return strtod(p + strlen(k), NULL);
}

static void strip_nl(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = 0;
}

static int have_gnuplot(void)
{
	return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

/* ---- compare ------------------------------------------------------------- */

static const char *const cmp_archs[] = {"h100", "mi300x", "tpu-v5p"};
#define CMP_ARGS "--arch h100,mi300x,tpu-v5p --model llama3-8b --phase decode --batch 8 --context 1024 --no-db"

START_TEST(compare_json_is_run_json_for_every_chip)
{
	char *out = NULL;
	int rc = run_env(NULL, "compare " CMP_ARGS " --json", &out);
	ck_assert_int_eq(rc, 0);
	const char *p = out;
	for (size_t i = 0; i < sizeof cmp_archs / sizeof *cmp_archs; i++) {
		char lab[64], args[256], *run = NULL;
		snprintf(lab, sizeof lab, "{\"label\":\"%s\"", cmp_archs[i]);
		p = strstr(out, lab);
		ck_assert_msg(p != NULL, "compare --json has no point for %s", cmp_archs[i]);
		const char *res = strstr(p, "\"result\":");
		ck_assert(res != NULL);
		res += strlen("\"result\":");
		const char *end = json_end(res);
		snprintf(args, sizeof args, "run --arch %s --model llama3-8b --phase decode --batch 8 --context 1024 --json",
		         cmp_archs[i]);
		ck_assert_int_eq(run_env(NULL, args, &run), 0);
		strip_nl(run);
		/* the same point, the same numbers: byte for byte */
		ck_assert_msg(strlen(run) == (size_t)(end - res) && !strncmp(run, res, (size_t)(end - res)),
		              "compare's %s result differs from codesim run --json", cmp_archs[i]);
		free(run);
	}
	ck_assert_msg(strstr(out, "\"findings\":[") != NULL, "no findings in compare --json");
	free(out);
}
END_TEST

START_TEST(compare_report_has_every_chip_with_run_numbers)
{
	char *md = NULL;
	ck_assert_int_eq(run_env(NULL, "compare " CMP_ARGS, &md), 0);
	ck_assert_msg(strstr(md, "Which chip wins") != NULL, "no findings section");
	for (size_t i = 0; i < sizeof cmp_archs / sizeof *cmp_archs; i++) {
		char args[256], *run = NULL, row[128], num[48], cell[80];
		snprintf(args, sizeof args, "run --arch %s --model llama3-8b --phase decode --batch 8 --context 1024 --json",
		         cmp_archs[i]);
		ck_assert_int_eq(run_env(NULL, args, &run), 0);
		double tps = json_num(run, NULL, "tokens_per_s"), t = json_num(run, NULL, "time_s");
		double usd = json_num(run, NULL, "usd_per_mtok"), jpt = json_num(run, NULL, "j_per_token");
		ck_assert(tps > 0 && t > 0);
		/* the speed row: | chip | chips | TPOT | tokens/s | ... */
		snprintf(row, sizeof row, "| %s | 1 | ", cmp_archs[i]);
		const char *r = strstr(md, row);
		ck_assert_msg(r != NULL, "no speed row for %s", cmp_archs[i]);
		const char *eol = strchr(r, '\n');
		snprintf(cell, sizeof cell, "| %s |", res_fmt_num(tps, num, sizeof num));
		ck_assert_msg(strstr(r, cell) && strstr(r, cell) < eol, "%s: tokens/s %s not in its row", cmp_archs[i], num);
		snprintf(cell, sizeof cell, "| %s |", res_fmt_time(t, num, sizeof num));
		ck_assert_msg(strstr(r, cell) && strstr(r, cell) < eol, "%s: TPOT %s not in its row", cmp_archs[i], num);
		/* the cost row carries J/token and $/Mtok as run gives them */
		snprintf(row, sizeof row, "| %s | ", cmp_archs[i]);
		const char *c = strstr(eol, row);
		ck_assert(c != NULL);
		eol = strchr(c, '\n');
		snprintf(cell, sizeof cell, "| %s |", res_fmt_num(jpt, num, sizeof num));
		ck_assert_msg(strstr(c, cell) && strstr(c, cell) < eol, "%s: J/token %s not in its row", cmp_archs[i], num);
		snprintf(cell, sizeof cell, "| %s |", res_fmt_num(usd, num, sizeof num));
		ck_assert_msg(strstr(c, cell) && strstr(c, cell) < eol, "%s: $/Mtok %s not in its row", cmp_archs[i], num);
		free(run);
	}
	free(md);
}
END_TEST

START_TEST(compare_shows_why_a_chip_cannot_run)
{
	char *md = NULL;
	ck_assert_int_eq(run_env(NULL, "compare --arch h100,mi300x --model llama3-70b --phase decode --no-db", &md), 0);
	/* 70B in bf16 is 141 GB of weights: not on one 80 GB h100, fits 192 GB mi300x */
	ck_assert_msg(strstr(md, "**h100** cannot run this point: needs") != NULL, "no infeasible reason for h100");
	ck_assert_msg(strstr(md, "h100 has 85.5 GB") != NULL, "reason does not name the capacity");
	ck_assert_msg(strstr(md, "It needs 2 chips") != NULL, "no smallest layout for h100");
	ck_assert_msg(strstr(md, "Only **mi300x** can run") != NULL, "mi300x should run it");
	free(md);
	/* --fit runs the layout that fits */
	ck_assert_int_eq(run_env(NULL, "compare --arch h100 --model llama3-70b --phase decode --no-db --fit --json", &md), 0);
	ck_assert_msg(strstr(md, "\"feasible\":true") != NULL && strstr(md, "\"tp\":2") != NULL, "--fit did not run tp 2");
	free(md);
}
END_TEST

START_TEST(compare_plots_are_svg_when_gnuplot_runs)
{
	if (!have_gnuplot())
		return;   /* the next test covers a machine without gnuplot */
	char html[256], md[256], args[800], *out = NULL;
	tmp_path(html, sizeof html, "r.html");
	tmp_path(md, sizeof md, "r.md");
	snprintf(args, sizeof args, "compare %s --out %s", CMP_ARGS, html);
	ck_assert_int_eq(run_env(NULL, args, &out), 0);
	free(out);
	char *h = slurp(html);
	ck_assert_msg(h != NULL, "no %s", html);
	int nsvg = 0;
	for (const char *p = h; (p = strstr(p, "<svg")); p++)
		nsvg++;
	/* a breakdown, a throughput bar and one roofline per chip */
	ck_assert_int_ge(nsvg, 2 + 3);
	ck_assert_msg(strstr(h, "roofline") != NULL && strstr(h, "tables only") == NULL, "plots missing");
	/* self-contained: no external resources */
	ck_assert_msg(!strstr(h, "src=\"http") && !strstr(h, "<link") && !strstr(h, "<script"), "external reference");
	free(h);
	unlink(html);
	snprintf(args, sizeof args, "compare %s --out %s", CMP_ARGS, md);
	ck_assert_int_eq(run_env(NULL, args, &out), 0);
	free(out);
	char *m = slurp(md);
	ck_assert(m != NULL);
	int files = 0;
	for (int i = 1; i <= 5; i++) {
		static const char *const names[] = {"", "breakdown", "throughput", "roofline-h100", "roofline-mi300x",
		                                    "roofline-tpu-v5p"};
		char svg[300];
		snprintf(svg, sizeof svg, "%.*s-%d-%s.svg", (int)strlen(md) - 3, md, i, names[i]);
		char *s = slurp(svg);
		ck_assert_msg(s != NULL, "no plot file %s", svg);
		ck_assert_msg(strstr(s, "<svg") != NULL, "%s is not SVG", svg);
		const char *base = strrchr(svg, '/') + 1;
		ck_assert_msg(strstr(m, base) != NULL, "the Markdown does not link %s", base);
		free(s);
		unlink(svg);
		files++;
	}
	ck_assert_int_eq(files, 5);
	free(m);
	unlink(md);
}
END_TEST

START_TEST(compare_without_gnuplot_says_tables_only)
{
	char html[256], args[800], *out = NULL;
	tmp_path(html, sizeof html, "nogp.html");
	snprintf(args, sizeof args, "compare %s --out %s", CMP_ARGS, html);
	ck_assert_int_eq(run_env("CODESIM_GNUPLOT=/nonexistent/gnuplot", args, &out), 0);
	free(out);
	char *h = slurp(html);
	ck_assert(h != NULL);
	ck_assert_msg(strstr(h, "tables only") != NULL, "the report does not say it has tables only");
	ck_assert_msg(strstr(h, "<svg") == NULL, "an SVG without gnuplot");
	for (size_t i = 0; i < sizeof cmp_archs / sizeof *cmp_archs; i++)
		ck_assert_msg(strstr(h, cmp_archs[i]) != NULL, "%s missing", cmp_archs[i]);
	free(h);
	unlink(html);
}
END_TEST

START_TEST(compare_rejects_bad_input_by_name)
{
	char *out = NULL;
	ck_assert_int_eq(run_env(NULL, "compare --arch h100,nosuchchip --model llama3-8b --no-db", &out), 1);
	free(out);
	ck_assert_int_eq(run_env(NULL, "compare --arch h100:tp=x --model llama3-8b --no-db", &out), 1);
	free(out);
	ck_assert_int_eq(run_env(NULL, "compare --arch h100 --model llama3-8b --phase decode,nosuch --no-db", &out), 1);
	free(out);
	ck_assert_int_eq(run_env(NULL, "compare --arch h100 --model llama3-8b --no-db --out x.pdf", &out), 1);
	free(out);
	char err[512];
	ck_assert_int_eq(t_cli("compare --arch h100 --model llama3-8b --no-db --out x.pdf", NULL, 0, err, sizeof err), 1);
	ck_assert_msg(strstr(err, "--out") && strstr(err, ".md or .html"), "error does not name --out: %s", err);
}
END_TEST

/* ---- report from the database -------------------------------------------------- */

START_TEST(report_renders_a_stored_compare)
{
	char db[256], args[800], *out = NULL, *rep = NULL;
	tmp_path(db, sizeof db, "c.db");
	unlink(db);
	snprintf(args, sizeof args,
	         "compare --arch h100,mi300x --model llama3-8b --phase decode --batch 8 --context 1024 --db %s --json", db);
	ck_assert_int_eq(run_env(NULL, args, &out), 0);
	double sid = json_num(out, NULL, "sweep_id");
	ck_assert_msg(sid >= 1, "compare --db gave no sweep id");
	snprintf(args, sizeof args, "report --db %s --sweep %.0f", db, sid);
	ck_assert_int_eq(run_env(NULL, args, &rep), 0);
	/* the stored numbers are the simulated ones */
	for (int i = 0; i < 2; i++) {
		const char *arch = i ? "mi300x" : "h100";
		char lab[64], num[48], cell[80];
		snprintf(lab, sizeof lab, "{\"label\":\"%s\"", arch);
		const char *p = strstr(out, lab);
		ck_assert(p != NULL);
		double tps = json_num(p, NULL, "tokens_per_s");
		snprintf(cell, sizeof cell, "| %s |", res_fmt_num(tps, num, sizeof num));
		ck_assert_msg(strstr(rep, cell) != NULL, "report from the db lacks %s's tokens/s %s", arch, num);
	}
	ck_assert_msg(strstr(rep, "Which chip wins") != NULL, "a compare sweep renders as the comparison report");
	free(out), free(rep);
	ck_assert_int_eq(run_env(NULL, "report --db /nonexistent/x.db", &out), 1);
	free(out);
	char wal[300];
	unlink(db);
	snprintf(wal, sizeof wal, "%s-wal", db);
	unlink(wal);
	snprintf(wal, sizeof wal, "%s-shm", db);
	unlink(wal);
}
END_TEST

START_TEST(report_of_a_sweep_has_points_best_and_plot)
{
	/* a sweep stored through the store's API: bandwidth x batch */
	char db[256], err[512];
	tmp_path(db, sizeof db, "s.db");
	unlink(db);
	res_db *h = NULL;
	ck_assert_msg(res_db_open(db, &h, err, sizeof err) == 0, "%s", err);
	long long sid = res_db_sweep(h, "bw-batch", "axes: bw x batch", err, sizeof err);
	ck_assert(sid > 0);
	static const char *const keys[] = {"arch.memory.bandwidth_GBps", "run.batch"};
	ck_assert(res_db_sweep_axes(h, sid, 2, keys, err, sizeof err) == 0);
	res_t *r = calloc(1, sizeof *r);
	double best = 0;
	char best_cell[64] = "";
	for (int i = 0; i < 6; i++) {
		char bw[32], b[32], hash[32], cfg[64];
		snprintf(bw, sizeof bw, "%d", 2000 + 1000 * (i % 3));
		snprintf(b, sizeof b, "%d", 1 << (i / 3 * 3));
		const char *vals[2] = {bw, b};
		memset(r, 0, sizeof *r);
		snprintf(r->arch, sizeof r->arch, "h100");
		snprintf(r->model, sizeof r->model, "llama3-8b");
		r->phase = PH_DECODE, r->chips = 1, r->tp = 1, r->pp = 1, r->dp = 1, r->feasible = 1;
		r->time_s = 0.01 / (1 + i);
		r->tokens_per_s = 100.0 * (i + 1) * (i + 2);
		r->mfu = 0.01 * (i + 1);
		r->usd_per_mtok = 1.0 / (i + 1);
		r->j_per_token = 0.5 / (i + 1);
		r->peak_flops = 989e12;
		r->bound_s[BOUND_MEMORY] = r->time_s;
		if (r->tokens_per_s > best) {
			best = r->tokens_per_s;
			char n[48];
			snprintf(best_cell, sizeof best_cell, "| tokens_per_s | %s |", res_fmt_num(best, n, sizeof n));
		}
		snprintf(hash, sizeof hash, "hash%d", i);
		snprintf(cfg, sizeof cfg, "arch.memory.bandwidth_GBps = %s;\n", bw);
		ck_assert_msg(res_db_put(h, sid, hash, cfg, "ok", "", 0.01, 2, keys, vals, r, err, sizeof err) == 0, "%s", err);
	}
	res_db_close(h);
	free(r);
	char args[600], *rep = NULL, html[256];
	snprintf(args, sizeof args, "report --db %s", db);
	ck_assert_int_eq(run_env(NULL, args, &rep), 0);
	ck_assert_msg(strstr(rep, "Best point per metric") != NULL, "no best points");
	ck_assert_msg(strstr(rep, best_cell) != NULL, "best tokens/s row wrong (want %s)", best_cell);
	ck_assert_msg(strstr(rep, "arch.memory.bandwidth_GBps") != NULL && strstr(rep, "run.batch") != NULL, "no axes");
	int rows = 0;
	for (const char *p = rep; (p = strstr(p, "| ok |")); p++)
		rows++;
	ck_assert_int_eq(rows, 6);
	free(rep);
	if (have_gnuplot()) {
		tmp_path(html, sizeof html, "s.html");
		snprintf(args, sizeof args, "report --db %s --out %s --metric mfu", db, html);
		ck_assert_int_eq(run_env(NULL, args, &rep), 0);
		free(rep);
		char *h2 = slurp(html);
		ck_assert(h2 != NULL);
		ck_assert_msg(strstr(h2, "<svg") != NULL, "no plot over the swept axes");
		ck_assert_msg(strstr(h2, "mfu over") != NULL, "the plot is not of the metric over the axes");
		free(h2);
		unlink(html);
	}
	snprintf(args, sizeof args, "report --db %s --sweep 99", db);
	ck_assert_int_eq(run_env(NULL, args, &rep), 1);
	free(rep);
	unlink(db);
}
END_TEST

/* ---- recommend -------------------------------------------------------------------- */

#define REC_SCEN "--phase prefill --batch 1 --seq 1024"

/* Rebuild a candidate's model from its "sets" the way run -s would. */
static double params_of_sets(const char *cand, const char *end, const char *base)
{
	wl_model m;
	char err[512];
	ck_assert_msg(wl_model_load(&m, t_home(), base, err, sizeof err) == 0, "%s", err);
	const char *s = strstr(cand, "\"sets\":[");
	ck_assert(s && s < end);
	for (const char *p = s + 8; *p && *p != ']';) {
		if (*p != '"') {
			p++;
			continue;
		}
		const char *q = strchr(p + 1, '"');
		char set[160];
		snprintf(set, sizeof set, "%.*s", (int)(q - p - 1), p + 1);
		ck_assert_msg(!strncmp(set, "model.", 6), "set %s", set);
		ck_assert_msg(wl_model_override(&m, set + 6, err, sizeof err) == 0, "%s", err);
		p = q + 1;
	}
	ck_assert_msg(wl_model_validate(&m, err, sizeof err) == 0, "%s", err);
	return wl_params_total(&m);
}

static void sets_args(const char *cand, char *buf, size_t len)
{
	size_t u = 0;
	buf[0] = 0;
	const char *s = strstr(cand, "\"sets\":[");
	for (const char *p = s + 8; *p && *p != ']';) {
		if (*p != '"') {
			p++;
			continue;
		}
		const char *q = strchr(p + 1, '"');
		u += (size_t)snprintf(buf + u, len - u, " -s %.*s", (int)(q - p - 1), p + 1);
		p = q + 1;
	}
}

START_TEST(recommend_candidates_within_tolerance_and_ranked_as_run)
{
	char *out = NULL;
	ck_assert_int_eq(run_env(NULL, "recommend --arch h100 --params 7e9 " REC_SCEN " --max-candidates 10 --json", &out), 0);
	double target = json_num(out, NULL, "target_params");
	ck_assert(fabs(target - 7e9) < 1);
	int n = 0;
	double prev = INFINITY;
	for (const char *p = out; (p = strstr(p, "{\"rank\":")); n++) {
		const char *end = json_end(p);
		double params = params_of_sets(p, end, "llama3-8b");
		ck_assert_msg(fabs(params - 7e9) <= 0.05 * 7e9, "candidate %d has %.4g parameters", n + 1, params);
		ck_assert_msg(fabs(params - json_num(p, end, "params")) < 1, "reported params differ from wl_params_total");
		double tps = json_num(p, end, "tokens_per_s"), score = json_num(p, end, "score");
		/* ranked by throughput at the target size, best first */
		ck_assert_msg(fabs(score - tps * params / 7e9) <= 1e-6 * score, "score is not tokens/s x params / target");
		ck_assert_msg(score <= prev * (1 + 1e-12), "candidate %d ranks above a better one", n + 1);
		prev = score;
		/* the top ones, run one by one, give the same numbers */
		if (n < 3) {
			char sets[1200], args[1600], *run = NULL;
			sets_args(p, sets, sizeof sets);
			snprintf(args, sizeof args, "run --arch h100 --model llama3-8b " REC_SCEN "%s --json", sets);
			ck_assert_int_eq(run_env(NULL, args, &run), 0);
			double rt = json_num(run, NULL, "tokens_per_s");
			ck_assert_msg(rt == tps, "candidate %d: recommend %.10g vs run %.10g tokens/s", n + 1, tps, rt);
			free(run);
		}
		p = end;
	}
	ck_assert_int_ge(n, 5);
	ck_assert_msg(strstr(out, "\"natural\":[{") != NULL, "no natural variant simulated");
	ck_assert_msg(strstr(out, "Tile quantization") != NULL, "no explanation");
	/* every explained candidate says how its GEMMs fill the SMs, whether
	 * they run one block per tile or stream-K */
	int tiles = 0, waves = 0;
	for (const char *p = out; (p = strstr(p, "Tile quantization")); p++)
		tiles++;
	for (const char *p = out; (p = strstr(p, "Wave quantization")); p++)
		waves++;
	ck_assert_msg(waves == tiles, "%d candidates explained, %d with their waves", tiles, waves);
	free(out);
}
END_TEST

START_TEST(tile_multiple_beats_ragged_on_h100)
{
	/* two plain runs: d_ff 14336 = 56 x 256 vs a ragged 14300 */
	char *a = NULL, *b = NULL;
	ck_assert_int_eq(run_env(NULL, "run --arch h100 --model llama3-8b " REC_SCEN " -s model.d_ff=14336 --json", &a), 0);
	ck_assert_int_eq(run_env(NULL, "run --arch h100 --model llama3-8b " REC_SCEN " -s model.d_ff=14300 --json", &b), 0);
	double mfu_a = json_num(a, NULL, "mfu"), mfu_b = json_num(b, NULL, "mfu");
	double at_a = json_num(a, NULL, "tokens_per_s") * json_num(a, NULL, "params_b");
	double at_b = json_num(b, NULL, "tokens_per_s") * json_num(b, NULL, "params_b");
	/* the ragged shape pays for whole edge tiles: less useful work per second */
	ck_assert_msg(mfu_a > mfu_b, "MFU %.6f (14336) vs %.6f (14300)", mfu_a, mfu_b);
	ck_assert_msg(at_a > at_b, "params x tokens/s %.6g (14336) vs %.6g (14300)", at_a, at_b);
	free(a), free(b);
	/* and recommend's own evaluation ranks them the same way */
	char *out = NULL;
	ck_assert_int_eq(run_env(NULL,
	                         "recommend --arch h100 --params 8.03e9 " REC_SCEN
	                         " --max-candidates 1 --candidate d_ff=14336 --candidate d_ff=14300 --json",
	                         &out),
	                 0);
	const char *c1 = strstr(out, "\"d_ff\":14336,\"n_layers\":32");
	const char *c2 = strstr(out, "\"d_ff\":14300,\"n_layers\":32");
	ck_assert(c1 && c2);
	ck_assert_msg(c1 < c2, "recommend ranks the ragged d_ff above the tile multiple");
	free(out);
}
END_TEST

static void best_shape(const char *args, char *shape, size_t len)
{
	char *out = NULL;
	ck_assert_int_eq(run_env(NULL, args, &out), 0);
	const char *p = strstr(out, "{\"rank\":1,");
	ck_assert_msg(p != NULL, "no ranked candidate for: %s", args);
	const char *end = json_end(p);
	snprintf(shape, len, "d%.0f h%.0f hd%.0f kv%.0f ff%.0f L%.0f v%.0f", json_num(p, end, "d_model"),
	         json_num(p, end, "n_heads"), json_num(p, end, "head_dim"), json_num(p, end, "n_kv_heads"),
	         json_num(p, end, "d_ff"), json_num(p, end, "n_layers"), json_num(p, end, "vocab"));
	free(out);
}

START_TEST(recommend_answers_differ_with_the_matrix_unit)
{
	char h100[128], v6e[128], lpu[128];
	best_shape("recommend --arch h100 --params 7e9 " REC_SCEN " --max-candidates 24 --json", h100, sizeof h100);
	best_shape("recommend --arch tpu-v6e --params 7e9 " REC_SCEN " --max-candidates 24 --json", v6e, sizeof v6e);
	best_shape("recommend --arch groq-lpu --params 7e9 --phase decode --dtype int8 --tp 8 --pp 8 --batch 8 "
	           "--max-candidates 24 --json",
	           lpu, sizeof lpu);
	ck_assert_msg(strcmp(h100, v6e) || strcmp(h100, lpu), "h100, tpu-v6e and groq-lpu all recommend %s", h100);
}
END_TEST

START_TEST(recommend_rejects_bad_input)
{
	char err[512];
	ck_assert_int_eq(t_cli("recommend --arch h100 --params lots", NULL, 0, err, sizeof err), 1);
	ck_assert_msg(strstr(err, "--params"), "%s", err);
	ck_assert_int_eq(t_cli("recommend --arch h100 --params 7e9 --phase decode --metric ttft", NULL, 0, err, sizeof err), 1);
	ck_assert_msg(strstr(err, "ttft") && strstr(err, "prefill"), "%s", err);
	ck_assert_int_eq(t_cli("recommend --arch h100 --params 7e9 --metric speed", NULL, 0, err, sizeof err), 1);
	ck_assert_msg(strstr(err, "tokens_per_s"), "%s", err);
	ck_assert_int_eq(t_cli("recommend --arch h100 --params 7e9 --tolerance 2", NULL, 0, err, sizeof err), 1);
	ck_assert_int_eq(t_cli("recommend --arch h100 --params 7e9 --candidate width=3", NULL, 0, err, sizeof err), 1);
	ck_assert_msg(strstr(err, "d_model"), "%s", err);
}
END_TEST

/* ---- plots and documents in-process --------------------------------------------- */

START_TEST(plot_labels_cannot_run_commands)
{
	if (!have_gnuplot())
		return;
	res_plotter p;
	res_plot_open(&p);
	ck_assert(p.available);
	char marker[256], err[300];
	tmp_path(marker, sizeof marker, "pwned");
	unlink(marker);
	char label[400];
	/* gnuplot runs `...` inside double quotes: labels must never reach it so */
	snprintf(label, sizeof label, "x\" `touch %s` '\"", marker);
	const char *labels[1] = {label};
	double v[1] = {1};
	const char *seg[1] = {label};
	char *svg = res_plot_stacked(&p, label, label, 1, labels, 1, seg, v, err, sizeof err);
	ck_assert_msg(svg != NULL, "%s", err);
	ck_assert(strstr(svg, "<svg") != NULL);
	struct stat st;
	ck_assert_msg(stat(marker, &st) != 0, "a label ran a command");
	free(svg);
	char dir[256];
	snprintf(dir, sizeof dir, "%s", p.dir);
	res_plot_close(&p);
	ck_assert_msg(stat(dir, &st) != 0, "the plot scratch directory %s was left behind", dir);
}
END_TEST

Suite *suite_compare(void)
{
	Suite *s = suite_create("compare");
	TCase *tc = tcase_create("compare");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, compare_json_is_run_json_for_every_chip);
	tcase_add_test(tc, compare_report_has_every_chip_with_run_numbers);
	tcase_add_test(tc, compare_shows_why_a_chip_cannot_run);
	tcase_add_test(tc, compare_plots_are_svg_when_gnuplot_runs);
	tcase_add_test(tc, compare_without_gnuplot_says_tables_only);
	tcase_add_test(tc, compare_rejects_bad_input_by_name);
	tcase_add_test(tc, report_renders_a_stored_compare);
	tcase_add_test(tc, report_of_a_sweep_has_points_best_and_plot);
	tcase_add_test(tc, plot_labels_cannot_run_commands);
	suite_add_tcase(s, tc);
	TCase *tr = tcase_create("recommend");
	tcase_set_timeout(tr, 120);
	tcase_add_test(tr, recommend_candidates_within_tolerance_and_ranked_as_run);
	tcase_add_test(tr, tile_multiple_beats_ragged_on_h100);
	tcase_add_test(tr, recommend_answers_differ_with_the_matrix_unit);
	tcase_add_test(tr, recommend_rejects_bad_input);
	suite_add_tcase(s, tr);
	return s;
}
