/* check_config.c - the declared-key loader: every bad-input case gets a
 * clear error naming file, line and key; every preset loads. */
#include "tests.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpfile_path[256];

static const char *write_tmp(const char *text)
{
	snprintf(tmpfile_path, sizeof tmpfile_path, "/tmp/codesim-cfg-%d.cfg", (int)getpid());
	FILE *f = fopen(tmpfile_path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return tmpfile_path;
}

static const char base_arch[] =
    "name = \"t\";\nfamily = \"gpu\";\nclock_MHz = 1000.0;\n"
    "core = { count = 10; sram_KiB = 100.0; macs_bf16 = 1024.0; vector_flops_per_clk = 128.0; };\n"
    "memory = { capacity_GB = 10.0; bandwidth_GBps = 1000.0; };\n";

START_TEST(loads_a_minimal_file)
{
	arch_t a;
	char err[512];
	ck_assert_int_eq(arch_load(&a, t_home(), write_tmp(base_arch), err, sizeof err), 0);
	ck_assert_int_eq(a.core.count, 10);
	ck_assert(a.memory.bandwidth_GBps == 1000.0);
	/* peak = 2 * MACs * cores * clock */
	ck_assert(arch_peak_flops(&a, DT_BF16) == 2.0 * 1024 * 10 * 1e9);
	unlink(tmpfile_path);
}
END_TEST

static void expect_error(const char *text, const char *needle1, const char *needle2)
{
	arch_t a;
	char err[512] = "";
	ck_assert_int_eq(arch_load(&a, t_home(), write_tmp(text), err, sizeof err), -1);
	ck_assert_msg(strstr(err, needle1), "error '%s' lacks '%s'", err, needle1);
	if (needle2)
		ck_assert_msg(strstr(err, needle2), "error '%s' lacks '%s'", err, needle2);
	unlink(tmpfile_path);
}

START_TEST(unknown_key_names_file_line_key)
{
	char text[1024];
	snprintf(text, sizeof text, "%smemory_typo = 3.0;\n", base_arch);
	expect_error(text, ":6:", "unknown key 'memory_typo'");
}
END_TEST

START_TEST(nested_unknown_key)
{
	char text[1024];
	snprintf(text, sizeof text, "%scache = { size_MiB = 3.0; };\n", base_arch);
	expect_error(text, "unknown key 'cache.size_MiB'", ":6:");
}
END_TEST

START_TEST(out_of_range_names_range)
{
	char text[1024];
	snprintf(text, sizeof text, "%s", base_arch);
	char *p = strstr(text, "bandwidth_GBps = 1000.0");
	memcpy(p, "bandwidth_GBps = -100.0", 23);
	expect_error(text, "memory.bandwidth_GBps = -100 is out of range [0, 1e+06] GB/s", ":5:");
}
END_TEST

START_TEST(integer_wrap_is_refused)
{
	/* 5000000000 without L wraps to 705032704 in libconfig 1.5 */
	char text[1024];
	snprintf(text, sizeof text, "%s", base_arch);
	char *p = strstr(text, "count = 10;");
	char buf[1024];
	snprintf(buf, sizeof buf, "%.*scount = 5000000000;%s", (int)(p - text), text, p + strlen("count = 10;"));
	expect_error(buf, "does not fit a 32-bit integer", "core.count");
}
END_TEST

START_TEST(syntax_error_names_line)
{
	char text[1024];
	snprintf(text, sizeof text, "%sclock_MHz = = 3;\n", base_arch);
	expect_error(text, ":6: syntax error", NULL);
}
END_TEST

START_TEST(wrong_type_and_enum)
{
	char text[1024];
	snprintf(text, sizeof text, "%s", base_arch);
	char *p = strstr(text, "\"gpu\"");
	memcpy(p, "\"cpu\"", 5);
	expect_error(text, "family = 'cpu' is not one of gpu|tpu|lpu", ":2:");
}
END_TEST

START_TEST(unknown_preset)
{
	arch_t a;
	char err[512];
	ck_assert_int_eq(arch_load(&a, t_home(), "h1000", err, sizeof err), -1);
	ck_assert(strstr(err, "unknown preset 'h1000'"));
}
END_TEST

START_TEST(override_applies_and_checks)
{
	arch_t a;
	char err[512];
	ck_assert_int_eq(arch_load(&a, t_home(), "h100", err, sizeof err), 0);
	ck_assert_int_eq(arch_override(&a, "memory.bandwidth_GBps=6700", err, sizeof err), 0);
	ck_assert(a.memory.bandwidth_GBps == 6700);
	ck_assert_int_eq(arch_override(&a, "memory.bandwidth_GBps=abc", err, sizeof err), -1);
	ck_assert(strstr(err, "-s arch.memory.bandwidth_GBps"));
	ck_assert_int_eq(arch_override(&a, "core.count=0", err, sizeof err), -1);
	ck_assert(strstr(err, "out of range"));
	ck_assert_int_eq(arch_override(&a, "no.such=1", err, sizeof err), -1);
	ck_assert(strstr(err, "unknown key 'no.such'"));
}
END_TEST

static int list_presets(const char *dir, char names[][64], int max)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", t_home(), dir);
	DIR *d = opendir(path);
	int n = 0;
	struct dirent *e;
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) && n < max) {
		size_t l = strlen(e->d_name);
		if (l > 4 && !strcmp(e->d_name + l - 4, ".cfg")) {
			snprintf(names[n], 64, "%.*s", (int)(l - 4), e->d_name);
			n++;
		}
	}
	closedir(d);
	return n;
}

START_TEST(every_preset_loads)
{
	char names[64][64], err[512];
	int n = list_presets("arch/presets", names, 64);
	ck_assert_int_ge(n, 13);
	for (int i = 0; i < n; i++) {
		arch_t a;
		ck_assert_msg(arch_load(&a, t_home(), names[i], err, sizeof err) == 0, "%s: %s", names[i], err);
	}
	n = list_presets("workloads/models", names, 64);
	ck_assert_int_ge(n, 9);
	for (int i = 0; i < n; i++) {
		wl_model m;
		ck_assert_msg(wl_model_load(&m, t_home(), names[i], err, sizeof err) == 0, "%s: %s", names[i], err);
		ck_assert_msg(wl_model_validate(&m, err, sizeof err) == 0, "%s: %s", names[i], err);
	}
}
END_TEST

START_TEST(required_presets_exist)
{
	static const char *archs[] = {"v100", "a100", "h100", "h200", "b200", "mi300x", "mi325x", "tpu-v4",
	                              "tpu-v5e", "tpu-v5p", "tpu-v6e", "groq-lpu"};
	static const char *models[] = {"bert-large", "gpt3-175b", "llama3-8b", "llama3-70b", "llama3-405b",
	                               "mixtral-8x7b", "grok1-314b", "deepseek-v3", "palm-540b"};
	char err[512];
	for (size_t i = 0; i < sizeof archs / sizeof *archs; i++) {
		arch_t a;
		ck_assert_msg(arch_load(&a, t_home(), archs[i], err, sizeof err) == 0, "%s", err);
	}
	for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
		wl_model m;
		ck_assert_msg(wl_model_load(&m, t_home(), models[i], err, sizeof err) == 0, "%s", err);
	}
}
END_TEST

START_TEST(dump_is_canonical)
{
	/* the resolved text is the point's identity: same config, same text */
	arch_t a, b;
	char err[512], t1[8192], t2[8192];
	ck_assert_int_eq(arch_load(&a, t_home(), "h100", err, sizeof err), 0);
	ck_assert_int_eq(arch_load(&b, t_home(), "h100", err, sizeof err), 0);
	arch_cfg_dump(arch_keys, arch_nkeys, &a, "arch.", t1, sizeof t1);
	arch_cfg_dump(arch_keys, arch_nkeys, &b, "arch.", t2, sizeof t2);
	ck_assert_str_eq(t1, t2);
	arch_override(&b, "clock_MHz=1000", err, sizeof err);
	arch_cfg_dump(arch_keys, arch_nkeys, &b, "arch.", t2, sizeof t2);
	ck_assert_str_ne(t1, t2);
}
END_TEST

Suite *suite_config(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("loader");
	tcase_add_test(tc, loads_a_minimal_file);
	tcase_add_test(tc, unknown_key_names_file_line_key);
	tcase_add_test(tc, nested_unknown_key);
	tcase_add_test(tc, out_of_range_names_range);
	tcase_add_test(tc, integer_wrap_is_refused);
	tcase_add_test(tc, syntax_error_names_line);
	tcase_add_test(tc, wrong_type_and_enum);
	tcase_add_test(tc, unknown_preset);
	tcase_add_test(tc, override_applies_and_checks);
	tcase_add_test(tc, every_preset_loads);
	tcase_add_test(tc, required_presets_exist);
	tcase_add_test(tc, dump_is_canonical);
	suite_add_tcase(s, tc);
	return s;
}
