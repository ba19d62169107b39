"""report.py - from raw runs to medians, ratios, targets, and the three
files: NAME.md (tables), NAME.json (every run), NAME.png (chart).

Ratios are to glibc malloc's median for the same case: below 1 is faster
or smaller. A geometric mean covers the cases where both the allocator and
glibc succeeded and the case counts (server_mix_1t is there only for the
scaling figure); when an allocator failed a case, the count it covers is
shown beside it.
"""
import json
import math
import statistics

from . import measure
from .micro import HEADLINE, field as _field

BASE = "glibc"
TP = "tierpool"
TP_OFF = "tierpool-nocount"

# Issue 5's targets and issue 3's cost budget (counters and ring).
MAX_IR = 30            # instructions per pooled pair, every tier, single and batch
MAX_NS = 5.0           # native ns per small pair, 1 and 2 threads
MAX_GEO_WALL = 0.75    # geomean wall over bench/ workloads, x glibc
MAX_ONE_WALL = 1.10    # any single workload, x glibc
MAX_GEO_RSS = 1.30     # geomean peak RSS, x glibc
MIN_SCALING = 1.80     # server_mix, 2 threads vs 1
MAX_COUNTER_IR = 3     # instructions the counters and ring add per pair
MAX_COUNTER_WALL = 1.03
# Issue 13, "memory kept": the fixed RSS on a tiny program, and mstress.
MAX_FIXED_RSS_KIB = 0.1 * 1024
MAX_MSTRESS_RSS = 1.10
# Issue 13, large blocks and batches: malloc_large and realloc_grow against
# glibc; the batch workloads against tcmalloc; instructions per pair against
# the best peer at every size up to 64 KiB.
MAX_LARGE_WALL, MAX_LARGE_RSS, MAX_REALLOC_WALL = 1.0, 1.1, 1.0
BATCH_PEER = "tcmalloc"
MAX_PEER_IR_SIZE = 64 << 10

# A verdict needs runs that can carry one: not --quick (one run of each case
# at a small size), at least MIN_VERDICT_RUNS runs per allocator, and, for a
# single case's wall-time verdict, a glibc median of MIN_VERDICT_WALL s.
MIN_VERDICT_RUNS = 3
MIN_VERDICT_WALL = 0.2


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def summarize(case):
    """Adds median and failure per allocator to one case."""
    case["median"], case["failure"] = {}, {}
    for a, runs in case["results"].items():
        bad = [(i, r) for i, r in enumerate(runs) if not r.ok]
        if bad:
            i, r = bad[0]
            case["failure"][a] = "%s (run %d of %d)" % (r.status, i + 1, len(runs))
            continue
        m = {"wall_s": statistics.median(r.wall for r in runs),
             "cpu_s": statistics.median(r.cpu for r in runs),
             "maxrss_kib": statistics.median(r.maxrss_kib for r in runs)}
        for key in ("peak_rss_kib", "freed_rss_kib", "final_rss_kib", "live_kib"):
            vals = [_field(r.out, key) for r in runs]
            if all(v is not None for v in vals) and vals:
                m[key] = statistics.median(vals)
        case["median"][a] = m


def ratio(case, a, metric):
    m, b = case["median"].get(a), case["median"].get(BASE)
    if not m or not b or not b.get(metric):
        return None
    return m[metric] / b[metric]


def geo(cases, a, metric, kind=None):
    """(geomean, cases covered, cases counted) for allocator a."""
    counted = [c for c in cases if c["in_geomean"] and (kind is None or c["kind"] == kind)]
    rs = [ratio(c, a, metric) for c in counted]
    got = [r for r in rs if r is not None]
    return geomean(got), len(got), len(counted)


def _verdict(ok, miss):
    if ok is None:
        return "n/a (no figure)"
    return "met" if ok else "MISSED: " + miss


def no_verdict(data):
    """Why this run gives no met/MISSED verdict, or None if it may."""
    cfg = data["config"]
    if cfg.get("quick"):
        return "--quick: runs too short for a verdict"
    if cfg.get("runs", 0) < MIN_VERDICT_RUNS:
        return "%d run%s: at least %d for a verdict" % (
            cfg.get("runs", 0), "" if cfg.get("runs") == 1 else "s", MIN_VERDICT_RUNS)
    return None


def targets(data):
    """Each target of issue 5 (and issue 3's counter budget) with its
    measured figure and verdict, as rows for the report and the JSON
    (every verdict n/a when no_verdict() says so)."""
    rows = _target_rows(data)
    why = no_verdict(data)
    return [{"target": t, "figure": f, "verdict": "n/a (%s)" % why if why else v}
            for t, f, v in rows]


def _target_rows(data):
    cases, names = data["cases"], [a["name"] for a in data["allocators"]]
    micro = data.get("micro") or {}
    ir = micro.get("ir") or {}
    rows = []

    tp_ir = ir.get(TP, {})
    cells = [(v, mode, size) for mode, d in tp_ir.items() for size, v in d.items() if v is not None]
    if cells:
        worst = max(cells)
        fig = "max %.1f (%s, %s)" % (worst[0], worst[1], _size(worst[2]))
        rows.append(("Instructions per pooled malloc+free pair, counters and ring on, every tier "
                     "16 B-1 MiB, single and batch of 100 <= %d" % MAX_IR, fig,
                     _verdict(worst[0] <= MAX_IR, "%.1f > %d" % (worst[0], MAX_IR))))
    else:
        rows.append(("Instructions per pooled pair <= %d" % MAX_IR, "-", _verdict(None, "")))

    nat = (micro.get("native") or {}).get(TP, {})
    for t in (1, 2):
        v = nat.get(t)
        rows.append(("Native ns per 64 B malloc+free pair, %d thread%s <= %g" %
                     (t, "s" if t > 1 else "", MAX_NS),
                     "-" if v is None else "%.2f ns" % v,
                     _verdict(None if v is None else v <= MAX_NS, "%.2f ns" % (v or 0))))

    g, n, m = geo(cases, TP, "wall_s", "workload")
    rows.append(("Geomean wall over bench/ workloads <= %.2fx glibc" % MAX_GEO_WALL,
                 _gfig(g, n, m), _verdict(None if g is None else g <= MAX_GEO_WALL and n == m,
                                          "%s" % _gfig(g, n, m))))
    peers = [(geo(cases, a, "wall_s", "workload")[0], a) for a in names
             if a not in (BASE, TP, TP_OFF)]
    peers = [p for p in peers if p[0] is not None]
    if g is not None and peers:
        best = min(peers)
        rows.append(("Geomean wall below every peer's", "tierpool %.3fx, best peer %s %.3fx" %
                     (g, best[1], best[0]), _verdict(g < best[0], "%.3fx >= %.3fx" % (g, best[0]))))
    worst, fails = None, []
    for c in cases:
        if c["kind"] != "workload":
            continue
        if TP in c["failure"]:
            fails.append(c["name"])
        b = c["median"].get(BASE)
        if b and b["wall_s"] < MIN_VERDICT_WALL:
            continue  # start-up, not the workload (tiny): no wall verdict
        r = ratio(c, TP, "wall_s")
        if r is not None and (worst is None or r > worst[0]):
            worst = (r, c["name"])
    if worst or fails:
        parts = ["worst %s %.2fx" % (worst[1], worst[0])] if worst else []
        if fails:
            parts.append("failed: " + ", ".join(fails))
        fig = "; ".join(parts)
        ok = (worst is None or worst[0] <= MAX_ONE_WALL) and not fails
        rows.append(("No bench/ workload slower than %.2fx glibc" % MAX_ONE_WALL, fig,
                     _verdict(ok, fig)))

    g, n, m = geo(cases, TP, "maxrss_kib")
    rows.append(("Geomean peak RSS (all cases) <= %.2fx glibc" % MAX_GEO_RSS, _gfig(g, n, m),
                 _verdict(None if g is None else g <= MAX_GEO_RSS, _gfig(g, n, m))))

    sc = scaling(cases).get(TP)
    rows.append(("server_mix: 2 threads >= %.1fx the throughput of 1" % MIN_SCALING,
                 "-" if sc is None else "%.2fx" % sc,
                 _verdict(None if sc is None else sc >= MIN_SCALING, "%.2fx" % (sc or 0))))

    off = ir.get(TP_OFF, {})
    diffs = [(tp_ir[mo][s] - off[mo][s], mo, s) for mo in tp_ir for s in tp_ir[mo]
             if tp_ir[mo][s] is not None and off.get(mo, {}).get(s) is not None]
    if diffs:
        d = max(diffs)
        rows.append(("Counters and ring cost per pooled pair <= %d instructions (issue 3)" %
                     MAX_COUNTER_IR, "max +%.1f (%s, %s)" % (d[0], d[1], _size(d[2])),
                     _verdict(d[0] <= MAX_COUNTER_IR, "+%.1f" % d[0])))
    for kind, what in (("program", "real programs"), ("workload", "bench/ workloads")):
        both = [c for c in cases if c["kind"] == kind and c["in_geomean"]
                and TP in c["median"] and TP_OFF in c["median"]]
        gw = geomean([c["median"][TP]["wall_s"] / c["median"][TP_OFF]["wall_s"] for c in both])
        gc = geomean([c["median"][TP]["cpu_s"] / c["median"][TP_OFF]["cpu_s"] for c in both])
        fig = "-" if gw is None else "%+.1f%% wall, %+.1f%% user+sys (geomean over %d)" % (
            (gw - 1) * 100, (gc - 1) * 100, len(both))
        rows.append(("Counters and ring cost in wall time, %s <= %d%% (issue 3)" %
                     (what, round((MAX_COUNTER_WALL - 1) * 100)), fig,
                     _verdict(None if gw is None else gw <= MAX_COUNTER_WALL,
                              "%+.1f%%" % (((gw or 1) - 1) * 100))))
    g, n, m = geo(cases, TP, "wall_s", "program")
    rows.append(("Whole programs at least as fast as glibc (DESIGN.md): geomean <= 1.00x",
                 _gfig(g, n, m), _verdict(None if g is None else g <= 1.0, _gfig(g, n, m))))
    rows += _engine_rows(cases, ir, names, micro.get("native_batch") or {})
    rows += _memory_kept_rows(cases)
    return rows


def _engine_rows(cases, ir, names, bat):
    """Issue 13's large-block, batch and instruction targets. The batch
    targets from the micro's native batches (bat, scripts/bench's micro
    step) when the run has them, else from the batch_4k and batch_64k
    workloads (no verdict: too short for the allocators but glibc)."""
    by, rows = {c["name"]: c for c in cases}, []

    def cell(what, r, limit):
        fig = "-" if r is None else "%.2fx" % r
        rows.append((what, fig, _verdict(None if r is None else r <= limit, fig)))

    lg = by.get("malloc_large")
    cell("malloc_large: wall <= %.1fx glibc (issue 13)" % MAX_LARGE_WALL,
         ratio(lg, TP, "wall_s") if lg else None, MAX_LARGE_WALL)
    cell("malloc_large: peak RSS <= %.1fx glibc (issue 13)" % MAX_LARGE_RSS,
         ratio(lg, TP, "maxrss_kib") if lg else None, MAX_LARGE_RSS)
    rg = by.get("realloc_grow")
    cell("realloc_grow: wall <= %.1fx glibc (issue 13)" % MAX_REALLOC_WALL,
         ratio(rg, TP, "wall_s") if rg else None, MAX_REALLOC_WALL)
    for name, size in (("batch_4k", 4096), ("batch_64k", 65536)):
        tp, peer = bat.get(TP, {}).get(size), bat.get(BATCH_PEER, {}).get(size)
        if tp is not None and peer is not None and peer > 0:
            fig = "%.2fx %s's (user+sys %.3f s against %.3f s)" % (
                tp / peer, BATCH_PEER, tp, peer)
            rows.append(("%s batches of 100: time <= %s's (issue 13)" % (_size(size), BATCH_PEER),
                         fig, _verdict(tp <= peer, "%.2fx" % (tp / peer))))
            continue
        c = by.get(name, {"median": {}})
        tp, peer = c["median"].get(TP), c["median"].get(BATCH_PEER)
        r = tp["wall_s"] / peer["wall_s"] if tp and peer and peer["wall_s"] > 0 else None
        fig = "-" if r is None else "%.2fx %s's (%.3f s against %.3f s)" % (
            r, BATCH_PEER, tp["wall_s"], peer["wall_s"])
        # Runs this short time the start-up as much as the batches.
        short = r is not None and min(tp["wall_s"], peer["wall_s"]) < MIN_VERDICT_WALL
        rows.append(("%s: wall <= %s's (issue 13)" % (name, BATCH_PEER), fig,
                     "n/a (a run under %g s)" % MIN_VERDICT_WALL if short else
                     _verdict(None if r is None else r <= 1.0, "%.2fx" % (r or 0))))

    peers = [a for a in names if a not in (TP, TP_OFF)]
    tp_ir, misses, cells = ir.get(TP, {}), [], 0
    for mode, d in tp_ir.items():
        for size, v in d.items():
            if v is None or int(size) > MAX_PEER_IR_SIZE:
                continue
            best = min(((ir.get(a, {}).get(mode, {}).get(size), a) for a in peers
                        if ir.get(a, {}).get(mode, {}).get(size) is not None), default=None)
            if best is None:
                continue
            cells += 1
            if v > best[0]:
                misses.append((v - best[0], mode, size, v, best))
    if cells:
        if misses:
            w = max(misses)
            fig = "%d of %d above; worst %s %s: %.1f, %s %.1f" % (
                len(misses), cells, w[1], _size(w[2]), w[3], w[4][1], w[4][0])
        else:
            fig = "at or below at all %d" % cells
        rows.append(("Instructions per pair at or below the best peer's, 16 B-64 KiB, single and "
                     "batch (issue 13)", fig, _verdict(not misses, fig)))
    return rows


def _memory_kept_rows(cases):
    """Issue 13: tiny's peak RSS against glibc's, in MiB added; mstress's
    as a ratio."""
    by = {c["name"]: c for c in cases}
    tiny, rows = by.get("tiny"), []
    tp, base = [(tiny or {}).get("median", {}).get(a) for a in (TP, BASE)]
    d = tp["maxrss_kib"] - base["maxrss_kib"] if tp and base else None
    rows.append(("tiny: peak RSS within %.1f MiB of glibc's (issue 13)" %
                 (MAX_FIXED_RSS_KIB / 1024),
                 "-" if d is None else "%+d KiB (glibc %.2f MiB)" % (d, base["maxrss_kib"] / 1024),
                 _verdict(None if d is None else d <= MAX_FIXED_RSS_KIB,
                          "%+d KiB > %d" % (d or 0, MAX_FIXED_RSS_KIB))))
    r = ratio(by["mstress"], TP, "maxrss_kib") if "mstress" in by else None
    rows.append(("mstress: peak RSS <= %.2fx glibc (issue 13)" % MAX_MSTRESS_RSS,
                 "-" if r is None else "%.2fx" % r,
                 _verdict(None if r is None else r <= MAX_MSTRESS_RSS, "%.2fx" % (r or 0))))
    return rows


def scaling(cases):
    """{alloc: throughput of server_mix on 2 threads / on 1}: each thread
    does the same operations, so it is 2 * wall(1 thread) / wall(2)."""
    c2 = next((c for c in cases if c["name"] == "server_mix"), None)
    c1 = next((c for c in cases if c["name"] == "server_mix_1t"), None)
    if not c1 or not c2:
        return {}
    return {a: 2 * c1["median"][a]["wall_s"] / c2["median"][a]["wall_s"]
            for a in c2["median"] if a in c1["median"]}


def _gfig(g, n, m):
    if g is None:
        return "-"
    return "%.3fx" % g + ("" if n == m else " (over %d of %d)" % (n, m))


def _size(n):
    n = int(n)
    return "%d MiB" % (n >> 20) if n >= 1 << 20 else "%d KiB" % (n >> 10) if n >= 1024 else \
        "%d B" % n


# --- markdown -------------------------------------------------------------

def _table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]
    return "\n".join(out)


def _cell(case, a, metric):
    if a in case["failure"]:
        return "**FAIL**"
    r = ratio(case, a, metric)
    return "-" if r is None else "%.2f" % r


def spread(case, metric):
    """How far one allocator's runs of this case lie apart: the median over
    allocators of (max - min) / median. A ratio that differs from 1.00 by
    less than this is within the noise of the machine."""
    key = {"wall_s": "wall", "cpu_s": "cpu"}[metric]
    rel = []
    for a, runs in case["results"].items():
        vals = [getattr(r, key) for r in runs if r.ok]
        if len(vals) > 1 and statistics.median(vals) > 0:
            rel.append((max(vals) - min(vals)) / statistics.median(vals))
    return statistics.median(rel) if rel else None


def _ratio_table(cases, names, metric, unit, scale, verdict):
    head = ["case", "glibc (%s)" % unit] + [a for a in names if a != BASE]
    timed = metric in ("wall_s", "cpu_s")
    if timed:
        head.append("run spread")
    if verdict:
        head.append("tierpool <= %.1fx" % MAX_ONE_WALL)
    rows = []
    for c in cases:
        b = c["median"].get(BASE)
        row = [c["name"] + ("" if c["in_geomean"] else " *"),
               "**FAIL**" if BASE in c["failure"] else "-" if not b else "%.3g" % (b[metric] * scale)]
        row += [_cell(c, a, metric) for a in names if a != BASE]
        if timed:
            sp = spread(c, metric)
            row.append("-" if sp is None else "%.0f%%" % (sp * 100))
        if verdict:
            r = ratio(c, TP, metric)
            row.append("**FAIL**" if TP in c["failure"] else "-" if r is None else
                       "n/a (< %g s)" % MIN_VERDICT_WALL if b[metric] < MIN_VERDICT_WALL else
                       "met" if r <= MAX_ONE_WALL else "MISSED (%.2fx)" % r)
        rows.append(row)
    return rows, head


def markdown(data):
    cases, names = data["cases"], [a["name"] for a in data["allocators"]]
    mach, cfg = data["machine"], data["config"]
    L = ["# tierpool benchmarks", "",
         "Produced by `scripts/bench%s` on %s. Every figure below comes from that one run; "
         "nothing is typed by hand." % (cfg["argv"], mach["date"]), "",
         _table(["machine", ""], [["CPU", mach["cpu"]], ["nproc", mach["nproc"]],
                                  ["kernel", mach["kernel"]], ["glibc", mach["glibc"]],
                                  ["tierpool", mach["tierpool"]]]), "",
         _table(["allocator", "library", "version"],
                [[a["name"], "`%s`" % (a["lib"] or "none (glibc malloc)"), a["version"]]
                 for a in data["allocators"]]), "",
         "Each case ran %d time(s) per allocator, the allocators alternating run by run "
         "(%s, then again); figures are medians. Ratios are to glibc: below 1.00 is faster or "
         "smaller. `*`: not in the geometric means. `run spread`: the median over allocators "
         "of (slowest run - fastest run) / median run; a ratio closer to 1.00 than that is "
         "within the noise of the machine." % (cfg["runs"], ", ".join(names)), ""]
    L += ["## Targets", "", _table(["target", "measured", "verdict"],
                                   [[t["target"], t["figure"], t["verdict"]]
                                    for t in data["targets"]]), ""]
    verdicts = no_verdict(data) is None
    for kind, title in (("workload", "bench/ workloads"), ("program", "Real programs")):
        cs = [c for c in cases if c["kind"] == kind]
        if not cs:
            continue
        L += ["## %s: wall time" % title, ""]
        rows, head = _ratio_table(cs, names, "wall_s", "s", 1, kind == "workload" and verdicts)
        rows.append(_geo_row(cases, names, "wall_s", kind, kind == "workload" and verdicts))
        L += [_table(head, rows), ""]
        L += ["## %s: user+sys time" % title, ""]
        rows, head = _ratio_table(cs, names, "cpu_s", "s", 1, False)
        rows.append(_geo_row(cases, names, "cpu_s", kind, False))
        L += [_table(head, rows), ""]
        L += ["## %s: peak RSS" % title, ""]
        rows, head = _ratio_table(cs, names, "maxrss_kib", "MiB", 1 / 1024, False)
        rows.append(_geo_row(cases, names, "maxrss_kib", kind, False))
        L += [_table(head, rows), ""]
    L += _misc(data, cases, names)
    L += _micro(data, names, verdicts)
    L += _failures(data, cases)
    L += ["## How it is measured", "", METHOD, ""]
    return "\n".join(L)


def _geo_row(cases, names, metric, kind, verdict):
    row = ["**geomean**", ""]
    for a in names:
        if a == BASE:
            continue
        g, n, m = geo(cases, a, metric, kind)
        row.append("-" if g is None else "**%.2f**" % g + ("" if n == m else " (%d/%d)" % (n, m)))
    if metric in ("wall_s", "cpu_s"):
        row.append("")
    if verdict:
        g = geo(cases, TP, metric, kind)[0]
        row.append("-" if g is None else "met (<= %.2f)" % MAX_GEO_WALL if g <= MAX_GEO_WALL
                   else "MISSED (%.2fx > %.2fx)" % (g, MAX_GEO_WALL))
    return row


def _misc(data, cases, names):
    L = []
    frag = next((c for c in cases if c["name"] == "fragmentation"), None)
    if frag and frag["median"]:
        rows = [[a] + ["%.0f" % (m[k] / 1024) for k in ("peak_rss_kib", "freed_rss_kib",
                                                          "final_rss_kib", "live_kib")]
                for a, m in frag["median"].items() if "live_kib" in m]
        L += ["## Fragmentation", "",
              "The fragmentation workload's memory in MiB, as the process reads it from "
              "/proc/self/status: its peak, its RSS once 90% of the small blocks are freed, and "
              "its final RSS with the larger blocks live; `live` is what the program still "
              "holds at the end (bytes requested).", "",
              _table(["allocator", "peak RSS", "after freeing 90%", "final RSS", "live"], rows),
              ""]
    sc = scaling(cases)
    if sc:
        c1 = next(c for c in cases if c["name"] == "server_mix_1t")
        c2 = next(c for c in cases if c["name"] == "server_mix")
        rows = [[a, "%.3f" % c1["median"][a]["wall_s"], "%.3f" % c2["median"][a]["wall_s"],
                 "%.2fx" % sc[a]] for a in names if a in sc]
        L += ["## Scaling", "", "server_mix, the same operations per thread on 1 and on 2 threads "
              "(throughput ratio = 2 x wall(1 thread) / wall(2 threads); target for tierpool "
              ">= %.1fx)." % MIN_SCALING, "",
              _table(["allocator", "1 thread (s)", "2 threads (s)", "throughput ratio"], rows), ""]
    return L


def _micro(data, names, verdicts):
    micro = data.get("micro")
    if not micro:
        return []
    L = []
    ir = micro.get("ir") or {}
    if ir:
        have = [a for a in names if a in ir]
        sizes = sorted({s for a in have for d in ir[a].values() for s in d})
        for mode, title in (("single", "single pairs (malloc then free, N times)"),
                            ("batch", "batches (100 mallocs, then 100 frees)")):
            rows = []
            for s in sizes:
                row = ["**%s**" % _size(s) if s in HEADLINE else _size(s)]
                for a in have:
                    v = ir[a].get(mode, {}).get(s)
                    row.append("-" if v is None else "%.1f" % v)
                v = ir.get(TP, {}).get(mode, {}).get(s)
                if verdicts:
                    row.append("-" if v is None else "met" if v <= MAX_IR else
                               "MISSED (%.1f)" % v)
                rows.append(row)
            L += ["## Instructions per malloc+free pair: %s" % title, "",
                  "callgrind, (Ir(N) - Ir(0)) / N, the loop and PLT jumps included; "
                  "the issue's headline sizes in bold.", "",
                  _table(["size"] + have + (["tierpool <= %d" % MAX_IR] if verdicts else []),
                         rows), ""]
        if TP in ir and TP_OFF in ir:
            rows = []
            for s in sizes:
                row = [_size(s)]
                for mode in ("single", "batch"):
                    a, b = ir[TP].get(mode, {}).get(s), ir[TP_OFF].get(mode, {}).get(s)
                    row.append("-" if a is None or b is None else "%+.1f" % (a - b))
                rows.append(row)
            L += ["## Cost of the counters and the ring (issue 3)", "",
                  "Instructions per pair, tierpool minus tierpool built with "
                  "`-DTIERPOOL_COUNTERS=OFF` (budget: +%d)." % MAX_COUNTER_IR, "",
                  _table(["size", "single", "batch of 100"], rows), ""]
    nat = micro.get("native") or {}
    if nat:
        rows = [[a] + ["-" if nat[a].get(t) is None else "%.2f" % nat[a][t] for t in (1, 2)]
                for a in names if a in nat]
        L += ["## Native time per 64 B malloc+free pair", "",
              "ns per pair on each thread, median of the runs (target for tierpool <= %g ns)."
              % MAX_NS, "", _table(["allocator", "1 thread", "2 threads"], rows), ""]
    bat = micro.get("native_batch") or {}
    if bat:
        sizes = sorted({s for d in bat.values() for s in d})
        rows = [[a] + ["-" if bat[a].get(s) is None else "%.3f" % bat[a][s] for s in sizes]
                for a in names if a in bat]
        L += ["## Native time, batches of 100 mallocs then 100 frees", "",
              "user+sys seconds for 40 M pairs (`micro -n 400000 -b 100`; 0.2 M with --quick), "
              "median of the rounds, the allocators alternating (issue 13: tierpool at or "
              "below %s)."
              % BATCH_PEER, "", _table(["allocator"] + [_size(s) for s in sizes], rows), ""]
    return L


def _failures(data, cases):
    rows = [[c["name"], a, why] for c in cases for a, why in c["failure"].items()]
    rows += [[f["micro"], f["allocator"], f["failure"]]
             for f in (data.get("micro") or {}).get("failures", [])]
    rows += [[s["what"], s["allocator"], s["why"]] for s in data.get("skipped", [])]
    if not rows:
        return ["## Failures", "", "None: every run of every case exited 0.", ""]
    return ["## Failures and skips", "", _table(["case", "allocator", "what happened"], rows), ""]


METHOD = """\
- Each run is a fresh process in its own session, started by `bench/launch.c`; the
  allocator is swapped in with `LD_PRELOAD` (glibc: nothing preloaded) and every
  `TIERPOOL_*` variable is removed, so tierpool runs with its defaults: counters and ring
  on, no dump. The workloads are the same binaries for every allocator and link none.
- wall: fork to reaping. user+sys: `ru_utime + ru_stime` from `wait4` of the command,
  which includes every descendant it waited for. peak RSS: `ru_maxrss` from the same
  `wait4`: the largest peak of any single process in the tree (the command or a
  waited-for descendant, the `RUSAGE_CHILDREN` meaning), not a sum over processes alive
  together. The launcher is small, so the floor it leaves in a child's peak is about
  1 MiB for every allocator.
- redis: `redis-server` (preloaded) on a free port of 127.0.0.1, driven by
  `redis-benchmark` (not preloaded) with a fixed request count; wall is the client's run,
  user+sys and peak RSS are the server's. Debian links redis-server with jemalloc, so its
  "glibc" run preloads libc.so.6 itself to put glibc's malloc first.
- Instruction counts: `valgrind --tool=callgrind`, see the micro tables.
- The machine has 2 cores and may run other work: wall-time ratios within a few percent of
  each other are noise; instruction counts are exact."""


def write_json(data, path):
    out = {k: v for k, v in data.items() if k != "cases"}
    out["cases"] = []
    for c in data["cases"]:
        d = {k: v for k, v in c.items() if k != "results"}
        d["runs"] = {a: [r.as_json() for r in rs] for a, rs in c["results"].items()}
        d["ratio_to_glibc"] = {a: {m: ratio(c, a, m) for m in ("wall_s", "cpu_s", "maxrss_kib")}
                               for a in c["median"]}
        out["cases"].append(d)
    if out.get("micro"):
        out["micro"] = dict(out["micro"])
        out["micro"]["ir"] = {a: {mo: {str(s): v for s, v in d.items()} for mo, d in m.items()}
                              for a, m in (out["micro"].get("ir") or {}).items()}
        for k in ("native", "native_batch"):
            out["micro"][k] = {a: {str(t): v for t, v in d.items()}
                               for a, d in (out["micro"].get(k) or {}).items()}
    names = [a["name"] for a in data["allocators"]]
    out["geomean"] = {a: {"%s_%s" % (kind or "all", m): geo(data["cases"], a, m, kind)[0]
                          for kind in ("workload", "program", None)
                          for m in ("wall_s", "cpu_s", "maxrss_kib")} for a in names}
    with open(path, "w") as f:
        json.dump(out, f, indent=1, sort_keys=False)
        f.write("\n")


def load_json(path):
    """A run's data as scripts/bench had it before write_json, from the
    JSON write_json made: for rendering the report again (new tables or
    targets) from the same runs. The medians are the saved ones (they used
    each run's output, which the JSON does not keep)."""
    with open(path) as f:
        data = json.load(f)
    for c in data["cases"]:
        c["results"] = {a: [measure.Result(r["wall_s"], r["cpu_s"], r["maxrss_kib"],
                                           r.get("failure"), "", r.get("stderr_tail", ""))
                            for r in runs] for a, runs in c.pop("runs").items()}
        c.pop("ratio_to_glibc", None)
    data.pop("geomean", None)
    data.pop("targets", None)
    m = data.get("micro")
    if m:
        m["ir"] = {a: {mo: {int(s): v for s, v in d.items()} for mo, d in x.items()}
                   for a, x in (m.get("ir") or {}).items()}
        for k in ("native", "native_batch"):
            m[k] = {a: {int(t): v for t, v in d.items()} for a, d in (m.get(k) or {}).items()}
    return data


def chart(data, path):
    """Time and RSS ratios to glibc, one bar per allocator and case. Returns
    None, or why no chart was drawn."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "python3-matplotlib is not installed"
    cases = [c for c in data["cases"] if c["median"].get(BASE)]
    names = [a["name"] for a in data["allocators"] if a["name"] != BASE]
    if not cases or not names:
        return "nothing to draw"
    labels = [c["name"] for c in cases] + ["geomean (all)"]
    fig, axes = plt.subplots(1, 2, figsize=(13, 1.2 + 0.42 * len(labels) * (len(names) / 4 + 0.4)),
                             sharey=True)
    h = 0.8 / len(names)
    for ax, metric, title in ((axes[0], "wall_s", "wall time / glibc"),
                              (axes[1], "maxrss_kib", "peak RSS / glibc")):
        for i, a in enumerate(names):
            vals = [ratio(c, a, metric) or math.nan for c in cases] + \
                   [geo(data["cases"], a, metric)[0] or math.nan]
            ys = [j + (i - (len(names) - 1) / 2) * h for j in range(len(labels))]
            ax.barh(ys, vals, height=h, label=a)
        ax.axvline(1.0, color="black", linewidth=0.8)
        progs = [j for j, c in enumerate(cases) if c["kind"] == "program"]
        if progs:  # bench/ workloads above the line, real programs below
            ax.axhline(progs[0] - 0.5, color="grey", linewidth=0.8, linestyle="--")
        ax.axhline(len(cases) - 0.5, color="grey", linewidth=0.8, linestyle="--")
        ax.set_xscale("log")
        ax.set_title(title + " (log scale, < 1 is better)")
        ax.grid(axis="x", which="both", alpha=0.3)
    axes[0].set_yticks(range(len(labels)))
    axes[0].set_yticklabels(labels)
    axes[0].invert_yaxis()
    axes[1].legend(loc="lower right", fontsize="small")
    fig.suptitle("tierpool vs glibc, mimalloc, jemalloc, tcmalloc — %s, %s" %
                 (data["machine"]["cpu"], data["machine"]["date"]), fontsize="medium")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return None
