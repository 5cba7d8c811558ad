/* check_compare.c - placeholder suite, filled by the work on its issue. */
#include "tests.h"

Suite *suite_compare(void)
{
	return suite_create("compare");
}
