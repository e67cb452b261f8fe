/*
 * names.h - reverse DNS and service names, resolved asynchronously.
 *
 * One resolver thread works through a bounded queue; results land in a
 * bounded cache. The UI thread asks with names_lookup, which never blocks
 * on the network: it answers from the cache or queues the address and
 * answers "not yet". Names are sanitised (only letters, digits, '-', '.',
 * '_') before they are cached, so nothing from the network can drive the
 * terminal. Never used by the capture path.
 */
#ifndef PKTSTAT_NAMES_H
#define PKTSTAT_NAMES_H

#include <stddef.h>
#include <stdint.h>

struct names;

/* Resolver function (getnameinfo by default); tests inject their own.
 * Writes a host name for the address into buf; 0 on success. */
typedef int (*names_resolve_fn)(int family, const uint8_t *addr, char *buf,
				size_t len);

/*
 * names_new - start the resolver thread. @cache_max names are kept (least
 * recently used dropped first), at most @queue_max lookups wait. @fn may
 * be NULL for getnameinfo. NULL on failure.
 */
struct names *names_new(size_t cache_max, size_t queue_max,
			names_resolve_fn fn);

/*
 * Stop the thread and free everything, without waiting for a lookup in
 * flight: the thread then frees the object itself when the lookup
 * returns (or dies with the process). names_free(NULL) is a no-op.
 */
void names_free(struct names *n);

/*
 * names_lookup - @family 4 or 6, @addr 4 or 16 bytes. Returns 1 with the
 * name in @buf when it is known, 0 when not (yet), having queued it unless
 * the queue is full or the address failed before. UI thread; takes the
 * table mutex briefly, never waits for the network.
 */
int names_lookup(struct names *n, int family, const uint8_t *addr, char *buf,
		 size_t len);

/* Lookups answered, queued, dropped (queue full), failed: for the UI. */
void names_stats(const struct names *n, uint64_t *hits, uint64_t *queued,
		 uint64_t *dropped, uint64_t *failed);

/*
 * names_service - service name for a port ("https"), from a const table of
 * common services; NULL when unknown. Pure.
 */
const char *names_service(unsigned port, int tcp);

/* Replace every byte that is not [A-Za-z0-9._-] with '?'. Pure. */
void names_sanitize(char *s);

#endif
