/*
 * cbpfeq.c - classic-to-eBPF filter translation against libpcap, without
 * a network: every expression of EXPRFILE is compiled with pcap_compile
 * for the link type of each pcap file, translated (capture/cbpf.c) and
 * loaded as a tc test program (and as XDP with -x), and every frame of
 * the files is run through it with BPF_PROG_TEST_RUN; its verdict must
 * equal pcap_offline_filter's.
 *
 *   cbpfeq [-x] [-s STRIDE] EXPRFILE FILE.pcap...
 *
 * -s STRIDE: only every STRIDE-th expression (sampling). Skipped: frames
 * shorter than 14 bytes (the kernel's test run refuses them), frames whose
 * wire length is below their captured length or above 64 KiB (it cannot
 * be given to the test run), with -x frames not captured whole (XDP sees
 * whole frames: its "len" is what it has), and (expression, link type)
 * pairs libpcap cannot compile. Prints one
 * summary line, the first mismatches, and exits 1 on any mismatch or
 * untranslatable expression, 77 when BPF test runs are not permitted.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/capture.h"
#include "capture/ebpf.h"

struct frame {
	struct pcap_pkthdr h;
	const uint8_t *data;
};

struct linkset {
	int dlt;
	struct frame *f;
	size_t n, cap;
};

static struct linkset sets[64];
static size_t nsets;

static struct linkset *set_for(int dlt)
{
	for (size_t i = 0; i < nsets; i++)
		if (sets[i].dlt == dlt)
			return &sets[i];
	if (nsets == sizeof(sets) / sizeof(sets[0]))
		return NULL;
	sets[nsets].dlt = dlt;
	return &sets[nsets++];
}

static void load_file(const char *path)
{
	char eb[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_t *p = pcap_open_offline(path, eb);
	struct linkset *s;

	if (!p)
		return; /* the corpus has unreadable files on purpose */
	s = set_for(pcap_datalink(p));
	while (s && pcap_next_ex(p, &h, &d) == 1) {
		uint8_t *copy;

		if (h->caplen < 14)
			continue;
		if (s->n == s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 256;
			struct frame *f = realloc(s->f, cap * sizeof(*f));

			if (!f)
				break;
			s->f = f;
			s->cap = cap;
		}
		copy = malloc(h->caplen);
		if (!copy)
			break;
		memcpy(copy, d, h->caplen);
		s->f[s->n].h = *h;
		s->f[s->n].data = copy;
		s->n++;
	}
	pcap_close(p);
}

int main(int argc, char **argv)
{
	int xdp = 0, stride = 1, c, bad = 0, shown = 0;
	unsigned long runs = 0, pairs = 0, nexpr = 0, skipped = 0;
	char line[1024], err[512];
	FILE *ef;

	while ((c = getopt(argc, argv, "xs:")) != -1) {
		if (c == 'x')
			xdp = 1;
		else if (c == 's')
			stride = atoi(optarg) > 0 ? atoi(optarg) : 1;
		else
			return 2;
	}
	if (argc - optind < 2) {
		fprintf(stderr, "usage: cbpfeq [-x] [-s STRIDE] EXPRFILE "
				"FILE.pcap...\n");
		return 2;
	}
	ef = fopen(argv[optind], "r");
	if (!ef) {
		perror(argv[optind]);
		return 2;
	}
	for (int i = optind + 1; i < argc; i++)
		load_file(argv[i]);
	for (unsigned long ln = 0; fgets(line, sizeof(line), ef); ln++) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#' || ln % (unsigned)stride)
			continue;
		nexpr++;
		for (size_t s = 0; s < nsets; s++) {
			struct bpf_program prog;
			int fd;

			if (!sets[s].n)
				continue;
			if (cap_compile(sets[s].dlt, 65535, line, &prog, err,
					sizeof(err))) {
				skipped++;
				continue;
			}
			fd = ebpf_filter_load_test(&prog, xdp, err,
						   sizeof(err));
			if (fd == -EPERM) {
				printf("cbpfeq: BPF programs not permitted "
				       "here: %s\n",
				       err);
				return 77;
			}
			if (fd < 0) {
				printf("not translated: '%s' (link type %d): "
				       "%s\n",
				       line, sets[s].dlt, err);
				bad++;
				pcap_freecode(&prog);
				continue;
			}
			pairs++;
			for (size_t i = 0; i < sets[s].n; i++) {
				const struct frame *f = &sets[s].f[i];
				int want = pcap_offline_filter(&prog, &f->h,
							       f->data) != 0;
				int got = ebpf_filter_run_test(
					fd, f->data, f->h.caplen, f->h.len);

				runs++;
				/* The kernel's test run cannot be given a
				 * wire length below the captured one (a
				 * broken file) or above 64 KiB; an XDP frame
				 * is all there, so its length is the
				 * captured one: those are skipped. */
				if (got < 0 || f->h.len < f->h.caplen ||
				    f->h.len > 65535 ||
				    (xdp && f->h.len != f->h.caplen)) {
					skipped++;
					continue;
				}
				if (got == want)
					continue;
				bad++;
				if (shown++ < 10)
					printf("mismatch: '%s' link type %d "
					       "frame of %u/%u bytes: libpcap "
					       "%d, eBPF %d\n",
					       line, sets[s].dlt, f->h.caplen,
					       f->h.len, want, got);
			}
			close(fd);
			pcap_freecode(&prog);
		}
	}
	fclose(ef);
	printf("cbpfeq: %lu expressions, %lu (expression, link type) pairs, "
	       "%lu verdicts compared, %lu skipped, %d mismatches%s\n",
	       nexpr, pairs, runs, skipped, bad, xdp ? " (XDP)" : "");
	return bad ? 1 : 0;
}
