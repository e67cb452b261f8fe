/*
 * blast.c - the benchmark's traffic generator: sends an exact, bounded
 * number of Ethernet frames on one interface through an AF_PACKET
 * TPACKET_V2 TX ring with PACKET_QDISC_BYPASS, or writes the same frames
 * to a pcap file. Single-threaded; no state outside its own socket.
 *
 *   blast -n COUNT [-r PPS] [-f FLOWS] [-s SIZE] [-m udp4|mix|scan]
 *         [-t SECS] (IFACE | -w FILE.pcap)
 *
 * Packet k belongs to flow k % FLOWS, so every flow gets COUNT / FLOWS
 * packets (+1 for the first COUNT % FLOWS). Flow f differs from every
 * other in its source address (10.0.0.0 + f, 2001:db8::f). "mix" cycles
 * over eight kinds by flow: IPv4 UDP, TCP, ICMP echo; IPv6 UDP, TCP,
 * ICMPv6 echo; 802.1Q IPv4 UDP, 802.1Q IPv6 TCP. "scan" is a TCP SYN
 * scan instead: every flow comes from 198.51.100.1:40000 and flow f
 * goes to port 1 + f % 65535 of 192.0.2.1 (-f 65535: each port once).
 * SIZE is the frame length without FCS; a kind whose headers need more
 * gets its minimum.
 * Every checksum is valid. -r paces in small batches (0: as fast as the
 * kernel takes them); -t bounds the run in seconds whatever happens.
 *
 * The count is exact: a frame is counted once the kernel has handed it to
 * the device (its ring slot is back to TP_STATUS_AVAILABLE after a
 * blocking send()). Prints one line:
 *   sent=N bytes=B seconds=S pps=R
 * Exit status 0 when all COUNT frames went out, 3 when -t cut the run
 * short, 1 on error, 2 on usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BLAST_HDR_MAX 96    /* longest header stack plus slack */
#define BLAST_FRAME_SZ 2048 /* TX ring slot */
#define BLAST_BLOCK_SZ (1 << 16)
#define BLAST_BLOCKS 64
#define BLAST_BATCH 256

enum blast_kind {
	KIND_UDP4,
	KIND_TCP4,
	KIND_ICMP4,
	KIND_UDP6,
	KIND_TCP6,
	KIND_ICMP6,
	KIND_VLAN_UDP4,
	KIND_VLAN_TCP6,
	KIND_COUNT,	       /* "mix" cycles over the kinds above */
	KIND_SYN4 = KIND_COUNT /* "scan" */
};

enum blast_mode { MODE_UDP4, MODE_MIX, MODE_SCAN };

struct blast_opts {
	unsigned long long count;
	unsigned long pps;
	unsigned long flows;
	unsigned size;
	enum blast_mode mode;
	double max_secs;
	const char *iface;
	const char *pcap_out;
};

/* One frame being built: bytes and its wire length. */
struct blast_frame {
	uint8_t b[BLAST_HDR_MAX];
	unsigned len;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* RFC 1071 one's complement sum of len bytes (len even), not folded. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, unsigned len)
{
	for (unsigned i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * Fill f with frame of kind k for flow fl, at least size bytes long. The
 * payload is zeros, so checksums only cover headers (and the pseudo
 * header), which keeps per-frame work at a few dozen additions.
 */
static void frame_build(struct blast_frame *f, enum blast_kind k,
			unsigned long fl, unsigned size)
{
	static const uint8_t dmac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const uint8_t smac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	int v6 = k == KIND_UDP6 || k == KIND_TCP6 || k == KIND_ICMP6 ||
		 k == KIND_VLAN_TCP6;
	int vlan = k == KIND_VLAN_UDP4 || k == KIND_VLAN_TCP6;
	uint8_t proto, *l3, *l4;
	unsigned l2 = vlan ? 18 : 14, l3len = v6 ? 40 : 20, l4len, min;
	uint16_t sport = (uint16_t)(1024 + fl % 50000);
	uint32_t sum;

	switch (k) {
	case KIND_TCP4:
	case KIND_TCP6:
	case KIND_VLAN_TCP6:
	case KIND_SYN4:
		proto = 6;
		l4len = 20;
		break;
	case KIND_ICMP4:
		proto = 1;
		l4len = 8;
		break;
	case KIND_ICMP6:
		proto = 58;
		l4len = 8;
		break;
	default:
		proto = 17;
		l4len = 8;
		break;
	}
	min = l2 + l3len + l4len;
	f->len = size > min ? size : min;
	if (f->len < 60)
		f->len = 60;
	memset(f->b, 0, sizeof(f->b));
	memcpy(f->b, dmac, 6);
	memcpy(f->b + 6, smac, 6);
	if (vlan) {
		put16(f->b + 12, 0x8100);
		put16(f->b + 14, (uint16_t)(1 + fl % 4094));
	}
	put16(f->b + l2 - 2, v6 ? 0x86dd : 0x0800);
	l3 = f->b + l2;
	l4 = l3 + l3len;
	/* L4 length: everything after the IP header up to the frame end */
	unsigned plen = f->len - l2 - l3len;

	if (v6) {
		/*
		 * IPv6 (RFC 8200): ver/tc/flow, payload length, next header,
		 * hop limit, source 2001:db8::<fl>, destination 2001:db8:ff::1
		 */
		put32(l3, 0x60000000);
		put16(l3 + 4, (uint16_t)plen);
		l3[6] = proto;
		l3[7] = 64;
		put32(l3 + 8, 0x20010db8);
		put32(l3 + 20, (uint32_t)fl);
		put32(l3 + 24, 0x20010db8);
		put32(l3 + 28, 0x00ff0000);
		put32(l3 + 36, 1);
	} else {
		/* IPv4 (RFC 791), DF set; source 10.0.0.0 + fl */
		l3[0] = 0x45;
		put16(l3 + 2, (uint16_t)(plen + 20));
		put16(l3 + 6, 0x4000);
		l3[8] = 64;
		l3[9] = proto;
		put32(l3 + 12,
		      k == KIND_SYN4 ? 0xc6336401u
				     : 0x0a000000u + (uint32_t)(fl & 0xffffff));
		put32(l3 + 16, 0xc0000201u);
		put16(l3 + 10, csum_fold(csum_add(0, l3, 20)));
	}
	switch (proto) {
	case 17:
		put16(l4, sport);
		put16(l4 + 2, 53);
		put16(l4 + 4, (uint16_t)plen);
		break;
	case 6:
		put16(l4, k == KIND_SYN4 ? 40000 : sport);
		put16(l4 + 2, k == KIND_SYN4 ? (uint16_t)(1 + fl % 65535) : 80);
		put32(l4 + 4, 1);
		put32(l4 + 8, k == KIND_SYN4 ? 0 : 1);
		l4[12] = 0x50;
		l4[13] = k == KIND_SYN4 ? 0x02 : 0x10; /* SYN : ACK */
		put16(l4 + 14, 65535);
		break;
	default:
		l4[0] = proto == 1 ? 8 : 128; /* echo request */
		put16(l4 + 4, 0x4242);
		put16(l4 + 6, 1);
		break;
	}
	/* Pseudo header (RFC 768/793, RFC 8200 8.1); ICMPv4 has none. */
	sum = 0;
	if (v6) {
		sum = csum_add(sum, l3 + 8, 32);
		sum += plen + proto;
	} else if (proto != 1) {
		sum = csum_add(sum, l3 + 12, 8);
		sum += plen + proto;
	}
	sum = csum_add(sum, l4, l4len);
	put16(l4 + (proto == 17 ? 6 : proto == 6 ? 16 : 2), csum_fold(sum));
	if (proto == 17 && l4[6] == 0 && l4[7] == 0)
		put16(l4 + 6, 0xffff);
}

static enum blast_kind kind_of(const struct blast_opts *o, unsigned long fl)
{
	if (o->mode == MODE_MIX)
		return (enum blast_kind)(fl % KIND_COUNT);
	return o->mode == MODE_SCAN ? KIND_SYN4 : KIND_UDP4;
}

static double now_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep (or spin, for the last 100 us) until monotonic time t. */
static void wait_until(double t)
{
	for (;;) {
		double d = t - now_secs();

		if (d <= 0)
			return;
		if (d > 150e-6) {
			struct timespec ts = { 0, (long)((d - 100e-6) * 1e9) };

			nanosleep(&ts, NULL);
		}
	}
}

static int write_pcap(const struct blast_opts *o)
{
	static const uint8_t zeros[BLAST_FRAME_SZ];
	uint32_t gh[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 };
	unsigned long long k, bytes = 0;
	unsigned long fl = 0;
	unsigned long long gap_ns = o->pps ? 1000000000ULL / o->pps : 1000;
	struct blast_frame f;
	FILE *out;

	out = fopen(o->pcap_out, "wb");
	if (!out) {
		fprintf(stderr, "blast: %s: %s\n", o->pcap_out,
			strerror(errno));
		return 1;
	}
	fwrite(gh, 4, 6, out);
	for (k = 0; k < o->count; k++) {
		unsigned long long us = k * gap_ns / 1000;
		uint32_t rh[4];

		frame_build(&f, kind_of(o, fl), fl, o->size);
		rh[0] = (uint32_t)(1700000000ULL + us / 1000000);
		rh[1] = (uint32_t)(us % 1000000);
		rh[2] = rh[3] = f.len;
		fwrite(rh, 4, 4, out);
		fwrite(f.b, 1, f.len < BLAST_HDR_MAX ? f.len : BLAST_HDR_MAX,
		       out);
		if (f.len > BLAST_HDR_MAX)
			fwrite(zeros, 1, f.len - BLAST_HDR_MAX, out);
		bytes += f.len;
		if (++fl == o->flows)
			fl = 0;
	}
	if (fclose(out) != 0) {
		fprintf(stderr, "blast: %s: %s\n", o->pcap_out,
			strerror(errno));
		return 1;
	}
	printf("sent=%llu bytes=%llu seconds=0 pps=0\n", o->count, bytes);
	return 0;
}

struct blast_ring {
	int fd;
	uint8_t *map;
	unsigned nframes;
	unsigned head; /* next slot to fill */
};

static int ring_open(struct blast_ring *r, const char *iface)
{
	struct tpacket_req req = {
		.tp_block_size = BLAST_BLOCK_SZ,
		.tp_block_nr = BLAST_BLOCKS,
		.tp_frame_size = BLAST_FRAME_SZ,
		.tp_frame_nr = BLAST_BLOCKS * (BLAST_BLOCK_SZ / BLAST_FRAME_SZ),
	};
	int v = TPACKET_V2, one = 1;
	struct sockaddr_ll sll;

	r->fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (r->fd < 0) {
		fprintf(stderr, "blast: socket: %s\n", strerror(errno));
		return -1;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = (int)if_nametoindex(iface);
	if (!sll.sll_ifindex) {
		fprintf(stderr, "blast: %s: no such device\n", iface);
		return -1;
	}
	if (setsockopt(r->fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) ||
	    setsockopt(r->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one,
		       sizeof(one)) ||
	    setsockopt(r->fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req))) {
		fprintf(stderr, "blast: %s: TX ring: %s\n", iface,
			strerror(errno));
		return -1;
	}
	r->nframes = req.tp_frame_nr;
	r->head = 0;
	r->map = mmap(NULL, (size_t)req.tp_block_size * req.tp_block_nr,
		      PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->map == MAP_FAILED) {
		fprintf(stderr, "blast: %s: mmap: %s\n", iface,
			strerror(errno));
		return -1;
	}
	if (bind(r->fd, (struct sockaddr *)&sll, sizeof(sll))) {
		fprintf(stderr, "blast: %s: bind: %s\n", iface,
			strerror(errno));
		return -1;
	}
	return 0;
}

static struct tpacket2_hdr *ring_slot(const struct blast_ring *r, unsigned i)
{
	return (struct tpacket2_hdr *)(r->map + (size_t)i * BLAST_FRAME_SZ);
}

/* Kernel owns a slot while its status is SEND_REQUEST or SENDING. */
static uint32_t slot_status(const struct tpacket2_hdr *h)
{
	return __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
}

/*
 * Hand queued slots [first, first + n) to the kernel and wait until it
 * gave each back (or the deadline passed). Returns how many went out and
 * adds their bytes to *bytes, or -1 (message printed).
 */
static long ring_flush(struct blast_ring *r, unsigned first, unsigned n,
		       double deadline, unsigned long long *bytes)
{
	unsigned long long b = 0;
	long done = 0;

	for (;;) {
		ssize_t rc = send(r->fd, NULL, 0, 0);
		int pending = 0;

		if (rc < 0 && errno != ENOBUFS && errno != EAGAIN &&
		    errno != EINTR) {
			fprintf(stderr, "blast: send: %s\n", strerror(errno));
			return -1;
		}
		done = 0;
		b = 0;
		for (unsigned j = 0; j < n; j++) {
			struct tpacket2_hdr *h =
				ring_slot(r, (first + j) % r->nframes);
			uint32_t st = slot_status(h);

			if (st == TP_STATUS_AVAILABLE) {
				done++;
				b += h->tp_len;
			} else if (st & TP_STATUS_WRONG_FORMAT) {
				fprintf(stderr, "blast: frame refused\n");
				return -1;
			} else
				pending = 1;
		}
		if (!pending || now_secs() > deadline)
			break;
		usleep(20);
	}
	*bytes += b;
	return done;
}

static int blast_send(const struct blast_opts *o)
{
	struct blast_ring r;
	unsigned long long queued = 0, sent = 0, bytes = 0;
	unsigned long fl = 0;
	double t0, deadline, el;
	unsigned batch = BLAST_BATCH;
	int cut = 0;

	if (ring_open(&r, o->iface))
		return 1;
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	if (o->pps) {
		/* about 20 flushes per millisecond at most */
		batch = (unsigned)(o->pps / 20000);
		if (batch < 1)
			batch = 1;
		if (batch > BLAST_BATCH)
			batch = BLAST_BATCH;
	}
	t0 = now_secs();
	deadline = t0 + o->max_secs;
	while (queued < o->count) {
		unsigned first = r.head, n = 0;
		long done;

		if (o->pps)
			wait_until(t0 + (double)queued / (double)o->pps);
		if (now_secs() > deadline) {
			cut = 1;
			break;
		}
		while (n < batch && queued < o->count) {
			struct tpacket2_hdr *h = ring_slot(&r, r.head);
			struct blast_frame f;

			frame_build(&f, kind_of(o, fl), fl, o->size);
			memcpy((uint8_t *)h + TPACKET2_HDRLEN -
				       sizeof(struct sockaddr_ll),
			       f.b, BLAST_HDR_MAX);
			h->tp_len = f.len;
			__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST,
					 __ATOMIC_RELEASE);
			r.head = (r.head + 1) % r.nframes;
			queued++;
			n++;
			if (++fl == o->flows)
				fl = 0;
		}
		done = ring_flush(&r, first, n, deadline, &bytes);
		if (done < 0)
			return 1;
		sent += (unsigned long long)done;
		if (done < (long)n) {
			cut = 1;
			break;
		}
	}
	el = now_secs() - t0;
	printf("sent=%llu bytes=%llu seconds=%.6f pps=%.0f\n", sent, bytes, el,
	       el > 0 ? (double)sent / el : 0.0);
	return cut ? 3 : 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: blast -n COUNT [-r PPS] [-f FLOWS] [-s SIZE] "
		"[-m udp4|mix|scan] [-t SECS] (IFACE | -w FILE.pcap)\n");
}

int main(int argc, char **argv)
{
	struct blast_opts o = { .flows = 1, .size = 60, .max_secs = 30 };
	int c;

	while ((c = getopt(argc, argv, "n:r:f:s:m:t:w:")) != -1) {
		switch (c) {
		case 'n':
			o.count = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			o.pps = strtoul(optarg, NULL, 10);
			break;
		case 'f':
			o.flows = strtoul(optarg, NULL, 10);
			break;
		case 's':
			o.size = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'm':
			if (!strcmp(optarg, "mix"))
				o.mode = MODE_MIX;
			else if (!strcmp(optarg, "scan"))
				o.mode = MODE_SCAN;
			else if (strcmp(optarg, "udp4")) {
				usage();
				return 2;
			}
			break;
		case 't':
			o.max_secs = strtod(optarg, NULL);
			break;
		case 'w':
			o.pcap_out = optarg;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (!o.pcap_out && argc - optind == 1)
		o.iface = argv[optind];
	else if (!o.pcap_out || argc != optind) {
		usage();
		return 2;
	}
	if (o.count < 1 || o.count > 1000000000ULL || o.flows < 1 ||
	    o.flows > (1UL << 24) || o.size < 60 || o.size > 1514 ||
	    !(o.max_secs > 0)) {
		fprintf(stderr, "blast: -n 1..1e9, -f 1..16777216, "
				"-s 60..1514, -t > 0\n");
		return 2;
	}
	return o.pcap_out ? write_pcap(&o) : blast_send(&o);
}
