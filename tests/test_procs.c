/* test_procs.c - the process store's matching rules, the resolver's
 * parsers, and the resolver itself naming this test's own sockets. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "procres.h"
#include "procs.h"
#include "procs_bpf.h"

static struct procs_msg msg4(int op, int proto, const char *la, int lp,
			     const char *ra, int rp, int pid, const char *comm)
{
	struct procs_msg m;

	memset(&m, 0, sizeof(m));
	m.op = (uint8_t)op;
	m.ipproto = (uint8_t)proto;
	m.family = 4;
	cr_assert_eq(inet_pton(AF_INET, la, m.laddr), 1);
	cr_assert_eq(inet_pton(AF_INET, ra, m.raddr), 1);
	m.lport = (uint16_t)lp;
	m.rport = (uint16_t)rp;
	m.time_ns = 1000;
	m.info.pid = pid;
	m.info.uid = 0;
	snprintf(m.info.comm, sizeof(m.info.comm), "%s", comm);
	snprintf(m.info.user, sizeof(m.info.user), "root");
	return m;
}

/* A flow as flowkey makes it: A is the smaller address. */
static struct flowtab_row row4(int kind, const char *a, int ap, const char *b,
			       int bp, uint64_t first_ns)
{
	struct flowtab_row r;

	memset(&r, 0, sizeof(r));
	r.key.kind = (uint8_t)kind;
	cr_assert_eq(inet_pton(AF_INET, a, r.key.a), 1);
	cr_assert_eq(inet_pton(AF_INET, b, r.key.b), 1);
	r.key.aport = (uint16_t)ap;
	r.key.bport = (uint16_t)bp;
	r.first_ns = first_ns;
	return r;
}

/* The store of the procs suite's tests: fed by hand (no reader), with
 * 10.0.0.2 as this host's address. */
static struct procs *store;

static void store_setup(void)
{
	char err[128];
	uint8_t local[1][16] = { { 10, 0, 0, 2 } };
	uint8_t fam[1] = { 4 };

	store = procs_new(-1, err, sizeof(err));
	cr_assert_not_null(store, "%s", err);
	procs_set_local(store, (const uint8_t(*)[16])local, fam, 1);
}

static void store_teardown(void)
{
	procs_free(store);
	store = NULL;
}

TestSuite(procs, .init = store_setup, .fini = store_teardown);

/* Apply @m to the store, then look row @r up: the side found (or -1),
 * @pi filled. */
static int apply_lookup(const struct procs_msg *m, const struct flowtab_row *r,
			struct procs_info *pi)
{
	cr_assert_eq(procs_apply(store, m), 0);
	return procs_lookup(store, r, pi);
}

Test(procs, exact_socket_names_its_side)
{
	struct procs_msg m = msg4(PROCS_OP_ADD, IPPROTO_TCP, "10.0.0.2", 40000,
				  "10.0.0.1", 80, 42, "curl");
	struct flowtab_row r =
		row4(KIND_TCP4, "10.0.0.1", 80, "10.0.0.2", 40000, 2000);
	struct procs_info pi;

	cr_assert_eq(apply_lookup(&m, &r, &pi), 1); /* the B end is ours */
	cr_assert_eq(pi.pid, 42);
	cr_assert_str_eq(pi.comm, "curl");
	cr_assert_str_eq(pi.user, "root");
	/* another peer port: not this socket */
	r.key.aport = 81;
	cr_assert_eq(procs_lookup(store, &r, &pi), -1);
	cr_assert_eq(procs_lookup(NULL, &r, &pi), -1);
}

Test(procs, wildcard_socket_only_for_a_local_address)
{
	struct procs_msg m = msg4(PROCS_OP_ADD, IPPROTO_UDP, "0.0.0.0", 53,
				  "0.0.0.0", 0, 7, "named");
	struct flowtab_row in =
		row4(KIND_UDP4, "10.0.0.2", 53, "10.9.9.9", 5000, 2000);
	struct flowtab_row out =
		row4(KIND_UDP4, "10.0.0.7", 53, "10.9.9.9", 5000, 2000);
	struct procs_info pi;

	cr_assert_eq(apply_lookup(&m, &in, &pi), 0);
	cr_assert_eq(pi.pid, 7);
	/* 10.0.0.7 port 53 is somebody else's server */
	cr_assert_eq(procs_lookup(store, &out, &pi), -1);
}

Test(procs, dual_stack_socket_names_ipv4_flows)
{
	struct procs_msg m = msg4(PROCS_OP_ADD, IPPROTO_TCP, "0.0.0.0", 8080,
				  "0.0.0.0", 0, 9, "srv");
	struct flowtab_row r =
		row4(KIND_TCP4, "10.0.0.1", 40000, "10.0.0.2", 8080, 2000);
	struct procs_info pi;

	m.family = 6; /* bound to :: */
	cr_assert_eq(apply_lookup(&m, &r, &pi), 1);
	cr_assert_eq(pi.pid, 9);
}

Test(procs, closed_socket_only_for_flows_begun_before)
{
	struct procs_msg m = msg4(PROCS_OP_ADD, IPPROTO_TCP, "10.0.0.2", 40000,
				  "10.0.0.1", 80, 42, "curl");
	struct flowtab_row old =
		row4(KIND_TCP4, "10.0.0.1", 80, "10.0.0.2", 40000, 2000);
	struct flowtab_row later =
		row4(KIND_TCP4, "10.0.0.1", 80, "10.0.0.2", 40000, 9000);
	struct procs_info pi;

	cr_assert_eq(procs_apply(store, &m), 0);
	m.op = PROCS_OP_GONE;
	m.time_ns = 5000;
	cr_assert_eq(apply_lookup(&m, &old, &pi), 1);
	cr_assert_eq(procs_lookup(store, &later, &pi), -1);
	/* the tuple opened again by another process */
	m = msg4(PROCS_OP_ADD, IPPROTO_TCP, "10.0.0.2", 40000, "10.0.0.1", 80,
		 43, "wget");
	cr_assert_eq(apply_lookup(&m, &later, &pi), 1);
	cr_assert_eq(pi.pid, 43);
}

Test(procs, hostile_strings_are_cut_and_made_printable)
{
	struct procs_msg m = msg4(PROCS_OP_ADD, IPPROTO_TCP, "10.0.0.2", 1,
				  "10.0.0.1", 2, 5, "x");
	struct flowtab_row r = row4(KIND_TCP4, "10.0.0.1", 2, "10.0.0.2", 1, 0);
	struct procs_info pi;
	struct procs_msg bad = m;

	memset(m.info.comm, 'A', sizeof(m.info.comm)); /* no NUL */
	m.info.comm[3] = '\033';
	cr_assert_eq(apply_lookup(&m, &r, &pi), 1);
	cr_assert_eq(strlen(pi.comm), sizeof(pi.comm) - 1);
	cr_assert_eq(pi.comm[3], '?');
	bad.op = 77;
	cr_assert_eq(procs_apply(store, &bad), -EINVAL);
	bad.op = PROCS_OP_ADD;
	bad.family = 5;
	cr_assert_eq(procs_apply(store, &bad), -EINVAL);
}

Test(procs, store_full_drops_oldest_closed_first)
{
	struct procs_stats st;
	struct procs_info pi;
	struct flowtab_row r;

	for (int i = 0; i < PROCS_MAX; i++) {
		struct procs_msg m = msg4(PROCS_OP_ADD, IPPROTO_UDP, "10.0.0.2",
					  1 + i % 60000, "10.0.0.1",
					  1 + i / 60000, i + 1, "x");

		cr_assert_eq(procs_apply(store, &m), 0);
		if (i < PROCS_MAX / 2) {
			m.op = PROCS_OP_GONE;
			m.time_ns = 1000 + (uint64_t)i;
			cr_assert_eq(procs_apply(store, &m), 0);
		}
	}
	{
		struct procs_msg m = msg4(PROCS_OP_ADD, IPPROTO_TCP, "10.0.0.2",
					  7, "10.0.0.1", 8, 99, "y");

		cr_assert_eq(procs_apply(store, &m), 0);
	}
	procs_stats(store, &st);
	cr_assert_lt(st.sockets, PROCS_MAX);
	cr_assert_eq(st.full, 0);
	/* the newest and every open socket are still there */
	r = row4(KIND_TCP4, "10.0.0.1", 8, "10.0.0.2", 7, 0);
	cr_assert_eq(procs_lookup(store, &r, &pi), 1);
	cr_assert_eq(pi.pid, 99);
	r = row4(KIND_UDP4, "10.0.0.1", 2, "10.0.0.2", 1 + 65535 % 60000, 0);
	cr_assert_eq(procs_lookup(store, &r, &pi), 1);
	cr_assert_eq(pi.pid, 65536);
}

Test(procs, label_and_cgroup_short_names)
{
	struct procs_info pi;
	char b[64];

	memset(&pi, 0, sizeof(pi));
	procs_label(&pi, 0, b, sizeof(b));
	cr_assert_str_eq(b, "-");
	snprintf(pi.user, sizeof(pi.user), "alice");
	procs_label(&pi, 1, b, sizeof(b));
	cr_assert_str_eq(b, "alice");
	pi.pid = 12;
	snprintf(pi.comm, sizeof(pi.comm), "sshd");
	procs_label(&pi, 1, b, sizeof(b));
	cr_assert_str_eq(b, "sshd[12]");
	procs_cgroup_short("/system.slice/ssh.service", b, sizeof(b));
	cr_assert_str_eq(b, "ssh.service");
	procs_cgroup_short(
		"/system.slice/docker-0123456789abcdef0123456789abcdef"
		"0123456789abcdef0123456789abcdef.scope",
		b, sizeof(b));
	cr_assert_str_eq(b, "docker:0123456789ab");
	procs_cgroup_short("/", b, sizeof(b));
	cr_assert_str_eq(b, "");
}

Test(procres, cgroup_text_prefers_v2)
{
	const char hybrid[] = "12:cpu,cpuacct:/x\n1:name=systemd:/user.slice\n"
			      "0::/pktstat-test\n";
	const char v1[] = "3:memory:/m\n1:name=systemd:/user.slice/u.scope\n";
	char out[128];

	procres_parse_cgroup(hybrid, strlen(hybrid), out, sizeof(out));
	cr_assert_str_eq(out, "/pktstat-test");
	procres_parse_cgroup(v1, strlen(v1), out, sizeof(out));
	cr_assert_str_eq(out, "/user.slice/u.scope");
	procres_parse_cgroup("5:cpu:/x", 8, out, sizeof(out));
	cr_assert_str_eq(out, "");
}

Test(procres, fd_links)
{
	cr_assert_eq(procres_parse_fdlink("socket:[12345]", 14), 12345);
	cr_assert_eq(procres_parse_fdlink("pipe:[12345]", 12), 0);
	cr_assert_eq(procres_parse_fdlink("socket:[12a45]", 14), 0);
	cr_assert_eq(procres_parse_fdlink("socket:[]", 9), 0);
	cr_assert_eq(
		procres_parse_fdlink("socket:[99999999999999999999999]", 32),
		0);
}

Test(procres, socket_counters_from_sockstat)
{
	const char sockstat[] = "sockets: used 130\n"
				"TCP: inuse 5 orphan 0 tw 2 alloc 7 mem 1\n"
				"UDP: inuse 3 mem 2\nUDPLITE: inuse 9\n"
				"RAW: inuse x\n";
	const char six[] = "TCP6: inuse 4\nUDP6: inuse 1\n";
	const size_t n = strlen(sockstat);

	cr_assert_eq(procres_parse_stat(sockstat, n, "TCP", "inuse"), 5);
	cr_assert_eq(procres_parse_stat(sockstat, n, "TCP", "alloc"), 7);
	cr_assert_eq(procres_parse_stat(sockstat, n, "UDP", "inuse"), 3,
		     "UDP, not UDPLITE");
	cr_assert_eq(procres_parse_stat(sockstat, n, "UDP", "nope"), -1);
	cr_assert_eq(procres_parse_stat(sockstat, n, "RAW", "inuse"), -1,
		     "not a number");
	cr_assert_eq(procres_parse_stat(six, strlen(six), "TCP", "inuse"), -1,
		     "TCP6 is not TCP");
	cr_assert_eq(procres_parse_stat(six, strlen(six), "UDP6", "inuse"), 1);
	/* cut before the value: nothing */
	cr_assert_eq(procres_parse_stat(sockstat, 28, "TCP", "inuse"), -1);
}

/* When the resolver looks: new flows and moved counters together at
 * once (but not within the gap of the last look); either alone later;
 * neither, never. */
Test(procres, looks_only_when_something_is_new)
{
	const uint64_t ms = 1000000, lazy = PROCRES_LAZY_MS * ms;
	struct procres_cadence c = { .last_ns = 1000 * ms, .gap_ns = 200 * ms };

	cr_assert_eq(procres_due(&c), UINT64_MAX, "nothing new");
	c.asked_ns = 5000 * ms;
	cr_assert_eq(procres_due(&c), 5000 * ms + lazy, "new flows only");
	c.moved_ns = 5050 * ms;
	cr_assert_eq(procres_due(&c), 1200 * ms, "both: at once");
	c.last_ns = 5000 * ms;
	cr_assert_eq(procres_due(&c), 5200 * ms, "both, just looked: the gap");
	c.asked_ns = 0;
	cr_assert_eq(procres_due(&c), 5050 * ms + lazy, "sockets only");
	c.gap_ns = 3 * lazy;
	cr_assert_eq(procres_due(&c), 5000 * ms + 3 * lazy,
		     "never within the gap");
	/* a socket left waiting for a walk: a look when the walk is due */
	c.moved_ns = 0;
	c.gap_ns = 200 * ms;
	c.walk_ns = 6000 * ms;
	cr_assert_eq(procres_due(&c), 6000 * ms);
	c.walk_ns = 5100 * ms;
	cr_assert_eq(procres_due(&c), 5200 * ms, "nor for a walk");
}

static void nl_put(uint8_t *buf, size_t *off, uint16_t type, const void *body,
		   size_t blen)
{
	struct nlmsghdr h;

	memset(&h, 0, sizeof(h));
	h.nlmsg_len = (uint32_t)(NLMSG_HDRLEN + blen);
	h.nlmsg_type = type;
	memcpy(buf + *off, &h, sizeof(h));
	memcpy(buf + *off + NLMSG_HDRLEN, body, blen);
	*off += NLMSG_ALIGN(h.nlmsg_len);
}

static struct procres_sock got[4];
static int ngot;

static void collect(void *arg, const struct procres_sock *s)
{
	(void)arg;
	if (ngot < 4)
		got[ngot++] = *s;
}

Test(procres, diag_reply_mapped_addresses_become_ipv4)
{
	uint8_t buf[1024];
	size_t off = 0;
	struct inet_diag_msg m;
	int done = 0, rc;

	memset(buf, 0, sizeof(buf));
	memset(&m, 0, sizeof(m));
	m.idiag_family = AF_INET6;
	m.id.idiag_sport = htons(5353);
	((uint8_t *)m.id.idiag_src)[10] = 0xff;
	((uint8_t *)m.id.idiag_src)[11] = 0xff;
	((uint8_t *)m.id.idiag_src)[12] = 10;
	((uint8_t *)m.id.idiag_src)[15] = 2;
	m.idiag_uid = 1000;
	m.idiag_inode = 777;
	nl_put(buf, &off, SOCK_DIAG_BY_FAMILY, &m, sizeof(m));
	m.idiag_inode = 0; /* TIME_WAIT-like: no process */
	nl_put(buf, &off, SOCK_DIAG_BY_FAMILY, &m, sizeof(m));
	nl_put(buf, &off, NLMSG_DONE, &done, sizeof(done));
	ngot = 0;
	rc = procres_parse_diag(buf, off, IPPROTO_UDP, collect, NULL);
	cr_assert_eq(rc, 1);
	cr_assert_eq(ngot, 1);
	cr_assert_eq(got[0].family, 4);
	cr_assert_eq(got[0].laddr[0], 10);
	cr_assert_eq(got[0].laddr[3], 2);
	cr_assert_eq(got[0].lport, 5353);
	cr_assert_eq(got[0].uid, 1000);
	cr_assert_eq(got[0].inode, 777);
	/* cut inside a message: refused, nothing past the end read */
	ngot = 0;
	cr_assert_eq(procres_parse_diag(buf, 20, IPPROTO_UDP, collect, NULL),
		     -EBADMSG);
	cr_assert_eq(ngot, 0);
}

/* A demand count that moves at every call: new flows all the time. */
static uint64_t always_new(void *arg)
{
	return ++*(uint64_t *)arg;
}

/* The resolver end to end, on this process's own sockets (readable
 * without root): a loopback connection is named with our pid and comm;
 * the store's asks reach the resolver, which reads the socket counters
 * for them. */
Test(procres, names_our_own_connection)
{
	char err[256];
	int sv[2], ls, cs, as;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct procres *res;
	struct procs *own;
	struct flowtab_row r;
	struct procs_info pi;
	struct procres_counts c;
	uint64_t calls = 0;
	int side = -1;

	ls = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(ls, 1), 0);
	cr_assert_eq(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
	cs = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(cs, (struct sockaddr *)&sa, sizeof(sa)), 0);
	as = accept(ls, NULL, NULL);
	cr_assert_geq(as, 0);
	{
		struct sockaddr_in c;
		socklen_t cl = sizeof(c);

		cr_assert_eq(getsockname(cs, (struct sockaddr *)&c, &cl), 0);
		memset(&r, 0, sizeof(r));
		r.key.kind = KIND_TCP4;
		memcpy(r.key.a, &sa.sin_addr, 4);
		memcpy(r.key.b, &c.sin_addr, 4);
		r.key.aport = ntohs(sa.sin_port);
		r.key.bport = ntohs(c.sin_port);
		r.first_ns = 1;
	}
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	res = procres_start(sv[0], 0, NULL, 0, err, sizeof(err));
	cr_assert_not_null(res, "%s", err);
	own = procs_new(sv[1], err, sizeof(err));
	cr_assert_not_null(own, "%s", err);
	for (int i = 0; i < 100 && side < 0; i++) {
		usleep(20000);
		side = procs_lookup(own, &r, &pi);
		if (side >= 0 && !pi.pid)
			side = -1; /* only the uid so far */
	}
	cr_assert_eq(side, 0, "loopback: the A end (the server) first");
	cr_assert_eq(pi.pid, getpid());
	cr_assert_eq(pi.uid, getuid());
	cr_assert_str_neq(pi.comm, "");
	procs_set_demand(own, always_new, &calls);
	procres_counts(res, &c);
	cr_assert_eq(c.asks, 0, "no demand count, no ask");
	for (int i = 0; i < 100 && !c.asks; i++) {
		usleep(20000);
		procres_counts(res, &c);
	}
	cr_assert_gt(c.asks, 0);
	cr_assert_geq(c.looks, 1);
	cr_assert_geq(c.probes, 2, "one at the first look, one for an ask");
	procres_stop(res);
	procs_free(own);
	close(as);
	close(cs);
	close(ls);
}

/* What the eBPF attributor saw: a new tuple counts as closed at time_ns
 * unless the resolver knows it open; it never replaces an open socket's
 * known owner. */
Test(procs, seen_records_close_themselves_and_defer_to_the_resolver)
{
	struct procs_msg m = msg4(PROCS_OP_SEEN, IPPROTO_TCP, "10.0.0.2", 40000,
				  "10.0.0.1", 80, 42, "curl");
	struct flowtab_row r =
		row4(KIND_TCP4, "10.0.0.1", 80, "10.0.0.2", 40000, 2000);
	struct procs_info pi;

	m.time_ns = 5000;
	cr_assert_eq(apply_lookup(&m, &r, &pi), 1);
	cr_assert_eq(pi.pid, 42);
	r.first_ns = 6000; /* a flow begun after: not this socket */
	cr_assert_eq(procs_lookup(store, &r, &pi), -1);
	/* the resolver finds it open: open, its owner */
	m = msg4(PROCS_OP_ADD, IPPROTO_TCP, "10.0.0.2", 40000, "10.0.0.1", 80,
		 42, "curl");
	cr_assert_eq(apply_lookup(&m, &r, &pi), 1);
	/* the resolver's first sight of it, its process not found yet: the
	 * attributor's owner stays */
	m = msg4(PROCS_OP_SEEN, IPPROTO_TCP, "10.0.0.2", 40001, "10.0.0.1", 80,
		 44, "short");
	m.time_ns = 9000;
	r.key.bport = 40001;
	cr_assert_eq(apply_lookup(&m, &r, &pi), 1);
	m = msg4(PROCS_OP_ADD, IPPROTO_TCP, "10.0.0.2", 40001, "10.0.0.1", 80,
		 0, "");
	m.time_ns = 8000;
	cr_assert_eq(apply_lookup(&m, &r, &pi), 1);
	cr_assert_eq(pi.pid, 44);
	cr_assert_str_eq(pi.comm, "short");
	/* but not past the record's time: the tuple may be another's */
	m = msg4(PROCS_OP_SEEN, IPPROTO_TCP, "10.0.0.2", 40002, "10.0.0.1", 80,
		 45, "old");
	m.time_ns = 9000;
	r.key.bport = 40002;
	cr_assert_eq(apply_lookup(&m, &r, &pi), 1);
	m = msg4(PROCS_OP_ADD, IPPROTO_TCP, "10.0.0.2", 40002, "10.0.0.1", 80,
		 0, "");
	m.time_ns = 9500;
	cr_assert_eq(apply_lookup(&m, &r, &pi), 1);
	cr_assert_eq(pi.pid, 0);
	r.key.bport = 40000;
	/* a late record of another owner does not replace it */
	m = msg4(PROCS_OP_SEEN, IPPROTO_TCP, "10.0.0.2", 40000, "10.0.0.1", 80,
		 43, "other");
	m.time_ns = 7000;
	cr_assert_eq(apply_lookup(&m, &r, &pi), 1);
	cr_assert_eq(pi.pid, 42);
}

Test(procs_bpf, cgroup2_mount_point_from_mountinfo)
{
	const char mi[] =
		"24 29 0:22 / /sys rw,nosuid - sysfs sysfs rw\n"
		"30 24 0:26 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755\n"
		"40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 "
		"cgroup2 rw\n";
	char out[128];

	cr_assert_eq(procs_bpf_cgroup_root(mi, strlen(mi), out, sizeof(out)),
		     0);
	cr_assert_str_eq(out, "/sys/fs/cgroup/unified");
	cr_assert_eq(procs_bpf_cgroup_root(mi, 80, out, sizeof(out)), -ENOENT);
}
