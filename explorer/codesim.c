/* codesim.c - the executable's entry point (libsystemc's own main is not used). */
#include "xp.h"

int main(int argc, char **argv)
{
	return xp_main(argc, argv);
}
