/* cmd_compare.c - placeholder: these commands are not built yet; they say so and fail. */
#include <stdio.h>

int xp_cmd_compare(int argc, char **argv, const char *home);
int xp_cmd_report(int argc, char **argv, const char *home);
int xp_cmd_recommend(int argc, char **argv, const char *home);

int xp_cmd_compare(int argc, char **argv, const char *home)
{
	(void)argc, (void)argv, (void)home;
	fprintf(stderr, "codesim: compare is not available in this build yet\n");
	return 1;
}

int xp_cmd_report(int argc, char **argv, const char *home)
{
	(void)argc, (void)argv, (void)home;
	fprintf(stderr, "codesim: report is not available in this build yet\n");
	return 1;
}

int xp_cmd_recommend(int argc, char **argv, const char *home)
{
	(void)argc, (void)argv, (void)home;
	fprintf(stderr, "codesim: recommend is not available in this build yet\n");
	return 1;
}

