/*
 * ui.h - the full-screen monitor: curses life cycle and event loop.
 *
 * Threads: runs on the main thread after the capture workers started;
 * the only thread that calls curses. It takes the RCU read lock only
 * through pktstat_snapshot (a copy) and never holds anything while drawing.
 */
#ifndef PKTSTAT_UI_UI_H
#define PKTSTAT_UI_UI_H

#include <stddef.h>

struct pktstat;

/*
 * ui_run - run the monitor until the user quits (q), a terminating signal
 * arrives, or a fatal error happens. The caller has blocked SIGINT,
 * SIGTERM, SIGHUP, SIGUSR1 and SIGWINCH in every thread: they are read
 * here through a signalfd (SIGWINCH resizes, SIGUSR1 writes a snapshot).
 * The terminal is restored (endwin) before returning, on every path.
 * Returns 0 on quit, 128 + signo for SIGINT/SIGTERM/SIGHUP, or -errno with
 * one line in @err.
 */
int ui_run(struct pktstat *run, char *err, size_t errlen);

#endif
