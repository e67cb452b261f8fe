/*
 * capture.h - capture backends as a table of operations (libpcap's habit).
 *
 * A backend handle belongs to one capture thread: open/dispatch/stats/close
 * are called from that thread (open may be called from the main thread
 * before the worker starts). wakeup and set_filter may be called from any
 * thread while dispatch runs.
 *
 * A handle carries its operations (libpcap's pcap-int.h habit): callers
 * hold one pointer and call the cap_* wrappers below. The backend table
 * (cap_backend) lives in backends.c, above the backends, so that the
 * helpers here (capture.c) never link back to them.
 */
#ifndef PKTSTAT_CAPTURE_H
#define PKTSTAT_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "../src/capstats.h" /* struct cap_stats */
#include "../src/flowkey.h"

struct bpf_program;
struct pcap;

/* One captured frame as handed to the per-packet callback. */
struct cap_pkt {
	const uint8_t *data;
	uint32_t caplen;    /* bytes in data */
	uint32_t wirelen;   /* original length on the wire */
	uint64_t ts_ns;	    /* packet timestamp, ns since the epoch */
	int dlt;	    /* DLT_* link type of this frame */
	int vlan_tci;	    /* VLAN TCI the kernel stripped, or -1 */
	uint16_t vlan_tpid; /* its TPID (ETH_P_8021AD...); 0: 802.1Q */
	int ifindex;	    /* receiving interface, 0 if unknown */
};

/*
 * Called for each frame, in the capture thread, inside rcu_read_lock.
 * A backend calls it once more with @pkt NULL at the end of a batch,
 * while the batch's frames are still valid (before a ring block goes back
 * to the kernel): the worker's deferred flow updates read their payload
 * then (the app sniffers). Callbacks ignore a NULL they have no use for.
 */
typedef void (*cap_pkt_fn)(void *user, const struct cap_pkt *pkt);

/*
 * What a backend that counts in the kernel (ebpf) delivers instead of
 * frames: counts that accumulated since its last delivery.
 *  CAP_FLOW_DELTA     pkts/bytes per direction of flow @key, the packet
 *                     times of the first and last of them (ns, epoch);
 *  CAP_FLOW_OVERFLOW  packets of kind key.kind that found the kernel's
 *                     flow map full (pkts[0], bytes[0]; no flow);
 *  CAP_FLOW_MALFORMED pkts[0] packets with decode fault @err (they are
 *                     also in a DELTA or OVERFLOW record);
 *  CAP_FLOW_COUNTER   pkts[0] packets, bytes[0] bytes matched named
 *                     counter @counter (the id set_counters was given).
 */
enum cap_flow_type {
	CAP_FLOW_DELTA,
	CAP_FLOW_OVERFLOW,
	CAP_FLOW_MALFORMED,
	CAP_FLOW_COUNTER,
};

struct cap_flow {
	struct flow_key key;
	uint64_t pkts[2], bytes[2]; /* [FLOW_DIR_AB], [FLOW_DIR_BA] */
	uint64_t first_ns, last_ns;
	uint64_t counter; /* CAP_FLOW_COUNTER */
	uint8_t type;	  /* enum cap_flow_type */
	uint8_t err;	  /* enum dec_err, CAP_FLOW_MALFORMED */
};

/* A named counter for a backend that counts them itself (set_counters):
 * the caller's id for it and its filter expression ("": every packet). */
struct cap_counter {
	uint64_t id;
	const char *expr;
};

/* Called for each record, in the capture thread, inside rcu_read_lock. */
typedef void (*cap_flow_fn)(void *user, const struct cap_flow *f);

/* Interface state reported by dispatch. */
enum cap_link {
	CAP_LINK_UP,
	CAP_LINK_DOWN, /* capture paused until the interface comes back */
	CAP_LINK_GONE, /* interface deleted: capture resumes on one of that
			  name when it comes (tpacket3, with fanout a
			  spare socket taking the old one's place; pcap),
			  else the worker stops */
};

/* What a backend is opened with (from the command line). */
struct cap_config {
	const char *iface;    /* NULL or "any" for all interfaces */
	const char *file;     /* pcap/pcapng path ("-" for stdin): offline */
	int snaplen;	      /* > 0 */
	int bufsize_mb;	      /* ring / buffer size per thread */
	int promisc;	      /* 1 = promiscuous */
	int add_vlan;	      /* re-insert stripped VLAN tags for decoding */
	int fanout_group;     /* PACKET_FANOUT group id, 0 = no fanout */
	int block_timeout_ms; /* TPACKET_V3 block retire timeout */
	int xdp;	      /* ebpf: CAP_XDP_* (0: tc on both directions) */
	uint32_t bpf_flows;   /* ebpf: flow map entries (0: default) */
};

/* cap_config.xdp: ingress-only XDP instead of tc, and its attach mode. */
#define CAP_XDP_AUTO 1
#define CAP_XDP_NATIVE 2
#define CAP_XDP_GENERIC 3

/* dispatch_flows' timeout for the last call: detach and drain all. */
#define CAP_FLOWS_FINAL (-1)
/* dispatch's timeout for the last call: deliver what was captured. */
#define CAP_DRAIN (-2)

/* dispatch return values besides a packet count >= 0 */
#define CAP_EOF (-4096) /* offline file fully read */

struct cap_ops;

/*
 * The base of every backend's handle: its first member, set by the
 * backend's open, so a struct cap_handle * is also the backend's own
 * handle (backends cast it back). Read-only after open.
 */
struct cap_handle {
	const struct cap_ops *ops;
};

struct cap_ops {
	const char *name;
	int fanout; /* several handles may share a PACKET_FANOUT group */
	/* the outer 802.1Q tag arrives in cap_pkt.vlan_tci, not in the
	 * frame, unless cap_config.add_vlan puts it back */
	int vlan_stripped;
	/* Open and activate. Returns 0 or -errno with a line in err. */
	int (*open)(struct cap_handle **h, const struct cap_config *cfg,
		    char *err, size_t errlen);
	/* Datalink of the handle (DLT_*); per-frame dlt may differ (any). */
	int (*datalink)(struct cap_handle *h);
	/* Attach a compiled filter (NULL: accept all). Any thread. */
	int (*set_filter)(struct cap_handle *h, const struct bpf_program *prog,
			  char *err, size_t errlen);
	/*
	 * Optional: compile @expr (NULL or "": accept all) for this handle's
	 * link as libpcap does for a live Linux handle, and attach it: VLAN
	 * tags the kernel strips are matched through its BPF extensions in
	 * the kernel, and in user space with the same meaning. A backend
	 * without it gets set_filter with cap_compile's program. Any thread.
	 */
	int (*set_filter_expr)(struct cap_handle *h, const char *expr,
			       char *err, size_t errlen);
	/*
	 * Wait up to timeout_ms (or until wakeup) and deliver what is ready
	 * (a whole ring block at most). Returns frames delivered (>= 0),
	 * CAP_EOF, or -errno with a line in err. With timeout_ms
	 * CAP_DRAIN (the worker's last call, once stopped): take no new
	 * frames and deliver those already in the ring or buffer, within a
	 * bounded time (a live backend; a file returns 0); stats then
	 * count what was left unread.
	 */
	int (*dispatch)(struct cap_handle *h, cap_pkt_fn cb, void *user,
			int timeout_ms, char *err, size_t errlen);
	/*
	 * Set only by backends that count in the kernel (then dispatch is
	 * NULL): wait up to timeout_ms (or until wakeup), then deliver the
	 * counts gathered since the last call as cap_flow records. Same
	 * returns as dispatch (records delivered). With timeout_ms
	 * CAP_FLOWS_FINAL (the worker's last call, once stopped): detach
	 * from the interface and deliver everything still counted.
	 */
	int (*dispatch_flows)(struct cap_handle *h, cap_flow_fn cb, void *user,
			      int timeout_ms, char *err, size_t errlen);
	/*
	 * Optional, with dispatch_flows: count the named counters @c (@n of
	 * them, 0: none) in the backend, each packet that passed the capture
	 * filter against each counter's expression, and deliver their growth
	 * as CAP_FLOW_COUNTER records. Replaces the previous set at once:
	 * each packet is counted by the old set or the new one, and a
	 * counter whose id is in both keeps counting without a gap. On error
	 * (one line in err: an expression that does not compile or cannot
	 * run there) the previous set stays. Any thread but the capture
	 * thread; one call at a time per handle.
	 */
	int (*set_counters)(struct cap_handle *h, const struct cap_counter *c,
			    size_t n, char *err, size_t errlen);
	/* Make a blocked dispatch return at once. Any thread, signal-safe. */
	void (*wakeup)(struct cap_handle *h);
	/* Running sums; link state. Capture thread or any (atomics). */
	int (*stats)(struct cap_handle *h, struct cap_stats *st);
	enum cap_link (*link)(struct cap_handle *h);
	void (*close)(struct cap_handle *h);
};

extern const struct cap_ops cap_tpacket3_ops;
extern const struct cap_ops cap_pcap_ops; /* live */
/* pcap/pcapng files (cap_config.file), read ahead; also named "pcap" */
extern const struct cap_ops cap_pcapfile_ops;
extern const struct cap_ops cap_ebpf_ops;

/* The operations of a handle, through the handle (see struct cap_ops). */
static inline int cap_datalink(struct cap_handle *h)
{
	return h->ops->datalink(h);
}

static inline int cap_set_filter(struct cap_handle *h,
				 const struct bpf_program *prog, char *err,
				 size_t errlen)
{
	return h->ops->set_filter(h, prog, err, errlen);
}

/* Whether @h compiles a filter expression itself (set_filter_expr: as
 * libpcap does for its live link), and doing so. */
static inline int cap_compiles_filters(const struct cap_handle *h)
{
	return h->ops->set_filter_expr != NULL;
}

static inline int cap_set_filter_expr(struct cap_handle *h, const char *expr,
				      char *err, size_t errlen)
{
	return h->ops->set_filter_expr(h, expr, err, errlen);
}

static inline int cap_dispatch(struct cap_handle *h, cap_pkt_fn cb, void *user,
			       int timeout_ms, char *err, size_t errlen)
{
	return h->ops->dispatch(h, cb, user, timeout_ms, err, errlen);
}

/* Whether @h delivers flow records (dispatch_flows), not frames. */
static inline int cap_counts_flows(const struct cap_handle *h)
{
	return h->ops->dispatch_flows != NULL;
}

static inline int cap_dispatch_flows(struct cap_handle *h, cap_flow_fn cb,
				     void *user, int timeout_ms, char *err,
				     size_t errlen)
{
	return h->ops->dispatch_flows(h, cb, user, timeout_ms, err, errlen);
}

/* Whether @h counts named counters itself (set_counters), and doing so. */
static inline int cap_counts_counters(const struct cap_handle *h)
{
	return h->ops->set_counters != NULL;
}

static inline int cap_set_counters(struct cap_handle *h,
				   const struct cap_counter *c, size_t n,
				   char *err, size_t errlen)
{
	return h->ops->set_counters(h, c, n, err, errlen);
}

static inline void cap_wakeup(struct cap_handle *h)
{
	h->ops->wakeup(h);
}

static inline int cap_read_stats(struct cap_handle *h, struct cap_stats *st)
{
	return h->ops->stats(h, st);
}

/* CAP_LINK_UP for a backend that cannot tell (files). */
static inline enum cap_link cap_link_state(struct cap_handle *h)
{
	return h->ops->link ? h->ops->link(h) : CAP_LINK_UP;
}

static inline const char *cap_name(const struct cap_handle *h)
{
	return h->ops->name;
}

/* Close @h; NULL is a no-op. */
static inline void cap_close(struct cap_handle *h)
{
	if (h)
		h->ops->close(h);
}

/* Backend by name ("tpacket3", "pcap", "ebpf"), or NULL (backends.c). */
const struct cap_ops *cap_backend(const char *name);

/* The platform default backend for live capture. */
const struct cap_ops *cap_default_backend(void);

/*
 * cap_compile - compile @expr for link type @dlt and snaplen with libpcap
 * (pcap_open_dead + pcap_compile). Returns 0 or -EINVAL with libpcap's
 * message in err. Free with pcap_freecode. Any thread (serialised inside:
 * pcap_compile is not reentrant on old libpcap).
 */
int cap_compile(int dlt, int snaplen, const char *expr,
		struct bpf_program *prog, char *err, size_t errlen);

/*
 * cap_prog_insns - the classic instructions of @prog (libpcap's struct
 * bpf_insn, the layout of struct cbpf_insn): for code that must not see
 * libpcap's headers (they clash with linux/bpf.h). Returns their number.
 */
struct cbpf_insn;
size_t cap_prog_insns(const struct bpf_program *prog,
		      const struct cbpf_insn **insns);

/*
 * cap_compile_on - cap_compile with the handle @p (live or offline), so
 * the program is the one libpcap would attach to it: for a live Linux
 * handle, VLAN tests read the kernel's tag metadata (SKF_AD_VLAN_TAG*).
 * Such a program is for the kernel; bpf_filter in user space cannot run
 * it. Any thread (serialised with cap_compile); @p must not be in use by
 * another thread.
 */
int cap_compile_on(struct pcap *p, const char *expr, struct bpf_program *prog,
		   char *err, size_t errlen);

/*
 * cap_compile_handle - a libpcap handle activated on @iface, only to
 * compile filters as libpcap does for a live Linux handle (VLAN tests
 * read the kernel's tag metadata; a pcap_open_dead program looks for the
 * tag in the frame, where the kernel has taken it out). Activation needs
 * the privileges a backend has only at open, while filters change later
 * (the UI's `e`): the handle stays, unhooked (bound to protocol 0), so it
 * costs nothing per packet and its small ring is never written. NULL when
 * libpcap cannot open it, or opens it for another link type than @dlt:
 * the caller then compiles for the frame as it is. Close with pcap_close.
 */
struct pcap *cap_compile_handle(const char *iface, int snaplen, int dlt);

/*
 * cap_compile_new - @expr compiled on the compile handle @cp
 * (cap_compile_on) or, when @cp is NULL, for link type @dlt
 * (cap_compile), into a program of its own: for code that must not see
 * libpcap's headers. NULL with a line in @err. Free with cap_prog_free
 * (NULL: no-op). Any thread, as cap_compile_on.
 */
struct bpf_program *cap_compile_new(struct pcap *cp, int dlt, const char *expr,
				    char *err, size_t errlen);
void cap_prog_free(struct bpf_program *prog);

/* pcap_close of a cap_compile_handle (NULL: no-op). */
void cap_compile_handle_close(struct pcap *p);

/*
 * cap_prog_userspace - the kernel program @kp (cap_compile_on on a live
 * handle) made runnable by bpf_filter in user space with the kernel's
 * meaning. Returns 1 when @kp reads the kernel's VLAN metadata: @up then
 * expects the frame behind a CAP_META_LEN-byte prefix (cap_meta_fill),
 * every frame load moved past it and the VLAN loads reading it; 0 when
 * @kp reads no metadata (@up is a plain copy, run on the frame as is);
 * -ENOTSUP for a metadata load it cannot emulate (the caller falls back);
 * -ENOMEM. @up->bf_insns is malloc'd: free() it.
 */
#define CAP_META_LEN 8
int cap_prog_userspace(const struct bpf_program *kp, struct bpf_program *up);

/* The metadata prefix for cap_prog_userspace's programs: VLAN tag
 * present, its TCI and TPID (0: 802.1Q), as the kernel reports them. */
void cap_meta_fill(uint8_t meta[CAP_META_LEN], int vlan_present, uint16_t tci,
		   uint16_t tpid);

/*
 * cap_vlan_insert - copy Ethernet frame @data (@caplen >= 12 bytes) to
 * @dst (room for @caplen + 4) with the 802.1Q/802.1ad tag the kernel
 * stripped put back after the MAC addresses, as it was on the wire.
 * @tpid 0 means 802.1Q. Returns the new length, @caplen + 4.
 */
uint32_t cap_vlan_insert(uint8_t *dst, const uint8_t *data, uint32_t caplen,
			 uint16_t tpid, uint16_t tci);

/*
 * Helpers every backend needs alike (capture.c). Any thread.
 *
 * cap_efd_poke - make whoever polls the eventfd @fd wake up (a write of
 * 1; a counter already non-zero means a wake already pends).
 * Signal-safe. cap_efd_drain - consume @fd's count after a poll saw it.
 */
void cap_efd_poke(int fd);
void cap_efd_drain(int fd);

/*
 * cap_packet_bind - bind the packet socket @fd to every protocol on
 * interface @ifindex and clear the error a bind to a down interface
 * leaves pending (ENETDOWN). 0 or -errno. No privilege needed on a socket
 * one holds. cap_packet_promisc - ask for promiscuous mode on it, best
 * effort (the capture goes on without it): 0 or -errno.
 */
int cap_packet_bind(int fd, int ifindex);
int cap_packet_promisc(int fd, int ifindex);

/*
 * cap_if_query - interface @name's index and hardware type (ARPHRD_*),
 * asked through the socket @fd: 0, or -errno (ENODEV: no such interface).
 */
int cap_if_query(int fd, const char *name, int *ifindex, int *hatype);

/* cap_now_ms - CLOCK_MONOTONIC in ms, for timeouts. */
uint64_t cap_now_ms(void);

/*
 * The wait of a capture whose interface was removed, until one of its
 * name is back: cap_probe_due - 1 if the time in *@next_ms has come, and
 * then the next one is @period_ms on; else 0. cap_efd_wait - sleep on
 * the wakeup eventfd @fd for @timeout_ms (< 0 or more than @max_ms:
 * @max_ms), consuming a wake.
 */
int cap_probe_due(uint64_t *next_ms, int period_ms);
void cap_efd_wait(int fd, int timeout_ms, int max_ms);

/*
 * cap_err_perm - the line for a packet socket refused for lack of
 * privilege, with the two ways to get it (root, or setcap).
 */
void cap_err_perm(char *err, size_t errlen);

/*
 * cap_err_no_device - write "IFACE: no such device (available: lo, eth0,
 * ...)" into @err, listing the interfaces of the caller's network
 * namespace (if_nameindex). Any thread.
 */
void cap_err_no_device(const char *iface, char *err, size_t errlen);

#endif
