/*
 * counters.h - named BPF counters (capstats-style): each counter is a
 * tcpdump filter expression; every captured packet it matches adds to its
 * packet and byte (wire length) counts. Counters can be created, changed,
 * zeroed and removed while the capture runs.
 *
 * Threads and memory:
 *  - counters_packet runs on the capture workers, inside their RCU
 *    read-side section, and takes no lock: it reads an immutable array of
 *    counters published with rcu_assign_pointer. Each worker writes only
 *    its own cache-line-aligned slot of each counter (relaxed atomic
 *    stores); readers sum the slots with relaxed loads.
 *  - Editors (counters_add, _modify, _remove, _zero, _prepare_dlt) and
 *    readers (counters_read) serialise on a mutex (never taken by
 *    workers), build a new array, publish it and hand the old one and any
 *    replaced counter to call_rcu: they must run on a thread registered
 *    with liburcu (rcu_register_thread), outside a read-side section.
 *  - A filter is compiled once per (counter, link type): at creation for
 *    DLT_EN10MB (the check the user sees) and every link type announced
 *    with counters_prepare_dlt; a link type met for the first time in the
 *    per-packet path is compiled there, once, and published with a
 *    compare-and-swap (libpcap >= 1.8 compiles thread-safely).
 *  - Matching uses libpcap's userland bpf_filter on the frame as
 *    captured: a VLAN tag the kernel stripped (tp_vlan_tci) is invisible
 *    to "vlan" expressions unless the capture re-inserts it. A backend
 *    that counts in the kernel matches there instead (counters_set_hook,
 *    counters_credit).
 */
#ifndef PKTSTAT_COUNTERS_H
#define PKTSTAT_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#define COUNTERS_MAX 64	       /* counters at once */
#define COUNTERS_NAME_MAX 64   /* bytes, NUL included */
#define COUNTERS_EXPR_MAX 1024 /* bytes, NUL included */
#define COUNTERS_MAX_DLT 8     /* link types compiled per counter */

struct counters;

struct counters_value {
	char name[COUNTERS_NAME_MAX];
	char expr[COUNTERS_EXPR_MAX];
	uint64_t pkts, bytes; /* since creation, modify or zero */
};

/*
 * counters_new - an empty set for @nworkers capture workers (worker
 * indexes 0 .. nworkers-1). NULL with a line in @err on failure.
 */
struct counters *counters_new(unsigned int nworkers, char *err, size_t errlen);

/*
 * counters_free - free everything. No worker may use @c any more; waits
 * for @c's pending call_rcu frees (a count of them, not rcu_barrier), so
 * not from inside a read-side section. counters_free(NULL) is a no-op.
 */
void counters_free(struct counters *c);

/*
 * counters_add - create counter @name (1-63 characters of letters,
 * digits, '_', '-', '.', ':') counting packets that match @expr (tcpdump
 * syntax; "" matches everything). Returns 0; -EINVAL with libpcap's
 * message ("counter web: syntax error ...") if @expr does not compile for
 * DLT_EN10MB or a prepared link type, or if the name is invalid; -EEXIST
 * if the name is taken; -ENOSPC past COUNTERS_MAX; -ENOMEM. On error
 * nothing changes. Editor thread (see above).
 */
int counters_add(struct counters *c, const char *name, const char *expr,
		 char *err, size_t errlen);

/*
 * counters_valid_name - 1 if @name is 1-63 letters, digits, '_', '-',
 * '.' or ':' (the rule of counters_add, the --count names and the
 * daemon's session names), else 0. Any thread.
 */
int counters_valid_name(const char *name);

/*
 * counters_modify - give counter @name a new expression; its counts
 * restart from 0 (they measured something else). Same errors as
 * counters_add, -ENOENT if there is no such counter; on error the old
 * counter keeps running unchanged. Editor thread.
 */
int counters_modify(struct counters *c, const char *name, const char *expr,
		    char *err, size_t errlen);

/* counters_remove - stop and delete counter @name. 0 or -ENOENT. */
int counters_remove(struct counters *c, const char *name, char *err,
		    size_t errlen);

/* counters_zero - restart every counter's counts from 0. Editor thread. */
void counters_zero(struct counters *c);

/*
 * counters_prepare_dlt - announce a link type the workers will see
 * (each capture handle's datalink) so that every counter, present and
 * future, is compiled for it outside the packet path. Returns 0, or
 * -EINVAL naming the first counter whose expression does not compile for
 * @dlt (that counter then never matches on @dlt), or -ENOSPC when
 * COUNTERS_MAX_DLT link types are already prepared. Editor thread.
 */
int counters_prepare_dlt(struct counters *c, int dlt, char *err, size_t errlen);

/*
 * counters_packet - count one frame for worker @worker_idx: link type
 * @dlt, @caplen bytes at @data, @wirelen on the wire. Capture worker
 * thread, inside rcu_read_lock; the only writer of its slot. Lock-free;
 * a worker index out of range is ignored.
 */
void counters_packet(struct counters *c, unsigned int worker_idx, int dlt,
		     const uint8_t *data, uint32_t caplen, uint32_t wirelen);

/*
 * counters_read - copy up to @max counters, in creation order (a
 * modified counter keeps its place), with their counts summed over the
 * workers, into @out. Returns how many there are (which may exceed @max).
 * Editor thread (takes the mutex; no RCU section needed).
 */
size_t counters_read(struct counters *c, struct counters_value *out,
		     size_t max);

/* Number of counters. Any thread (approximate while editors run). */
size_t counters_count(struct counters *c);

/*
 * For a capture backend that counts in the kernel (the ebpf backend):
 * each change of the set (add, modify, remove) is first offered to a
 * hook with the set before and after it, each counter as an id (unique
 * for the object's life; a modified counter gets a new one) and its
 * expression; an error from the hook refuses the change, with its line
 * in err. The backend then delivers counts by id (counters_credit).
 */
struct counters_def {
	uint64_t id;
	const char *expr;
};
typedef int (*counters_hook_fn)(void *ctx, const struct counters_def *old,
				size_t nold, const struct counters_def *new_,
				size_t nnew, char *err, size_t errlen);

/* Install @fn (NULL: none). Editor thread, before any counter exists. */
void counters_set_hook(struct counters *c, counters_hook_fn fn, void *ctx);

/*
 * counters_credit - add @pkts and @bytes to counter @id for worker
 * @worker_idx (counted elsewhere, e.g. in the kernel). An id no longer
 * in the set (removed or modified since) is ignored. Capture worker
 * thread, inside rcu_read_lock, the only writer of its slot, as
 * counters_packet.
 */
void counters_credit(struct counters *c, unsigned int worker_idx, uint64_t id,
		     uint64_t pkts, uint64_t bytes);

#endif
