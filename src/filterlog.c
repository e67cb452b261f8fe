/*
 * filterlog.c - the run's filter history (see filterlog.h).
 *
 * One writer thread; readers after it stopped. A growing array of
 * entries, each with its own copies of the strings.
 */
#include "filterlog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct filterlog {
	struct filterlog_entry *e;
	size_t n, cap;
	uint64_t omitted;
};

struct filterlog *filterlog_new(void)
{
	return calloc(1, sizeof(struct filterlog));
}

/* The last display filter noted, or NULL. */
static const char *last_display(const struct filterlog *l)
{
	for (size_t i = l->n; i-- > 0;)
		if (l->e[i].kind == FILTERLOG_DISPLAY)
			return l->e[i].text;
	return NULL;
}

int filterlog_add(struct filterlog *l, uint64_t wall_ns,
		  enum filterlog_kind kind, const char *name, const char *text)
{
	struct filterlog_entry *e;
	const char *last;

	if (!l)
		return 0;
	if (kind == FILTERLOG_DISPLAY) {
		last = last_display(l);
		if (!text)
			text = "";
		/* before any, the display filter is "" */
		if (strcmp(last ? last : "", text) == 0)
			return 0;
	}
	if (l->n == FILTERLOG_MAX) {
		l->omitted++;
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;

		e = realloc(l->e, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		l->e = e;
		l->cap = cap;
	}
	e = &l->e[l->n];
	memset(e, 0, sizeof(*e));
	e->wall_ns = wall_ns;
	e->kind = kind;
	if ((name && !(e->name = strdup(name))) ||
	    (text && !(e->text = strdup(text)))) {
		free(e->name);
		free(e->text);
		return -ENOMEM;
	}
	l->n++;
	return 0;
}

const struct filterlog_entry *filterlog_at(const struct filterlog *l, size_t i)
{
	return l && i < l->n ? &l->e[i] : NULL;
}

size_t filterlog_count(const struct filterlog *l)
{
	return l ? l->n : 0;
}

uint64_t filterlog_omitted(const struct filterlog *l)
{
	return l ? l->omitted : 0;
}

const char *filterlog_kind_name(enum filterlog_kind kind)
{
	switch (kind) {
	case FILTERLOG_CAPTURE:
		return "capture";
	case FILTERLOG_DISPLAY:
		return "display";
	case FILTERLOG_COUNTER:
		return "counter";
	}
	return "?";
}

void filterlog_free(struct filterlog *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->e[i].name);
		free(l->e[i].text);
	}
	free(l->e);
	free(l);
}
