"""bench/dnswire.py: a minimal DNS client over UDP (Python standard library
only), enough for bench/authdns.py's readiness wait and cross-check: one
question with EDNS0 (as dnsperf -e sends it), and the reply parsed into
rcode, AA, TC, the answer, authority and additional sections (TXT rdata as
a tuple of strings, NS and SOA names decompressed, owners lower-cased) and
whether an OPT came back."""
import random
import socket
import struct

TYPES = {"A": 1, "NS": 2, "SOA": 6, "TXT": 16, "AAAA": 28, "OPT": 41}
TNAME = {v: k for k, v in TYPES.items()}


def query(name, qtype, qid):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 1)  # RD as dnsperf sends it
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", TYPES[qtype], 1)
    return q + b"\0" + struct.pack(">HHIH", 41, 1232, 0, 0)  # OPT, as dnsperf -e


def read_name(msg, pos):
    labels, jumped, end = [], False, pos
    for _ in range(128):
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            if not jumped:
                end = pos + 2
            pos, jumped = ((n & 0x3F) << 8) | msg[pos + 1], True
            continue
        if n == 0:
            return ".".join(labels).lower() + ".", (end if jumped else pos + 1)
        labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    raise ValueError("name loop")


def rdata(msg, rtype, pos, rdlen):
    if rtype == 16:
        out, p = [], pos
        while p < pos + rdlen:
            out.append(msg[p + 1:p + 1 + msg[p]].decode("ascii", "replace"))
            p += 1 + msg[p]
        return tuple(out)
    if rtype == 2:
        return read_name(msg, pos)[0]
    if rtype == 6:
        m, p = read_name(msg, pos)
        r, p = read_name(msg, p)
        return (m, r) + struct.unpack(">IIIII", msg[p:p + 20])
    return msg[pos:pos + rdlen].hex()


def parse(msg):
    """rcode, aa, answer (TXT set as a sorted list), authority, OPT seen."""
    qid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", msg[:12])
    pos = 12
    for _ in range(qd):
        pos = read_name(msg, pos)[1] + 4
    secs = []
    opt = None
    for count in (an, ns, ar):
        rrs = []
        for _ in range(count):
            owner, pos = read_name(msg, pos)
            rtype, rclass, ttl, rdlen = struct.unpack(">HHIH", msg[pos:pos + 10])
            pos += 10
            if rtype == 41:
                opt = {"udp_size": rclass}
            else:
                rrs.append((owner, TNAME.get(rtype, rtype), ttl, rdata(msg, rtype, pos, rdlen)))
            pos += rdlen
        secs.append(sorted(rrs, key=repr))
    return {"rcode": flags & 0xF, "aa": bool(flags & 0x400), "tc": bool(flags & 0x200),
            "answer": secs[0], "authority": secs[1], "additional": secs[2],
            "edns": opt is not None, "bytes": len(msg)}


def ask(port, name, qtype, timeout=1.0):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        qid = random.randrange(65536)
        s.sendto(query(name, qtype, qid), ("127.0.0.1", port))
        data = s.recv(65535)
        return parse(data)
