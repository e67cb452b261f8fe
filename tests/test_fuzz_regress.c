/*
 * test_fuzz_regress.c - replays tests/regress/<target>-<what>: every input
 * a fuzzer ever found, and hand-made hostile ones, through the same
 * invariant checks as the libFuzzer targets (fuzz/invariants.c), without
 * libFuzzer. Also asserts the decoder's verdict on some inputs by name,
 * and that the checks themselves catch a forged violation.
 *
 * Run from the source tree root (make test does); PKTSTAT_REGRESS_DIR
 * overrides the directory.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu.h>

#include "../fuzz/invariants.h"

typedef int (*replay_fn)(const uint8_t *data, size_t size,
			 struct invariants_run *run, char *why, size_t whylen);

static const struct {
	const char *prefix;
	replay_fn fn;
} targets[] = {
	{ "fuzz_decode-", invariants_decode },
	{ "fuzz_flowtab-", invariants_flowtab },
	{ "fuzz_pcapfile-", invariants_pcapfile },
	{ "fuzz_proto-", invariants_proto },
	{ "fuzz_app-", invariants_app },
	{ "fuzz_procs-", invariants_procs },
};

static void setup(void)
{
	rcu_register_thread();
}

static void teardown(void)
{
	rcu_unregister_thread();
}

TestSuite(fuzz_regress, .init = setup, .fini = teardown, .timeout = 120);

static const char *regress_dir(void)
{
	const char *env = getenv("PKTSTAT_REGRESS_DIR");

	return env && *env ? env : "tests/regress";
}

/* The whole file, or NULL (errno set). */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (!f)
		return NULL;
	for (;;) {
		if (n == cap) {
			uint8_t *p = realloc(buf, cap ? cap * 2 : 4096);

			if (!p) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
			cap = cap ? cap * 2 : 4096;
		}
		r = fread(buf + n, 1, cap - n, f);
		if (!r)
			break;
		n += r;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* Run one named input through its target; the run is filled. */
static void run_one(const char *name, struct invariants_run *run)
{
	char path[4096], why[512] = "";
	uint8_t *data;
	size_t len = 0;
	replay_fn fn = NULL;

	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		if (!strncmp(name, targets[i].prefix,
			     strlen(targets[i].prefix)))
			fn = targets[i].fn;
	cr_assert_not_null(fn, "%s: no target", name);
	snprintf(path, sizeof(path), "%s/%s", regress_dir(), name);
	data = slurp(path, &len);
	cr_assert_not_null(data, "%s: %s", path, strerror(errno));
	cr_assert_eq(fn(data, len, run, why, sizeof(why)), 0, "%s: %s", name,
		     why);
	free(data);
}

/* Replay every file of one target; returns how many there were. */
static unsigned int replay_all(const char *prefix, replay_fn fn)
{
	char path[4096], why[512];
	struct invariants_run run;
	unsigned int n = 0;
	struct dirent *de;
	DIR *d = opendir(regress_dir());

	cr_assert_not_null(d, "%s: %s (run from the source tree root)",
			   regress_dir(), strerror(errno));
	while ((de = readdir(d))) {
		uint8_t *data;
		size_t len = 0;

		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", regress_dir(),
			 de->d_name);
		data = slurp(path, &len);
		cr_assert_not_null(data, "%s: %s", path, strerror(errno));
		why[0] = '\0';
		cr_expect_eq(fn(data, len, &run, why, sizeof(why)), 0, "%s: %s",
			     de->d_name, why);
		free(data);
		n++;
	}
	closedir(d);
	return n;
}

Test(fuzz_regress, decode_inputs_keep_invariants)
{
	cr_assert_geq(replay_all("fuzz_decode-", invariants_decode), 10);
}

Test(fuzz_regress, flowtab_inputs_keep_invariants)
{
	cr_assert_geq(replay_all("fuzz_flowtab-", invariants_flowtab), 5);
}

Test(fuzz_regress, pcapfile_inputs_keep_invariants)
{
	cr_assert_geq(replay_all("fuzz_pcapfile-", invariants_pcapfile), 5);
}

Test(fuzz_regress, app_inputs_keep_invariants)
{
	cr_assert_geq(replay_all("fuzz_app-", invariants_app), 10);
}

Test(fuzz_regress, procs_inputs_keep_invariants)
{
	cr_assert_geq(replay_all("fuzz_procs-", invariants_procs), 4);
}

/* A file no target claims would never be replayed. */
Test(fuzz_regress, proto_inputs_keep_invariants)
{
	cr_assert_geq(replay_all("fuzz_proto-", invariants_proto), 5);
}

Test(fuzz_regress, every_file_names_its_target)
{
	struct dirent *de;
	DIR *d = opendir(regress_dir());
	unsigned int files = 0;

	cr_assert_not_null(d);
	while ((de = readdir(d))) {
		int known = 0;

		if (de->d_name[0] == '.')
			continue;
		for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]);
		     i++)
			known |= !strncmp(de->d_name, targets[i].prefix,
					  strlen(targets[i].prefix));
		cr_expect(known, "tests/regress/%s names no fuzz target",
			  de->d_name);
		files++;
	}
	closedir(d);
	cr_assert_geq(files, 20);
}

/* ---- the verdicts on some hostile inputs ------------------------------- */

Test(fuzz_regress, vlan_stack_of_100_stops_at_the_depth_limit)
{
	struct invariants_run r;

	run_one("fuzz_decode-vlan-stack-100", &r);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.dec.err, DEC_ERR_VLAN_DEPTH);
	cr_assert_eq(r.dec.kind, KIND_OTHER);
	cr_assert_eq(r.dec.vlan, 1);
}

Test(fuzz_regress, stripped_tag_plus_three_is_within_the_limit)
{
	struct invariants_run r;

	run_one("fuzz_decode-vlan-stripped-plus-3", &r);
	cr_assert_eq(r.dec.err, DEC_OK);
	cr_assert_eq(r.dec.kind, KIND_UDP4);
	cr_assert_eq(r.dec.vlan, 0x121, "outermost = the stripped tag");
	cr_assert_eq(r.dec.dport, 53);
}

Test(fuzz_regress, truncated_ipv6_chain_is_an_ext_error)
{
	struct invariants_run r;

	run_one("fuzz_decode-ipv6-ext-chain-truncated", &r);
	cr_assert_eq(r.dec.err, DEC_ERR_IP6_EXT);
	cr_assert_eq(r.dec.kind, KIND_IP6);
	cr_assert_eq(r.dec.ipproto, 43, "stopped at the routing header");
	run_one("fuzz_decode-ipv6-ext-17-headers", &r);
	cr_assert_eq(r.dec.err, DEC_ERR_IP6_EXT);
	cr_assert_eq(r.dec.flags & DEC_F_PORTS, 0);
}

Test(fuzz_regress, truncated_headers_give_their_reasons)
{
	struct invariants_run r;

	run_one("fuzz_decode-ipv4-ihl15-truncated", &r);
	cr_assert_eq(r.dec.err, DEC_ERR_IP4_TRUNC);
	run_one("fuzz_decode-arp-huge-lengths", &r);
	cr_assert_eq(r.dec.err, DEC_ERR_ARP);
	cr_assert_eq(r.dec.kind, KIND_ARP);
	run_one("fuzz_decode-sll2-short", &r);
	cr_assert_eq(r.dec.err, DEC_ERR_LINK);
	run_one("fuzz_decode-tcp-ports-cut", &r);
	cr_assert_eq(r.dec.err, DEC_ERR_L4_TRUNC);
	cr_assert_eq(r.dec.kind, KIND_TCP4);
	cr_assert_eq(r.dec.flags & DEC_F_PORTS, 0);
	run_one("fuzz_decode-empty-frame", &r);
	cr_assert_eq(r.dec.err, DEC_ERR_LINK);
	run_one("fuzz_decode-raw-version-5", &r);
	cr_assert_eq(r.dec.err, DEC_ERR_IP4_BAD);
	cr_assert_eq(r.dec.kind, KIND_OTHER);
	run_one("fuzz_decode-unsupported-dlt", &r);
	cr_assert_eq(r.status, -EPROTONOSUPPORT);
}

Test(fuzz_regress, later_fragments_have_no_ports)
{
	struct invariants_run r;

	run_one("fuzz_decode-ipv4-later-fragment", &r);
	cr_assert_eq(r.dec.kind, KIND_IP4);
	cr_assert_eq(r.dec.flags & (DEC_F_FRAG_LATER | DEC_F_PORTS),
		     DEC_F_FRAG_LATER);
	run_one("fuzz_decode-ipv6-later-fragment", &r);
	cr_assert_eq(r.dec.kind, KIND_IP6);
	cr_assert_eq(r.dec.flags & (DEC_F_FRAG_LATER | DEC_F_PORTS),
		     DEC_F_FRAG_LATER);
	run_one("fuzz_decode-null-swapped-af6", &r);
	cr_assert_eq(r.dec.kind, KIND_UDP6);
	cr_assert_eq(r.dec.err, DEC_OK);
}

Test(fuzz_regress, flowtab_churn_overflows_and_expires)
{
	struct invariants_run r;

	run_one("fuzz_flowtab-overflow-churn", &r);
	cr_assert_eq(r.pkts, 200);
	cr_assert_gt(r.overflow, 0);
	cr_assert_gt(r.expired, 0);
	cr_assert_leq(r.live, INVARIANTS_MAX_FLOWS);
	cr_assert_eq(r.st.kind_pkts[KIND_UDP4], 200);
	run_one("fuzz_flowtab-alloc-failures", &r);
	cr_assert_geq(r.overflow, 7, "7 injected allocation failures");
	run_one("fuzz_flowtab-truncated-record", &r);
	cr_assert_eq(r.pkts, 3, "the cut record is still fed");
}

Test(fuzz_regress, pcap_files_read_or_fail_in_one_line)
{
	struct invariants_run r;

	run_one("fuzz_pcapfile-synth-ethernet-snaplen64", &r);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.pkts, 2);
	cr_assert_eq(r.st.kind_pkts[KIND_UDP4], 2);
	run_one("fuzz_pcapfile-synth-unsupported", &r);
	cr_assert_eq(r.status, -EPROTONOSUPPORT);
	cr_assert_eq(r.pkts, 0);
	run_one("fuzz_pcapfile-caplen-huge", &r);
	cr_assert_lt(r.status, 0, "the bogus record is an error");
	cr_assert_eq(r.pkts, 1, "the good record before it is counted");
	run_one("fuzz_pcapfile-be-nano-raw", &r);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.pkts, 1);
	cr_assert_eq(r.st.kind_pkts[KIND_UDP4], 1);
}

Test(fuzz_regress, pcap_snaplen_0_still_reads_the_record)
{
	struct invariants_run r;

	run_one("fuzz_pcapfile-snaplen0-long-record", &r);
	cr_assert_eq(r.status, 0);
	cr_assert_eq(r.pkts, 1);
	cr_assert_eq(r.bytes, 47);
	cr_assert_eq(r.received, 1);
}

/*
 * Finding 1 (fuzz/RESULTS.md): a read error after some frames of a batch
 * (a truncated last record) made capture/pcap.c drop that batch from
 * cap_stats.received, so the report said fewer frames received than it
 * counted. Fails until capture/pcap.c counts delivered frames itself.
 */
Test(fuzz_regress, pcap_received_counts_frames_before_a_read_error)
{
	struct invariants_run r;

	run_one("fuzz_pcapfile-received-after-read-error", &r);
	cr_assert_lt(r.status, 0, "the cut record header is a read error");
	cr_assert_eq(r.pkts, 3);
	cr_assert_eq(r.received, r.pkts,
		     "cap_stats.received %" PRIu64 " != %" PRIu64
		     " frames delivered",
		     r.received, r.pkts);
}

/* ---- the checks can fail ----------------------------------------------- */

Test(fuzz_regress, decode_check_catches_forged_results)
{
	static const uint8_t frame[] = { 0x45 };
	struct dec_pkt d;
	char why[256];

	memset(&d, 0, sizeof(d));
	d.kind = KIND_UDP4;
	d.l3_off = 14;
	d.l4_off = 34;
	d.flags = DEC_F_PORTS;
	cr_assert_eq(invariants_check_dec(1, 38, -1, 0, &d, why, sizeof(why)),
		     0, "%s", why);
	cr_assert_eq(invariants_check_dec(1, 37, -1, 0, &d, why, sizeof(why)),
		     -1, "ports past the frame");
	cr_assert(strstr(why, "ports"), "%s", why);
	d.l4_off = 40;
	cr_assert_eq(invariants_check_dec(1, 38, -1, 0, &d, why, sizeof(why)),
		     -1, "l4_off past the frame");
	d.l4_off = 30;
	cr_assert_eq(invariants_check_dec(1, 60, -1, 0, &d, why, sizeof(why)),
		     -1, "l4_off inside the IPv4 header");
	d.l4_off = 34;
	d.kind = KIND_COUNT;
	cr_assert_eq(invariants_check_dec(1, 60, -1, 0, &d, why, sizeof(why)),
		     -1);
	d.kind = KIND_UDP4;
	d.err = DEC_ERR_COUNT;
	cr_assert_eq(invariants_check_dec(1, 60, -1, 0, &d, why, sizeof(why)),
		     -1);
	d.err = 0;
	d.flags = DEC_F_FRAG_LATER;
	cr_assert_eq(invariants_check_dec(1, 60, -1, 0, &d, why, sizeof(why)),
		     -1, "FRAG_LATER needs FRAG");
	d.flags = 0;
	cr_assert_eq(invariants_check_dec(1, 60, -1, -EPROTONOSUPPORT, &d, why,
					  sizeof(why)),
		     -1, "Ethernet is supported");
	cr_assert_eq(
		invariants_check_dec(1, 60, 0x123, 0, &d, why, sizeof(why)), -1,
		"the stripped tag must be the outermost vlan");
	cr_assert_eq(
		invariants_check_frame(1, frame, 1, -1, &d, why, sizeof(why)),
		0, "%s", why);
	cr_assert_eq(d.err, DEC_ERR_LINK);
}

Test(fuzz_regress, totals_check_catches_a_lost_packet)
{
	struct flowtab_counts exp[KIND_COUNT], ovf[KIND_COUNT];
	struct flowtab_row row;
	struct worker_stats st;
	char why[256];

	memset(exp, 0, sizeof(exp));
	memset(ovf, 0, sizeof(ovf));
	memset(&st, 0, sizeof(st));
	memset(&row, 0, sizeof(row));
	row.key.kind = KIND_TCP4;
	row.id = 1;
	row.pkts[0] = 2;
	row.bytes[0] = 120;
	exp[KIND_TCP4].pkts = 1;
	exp[KIND_TCP4].bytes = 60;
	ovf[KIND_UDP6].pkts = 1;
	ovf[KIND_UDP6].bytes = 80;
	st.kind_pkts[KIND_TCP4] = 3;
	st.kind_bytes[KIND_TCP4] = 180;
	st.kind_pkts[KIND_UDP6] = 1;
	st.kind_bytes[KIND_UDP6] = 80;
	cr_assert_eq(invariants_check_totals(&st, exp, ovf, &row, 1, 8, 4, 260,
					     why, sizeof(why)),
		     0, "%s", why);
	ovf[KIND_UDP6].pkts = 0;
	cr_assert_eq(invariants_check_totals(&st, exp, ovf, &row, 1, 8, 4, 260,
					     why, sizeof(why)),
		     -1, "an overflowed packet lost");
	cr_assert(strstr(why, "kind 5"), "%s", why);
	ovf[KIND_UDP6].pkts = 1;
	cr_assert_eq(invariants_check_totals(&st, exp, ovf, &row, 1, 8, 5, 260,
					     why, sizeof(why)),
		     -1, "one packet fed but never counted");
	cr_assert_eq(invariants_check_totals(&st, exp, ovf, &row, 1, 0, 4, 260,
					     why, sizeof(why)),
		     -1, "more rows than the cap");
	row.first_ns = 2;
	row.last_ns = 1;
	cr_assert_eq(invariants_check_totals(&st, exp, ovf, &row, 1, 8, 4, 260,
					     why, sizeof(why)),
		     -1, "first after last");
}
