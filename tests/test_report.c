/* test_report.c - report formats, ordering, escaping and the safe writer. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <urcu.h>

#include <netinet/in.h>

#include "flowkey.h"
#include "flowtab.h"
#include "procs.h"
#include "group.h"
#include "report.h"

static void v4(uint8_t *a, int x)
{
	memset(a, 0, 16);
	a[0] = 10;
	a[3] = (uint8_t)x;
}

static void add_row(struct snapshot *s, int kind, int a, int ap, int b, int bp,
		    uint64_t pab, uint64_t bab, uint64_t pba, uint64_t bba,
		    uint64_t id)
{
	struct flowtab_row *r;

	if (s->nrows == s->rows_cap) {
		s->rows_cap = s->rows_cap ? s->rows_cap * 2 : 8;
		s->rows = realloc(s->rows, s->rows_cap * sizeof(*r));
	}
	r = &s->rows[s->nrows++];
	memset(r, 0, sizeof(*r));
	r->key.kind = (uint8_t)kind;
	v4(r->key.a, a);
	v4(r->key.b, b);
	r->key.aport = (uint16_t)ap;
	r->key.bport = (uint16_t)bp;
	r->pkts[0] = pab;
	r->bytes[0] = bab;
	r->pkts[1] = pba;
	r->bytes[1] = bba;
	r->id = id;
	s->kind[kind].pkts += pab + pba;
	s->kind[kind].bytes += bab + bba;
	s->pkts += pab + pba;
	s->bytes += bab + bba;
}

static const struct report_meta meta = { .source = "eth0",
					 .filter = "tcp and \"x\"\n",
					 .backend = "tpacket3",
					 .threads = 2 };

static char *render(struct snapshot *s, enum report_format f)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	cr_assert_eq(report_write(out, f, s, &meta), 0);
	fclose(out);
	return buf;
}

/* An empty snapshot of a capture from t = 1 s, lasting @dur_ns. */
static void timed_snapshot(struct snapshot *s, uint64_t dur_ns)
{
	snapshot_init(s);
	s->first_ts_ns = 1000000000ull;
	s->last_ts_ns = s->first_ts_ns + dur_ns;
	s->start_ns = s->first_ts_ns;
	s->now_ns = s->last_ts_ns;
}

static void fixture(struct snapshot *s)
{
	timed_snapshot(s, 2000000000ull);
	add_row(s, KIND_TCP4, 1, 40000, 2, 80, 10, 1000, 5, 500, 1);
	add_row(s, KIND_UDP4, 3, 53, 4, 5353, 2, 5000, 0, 0, 2);
	/* same bytes as the TCP A->B direction: order must be by packets,
	 * then the key, deterministically */
	add_row(s, KIND_UDP4, 5, 1, 6, 2, 20, 1000, 0, 0, 3);
}

Test(report, text_lines_sorted_and_complete)
{
	struct snapshot s;
	char *t;
	const char *l1, *l2, *l3;

	fixture(&s);
	t = render(&s, REPORT_TEXT);
	l1 = strstr(t, "packets: 2, bytes: 5000, proto: UDP, src: 10.0.0.3:53, "
		       "dst: 10.0.0.4:5353");
	l2 = strstr(t, "packets: 20, bytes: 1000, proto: UDP");
	l3 = strstr(t, "packets: 10, bytes: 1000, proto: TCP, src: "
		       "10.0.0.1:40000, dst: 10.0.0.2:80");
	cr_assert(l1 && l2 && l3, "%s", t);
	cr_assert(l1 < l2 && l2 < l3, "order by bytes, then packets:\n%s", t);
	cr_assert(strstr(t, "packets: 5, bytes: 500, proto: TCP, src: "
			    "10.0.0.2:80, dst: 10.0.0.1:40000"));
	cr_assert(strstr(t, "Read total packets: 37, total bytes: 7500 in "
			    "2.00 seconds"),
		  "%s", t);
	/* 5000 bytes in 2 s = 20 kbit/s */
	cr_assert(strstr(t, "bitrate: 20.00 Kbps, packets: 2"), "%s", t);
	/* the filter's newline does not reach the terminal */
	cr_assert(strstr(t, "tcp and \"x\"?"), "%s", t);
	free(t);
	snapshot_free(&s);
}

Test(report, json_fields_and_escaping)
{
	struct snapshot s;
	char *j;

	fixture(&s);
	j = render(&s, REPORT_JSON);
	cr_assert(strstr(j, "\"filter\":\"tcp and \\\"x\\\"\\u000a\""), "%s",
		  j);
	cr_assert(strstr(j, "\"srcIp\":\"10.0.0.3\",\"dstIp\":\"10.0.0.4\","
			    "\"srcPort\":53,\"dstPort\":5353"),
		  "%s", j);
	cr_assert(strstr(j, "\"packets\":2,\"size\":5000,\"proto\":\"UDP\""),
		  "%s", j);
	cr_assert(strstr(j, "\"totals\":{\"packets\":37,\"bytes\":7500}"));
	cr_assert(strstr(j, "\"TCP\":{\"packets\":15,\"bytes\":1500}"), "%s",
		  j);
	free(j);
	snapshot_free(&s);
}

Test(report, csv_header_and_quoting)
{
	struct snapshot s;
	char *c;

	fixture(&s);
	c = render(&s, REPORT_CSV);
	cr_assert(strncmp(c, "bitrate,packets,size,proto,src,dst,srcIp", 40) ==
			  0,
		  "%s", c);
	cr_assert(strstr(c, ",\"UDP\",\"10.0.0.3:53\",\"10.0.0.4:5353\","));
	free(c);
	snapshot_free(&s);
}

Test(report, bitrate_units)
{
	char b[32];

	report_format_bitrate(999, b, sizeof(b));
	cr_assert_str_eq(b, "999.00 bps");
	report_format_bitrate(1500, b, sizeof(b));
	cr_assert_str_eq(b, "1.50 Kbps");
	report_format_bitrate(2.5e9, b, sizeof(b));
	cr_assert_str_eq(b, "2.50 Gbps");
	cr_assert_eq(report_format_for("x.JSON"), REPORT_JSON);
	cr_assert_eq(report_format_for("x.csv"), REPORT_CSV);
	cr_assert_eq(report_format_for("x"), REPORT_TEXT);
}

static char dir[] = "/tmp/pktstat-report-XXXXXX";

static void mkdir_fixture(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void rm_fixture(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(report, safe_file_written_0600, .init = mkdir_fixture, .fini = rm_fixture)
{
	struct snapshot s;
	char path[256], err[256];
	struct stat st;
	mode_t old = umask(0);

	fixture(&s);
	snprintf(path, sizeof(path), "%s/snap.json", dir);
	cr_assert_eq(report_write_file(path, 0, &s, &meta, NULL, 0, err,
				       sizeof(err)),
		     0, "%s", err);
	umask(old);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	snapshot_free(&s);
}

Test(report, symlink_refused_and_target_untouched, .init = mkdir_fixture,
     .fini = rm_fixture)
{
	struct snapshot s;
	char path[256], target[256], err[256], buf[16] = { 0 };
	int fd;

	fixture(&s);
	snprintf(path, sizeof(path), "%s/snap.txt", dir);
	snprintf(target, sizeof(target), "%s/victim", dir);
	fd = open(target, O_CREAT | O_WRONLY, 0644);
	cr_assert(write(fd, "keep", 4) == 4);
	close(fd);
	cr_assert_eq(symlink(target, path), 0);
	cr_assert_eq(report_write_file(path, 0, &s, &meta, NULL, 0, err,
				       sizeof(err)),
		     -ELOOP);
	cr_assert(strstr(err, path) && strstr(err, "symbolic link"), "%s", err);
	fd = open(target, O_RDONLY);
	cr_assert(read(fd, buf, sizeof(buf)) == 4);
	close(fd);
	cr_assert_str_eq(buf, "keep");
	snapshot_free(&s);
}

Test(report, bad_targets_one_line_no_temp_left, .init = mkdir_fixture,
     .fini = rm_fixture)
{
	struct snapshot s;
	char path[256], err[256], longp[5000], cmd[300];
	FILE *ls;
	int n = 0;

	fixture(&s);
	snprintf(path, sizeof(path), "%s/missing/snap.txt", dir);
	cr_assert_lt(report_write_file(path, 0, &s, &meta, NULL, 0, err,
				       sizeof(err)),
		     0);
	cr_assert(strstr(err, path) != NULL, "%s", err);
	cr_assert_null(strchr(err, '\n'));
	cr_assert_eq(
		report_write_file(dir, 0, &s, &meta, NULL, 0, err, sizeof(err)),
		-EISDIR);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	cr_assert_eq(report_write_file(longp, 0, &s, &meta, NULL, 0, err,
				       sizeof(err)),
		     -ENAMETOOLONG);
	cr_assert(strstr(err, "too long") != NULL);
	snprintf(cmd, sizeof(cmd), "ls -A %s", dir);
	ls = popen(cmd, "r");
	while (fgets(err, sizeof(err), ls))
		n++;
	pclose(ls);
	cr_assert_eq(n, 0, "temporary files left behind");
	snapshot_free(&s);
}

/* REPORT_SAVE_NEW: an existing file is never replaced, the next free
 * name (NAME-1.EXT, NAME-2.EXT) is taken and said; missing directories
 * are made, 0700; a symlink in the way is not followed. */
Test(report, new_file_never_replaces, .init = mkdir_fixture, .fini = rm_fixture)
{
	struct snapshot s;
	char path[600], sub[256], got[700], want[700], err[800];
	char buf[16] = { 0 };
	struct stat st;
	int fd;

	fixture(&s);
	snprintf(sub, sizeof(sub), "%s/a/b", dir);
	snprintf(path, sizeof(path), "%s/snap.json", sub);
	cr_assert_eq(report_write_file(path, REPORT_SAVE_NEW, &s, &meta, got,
				       sizeof(got), err, sizeof(err)),
		     0, "%s", err);
	cr_assert_str_eq(got, path);
	cr_assert_eq(stat(sub, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0700);
	/* the first file stays; the second and third get numbers */
	fd = open(path, O_WRONLY | O_TRUNC);
	cr_assert(write(fd, "first", 5) == 5);
	close(fd);
	cr_assert_eq(report_write_file(path, REPORT_SAVE_NEW, &s, &meta, got,
				       sizeof(got), err, sizeof(err)),
		     0, "%s", err);
	snprintf(want, sizeof(want), "%s/snap-1.json", sub);
	cr_assert_str_eq(got, want);
	snprintf(want, sizeof(want), "%s/snap-2.json", sub);
	cr_assert_eq(symlink("/nonexistent-target", want), 0);
	cr_assert_eq(report_write_file(path, REPORT_SAVE_NEW, &s, &meta, got,
				       sizeof(got), err, sizeof(err)),
		     0, "%s", err);
	snprintf(want, sizeof(want), "%s/snap-3.json", sub);
	cr_assert_str_eq(got, want);
	cr_assert_eq(lstat(want, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	fd = open(path, O_RDONLY);
	cr_assert(read(fd, buf, sizeof(buf)) == 5);
	close(fd);
	cr_assert_str_eq(buf, "first");
	snapshot_free(&s);
}

Test(report, replaces_atomically, .init = mkdir_fixture, .fini = rm_fixture)
{
	struct snapshot s;
	char path[256], err[256], buf[64] = { 0 };
	int fd;

	fixture(&s);
	snprintf(path, sizeof(path), "%s/snap.txt", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	cr_assert(write(fd, "old", 3) == 3);
	close(fd);
	cr_assert_eq(report_write_file(path, 0, &s, &meta, NULL, 0, err,
				       sizeof(err)),
		     0);
	fd = open(path, O_RDONLY);
	cr_assert(read(fd, buf, sizeof(buf) - 1) > 10);
	close(fd);
	cr_assert(strncmp(buf, "bitrate: ", 9) == 0, "%s", buf);
	snapshot_free(&s);
}

/*
 * Rows are formatted by hand for speed: every bitrate, in JSON (%.3f) and
 * in the text line (%.2f with a unit), must carry exactly the digits
 * printf gives, including values on and near rounding ties; IPv4
 * addresses and ports as inet_ntop and %u print them.
 */
Test(report, hand_formatting_matches_printf)
{
	static const uint64_t special[] = { 0,
					    1,
					    5,
					    125,
					    1000,
					    999999,
					    1000000,
					    1250000000ull,
					    18446744073709551615ull };
	const char *units[] = { "bps", "Kbps", "Mbps", "Gbps", "Tbps" };
	struct snapshot s;
	size_t n = 4000, checked = 0;
	char *j, *t, *p;
	uint64_t x = 88172645463325252ull;

	timed_snapshot(&s, 3000000000ull / 7); /* awkward secs */
	for (size_t i = 0; i < n; i++) {
		uint64_t bytes;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		bytes = i < sizeof(special) / sizeof(special[0])
				? special[i]
				: x >> (x % 60);
		add_row(&s, KIND_UDP4, (int)(i % 250), (int)(x % 65536),
			(int)(i / 250), 53, 1 + i, bytes, 0, 0, i + 1);
		s.rows[i].key.a[1] = (uint8_t)(x >> 8);
		s.rows[i].key.a[2] = (uint8_t)(x >> 16);
	}
	j = render(&s, REPORT_JSON_ARRAY);
	t = render(&s, REPORT_TEXT);
	double secs = snapshot_duration_ns(&s) / 1e9;

	for (size_t i = 0; i < n; i++) {
		const struct flowtab_row *r = &s.rows[i];
		double bps = 8.0 * (double)r->bytes[0] / secs, v = bps;
		char want[512], ip[64], rate[64];
		size_t u = 0;

		if (!r->pkts[0])
			continue;
		snprintf(ip, sizeof(ip), "%u.%u.%u.%u", r->key.a[0],
			 r->key.a[1], r->key.a[2], r->key.a[3]);
		snprintf(want, sizeof(want),
			 "{\"bitrate\":%.3f,\"packets\":%llu,\"size\":%llu,"
			 "\"proto\":\"UDP\",\"src\":\"%s:%u\"",
			 bps, (unsigned long long)r->pkts[0],
			 (unsigned long long)r->bytes[0], ip, r->key.aport);
		cr_assert(strstr(j, want), "JSON row missing: %s", want);
		while (v >= 1000 && u < 4) {
			v /= 1000;
			u++;
		}
		snprintf(rate, sizeof(rate), "%.2f %s", v, units[u]);
		snprintf(want, sizeof(want),
			 "bitrate: %s, packets: %llu, bytes: %llu, proto: UDP, "
			 "src: %s:%u,",
			 rate, (unsigned long long)r->pkts[0],
			 (unsigned long long)r->bytes[0], ip, r->key.aport);
		p = strstr(t, want);
		cr_assert(p, "text row missing: %s", want);
		checked++;
	}
	cr_assert_eq(checked, n);
	free(j);
	free(t);
	snapshot_free(&s);
}

/* The final snapshot and the stdout report are made once when they share
 * a format: the tee gets exactly the bytes the file gets, in every
 * format, and says it got all of them. */
Test(report, tee_gets_the_same_bytes)
{
	enum report_format fmts[] = { REPORT_TEXT, REPORT_JSON, REPORT_CSV,
				      REPORT_JSON_ARRAY };
	struct snapshot s;

	fixture(&s);
	for (size_t f = 0; f < sizeof(fmts) / sizeof(fmts[0]); f++) {
		char *a = NULL, *b = NULL;
		size_t alen = 0, blen = 0;
		FILE *out = open_memstream(&a, &alen);
		FILE *tee = open_memstream(&b, &blen);
		struct report_meta m = meta;
		int done = 0;

		m.tee = tee;
		m.tee_done = &done;
		cr_assert_eq(report_write(out, fmts[f], &s, &m), 0);
		fclose(out);
		fclose(tee);
		cr_assert_eq(done, 1);
		cr_assert_gt(alen, 100);
		cr_assert_eq(alen, blen, "format %d: %zu vs %zu bytes", fmts[f],
			     alen, blen);
		cr_assert_eq(memcmp(a, b, alen), 0);
		free(a);
		free(b);
	}
	snapshot_free(&s);
}

/* Flows 10.0.0.1 .. 10.0.0.@n (row i: @pk[i] packets, @by[i] bytes)
 * come out of the text report in the order @want (1-based rows), each
 * printed in full. */
static void assert_order(int n, const uint64_t *pk, const uint64_t *by,
			 const int *want)
{
	struct snapshot s;
	char *t, *p, line[128];

	timed_snapshot(&s, 1000000000ull);
	for (int i = 0; i < n; i++)
		add_row(&s, KIND_UDP4, i + 1, 1000, 9, 53, pk[i], by[i], 0, 0,
			(uint64_t)i + 1);
	t = render(&s, REPORT_TEXT);
	p = t;
	for (int i = 0; i < n; i++) {
		snprintf(line, sizeof(line),
			 "packets: %llu, bytes: %llu, "
			 "proto: UDP, src: 10.0.0.%d:1000,",
			 (unsigned long long)pk[want[i] - 1],
			 (unsigned long long)by[want[i] - 1], want[i]);
		p = strstr(p, line);
		cr_assert(p, "row %d (%s) missing or out of order", i, line);
	}
	free(t);
	snapshot_free(&s);
}

/* The sort keeps a row's packets in 16 bits and reads the row beyond:
 * equal bytes, packets on both sides of 2^32 (all past 2^16), sorted by
 * packets (most first) and printed in full. */
Test(report, packets_beyond_32_bits_sort_and_print)
{
	static const uint64_t pk[] = { 5, 4294967296ull + 5, 4294967295ull,
				       4294967296ull + 7, 4294967294ull };
	static const uint64_t by[] = { 1 << 20, 1 << 20, 1 << 20, 1 << 20,
				       1 << 20 };
	static const int want[] = { 4, 2, 3, 5, 1 };

	assert_order(5, pk, by, want);
}

/* Bytes past the sort's 48 bits are read from the row: three rows
 * beyond 2^48 with packets in the opposite order, and one below with
 * more packets than any, come out by bytes (most first). */
Test(report, bytes_beyond_48_bits_sort_by_bytes)
{
	static const uint64_t by[] = { (1ull << 48) + 5, 1ull << 47,
				       (1ull << 48) + 9, (1ull << 48) - 1 };
	static const uint64_t pk[] = { 3, 100, 1, 2 };
	static const int want[] = { 3, 1, 4, 2 };

	assert_order(4, pk, by, want);
}

/* Many ties (two byte counts, two packet counts, 40,000 flows added in a
 * scrambled order, both directions of some: enough to be sorted as two
 * runs on two threads and merged): the rows come out by bytes, then
 * packets (most first), then the source's order, each direction once. */
Test(report, ties_sort_by_bytes_packets_then_key)
{
	enum { N = 40000 };
	struct snapshot s;
	char *t, *line, *save = NULL;
	unsigned long long pb = ~0ull, pp = ~0ull;
	long long pa = -1;
	int n = 0;

	timed_snapshot(&s, 1000000000ull);
	for (int i = 0; i < N; i++) {
		int f = (int)(((unsigned)i * 1103u) % N); /* 1103 prime to N */

		add_row(&s, KIND_UDP4, 0, f + 1, 9, 53, 1 + (f % 2),
			100 + 100 * (f % 3 == 0), f % 7 == 0 ? 1 : 0,
			f % 7 == 0 ? 100 : 0, (uint64_t)f + 1);
	}
	t = render(&s, REPORT_TEXT);
	for (line = strtok_r(t, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *f = strstr(line, "packets: ");
		unsigned long long pk, by;
		int a, b, ap, bp;
		long long key;

		if (!f || sscanf(f,
				 "packets: %llu, bytes: %llu, proto: UDP, "
				 "src: 10.0.0.%d:%d, dst: 10.0.0.%d:%d",
				 &pk, &by, &a, &ap, &b, &bp) != 6)
			continue;
		/* the flow's key: side A's port (10.0.0.0), then the
		 * direction (A to B first) */
		key = a == 0 ? 2LL * ap : 2LL * bp + 1;
		cr_assert(by < pb || (by == pb &&
				      (pk < pp || (pk == pp && key > pa))),
			  "out of order at row %d: %s", n, line);
		pb = by;
		pp = pk;
		pa = key;
		n++;
	}
	cr_assert_eq(n, N + (N + 6) / 7, "%d rows", n);
	free(t);
	snapshot_free(&s);
}

/* The final report reads a stopped table's flows in place: every format
 * prints the same bytes as from a copy of them. */
Test(report, stopped_table_in_place_same_as_copy)
{
	enum report_format fmts[] = { REPORT_TEXT, REPORT_JSON, REPORT_CSV,
				      REPORT_JSON_ARRAY };
	char err[128] = "";
	struct flowtab *ft;
	struct snapshot a, b;

	rcu_register_thread();
	ft = flowtab_new(0, err, sizeof(err));
	cr_assert_not_null(ft, "%s", err);
	for (int i = 0; i < 3000; i++) {
		struct flow_key k;

		memset(&k, 0, sizeof(k));
		k.kind = i % 3 ? KIND_UDP4 : KIND_TCP4;
		v4(k.a, i % 200);
		v4(k.b, 7);
		k.aport = (uint16_t)(1000 + i);
		k.bport = (uint16_t)(i % 4 ? 53 : 80);
		rcu_read_lock();
		/* ties on bytes and packets, and flows seen both ways */
		for (int p = 0; p <= i % 4; p++)
			flowtab_account(ft, &k, p & (i % 5 == 0), 100 + i % 3,
					1000000000ull + (uint64_t)i);
		rcu_read_unlock();
	}
	cr_assert_gt(flowtab_expire(ft, 1000000000ull + 500, 0), 400);
	flowtab_barrier(ft);
	fixture(&a); /* its times and totals; the rows are the table's */
	cr_assert_geq(flowtab_collect(ft, &a.rows, &a.rows_cap), 2000);
	a.nrows = flowtab_count(ft);
	b = a;
	b.rows = NULL;
	b.rows_cap = 0;
	b.table = ft;
	for (size_t f = 0; f < sizeof(fmts) / sizeof(fmts[0]); f++) {
		char *x = render(&a, fmts[f]), *y = render(&b, fmts[f]);

		cr_assert_gt(strlen(x), 2000 * 40);
		cr_assert_str_eq(x, y, "format %d", fmts[f]);
		free(x);
		free(y);
	}
	snapshot_free(&a);
	flowtab_free(ft);
	rcu_unregister_thread();
}

/* A long report goes through the writer thread: every row once, in
 * order across its chunks, and the tee gets the same bytes. */
Test(report, long_report_written_in_order)
{
	struct snapshot s;
	char *a = NULL, *b = NULL, *p;
	size_t alen = 0, blen = 0, rows = 0;
	uint64_t last = UINT64_MAX;
	struct report_meta m = meta;
	FILE *out, *tee;

	timed_snapshot(&s, 2000000000ull);
	for (int i = 0; i < 30000; i++)
		add_row(&s, KIND_UDP4, i % 250, 1000 + i / 250, 7, 53, 1,
			100000 + (uint64_t)i * 7 % 30011, 0, 0,
			(uint64_t)i + 1);
	out = open_memstream(&a, &alen);
	tee = open_memstream(&b, &blen);
	m.tee = tee;
	cr_assert_eq(report_write(out, REPORT_TEXT, &s, &m), 0);
	fclose(out);
	fclose(tee);
	cr_assert_eq(alen, blen);
	cr_assert_eq(memcmp(a, b, alen), 0);
	p = strstr(a, "\nProtocol totals:");
	cr_assert_not_null(p);
	*p = '\0'; /* the rows only */
	for (p = strstr(a, "bytes: "); p; p = strstr(p + 1, "bytes: ")) {
		uint64_t v = strtoull(p + 7, NULL, 10);

		if (p > a && p[-1] == ' ' && p[-2] == ',') {
			cr_assert_leq(v, last, "row %zu out of order", rows);
			last = v;
			rows++;
		}
	}
	cr_assert_eq(rows, 30000, "%zu rows", rows);
	free(a);
	free(b);
	snapshot_free(&s);
}

/* ---- every field of every format against a printf reference ---------- */

/* One expected row: its sort key and its line in each format. */
struct want_row {
	uint64_t bytes;
	char json[640], csv[640], text[320];
};

static int want_order(const void *x, const void *y)
{
	const struct want_row *a = x, *b = y;

	return a->bytes < b->bytes ? 1 : a->bytes > b->bytes ? -1 : 0;
}

static void ref_other(const struct flow_key *k, int side, char *addr,
		      size_t len)
{
	/* an "other" row: its protocol on the A side (flowkey.h) */
	if (side)
		snprintf(addr, len, "-");
	else if (k->ipproto == DEC_LLC_SNAP)
		snprintf(addr, len, "snap-0x%04x", k->bport);
	else if (k->ipproto == DEC_LLC_SAP &&
		 k->bport >> 8 == (k->bport & 0xff))
		snprintf(addr, len, "llc-0x%02x", k->bport >> 8);
	else if (k->ipproto == DEC_LLC_SAP)
		snprintf(addr, len, "llc-0x%02x/0x%02x", k->bport >> 8,
			 k->bport & 0xff);
	else
		snprintf(addr, len, "0x%04x", k->aport);
}

/* The address and endpoint texts the slow way: inet_ntop and printf. */
static void ref_side(const struct flow_key *k, int side, char addr[64],
		     char ep[80])
{
	static const int fam[KIND_COUNT] = { 4, 4, 4, 4, 6, 6, 6, 6, 4, 0 };
	const uint8_t *a = side ? k->b : k->a;
	unsigned int port = side ? k->bport : k->aport;
	int ports = k->kind == KIND_TCP4 || k->kind == KIND_UDP4 ||
		    k->kind == KIND_TCP6 || k->kind == KIND_UDP6;

	if (!fam[k->kind])
		ref_other(k, side, addr, 64);
	else
		cr_assert_not_null(inet_ntop(
			fam[k->kind] == 4 ? AF_INET : AF_INET6, a, addr, 64));
	if (!ports)
		snprintf(ep, 80, "%s", addr);
	else if (fam[k->kind] == 6)
		snprintf(ep, 80, "[%s]:%u", addr, port);
	else
		snprintf(ep, 80, "%s:%u", addr, port);
}

/* One direction of @r as each format must print it, from printf. */
static void ref_row(const struct flowtab_row *r, int dir, double secs,
		    struct want_row *w)
{
	static const char *const proto[KIND_COUNT] = {
		"TCP", "UDP",	 "ICMPv4", "IPv4", "TCP",
		"UDP", "ICMPv6", "IPv6",   "ARP",  "other",
	};
	static const char *const units[] = { "bps", "Kbps", "Mbps", "Gbps",
					     "Tbps" };
	const struct flow_key *k = &r->key;
	char addr[2][64], ep[2][80], rate[64], type[48] = "", code[24] = "";
	char msg[FLOWKEY_ICMP_TEXT_MAX];
	int ports = k->kind == KIND_TCP4 || k->kind == KIND_UDP4 ||
		    k->kind == KIND_TCP6 || k->kind == KIND_UDP6;
	int icmp = k->kind == KIND_ICMP4 || k->kind == KIND_ICMP6;
	unsigned int sport = ports ? (dir ? k->bport : k->aport) : 0;
	unsigned int dport = ports ? (dir ? k->aport : k->bport) : 0;
	unsigned long long pk = r->pkts[dir], by = r->bytes[dir];
	double bps = secs > 0 ? 8.0 * (double)by / secs : 0, v = bps;
	size_t u = 0;

	ref_side(k, 0, addr[0], ep[0]);
	ref_side(k, 1, addr[1], ep[1]);
	if (icmp)
		snprintf(code, sizeof(code), ",\"icmpCode\":%u", k->bport);
	w->bytes = by;
	snprintf(w->json, sizeof(w->json),
		 "{\"bitrate\":%.3f,\"packets\":%llu,\"size\":%llu,"
		 "\"proto\":\"%s\",\"src\":\"%s\",\"dst\":\"%s\","
		 "\"srcIp\":\"%s\",\"dstIp\":\"%s\",\"srcPort\":%u,"
		 "\"dstPort\":%u,\"icmpType\":%u%s,\"ipProto\":%u,"
		 "\"vlan\":%u,\"flow\":%llu}",
		 bps, pk, by, proto[k->kind], ep[dir], ep[!dir], addr[dir],
		 addr[!dir], sport, dport, icmp ? k->aport : 0u, code,
		 k->kind == KIND_OTHER ? 0u : k->ipproto, k->vlan,
		 (unsigned long long)r->id);
	if (icmp)
		snprintf(code, sizeof(code), "%u", k->bport);
	snprintf(w->csv, sizeof(w->csv),
		 "%.3f,%llu,%llu,\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",%u,%u,%u,"
		 "%u,%u,%llu,,,,%s\n", /* no app, no process */
		 bps, pk, by, proto[k->kind], ep[dir], ep[!dir], addr[dir],
		 addr[!dir], sport, dport, icmp ? k->aport : 0u,
		 k->kind == KIND_OTHER ? 0u : k->ipproto, k->vlan,
		 (unsigned long long)r->id, code);
	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(rate, sizeof(rate), "%.2f %s", v, units[u]);
	if (icmp) {
		flowkey_icmp_text(k, msg, sizeof(msg));
		/* an unnamed type: its number alone */
		snprintf(type, sizeof(type), ", type: %s",
			 strncmp(msg, "type ", 5) ? msg : msg + 5);
	}
	snprintf(w->text, sizeof(w->text),
		 "bitrate: %s, packets: %llu, bytes: %llu, proto: %s, "
		 "src: %s, dst: %s%s\n",
		 rate, pk, by, proto[k->kind], ep[dir], ep[!dir], type);
}

/* @got starts with @want, or the first difference is shown. */
static void same_prefix(const char *got, const char *want, const char *what)
{
	size_t i = 0;

	while (want[i] && got[i] == want[i])
		i++;
	cr_assert(!want[i], "%s differs at byte %zu:\n got: %.80s\nwant: %.80s",
		  what, i, got + (i > 40 ? i - 40 : 0),
		  want + (i > 40 ? i - 40 : 0));
}

/*
 * Rows are written by hand, straight through the field list: every
 * field of every format must be what printf and inet_ntop make of it,
 * for every kind (with and without ports and addresses), both
 * directions, IPv4 octets and ports at their digit-count edges, IPv6
 * groups with zero runs, numbers of every length up to 2^64 - 1, and -
 * with a 16000 s capture - bitrates on exact rounding ties, which take
 * printf's path in the middle of a row.
 */
Test(report, every_field_matches_a_printf_reference)
{
	static const uint8_t oct[] = { 0, 1, 9, 10, 99, 100, 199, 255 };
	static const uint16_t port[] = { 0,   1,    9,	  10,	 99,   100,
					 999, 1000, 9999, 10000, 65535 };
	static const uint64_t num[] = { 1,
					9,
					10,
					99,
					100,
					12345,
					4294967295ull,
					4294967296ull,
					99999999999ull,
					10000000000000000000ull,
					18446744073709551615ull };
	const size_t n = 2000, nn = sizeof(num) / sizeof(num[0]);
	static const uint64_t durations[] = { 3000000000ull / 7,
					      16000000000000ull };

	for (size_t t = 0; t < 2; t++) {
		struct snapshot s;
		struct want_row *w = calloc(2 * n, sizeof(*w));
		size_t nw = 0, len[3] = { 0, 0, 0 };
		char *out[3], *want[3];
		uint64_t x = 0x9e3779b97f4a7c15ull + t;
		double secs;

		timed_snapshot(&s, durations[t]);
		secs = snapshot_duration_ns(&s) / 1e9;
		for (size_t i = 0; i < n; i++) {
			int kind = (int)(i % KIND_COUNT);
			struct flowtab_row *r;
			uint64_t b[2];

			/* distinct bytes (the low bits), of every length */
			for (int d = 0; d < 2; d++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				b[d] = (x >> (12 + x % 52)) << 12 | (2 * i + d);
			}
			add_row(&s, kind, 0, 0, 0, 0, num[i % nn], b[0],
				i % 3 ? 0 : num[(i / 3) % nn], b[1],
				x >> (x % 64));
			r = &s.rows[s.nrows - 1];
			for (int g = 0; g < 16; g++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				/* zero groups often: runs of every shape */
				r->key.a[g] = x % 3 ? 0 : (uint8_t)(x >> 8);
				r->key.b[g] = (uint8_t)(x >> 16);
			}
			for (int o = 0; o < 4; o++)
				r->key.a[o] = oct[(i >> (3 * o)) % 8];
			if (flowkey_family(kind) == 4) {
				memset(r->key.a + 4, 0, 12);
				memset(r->key.b + 4, 0, 12);
			} else if (!flowkey_family(kind)) {
				memset(r->key.a, 0, 16);
				memset(r->key.b, 0, 16);
			}
			r->key.aport = port[i % 11];
			r->key.bport = port[(i / 11) % 11];
			if (kind == KIND_ICMP4 || kind == KIND_ICMP6)
				r->key.bport = (uint16_t)(i % 5); /* code */
			r->key.vlan = (uint16_t)(i * 37 % 4096);
			r->key.ipproto = (uint8_t)(i * 7);
			for (int d = 0; d < 2; d++)
				if (r->pkts[d])
					ref_row(r, d, secs, &w[nw++]);
		}
		qsort(w, nw, sizeof(*w), want_order);
		for (int f = 0; f < 3; f++) {
			want[f] = calloc(nw + 2, sizeof(w->json));
			len[f] = 0;
		}
		len[0] += (size_t)sprintf(want[0], "[");
		len[1] += (size_t)sprintf(want[1],
					  "bitrate,packets,size,proto,src,dst,"
					  "srcIp,dstIp,srcPort,dstPort,"
					  "icmpType,ipProto,vlan,flow,app,"
					  "appSource,appDetail,icmpCode\n");
		for (size_t i = 0; i < nw; i++) {
			len[0] += (size_t)sprintf(want[0] + len[0], "%s%s",
						  i ? "," : "", w[i].json);
			len[1] += (size_t)sprintf(want[1] + len[1], "%s",
						  w[i].csv);
			len[2] += (size_t)sprintf(want[2] + len[2], "%s",
						  w[i].text);
		}
		sprintf(want[0] + len[0], "]\n");
		sprintf(want[2] + len[2], "\nProtocol totals:\n");
		out[0] = render(&s, REPORT_JSON_ARRAY);
		out[1] = render(&s, REPORT_CSV);
		out[2] = render(&s, REPORT_TEXT);
		same_prefix(out[0], want[0], "JSON");
		cr_assert_str_eq(out[0] + strlen(want[0]), "");
		same_prefix(out[1], want[1], "CSV");
		cr_assert_str_eq(out[1] + strlen(want[1]), "");
		same_prefix(out[2], want[2], "text");
		printf("%.3f s: %zu rows, JSON %zu, CSV %zu, text rows %zu "
		       "bytes as printf makes them\n",
		       secs, nw, strlen(out[0]), strlen(out[1]), len[2]);
		cr_assert_eq(nw, n + (n + 2) / 3);
		for (int f = 0; f < 3; f++) {
			free(out[f]);
			free(want[f]);
		}
		free(w);
		snapshot_free(&s);
	}
}

/* Process fields: only with a store (a live run); each where known. */
Test(report, process_fields_where_known_and_only_live)
{
	struct snapshot s;
	struct procs_msg m;
	char err[128], *j, *c, *t;
	struct procs *p = procs_new(-1, err, sizeof(err));

	cr_assert_not_null(p);
	fixture(&s);
	/* 10.0.0.1:40000 -> 10.0.0.2:80 is curl's, as user alice */
	memset(&m, 0, sizeof(m));
	m.op = PROCS_OP_ADD;
	m.ipproto = IPPROTO_TCP;
	m.family = 4;
	v4(m.laddr, 1);
	v4(m.raddr, 2);
	m.lport = 40000;
	m.rport = 80;
	m.info.pid = 4242;
	m.info.uid = 1000;
	snprintf(m.info.comm, sizeof(m.info.comm), "curl");
	snprintf(m.info.user, sizeof(m.info.user), "alice");
	snprintf(m.info.cgroup, sizeof(m.info.cgroup), "/user.slice/a,b");
	cr_assert_eq(procs_apply(p, &m), 0);

	j = render(&s, REPORT_JSON); /* no store: as before */
	cr_assert_null(strstr(j, "\"pid\""), "%s", j);
	free(j);
	c = render(&s, REPORT_CSV);
	cr_assert_null(strstr(c, ",pid,"), "%s", c);
	free(c);

	s.procs = p;
	j = render(&s, REPORT_JSON);
	cr_assert(strstr(j, "\"srcPort\":40000,\"dstPort\":80,"), "%s", j);
	cr_assert(strstr(j, "\"pid\":4242,\"comm\":\"curl\",\"user\":\"alice\","
			    "\"cgroup\":\"/user.slice/a,b\"}"),
		  "%s", j);
	/* both directions of the flow, no other flow */
	cr_assert_eq(strstr(strstr(j, "\"pid\"") + 1, "\"pid\"") != NULL, 1);
	cr_assert_null(strstr(strstr(strstr(j, "\"pid\"") + 1, "\"pid\"") + 1,
			      "\"pid\""));
	free(j);
	c = render(&s, REPORT_CSV);
	cr_assert(strstr(c, "appDetail,icmpCode,pid,comm,user,cgroup\n"), "%s",
		  c);
	cr_assert(strstr(c, ",4242,\"curl\",\"alice\",\"/user.slice/a,b\"\n"),
		  "%s", c);
	cr_assert(strstr(c, "5353\",\"\",,,,,\n") || strstr(c, ",,,,,,\n"),
		  "%s", c);
	free(c);
	t = render(&s, REPORT_TEXT);
	cr_assert(strstr(t, "\n    process: curl[4242] user alice cgroup "
			    "/user.slice/a,b\n"),
		  "%s", t);
	free(t);
	snapshot_free(&s);
	procs_free(p);
}

/* A report of @s in @fmt with @m. */
static char *render_meta(struct snapshot *s, enum report_format fmt,
			 const struct report_meta *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	cr_assert_eq(report_write(out, fmt, s, m), 0);
	fclose(out);
	return buf;
}

/* How many times @needle is in @hay. */
static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* A file's report says once that processes are unknown: one text line
 * after the loss line, one JSON member; nothing per row, nothing in CSV,
 * nothing at all when the meta does not ask. */
Test(report, processes_unknown_said_once)
{
	struct report_meta m = meta;
	struct snapshot s;
	char *t, *j, *c, *plain;

	fixture(&s);
	m.procs_unknown = "read from a file";
	t = render_meta(&s, REPORT_TEXT, &m);
	cr_assert_eq(count_of(t, "Processes: unknown (read from a file)\n"), 1,
		     "%s", t);
	cr_assert_eq(count_of(t, "rocess"), 1, "%s", t);
	cr_assert(strstr(t, "counts are exact\nProcesses: unknown"), "%s", t);
	j = render_meta(&s, REPORT_JSON, &m);
	cr_assert(strstr(j, "\"threads\":2,\"processes\":\"unknown: read from "
			    "a file\",\"start\":"),
		  "%s", j);
	cr_assert_eq(count_of(j, "rocess"), 1, "%s", j);
	c = render_meta(&s, REPORT_CSV, &m);
	plain = render(&s, REPORT_CSV);
	cr_assert_str_eq(c, plain, "CSV: one table, no word of it");
	free(c);
	free(plain);
	plain = render(&s, REPORT_TEXT);
	cr_assert_null(strstr(plain, "rocess"), "%s", plain);
	cr_assert_eq(strlen(t), strlen(plain) + strlen("Processes: unknown "
						       "(read from a file)\n"));
	free(plain);
	plain = render(&s, REPORT_JSON);
	cr_assert_null(strstr(plain, "rocess"), "%s", plain);
	free(plain);
	free(t);
	free(j);
	snapshot_free(&s);
}

/* The monitor's snapshot while its table is grouped: every flow, then
 * the groups (JSON, text); CSV keeps the flows only. */
Test(report, flows_then_groups_for_a_grouped_monitor)
{
	struct report_meta m = meta;
	struct snapshot s;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;

	fixture(&s);
	m.group_by = GROUP_PROTO;
	m.group_with_flows = 1;
	out = open_memstream(&buf, &len);
	cr_assert_eq(report_write(out, REPORT_JSON, &s, &m), 0);
	fclose(out);
	cr_assert(strstr(buf, "\"src\":\"10.0.0.1\",\"dst\":\"10.0.0.2\"") ||
			  strstr(buf, "\"proto\":\"TCP\""),
		  "the flows: %s", buf);
	cr_assert(strstr(buf, "],\"groupBy\":\"proto\",\"groups\":["), "%s",
		  buf);
	cr_assert(strstr(buf, "{\"group\":\"UDP\","), "%s", buf);
	cr_assert(strstr(buf, "\"packets\":22,\"bytes\":6000"), "%s", buf);
	cr_assert(strstr(buf, "\n]}\n") == buf + len - 4, "one document");
	free(buf);
	buf = NULL;
	out = open_memstream(&buf, &len);
	cr_assert_eq(report_write(out, REPORT_TEXT, &s, &m), 0);
	fclose(out);
	cr_assert(strstr(buf, "proto: TCP, src: 10.0.0.1:40000"), "%s", buf);
	cr_assert(strstr(buf, "groups by proto:\n"), "%s", buf);
	cr_assert(strstr(buf, "packets: 15, bytes: 1500, proto: TCP, sent"),
		  "%s", buf);
	cr_assert(strstr(buf, "groups by proto:") <
			  strstr(buf, "Read total packets"),
		  "%s", buf);
	free(buf);
	buf = NULL;
	out = open_memstream(&buf, &len);
	cr_assert_eq(report_write(out, REPORT_CSV, &s, &m), 0);
	fclose(out);
	cr_assert_null(strstr(buf, "group"), "CSV: flows only\n%s", buf);
	free(buf);
	snapshot_free(&s);
}
