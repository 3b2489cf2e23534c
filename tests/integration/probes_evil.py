#!/usr/bin/env python3
"""Misbehaving servers for the probe integration tests (run inside a lab
namespace, never on a real address).  Every mode is bounded in time by the
caller, who kills it.

  probes_evil.py http-endless ADDR PORT      200 OK, then a body that never ends
  probes_evil.py tls-garbage ADDR PORT       random bytes instead of a TLS ServerHello
  probes_evil.py silent ADDR PORT            accepts, never says a word
  probes_evil.py smtp-big ADDR PORT          a 1 MB greeting
  probes_evil.py smtp-slow ADDR PORT         a greeting at one byte per second
  probes_evil.py smtp-reply ADDR PORT TEXT   TEXT (with \\r\\n escapes) as greeting, then 250s
  probes_evil.py dns ADDR ALT_ADDR           crafted DNS replies chosen by the query name
  probes_evil.py trace-forger IFACE SRC      answers each UDP probe seen on IFACE with a forged quote
"""
import os
import random
import select
import socket
import struct
import sys
import threading
import time


def tcp_server(addr, port, handler):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(128)
    while True:
        c, _ = s.accept()
        threading.Thread(target=guard, args=(handler, c), daemon=True).start()


def guard(handler, c):
    try:
        handler(c)
    except OSError:
        pass
    finally:
        c.close()


def http_endless(c):
    c.recv(4096)
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
    chunk = b"x" * 16384
    for _ in range(100000):  # bounded: 1.6 GB at most, the client cuts far earlier
        c.sendall(chunk)


def tls_garbage(c):
    c.recv(4096)
    c.sendall(os.urandom(4096))
    time.sleep(2)


def silent(c):
    time.sleep(600)


def smtp_big(c):
    c.sendall(b"220 " + b"A" * (1 << 20) + b"\r\n")
    time.sleep(5)


def smtp_slow(c):
    for b in b"220 slow.lab.test ESMTP\r\n":
        c.sendall(bytes([b]))
        time.sleep(1)


def smtp_reply(text):
    def h(c):
        c.sendall(text)
        for _ in range(4):
            data = c.recv(1024)
            if not data:
                return
            if data.upper().startswith(b"QUIT"):
                c.sendall(b"221 bye\r\n")
                return
            c.sendall(b"250 ok\r\n")
    return h


# ---- DNS ----

def dns_name(wire, off):
    labels = []
    while wire[off] != 0:
        n = wire[off]
        labels.append(wire[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return ".".join(labels).lower(), off + 1


def enc_name(name):
    out = b""
    for l in name.strip(".").split("."):
        out += bytes([len(l)]) + l.encode()
    return out + b"\0"


def dns_reply(q, mode):
    qid, flags = struct.unpack(">HH", q[:4])
    name, end = dns_name(q, 12)
    qtype = struct.unpack(">H", q[end:end + 2])[0]
    question = q[12:end + 4]
    hdr = lambda i, fl, an: struct.pack(">HHHHHH", i, fl, 1, an, 0, 0)
    a_rr = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 77])
    if mode == "loop":
        at = 12 + len(question)
        rr = struct.pack(">H", 0xC000 | at) + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 77])
        return hdr(qid, 0x8400, 1) + question + rr
    if mode == "wrongid":
        return hdr((qid + 1) & 0xFFFF, 0x8400, 1) + question + a_rr
    if mode == "wrongq":
        other = enc_name("other.evil.test") + struct.pack(">HH", qtype, 1)
        return hdr(qid, 0x8400, 1) + other + a_rr
    if mode == "trunc":
        rr = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 40) + bytes([192, 0, 2, 77])
        return hdr(qid, 0x8400, 1) + question + rr
    if mode == "tc":
        return hdr(qid, 0x8600, 0) + question
    return hdr(qid, 0x8400, 1) + question + a_rr


def dns_server(addr, alt):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((addr, 53))
    ua = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ua.bind((alt, 53))
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((addr, 53))
    t.listen(16)
    while True:
        r, _, _ = select.select([u, t], [], [], 1)
        if u in r:
            q, peer = u.recvfrom(4096)
            try:
                name, _ = dns_name(q, 12)
            except (IndexError, UnicodeError):
                continue
            mode = name.split(".")[0]
            if mode == "wrongsrc":
                ua.sendto(dns_reply(q, "good"), peer)
            elif mode == "forgedfirst":
                # a forged reply from elsewhere, then the real one: only the real one counts
                ua.sendto(dns_reply(q, "good")[:-4] + bytes([192, 0, 2, 66]), peer)
                u.sendto(dns_reply(q, "good"), peer)
            else:
                u.sendto(dns_reply(q, mode), peer)
        if t in r:
            c, _ = t.accept()
            c.settimeout(2)
            try:
                ln = struct.unpack(">H", c.recv(2))[0]
                q = b""
                while len(q) < ln:
                    q += c.recv(ln - len(q))
                rep = dns_reply(q, "good")
                c.sendall(struct.pack(">H", len(rep)) + rep)
            except (OSError, struct.error):
                pass
            c.close()


# ---- trace ----

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(">%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def trace_forger(iface, src):
    """Answers every UDP probe to port 33434 seen on iface with an ICMP time
    exceeded whose quote carries a payload we altered: a packet the prober
    never sent."""
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
    sniff.bind((iface, 0x0800))
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    raw.setsockopt(socket.SOL_SOCKET, 36, 42)  # SO_MARK: lets nft tell us from the kernel
    print("trace-forger ready on", iface, flush=True)  # the script waits for this line
    while True:
        pkt = sniff.recv(2048)
        if len(pkt) < 28 or pkt[9] != 17:
            continue
        ihl = (pkt[0] & 15) * 4
        dport = struct.unpack(">H", pkt[ihl + 2:ihl + 4])[0]
        if dport != 33434:
            continue
        quoted = bytearray(pkt[:ihl + 8 + 24])
        if len(quoted) > ihl + 8 + 14:
            quoted[ihl + 8 + 14] ^= 0xFF  # one byte of the tag
        body = struct.pack(">BBHI", 11, 0, 0, 0) + bytes(quoted)
        body = body[:2] + struct.pack(">H", csum(body)) + body[4:]
        dst = socket.inet_ntoa(pkt[12:16])
        raw.sendto(body, (dst, 0))


def main():
    mode = sys.argv[1]
    if mode == "http-endless":
        tcp_server(sys.argv[2], int(sys.argv[3]), http_endless)
    elif mode == "tls-garbage":
        tcp_server(sys.argv[2], int(sys.argv[3]), tls_garbage)
    elif mode == "silent":
        tcp_server(sys.argv[2], int(sys.argv[3]), silent)
    elif mode == "smtp-big":
        tcp_server(sys.argv[2], int(sys.argv[3]), smtp_big)
    elif mode == "smtp-slow":
        tcp_server(sys.argv[2], int(sys.argv[3]), smtp_slow)
    elif mode == "smtp-reply":
        text = sys.argv[4].encode().decode("unicode_escape").encode("latin-1")
        tcp_server(sys.argv[2], int(sys.argv[3]), smtp_reply(text))
    elif mode == "dns":
        dns_server(sys.argv[2], sys.argv[3])
    elif mode == "trace-forger":
        trace_forger(sys.argv[2], sys.argv[3])
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
