/*
 * sendframes.c - transmit every frame of a pcap file, as is, on one
 * interface through an AF_PACKET socket: exact, known traffic for the
 * network-namespace tests and benchmarks. Bounded: the file's frames times
 * -n repeats, at most -p frames per second (0 = as fast as possible).
 *
 *   sendframes [-n REPEAT] [-p PPS] IFACE FILE.pcap
 *
 * Prints "sent N frames, B bytes" and exits 0 only if every send worked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct frame {
	uint32_t len;
	uint8_t *data;
};

int main(int argc, char **argv)
{
	long repeat = 1, pps = 0;
	struct frame *fr = NULL;
	size_t nfr = 0, cap = 0;
	uint32_t hdr[6], rec[4];
	unsigned long long sent = 0, bytes = 0;
	struct sockaddr_ll sll;
	struct timespec t0;
	FILE *f;
	int c, fd;

	while ((c = getopt(argc, argv, "n:p:")) != -1) {
		if (c == 'n')
			repeat = atol(optarg);
		else if (c == 'p')
			pps = atol(optarg);
		else
			return 2;
	}
	if (argc - optind != 2 || repeat < 1 || repeat > 100000000) {
		fprintf(stderr,
			"usage: sendframes [-n N] [-p PPS] IFACE FILE\n");
		return 2;
	}
	f = fopen(argv[optind + 1], "rb");
	if (!f || fread(hdr, 4, 6, f) != 6 || hdr[0] != 0xa1b2c3d4) {
		fprintf(stderr, "sendframes: %s: not a pcap file\n",
			argv[optind + 1]);
		return 1;
	}
	while (fread(rec, 4, 4, f) == 4) {
		if (rec[2] > 65535)
			return 1;
		/* doubling: a realloc a frame is quadratic where realloc
		 * always moves (ASan's: 30,000 frames took 30 s to load) */
		if (nfr == cap) {
			cap = cap ? 2 * cap : 1024;
			fr = realloc(fr, cap * sizeof(*fr));
			if (!fr)
				return 1;
		}
		fr[nfr].len = rec[2];
		fr[nfr].data = malloc(rec[2] ? rec[2] : 1);
		if (fread(fr[nfr].data, 1, rec[2], f) != rec[2])
			return 1;
		nfr++;
	}
	fclose(f);
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		perror("sendframes: socket");
		return 1;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = (int)if_nametoindex(argv[optind]);
	sll.sll_halen = 6;
	if (!sll.sll_ifindex) {
		fprintf(stderr, "sendframes: %s: no such device\n",
			argv[optind]);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long r = 0; r < repeat; r++) {
		for (size_t i = 0; i < nfr; i++) {
			if (pps > 0) {
				struct timespec now;
				double due = (double)sent / (double)pps, el;
				for (;;) {
					clock_gettime(CLOCK_MONOTONIC, &now);
					el = (double)(now.tv_sec - t0.tv_sec) +
					     (now.tv_nsec - t0.tv_nsec) / 1e9;
					if (el >= due)
						break;
					if (due - el > 0.0002)
						usleep(100);
				}
			}
			while (sendto(fd, fr[i].data, fr[i].len, 0,
				      (struct sockaddr *)&sll,
				      sizeof(sll)) != (ssize_t)fr[i].len) {
				if (errno != ENOBUFS && errno != EAGAIN) {
					perror("sendframes: sendto");
					return 1;
				}
				usleep(50);
			}
			sent++;
			bytes += fr[i].len;
		}
	}
	printf("sent %llu frames, %llu bytes\n", sent, bytes);
	return 0;
}
