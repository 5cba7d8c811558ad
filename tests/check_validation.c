/* check_validation.c - placeholder suite, filled by the work on its issue. */
#include "tests.h"

Suite *suite_validation(void)
{
	return suite_create("validation");
}
