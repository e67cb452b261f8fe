/*
 * ob.h - the reports' output buffer: bytes gathered in 64 KiB chunks and
 * handed to stdio (one FILE, and a tee) in order; for a long report, a
 * writer thread of its own writes the chunks while the next ones fill
 * (ob_writer_start), so the kernel's copies run on another core. The
 * first write error's errno is kept.
 *
 * Threads: a struct ob belongs to one thread; its writer thread only
 * writes the chunks handed to it.
 */
#ifndef PKTSTAT_OB_H
#define PKTSTAT_OB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/*
 * Output is gathered here and handed to stdio in OB_SIZE chunks: from
 * @own directly, or, with a writer, from OB_NBUF chunks in turn that the
 * writer thread writes in order while the next one fills.
 */
#define OB_SIZE (1 << 16)
struct ob_writer;
struct ob {
	FILE *out;
	FILE *tee; /* a second destination, or NULL */
	size_t n;
	char *buf; /* OB_SIZE bytes: @own or a writer's chunk */
	struct ob_writer *w;
	int err; /* the first write error (errno) */
	char own[OB_SIZE];
};

/* ob_init - an empty buffer writing to @out and, if not NULL, @tee. */
void ob_init(struct ob *o, FILE *out, FILE *tee);
/* Hand what is buffered on (to the writer, else to stdio). */
void ob_flush(struct ob *o);
/* @len bytes to the destinations, past the buffer, in order. */
void ob_emit(struct ob *o, const void *p, size_t len);
/* From here on, chunks go through a writer thread (best effort: without
 * one, everything is written directly). */
void ob_writer_start(struct ob *o);
/* Everything handed over is written; back to direct writes. Also after
 * the last ob_flush: joins the writer. */
void ob_writer_stop(struct ob *o);
/* printf into the buffer: for the few lines that are not per row. */
__attribute__((format(printf, 2, 3))) void ob_printf(struct ob *o,
						     const char *fmt, ...);

static inline void ob_mem(struct ob *o, const void *p, size_t len)
{
	if (__builtin_expect(len > OB_SIZE - o->n, 0)) {
		ob_flush(o);
		if (len > OB_SIZE) {
			ob_emit(o, p, len);
			return;
		}
	}
	memcpy(o->buf + o->n, p, len);
	o->n += len;
}

static inline void ob_puts(struct ob *o, const char *s)
{
	ob_mem(o, s, strlen(s));
}

static inline void ob_putc(struct ob *o, char c)
{
	if (o->n == OB_SIZE)
		ob_flush(o);
	o->buf[o->n++] = c;
}

#endif
