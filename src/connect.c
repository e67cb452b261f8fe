/*
 * connect.c - pktstat --connect without a terminal: a daemon's flows,
 * kept from its stream (remote.h), printed as a local run's report.
 *
 * A front end above the remote copy and the report writer; the client
 * connection (client.h) is below both, so nothing links back here. Main
 * thread; SIGINT and SIGTERM end the wait.
 */
#include "connect.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "remote.h"
#include "report.h"

static volatile sig_atomic_t stop_sig;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_stop(int sig)
{
	stop_sig = sig;
}

/* "pktstat: [PATH: ]MSG", control bytes shown as '?'. */
static void say(const char *path, const char *msg)
{
	char line[1200];

	snprintf(line, sizeof(line), "%s%s%s", path ? path : "",
		 path ? ": " : "", msg);
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	fprintf(stderr, "pktstat: %s\n", line);
}

int connect_report(const struct opts *o)
{
	uint64_t wait_ns = o->timeout_ns, waited = 0, t0 = mono_ns();
	unsigned int ms = (unsigned int)(o->refresh_ns / 1000000ull);
	struct report_meta m;
	struct sigaction sa;
	struct snapshot s;
	struct remote *r;
	char err[1024];
	int rc, refreshes = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (wait_ns && ms > wait_ns / 1000000ull)
		ms = (unsigned int)(wait_ns / 1000000ull);
	r = remote_open(o->socket_path, ms ? ms : 1000, err, sizeof(err));
	if (!r) {
		say(NULL, err);
		return 1;
	}
	/* -t: collect that long; else until the first whole refresh */
	while (!stop_sig) {
		struct pollfd pf = { .fd = remote_fd(r), .events = POLLIN };

		rc = remote_poll(r);
		if (rc < 0) {
			say(o->socket_path ? o->socket_path : DAEMON_SOCKET,
			    remote_error(r));
			remote_free(r);
			return 1;
		}
		refreshes += rc;
		waited = mono_ns() - t0;
		if (wait_ns ? waited >= wait_ns && refreshes > 0
			    : refreshes > 0)
			break;
		poll(&pf, 1, 100);
	}
	snapshot_init(&s);
	rc = remote_snapshot(r, &s);
	if (rc) {
		say(NULL, rc == -EAGAIN ? "no refresh from the daemon yet"
					: strerror(-rc));
		snapshot_free(&s);
		remote_free(r);
		return 1;
	}
	memset(&m, 0, sizeof(m));
	m.source = remote_source(r);
	m.filter = remote_filter(r);
	m.backend = remote_backend(r);
	m.threads = remote_threads(r);
	rc = report_write(stdout, o->json ? REPORT_JSON : REPORT_TEXT, &s, &m);
	if (rc == 0 && fflush(stdout) != 0)
		rc = -EIO;
	if (rc)
		say("stdout", strerror(-rc));
	snapshot_free(&s);
	remote_free(r);
	return rc ? 1 : 0;
}
