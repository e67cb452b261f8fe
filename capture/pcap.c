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
 *
 * Files are read ahead by a thread of their own (struct pc_ra, started by
 * the first dispatch, so after the privilege drop): it runs libpcap - two
 * freads a record, the kernel's copies - and fills blocks of records the
 * capture thread decodes, on the other core. Reading was half the cost
 * of `-r`. It takes op_lock per batch of records as dispatch did.
 */
#include "capture.h"
#include "mem.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Interrupts the read-ahead's read() on a pipe at close (ra_free); only
 * that thread unblocks it. */
#define PC_KICK_SIG (SIGRTMIN + 5)

/* Frames per dispatch: bounds the time the worker holds rcu_read_lock. */
#define PC_BATCH 1024

struct pc {
	struct cap_handle base; /* first: the handle callers hold */
	pcap_t *p;
	int live;
	int efd; /* wakeup eventfd, live only */
	int sfd; /* selectable fd, live only */
	int dlt;
	int nano;		   /* timestamps are in ns (else us) */
	char name[256];		   /* interface or file, for error lines */
	char ifname[IFNAMSIZ];	   /* "" for any / offline */
	struct bpf_program accept; /* "" compiled: set_filter(NULL) */
	pcap_t *cp;		   /* live: cap_compile_handle, or NULL */
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
	struct pc_ra *ra;  /* the file's read-ahead, once started */
	int ra_failed;	   /* it could not start: read in dispatch */
	int stream;	   /* offline input is a pipe or socket (-r -) */
	int woken;	   /* atomic: a wakeup before the read-ahead ran */
};

/*
 * Read-ahead blocks: RA_BLOCKS of RA_BLOCK bytes, filled in turn by the
 * reader and consumed in the same order by dispatch; head and tail count
 * blocks filled and consumed (head - tail are full). A record is a
 * struct ra_rec and its bytes, 8-aligned; a block ends where @used says.
 * A block holds any record: libpcap refuses captures over 256 KiB.
 */
#define RA_BLOCKS 4
#define RA_BLOCK (512 * 1024)
struct ra_rec {
	uint64_t ts_ns; /* pc_ts_ns */
	uint32_t caplen, wirelen;
};
#define RA_REC_SIZE(caplen) \
	((sizeof(struct ra_rec) + (caplen) + 7) & ~(size_t)7)
#define RA_REC_MAX RA_REC_SIZE(262144)
_Static_assert(RA_REC_MAX <= RA_BLOCK, "a block holds any record");

struct pc_ra {
	pthread_t tid;
	pthread_mutex_t lock;
	pthread_cond_t freed; /* a block was consumed, or stop */
	char *mem;	      /* RA_BLOCKS blocks */
	size_t used[RA_BLOCKS];
	uint64_t head, tail; /* under lock */
	int done;	     /* under lock: 1 the end, -1 a read error */
	int stop;	     /* under lock: close wants the reader gone */
	int wake;	     /* atomic: wakeup asked dispatch to return */
	int efd;	     /* eventfd: a block filled, the end, or wakeup */
	char err[PCAP_ERRBUF_SIZE + 300];
	char *blk;     /* reader only: the block being filled ... */
	size_t fill;   /* ... and its bytes so far */
	uint64_t nrec; /* reader only: records read */
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

static void ra_free(struct pc *pc);

static void pc_free(struct pc *pc)
{
	if (!pc)
		return;
	ra_free(pc);
	if (pc->p)
		pcap_close(pc->p); /* closes the FILE: then its buffer */
	free(pc->fbuf);
	if (pc->efd >= 0)
		close(pc->efd);
	pcap_freecode(&pc->accept);
	if (pc->cp)
		pcap_close(pc->cp);
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

/* 1 MiB reads: stdio's 4 KiB default makes a large file cost hundreds of
 * times as many read calls. */
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
	{
		struct stat st;

		pc->stream =
			fstat(fileno(fp), &st) == 0 && !S_ISREG(st.st_mode);
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
	if (pc->live && pc->ifname[0])
		pc->cp = cap_compile_handle(pc->ifname, pcap_snapshot(pc->p),
					    pc->dlt);
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
	pc->base.ops = &cap_pcap_ops;
	*h = &pc->base;
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

/* Live, the filter compiled as for our own handle, on the compile handle:
 * compiling on pc->p would race with dispatch, or stall it under op_lock
 * for as long as a huge expression takes. libpcap puts stripped VLAN
 * tags back in the frames it hands us, so nothing else is needed. */
static int pc_set_filter_expr(struct cap_handle *h, const char *expr, char *err,
			      size_t errlen)
{
	struct pc *pc = pc_of(h);
	struct bpf_program prog;
	int rc;

	if (!expr || !*expr)
		return pc_set_filter(h, NULL, err, errlen);
	rc = pc->cp ? cap_compile_on(pc->cp, expr, &prog, err, errlen)
		    : cap_compile(pc->dlt, pcap_snapshot(pc->p), expr, &prog,
				  err, errlen);
	if (rc)
		return rc;
	rc = pc_set_filter(h, &prog, err, errlen);
	pcap_freecode(&prog);
	return rc;
}

/*
 * A record's time in ns since the epoch. A pcap record holds its seconds
 * in 32 bits, unsigned in the format's specification, but libpcap reads
 * them as a signed bpf_int32: a time at or after 2^31 s (2038-01-19)
 * arrives negative and is its value plus 2^32. Anything else negative
 * (a 64-bit pcapng time before 1970) and a negative fraction count as 0.
 */
static uint64_t pc_ts_ns(const struct pc *pc, const struct pcap_pkthdr *ph)
{
	int64_t sec = (int64_t)ph->ts.tv_sec;

	if (sec < 0 && sec >= INT32_MIN)
		sec += (int64_t)1 << 32;
	if (sec < 0 || ph->ts.tv_usec < 0)
		return 0;
	return (uint64_t)sec * 1000000000u +
	       (uint64_t)ph->ts.tv_usec * (pc->nano ? 1 : 1000);
}

/* Wake whoever polls the eventfd @fd. */
static void efd_poke(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is already non-zero, a wake pends */
	}
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

	pkt.ts_ns = pc_ts_ns(c->pc, ph);
	if (c->pc->live &&
	    (pkt.dlt == DLT_LINUX_SLL || pkt.dlt == DLT_LINUX_SLL2))
		pkt.wirelen = pc_cooked_wirelen(pkt.dlt, bytes, ph);
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
	if (ctx->delivered) /* end of batch: libpcap's buffer still holds it */
		ctx->cb(ctx->user, NULL);
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

/*
 * Live, the worker's last call (CAP_DRAIN): read what libpcap's ring
 * holds without waiting (the handle is nonblocking), then wait once for
 * the block being filled to retire and read that too; two retire
 * periods at most, however busy the link.
 */
static int pc_drain(struct pc *pc, struct pc_ctx *ctx)
{
	uint64_t end = pc_now_ms() + 2 * (uint64_t)pc->tov_ms + 20, now;
	int total = 0, waited = 0, n;

	while ((now = pc_now_ms()) < end) {
		struct pollfd pfd = { pc->sfd, POLLIN, 0 };

		n = pc_read(pc, ctx);
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

/*
 * The line for a file libpcap could not read to the end, @frames records
 * in: says what was not counted, for the report's "not exact" reason.
 * libpcap 1.10 reads later pcapng sections, but not a link type other
 * than the first interface's (a second interface, or a section from
 * another capture joined by cat): that is "unsupported".
 */
static void pc_file_error(struct pc *pc, uint64_t frames, char *err,
			  size_t errlen)
{
	const char *msg = pcap_geterr(pc->p);

	if (strstr(msg, "truncated"))
		snprintf(err, errlen,
			 "%s: file truncated after %" PRIu64 " frames (%s)",
			 pc->name, frames, msg);
	else if (strstr(msg, "different from the") || strstr(msg, "section"))
		snprintf(err, errlen,
			 "%s: unsupported second section or interface after "
			 "%" PRIu64 " frames (%s)",
			 pc->name, frames, msg);
	else
		snprintf(err, errlen,
			 "%s: read failed after %" PRIu64 " frames (%s)",
			 pc->name, frames, msg);
}

/* ---- read-ahead of files ------------------------------------------------ */

/* The block being filled is dispatch's now. Under ra->lock. */
static void ra_publish(struct pc_ra *ra)
{
	ra->used[ra->head % RA_BLOCKS] = ra->fill;
	ra->head++;
}

/* Hand the block being filled over to dispatch and take the next free
 * one, waiting for it. 0, or 1 if close asked the reader to stop. */
static int ra_next_block(struct pc_ra *ra)
{
	int stop;

	pthread_mutex_lock(&ra->lock);
	ra_publish(ra);
	while (ra->head - ra->tail == RA_BLOCKS && !ra->stop)
		pthread_cond_wait(&ra->freed, &ra->lock);
	stop = ra->stop;
	ra->blk = ra->mem + (ra->head % RA_BLOCKS) * RA_BLOCK;
	ra->fill = 0;
	pthread_mutex_unlock(&ra->lock);
	efd_poke(ra->efd);
	return stop;
}

/*
 * Whether the stream has bytes ready: in stdio's buffer (glibc's FILE
 * fields; elsewhere assume none) or in the descriptor. Reader only.
 */
static int ra_more_ready(struct pc *pc)
{
	FILE *fp = pcap_file(pc->p);
	struct pollfd pfd;

	if (!fp)
		return 0;
#ifdef __GLIBC__
	if (fp->_IO_read_ptr < fp->_IO_read_end)
		return 1;
#endif
	pfd.fd = fileno(fp);
	pfd.events = POLLIN;
	pfd.revents = 0;
	return poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN);
}

/* libpcap's callback in the reader: append the record to the block. */
static void ra_callback(u_char *u, const struct pcap_pkthdr *ph,
			const u_char *bytes)
{
	struct pc *pc = (struct pc *)u;
	struct pc_ra *ra = pc->ra;
	size_t need = RA_REC_SIZE(ph->caplen);
	struct ra_rec rec = { pc_ts_ns(pc, ph), ph->caplen, ph->len };

	if (ra->fill + need > RA_BLOCK && ra_next_block(ra)) {
		pcap_breakloop(pc->p);
		return;
	}
	memcpy(ra->blk + ra->fill, &rec, sizeof(rec));
	memcpy(ra->blk + ra->fill + sizeof(rec), bytes, ph->caplen);
	ra->fill += need;
	ra->nrec++;
	/* A pipe whose writer pauses (tcpdump -U over ssh): the next read
	 * would wait, so hand the records read so far over now rather
	 * than when the block is full. */
	if (pc->stream && !ra_more_ready(pc) && ra_next_block(ra))
		pcap_breakloop(pc->p);
}

/* The reader: batches of records into blocks, then the end. */
static void *ra_main(void *arg)
{
	struct pc *pc = arg;
	struct pc_ra *ra = pc->ra;
	int n, stop;

	ra->blk = ra->mem;
	if (pc->stream) {
		/* only this thread takes the kick (ra_free) */
		sigset_t kick;

		sigemptyset(&kick);
		sigaddset(&kick, PC_KICK_SIG);
		pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	}
	do {
		pthread_mutex_lock(&pc->op_lock);
		n = pcap_dispatch(pc->p, PC_BATCH, ra_callback, (u_char *)pc);
		if (n == PCAP_ERROR)
			pc_file_error(pc, ra->nrec, ra->err, sizeof(ra->err));
		pthread_mutex_unlock(&pc->op_lock);
		pthread_mutex_lock(&ra->lock);
		stop = ra->stop;
		pthread_mutex_unlock(&ra->lock);
		/* a break without a stop is an old wakeup's flag (set before
		 * this reader ran): it is spent, read on */
	} while (!stop && (n > 0 || n == PCAP_ERROR_BREAK));
	if (stop)
		n = PCAP_ERROR_BREAK;
	/* the end (0), a read error, or a stop: the last, partial block,
	 * then the verdict */
	pthread_mutex_lock(&ra->lock);
	if (ra->fill)
		ra_publish(ra);
	ra->done = n == PCAP_ERROR ? -1 : 1;
	pthread_mutex_unlock(&ra->lock);
	efd_poke(ra->efd);
	return NULL;
}

/* Start the reader: 0, or -errno (dispatch then reads the file itself). */
static void pc_kick_handler(int sig)
{
	(void)sig; /* only to interrupt the reader's read() */
}

static int ra_start(struct pc *pc)
{
	struct pc_ra *ra = calloc(1, sizeof(*ra));
	int rc = -ENOMEM;

	pc->ra_failed = 1;
	if (!ra)
		return rc;
	ra->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	/* one huge page: no page fault per 4 KiB of the blocks */
	ra->mem = mem_alloc_big((size_t)RA_BLOCKS * RA_BLOCK, 1);
	if (ra->efd < 0 || !ra->mem)
		goto fail;
	if (pc->stream) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = pc_kick_handler; /* no SA_RESTART: EINTR */
		sigemptyset(&sa.sa_mask);
		sigaction(PC_KICK_SIG, &sa, NULL);
	}
	pthread_mutex_init(&ra->lock, NULL);
	pthread_cond_init(&ra->freed, NULL);
	__atomic_store_n(&pc->ra, ra, __ATOMIC_RELEASE);
	rc = -pthread_create(&ra->tid, NULL, ra_main, pc);
	if (rc) {
		__atomic_store_n(&pc->ra, NULL, __ATOMIC_RELAXED);
		pthread_cond_destroy(&ra->freed);
		pthread_mutex_destroy(&ra->lock);
		goto fail;
	}
	pc->ra_failed = 0;
	return 0;
fail:
	if (ra->efd >= 0)
		close(ra->efd);
	mem_free_big(ra->mem, (size_t)RA_BLOCKS * RA_BLOCK);
	free(ra);
	return rc;
}

/* Stop and join the reader, free its blocks. Capture thread (close). */
static void ra_free(struct pc *pc)
{
	struct pc_ra *ra = pc->ra;

	if (!ra)
		return;
	pthread_mutex_lock(&ra->lock);
	ra->stop = 1;
	pthread_cond_broadcast(&ra->freed);
	pthread_mutex_unlock(&ra->lock);
	/* A reader waiting in read() on a pipe whose writer is still there
	 * would keep us until the writer closes: kick it out of the read
	 * (EINTR), again until it has gone (a kick just before its read
	 * would be missed). */
	if (pc->stream) {
		struct timespec t;

		for (;;) {
			pthread_kill(ra->tid, PC_KICK_SIG);
			clock_gettime(CLOCK_REALTIME, &t);
			t.tv_nsec += 10 * 1000000;
			if (t.tv_nsec >= 1000000000) {
				t.tv_sec++;
				t.tv_nsec -= 1000000000;
			}
			if (pthread_timedjoin_np(ra->tid, NULL, &t) == 0)
				break;
		}
	} else {
		pthread_join(ra->tid, NULL);
	}
	pc->ra = NULL;
	close(ra->efd);
	pthread_cond_destroy(&ra->freed);
	pthread_mutex_destroy(&ra->lock);
	mem_free_big(ra->mem, (size_t)RA_BLOCKS * RA_BLOCK);
	free(ra);
}

/*
 * Deliver one filled block: wait for it up to @timeout_ms (or a wakeup).
 * Frames delivered, 0, CAP_EOF, or -EIO with the reader's line in @err.
 */
static int ra_dispatch(struct pc *pc, struct pc_ctx *ctx, int timeout_ms,
		       char *err, size_t errlen)
{
	struct pc_ra *ra = pc->ra;
	struct pollfd pfd = { ra->efd, POLLIN, 0 };
	const char *blk, *end;
	uint64_t v;
	int done;

	for (;;) {
		if (__atomic_exchange_n(&ra->wake, 0, __ATOMIC_ACQ_REL))
			return 0;
		pthread_mutex_lock(&ra->lock);
		done = ra->done;
		if (ra->head != ra->tail)
			break;
		pthread_mutex_unlock(&ra->lock);
		if (done > 0)
			return CAP_EOF;
		if (done < 0) {
			snprintf(err, errlen, "%s", ra->err);
			return -EIO;
		}
		if (poll(&pfd, 1, timeout_ms) == 0)
			return 0;
		if (read(ra->efd, &v, sizeof(v)) < 0) {
			/* EAGAIN: another look is harmless */
		}
	}
	blk = ra->mem + (ra->tail % RA_BLOCKS) * RA_BLOCK;
	end = blk + ra->used[ra->tail % RA_BLOCKS];
	pthread_mutex_unlock(&ra->lock);
	ctx->delivered = 0;
	while (blk < end) {
		struct ra_rec rec;
		struct cap_pkt pkt = {
			.data = (const uint8_t *)blk + sizeof(rec),
			.dlt = pc->dlt,
			.vlan_tci = -1, /* libpcap re-inserts stripped tags */
		};

		memcpy(&rec, blk, sizeof(rec));
		pkt.caplen = rec.caplen;
		pkt.wirelen = rec.wirelen;
		pkt.ts_ns = rec.ts_ns;
		ctx->delivered++;
		ctx->cb(ctx->user, &pkt);
		blk += RA_REC_SIZE(rec.caplen);
	}
	if (ctx->delivered) /* end of batch, before the block goes back */
		ctx->cb(ctx->user, NULL);
	__atomic_fetch_add(&pc->received, ctx->delivered, __ATOMIC_RELAXED);
	pthread_mutex_lock(&ra->lock);
	ra->tail++;
	pthread_cond_signal(&ra->freed);
	pthread_mutex_unlock(&ra->lock);
	return (int)ctx->delivered;
}

static int pc_dispatch(struct cap_handle *h, cap_pkt_fn cb, void *user,
		       int timeout_ms, char *err, size_t errlen)
{
	struct pc *pc = pc_of(h);
	struct pc_ctx ctx = { pc, cb, user, 0 };
	int n;

	if (timeout_ms == CAP_DRAIN) /* a file stops where it is */
		return pc->live ? pc_drain(pc, &ctx) : 0;
	if (pc->live)
		return pc_dispatch_live(pc, &ctx, timeout_ms, err, errlen);
	if (__atomic_exchange_n(&pc->woken, 0, __ATOMIC_ACQ_REL))
		return 0;
	if (pc->ra || (!pc->ra_failed && ra_start(pc) == 0))
		return ra_dispatch(pc, &ctx, timeout_ms, err, errlen);
	n = pc_read(pc, &ctx);
	if (n == PCAP_ERROR_BREAK) /* wakeup during a long filtered run */
		return 0;
	if (n == 0)
		return CAP_EOF;
	if (n < 0) {
		pc_file_error(pc,
			      __atomic_load_n(&pc->received, __ATOMIC_RELAXED),
			      err, errlen);
		return -EIO;
	}
	return n;
}

static void pc_wakeup(struct cap_handle *h)
{
	struct pc *pc = pc_of(h);

	if (!pc->live) {
		struct pc_ra *ra = __atomic_load_n(&pc->ra, __ATOMIC_ACQUIRE);

		if (ra) {
			/* dispatch waits on the eventfd */
			__atomic_store_n(&ra->wake, 1, __ATOMIC_RELEASE);
			efd_poke(ra->efd);
			return;
		}
		/* Not started (or never will): the next dispatch returns
		 * at once; a file read without the read-ahead never waits,
		 * but one dispatch may scan far through frames the filter
		 * rejects: stop that scan. This only sets flags. */
		__atomic_store_n(&pc->woken, 1, __ATOMIC_RELEASE);
		pcap_breakloop(pc->p);
		return;
	}
	efd_poke(pc->efd);
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
	.fanout = 0,
	.vlan_stripped = 0,
	.open = pc_open,
	.datalink = pc_datalink,
	.set_filter = pc_set_filter,
	.set_filter_expr = pc_set_filter_expr,
	.dispatch = pc_dispatch,
	.wakeup = pc_wakeup,
	.stats = pc_stats,
	.link = pc_link,
	.close = pc_close,
};
