/*
 * connect.c - pktstat --connect: a daemon's flows, kept from its stream
 * (remote.h), printed as a local run's report, or shown by the monitor
 * through an engine port of its own (the UI cannot tell it from a local
 * run, but for the refused capture-filter edit).
 *
 * A front end above the remote copy and the report writer; the client
 * connection (client.h) is below both, so nothing links back here. Main
 * thread; SIGINT and SIGTERM end the wait.
 */
#include "connect.h"

#include <errno.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../ui/summary.h"
#include "../ui/ui.h"
#include "counters.h"
#include "daemon.h"
#include "engine.h"
#include "names.h"
#include "remote.h"
#include "opts.h"
#include "report.h"
#include "say.h"
#include "snapname.h"

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
		say_line(err);
		return 1;
	}
	/* -t: collect that long; else until the first whole refresh */
	while (!stop_sig) {
		struct pollfd pf = { .fd = remote_fd(r), .events = POLLIN };

		rc = remote_poll(r);
		if (rc < 0) {
			say_path(o->socket_path ? o->socket_path
						: DAEMON_SOCKET,
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
		say_line(rc == -EAGAIN ? "no refresh from the daemon yet"
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
	m.filters = remote_filters(r);
	rc = report_write(stdout, o->json ? REPORT_JSON : REPORT_TEXT, &s, &m);
	if (rc == 0 && fflush(stdout) != 0)
		rc = -EIO;
	if (rc)
		say_path("stdout", strerror(-rc));
	snapshot_free(&s);
	remote_free(r);
	return rc ? 1 : 0;
}

/* ---- the monitor --------------------------------------------------------- */

struct remote_port {
	struct engine_port port; /* first: the UI holds a pointer to it */
	struct remote *r;
	const char *sock;
	char path[4096]; /* the default snapshot file, or ... */
	char dir[4096];	 /* ... new timestamped files here */
};

static struct remote_port *of_port(struct engine_port *p)
{
	return (struct remote_port *)p;
}

static void rp_info(struct engine_port *p, struct engine_info *info)
{
	struct remote *r = of_port(p)->r;

	memset(info, 0, sizeof(*info));
	info->source = remote_source(r);
	info->backend = remote_backend(r);
	info->filter = remote_filter(r);
	info->threads = remote_threads(r);
	info->capture_done = *remote_error(r) != 0;
	info->capture_error = *remote_error(r) ? remote_error(r) : NULL;
}

static void rp_expire(struct engine_port *p)
{
	/* the daemon expires its flows; here only what it sent is read */
	remote_poll(of_port(p)->r);
}

static int rp_snapshot(struct engine_port *p, struct snapshot *s)
{
	return remote_snapshot(of_port(p)->r, s);
}

static int rp_tick(struct engine_port *p, const struct snapshot *s)
{
	(void)s;
	return *remote_error(of_port(p)->r) != 0; /* the daemon went */
}

static int rp_set_filter(struct engine_port *p, const char *expr, char *err,
			 size_t errlen)
{
	(void)p;
	(void)expr;
	snprintf(err, errlen,
		 "the capture filter is the daemon's, shared by all its "
		 "clients: / filters this view");
	return -EPERM;
}

static int rp_counter_cmd(struct engine_port *p, const char *line, char *msg,
			  size_t msglen)
{
	return remote_counter_cmd(of_port(p)->r, line, msg, msglen);
}

static size_t rp_counters_read(struct engine_port *p,
			       struct counters_value *out, size_t max)
{
	return remote_counters_read(of_port(p)->r, out, max);
}

static void rp_meta(struct remote_port *rp, struct report_meta *m)
{
	memset(m, 0, sizeof(*m));
	m->source = remote_source(rp->r);
	m->filter = remote_filter(rp->r);
	m->backend = remote_backend(rp->r);
	m->threads = remote_threads(rp->r);
	m->filters = remote_filters(rp->r);
}

/* Written by this process: the user's own file and permissions. */
static int rp_write_snapshot(struct engine_port *p, const char *path,
			     char *written, size_t wlen, char *err,
			     size_t errlen)
{
	struct remote_port *rp = of_port(p);
	struct report_meta m;
	struct snapshot s;
	char name[4200];
	int rc, flags = 0;

	if (!path && rp->dir[0]) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		snapname_make(rp->dir,
			      (uint64_t)ts.tv_sec * 1000000000ull +
				      (uint64_t)ts.tv_nsec,
			      name, sizeof(name));
		path = name;
		flags = REPORT_SAVE_NEW;
	} else if (!path) {
		path = rp->path;
	}
	snapshot_init(&s);
	rc = remote_snapshot(rp->r, &s);
	if (rc) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	} else {
		rp_meta(rp, &m);
		rc = report_write_file(path, flags, &s, &m, written, wlen, err,
				       errlen);
	}
	snapshot_free(&s);
	return rc;
}

static const struct engine_ops remote_ops = {
	.info = rp_info,
	.expire = rp_expire,
	.snapshot = rp_snapshot,
	.tick = rp_tick,
	.set_filter = rp_set_filter,
	.counter_cmd = rp_counter_cmd,
	.counters_read = rp_counters_read,
	.write_snapshot = rp_write_snapshot,
};

int connect_monitor(const struct opts *o)
{
	struct remote_port rp = { .port = { .ops = &remote_ops } };
	struct ui_conf uc = { .o = o };
	char err[4200], written[4096 + 1];
	sigset_t sigs;
	int rc, src, status = 0;

	rp.sock = o->socket_path ? o->socket_path : DAEMON_SOCKET;
	if (snapname_resolve(o->snapshot_path, rp.dir, sizeof(rp.dir), rp.path,
			     sizeof(rp.path)) < 0) {
		char head[72];

		snprintf(head, sizeof(head), "%.64s...", o->snapshot_path);
		say_path(head, "file name too long");
		return OPTS_EXIT_USAGE;
	}
	rp.r = remote_open(o->socket_path,
			   (unsigned int)(o->refresh_ns / 1000000ull), err,
			   sizeof(err));
	if (!rp.r) {
		say_line(err);
		return 1;
	}
	/* ui_run reads these through its signalfd */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGWINCH);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	uc.numeric = o->numeric >= 0 ? o->numeric : 0;
	uc.names = names_new(65536, 256, NULL);
	/* this view's display filters beside the daemon's filters */
	uc.filters = remote_filters(rp.r);
	rc = ui_run(&rp.port, &uc, err, sizeof(err));
	if (rc < 0) {
		say_line(err);
		status = 1;
	}
	if (*remote_error(rp.r)) {
		say_path(rp.sock, remote_error(rp.r));
		status = 1;
	}
	/* as a local monitor: the snapshot file, the summary (or with
	 * --report the whole report), and last where the snapshot went */
	src = rp_write_snapshot(&rp.port, NULL, written, sizeof(written), err,
				sizeof(err));
	if (!o->quiet && rc != 128 + SIGHUP) {
		struct report_meta m;
		struct snapshot s;

		snapshot_init(&s);
		if (remote_snapshot(rp.r, &s) == 0) {
			rp_meta(&rp, &m);
			if ((o->report || o->json
				     ? report_write(stdout,
						    o->json ? REPORT_JSON
							    : REPORT_TEXT,
						    &s, &m)
				     : summary_write(stdout, &s, &m,
						     SUMMARY_TOP)) ||
			    fflush(stdout)) {
				say_path("stdout",
					 strerror(errno ? errno : EIO));
				status = 1;
			}
		}
		snapshot_free(&s);
	}
	if (src) {
		say_line(err);
		status = 1;
	} else {
		fprintf(stderr, "pktstat: snapshot written to %s\n", written);
	}
	names_free(uc.names);
	remote_free(rp.r);
	return status;
}
