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

static void set_text(struct prompt *p, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n >= PROMPT_MAX)
		n = PROMPT_MAX - 1;
	memcpy(p->buf, s ? s : "", n);
	p->buf[n] = 0;
	p->len = p->cur = n;
}

void prompt_start(struct prompt *p, const char *init, struct prompt_hist *h)
{
	memset(p, 0, sizeof(*p));
	p->hist = h;
	p->hpos = h ? h->n : 0;
	set_text(p, init);
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
	if (p->hpos == h->n)
		memcpy(p->saved, p->buf, p->len + 1);
	p->hpos = to;
	set_text(p, to == h->n ? p->saved : h->item[to]);
	return PROMPT_EDITED;
}

enum prompt_rc prompt_key(struct prompt *p, int key)
{
	size_t w;

	switch (key) {
	case '\n':
	case '\r':
	case KEY_ENTER:
		return PROMPT_ACCEPT;
	case 27:
	case CTRL('G'):
		return PROMPT_CANCEL;
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
	if (key < 32 || key > 126)
		return PROMPT_IGNORED;
	if (p->len + 1 >= PROMPT_MAX)
		return PROMPT_MOVED;
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
