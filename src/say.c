/*
 * say.c - one error line on stderr (see say.h).
 *
 * No state; any thread.
 */
#include "say.h"

#include <stdarg.h>
#include <stdio.h>

static void put(char *line)
{
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	fprintf(stderr, "pktstat: %s\n", line);
}

void say_path(const char *path, const char *msg)
{
	char line[SAY_MAX + 1];

	snprintf(line, sizeof(line), "%s%s%s", path ? path : "",
		 path ? ": " : "", msg ? msg : "");
	put(line);
}

void say_line(const char *msg)
{
	say_path(NULL, msg);
}

void say_fmt(const char *fmt, ...)
{
	char line[SAY_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	put(line);
}
