/*
 * pcap.c - the libpcap backend: live capture through pcap_create and
 * offline reading of pcap/pcapng files (or stdin).
 *
 * Threads: open, dispatch and close run in the capture thread (open may
 * run on the main thread before it starts). A pcap_t is not thread-safe,
 * and libpcap's Linux reader re-runs the filter in user space after a
 * pcap_setfilter (reading the program a concurrent swap frees), so
 * dispatch and set_filter serialise on op_lock: one lock per dispatch
 * call (a batch of up to PC_BATCH frames), never one per packet; a swap
 * waits at most for one batch. pcap_stats touches only libpcap's own
 * counters, not the read path, so stats takes a separate lock. wakeup
 * only writes an eventfd: signal-safe.
 *
 * Live handles run in non-blocking mode: dispatch waits in its own poll on
 * the selectable fd and the eventfd, so wakeup works on every libpcap
 * version, and then reads what is ready.
 */
#include "capture.h"

#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* Frames per dispatch: bounds the time the worker holds rcu_read_lock. */
#define PC_BATCH 1024

struct pc {
	pcap_t *p;
	int live;
	int efd; /* wakeup eventfd, live only */
	int sfd; /* selectable fd, live only */
	int dlt;
	int nano;		   /* timestamps are in ns (else us) */
	char name[256];		   /* interface or file, for error lines */
	char ifname[IFNAMSIZ];	   /* "" for any / offline */
	struct bpf_program accept; /* "" compiled: set_filter(NULL) */
	pthread_mutex_t op_lock;   /* dispatch vs set_filter */
	pthread_mutex_t stats_lock;
	/* Under stats_lock: 64-bit sums of libpcap's 32-bit counters. */
	unsigned int last_drop, last_ifdrop;
	uint64_t drops, ifdrops;
	uint64_t received; /* atomic: written by dispatch */
	int link;	   /* atomic enum cap_link */
	int tov_ms;	   /* block timeout, live */
	uint64_t gone_ms;  /* when the interface was found deleted */
	char *fbuf;	   /* the file's stdio buffer, offline */
};

/* Per-dispatch context for the libpcap callback. */
struct pc_ctx {
	const struct pc *pc;
	cap_pkt_fn cb;
	void *user;
	uint64_t delivered; /* frames handed over in this pcap_dispatch */
};

static struct pc *pc_of(struct cap_handle *h)
{
	return (struct pc *)h;
}

static void pc_free(struct pc *pc)
{
	if (!pc)
		return;
	if (pc->p)
		pcap_close(pc->p); /* closes the FILE: then its buffer */
	free(pc->fbuf);
	if (pc->efd >= 0)
		close(pc->efd);
	pcap_freecode(&pc->accept);
	pthread_mutex_destroy(&pc->op_lock);
	pthread_mutex_destroy(&pc->stats_lock);
	free(pc);
}

/* Map a failed pcap_activate to one line and an errno. */
static int pc_activate_error(struct pc *pc, int rc, char *err, size_t errlen)
{
	const char *msg = pcap_geterr(pc->p);

	switch (rc) {
	case PCAP_ERROR_NO_SUCH_DEVICE:
		cap_err_no_device(pc->name, err, errlen);
		return -ENODEV;
	case PCAP_ERROR_PERM_DENIED:
		snprintf(err, errlen,
			 "cannot open a packet socket: permission denied (run "
			 "as root, or: setcap cap_net_raw,cap_net_admin=eip "
			 "$(command -v pktstat))");
		return -EPERM;
	case PCAP_ERROR_PROMISC_PERM_DENIED:
		snprintf(err, errlen,
			 "%s: no permission to enter promiscuous mode",
			 pc->name);
		return -EPERM;
	case PCAP_ERROR_IFACE_NOT_UP:
		/* libpcap refuses to activate on a down interface and a
		 * failed pcap_t cannot be re-activated: report it. (Once
		 * open, going down and up again is followed by dispatch.) */
		snprintf(err, errlen, "%s: interface is down", pc->name);
		return -ENETDOWN;
#ifdef PCAP_ERROR_CAPTURE_NOTSUP /* libpcap 1.10.5+ */
	case PCAP_ERROR_CAPTURE_NOTSUP:
		snprintf(err, errlen, "%s: capture not supported: %s", pc->name,
			 msg);
		return -EOPNOTSUPP;
#endif
	default:
		snprintf(err, errlen, "%s: %s", pc->name,
			 msg && *msg ? msg : pcap_statustostr(rc));
		return -EIO;
	}
}

static int pc_open_live(struct pc *pc, const struct cap_config *cfg, char *err,
			size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	int rc;

	pc->live = 1;
	pc->p = pcap_create(cfg->iface ? cfg->iface : "any", ebuf);
	if (!pc->p) {
		snprintf(err, errlen, "%s: %s", pc->name, ebuf);
		return -EIO;
	}
	pcap_set_snaplen(pc->p, cfg->snaplen > 0 ? cfg->snaplen : 65535);
	pcap_set_promisc(pc->p, cfg->promisc ? 1 : 0);
	if (cfg->bufsize_mb > 0)
		pcap_set_buffer_size(pc->p, cfg->bufsize_mb < 2048
						    ? cfg->bufsize_mb << 20
						    : INT_MAX);
	pc->tov_ms = cfg->block_timeout_ms > 0 ? cfg->block_timeout_ms : 50;
	pcap_set_timeout(pc->p, pc->tov_ms);
	pcap_set_immediate_mode(pc->p, 0);
	/* Best effort: fails only where the platform cannot do it. */
	pcap_set_tstamp_precision(pc->p, PCAP_TSTAMP_PRECISION_NANO);
	rc = pcap_activate(pc->p);
	if (rc < 0)
		return pc_activate_error(pc, rc, err, errlen);
	/* rc > 0 is a warning (e.g. no promiscuous mode on "any"). */
	if (pcap_setnonblock(pc->p, 1, ebuf)) {
		snprintf(err, errlen, "%s: %s", pc->name, ebuf);
		return -EIO;
	}
	pc->sfd = pcap_get_selectable_fd(pc->p);
	if (pc->sfd < 0) {
		snprintf(err, errlen, "%s: no selectable descriptor", pc->name);
		return -EOPNOTSUPP;
	}
	pc->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pc->efd < 0) {
		rc = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(-rc));
		return rc;
	}
	/* Link state is followed for a named interface only. */
	if (cfg->iface && strcmp(cfg->iface, "any"))
		snprintf(pc->ifname, sizeof(pc->ifname), "%s", cfg->iface);
	return 0;
}

/* 1 MiB: reading a cached 80 MB file took 34 ms in 4 KiB reads, 15 ms in
 * 1 MiB ones. */
#define PC_FILE_BUF (1 << 20)

static int pc_open_file(struct pc *pc, const struct cap_config *cfg, char *err,
			size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	size_t flen = strlen(cfg->file);

	FILE *fp = stdin;

	/* Our own FILE, for a large buffer: libpcap reads each record with
	 * two freads, and the default 4 KiB buffer made a read() every 60
	 * small packets. glibc takes the size only with the buffer itself:
	 * setvbuf(fp, NULL, _IOFBF, size) keeps 4 KiB. */
	errno = 0;
	if (strcmp(cfg->file, "-")) {
		fp = fopen(cfg->file, "rb");
		if (!fp) {
			int e = errno;

			snprintf(err, errlen, "%s: %s", cfg->file, strerror(e));
			return -(e == ENOENT || e == EACCES || e == EISDIR
					 ? e
					 : EINVAL);
		}
	}
	pc->fbuf = malloc(PC_FILE_BUF);
	if (pc->fbuf)
		setvbuf(fp, pc->fbuf, _IOFBF, PC_FILE_BUF);
	/* One thread reads it (the worker, through libpcap): no lock in
	 * each of the two freads a packet. */
	__fsetlocking(fp, FSETLOCKING_BYCALLER);
	/* Asking for ns makes libpcap scale us files up, not ns ones down. */
	pc->p = pcap_fopen_offline_with_tstamp_precision(
		fp, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (!pc->p && fp != stdin)
		fclose(fp);
	if (!pc->p) {
		int e = errno == ENOENT || errno == EACCES || errno == EISDIR
				? errno
				: EINVAL;

		/* libpcap names the file in some messages, not in others. */
		if (!strncmp(ebuf, cfg->file, flen) && ebuf[flen] == ':')
			snprintf(err, errlen, "%s", ebuf);
		else
			snprintf(err, errlen, "%s: %s", pc->name, ebuf);
		return -e;
	}
	return 0;
}

static int pc_open(struct cap_handle **h, const struct cap_config *cfg,
		   char *err, size_t errlen)
{
	struct pc *pc = calloc(1, sizeof(*pc));
	int rc;

	*h = NULL;
	if (!pc) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pc->efd = -1;
	pc->sfd = -1;
	pthread_mutex_init(&pc->op_lock, NULL);
	pthread_mutex_init(&pc->stats_lock, NULL);
	if (cfg->file)
		snprintf(pc->name, sizeof(pc->name), "%s",
			 strcmp(cfg->file, "-") ? cfg->file : "stdin");
	else
		snprintf(pc->name, sizeof(pc->name), "%s",
			 cfg->iface ? cfg->iface : "any");
	rc = cfg->file ? pc_open_file(pc, cfg, err, errlen)
		       : pc_open_live(pc, cfg, err, errlen);
	if (rc)
		goto fail;
	pc->dlt = pcap_datalink(pc->p);
	pc->nano =
		pcap_get_tstamp_precision(pc->p) == PCAP_TSTAMP_PRECISION_NANO;
	/* accept-all, built by hand: one "ret #snaplen" instruction (libpcap's
	 * compiler is not safe when an allocation fails inside it) */
	pc->accept.bf_insns = malloc(sizeof(*pc->accept.bf_insns));
	if (!pc->accept.bf_insns) {
		snprintf(err, errlen, "%s: out of memory", pc->name);
		rc = -ENOMEM;
		goto fail;
	}
	pc->accept.bf_len = 1;
	pc->accept.bf_insns[0] =
		(struct bpf_insn){ BPF_RET | BPF_K, 0, 0,
				   (bpf_u_int32)pcap_snapshot(pc->p) };
	pc->link = CAP_LINK_UP;
	*h = (struct cap_handle *)pc;
	return 0;
fail:
	pc_free(pc);
	return rc;
}

static int pc_datalink(struct cap_handle *h)
{
	return pc_of(h)->dlt;
}

static int pc_set_filter(struct cap_handle *h, const struct bpf_program *prog,
			 char *err, size_t errlen)
{
	struct pc *pc = pc_of(h);
	int rc = 0;

	pthread_mutex_lock(&pc->op_lock);
	/* pcap_setfilter copies the program; its pointer is not const. */
	if (pcap_setfilter(pc->p,
			   prog ? (struct bpf_program *)prog : &pc->accept)) {
		snprintf(err, errlen, "%s: %s", pc->name, pcap_geterr(pc->p));
		rc = -EINVAL;
	}
	pthread_mutex_unlock(&pc->op_lock);
	return rc;
}

static void pc_callback(u_char *u, const struct pcap_pkthdr *ph,
			const u_char *bytes)
{
	struct pc_ctx *c = (struct pc_ctx *)u;
	struct cap_pkt pkt = {
		.data = bytes,
		.caplen = ph->caplen,
		.wirelen = ph->len,
		.dlt = c->pc->dlt,
		.vlan_tci = -1, /* libpcap re-inserts stripped tags itself */
		.ifindex = 0,
	};

	if (ph->ts.tv_sec >= 0 && ph->ts.tv_usec >= 0)
		pkt.ts_ns = (uint64_t)ph->ts.tv_sec * 1000000000u +
			    (uint64_t)ph->ts.tv_usec * (c->pc->nano ? 1 : 1000);
	c->delivered++;
	c->cb(c->user, &pkt);
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

static uint64_t pc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int pc_read(struct pc *pc, struct pc_ctx *ctx)
{
	int n;

	pthread_mutex_lock(&pc->op_lock);
	ctx->delivered = 0;
	n = pcap_dispatch(pc->p, PC_BATCH, pc_callback, (u_char *)ctx);
	pthread_mutex_unlock(&pc->op_lock);
	/* Count what the callback saw: after a read error libpcap returns
	 * -1 although it already delivered part of the batch. */
	__atomic_fetch_add(&pc->received, ctx->delivered, __ATOMIC_RELAXED);
	return n;
}

/*
 * Live: wait in our own poll (socket + eventfd), then read what is ready.
 * Once the interface is found deleted, keep reading for two block
 * timeouts (libpcap still hands over a block the retire timer closes
 * after the delete, ignoring the errors meanwhile), then report it.
 */
static int pc_dispatch_live(struct pc *pc, struct pc_ctx *ctx, int timeout_ms,
			    char *err, size_t errlen)
{
	struct pollfd pfd[2] = { { pc->sfd, POLLIN, 0 },
				 { pc->efd, POLLIN, 0 } };
	int link = __atomic_load_n(&pc->link, __ATOMIC_RELAXED);
	int n, check;

	if (link == CAP_LINK_GONE) {
		if (pc_now_ms() - pc->gone_ms > 2 * (uint64_t)pc->tov_ms + 20) {
			snprintf(err, errlen, "%s: interface removed",
				 pc->name);
			return -ENODEV;
		}
		if (timeout_ms < 0 || timeout_ms > pc->tov_ms)
			timeout_ms = pc->tov_ms;
	}
	if (poll(pfd, 2, timeout_ms) < 0 && errno != EINTR) {
		n = -errno;
		snprintf(err, errlen, "%s: poll: %s", pc->name, strerror(-n));
		return n;
	}
	if (pfd[1].revents & POLLIN) {
		uint64_t v;

		if (read(pc->efd, &v, sizeof(v)) < 0) {
			/* EAGAIN: nothing to consume. */
		}
	}
	/* POLLERR carries ENETDOWN: libpcap consumes it in pcap_dispatch;
	 * we look at the interface ourselves afterwards. */
	check = pc->ifname[0] && ((pfd[0].revents & (POLLERR | POLLHUP)) ||
				  link == CAP_LINK_DOWN);
	if (!(pfd[0].revents & (POLLIN | POLLERR | POLLHUP)) && !check &&
	    link != CAP_LINK_GONE)
		return 0;
	n = pc_read(pc, ctx);
	if (n == PCAP_ERROR_BREAK)
		n = 0;
	if (link == CAP_LINK_GONE)
		return n > 0 ? n : 0;
	if (check || n < 0) {
		enum cap_link l =
			pc->ifname[0] ? pc_probe_link(pc) : CAP_LINK_UP;

		if (l == CAP_LINK_GONE)
			pc->gone_ms = pc_now_ms();
		__atomic_store_n(&pc->link, l, __ATOMIC_RELAXED);
		if (l == CAP_LINK_GONE)
			return n > 0 ? n : 0;
	}
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", pc->name, pcap_geterr(pc->p));
		return -EIO;
	}
	return n;
}

static int pc_dispatch(struct cap_handle *h, cap_pkt_fn cb, void *user,
		       int timeout_ms, char *err, size_t errlen)
{
	struct pc *pc = pc_of(h);
	struct pc_ctx ctx = { pc, cb, user, 0 };
	int n;

	if (pc->live)
		return pc_dispatch_live(pc, &ctx, timeout_ms, err, errlen);
	n = pc_read(pc, &ctx);
	if (n == PCAP_ERROR_BREAK) /* wakeup during a long filtered run */
		return 0;
	if (n == 0)
		return CAP_EOF;
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", pc->name, pcap_geterr(pc->p));
		return -EIO;
	}
	return n;
}

static void pc_wakeup(struct cap_handle *h)
{
	struct pc *pc = pc_of(h);
	uint64_t one = 1;

	if (!pc->live) {
		/* A file read never waits, but one dispatch may scan far
		 * through frames the filter rejects: stop that scan. This
		 * only sets a flag libpcap checks per frame. */
		pcap_breakloop(pc->p);
		return;
	}
	if (write(pc->efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is already non-zero, a wake pends. */
	}
}

static int pc_stats(struct cap_handle *h, struct cap_stats *st)
{
	struct pc *pc = pc_of(h);
	struct pcap_stat ps;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	st->received = __atomic_load_n(&pc->received, __ATOMIC_RELAXED);
	if (!pc->live)
		return 0;
	pthread_mutex_lock(&pc->stats_lock);
	/* libpcap keeps running sums in 32 bits: widen by deltas. */
	if (pcap_stats(pc->p, &ps) == 0) {
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
	.open = pc_open,
	.datalink = pc_datalink,
	.set_filter = pc_set_filter,
	.dispatch = pc_dispatch,
	.wakeup = pc_wakeup,
	.stats = pc_stats,
	.link = pc_link,
	.close = pc_close,
};
