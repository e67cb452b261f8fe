/*
 * proccost.c - what the process resolver costs (pktstat.1, Process
 * attribution): N local TCP sockets (N/2 loopback connections, both ends)
 * held by this process, then
 *   - one inet_diag dump and one /proc walk, timed (median of 5);
 *   - the resolver thread and the store running for 5 s with nothing
 *     changing: CPU used, in % of one CPU;
 *   - the same while a connection opens every 10 ms and lives 1 s (new
 *     sockets ask for walks), with the store asking for a look at every
 *     chance (as if every one of them were a new flow: the worst case).
 *   proccost [N]   (default 10000; as root: the descriptor limit is raised)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../src/procres.h"
#include "../../src/procs.h"

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int connect_to(const struct sockaddr_in *sa)
{
	int c = socket(AF_INET, SOCK_STREAM, 0);

	if (c < 0 || connect(c, (const struct sockaddr *)sa, sizeof(*sa))) {
		if (c >= 0)
			close(c);
		return -1;
	}
	return c;
}

/* A demand count that moves at each call: new flows all the time. */
static uint64_t always_new(void *arg)
{
	return ++*(uint64_t *)arg;
}

static void print_counts(const char *what, struct procres *r)
{
	struct procres_counts c;

	procres_counts(r, &c);
	printf("resolver %s: %llu dumps, %llu walks, %llu counter reads, "
	       "%llu asks\n",
	       what, (unsigned long long)c.looks, (unsigned long long)c.walks,
	       (unsigned long long)c.probes, (unsigned long long)c.asks);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10000;
	struct rlimit rl = { (rlim_t)n + 4096, (rlim_t)n + 4096 };
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	uint64_t dump[5], scan[5];
	struct procres_cost c = { 0 };
	char err[256];
	int ls, held = 0, sv[2];
	struct procres *r;
	struct procs *p;
	double c0, t0;
	uint64_t flows = 0;

	if (setrlimit(RLIMIT_NOFILE, &rl))
		fprintf(stderr, "proccost: descriptor limit: %s\n",
			strerror(errno));
	ls = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(ls, 4096) || getsockname(ls, (struct sockaddr *)&sa, &sl)) {
		perror("proccost: listen");
		return 1;
	}
	while (held + 2 <= n) {
		int cfd = connect_to(&sa), afd;

		if (cfd < 0)
			break;
		afd = accept(ls, NULL, NULL);
		if (afd < 0) {
			close(cfd);
			break;
		}
		held += 2;
	}
	for (int i = 0; i < 5; i++) {
		if (procres_measure(&c, err, sizeof(err))) {
			fprintf(stderr, "proccost: %s\n", err);
			return 1;
		}
		dump[i] = c.dump_ns;
		scan[i] = c.scan_ns;
	}
	qsort(dump, 5, sizeof(dump[0]), cmp_u64);
	qsort(scan, 5, sizeof(scan[0]), cmp_u64);
	printf("sockets held %d, seen %zu (%zu owned), fds walked %zu\n", held,
	       c.sockets, c.owned, c.fds);
	printf("dump %.1f ms, /proc walk %.1f ms (medians of 5)\n",
	       dump[2] / 1e6, scan[2] / 1e6);

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv)) {
		perror("proccost: socketpair");
		return 1;
	}
	r = procres_start(sv[0], 0, NULL, 0, err, sizeof(err));
	p = r ? procs_new(sv[1], err, sizeof(err)) : NULL;
	if (!p) {
		fprintf(stderr, "proccost: %s\n", err);
		return 1;
	}
	sleep(2); /* the first look: every socket new */
	c0 = cpu_s();
	t0 = now_s();
	sleep(5);
	printf("steady: %.1f%% of one CPU\n",
	       100 * (cpu_s() - c0) / (now_s() - t0));
	print_counts("so far", r);
	procs_set_demand(p, always_new, &flows);
	c0 = cpu_s();
	t0 = now_s();
	{
		/* each connection lives 1 s: 100 open at a time */
		int ring[100][2];
		unsigned int k = 0;

		memset(ring, -1, sizeof(ring));
		while (now_s() - t0 < 5) {
			int *e = ring[k++ % 100];

			if (e[0] >= 0)
				close(e[0]);
			if (e[1] >= 0)
				close(e[1]);
			e[0] = connect_to(&sa);
			e[1] = accept(ls, NULL, NULL);
			usleep(10000);
		}
	}
	printf("100 new connections a second, each living 1 s: %.1f%% of "
	       "one CPU\n",
	       100 * (cpu_s() - c0) / (now_s() - t0));
	{
		struct procs_stats st;

		procs_stats(p, &st);
		printf("store: %llu sockets, %llu messages\n",
		       (unsigned long long)st.sockets,
		       (unsigned long long)st.msgs);
	}
	print_counts("in all", r);
	procres_stop(r);
	procs_free(p);
	return 0;
}
