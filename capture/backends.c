/*
 * backends.c - the table of capture backends, by name. Above the backends
 * in the link order (it names their ops; they never name it). Const data;
 * any thread.
 */
#include "capture.h"

#include <string.h>

static const struct cap_ops *const cap_backends[] = {
	&cap_tpacket3_ops,
	&cap_pcap_ops,
	&cap_ebpf_ops,
};

const struct cap_ops *cap_backend(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof(cap_backends) / sizeof(cap_backends[0]);
	     i++)
		if (!strcmp(cap_backends[i]->name, name))
			return cap_backends[i];
	return NULL;
}

const struct cap_ops *cap_default_backend(void)
{
	/* AF_PACKET rings are Linux-only; this file is built for Linux. */
	return &cap_tpacket3_ops;
}
