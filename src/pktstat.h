/*
 * pktstat.h - the program: options to a run of the engine and its front
 * end, and the exit sequence (src/pktstat.c). main.c is its trampoline.
 */
#ifndef PKTSTAT_PKTSTAT_H
#define PKTSTAT_PKTSTAT_H

/* The whole program, on the main thread; returns the exit status. */
int pktstat_main(int argc, char **argv);

#endif
