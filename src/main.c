/* main.c - a trampoline: everything lives in pktstat.c. */
#include "pktstat.h"

int main(int argc, char **argv)
{
	return pktstat_main(argc, argv);
}
