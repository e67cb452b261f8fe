/*
 * prompt.c - the one-line editor behind the `e`, `/` and `w` prompts.
 *
 * Owns its fixed buffer; the history belongs to the caller. Pure (no
 * curses calls); one thread at a time.
 */
#include <curses.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "prompt.h"

#define CTRL(c) ((c)&0x1f)

/* Room for @n bytes and the NUL. 0 or -ENOMEM. */
static int reserve(struct prompt *p, size_t n)
{
	size_t cap = p->cap ? p->cap : 256;
	char *b;

	if (n + 1 <= p->cap && p->buf)
		return 0;
	while (cap < n + 1)
		cap *= 2;
	b = realloc(p->buf, cap);
	if (!b)
		return -ENOMEM;
	if (!p->buf)
		b[0] = 0;
	p->buf = b;
	p->cap = cap;
	return 0;
}

static int set_text(struct prompt *p, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (reserve(p, n)) {
		p->len = p->cur = 0;
		if (p->buf)
			p->buf[0] = 0;
		return -ENOMEM;
	}
	memcpy(p->buf, s ? s : "", n);
	p->buf[n] = 0;
	p->len = p->cur = n;
	return 0;
}

int prompt_start(struct prompt *p, const char *init, struct prompt_hist *h)
{
	char *buf = p->buf;
	size_t cap = p->cap;

	free(p->saved);
	memset(p, 0, sizeof(*p));
	p->buf = buf;
	p->cap = cap;
	p->hist = h;
	p->hpos = h ? h->n : 0;
	if (set_text(p, init))
		return -ENOMEM;
	p->selected = p->len > 0;
	return 0;
}

void prompt_free(struct prompt *p)
{
	free(p->buf);
	free(p->saved);
	memset(p, 0, sizeof(*p));
}

static void cut(struct prompt *p, size_t at, size_t n)
{
	if (at >= p->len || !n)
		return;
	if (n > p->len - at)
		n = p->len - at;
	memmove(p->buf + at, p->buf + at + n, p->len - at - n + 1);
	p->len -= n;
	if (p->cur > at + n)
		p->cur -= n;
	else if (p->cur > at)
		p->cur = at;
}

static enum prompt_rc history(struct prompt *p, int step)
{
	struct prompt_hist *h = p->hist;
	int to = p->hpos + step;

	if (!h || to < 0 || to > h->n)
		return PROMPT_MOVED;
	if (p->hpos == h->n) {
		char *c = strdup(p->buf);

		if (!c)
			return PROMPT_FULL;
		free(p->saved);
		p->saved = c;
	}
	p->hpos = to;
	p->selected = 0;
	if (set_text(p, to == h->n ? p->saved : h->item[to]))
		return PROMPT_FULL;
	return PROMPT_EDITED;
}

enum prompt_rc prompt_key(struct prompt *p, int key)
{
	size_t w;
	int sel = p->selected;

	if (!p->buf && reserve(p, 0))
		return PROMPT_FULL;
	p->selected = 0;
	switch (key) {
	case '\n':
	case '\r':
	case KEY_ENTER:
		return PROMPT_ACCEPT;
	case 27:
	case CTRL('G'):
		return PROMPT_CANCEL;
	case KEY_BACKSPACE:
	case 127:
	case CTRL('H'):
	case KEY_DC:
	case CTRL('D'):
		if (!sel)
			break;
		cut(p, 0, p->len); /* the selection goes */
		return PROMPT_EDITED;
	default:
		break;
	}
	switch (key) {
	case KEY_LEFT:
	case CTRL('B'):
		if (p->cur > 0)
			p->cur--;
		return PROMPT_MOVED;
	case KEY_RIGHT:
	case CTRL('F'):
		if (p->cur < p->len)
			p->cur++;
		return PROMPT_MOVED;
	case KEY_HOME:
	case CTRL('A'):
		p->cur = 0;
		return PROMPT_MOVED;
	case KEY_END:
	case CTRL('E'):
		p->cur = p->len;
		return PROMPT_MOVED;
	case KEY_BACKSPACE:
	case 127:
	case CTRL('H'):
		if (!p->cur)
			return PROMPT_MOVED;
		cut(p, p->cur - 1, 1);
		return PROMPT_EDITED;
	case KEY_DC:
	case CTRL('D'):
		if (p->cur >= p->len)
			return PROMPT_MOVED;
		cut(p, p->cur, 1);
		return PROMPT_EDITED;
	case CTRL('U'):
		cut(p, 0, p->cur);
		return PROMPT_EDITED;
	case CTRL('K'):
		cut(p, p->cur, p->len - p->cur);
		return PROMPT_EDITED;
	case CTRL('W'):
		w = p->cur;
		while (w > 0 && p->buf[w - 1] == ' ')
			w--;
		while (w > 0 && p->buf[w - 1] != ' ')
			w--;
		cut(p, w, p->cur - w);
		return PROMPT_EDITED;
	case KEY_UP:
	case CTRL('P'):
		return history(p, -1);
	case KEY_DOWN:
	case CTRL('N'):
		return history(p, 1);
	default:
		break;
	}
	if (key < 32 || key > 126) {
		p->selected = sel;
		return PROMPT_IGNORED;
	}
	if (sel)
		cut(p, 0, p->len); /* typing replaces the selection */
	if (p->len + 1 > PROMPT_LIMIT || reserve(p, p->len + 1))
		return PROMPT_FULL;
	memmove(p->buf + p->cur + 1, p->buf + p->cur, p->len - p->cur + 1);
	p->buf[p->cur++] = (char)key;
	p->len++;
	return PROMPT_EDITED;
}

int prompt_window(const struct prompt *p, int width, size_t *start)
{
	size_t w = width > 1 ? (size_t)width - 1 : 1; /* room for the cursor */

	*start = p->cur > w ? p->cur - w : 0;
	return (int)(p->cur - *start);
}

int prompt_hist_add(struct prompt_hist *h, const char *line)
{
	char *c;

	if (!line || !*line || (h->n && strcmp(h->item[h->n - 1], line) == 0))
		return 0;
	c = strdup(line);
	if (!c)
		return -ENOMEM;
	if (h->n == PROMPT_HIST_MAX) {
		free(h->item[0]);
		memmove(h->item, h->item + 1,
			(PROMPT_HIST_MAX - 1) * sizeof(h->item[0]));
		h->n--;
	}
	h->item[h->n++] = c;
	return 0;
}

void prompt_hist_free(struct prompt_hist *h)
{
	int i;

	for (i = 0; i < h->n; i++)
		free(h->item[i]);
	h->n = 0;
}
