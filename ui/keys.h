/*
 * keys.h - the key bindings as one const table {key, action, help}: it
 * drives dispatch (ui.c), the help screen and the footer bar (draw.c) and
 * the man page's key list (keys_print_man). Pure: no curses calls, any
 * thread.
 */
#ifndef PKTSTAT_UI_KEYS_H
#define PKTSTAT_UI_KEYS_H

#include <stddef.h>
#include <stdio.h>

enum key_action {
	KA_NONE,
	KA_QUIT,
	KA_REDRAW,
	KA_HELP,
	KA_SORT, /* arg: enum view_sort */
	KA_SORT_PREV,
	KA_SORT_NEXT,
	KA_FREEZE,
	KA_UP,
	KA_DOWN,
	KA_PGUP,
	KA_PGDN,
	KA_HOME,
	KA_END,
	KA_PAUSE,
	KA_FILTER,
	KA_FIND,
	KA_CLEAR_FIND,
	KA_BITS,
	KA_BYTES,
	KA_PACKETS,
	KA_DIRECTION,
	KA_NUMERIC,
	KA_TOTALS,
	KA_RESET,
	KA_INTERVAL,
	KA_SNAPSHOT,
	KA_COUNTERS,
	KA_MOUSE,
	KA_DETAILS,   /* the header's details */
	KA_TIMINGS,   /* the last frame's cost, in the status line */
	KA_DETAIL,    /* the selected row's detail view */
	KA_MARK,      /* set the mark: counts since now */
	KA_SINCE,     /* counts since the mark or since the start */
	KA_HIDE_SELF, /* hide or show the user's own SSH session */
	KA_GROUP,     /* the next grouping of the table */
	KA_REWIND,    /* arg: seconds to move in the history (- = back) */
	KA_HOSTS,     /* the host view: per host sent and received */
	KA_COUNT
};

struct key_binding {
	int key;		/* character or curses KEY_* code */
	enum key_action action; /* never KA_NONE */
	int arg;		/* sort key for KA_SORT, else 0 */
	const char *name;	/* as shown: "q", "Ctrl-L", "PgUp" */
	const char *bar;	/* label in the footer bar, or NULL */
	const char *help;	/* one line, no trailing period */
};

/* The whole table, @n entries. */
const struct key_binding *keys_table(size_t *n);

/* Binding of @key, or NULL. */
const struct key_binding *keys_lookup(int key);

/*
 * keys_rewind_ok - whether @action works on a rewound table (sorting,
 * grouping, scrolling, finding, units, help); any other key is a live
 * key: it returns to now first.
 */
int keys_rewind_ok(enum key_action action);

/* The key that sorts by @sort (enum view_sort), or 0. */
int keys_sort_key(int sort);

/*
 * keys_help_line - line @i of the help text: bindings of one action (and
 * argument) grouped, "j, Down" then the help. snprintf contract into @buf
 * (names padded to @name_width). Returns -1 past the last line.
 */
int keys_help_line(size_t i, int name_width, char *buf, size_t len);

/*
 * keys_bar_label - @k's footer label: while the state it toggles is on
 * (@on), the label for undoing it when it has one (Space: "Resume").
 * NULL when @k has none.
 */
const char *keys_bar_label(const struct key_binding *k, int on);

/*
 * keys_help_entry - entry @i of the help's key list: the names of one
 * action's keys ("j, Down") into @names and its help in *@text. 0, or -1
 * past the last.
 */
int keys_help_entry(size_t i, char *names, size_t len, const char **text);

/*
 * keys_legend - entry @i of the screen legend (the help's SCREEN part and
 * the man page's SCREEN section): a field as shown in *@term and what it
 * means in *@text. 0, or -1 past the last.
 */
int keys_legend(size_t i, const char **term, const char **text);

/* The key list as man(7) .TP entries, grouped like the help screen. */
void keys_print_man(FILE *out);
/* The screen legend as man(7) .TP entries. */
void keys_print_man_screen(FILE *out);

#endif
