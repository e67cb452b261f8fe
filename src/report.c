/*
 * report.c - text, JSON and CSV reports from a snapshot, and the safe
 * snapshot file writer.
 *
 * Pure with respect to the run: reads a snapshot owned by the caller,
 * writes to a FILE. The per-direction flow fields are declared once in a
 * table that serves every format (iproute2 ss's habit). Any thread, one
 * snapshot per thread.
 */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "counters.h"
#include "flowkey.h"

/* One direction of one flow, as reports print it. */
struct report_dir {
	const struct flowtab_row *row;
	int dir; /* FLOW_DIR_AB: src = A */
	double bitrate;
};

static int row_order(const void *pa, const void *pb)
{
	const struct flowtab_row *a = pa, *b = pb;
	uint64_t ab = a->bytes[0] + a->bytes[1], bb = b->bytes[0] + b->bytes[1];
	uint64_t ap = a->pkts[0] + a->pkts[1], bp = b->pkts[0] + b->pkts[1];

	if (ab != bb)
		return ab > bb ? -1 : 1;
	if (ap != bp)
		return ap > bp ? -1 : 1;
	return flowkey_cmp(&a->key, &b->key);
}

void report_sort(struct flowtab_row *rows, size_t n)
{
	if (n > 1)
		qsort(rows, n, sizeof(*rows), row_order);
}

/* Direction-split rows are sorted the same way, per direction. */
static int dir_order(const void *pa, const void *pb)
{
	const struct report_dir *a = pa, *b = pb;
	uint64_t ab = a->row->bytes[a->dir], bb = b->row->bytes[b->dir];
	uint64_t ap = a->row->pkts[a->dir], bp = b->row->pkts[b->dir];
	int c;

	if (ab != bb)
		return ab > bb ? -1 : 1;
	if (ap != bp)
		return ap > bp ? -1 : 1;
	c = flowkey_cmp(&a->row->key, &b->row->key);
	if (c)
		return c;
	return a->dir - b->dir;
}

void report_format_bitrate(double bps, char *buf, size_t len)
{
	static const char *const units[] = { "bps", "Kbps", "Mbps", "Gbps",
					     "Tbps" };
	size_t u = 0;

	while (bps >= 1000 && u < 4) {
		bps /= 1000;
		u++;
	}
	snprintf(buf, len, "%.2f %s", bps, units[u]);
}

enum report_format report_format_for(const char *path)
{
	const char *dot = path ? strrchr(path, '.') : NULL;

	if (dot && strcasecmp(dot, ".json") == 0)
		return REPORT_JSON;
	if (dot && strcasecmp(dot, ".csv") == 0)
		return REPORT_CSV;
	return REPORT_TEXT;
}

/* Write @s as a JSON string: every control byte and non-ASCII escaped, so
 * the output is valid JSON whatever bytes a name contains. */
static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

/* CSV field: quoted, quotes doubled, control bytes replaced. */
static void csv_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		if (*p == '"')
			fputs("\"\"", out);
		else
			fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, out);
	}
	fputc('"', out);
}

/* Text output: a name from the network is printed with control bytes
 * replaced, so it cannot drive the terminal. */
static void text_str(FILE *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
		fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, out);
}

static void fmt_time(uint64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;

	if (!ns || !gmtime_r(&t, &tm)) {
		snprintf(buf, len, "-");
		return;
	}
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), len - strlen(buf), ".%06uZ",
		 (unsigned)(ns % 1000000000ull / 1000));
}

/* Per-direction fields: the one definition all formats print. */
enum fld_type { FLD_STR, FLD_U64, FLD_F64 };
struct fld_val {
	enum fld_type type;
	const char *s;
	uint64_t u;
	double f;
};
struct report_field {
	const char *json; /* JSON key and CSV header */
	const char *text; /* text label, NULL: not in the text line */
	void (*get)(const struct report_dir *d, char *buf, size_t len,
		    struct fld_val *v);
};

static void get_bitrate(const struct report_dir *d, char *buf, size_t len,
			struct fld_val *v)
{
	report_format_bitrate(d->bitrate, buf, len);
	*v = (struct fld_val){ FLD_F64, buf, 0, d->bitrate };
}
static void get_packets(const struct report_dir *d, char *buf, size_t len,
			struct fld_val *v)
{
	(void)buf, (void)len;
	*v = (struct fld_val){ FLD_U64, NULL, d->row->pkts[d->dir], 0 };
}
static void get_bytes(const struct report_dir *d, char *buf, size_t len,
		      struct fld_val *v)
{
	(void)buf, (void)len;
	*v = (struct fld_val){ FLD_U64, NULL, d->row->bytes[d->dir], 0 };
}
static void get_proto(const struct report_dir *d, char *buf, size_t len,
		      struct fld_val *v)
{
	(void)buf, (void)len;
	*v = (struct fld_val){ FLD_STR, flowkey_proto_name(d->row->key.kind), 0,
			       0 };
}
static void get_src(const struct report_dir *d, char *buf, size_t len,
		    struct fld_val *v)
{
	flowkey_format_endpoint(&d->row->key, d->dir, buf, len);
	*v = (struct fld_val){ FLD_STR, buf, 0, 0 };
}
static void get_dst(const struct report_dir *d, char *buf, size_t len,
		    struct fld_val *v)
{
	flowkey_format_endpoint(&d->row->key, !d->dir, buf, len);
	*v = (struct fld_val){ FLD_STR, buf, 0, 0 };
}
static void get_srcip(const struct report_dir *d, char *buf, size_t len,
		      struct fld_val *v)
{
	flowkey_format_addr(&d->row->key, d->dir, buf, len);
	*v = (struct fld_val){ FLD_STR, buf, 0, 0 };
}
static void get_dstip(const struct report_dir *d, char *buf, size_t len,
		      struct fld_val *v)
{
	flowkey_format_addr(&d->row->key, !d->dir, buf, len);
	*v = (struct fld_val){ FLD_STR, buf, 0, 0 };
}
static uint16_t side_port(const struct flow_key *k, int side)
{
	return side ? k->bport : k->aport;
}
static void get_srcport(const struct report_dir *d, char *buf, size_t len,
			struct fld_val *v)
{
	(void)buf, (void)len;
	*v = (struct fld_val){ FLD_U64, NULL,
			       flowkey_has_ports(d->row->key.kind)
				       ? side_port(&d->row->key, d->dir)
				       : 0,
			       0 };
}
static void get_dstport(const struct report_dir *d, char *buf, size_t len,
			struct fld_val *v)
{
	(void)buf, (void)len;
	*v = (struct fld_val){ FLD_U64, NULL,
			       flowkey_has_ports(d->row->key.kind)
				       ? side_port(&d->row->key, !d->dir)
				       : 0,
			       0 };
}
static void get_icmptype(const struct report_dir *d, char *buf, size_t len,
			 struct fld_val *v)
{
	int k = d->row->key.kind;

	(void)buf, (void)len;
	*v = (struct fld_val){
		FLD_U64, NULL,
		k == KIND_ICMP4 || k == KIND_ICMP6 ? d->row->key.aport : 0, 0
	};
}
static void get_ipproto(const struct report_dir *d, char *buf, size_t len,
			struct fld_val *v)
{
	(void)buf, (void)len;
	*v = (struct fld_val){ FLD_U64, NULL, d->row->key.ipproto, 0 };
}
static void get_vlan(const struct report_dir *d, char *buf, size_t len,
		     struct fld_val *v)
{
	(void)buf, (void)len;
	*v = (struct fld_val){ FLD_U64, NULL, d->row->key.vlan, 0 };
}
static void get_flow(const struct report_dir *d, char *buf, size_t len,
		     struct fld_val *v)
{
	(void)buf, (void)len;
	*v = (struct fld_val){ FLD_U64, NULL, d->row->id, 0 };
}

/* dkorunic/pktstat's names first (srcIp ... bitrate), then ours. */
static const struct report_field report_fields[] = {
	{ "bitrate", "bitrate", get_bitrate },
	{ "packets", "packets", get_packets },
	{ "size", "bytes", get_bytes },
	{ "proto", "proto", get_proto },
	{ "src", "src", get_src },
	{ "dst", "dst", get_dst },
	{ "srcIp", NULL, get_srcip },
	{ "dstIp", NULL, get_dstip },
	{ "srcPort", NULL, get_srcport },
	{ "dstPort", NULL, get_dstport },
	{ "icmpType", NULL, get_icmptype },
	{ "ipProto", NULL, get_ipproto },
	{ "vlan", NULL, get_vlan },
	{ "flow", NULL, get_flow },
};
#define N_FIELDS (sizeof(report_fields) / sizeof(report_fields[0]))

/* Build the direction-split list, sorted. Caller frees. */
static struct report_dir *split_dirs(const struct snapshot *s, double secs,
				     size_t *n)
{
	struct report_dir *d = calloc(s->nrows * 2 + 1, sizeof(*d));
	size_t k = 0;

	if (!d)
		return NULL;
	for (size_t i = 0; i < s->nrows; i++) {
		for (int dir = 0; dir < 2; dir++) {
			if (!s->rows[i].pkts[dir])
				continue;
			d[k].row = &s->rows[i];
			d[k].dir = dir;
			d[k].bitrate =
				secs > 0 ? 8.0 * s->rows[i].bytes[dir] / secs
					 : 0;
			k++;
		}
	}
	if (k > 1)
		qsort(d, k, sizeof(*d), dir_order);
	*n = k;
	return d;
}

static void write_text(FILE *out, const struct snapshot *s,
		       const struct report_meta *m, struct report_dir *d,
		       size_t nd, double secs)
{
	struct flowtab_counts proto[PROTO_COUNT];
	char buf[128];

	for (size_t i = 0; i < nd; i++) {
		int first = 1;

		for (size_t f = 0; f < N_FIELDS; f++) {
			struct fld_val v;

			if (!report_fields[f].text)
				continue;
			report_fields[f].get(&d[i], buf, sizeof(buf), &v);
			fprintf(out, "%s%s: ", first ? "" : ", ",
				report_fields[f].text);
			first = 0;
			if (v.type == FLD_U64)
				fprintf(out, "%" PRIu64, v.u);
			else
				text_str(out, v.s);
		}
		fputc('\n', out);
	}
	snapshot_proto_totals(s->kind, proto);
	fprintf(out, "\nProtocol totals:\n");
	for (int p = 0; p < PROTO_COUNT; p++) {
		report_format_bitrate(secs > 0 ? 8.0 * proto[p].bytes / secs
					       : 0,
				      buf, sizeof(buf));
		fprintf(out,
			"  %-7s packets: %" PRIu64 ", bytes: %" PRIu64
			", bitrate: %s\n",
			snapshot_proto_name(p), proto[p].pkts, proto[p].bytes,
			buf);
	}
	fprintf(out,
		"Flows: %zu live, %" PRIu64 " expired (%" PRIu64
		" evicted under pressure)",
		s->nrows, s->expired_flows, s->evicted_flows);
	{
		uint64_t op = 0, ob = 0;

		for (int k = 0; k < KIND_COUNT; k++) {
			op += s->overflow[k].pkts;
			ob += s->overflow[k].bytes;
		}
		fprintf(out,
			", overflow (table full, cap %zu): packets: %" PRIu64
			", bytes: %" PRIu64 "\n",
			s->max_flows, op, ob);
	}
	for (size_t c = 0; c < s->ncounters; c++) {
		fprintf(out, "%s", c ? "" : "Counters:\n");
		fprintf(out, "  ");
		text_str(out, s->counters[c].name);
		fprintf(out, " packets: %" PRIu64 ", bytes: %" PRIu64 " (",
			s->counters[c].pkts, s->counters[c].bytes);
		text_str(out, s->counters[c].expr);
		fprintf(out, ")\n");
	}
	fprintf(out, "Malformed: %" PRIu64, snapshot_malformed(s));
	for (int e = 1; e < DEC_ERR_COUNT; e++)
		if (s->err[e])
			fprintf(out, ", %s: %" PRIu64, decode_err_name(e),
				s->err[e]);
	fputc('\n', out);
	fprintf(out, "Capture: ");
	text_str(out, m->source);
	fprintf(out, ", backend %s, threads %d, filter: ", m->backend,
		m->threads);
	text_str(out, m->filter && *m->filter ? m->filter : "(none)");
	fprintf(out,
		"\nLoss: kernel drops: %" PRIu64 ", freezes: %" PRIu64
		", interface drops: %" PRIu64 ", counts are %s\n",
		s->cap.kernel_drops, s->cap.freezes, s->cap.if_drops,
		snapshot_exact(s) ? "exact" : "NOT exact (packets were lost)");
	fprintf(out,
		"\nRead total packets: %" PRIu64 ", total bytes: %" PRIu64
		" in %0.2f seconds\n",
		s->pkts, s->bytes, secs);
}

static void json_fields(FILE *out, const struct report_dir *d)
{
	char buf[128];

	fputc('{', out);
	for (size_t f = 0; f < N_FIELDS; f++) {
		struct fld_val v;

		report_fields[f].get(d, buf, sizeof(buf), &v);
		fprintf(out, "%s\"%s\":", f ? "," : "", report_fields[f].json);
		if (v.type == FLD_U64)
			fprintf(out, "%" PRIu64, v.u);
		else if (v.type == FLD_F64)
			fprintf(out, "%.3f", v.f);
		else
			json_str(out, v.s);
	}
	fputc('}', out);
}

static void write_json(FILE *out, const struct snapshot *s,
		       const struct report_meta *m, struct report_dir *d,
		       size_t nd, double secs)
{
	struct flowtab_counts proto[PROTO_COUNT];
	char t0[64], t1[64];
	uint64_t op = 0, ob = 0, ep = 0, eb = 0;

	fmt_time(s->first_ts_ns, t0, sizeof(t0));
	fmt_time(s->last_ts_ns, t1, sizeof(t1));
	fputs("{\"source\":", out);
	json_str(out, m->source);
	fputs(",\"filter\":", out);
	json_str(out, m->filter ? m->filter : "");
	fputs(",\"backend\":", out);
	json_str(out, m->backend);
	fprintf(out, ",\"threads\":%d,\"start\":\"%s\",\"end\":\"%s\"",
		m->threads, t0, t1);
	fprintf(out, ",\"duration\":%.6f,\"exact\":%s", secs,
		snapshot_exact(s) ? "true" : "false");
	fprintf(out,
		",\"totals\":{\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
		s->pkts, s->bytes);
	snapshot_proto_totals(s->kind, proto);
	fputs(",\"protocols\":{", out);
	for (int p = 0; p < PROTO_COUNT; p++)
		fprintf(out,
			"%s\"%s\":{\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
			"}",
			p ? "," : "", snapshot_proto_name(p), proto[p].pkts,
			proto[p].bytes);
	fputs("},\"malformed\":{", out);
	fprintf(out, "\"total\":%" PRIu64, snapshot_malformed(s));
	for (int e = 1; e < DEC_ERR_COUNT; e++)
		fprintf(out, ",\"%s\":%" PRIu64, decode_err_name(e), s->err[e]);
	for (int k = 0; k < KIND_COUNT; k++) {
		op += s->overflow[k].pkts;
		ob += s->overflow[k].bytes;
		ep += s->expired[k].pkts;
		eb += s->expired[k].bytes;
	}
	fprintf(out,
		"},\"flowTable\":{\"live\":%zu,\"expired\":%" PRIu64
		",\"evicted\":%" PRIu64 ",\"expiredPackets\":%" PRIu64
		",\"expiredBytes\":%" PRIu64
		",\"max\":%zu,\"overflowPackets\":%" PRIu64
		",\"overflowBytes\":%" PRIu64 "}",
		s->nrows, s->expired_flows, s->evicted_flows, ep, eb,
		s->max_flows, op, ob);
	fprintf(out,
		",\"capture\":{\"received\":%" PRIu64
		",\"kernelDrops\":%" PRIu64 ",\"freezes\":%" PRIu64
		",\"ifDrops\":%" PRIu64 ",\"filtered\":%" PRIu64 "}",
		s->cap.received, s->cap.kernel_drops, s->cap.freezes,
		s->cap.if_drops, s->cap.filtered);
	fputs(",\"counters\":[", out);
	for (size_t c = 0; c < s->ncounters; c++) {
		fputs(c ? ",{\"name\":" : "{\"name\":", out);
		json_str(out, s->counters[c].name);
		fputs(",\"filter\":", out);
		json_str(out, s->counters[c].expr);
		fprintf(out, ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
			s->counters[c].pkts, s->counters[c].bytes);
	}
	fputs("]", out);
	fputs(",\"flows\":[", out);
	for (size_t i = 0; i < nd; i++) {
		if (i)
			fputc(',', out);
		fputc('\n', out);
		json_fields(out, &d[i]);
	}
	fputs("\n]}\n", out);
}

static void write_csv(FILE *out, struct report_dir *d, size_t nd)
{
	char buf[128];

	for (size_t f = 0; f < N_FIELDS; f++)
		fprintf(out, "%s%s", f ? "," : "", report_fields[f].json);
	fputc('\n', out);
	for (size_t i = 0; i < nd; i++) {
		for (size_t f = 0; f < N_FIELDS; f++) {
			struct fld_val v;

			report_fields[f].get(&d[i], buf, sizeof(buf), &v);
			if (f)
				fputc(',', out);
			if (v.type == FLD_U64)
				fprintf(out, "%" PRIu64, v.u);
			else if (v.type == FLD_F64)
				fprintf(out, "%.3f", v.f);
			else
				csv_str(out, v.s);
		}
		fputc('\n', out);
	}
}

int report_write(FILE *out, enum report_format fmt, struct snapshot *s,
		 const struct report_meta *meta)
{
	double secs = snapshot_duration_ns(s) / 1e9;
	struct report_dir *d;
	size_t nd = 0;

	report_sort(s->rows, s->nrows);
	d = split_dirs(s, secs, &nd);
	if (!d)
		return -ENOMEM;
	if (fmt == REPORT_JSON_ARRAY) {
		fputc('[', out);
		for (size_t i = 0; i < nd; i++) {
			if (i)
				fputc(',', out);
			json_fields(out, &d[i]);
		}
		fputs("]\n", out);
	} else if (fmt == REPORT_JSON)
		write_json(out, s, meta, d, nd, secs);
	else if (fmt == REPORT_CSV)
		write_csv(out, d, nd);
	else
		write_text(out, s, meta, d, nd, secs);
	free(d);
	if (fflush(out) || ferror(out))
		return -EIO;
	return 0;
}

/*
 * As root: refuse a path any of whose directories another user controls -
 * one they own (they could swap its entries), or a symbolic link they own
 * (they choose where it points). Checked component by component with
 * lstat, so a planted link cannot redirect the write. 0 or -EPERM.
 */
static int check_components(const char *dir, char *err, size_t errlen,
			    const char *path)
{
	char buf[PATH_MAX];
	struct stat st;
	size_t i, len;

	if (geteuid() != 0)
		return 0;
	len = strlen(dir);
	if (len >= sizeof(buf))
		return 0; /* too long: the open below names the problem */
	memcpy(buf, dir, len + 1);
	for (i = 1; i <= len; i++) {
		char c = buf[i];

		if (c != '/' && c != '\0')
			continue;
		buf[i] = '\0';
		if (lstat(buf, &st) == 0 && st.st_uid != 0 &&
		    (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode))) {
			snprintf(err, errlen,
				 "%s: %s is owned by another user, refused",
				 path, buf);
			return -EPERM;
		}
		buf[i] = c;
	}
	return 0;
}

int report_save(const char *path, report_fill_fn fill, void *ctx, char *err,
		size_t errlen)
{
	char tmp[PATH_MAX], dir[PATH_MAX], pcopy[PATH_MAX];
	struct stat st;
	int fd = -1, dfd = -1, rc;
	FILE *f = NULL;

	if (!path || !*path || strlen(path) + 32 >= PATH_MAX) {
		snprintf(err, errlen, "%.64s...: file name too long",
			 path ? path : "");
		return -ENAMETOOLONG;
	}
	snprintf(pcopy, sizeof(pcopy), "%s", path);
	snprintf(dir, sizeof(dir), "%s", dirname(pcopy));
	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode)) {
			snprintf(err, errlen, "%s: is a symbolic link, refused",
				 path);
			return -ELOOP;
		}
		if (S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "%s: is a directory", path);
			return -EISDIR;
		}
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "%s: not a regular file", path);
			return -EINVAL;
		}
		if (st.st_nlink > 1) {
			snprintf(err, errlen,
				 "%s: has other hard links, refused", path);
			return -EMLINK;
		}
	} else if (errno == ENAMETOOLONG) {
		snprintf(err, errlen, "%.64s...: file name too long", path);
		return -ENAMETOOLONG;
	}
	rc = check_components(dir, err, errlen, path);
	if (rc)
		return rc;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path,
			 errno == ENOENT ? "directory does not exist"
					 : strerror(errno));
		return rc;
	}
	/* As root, a directory another user can write (without the sticky
	 * bit) lets them swap the file under us: refuse it. */
	if (geteuid() == 0 && fstat(dfd, &st) == 0 &&
	    (((st.st_mode & (S_IWOTH | S_IWGRP)) && !(st.st_mode & S_ISVTX)) ||
	     st.st_uid != 0)) {
		close(dfd);
		snprintf(err, errlen,
			 "%s: directory is writable by another user, refused",
			 path);
		return -EPERM;
	}
	for (int tries = 0; tries < 100; tries++) {
		snprintf(tmp, sizeof(tmp), "%s.tmp.%d.%d", path, (int)getpid(),
			 tries);
		fd = open(tmp,
			  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(dfd);
		return rc;
	}
	(void)fchmod(fd, 0600); /* whatever the umask */
	f = fdopen(fd, "w");
	if (!f) {
		rc = -errno;
		close(fd);
		goto fail;
	}
	errno = 0;
	rc = fill(f, ctx);
	if (rc == 0 && fflush(f) != 0)
		rc = -errno;
	if (rc == 0 && fsync(fileno(f)) != 0)
		rc = -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc)
		goto fail;
	if (rename(tmp, path) != 0) {
		rc = -errno;
		goto fail;
	}
	(void)fsync(dfd);
	close(dfd);
	return 0;
fail:
	if (rc == -EIO && errno)
		rc = -errno;
	snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	unlink(tmp);
	close(dfd);
	return rc;
}

struct fill_report {
	struct snapshot *s;
	const struct report_meta *m;
};

static int fill_report(FILE *out, void *ctx)
{
	struct fill_report *fr = ctx;

	return report_write(out, report_format_for(fr->m->path), fr->s, fr->m);
}

int report_write_file(const char *path, struct snapshot *s,
		      const struct report_meta *meta, char *err, size_t errlen)
{
	struct report_meta m = *meta;
	struct fill_report fr = { s, &m };

	m.path = path;
	return report_save(path, fill_report, &fr, err, errlen);
}
