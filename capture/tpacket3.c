/*
 * tpacket3.c - the AF_PACKET TPACKET_V3 backend: one mmap'd ring of
 * blocks per handle, optional PACKET_FANOUT, kernel filters through
 * SO_ATTACH_FILTER, eventfd wakeup.
 *
 * Threads: open, dispatch and close belong to the capture thread (open
 * may run on the main thread before it starts). The ring, the block
 * cursor and the user-space filter in use are touched by dispatch only.
 * set_filter (any thread) attaches the kernel filter and hands a program
 * copy over under filt_lock, then bumps an atomic generation; dispatch
 * compares the generation once per block and takes the lock only when it
 * changed. stats (any thread) sums PACKET_STATISTICS under stats_lock;
 * the counters dispatch writes are relaxed atomics. wakeup only writes an
 * eventfd: signal-safe. No allocation, lock or syscall per packet.
 *
 * Kernel facts this relies on (Linux 3.2+ for TPACKET_V3, 3.1+ for
 * PACKET_FANOUT_HASH, 4.20+ for PACKET_IGNORE_OUTGOING):
 *  - A block belongs to user space while TP_STATUS_USER is set in its
 *    block_status; it is retired when full or after tp_retire_blk_tov ms
 *    with at least one frame. poll() reports POLLIN when the block before
 *    the kernel's current one is user-owned.
 *  - The kernel runs the socket filter before copying a frame, so frames
 *    queued at a filter swap passed the old filter; it also caps the copy
 *    at the filter's return value (the snaplen), which is why a socket
 *    always carries a filter, "accept, snaplen bytes" at least.
 *  - Received VLAN tags are stripped before packet sockets see a frame
 *    and reported in tp_vlan_tci with TP_STATUS_VLAN_VALID (the outer
 *    one of a QinQ frame, TPID in tp_vlan_tpid since 3.14). A socket
 *    filter reads them through the SKF_AD_VLAN_TAG* extensions (3.15+
 *    for all three), which libpcap uses for a live handle only: the
 *    kernel program is compiled with one (cap_compile_handle), and
 *    user space runs it with the same meaning (cap_prog_userspace). As
 *    with tcpdump, "udp" then matches tagged UDP too: the frame the
 *    filter sees has no tag.
 *  - A packet socket bound with protocol 0 is unhooked: it receives
 *    nothing, at no cost per packet.
 *  - Taking the interface down reports ENETDOWN through SO_ERROR (POLLERR)
 *    and unhooks the socket; bringing it up re-hooks it, so capture
 *    resumes by itself. Deleting it reports ENETDOWN too; the socket is
 *    then unbound (its ifindex is gone), ring and filter intact. A bind
 *    to an interface made later under the same name hooks it again and
 *    needs no privilege (CAP_NET_RAW is checked when the socket is
 *    made), but a socket in a fanout group cannot be bound again
 *    (packet_do_bind: EINVAL), nor leave its group: a fanout thread
 *    takes a new socket instead (ring, filter, bind, a new group), one
 *    of the spares it made while it could (socket(2) needs CAP_NET_RAW,
 *    dropped after set-up). A group is per network namespace and per
 *    device: a socket bound to the new interface cannot join the old
 *    group (fanout_add: EINVAL).
 *  - PACKET_RX_RING, mmap, SO_ATTACH_FILTER, bind, PACKET_FANOUT and
 *    PACKET_ADD_MEMBERSHIP need no capability on a socket one holds.
 *  - On loopback every frame is seen twice, outgoing and incoming.
 */
#include "capture.h"

#include <errno.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef ARPHRD_RAWIP
#define ARPHRD_RAWIP 519
#endif
#ifndef ARPHRD_IP6GRE
#define ARPHRD_IP6GRE 823
#endif
#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

/* libpcap's bpf_insn and the kernel's sock_filter share one layout. */
_Static_assert(sizeof(struct bpf_insn) == sizeof(struct sock_filter),
	       "bpf_insn layout");
_Static_assert(offsetof(struct bpf_insn, k) == offsetof(struct sock_filter, k),
	       "bpf_insn layout");

#define TP3_FRAME_SIZE 2048	   /* only a divisor for tp_frame_nr in V3 */
#define TP3_MAX_BLOCK (1u << 20)   /* 1 MiB */
#define TP3_MIN_BLOCKS 8	   /* retire granularity for small rings */
#define TP3_FILTER_ALWAYS UINT_MAX /* "any": every block, user space */
#define TP3_SPARES 4		   /* fanout: sockets kept for resuming */

struct tp3 {
	struct cap_handle base; /* first: the handle callers hold */
	/* Set by open, read-only afterwards. */
	int fd;
	int efd;
	uint8_t *ring;
	size_t ring_len;
	unsigned int block_size;
	unsigned int block_nr;
	unsigned int tov_ms;
	int any;
	int ifindex;	       /* 0 for any; atomic: a removed interface's
			successor changes it (capture thread) */
	int fanout;	       /* in a fanout group: cannot be bound again */
	int fanout_base;       /* the group given at open */
	int spare[TP3_SPARES]; /* fanout: unhooked sockets for resuming */
	int nspare;	       /* capture thread after open */
	unsigned int tov_req;  /* tp_retire_blk_tov asked for (0: kernel's) */
	int promisc;
	int dlt;
	uint32_t snaplen;
	int add_vlan;
	int have_ifdrop;
	uint64_t ifdrop_base;
	char name[IF_NAMESIZE];	      /* as opened, "any" */
	struct sock_filter accept[1]; /* ret #snaplen */
	pcap_t *cp; /* live, unhooked: compiles kernel filters, or NULL */

	/* Capture thread only. */
	unsigned int cur;	   /* next block to hand to user space */
	unsigned int gen_seen;	   /* filter generation in use */
	struct bpf_insn *ufilt;	   /* program run in user space, or NULL */
	int ufilt_meta;		   /* it reads a CAP_META_LEN prefix */
	unsigned int ufilt_blocks; /* blocks left to filter in user space */
	uint64_t gone_ms;	   /* when the interface was found deleted */
	uint64_t probe_ms;	   /* removed: when to look for it next */
	uint8_t *scratch;	   /* snaplen + 64: VLAN re-insertion, "any" */

	/* Filter hand-over: set_filter -> dispatch. */
	pthread_mutex_t filt_lock;
	struct bpf_insn *pending;  /* under filt_lock; NULL = accept all */
	struct sock_filter *kfilt; /* under filt_lock: the kernel's, NULL =
				      t->accept (a new socket gets it) */
	unsigned int kfilt_len;
	int pending_meta; /* under filt_lock: its ufilt_meta */
	unsigned int gen; /* atomic; bumped under filt_lock */

	/* Statistics. */
	pthread_mutex_t stats_lock;
	uint64_t drops, freezes, ifdrops; /* under stats_lock */
	uint64_t ifdrop_prev; /* under stats_lock: of removed ones */
	uint64_t rebinds;     /* atomic: bound again after a removal */
	uint64_t queued;      /* under stats_lock: frames put in the ring */
	uint64_t received;    /* atomic, written by dispatch */
	uint64_t filtered;    /* atomic, written by dispatch */
	uint64_t walked;      /* atomic: frames read from the ring */
	int drained;	      /* atomic: the stop's drain is over */
	int link;	      /* atomic enum cap_link */
};

static struct tp3 *tp3_of(struct cap_handle *h)
{
	return (struct tp3 *)h;
}

/*
 * Link type of frames from a device of ARPHRD type @hatype: devices
 * without a link-layer header hand us the network header first.
 */
static int tp3_dlt(unsigned int hatype)
{
	switch (hatype) {
	case ARPHRD_NONE:
	case ARPHRD_PPP:
	case ARPHRD_IPGRE:
	case ARPHRD_IP6GRE:
	case ARPHRD_TUNNEL:
	case ARPHRD_TUNNEL6:
	case ARPHRD_SIT:
	case ARPHRD_RAWIP:
		return DLT_RAW;
	default: /* ARPHRD_ETHER, ARPHRD_LOOPBACK; others best effort */
		return DLT_EN10MB;
	}
}

/*
 * rx_dropped of the bound interface from sysfs. sysfs shows the network
 * namespace it was mounted in, which need not be ours: check the ifindex
 * there matches before trusting the counter.
 */
static int tp3_read_ifdrop(const struct tp3 *t, uint64_t *v)
{
	char path[96];
	unsigned long long x;
	int idx = 0, ok;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/ifindex", t->name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	ok = fscanf(f, "%d", &idx) == 1 &&
	     idx == __atomic_load_n(&t->ifindex, __ATOMIC_RELAXED);
	fclose(f);
	if (!ok)
		return -1;
	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/rx_dropped",
		 t->name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	ok = fscanf(f, "%llu", &x) == 1;
	fclose(f);
	if (!ok)
		return -1;
	*v = x;
	return 0;
}

/*
 * Ring geometry for @bufsize_mb MiB: blocks of at most 1 MiB, smaller for
 * small rings so at least TP3_MIN_BLOCKS retire in turn, never smaller
 * than a page or than one snaplen frame with its headers.
 */
static void tp3_geometry(int bufsize_mb, uint32_t snaplen, unsigned int *bs,
			 unsigned int *nr)
{
	size_t total = (size_t)(bufsize_mb > 0 ? bufsize_mb : 8) << 20;
	size_t need = (size_t)sysconf(_SC_PAGESIZE);
	size_t frame = TPACKET_ALIGN(TPACKET3_HDRLEN + 16 + snaplen) +
		       sizeof(struct tpacket_block_desc) + 64;
	size_t b = TP3_MAX_BLOCK;

	while (need < frame)
		need <<= 1;
	while (b > need && total / b < TP3_MIN_BLOCKS)
		b >>= 1;
	if (b < need)
		b = need;
	*bs = (unsigned int)b;
	*nr = total / b < 2 ? 2 : (unsigned int)(total / b);
}

static void tp3_free(struct tp3 *t)
{
	if (!t)
		return;
	if (t->ring)
		munmap(t->ring, t->ring_len);
	if (t->fd >= 0)
		close(t->fd);
	if (t->efd >= 0)
		close(t->efd);
	while (t->nspare > 0)
		close(t->spare[--t->nspare]);
	free(t->ufilt);
	free(t->pending);
	free(t->kfilt);
	free(t->scratch);
	if (t->cp)
		pcap_close(t->cp);
	pthread_mutex_destroy(&t->filt_lock);
	pthread_mutex_destroy(&t->stats_lock);
	free(t);
}

static int tp3_sockerr(struct tp3 *t, const char *what, char *err,
		       size_t errlen)
{
	int e = errno;

	snprintf(err, errlen, "%s: %s: %s", t->name, what, strerror(e));
	return -e;
}

/* Look the interface up by name: ifindex, link type, up or down. */
static int tp3_lookup(struct tp3 *t, char *err, size_t errlen)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, t->name, sizeof(ifr.ifr_name));
	if (ioctl(t->fd, SIOCGIFINDEX, &ifr) < 0) {
		if (errno == ENODEV || errno == ENXIO) {
			cap_err_no_device(t->name, err, errlen);
			return -ENODEV;
		}
		return tp3_sockerr(t, "SIOCGIFINDEX", err, errlen);
	}
	t->ifindex = ifr.ifr_ifindex;
	if (ioctl(t->fd, SIOCGIFHWADDR, &ifr) < 0)
		return tp3_sockerr(t, "SIOCGIFHWADDR", err, errlen);
	t->dlt = tp3_dlt(ifr.ifr_hwaddr.sa_family);
	if (ifr.ifr_hwaddr.sa_family == ARPHRD_LOOPBACK) {
		int one = 1;

		/* Keep the outgoing copies out of the ring altogether
		 * (4.20+); dispatch skips them anyway. */
		setsockopt(t->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one,
			   sizeof(one));
	}
	if (ioctl(t->fd, SIOCGIFFLAGS, &ifr) < 0)
		return tp3_sockerr(t, "SIOCGIFFLAGS", err, errlen);
	t->link = ifr.ifr_flags & IFF_UP ? CAP_LINK_UP : CAP_LINK_DOWN;
	return 0;
}

/* TPACKET_V3 and a ring of @t's geometry on socket @fd, mapped into
 * *@ring. 0, or -errno with what failed in *@what. */
static int tp3_ring(const struct tp3 *t, int fd, uint8_t **ring,
		    const char **what)
{
	struct tpacket_req3 req;
	int v = TPACKET_V3;
	void *m;

	*what = "PACKET_VERSION TPACKET_V3";
	if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) < 0)
		return -errno;
	memset(&req, 0, sizeof(req));
	req.tp_block_size = t->block_size;
	req.tp_block_nr = t->block_nr;
	req.tp_frame_size = TP3_FRAME_SIZE;
	req.tp_frame_nr = t->block_size / TP3_FRAME_SIZE * t->block_nr;
	req.tp_retire_blk_tov = t->tov_req; /* 0: the kernel picks */
	*what = "PACKET_RX_RING";
	if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)))
		return -errno;
	*what = "mmap ring";
	m = mmap(NULL, (size_t)t->block_size * t->block_nr,
		 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	*ring = m;
	return 0;
}

static int tp3_setup_ring(struct tp3 *t, const struct cap_config *cfg,
			  char *err, size_t errlen)
{
	const char *what;
	int rc;

	tp3_geometry(cfg->bufsize_mb, t->snaplen, &t->block_size, &t->block_nr);
	t->tov_req =
		cfg->block_timeout_ms > 0 ? (unsigned)cfg->block_timeout_ms : 0;
	t->tov_ms = t->tov_req;
	rc = tp3_ring(t, t->fd, &t->ring, &what);
	if (rc == 0) {
		t->ring_len = (size_t)t->block_size * t->block_nr;
	} else if (!strcmp(what, "PACKET_RX_RING")) {
		snprintf(err, errlen,
			 "%s: cannot set up a %u x %u KiB ring: %s", t->name,
			 t->block_nr, t->block_size >> 10, strerror(-rc));
		return rc;
	} else {
		snprintf(err, errlen, "%s: %s: %s", t->name, what,
			 strerror(-rc));
		return rc;
	}
	if (!t->tov_ms)
		t->tov_ms = 100; /* only used to bound the drain after GONE */
	return 0;
}

/* IEEE 802 local experimental ethertype: no frame we could miss. */
#define TP3_SPARE_PROTO 0x88b6

/*
 * A spare packet socket for tp3_reopen, or -1. Bound to a protocol on
 * no wire and behind a filter that takes nothing, so it costs nothing
 * per packet and queues nothing, yet reads as running (R 1) in
 * /proc/net/packet like the capture sockets: what tools waiting for a
 * capture to be ready look at (tests/it/lib.sh). Not in a fanout group:
 * bind takes it to the interface later.
 */
static int tp3_spare(void)
{
	struct sock_filter none[1] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_fprog fp = { .len = 1, .filter = none };
	struct sockaddr_ll sll;
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(TP3_SPARE_PROTO);
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int tp3_attach(struct tp3 *t, struct sock_filter *insns,
		      unsigned int len)
{
	struct sock_fprog fp = { .len = (unsigned short)len, .filter = insns };

	return setsockopt(t->fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp));
}

static int tp3_open(struct cap_handle **h, const struct cap_config *cfg,
		    char *err, size_t errlen)
{
	struct tp3 *t;
	int rc, e;

	*h = NULL;
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	t->fd = -1;
	t->efd = -1;
	pthread_mutex_init(&t->filt_lock, NULL);
	pthread_mutex_init(&t->stats_lock, NULL);
	t->any = !cfg->iface || !strcmp(cfg->iface, "any");
	if (!t->any && strlen(cfg->iface) >= sizeof(t->name)) {
		cap_err_no_device(cfg->iface, err, errlen);
		rc = -ENODEV;
		goto fail;
	}
	snprintf(t->name, sizeof(t->name), "%s", t->any ? "any" : cfg->iface);
	t->snaplen = cfg->snaplen > 0 ? (uint32_t)cfg->snaplen : 65535;
	t->add_vlan = cfg->add_vlan;
	t->dlt = DLT_EN10MB;
	t->link = CAP_LINK_UP;

	/* Protocol 0: the socket receives nothing until bind, so no frame
	 * enters before the ring and the snaplen filter are in place. */
	t->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (t->fd < 0) {
		e = errno;
		if (e == EPERM || e == EACCES)
			cap_err_perm(err, errlen);
		else
			snprintf(err, errlen, "cannot open a packet socket: %s",
				 strerror(e));
		rc = -e;
		goto fail;
	}
	if (!t->any) {
		rc = tp3_lookup(t, err, errlen);
		if (rc)
			goto fail;
	}

	t->accept[0] =
		(struct sock_filter)BPF_STMT(BPF_RET | BPF_K, t->snaplen);
	if (tp3_attach(t, t->accept, 1)) {
		rc = tp3_sockerr(t, "SO_ATTACH_FILTER", err, errlen);
		goto fail;
	}
	rc = tp3_setup_ring(t, cfg, err, errlen);
	if (rc)
		goto fail;

	/* cap_packet_bind leaves errno as bind set it for tp3_sockerr; a
	 * bind to a down interface leaves ENETDOWN pending, which it
	 * clears: the link state already says so. */
	rc = cap_packet_bind(t->fd, t->ifindex);
	if (rc) {
		if (rc == -ENODEV || rc == -ENXIO) {
			cap_err_no_device(t->name, err, errlen);
			rc = -ENODEV;
		} else {
			rc = tp3_sockerr(t, "bind", err, errlen);
		}
		goto fail;
	}
	/* A membership, not IFF_PROMISC: the kernel drops it with the
	 * socket, however the process ends. */
	if (cfg->promisc && !t->any && cap_packet_promisc(t->fd, t->ifindex)) {
		rc = tp3_sockerr(t, "cannot enter promiscuous mode", err,
				 errlen);
		goto fail;
	}
	t->promisc = cfg->promisc && !t->any;
	t->fanout = cfg->fanout_group != 0;
	t->fanout_base = cfg->fanout_group;
	/* a removed interface's successor needs new sockets, and these
	 * are made now, while we may (best effort: without them capture
	 * ends at a removal, as it did) */
	while (t->fanout && !t->any && t->nspare < TP3_SPARES) {
		int fd = tp3_spare();

		if (fd < 0)
			break;
		t->spare[t->nspare++] = fd;
	}
	if (cfg->fanout_group) {
		/* HASH is the kernel's symmetric flow hash
		 * (__skb_get_hash_symmetric): both directions of a flow
		 * land on one socket. The flow dissector stops at the IP
		 * header of any fragment, first or later, so a fragment is
		 * hashed on its addresses and protocol only and every
		 * fragment of a datagram reaches the same socket, whole:
		 * the worker's fragment table (src/fragtab.h) finds its
		 * flow. No FLAG_DEFRAG: it hands the socket one
		 * reassembled datagram instead of the frames on the wire. */
		uint32_t arg = ((uint32_t)cfg->fanout_group & 0xffff) |
			       (uint32_t)PACKET_FANOUT_HASH << 16;

		if (setsockopt(t->fd, SOL_PACKET, PACKET_FANOUT, &arg,
			       sizeof(arg))) {
			e = errno;
			snprintf(err, errlen,
				 "%s: cannot join fanout group %d: %s", t->name,
				 cfg->fanout_group & 0xffff, strerror(e));
			rc = -e;
			goto fail;
		}
	}
	t->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->efd < 0) {
		e = errno;
		snprintf(err, errlen, "eventfd: %s", strerror(e));
		rc = -e;
		goto fail;
	}
	t->scratch = malloc((size_t)t->snaplen + 64);
	if (!t->scratch) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	if (!t->any && tp3_read_ifdrop(t, &t->ifdrop_base) == 0)
		t->have_ifdrop = 1;
	/* "any": frames from every interface, filtered in user space with
	 * the program for Ethernet, which any live Ethernet handle gives */
	t->cp = cap_compile_handle(t->any ? "lo" : t->name, (int)t->snaplen,
				   t->dlt);
	t->base.ops = &cap_tpacket3_ops;
	*h = &t->base;
	return 0;
fail:
	tp3_free(t);
	return rc;
}

static int tp3_datalink(struct cap_handle *h)
{
	return tp3_of(h)->dlt;
}

/*
 * set_filter - the kernel filter first, then the user-space copy for the
 * frames that passed the old one. For "any" nothing goes to the kernel:
 * libpcap would compile "any" for cooked (DLT_LINUX_SLL) frames, but this
 * socket sees raw frames whose link type varies per interface, so no
 * single kernel program is right. There dispatch runs the program (built
 * for DLT_EN10MB, our datalink) on every frame in user space, giving
 * header-less frames a synthetic Ethernet header first.
 */
/* Attach @kprog to the socket (NULL: accept all) and hand @prog, its
 * user-space form (@meta: cap_prog_userspace's), over to dispatch. */
static int tp3_install(struct tp3 *t, const struct bpf_program *kprog,
		       const struct bpf_program *prog, int meta, char *err,
		       size_t errlen)
{
	struct bpf_insn *copy = NULL;
	struct sock_filter *kcopy = NULL;
	int rc = 0;

	if (prog) {
		if (!prog->bf_len || prog->bf_len > BPF_MAXINSNS ||
		    !kprog->bf_len || kprog->bf_len > BPF_MAXINSNS) {
			snprintf(err, errlen,
				 "%s: filter program of %u instructions "
				 "(1 to %d allowed)",
				 t->name,
				 prog->bf_len > kprog->bf_len ? prog->bf_len
							      : kprog->bf_len,
				 BPF_MAXINSNS);
			return -EINVAL;
		}
		/* The kernel checks what it attaches; on "any" nothing is
		 * attached, and bpf_filter trusts its program. */
		if (!bpf_validate(prog->bf_insns, (int)prog->bf_len)) {
			snprintf(err, errlen, "%s: invalid filter program",
				 t->name);
			return -EINVAL;
		}
		copy = malloc(prog->bf_len * sizeof(*copy));
		if (!copy) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		memcpy(copy, prog->bf_insns, prog->bf_len * sizeof(*copy));
		/* kept for a socket that takes this one's place */
		kcopy = t->fanout ? malloc(kprog->bf_len * sizeof(*kcopy))
				  : NULL;
		if (t->fanout && !kcopy) {
			free(copy);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		if (kcopy)
			memcpy(kcopy, kprog->bf_insns,
			       kprog->bf_len * sizeof(*kcopy));
	}
	pthread_mutex_lock(&t->filt_lock);
	if (!t->any) {
		int bad = kprog ? tp3_attach(
					  t,
					  (struct sock_filter *)kprog->bf_insns,
					  kprog->bf_len)
				: tp3_attach(t, t->accept, 1);

		if (bad) {
			rc = tp3_sockerr(t, "cannot attach the filter", err,
					 errlen);
			free(copy);
			free(kcopy);
			goto out;
		}
	}
	free(t->kfilt);
	t->kfilt = kcopy;
	t->kfilt_len = kcopy ? kprog->bf_len : 0;
	free(t->pending);
	t->pending = copy;
	t->pending_meta = meta;
	__atomic_add_fetch(&t->gen, 1, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&t->filt_lock);
	return rc;
}

static int tp3_set_filter(struct cap_handle *h, const struct bpf_program *prog,
			  char *err, size_t errlen)
{
	return tp3_install(tp3_of(h), prog, prog, 0, err, errlen);
}

/*
 * Compiled on the live compile handle (VLAN tests read the kernel's tag
 * metadata) for the kernel, and run with the same meaning in user space
 * (cap_prog_userspace: the frame behind a metadata prefix when the
 * program reads it). Without a compile handle, or for metadata we cannot
 * emulate, a pcap_open_dead program for both. Compiled outside
 * filt_lock: a huge expression takes long, and dispatch must not wait.
 */
static int tp3_set_filter_expr(struct cap_handle *h, const char *expr,
			       char *err, size_t errlen)
{
	struct tp3 *t = tp3_of(h);
	struct bpf_program dead, kp, up;
	int rc, meta = -ENOTSUP;

	if (!expr || !*expr)
		return tp3_install(t, NULL, NULL, 0, err, errlen);
	rc = cap_compile(t->dlt, (int)t->snaplen, expr, &dead, err, errlen);
	if (rc)
		return rc;
	if (t->cp) {
		/* one filter change at a time per handle: the caller's
		 * (pktstat_set_filter runs on the UI thread only) */
		rc = cap_compile_on(t->cp, expr, &kp, err, errlen);
		if (rc) {
			pcap_freecode(&dead);
			return rc;
		}
		meta = cap_prog_userspace(&kp, &up);
		if (meta < 0)
			pcap_freecode(&kp);
		if (meta == -ENOMEM) {
			pcap_freecode(&dead);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	if (meta >= 0) {
		rc = tp3_install(t, &kp, &up, meta, err, errlen);
		pcap_freecode(&kp);
		free(up.bf_insns);
	} else {
		rc = tp3_install(t, &dead, &dead, 0, err, errlen);
	}
	pcap_freecode(&dead);
	return rc;
}

/* Take over a swapped filter; once per block, lock only on a change. */
static void tp3_sync_filter(struct tp3 *t)
{
	if (__atomic_load_n(&t->gen, __ATOMIC_ACQUIRE) == t->gen_seen)
		return;
	pthread_mutex_lock(&t->filt_lock);
	free(t->ufilt);
	t->ufilt = t->pending;
	t->ufilt_meta = t->pending_meta;
	t->pending = NULL;
	t->gen_seen = __atomic_load_n(&t->gen, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&t->filt_lock);
	/*
	 * A named interface: frames already in the ring, or landing in the
	 * block being filled (a softirq on another CPU may have run the old
	 * program just before the swap), passed the old kernel filter. They
	 * all sit in the next block_nr blocks, so filter that many again in
	 * user space; newer frames pass the same program twice, harmlessly.
	 */
	if (!t->ufilt)
		t->ufilt_blocks = 0;
	else
		t->ufilt_blocks = t->any ? TP3_FILTER_ALWAYS : t->block_nr;
}

/* The frame with its stripped VLAN tag back in, into t->scratch (snaplen
 * + 64 bytes); returns its length. */
static uint32_t tp3_retag(struct tp3 *t, const uint8_t *data, uint32_t caplen,
			  const struct tpacket3_hdr *th)
{
	uint16_t tpid = th->tp_status & TP_STATUS_VLAN_TPID_VALID
				? th->hv1.tp_vlan_tpid
				: ETH_P_8021Q;

	return cap_vlan_insert(t->scratch, data, caplen, tpid,
			       th->hv1.tp_vlan_tci);
}

/*
 * Run the user-space program on a frame, with the meaning the kernel
 * gives it. On "any" (program compiled for DLT_EN10MB), frames of devices
 * without a link header get a synthetic Ethernet header (zero MACs, the
 * frame's protocol) so the program reads them right: written in place
 * into the ring's headroom before the frame (the kernel leaves at least
 * 16 bytes there when there is no link header, and the block is ours
 * until we return it), else into the scratch buffer. A program reading
 * VLAN metadata gets the frame copied behind the metadata prefix.
 */
static unsigned int tp3_run_filter(struct tp3 *t, uint8_t *data,
				   uint32_t caplen, uint32_t len, int dlt,
				   unsigned int headroom, uint16_t proto_be,
				   const struct tpacket3_hdr *th)
{
	unsigned int hl = dlt == t->dlt ? 0 : ETH_HLEN, r;
	uint8_t *p;

	if (t->ufilt_meta) {
		cap_meta_fill(t->scratch,
			      !!(th->tp_status & TP_STATUS_VLAN_VALID),
			      th->hv1.tp_vlan_tci,
			      th->tp_status & TP_STATUS_VLAN_TPID_VALID
				      ? th->hv1.tp_vlan_tpid
				      : 0);
		p = t->scratch + CAP_META_LEN;
		memcpy(p + hl, data, caplen);
	} else if (!hl) {
		return bpf_filter(t->ufilt, data, len, caplen);
	} else if (headroom >= ETH_HLEN) {
		p = data - ETH_HLEN;
	} else {
		p = t->scratch;
		memcpy(p + ETH_HLEN, data, caplen);
	}
	if (hl) {
		memset(p, 0, 2 * ETH_ALEN);
		memcpy(p + 2 * ETH_ALEN, &proto_be, 2);
	}
	if (t->ufilt_meta)
		r = bpf_filter(t->ufilt, t->scratch, len + hl,
			       CAP_META_LEN + caplen + hl);
	else
		r = bpf_filter(t->ufilt, p, len + hl, caplen + hl);
	return r > hl ? r - hl : r ? 1 : 0;
}

/* Hand every frame of the user-owned block @bd to @cb. */
static int tp3_walk_block(struct tp3 *t, struct tpacket_block_desc *bd,
			  cap_pkt_fn cb, void *user)
{
	uint32_t num = bd->hdr.bh1.num_pkts;
	size_t off = bd->hdr.bh1.offset_to_first_pkt;
	int filter = t->ufilt && t->ufilt_blocks;
	uint64_t delivered = 0, dropped = 0, walked = 0;

	for (uint32_t i = 0; i < num; i++) {
		uint8_t *f = (uint8_t *)bd + off;
		struct tpacket3_hdr *th = (struct tpacket3_hdr *)f;
		size_t rem = t->block_size - off;
		struct sockaddr_ll *sll;
		struct cap_pkt pkt;
		uint8_t *data;
		uint32_t caplen;
		int dlt;

		/* The kernel wrote these offsets; check them anyway rather
		 * than read past the block on a bad one. */
		if (off < sizeof(*bd) || off >= t->block_size ||
		    rem < TPACKET3_HDRLEN || th->tp_mac < TPACKET3_HDRLEN ||
		    th->tp_mac > rem || th->tp_snaplen > rem - th->tp_mac ||
		    th->tp_next_offset >= rem)
			break;
		walked++;
		if (th->tp_next_offset)
			__builtin_prefetch(f + th->tp_next_offset);
		sll = (struct sockaddr_ll *)(f + TPACKET_ALIGN(sizeof(*th)));
		if (sll->sll_pkttype == PACKET_OUTGOING &&
		    sll->sll_hatype == ARPHRD_LOOPBACK)
			goto next; /* seen again as incoming */
		data = f + th->tp_mac;
		caplen = th->tp_snaplen < t->snaplen ? th->tp_snaplen
						     : t->snaplen;
		dlt = tp3_dlt(sll->sll_hatype);
		if (filter) {
			unsigned int r =
				tp3_run_filter(t, data, caplen, th->tp_len, dlt,
					       th->tp_mac - TPACKET3_HDRLEN,
					       sll->sll_protocol, th);

			if (!r) {
				dropped++;
				goto next;
			}
			if (r < caplen)
				caplen = r;
		}
		pkt.data = data;
		pkt.caplen = caplen;
		pkt.wirelen = th->tp_len;
		pkt.ts_ns = (uint64_t)th->tp_sec * 1000000000u + th->tp_nsec;
		pkt.dlt = dlt;
		pkt.vlan_tci = -1;
		pkt.vlan_tpid = 0;
		pkt.ifindex = sll->sll_ifindex;
		if (th->tp_status & TP_STATUS_VLAN_VALID) {
			/* The tag was on the wire: count its 4 bytes. */
			pkt.wirelen += 4;
			if (t->add_vlan && dlt == DLT_EN10MB &&
			    caplen >= 2 * ETH_ALEN) {
				pkt.caplen = tp3_retag(t, data, caplen, th);
				pkt.data = t->scratch;
			} else {
				pkt.vlan_tci = th->hv1.tp_vlan_tci;
				pkt.vlan_tpid =
					th->tp_status & TP_STATUS_VLAN_TPID_VALID
						? th->hv1.tp_vlan_tpid
						: 0;
			}
		}
		cb(user, &pkt);
		delivered++;
	next:
		if (!th->tp_next_offset)
			break;
		off += th->tp_next_offset;
	}
	if (t->ufilt_blocks && t->ufilt_blocks != TP3_FILTER_ALWAYS)
		t->ufilt_blocks--;
	if (delivered)
		__atomic_fetch_add(&t->received, delivered, __ATOMIC_RELAXED);
	if (dropped)
		__atomic_fetch_add(&t->filtered, dropped, __ATOMIC_RELAXED);
	__atomic_fetch_add(&t->walked, walked, __ATOMIC_RELAXED);
	return (int)delivered;
}

/*
 * Current state of the bound interface, by index (a rename keeps our
 * socket bound; a delete kills it). ioctls on the packet socket resolve
 * in the socket's network namespace.
 */
static enum cap_link tp3_probe_link(struct tp3 *t)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_ifindex = __atomic_load_n(&t->ifindex, __ATOMIC_RELAXED);
	if (ioctl(t->fd, SIOCGIFNAME, &ifr) < 0 ||
	    ioctl(t->fd, SIOCGIFFLAGS, &ifr) < 0) {
		if (errno == ENODEV || errno == ENXIO)
			return CAP_LINK_GONE;
		return (enum cap_link)__atomic_load_n(&t->link,
						      __ATOMIC_RELAXED);
	}
	return ifr.ifr_flags & IFF_UP ? CAP_LINK_UP : CAP_LINK_DOWN;
}

static void tp3_set_link(struct tp3 *t, enum cap_link l)
{
	if (l == CAP_LINK_GONE && !t->gone_ms)
		t->gone_ms = cap_now_ms();
	__atomic_store_n(&t->link, l, __ATOMIC_RELAXED);
}

/*
 * Wait for a block, the eventfd or the timeout. Returns 1 if the socket
 * is readable, 0 otherwise, or -errno on a socket error.
 */
static int tp3_wait(struct tp3 *t, int timeout_ms, char *err, size_t errlen)
{
	struct pollfd pfd[2] = { { t->fd, POLLIN, 0 }, { t->efd, POLLIN, 0 } };

	if (poll(pfd, 2, timeout_ms) < 0) {
		if (errno == EINTR)
			return 0;
		return tp3_sockerr(t, "poll", err, errlen);
	}
	if (pfd[1].revents & POLLIN)
		cap_efd_drain(t->efd);
	if (pfd[0].revents & POLLNVAL) {
		snprintf(err, errlen, "%s: packet socket closed", t->name);
		return -EBADF;
	}
	if (pfd[0].revents & (POLLERR | POLLHUP)) {
		int so = 0;
		socklen_t sl = sizeof(so);

		/* Reading SO_ERROR clears it: POLLERR does not spin. */
		if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &so, &sl) < 0)
			so = errno;
		if (so == ENETDOWN || so == ENODEV || so == ENXIO) {
			if (!t->any)
				tp3_set_link(t, tp3_probe_link(t));
		} else if (so) {
			snprintf(err, errlen, "%s: packet socket: %s", t->name,
				 strerror(so));
			return -so;
		}
	}
	return (pfd[0].revents & POLLIN) != 0;
}

/* Add the socket's PACKET_STATISTICS to the running sums (reading
 * resets the kernel's). Under stats_lock. 0 or -errno. */
static int tp3_fold_kstats(struct tp3 *t)
{
	struct tpacket_stats_v3 ks;
	socklen_t len = sizeof(ks);

	memset(&ks, 0, sizeof(ks));
	if (getsockopt(t->fd, SOL_PACKET, PACKET_STATISTICS, &ks, &len))
		return -errno;
	/* tp_packets counts the drops too (TPACKET_V3) */
	if (ks.tp_packets > ks.tp_drops)
		t->queued += ks.tp_packets - ks.tp_drops;
	t->drops += ks.tp_drops;
	t->freezes += ks.tp_freeze_q_cnt;
	return 0;
}

/* How often a removed interface is looked for by name. */
#define TP3_PROBE_MS 100

/*
 * The fanout group of the threads of an interface that came back with
 * index @idx, from the group @base they were opened in: the same for
 * each thread, which finds the interface on its own; 16 bits. The engine
 * numbers the groups of its interfaces base, base + 1, ...: base + 64 +
 * 16 * (idx mod 4088) is none of those (for 16 interfaces) nor another
 * interface's new group, whatever the indexes.
 */
static int tp3_fanout_id(int base, int idx)
{
	return (base + 64 + 16 * (idx % 4088)) & 0xffff;
}

/*
 * tp3_rebind for a socket in a fanout group, which can be bound no more:
 * a new socket (a spare made at open; when none is left, socket(2) if
 * still allowed)
 * with a ring of the same geometry and the kernel filter in force, bound
 * to interface @idx and joined to its new group (tp3_fanout_id) takes the
 * old one's place; counts carry on. 0, or -errno with one line in @err:
 * ENOSPC no spare left, else what failed.
 */
static int tp3_reopen(struct tp3 *t, int idx, char *err, size_t errlen)
{
	uint8_t *ring = NULL, *old_ring;
	const char *what = "bind";
	char group[32];
	int fd, old_fd, rc, id = tp3_fanout_id(t->fanout_base, idx);
	uint32_t arg = ((uint32_t)id & 0xffff) | (uint32_t)PACKET_FANOUT_HASH
							 << 16;

	fd = t->nspare ? t->spare[--t->nspare]
		       : socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen,
			 "%s: interface back, but no spare packet socket is "
			 "left to resume capture (%d used)",
			 t->name, TP3_SPARES);
		return -ENOSPC;
	}
	rc = tp3_ring(t, fd, &ring, &what);
	if (rc)
		goto fail;
	/* the filter in force before any frame, and no filter change
	 * between it and the swap: under filt_lock */
	pthread_mutex_lock(&t->filt_lock);
	{
		struct sock_fprog fp = {
			.len = (unsigned short)(t->kfilt ? t->kfilt_len : 1),
			.filter = t->kfilt ? t->kfilt : t->accept,
		};

		what = "SO_ATTACH_FILTER";
		rc = setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp,
				sizeof(fp))
			     ? -errno
			     : 0;
	}
	if (!rc) {
		what = "bind";
		rc = cap_packet_bind(fd, idx);
	}
	if (!rc) {
		snprintf(group, sizeof(group), "fanout group %d", id);
		what = group;
		rc = setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg,
				sizeof(arg))
			     ? -errno
			     : 0;
	}
	if (rc) {
		pthread_mutex_unlock(&t->filt_lock);
		goto fail;
	}
	if (t->promisc) /* best effort, as the capture goes on without it */
		(void)cap_packet_promisc(fd, idx);
	pthread_mutex_lock(&t->stats_lock);
	(void)tp3_fold_kstats(t); /* the old socket's last counts */
	old_fd = t->fd;
	t->fd = fd;
	pthread_mutex_unlock(&t->stats_lock);
	pthread_mutex_unlock(&t->filt_lock);
	/* ring and block cursor: the capture thread's, which this is */
	old_ring = t->ring;
	t->ring = ring;
	t->cur = 0;
	munmap(old_ring, t->ring_len);
	close(old_fd);
	return 0;
fail:
	if (ring)
		munmap(ring, (size_t)t->block_size * t->block_nr);
	close(fd);
	snprintf(err, errlen,
		 "%s: interface back, but capture cannot resume: "
		 "%s: %s",
		 t->name, what, strerror(-rc));
	return rc == -ENODEV || rc == -ENXIO ? -EAGAIN : rc;
}

/*
 * The interface was deleted and the ring drained: if one of the same
 * name and link type exists now, bind the socket to it (ring, filter and
 * counts carry on; promiscuous mode is asked for again), or in a fanout
 * group have a new socket take its place (tp3_reopen). 0 when bound,
 * else -errno: not there (ENODEV), another link type (EPROTOTYPE), or
 * tp3_reopen's failure with a line in @err.
 */
static int tp3_rebind(struct tp3 *t, char *err, size_t errlen)
{
	uint64_t ifd = 0;
	int idx, hatype, have, rc;

	rc = cap_if_query(t->fd, t->name, &idx, &hatype);
	if (rc)
		return rc;
	/* the decoder, the filters and the counters are for our link type */
	if (tp3_dlt(hatype) != t->dlt)
		return -EPROTOTYPE;
	if (t->fanout) {
		rc = tp3_reopen(t, idx, err, errlen);
		if (rc)
			return rc;
	} else {
		rc = cap_packet_bind(t->fd, idx);
		if (rc)
			return rc;
		if (t->promisc)
			(void)cap_packet_promisc(t->fd, idx);
	}
	__atomic_store_n(&t->ifindex, idx, __ATOMIC_RELAXED);
	/* rx_dropped starts again with the new interface */
	have = tp3_read_ifdrop(t, &ifd) == 0;
	pthread_mutex_lock(&t->stats_lock);
	t->ifdrop_prev = t->ifdrops;
	t->ifdrop_base = ifd;
	t->have_ifdrop = have;
	pthread_mutex_unlock(&t->stats_lock);
	t->gone_ms = 0;
	__atomic_store_n(&t->link, tp3_probe_link(t), __ATOMIC_RELAXED);
	__atomic_fetch_add(&t->rebinds, 1, __ATOMIC_RELAXED);
	return 0;
}

/* Removed and drained: look for the interface every TP3_PROBE_MS,
 * sleeping in between on the wakeup eventfd. 1 once bound again (the
 * next call reads the ring), 0 if not yet, or -errno with a line in @err
 * when capture cannot resume. */
static int tp3_wait_back(struct tp3 *t, int timeout_ms, char *err,
			 size_t errlen)
{
	if (cap_probe_due(&t->probe_ms, TP3_PROBE_MS)) {
		int rc = tp3_rebind(t, err, errlen);

		if (rc == 0)
			return 1;
		/* gone again meanwhile (EAGAIN): look on */
		if (rc != -ENODEV && rc != -ENXIO && rc != -EPROTOTYPE &&
		    rc != -EAGAIN && t->fanout)
			return rc;
	}
	cap_efd_wait(t->efd, timeout_ms, TP3_PROBE_MS);
	return 0;
}

/* Hand over the frames of the user-owned block @bd and give it back. */
static int tp3_take_block(struct tp3 *t, struct tpacket_block_desc *bd,
			  cap_pkt_fn cb, void *user)
{
	int n;

	tp3_sync_filter(t);
	n = tp3_walk_block(t, bd, cb, user);
	if (n > 0) /* end of batch, while the block is still ours */
		cb(user, NULL);
	/* The kernel zeroes it when it opens the block again; until then
	 * the drain reads 0 there: nothing being filled. */
	bd->hdr.bh1.num_pkts = 0;
	/* Kernel owns block. */
	__atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL,
			 __ATOMIC_RELEASE);
	t->cur = t->cur + 1 == t->block_nr ? 0 : t->cur + 1;
	return n;
}

/* The longest a stop's drain takes, whatever the ring holds. */
#define TP3_DRAIN_MS 500

/*
 * dispatch with CAP_DRAIN, once stopped: no frame enters any more (a
 * filter that rejects all; the kernel counts none it rejects), and every
 * frame already in the ring is handed over, block after block, then the
 * one the kernel is filling, once its retire timer hands it over (two
 * retire periods at most); TP3_DRAIN_MS in all. After it, stats say how
 * many frames the kernel put in the ring and nobody read (unread).
 */
static int tp3_drain(struct tp3 *t, cap_pkt_fn cb, void *user, char *err,
		     size_t errlen)
{
	struct sock_filter none[1] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	uint64_t start = cap_now_ms(), end = start + TP3_DRAIN_MS, now;
	uint64_t retire = 0;
	int total = 0;

	if (__atomic_load_n(&t->drained, __ATOMIC_RELAXED))
		return 0;
	/* best effort: on failure the drain still ends by the clock, and
	 * the count says what was left */
	(void)tp3_attach(t, none, 1);
	for (;;) {
		struct tpacket_block_desc *bd =
			(struct tpacket_block_desc *)(t->ring +
						      (size_t)t->cur *
							      t->block_size);

		now = cap_now_ms();
		if (now >= end)
			break;
		if (__atomic_load_n(&bd->hdr.bh1.block_status,
				    __ATOMIC_ACQUIRE) &
		    TP_STATUS_USER) {
			total += tp3_take_block(t, bd, cb, user);
			continue;
		}
		/* the block being filled: frames the kernel counted in it
		 * come with its retirement */
		if (!__atomic_load_n(&bd->hdr.bh1.num_pkts, __ATOMIC_ACQUIRE))
			break;
		if (!retire) {
			retire = now + 2 * (uint64_t)t->tov_ms + 20;
			if (retire < end)
				end = retire;
		}
		if (tp3_wait(t, (int)(end - now), err, errlen) < 0)
			break;
	}
	__atomic_store_n(&t->drained, 1, __ATOMIC_RELEASE);
	return total;
}

static int tp3_dispatch(struct cap_handle *h, cap_pkt_fn cb, void *user,
			int timeout_ms, char *err, size_t errlen)
{
	struct tp3 *t = tp3_of(h);
	struct tpacket_block_desc *bd;
	int n, link = __atomic_load_n(&t->link, __ATOMIC_RELAXED);

	if (timeout_ms == CAP_DRAIN)
		return tp3_drain(t, cb, user, err, errlen);

	/* While down (only then) look at the interface on every call. */
	if (link == CAP_LINK_DOWN) {
		tp3_set_link(t, tp3_probe_link(t));
		link = __atomic_load_n(&t->link, __ATOMIC_RELAXED);
	}
	bd = (struct tpacket_block_desc *)(t->ring +
					   (size_t)t->cur * t->block_size);
	if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) &
	      TP_STATUS_USER)) {
		if (link == CAP_LINK_GONE) {
			/* Deleted: drain what the retire timer still hands
			 * over, then wait for an interface of that name. */
			uint64_t waited = cap_now_ms() - t->gone_ms;

			if (waited > 2 * (uint64_t)t->tov_ms + 20) {
				n = tp3_wait_back(t, timeout_ms, err, errlen);
				return n < 0 ? n : 0;
			}
			if (timeout_ms < 0 || timeout_ms > (int)t->tov_ms)
				timeout_ms = (int)t->tov_ms;
		}
		n = tp3_wait(t, timeout_ms, err, errlen);
		if (n <= 0)
			return n;
		if (!(__atomic_load_n(&bd->hdr.bh1.block_status,
				      __ATOMIC_ACQUIRE) &
		      TP_STATUS_USER))
			return 0;
	}
	return tp3_take_block(t, bd, cb, user);
}

static void tp3_wakeup(struct cap_handle *h)
{
	cap_efd_poke(tp3_of(h)->efd);
}

static int tp3_stats(struct cap_handle *h, struct cap_stats *st)
{
	struct tp3 *t = tp3_of(h);
	uint64_t ifd;
	int rc;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&t->stats_lock);
	rc = tp3_fold_kstats(t);
	/* A failed read (interface renamed or gone) keeps the last value. */
	if (t->have_ifdrop && tp3_read_ifdrop(t, &ifd) == 0 &&
	    ifd >= t->ifdrop_base)
		t->ifdrops = t->ifdrop_prev + ifd - t->ifdrop_base;
	st->kernel_drops = t->drops;
	st->freezes = t->freezes;
	st->if_drops = t->ifdrops;
	/* once drained, frames in the ring were read or left unread */
	if (__atomic_load_n(&t->drained, __ATOMIC_ACQUIRE)) {
		uint64_t w = __atomic_load_n(&t->walked, __ATOMIC_RELAXED);

		st->unread = t->queued > w ? t->queued - w : 0;
	}
	pthread_mutex_unlock(&t->stats_lock);
	st->received = __atomic_load_n(&t->received, __ATOMIC_RELAXED);
	st->filtered = __atomic_load_n(&t->filtered, __ATOMIC_RELAXED);
	st->rebinds = __atomic_load_n(&t->rebinds, __ATOMIC_RELAXED);
	return rc;
}

static enum cap_link tp3_link(struct cap_handle *h)
{
	return (enum cap_link)__atomic_load_n(&tp3_of(h)->link,
					      __ATOMIC_RELAXED);
}

static void tp3_close(struct cap_handle *h)
{
	tp3_free(tp3_of(h));
}

const struct cap_ops cap_tpacket3_ops = {
	.name = "tpacket3",
	.fanout = 1,
	.vlan_stripped = 1,
	.open = tp3_open,
	.datalink = tp3_datalink,
	.set_filter = tp3_set_filter,
	.set_filter_expr = tp3_set_filter_expr,
	.dispatch = tp3_dispatch,
	.wakeup = tp3_wakeup,
	.stats = tp3_stats,
	.link = tp3_link,
	.close = tp3_close,
};
