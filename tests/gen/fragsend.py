#!/usr/bin/python3
"""fragsend.py - send IP datagrams the kernel must fragment (tests).

  fragsend.py V4ADDR V6ADDR [COUNT]

From the calling network namespace, COUNT times each (default 3), 20 ms
apart: an ICMP echo request and an ICMPv6 echo request with 3000 bytes
of data (the replies come back fragmented too), a UDP datagram of 8000
bytes to V4ADDR port 9 from two source ports and to [V6ADDR]:9 from one,
and a 100-byte UDP datagram from the first port (a flow with fragmented
and whole datagrams). Every loop is bounded; needs root (raw sockets).
Nothing needs to listen: port 9 answers with ICMP errors, counted too.
"""
import socket
import struct
import sys
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def echo4(seq):
    body = struct.pack("!HH", 0x4242, seq) + bytes(i & 0xFF for i in range(3000))
    hdr = struct.pack("!BBH", 8, 0, 0)
    c = csum(hdr + body)
    return struct.pack("!BBH", 8, 0, c) + body


def echo6(seq):
    # the kernel fills in the ICMPv6 checksum of a raw ICMPv6 socket
    return struct.pack("!BBHHH", 128, 0, 0, 0x4243, seq) + bytes(3000)


def main():
    v4, v6 = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    n = max(1, min(n, 100))
    i4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    i6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    ua = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ub = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    for s in (ua, ub, u6):
        s.bind(("", 0))
    big = bytes(8000)
    for seq in range(n):
        i4.sendto(echo4(seq), (v4, 0))
        i6.sendto(echo6(seq), (v6, 0))
        ua.sendto(big, (v4, 9))
        ub.sendto(big, (v4, 9))
        u6.sendto(big, (v6, 9))
        ua.sendto(bytes(100), (v4, 9))
        time.sleep(0.02)


if __name__ == "__main__":
    main()
