#!/usr/bin/env python3
"""An IPVS sync v1 decoder written from Linux's net/netfilter/ipvs/ip_vs_sync.c
(ip_vs_process_message, ip_vs_proc_sync_conn) with struct, independent of the Rust
codec: tests/ipvs_sync.rs runs it on the messages rvs emits. Wireshark's `ipvs`
dissector reads the fixed part of v1 records but neither options nor padding, so the
options are checked here.

Usage: ipvs_sync_decode.py HEX...  (one message each). Prints one line per message:
  msg syncid=N nr_conns=N size=N
then per record either
  conn v6=0|1 proto=N flags=0x.. state=N cport=N vport=N dport=N fwmark=N timeout=N
       caddr=A vaddr=A daddr=A opts=TYPE:HEX,...   (one line)
or `skip type=T` (unknown mandatory option, retc 20), or `drop ERR` (negative retc:
the rest of the message is dropped)."""
import ipaddress
import struct
import sys

IPVS_OPT_SEQ_DATA, IPVS_OPT_PE_DATA, IPVS_OPT_PE_NAME = 1, 2, 3
IPVS_OPT_F_PARAM = 1 << (7 - 1)
SVER_SHIFT, SVER_MASK = 12, 0x0FFF


def proc_sync_conn(b):
    """ip_vs_proc_sync_conn on exactly one record's `size` bytes."""
    typ = b[0]
    if typ & 1:
        fixed, alen = 72, 16
    elif typ == 0:
        fixed, alen = 36, 4
    else:
        return "drop -10"
    if fixed > len(b):
        return "drop -20"
    proto = b[1]
    flags, state, cport, vport, dport, fwmark, timeout = struct.unpack_from(">IHHHHII", b, 4)
    addrs = [ipaddress.ip_address(b[24 + i * alen:24 + (i + 1) * alen]) for i in range(3)]
    p, opts, seen = fixed, [], set()
    while p < len(b):
        if p + 2 > len(b):
            return "drop -30"
        ptype, plen = b[p], b[p + 1]
        p += 2
        if not plen or p + plen > len(b):
            return "drop -40"
        data = b[p:p + plen]
        known = ptype & ~IPVS_OPT_F_PARAM
        if known == IPVS_OPT_SEQ_DATA:
            if plen != 24 or known in seen:
                return "drop -50"
            seen.add(known)
            opts.append("seq:" + ":".join(str(x) for x in struct.unpack(">6I", data)))
        elif known in (IPVS_OPT_PE_DATA, IPVS_OPT_PE_NAME):
            if plen > (255 if known == IPVS_OPT_PE_DATA else 16) or known in seen:
                return "drop -60"
            seen.add(known)
            opts.append("%d:%s" % (ptype, data.hex()))
        elif not ptype & IPVS_OPT_F_PARAM:
            return "skip type=%d" % ptype
        else:
            opts.append("%d:%s" % (ptype, data.hex()))
        p += plen
    return ("conn v6=%d proto=%d flags=0x%x state=%d cport=%d vport=%d dport=%d fwmark=%d timeout=%d "
            "caddr=%s vaddr=%s daddr=%s opts=%s" % (typ & 1, proto, flags, state, cport, vport, dport, fwmark,
                                                   timeout, *addrs, ",".join(opts)))


def process_message(buf):
    out = []
    if len(buf) < 4:
        return ["bad header too short"]
    reserved, syncid, size, nr_conns, version, spare = struct.unpack_from(">BBHBbH", buf + bytes(8), 0)
    if size != len(buf):
        return ["bad size"]
    if not (version == 1 and reserved == 0 and spare == 0):
        return ["bad version 0"]
    out.append("msg syncid=%d nr_conns=%d size=%d" % (syncid, nr_conns, size))
    msg_end = 8
    for _ in range(nr_conns):
        p = msg_end
        if p + 36 > len(buf):
            out.append("drop too small")
            break
        (ver_size,) = struct.unpack_from(">H", buf, p + 2)
        size = ver_size & SVER_MASK
        if p + size > len(buf):
            out.append("drop msg > buffer")
            break
        if ver_size >> SVER_SHIFT:
            out.append("drop version")
            break
        r = proc_sync_conn(buf[p:p + size])
        out.append(r)
        if r.startswith("drop"):
            break
        msg_end = p + ((size + 3) & ~3)
    return out


if __name__ == "__main__":
    for h in sys.argv[1:]:
        print("\n".join(process_message(bytes.fromhex(h))))
