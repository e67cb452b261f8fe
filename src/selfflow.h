/*
 * selfflow.h - which flow is the user's own SSH session: from
 * $SSH_CONNECTION ("CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT", set by
 * sshd), so the monitor can mark the row that is its own screen updates.
 *
 * Pure: parse once, match any number of keys from any thread.
 */
#ifndef PKTSTAT_SELFFLOW_H
#define PKTSTAT_SELFFLOW_H

#include "flowkey.h"

struct selfflow {
	int known;  /* 1 once parsed */
	int family; /* 4 or 6 */
	uint8_t client[16], server[16];
	uint16_t client_port, server_port;
};

/*
 * selfflow_parse - fill @sf from an SSH_CONNECTION value (NULL or garbage:
 * sf->known = 0, returns -EINVAL). IPv4-mapped IPv6 addresses count as
 * IPv4. Returns 0 when known.
 */
int selfflow_parse(struct selfflow *sf, const char *ssh_connection);

/* 1 when @key is the TCP conversation of @sf, in either direction. */
int selfflow_match(const struct selfflow *sf, const struct flow_key *key);

#endif
