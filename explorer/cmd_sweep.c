/* cmd_sweep.c - placeholder: these commands are not built yet; they say so and fail. */
#include <stdio.h>

int xp_cmd_sweep(int argc, char **argv, const char *home);
int xp_cmd_query(int argc, char **argv, const char *home);
int xp_cmd_merge(int argc, char **argv, const char *home);

int xp_cmd_sweep(int argc, char **argv, const char *home)
{
	(void)argc, (void)argv, (void)home;
	fprintf(stderr, "codesim: sweep is not available in this build yet\n");
	return 1;
}

int xp_cmd_query(int argc, char **argv, const char *home)
{
	(void)argc, (void)argv, (void)home;
	fprintf(stderr, "codesim: query is not available in this build yet\n");
	return 1;
}

int xp_cmd_merge(int argc, char **argv, const char *home)
{
	(void)argc, (void)argv, (void)home;
	fprintf(stderr, "codesim: merge is not available in this build yet\n");
	return 1;
}

