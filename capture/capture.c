/*
 * capture.c - filter compilation, the wakeup eventfd, the clock and the
 * error lines shared by the backends (the backend table is backends.c, which depends on them).
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
#include <stdlib.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The kernel's ancillary offsets (linux/filter.h), by value: that header
 * and libpcap's pcap/bpf.h define the same BPF macros. */
#define SKF_AD_OFF_ (-0x1000)
#define SKF_AD_VLAN_TAG_ 44
#define SKF_AD_VLAN_TAG_PRESENT_ 48
#define SKF_AD_VLAN_TPID_ 60

static pthread_mutex_t compile_lock = PTHREAD_MUTEX_INITIALIZER;

int cap_compile_on(struct pcap *p, const char *expr, struct bpf_program *prog,
		   char *err, size_t errlen)
{
	int rc = 0;

	pthread_mutex_lock(&compile_lock);
	if (pcap_compile(p, prog, expr ? expr : "", 1, PCAP_NETMASK_UNKNOWN)) {
		const char *msg = pcap_geterr(p);

		snprintf(err, errlen, "%s",
			 msg && *msg ? msg : "filter: syntax error");
		rc = -EINVAL;
	}
	pthread_mutex_unlock(&compile_lock);
	return rc;
}

int cap_compile(int dlt, int snaplen, const char *expr,
		struct bpf_program *prog, char *err, size_t errlen)
{
	pcap_t *p;
	int rc;

	if (snaplen <= 0)
		snaplen = 65535;
	p = pcap_open_dead(dlt, snaplen);
	if (!p) {
		snprintf(err, errlen, "filter: out of memory");
		return -ENOMEM;
	}
	rc = cap_compile_on(p, expr, prog, err, errlen);
	pcap_close(p);
	return rc;
}

struct bpf_program *cap_compile_new(struct pcap *cp, int dlt, const char *expr,
				    char *err, size_t errlen)
{
	struct bpf_program *prog = calloc(1, sizeof(*prog));
	int rc;

	if (!prog) {
		snprintf(err, errlen, "filter: out of memory");
		return NULL;
	}
	rc = cp ? cap_compile_on(cp, expr, prog, err, errlen)
		: cap_compile(dlt, 65535, expr, prog, err, errlen);
	if (rc) {
		free(prog);
		return NULL;
	}
	return prog;
}

void cap_prog_free(struct bpf_program *prog)
{
	if (!prog)
		return;
	pcap_freecode(prog);
	free(prog);
}

void cap_compile_handle_close(struct pcap *p)
{
	if (p)
		pcap_close(p);
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

pcap_t *cap_compile_handle(const char *iface, int snaplen, int dlt)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct sockaddr_ll sll;
	pcap_t *p;

	if (!iface || !*iface || !strcmp(iface, "any"))
		return NULL;
	p = pcap_create(iface, ebuf);
	if (!p)
		return NULL;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = 0; /* unhooked: receives nothing */
	sll.sll_ifindex = (int)if_nametoindex(iface);
	if (!sll.sll_ifindex ||
	    pcap_set_snaplen(p, snaplen > 0 ? snaplen : 65535) ||
	    pcap_set_buffer_size(p, 128 * 1024) || pcap_activate(p) < 0 ||
	    pcap_datalink(p) != dlt ||
	    bind(pcap_fileno(p), (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		pcap_close(p);
		return NULL;
	}
	return p;
}

/*
 * Prefix layout: [0] tag present (0/1), [2..3] TCI, [4..5] TPID, both
 * big-endian, as the kernel's SKF_AD_VLAN_TAG_PRESENT, SKF_AD_VLAN_TAG
 * and SKF_AD_VLAN_TPID loads give them (whatever the load's size: an
 * ancillary load sets all of A).
 */
void cap_meta_fill(uint8_t meta[CAP_META_LEN], int vlan_present, uint16_t tci,
		   uint16_t tpid)
{
	memset(meta, 0, CAP_META_LEN);
	if (!vlan_present)
		return;
	tpid = tpid ? tpid : 0x8100;
	meta[0] = 1;
	meta[2] = (uint8_t)(tci >> 8);
	meta[3] = (uint8_t)tci;
	meta[4] = (uint8_t)(tpid >> 8);
	meta[5] = (uint8_t)tpid;
}

int cap_prog_userspace(const struct bpf_program *kp, struct bpf_program *up)
{
	size_t n = kp->bf_len;
	struct bpf_insn *c;
	int meta = 0;

	up->bf_len = 0;
	up->bf_insns = NULL;
	c = malloc((n ? n : 1) * sizeof(*c));
	if (!c)
		return -ENOMEM;
	memcpy(c, kp->bf_insns, n * sizeof(*c));
	/* Rewritten as if for the prefixed frame; kept only if a metadata
	 * load needs the prefix. */
	for (size_t i = 0; i < n; i++) {
		unsigned int cls = BPF_CLASS(c[i].code);
		unsigned int mode = BPF_MODE(c[i].code);
		int32_t k = (int32_t)c[i].k;

		if (!((cls == BPF_LD && (mode == BPF_ABS || mode == BPF_IND)) ||
		      (cls == BPF_LDX && mode == BPF_MSH)))
			continue;
		if (k >= 0) {
			c[i].k += CAP_META_LEN;
			continue;
		}
		/* SKF_AD_OFF + what: only absolute loads of the VLAN data */
		if (cls != BPF_LD || mode != BPF_ABS)
			goto unsupported;
		switch (k - SKF_AD_OFF_) {
		case SKF_AD_VLAN_TAG_PRESENT_:
			c[i].code = BPF_LD | BPF_B | BPF_ABS;
			c[i].k = 0;
			break;
		case SKF_AD_VLAN_TAG_:
			c[i].code = BPF_LD | BPF_H | BPF_ABS;
			c[i].k = 2;
			break;
		case SKF_AD_VLAN_TPID_:
			c[i].code = BPF_LD | BPF_H | BPF_ABS;
			c[i].k = 4;
			break;
		default: /* other metadata, SKF_NET_OFF, SKF_LL_OFF */
			goto unsupported;
		}
		meta = 1;
	}
	if (!meta)
		memcpy(c, kp->bf_insns, n * sizeof(*c));
	up->bf_len = (unsigned int)n;
	up->bf_insns = c;
	return meta;
unsupported:
	free(c);
	return -ENOTSUP;
}

uint32_t cap_vlan_insert(uint8_t *dst, const uint8_t *data, uint32_t caplen,
			 uint16_t tpid, uint16_t tci)
{
	uint8_t tag[4] = { (uint8_t)((tpid ? tpid : 0x8100) >> 8),
			   (uint8_t)(tpid ? tpid : 0x8100), (uint8_t)(tci >> 8),
			   (uint8_t)tci };

	memcpy(dst, data, 12); /* destination and source MAC */
	memcpy(dst + 12, tag, 4);
	memcpy(dst + 16, data + 12, caplen - 12);
	return caplen + 4;
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

void cap_efd_poke(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is already non-zero, a wake pends */
	}
}

void cap_efd_drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing to consume */
	}
}

int cap_packet_bind(int fd, int ifindex)
{
	struct sockaddr_ll sll;
	int so = 0;
	socklen_t sl = sizeof(so);

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return -errno;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl);
	return 0;
}

int cap_if_query(int fd, const char *name, int *ifindex, int *hatype)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strnlen(name, sizeof(ifr.ifr_name) - 1));
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0)
		return -errno;
	*ifindex = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		return -errno;
	*hatype = ifr.ifr_hwaddr.sa_family;
	return 0;
}

int cap_packet_promisc(int fd, int ifindex)
{
	struct packet_mreq mr;

	memset(&mr, 0, sizeof(mr));
	mr.mr_ifindex = ifindex;
	mr.mr_type = PACKET_MR_PROMISC;
	return setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr,
			  sizeof(mr))
		       ? -errno
		       : 0;
}

uint64_t cap_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int cap_probe_due(uint64_t *next_ms, int period_ms)
{
	uint64_t now = cap_now_ms();

	if (now < *next_ms)
		return 0;
	*next_ms = now + (uint64_t)period_ms;
	return 1;
}

void cap_efd_wait(int fd, int timeout_ms, int max_ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };

	if (timeout_ms < 0 || timeout_ms > max_ms)
		timeout_ms = max_ms;
	if (poll(&pfd, 1, timeout_ms) > 0)
		cap_efd_drain(fd);
}

void cap_err_perm(char *err, size_t errlen)
{
	snprintf(err, errlen,
		 "cannot open a packet socket: permission denied (run as "
		 "root, or: setcap cap_net_raw,cap_net_admin=eip $(command "
		 "-v pktstat))");
}
