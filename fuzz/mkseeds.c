/*
 * mkseeds.c - seed corpora for the fuzz targets from real captures.
 *
 *   mkseeds CAPTURE_DIR OUT_DIR
 *
 * Reads every capture in CAPTURE_DIR (tcpdump's test suite) with libpcap
 * and writes, under OUT_DIR:
 *   fuzz_decode/    one seed per packet (the first PER_FILE of each file of
 *                   a supported link type), in fuzz_decode's format;
 *   fuzz_flowtab/   one seed per file: its first packets as records;
 *   fuzz_pcapfile/  the file itself, cut to PCAP_MAX bytes.
 * Seeds are named by a hash of their bytes, so equal seeds collapse and a
 * second run rewrites the same files. Formats: fuzz/README and
 * invariants.h. A plain single-threaded program; exit 0, or 1 with a line.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "invariants.h"

#define PER_FILE 16    /* decode seeds per capture */
#define DECODE_MAX 512 /* bytes of a frame in a decode seed */
#define FLOW_PKTS 64   /* records in a flowtab seed */
#define FLOW_LEN 200   /* bytes of a frame in a flowtab record (<= 255) */
#define PCAP_MAX 32768 /* bytes of a capture in a pcapfile seed */

struct seeds {
	const char *out;
	unsigned long written[3];
};

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static int put_seed(struct seeds *s, int which, const char *target,
		    const uint8_t *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%016llx", s->out, target,
		 (unsigned long long)fnv1a(p, n));
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		fprintf(stderr, "mkseeds: %s: %s\n", path, strerror(errno));
		return -1;
	}
	s->written[which]++;
	return 0;
}

/* The first PCAP_MAX bytes of the file, as they are. */
static int seed_pcapfile(struct seeds *s, const char *path)
{
	static const size_t max = PCAP_MAX;
	uint8_t *buf = malloc(max);
	ssize_t n;
	int fd, rc = 0;

	if (!buf)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return 0;
	}
	n = read(fd, buf, max);
	close(fd);
	if (n > 0)
		rc = put_seed(s, 2, "fuzz_pcapfile", buf, (size_t)n);
	free(buf);
	return rc;
}

static int seed_packets(struct seeds *s, const char *path)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	uint8_t dec[2 + DECODE_MAX];
	uint8_t flow[2 + FLOW_PKTS * (2 + FLOW_LEN)];
	size_t flen = 2;
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t last_us = 0;
	int sel, n = 0, rc = 0;
	pcap_t *p = pcap_open_offline(path, ebuf);

	if (!p)
		return 0; /* not a capture libpcap reads: pcapfile seed only */
	sel = invariants_dlt_index(pcap_datalink(p));
	if (sel < 0) {
		pcap_close(p);
		return 0;
	}
	flow[0] = (uint8_t)sel;
	flow[1] = 0x13; /* expire every 4 packets, idle 2 ticks */
	while (n < FLOW_PKTS && pcap_next_ex(p, &h, &data) == 1) {
		uint32_t len = h->caplen < DECODE_MAX ? h->caplen : DECODE_MAX;
		uint64_t us = (uint64_t)h->ts.tv_sec * 1000000u +
			      (uint64_t)h->ts.tv_usec;
		uint32_t extra;
		uint8_t meta;

		if (n < PER_FILE) {
			dec[0] = (uint8_t)sel;
			dec[1] = n % 4 == 3 ? 0x21 : 0; /* some with a tag */
			memcpy(dec + 2, data, len);
			if (put_seed(s, 0, "fuzz_decode", dec, 2 + len)) {
				rc = -1;
				break;
			}
		}
		len = h->caplen < FLOW_LEN ? h->caplen : FLOW_LEN;
		extra = (h->len > len ? h->len - len : 0) / 64;
		meta = (uint8_t)((extra < 31 ? extra : 31) << 3);
		if (n && us > last_us + 1000)
			meta |= us > last_us + 5000 ? 2 : 1;
		last_us = us;
		flow[flen] = (uint8_t)len;
		flow[flen + 1] = meta;
		memcpy(flow + flen + 2, data, len);
		flen += 2 + len;
		n++;
	}
	pcap_close(p);
	if (!rc && n)
		rc = put_seed(s, 1, "fuzz_flowtab", flow, flen);
	return rc;
}

int main(int argc, char **argv)
{
	static const char *const targets[] = { "fuzz_decode", "fuzz_flowtab",
					       "fuzz_pcapfile" };
	struct seeds s = { 0 };
	struct dirent *de;
	char path[4096];
	DIR *d;

	if (argc != 3) {
		fprintf(stderr, "usage: mkseeds CAPTURE_DIR OUT_DIR\n");
		return 2;
	}
	s.out = argv[2];
	mkdir(s.out, 0755);
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", s.out, targets[i]);
		if (mkdir(path, 0755) && errno != EEXIST) {
			fprintf(stderr, "mkseeds: %s: %s\n", path,
				strerror(errno));
			return 1;
		}
	}
	d = opendir(argv[1]);
	if (!d) {
		fprintf(stderr, "mkseeds: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", argv[1], de->d_name);
		if (stat(path, &st) || !S_ISREG(st.st_mode) ||
		    strstr(de->d_name, "README"))
			continue;
		if (seed_pcapfile(&s, path) || seed_packets(&s, path)) {
			closedir(d);
			return 1;
		}
	}
	closedir(d);
	printf("mkseeds: %lu decode, %lu flowtab, %lu pcapfile seeds in %s\n",
	       s.written[0], s.written[1], s.written[2], s.out);
	return 0;
}
