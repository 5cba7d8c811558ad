/* check_sweep.c - placeholder suite, filled by the work on its issue. */
#include "tests.h"

Suite *suite_sweep(void)
{
	return suite_create("sweep");
}
