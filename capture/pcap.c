/*
 * pcap.c - the live libpcap backend: capture through pcap_create on an
 * interface or "any". Files are read by pcapfile.c; what both share
 * (the handle, filters, batch reads) is pcapbase.c.
 *
 * Threads: open, dispatch and close run in the capture thread (open may
 * run on the main thread before it starts). dispatch and set_filter
 * serialise on the base's op_lock, one lock per batch (pcapbase.h); a
 * filter swap waits at most for one batch. pcap_stats touches only
 * libpcap's own counters, not the read path, so stats takes a separate
 * lock. wakeup only writes an eventfd: signal-safe.
 *
 * The handle runs in non-blocking mode: dispatch waits in its own poll on
 * the selectable fd and the eventfd, so wakeup works on every libpcap
 * version, and then reads what is ready.
 */
#include "pcapbase.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

struct pc {
	struct pcapbase b;     /* first: the handle callers hold */
	int efd;	       /* wakeup eventfd */
	int sfd;	       /* selectable fd */
	char ifname[IFNAMSIZ]; /* "" for any */
	pthread_mutex_t stats_lock;
	/* Under stats_lock: 64-bit sums of libpcap's 32-bit counters. */
	unsigned int last_drop, last_ifdrop;
	uint64_t drops, ifdrops;
	int link;	   /* atomic enum cap_link */
	int tov_ms;	   /* block timeout */
	uint64_t gone_ms;  /* when the interface was found deleted */
	uint64_t probe_ms; /* removed: when to look for it next */
	int hatype;	   /* ARPHRD_* of the interface opened, or -1 */
	int promisc;
	uint64_t rebinds; /* atomic: bound again after a removal */
};

static struct pc *pc_of(struct cap_handle *h)
{
	return (struct pc *)h;
}

static void pc_free(struct pc *pc)
{
	if (!pc)
		return;
	pcapbase_destroy(&pc->b);
	if (pc->efd >= 0)
		close(pc->efd);
	pthread_mutex_destroy(&pc->stats_lock);
	free(pc);
}

/* Map a failed pcap_activate to one line and an errno. */
static int pc_activate_error(struct pc *pc, int rc, char *err, size_t errlen)
{
	const char *msg = pcap_geterr(pc->b.p);

	switch (rc) {
	case PCAP_ERROR_NO_SUCH_DEVICE:
		cap_err_no_device(pc->b.name, err, errlen);
		return -ENODEV;
	case PCAP_ERROR_PERM_DENIED:
		cap_err_perm(err, errlen);
		return -EPERM;
	case PCAP_ERROR_PROMISC_PERM_DENIED:
		snprintf(err, errlen,
			 "%s: no permission to enter promiscuous mode",
			 pc->b.name);
		return -EPERM;
	case PCAP_ERROR_IFACE_NOT_UP:
		/* libpcap refuses to activate on a down interface and a
		 * failed pcap_t cannot be re-activated: report it. (Once
		 * open, going down and up again is followed by dispatch.) */
		snprintf(err, errlen, "%s: interface is down", pc->b.name);
		return -ENETDOWN;
#ifdef PCAP_ERROR_CAPTURE_NOTSUP /* libpcap 1.10.5+ */
	case PCAP_ERROR_CAPTURE_NOTSUP:
		snprintf(err, errlen, "%s: capture not supported: %s",
			 pc->b.name, msg);
		return -EOPNOTSUPP;
#endif
	default:
		snprintf(err, errlen, "%s: %s", pc->b.name,
			 msg && *msg ? msg : pcap_statustostr(rc));
		return -EIO;
	}
}

static int pc_activate(struct pc *pc, const struct cap_config *cfg, char *err,
		       size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p;
	int rc;

	p = pc->b.p = pcap_create(cfg->iface ? cfg->iface : "any", ebuf);
	if (!p) {
		snprintf(err, errlen, "%s: %s", pc->b.name, ebuf);
		return -EIO;
	}
	pcap_set_snaplen(p, cfg->snaplen > 0 ? cfg->snaplen : 65535);
	pcap_set_promisc(p, cfg->promisc ? 1 : 0);
	if (cfg->bufsize_mb > 0)
		pcap_set_buffer_size(p, cfg->bufsize_mb < 2048
						? cfg->bufsize_mb << 20
						: INT_MAX);
	pc->tov_ms = cfg->block_timeout_ms > 0 ? cfg->block_timeout_ms : 50;
	pcap_set_timeout(p, pc->tov_ms);
	pcap_set_immediate_mode(p, 0);
	/* Best effort: fails only where the platform cannot do it. */
	pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
	rc = pcap_activate(p);
	if (rc < 0)
		return pc_activate_error(pc, rc, err, errlen);
	/* rc > 0 is a warning (e.g. no promiscuous mode on "any"). */
	if (pcap_setnonblock(p, 1, ebuf)) {
		snprintf(err, errlen, "%s: %s", pc->b.name, ebuf);
		return -EIO;
	}
	pc->sfd = pcap_get_selectable_fd(p);
	if (pc->sfd < 0) {
		snprintf(err, errlen, "%s: no selectable descriptor",
			 pc->b.name);
		return -EOPNOTSUPP;
	}
	pc->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pc->efd < 0) {
		rc = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(-rc));
		return rc;
	}
	/* Link state is followed for a named interface only. */
	if (cfg->iface && strcmp(cfg->iface, "any")) {
		struct ifreq ifr;

		snprintf(pc->ifname, sizeof(pc->ifname), "%s", cfg->iface);
		memset(&ifr, 0, sizeof(ifr));
		memcpy(ifr.ifr_name, pc->ifname, sizeof(ifr.ifr_name));
		pc->hatype = ioctl(pc->sfd, SIOCGIFHWADDR, &ifr) == 0
				     ? ifr.ifr_hwaddr.sa_family
				     : -1;
	}
	pc->promisc = cfg->promisc;
	return 0;
}

static int pc_open(struct cap_handle **h, const struct cap_config *cfg,
		   char *err, size_t errlen)
{
	struct pc *pc;
	int rc;

	*h = NULL;
	if (cfg->file) {
		snprintf(err, errlen,
			 "%s: the pcap backend captures live "
			 "(files: the file reader)",
			 cfg->file);
		return -EINVAL;
	}
	pc = calloc(1, sizeof(*pc));
	if (!pc) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pc->efd = -1;
	pc->sfd = -1;
	pc->hatype = -1;
	pcapbase_init(&pc->b, cfg->iface ? cfg->iface : "any");
	pthread_mutex_init(&pc->stats_lock, NULL);
	rc = pc_activate(pc, cfg, err, errlen);
	if (rc)
		goto fail;
	if (pc->ifname[0])
		pc->b.cp =
			cap_compile_handle(pc->ifname, pcap_snapshot(pc->b.p),
					   pcap_datalink(pc->b.p));
	rc = pcapbase_ready(&pc->b, &cap_pcap_ops, err, errlen);
	if (rc)
		goto fail;
	pc->link = CAP_LINK_UP;
	*h = &pc->b.base;
	return 0;
fail:
	pc_free(pc);
	return rc;
}

/*
 * A live "any" frame's bytes as its own interface carries it, as the
 * tpacket3 backend and a capture on that interface count it: libpcap
 * replaces the device's link header by a cooked one (LINUX_SLL 16 bytes,
 * SLL2 20) in front of the network packet. Ethernet, veth and loopback
 * devices carry a 14-byte Ethernet header; devices without a link header
 * (tunnels, PPP, raw IP) none; for other device types, whose header
 * length we do not know, the cooked length stays.
 */
static uint32_t pc_cooked_wirelen(int dlt, const u_char *bytes,
				  const struct pcap_pkthdr *ph)
{
	uint32_t hdr = dlt == DLT_LINUX_SLL ? 16 : 20;
	uint32_t off = dlt == DLT_LINUX_SLL ? 2 : 8;
	uint32_t dev;
	uint16_t hatype;

	if (ph->caplen < hdr || ph->len < hdr)
		return ph->len;
	hatype = (uint16_t)(bytes[off] << 8 | bytes[off + 1]);
	switch (hatype) {
	case ARPHRD_ETHER:
	case ARPHRD_LOOPBACK:
		dev = 14;
		break;
	case ARPHRD_NONE:
	case ARPHRD_PPP:
	case ARPHRD_IPGRE:
	case ARPHRD_TUNNEL:
	case ARPHRD_TUNNEL6:
	case ARPHRD_SIT:
	case 519: /* ARPHRD_RAWIP */
	case 823: /* ARPHRD_IP6GRE */
		dev = 0;
		break;
	default:
		return ph->len;
	}
	return ph->len - hdr + dev;
}

/* libpcap's callback, live: the frame, its wire length as its own
 * interface carries it. */
static void pc_callback(u_char *u, const struct pcap_pkthdr *ph,
			const u_char *bytes)
{
	struct pcapbase_ctx *c = (struct pcapbase_ctx *)u;
	struct cap_pkt pkt;

	pcapbase_pkt(c->b, ph, bytes, &pkt);
	if (pkt.dlt == DLT_LINUX_SLL || pkt.dlt == DLT_LINUX_SLL2)
		pkt.wirelen = pc_cooked_wirelen(pkt.dlt, bytes, ph);
	pcapbase_deliver(c, &pkt);
}

/*
 * Interface state by name, through the capture socket (so the lookup
 * happens in the socket's network namespace).
 */
static enum cap_link pc_probe_link(struct pc *pc)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, pc->ifname, sizeof(ifr.ifr_name));
	if (ioctl(pc->sfd, SIOCGIFFLAGS, &ifr) < 0)
		return errno == ENODEV || errno == ENXIO
			       ? CAP_LINK_GONE
			       : (enum cap_link)__atomic_load_n(
					 &pc->link, __ATOMIC_RELAXED);
	return ifr.ifr_flags & IFF_UP ? CAP_LINK_UP : CAP_LINK_DOWN;
}

/* How often a removed interface is looked for by name. */
#define PC_PROBE_MS 100

/*
 * The interface was deleted and libpcap's ring drained: if one of the
 * same name and device type exists now, bind libpcap's packet socket to
 * it, as tpacket3 does its own (the socket is in no fanout group, and a
 * bind needs no privilege, which a new pcap_activate would: it makes a
 * new socket). libpcap keeps its ring, filter and counts; it looks at
 * the interface index only to skip loopback's outgoing copies (by
 * loopback's own index) and when a poll reports an error. Promiscuous
 * mode is asked for again. 0 when bound, else -errno: not there
 * (ENODEV), another device type (EPROTOTYPE).
 */
static int pc_rebind(struct pc *pc)
{
	int idx, hatype, rc;

	rc = cap_if_query(pc->sfd, pc->ifname, &idx, &hatype);
	if (rc)
		return rc;
	if (hatype != pc->hatype)
		return -EPROTOTYPE;
	rc = cap_packet_bind(pc->sfd, idx);
	if (rc)
		return rc;
	if (pc->promisc)
		(void)cap_packet_promisc(pc->sfd, idx);
	pc->gone_ms = 0;
	__atomic_store_n(&pc->link, pc_probe_link(pc), __ATOMIC_RELAXED);
	__atomic_fetch_add(&pc->rebinds, 1, __ATOMIC_RELAXED);
	return 0;
}

/* Removed and drained: look for the interface every PC_PROBE_MS,
 * sleeping in between on the wakeup eventfd. Returns 0. */
static int pc_wait_back(struct pc *pc, int timeout_ms)
{
	if (cap_probe_due(&pc->probe_ms, PC_PROBE_MS) && pc->hatype >= 0 &&
	    pc_rebind(pc) == 0)
		return 0;
	cap_efd_wait(pc->efd, timeout_ms, PC_PROBE_MS);
	return 0;
}

/*
 * Wait in our own poll (socket + eventfd), then read what is ready.
 * Once the interface is found deleted, keep reading for two block
 * timeouts (libpcap still hands over a block the retire timer closes
 * after the delete, ignoring the errors meanwhile), then wait for one
 * of that name (pc_wait_back).
 */
static int pc_dispatch_live(struct pc *pc, struct pcapbase_ctx *ctx,
			    int timeout_ms, char *err, size_t errlen)
{
	struct pollfd pfd[2] = { { pc->sfd, POLLIN, 0 },
				 { pc->efd, POLLIN, 0 } };
	int link = __atomic_load_n(&pc->link, __ATOMIC_RELAXED);
	int n, check;

	if (link == CAP_LINK_GONE) {
		if (cap_now_ms() - pc->gone_ms > 2 * (uint64_t)pc->tov_ms + 20)
			return pc_wait_back(pc, timeout_ms);
		if (timeout_ms < 0 || timeout_ms > pc->tov_ms)
			timeout_ms = pc->tov_ms;
	}
	if (poll(pfd, 2, timeout_ms) < 0 && errno != EINTR) {
		n = -errno;
		snprintf(err, errlen, "%s: poll: %s", pc->b.name, strerror(-n));
		return n;
	}
	if (pfd[1].revents & POLLIN)
		cap_efd_drain(pc->efd);
	/* POLLERR carries ENETDOWN: libpcap consumes it in pcap_dispatch;
	 * we look at the interface ourselves afterwards. */
	check = pc->ifname[0] && ((pfd[0].revents & (POLLERR | POLLHUP)) ||
				  link == CAP_LINK_DOWN);
	if (!(pfd[0].revents & (POLLIN | POLLERR | POLLHUP)) && !check &&
	    link != CAP_LINK_GONE)
		return 0;
	n = pcapbase_read(&pc->b, ctx, pc_callback);
	if (n == PCAP_ERROR_BREAK)
		n = 0;
	if (link == CAP_LINK_GONE)
		return n > 0 ? n : 0;
	if (check || n < 0) {
		enum cap_link l =
			pc->ifname[0] ? pc_probe_link(pc) : CAP_LINK_UP;

		if (l == CAP_LINK_GONE)
			pc->gone_ms = cap_now_ms();
		__atomic_store_n(&pc->link, l, __ATOMIC_RELAXED);
		if (l == CAP_LINK_GONE)
			return n > 0 ? n : 0;
	}
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", pc->b.name,
			 pcap_geterr(pc->b.p));
		return -EIO;
	}
	return n;
}

/*
 * The worker's last call (CAP_DRAIN): read what libpcap's ring holds
 * without waiting (the handle is nonblocking), then wait once for the
 * block being filled to retire and read that too; two retire periods
 * at most, however busy the link.
 */
static int pc_drain(struct pc *pc, struct pcapbase_ctx *ctx)
{
	uint64_t end = cap_now_ms() + 2 * (uint64_t)pc->tov_ms + 20, now;
	int total = 0, waited = 0, n;

	while ((now = cap_now_ms()) < end) {
		struct pollfd pfd = { pc->sfd, POLLIN, 0 };

		n = pcapbase_read(&pc->b, ctx, pc_callback);
		if (n > 0) {
			total += n;
			continue;
		}
		if ((n < 0 && n != PCAP_ERROR_BREAK) || waited)
			break;
		waited = 1;
		if (poll(&pfd, 1, (int)(end - now)) < 0 && errno != EINTR)
			break;
	}
	return total;
}

static int pc_dispatch(struct cap_handle *h, cap_pkt_fn cb, void *user,
		       int timeout_ms, char *err, size_t errlen)
{
	struct pc *pc = pc_of(h);
	struct pcapbase_ctx ctx = { &pc->b, cb, user, 0 };

	if (timeout_ms == CAP_DRAIN)
		return pc_drain(pc, &ctx);
	return pc_dispatch_live(pc, &ctx, timeout_ms, err, errlen);
}

static void pc_wakeup(struct cap_handle *h)
{
	cap_efd_poke(pc_of(h)->efd);
}

static int pc_stats(struct cap_handle *h, struct cap_stats *st)
{
	struct pc *pc = pc_of(h);
	struct pcap_stat ps;
	int rc = 0;

	pcapbase_stats(h, st);
	pthread_mutex_lock(&pc->stats_lock);
	/* libpcap keeps running sums in 32 bits: widen by deltas. */
	if (pcap_stats(pc->b.p, &ps) == 0) {
		pc->drops += (unsigned int)(ps.ps_drop - pc->last_drop);
		pc->ifdrops += (unsigned int)(ps.ps_ifdrop - pc->last_ifdrop);
		pc->last_drop = ps.ps_drop;
		pc->last_ifdrop = ps.ps_ifdrop;
	} else {
		rc = -EIO;
	}
	st->kernel_drops = pc->drops;
	st->if_drops = pc->ifdrops;
	pthread_mutex_unlock(&pc->stats_lock);
	st->rebinds = __atomic_load_n(&pc->rebinds, __ATOMIC_RELAXED);
	return rc;
}

static enum cap_link pc_link(struct cap_handle *h)
{
	return (enum cap_link)__atomic_load_n(&pc_of(h)->link,
					      __ATOMIC_RELAXED);
}

static void pc_close(struct cap_handle *h)
{
	pc_free(pc_of(h));
}

const struct cap_ops cap_pcap_ops = {
	.name = "pcap",
	.fanout = 0,
	.vlan_stripped = 0,
	.open = pc_open,
	.datalink = pcapbase_datalink,
	.set_filter = pcapbase_set_filter,
	.set_filter_expr = pcapbase_set_filter_expr,
	.dispatch = pc_dispatch,
	.wakeup = pc_wakeup,
	.stats = pc_stats,
	.link = pc_link,
	.close = pc_close,
};
