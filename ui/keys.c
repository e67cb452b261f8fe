/*
 * keys.c - the key table (st's habit: one line per key) and what is
 * generated from it: lookup, the help screen's lines, the man page list.
 *
 * Owns only const data; pure functions, any thread. Key codes come from
 * <curses.h> but nothing here calls curses.
 */
#include <curses.h>
#include <string.h>

#include "../src/view.h"
#include "keys.h"

#define CTRL(c) ((c)&0x1f)

/* Consecutive lines with the same action and argument form one group. */
static const struct key_binding table[] = {
	{ 'q', KA_QUIT, 0, "q", "Quit", "Quit" },
	{ '?', KA_HELP, 0, "?", "Help", "Show this help" },
	{ 'h', KA_HELP, 0, "h", NULL, "Show this help" },
	{ CTRL('L'), KA_REDRAW, 0, "Ctrl-L", NULL, "Redraw the screen" },
	{ ' ', KA_PAUSE, 0, "Space", "Pause",
	  "Pause the display (capture keeps counting); again to resume" },
	{ 'P', KA_PAUSE, 0, "P", NULL,
	  "Pause the display (capture keeps counting); again to resume" },
	{ 'e', KA_FILTER, 0, "e", "Filter", "Edit the capture (BPF) filter" },
	{ '/', KA_FIND, 0, "/", "Find",
	  "Display filter: show only rows whose protocol (as shown, or icmp4, "
	  "icmp6), address, port, process, app or interface (several -i) "
	  "contain every space-separated term; the footer shows how many "
	  "match" },
	{ 27, KA_CLEAR_FIND, 0, "Esc", NULL, "Clear the display filter" },
	{ 't', KA_SORT, VIEW_SORT_RATE, "t", NULL,
	  "Sort by rate (again: reverse)" },
	{ 'l', KA_SORT, VIEW_SORT_LAST, "l", NULL,
	  "Sort by last seen (again: reverse)" },
	{ '1', KA_SORT, VIEW_SORT_AVG2, "1", NULL,
	  "Sort by 2 s average (again: reverse)" },
	{ '2', KA_SORT, VIEW_SORT_AVG10, "2", NULL,
	  "Sort by 10 s average (again: reverse)" },
	{ '3', KA_SORT, VIEW_SORT_AVG40, "3", NULL,
	  "Sort by 40 s average (again: reverse)" },
	{ 'R', KA_SORT, VIEW_SORT_PROTO, "R", NULL,
	  "Sort by protocol (again: reverse)" },
	{ 'a', KA_SORT, VIEW_SORT_A, "a", NULL,
	  "Sort by endpoint A / source (again: reverse)" },
	{ 'd', KA_SORT, VIEW_SORT_B, "d", NULL,
	  "Sort by endpoint B / destination (again: reverse)" },
	{ 'f', KA_SORT, VIEW_SORT_RATE_AB, "f", NULL,
	  "Sort by rate A to B (again: reverse)" },
	{ 'v', KA_SORT, VIEW_SORT_RATE_BA, "v", NULL,
	  "Sort by rate B to A (again: reverse)" },
	{ 'K', KA_SORT, VIEW_SORT_PPS, "K", NULL,
	  "Sort by packets per second (again: reverse)" },
	{ 'y', KA_SORT, VIEW_SORT_BYTES, "y", NULL,
	  "Sort by total bytes (again: reverse)" },
	{ 'S', KA_SORT, VIEW_SORT_PKTS, "S", NULL,
	  "Sort by total packets (again: reverse)" },
	{ 'u', KA_SORT, VIEW_SORT_PROC, "u", NULL,
	  "Sort by process (again: reverse)" },
	{ 'A', KA_SORT, VIEW_SORT_APP, "A", NULL,
	  "Sort by app label (again: reverse)" },
	{ '<', KA_SORT_PREV, 0, "<", "Sort", "Sort by the column to the left" },
	{ '>', KA_SORT_NEXT, 0, ">", NULL, "Sort by the column to the right" },
	{ 'o', KA_FREEZE, 0, "o", NULL,
	  "Freeze the row order (new rows append); again to sort" },
	{ KEY_UP, KA_UP, 0, "Up", NULL, "Move the selection up" },
	{ 'k', KA_UP, 0, "k", NULL, "Move the selection up" },
	{ KEY_DOWN, KA_DOWN, 0, "Down", NULL, "Move the selection down" },
	{ 'j', KA_DOWN, 0, "j", NULL, "Move the selection down" },
	{ KEY_PPAGE, KA_PGUP, 0, "PgUp", NULL, "Scroll up one page" },
	{ KEY_NPAGE, KA_PGDN, 0, "PgDn", NULL, "Scroll down one page" },
	{ KEY_HOME, KA_HOME, 0, "Home", NULL,
	  "Select the first row (and stay on the top row)" },
	{ KEY_END, KA_END, 0, "End", NULL, "Select the last row" },
	{ 'b', KA_BITS, 0, "b", NULL, "Show rates in bits per second" },
	{ 'B', KA_BYTES, 0, "B", NULL, "Show rates in bytes per second" },
	{ 'p', KA_PACKETS, 0, "p", NULL,
	  "Show rates in packets per second; again for bits or bytes" },
	{ 'c', KA_DIRECTION, 0, "c", "Dir",
	  "One row per conversation or one per direction" },
	{ 'n', KA_NUMERIC, 0, "n", NULL,
	  "Names: cycle host and port names, host names only, port names "
	  "only, numeric" },
	{ 'T', KA_TOTALS, 0, "T", NULL,
	  "Show or hide the total bytes and packets columns" },
	{ 'r', KA_RESET, 0, "r", "Reset",
	  "Reset the counters to zero (asks first)" },
	{ 'w', KA_INTERVAL, 0, "w", NULL,
	  "Set the refresh interval (seconds, fractions allowed)" },
	{ 's', KA_SNAPSHOT, 0, "s", "Snap", "Write a snapshot file now" },
	{ 'C', KA_COUNTERS, 0, "C", NULL,
	  "Named counters (capstats verbs): new NAME EXPR (or NAME=EXPR), "
	  "modify NAME EXPR, stop NAME, list, show NAME; they count packets "
	  "from then on" },
	{ KEY_MOUSE, KA_MOUSE, 0, "Mouse", NULL,
	  "Click a column title to sort by it, a row to select it; the "
	  "wheel scrolls" },
	{ 'i', KA_DETAILS, 0, "i", NULL,
	  "Show or hide the header details: losses by kind, the rate graph "
	  "of the last minute, protocol totals (shown anyway on a terminal "
	  "of 30 lines or more)" },
	{ 'm', KA_MARK, 0, "m", "Mark",
	  "Set a mark: counts and totals restart from now (the header says "
	  "when); M goes back to counts since the start" },
	{ 'M', KA_SINCE, 0, "M", NULL,
	  "Counts since the mark or since the start (rates are the same)" },
	{ 'H', KA_HIDE_SELF, 0, "H", NULL,
	  "Hide or show your own SSH session's row (marked @ssh; it is "
	  "still counted in the totals)" },
	{ 'g', KA_GROUP, 0, "g", NULL,
	  "Group the table: by host, network (--group-prefix: /24 and /64), "
	  "service port, protocol, VLAN, interface, process, app, then "
	  "flows again; totals stay exact, sort, find and snapshots work on "
	  "the groups" },
	{ '[', KA_REWIND, -1, "[", NULL,
	  "Rewind one second (--history): the table as it was then, in "
	  "the same sort and grouping; capture goes on. Any live key "
	  "returns to now" },
	{ ']', KA_REWIND, 1, "]", NULL,
	  "One second forward while rewound; past the newest: now" },
	{ '{', KA_REWIND, -10, "{", NULL, "Rewind ten seconds" },
	{ '}', KA_REWIND, 10, "}", NULL,
	  "Ten seconds forward while rewound; past the newest: now" },
	{ 'V', KA_HOSTS, 0, "V", NULL,
	  "Host view: per host, what it sends (TX) and receives (RX) now "
	  "and its bytes each way since the start or the mark, busiest "
	  "first, and the link's total; V again for the flows" },
	{ '\r', KA_DETAIL, 0, "Enter", NULL,
	  "Details of the selected flow: both directions, first and last "
	  "seen, rates, names and numbers, the interface (several -i); "
	  "any key goes back" },
	{ KEY_ENTER, KA_DETAIL, 0, "KEnter", NULL,
	  "Details of the selected flow: both directions, first and last "
	  "seen, rates, names and numbers, the interface (several -i); "
	  "any key goes back" },
	{ 'D', KA_TIMINGS, 0, "D", NULL,
	  "Show what the last frame cost (update, layout, whole frame)" },
};

/*
 * What every field on the screen means: the help's SCREEN part and the
 * man page's SCREEN section (make man-keys).
 */
static const struct {
	const char *term, *text;
} legend[] = {
	{ "up", "Time the counts cover: wall time live, packet time (first "
		"to latest packet) for -r files" },
	{ "pcap x1", "The capture backend and its threads" },
	{ "sort: rate v", "The sort column; v is descending, ^ ascending; "
			  "\"order frozen\" after o" },
	{ "end of file", "A -r file has been read to its end; live, the "
			 "reason capture stopped on an interface, or "
			 "\"eth0: interface removed\" while capture waits "
			 "for one of that name (the status line says when "
			 "it is back)" },
	{ "PAUSED 5s", "The display is paused (Space) for that long; "
		       "capture goes on counting" },
	{ "total, avg, peak",
	  "All packets: the rate over the last refresh interval, the "
	  "average since the start (or r), the highest interval rate since "
	  "then; then the same in packets per second" },
	{ "max (peak)", "What the % column is a share of: the peak total "
			"rate, or the fixed maximum given with -m" },
	{ "flows", "Flows in the table now (idle ones leave after -k)" },
	{ "drops N (+N)", "Packets the capture lost since the start, and "
			  "(+N) in the last interval; shown only when "
			  "there are any" },
	{ "since mark 14:02:11",
	  "Counts, totals and averages are since the mark set with m at "
	  "that time; \"since start\" after M (rates are the same)" },
	{ "-0:42 REWIND", "The table is as it was 42 seconds ago ([ ] { }); "
			  "counts are since the start, rates over that "
			  "second; capture goes on. \"history truncated\": "
			  "--history-max made the oldest seconds go" },
	{ "by host", "The table is grouped (g): one row per host, network, "
		     "service, protocol, VLAN, interface, process or app; "
		     "Sent and Rcvd are what the group sent and received, "
		     "Flows how many flows count toward it" },
	{ "@ssh", "A row ending in @ssh is your own SSH session (from "
		  "$SSH_CONNECTION): the monitor's screen updates travel on "
		  "it. \"@ssh: yours, counted\" in the title says it is in "
		  "the totals; H hides the row" },
	{ "exact, LOSSY", "exact: nothing was lost, every count is exact; "
			  "LOSSY: the kernel dropped packets" },
	{ "kernel drops", "Details line: kernel ring drops (the ring was "
			  "full), freeze (TPACKET_V3 queue freezes), if "
			  "(the interface's own rx_dropped), malformed "
			  "(packets that did not decode), expired flows" },
	{ "Endpoint A, B",
	  "A flow's two ends; A is the one with the smaller address (then "
	  "port), a fixed order, not who started it. With one row per "
	  "direction (c): Source and Destination" },
	{ "echo, unreach port",
	  "After an ICMP or ICMPv6 row's second endpoint: its message, type "
	  "then code (a reply counts with its request; port and host "
	  "unreachable are two rows); Enter shows the numbers" },
	{ "A>B, B>A", "Rate from A to B and from B to A" },
	{ "Iface", "With several -i: the interface the flow was captured "
		   "on (one conversation seen on two is a row on each); the "
		   "details (Enter) say it too" },
	{ "[f], [v]", "In a title: the key that sorts by that column (so "
		      "is an underlined letter); again reverses" },
	{ "bits/s", "Title of the rate column: the unit of every rate "
		    "column (bits/s, Byte/s or pkts/s; keys b, B, p)" },
	{ "k, M, G", "SI prefixes, powers of 1000: k = 10^3, M = 10^6, "
		     "G = 10^9, T = 10^12; 1 byte = 8 bits" },
	{ "%", "The row's rate as a share of the maximum the header "
	       "names; over 100% when -m is below the real rate; - before "
	       "there is a maximum" },
	{ "2s, 10s, 40s", "Average rate over about the last 2, 10 and 40 "
			  "seconds: exponential averages with those time "
			  "constants, as the load average; a new flow starts "
			  "from 0 and shows 63% of a steady rate after 2, 10 "
			  "and 40 s" },
	{ "Pkt/s", "Packets per second, both directions" },
	{ "Bytes, Pkts", "Totals since the start (or r), both directions" },
	{ "Last", "Time since the flow's last packet (5s, 1m05, 3h07)" },
	{ "Process", "Live: the local process of the flow's socket, "
		     "comm[pid] (or its user alone); - while not known "
		     "(never guessed); Enter shows pid, user, cgroup and "
		     "command line" },
	{ "App", "The application label from the payload (http, tls, dns, "
		 "...); http? is a guess from the port; - none" },
	{ "***", "A number too wide for its column" },
	{ "colours", "Bold green: a flow first seen less than 2 s ago; "
		     "dim: no packet in the last interval" },
	{ "rows 1-20 of N", "The rows on screen and how many there are "
			    "(that match the display filter: find, with its "
			    "count)" },
	{ "TX, RX", "Host view (V): what a host sent and received, now (TX "
		    "bits/s, RX bits/s; the next column both) and since the "
		    "start or the mark (TX bytes, RX bytes, Bytes); Flows: "
		    "the flows it is an end of. A flow between two hosts "
		    "counts in both" },
	{ "link now, cum", "Host view's last line: the link's rate now and "
			   "its bytes since the start (or the mark)" },
};

#define NLEGEND (sizeof(legend) / sizeof(legend[0]))

#define NKEYS (sizeof(table) / sizeof(table[0]))

const struct key_binding *keys_table(size_t *n)
{
	*n = NKEYS;
	return table;
}

const struct key_binding *keys_lookup(int key)
{
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		if (table[i].key == key)
			return &table[i];
	}
	return NULL;
}

int keys_sort_key(int sort)
{
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		if (table[i].action == KA_SORT && table[i].arg == sort)
			return table[i].key;
	}
	return 0;
}

/* What works on a rewound table; any other key returns to now first. */
static const enum key_action rewind_ok[] = {
	KA_QUIT,      KA_REDRAW,  KA_HELP,	KA_SORT,       KA_SORT_PREV,
	KA_SORT_NEXT, KA_UP,	  KA_DOWN,	KA_PGUP,       KA_PGDN,
	KA_HOME,      KA_END,	  KA_FIND,	KA_CLEAR_FIND, KA_BITS,
	KA_BYTES,     KA_PACKETS, KA_DIRECTION, KA_NUMERIC,    KA_TOTALS,
	KA_MOUSE,     KA_DETAILS, KA_DETAIL,	KA_TIMINGS,    KA_HIDE_SELF,
	KA_GROUP,     KA_REWIND,
};

int keys_rewind_ok(enum key_action action)
{
	size_t i;

	for (i = 0; i < sizeof(rewind_ok) / sizeof(rewind_ok[0]); i++) {
		if (rewind_ok[i] == action)
			return 1;
	}
	return 0;
}

/* Start of group @g and its length, or 0 past the end. */
static size_t group(size_t g, size_t *start)
{
	size_t i = 0, n;

	for (;;) {
		if (i >= NKEYS)
			return 0;
		for (n = 1;
		     i + n < NKEYS && table[i + n].action == table[i].action &&
		     table[i + n].arg == table[i].arg;
		     n++)
			;
		if (g-- == 0) {
			*start = i;
			return n;
		}
		i += n;
	}
}

static void group_names(size_t s, size_t n, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = 0;
	for (i = 0; i < n && off < len; i++) {
		int w = snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
				 table[s + i].name);

		if (w < 0)
			break;
		off += (size_t)w;
	}
}

/* Footer labels while an action's state is on. */
static const struct {
	enum key_action action;
	const char *label;
} bar_on[] = {
	{ KA_PAUSE, "Resume" },
};

const char *keys_bar_label(const struct key_binding *k, int on)
{
	size_t i;

	for (i = 0; on && i < sizeof(bar_on) / sizeof(bar_on[0]); i++) {
		if (bar_on[i].action == k->action)
			return bar_on[i].label;
	}
	return k->bar;
}

int keys_help_entry(size_t i, char *names, size_t len, const char **text)
{
	size_t s, n = group(i, &s);

	if (!n)
		return -1;
	group_names(s, n, names, len);
	*text = table[s].help;
	return 0;
}

int keys_legend(size_t i, const char **term, const char **text)
{
	if (i >= NLEGEND)
		return -1;
	*term = legend[i].term;
	*text = legend[i].text;
	return 0;
}

int keys_help_line(size_t i, int name_width, char *buf, size_t len)
{
	char names[64];
	size_t s, n = group(i, &s);

	if (!n)
		return -1;
	group_names(s, n, names, sizeof(names));
	return snprintf(buf, len, "%-*s %s", name_width, names, table[s].help);
}

/* man(7) text: a backslash is \e; a line must not start with . or '. */
static void man_text(FILE *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", out);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", out);
		else
			fputc(*s, out);
	}
}

void keys_print_man(FILE *out)
{
	char names[64];
	size_t g, s, n;

	for (g = 0; (n = group(g, &s)) != 0; g++) {
		group_names(s, n, names, sizeof(names));
		fputs(".TP\n.B \"", out);
		man_text(out, names);
		fputs("\"\n", out);
		man_text(out, table[s].help);
		fputs(".\n", out);
	}
}

void keys_print_man_screen(FILE *out)
{
	size_t i;

	for (i = 0; i < NLEGEND; i++) {
		fputs(".TP\n.B \"", out);
		man_text(out, legend[i].term);
		fputs("\"\n", out);
		man_text(out, legend[i].text);
		fputs(".\n", out);
	}
}
