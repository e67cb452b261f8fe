/*
 * freshmem.c - what memory new to the process costs on this machine, per
 * flow slot (128 bytes, src/flowtab.c), against the same memory once
 * resident: the price of every new flow's slot, which no capture path can
 * avoid when each packet is a new flow (bench E2), and which depends on
 * the machine (a virtual machine that hands freed memory back to its host
 * pays a host fault the first time a page is used again).
 *
 *	freshmem [MB]
 *
 * Maps MB (default 128: a million flows' slots) the way the flow table
 * maps its chunks (src/mem.c: 2 MiB-aligned, huge pages advised, not
 * populated), writes one word every 128 bytes, then writes them all again.
 * Prints one line of key=value words: mb, fresh_ns (process CPU, user +
 * system, per 128 bytes on the first pass), resident_ns (the second pass).
 * Nothing but memory: no network, no privileges.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "mem.h"

#define SLOT 128

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
		       1000000000ull +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

/* CPU ns per slot to write a word in each of @n slots of @p. */
static double pass(volatile uint64_t *p, size_t n, uint64_t v)
{
	uint64_t t = cpu_ns();

	for (size_t i = 0; i < n; i++)
		p[i * (SLOT / sizeof(uint64_t))] = v + i;
	return (double)(cpu_ns() - t) / (double)n;
}

int main(int argc, char **argv)
{
	long mb = argc > 1 ? strtol(argv[1], NULL, 10) : 128;
	size_t len, n;
	uint64_t *p;
	double fresh, resident;

	if (argc > 2 || mb < 1 || mb > 65536) {
		fprintf(stderr, "usage: freshmem [MB (1-65536)]\n");
		return 2;
	}
	len = (size_t)mb << 20;
	n = len / SLOT;
	p = mem_alloc_big(len, 0);
	if (!p) {
		fprintf(stderr, "freshmem: cannot map %ld MB\n", mb);
		return 1;
	}
	fresh = pass(p, n, 1);
	resident = pass(p, n, 2);
	printf("freshmem mb=%ld fresh_ns=%.1f resident_ns=%.1f\n", mb, fresh,
	       resident);
	mem_free_big(p, len);
	return 0;
}
