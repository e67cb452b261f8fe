/*
 * pcapfile.c - the file reader: pcap/pcapng files (or stdin, "-") read
 * through libpcap, ahead of the capture thread. Live capture is pcap.c;
 * what both share (the handle, filters, batch reads) is pcapbase.c.
 *
 * Threads: open, dispatch and close run in the capture thread (open may
 * run on the main thread before it starts); set_filter from any thread,
 * serialised with the reads on the base's op_lock (pcapbase.h). wakeup
 * only sets flags and writes an eventfd: signal-safe.
 *
 * The file is read ahead by a thread of its own (struct pf_ra, started by
 * the first dispatch, so after the privilege drop): it runs libpcap - two
 * freads a record, the kernel's copies - and fills blocks of records the
 * capture thread decodes, on the other core. It takes op_lock per batch
 * of records. If it cannot start, dispatch reads the file itself.
 */
#include "pcapbase.h"
#include "mem.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Interrupts the read-ahead's read() on a pipe at close (ra_free); only
 * that thread unblocks it. */
#define PF_KICK_SIG (SIGRTMIN + 5)

struct pf {
	struct pcapbase b; /* first: the handle callers hold */
	char *fbuf;	   /* the file's stdio buffer */
	struct pf_ra *ra;  /* the read-ahead, once started */
	int ra_failed;	   /* it could not start: read in dispatch */
	int stream;	   /* the input is a pipe or socket (-r -) */
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
	uint64_t ts_ns; /* pcapbase_ts_ns */
	uint32_t caplen, wirelen;
};
#define RA_REC_SIZE(caplen) \
	((sizeof(struct ra_rec) + (caplen) + 7) & ~(size_t)7)
#define RA_REC_MAX RA_REC_SIZE(262144)
_Static_assert(RA_REC_MAX <= RA_BLOCK, "a block holds any record");

struct pf_ra {
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

static struct pf *pf_of(struct cap_handle *h)
{
	return (struct pf *)h;
}

static void ra_free(struct pf *pf);

static void pf_free(struct pf *pf)
{
	if (!pf)
		return;
	ra_free(pf);
	pcapbase_destroy(&pf->b); /* closes the FILE: then its buffer */
	free(pf->fbuf);
	free(pf);
}

/* 1 MiB reads: stdio's 4 KiB default makes a large file cost hundreds of
 * times as many read calls. */
#define PF_FILE_BUF (1 << 20)

static int pf_open_file(struct pf *pf, const char *file, char *err,
			size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	size_t flen = strlen(file);
	struct stat st;
	FILE *fp = stdin;

	/* Our own FILE, for a large buffer: libpcap reads each record with
	 * two freads, and the default 4 KiB buffer made a read() every 60
	 * small packets. glibc takes the size only with the buffer itself:
	 * setvbuf(fp, NULL, _IOFBF, size) keeps 4 KiB. */
	errno = 0;
	if (strcmp(file, "-")) {
		fp = fopen(file, "rb");
		if (!fp) {
			int e = errno;

			snprintf(err, errlen, "%s: %s", file, strerror(e));
			return -(e == ENOENT || e == EACCES || e == EISDIR
					 ? e
					 : EINVAL);
		}
	}
	pf->stream = fstat(fileno(fp), &st) == 0 && !S_ISREG(st.st_mode);
	pf->fbuf = malloc(PF_FILE_BUF);
	if (pf->fbuf)
		setvbuf(fp, pf->fbuf, _IOFBF, PF_FILE_BUF);
	/* One thread reads it at a time (under op_lock): no lock in each of
	 * the two freads a packet. */
	__fsetlocking(fp, FSETLOCKING_BYCALLER);
	/* Asking for ns makes libpcap scale us files up, not ns ones down. */
	pf->b.p = pcap_fopen_offline_with_tstamp_precision(
		fp, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (!pf->b.p && fp != stdin)
		fclose(fp);
	if (!pf->b.p) {
		int e = errno == ENOENT || errno == EACCES || errno == EISDIR
				? errno
				: EINVAL;

		/* libpcap names the file in some messages, not in others. */
		if (!strncmp(ebuf, file, flen) && ebuf[flen] == ':')
			snprintf(err, errlen, "%s", ebuf);
		else
			snprintf(err, errlen, "%s: %s", pf->b.name, ebuf);
		return -e;
	}
	return 0;
}

static int pf_open(struct cap_handle **h, const struct cap_config *cfg,
		   char *err, size_t errlen)
{
	struct pf *pf;
	int rc;

	*h = NULL;
	if (!cfg->file) {
		snprintf(err, errlen, "the file reader needs a file");
		return -EINVAL;
	}
	pf = calloc(1, sizeof(*pf));
	if (!pf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pcapbase_init(&pf->b, strcmp(cfg->file, "-") ? cfg->file : "stdin");
	rc = pf_open_file(pf, cfg->file, err, errlen);
	if (!rc)
		rc = pcapbase_ready(&pf->b, &cap_pcapfile_ops, err, errlen);
	if (rc) {
		pf_free(pf);
		return rc;
	}
	*h = &pf->b.base;
	return 0;
}

/*
 * The line for a file libpcap could not read to the end, @frames records
 * in: says what was not counted, for the report's "not exact" reason.
 * libpcap 1.10 reads later pcapng sections, but not a link type other
 * than the first interface's (a second interface, or a section from
 * another capture joined by cat): that is "unsupported".
 */
static void pf_file_error(struct pf *pf, uint64_t frames, char *err,
			  size_t errlen)
{
	const char *msg = pcap_geterr(pf->b.p);

	if (strstr(msg, "truncated"))
		snprintf(err, errlen,
			 "%s: file truncated after %" PRIu64 " frames (%s)",
			 pf->b.name, frames, msg);
	else if (strstr(msg, "different from the") || strstr(msg, "section"))
		snprintf(err, errlen,
			 "%s: unsupported second section or interface after "
			 "%" PRIu64 " frames (%s)",
			 pf->b.name, frames, msg);
	else
		snprintf(err, errlen,
			 "%s: read failed after %" PRIu64 " frames (%s)",
			 pf->b.name, frames, msg);
}

/* ---- read-ahead ---------------------------------------------------------- */

/* The block being filled is dispatch's now. Under ra->lock. */
static void ra_publish(struct pf_ra *ra)
{
	ra->used[ra->head % RA_BLOCKS] = ra->fill;
	ra->head++;
}

/* Hand the block being filled over to dispatch and take the next free
 * one, waiting for it. 0, or 1 if close asked the reader to stop. */
static int ra_next_block(struct pf_ra *ra)
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
	cap_efd_poke(ra->efd);
	return stop;
}

/*
 * Whether the stream has bytes ready: in stdio's buffer (glibc's FILE
 * fields; elsewhere assume none) or in the descriptor. Reader only.
 */
static int ra_more_ready(struct pf *pf)
{
	FILE *fp = pcap_file(pf->b.p);
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
	struct pf *pf = (struct pf *)u;
	struct pf_ra *ra = pf->ra;
	size_t need = RA_REC_SIZE(ph->caplen);
	struct ra_rec rec = { pcapbase_ts_ns(&pf->b, ph), ph->caplen, ph->len };

	if (ra->fill + need > RA_BLOCK && ra_next_block(ra)) {
		pcap_breakloop(pf->b.p);
		return;
	}
	memcpy(ra->blk + ra->fill, &rec, sizeof(rec));
	memcpy(ra->blk + ra->fill + sizeof(rec), bytes, ph->caplen);
	ra->fill += need;
	ra->nrec++;
	/* A pipe whose writer pauses (tcpdump -U over ssh): the next read
	 * would wait, so hand the records read so far over now rather
	 * than when the block is full. */
	if (pf->stream && !ra_more_ready(pf) && ra_next_block(ra))
		pcap_breakloop(pf->b.p);
}

/* The reader: batches of records into blocks, then the end. */
static void *ra_main(void *arg)
{
	struct pf *pf = arg;
	struct pf_ra *ra = pf->ra;
	int n, stop;

	ra->blk = ra->mem;
	if (pf->stream) {
		/* only this thread takes the kick (ra_free) */
		sigset_t kick;

		sigemptyset(&kick);
		sigaddset(&kick, PF_KICK_SIG);
		pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	}
	do {
		pthread_mutex_lock(&pf->b.op_lock);
		n = pcap_dispatch(pf->b.p, PCAPBASE_BATCH, ra_callback,
				  (u_char *)pf);
		if (n == PCAP_ERROR)
			pf_file_error(pf, ra->nrec, ra->err, sizeof(ra->err));
		pthread_mutex_unlock(&pf->b.op_lock);
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
	cap_efd_poke(ra->efd);
	return NULL;
}

static void pf_kick_handler(int sig)
{
	(void)sig; /* only to interrupt the reader's read() */
}

/* Start the reader: 0, or -errno (dispatch then reads the file itself). */
static int ra_start(struct pf *pf)
{
	struct pf_ra *ra = calloc(1, sizeof(*ra));
	int rc = -ENOMEM;

	pf->ra_failed = 1;
	if (!ra)
		return rc;
	ra->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	/* one huge page: no page fault per 4 KiB of the blocks */
	ra->mem = mem_alloc_big((size_t)RA_BLOCKS * RA_BLOCK, 1);
	if (ra->efd < 0 || !ra->mem)
		goto fail;
	if (pf->stream) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = pf_kick_handler; /* no SA_RESTART: EINTR */
		sigemptyset(&sa.sa_mask);
		sigaction(PF_KICK_SIG, &sa, NULL);
	}
	pthread_mutex_init(&ra->lock, NULL);
	pthread_cond_init(&ra->freed, NULL);
	__atomic_store_n(&pf->ra, ra, __ATOMIC_RELEASE);
	rc = -pthread_create(&ra->tid, NULL, ra_main, pf);
	if (rc) {
		__atomic_store_n(&pf->ra, NULL, __ATOMIC_RELAXED);
		pthread_cond_destroy(&ra->freed);
		pthread_mutex_destroy(&ra->lock);
		goto fail;
	}
	pf->ra_failed = 0;
	return 0;
fail:
	if (ra->efd >= 0)
		close(ra->efd);
	mem_free_big(ra->mem, (size_t)RA_BLOCKS * RA_BLOCK);
	free(ra);
	return rc;
}

/* Stop and join the reader, free its blocks. Capture thread (close). */
static void ra_free(struct pf *pf)
{
	struct pf_ra *ra = pf->ra;

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
	if (pf->stream) {
		struct timespec t;

		for (;;) {
			pthread_kill(ra->tid, PF_KICK_SIG);
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
	pf->ra = NULL;
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
static int ra_dispatch(struct pf *pf, struct pcapbase_ctx *ctx, int timeout_ms,
		       char *err, size_t errlen)
{
	struct pf_ra *ra = pf->ra;
	struct pollfd pfd = { ra->efd, POLLIN, 0 };
	const char *blk, *end;
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
		cap_efd_drain(ra->efd); /* another look is harmless */
	}
	blk = ra->mem + (ra->tail % RA_BLOCKS) * RA_BLOCK;
	end = blk + ra->used[ra->tail % RA_BLOCKS];
	pthread_mutex_unlock(&ra->lock);
	ctx->delivered = 0;
	while (blk < end) {
		struct ra_rec rec;
		struct cap_pkt pkt = {
			.data = (const uint8_t *)blk + sizeof(rec),
			.dlt = pf->b.dlt,
			.vlan_tci = -1, /* libpcap re-inserts stripped tags */
		};

		memcpy(&rec, blk, sizeof(rec));
		pkt.caplen = rec.caplen;
		pkt.wirelen = rec.wirelen;
		pkt.ts_ns = rec.ts_ns;
		pcapbase_deliver(ctx, &pkt);
		blk += RA_REC_SIZE(rec.caplen);
	}
	if (ctx->delivered) /* end of batch, before the block goes back */
		ctx->cb(ctx->user, NULL);
	__atomic_fetch_add(&pf->b.received, ctx->delivered, __ATOMIC_RELAXED);
	pthread_mutex_lock(&ra->lock);
	ra->tail++;
	pthread_cond_signal(&ra->freed);
	pthread_mutex_unlock(&ra->lock);
	return (int)ctx->delivered;
}

static int pf_dispatch(struct cap_handle *h, cap_pkt_fn cb, void *user,
		       int timeout_ms, char *err, size_t errlen)
{
	struct pf *pf = pf_of(h);
	struct pcapbase_ctx ctx = { &pf->b, cb, user, 0 };
	int n;

	if (timeout_ms == CAP_DRAIN) /* a file stops where it is */
		return 0;
	if (__atomic_exchange_n(&pf->woken, 0, __ATOMIC_ACQ_REL))
		return 0;
	if (pf->ra || (!pf->ra_failed && ra_start(pf) == 0))
		return ra_dispatch(pf, &ctx, timeout_ms, err, errlen);
	n = pcapbase_read(&pf->b, &ctx, pcapbase_handler);
	if (n == PCAP_ERROR_BREAK) /* wakeup during a long filtered run */
		return 0;
	if (n == 0)
		return CAP_EOF;
	if (n < 0) {
		pf_file_error(
			pf, __atomic_load_n(&pf->b.received, __ATOMIC_RELAXED),
			err, errlen);
		return -EIO;
	}
	return n;
}

static void pf_wakeup(struct cap_handle *h)
{
	struct pf *pf = pf_of(h);
	struct pf_ra *ra = __atomic_load_n(&pf->ra, __ATOMIC_ACQUIRE);

	if (ra) {
		/* dispatch waits on the eventfd */
		__atomic_store_n(&ra->wake, 1, __ATOMIC_RELEASE);
		cap_efd_poke(ra->efd);
		return;
	}
	/* Not started (or never will): the next dispatch returns at once;
	 * a file read without the read-ahead never waits, but one dispatch
	 * may scan far through frames the filter rejects: stop that scan.
	 * This only sets flags. */
	__atomic_store_n(&pf->woken, 1, __ATOMIC_RELEASE);
	pcap_breakloop(pf->b.p);
}

static void pf_close(struct cap_handle *h)
{
	pf_free(pf_of(h));
}

/* Named "pcap" as the live backend: reports name the library that read
 * the frames. Not in the by-name table (backends.c): -r chooses it. */
const struct cap_ops cap_pcapfile_ops = {
	.name = "pcap",
	.fanout = 0,
	.vlan_stripped = 0,
	.open = pf_open,
	.datalink = pcapbase_datalink,
	.set_filter = pcapbase_set_filter,
	.set_filter_expr = pcapbase_set_filter_expr,
	.dispatch = pf_dispatch,
	.wakeup = pf_wakeup,
	.stats = pcapbase_stats,
	.close = pf_close,
};
