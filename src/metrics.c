/*
 * metrics.c - Prometheus text exposition (format 0.0.4) of the engine's
 * counters, served by libmicrohttpd and/or written as a textfile.
 *
 * Names follow Prometheus' guidelines as node_exporter applies them: the
 * pktstat_ prefix, the unit in the name (_bytes, _packets), _total on
 * counters, labels with few values. Counters come from the capture
 * workers' per-kind totals, which every packet adds to once and which
 * never go down: flows expiring or evicted from the table do not make
 * them drop. The per-flow figures (--metrics-top) are gauges of at most
 * N series a scrape.
 *
 * libmicrohttpd is loaded (dlopen) by the first metrics_new that serves
 * an address, not linked: linked, it and the TLS stack it brings would
 * load at every start of pktstat.
 *
 * Threads: metrics_publish on the tick thread formats and swaps the text
 * under m->lock; libmicrohttpd's internal polling thread copies it out
 * under the same lock for each request. Nothing else is shared.
 */
#include "metrics.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flowkey.h"

/* The libmicrohttpd functions we call, from mhd_load. */
static struct {
	__typeof__(&MHD_start_daemon) start_daemon;
	__typeof__(&MHD_stop_daemon) stop_daemon;
	__typeof__(&MHD_create_response_from_buffer) create_response;
	__typeof__(&MHD_add_response_header) add_header;
	__typeof__(&MHD_queue_response) queue_response;
	__typeof__(&MHD_destroy_response) destroy_response;
} mhd;
static pthread_once_t mhd_once = PTHREAD_ONCE_INIT;
static char mhd_err[160]; /* why it could not be loaded, "" if it was */

static void mhd_load_once(void)
{
	static const char *const names[] = { "libmicrohttpd.so.12",
					     "libmicrohttpd.so" };
	void *h = NULL;

	for (size_t i = 0; !h && i < sizeof(names) / sizeof(*names); i++)
		h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(mhd_err, sizeof(mhd_err), "libmicrohttpd: %s",
			 dlerror());
		return;
	}
	*(void **)&mhd.start_daemon = dlsym(h, "MHD_start_daemon");
	*(void **)&mhd.stop_daemon = dlsym(h, "MHD_stop_daemon");
	*(void **)&mhd.create_response =
		dlsym(h, "MHD_create_response_from_buffer");
	*(void **)&mhd.add_header = dlsym(h, "MHD_add_response_header");
	*(void **)&mhd.queue_response = dlsym(h, "MHD_queue_response");
	*(void **)&mhd.destroy_response = dlsym(h, "MHD_destroy_response");
	if (!mhd.start_daemon || !mhd.stop_daemon || !mhd.create_response ||
	    !mhd.add_header || !mhd.queue_response || !mhd.destroy_response) {
		snprintf(mhd_err, sizeof(mhd_err),
			 "libmicrohttpd: a function is missing");
		mhd.start_daemon = NULL;
	}
}

/* libmicrohttpd's functions in mhd: 0, or -1 (the reason in mhd_err). */
static int mhd_load(void)
{
	pthread_once(&mhd_once, mhd_load_once);
	return mhd.start_daemon ? 0 : -1;
}

struct metrics {
	struct MHD_Daemon *d;
	char *file;
	pthread_mutex_t lock;
	char *text; /* under lock */
	size_t len;
	uint64_t scrapes; /* relaxed atomic */
	char where[128];  /* the listen address, for messages */
};

/* A growing text buffer; on allocation failure it stops growing and
 * remembers (buf_put then does nothing). */
struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void buf_put(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void buf_put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = b->cap * 2 + (size_t)n + 1;
		char *np = realloc(b->p, ncap);

		if (!np) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
}

/* A label value, escaped as the format wants (\\, \", \n). */
static void buf_label(struct buf *b, const char *s)
{
	char tmp[256];
	size_t k = 0;

	for (; *s && k + 3 < sizeof(tmp); s++) {
		if (*s == '\\' || *s == '"') {
			tmp[k++] = '\\';
			tmp[k++] = *s;
		} else if (*s == '\n') {
			tmp[k++] = '\\';
			tmp[k++] = 'n';
		} else {
			tmp[k++] = *s;
		}
	}
	tmp[k] = '\0';
	buf_put(b, "%s", tmp);
}

static void family(struct buf *b, const char *name, const char *type,
		   const char *help)
{
	buf_put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The protocol and family labels of a kind: each kind one pair, so the
 * series of a family add up to everything. */
static const struct {
	const char *proto, *family;
} kind_labels[KIND_COUNT] = {
	[KIND_TCP4] = { "tcp", "ipv4" },   [KIND_UDP4] = { "udp", "ipv4" },
	[KIND_ICMP4] = { "icmp", "ipv4" }, [KIND_IP4] = { "other", "ipv4" },
	[KIND_TCP6] = { "tcp", "ipv6" },   [KIND_UDP6] = { "udp", "ipv6" },
	[KIND_ICMP6] = { "icmp", "ipv6" }, [KIND_IP6] = { "other", "ipv6" },
	[KIND_ARP] = { "arp", "link" },	   [KIND_OTHER] = { "other", "link" },
};

static void per_kind(struct buf *b, const struct metrics_input *in,
		     const char *name, int bytes)
{
	for (size_t i = 0; i < in->nifaces; i++) {
		const struct metrics_iface *f = &in->ifaces[i];

		for (int k = 0; k < KIND_COUNT; k++) {
			buf_put(b, "%s{interface=\"", name);
			buf_label(b, f->name);
			buf_put(b,
				"\",protocol=\"%s\",family=\"%s\"} %" PRIu64
				"\n",
				kind_labels[k].proto, kind_labels[k].family,
				bytes ? f->bytes[k] : f->pkts[k]);
		}
	}
}

static void per_iface(struct buf *b, const struct metrics_input *in,
		      const char *name, size_t off)
{
	for (size_t i = 0; i < in->nifaces; i++) {
		const struct metrics_iface *f = &in->ifaces[i];
		uint64_t v;

		memcpy(&v, (const char *)&f->cap + off, sizeof(v));
		buf_put(b, "%s{interface=\"", name);
		buf_label(b, f->name);
		buf_put(b, "\"} %" PRIu64 "\n", v);
	}
}

static void one(struct buf *b, const char *name, const char *type,
		const char *help, uint64_t v)
{
	family(b, name, type, help);
	buf_put(b, "%s %" PRIu64 "\n", name, v);
}

static void top_flows(struct buf *b, const struct metrics_input *in, int bytes)
{
	const char *name =
		bytes ? "pktstat_top_flow_bytes" : "pktstat_top_flow_packets";

	family(b, name, "gauge",
	       bytes ? "Bytes so far of the largest live flows (--metrics-top)."
		     : "Packets so far of the largest live flows "
		       "(--metrics-top).");
	for (size_t i = 0; i < in->ntop; i++) {
		const struct flowtab_row *r = &in->top[i];
		char a[FLOWKEY_TEXT_ROOM], z[FLOWKEY_TEXT_ROOM];

		flowkey_format_endpoint(&r->key, 0, a, sizeof(a));
		flowkey_format_endpoint(&r->key, 1, z, sizeof(z));
		buf_put(b, "%s{rank=\"%zu\",protocol=\"%s\",family=\"%s\",a=\"",
			name, i + 1,
			kind_labels[r->key.kind % KIND_COUNT].proto,
			kind_labels[r->key.kind % KIND_COUNT].family);
		buf_label(b, a);
		buf_put(b, "\",b=\"");
		buf_label(b, z);
		buf_put(b, "\"} %" PRIu64 "\n",
			bytes ? r->bytes[0] + r->bytes[1]
			      : r->pkts[0] + r->pkts[1]);
	}
}

int metrics_format(const struct metrics_input *in, char **out, size_t *len)
{
	struct buf b = { .cap = 4096 };
	uint64_t op = 0, ob = 0;

	b.p = malloc(b.cap);
	if (!b.p)
		return -ENOMEM;
	b.p[0] = '\0';
	family(&b, "pktstat_packets_total", "counter",
	       "Packets captured, by interface and protocol.");
	per_kind(&b, in, "pktstat_packets_total", 0);
	family(&b, "pktstat_bytes_total", "counter",
	       "Bytes captured (frame length on the wire, link header "
	       "included), by interface and protocol.");
	per_kind(&b, in, "pktstat_bytes_total", 1);
	family(&b, "pktstat_kernel_drops_total", "counter",
	       "Frames the kernel dropped because the capture ring was full.");
	per_iface(&b, in, "pktstat_kernel_drops_total",
		  offsetof(struct cap_stats, kernel_drops));
	family(&b, "pktstat_kernel_freezes_total", "counter",
	       "Times the kernel froze the capture queue (TPACKET_V3).");
	per_iface(&b, in, "pktstat_kernel_freezes_total",
		  offsetof(struct cap_stats, freezes));
	family(&b, "pktstat_interface_drops_total", "counter",
	       "Frames the interface dropped (rx_dropped) since the start.");
	per_iface(&b, in, "pktstat_interface_drops_total",
		  offsetof(struct cap_stats, if_drops));
	for (int k = 0; k < KIND_COUNT; k++) {
		op += in->overflow[k].pkts;
		ob += in->overflow[k].bytes;
	}
	one(&b, "pktstat_overflow_packets_total", "counter",
	    "Packets of new flows that found the flow table full (counted "
	    "in the totals, in no flow).",
	    op);
	one(&b, "pktstat_overflow_bytes_total", "counter",
	    "Bytes of those packets.", ob);
	one(&b, "pktstat_malformed_packets_total", "counter",
	    "Packets that did not decode (counted as kind other).",
	    in->malformed);
	one(&b, "pktstat_flows", "gauge", "Flows in the flow table now.",
	    in->flows_live);
	one(&b, "pktstat_flows_max", "gauge", "The flow table's cap.",
	    in->flows_max);
	one(&b, "pktstat_flows_expired_total", "counter",
	    "Flows removed from the table (idle for -k, or evicted).",
	    in->flows_expired);
	one(&b, "pktstat_flows_evicted_total", "counter",
	    "Of the expired flows, those evicted because the table was "
	    "nearly full.",
	    in->flows_evicted);
	if (in->nsessions) {
		family(&b, "pktstat_session_packets_total", "counter",
		       "Packets matching a named counter session (--count); "
		       "restarts from 0 when the session is modified or "
		       "zeroed.");
		for (size_t i = 0; i < in->nsessions; i++) {
			buf_put(&b, "pktstat_session_packets_total{session=\"");
			buf_label(&b, in->sessions[i].name);
			buf_put(&b, "\"} %" PRIu64 "\n", in->sessions[i].pkts);
		}
		family(&b, "pktstat_session_bytes_total", "counter",
		       "Bytes of the packets matching a named counter "
		       "session.");
		for (size_t i = 0; i < in->nsessions; i++) {
			buf_put(&b, "pktstat_session_bytes_total{session=\"");
			buf_label(&b, in->sessions[i].name);
			buf_put(&b, "\"} %" PRIu64 "\n", in->sessions[i].bytes);
		}
	}
	if (in->ntop) {
		top_flows(&b, in, 1);
		top_flows(&b, in, 0);
	}
	if (in->ipfix) {
		const struct metrics_ipfix *x = in->ipfix;

		one(&b, "pktstat_ipfix_records_total", "counter",
		    "IPFIX data records sent to the collector.", x->records);
		one(&b, "pktstat_ipfix_dropped_records_total", "counter",
		    "IPFIX data records lost (export queue full or transport "
		    "error).",
		    x->drop_records);
		one(&b, "pktstat_ipfix_dropped_packets_total", "counter",
		    "Packets in the lost IPFIX records.", x->drop_pkts);
		one(&b, "pktstat_ipfix_dropped_bytes_total", "counter",
		    "Octets (IP header and payload) in the lost IPFIX records.",
		    x->drop_bytes);
		one(&b, "pktstat_ipfix_queue_records", "gauge",
		    "IPFIX records waiting in the export queue.",
		    x->queue_depth);
		one(&b, "pktstat_ipfix_send_errors_total", "counter",
		    "IPFIX messages the transport failed to send.",
		    x->send_errors);
	}
	family(&b, "pktstat_start_time_seconds", "gauge",
	       "When the capture started, in seconds since the epoch.");
	buf_put(&b, "pktstat_start_time_seconds %" PRIu64 ".%03" PRIu64 "\n",
		in->start_wall_ns / 1000000000u,
		in->start_wall_ns % 1000000000u / 1000000u);
	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

int metrics_parse_addr(const char *spec, struct sockaddr *sa,
		       unsigned int *salen, char *err, size_t errlen)
{
	char host[128], *end;
	const char *colon = strrchr(spec, ':'), *port;
	unsigned long p;

	memset(sa, 0, sizeof(struct sockaddr_in6));
	if (!colon) {
		snprintf(host, sizeof(host), "127.0.0.1");
		port = spec;
	} else {
		size_t hl = (size_t)(colon - spec);

		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, spec, hl);
		host[hl] = '\0';
		port = colon + 1;
		if (host[0] == '[') {
			if (hl < 2 || host[hl - 1] != ']')
				goto bad;
			memmove(host, host + 1, hl - 2);
			host[hl - 2] = '\0';
		} else if (strchr(host, ':')) {
			goto bad; /* a bare IPv6 address needs brackets */
		}
		if (!host[0])
			snprintf(host, sizeof(host), "127.0.0.1");
	}
	errno = 0;
	p = strtoul(port, &end, 10);
	if (!*port || *end || errno || p == 0 || p > 65535 || *port == '-' ||
	    *port == '+')
		goto bad;
	{
		struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)sa;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)sa;

		if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)p);
			*salen = sizeof(*s4);
		} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)p);
			*salen = sizeof(*s6);
		} else {
			goto bad;
		}
	}
	return 0;
bad:
	snprintf(err, errlen,
		 "%s: not PORT, ADDR:PORT or [ADDR]:PORT (numeric address, "
		 "port 1-65535)",
		 spec);
	return -EINVAL;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_len, void **state)
{
	struct metrics *m = cls;
	struct MHD_Response *r;
	enum MHD_Result ret;
	unsigned int code = MHD_HTTP_OK;
	char *copy = NULL;
	size_t len = 0;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		static const char msg[] = "only GET /metrics\n";

		code = MHD_HTTP_METHOD_NOT_ALLOWED;
		r = mhd.create_response(sizeof(msg) - 1, (void *)msg,
					MHD_RESPMEM_PERSISTENT);
	} else if (strcmp(url, "/metrics") && strcmp(url, "/")) {
		static const char msg[] = "not found: try /metrics\n";

		code = MHD_HTTP_NOT_FOUND;
		r = mhd.create_response(sizeof(msg) - 1, (void *)msg,
					MHD_RESPMEM_PERSISTENT);
	} else {
		pthread_mutex_lock(&m->lock);
		if (m->text) {
			copy = malloc(m->len + 1);
			if (copy) {
				memcpy(copy, m->text, m->len);
				len = m->len;
			}
		}
		pthread_mutex_unlock(&m->lock);
		if (!copy && m->text)
			return MHD_NO; /* out of memory: drop the connection */
		__atomic_fetch_add(&m->scrapes, 1, __ATOMIC_RELAXED);
		if (copy)
			r = mhd.create_response(len, copy,
						MHD_RESPMEM_MUST_FREE);
		else
			r = mhd.create_response(0, (void *)"",
						MHD_RESPMEM_PERSISTENT);
	}
	if (!r) {
		free(copy);
		return MHD_NO;
	}
	mhd.add_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
		       code == MHD_HTTP_OK ? "text/plain; version=0.0.4; "
					     "charset=utf-8"
					   : "text/plain");
	ret = mhd.queue_response(c, code, r);
	mhd.destroy_response(r);
	return ret;
}

struct metrics *metrics_new(const char *addr, const char *file, char *err,
			    size_t errlen)
{
	struct metrics *m = calloc(1, sizeof(*m));
	struct sockaddr_in6 sa;
	unsigned int salen;

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&m->lock, NULL);
	if (file) {
		m->file = strdup(file);
		if (!m->file) {
			snprintf(err, errlen, "out of memory");
			metrics_free(m);
			return NULL;
		}
	}
	if (!addr)
		return m;
	if (metrics_parse_addr(addr, (struct sockaddr *)&sa, &salen, err,
			       errlen)) {
		metrics_free(m);
		return NULL;
	}
	if (mhd_load()) {
		snprintf(err, errlen, "--metrics %s: %s", addr, mhd_err);
		metrics_free(m);
		return NULL;
	}
	snprintf(m->where, sizeof(m->where), "%s", addr);
	{
		/* libmicrohttpd reports bind errors only through its log:
		 * bind here, so the message names the cause, and hand it
		 * the listening socket. */
		int fd = socket(sa.sin6_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int one = 1;
		unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD;

		if (fd < 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
			       sizeof(one)) ||
		    bind(fd, (struct sockaddr *)&sa, salen) || listen(fd, 64)) {
			snprintf(err, errlen, "--metrics %s: %s", addr,
				 strerror(errno));
			if (fd >= 0)
				close(fd);
			metrics_free(m);
			return NULL;
		}
		if (sa.sin6_family == AF_INET6)
			flags |= MHD_USE_IPv6;
		m->d = mhd.start_daemon(flags, 0, NULL, NULL, answer, m,
					MHD_OPTION_LISTEN_SOCKET, fd,
					MHD_OPTION_CONNECTION_LIMIT,
					(unsigned int)16,
					MHD_OPTION_CONNECTION_TIMEOUT,
					(unsigned int)10, MHD_OPTION_END);
		if (!m->d) {
			snprintf(err, errlen,
				 "--metrics %s: cannot start the HTTP server",
				 addr);
			close(fd);
			metrics_free(m);
			return NULL;
		}
	}
	return m;
}

/* Write @text to @path: a temporary file beside it, then rename. */
static int write_file(const char *path, const char *text, size_t len, char *err,
		      size_t errlen)
{
	char tmp[4096 + 16];
	size_t off = 0;
	int fd, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: name too long", path);
		return -ENAMETOOLONG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0644);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return rc;
	}
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		unlink(tmp);
	}
	return rc;
}

int metrics_publish(struct metrics *m, const struct metrics_input *in,
		    char *err, size_t errlen)
{
	char *text, *old;
	size_t len;
	int rc;

	rc = metrics_format(in, &text, &len);
	if (rc) {
		snprintf(err, errlen, "metrics: %s", strerror(-rc));
		return rc;
	}
	if (m->file)
		rc = write_file(m->file, text, len, err, errlen);
	pthread_mutex_lock(&m->lock);
	old = m->text;
	m->text = text;
	m->len = len;
	pthread_mutex_unlock(&m->lock);
	free(old);
	return rc;
}

uint64_t metrics_scrapes(const struct metrics *m)
{
	return __atomic_load_n(&m->scrapes, __ATOMIC_RELAXED);
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	if (m->d)
		mhd.stop_daemon(m->d);
	pthread_mutex_destroy(&m->lock);
	free(m->text);
	free(m->file);
	free(m);
}
