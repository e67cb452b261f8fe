/*
 * client.h - the other end of pktstat -d (doc/PROTOCOL): the capstats
 * verbs from the command line, and the connection the remote monitor
 * (--connect, remote.h and connect.h) reads its flows through.
 *
 * Threads: the main thread; nothing here starts a thread.
 */
#ifndef PKTSTAT_CLIENT_H
#define PKTSTAT_CLIENT_H

#include <stddef.h>

#include "opts.h"
#include "proto.h"

/*
 * client_main - run one client command (o->client_argv: the verb and its
 * words) against the daemon at o->socket_path (default DAEMON_SOCKET),
 * print the answer on stdout (text, or JSON with -j) and return the exit
 * status: 0, or 1 after one line on stderr (no daemon, refused, an error
 * from the daemon). watch runs until SIGINT or SIGTERM.
 */
int client_main(const struct opts *o);

/*
 * client_open - connect to the daemon at @path and say hello; on success
 * the daemon's hello (source, backend, filter, threads) is in @info (a
 * string of up to @infolen bytes: "SOURCE\tBACKEND\tFILTER\tTHREADS").
 * Returns the socket (blocking, close-on-exec), or -errno with one line
 * in @err naming the socket.
 */
int client_open(const char *path, char *info, size_t infolen, char *err,
		size_t errlen);

/*
 * client_send - one message of @type with @len payload bytes. 0 or -errno.
 */
int client_send(int fd, int type, const void *payload, size_t len);

/*
 * client_recv - the next whole message from @fd into @rd (blocking):
 * 1 with *@h and *@p, or -errno with a line in @err ("daemon closed the
 * connection", a protocol error).
 */
int client_recv(int fd, struct proto_reader *rd, struct proto_hdr *h,
		const uint8_t **p, char *err, size_t errlen);

#endif
