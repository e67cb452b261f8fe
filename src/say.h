/*
 * say.h - the one error line of the command-line front ends and the
 * daemon's log: "pktstat: [PATH: ]MSG" on stderr, every control byte
 * shown as '?' (paths, filters, names and clients' words in a message can
 * come from anyone and must not drive the terminal).
 *
 * Any thread: each line is one fprintf of a local buffer.
 */
#ifndef PKTSTAT_SAY_H
#define PKTSTAT_SAY_H

/* Longest line printed, "pktstat: " and the newline aside; longer
 * messages are cut. */
#define SAY_MAX 1199

/* say_path - "pktstat: PATH: MSG", or "pktstat: MSG" when @path is NULL
 * (@msg NULL prints as empty). */
void say_path(const char *path, const char *msg);

/* say_line - "pktstat: MSG": say_path(NULL, @msg), in the shape of a
 * callback taking one line (export_conf.say). */
void say_line(const char *msg);

/* say_fmt - say_line of a printf format. */
void say_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
