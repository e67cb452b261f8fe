/*
 * failmalloc.c - LD_PRELOAD shim that makes allocations fail on purpose,
 * for the allocation-failure tests (tests/it/failmalloc.sh).
 *
 *   FAILMALLOC_NTH=N    the N-th allocation (malloc, calloc, realloc,
 *                       posix_memalign) and every one after it fails
 *   FAILMALLOC_ONLY=1   with NTH: only the N-th fails
 *
 * Counts are per process (a forked child starts from its parent's count)
 * and start at main: the constructors of the libraries pktstat links
 * (GnuTLS under libmicrohttpd, GLib under libfixbuf) allocate before it
 * and are not pktstat's code.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static unsigned long calls, nth;
static int only, inited, armed;

typedef int (*main_fn)(int, char **, char **);
typedef int (*start_fn)(main_fn, int, char **, void (*)(void),
			void (*)(void), void (*)(void), void *);
static main_fn real_main;

static int armed_main(int argc, char **argv, char **envp)
{
	__atomic_store_n(&armed, 1, __ATOMIC_RELAXED);
	return real_main(argc, argv, envp);
}

/* glibc calls main through this: arm the shim there. */
int __libc_start_main(main_fn m, int argc, char **argv, void (*init)(void),
		      void (*fini)(void), void (*rtld_fini)(void), void *stack)
{
	start_fn real = (start_fn)dlsym(RTLD_NEXT, "__libc_start_main");

	real_main = m;
	return real(armed_main, argc, argv, init, fini, rtld_fini, stack);
}

static int should_fail(void)
{
	unsigned long c;

	if (!__atomic_load_n(&armed, __ATOMIC_RELAXED))
		return 0;

	if (!inited) {
		const char *n = getenv("FAILMALLOC_NTH");
		const char *o = getenv("FAILMALLOC_ONLY");

		nth = n ? strtoul(n, NULL, 10) : 0;
		only = o && *o == '1';
		inited = 1;
	}
	c = __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
	if (!nth)
		return 0;
	return only ? c == nth : c >= nth;
}

void *malloc(size_t n)
{
	if (should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	if (should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	if (should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	if (should_fail())
		return ENOMEM;
	p = __libc_memalign(align, n);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}
