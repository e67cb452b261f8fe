/*
 * procs.bpf.c - the eBPF process attributor: which process a packet's
 * socket belongs to, recorded at the packet, so that a connection that
 * lives 10 ms is named too (the /proc resolver, src/procres.c, looks at
 * most every 0.2 s, and only when new flows came). Loaded, attached to the
 * cgroup v2 root and drained by src/procs_bpf.c.
 *
 * cgroup/sock_create runs in the creating process: its tgid, uid and
 * comm go into the socket's local storage (BPF_F_CLONE: an accepted
 * socket inherits its listener's). cgroup_skb egress and ingress read the
 * storage of the packet's full socket and, when the packet's 5-tuple is
 * not the one last reported for that socket, record tuple -> owner in
 * "seen" (an LRU hash: a reader that falls behind loses the oldest
 * records, never blocks a packet). Every program lets the packet or the
 * socket through: this observes, it never filters.
 *
 * The tuple comes from the packet's own IP and transport headers (a
 * cgroup_skb program sees the packet from its network header), so an
 * unconnected UDP socket is recorded per peer; local is the source on
 * egress and the destination on ingress.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "procs.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PA_AF_INET 2
#define PA_AF_INET6 10
#define PA_TCP 6
#define PA_UDP 17

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct pa_owner);
} owners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PA_SEEN_MAX);
	__type(key, struct pa_key);
	__type(value, struct pa_val);
} seen SEC(".maps");

SEC("cgroup/sock_create")
int pa_sock_create(struct bpf_sock *sk)
{
	struct pa_owner *o;
	__u64 pt;

	if ((sk->family != PA_AF_INET && sk->family != PA_AF_INET6) ||
	    (sk->protocol != PA_TCP && sk->protocol != PA_UDP))
		return 1;
	o = bpf_sk_storage_get(&owners, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!o)
		return 1;
	pt = bpf_get_current_pid_tgid();
	o->tgid = (__u32)(pt >> 32);
	o->uid = (__u32)bpf_get_current_uid_gid();
	o->last = 0;
	bpf_get_current_comm(o->comm, sizeof(o->comm));
	return 1;
}

/* FNV-1a over the key, never 0. */
static __always_inline __u64 key_hash(const struct pa_key *k)
{
	const __u8 *p = (const __u8 *)k;
	__u64 h = 0xcbf29ce484222325ull;

	for (int i = 0; i < (int)sizeof(*k); i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h | 1;
}

static __always_inline int record(struct __sk_buff *skb, int egress)
{
	struct bpf_sock *sk = skb->sk;
	struct pa_owner *o;
	struct pa_key k = {};
	struct pa_val v = {};
	__u8 *la = egress ? k.laddr : k.raddr, *ra = egress ? k.raddr : k.laddr;
	__u16 ports[2];
	__u32 l4;
	__u64 h;

	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk || (sk->protocol != PA_TCP && sk->protocol != PA_UDP))
		return 1;
	o = bpf_sk_storage_get(&owners, sk, 0, 0);
	if (!o)
		return 1;
	if (skb->protocol == bpf_htons(0x0800)) {
		__u8 vihl, proto;

		if (bpf_skb_load_bytes(skb, 0, &vihl, 1) ||
		    bpf_skb_load_bytes(skb, 9, &proto, 1) ||
		    bpf_skb_load_bytes(skb, 12, la, 4) ||
		    bpf_skb_load_bytes(skb, 16, ra, 4))
			return 1;
		if (proto != sk->protocol)
			return 1;
		l4 = (__u32)(vihl & 0xf) * 4;
		k.family = 4;
	} else if (skb->protocol == bpf_htons(0x86dd)) {
		__u8 nh;

		/* no extension headers: the transport header follows */
		if (bpf_skb_load_bytes(skb, 6, &nh, 1) || nh != sk->protocol ||
		    bpf_skb_load_bytes(skb, 8, la, 16) ||
		    bpf_skb_load_bytes(skb, 24, ra, 16))
			return 1;
		l4 = 40;
		k.family = 6;
	} else {
		return 1;
	}
	if (l4 < 20 || l4 > 60 || bpf_skb_load_bytes(skb, l4, ports, 4))
		return 1;
	k.proto = (__u8)sk->protocol;
	k.lport = bpf_ntohs(ports[egress ? 0 : 1]);
	k.rport = bpf_ntohs(ports[egress ? 1 : 0]);
	h = key_hash(&k);
	if (o->last == h)
		return 1; /* reported already */
	o->last = h;
	v.tgid = o->tgid;
	v.uid = o->uid;
	__builtin_memcpy(v.comm, o->comm, sizeof(v.comm));
	bpf_map_update_elem(&seen, &k, &v, BPF_ANY);
	return 1;
}

SEC("cgroup_skb/egress")
int pa_egress(struct __sk_buff *skb)
{
	return record(skb, 1);
}

SEC("cgroup_skb/ingress")
int pa_ingress(struct __sk_buff *skb)
{
	return record(skb, 0);
}
