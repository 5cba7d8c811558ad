/* check_cli.c - the command line contract (DESIGN 6): bad input is a clear
 * one-line error on stderr, exit 1, nothing on stdout; --json is JSON only. */
#include "tests.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../explorer/model_version.h"

static char out[1 << 17], err[8192];

static void bad(const char *args, const char *needle)
{
	int rc = t_cli(args, out, sizeof out, err, sizeof err);
	ck_assert_msg(rc == 1, "'%s' exited %d (stderr: %s)", args, rc, err);
	ck_assert_msg(out[0] == 0, "'%s' printed on stdout: %s", args, out);
	ck_assert_msg(strstr(err, needle), "'%s': stderr '%s' lacks '%s'", args, err, needle);
	/* one line */
	char *nl = strchr(err, '\n');
	ck_assert_msg(nl && nl[1] == 0, "'%s': error is not one line: %s", args, err);
}

START_TEST(bad_inputs)
{
	bad("run --arch h1000 --model llama3-8b", "unknown preset 'h1000'");
	bad("run --arch h100 --model llama3-8b -s arch.memory.bandwdth_GBps=5", "unknown key 'memory.bandwdth_GBps'");
	bad("run --arch h100 --model llama3-8b -s arch.memory.bandwidth_GBps=-5", "out of range");
	bad("run --arch h100 --model llama3-8b --batch 0", "--batch: batch = 0 is out of range");
	bad("run --arch h100 --model llama3-8b -s model.n_heads=33", "n_kv_heads = 8 does not divide n_heads = 33");
	bad("run --arch h100 --model bert-large -s model.head_dim=0 -s model.d_model=1000",
	    "n_heads = 16 does not divide d_model = 1000");
	bad("run --arch h100 --model llama3-8b --phase sleep", "not one of train|prefill|decode|serve");
	bad("run --arch h100 --model llama3-8b --chips 8 --tp 3", "not a multiple");
	bad("run --arch h100 --model llama3-8b --tp 3", "--tp 3 does not divide n_heads = 32");
	bad("run --arch h100 --model llama3-8b --frobnicate", "unknown option '--frobnicate'");
	bad("run --arch h100 --model mixtral-8x7b --ep 3 --chips 3", "does not divide n_experts");
	bad("run --arch h100 --model llama3-8b --batch 5000000000", "out of range");
	bad("kernel --arch h100 --op gemm --m 10", "needs --m, --n and --k");
	bad("kernel --arch h100 --op conv --m 1", "expected gemm");
	bad("list things", "expected archs, models or keys");
	bad("frob", "unknown command 'frob'");
}
END_TEST

START_TEST(bad_config_file)
{
	FILE *f = fopen("/tmp/codesim-cli-bad.cfg", "w");
	fputs("name = \"x\";\nfamily = \"gpu\";\nclock_MHz = 1000.0;\ncore = { count = 4000000000; };\n", f);
	fclose(f);
	bad("run --arch /tmp/codesim-cli-bad.cfg --model llama3-8b", "/tmp/codesim-cli-bad.cfg:4: core.count");
	remove("/tmp/codesim-cli-bad.cfg");
}
END_TEST

START_TEST(json_is_json_only)
{
	ck_assert_int_eq(t_cli("run --arch h100 --model llama3-8b --phase prefill --seq 512 --json", out, sizeof out, err,
	                       sizeof err), 0);
	size_t n = strlen(out);
	ck_assert(n > 2 && out[0] == '{' && out[n - 2] == '}' && out[n - 1] == '\n');
	ck_assert(strchr(out, '\n') == out + n - 1);   /* one line, one object */
	static const char *keys[] = {"\"arch\":", "\"model\":", "\"phase\":", "\"chips\":", "\"feasible\":",
	                             "\"reason\":", "\"time_s\":", "\"tokens_per_s\":", "\"mfu\":", "\"hfu\":",
	                             "\"flops\":", "\"hbm_bytes\":", "\"energy_j\":", "\"kernels\":", "\"bound\":"};
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
		ck_assert_msg(strstr(out, keys[i]), "missing %s", keys[i]);
	ck_assert_int_eq(t_cli("kernel --arch h100 --op gemm --m 512 --n 512 --k 512 --json", out, sizeof out, err,
	                       sizeof err), 0);
	static const char *kkeys[] = {"\"arch\":", "\"op\":", "\"time_s\":", "\"flops\":", "\"hbm_bytes\":",
	                              "\"bound\":", "\"tiling\":"};
	for (size_t i = 0; i < sizeof kkeys / sizeof *kkeys; i++)
		ck_assert_msg(strstr(out, kkeys[i]), "kernel json missing %s", kkeys[i]);
}
END_TEST

START_TEST(infeasible_is_a_result)
{
	int rc = t_cli("run --arch h100 --model llama3-70b --phase decode --json", out, sizeof out, err, sizeof err);
	ck_assert_int_eq(rc, 0);
	ck_assert(strstr(out, "\"feasible\":false"));
	ck_assert_msg(strstr(out, "h100 has 85.5 GB"), "%s", out);
}
END_TEST

START_TEST(run_stores_in_sqlite)
{
	/* run --db: the point lands in SQLite once, however often it is run */
	remove("/tmp/codesim-cli-run.db");
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(t_cli("run --arch h100 --model llama3-8b --phase decode --batch 2 --db /tmp/codesim-cli-run.db",
		                       out, sizeof out, err, sizeof err), 0);
	ck_assert_int_eq(t_cli("run --arch h100 --model llama3-70b --db /tmp/codesim-cli-run.db", out, sizeof out, err,
	                       sizeof err), 0);
	ck_assert_int_eq(t_cli("query --db /tmp/codesim-cli-run.db --csv \"SELECT status, count(*) FROM points GROUP BY "
	                       "status ORDER BY status\"", out, sizeof out, err, sizeof err), 0);
	ck_assert_msg(strstr(out, "infeasible,1") && strstr(out, "ok,1"), "%s", out);
	remove("/tmp/codesim-cli-run.db");
}
END_TEST

START_TEST(help_texts)
{
	ck_assert_int_eq(t_cli("--help", out, sizeof out, err, sizeof err), 0);
	ck_assert(strstr(out, "run") && strstr(out, "kernel") && strstr(out, "sweep"));
	ck_assert_int_eq(t_cli("run --help", out, sizeof out, err, sizeof err), 0);
	ck_assert(strstr(out, "--phase") && strstr(out, "--json") && strstr(out, "examples"));
	ck_assert_int_eq(t_cli("list archs", out, sizeof out, err, sizeof err), 0);
	ck_assert(strstr(out, "h100") && strstr(out, "groq-lpu") && strstr(out, "tpu-v5p"));
	ck_assert_int_eq(t_cli("list models", out, sizeof out, err, sizeof err), 0);
	ck_assert(strstr(out, "llama3-70b") && strstr(out, "deepseek-v3"));
}
END_TEST

/* The golden points (tests/golden/points.tsv) print the recorded time_s:
 * same inputs, same outputs (DESIGN 11); and a change that moves a
 * prediction comes with a new CODESIM_MODEL_VERSION, which the file records
 * (make golden refuses to record moved values under an old version).  The
 * tolerance, 1e-6, leaves room only for a last-bit difference of another
 * machine's libm (glibc picks FMA or plain exp/log/pow by CPU); any model
 * change moves a prediction by far more. */
START_TEST(golden_points_unchanged)
{
	char path[1024], line[1024], args[1100];
	snprintf(path, sizeof path, "%s/tests/golden/points.tsv", t_home());
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	int points = 0, have_version = 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "# model_version\t", 16)) {
			have_version = 1;
			ck_assert_msg(!strcmp(line + 16, CODESIM_MODEL_VERSION),
			              "golden points recorded under model version %s, the code is %s: run make golden",
			              line + 16, CODESIM_MODEL_VERSION);
			continue;
		}
		char *tab = strchr(line, '\t');
		if (line[0] == '#' || !line[0] || !strncmp(line, "args\t", 5))
			continue;
		ck_assert_msg(tab != NULL, "golden point without a recorded value: %s (run make golden)", line);
		*tab = 0;
		double want = atof(tab + 1);
		snprintf(args, sizeof args, "%s --json", line);
		ck_assert_msg(t_cli(args, out, sizeof out, err, sizeof err) == 0, "codesim %s: %s", line, err);
		double got = t_json_num(out, "time_s");
		ck_assert_msg(got > 0 && fabs(got / want - 1) < 1e-6,
		              "golden point moved: codesim %s: time_s %.10g, recorded %.10g (an intended model change: "
		              "bump CODESIM_MODEL_VERSION in explorer/model_version.h, then make golden)",
		              line, got, want);
		points++;
	}
	fclose(f);
	ck_assert(have_version);
	ck_assert_int_ge(points, 10);
}
END_TEST

Suite *suite_cli(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("contract");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, bad_inputs);
	tcase_add_test(tc, bad_config_file);
	tcase_add_test(tc, json_is_json_only);
	tcase_add_test(tc, infeasible_is_a_result);
	tcase_add_test(tc, run_stores_in_sqlite);
	tcase_add_test(tc, help_texts);
	tcase_add_test(tc, golden_points_unchanged);
	suite_add_tcase(s, tc);
	return s;
}
