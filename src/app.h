/*
 * app.h - application protocol sniffers: a flow's label from the first
 * payload bytes the decoder sees, and a port-based guess when there are
 * none.
 *
 * Pure: no allocation, no globals but const tables, no I/O; every payload
 * byte is read through cursor.h. Any thread. The flow table calls
 * app_sniff for a flow's first few packets only (APP_INSPECT_PKTS) and
 * keeps the result in a 32-bit word per flow (APP_WORD_*) plus an
 * optional detail string out of line (flowtab_app_detail).
 */
#ifndef PKTSTAT_APP_H
#define PKTSTAT_APP_H

#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

#include "cursor.h"
#include "decode.h"

enum app_id {
	APP_NONE = 0,
	APP_HTTP,
	APP_TLS,
	APP_QUIC,
	APP_SSH,
	APP_DNS,
	APP_RDP,
	APP_PGSQL,
	APP_MQTT,
	APP_WIREGUARD,
	APP_MEMCACHED,
	APP_FTP,
	APP_X11,
	APP_SMTP,
	APP_COUNT
};

/* A flow's packets (both directions) looked at, at most. */
#define APP_INSPECT_PKTS 8
/* Detail text, NUL included ("200 GET /big.bin host=example.com"). */
#define APP_DETAIL_MAX 80

/*
 * The per-flow word: bits 0-7 the app id, bit 8 "done" (nothing more to
 * learn: the flow is not inspected any more), bits 9 and 10 "a payload in
 * this direction (FLOW_DIR_AB, _BA) matched nothing" (that direction is
 * not inspected again while the flow has no label; both set: done), bits
 * 11-31 the reference of the flow's detail string (0: none).
 */
#define APP_WORD_ID(w) ((w)&0xffu)
#define APP_WORD_DONE 0x100u
#define APP_WORD_MISS(dir) (0x200u << (dir))
#define APP_WORD_REF(w) ((w) >> 11)
#define APP_WORD(id, done, ref) \
	((uint32_t)(id) | ((done) ? APP_WORD_DONE : 0u) | (uint32_t)(ref) << 11)
#define APP_REF_MAX ((1u << 21) - 1)

/* One packet's payload as the sniffers see it. */
struct app_pkt {
	const uint8_t *p; /* the transport payload */
	uint32_t len;	  /* captured payload bytes (padding excluded) */
	uint8_t ipproto;  /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t sport, dport;
};

/* What app_sniff learned. */
struct app_guess {
	uint8_t id;   /* enum app_id; APP_NONE: nothing recognised */
	uint8_t done; /* no later packet can add anything */
	char detail[APP_DETAIL_MAX]; /* printable ASCII, "" if none */
};

/*
 * app_sniff - label one payload. @cur is the flow's label so far
 * (APP_NONE at first) and @cur_detail its detail ("" if none): a later
 * packet refines them (an HTTP response adds its status to the request's
 * "GET /path"). Returns 1 and fills @out when @out differs from what the
 * flow has, else 0 (then @out->done may still be set: stop looking).
 * Reads only [pkt->p, pkt->p + pkt->len). Pure, any thread.
 */
int app_sniff(const struct app_pkt *pkt, unsigned int cur,
	      const char *cur_detail, struct app_guess *out);

/*
 * app_frame_end - where a decoded frame's packet ends: the IP length's
 * end when the frame is longer (Ethernet padding), else @caplen.
 */
static inline uint32_t app_frame_end(const struct dec_pkt *d, uint32_t caplen)
{
	if (d->ip_len && d->l3_off + d->ip_len < caplen)
		return d->l3_off + d->ip_len;
	return caplen;
}

/*
 * app_l4_payload - where the payload after the TCP (@ipproto
 * IPPROTO_TCP) or UDP header at @l4_off of @frame is, the frame's packet
 * ending at @end (app_frame_end): 0 and the offset and length (length 0
 * when empty), or -1 (another protocol, or a header that does not fit).
 * Inline: the flow table calls it for the packets of young flows only.
 */
static inline int app_l4_payload(const uint8_t *frame, uint32_t end,
				 uint32_t l4_off, uint8_t ipproto,
				 uint32_t *off, uint32_t *len)
{
	struct cursor c;
	uint32_t hl = 8;
	uint8_t b;

	cur_init(&c, frame, end);
	if (ipproto == IPPROTO_TCP) {
		if (!cur_peek_u8(&c, (size_t)l4_off + 12, &b) || b < 0x50)
			return -1;
		hl = (uint32_t)(b >> 4) * 4;
	} else if (ipproto != IPPROTO_UDP) {
		return -1;
	}
	if (!cur_skip(&c, (size_t)l4_off + hl))
		return -1;
	*off = cur_off(&c);
	*len = (uint32_t)cur_left(&c);
	return 0;
}

/*
 * app_l4_known - whether a decoded frame's TCP or UDP header is in it (the
 * ports were read, and it is not a later fragment): where app_l4_payload
 * may look.
 */
static inline int app_l4_known(const struct dec_pkt *d)
{
	return (d->flags & (DEC_F_PORTS | DEC_F_FRAG_LATER)) == DEC_F_PORTS;
}

/* A flow's label from its ports alone, APP_NONE if none fits. */
unsigned int app_port_guess(uint8_t ipproto, uint16_t aport, uint16_t bport);

/* The short name of an app ("http"), "" for APP_NONE or out of range. */
const char *app_name(unsigned int id);

/* The app named @name (case-insensitive), or -1. */
int app_by_name(const char *name);

#endif
