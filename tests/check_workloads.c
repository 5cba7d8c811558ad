/* check_workloads.c - placeholder suite, filled by the work on its issue. */
#include "tests.h"

Suite *suite_workloads(void)
{
	return suite_create("workloads");
}
