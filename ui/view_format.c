/*
 * view_format.c - numbers for the monitor's cells and header (see
 * view_format.h): a fixed width, 3 significant digits with an SI prefix,
 * ages and durations; '*' fill when even the shortest form does not fit.
 * Pure: any thread.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "view_format.h"

#define NS 1000000000ull

static int fill(char c, int width, char *buf, size_t len)
{
	int i;

	if (width < 0)
		width = 0;
	if ((size_t)width >= len)
		width = len ? (int)len - 1 : 0;
	for (i = 0; i < width; i++)
		buf[i] = c;
	if (len)
		buf[width] = 0;
	return width;
}

/* The first of @cands that fits, else stars. */
static int fit(char cands[][32], int ncand, int width, char *buf, size_t len)
{
	int i;

	for (i = 0; i < ncand; i++) {
		int n = (int)strlen(cands[i]);

		if (n <= width && (size_t)n < len) {
			memcpy(buf, cands[i], (size_t)n + 1);
			return n;
		}
	}
	return fill('*', width, buf, len);
}

/* 3 significant digits, then fewer, scaled by 1000s. */
static int si_cands(double x, char cands[][32])
{
	static const char prefix[] = " kMGTPEZY";
	int p = 0, n = 0;

	if (!(x >= 0.0) || isinf(x))
		x = 0.0;
	if (x == 0.0) {
		strcpy(cands[n++], "0");
		return n;
	}
	while (x >= 999.5 && p < 8) {
		x /= 1000.0;
		p++;
	}
	if (p == 0) {
		if (x >= 99.95 || x == floor(x))
			snprintf(cands[n++], 32, "%.0f", x);
		else if (x >= 9.995)
			snprintf(cands[n++], 32, "%.1f", x);
		else
			snprintf(cands[n++], 32, "%.2f", x);
		if (x < 99.95) {
			snprintf(cands[n++], 32, "%.1f", x);
			snprintf(cands[n++], 32, "%.0f", x);
		}
		return n;
	}
	if (x >= 99.95)
		snprintf(cands[n++], 32, "%.0f%c", x, prefix[p]);
	else if (x >= 9.995)
		snprintf(cands[n++], 32, "%.1f%c", x, prefix[p]);
	else
		snprintf(cands[n++], 32, "%.2f%c", x, prefix[p]);
	snprintf(cands[n++], 32, "%.1f%c", x, prefix[p]);
	snprintf(cands[n++], 32, "%.0f%c", x, prefix[p]);
	return n;
}

int view_format_rate(double value, int width, char *buf, size_t len)
{
	char cands[4][32];
	int n = si_cands(value, cands);

	return fit(cands, n, width, buf, len);
}

int view_format_percent(double pct, int width, char *buf, size_t len)
{
	char cands[5][32];
	int n = 0, i, k;

	if (!(pct >= 0.0)) {
		strcpy(cands[n++], "-");
	} else if (pct == 0.0) {
		strcpy(cands[n++], "0%");
	} else if (pct < 1e15) { /* beyond: stars, as any number */
		if (pct < 9.95)
			snprintf(cands[n++], 32, "%.1f%%", pct);
		snprintf(cands[n++], 32, "%.0f%%", pct);
		/* Far beyond 100% (-m well below the real rate): "12k%". */
		if (pct >= 999.5) {
			k = si_cands(pct, cands + n);
			for (i = n; i < n + k; i++)
				strcat(cands[i], "%");
			n += k;
		}
	}
	return fit(cands, n, width, buf, len);
}

int view_format_count(uint64_t value, int width, char *buf, size_t len)
{
	char cands[5][32];
	int n;

	snprintf(cands[0], 32, "%llu", (unsigned long long)value);
	n = 1 + si_cands((double)value, cands + 1);
	return fit(cands, n, width, buf, len);
}

int view_format_age(uint64_t ns, int width, char *buf, size_t len)
{
	char cands[1][32];
	uint64_t s = ns / NS;

	if (s < 60)
		snprintf(cands[0], 32, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(cands[0], 32, "%llum%02llu",
			 (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else if (s < 86400)
		snprintf(cands[0], 32, "%lluh%02llu",
			 (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
	else
		snprintf(cands[0], 32, "%llud%02llu",
			 (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600));
	return fit(cands, 1, width, buf, len);
}

int view_format_duration(uint64_t ns, char *buf, size_t len)
{
	unsigned long long s = ns / NS;

	if (s < 60)
		return snprintf(buf, len, "%llus", s);
	if (s < 3600)
		return snprintf(buf, len, "%llum%02llus", s / 60, s % 60);
	if (s < 86400)
		return snprintf(buf, len, "%lluh%02llum%02llus", s / 3600,
				s % 3600 / 60, s % 60);
	return snprintf(buf, len, "%llud%02lluh%02llum", s / 86400,
			s % 86400 / 3600, s % 3600 / 60);
}
