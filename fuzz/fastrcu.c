/*
 * fastrcu.c - linked into the fuzz binaries only: removes liburcu's 10 ms
 * call_rcu batching delay.
 *
 * liburcu 0.13's call_rcu thread sleeps poll(NULL, 0, 10) every time it
 * wakes, so each wait for pending callbacks (flowtab_barrier) costs at
 * least 10 ms. Every fuzz input creates and frees its own flow table
 * (flowtab_barrier, then flowtab_free: two waits), which held the flowtab
 * target to about 40 runs a second. This strong poll() (ASan's interceptor is a weak symbol)
 * turns a descriptor-less poll into a yield; every other call goes to
 * ppoll unchanged. Callbacks still run only after a full grace period:
 * only the batching wait is gone, which changes timing, not semantics.
 */
#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <time.h>

int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	struct timespec ts;

	if (!fds && !nfds) {
		sched_yield();
		return 0;
	}
	if (timeout < 0)
		return ppoll(fds, nfds, NULL, NULL);
	ts.tv_sec = timeout / 1000;
	ts.tv_nsec = (long)(timeout % 1000) * 1000000L;
	return ppoll(fds, nfds, &ts, NULL);
}
