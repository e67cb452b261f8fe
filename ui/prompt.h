/*
 * prompt.h - a one-line editor for the filter and interval prompts:
 * cursor left/right, Home/End, Backspace/Delete, Ctrl-U, Ctrl-K, Ctrl-W,
 * history with Up/Down; Esc cancels, Enter accepts. The pre-filled
 * value is selected (typing replaces it). Lines of any length up to
 * PROMPT_LIMIT, never cut. Printable ASCII only
 * (BPF filters and addresses are ASCII). Pure: keys are curses KEY_* codes
 * but nothing here calls curses; one thread owns a prompt.
 */
#ifndef PKTSTAT_UI_PROMPT_H
#define PKTSTAT_UI_PROMPT_H

#include <stddef.h>

/* The longest line: far beyond any filter typed or pasted; a key past it
 * is refused (PROMPT_FULL), never a silent cut. */
#define PROMPT_LIMIT (1u << 20)
#define PROMPT_HIST_MAX 32

/* Accepted lines, oldest first; owned by the caller across prompts. */
struct prompt_hist {
	char *item[PROMPT_HIST_MAX];
	int n;
};

struct prompt {
	char *buf;		  /* the line, NUL-terminated; never NULL */
	size_t len, cur, cap;	  /* after prompt_start */
	struct prompt_hist *hist; /* may be NULL */
	int hpos;		  /* history index being shown; n = the edit */
	char *saved;		  /* the edit while browsing history */
	/* The pre-filled text is selected: a printable key replaces it,
	 * Backspace or Delete clears it, a cursor key keeps it. */
	int selected;
};

enum prompt_rc {
	PROMPT_IGNORED, /* key not for the editor */
	PROMPT_MOVED,	/* cursor moved, text unchanged */
	PROMPT_EDITED,	/* text changed */
	PROMPT_ACCEPT,	/* Enter: buf holds the line */
	PROMPT_CANCEL,	/* Esc */
	PROMPT_FULL,	/* a character refused: PROMPT_LIMIT or no memory */
};

/*
 * prompt_start - start editing @init (may be NULL; any length), cursor at
 * the end, the text selected. @p is zeroed or was used before (its memory
 * is reused). 0, or -ENOMEM (then an empty line).
 */
int prompt_start(struct prompt *p, const char *init, struct prompt_hist *h);
/* Release @p's memory; it may be started again. */
void prompt_free(struct prompt *p);

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
