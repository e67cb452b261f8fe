/* test_opts.c - command line parsing: flags, values, errors. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "opts.h"

static int parse(struct opts *o, char *err, size_t len, int n, ...)
{
	char *argv[32];
	va_list ap;

	argv[0] = "pktstat";
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		argv[i + 1] = va_arg(ap, char *);
	va_end(ap);
	argv[n + 1] = NULL;
	return opts_parse(o, n + 1, argv, err, len);
}

Test(opts, defaults)
{
	struct opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, sizeof(err), 0), 0);
	cr_assert_eq(o.snaplen, 65535);
	cr_assert_eq(o.bufsize_mb, 8);
	cr_assert_eq(o.promisc, 1);
	cr_assert_eq(o.refresh_ns, 1000000000ull);
	cr_assert_eq(o.keep_ns, 10000000000ull);
	cr_assert_null(o.filter);
	opts_free(&o);
}

Test(opts, dkorunic_flags)
{
	struct opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, sizeof(err), 12, "-i", "eth0", "-i", "eth1",
			   "-f", "tcp", "-j", "-t", "10m0s", "-s", "0", "-v"),
		     0, "%s", err);
	cr_assert_eq(o.n_ifaces, 2);
	cr_assert_str_eq(o.ifaces[1], "eth1");
	cr_assert_str_eq(o.filter, "tcp");
	cr_assert_eq(o.json, 1);
	cr_assert_eq(o.timeout_ns, 600ull * 1000000000ull);
	cr_assert_eq(o.snaplen, 65535);
	cr_assert_eq(o.add_vlan, 1);
	opts_free(&o);
}

Test(opts, trailing_filter_joined)
{
	struct opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, sizeof(err), 5, "-r", "x.pcap", "udp",
			   "and", "port 53"),
		     0);
	cr_assert_str_eq(o.filter, "udp and port 53");
	cr_assert_str_eq(o.read_file, "x.pcap");
	opts_free(&o);
}

Test(opts, filter_twice_is_an_error)
{
	struct opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, sizeof(err), 3, "-f", "tcp", "udp"),
		     -EINVAL);
	cr_assert(strstr(err, "filter") != NULL, "%s", err);
}

/* Issue 16.7: -i uxa0 -i uxa0 counted every packet twice. */
Test(opts, interface_twice_is_an_error)
{
	struct opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, sizeof(err), 4, "-i", "uxa0", "-i", "uxa0"),
		     -EINVAL);
	cr_assert_str_eq(err, "-i uxa0: given twice");
	cr_assert_eq(parse(&o, err, sizeof(err), 4, "-i", "uxa0", "-i", "uxa1"),
		     0);
	cr_assert_eq(o.n_ifaces, 2);
	opts_free(&o);
}

Test(opts, unknown_flag_named)
{
	struct opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, sizeof(err), 1, "--bogus"), -EINVAL);
	cr_assert(strstr(err, "--bogus") != NULL, "%s", err);
	cr_assert_eq(parse(&o, err, sizeof(err), 1, "-X"), -EINVAL);
	cr_assert(strstr(err, "-X") != NULL, "%s", err);
	cr_assert_eq(OPTS_EXIT_USAGE, 2);
}

Test(opts, bad_values_named)
{
	struct opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, sizeof(err), 2, "-t", "ten"), -EINVAL);
	cr_assert(strstr(err, "-t ten") != NULL, "%s", err);
	cr_assert_eq(parse(&o, err, sizeof(err), 2, "-b", "0"), -EINVAL);
	cr_assert_eq(parse(&o, err, sizeof(err), 2, "--threads", "x"), -EINVAL);
	cr_assert(strstr(err, "--threads") != NULL, "%s", err);
	cr_assert_eq(parse(&o, err, sizeof(err), 2, "--backend", "dpdk"),
		     -EINVAL);
	cr_assert_eq(parse(&o, err, sizeof(err), 1, "-i"), -EINVAL);
	cr_assert(strstr(err, "missing") != NULL, "%s", err);
	cr_assert_eq(parse(&o, err, sizeof(err), 2, "-w", "-1"), -EINVAL);
}

Test(opts, durations)
{
	uint64_t ns;

	cr_assert_eq(opts_parse_duration("10m0s", &ns), 0);
	cr_assert_eq(ns, 600000000000ull);
	cr_assert_eq(opts_parse_duration("1.5s", &ns), 0);
	cr_assert_eq(ns, 1500000000ull);
	cr_assert_eq(opts_parse_duration("1h2m3s", &ns), 0);
	cr_assert_eq(ns, 3723000000000ull);
	cr_assert_eq(opts_parse_duration("300ms", &ns), 0);
	cr_assert_eq(ns, 300000000ull);
	cr_assert_eq(opts_parse_duration("2", &ns), 0);
	cr_assert_eq(ns, 2000000000ull);
	cr_assert_eq(opts_parse_duration("0", &ns), 0);
	cr_assert_eq(ns, 0);
	cr_assert_eq(opts_parse_duration("5x", &ns), -EINVAL);
	cr_assert_eq(opts_parse_duration("", &ns), -EINVAL);
	cr_assert_eq(opts_parse_duration("s", &ns), -EINVAL);
	cr_assert_eq(opts_parse_duration("-1s", &ns), -EINVAL);
}

/*
 * One parser reads every time, with each option's own rules kept: -t and
 * Go durations refuse a sign and take 0; -w, -k and --seconds take a
 * sign or leading blank but not 0; -l takes no 0; tcpstat's trailing
 * interval is a plain number only (else it is a filter).
 */
static int secs_of(const char *flag, const char *v, uint64_t *out, int which)
{
	struct opts o;
	char err[256];
	int rc = parse(&o, err, sizeof(err), 2, flag, v);

	if (rc == 0) {
		*out = which == 'w'   ? o.refresh_ns
		       : which == 'k' ? o.keep_ns
		       : which == 'l' ? o.interval_ns
		       : which == 's' ? o.seconds_ns
				      : o.timeout_ns;
		opts_free(&o);
	} else {
		cr_assert(strstr(err, "invalid value") != NULL, "%s", err);
		cr_assert(strstr(err, v) != NULL, "%s", err);
	}
	return rc;
}

Test(opts, seconds_rules_per_option)
{
	uint64_t ns = 0;

	/* -w: fractions, signs, leading blanks, units; never 0 */
	cr_assert_eq(secs_of("-w", "+2", &ns, 'w'), 0);
	cr_assert_eq(ns, 2000000000ull);
	cr_assert_eq(secs_of("-w", " 2", &ns, 'w'), 0);
	cr_assert_eq(ns, 2000000000ull);
	cr_assert_eq(secs_of("-w", "1m30s", &ns, 'w'), 0);
	cr_assert_eq(ns, 90000000000ull);
	cr_assert_eq(secs_of("-w", "1e-3", &ns, 'w'), 0);
	cr_assert_eq(ns, 1000000ull);
	cr_assert_eq(secs_of("-w", "0", &ns, 'w'), -EINVAL);
	cr_assert_eq(secs_of("-w", "0s", &ns, 'w'), -EINVAL);
	cr_assert_eq(secs_of("-w", "1e-12", &ns, 'w'), -EINVAL);
	cr_assert_eq(secs_of("-w", "2e9", &ns, 'w'), -EINVAL);
	cr_assert_eq(secs_of("-w", "2 ", &ns, 'w'), -EINVAL);
	cr_assert_eq(secs_of("-k", "-0", &ns, 'k'), -EINVAL);
	cr_assert_eq(secs_of("-k", "300ms", &ns, 'k'), 0);
	cr_assert_eq(ns, 300000000ull);
	cr_assert_eq(secs_of("--seconds", "0.25", &ns, 's'), 0);
	cr_assert_eq(ns, 250000000ull);
	/* -t: a duration; 0 allowed, no sign */
	cr_assert_eq(secs_of("-t", "0", &ns, 't'), 0);
	cr_assert_eq(ns, 0);
	cr_assert_eq(secs_of("-t", "+2", &ns, 't'), -EINVAL);
	cr_assert_eq(secs_of("-t", "1e9", &ns, 't'), 0);
	cr_assert_eq(ns, 1000000000ull * 1000000000ull);
	cr_assert_eq(secs_of("-t", "1\xc2\xb5s", &ns, 't'), 0);
	cr_assert_eq(ns, 1000);
	/* -l: a duration, not 0 */
	cr_assert_eq(secs_of("-l", "500ms", &ns, 'l'), 0);
	cr_assert_eq(ns, 500000000ull);
	cr_assert_eq(secs_of("-l", "0", &ns, 'l'), -EINVAL);
	cr_assert_eq(secs_of("-l", "0s", &ns, 'l'), -EINVAL);
	cr_assert_eq(opts_parse_duration("1e-12", &ns), 0);
	cr_assert_eq(ns, 0);
	cr_assert_eq(opts_parse_duration(" -0", &ns), 0);
	cr_assert_eq(ns, 0);
	cr_assert_eq(opts_parse_duration("1h0.5m", &ns), 0);
	cr_assert_eq(ns, 3630000000000ull);
	cr_assert_eq(opts_parse_duration("2e18ns", &ns), -EINVAL);
}

Test(opts, trailing_interval_is_a_plain_number)
{
	struct opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, sizeof(err), 3, "-r", "f", ".5"), 0, "%s",
		     err);
	cr_assert_eq(o.tcpstat_interval_given, 1);
	cr_assert_eq(o.tcpstat_interval_ns, 500000000ull);
	cr_assert_null(o.filter);
	opts_free(&o);
	cr_assert_eq(parse(&o, err, sizeof(err), 3, "-r", "f", "0"), 0, "%s",
		     err);
	cr_assert_eq(o.tcpstat_interval_given, 1);
	cr_assert_eq(o.tcpstat_interval_ns, 0);
	opts_free(&o);
	/* units, a sign or a blank: not an interval, so the filter */
	cr_assert_eq(parse(&o, err, sizeof(err), 3, "-r", "f", "1s"), 0, "%s",
		     err);
	cr_assert_eq(o.tcpstat_interval_given, 0);
	cr_assert_str_eq(o.filter, "1s");
	opts_free(&o);
	cr_assert_eq(parse(&o, err, sizeof(err), 3, "-r", "f", "+2"), 0, "%s",
		     err);
	cr_assert_eq(o.tcpstat_interval_given, 0);
	cr_assert_str_eq(o.filter, "+2");
	opts_free(&o);
}

/* Every usage error is one line naming what is wrong, with no printf
 * leftovers, and leaves nothing allocated (opts_free is safe after). */
Test(opts, usage_errors_one_clean_line)
{
	static const char *const cases[][4] = {
		{ "-i", "lo", "-i", "lo" },
		{ "--backend", "dpdk", NULL, NULL },
		{ "--xdp=bogus", NULL, NULL, NULL },
		{ "--count", "x", NULL, NULL },
		{ "-d", "-r", "f", NULL },
		{ "-g", "wheel", NULL, NULL },
		{ "-j", "-o", "%p", NULL },
		{ "--diff", "a", NULL, NULL },
		{ "-f", "tcp", "udp", NULL },
		{ "--xdp", "--backend", "pcap", NULL },
		{ "--backend", "ebpf", "-r", "f" },
	};
	struct opts o;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = 0;

		while (n < 4 && cases[i][n])
			n++;
		err[0] = 0;
		cr_assert_eq(parse(&o, err, sizeof(err), n, cases[i][0],
				   cases[i][1], cases[i][2], cases[i][3]),
			     -EINVAL, "case %zu", i);
		cr_assert(err[0] && !strchr(err, '\n') && !strstr(err, "%s") &&
				  !strstr(err, "(null)"),
			  "case %zu: %s", i, err);
		cr_assert_null(o.filter, "case %zu", i);
		cr_assert_eq(o.n_counters, 0, "case %zu", i);
		opts_free(&o);
	}
}

Test(opts, help_and_version)
{
	struct opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, sizeof(err), 1, "-?"), 0);
	cr_assert_eq(o.help, 1);
	opts_free(&o);
	cr_assert_eq(parse(&o, err, sizeof(err), 1, "--version"), 0);
	cr_assert_eq(o.version, 1);
	opts_free(&o);
}

Test(opts, refresh_fractions_and_modes)
{
	struct opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, sizeof(err), 6, "-w", "0.5", "-1", "-B",
			   "-k", "3"),
		     0);
	cr_assert_eq(o.refresh_ns, 500000000ull);
	cr_assert_eq(o.mode, OPTS_MODE_BATCH);
	cr_assert_eq(o.unit, OPTS_UNIT_BYTES);
	cr_assert_eq(o.keep_ns, 3000000000ull);
	opts_free(&o);
}

Test(opts, read_with_iface_conflicts)
{
	struct opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, sizeof(err), 4, "-r", "f", "-i", "lo"),
		     -EINVAL);
	cr_assert(strstr(err, "-r") != NULL);
}

Test(opts, counters)
{
	struct opts o;
	char err[256];

	cr_assert_eq(
		parse(&o, err, sizeof(err), 2, "--count", "web=tcp port 80"),
		0);
	cr_assert_eq(o.n_counters, 1);
	cr_assert_str_eq(o.counters[0].name, "web");
	cr_assert_str_eq(o.counters[0].filter, "tcp port 80");
	opts_free(&o);
	cr_assert_eq(parse(&o, err, sizeof(err), 2, "--count", "nofilter"),
		     -EINVAL);
}

/* The original pktstat's -m: a positive number of bits per second. */
Test(opts, max_bps)
{
	static const char *const bad[] = { "0",	  "-5",	   "10M", "nan",
					   "inf", "1e400", "",	  "0x" };
	struct opts o;
	char err[256];
	size_t i;

	cr_assert_eq(parse(&o, err, sizeof(err), 0), 0);
	cr_assert_float_eq(o.max_bps, 0.0, 1e-9, "default: the peak");
	cr_assert_eq(parse(&o, err, sizeof(err), 2, "-m", "100000000"), 0, "%s",
		     err);
	cr_assert_float_eq(o.max_bps, 1e8, 1e-3);
	cr_assert_eq(parse(&o, err, sizeof(err), 2, "--max-bps", "1.5e6"), 0);
	cr_assert_float_eq(o.max_bps, 1.5e6, 1e-3);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[128];

		cr_assert_eq(parse(&o, err, sizeof(err), 2, "-m", bad[i]),
			     -EINVAL, "-m '%s' accepted", bad[i]);
		snprintf(want, sizeof(want),
			 "-m %s: invalid value (bits/s, a number above 0: "
			 "100000000)",
			 bad[i]);
		cr_assert_str_eq(err, want);
	}
	/* The flag as typed, and what it takes. */
	cr_assert_eq(parse(&o, err, sizeof(err), 2, "--max-bps", "0"), -EINVAL);
	cr_assert_str_eq(err, "--max-bps 0: invalid value (bits/s, a number "
			      "above 0: 100000000)");
	cr_assert_eq(parse(&o, err, sizeof(err), 1, "-m"), -EINVAL);
	cr_assert_str_eq(err, "-m: missing argument");
}

Test(opts, exporters)
{
	struct opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, sizeof(err), 6, "--metrics", "9417",
			   "--metrics-file", "/x/p.prom", "--metrics-top", "5"),
		     0);
	cr_assert_str_eq(o.metrics_addr, "9417");
	cr_assert_str_eq(o.metrics_file, "/x/p.prom");
	cr_assert_eq(o.metrics_top, 5);
	opts_free(&o);
	cr_assert_eq(parse(&o, err, sizeof(err), 2, "--metrics-top", "1001"),
		     -EINVAL);
	cr_assert_str_eq(err, "--metrics-top 1001: invalid value (0 to 1000)");
	cr_assert_eq(parse(&o, err, sizeof(err), 2, "--metrics", ""), -EINVAL);
}

/* Every bad value says what its option takes; one example per kind. */
Test(opts, bad_values_say_what_is_taken)
{
	static const char *const cases[][3] = {
		{ "--ebpf-flows", "8", "(16 to 67108864 slots)" },
		{ "--group-by", "nope",
		  "(host, net, port, proto, vlan, interface, process or "
		  "app)" },
		{ "-t", "5q", "(a duration: 30s, 10m, 1h30m)" },
		{ "-w", "0", "(seconds above 0: 1, 0.5, 2s)" },
		{ "--history", "2d", "(0 for off, or 1s to 24h)" },
		{ "--threads", "65", "(1 to 64)" },
	};
	struct opts o;
	char err[256], want[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(parse(&o, err, sizeof(err), 2, cases[i][0],
				   cases[i][1]),
			     -EINVAL, "%s %s accepted", cases[i][0],
			     cases[i][1]);
		snprintf(want, sizeof(want), "%s %s: invalid value %s",
			 cases[i][0], cases[i][1], cases[i][2]);
		cr_assert_str_eq(err, want);
	}
}

Test(opts, history_window_and_cap)
{
	struct opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, sizeof(err), 0), 0);
	cr_assert_eq(o.history_ns, 600000000000ull, "10m by default");
	cr_assert_eq(o.history_max, 256000000ull);
	opts_free(&o);
	cr_assert_eq(parse(&o, err, sizeof(err), 4, "--history", "2m30s",
			   "--history-max", "64M"),
		     0);
	cr_assert_eq(o.history_ns, 150000000000ull);
	cr_assert_eq(o.history_max, 64000000ull);
	opts_free(&o);
	cr_assert_eq(parse(&o, err, sizeof(err), 2, "--history", "0"), 0);
	cr_assert_eq(o.history_ns, 0, "0: off");
	opts_free(&o);
	cr_assert_neq(parse(&o, err, sizeof(err), 2, "--history", "500ms"), 0);
	cr_assert(strstr(err, "history"), "%s", err);
	cr_assert_neq(parse(&o, err, sizeof(err), 2, "--history", "2d"), 0);
	cr_assert_neq(parse(&o, err, sizeof(err), 2, "--history-max", "x"), 0);
}
