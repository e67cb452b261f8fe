/*
 * ebpf.c - the eBPF backend: bpf/flows.bpf.c counts every frame of one
 * interface in the kernel (tc on ingress and egress, or XDP on ingress)
 * and this loader drains its flow maps into the flow table as cap_flow
 * records (cap_ops.dispatch_flows), with capture filters and named
 * counters translated from classic BPF (cbpf.c): the counters' program
 * runs after counting, adds each packet to the per-CPU slot of every
 * counter that matches, and each drain delivers their growth.
 *
 * Threads: open runs on the main thread; dispatch_flows, stats and close
 * on the capture thread (stats on any: atomics); set_filter and
 * set_counters on any other thread (serialised by filt_lock and
 * ctr_lock against the drain); wakeup only writes an eventfd.
 *
 * Exactness: each drain flips the generation the programs write to, waits
 * until every CPU has left the programs that may still write the old
 * generation's table (flows.h, the enter/exit counts), then reads the
 * slots its marks say are live through the mappings and clears the marks
 * (flows.h): no count is read twice or lost, idle flows leave the table at
 * every drain, the reader never writes the lines the programs write, and
 * a drain costs the flows there are plus a word per FL_MARK_SLOTS slots.
 * Each flip sizes the generation it starts from the flows the
 * last one took (twice their slots and more, within the map): few flows
 * keep the programs' working set in the caches and the drain's scan
 * short; more flows than it holds make the drain come early (at
 * FL_FILL_PCT, the programs waking the loader through a ring buffer)
 * and the next generation larger. Overflow and the
 * malformed and loss counters are per-CPU running sums: a drain delivers
 * their growth since the previous one.
 *
 * Kernel facts (Linux 6.6+ for TCX; 5.18+ for bpf_xdp_load_bytes): TCX
 * and XDP attachments made through bpf_link live as long as the link's
 * file descriptor, so a killed process leaves nothing attached; a program
 * array only holds programs of one type (hence jmp and jmp_xdp); tc sees
 * a received VLAN tag already stripped into skb->vlan_tci.
 */
#include "capture.h"
#include "cbpf.h"
#include "ebpf.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/types.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../bpf/flows.h"
#include "flows.skel.h"

#include "../src/decode.h"
#include "../src/flowkey.h"

/* bpf/flows.h restates decode.h and flowkey.h for the BPF side. */
_Static_assert(sizeof(struct fl_key) == sizeof(struct flow_key), "key size");
_Static_assert(KIND_COUNT == FL_KIND_COUNT && KIND_OTHER == FL_KIND_OTHER &&
		       KIND_ARP == FL_KIND_ARP && KIND_TCP4 == FL_KIND_TCP4 &&
		       KIND_IP6 == FL_KIND_IP6 && KIND_ICMP6 == FL_KIND_ICMP6,
	       "kinds");
_Static_assert(DEC_ERR_COUNT == FL_ERR_COUNT &&
		       DEC_ERR_L4_TRUNC == FL_ERR_L4_TRUNC &&
		       DEC_ERR_ARP == FL_ERR_ARP &&
		       DEC_MAX_VLAN == FL_MAX_VLAN &&
		       DEC_MAX_IP6_EXT == FL_MAX_IP6_EXT,
	       "decode faults");

/* Linux 6.6 attach types, newer than Debian 12's linux/bpf.h. */
#define EBPF_TCX_INGRESS 46
#define EBPF_TCX_EGRESS 47

/* Default flow table size: the power of two of slots whose two
 * generations (slots and their marks) fit in this many bytes, within
 * these bounds. */
#define EBPF_MAP_BYTES (40u << 20)
#define EBPF_FLOWS_MIN 4096u
#define EBPF_FLOWS_MAX 262144u
/* The fewest slots a generation starts with (fewer if the map has
 * fewer): room for the new flows of 10 ms at a million a second. */
#define EBPF_GEN_MIN 32768u
/* A generation is drained this often (the UI refreshes every second),
 * or sooner once it has taken FL_FILL_PCT of the table's slots (open
 * addressing stays short below half full; flows go to the overflow
 * totals only under more new flows a second than the drains keep up
 * with): each drain clears the table, the next packet of each flow
 * claims a slot again (in the kernel) and is one record more (here), so
 * draining often costs both. */
#define EBPF_DRAIN_NS 1000000000ull
/* How often the fill is looked at between drains (in shared memory), in
 * case a wake-up was missed: the programs wake the loader when a
 * generation reaches FL_FILL_PCT (flows.h). */
#define EBPF_FILL_POLL_MS 100
/* How long a drain waits for a CPU still in the program (never seen to
 * take more than microseconds; past this, a program error is counted). */
#define EBPF_QUIESCE_NS 200000000ull

/* Named counters at once (src/counters.h COUNTERS_MAX). */
#define EBPF_MAX_COUNTERS 64

#ifndef ARPHRD_RAWIP
#define ARPHRD_RAWIP 519
#endif

/* An installed named counter: the caller's id, its slot in "ctr". */
struct eb_ctr {
	uint64_t id;
	uint32_t slot;
};

struct ebpf {
	struct cap_handle base; /* first: the handle callers hold */
	struct flows_bpf *skel;
	char name[IF_NAMESIZE];
	int ifindex;
	int xdp, raw, loopback;
	int links[2];
	int nlinks;
	int evfd;
	struct ring_buffer *wake; /* the programs' wake-ups (flows.h) */
	int jmp_fd;
	int ncpu;
	pthread_mutex_t filt_lock;
	int filter_fd;	 /* under filt_lock */
	struct pcap *cp; /* tc: a live compile handle (cap_compile_handle) */
	/* named counters: set_counters and the drain, under ctr_lock */
	pthread_mutex_t ctr_lock;
	struct eb_ctr ctrs[EBPF_MAX_COUNTERS];
	size_t nctrs;
	uint32_t next_slot;
	int ctr_fd; /* the installed counters program */
	uint64_t ctr_prev[FL_CTR_SLOTS][2];
	/* drain state: capture thread only */
	struct fl_slot *tbl; /* both generations' tables, mmapped */
	size_t tbl_len;
	uint64_t *marks; /* and their marks (flows.h) */
	size_t marks_len;
	uint32_t gmask[2]; /* each generation's slot mask when last live */
	uint64_t ovf_prev[FL_KIND_COUNT][2];
	uint64_t cnt_prev[FL_CNT_COUNT];
	int final_done;
	int armed; /* the programs count (bss armed) */
	uint64_t last_drain_ns;
	uint32_t flows; /* entries of each flow map */
	/* relaxed atomics */
	uint64_t received, map_full, prog_errors, filtered;
	int link;
};

static struct ebpf *eb_of(struct cap_handle *h)
{
	return (struct ebpf *)h;
}

/* The slot mask for a generation that should hold @flows new flows at
 * most half full: four times as many slots, within [EBPF_GEN_MIN, map]. */
static uint32_t gen_mask(const struct ebpf *e, uint64_t flows)
{
	uint64_t n = EBPF_GEN_MIN;

	while (n < 4 * flows && n < e->flows)
		n *= 2;
	if (n > e->flows)
		n = e->flows;
	return (uint32_t)n - 1;
}

static int eb_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* A wake-up read from the ring: its only news is that it came. */
static int eb_woken(void *ctx, void *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
	return 0;
}

static int64_t mono_to_real_ns(void)
{
	struct timespec r, m;

	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return ((int64_t)r.tv_sec - m.tv_sec) * 1000000000ll +
	       (r.tv_nsec - m.tv_nsec);
}

/* ARPHRD_* of @name, or -errno. */
static int if_hwtype(const char *name)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	rc = ioctl(fd, SIOCGIFHWADDR, &ifr);
	rc = rc < 0 ? -errno : ifr.ifr_hwaddr.sa_family;
	close(fd);
	return rc;
}

static void eb_free(struct ebpf *e)
{
	if (!e)
		return;
	for (int i = 0; i < e->nlinks; i++)
		close(e->links[i]);
	if (e->filter_fd >= 0)
		close(e->filter_fd);
	if (e->ctr_fd >= 0)
		close(e->ctr_fd);
	cap_compile_handle_close(e->cp);
	ring_buffer__free(e->wake);
	flows_bpf__destroy(e->skel);
	if (e->evfd >= 0)
		close(e->evfd);
	if (e->tbl)
		munmap(e->tbl, e->tbl_len);
	if (e->marks)
		munmap(e->marks, e->marks_len);
	pthread_mutex_destroy(&e->filt_lock);
	pthread_mutex_destroy(&e->ctr_lock);
	free(e);
}

static int eb_attach(struct ebpf *e, int xdp_mode, char *err, size_t errlen)
{
	struct bpf_link_create_opts lo;
	int fd;

	if (e->xdp) {
		memset(&lo, 0, sizeof(lo));
		lo.sz = sizeof(lo);
		lo.flags = xdp_mode == CAP_XDP_NATIVE	 ? XDP_FLAGS_DRV_MODE
			   : xdp_mode == CAP_XDP_GENERIC ? XDP_FLAGS_SKB_MODE
							 : 0;
		fd = bpf_link_create(bpf_program__fd(e->skel->progs.fl_xdp),
				     e->ifindex, BPF_XDP, &lo);
		if (fd < 0) {
			snprintf(err, errlen,
				 "%s: cannot attach the XDP "
				 "program%s: %s",
				 e->name,
				 xdp_mode == CAP_XDP_NATIVE ? " (native)" : "",
				 strerror(errno));
			return -errno;
		}
		e->links[e->nlinks++] = fd;
		return 0;
	}
	/* On loopback a frame leaves and comes back: count it once. */
	for (int dir = 0; dir < (e->loopback ? 1 : 2); dir++) {
		fd = bpf_link_create(
			bpf_program__fd(e->skel->progs.fl_tc), e->ifindex,
			(enum bpf_attach_type)(dir ? EBPF_TCX_EGRESS
						   : EBPF_TCX_INGRESS),
			NULL);
		if (fd < 0) {
			int saved = errno;

			snprintf(err, errlen,
				 "%s: cannot attach the tc program (TCX link, "
				 "Linux 6.6+): %s",
				 e->name, strerror(saved));
			return -saved;
		}
		e->links[e->nlinks++] = fd;
	}
	return 0;
}

/* Map the flow table and its marks; generation 0 at its least. */
static int eb_map(struct ebpf *e, char *err, size_t errlen)
{
	void *p;

	e->tbl_len = (size_t)2 * e->flows * sizeof(struct fl_slot);
	e->tbl_len = (e->tbl_len + 4095) & ~(size_t)4095;
	p = mmap(NULL, e->tbl_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		 bpf_map__fd(e->skel->maps.table), 0);
	if (p == MAP_FAILED)
		goto fail;
	e->tbl = p;
	e->marks_len = (size_t)2 * FL_MARK_WORDS(e->flows) * sizeof(uint64_t);
	e->marks_len = (e->marks_len + 4095) & ~(size_t)4095;
	p = mmap(NULL, e->marks_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		 bpf_map__fd(e->skel->maps.marks), 0);
	if (p == MAP_FAILED)
		goto fail;
	e->marks = p;
	e->gmask[0] = gen_mask(e, 0);
	e->gmask[1] = e->gmask[0];
	__atomic_store_n(&e->skel->bss->gstate, (uint64_t)e->gmask[0] << 32,
			 __ATOMIC_SEQ_CST);
	return 0;
fail:
	snprintf(err, errlen, "ebpf: cannot map the flow table: %s",
		 strerror(errno));
	return -errno;
}

static int eb_open(struct cap_handle **h, const struct cap_config *cfg,
		   char *err, size_t errlen)
{
	struct ebpf *e;
	int rc, hw;
	uint32_t flows = cfg->bpf_flows;

	*h = NULL;
	if (!cfg->iface) {
		snprintf(err, errlen,
			 "the ebpf backend needs an interface (-i IFACE)");
		return -EINVAL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	e->evfd = -1;
	e->filter_fd = -1;
	e->jmp_fd = -1;
	e->ctr_fd = -1;
	pthread_mutex_init(&e->filt_lock, NULL);
	pthread_mutex_init(&e->ctr_lock, NULL);
	snprintf(e->name, sizeof(e->name), "%s", cfg->iface);
	e->ifindex = (int)if_nametoindex(cfg->iface);
	if (!e->ifindex) {
		cap_err_no_device(cfg->iface, err, errlen);
		rc = -ENODEV;
		goto fail;
	}
	hw = if_hwtype(cfg->iface);
	switch (hw) {
	case ARPHRD_ETHER:
		break;
	case ARPHRD_LOOPBACK:
		e->loopback = 1;
		break;
	case ARPHRD_NONE:
	case ARPHRD_RAWIP:
		e->raw = 1;
		break;
	default:
		snprintf(err, errlen,
			 "%s: link type %d is not supported by the ebpf "
			 "backend (Ethernet or raw IP)",
			 e->name, hw);
		rc = -ENOTSUP;
		goto fail;
	}
	e->xdp = cfg->xdp != 0;
	if (e->xdp && e->raw) {
		snprintf(err, errlen, "%s: XDP needs an Ethernet device",
			 e->name);
		rc = -ENOTSUP;
		goto fail;
	}
	e->ncpu = libbpf_num_possible_cpus();
	if (e->ncpu <= 0 || e->ncpu > FL_MAX_CPUS) {
		snprintf(err, errlen, "ebpf: %d CPUs (1 to %d supported)",
			 e->ncpu, FL_MAX_CPUS);
		rc = -ENOTSUP;
		goto fail;
	}
	if (!flows) {
		/* a slot in each generation */
		flows = EBPF_FLOWS_MAX;
		while (flows > EBPF_FLOWS_MIN &&
		       (size_t)flows * 2 * sizeof(struct fl_slot) +
				       2 * FL_MARK_WORDS((size_t)flows) *
					       sizeof(uint64_t) >
			       EBPF_MAP_BYTES)
			flows /= 2;
	}
	/* a power of two (the probe wraps with a mask), at most as asked */
	while (flows & (flows - 1))
		flows &= flows - 1;
	if (flows < 16)
		flows = 16;
	e->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (e->evfd < 0) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	libbpf_set_print(eb_quiet);
	e->skel = flows_bpf__open();
	if (!e->skel) {
		rc = -errno;
		snprintf(err, errlen, "ebpf: cannot open the BPF object: %s",
			 strerror(errno));
		goto fail;
	}
	e->skel->rodata->cfg_link = e->raw ? FL_LINK_RAW : FL_LINK_ETH;
	e->flows = flows;
	e->skel->rodata->cfg_mask = flows - 1;
	if (getrandom((void *)&e->skel->rodata->cfg_seed,
		      sizeof(e->skel->rodata->cfg_seed),
		      0) != (ssize_t)sizeof(e->skel->rodata->cfg_seed))
		e->skel->rodata->cfg_seed = (uint64_t)mono_to_real_ns();
	bpf_map__set_max_entries(e->skel->maps.table, 2 * flows);
	bpf_map__set_max_entries(e->skel->maps.marks, 2 * FL_MARK_WORDS(flows));
	bpf_program__set_autoload(e->skel->progs.fl_tc, !e->xdp);
	bpf_program__set_autoload(e->skel->progs.fl_tc_count, !e->xdp);
	bpf_program__set_autoload(e->skel->progs.fl_xdp, e->xdp);
	bpf_program__set_autoload(e->skel->progs.fl_xdp_count, e->xdp);
	rc = flows_bpf__load(e->skel);
	if (rc) {
		snprintf(err, errlen,
			 "ebpf: the kernel refused the BPF programs: %s%s",
			 strerror(-rc),
			 rc == -EPERM ? " (needs CAP_BPF, CAP_NET_ADMIN and "
					"CAP_PERFMON, or root)"
				      : "");
		goto fail;
	}
	rc = eb_map(e, err, errlen);
	if (rc)
		goto fail;
	e->wake = ring_buffer__new(bpf_map__fd(e->skel->maps.wake), eb_woken,
				   NULL, NULL);
	if (!e->wake) {
		rc = -errno;
		snprintf(err, errlen, "ebpf: wake-up ring: %s",
			 strerror(errno));
		goto fail;
	}
	{
		uint32_t slot = FL_JMP_COUNT;
		int pfd = bpf_program__fd(e->xdp ? e->skel->progs.fl_xdp_count
						 : e->skel->progs.fl_tc_count);

		e->jmp_fd = bpf_map__fd(e->xdp ? e->skel->maps.jmp_xdp
					       : e->skel->maps.jmp);
		if (bpf_map_update_elem(e->jmp_fd, &slot, &pfd, BPF_ANY)) {
			rc = -errno;
			snprintf(err, errlen, "ebpf: program array: %s",
				 strerror(errno));
			goto fail;
		}
	}
	/* tc sees a received VLAN tag in the skb's metadata, as a packet
	 * socket does: filters and counters compiled as libpcap does for a
	 * live handle (their 'vlan' reads it), while we have the privileges
	 * to activate one. XDP sees the frame as it came: compiled for it. */
	if (!e->xdp)
		e->cp = cap_compile_handle(e->name, 65535, e->raw ? 12 : 1);
	rc = eb_attach(e, cfg->xdp, err, errlen);
	if (rc)
		goto fail;
	e->link = CAP_LINK_UP;
	e->base.ops = &cap_ebpf_ops;
	*h = &e->base;
	return 0;
fail:
	eb_free(e);
	return rc;
}

static int eb_datalink(struct cap_handle *h)
{
	/* DLT_EN10MB (1) or DLT_RAW (12): what the filter is compiled for */
	return eb_of(h)->raw ? 12 : 1;
}

/* Load a translated program of @n instructions; fd or -errno. */
static int load_prog(const char *name, const struct cbpf_ebpf *insns, size_t n,
		     int xdp, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_prog_load_opts, po);
	char log[512];
	int fd;

	log[0] = '\0';
	po.log_buf = log;
	po.log_size = sizeof(log);
	po.log_level = 0;
	if (xdp)
		po.expected_attach_type = BPF_XDP;
	fd = bpf_prog_load(xdp ? BPF_PROG_TYPE_XDP : BPF_PROG_TYPE_SCHED_CLS,
			   name, "Dual BSD/GPL", (const struct bpf_insn *)insns,
			   n, &po);
	if (fd < 0) {
		int saved = errno;

		/* retry with the verifier's log for the message */
		po.log_level = 1;
		log[0] = '\0';
		fd = bpf_prog_load(
			xdp ? BPF_PROG_TYPE_XDP : BPF_PROG_TYPE_SCHED_CLS, name,
			"Dual BSD/GPL", (const struct bpf_insn *)insns, n, &po);
		if (fd >= 0)
			return fd;
		for (char *p = log; *p; p++)
			if (*p == '\n')
				*p = ' ';
		snprintf(err, errlen,
			 "%s: the kernel refused its translation: "
			 "%s%s%.200s",
			 strcmp(name, "pktstat_filter") ? "counters" : "filter",
			 strerror(saved), log[0] ? ": " : "", log);
		return -saved;
	}
	return fd;
}

static int eb_set_filter(struct cap_handle *h, const struct bpf_program *prog,
			 char *err, size_t errlen)
{
	struct ebpf *e = eb_of(h);
	uint32_t slot = FL_JMP_FILTER;
	const struct cbpf_insn *in;
	struct cbpf_ebpf *out = NULL;
	size_t n, nout;
	int fd = -1, rc = 0, old;

	if (prog) {
		n = cap_prog_insns(prog, &in);
		rc = cbpf_translate(in, n, e->xdp ? CBPF_XDP : CBPF_TC,
				    e->jmp_fd, FL_JMP_COUNT, &out, &nout, err,
				    errlen);
		if (rc)
			return rc;
		fd = load_prog("pktstat_filter", out, nout, e->xdp, err,
			       errlen);
		free(out);
		if (fd < 0)
			return fd;
	}
	pthread_mutex_lock(&e->filt_lock);
	/* One map write: each packet runs the old filter or the new one. */
	if (fd >= 0)
		rc = bpf_map_update_elem(e->jmp_fd, &slot, &fd, BPF_ANY);
	else if (e->filter_fd >= 0)
		rc = bpf_map_delete_elem(e->jmp_fd, &slot);
	if (rc) {
		rc = -errno;
		pthread_mutex_unlock(&e->filt_lock);
		snprintf(err, errlen, "%s: cannot install the filter: %s",
			 e->name, strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	old = e->filter_fd;
	e->filter_fd = fd;
	/* the engine sets the filter (or none) right after open: the
	 * programs count from here, never a frame the filter did not see */
	__atomic_store_n(&e->skel->bss->armed, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&e->filt_lock);
	if (old >= 0)
		close(old);
	return 0;
}

/* Compiled as the programs see the frame (the compile handle's program,
 * whose 'vlan' reads the skb's tag, for tc), then as set_filter. */
static int eb_set_filter_expr(struct cap_handle *h, const char *expr, char *err,
			      size_t errlen)
{
	struct ebpf *e = eb_of(h);
	struct bpf_program *prog;
	int rc;

	if (!expr || !*expr)
		return eb_set_filter(h, NULL, err, errlen);
	prog = cap_compile_new(e->cp, eb_datalink(h), expr, err, errlen);
	if (!prog)
		return -EINVAL;
	rc = eb_set_filter(h, prog, err, errlen);
	cap_prog_free(prog);
	return rc;
}

/* The slot of counter @id in the installed set, or -1. */
static int64_t ctr_slot_of(const struct ebpf *e, uint64_t id)
{
	for (size_t i = 0; i < e->nctrs; i++)
		if (e->ctrs[i].id == id)
			return e->ctrs[i].slot;
	return -1;
}

/*
 * Slots for @c: a counter already installed keeps its own; a new one
 * takes the next slot in turn that neither set uses (the old program
 * still writes the old set's until the swap), so a slot given up comes
 * back only after many more changes.
 */
static void ctr_assign(struct ebpf *e, const struct cap_counter *c, size_t n,
		       struct eb_ctr *nc, uint8_t *fresh)
{
	uint8_t used[FL_CTR_SLOTS];

	memset(used, 0, sizeof(used));
	for (size_t i = 0; i < e->nctrs; i++)
		used[e->ctrs[i].slot] = 1;
	for (size_t i = 0; i < n; i++) {
		int64_t s = ctr_slot_of(e, c[i].id);

		nc[i].id = c[i].id;
		fresh[i] = s < 0;
		if (s >= 0)
			nc[i].slot = (uint32_t)s;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t s;

		if (!fresh[i])
			continue;
		do
			s = e->next_slot++ % FL_CTR_SLOTS;
		while (used[s]);
		used[s] = 1;
		nc[i].slot = s;
	}
}

static int eb_set_counters(struct cap_handle *h, const struct cap_counter *c,
			   size_t n, char *err, size_t errlen)
{
	struct ebpf *e = eb_of(h);
	struct bpf_program **progs = NULL;
	struct cbpf_counter *cc = NULL;
	struct eb_ctr nc[EBPF_MAX_COUNTERS];
	uint8_t fresh[EBPF_MAX_COUNTERS];
	struct cbpf_ebpf *out = NULL;
	uint64_t *zero = NULL;
	size_t nout, failed = 0;
	uint32_t slot = FL_JMP_COUNTERS;
	int fd = -1, old, rc = 0;
	char why[256];

	if (n > EBPF_MAX_COUNTERS) {
		snprintf(err, errlen, "counters: at most %d in the kernel",
			 EBPF_MAX_COUNTERS);
		return -ENOSPC;
	}
	progs = calloc(n ? n : 1, sizeof(*progs));
	cc = calloc(n ? n : 1, sizeof(*cc));
	zero = calloc((size_t)e->ncpu, sizeof(struct fl_ctr));
	if (!progs || !cc || !zero) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	ctr_assign(e, c, n, nc, fresh);
	for (size_t i = 0; i < n; i++) {
		/* for the frame as on the wire, as tpacket3's counters:
		 * the program puts a stripped tag back (cbpf.h) */
		progs[i] = cap_compile_new(NULL, eb_datalink(h), c[i].expr, why,
					   sizeof(why));
		if (!progs[i]) {
			snprintf(err, errlen, "counter '%.80s': %s", c[i].expr,
				 why);
			rc = -EINVAL;
			goto out;
		}
		cc[i].n = cap_prog_insns(progs[i], &cc[i].insns);
		cc[i].slot = nc[i].slot;
	}
	if (n) {
		rc = cbpf_translate_counters(
			cc, n, e->xdp, bpf_map__fd(e->skel->maps.ctr),
			bpf_map__fd(e->skel->maps.cur), &out, &nout, &failed,
			why, sizeof(why));
		if (rc) {
			snprintf(err, errlen, "counter '%.80s': %s",
				 c[failed].expr, why);
			goto out;
		}
		fd = load_prog("pktstat_counters", out, nout, e->xdp, err,
			       errlen);
		if (fd < 0) {
			rc = fd;
			goto out;
		}
	}
	pthread_mutex_lock(&e->ctr_lock);
	/* A new counter's slot starts from 0 before any program adds to
	 * it (no program of the installed set writes it). */
	for (size_t i = 0; i < n; i++) {
		if (!fresh[i])
			continue;
		if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.ctr),
					&nc[i].slot, zero, BPF_ANY) &&
		    !rc)
			rc = -errno;
		e->ctr_prev[nc[i].slot][0] = 0;
		e->ctr_prev[nc[i].slot][1] = 0;
	}
	/* One map write: each packet runs the old set or the new one. */
	if (!rc && fd >= 0)
		rc = bpf_map_update_elem(e->jmp_fd, &slot, &fd, BPF_ANY)
			     ? -errno
			     : 0;
	else if (!rc && e->ctr_fd >= 0)
		rc = bpf_map_delete_elem(e->jmp_fd, &slot) ? -errno : 0;
	if (rc) {
		pthread_mutex_unlock(&e->ctr_lock);
		snprintf(err, errlen, "%s: cannot install the counters: %s",
			 e->name, strerror(-rc));
		goto out;
	}
	old = e->ctr_fd;
	e->ctr_fd = fd;
	fd = -1;
	memcpy(e->ctrs, nc, n * sizeof(nc[0]));
	e->nctrs = n;
	pthread_mutex_unlock(&e->ctr_lock);
	if (old >= 0)
		close(old);
out:
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; progs && i < n; i++)
		cap_prog_free(progs[i]);
	free(progs);
	free(cc);
	free(out);
	free(zero);
	return rc;
}

/* Sum one per-CPU array slot of @n u64 words per CPU into @sum. */
static int percpu_sum(int fd, uint32_t key, uint64_t *buf, int ncpu, size_t n,
		      uint64_t *sum)
{
	if (bpf_map_lookup_elem(fd, &key, buf))
		return -errno;
	memset(sum, 0, n * sizeof(*sum));
	for (int c = 0; c < ncpu; c++)
		for (size_t i = 0; i < n; i++)
			sum[i] += buf[(size_t)c * n + i];
	return 0;
}

/* Slots generation @g has claimed so far (exact once it is drained). */
static uint64_t claimed(const struct ebpf *e, int g)
{
	return __atomic_load_n(&e->skel->bss->gens[g].claimed,
			       __ATOMIC_ACQUIRE);
}

/* Whether the current generation is past FL_FILL_PCT of its slots. */
static int filling(const struct ebpf *e)
{
	uint64_t w = __atomic_load_n(&e->skel->bss->gstate, __ATOMIC_RELAXED);
	int g = (int)FL_GEN(w);

	return claimed(e, g) >= FL_FILL_SLOTS((uint64_t)e->gmask[g] + 1);
}

/*
 * Flip the generation, the new one sized for the flows the old one took
 * (four times as many when it filled: new flows come faster than that
 * size holds, one early drain instead of one a doubling), and wait until
 * no program still writes the old one; returns it.
 */
static int flip(struct ebpf *e)
{
	struct timespec t0, t;
	uint64_t w = __atomic_load_n(&e->skel->bss->gstate, __ATOMIC_RELAXED);
	int old = (int)FL_GEN(w);
	uint64_t took = claimed(e, old);

	if (took >= FL_FILL_SLOTS((uint64_t)e->gmask[old] + 1))
		took *= 4;
	/* (the new one's claimed count went to 0 at its last drain) */
	e->gmask[old ^ 1] = gen_mask(e, took);
	__atomic_store_n(&e->skel->bss->gstate,
			 (uint64_t)e->gmask[old ^ 1] << 32 | (uint32_t)(w + 1),
			 __ATOMIC_SEQ_CST);
#ifndef __SANITIZE_THREAD__
	/* the programs' side is not C11: a full barrier, whatever the
	 * compiler makes of the store (TSan builds have no fences) */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int c = 0; c < e->ncpu; c++) {
		struct fl_cpu *cc = &e->skel->bss->cpus[c];
		uint64_t in = __atomic_load_n(&cc->enter, __ATOMIC_SEQ_CST);

		while ((int64_t)(__atomic_load_n(&cc->exit, __ATOMIC_ACQUIRE) -
				 in) < 0) {
			sched_yield();
			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((uint64_t)(t.tv_sec - t0.tv_sec) * 1000000000ull +
				    (uint64_t)t.tv_nsec - (uint64_t)t0.tv_nsec >
			    EBPF_QUIESCE_NS) {
				__atomic_fetch_add(&e->prog_errors, 1,
						   __ATOMIC_RELAXED);
				break;
			}
		}
	}
	return old;
}

/* A slot's time (flows.h: 32 bits of CLOCK_MONOTONIC >> FL_TIME_SHIFT) as
 * the latest time with those low bits not after @now, in CLOCK_REALTIME
 * ns (@off: realtime - monotonic). */
static uint64_t slot_time(uint64_t now, uint32_t t, int64_t off)
{
	return ((now - (uint32_t)((uint32_t)now - t)) << FL_TIME_SHIFT) +
	       (uint64_t)off;
}

/*
 * Deliver every flow of generation @g's table, which no program writes any
 * more (flip), and clear its marks: word by word, the live slots a word
 * marks prefetched together, then read. Returns the records delivered.
 */
static int drain_map(struct ebpf *e, int g, cap_flow_fn cb, void *user)
{
	const struct fl_slot *t = e->tbl + (size_t)g * e->flows;
	uint64_t *m = e->marks + (size_t)g * FL_MARK_WORDS(e->flows);
	size_t nw = FL_MARK_WORDS((size_t)e->gmask[g] + 1);
	int64_t off = mono_to_real_ns();
	struct timespec ts;
	uint64_t got = 0, now;
	int delivered = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) >>
	      FL_TIME_SHIFT;
	for (size_t j = 0; j < nw; j++) {
		uint64_t live = __atomic_load_n(&m[j], __ATOMIC_ACQUIRE) &
				0xaaaaaaaaaaaaaaaaull; /* FL_MARK_LIVE bits */
		uint32_t idx[FL_MARK_SLOTS];
		int k = 0;

		for (uint64_t b = live; b; b &= b - 1) {
			idx[k] = (uint32_t)(j * FL_MARK_SLOTS +
					    (size_t)__builtin_ctzll(b) / 2);
			__builtin_prefetch(&t[idx[k]]);
			k++;
		}
		for (int x = 0; x < k; x++) {
			const struct fl_slot *sl = &t[idx[x]];
			struct cap_flow f;

			memset(&f, 0, sizeof(f));
			memcpy(&f.key, &sl->key, sizeof(f.key));
			f.type = CAP_FLOW_DELTA;
			for (int d = 0; d < 2; d++) {
				f.pkts[d] = FL_CNT_PKTS(sl->cnt[d]);
				f.bytes[d] = FL_CNT_BYTES(sl->cnt[d]);
			}
			f.first_ns = slot_time(now, sl->first, off);
			f.last_ns = slot_time(now, sl->last, off);
			got += f.pkts[0] + f.pkts[1];
			cb(user, &f);
			delivered++;
		}
	}
	/* (a slot claimed but never live cannot be once the CPUs have
	 * left: its claim and its live mark are one program's run) */
	memset(m, 0, nw * sizeof(*m));
	__atomic_store_n(&e->skel->bss->gens[g].claimed, 0, __ATOMIC_RELEASE);
	__atomic_fetch_add(&e->received, got, __ATOMIC_RELAXED);
	return delivered;
}

/* Deliver the growth of the overflow and malformed counters. */
static int drain_counters(struct ebpf *e, cap_flow_fn cb, void *user)
{
	uint64_t buf[2 * FL_MAX_CPUS], sum[2];
	int ofd = bpf_map__fd(e->skel->maps.ovf);
	int cfd = bpf_map__fd(e->skel->maps.cnt);
	int delivered = 0;
	struct cap_flow f;

	for (uint32_t k = 0; k < FL_KIND_COUNT; k++) {
		if (percpu_sum(ofd, k, buf, e->ncpu, 2, sum))
			continue;
		if (sum[0] == e->ovf_prev[k][0])
			continue;
		memset(&f, 0, sizeof(f));
		f.type = CAP_FLOW_OVERFLOW;
		f.key.kind = (uint8_t)k;
		f.pkts[0] = sum[0] - e->ovf_prev[k][0];
		f.bytes[0] = sum[1] - e->ovf_prev[k][1];
		e->ovf_prev[k][0] = sum[0];
		e->ovf_prev[k][1] = sum[1];
		__atomic_fetch_add(&e->received, f.pkts[0], __ATOMIC_RELAXED);
		cb(user, &f);
		delivered++;
	}
	for (uint32_t s = 1; s < FL_CNT_COUNT; s++) {
		uint64_t d;

		if (percpu_sum(cfd, s, buf, e->ncpu, 1, sum))
			continue;
		d = sum[0] - e->cnt_prev[s];
		e->cnt_prev[s] = sum[0];
		if (!d)
			continue;
		switch (s) {
		case FL_CNT_MAP_FULL:
			__atomic_fetch_add(&e->map_full, d, __ATOMIC_RELAXED);
			break;
		case FL_CNT_PROG_ERR:
			__atomic_fetch_add(&e->prog_errors, d,
					   __ATOMIC_RELAXED);
			break;
		case FL_CNT_FILTERED:
			__atomic_fetch_add(&e->filtered, d, __ATOMIC_RELAXED);
			break;
		default:
			memset(&f, 0, sizeof(f));
			f.type = CAP_FLOW_MALFORMED;
			f.err = (uint8_t)s;
			f.pkts[0] = d;
			cb(user, &f);
			delivered++;
			break;
		}
	}
	return delivered;
}

/* Deliver the growth of each named counter since the last drain. */
static int drain_ctrs(struct ebpf *e, cap_flow_fn cb, void *user)
{
	uint64_t buf[2 * FL_MAX_CPUS], sum[2];
	int fd = bpf_map__fd(e->skel->maps.ctr), delivered = 0;
	struct cap_flow f;

	pthread_mutex_lock(&e->ctr_lock);
	for (size_t i = 0; i < e->nctrs; i++) {
		uint64_t *prev = e->ctr_prev[e->ctrs[i].slot];

		if (percpu_sum(fd, e->ctrs[i].slot, buf, e->ncpu, 2, sum) ||
		    (sum[0] == prev[0] && sum[1] == prev[1]))
			continue;
		memset(&f, 0, sizeof(f));
		f.type = CAP_FLOW_COUNTER;
		f.counter = e->ctrs[i].id;
		f.pkts[0] = sum[0] - prev[0];
		f.bytes[0] = sum[1] - prev[1];
		prev[0] = sum[0];
		prev[1] = sum[1];
		cb(user, &f);
		delivered++;
	}
	pthread_mutex_unlock(&e->ctr_lock);
	return delivered;
}

static enum cap_link eb_probe_link(struct ebpf *e)
{
	char name[IF_NAMESIZE];
	struct ifreq ifr;
	int fd, up = 1;

	if (!if_indextoname((unsigned)e->ifindex, name))
		return CAP_LINK_GONE;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
		if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0)
			up = !!(ifr.ifr_flags & IFF_UP);
		close(fd);
	}
	return up ? CAP_LINK_UP : CAP_LINK_DOWN;
}

static int eb_dispatch_flows(struct cap_handle *h, cap_flow_fn cb, void *user,
			     int timeout_ms, char *err, size_t errlen)
{
	struct ebpf *e = eb_of(h);
	struct pollfd pfd[2] = {
		{ .fd = e->evfd, .events = POLLIN },
		{ .fd = ring_buffer__epoll_fd(e->wake), .events = POLLIN },
	};
	enum cap_link l;
	struct timespec ts;
	uint64_t now;
	int n = 0;

	if (timeout_ms == CAP_FLOWS_FINAL) {
		if (e->final_done)
			return 0;
		/* Detach, then drain both generations: the second flip
		 * waits out a program that saw the first one. */
		for (int i = 0; i < e->nlinks; i++)
			close(e->links[i]);
		e->nlinks = 0;
		e->final_done = 1;
		for (int i = 0; i < 2; i++) {
			n += drain_map(e, flip(e), cb, user);
		}
		n += drain_counters(e, cb, user);
		return n + drain_ctrs(e, cb, user);
	}
	/* the capture starts: the programs count, if no filter was set
	 * (set_filter arms them as soon as one is in) */
	if (!e->armed) {
		__atomic_store_n(&e->skel->bss->armed, 1, __ATOMIC_SEQ_CST);
		e->armed = 1;
	}
	/* wait in short steps, looking at the map's fill */
	for (int waited = 0;;) {
		int step = timeout_ms - waited < EBPF_FILL_POLL_MS
				   ? timeout_ms - waited
				   : EBPF_FILL_POLL_MS;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (uint64_t)ts.tv_sec * 1000000000ull +
		      (uint64_t)ts.tv_nsec;
		if (now - e->last_drain_ns >= EBPF_DRAIN_NS || filling(e))
			break;
		if (step <= 0)
			return 0;
		if (poll(pfd, 2, step) > 0) {
			if (pfd[1].revents) {
				/* a generation filled: look again now */
				if (ring_buffer__consume(e->wake) < 0)
					waited += step; /* (never spin) */
				continue;
			}
			cap_efd_drain(e->evfd);
			return 0; /* woken: the caller looks at its stop flag */
		}
		waited += step;
	}
	e->last_drain_ns = now;
	n = drain_map(e, flip(e), cb, user);
	n += drain_counters(e, cb, user) + drain_ctrs(e, cb, user);
	l = eb_probe_link(e);
	__atomic_store_n(&e->link, (int)l, __ATOMIC_RELAXED);
	if (l == CAP_LINK_GONE) {
		snprintf(err, errlen, "%s: interface gone", e->name);
		return -ENODEV;
	}
	return n;
}

static void eb_wakeup(struct cap_handle *h)
{
	cap_efd_poke(eb_of(h)->evfd);
}

static int eb_stats(struct cap_handle *h, struct cap_stats *st)
{
	struct ebpf *e = eb_of(h);

	memset(st, 0, sizeof(*st));
	st->received = __atomic_load_n(&e->received, __ATOMIC_RELAXED);
	st->map_full = __atomic_load_n(&e->map_full, __ATOMIC_RELAXED);
	st->prog_errors = __atomic_load_n(&e->prog_errors, __ATOMIC_RELAXED);
	st->filtered = __atomic_load_n(&e->filtered, __ATOMIC_RELAXED);
	return 0;
}

static enum cap_link eb_link(struct cap_handle *h)
{
	return (enum cap_link)__atomic_load_n(&eb_of(h)->link,
					      __ATOMIC_RELAXED);
}

static void eb_close(struct cap_handle *h)
{
	eb_free(eb_of(h));
}

const struct cap_ops cap_ebpf_ops = {
	.name = "ebpf",
	.fanout = 0,
	.vlan_stripped = 0,
	.open = eb_open,
	.datalink = eb_datalink,
	.set_filter = eb_set_filter,
	.set_filter_expr = eb_set_filter_expr,
	.dispatch = NULL,
	.dispatch_flows = eb_dispatch_flows,
	.set_counters = eb_set_counters,
	.wakeup = eb_wakeup,
	.stats = eb_stats,
	.link = eb_link,
	.close = eb_close,
};

int ebpf_filter_load_test(const struct bpf_program *prog, int xdp, char *err,
			  size_t errlen)
{
	const struct cbpf_insn *in;
	struct cbpf_ebpf *out;
	size_t n = cap_prog_insns(prog, &in), nout;
	int rc;

	libbpf_set_print(eb_quiet);
	rc = cbpf_translate(in, n, xdp ? CBPF_TEST_XDP : CBPF_TEST, -1, 0, &out,
			    &nout, err, errlen);
	if (rc)
		return rc;
	rc = load_prog("pktstat_filter", out, nout, xdp, err, errlen);
	free(out);
	return rc;
}

int ebpf_filter_run_test(int fd, const uint8_t *data, uint32_t caplen,
			 uint32_t wirelen)
{
	struct __sk_buff ctx;
	LIBBPF_OPTS(bpf_test_run_opts, to);
	struct bpf_prog_info info;
	uint32_t ilen = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen))
		return -errno;
	to.data_in = data;
	to.data_size_in = caplen;
	to.repeat = 1;
	if (info.type == BPF_PROG_TYPE_SCHED_CLS) {
		memset(&ctx, 0, sizeof(ctx));
		ctx.wire_len = wirelen > caplen ? wirelen : caplen;
		to.ctx_in = &ctx;
		to.ctx_size_in = sizeof(ctx);
	}
	if (bpf_prog_test_run_opts(fd, &to))
		return -errno;
	return to.retval != 0;
}
