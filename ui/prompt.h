/*
 * prompt.h - a one-line editor for the filter and interval prompts:
 * cursor left/right, Home/End, Backspace/Delete, Ctrl-U, Ctrl-K, Ctrl-W,
 * history with Up/Down; Esc cancels, Enter accepts. Printable ASCII only
 * (BPF filters and addresses are ASCII). Pure: keys are curses KEY_* codes
 * but nothing here calls curses; one thread owns a prompt.
 */
#ifndef PKTSTAT_UI_PROMPT_H
#define PKTSTAT_UI_PROMPT_H

#include <stddef.h>

#define PROMPT_MAX 512
#define PROMPT_HIST_MAX 32

/* Accepted lines, oldest first; owned by the caller across prompts. */
struct prompt_hist {
	char *item[PROMPT_HIST_MAX];
	int n;
};

struct prompt {
	char buf[PROMPT_MAX];
	size_t len, cur;
	struct prompt_hist *hist; /* may be NULL */
	int hpos;		  /* history index being shown; n = the edit */
	char saved[PROMPT_MAX];	  /* the edit while browsing history */
};

enum prompt_rc {
	PROMPT_IGNORED, /* key not for the editor */
	PROMPT_MOVED,	/* cursor moved, text unchanged */
	PROMPT_EDITED,	/* text changed */
	PROMPT_ACCEPT,	/* Enter: buf holds the line */
	PROMPT_CANCEL,	/* Esc */
};

/* Start editing @init (may be NULL), cursor at the end. */
void prompt_start(struct prompt *p, const char *init, struct prompt_hist *h);

/* Feed one key. */
enum prompt_rc prompt_key(struct prompt *p, int key);

/*
 * prompt_window - what to show in @width columns so the cursor is
 * visible: *@start gets the first byte shown; returns the cursor's column
 * relative to it.
 */
int prompt_window(const struct prompt *p, int width, size_t *start);

/* Add @line to @h (not empty, not a repeat of the newest); drops the
 * oldest when full. 0 or -ENOMEM. */
int prompt_hist_add(struct prompt_hist *h, const char *line);
void prompt_hist_free(struct prompt_hist *h);

#endif
