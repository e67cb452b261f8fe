# app_oracle.py PCAP JSON: pktstat's app labels (JSON report of -r PCAP) against
# tshark's frame.protocols for the first packets of each TCP/UDP conversation.
# A payload label must be a protocol tshark names; a conversation tshark
# names and pktstat labels from its ports only must agree; prints
# "labels GOOD BAD" and each mismatch.
import json, subprocess, sys
OURS = {"http": "http", "tls": "tls", "quic": "quic", "ssh": "ssh",
        "dns": "dns", "mdns": "dns", "rdp": "rdp", "pgsql": "postgresql",
        "mqtt": "mqtt", "wg": "wireguard", "memcache": "memcached",
        "ftp": "ftp", "x11": "x11", "smtp": "smtp"}
INSPECT = 8
pcap, js = sys.argv[1], sys.argv[2]
out = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-E", "separator=|",
                      "-e", "ip.src", "-e", "ipv6.src", "-e", "ip.dst", "-e", "ipv6.dst",
                      "-e", "tcp.srcport", "-e", "udp.srcport", "-e", "tcp.dstport",
                      "-e", "udp.dstport", "-e", "frame.protocols"],
                     capture_output=True, text=True).stdout
conv = {}
for line in out.splitlines():
    f = line.split("|")
    if len(f) < 9:
        continue
    src = (f[0] or f[1]).split(",")[0]; dst = (f[2] or f[3]).split(",")[0]
    sp = (f[4] or f[5]).split(",")[0]; dp = (f[6] or f[7]).split(",")[0]
    if not sp or not dp:
        continue
    protos = f[8].split(":")
    l4 = "tcp" if "tcp" in protos else "udp" if "udp" in protos else None
    if not l4:
        continue
    k = (l4,) + tuple(sorted([(src, int(sp)), (dst, int(dp))]))
    c = conv.setdefault(k, [0, set()])
    c[0] += 1
    if c[0] <= INSPECT:
        # the protocol a layer above the transport (not tunnels inside)
        i = protos.index(l4)
        for p in protos[i + 1:]:
            if p in OURS:
                c[1].add(OURS[p])
                break
rep = json.load(open(js))
seen = {}
for fl in rep["flows"]:
    if fl["proto"] not in ("TCP", "UDP"):
        continue
    k = (fl["proto"].lower(),) + tuple(sorted([(fl["srcIp"], fl["srcPort"]), (fl["dstIp"], fl["dstPort"])]))
    seen[k] = (fl.get("app", ""), fl.get("appSource", ""))
good = bad = 0
for k, (app, src) in seen.items():
    if k not in conv:
        continue
    t = conv[k][1]
    if not t and not app:
        continue
    if (t and app in t and (src == "payload" or len(t) == 1)) or (not t and src == "port"):
        good += 1
    else:
        bad += 1
        print("mismatch %s: pktstat %s (%s), tshark %s" % (k, app or "-", src or "-", ",".join(sorted(t)) or "-"))
print("labels %d %d" % (good, bad))
