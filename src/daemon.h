/*
 * daemon.h - pktstat -d: the capture's front end for clients on a unix
 * socket (doc/PROTOCOL): capstats' sessions (the named counters) and the
 * monitor's flow stream, for root and the members of one group.
 *
 * Threads: the main thread, after the capture workers started (the
 * workers never wait for it). One poll loop serves every client with
 * non-blocking sockets; a client's backlog is bounded and a client that
 * does not read loses refreshes, then its connection.
 */
#ifndef PKTSTAT_DAEMON_H
#define PKTSTAT_DAEMON_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

struct engine_port;

#define DAEMON_SOCKET "/run/pktstat.sock"
#define DAEMON_MAX_CLIENTS 64

struct daemon_conf {
	const char *path;  /* socket; NULL: DAEMON_SOCKET */
	const char *group; /* -g: name or gid; NULL: root only */
	int max_clients;   /* 0: DAEMON_MAX_CLIENTS */
	int debug;	   /* -D: a line per message */
};

struct daemon;

/*
 * daemon_listen - before the privilege drop: resolve the group, create
 * the socket (a stale one, where no daemon answers, is replaced; a live
 * one is an error), owner root (the running user), group GROUP, mode
 * 0660, and listen. Returns the daemon, or NULL with one line in @err
 * naming the socket or the group.
 */
struct daemon *daemon_listen(const struct daemon_conf *conf, char *err,
			     size_t errlen);

/*
 * daemon_run - serve until SIGINT, SIGTERM or SIGHUP (read from a
 * signalfd of @sigs, which the caller has blocked in every thread).
 * Returns the signal number, or -errno with one line in @err. Logs one
 * line per event on stderr.
 */
int daemon_run(struct daemon *d, struct engine_port *run, const sigset_t *sigs,
	       char *err, size_t errlen);

/* Close every client and the socket. daemon_free(NULL) is a no-op. */
void daemon_free(struct daemon *d);

/*
 * daemon_write_pidfile - write getpid() to @path (created 0644, a
 * symlink refused). 0 or -errno with a line in @err.
 */
int daemon_write_pidfile(const char *path, char *err, size_t errlen);

#endif
