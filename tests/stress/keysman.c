/* keysman.c - print the key table (or, with "screen", the screen legend)
 * as man(7) entries (ui/keys.c), for pktstat.1's KEYS and SCREEN sections
 * and for the test that they agree. */
#include <stdio.h>
#include <string.h>

#include "../../ui/keys.h"

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "screen") == 0)
		keys_print_man_screen(stdout);
	else
		keys_print_man(stdout);
	return 0;
}
