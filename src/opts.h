/*
 * opts.h - the command line: getopt_long into struct opts, validated.
 *
 * No side effects besides writing the struct and an error line: main
 * prints and exits. Single-threaded (called before any thread starts).
 */
#ifndef PKTSTAT_OPTS_H
#define PKTSTAT_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define OPTS_MAX_IFACES 16
#define OPTS_MAX_COUNTERS 32
#define OPTS_MAX_ABBREV 64

enum opts_mode {
	OPTS_MODE_AUTO,	 /* UI on a terminal, else batch */
	OPTS_MODE_BATCH, /* -1 / --batch / -j without a terminal */
	OPTS_MODE_UI,
};

enum opts_unit {
	OPTS_UNIT_BITS,
	OPTS_UNIT_BYTES,
	OPTS_UNIT_PACKETS,
};

/* --xdp modes (capture.h's CAP_XDP_* values). */
#define OPTS_XDP_AUTO 1
#define OPTS_XDP_NATIVE 2
#define OPTS_XDP_GENERIC 3

/* -a PATTERN or -A FILE, kept in command-line order. */
struct opts_abbrev {
	int is_file;
	const char *arg;
};

enum opts_tcpstat {
	OPTS_TCPSTAT_OFF,
	OPTS_TCPSTAT_INTERVAL,	/* -o FORMAT and/or a trailing interval */
	OPTS_TCPSTAT_ACCOUNT,	/* --accounting */
	OPTS_TCPSTAT_BANDWIDTH, /* --bandwidth */
	OPTS_TCPSTAT_DUMB,	/* --dumb-bandwidth */
};

struct opts_counter {
	const char *name;
	const char *filter;
};

struct opts {
	const char *ifaces[OPTS_MAX_IFACES];
	int n_ifaces;
	const char *read_file; /* -r */
	char *filter;	       /* -f or trailing expression (malloc'd) */
	const char *backend;   /* --backend, NULL = platform default */
	int xdp;	       /* --xdp: OPTS_XDP_*, 0 = tc (ebpf) */
	uint32_t ebpf_flows;   /* --ebpf-flows, 0 = the backend's default */
	int json;	       /* -j */
	uint64_t timeout_ns;   /* -t, 0 = none */
	uint64_t interval_ns;  /* -l, 0 = none */
	int snaplen;	       /* -s, 65535 when <= 0 */
	int bufsize_mb;	       /* -b, default 8 */
	int add_vlan;	       /* -v */
	int promisc;	       /* default 1, -P clears */
	int threads;	       /* --threads, 0 = auto */
	size_t max_flows;      /* --max-flows */
	enum opts_mode mode;
	uint64_t refresh_ns; /* -w, default 1 s */
	uint64_t keep_ns;    /* -k, default 10 s */
	enum opts_unit unit; /* -B bytes, -p packets */
	int numeric;	     /* -n, -1 = default (names unless root) */
	int per_direction;   /* -c: one row per direction */
	int no_color;	     /* --no-color or NO_COLOR */
	int no_procs;	     /* --no-procs: no process attribution */
	int procs_ebpf;	     /* --procs-ebpf: the eBPF attributor */
	int quiet;	     /* -q: no final report on stdout */
	int report; /* --report: the whole report after the UI, not a summary */
	const char *snapshot_path; /* --snapshot FILE or DIR/ */
	const char *user;	   /* -Z, NULL = default */
	struct opts_counter counters[OPTS_MAX_COUNTERS];
	int n_counters;
	/* the original C pktstat */
	struct opts_abbrev abbrevs[OPTS_MAX_ABBREV];
	int n_abbrevs;
	int full_names; /* -F */
	int totals;	/* -T */
	int top;	/* --top (the original's -t) */
	int last;	/* --last (the original's -l) */
	double max_bps; /* -m: rates as a percentage of this */
	int wait_given; /* -w was on the command line */
	/* tcpstat */
	enum opts_tcpstat tcpstat;
	const char *tcpstat_format; /* -o */
	uint64_t tcpstat_interval_ns;
	int tcpstat_interval_given;
	int skip_empty;		/* -e */
	int link_bytes;		/* --link */
	int flush;		/* --flush */
	uint64_t seconds_ns;	/* --seconds */
	double bandwidth_bps;	/* --bandwidth / --dumb-bandwidth */
	double relative_s;	/* --relative */
	const char *jsonl_path; /* --jsonl */
	size_t jsonl_top;	/* --jsonl-top */
	uint64_t jsonl_max;	/* --jsonl-max */
	double exit_over_bps;	/* --exit-over, 0 = off */
	int group_by;		/* --group-by: enum group_by */
	int group_v4_prefix, group_v6_prefix; /* --group-prefix */
	uint64_t history_ns;		      /* --history, 0 = off */
	uint64_t history_max;		      /* --history-max, bytes */
	int diff;			      /* --diff OLD NEW */
	const char *diff_old, *diff_new;
	/* exporters */
	const char *metrics_addr; /* --metrics [ADDR:]PORT, NULL = off */
	const char *metrics_file; /* --metrics-file PATH */
	int metrics_top;	  /* --metrics-top N, 0 = none */
	const char *ipfix;	  /* --ipfix HOST:PORT[/udp|/tcp] */
	uint64_t ipfix_active_ns; /* --ipfix-active, default 60 s */
	uint64_t ipfix_idle_ns;	  /* --ipfix-idle, default 15 s */
	/* daemon and clients */
	int daemon;		 /* -d */
	const char *group;	 /* -g */
	const char *socket_path; /* --socket, --connect SOCKET; NULL: default */
	const char *pidfile;	 /* --pidfile */
	int debug;		 /* -D */
	int max_clients;	 /* --max-clients, 0 = default */
	int connect;		 /* --connect */
	int client_argc;	 /* client mode: the verb and its words */
	char **client_argv;
	int version; /* --version */
	int help;    /* -h / -? / --help */
};

/* Exit status for usage errors (bad flag or value). */
#define OPTS_EXIT_USAGE 2

/*
 * opts_parse - parse argv into @o (initialised here to defaults).
 * Returns 0, or -EINVAL with one line in @err naming the flag and why
 * (the caller prints "pktstat: <err>" and exits 2), or -ENOMEM ("out of
 * memory"; the caller exits 1).
 */
int opts_parse(struct opts *o, int argc, char **argv, char *err, size_t errlen);

/* Whether @word is a client verb (new, modify, stop, list, show, poll,
 * watch): "pktstat list" is client mode, not a filter. */
int opts_is_verb(const char *word);

/* Free what opts_parse allocated. */
void opts_free(struct opts *o);

/* Print the --help text. */
void opts_usage(FILE *out);

/*
 * opts_parse_duration - Go-style duration ("1h2m3.5s", "300ms", "10m0s",
 * "1.5s"; a bare number means seconds) into nanoseconds. 0 or -EINVAL.
 */
int opts_parse_duration(const char *s, uint64_t *ns);

#endif
