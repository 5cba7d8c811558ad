/* cmd_validate.c - placeholder: these commands are not built yet; they say so and fail. */
#include <stdio.h>

int xp_cmd_validate(int argc, char **argv, const char *home);
int xp_cmd_calibrate(int argc, char **argv, const char *home);

int xp_cmd_validate(int argc, char **argv, const char *home)
{
	(void)argc, (void)argv, (void)home;
	fprintf(stderr, "codesim: validate is not available in this build yet\n");
	return 1;
}

int xp_cmd_calibrate(int argc, char **argv, const char *home)
{
	(void)argc, (void)argv, (void)home;
	fprintf(stderr, "codesim: calibrate is not available in this build yet\n");
	return 1;
}

