#!/usr/bin/python3
"""Writes the hand-made hostile inputs of tests/regress/ (the fuzzers'
findings are added there as they are found, not by this script).

    /usr/bin/python3 fuzz/mkregress.py [tests/regress]

Each file is named <target>-<what it is>; its bytes are in that target's
input format (fuzz/README). tests/test_fuzz_regress.c replays every file
through the same invariant checks as the fuzzers, and asserts the decoder's
verdict on some of them by name.
"""
import os
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/regress"

# Selector bytes: index in invariants.c's link-type table.
EN10MB, SLL, SLL2, RAW, LT_RAW, IPV4, IPV6, NULL, LOOP, UNSUPP = range(10)

MAC = bytes.fromhex("020000000001020000000002")


def eth(etype, payload):
    return MAC + struct.pack(">H", etype) + payload


def ip4(proto, payload, src=b"\x0a\x00\x00\x01", dst=b"\x0a\x00\x00\x02",
        ihl=5, tot=None, frag=0, opts=b""):
    if tot is None:
        tot = ihl * 4 + len(payload)
    hdr = struct.pack(">BBHHHBBH4s4s", 0x40 | ihl, 0, tot, 1, frag, 64,
                      proto, 0, src, dst)
    return hdr + opts + payload


def ip6(nh, payload, plen=None):
    if plen is None:
        plen = len(payload)
    src = bytes.fromhex("20010db8000000000000000000000001")
    dst = bytes.fromhex("20010db8000000000000000000000002")
    return struct.pack(">IHBB", 0x60000000, plen, nh, 64) + src + dst + \
        payload


def udp(sport=1234, dport=53, body=b"hello"):
    return struct.pack(">HHHH", sport, dport, 8 + len(body), 0) + body


def decode(sel, frame, tag=0):
    return bytes([sel, tag]) + frame


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def decode_inputs():
    # Hop-by-hop (8 bytes) -> routing header cut after 3 of its 8 bytes.
    chain = bytes([43, 0]) + b"\x01\x04\x00\x00\x00\x00" + b"\x06\x00\x00"
    write("fuzz_decode-ipv6-ext-chain-truncated",
          decode(EN10MB, eth(0x86DD, ip6(0, chain, plen=64))))
    # 100 stacked 802.1Q tags in front of an IPv4/UDP packet.
    tags = b"".join(struct.pack(">HH", i + 1, 0x8100) for i in range(99))
    tags += struct.pack(">HH", 100, 0x0800)
    write("fuzz_decode-vlan-stack-100",
          decode(EN10MB, eth(0x8100, tags + ip4(17, udp()))))
    # A stripped tag plus 3 in the frame: 4 in all, the limit, is fine...
    three = struct.pack(">HHHHHH", 7, 0x88A8, 8, 0x8100, 9, 0x0800)
    write("fuzz_decode-vlan-stripped-plus-3",
          decode(EN10MB, eth(0x8100, three + ip4(17, udp())), tag=0x21))
    # ... IHL 15 claims a 60-byte header; 24 bytes are there.
    write("fuzz_decode-ipv4-ihl15-truncated",
          decode(RAW, ip4(6, b"", ihl=15, tot=60, opts=b"\x01\x01\x01\x01")))
    # Total length below the header length (GSO frames carry 0 there).
    write("fuzz_decode-ipv4-totlen-zero",
          decode(IPV4, ip4(17, udp(), tot=0)))
    # ARP with hlen = plen = 255 and 30 bytes of addresses.
    arp = struct.pack(">HHBBH", 1, 0x0800, 255, 255, 1) + b"\xaa" * 30
    write("fuzz_decode-arp-huge-lengths", decode(EN10MB, eth(0x0806, arp)))
    # 17 destination-options headers (the walk stops at 16), then TCP.
    ext = b"".join(bytes([60, 0]) + b"\x01\x04" + b"\x00" * 4
                   for _ in range(16)) + bytes([6, 0]) + b"\x01\x04" + \
        b"\x00" * 4
    tcp = struct.pack(">HHIIBBHHH", 40000, 443, 1, 0, 0x50, 2, 0, 0, 0)
    write("fuzz_decode-ipv6-ext-17-headers",
          decode(IPV6, ip6(60, ext + tcp)))
    # Linux cooked v2 header one byte short.
    write("fuzz_decode-sll2-short", decode(SLL2, b"\x08\x00" + b"\x00" * 17))
    # BSD loopback, AF_INET6 (Darwin, 30) written in the other byte order.
    write("fuzz_decode-null-swapped-af6",
          decode(NULL, b"\x1e\x00\x00\x00" + ip6(17, udp())))
    # TCP header cut 3 bytes in: no ports.
    write("fuzz_decode-tcp-ports-cut",
          decode(EN10MB, eth(0x0800, ip4(6, b"\x9c\x40\x01", tot=43))))
    # IPv4 non-first fragment whose payload looks like UDP ports.
    write("fuzz_decode-ipv4-later-fragment",
          decode(LT_RAW, ip4(17, udp(), frag=0x0020)))
    # IPv6 fragment header, non-first (offset 8), then junk.
    frag = bytes([17, 0]) + struct.pack(">HI", 0x0008, 7) + b"\xff" * 8
    write("fuzz_decode-ipv6-later-fragment", decode(LOOP, b"\x00\x00\x00\x18"
                                                     + ip6(44, frag)))
    # Raw IP whose version nibble is 5: neither IPv4 nor IPv6.
    write("fuzz_decode-raw-version-5", decode(RAW, b"\x55" + b"\x00" * 27))
    # A zero-length frame and an unsupported link type.
    write("fuzz_decode-empty-frame", decode(EN10MB, b""))
    write("fuzz_decode-unsupported-dlt", decode(UNSUPP, eth(0x0800,
                                                            ip4(17, udp()))))
    # 802.3 length field + SNAP, and SLL with an 802.2 protocol.
    write("fuzz_decode-8023-length", decode(EN10MB, eth(0x0010, b"\xaa" * 16)))
    sll = struct.pack(">HHH8sH", 0, 1, 6, b"\x02" * 8, 0x0004) + b"\x42" * 8
    write("fuzz_decode-sll-8022", decode(SLL, sll))


def records(sel, cfg, recs):
    out = bytes([sel, cfg])
    for meta, frame, *claimed in recs:
        n = claimed[0] if claimed else len(frame)
        out += bytes([n, meta]) + frame
    return out


def udp_flow(i):
    src = bytes([10, 1, i >> 8 & 0xFF, i & 0xFF])
    return eth(0x0800, ip4(17, udp(sport=1000 + i, dport=53), src=src))


def flowtab_inputs():
    # 200 distinct flows through 8 slots, expiry every 8 packets with no
    # idle time; the clock moves every 10th packet. Between two expiry
    # runs 8 new flows arrive, more than the slots left after eviction
    # under pressure (down to 85 % of the cap), so the table overflows,
    # evicts and expires all the time.
    write("fuzz_flowtab-overflow-churn",
          records(EN10MB, 0x07, [(1 if i % 10 == 0 else 0, udp_flow(i))
                                 for i in range(200)]))
    # The same with 7 node allocations failing and idle 3 ticks.
    write("fuzz_flowtab-alloc-failures",
          records(EN10MB, 0xF8 | 3, [(1 | (i % 8) << 3, udp_flow(i % 20))
                                      for i in range(120)]))
    # The clock runs backwards on every packet (meta step -1).
    write("fuzz_flowtab-clock-backwards",
          records(EN10MB, 0x01, [(3, udp_flow(i % 12)) for i in range(60)]))
    # The last record claims 255 bytes and the input ends 3 bytes later.
    write("fuzz_flowtab-truncated-record",
          records(EN10MB, 0x02, [(1, udp_flow(1)), (1, udp_flow(2)),
                                 (0, b"\x02\x00\x00", 255)]))
    # Stripped tags (meta bit 2) and the largest wire-length padding.
    write("fuzz_flowtab-tags-and-wire",
          records(RAW, 0x09, [(0xFC | (i & 3), ip6(17, udp(sport=i)))
                              for i in range(40)]))
    # Every link type's garbage: 0-byte, 1-byte and 255-byte frames.
    write("fuzz_flowtab-tiny-frames",
          records(SLL2, 0x00, [(2, b""), (2, b"\x60"), (1, b"\xff" * 255)]
                  * 10))


def pcap(records_, snaplen=65535, linktype=1, magic=0xA1B2C3D4, fmt="<"):
    out = struct.pack(fmt + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)
    for ts, caplen, wirelen, data in records_:
        out += struct.pack(fmt + "IIII", ts, 0, caplen, wirelen) + data
    return out


def pcapfile_inputs():
    pkt = udp_flow(1)
    # snaplen 0 in the header and a record longer than it.
    write("fuzz_pcapfile-snaplen0-long-record",
          pcap([(1, len(pkt), len(pkt), pkt)], snaplen=0))
    # A record claiming 0x7fffffff captured bytes.
    write("fuzz_pcapfile-caplen-huge",
          pcap([(1, len(pkt), len(pkt), pkt), (2, 0x7FFFFFFF, 60, pkt)]))
    # The file ends 10 bytes into a record header.
    write("fuzz_pcapfile-truncated-record-header",
          pcap([(1, len(pkt), len(pkt), pkt)]) + b"\x01" * 10)
    # The file ends inside a record's data.
    write("fuzz_pcapfile-truncated-record-data",
          pcap([(1, len(pkt), len(pkt), pkt)])[:-5])
    # Finding 1 (fuzz/RESULTS.md): three good records, then a record
    # header cut short. The three are counted in the flows and totals;
    # cap_stats.received must say 3 too.
    write("fuzz_pcapfile-received-after-read-error",
          pcap([(i, len(pkt), len(pkt), pkt) for i in (1, 2, 3)]) +
          b"\x07" * 9)
    # caplen larger than the wire length.
    write("fuzz_pcapfile-caplen-over-wirelen",
          pcap([(1, len(pkt), 20, pkt), (2, len(pkt), 0, pkt)]))
    # Big-endian, nanosecond timestamps, LINKTYPE_RAW, ts at the limit.
    raw = ip4(17, udp())
    write("fuzz_pcapfile-be-nano-raw",
          pcap([(0xFFFFFFFF, len(raw), len(raw), raw)], linktype=101,
               magic=0xA1B23C4D, fmt=">"))
    # pcapng section header whose block length is not a multiple of 4.
    write("fuzz_pcapfile-pcapng-bad-block-length",
          struct.pack("<IIIHHq", 0x0A0D0D0A, 29, 0x1A2B3C4D, 1, 0, -1) +
          b"\x00" * 5 + struct.pack("<I", 29))
    # No magic: a synthesised header (unsupported link type, byte 0 = 9).
    write("fuzz_pcapfile-synth-unsupported", b"\x09\x10" + b"\x00" * 40)
    # No magic: synthesised Ethernet header, snaplen 16 * 4, two records.
    rec = struct.pack("<IIII", 5, 0, len(pkt), len(pkt)) + pkt
    write("fuzz_pcapfile-synth-ethernet-snaplen64", b"\x00\x04" + rec * 2)


def main():
    os.makedirs(OUT, exist_ok=True)
    decode_inputs()
    flowtab_inputs()
    pcapfile_inputs()


if __name__ == "__main__":
    main()
