/*
 * export.h - the exporters (--metrics and --metrics-file: Prometheus,
 * metrics.h; --ipfix: IPFIX flow records, ipfix.h) as observers of the
 * run (engine_observe, engine.h). They plug into the engine, not into a
 * front end: the monitor, the daemon and the batch loop drive them alike,
 * through engine_tick and engine_finish, and they see the run only
 * through the engine's API.
 *
 * Threads: export_new and export_free on the main thread; the observers'
 * calls as engine.h says (tick, start and finish on the main thread,
 * flow ends on liburcu's call_rcu thread); the exporters' own threads
 * (libmicrohttpd's, the IPFIX scanner and sender) as their headers say.
 */
#ifndef PKTSTAT_EXPORT_H
#define PKTSTAT_EXPORT_H

#include <stddef.h>
#include <stdint.h>

struct engine;
struct report_ipfix;

struct export_conf {
	const char *metrics_addr; /* --metrics [ADDR:]PORT, NULL: none */
	const char *metrics_file; /* --metrics-file PATH, NULL: none */
	int metrics_top;	  /* --metrics-top N */
	const char *ipfix;	  /* --ipfix HOST:PORT[/udp|/tcp], or NULL */
	uint64_t ipfix_active_ns, ipfix_idle_ns;
	size_t ipfix_queue; /* records; 0: the default */
	/* ingressInterface: the one interface captured, else NULL */
	const char *iface;
	int offline; /* a file: IPFIX records all at the end */
	/* says one line on stderr (a metrics file that cannot be written,
	 * said once; the IPFIX figures at the end); required */
	void (*say)(const char *line);
};

struct export;

/*
 * export_check - the exporters' options that the option parser cannot
 * check alone (addresses, --metrics-top without an exporter). Pure. 0,
 * or -EINVAL with one line in @err (a usage error).
 */
int export_check(const struct export_conf *c, char *err, size_t errlen);

/*
 * export_new - start what @c asks for (the metrics server, the IPFIX
 * session with its templates sent) and add the exporters to @e as
 * observers. After the privilege drop and engine_make_table, before
 * engine_start, with the main thread's signals blocked (threads start
 * here). NULL when @c asks for nothing (*@err empty) or on error (one
 * line in @err).
 */
struct export *export_new(const struct export_conf *c, struct engine *e,
			  char *err, size_t errlen);

/*
 * export_ipfix_report - the IPFIX export's figures for the report once
 * engine_finish has run, or NULL (no --ipfix, or not finished). Valid
 * until export_free.
 */
const struct report_ipfix *export_ipfix_report(const struct export *x);

/*
 * export_free - stop and free. After engine_stop (no flow end can come
 * any more) and before engine_free. NULL is a no-op.
 */
void export_free(struct export *x);

#endif
