/*
 * view_format.h - the monitor's number formatting: rates, counts, ages,
 * durations and percentages in a fixed number of columns. Pure: no
 * curses, any thread.
 */
#ifndef PKTSTAT_UI_VIEW_FORMAT_H
#define PKTSTAT_UI_VIEW_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Number formatting into at most @width characters (and @len - 1 bytes).
 * All return the length written; when even the shortest form does not fit,
 * the result is @width '*' characters (never an overflow).
 *
 * view_format_rate - 3 significant digits with an SI prefix (1000-based):
 *	"0", "999", "1.23k", "12.3M", "123G"; below 1 shows "0.5" style.
 * view_format_count - the exact number when it fits, else as above.
 * view_format_age - "5s", "1m05", "3h07", "2d04".
 * view_format_duration - "59s", "12m03s", "1h02m03s", "3d04h".
 * view_format_percent - "0%" (exactly 0), "0.4%", "9.9%", "10%", "100%",
 *	"250%", "1234%" or "1.23k%" where 5 columns are too few; "-" when
 *	@pct is negative or NaN (no maximum).
 */
int view_format_rate(double value, int width, char *buf, size_t len);
int view_format_count(uint64_t value, int width, char *buf, size_t len);
int view_format_age(uint64_t ns, int width, char *buf, size_t len);
int view_format_percent(double pct, int width, char *buf, size_t len);
int view_format_duration(uint64_t ns, char *buf, size_t len);

#endif
