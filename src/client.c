/*
 * client.c - the capstats verbs against a running pktstat -d, and the
 * connection helpers the remote monitor uses.
 *
 * Owns one socket per call. Main thread. Output formats (documented in
 * pktstat.1, CLIENT OUTPUT): one line per session or event in text; one
 * JSON document (watch: one per line) with -j.
 */
#include "client.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "counters.h"
#include "daemon.h"
#include "report.h"
#include "say.h"

static volatile sig_atomic_t stop_sig;

static void on_stop(int sig)
{
	stop_sig = sig;
}

int client_send(int fd, int type, const void *payload, size_t len)
{
	uint8_t hdr[PROTO_HDR_LEN];
	const uint8_t *parts[2] = { hdr, payload };
	size_t lens[2] = { sizeof(hdr), len };

	proto_put_hdr(hdr, (uint8_t)type, (uint32_t)len);
	for (int k = 0; k < 2; k++) {
		size_t off = 0;

		while (off < lens[k]) {
			ssize_t n = send(fd, parts[k] + off, lens[k] - off,
					 MSG_NOSIGNAL);

			if (n < 0 && errno == EINTR && !stop_sig)
				continue;
			if (n <= 0)
				return n < 0 ? -errno : -EPIPE;
			off += (size_t)n;
		}
	}
	return 0;
}

int client_recv(int fd, struct proto_reader *rd, struct proto_hdr *h,
		const uint8_t **p, char *err, size_t errlen)
{
	for (;;) {
		uint8_t buf[65536];
		size_t room;
		ssize_t n;
		int rc = proto_reader_next(rd, h, p, err, errlen);

		if (rc)
			return rc;
		room = proto_reader_room(rd);
		n = recv(fd, buf, room < sizeof(buf) ? room : sizeof(buf), 0);
		if (n < 0 && errno == EINTR) {
			if (stop_sig)
				return -EINTR;
			continue;
		}
		if (n <= 0) {
			snprintf(err, errlen, "%s",
				 n == 0 ? "daemon closed the connection"
					: strerror(errno));
			return n == 0 ? -ECONNRESET : -errno;
		}
		if (proto_reader_feed(rd, buf, (size_t)n)) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
}

int client_open(const char *path, char *info, size_t infolen, char *err,
		size_t errlen)
{
	struct sockaddr_un sa;
	struct proto_reader rd;
	struct proto_hdr h;
	const uint8_t *p;
	char e[512];
	int fd, rc;

	if (!path)
		path = DAEMON_SOCKET;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s%s", path, strerror(errno),
			 errno == ENOENT || errno == ECONNREFUSED
				 ? " (no pktstat -d running there)"
				 : "");
		close(fd);
		return rc;
	}
	/* A refused client finds the daemon's reason waiting even when the
	 * hello could not be sent (the daemon closed first: EPIPE). */
	rc = client_send(fd, PROTO_HELLO, NULL, 0);
	if (rc == -EPIPE || rc == -ECONNRESET)
		rc = 0;
	if (rc == 0 && proto_reader_init(&rd, PROTO_MSG_MAX) == 0) {
		rc = client_recv(fd, &rd, &h, &p, e, sizeof(e));
		if (rc == 1 && h.type == PROTO_HELLO) {
			struct proto_in in = { .p = p, .len = h.len };
			char src[256], be[64], flt[1024];
			uint32_t th;

			proto_in_str(&in, src, sizeof(src));
			proto_in_str(&in, be, sizeof(be));
			proto_in_str(&in, flt, sizeof(flt));
			th = proto_in_u32(&in);
			if (info)
				snprintf(info, infolen, "%s\t%s\t%s\t%u", src,
					 be, flt, th);
			rc = in.bad ? -EPROTO : 0;
			if (rc)
				snprintf(e, sizeof(e), "bad hello");
		} else if (rc == 1 && h.type == PROTO_BYE) {
			struct proto_in in = { .p = p, .len = h.len };

			proto_in_str(&in, e, sizeof(e));
			rc = -EACCES;
		} else if (rc == 1) {
			snprintf(e, sizeof(e), "protocol error: no hello");
			rc = -EPROTO;
		}
		proto_reader_free(&rd);
	} else if (rc == 0) {
		snprintf(e, sizeof(e), "out of memory");
		rc = -ENOMEM;
	} else {
		snprintf(e, sizeof(e), "%s", strerror(-rc));
	}
	if (rc) {
		snprintf(err, errlen, "%s: %s", path, e);
		close(fd);
		return rc;
	}
	return fd;
}

/* ---- output ------------------------------------------------------------ */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

struct session {
	char name[COUNTERS_NAME_MAX];
	char expr[COUNTERS_EXPR_MAX];
	uint64_t pkts, bytes, wall_ns;
};

static int read_session(const struct proto_hdr *h, const uint8_t *p,
			struct session *s)
{
	struct proto_in in = { .p = p, .len = h->len };

	proto_in_str(&in, s->name, sizeof(s->name));
	proto_in_str(&in, s->expr, sizeof(s->expr));
	s->pkts = proto_in_u64(&in);
	s->bytes = proto_in_u64(&in);
	s->wall_ns = proto_in_u64(&in);
	return in.bad ? -EPROTO : 0;
}

static void json_session(FILE *f, const struct session *s, int with_time)
{
	fprintf(f, "{\"name\":");
	json_str(f, s->name);
	fprintf(f, ",\"filter\":");
	json_str(f, s->expr);
	fprintf(f, ",\"packets\":%llu,\"bytes\":%llu",
		(unsigned long long)s->pkts, (unsigned long long)s->bytes);
	if (with_time)
		fprintf(f, ",\"time\":%llu.%06llu",
			(unsigned long long)(s->wall_ns / 1000000000ull),
			(unsigned long long)(s->wall_ns % 1000000000ull /
					     1000));
	fprintf(f, "}");
}

static void print_session(const struct session *s, enum proto_verb v, int json,
			  int first)
{
	if (json) {
		if (v == PROTO_VERB_LIST)
			fputs(first ? "[" : ",", stdout);
		json_session(stdout, s,
			     v == PROTO_VERB_WATCH || v == PROTO_VERB_POLL);
		if (v != PROTO_VERB_LIST)
			fputc('\n', stdout);
		return;
	}
	switch (v) {
	case PROTO_VERB_LIST:
		printf("%s\t%s\n", s->name, s->expr);
		break;
	case PROTO_VERB_SHOW:
		printf("session: %s\nfilter: %s\npackets: %llu\nbytes: %llu\n",
		       s->name, s->expr, (unsigned long long)s->pkts,
		       (unsigned long long)s->bytes);
		break;
	case PROTO_VERB_WATCH:
		printf("%llu.%06llu ",
		       (unsigned long long)(s->wall_ns / 1000000000ull),
		       (unsigned long long)(s->wall_ns % 1000000000ull / 1000));
		/* fall through */
	default:
		printf("%s: %llu packets, %llu bytes\n", s->name,
		       (unsigned long long)s->pkts,
		       (unsigned long long)s->bytes);
	}
}

/* The verb's words, joined with single spaces. */
static char *join(int argc, char **argv)
{
	size_t n = 1;
	char *s;

	for (int i = 0; i < argc; i++)
		n += strlen(argv[i]) + 1;
	s = malloc(n);
	if (!s)
		return NULL;
	s[0] = 0;
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

int client_main(const struct opts *o)
{
	const char *path = o->socket_path ? o->socket_path : DAEMON_SOCKET;
	struct proto_reader rd;
	struct proto_cmd cmd;
	struct sigaction sa;
	char err[1400], e[1200];
	char *line;
	int fd, rc, status = 1, n = 0;

	line = join(o->client_argc, o->client_argv);
	if (!line) {
		say_line("out of memory");
		return 1;
	}
	/* Checked here as the daemon will: a usage error needs no daemon. */
	if (strlen(line) > PROTO_CMD_MAX) {
		snprintf(e, sizeof(e), "command longer than %d bytes",
			 PROTO_CMD_MAX);
		say_line(e);
		free(line);
		return 1;
	}
	if (proto_cmd_parse(line, strlen(line), &cmd, e, sizeof(e))) {
		say_line(e);
		free(line);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: recv returns */
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	fd = client_open(path, NULL, 0, err, sizeof(err));
	if (fd < 0) {
		say_line(err);
		free(line);
		return 1;
	}
	if (proto_reader_init(&rd, PROTO_MSG_MAX)) {
		say_line("out of memory");
		close(fd);
		free(line);
		return 1;
	}
	rc = client_send(fd, PROTO_CMD, line, strlen(line));
	free(line);
	if (rc) {
		snprintf(e, sizeof(e), "%s", strerror(-rc));
		say_path(path, e);
		goto out;
	}
	for (;;) {
		struct proto_hdr h;
		const uint8_t *p;
		struct session s;

		rc = client_recv(fd, &rd, &h, &p, e, sizeof(e));
		if (rc == -EINTR) {
			status = 0; /* watch, stopped by the user */
			break;
		}
		if (rc < 0) {
			say_path(path, e);
			break;
		}
		if (h.type == PROTO_COUNTER) {
			if (read_session(&h, p, &s)) {
				say_path(path, "protocol error: bad session");
				break;
			}
			print_session(&s, cmd.verb, o->json, n++ == 0);
			fflush(stdout);
			continue;
		}
		if (h.type == PROTO_REPLY) {
			struct proto_in in = { .p = p, .len = h.len };
			int32_t st = (int32_t)proto_in_u32(&in);

			proto_in_str(&in, e, sizeof(e));
			if (st) {
				say_line(e);
				break;
			}
			if (cmd.verb == PROTO_VERB_LIST && o->json)
				puts(n ? "]" : "[]");
			else if (cmd.verb == PROTO_VERB_NEW ||
				 cmd.verb == PROTO_VERB_MODIFY ||
				 cmd.verb == PROTO_VERB_STOP) {
				if (o->json) {
					printf("{\"ok\":true,\"message\":");
					json_str(stdout, e);
					printf("}\n");
				} else {
					printf("%s\n", e);
				}
			}
			status = 0;
			break;
		}
		if (h.type == PROTO_BYE) {
			struct proto_in in = { .p = p, .len = h.len };

			proto_in_str(&in, e, sizeof(e));
			say_path(path, e);
			break;
		}
		say_path(path, "protocol error: unexpected message");
		break;
	}
	if (fflush(stdout) != 0 && status == 0) {
		say_path("stdout", strerror(errno));
		status = 1;
	}
out:
	proto_reader_free(&rd);
	close(fd);
	return status;
}
