/*
 * group.c - flows aggregated by a key (see group.h).
 *
 * Rows live in one growing array in first-seen order; an open-addressing
 * index of row positions (linear probing, at most half full) finds a label.
 * The hash is xxHash3 with a random seed, so crafted addresses cannot turn
 * the index into a list. Single-threaded.
 */
#include "group.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <xxhash.h>

#include "app.h"
#include "decode.h"
#include "flowkey.h"

struct group_set {
	enum group_by by;
	int v4_prefix, v6_prefix;
	struct group_row *rows;
	size_t n, cap;
	uint32_t *index;   /* row position + 1; 0 = empty */
	size_t index_size; /* power of two */
	uint64_t seed;
	group_proc_fn proc_fn; /* GROUP_PROC's namer, or NULL */
	void *proc_arg;
	const char *const *ifnames; /* GROUP_IFACE's names, borrowed */
	int nifaces;
};

static const char *const group_names[GROUP_COUNT] = {
	[GROUP_FLOW] = "flow",	     [GROUP_HOST] = "host",
	[GROUP_NET] = "net",	     [GROUP_PORT] = "port",
	[GROUP_PROTO] = "proto",     [GROUP_VLAN] = "vlan",
	[GROUP_IFACE] = "interface", [GROUP_PROC] = "process",
	[GROUP_APP] = "app",
};

const char *group_name(enum group_by by)
{
	return by < GROUP_COUNT ? group_names[by] : "?";
}

int group_parse(const char *s, enum group_by *by)
{
	for (int i = 0; i < GROUP_COUNT; i++)
		if (!strcmp(s, group_names[i])) {
			*by = (enum group_by)i;
			return 0;
		}
	return -EINVAL;
}

static int parse_len(const char *s, size_t n, int max, int *out)
{
	int v = 0;

	if (!n)
		return 0; /* empty: keep the default */
	if (n > 3)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int group_parse_prefix(const char *s, int *v4, int *v6)
{
	const char *comma = strchr(s, ',');
	size_t n4 = comma ? (size_t)(comma - s) : strlen(s);
	int a = *v4, b = *v6;

	if (!*s || parse_len(s, n4, 32, &a) ||
	    (comma && parse_len(comma + 1, strlen(comma + 1), 128, &b)))
		return -EINVAL;
	*v4 = a;
	*v6 = b;
	return 0;
}

struct group_set *group_new(enum group_by by, int v4_prefix, int v6_prefix)
{
	struct group_set *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->by = by;
	g->v4_prefix = v4_prefix;
	g->v6_prefix = v6_prefix;
	g->index_size = 64;
	g->index = calloc(g->index_size, sizeof(*g->index));
	if (!g->index || getrandom(&g->seed, sizeof(g->seed), 0) < 0) {
		/* no entropy: a fixed seed still groups correctly */
		if (!g->index) {
			free(g);
			return NULL;
		}
		g->seed = 0x9e3779b97f4a7c15ull;
	}
	return g;
}

void group_set_proc(struct group_set *g, group_proc_fn fn, void *arg)
{
	g->proc_fn = fn;
	g->proc_arg = arg;
}

void group_set_ifaces(struct group_set *g, const char *const *names, int n)
{
	g->ifnames = names;
	g->nifaces = names ? n : 0;
}

void group_free(struct group_set *g)
{
	if (!g)
		return;
	free(g->rows);
	free(g->index);
	free(g);
}

const struct group_row *group_rows(const struct group_set *g, size_t *n)
{
	*n = g->n;
	return g->rows;
}

static size_t slot_of(const struct group_set *g, const char *label)
{
	return XXH3_64bits_withSeed(label, strlen(label), g->seed) &
	       (g->index_size - 1);
}

static int grow_index(struct group_set *g)
{
	size_t size = g->index_size * 2;
	uint32_t *idx = calloc(size, sizeof(*idx));
	uint32_t *old = g->index;

	if (!idx)
		return -ENOMEM;
	g->index = idx;
	g->index_size = size;
	for (size_t i = 0; i < g->n; i++) {
		size_t s = slot_of(g, g->rows[i].label);

		while (g->index[s])
			s = (s + 1) & (size - 1);
		g->index[s] = (uint32_t)(i + 1);
	}
	free(old);
	return 0;
}

void group_clear(struct group_set *g)
{
	g->n = 0;
	memset(g->index, 0, g->index_size * sizeof(*g->index));
}

/* The row of @label, created empty if new; NULL when out of memory. */
static struct group_row *row_of(struct group_set *g, const char *label)
{
	size_t s = slot_of(g, label);
	struct group_row *r;

	while (g->index[s]) {
		r = &g->rows[g->index[s] - 1];
		if (!strcmp(r->label, label))
			return r;
		s = (s + 1) & (g->index_size - 1);
	}
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 64;
		struct group_row *rows = realloc(g->rows, cap * sizeof(*rows));

		if (!rows)
			return NULL;
		g->rows = rows;
		g->cap = cap;
	}
	if ((g->n + 1) * 2 > g->index_size) {
		if (grow_index(g))
			return NULL;
		return row_of(g, label); /* the slot moved */
	}
	r = &g->rows[g->n];
	memset(r, 0, sizeof(*r));
	snprintf(r->label, sizeof(r->label), "%s", label);
	r->id = XXH3_64bits_withSeed(label, strlen(label), g->seed);
	g->index[s] = (uint32_t)(++g->n);
	return r;
}

/* @side's address with all but the first @bits bits cleared, as text. */
static void net_label(const struct flow_key *k, int side, int family, int bits,
		      char *buf, size_t len)
{
	uint8_t a[16] = { 0 };
	const uint8_t *src = side ? k->b : k->a;
	int nbytes = family == 4 ? 4 : 16;
	char txt[INET6_ADDRSTRLEN];

	for (int i = 0; i < nbytes; i++) {
		int keep = bits - i * 8;

		a[i] = keep >= 8  ? src[i]
		       : keep > 0 ? (uint8_t)(src[i] & (0xff << (8 - keep)))
				  : 0;
	}
	inet_ntop(family == 4 ? AF_INET : AF_INET6, a, txt, sizeof(txt));
	snprintf(buf, len, "%s/%d", txt, bits);
}

/*
 * The label of the flow's group on @side (0 = A, 1 = B) into @buf, or for
 * one-sided keys the single label (side 0; side 1 gives "").
 */
static void label_of(const struct group_set *g, const struct flowtab_row *r,
		     int side, char *buf, size_t len)
{
	const struct flow_key *k = &r->key;
	int fam = flowkey_family(k->kind);

	buf[0] = '\0';
	switch (g->by) {
	case GROUP_HOST:
	case GROUP_NET:
		if (!fam) {
			if (!side)
				snprintf(buf, len, "non-IP");
			return;
		}
		if (g->by == GROUP_HOST)
			flowkey_format_addr(k, side, buf, len);
		else
			net_label(k, side, fam,
				  fam == 4 ? g->v4_prefix : g->v6_prefix, buf,
				  len);
		return;
	case GROUP_PORT:
		if (side)
			return;
		if (flowkey_has_ports(k->kind))
			snprintf(buf, len, "%s/%u", flowkey_proto_name(k->kind),
				 k->aport < k->bport ? k->aport : k->bport);
		else
			snprintf(buf, len, "%s", flowkey_proto_name(k->kind));
		return;
	case GROUP_PROTO:
		if (!side)
			snprintf(buf, len, "%s", flowkey_proto_name(k->kind));
		return;
	case GROUP_VLAN:
		if (side)
			return;
		if (k->vlan)
			snprintf(buf, len, "%u", k->vlan);
		else
			snprintf(buf, len, "untagged");
		return;
	case GROUP_IFACE:
		if (!side)
			snprintf(buf, len, "%s",
				 k->iface < g->nifaces && g->ifnames[k->iface]
					 ? g->ifnames[k->iface]
					 : "-");
		return;
	case GROUP_APP: {
		unsigned int app = APP_WORD_ID(r->app);
		const char *guess = "";

		if (side)
			return;
		if (!app) {
			app = app_port_guess(k->ipproto, k->aport, k->bport);
			guess = "?";
		}
		snprintf(buf, len, "%s%s", app ? app_name(app) : "-",
			 app ? guess : "");
		return;
	}
	case GROUP_PROC:
		/* done by group_add: the namer also says the side */
		return;
	default:
		return;
	}
}

/* Which direction a one-sided group calls "sent": for a service port, the
 * server (the lower port) sends replies. */
static int tx_dir(const struct group_set *g, const struct flowtab_row *r)
{
	if (g->by == GROUP_PORT && flowkey_has_ports(r->key.kind))
		return r->key.aport < r->key.bport ? FLOW_DIR_AB : FLOW_DIR_BA;
	return FLOW_DIR_AB;
}

static void add_to(struct group_row *gr, const struct flowtab_row *r, int tx)
{
	gr->pkts[0] += r->pkts[tx];
	gr->bytes[0] += r->bytes[tx];
	gr->pkts[1] += r->pkts[!tx];
	gr->bytes[1] += r->bytes[!tx];
	gr->flows++;
	if (!gr->first_ns || (r->first_ns && r->first_ns < gr->first_ns))
		gr->first_ns = r->first_ns;
	if (r->last_ns > gr->last_ns)
		gr->last_ns = r->last_ns;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t x = 0;

	for (int i = 0; i < 8; i++)
		x = x << 8 | p[i];
	return x;
}

/* The sort key of the group of @r's @side, whose label is @label: numbers
 * where the label has them (10.0.0.9 before 10.0.0.10), else its text. */
static void order_of(const struct group_set *g, const struct flowtab_row *r,
		     int side, const char *label, uint64_t order[3])
{
	const struct flow_key *k = &r->key;
	int fam = flowkey_family(k->kind);
	uint8_t txt[24] = { 0 };

	order[0] = order[1] = order[2] = 0;
	switch (g->by) {
	case GROUP_HOST:
	case GROUP_NET:
		if (!fam)
			break;
		order[0] = (uint64_t)fam << 56 |
			   (uint64_t)(g->by == GROUP_NET
					      ? (fam == 4 ? g->v4_prefix
							  : g->v6_prefix)
					      : 0);
		/* the label is the masked address: parse it back */
		if (g->by == GROUP_NET) {
			uint8_t a[16] = { 0 };
			char tmp[GROUP_LABEL_MAX], *slash;

			snprintf(tmp, sizeof(tmp), "%s", label);
			slash = strchr(tmp, '/');
			if (slash)
				*slash = '\0';
			if (inet_pton(fam == 4 ? AF_INET : AF_INET6, tmp, a) ==
			    1) {
				order[1] = be64(a);
				order[2] = be64(a + 8);
			}
			return;
		}
		order[1] = be64(side ? k->b : k->a);
		order[2] = be64((side ? k->b : k->a) + 8);
		return;
	case GROUP_PORT:
		order[0] = k->kind;
		if (flowkey_has_ports(k->kind))
			order[1] = k->aport < k->bport ? k->aport : k->bport;
		return;
	case GROUP_PROTO:
		order[0] = k->kind;
		return;
	case GROUP_VLAN:
		order[0] = k->vlan;
		return;
	case GROUP_IFACE: /* as the run lists them */
		order[0] = k->iface;
		return;
	default:
		break;
	}
	memcpy(txt, label, strnlen(label, sizeof(txt)));
	order[0] = be64(txt);
	order[1] = be64(txt + 8);
	order[2] = be64(txt + 16);
}

int group_place(struct group_set *g, const struct flowtab_row *r,
		struct group_place *p)
{
	char la[GROUP_LABEL_MAX], lb[GROUP_LABEL_MAX];
	struct group_row *ga, *gb = NULL;
	size_t fresh;

	int tx = -1;

	if (g->by == GROUP_PROC) {
		/* the process's side is the one that sent */
		lb[0] = '\0';
		tx = g->proc_fn ? g->proc_fn(g->proc_arg, r, la, sizeof(la))
				: -1;
		if (tx < 0)
			snprintf(la, sizeof(la), "-");
		tx = tx == 1 ? FLOW_DIR_BA : FLOW_DIR_AB;
	} else {
		label_of(g, r, 0, la, sizeof(la));
		label_of(g, r, 1, lb, sizeof(lb));
	}
	/* both rows first, so a failure places nothing */
	fresh = g->n;
	ga = row_of(g, la);
	if (ga && (size_t)(ga - g->rows) >= fresh)
		order_of(g, r, 0, la, ga->order);
	if (ga && lb[0] && strcmp(la, lb)) {
		size_t pos = (size_t)(ga - g->rows);

		fresh = g->n;
		gb = row_of(g, lb);
		if (gb && (size_t)(gb - g->rows) >= fresh)
			order_of(g, r, 1, lb, gb->order);
		ga = &g->rows[pos]; /* rows may have moved */
	}
	if (!ga || (lb[0] && strcmp(la, lb) && !gb))
		return -ENOMEM;
	p->row[0] = (size_t)(ga - g->rows);
	if (gb) {
		/* two sides: A sent A->B, B sent B->A */
		p->n = 2;
		p->tx[0] = FLOW_DIR_AB;
		p->row[1] = (size_t)(gb - g->rows);
		p->tx[1] = FLOW_DIR_BA;
	} else {
		p->n = 1;
		p->tx[0] = tx >= 0 ? tx : tx_dir(g, r);
	}
	return 0;
}

int group_add(struct group_set *g, const struct flowtab_row *r)
{
	struct group_place p;

	if (group_place(g, r, &p))
		return -ENOMEM;
	for (size_t i = 0; i < p.n; i++)
		add_to(&g->rows[p.row[i]], r, p.tx[i]);
	return 0;
}
