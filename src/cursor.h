/*
 * cursor.h - bounded readers over a captured frame [p, end).
 *
 * Every packet byte is read through these helpers (tcpdump's extract.h
 * habit): a read past the end fails and leaves the cursor untouched, so a
 * truncated header can never be half-read. Pure, thread-agnostic.
 */
#ifndef PKTSTAT_CURSOR_H
#define PKTSTAT_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cursor {
	const uint8_t *base; /* start of the frame (for offsets) */
	const uint8_t *p;    /* next byte to read */
	const uint8_t *end;  /* one past the last captured byte */
};

static inline void cur_init(struct cursor *c, const uint8_t *p, size_t len)
{
	c->base = p;
	c->p = p;
	c->end = p + len;
}

/* Bytes left to read. */
static inline size_t cur_left(const struct cursor *c)
{
	return (size_t)(c->end - c->p);
}

/* Offset of the next byte from the start of the frame. */
static inline uint32_t cur_off(const struct cursor *c)
{
	return (uint32_t)(c->p - c->base);
}

static inline bool cur_has(const struct cursor *c, size_t n)
{
	return cur_left(c) >= n;
}

/* Advance n bytes; false (cursor unchanged) if fewer are left. */
static inline bool cur_skip(struct cursor *c, size_t n)
{
	if (!cur_has(c, n))
		return false;
	c->p += n;
	return true;
}

/* Peek at byte off from the cursor without consuming; false if short. */
static inline bool cur_peek_u8(const struct cursor *c, size_t off, uint8_t *v)
{
	if (!cur_has(c, off + 1))
		return false;
	*v = c->p[off];
	return true;
}

static inline bool cur_peek_be16(const struct cursor *c, size_t off,
				 uint16_t *v)
{
	if (!cur_has(c, off + 2))
		return false;
	*v = (uint16_t)(c->p[off] << 8 | c->p[off + 1]);
	return true;
}

static inline bool cur_peek_be32(const struct cursor *c, size_t off,
				 uint32_t *v)
{
	if (!cur_has(c, off + 4))
		return false;
	*v = (uint32_t)c->p[off] << 24 | (uint32_t)c->p[off + 1] << 16 |
	     (uint32_t)c->p[off + 2] << 8 | c->p[off + 3];
	return true;
}

/* Copy n bytes at off from the cursor into dst without consuming. */
static inline bool cur_peek_bytes(const struct cursor *c, size_t off, void *dst,
				  size_t n)
{
	if (!cur_has(c, off + n))
		return false;
	/* inlined with a constant @n: a few moves, not a byte loop */
	memcpy(dst, c->p + off, n);
	return true;
}

static inline bool cur_u8(struct cursor *c, uint8_t *v)
{
	return cur_peek_u8(c, 0, v) && cur_skip(c, 1);
}

static inline bool cur_be16(struct cursor *c, uint16_t *v)
{
	return cur_peek_be16(c, 0, v) && cur_skip(c, 2);
}

static inline bool cur_be32(struct cursor *c, uint32_t *v)
{
	return cur_peek_be32(c, 0, v) && cur_skip(c, 4);
}

#endif
