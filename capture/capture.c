/*
 * capture.c - the backend table, filter compilation and the error line
 * shared by the backends.
 *
 * Threads: everything here may be called from any thread. cap_compile
 * serialises on one internal static mutex because pcap_compile was not
 * reentrant before libpcap 1.8 (its lexer and parser used globals); the
 * mutex guards no data of ours, so it is the one allowed exception to "no
 * globals but const tables".
 */
#include "capture.h"
#include "cbpf.h"

#include <errno.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
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

int cap_compile(int dlt, int snaplen, const char *expr,
		struct bpf_program *prog, char *err, size_t errlen)
{
	static pthread_mutex_t compile_lock = PTHREAD_MUTEX_INITIALIZER;
	pcap_t *p;
	int rc = 0;

	if (snaplen <= 0)
		snaplen = 65535;
	p = pcap_open_dead(dlt, snaplen);
	if (!p) {
		snprintf(err, errlen, "filter: out of memory");
		return -ENOMEM;
	}
	pthread_mutex_lock(&compile_lock);
	if (pcap_compile(p, prog, expr ? expr : "", 1, PCAP_NETMASK_UNKNOWN)) {
		const char *msg = pcap_geterr(p);

		snprintf(err, errlen, "%s",
			 msg && *msg ? msg : "filter: syntax error");
		rc = -EINVAL;
	}
	pthread_mutex_unlock(&compile_lock);
	pcap_close(p);
	return rc;
}

_Static_assert(sizeof(struct bpf_insn) == sizeof(struct cbpf_insn) &&
		       offsetof(struct bpf_insn, k) ==
			       offsetof(struct cbpf_insn, k),
	       "classic instruction layout");

size_t cap_prog_insns(const struct bpf_program *prog,
		      const struct cbpf_insn **insns)
{
	*insns = (const struct cbpf_insn *)prog->bf_insns;
	return prog->bf_len;
}

void cap_err_no_device(const char *iface, char *err, size_t errlen)
{
	struct if_nameindex *ifs = if_nameindex();
	size_t len;
	int n;

	n = snprintf(err, errlen, "%s: no such device", iface);
	if (!ifs || n < 0 || (size_t)n >= errlen)
		goto out;
	len = (size_t)n;
	for (struct if_nameindex *i = ifs; i->if_index; i++) {
		const char *sep = i == ifs ? " (available: " : ", ";
		/* Keep room for ", ...)" so a cut list still closes. */
		size_t need = strlen(sep) + strlen(i->if_name);

		if (len + need + sizeof(", ...)") > errlen) {
			snprintf(err + len, errlen - len, "%s...)",
				 i == ifs ? " (available: " : ", ");
			goto out;
		}
		len += (size_t)snprintf(err + len, errlen - len, "%s%s", sep,
					i->if_name);
	}
	if (ifs[0].if_index)
		snprintf(err + len, errlen - len, ")");
out:
	if (ifs)
		if_freenameindex(ifs);
}
