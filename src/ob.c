/*
 * ob.c - the reports' output buffer (see ob.h) and its writer thread:
 * chunks are handed over under a mutex and written in order; the buffer's
 * thread waits only when every chunk is taken.
 */
#include "ob.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>

#include "mem.h"

#define OB_NBUF 8

struct ob_writer {
	pthread_t tid;
	pthread_mutex_t lock;
	pthread_cond_t cv; /* a chunk handed over or written, or quit */
	char *mem;	   /* OB_NBUF chunks */
	size_t len[OB_NBUF];
	uint64_t head, tail; /* chunks handed over, written */
	int quit;
	int err; /* the writer's first write error (errno) */
	FILE *out, *tee;
};

/* Write to @out and the tee; the first failure's errno (say ENOSPC) in
 * *@err, which is per thread and would be lost with the writer's. */
static void ob_write_out(FILE *out, FILE *tee, const void *p, size_t len,
			 int *err)
{
	if (fwrite(p, 1, len, out) != len && !*err)
		*err = errno ? errno : EIO;
	if (tee)
		fwrite(p, 1, len, tee);
}

static void *ob_writer_main(void *arg)
{
	struct ob_writer *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		size_t i;

		while (w->head == w->tail && !w->quit)
			pthread_cond_wait(&w->cv, &w->lock);
		if (w->head == w->tail)
			break;
		i = w->tail % OB_NBUF;
		pthread_mutex_unlock(&w->lock);
		ob_write_out(w->out, w->tee, w->mem + i * OB_SIZE, w->len[i],
			     &w->err);
		pthread_mutex_lock(&w->lock);
		w->tail++;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Hand the filled chunk to the writer and take the next free one. */
static void ob_hand_over(struct ob *o)
{
	struct ob_writer *w = o->w;

	pthread_mutex_lock(&w->lock);
	w->len[w->head % OB_NBUF] = o->n;
	w->head++;
	pthread_cond_broadcast(&w->cv);
	while (w->head - w->tail == OB_NBUF)
		pthread_cond_wait(&w->cv, &w->lock);
	o->buf = w->mem + (w->head % OB_NBUF) * OB_SIZE;
	pthread_mutex_unlock(&w->lock);
	o->n = 0;
}

/* From here on, chunks go through a writer thread (best effort: without
 * one, everything is written directly as before). Before the rows. */
void ob_writer_start(struct ob *o)
{
	struct ob_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return;
	w->mem = mem_alloc_big((size_t)OB_NBUF * OB_SIZE, 0);
	w->out = o->out;
	w->tee = o->tee;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (!w->mem || pthread_create(&w->tid, NULL, ob_writer_main, w)) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->lock);
		mem_free_big(w->mem, (size_t)OB_NBUF * OB_SIZE);
		free(w);
		return;
	}
	/* what is buffered so far goes first, in order */
	memcpy(w->mem, o->own, o->n);
	o->buf = w->mem;
	o->w = w;
}

/* Everything handed over is written; back to direct writes. */
void ob_writer_stop(struct ob *o)
{
	struct ob_writer *w = o->w;

	if (!w)
		return;
	if (o->n)
		ob_hand_over(o);
	pthread_mutex_lock(&w->lock);
	w->quit = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->tid, NULL);
	if (w->err && !o->err)
		o->err = w->err;
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->lock);
	mem_free_big(w->mem, (size_t)OB_NBUF * OB_SIZE);
	free(w);
	o->w = NULL;
	o->buf = o->own;
	o->n = 0;
}

/* @len bytes to the destinations, past the buffer. */
void ob_emit(struct ob *o, const void *p, size_t len)
{
	if (o->w) /* keep the order: what the writer holds goes first */
		ob_writer_stop(o);
	ob_write_out(o->out, o->tee, p, len, &o->err);
}

void ob_flush(struct ob *o)
{
	if (!o->n)
		return;
	if (o->w)
		ob_hand_over(o);
	else
		ob_write_out(o->out, o->tee, o->buf, o->n, &o->err);
	o->n = 0;
}

void ob_init(struct ob *o, FILE *out, FILE *tee)
{
	o->out = out;
	o->tee = tee;
	o->n = 0;
	o->buf = o->own;
	o->w = NULL;
	o->err = 0;
}

/* printf into the buffer: for the few lines that are not per flow. */
void ob_printf(struct ob *o, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	if ((size_t)r < sizeof(tmp)) {
		ob_mem(o, tmp, (size_t)r);
		return;
	}
	ob_flush(o);
	ob_writer_stop(o); /* straight to stdio, in order */
	va_start(ap, fmt);
	vfprintf(o->out, fmt, ap);
	va_end(ap);
	if (o->tee) {
		va_start(ap, fmt);
		vfprintf(o->tee, fmt, ap);
		va_end(ap);
	}
}
