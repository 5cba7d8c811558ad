/* pending.c - commands not built yet: they say so and fail. */
#include <stdio.h>

int xp_cmd_sweep(int argc, char **argv, const char *home);
int xp_cmd_query(int argc, char **argv, const char *home);
int xp_cmd_merge(int argc, char **argv, const char *home);
int xp_cmd_compare(int argc, char **argv, const char *home);
int xp_cmd_report(int argc, char **argv, const char *home);
int xp_cmd_recommend(int argc, char **argv, const char *home);
int xp_cmd_validate(int argc, char **argv, const char *home);
int xp_cmd_calibrate(int argc, char **argv, const char *home);

static int pending(const char *name)
{
	fprintf(stderr, "codesim: '%s' is not available in this build yet\n", name);
	return 1;
}

int xp_cmd_sweep(int argc, char **argv, const char *home) { (void)argc, (void)argv, (void)home; return pending("sweep"); }
int xp_cmd_query(int argc, char **argv, const char *home) { (void)argc, (void)argv, (void)home; return pending("query"); }
int xp_cmd_merge(int argc, char **argv, const char *home) { (void)argc, (void)argv, (void)home; return pending("merge"); }
int xp_cmd_compare(int argc, char **argv, const char *home) { (void)argc, (void)argv, (void)home; return pending("compare"); }
int xp_cmd_report(int argc, char **argv, const char *home) { (void)argc, (void)argv, (void)home; return pending("report"); }
int xp_cmd_recommend(int argc, char **argv, const char *home) { (void)argc, (void)argv, (void)home; return pending("recommend"); }
int xp_cmd_validate(int argc, char **argv, const char *home) { (void)argc, (void)argv, (void)home; return pending("validate"); }
int xp_cmd_calibrate(int argc, char **argv, const char *home) { (void)argc, (void)argv, (void)home; return pending("calibrate"); }
