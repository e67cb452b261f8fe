/*
 * opts.c - command line parsing and validation.
 *
 * Owns struct opts. Single-threaded: runs before any thread starts. No side
 * effects besides the struct and the one-line error; only main prints and
 * exits. Short flags follow dkorunic/pktstat first, then the original C
 * pktstat, then tcpstat, then capstats; a flag that loses a clash keeps a
 * long name.
 */
#include "opts.h"
#include "group.h"
#include "history.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_VERSION = 0x100,
	OPT_BACKEND,
	OPT_THREADS,
	OPT_MAX_FLOWS,
	OPT_NO_COLOR,
	OPT_NO_PROCS,
	OPT_PROCS_EBPF,
	OPT_SNAPSHOT,
	OPT_COUNT,
	OPT_TOP,
	OPT_LAST,
	OPT_SECONDS,
	OPT_FLUSH,
	OPT_ACCOUNTING,
	OPT_BANDWIDTH,
	OPT_DUMB_BANDWIDTH,
	OPT_LINK,
	OPT_RELATIVE,
	OPT_DIFF,
	OPT_GROUP_BY,
	OPT_GROUP_PREFIX,
	OPT_HISTORY,
	OPT_HISTORY_MAX,
	OPT_METRICS,
	OPT_METRICS_FILE,
	OPT_METRICS_TOP,
	OPT_IPFIX,
	OPT_IPFIX_ACTIVE,
	OPT_IPFIX_IDLE,
	OPT_JSONL,
	OPT_JSONL_TOP,
	OPT_JSONL_MAX,
	OPT_EXIT_OVER,
	OPT_SOCKET,
	OPT_PIDFILE,
	OPT_CONNECT,
	OPT_MAX_CLIENTS,
	OPT_XDP,
	OPT_EBPF_FLOWS,
	OPT_REPORT,
};

/* One table: getopt_long's options and the --help text come from it. */
struct opts_def {
	const char *lname;
	int has_arg;
	int val;
	const char *arg;
	const char *help;
};

static const struct opts_def opts_defs[] = {
	{ "iface", 1, 'i', "IFACE",
	  "capture on IFACE (repeatable; 'any' or none: all)" },
	{ "filter", 1, 'f', "EXPR", "BPF capture filter (or trailing args)" },
	{ "read", 1, 'r', "FILE", "read a pcap/pcapng file ('-' = stdin)" },
	{ "json", 0, 'j', NULL, "report in JSON" },
	{ "jsonl", 1, OPT_JSONL, "FILE",
	  "append a JSON line per refresh or -l interval" },
	{ "jsonl-top", 1, OPT_JSONL_TOP, "N", "flows per --jsonl line (100)" },
	{ "jsonl-max", 1, OPT_JSONL_MAX, "SIZE",
	  "rotate the --jsonl file at SIZE, keeping one .1 (100M)" },
	{ "exit-over", 1, OPT_EXIT_OVER, "RATE",
	  "exit with status 3 when traffic exceeds RATE bit/s (800k, 1G)" },
	{ "group-by", 1, OPT_GROUP_BY, "KEY",
	  "groups: host, net, port, proto, vlan, interface, process, app" },
	{ "group-prefix", 1, OPT_GROUP_PREFIX, "V4,V6",
	  "network prefix lengths for net groups (24,64)" },
	{ "history", 1, OPT_HISTORY, "DURATION",
	  "monitor: keep DURATION for rewind ([ ]; 10m; 0: off)" },
	{ "history-max", 1, OPT_HISTORY_MAX, "SIZE",
	  "memory cap of --history (256M); beyond: the oldest go" },
	{ "diff", 0, OPT_DIFF, NULL,
	  "compare two snapshots: --diff OLD.json NEW.json" },
	{ "timeout", 1, 't', "DURATION", "stop after DURATION (10m0s, 30s)" },
	{ "interval", 1, 'l', "DURATION", "print a report every DURATION" },
	{ "snaplen", 1, 's', "BYTES", "capture length (<= 0: 65535)" },
	{ "bufsize", 1, 'b', "MB", "ring buffer per thread in MB (8)" },
	{ "add_vlan", 0, 'v', NULL, "re-insert stripped VLAN tags" },
	{ "backend", 1, OPT_BACKEND, "NAME",
	  "tpacket3 (Linux default), pcap or ebpf" },
	{ "xdp", 2, OPT_XDP, "[=MODE]",
	  "ebpf: ingress-only XDP (auto, native, generic)" },
	{ "ebpf-flows", 1, OPT_EBPF_FLOWS, "N",
	  "ebpf: kernel flow table slots (262144)" },
	{ "threads", 1, OPT_THREADS, "N", "capture threads in a fanout group" },
	{ "max-flows", 1, OPT_MAX_FLOWS, "N",
	  "flow table cap (1000000); beyond: overflow row" },
	{ "batch", 0, '1', NULL, "no curses: collect, report, exit" },
	{ "wait", 1, 'w', "SECONDS", "refresh interval (1; fractions ok)" },
	{ "keep", 1, 'k', "SECONDS", "keep idle flows on screen (10)" },
	{ "bytes", 0, 'B', NULL, "show bytes/s instead of bits/s" },
	{ "packets", 0, 'p', NULL, "show packets/s instead of bits/s" },
	{ "numeric", 0, 'n', NULL, "no name resolution" },
	{ "per-direction", 0, 'c', NULL, "one row per direction" },
	{ "no-promisc", 0, 'P', NULL, "do not put the interface in promisc" },
	{ "no-color", 0, OPT_NO_COLOR, NULL, "no colours (also NO_COLOR)" },
	{ "no-procs", 0, OPT_NO_PROCS, NULL,
	  "do not name the processes of flows (live)" },
	{ "procs-ebpf", 0, OPT_PROCS_EBPF, NULL,
	  "name short connections with eBPF too (on with --backend ebpf)" },
	{ "quiet", 0, 'q', NULL, "nothing on stdout after the UI quits" },
	{ "report", 0, OPT_REPORT, NULL,
	  "the whole report after the UI quits, not a summary" },
	{ "snapshot", 1, OPT_SNAPSHOT, "FILE|DIR/",
	  "snapshot file (.json, .csv, else text) or directory" },
	{ "user", 1, 'Z', "USER", "drop privileges to USER (nobody)" },
	{ "count", 1, OPT_COUNT, "NAME=EXPR",
	  "named BPF counter (repeatable)" },
	/* the original C pktstat */
	{ "abbrev", 1, 'a', "[NAME@]PAT",
	  "merge flows matching PAT (repeatable)" },
	{ "abbrev-file", 1, 'A', "FILE", "abbreviations from FILE ('none')" },
	{ "full-names", 0, 'F', NULL, "full host names, not the first label" },
	{ "totals", 0, 'T', NULL, "show a totals column" },
	{ "top", 0, OPT_TOP, NULL, "sort by rate (the original's -t)" },
	{ "last", 0, OPT_LAST, NULL, "sort by last seen (the original's -l)" },
	{ "max-bps", 1, 'm', "BPS",
	  "% column: share of BPS bits/s (else: the peak)" },
	/* tcpstat */
	{ "output", 1, 'o', "FORMAT", "tcpstat interval lines (%n %b ...)" },
	{ "skip-empty", 0, 'e', NULL, "tcpstat: no lines for empty intervals" },
	{ "seconds", 1, OPT_SECONDS, "N",
	  "tcpstat: stop N seconds after start" },
	{ "flush", 0, OPT_FLUSH, NULL, "tcpstat: flush after every line" },
	{ "accounting", 0, OPT_ACCOUNTING, NULL,
	  "tcpstat: estimated bytes per second..month" },
	{ "bandwidth", 1, OPT_BANDWIDTH, "BPS",
	  "tcpstat: time above BPS (excess carried)" },
	{ "dumb-bandwidth", 1, OPT_DUMB_BANDWIDTH, "BPS",
	  "tcpstat: time above BPS (no carry-over)" },
	{ "link", 0, OPT_LINK, NULL, "tcpstat: count the link header" },
	{ "relative", 1, OPT_RELATIVE, "SECONDS",
	  "tcpstat: subtract SECONDS from printed times" },
	/* exporters */
	{ "metrics", 1, OPT_METRICS, "[ADDR:]PORT",
	  "serve Prometheus /metrics (loopback unless ADDR)" },
	{ "metrics-file", 1, OPT_METRICS_FILE, "PATH",
	  "keep Prometheus metrics in PATH (textfile)" },
	{ "metrics-top", 1, OPT_METRICS_TOP, "N",
	  "metrics: also the N largest flows (0)" },
	{ "ipfix", 1, OPT_IPFIX, "HOST:PORT[/udp|/tcp]",
	  "export flows over IPFIX (udp)" },
	{ "ipfix-active", 1, OPT_IPFIX_ACTIVE, "DURATION",
	  "IPFIX: export long flows every DURATION (60s)" },
	{ "ipfix-idle", 1, OPT_IPFIX_IDLE, "DURATION",
	  "IPFIX: end flows idle for DURATION (15s)" },
	/* daemon and clients (capstats) */
	{ "daemon", 0, 'd', NULL, "daemon: hold the capture, serve clients" },
	{ "group", 1, 'g', "GROUP", "daemon: admit members of GROUP too" },
	{ "socket", 1, OPT_SOCKET, "PATH",
	  "daemon socket (/run/pktstat.sock)" },
	{ "pidfile", 1, OPT_PIDFILE, "FILE", "daemon: write its pid to FILE" },
	{ "debug", 0, 'D', NULL, "daemon: log every message" },
	{ "max-clients", 1, OPT_MAX_CLIENTS, "N",
	  "daemon: clients at once (64)" },
	{ "connect", 2, OPT_CONNECT, "[SOCKET]",
	  "monitor or report from a daemon's capture" },
	{ "version", 0, OPT_VERSION, NULL, "print the version" },
	{ "help", 0, 'h', NULL, "this help (also -?)" },
};

#define N_DEFS (sizeof(opts_defs) / sizeof(opts_defs[0]))

void opts_usage(FILE *out)
{
	fprintf(out, "usage: pktstat [options] [filter expression]\n"
		     "       pktstat -d [-g GROUP] [--socket PATH] [options]\n"
		     "       pktstat [--socket PATH] [-j] new NAME filter EXPR "
		     "| modify NAME EXPR |\n"
		     "               stop NAME | list | show NAME | poll NAME "
		     "|\n"
		     "               watch NAME frequency SECONDS\n\n");
	for (size_t i = 0; i < N_DEFS; i++) {
		const struct opts_def *d = &opts_defs[i];
		char left[64];
		char shortf[8] = "    ";

		if (d->val < 0x100)
			snprintf(shortf, sizeof(shortf), "-%c, ", d->val);
		/* an optional argument is glued on: --xdp[=MODE] */
		snprintf(left, sizeof(left), "%s--%s%s%s", shortf, d->lname,
			 d->arg && d->has_arg == 1 ? " " : "",
			 d->arg ? d->arg : "");
		fprintf(out, "  %-30s %s\n", left, d->help);
	}
}

/* A usage error: one line in @err; returns -EINVAL. */
__attribute__((format(printf, 3, 4))) static int
usage_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* How parse_secs reads a time. */
/* In the option loop: the argument is bad; say what the option takes. */
#define BAD(what)              \
	do {                   \
		want = (what); \
		goto bad;      \
	} while (0)

#define SECS_UNITS 0x1	 /* Go-style units too ("1m30s", "300ms") */
#define SECS_NOSIGN 0x2	 /* a bare number without a leading + or - */
#define SECS_DIGIT 0x4	 /* a bare number starting with a digit or '.' */
#define SECS_NONZERO 0x8 /* more than 0 ns */

/*
 * parse_secs - the one reader of times: a bare number of seconds
 * (fractions and exponents as strtod reads them; at most 1e9), else, with
 * SECS_UNITS, a sum of numbers with units (ns, us, µs, ms, s, m, h; at
 * most 1e18 ns). Into nanoseconds, rounded; 0 or -EINVAL.
 */
static int parse_secs(const char *s, unsigned int flags, uint64_t *ns)
{
	static const struct {
		const char *unit;
		double mult;
	} units[] = {
		{ "ns", 1 },	 { "us", 1e3 }, { "\xc2\xb5s", 1e3 },
		{ "ms", 1e6 },	 { "s", 1e9 },	{ "m", 60e9 },
		{ "h", 3600e9 },
	};
	double total = 0, v;
	const char *p = s;
	char *end;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (end != s && !*end && !errno && v <= 1e9 &&
	    ((flags & SECS_NONZERO) ? v > 0 : v >= 0) &&
	    !((flags & SECS_NOSIGN) && (*s == '-' || *s == '+')) &&
	    !((flags & SECS_DIGIT) &&
	      !((*s >= '0' && *s <= '9') || *s == '.'))) {
		*ns = (uint64_t)llround(v * 1e9);
		return (flags & SECS_NONZERO) && !*ns ? -EINVAL : 0;
	}
	if (!(flags & SECS_UNITS))
		return -EINVAL;
	while (*p) {
		size_t best = 0, bestlen = 0;

		if (!((*p >= '0' && *p <= '9') || *p == '.'))
			return -EINVAL;
		errno = 0;
		v = strtod(p, &end);
		if (end == p || errno || v < 0 || !isfinite(v))
			return -EINVAL;
		p = end;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].unit);
			if (strncmp(p, units[i].unit, l) == 0 && l > bestlen) {
				best = i;
				bestlen = l;
			}
		}
		if (!bestlen)
			return -EINVAL;
		total += v * units[best].mult;
		p += bestlen;
	}
	if (total > 1e18 || ((flags & SECS_NONZERO) && !llround(total)))
		return -EINVAL;
	*ns = (uint64_t)llround(total);
	return 0;
}

/* Go's durations, a bare number meaning seconds (a convenience Go lacks). */
int opts_parse_duration(const char *s, uint64_t *ns)
{
	return parse_secs(s, SECS_UNITS | SECS_NOSIGN, ns);
}

/* -w, -k, --seconds: more than 0; "0.5", "+2", " 2" or a duration. */
static int parse_seconds(const char *s, uint64_t *ns)
{
	return parse_secs(s, SECS_UNITS | SECS_NONZERO, ns);
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* A positive number (rates in bits per second: "1e6" allowed). */
static int parse_positive(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || !isfinite(v))
		return -EINVAL;
	*out = v;
	return 0;
}

/* tcpstat's trailing interval: a lone non-negative number of seconds. */
static int is_interval(const char *s, uint64_t *ns)
{
	return parse_secs(s, SECS_DIGIT, ns) == 0;
}

static char *join_args(int n, char **v)
{
	size_t len = 1;
	char *s;

	for (int i = 0; i < n; i++)
		len += strlen(v[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, v[i]);
	}
	return s;
}

/* A number with an optional SI suffix (k/K, M, G, T: powers of 1000). */
static int parse_si(const char *s, double *out)
{
	char *end;
	double v, mult = 1;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		mult = 1e3;
		end++;
		break;
	case 'M':
		mult = 1e6;
		end++;
		break;
	case 'G':
		mult = 1e9;
		end++;
		break;
	case 'T':
		mult = 1e12;
		end++;
		break;
	default:
		return -EINVAL;
	}
	if (*end)
		return -EINVAL;
	*out = v * mult;
	return 0;
}

/* A rate in bits per second, > 0: "800k", "1.5M", "2G", "1000". */
static int parse_rate(const char *s, double *bps)
{
	double v;

	if (parse_si(s, &v) || v <= 0)
		return -EINVAL;
	*bps = v;
	return 0;
}

/* A size in bytes, >= 1: "100M", "64k", "4096". */
static int parse_size(const char *s, uint64_t *bytes)
{
	double v;

	if (parse_si(s, &v) || v < 1 || v > 1e18)
		return -EINVAL;
	*bytes = (uint64_t)v;
	return 0;
}

static void opts_defaults(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->group_v4_prefix = 24;
	o->group_v6_prefix = 64;
	o->jsonl_top = 100;
	o->jsonl_max = 100000000ull;
	o->history_ns = HISTORY_DEFAULT_S * 1000000000ull;
	o->history_max = HISTORY_DEFAULT_MAX;
	o->snaplen = 65535;
	o->bufsize_mb = 8;
	o->promisc = 1;
	o->mode = OPTS_MODE_AUTO;
	o->refresh_ns = 1000000000ull;
	o->keep_ns = 10000000000ull;
	o->ipfix_active_ns = 60000000000ull;
	o->ipfix_idle_ns = 15000000000ull;
	o->numeric = -1;
	o->unit = OPTS_UNIT_BITS;
}

int opts_parse(struct opts *o, int argc, char **argv, char *err, size_t errlen)
{
	struct option lopts[N_DEFS + 1];
	char shorts[N_DEFS * 2 + 4];
	size_t ns = 0;
	int c, li, rc;
	long v;
	char *end_mc;
	const char *filter_arg = NULL;

	opts_defaults(o);
	shorts[ns++] = ':'; /* report missing arguments as ':' */
	shorts[ns++] = '?';
	for (size_t i = 0; i < N_DEFS; i++) {
		lopts[i] = (struct option){ opts_defs[i].lname,
					    opts_defs[i].has_arg, NULL,
					    opts_defs[i].val };
		if (opts_defs[i].val < 0x100) {
			shorts[ns++] = (char)opts_defs[i].val;
			if (opts_defs[i].has_arg)
				shorts[ns++] = ':';
		}
	}
	shorts[ns] = '\0';
	lopts[N_DEFS] = (struct option){ 0 };

	optind = 1;
	opterr = 0;
	for (;;) {
		const char *a;
		li = -1;
		c = getopt_long(argc, argv, shorts, lopts, &li);
		if (c == -1)
			break;
		a = optarg;
		char flag[64];
		const char *want = NULL; /* what the option takes, said */

		if (c == ':' || (c == '?' && optopt)) {
			const char *what = argv[optind - 1];

			if (optopt && optopt < 0x100)
				snprintf(flag, sizeof(flag), "-%c", optopt);
			else
				snprintf(flag, sizeof(flag), "%s", what);
			rc = usage_err(err, errlen,
				       c == ':' ? "%s: missing argument"
						: "%s: unknown option",
				       flag);
			goto fail;
		}
		if (c == '?' && !optopt && argv[optind - 1][0] == '-' &&
		    strcmp(argv[optind - 1], "-?") != 0) {
			rc = usage_err(err, errlen, "%s: unknown option",
				       argv[optind - 1]);
			goto fail;
		}
		switch (c) {
		case 'i':
			if (o->n_ifaces >= OPTS_MAX_IFACES) {
				rc = usage_err(err, errlen,
					       "-i %s: too many interfaces", a);
				goto fail;
			}
			/* Opened twice, every packet would count twice. */
			for (int k = 0; k < o->n_ifaces; k++) {
				if (strcmp(o->ifaces[k], a) == 0) {
					rc = usage_err(err, errlen,
						       "-i %s: given twice", a);
					goto fail;
				}
			}
			o->ifaces[o->n_ifaces++] = a;
			break;
		case 'f':
			filter_arg = a;
			break;
		case 'r':
			o->read_file = a;
			break;
		case 'j':
			o->json = 1;
			break;
		case 't':
			if (opts_parse_duration(a, &o->timeout_ns))
				BAD("a duration: 30s, 10m, 1h30m");
			break;
		case 'l':
			if (parse_secs(a,
				       SECS_UNITS | SECS_NOSIGN | SECS_NONZERO,
				       &o->interval_ns))
				BAD("a duration: 10s, 1m, 500ms");
			break;
		case 's':
			if (parse_long(a, LONG_MIN, 262144, &v))
				BAD("bytes, at most 262144");
			o->snaplen = v <= 0 ? 65535 : (int)v;
			break;
		case 'b':
			if (parse_long(a, 1, 4096, &v))
				BAD("1 to 4096 MB");
			o->bufsize_mb = (int)v;
			break;
		case 'v':
			o->add_vlan = 1;
			break;
		case OPT_BACKEND:
			if (strcmp(a, "tpacket3") && strcmp(a, "pcap") &&
			    strcmp(a, "ebpf")) {
				rc = usage_err(err, errlen,
					       "--backend %s: unknown backend "
					       "(tpacket3, pcap or ebpf)",
					       a);
				goto fail;
			}
			o->backend = a;
			break;
		case OPT_XDP:
			if (!a || !strcmp(a, "auto"))
				o->xdp = OPTS_XDP_AUTO;
			else if (!strcmp(a, "native"))
				o->xdp = OPTS_XDP_NATIVE;
			else if (!strcmp(a, "generic"))
				o->xdp = OPTS_XDP_GENERIC;
			else {
				rc = usage_err(err, errlen,
					       "--xdp=%s: unknown mode (auto, "
					       "native or generic)",
					       a);
				goto fail;
			}
			break;
		case OPT_EBPF_FLOWS:
			if (parse_long(a, 16, 1L << 26, &v))
				BAD("16 to 67108864 slots");
			o->ebpf_flows = (uint32_t)v;
			break;
		case OPT_THREADS:
			if (parse_long(a, 1, 64, &v))
				BAD("1 to 64");
			o->threads = (int)v;
			break;
		case OPT_MAX_FLOWS:
			if (parse_long(a, 1, 100000000, &v))
				BAD("1 to 100000000");
			o->max_flows = (size_t)v;
			break;
		case '1':
			o->mode = OPTS_MODE_BATCH;
			break;
		case 'w':
			if (parse_seconds(a, &o->refresh_ns))
				BAD("seconds above 0: 1, 0.5, 2s");
			o->wait_given = 1;
			break;
		case 'k':
			if (parse_seconds(a, &o->keep_ns))
				BAD("seconds above 0: 10, 2.5, 1m");
			break;
		case 'B':
			o->unit = OPTS_UNIT_BYTES;
			break;
		case 'p':
			o->unit = OPTS_UNIT_PACKETS;
			break;
		case 'n':
			o->numeric = 1;
			break;
		case 'c':
			o->per_direction = 1;
			break;
		case 'P':
			o->promisc = 0;
			break;
		case OPT_NO_PROCS:
			o->no_procs = 1;
			break;
		case OPT_PROCS_EBPF:
			o->procs_ebpf = 1;
			break;
		case OPT_NO_COLOR:
			o->no_color = 1;
			break;
		case OPT_REPORT:
			o->report = 1;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case OPT_SNAPSHOT:
			if (!*a)
				goto bad;
			o->snapshot_path = a;
			break;
		case 'Z':
			o->user = a;
			break;
		case OPT_COUNT: {
			const char *eq = strchr(a, '=');

			if (!eq || eq == a || !eq[1]) {
				rc = usage_err(
					err, errlen,
					"--count %s: expected NAME=FILTER", a);
				goto fail;
			}
			if (o->n_counters >= OPTS_MAX_COUNTERS) {
				rc = usage_err(err, errlen,
					       "--count %s: too many counters",
					       a);
				goto fail;
			}
			o->counters[o->n_counters].name = strndup(a, eq - a);
			o->counters[o->n_counters].filter = eq + 1;
			o->n_counters++;
			break;
		}
		case 'a':
		case 'A':
			if (o->n_abbrevs >= OPTS_MAX_ABBREV) {
				rc = usage_err(err, errlen,
					       "-%s %s: too many abbreviations",
					       c == 'a' ? "a" : "A", a);
				goto fail;
			}
			o->abbrevs[o->n_abbrevs].is_file = c == 'A';
			o->abbrevs[o->n_abbrevs].arg = a;
			o->n_abbrevs++;
			break;
		case 'F':
			o->full_names = 1;
			break;
		case 'T':
			o->totals = 1;
			break;
		case OPT_TOP:
			o->top = 1;
			break;
		case OPT_LAST:
			o->last = 1;
			break;
		case 'm':
			if (parse_positive(a, &o->max_bps))
				BAD("bits/s, a number above 0: 100000000");
			break;
		case 'o':
			o->tcpstat_format = a;
			if (o->tcpstat == OPTS_TCPSTAT_OFF)
				o->tcpstat = OPTS_TCPSTAT_INTERVAL;
			break;
		case 'e':
			o->skip_empty = 1;
			break;
		case OPT_SECONDS:
			if (parse_seconds(a, &o->seconds_ns))
				BAD("seconds above 0");
			break;
		case OPT_FLUSH:
			o->flush = 1;
			break;
		case OPT_ACCOUNTING:
			o->tcpstat = OPTS_TCPSTAT_ACCOUNT;
			break;
		case OPT_BANDWIDTH:
		case OPT_DUMB_BANDWIDTH:
			if (parse_positive(a, &o->bandwidth_bps))
				BAD("bits/s, a number above 0: 100000000");
			o->tcpstat = c == OPT_BANDWIDTH ? OPTS_TCPSTAT_BANDWIDTH
							: OPTS_TCPSTAT_DUMB;
			break;
		case OPT_LINK:
			o->link_bytes = 1;
			break;
		case OPT_DIFF:
			o->diff = 1;
			break;
		case OPT_GROUP_BY: {
			enum group_by by;

			if (group_parse(a, &by))
				BAD("host, net, port, proto, vlan, interface, "
				    "process or app");
			o->group_by = (int)by;
			break;
		}
		case OPT_JSONL:
			o->jsonl_path = a;
			break;
		case OPT_JSONL_TOP: {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(a, &end, 10);
			if (errno || end == a || *end || v > 100000 ||
			    *a == '-')
				goto bad;
			o->jsonl_top = (size_t)v;
			break;
		}
		case OPT_JSONL_MAX:
			if (parse_size(a, &o->jsonl_max))
				BAD("a size: 100M, 1G");
			break;
		case OPT_EXIT_OVER:
			if (parse_rate(a, &o->exit_over_bps))
				BAD("bits/s: 800k, 1G");
			break;
		case OPT_GROUP_PREFIX:
			if (group_parse_prefix(a, &o->group_v4_prefix,
					       &o->group_v6_prefix))
				BAD("IPv4,IPv6 prefix lengths: 24,64");
			break;
		case OPT_HISTORY:
			/* 0 is off; else 1 s to a day */
			if (!strcmp(a, "0"))
				o->history_ns = 0;
			else if (opts_parse_duration(a, &o->history_ns) ||
				 (o->history_ns &&
				  (o->history_ns < 1000000000ull ||
				   o->history_ns > 86400000000000ull)))
				BAD("0 for off, or 1s to 24h");
			break;
		case OPT_HISTORY_MAX:
			if (parse_size(a, &o->history_max))
				BAD("a size: 256M, 1G");
			break;
		case OPT_RELATIVE: {
			char *end;

			errno = 0;
			o->relative_s = strtod(a, &end);
			if (errno || end == a || *end)
				goto bad;
			break;
		}
		case OPT_METRICS:
			if (!*a)
				goto bad;
			o->metrics_addr = a;
			break;
		case OPT_METRICS_FILE:
			if (!*a)
				goto bad;
			o->metrics_file = a;
			break;
		case OPT_METRICS_TOP:
			if (parse_long(a, 0, 1000, &v))
				BAD("0 to 1000");
			o->metrics_top = (int)v;
			break;
		case OPT_IPFIX:
			if (!*a)
				goto bad;
			o->ipfix = a;
			break;
		case OPT_IPFIX_ACTIVE:
		case OPT_IPFIX_IDLE: {
			uint64_t ns;

			if (opts_parse_duration(a, &ns) || ns < 1000000000ull ||
			    ns > 86400000000000ull)
				BAD("1s to 24h");
			if (c == OPT_IPFIX_ACTIVE)
				o->ipfix_active_ns = ns;
			else
				o->ipfix_idle_ns = ns;
			break;
		}
		case 'd':
			o->daemon = 1;
			break;
		case 'g':
			o->group = a;
			break;
		case OPT_SOCKET:
			o->socket_path = a;
			break;
		case OPT_PIDFILE:
			o->pidfile = a;
			break;
		case 'D':
			o->debug = 1;
			break;
		case OPT_MAX_CLIENTS:
			v = strtol(a, &end_mc, 10);
			if (*end_mc || !*a || v < 1 || v > 4096)
				goto bad;
			o->max_clients = (int)v;
			break;
		case OPT_CONNECT:
			o->connect = 1;
			/* "--connect PATH" as well as "--connect=PATH": a
			 * next word that looks like a path is the socket */
			if (!a && optind < argc &&
			    (argv[optind][0] == '/' || argv[optind][0] == '.'))
				a = argv[optind++];
			if (a)
				o->socket_path = a;
			break;
		case OPT_VERSION:
			o->version = 1;
			break;
		case 'h':
		case '?':
			o->help = 1;
			break;
		default:
			rc = usage_err(err, errlen, "unknown option");
			goto fail;
		}
		continue;
	bad:
		/* The flag as typed: "--max-bps 0", "-m 0". */
		if (li >= 0)
			snprintf(flag, sizeof(flag), "--%s", lopts[li].name);
		else
			snprintf(flag, sizeof(flag), "-%c", c);
		if (want)
			rc = usage_err(err, errlen, "%s %s: invalid value (%s)",
				       flag, a, want);
		else
			rc = usage_err(err, errlen, "%s %s: invalid value",
				       flag, a);
		goto fail;
	}
	/* tcpstat: "pktstat -r f.pcap -o FMT 2" or "pktstat -r f.pcap 2": a
	 * lone trailing number is the interval, never a filter (a number is
	 * not a valid filter expression anyway). */
	if (optind == argc - 1 &&
	    is_interval(argv[optind], &o->tcpstat_interval_ns)) {
		o->tcpstat_interval_given = 1;
		if (o->tcpstat == OPTS_TCPSTAT_OFF)
			o->tcpstat = OPTS_TCPSTAT_INTERVAL;
		optind++;
	}
	if (o->tcpstat != OPTS_TCPSTAT_OFF && o->json) {
		rc = usage_err(err, errlen,
			       "-j: not available with tcpstat output (-o, "
			       "--accounting, --bandwidth)");
		goto fail;
	}
	if (o->diff) {
		if (argc - optind != 2 || filter_arg) {
			rc = usage_err(err, errlen,
				       "--diff: needs two snapshot files, "
				       "OLD.json NEW.json");
			goto fail;
		}
		o->diff_old = argv[optind];
		o->diff_new = argv[optind + 1];
		optind = argc;
	}
	if (optind < argc && opts_is_verb(argv[optind])) {
		/* client mode: "pktstat [--socket PATH] VERB ARGS..." */
		if (o->daemon || o->connect) {
			rc = usage_err(err, errlen,
				       "%s: a client command cannot be "
				       "combined with %s",
				       argv[optind],
				       o->daemon ? "-d" : "--connect");
			goto fail;
		}
		o->client_argc = argc - optind;
		o->client_argv = argv + optind;
		optind = argc;
	}
	if (o->daemon && (o->read_file || o->connect)) {
		rc = usage_err(err, errlen, "-d: cannot be combined with %s",
			       o->read_file ? "-r" : "--connect");
		goto fail;
	}
	if (!o->daemon && (o->group || o->pidfile)) {
		rc = usage_err(err, errlen, "%s: only with -d (daemon)",
			       o->group ? "-g" : "--pidfile");
		goto fail;
	}
	if (optind < argc) {
		if (filter_arg) {
			rc = usage_err(err, errlen,
				       "%s: a filter was given with -f and as "
				       "trailing arguments",
				       argv[optind]);
			goto fail;
		}
		o->filter = join_args(argc - optind, argv + optind);
	} else if (filter_arg) {
		o->filter = strdup(filter_arg);
	}
	if ((optind < argc || filter_arg) && !o->filter) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	if (o->read_file && o->n_ifaces) {
		rc = usage_err(err, errlen, "-r %s: cannot be combined with -i",
			       o->read_file);
		goto fail;
	}
	if (o->xdp && o->backend && strcmp(o->backend, "ebpf")) {
		rc = usage_err(err, errlen, "--xdp: only with --backend ebpf");
		goto fail;
	}
	if (o->xdp)
		o->backend = "ebpf";
	if (o->backend && !strcmp(o->backend, "ebpf")) {
		const char *why = o->read_file ? "-r"
				  : o->tcpstat != OPTS_TCPSTAT_OFF
					  ? "tcpstat output"
					  : NULL;

		if (why) {
			rc = usage_err(
				err, errlen,
				"--backend ebpf: not with %s (it counts in the "
				"kernel: no frames reach pktstat)",
				why);
			goto fail;
		}
	}
	if (!o->no_color) {
		const char *nc = getenv("NO_COLOR");
		if (nc && *nc)
			o->no_color = 1;
	}
	return 0;
fail:
	opts_free(o);
	return rc;
}

int opts_is_verb(const char *word)
{
	static const char *const verbs[] = { "new",  "modify", "stop", "list",
					     "show", "poll",   "watch" };

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(word, verbs[i]) == 0)
			return 1;
	return 0;
}

void opts_free(struct opts *o)
{
	free(o->filter);
	o->filter = NULL;
	for (int i = 0; i < o->n_counters; i++)
		free((char *)o->counters[i].name);
	o->n_counters = 0;
}
