/*
 * test_capture.c - the capture layer: backend table, cap_compile, the
 * file reader on files it writes itself (pcap, ns pcap, pcapng), and,
 * as root, both live backends on a veth pair between two network
 * namespaces this test creates and deletes (names carry the pid, so
 * parallel jobs do not collide). Traffic: bounded UDP bursts from the
 * second namespace to the capture side, which has no address and no
 * forwarding, so nothing answers and nothing leaves the namespaces.
 */
#include <criterion/criterion.h>
#include <cap-ng.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture.h"

/* ---- helpers ------------------------------------------------------ */

#define MAX_REC 64

struct rec {
	uint64_t ts_ns;
	uint32_t caplen, wirelen;
	int dlt, vlan_tci, ifindex;
	uint8_t head[16]; /* first bytes of the frame */
};

struct coll {
	uint64_t n, wire, cap;
	struct rec r[MAX_REC];
};

static void coll_cb(void *user, const struct cap_pkt *p)
{
	struct coll *c = user;

	if (!p) /* end of a batch */
		return;
	if (c->n < MAX_REC) {
		struct rec *r = &c->r[c->n];

		r->ts_ns = p->ts_ns;
		r->caplen = p->caplen;
		r->wirelen = p->wirelen;
		r->dlt = p->dlt;
		r->vlan_tci = p->vlan_tci;
		r->ifindex = p->ifindex;
		memcpy(r->head, p->data, p->caplen < 16 ? p->caplen : 16);
	}
	c->n++;
	c->wire += p->wirelen;
	c->cap += p->caplen;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Ethernet + IPv4 + UDP to @dport with @payload bytes of payload. */
static size_t udp_frame(uint8_t *f, uint16_t dport, size_t payload)
{
	static const uint8_t eth[14] = { 2, 0, 0, 0, 0, 1,    2,
					 0, 0, 0, 0, 2, 0x08, 0x00 };
	size_t iplen = 20 + 8 + payload;
	uint8_t *ip = f + 14, *udp = ip + 20;

	memcpy(f, eth, 14);
	memset(ip, 0, iplen);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(iplen >> 8);
	ip[3] = (uint8_t)iplen;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, (uint8_t[]){ 10, 0, 0, 2, 10, 0, 0, 1 }, 8);
	udp[0] = 0x9c;
	udp[1] = 0x40; /* sport 40000 */
	udp[2] = (uint8_t)(dport >> 8);
	udp[3] = (uint8_t)dport;
	udp[4] = (uint8_t)((8 + payload) >> 8);
	udp[5] = (uint8_t)(8 + payload);
	return 14 + iplen;
}

static void tmp_path(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "/tmp/pktstat-capt-%d-%s", (int)getpid(), tag);
}

/* Drive dispatch until CAP_EOF; returns the number of dispatch calls. */
static int read_all(const struct cap_ops *ops, struct cap_handle *h,
		    struct coll *c)
{
	char err[256];
	int rc, calls = 0;

	do {
		rc = ops->dispatch(h, coll_cb, c, 0, err, sizeof(err));
		cr_assert(rc >= 0 || rc == CAP_EOF, "dispatch: %d %s", rc, err);
		calls++;
	} while (rc != CAP_EOF && calls < 100000);
	return calls;
}

/* ---- backend table and filters ------------------------------------ */

Test(capture, backend_table)
{
	cr_assert_eq(cap_backend("pcap"), &cap_pcap_ops);
	cr_assert_eq(cap_backend("tpacket3"), &cap_tpacket3_ops);
	cr_assert_null(cap_backend("netmap"));
	cr_assert_null(cap_backend(NULL));
	cr_assert_eq(cap_default_backend(), &cap_tpacket3_ops);
	cr_assert_str_eq(cap_pcap_ops.name, "pcap");
	cr_assert_str_eq(cap_tpacket3_ops.name, "tpacket3");
	/* The file reader is chosen by -r, not by name; reports name the
	 * library that read the frames. */
	cr_assert_str_eq(cap_pcapfile_ops.name, "pcap");
	cr_assert_neq(cap_backend("pcap"), &cap_pcapfile_ops);
}

Test(capture, live_and_file_open_only_their_own)
{
	struct cap_config cfg = { .snaplen = 65535, .file = "x.pcap" };
	struct cap_handle *h = (struct cap_handle *)1;
	char err[256] = "";

	cr_assert_eq(cap_pcap_ops.open(&h, &cfg, err, sizeof(err)), -EINVAL);
	cr_assert_null(h);
	cr_assert_neq(err[0], '\0');
	cfg.file = NULL;
	cfg.iface = "lo";
	h = (struct cap_handle *)1;
	err[0] = '\0';
	cr_assert_eq(cap_pcapfile_ops.open(&h, &cfg, err, sizeof(err)),
		     -EINVAL);
	cr_assert_null(h);
	cr_assert_neq(err[0], '\0');
}

Test(capture, compile_good_expression)
{
	struct bpf_program prog;
	char err[256] = "";
	uint8_t f[200];
	size_t n = udp_frame(f, 53, 20);

	cr_assert_eq(cap_compile(DLT_EN10MB, 96, "udp port 53", &prog, err,
				 sizeof(err)),
		     0, "%s", err);
	cr_assert_gt(prog.bf_len, 0);
	/* The program matches what it should, and carries the snaplen. */
	cr_assert_eq(bpf_filter(prog.bf_insns, f, (u_int)n, (u_int)n), 96);
	n = udp_frame(f, 54, 20);
	cr_assert_eq(bpf_filter(prog.bf_insns, f, (u_int)n, (u_int)n), 0);
	pcap_freecode(&prog);
}

Test(capture, compile_bad_expression)
{
	struct bpf_program prog;
	char err[256] = "";

	cr_assert_eq(cap_compile(DLT_EN10MB, 65535, "udp port nope(", &prog,
				 err, sizeof(err)),
		     -EINVAL);
	cr_assert_gt(strlen(err), 0);
	cr_assert_null(strchr(err, '\n'));
	err[0] = '\0';
	cr_assert_eq(cap_compile(DLT_RAW, 65535, "ether host 1:2:3:4:5:6",
				 &prog, err, sizeof(err)),
		     -EINVAL, "ether host on raw IP must not compile");
	cr_assert_gt(strlen(err), 0);
}

Test(capture, no_such_device_lists_interfaces)
{
	char err[512], small[40];

	cap_err_no_device("eth9", err, sizeof(err));
	cr_assert(!strncmp(err, "eth9: no such device (available: ", 33), "%s",
		  err);
	cr_assert_not_null(strstr(err, "lo"), "%s", err);
	cr_assert_eq(err[strlen(err) - 1], ')', "%s", err);
	/* A short buffer still ends in a closed, cut list. */
	cap_err_no_device("eth9", small, sizeof(small));
	cr_assert_lt(strlen(small), sizeof(small));
	cr_assert(!strncmp(small, "eth9: no such device", 20), "%s", small);
}

/*
 * Opening a live capture without the privilege gives the one-line hint.
 * Runs in a child that drops to nobody when we are root.
 */
static void permission_denied(const struct cap_ops *ops)
{
	pid_t pid = fork();
	int status;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		static const char want[] = "cannot open a packet socket: "
					   "permission denied (run as root, "
					   "or: setcap cap_net_raw,";
		struct cap_config cfg = { .iface = "lo", .snaplen = 65535 };
		struct cap_handle *h;
		char err[512] = "";

		if (geteuid() == 0 &&
		    (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		     setresuid(65534, 65534, 65534)))
			_exit(2);
		if (ops->open(&h, &cfg, err, sizeof(err)) != -EPERM)
			_exit(3);
		if (strncmp(err, want, sizeof(want) - 1) || h)
			_exit(4);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "child status %d", status);
}

Test(capture, tpacket3_permission_denied_message)
{
	permission_denied(&cap_tpacket3_ops);
}

Test(capture, pcap_permission_denied_message)
{
	permission_denied(&cap_pcap_ops);
}

/* ---- the file reader (pcapfile.c) ------------------------------------ */

struct wpkt {
	uint64_t sec, frac; /* frac in us or ns, per file precision */
	uint16_t dport;
	size_t payload;
	uint32_t caplen; /* 0: whole frame */
};

static void write_pcap(const char *path, int nano, const struct wpkt *w, int n)
{
	pcap_t *p = pcap_open_dead_with_tstamp_precision(
		DLT_EN10MB, 65535,
		nano ? PCAP_TSTAMP_PRECISION_NANO
		     : PCAP_TSTAMP_PRECISION_MICRO);
	pcap_dumper_t *d;

	cr_assert_not_null(p);
	d = pcap_dump_open(p, path);
	cr_assert_not_null(d, "%s", pcap_geterr(p));
	for (int i = 0; i < n; i++) {
		uint8_t f[2048];
		struct pcap_pkthdr h;
		size_t len = udp_frame(f, w[i].dport, w[i].payload);

		h.ts.tv_sec = (time_t)w[i].sec;
		h.ts.tv_usec = (suseconds_t)w[i].frac;
		h.len = (uint32_t)len;
		h.caplen = w[i].caplen ? w[i].caplen : (uint32_t)len;
		pcap_dump((u_char *)d, &h, f);
	}
	pcap_dump_close(d);
	pcap_close(p);
}

static const struct wpkt three[] = {
	{ 1700000000, 123456, 53, 10, 0 },
	{ 1700000001, 999999, 80, 1000, 60 }, /* truncated at 60 */
	{ 1700000002, 1, 53, 0, 0 },
};

Test(capture, offline_delivers_exact_packets_then_eof)
{
	struct cap_config cfg = { .snaplen = 65535 };
	struct cap_handle *h;
	struct coll c = { 0 };
	struct cap_stats st;
	char path[128], err[256];

	tmp_path(path, sizeof(path), "3.pcap");
	write_pcap(path, 0, three, 3);
	cfg.file = path;
	cr_assert_eq(cap_pcapfile_ops.open(&h, &cfg, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(cap_pcapfile_ops.datalink(h), DLT_EN10MB);
	/* A wakeup makes the next dispatch return early, losing nothing. */
	cap_pcapfile_ops.wakeup(h);
	cr_assert_eq(
		cap_pcapfile_ops.dispatch(h, coll_cb, &c, 0, err, sizeof(err)),
		0);
	cr_assert_eq(c.n, 0);
	read_all(&cap_pcapfile_ops, h, &c);
	cr_assert_eq(c.n, 3);
	cr_assert_eq(c.r[0].ts_ns, 1700000000ull * 1000000000 + 123456000);
	cr_assert_eq(c.r[1].ts_ns, 1700000001ull * 1000000000 + 999999000);
	cr_assert_eq(c.r[2].ts_ns, 1700000002ull * 1000000000 + 1000);
	cr_assert_eq(c.r[0].caplen, 14 + 20 + 8 + 10);
	cr_assert_eq(c.r[0].wirelen, 14 + 20 + 8 + 10);
	cr_assert_eq(c.r[1].caplen, 60);
	cr_assert_eq(c.r[1].wirelen, 14 + 20 + 8 + 1000);
	cr_assert_eq(c.r[2].wirelen, 42);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(c.r[i].dlt, DLT_EN10MB);
		cr_assert_eq(c.r[i].vlan_tci, -1);
		cr_assert_eq(c.r[i].head[12], 0x08);
	}
	/* EOF is sticky. */
	cr_assert_eq(
		cap_pcapfile_ops.dispatch(h, coll_cb, &c, 0, err, sizeof(err)),
		CAP_EOF);
	cr_assert_eq(cap_pcapfile_ops.stats(h, &st), 0);
	cr_assert_eq(st.received, 3);
	cr_assert_eq(st.kernel_drops, 0);
	cr_assert_eq(cap_link_state(h), CAP_LINK_UP);
	cap_pcapfile_ops.close(h);
	unlink(path);
}

Test(capture, offline_nanosecond_file)
{
	static const struct wpkt ns[] = {
		{ 1700000000, 123456789, 53, 10, 0 },
		{ 1700000000, 999999999, 53, 10, 0 },
	};
	struct cap_config cfg = { .snaplen = 65535 };
	struct cap_handle *h;
	struct coll c = { 0 };
	char path[128], err[256];

	tmp_path(path, sizeof(path), "ns.pcap");
	write_pcap(path, 1, ns, 2);
	cfg.file = path;
	cr_assert_eq(cap_pcapfile_ops.open(&h, &cfg, err, sizeof(err)), 0, "%s",
		     err);
	read_all(&cap_pcapfile_ops, h, &c);
	cr_assert_eq(c.n, 2);
	cr_assert_eq(c.r[0].ts_ns, 1700000000ull * 1000000000 + 123456789);
	cr_assert_eq(c.r[1].ts_ns, 1700000000ull * 1000000000 + 999999999);
	cap_pcapfile_ops.close(h);
	unlink(path);
}

static void put32(FILE *f, uint32_t v)
{
	fwrite(&v, 4, 1, f);
}

/* A minimal pcapng: SHB, IDB with if_tsresol = 10^-9, two EPBs. */
static void write_pcapng(const char *path)
{
	FILE *f = fopen(path, "wb");
	uint8_t fr[200];

	cr_assert_not_null(f);
	put32(f, 0x0A0D0D0A);
	put32(f, 28);
	put32(f, 0x1A2B3C4D);
	put32(f, 1); /* major 1, minor 0 */
	put32(f, 0xffffffff);
	put32(f, 0xffffffff); /* section length unknown */
	put32(f, 28);
	put32(f, 1);
	put32(f, 32);
	put32(f, DLT_EN10MB); /* linktype, reserved */
	put32(f, 65535);
	put32(f, 9 | 1 << 16); /* if_tsresol, length 1 */
	put32(f, 9);	       /* 10^-9, padded */
	put32(f, 0);	       /* opt_endofopt */
	put32(f, 32);
	for (int i = 0; i < 2; i++) {
		size_t n = udp_frame(fr, 53, (size_t)(i ? 2 : 7));
		uint64_t ts = 1700000000ull * 1000000000 + 42 + (uint64_t)i;
		size_t pad = (4 - n % 4) % 4;

		memset(fr + n, 0, pad);
		put32(f, 6);
		put32(f, (uint32_t)(32 + n + pad));
		put32(f, 0);
		put32(f, (uint32_t)(ts >> 32));
		put32(f, (uint32_t)ts);
		put32(f, (uint32_t)n);
		put32(f, (uint32_t)n);
		fwrite(fr, 1, n + pad, f);
		put32(f, (uint32_t)(32 + n + pad));
	}
	fclose(f);
}

Test(capture, offline_pcapng_file)
{
	struct cap_config cfg = { .snaplen = 65535 };
	struct cap_handle *h;
	struct coll c = { 0 };
	char path[128], err[256];

	tmp_path(path, sizeof(path), "x.pcapng");
	write_pcapng(path);
	cfg.file = path;
	cr_assert_eq(cap_pcapfile_ops.open(&h, &cfg, err, sizeof(err)), 0, "%s",
		     err);
	read_all(&cap_pcapfile_ops, h, &c);
	cr_assert_eq(c.n, 2);
	cr_assert_eq(c.r[0].ts_ns, 1700000000ull * 1000000000 + 42);
	cr_assert_eq(c.r[1].ts_ns, 1700000000ull * 1000000000 + 43);
	cr_assert_eq(c.r[0].wirelen, 14 + 20 + 8 + 7);
	cr_assert_eq(c.r[1].wirelen, 14 + 20 + 8 + 2);
	cap_pcapfile_ops.close(h);
	unlink(path);
}

Test(capture, offline_filter_drops_non_matching)
{
	struct wpkt w[10];
	struct cap_config cfg = { .snaplen = 65535 };
	struct cap_handle *h;
	struct bpf_program prog;
	struct coll c = { 0 };
	char path[128], err[256];

	for (int i = 0; i < 10; i++)
		w[i] = (struct wpkt){ 1700000000 + (uint64_t)i, 0,
				      i % 3 ? 80 : 53, (size_t)(10 + i), 0 };
	tmp_path(path, sizeof(path), "f.pcap");
	write_pcap(path, 0, w, 10);
	cfg.file = path;
	cr_assert_eq(cap_pcapfile_ops.open(&h, &cfg, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(cap_compile(cap_pcapfile_ops.datalink(h), 65535,
				 "udp dst port 53", &prog, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(cap_pcapfile_ops.set_filter(h, &prog, err, sizeof(err)), 0,
		     "%s", err);
	pcap_freecode(&prog);
	read_all(&cap_pcapfile_ops, h, &c);
	/* i = 0, 3, 6, 9 go to port 53. */
	cr_assert_eq(c.n, 4);
	cr_assert_eq(c.wire, 4 * 42 + 10 + 13 + 16 + 19);
	cr_assert_eq(c.r[1].ts_ns, 1700000003ull * 1000000000);
	cap_pcapfile_ops.close(h);

	/* set_filter(NULL) accepts everything again. */
	memset(&c, 0, sizeof(c));
	cr_assert_eq(cap_pcapfile_ops.open(&h, &cfg, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(cap_pcapfile_ops.set_filter(h, NULL, err, sizeof(err)), 0);
	read_all(&cap_pcapfile_ops, h, &c);
	cr_assert_eq(c.n, 10);
	cap_pcapfile_ops.close(h);
	unlink(path);
}

Test(capture, offline_reads_stdin)
{
	struct cap_config cfg = { .file = "-", .snaplen = 65535 };
	struct cap_handle *h;
	struct coll c = { 0 };
	char path[128], err[256];
	int fd;

	tmp_path(path, sizeof(path), "stdin.pcap");
	write_pcap(path, 0, three, 3);
	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(dup2(fd, 0), 0); /* this test process's own stdin */
	close(fd);
	cr_assert_eq(cap_pcapfile_ops.open(&h, &cfg, err, sizeof(err)), 0, "%s",
		     err);
	read_all(&cap_pcapfile_ops, h, &c);
	cr_assert_eq(c.n, 3);
	cr_assert_eq(c.wire, 42 + 10 + 1042 + 42);
	cap_pcapfile_ops.close(h);
	unlink(path);
}

/* A jump past the end: must be refused, never run. */
static struct bpf_insn bad_insns[] = {
	BPF_JUMP(BPF_JMP | BPF_JA, 5, 0, 0),
	BPF_STMT(BPF_RET | BPF_K, 65535),
};
static struct bpf_program bad_prog = { 2, bad_insns };

Test(capture, offline_invalid_program_refused)
{
	struct cap_config cfg = { .snaplen = 65535 };
	struct cap_handle *h;
	struct coll c = { 0 };
	char path[128], err[256] = "";

	tmp_path(path, sizeof(path), "bad.pcap");
	write_pcap(path, 0, three, 3);
	cfg.file = path;
	cr_assert_eq(cap_pcapfile_ops.open(&h, &cfg, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_lt(
		cap_pcapfile_ops.set_filter(h, &bad_prog, err, sizeof(err)), 0);
	cr_assert_gt(strlen(err), 0);
	read_all(&cap_pcapfile_ops, h, &c);
	cr_assert_eq(c.n, 3);
	cap_pcapfile_ops.close(h);
	unlink(path);
}

Test(capture, offline_errors_name_the_file)
{
	struct cap_config cfg = { .snaplen = 65535 };
	struct cap_handle *h = (struct cap_handle *)&cfg;
	char path[128], err[256] = "";
	FILE *f;

	cfg.file = "/nonexistent/pktstat.pcap";
	cr_assert_eq(cap_pcapfile_ops.open(&h, &cfg, err, sizeof(err)),
		     -ENOENT);
	cr_assert_null(h);
	cr_assert(!strncmp(err, "/nonexistent/pktstat.pcap: ", 27), "%s", err);
	cr_assert_null(strchr(err, '\n'));

	tmp_path(path, sizeof(path), "junk.pcap");
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("this is not a capture file at all\n", f);
	fclose(f);
	cfg.file = path;
	err[0] = '\0';
	cr_assert_lt(cap_pcapfile_ops.open(&h, &cfg, err, sizeof(err)), 0);
	cr_assert(!strncmp(err, path, strlen(path)), "%s", err);
	unlink(path);
}

/* ---- live: a veth pair between two namespaces ---------------------- */

/*
 * ns A ("-a") holds the capture side VA: up, no address, forwarding off,
 * IPv6 off, so it receives and never answers. ns B ("-b") holds VB with
 * 10.77.0.2/24 and a permanent neighbour entry for 10.77.0.1 -> VA's MAC,
 * so UDP from B reaches VA with no ARP. Nothing else runs in either.
 */
struct net {
	char nsa[64], nsb[64], va[IFNAMSIZ], vb[IFNAMSIZ];
	int ready;
};

static struct net net;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Remove namespaces left by test processes that died (crash, kill). */
static void reap_stale(void)
{
	DIR *d = opendir("/run/netns");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		int pid;
		char tail;

		if (sscanf(e->d_name, "pktstat-capt-%d-%c", &pid, &tail) == 2 &&
		    pid != getpid() && kill(pid, 0) < 0 && errno == ESRCH)
			sh("ip netns del %s 2>/dev/null", e->d_name);
	}
	closedir(d);
}

static void enter_ns(const char *ns)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(setns(fd, CLONE_NEWNET), 0, "setns: %s", strerror(errno));
	close(fd);
}

static void net_up(void)
{
	int pid = (int)getpid();

	if (geteuid() != 0)
		return;
	reap_stale();
	snprintf(net.nsa, sizeof(net.nsa), "pktstat-capt-%d-a", pid);
	snprintf(net.nsb, sizeof(net.nsb), "pktstat-capt-%d-b", pid);
	snprintf(net.va, sizeof(net.va), "pc%da", pid);
	snprintf(net.vb, sizeof(net.vb), "pc%db", pid);
	net.ready = 1; /* from here on, net_down cleans up */
	cr_assert_eq(
		sh("set -e; A=%s; B=%s;"
		   "ip netns add $A; ip netns add $B;"
		   "for n in $A $B; do"
		   " ip netns exec $n sysctl -qw "
		   "net.ipv6.conf.all.disable_ipv6=1"
		   " net.ipv6.conf.default.disable_ipv6=1"
		   " net.ipv4.ip_forward=0; done;"
		   "ip link add %s netns $A address 02:00:00:00:00:01 type veth"
		   " peer name %s netns $B address 02:00:00:00:00:02;"
		   "ip -n $B addr add 10.77.0.2/24 dev %s;"
		   "ip -n $A link set %s up; ip -n $B link set %s up;"
		   "ip -n $B neigh replace 10.77.0.1 lladdr 02:00:00:00:00:01"
		   " dev %s nud permanent",
		   net.nsa, net.nsb, net.va, net.vb, net.vb, net.va, net.vb,
		   net.vb),
		0, "network namespace set-up failed");
	enter_ns(net.nsa);
}

static void net_down(void)
{
	if (!net.ready)
		return;
	sh("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null", net.nsa,
	   net.nsb);
	net.ready = 0;
}

/*
 * Skip the running test, saying why on one stderr line: a skip's own
 * message shows only with --verbose, and Criterion 2.4.1 exits 1 after a
 * cr_log_warn.
 */
#define SKIP(why)                                                  \
	do {                                                       \
		fprintf(stderr, "# SKIP %s: %s\n", __func__, why); \
		cr_skip_test(why);                                 \
	} while (0)

#define NEED_ROOT()                                                 \
	do {                                                        \
		if (geteuid() != 0)                                 \
			SKIP("live capture needs root (AF_PACKET, " \
			     "network namespaces)");                \
	} while (0)

/* Wait until VB has carrier again (after VA went down and up). */
static void wait_carrier(void)
{
	uint64_t end = now_ms() + 3000;

	while (sh("ip -n %s -o link show %s | grep -q LOWER_UP", net.nsb,
		  net.vb) != 0) {
		cr_assert_lt(now_ms(), end, "no carrier on %s", net.vb);
		usleep(10000);
	}
}

struct burst {
	uint16_t dport;
	int count;
	int payload;
};

/*
 * Send the bursts, interleaved round-robin, from ns B (a forked child in
 * that namespace) to 10.77.0.1. With @vlan, hand-made frames tagged with
 * VLAN 100 go out of VB through a packet socket instead (no 8021q module
 * needed). Returns once every frame has left the socket.
 */
static void send_from_b(const struct burst *b, int nb, int vlan)
{
	pid_t pid = fork();
	int status;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char path[128];
		static uint8_t buf[2048], frame[2048];
		struct sockaddr_in to = { .sin_family = AF_INET };
		struct sockaddr_ll ll = { .sll_family = AF_PACKET };
		int fd, left[8], more = 1;

		snprintf(path, sizeof(path), "/run/netns/%s", net.nsb);
		fd = open(path, O_RDONLY);
		if (fd < 0 || setns(fd, CLONE_NEWNET))
			_exit(2);
		close(fd);
		fd = vlan ? socket(AF_PACKET, SOCK_RAW, 0)
			  : socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0)
			_exit(3);
		inet_pton(AF_INET, "10.77.0.1", &to.sin_addr);
		ll.sll_ifindex = (int)if_nametoindex(net.vb);
		ll.sll_halen = 6;
		memset(buf, 'x', sizeof(buf));
		for (int i = 0; i < nb; i++)
			left[i] = b[i].count;
		while (more) {
			more = 0;
			for (int i = 0; i < nb; i++) {
				ssize_t want = b[i].payload, sent;

				if (!left[i])
					continue;
				if (vlan) {
					size_t n =
						udp_frame(frame + 4, b[i].dport,
							  (size_t)b[i].payload);

					memmove(frame, frame + 4, 12);
					memcpy(frame + 12,
					       (uint8_t[]){ 0x81, 0, 0, 100 },
					       4);
					want = (ssize_t)n + 4;
					sent = sendto(fd, frame, (size_t)want,
						      0, (struct sockaddr *)&ll,
						      sizeof(ll));
				} else {
					to.sin_port = htons(b[i].dport);
					sent = sendto(fd, buf, (size_t)want, 0,
						      (struct sockaddr *)&to,
						      sizeof(to));
				}
				if (sent != want)
					_exit(4);
				more |= --left[i] != 0;
			}
		}
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "sender failed: status %d", status);
}

/* Frame size on the wire for a UDP payload (Ethernet, IPv4, UDP). */
#define WIRE(payload) (14 + 20 + 8 + (payload))

/*
 * Dispatch until @want frames arrived (or @max_ms passed), then keep
 * dispatching @settle_ms more so that any extra frame would be counted.
 */
static void collect(const struct cap_ops *ops, struct cap_handle *h,
		    struct coll *c, uint64_t want, int max_ms, int settle_ms)
{
	uint64_t end = now_ms() + (uint64_t)max_ms, settle = 0;
	char err[256];

	for (;;) {
		int rc = ops->dispatch(h, coll_cb, c, 10, err, sizeof(err));
		uint64_t t = now_ms();

		cr_assert_geq(rc, 0, "dispatch: %d %s", rc, err);
		if (!settle && (c->n >= want || t >= end))
			settle = t + (uint64_t)settle_ms;
		if (settle && t >= settle)
			break;
	}
}

static struct cap_handle *open_live(const struct cap_ops *ops,
				    const char *iface, int bufsize_mb,
				    const char *filter)
{
	struct cap_config cfg = {
		.iface = iface,
		.snaplen = 65535,
		.bufsize_mb = bufsize_mb,
		.promisc = 1,
		.block_timeout_ms = 10,
	};
	struct cap_handle *h;
	char err[512];
	struct bpf_program prog;

	cr_assert_eq(ops->open(&h, &cfg, err, sizeof(err)), 0, "%s", err);
	if (filter) {
		cr_assert_eq(cap_compile(ops->datalink(h), 65535, filter, &prog,
					 err, sizeof(err)),
			     0, "%s", err);
		cr_assert_eq(ops->set_filter(h, &prog, err, sizeof(err)), 0,
			     "%s", err);
		pcap_freecode(&prog);
	} else {
		cr_assert_eq(ops->set_filter(h, NULL, err, sizeof(err)), 0,
			     "%s", err);
	}
	return h;
}

static void swap_filter(const struct cap_ops *ops, struct cap_handle *h,
			const char *filter)
{
	struct bpf_program prog;
	char err[256];

	cr_assert_eq(cap_compile(ops->datalink(h), 65535, filter, &prog, err,
				 sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(ops->set_filter(h, &prog, err, sizeof(err)), 0, "%s", err);
	pcap_freecode(&prog);
}

static void kernel_filter_exact(const struct cap_ops *ops)
{
	static const struct burst b[] = { { 9999, 50, 100 },
					  { 7777, 30, 100 },
					  { 9999, 25, 300 } };
	struct cap_handle *h = open_live(ops, net.va, 4, "udp port 9999");
	struct coll c = { 0 };
	struct cap_stats st;

	cr_assert_eq(ops->datalink(h), DLT_EN10MB);
	send_from_b(b, 3, 0);
	collect(ops, h, &c, 75, 3000, 150);
	cr_assert_eq(c.n, 75, "received %llu", (unsigned long long)c.n);
	cr_assert_eq(c.wire, 50 * WIRE(100) + 25 * WIRE(300));
	cr_assert_eq(c.cap, c.wire);
	for (int i = 0; i < MAX_REC; i++) {
		cr_assert_eq(c.r[i].dlt, DLT_EN10MB);
		cr_assert_eq(c.r[i].vlan_tci, -1);
		cr_assert_eq(c.r[i].head[12], 0x08); /* IPv4 */
		cr_assert_eq(c.r[i].head[0], 0x02);  /* to VA's MAC */
		cr_assert_eq(c.r[i].head[5], 0x01);
		cr_assert_gt(c.r[i].ts_ns, 1600000000ull * 1000000000);
	}
	cr_assert_eq(ops->stats(h, &st), 0);
	cr_assert_eq(st.received, 75);
	cr_assert_eq(st.kernel_drops, 0);
	cr_assert_eq(ops->link(h), CAP_LINK_UP);
	ops->close(h);
}

Test(capture, tpacket3_kernel_filter_exact, .init = net_up, .fini = net_down,
     .timeout = 10)
{
	NEED_ROOT();
	kernel_filter_exact(&cap_tpacket3_ops);
}

Test(capture, tpacket3_reports_ifindex, .init = net_up, .fini = net_down,
     .timeout = 10)
{
	static const struct burst b[] = { { 9999, 3, 10 } };
	struct cap_handle *h;
	struct coll c = { 0 };

	NEED_ROOT();
	h = open_live(&cap_tpacket3_ops, net.va, 1, NULL);
	send_from_b(b, 1, 0);
	collect(&cap_tpacket3_ops, h, &c, 3, 3000, 100);
	cr_assert_eq(c.n, 3);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(c.r[i].ifindex, (int)if_nametoindex(net.va));
	cap_tpacket3_ops.close(h);
}

Test(capture, pcap_live_kernel_filter_exact, .init = net_up, .fini = net_down,
     .timeout = 10)
{
	NEED_ROOT();
	kernel_filter_exact(&cap_pcap_ops);
}

Test(capture, tpacket3_ring_overflow_accounted, .init = net_up,
     .fini = net_down, .timeout = 10)
{
	/* 1 MiB ring, ~1 KiB frames: 3000 frames overflow it. */
	static const struct burst b[] = { { 9999, 3000, 1000 } };
	struct cap_handle *h;
	struct coll c = { 0 };
	struct cap_stats st;

	NEED_ROOT();
	h = open_live(&cap_tpacket3_ops, net.va, 1, "udp port 9999");
	send_from_b(b, 1, 0);
	usleep(50 * 1000); /* let the last block retire */
	cr_assert_eq(cap_tpacket3_ops.stats(h, &st), 0);
	collect(&cap_tpacket3_ops, h, &c, 3000 - st.kernel_drops, 3000, 100);
	cr_assert_eq(cap_tpacket3_ops.stats(h, &st), 0);
	cr_assert_gt(st.kernel_drops, 0, "the ring did not overflow");
	cr_assert_eq(st.received, c.n);
	cr_assert_eq(st.received + st.kernel_drops, 3000,
		     "received %llu + drops %llu",
		     (unsigned long long)st.received,
		     (unsigned long long)st.kernel_drops);
	cr_assert_eq(c.wire, c.n * WIRE(1000));
	cap_tpacket3_ops.close(h);
}

struct waker {
	const struct cap_ops *ops;
	struct cap_handle *h;
	uint64_t at_ms;
};

static void *wake_later(void *arg)
{
	struct waker *w = arg;

	usleep(100 * 1000);
	w->at_ms = now_ms();
	w->ops->wakeup(w->h);
	return NULL;
}

static void wakeup_returns_promptly(const struct cap_ops *ops)
{
	struct cap_handle *h = open_live(ops, net.va, 1, NULL);
	struct waker w = { ops, h, 0 };
	struct coll c = { 0 };
	pthread_t t;
	char err[256];
	uint64_t t0 = now_ms(), t1;
	int rc;

	cr_assert_eq(pthread_create(&t, NULL, wake_later, &w), 0);
	rc = ops->dispatch(h, coll_cb, &c, 5000, err, sizeof(err));
	t1 = now_ms();
	pthread_join(t, NULL);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_geq(t1 - t0, 90, "returned before the wakeup");
	cr_assert_lt(t1 - w.at_ms, 100, "wakeup took %llu ms",
		     (unsigned long long)(t1 - w.at_ms));
	/* A wakeup with nobody waiting makes the next dispatch return. */
	ops->wakeup(h);
	t0 = now_ms();
	cr_assert_eq(ops->dispatch(h, coll_cb, &c, 5000, err, sizeof(err)), 0);
	cr_assert_lt(now_ms() - t0, 100);
	ops->close(h);
}

Test(capture, tpacket3_wakeup_returns_promptly, .init = net_up,
     .fini = net_down, .timeout = 10)
{
	NEED_ROOT();
	wakeup_returns_promptly(&cap_tpacket3_ops);
}

Test(capture, pcap_wakeup_returns_promptly, .init = net_up, .fini = net_down,
     .timeout = 10)
{
	NEED_ROOT();
	wakeup_returns_promptly(&cap_pcap_ops);
}

static void unknown_iface(const struct cap_ops *ops)
{
	struct cap_config cfg = { .iface = "pcnope0", .snaplen = 65535 };
	struct cap_handle *h = (struct cap_handle *)&cfg;
	char err[512] = "";

	cr_assert_eq(ops->open(&h, &cfg, err, sizeof(err)), -ENODEV, "%s", err);
	cr_assert_null(h);
	cr_assert(!strncmp(err, "pcnope0: no such device (available: ", 36),
		  "%s", err);
	/* Listed from the capture's namespace: lo and VA, nothing else. */
	cr_assert_not_null(strstr(err, net.va), "%s", err);
	cr_assert_not_null(strstr(err, "lo"), "%s", err);
	cr_assert_null(strstr(err, net.vb), "%s", err);
}

Test(capture, tpacket3_unknown_interface, .init = net_up, .fini = net_down,
     .timeout = 10)
{
	NEED_ROOT();
	unknown_iface(&cap_tpacket3_ops);
}

Test(capture, pcap_unknown_interface, .init = net_up, .fini = net_down,
     .timeout = 10)
{
	NEED_ROOT();
	unknown_iface(&cap_pcap_ops);
}

struct runner {
	const struct cap_ops *ops;
	struct cap_handle *h;
	struct coll c; /* written by the runner thread only */
	uint64_t n;    /* atomic copy of c.n */
	int stop;      /* atomic */
	int rc;
};

static void *run_dispatch(void *arg)
{
	struct runner *r = arg;
	char err[256];

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		r->rc = r->ops->dispatch(r->h, coll_cb, &r->c, 1000, err,
					 sizeof(err));
		if (r->rc < 0)
			break;
		__atomic_store_n(&r->n, r->c.n, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void wait_count(struct runner *r, uint64_t want)
{
	uint64_t end = now_ms() + 3000;

	while (__atomic_load_n(&r->n, __ATOMIC_ACQUIRE) < want &&
	       now_ms() < end)
		usleep(5000);
	usleep(100 * 1000); /* an extra frame would show up by now */
	cr_assert_eq(
		__atomic_load_n(&r->n, __ATOMIC_ACQUIRE), want,
		"count %llu, want %llu",
		(unsigned long long)__atomic_load_n(&r->n, __ATOMIC_ACQUIRE),
		(unsigned long long)want);
}

Test(capture, tpacket3_filter_swap_exact, .init = net_up, .fini = net_down,
     .timeout = 10)
{
	static const struct burst before[] = { { 9999, 20, 50 },
					       { 8888, 20, 60 } };
	static const struct burst after[] = { { 9999, 20, 50 },
					      { 8888, 30, 60 } };
	static const struct burst queued[] = { { 8888, 15, 60 } };
	static const struct burst late[] = { { 7777, 5, 70 } };
	struct runner r = { 0 };
	pthread_t t;
	struct coll c = { 0 };
	struct cap_stats st;

	NEED_ROOT();
	r.ops = &cap_tpacket3_ops;
	r.h = open_live(r.ops, net.va, 1, "udp port 9999");

	/* Swap from this thread while the runner sits in dispatch. */
	cr_assert_eq(pthread_create(&t, NULL, run_dispatch, &r), 0);
	send_from_b(before, 2, 0);
	wait_count(&r, 20);
	swap_filter(r.ops, r.h, "udp port 8888");
	send_from_b(after, 2, 0);
	wait_count(&r, 50);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	r.ops->wakeup(r.h);
	pthread_join(t, NULL);
	cr_assert_geq(r.rc, 0);
	cr_assert_eq(r.c.wire, 20 * WIRE(50) + 30 * WIRE(60));

	/* Frames queued in the ring under the old filter meet the new one
	 * in user space: the 8888 ones are dropped and counted. */
	send_from_b(queued, 1, 0);
	usleep(50 * 1000); /* retired, not yet read */
	swap_filter(r.ops, r.h, "udp port 7777");
	send_from_b(late, 1, 0);
	collect(r.ops, r.h, &c, 5, 3000, 100);
	cr_assert_eq(c.n, 5);
	cr_assert_eq(c.wire, 5 * WIRE(70));
	cr_assert_eq(r.ops->stats(r.h, &st), 0);
	cr_assert_eq(st.filtered, 15);
	cr_assert_eq(st.received, 55);
	r.ops->close(r.h);
}

Test(capture, tpacket3_invalid_program_refused, .init = net_up,
     .fini = net_down, .timeout = 10)
{
	struct cap_handle *h;
	char err[256] = "";

	NEED_ROOT();
	h = open_live(&cap_tpacket3_ops, NULL, 1, NULL);
	cr_assert_eq(
		cap_tpacket3_ops.set_filter(h, &bad_prog, err, sizeof(err)),
		-EINVAL);
	cr_assert_str_eq(err, "any: invalid filter program");
	cap_tpacket3_ops.close(h);
	h = open_live(&cap_tpacket3_ops, net.va, 1, NULL);
	cr_assert_eq(
		cap_tpacket3_ops.set_filter(h, &bad_prog, err, sizeof(err)),
		-EINVAL);
	cap_tpacket3_ops.close(h);
}

Test(capture, tpacket3_any_filters_in_user_space, .init = net_up,
     .fini = net_down, .timeout = 10)
{
	static const struct burst b[] = { { 9999, 10, 40 }, { 7777, 12, 40 } };
	struct cap_handle *h;
	struct coll c = { 0 };
	struct cap_stats st;

	NEED_ROOT();
	h = open_live(&cap_tpacket3_ops, NULL, 1, "udp port 9999");
	cr_assert_eq(cap_tpacket3_ops.datalink(h), DLT_EN10MB);
	send_from_b(b, 2, 0);
	collect(&cap_tpacket3_ops, h, &c, 10, 3000, 100);
	cr_assert_eq(c.n, 10);
	cr_assert_eq(c.wire, 10 * WIRE(40));
	cr_assert_eq(c.r[0].ifindex, (int)if_nametoindex(net.va));
	cr_assert_eq(cap_tpacket3_ops.stats(h, &st), 0);
	cr_assert_eq(st.filtered, 12);
	cap_tpacket3_ops.close(h);
}

/* Send @n datagrams of @payload bytes from this process (ns A). */
static void send_here(const char *addr, const uint16_t *ports, int n,
		      size_t payload)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	char buf[256];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	cr_assert_geq(fd, 0);
	memset(buf, 'y', sizeof(buf));
	inet_pton(AF_INET, addr, &to.sin_addr);
	for (int i = 0; i < n; i++) {
		to.sin_port = htons(ports[i]);
		cr_assert_eq(sendto(fd, buf, payload, 0, (struct sockaddr *)&to,
				    sizeof(to)),
			     (ssize_t)payload, "sendto %s: %s", addr,
			     strerror(errno));
	}
	close(fd);
}

/*
 * A tun device "pc<pid>at" in ns A, 10.98.0.1/24, up. What is routed to
 * 10.98.0.0/24 goes out of it and queues on the returned fd, which we
 * never read: nothing leaves ns A. Close the fd to delete the device.
 */
static int tun_up(struct ifreq *ifr)
{
	int tfd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	cr_assert_geq(tfd, 0, "/dev/net/tun: %s", strerror(errno));
	memset(ifr, 0, sizeof(*ifr));
	ifr->ifr_flags = IFF_TUN | IFF_NO_PI;
	/* net.va is "pc<pid>a": at most 10 bytes, room for the "t". */
	memcpy(ifr->ifr_name, net.va, strlen(net.va));
	ifr->ifr_name[strlen(net.va)] = 't';
	cr_assert_eq(ioctl(tfd, TUNSETIFF, ifr), 0, "TUNSETIFF: %s",
		     strerror(errno));
	cr_assert_eq(sh("ip -n %s addr add 10.98.0.1/24 dev %s &&"
			" ip -n %s link set %s up",
			net.nsa, ifr->ifr_name, net.nsa, ifr->ifr_name),
		     0);
	return tfd;
}

Test(capture, tpacket3_raw_ip_interface, .init = net_up, .fini = net_down,
     .timeout = 10)
{
	/* A named tun: DLT_RAW, the filter compiled for it runs in the
	 * kernel, and again in user space after a swap. */
	static const uint16_t first[] = { 9999, 7777, 9999, 7777, 9999 };
	static const uint16_t queued[] = { 9999, 9999, 9999, 9999 };
	static const uint16_t late[] = { 7777, 7777 };
	struct cap_handle *h;
	struct coll c = { 0 };
	struct cap_stats st;
	struct ifreq ifr;
	int tfd;

	NEED_ROOT();
	tfd = tun_up(&ifr);
	h = open_live(&cap_tpacket3_ops, ifr.ifr_name, 1, "udp port 9999");
	cr_assert_eq(cap_tpacket3_ops.datalink(h), DLT_RAW);
	send_here("10.98.0.2", first, 5, 10);
	collect(&cap_tpacket3_ops, h, &c, 3, 3000, 100);
	cr_assert_eq(c.n, 3);
	cr_assert_eq(c.wire, 3 * (20 + 8 + 10));
	cr_assert_eq(c.r[0].dlt, DLT_RAW);
	cr_assert_eq(c.r[0].head[0], 0x45);
	send_here("10.98.0.2", queued, 4, 10);
	usleep(50 * 1000); /* retired, not yet read */
	swap_filter(&cap_tpacket3_ops, h, "udp port 7777");
	send_here("10.98.0.2", late, 2, 20);
	memset(&c, 0, sizeof(c));
	collect(&cap_tpacket3_ops, h, &c, 2, 3000, 100);
	cr_assert_eq(c.n, 2);
	cr_assert_eq(c.wire, 2 * (20 + 8 + 20));
	cr_assert_eq(cap_tpacket3_ops.stats(h, &st), 0);
	cr_assert_eq(st.filtered, 4);
	cap_tpacket3_ops.close(h);
	close(tfd);
}

Test(capture, tpacket3_any_mixed_link_types, .init = net_up, .fini = net_down,
     .timeout = 10)
{
	/*
	 * "any" sees loopback (Ethernet-like, every frame twice: outgoing
	 * and incoming) and a tun device (ARPHRD_NONE: no link header,
	 * DLT_RAW; what is routed into it queues on our unread tun fd, so
	 * nothing leaves ns A). One Ethernet-compiled filter must judge both
	 * kinds right, and loopback must count once.
	 */
	static const uint16_t ports[] = { 9999, 7777, 9999, 7777, 9999 };
	struct cap_handle *h;
	struct coll c = { 0 };
	struct cap_stats st;
	struct ifreq ifr;
	uint64_t raw = 0, eth = 0;
	int tfd;

	NEED_ROOT();
	tfd = tun_up(&ifr);
	cr_assert_eq(sh("ip -n %s link set lo up", net.nsa), 0);
	h = open_live(&cap_tpacket3_ops, "any", 1, "udp port 9999");
	cr_assert_eq(cap_tpacket3_ops.datalink(h), DLT_EN10MB);
	send_here("127.0.0.1", ports, 5, 33); /* 3 match, x1 (incoming) */
	send_here("10.98.0.2", ports, 5, 44); /* 3 match, outgoing raw */
	collect(&cap_tpacket3_ops, h, &c, 6, 3000, 150);
	cr_assert_eq(c.n, 6, "received %llu", (unsigned long long)c.n);
	for (int i = 0; i < 6; i++) {
		if (c.r[i].dlt == DLT_RAW) {
			raw++;
			cr_assert_eq(c.r[i].wirelen, 20 + 8 + 44);
			cr_assert_eq(c.r[i].head[0], 0x45);
			cr_assert_eq(c.r[i].ifindex,
				     (int)if_nametoindex(ifr.ifr_name));
		} else {
			eth++;
			cr_assert_eq(c.r[i].dlt, DLT_EN10MB);
			cr_assert_eq(c.r[i].wirelen, WIRE(33));
			cr_assert_eq(c.r[i].ifindex, 1); /* lo */
		}
	}
	cr_assert_eq(raw, 3);
	cr_assert_eq(eth, 3);
	/* Dropped in user space: 2 on the tun, 2 on lo, and the ICMP
	 * port-unreachable answers on lo. */
	cr_assert_eq(cap_tpacket3_ops.stats(h, &st), 0);
	cr_assert_geq(st.filtered, 4);
	cap_tpacket3_ops.close(h);
	close(tfd);
}

static void link_down_and_up(const struct cap_ops *ops)
{
	static const struct burst b[] = { { 9999, 7, 20 } };
	struct cap_handle *h;
	struct coll c = { 0 };
	char err[256];
	uint64_t t0;
	int calls = 0;

	h = open_live(ops, net.va, 1, "udp port 9999");
	cr_assert_eq(sh("ip -n %s link set %s down", net.nsa, net.va), 0);
	t0 = now_ms();
	while (ops->link(h) != CAP_LINK_DOWN && now_ms() - t0 < 2000) {
		cr_assert_eq(
			ops->dispatch(h, coll_cb, &c, 50, err, sizeof(err)), 0,
			"%s", err);
		calls++;
	}
	cr_assert_eq(ops->link(h), CAP_LINK_DOWN);
	/* Down: dispatch waits out its timeout, no busy loop. */
	t0 = now_ms();
	cr_assert_eq(ops->dispatch(h, coll_cb, &c, 100, err, sizeof(err)), 0);
	cr_assert_geq(now_ms() - t0, 90);
	cr_assert_eq(ops->link(h), CAP_LINK_DOWN);

	cr_assert_eq(sh("ip -n %s link set %s up", net.nsa, net.va), 0);
	wait_carrier();
	cr_assert_eq(ops->dispatch(h, coll_cb, &c, 10, err, sizeof(err)), 0);
	cr_assert_eq(ops->link(h), CAP_LINK_UP);
	/* The same socket captures again, with its filter. */
	send_from_b(b, 1, 0);
	collect(ops, h, &c, 7, 3000, 100);
	cr_assert_eq(c.n, 7);
	cr_assert_eq(c.wire, 7 * WIRE(20));
	ops->close(h);
}

Test(capture, tpacket3_link_down_and_up, .init = net_up, .fini = net_down,
     .timeout = 10)
{
	NEED_ROOT();
	link_down_and_up(&cap_tpacket3_ops);
}

Test(capture, pcap_link_down_and_up, .init = net_up, .fini = net_down,
     .timeout = 10)
{
	NEED_ROOT();
	link_down_and_up(&cap_pcap_ops);
}

/* The veth pair of net_up again (deleting one end took both). */
static void net_veth_again(void)
{
	cr_assert_eq(
		sh("set -e; A=%s; B=%s;"
		   "ip link add %s netns $A address 02:00:00:00:00:01 type veth"
		   " peer name %s netns $B address 02:00:00:00:00:02;"
		   "ip -n $B addr add 10.77.0.2/24 dev %s;"
		   "ip -n $A link set %s up; ip -n $B link set %s up;"
		   "ip -n $B neigh replace 10.77.0.1 lladdr 02:00:00:00:00:01"
		   " dev %s nud permanent",
		   net.nsa, net.nsb, net.va, net.vb, net.vb, net.va, net.vb,
		   net.vb),
		0, "veth set-up failed");
}

/*
 * Deleted: what was captured before is delivered; then, with @resumes
 * (tpacket3, with fanout too; pcap), the handle waits for an interface of that
 * name and captures on it; otherwise the end, with the reason.
 */
static void interface_deleted(const struct cap_ops *ops, int fanout,
			      int resumes)
{
	static const struct burst b[] = { { 9999, 4, 20 } };
	static const struct burst b2[] = { { 9999, 3, 20 } };
	struct cap_config cfg = {
		.snaplen = 65535,
		.bufsize_mb = 1,
		.block_timeout_ms = 300,
		.fanout_group = fanout,
	};
	struct cap_handle *h;
	struct cap_stats st;
	struct coll c = { 0 };
	char err[256] = "";
	char want[64];
	uint64_t t0;
	int rc = 0;

	/* A long block timeout: the frames are still in an open block when
	 * the interface goes, and must be drained before the error. */
	cfg.iface = net.va;
	cr_assert_eq(ops->open(&h, &cfg, err, sizeof(err)), 0, "%s", err);
	send_from_b(b, 1, 0);
	cr_assert_eq(sh("ip -n %s link del %s", net.nsa, net.va), 0);
	t0 = now_ms();
	while (now_ms() - t0 < (resumes ? 1000 : 3000)) {
		rc = ops->dispatch(h, coll_cb, &c, 50, err, sizeof(err));
		if (rc < 0)
			break;
	}
	/* What was captured before the delete was still delivered. */
	cr_assert_eq(c.n, 4);
	cr_assert_eq(ops->link(h), CAP_LINK_GONE);
	if (!resumes) {
		cr_assert_eq(rc, -ENODEV, "rc %d %s", rc, err);
		snprintf(want, sizeof(want), "%s: interface removed", net.va);
		cr_assert_str_eq(err, want);
		ops->close(h);
		return;
	}
	cr_assert_geq(rc, 0, "rc %d %s", rc, err);
	net_veth_again();
	t0 = now_ms();
	while (now_ms() - t0 < 3000 && ops->link(h) != CAP_LINK_UP) {
		rc = ops->dispatch(h, coll_cb, &c, 50, err, sizeof(err));
		cr_assert_geq(rc, 0, "rc %d %s", rc, err);
	}
	cr_assert_eq(ops->link(h), CAP_LINK_UP);
	cr_assert_eq(ops->stats(h, &st), 0);
	cr_assert_eq(st.rebinds, 1);
	send_from_b(b2, 1, 0);
	collect(ops, h, &c, 7, 3000, 50);
	cr_assert_eq(c.n, 7, "after the return: %zu frames", (size_t)c.n);
	ops->close(h);
}

Test(capture, tpacket3_interface_deleted_and_back, .init = net_up,
     .fini = net_down, .timeout = 15)
{
	NEED_ROOT();
	interface_deleted(&cap_tpacket3_ops, 0, 1);
}

/* A socket in a fanout group cannot be bound again: a spare takes its
 * place, in a new group. */
Test(capture, tpacket3_fanout_interface_deleted, .init = net_up,
     .fini = net_down, .timeout = 15)
{
	NEED_ROOT();
	interface_deleted(&cap_tpacket3_ops, (getpid() + 7) & 0xffff, 1);
}

/* Dispatch @n handles for @ms (or until each link is @until, when >= 0);
 * every call must succeed. */
static void dispatch_all(struct cap_handle **h, int n, struct coll *c, int ms,
			 int until)
{
	uint64_t t0 = now_ms();
	char err[256];

	while (now_ms() - t0 < (uint64_t)ms) {
		int done = until >= 0;

		for (int i = 0; i < n; i++) {
			int rc = cap_tpacket3_ops.dispatch(h[i], coll_cb, c, 10,
							   err, sizeof(err));

			cr_assert_geq(rc, 0, "handle %d: %d %s", i, rc, err);
			if (cap_tpacket3_ops.link(h[i]) != (enum cap_link)until)
				done = 0;
		}
		if (done)
			return;
	}
}

/*
 * Two threads of a fanout group, the interface removed and made again,
 * twice: each takes a spare socket into the new interface's group, and
 * the two share its frames again, each frame once.
 */
Test(capture, tpacket3_fanout_two_threads_resume, .init = net_up,
     .fini = net_down, .timeout = 20)
{
	static const struct burst b[] = { { 9999, 4, 20 }, { 9998, 5, 20 } };
	struct cap_config cfg = {
		.snaplen = 65535,
		.bufsize_mb = 1,
		.block_timeout_ms = 20,
		.fanout_group = (getpid() + 11) & 0xffff,
	};
	struct cap_handle *h[2];
	struct cap_stats st;
	struct coll c = { 0 };
	char err[256] = "";

	NEED_ROOT();
	cfg.iface = net.va;
	for (int i = 0; i < 2; i++)
		cr_assert_eq(
			cap_tpacket3_ops.open(&h[i], &cfg, err, sizeof(err)), 0,
			"%s", err);
	send_from_b(b, 2, 0);
	dispatch_all(h, 2, &c, 500, -1);
	cr_assert_eq(c.n, 9);
	for (int round = 1; round <= 2; round++) {
		cr_assert_eq(sh("ip -n %s link del %s", net.nsa, net.va), 0);
		dispatch_all(h, 2, &c, 3000, CAP_LINK_GONE);
		/* drained, then waiting */
		dispatch_all(h, 2, &c, 200, -1);
		net_veth_again();
		dispatch_all(h, 2, &c, 3000, CAP_LINK_UP);
		for (int i = 0; i < 2; i++) {
			cr_assert_eq(cap_tpacket3_ops.link(h[i]), CAP_LINK_UP);
			cr_assert_eq(cap_tpacket3_ops.stats(h[i], &st), 0);
			cr_assert_eq(st.rebinds, (uint64_t)round);
		}
		send_from_b(b, 2, 0);
		/* all of them, and none twice: a while longer */
		dispatch_all(h, 2, &c, 600, -1);
		cr_assert_eq(c.n, 9 * (uint64_t)(round + 1),
			     "round %d: %zu frames", round, (size_t)c.n);
	}
	for (int i = 0; i < 2; i++)
		cap_tpacket3_ops.close(h[i]);
}

/*
 * Without CAP_NET_RAW (dropped after open, as privs_drop does), a
 * fanout thread resumes as often as it has spares, then says why it
 * cannot.
 */
Test(capture, tpacket3_fanout_spares_run_out, .init = net_up, .fini = net_down,
     .timeout = 30)
{
	struct cap_config cfg = {
		.snaplen = 65535,
		.bufsize_mb = 1,
		.block_timeout_ms = 20,
		.fanout_group = (getpid() + 13) & 0xffff,
	};
	struct cap_handle *h;
	struct coll c = { 0 };
	char err[256] = "";
	int rc = 0, resumed = 0;

	NEED_ROOT();
	cfg.iface = net.va;
	cr_assert_eq(cap_tpacket3_ops.open(&h, &cfg, err, sizeof(err)), 0, "%s",
		     err);
	capng_get_caps_process();
	capng_update(CAPNG_DROP, CAPNG_EFFECTIVE | CAPNG_PERMITTED,
		     CAP_NET_RAW);
	cr_assert_eq(capng_apply(CAPNG_SELECT_CAPS), 0);
	cr_assert_lt(socket(AF_PACKET, SOCK_RAW, 0), 0, "CAP_NET_RAW dropped");
	for (int round = 0; round < 8 && rc >= 0; round++) {
		uint64_t t0;

		cr_assert_eq(sh("ip -n %s link del %s", net.nsa, net.va), 0);
		for (t0 = now_ms(); now_ms() - t0 < 400;)
			cap_tpacket3_ops.dispatch(h, coll_cb, &c, 10, err,
						  sizeof(err));
		net_veth_again();
		for (t0 = now_ms(); now_ms() - t0 < 3000 && rc >= 0 &&
				    cap_tpacket3_ops.link(h) != CAP_LINK_UP;)
			rc = cap_tpacket3_ops.dispatch(h, coll_cb, &c, 10, err,
						       sizeof(err));
		if (rc >= 0) {
			cr_assert_eq(cap_tpacket3_ops.link(h), CAP_LINK_UP);
			resumed++;
		}
	}
	cr_assert_eq(resumed, 4, "resumed %d times", resumed);
	cr_assert_eq(rc, -ENOSPC, "rc %d %s", rc, err);
	cr_assert(strstr(err, "no spare packet socket"), "%s", err);
	cap_tpacket3_ops.close(h);
}

/* libpcap's socket bound again, as tpacket3's. */
Test(capture, pcap_interface_deleted, .init = net_up, .fini = net_down,
     .timeout = 15)
{
	NEED_ROOT();
	interface_deleted(&cap_pcap_ops, 0, 1);
}

Test(capture, tpacket3_vlan_tag, .init = net_up, .fini = net_down,
     .timeout = 10)
{
	static const struct burst b[] = { { 9999, 5, 30 } };
	struct cap_config cfg = {
		.iface = net.va,
		.snaplen = 65535,
		.bufsize_mb = 1,
		.block_timeout_ms = 10,
	};
	struct cap_handle *plain, *tagged;
	struct coll c1 = { 0 }, c2 = { 0 };
	char err[256];

	NEED_ROOT();
	cfg.iface = net.va;
	cr_assert_eq(cap_tpacket3_ops.open(&plain, &cfg, err, sizeof(err)), 0,
		     "%s", err);
	cfg.add_vlan = 1;
	cr_assert_eq(cap_tpacket3_ops.open(&tagged, &cfg, err, sizeof(err)), 0,
		     "%s", err);
	send_from_b(b, 1, 1);
	collect(&cap_tpacket3_ops, plain, &c1, 5, 3000, 50);
	collect(&cap_tpacket3_ops, tagged, &c2, 5, 3000, 50);
	cr_assert_eq(c1.n, 5);
	cr_assert_eq(c2.n, 5);
	/* Stripped: reported in vlan_tci, counted on the wire. */
	cr_assert_eq(c1.r[0].vlan_tci & 0xfff, 100);
	cr_assert_eq(c1.r[0].wirelen, 4 + WIRE(30));
	cr_assert_eq(c1.r[0].caplen, WIRE(30));
	cr_assert_eq(c1.r[0].head[12], 0x08);
	/* Re-inserted: the frame carries 802.1Q again. */
	cr_assert_eq(c2.r[0].vlan_tci, -1);
	cr_assert_eq(c2.r[0].caplen, 4 + WIRE(30));
	cr_assert_eq(c2.r[0].wirelen, 4 + WIRE(30));
	cr_assert_eq(c2.r[0].head[12], 0x81);
	cr_assert_eq(c2.r[0].head[13], 0x00);
	cr_assert_eq(c2.r[0].head[15], 100);
	cap_tpacket3_ops.close(plain);
	cap_tpacket3_ops.close(tagged);
}

/* Frames to port 9999 go into a struct coll, the others are only counted. */
struct coll_9999 {
	struct coll c;
	uint64_t other;
};

static void coll_9999_cb(void *user, const struct cap_pkt *p)
{
	struct coll_9999 *cp = user;

	if (p && p->caplen >= 14 + 20 + 4 &&
	    (p->data[14 + 20 + 2] << 8 | p->data[14 + 20 + 3]) != 9999) {
		cp->other++;
		return;
	}
	coll_cb(&cp->c, p);
}

Test(capture, tpacket3_snaplen_caps_caplen, .init = net_up, .fini = net_down,
     .timeout = 10)
{
	/* The kernel copies only snaplen bytes into the ring (the socket
	 * always carries a filter returning it): 3000 frames of 1042 bytes
	 * overflow a 1 MiB ring in full, but fit at 100 bytes each. Blocks
	 * retire only when full (no retire timer within the test), so the
	 * ring holds them however slowly they come. */
	static const struct burst b[] = { { 9999, 3000, 1000 } };
	static const struct burst fill[] = { { 9998, 128, 1000 } };
	struct cap_config cfg = {
		.snaplen = 100,
		.bufsize_mb = 1,
		.block_timeout_ms = 60000,
	};
	struct cap_handle *h;
	struct coll_9999 cp = { 0 };
	struct cap_stats st;
	char err[256];
	uint64_t end;

	NEED_ROOT();
	cfg.iface = net.va;
	cr_assert_eq(cap_tpacket3_ops.open(&h, &cfg, err, sizeof(err)), 0, "%s",
		     err);
	send_from_b(b, 1, 0);
	/* Read the full blocks, then fill the last one with frames to
	 * another port until one of them comes: the ring is in order, so
	 * every frame of the burst has come by then. */
	end = now_ms() + 8000;
	while (!cp.other) {
		int rc = cap_tpacket3_ops.dispatch(h, coll_9999_cb, &cp, 0, err,
						   sizeof(err));

		cr_assert_geq(rc, 0, "dispatch: %d %s", rc, err);
		cr_assert_lt(now_ms(), end, "%llu frames, no filler",
			     (unsigned long long)cp.c.n);
		if (rc == 0)
			send_from_b(fill, 1, 0);
	}
	cr_assert_eq(cap_tpacket3_ops.stats(h, &st), 0);
	cr_assert_eq(st.kernel_drops, 0);
	cr_assert_eq(cp.c.n, 3000);
	cr_assert_eq(cp.c.cap, 3000 * 100);
	cr_assert_eq(cp.c.wire, 3000 * WIRE(1000));
	cap_tpacket3_ops.close(h);
}

/* Per-destination-port counts, for fanout. */
struct portcount {
	uint64_t n;
	uint64_t by_port[16]; /* dport 9000..9015 */
};

static void port_cb(void *user, const struct cap_pkt *p)
{
	struct portcount *pc = user;
	unsigned int dport;

	if (!p) /* end of a batch */
		return;
	cr_assert_geq(p->caplen, 14 + 20 + 4);
	dport = (unsigned int)p->data[14 + 20 + 2] << 8 | p->data[14 + 20 + 3];
	cr_assert(dport >= 9000 && dport < 9016, "dport %u", dport);
	pc->by_port[dport - 9000]++;
	pc->n++;
}

Test(capture, tpacket3_fanout_splits_by_flow, .init = net_up, .fini = net_down,
     .timeout = 10)
{
	struct burst b[16];
	struct cap_config cfg = {
		.snaplen = 65535,
		.bufsize_mb = 1,
		.block_timeout_ms = 10,
	};
	struct cap_handle *h[2];
	struct portcount pc[2] = { { 0 }, { 0 } };
	char err[256];
	uint64_t end;
	int used[2] = { 0, 0 };

	NEED_ROOT();
	cfg.iface = net.va;
	cfg.fanout_group = (int)(getpid() & 0xffff) | 1;
	for (int i = 0; i < 2; i++)
		cr_assert_eq(
			cap_tpacket3_ops.open(&h[i], &cfg, err, sizeof(err)), 0,
			"%s", err);
	for (int i = 0; i < 16; i++)
		b[i] = (struct burst){ (uint16_t)(9000 + i), 10, 16 };
	/* send_from_b interleaves at most 8 bursts at a time. */
	send_from_b(b, 8, 0);
	send_from_b(b + 8, 8, 0);
	end = now_ms() + 3000;
	while (pc[0].n + pc[1].n < 160 && now_ms() < end)
		for (int i = 0; i < 2; i++)
			cr_assert_geq(cap_tpacket3_ops.dispatch(h[i], port_cb,
								&pc[i], 5, err,
								sizeof(err)),
				      0, "%s", err);
	for (int k = 0; k < 10; k++)
		for (int i = 0; i < 2; i++)
			cap_tpacket3_ops.dispatch(h[i], port_cb, &pc[i], 5, err,
						  sizeof(err));
	/* Every frame once, and each flow whole on one socket. */
	cr_assert_eq(pc[0].n + pc[1].n, 160);
	for (int p = 0; p < 16; p++) {
		cr_assert(pc[0].by_port[p] == 0 || pc[1].by_port[p] == 0,
			  "flow %d split %llu/%llu", p,
			  (unsigned long long)pc[0].by_port[p],
			  (unsigned long long)pc[1].by_port[p]);
		cr_assert_eq(pc[0].by_port[p] + pc[1].by_port[p], 10);
		used[pc[0].by_port[p] ? 0 : 1] = 1;
	}
	/* 16 flows on 2 sockets: both get some (2^-15 odds otherwise). */
	cr_assert(used[0] && used[1], "fanout sent every flow to one socket");
	cap_tpacket3_ops.close(h[0]);
	cap_tpacket3_ops.close(h[1]);
}

Test(capture, tpacket3_promisc_membership_ends_with_close, .init = net_up,
     .fini = net_down, .timeout = 10)
{
	struct cap_handle *h;

	NEED_ROOT();
	cr_assert_neq(sh("ip -d -n %s link show %s | grep -q 'promiscuity 1'",
			 net.nsa, net.va),
		      0);
	h = open_live(&cap_tpacket3_ops, net.va, 1, NULL);
	cr_assert_eq(sh("ip -d -n %s link show %s | grep -q 'promiscuity 1'",
			net.nsa, net.va),
		     0, "promiscuous mode not entered");
	cap_tpacket3_ops.close(h);
	cr_assert_eq(sh("ip -d -n %s link show %s | grep -q 'promiscuity 0'",
			net.nsa, net.va),
		     0, "promiscuous mode not left on close");
}

/* A UDP frame in @buf behind CAP_META_LEN bytes of metadata: tag @vid (0:
 * none). Returns the frame's length (without the prefix). */
static uint32_t meta_frame(uint8_t *buf, int vid)
{
	static const uint8_t
		f[] = {
			2,    0,    0,	  0,  0, 0x99, 2, 0, 0,	 0,  0,
			1,    0x08, 0x00, /* Ethernet */
			0x45, 0,    0,	  28, 0, 0,    0, 0, 64, 17, 0,
			0,    10,   9,	  0,  1, 10,   9, 0, 2, /* IPv4 */
			0x03, 0xe8, 0,	  53, 0, 8,    0, 0, /* UDP 1000 -> 53 */
		};

	cap_meta_fill(buf, vid != 0, (uint16_t)vid, 0);
	memcpy(buf + CAP_META_LEN, f, sizeof(f));
	return sizeof(f);
}

Test(capture, userspace_program_reads_vlan_metadata_as_the_kernel)
{
	pcap_t *cp = cap_compile_handle("lo", 65535, DLT_EN10MB);
	struct bpf_program kp, up;
	uint8_t buf[128];
	char err[256];
	uint32_t n;

	if (!cp)
		SKIP("no live handle on lo (not root?)");
	/* live, "vlan 5" reads the kernel's tag metadata */
	cr_assert_eq(cap_compile_on(cp, "vlan 5", &kp, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(cap_prog_userspace(&kp, &up), 1);
	cr_assert(bpf_validate(up.bf_insns, (int)up.bf_len));
	n = meta_frame(buf, 5);
	cr_assert_gt(bpf_filter(up.bf_insns, buf, n, n + CAP_META_LEN), 0);
	n = meta_frame(buf, 7);
	cr_assert_eq(bpf_filter(up.bf_insns, buf, n, n + CAP_META_LEN), 0);
	n = meta_frame(buf, 0);
	cr_assert_eq(bpf_filter(up.bf_insns, buf, n, n + CAP_META_LEN), 0);
	free(up.bf_insns);
	pcap_freecode(&kp);
	/* "vlan 5 and udp port 53": frame loads moved past the prefix */
	cr_assert_eq(cap_compile_on(cp, "vlan 5 and udp dst port 53", &kp, err,
				    sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(cap_prog_userspace(&kp, &up), 1);
	n = meta_frame(buf, 5);
	cr_assert_gt(bpf_filter(up.bf_insns, buf, n, n + CAP_META_LEN), 0);
	free(up.bf_insns);
	pcap_freecode(&kp);
	/* no metadata read: the program as is, on the frame as is (so "udp"
	 * matches a frame whose tag the kernel stripped, as tcpdump's) */
	cr_assert_eq(cap_compile_on(cp, "udp", &kp, err, sizeof(err)), 0);
	cr_assert_eq(cap_prog_userspace(&kp, &up), 0);
	cr_assert_eq(up.bf_len, kp.bf_len);
	cr_assert_eq(memcmp(up.bf_insns, kp.bf_insns,
			    kp.bf_len * sizeof(*kp.bf_insns)),
		     0);
	n = meta_frame(buf, 5);
	cr_assert_gt(bpf_filter(up.bf_insns, buf + CAP_META_LEN, n, n), 0);
	free(up.bf_insns);
	pcap_freecode(&kp);
	pcap_close(cp);
}
