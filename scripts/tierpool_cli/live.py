"""`tierpool top`: the live per-tier view of a running program, read from
the file it publishes with TIERPOOL_LIVE=1 (stats/live.h spells out the
same layout)."""

import mmap
import os
import struct
import sys
import time

from .fmt import fill_parts, fmt_bytes, fmt_percent, fmt_size, render_table

LIVE_MAGIC = 0x31564C4C4F4F5054
LIVE_VERSION = 2
# The fixed words every layout starts with; the rest (the counters) is
# named in the file itself (stats/live.h).
W_SEQ, W_HEADER_WORDS, W_TIER_WORDS, W_NAMES, W_NAMES_BYTES = 2, 3, 4, 5, 6
LIVE_MIN_BYTES = 8 * 8


def signed(v):
    """Words are two's complement: a live count may be briefly negative."""
    return v - 2**64 if v >= 2**63 else v


def live_path(pid):
    return "/dev/shm/tierpool.%d" % pid


def read_live(mm):
    """One consistent snapshot of the live file (sequence lock), or None."""
    for _ in range(1000):
        seq1 = struct.unpack_from("<Q", mm, 8 * W_SEQ)[0]
        if seq1 & 1:
            time.sleep(0.001)
            continue
        data = mm[:]
        seq2 = struct.unpack_from("<Q", mm, 8 * W_SEQ)[0]
        if seq1 != seq2:
            continue
        magic, version = struct.unpack_from("<2Q", data)
        if magic != LIVE_MAGIC or version != LIVE_VERSION:
            return None
        nh, nt, off, nbytes = struct.unpack_from("<4Q", data, 8 * W_HEADER_WORDS)
        if off + nbytes > len(data) or off % 8:
            return None
        names = data[off:off + nbytes].decode("ascii").split("\0")
        header_names, tier_names = names[:nh], names[nh + 1:nh + 1 + nt]
        words = struct.unpack_from("<%dQ" % (off // 8), data)
        h = {k: signed(v) for k, v in zip(header_names, words[:nh])}
        tiers = []
        for t in range(h["ntiers"]):
            w = nh + t * nt
            if w + nt > len(words):
                return None
            tiers.append({k: signed(v) for k, v in zip(tier_names, words[w:w + nt])})
        h["tiers"] = tiers
        return h
    return None


def render_top(pid, cur, prev):
    dt = (cur["mono_ns"] - prev["mono_ns"]) / 1e9 if prev else 0
    out = ["tierpool top: pid %d (%s), threads: %d started, %d exited; refreshed %s" % (
        pid, exe_of(pid), cur["threads_started"], cur["threads_exited"],
        time.strftime("%H:%M:%S", time.localtime(cur["time_ns"] / 1e9)))]

    def rate(name, t, pt):
        if not dt or pt is None:
            return "-"
        return "%.0f" % ((t[name] - pt[name]) / dt)

    prevt = {t["size"]: t for t in prev["tiers"]} if prev else {}
    rows = []
    for t in cur["tiers"]:
        if not (t["get"] or t["put"] or t["cached"] or t["central"] or t["committed_bytes"]):
            continue
        pt = prevt.get(t["size"])
        rows.append((fmt_size(t["size"]), [
            rate("get", t, pt), rate("put", t, pt), str(t["live"]),
            fmt_bytes(max(t["live"], 0) * t["size"]), str(t.get("peak_live", "-")),
            str(t["get"]), str(t["put"]),
            fmt_percent(*fill_parts(t["bytes_requested"], t["get"], t["size"])),
            str(t["cached"]), fmt_bytes(t["committed_bytes"])]))
    live = sum(t["live"] for t in cur["tiers"])
    live_bytes = sum(t["live"] * t["size"] for t in cur["tiers"])
    total = [rate("total_get", cur, prev if prev else None), rate("total_put", cur, prev),
             str(live), fmt_bytes(max(live_bytes, 0)), str(cur.get("peak_live", "-")),
             str(cur["total_get"]),
             str(cur["total_put"]), "", str(sum(t["cached"] for t in cur["tiers"])),
             fmt_bytes(sum(t["committed_bytes"] for t in cur["tiers"]))]
    out += render_table("tier", ["get/s", "put/s", "live", "live bytes", "peak", "get", "put", "fill",
                                 "cached", "committed"], rows, total)
    out.append("discarded to mimalloc: %d (%s)" % (cur["discarded"], fmt_bytes(cur["discarded_bytes"])))
    if live == 0:
        out.append("balanced: every get has its put")
    else:
        out.append("live: %d blocks (%d bytes) not yet put back" % (live, live_bytes))
    return "\n".join(out) + "\n"


def exe_of(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return "?"


def cmd_top(args):
    path = live_path(args.pid)
    if os.path.exists(path) and not os.path.exists("/proc/%d" % args.pid):
        raise SystemExit("tierpool top: process %d is not running; %s is stale (it was killed "
                         "before it could remove it): delete it" % (args.pid, path))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise SystemExit("tierpool top: no live file %s: run the program with TIERPOOL_LIVE=1 "
                         "(tierpool run --live -- CMD)" % path)
    except OSError as e:
        raise SystemExit("tierpool top: %s: %s" % (path, e.strerror))
    with os.fdopen(fd, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < LIVE_MIN_BYTES:
            raise SystemExit("tierpool top: %s is not a tierpool live file" % path)
        mm = mmap.mmap(f.fileno(), size, prot=mmap.PROT_READ)
    clear = sys.stdout.isatty() and not args.count
    prev = None
    shown = 0
    try:
        while True:
            cur = read_live(mm)
            # The file changes once a second: wait for a fresh snapshot, so
            # that rates are never computed over zero time.
            deadline = time.monotonic() + 3
            while prev and cur and cur["updates"] == prev["updates"] and time.monotonic() < deadline:
                time.sleep(0.05)
                cur = read_live(mm)
            if cur is None:
                raise SystemExit("tierpool top: %s: unknown layout or never consistent" % path)
            text = render_top(args.pid, cur, prev)
            sys.stdout.write(("\x1b[H\x1b[2J" if clear else "") + text)
            if not clear:
                sys.stdout.write("\n")
            sys.stdout.flush()
            shown += 1
            if args.count and shown >= args.count:
                return 0
            prev = cur
            time.sleep(args.delay)
            if not os.path.exists(path) or not os.path.exists("/proc/%d" % args.pid):
                print("tierpool top: process %d has exited" % args.pid)
                return 0
    except KeyboardInterrupt:
        return 0

