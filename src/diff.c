/*
 * diff.c - compare two pktstat snapshots (see diff.h).
 *
 * A flow element is identified by what pktstat prints for it: protocol,
 * source, destination, VLAN, ICMP type and code (0 when a file has none:
 * older snapshots) and IP protocol (one element per
 * direction). Flow ids are not used: they are per run. Elements with the
 * same identity in one file (there are none in pktstat's own output, but a
 * hand-edited or grouped file may have them) are summed. JSON parsing is
 * jansson's; every field is checked for its type before use, so any file
 * gives a line of error or a diff, never a crash.
 */
#include "diff.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flowkey.h"

struct diff_flow {
	const char *key; /* identity, owned by the index object */
	json_t *elem;	 /* a representative element (borrowed) */
	int64_t pkts[2]; /* [0] old, [1] new */
	int64_t bytes[2];
	int seen[2];
};

struct diff_set {
	struct diff_flow *v;
	size_t n, cap;
	json_t *index; /* key -> integer position in v */
};

static int64_t num(const json_t *o, const char *name)
{
	const json_t *v = json_object_get(o, name);

	if (json_is_integer(v))
		return (int64_t)json_integer_value(v);
	if (json_is_real(v))
		return (int64_t)json_real_value(v);
	return 0;
}

static const char *str(const json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s ? s : "";
}

/* An ICMP element's message as the text report names it ("unreach
 * port"), else "". */
static void icmp_text(const json_t *elem, char *buf, size_t len)
{
	struct flow_key k;
	const char *p = str(elem, "proto");

	memset(&k, 0, sizeof(k));
	k.kind = !strcmp(p, "ICMPv4")	? KIND_ICMP4
		 : !strcmp(p, "ICMPv6") ? KIND_ICMP6
					: KIND_OTHER;
	k.aport = (uint16_t)num(elem, "icmpType");
	k.bport = (uint16_t)num(elem, "icmpCode");
	flowkey_icmp_text(&k, buf, len);
}

static int set_add(struct diff_set *set, json_t *elem, int side)
{
	char key[768];
	json_t *pos;
	struct diff_flow *f;

	/* "iface": with several interfaces, a flow is per interface */
	snprintf(key, sizeof(key),
		 "%s|%s|%s|%" PRId64 "|%" PRId64 "|%" PRId64 "|%" PRId64 "|%s",
		 str(elem, "proto"), str(elem, "src"), str(elem, "dst"),
		 num(elem, "vlan"), num(elem, "icmpType"),
		 num(elem, "icmpCode"), num(elem, "ipProto"),
		 str(elem, "iface"));
	pos = json_object_get(set->index, key);
	if (pos) {
		f = &set->v[json_integer_value(pos)];
	} else {
		if (set->n == set->cap) {
			size_t cap = set->cap ? set->cap * 2 : 256;
			struct diff_flow *v = realloc(set->v, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			set->v = v;
			set->cap = cap;
		}
		if (json_object_set_new(set->index, key,
					json_integer((json_int_t)set->n)))
			return -ENOMEM;
		f = &set->v[set->n++];
		memset(f, 0, sizeof(*f));
		f->elem = elem;
	}
	f->pkts[side] += num(elem, "packets");
	f->bytes[side] += num(elem, "size");
	f->seen[side] = 1;
	if (side == 1)
		f->elem = elem; /* the newer text, should the two differ */
	return 0;
}

/* The keys live in the index object: fill them in once it is complete. */
static void set_keys(struct diff_set *set)
{
	const char *key;
	json_t *pos;

	json_object_foreach(set->index, key, pos)
		set->v[json_integer_value(pos)]
			.key = key;
}

static json_t *load(const char *path, char *err, size_t errlen)
{
	json_error_t je;
	json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);

	if (!doc) {
		if (je.line < 0 || !strncmp(je.text, "unable to open", 14))
			snprintf(err, errlen, "%s: cannot read: %s", path,
				 strerror(errno ? errno : ENOENT));
		else
			snprintf(err, errlen,
				 "%s: not JSON (line %d, column %d: %s)", path,
				 je.line, je.column, je.text);
		return NULL;
	}
	if (!json_is_object(doc) ||
	    !json_is_array(json_object_get(doc, "flows")) ||
	    !json_is_object(json_object_get(doc, "totals"))) {
		snprintf(err, errlen,
			 "%s: not a pktstat snapshot (no totals or flows; "
			 "write one with -j or --snapshot FILE.json)",
			 path);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

static int64_t mag(int64_t x)
{
	return x < 0 ? -x : x;
}

static int by_change(const void *a, const void *b)
{
	const struct diff_flow *x = a, *y = b;
	int64_t dx = mag(x->bytes[1] - x->bytes[0]);
	int64_t dy = mag(y->bytes[1] - y->bytes[0]);

	if (dx != dy)
		return dx > dy ? -1 : 1;
	dx = mag(x->pkts[1] - x->pkts[0]);
	dy = mag(y->pkts[1] - y->pkts[0]);
	if (dx != dy)
		return dx > dy ? -1 : 1;
	return strcmp(x->key, y->key);
}

static const char *status(const struct diff_flow *f)
{
	if (!f->seen[0])
		return "new";
	if (!f->seen[1])
		return "gone";
	if (f->pkts[0] == f->pkts[1] && f->bytes[0] == f->bytes[1])
		return "same";
	return "changed";
}

/* Protocol names in the order of the newer file, then any only in the
 * older one. */
static json_t *proto_names(json_t *docs[2])
{
	json_t *names = json_array();
	const char *k;
	json_t *v;

	for (int side = 1; side >= 0; side--) {
		json_t *p = json_object_get(docs[side], "protocols");

		if (!json_is_object(p))
			continue;
		json_object_foreach(p, k, v)
		{
			size_t i;
			json_t *n;
			int dup = 0;

			json_array_foreach(names, i, n) dup |=
				!strcmp(json_string_value(n), k);
			if (!dup)
				json_array_append_new(names, json_string(k));
		}
	}
	return names;
}

static int64_t proto_val(json_t *doc, const char *proto, const char *what)
{
	json_t *p = json_object_get(json_object_get(doc, "protocols"), proto);

	return json_is_object(p) ? num(p, what) : 0;
}

static void print_json(FILE *out, const char *paths[2], json_t *docs[2],
		       struct diff_set *set, size_t shown, size_t counts[4])
{
	json_t *o = json_object(), *protos = json_object(), *flows;
	json_t *names = proto_names(docs);
	json_t *n;
	size_t i;

	for (int side = 0; side < 2; side++) {
		json_t *s = json_object();

		json_object_set_new(s, "file", json_string(paths[side]));
		json_object_set(s, "start",
				json_object_get(docs[side], "start"));
		json_object_set(s, "end", json_object_get(docs[side], "end"));
		json_object_set(s, "exact",
				json_object_get(docs[side], "exact"));
		json_object_set_new(o, side ? "new" : "old", s);
	}
	json_object_set_new(
		o, "totals",
		json_pack("{s:I,s:I}", "packets",
			  (json_int_t)(num(json_object_get(docs[1], "totals"),
					   "packets") -
				       num(json_object_get(docs[0], "totals"),
					   "packets")),
			  "bytes",
			  (json_int_t)(num(json_object_get(docs[1], "totals"),
					   "bytes") -
				       num(json_object_get(docs[0], "totals"),
					   "bytes"))));
	json_array_foreach(names, i, n)
	{
		const char *p = json_string_value(n);

		json_object_set_new(
			protos, p,
			json_pack(
				"{s:I,s:I}", "packets",
				(json_int_t)(proto_val(docs[1], p, "packets") -
					     proto_val(docs[0], p, "packets")),
				"bytes",
				(json_int_t)(proto_val(docs[1], p, "bytes") -
					     proto_val(docs[0], p, "bytes"))));
	}
	json_object_set_new(o, "protocols", protos);
	json_object_set_new(o, "summary",
			    json_pack("{s:I,s:I,s:I,s:I}", "changed",
				      (json_int_t)counts[0], "new",
				      (json_int_t)counts[1], "gone",
				      (json_int_t)counts[2], "same",
				      (json_int_t)counts[3]));
	flows = json_array();
	for (i = 0; i < shown; i++) {
		const struct diff_flow *f = &set->v[i];
		json_t *code = json_object_get(f->elem, "icmpCode");
		json_t *e = json_pack(
			"{s:s,s:O,s:O,s:O,s:O,s:O,s:I,s:I,s:I,s:I,s:I,s:I}",
			"status", status(f), "proto",
			json_object_get(f->elem, "proto"), "src",
			json_object_get(f->elem, "src"), "dst",
			json_object_get(f->elem, "dst"), "vlan",
			json_object_get(f->elem, "vlan"), "icmpType",
			json_object_get(f->elem, "icmpType"), "packets",
			(json_int_t)(f->pkts[1] - f->pkts[0]), "bytes",
			(json_int_t)(f->bytes[1] - f->bytes[0]), "oldPackets",
			(json_int_t)f->pkts[0], "newPackets",
			(json_int_t)f->pkts[1], "oldBytes",
			(json_int_t)f->bytes[0], "newBytes",
			(json_int_t)f->bytes[1]);

		/* after the counts: json_pack has no optional member */
		if (e && code)
			json_object_set(e, "icmpCode", code);
		if (e && json_object_get(f->elem, "iface"))
			json_object_set(e, "iface",
					json_object_get(f->elem, "iface"));
		if (e)
			json_array_append_new(flows, e);
	}
	json_object_set_new(o, "flows", flows);
	json_dumpf(o, out, JSON_COMPACT | JSON_PRESERVE_ORDER);
	fputc('\n', out);
	json_decref(names);
	json_decref(o);
}

static void print_text(FILE *out, const char *paths[2], json_t *docs[2],
		       struct diff_set *set, size_t shown, size_t counts[4])
{
	json_t *names = proto_names(docs), *n;
	json_t *t0 = json_object_get(docs[0], "totals");
	json_t *t1 = json_object_get(docs[1], "totals");
	size_t i;

	fprintf(out, "Diff: %s (end %s) -> %s (end %s)\n", paths[0],
		str(docs[0], "end"), paths[1], str(docs[1], "end"));
	for (int side = 0; side < 2; side++)
		if (json_is_false(json_object_get(docs[side], "exact")))
			fprintf(out,
				"Note: %s counts are not exact (drops or an "
				"unread file): so are the differences\n",
				paths[side]);
	fprintf(out,
		"Totals: packets: %+" PRId64 " (%" PRId64 " -> %" PRId64
		"), bytes: %+" PRId64 " (%" PRId64 " -> %" PRId64 ")\n",
		num(t1, "packets") - num(t0, "packets"), num(t0, "packets"),
		num(t1, "packets"), num(t1, "bytes") - num(t0, "bytes"),
		num(t0, "bytes"), num(t1, "bytes"));
	fprintf(out, "Protocols:\n");
	json_array_foreach(names, i, n)
	{
		const char *p = json_string_value(n);

		fprintf(out,
			"  %-7s packets: %+" PRId64 ", bytes: %+" PRId64 "\n",
			p,
			proto_val(docs[1], p, "packets") -
				proto_val(docs[0], p, "packets"),
			proto_val(docs[1], p, "bytes") -
				proto_val(docs[0], p, "bytes"));
	}
	fprintf(out,
		"Flows: %zu changed, %zu new, %zu gone, %zu unchanged "
		"(sorted by the change in bytes)\n",
		counts[0], counts[1], counts[2], counts[3]);
	for (i = 0; i < shown; i++) {
		const struct diff_flow *f = &set->v[i];
		int64_t vlan = num(f->elem, "vlan");
		char icmp[FLOWKEY_ICMP_TEXT_MAX];

		fprintf(out,
			"bytes: %+" PRId64 ", packets: %+" PRId64
			", proto: %s, src: %s, dst: %s",
			f->bytes[1] - f->bytes[0], f->pkts[1] - f->pkts[0],
			str(f->elem, "proto"), str(f->elem, "src"),
			str(f->elem, "dst"));
		if (vlan)
			fprintf(out, ", vlan: %" PRId64, vlan);
		icmp_text(f->elem, icmp, sizeof(icmp));
		if (icmp[0])
			fprintf(out, ", type: %s", icmp);
		if (*str(f->elem, "iface"))
			fprintf(out, ", iface: %s", str(f->elem, "iface"));
		fprintf(out, ", %s\n", status(f));
	}
	if (shown < counts[0] + counts[1] + counts[2])
		fprintf(out, "(%zu more flows changed, not listed)\n",
			counts[0] + counts[1] + counts[2] - shown);
	json_decref(names);
}

int diff_files(const char *old_path, const char *new_path, int json, size_t top,
	       FILE *out, char *err, size_t errlen)
{
	const char *paths[2] = { old_path, new_path };
	json_t *docs[2] = { NULL, NULL };
	struct diff_set set = { 0 };
	size_t counts[4] = { 0 }, changed, i;
	int rc = 0;

	for (int side = 0; side < 2 && !rc; side++) {
		json_t *e;

		docs[side] = load(paths[side], err, errlen);
		if (!docs[side]) {
			rc = -EINVAL;
			break;
		}
		if (!set.index && !(set.index = json_object()))
			rc = -ENOMEM;
		json_array_foreach(json_object_get(docs[side], "flows"), i, e)
		{
			if (rc || !json_is_object(e))
				continue;
			rc = set_add(&set, e, side);
		}
	}
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (rc)
		goto out;
	set_keys(&set);
	qsort(set.v, set.n, sizeof(*set.v), by_change);
	for (i = 0; i < set.n; i++) {
		const char *s = status(&set.v[i]);

		counts[!strcmp(s, "new")    ? 1
		       : !strcmp(s, "gone") ? 2
		       : !strcmp(s, "same") ? 3
					    : 0]++;
	}
	changed = counts[0] + counts[1] + counts[2];
	/* unchanged flows sort last (no change): never listed */
	if (top && top < changed)
		changed = top;
	if (json)
		print_json(out, paths, docs, &set, changed, counts);
	else
		print_text(out, paths, docs, &set, changed, counts);
	if (fflush(out) || ferror(out)) {
		snprintf(err, errlen, "writing the diff: %s", strerror(errno));
		rc = -EIO;
	}
out:
	free(set.v);
	json_decref(set.index);
	json_decref(docs[0]);
	json_decref(docs[1]);
	return rc;
}
