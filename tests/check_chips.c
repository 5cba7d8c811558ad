/* check_chips.c - placeholder suite, filled by the work on its issue. */
#include "tests.h"

Suite *suite_chips(void)
{
	return suite_create("chips");
}
