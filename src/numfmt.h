/*
 * numfmt.h - decimal text for the hot paths of the reports: one table of
 * digit pairs (flowkey.c's ports and report.c's numbers share it), an
 * unsigned number, a value with 2 or 3 decimals exactly as printf's
 * "%.Nf" prints it, and dkorunic/pktstat's bitrate ("12.34 Mbps"). Pure:
 * any thread. Each writer puts its text at a pointer with room enough
 * and returns the end (no NUL).
 */
#ifndef PKTSTAT_NUMFMT_H
#define PKTSTAT_NUMFMT_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* "00" to "99": decimal digits two at a time (and a NUL). */
extern const char numfmt_digit_pairs[201];
/* 10^0 to 10^19. */
extern const uint64_t numfmt_pow10[20];
/* dkorunic/pktstat's units, each name in 5 bytes: a fixed-size copy. */
extern const char numfmt_rate_units[5][5];

/* Decimal digits of @v: 1 to 20. From the bit length, t is the count or
 * one less (1233 / 4096 is just under log10(2)); one compare settles it. */
static inline int numfmt_u64_digits(uint64_t v)
{
	uint64_t w = v | 1; /* 0 has one digit; no other count changes */
	int t = (64 - __builtin_clzll(w)) * 1233 >> 12;

	return t + (w >= numfmt_pow10[t]);
}

/* @v in decimal at @p (room for 20 digits); returns the end. Two digits
 * at a time from the right, the length being known first; 32-bit
 * divisions once the rest fits (they are cheaper). */
static inline char *numfmt_u64(char *p, uint64_t v)
{
	char *end;
	uint32_t x;

	/* most fields of a row are one or two digits: ports, protocols,
	 * VLANs, packets of a small flow */
	if (v < 10) {
		*p = (char)('0' + v);
		return p + 1;
	}
	if (v < 100) {
		memcpy(p, numfmt_digit_pairs + 2 * v, 2);
		return p + 2;
	}
	end = p + numfmt_u64_digits(v);
	p = end;
	for (; v > UINT32_MAX; v /= 100) {
		p -= 2;
		memcpy(p, numfmt_digit_pairs + 2 * (v % 100), 2);
	}
	for (x = (uint32_t)v; x >= 100; x /= 100) {
		p -= 2;
		memcpy(p, numfmt_digit_pairs + 2 * (x % 100), 2);
	}
	if (x >= 10)
		memcpy(p - 2, numfmt_digit_pairs + 2 * x, 2);
	else
		p[-1] = (char)('0' + x);
	return end;
}

/*
 * @v with @prec (2 or 3) decimals at @p, exactly as printf's "%.Nf" would
 * print it; returns the end (at most 17 bytes on), or NULL with nothing
 * written when printf has to do it: when the value scaled to an integer
 * is so close to a rounding tie that the scaling's own error could
 * decide it, or is out of range. Inline for a constant @prec: the
 * divisions by its power of 10 become multiplications.
 */
static inline char *numfmt_fixed(char *p, double v, int prec)
{
	double x = v * (prec == 3 ? 1000.0 : 100.0), fr;
	uint32_t unit = prec == 3 ? 1000 : 100, fp;
	uint64_t q;

	if (!(v >= 0) || x >= 1e15)
		return NULL;
	/* x is not negative and below 2^53: the conversion is floor(x),
	 * and x - floor(x) is exact */
	q = (uint64_t)x;
	fr = x - (double)q;
	if (fabs(fr - 0.5) <= x * 1e-15 + 1e-12)
		return NULL;
	q += fr > 0.5;
	p = numfmt_u64(p, q / unit);
	/* the decimals, with their leading zeros */
	fp = (uint32_t)(q % unit);
	*p++ = '.';
	if (prec == 3) {
		*p++ = (char)('0' + fp / 100);
		fp %= 100;
	}
	memcpy(p, numfmt_digit_pairs + 2 * fp, 2);
	return p + 2;
}

/* Scale @bps to dkorunic/pktstat's unit; returns its index. */
static inline int numfmt_rate_scale(double *bps)
{
	int u = 0;

	while (*bps >= 1000 && u < 4) {
		*bps /= 1000;
		u++;
	}
	return u;
}

/*
 * dkorunic/pktstat's "12.34 Mbps" at @p, the digits report_format_bitrate
 * prints; returns the end (at most 23 bytes on), or NULL as numfmt_fixed.
 */
static inline char *numfmt_bitrate(char *p, double bps)
{
	int u = numfmt_rate_scale(&bps);

	p = numfmt_fixed(p, bps, 2);
	if (!p)
		return NULL;
	*p = ' ';
	memcpy(p + 1, numfmt_rate_units[u], 4);
	return p + (u ? 5 : 4); /* "bps" is the only 3-letter unit */
}

#endif
