/* keysman.c - print the key table as man(7) entries (ui/keys.c), for
 * pktstat.1's KEYS section and for the test that they agree. */
#include <stdio.h>

#include "../../ui/keys.h"

int main(void)
{
	keys_print_man(stdout);
	return 0;
}
