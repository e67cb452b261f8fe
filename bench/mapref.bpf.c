/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mapref.bpf.c - the benchmark's reference for the kernel side of a
 * per-flow counter: the least a tc program can do to count flows in a map
 * (pktstat-bpf's way: a per-CPU LRU hash keyed by addresses, ports and
 * protocol, no filter, no overflow, approximate under churn), so that the
 * ebpf part's generator rate with pktstat's programs can be read against
 * what any per-flow map costs on the same machine and traffic.
 *
 * Ethernet, one optional 802.1Q tag, IPv4 or IPv6 (no extension headers),
 * TCP/UDP ports. mr_seen[0] counts the frames that reached the map (per
 * CPU), so that a run shows the program saw the traffic.
 * Attached by bench/bench.sh with tc (clsact, ingress, direct-action).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define TC_ACT_OK 0
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct mr_key {
	__u8 src[16], dst[16];
	__u16 sport, dport;
	__u8 proto, pad[3];
};

struct mr_val {
	__u64 pkts, bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 1 << 20);
	__type(key, struct mr_key);
	__type(value, struct mr_val);
} mr_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} mr_seen SEC(".maps");

SEC("tc")
int mapref(struct __sk_buff *skb)
{
	struct mr_key k;
	struct mr_val *v, nv;
	__u32 off = 14, zero = 0;
	__u16 proto, ports[2];
	__u8 b;
	__u64 *seen;

	__builtin_memset(&k, 0, sizeof(k));
	if (bpf_skb_load_bytes(skb, 12, &proto, 2))
		return TC_ACT_OK;
	if (proto == bpf_htons(ETH_P_8021Q)) {
		if (bpf_skb_load_bytes(skb, 16, &proto, 2))
			return TC_ACT_OK;
		off = 18;
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		if (bpf_skb_load_bytes(skb, off, &b, 1) ||
		    bpf_skb_load_bytes(skb, off + 9, &k.proto, 1) ||
		    bpf_skb_load_bytes(skb, off + 12, k.src, 4) ||
		    bpf_skb_load_bytes(skb, off + 16, k.dst, 4))
			return TC_ACT_OK;
		off += (b & 15) * 4;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		if (bpf_skb_load_bytes(skb, off + 6, &k.proto, 1) ||
		    bpf_skb_load_bytes(skb, off + 8, k.src, 16) ||
		    bpf_skb_load_bytes(skb, off + 24, k.dst, 16))
			return TC_ACT_OK;
		off += 40;
	} else {
		return TC_ACT_OK;
	}
	if ((k.proto == 6 || k.proto == 17) &&
	    !bpf_skb_load_bytes(skb, off, ports, 4)) {
		k.sport = ports[0];
		k.dport = ports[1];
	}
	v = bpf_map_lookup_elem(&mr_flows, &k);
	if (v) {
		v->pkts++;
		v->bytes += skb->len;
	} else {
		nv.pkts = 1;
		nv.bytes = skb->len;
		bpf_map_update_elem(&mr_flows, &k, &nv, BPF_ANY);
	}
	seen = bpf_map_lookup_elem(&mr_seen, &zero);
	if (seen)
		*seen += 1;
	return TC_ACT_OK;
}
