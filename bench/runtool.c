/*
 * runtool.c - runs one benchmarked tool and reports what it cost: user
 * and system CPU and peak resident set of the tool and every descendant
 * it waited for (wait4's rusage), and how long it took to exit once told
 * to stop. Single-threaded; owns only its child.
 *
 *   runtool [-t SECS] REPORT-FILE COMMAND [ARG]...
 *
 * SIGTERM, SIGINT and SIGHUP sent to runtool are passed on to the child
 * (which starts with default dispositions, so a tool started in the
 * background still sees SIGINT). -t bounds the child's life: after SECS
 * it gets SIGTERM, 3 s later SIGKILL. When the child exits, REPORT-FILE
 * gets one line:
 *   utime_us=N stime_us=N maxrss_kb=N status=N stop_us=N timed_out=0|1
 * status is the exit status, or 128 + signal; stop_us is the time from
 * the first forwarded signal to the child's exit (-1: none was sent).
 * runtool exits with the child's status.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP };

/* Written by the signal handler only; read after wait4 returns. */
static volatile sig_atomic_t child_pid;
static volatile sig_atomic_t signalled;
static volatile sig_atomic_t timed_out;
static struct timespec signal_time;

static void forward(int sig)
{
	if (!signalled) {
		clock_gettime(CLOCK_MONOTONIC, &signal_time);
		signalled = 1;
	}
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

/* -t expired: SIGTERM first, SIGKILL if that was not enough */
static void expire(int sig)
{
	(void)sig;
	if (child_pid <= 0)
		return;
	if (!timed_out) {
		timed_out = 1;
		kill((pid_t)child_pid, SIGTERM);
		alarm(3);
	} else {
		kill((pid_t)child_pid, SIGKILL);
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct rusage ru;
	struct timespec end;
	long long stop_us = -1;
	unsigned limit = 0;
	pid_t pid;
	int st, code, c;
	FILE *out;

	while ((c = getopt(argc, argv, "+t:")) != -1) {
		if (c != 't')
			return 2;
		limit = (unsigned)strtoul(optarg, NULL, 10);
	}
	argc -= optind - 1;
	argv += optind - 1;
	if (argc < 3) {
		fprintf(stderr, "usage: runtool [-t SECS] REPORT-FILE COMMAND "
				"[ARG]...\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&sa.sa_mask, forwarded[i]);
	/* block until the child's pid is known, so none is lost */
	sigprocmask(SIG_BLOCK, &sa.sa_mask, NULL);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &sa, NULL);
	pid = fork();
	if (pid < 0) {
		perror("runtool: fork");
		return 1;
	}
	if (pid == 0) {
		sa.sa_handler = SIG_DFL;
		for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]);
		     i++)
			sigaction(forwarded[i], &sa, NULL);
		sigprocmask(SIG_UNBLOCK, &sa.sa_mask, NULL);
		execvp(argv[2], argv + 2);
		fprintf(stderr, "runtool: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	child_pid = pid;
	if (limit) {
		struct sigaction al;

		memset(&al, 0, sizeof(al));
		al.sa_handler = expire;
		sigemptyset(&al.sa_mask);
		sigaction(SIGALRM, &al, NULL);
		alarm(limit);
	}
	sigprocmask(SIG_UNBLOCK, &sa.sa_mask, NULL);
	while (wait4(pid, &st, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("runtool: wait4");
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	alarm(0);
	sigprocmask(SIG_BLOCK, &sa.sa_mask, NULL);
	if (signalled)
		stop_us = (end.tv_sec - signal_time.tv_sec) * 1000000LL +
			  (end.tv_nsec - signal_time.tv_nsec) / 1000;
	code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	out = fopen(argv[1], "w");
	if (!out) {
		perror(argv[1]);
		return 1;
	}
	fprintf(out,
		"utime_us=%lld stime_us=%lld maxrss_kb=%ld status=%d "
		"stop_us=%lld timed_out=%d\n",
		(long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
		(long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec,
		ru.ru_maxrss, code, stop_us, (int)timed_out);
	if (fclose(out) != 0) {
		perror(argv[1]);
		return 1;
	}
	return code;
}
