"""The report of `tierpool check`: the stacks that fail, per process (named
by its command line and directory), per command line, or per stack
(--group-by), direct leaks first; what passed by its kind, what the
suppressions and the baseline took; and the same as JSON (--report-json)."""

import json
import sys

from .leaktext import stack_head
from .suppress import WHY_BUILTIN

HEADS = {"direct": "Direct leak of ", "indirect": "Indirect leak of ",
         "reachable": "Still reachable: ", "live": ""}
MAX_NAMES = 5  # command lines listed under a stack with --group-by=stack


def plural(n, word, many=None):
    return "%d %s" % (n, word if n == 1 else many or word + "s")


def totals(stacks):
    return len(stacks), sum(s["blocks"] for s in stacks), sum(s["bytes"] for s in stacks)


def frame_text(i, f):
    """'#i function+0xoff (module+0xoff) file:line'; an inlined frame has
    no offset in a function of its own."""
    if f.get("module") is None:
        return "    #%d 0x%x" % (i, f["offset"])
    name = f.get("symbol")
    if name and f.get("function") and f.get("function_offset") is not None:
        name = "%s+0x%x" % (name, f["function_offset"])
    s = "    #%d %s (%s+0x%x)" % (i, name or "??", f["module"], f["offset"])
    return s + (" " + f["file"] if f.get("file") else "")


def stack_text(st):
    head = stack_head(st, False)
    out = ["  " + HEADS.get(st["kind"], "") + head.lstrip() if HEADS.get(st["kind"]) else head]
    return out + [frame_text(i, f) for i, f in enumerate(st["frames"])]


def kinds_text(stacks):
    """'1 direct, 9 indirect' (blocks by kind), or '' without kinds."""
    by = {}
    for st in stacks:
        by[st["kind"]] = by.get(st["kind"], 0) + st["blocks"]
    return ", ".join("%d %s" % (by[k], k) for k in ("direct", "indirect", "reachable") if k in by)


def holds(stacks):
    """'leaks: 2 stacks, 10 blocks (480 bytes): 1 direct, 9 indirect'."""
    n, blocks, nbytes = totals(stacks)
    k = kinds_text(stacks)
    return "leaks: %s, %s (%d bytes)%s" % (plural(n, "stack"), plural(blocks, "block"), nbytes,
                                           ": " + k if k else "")


def where(cmdline, cwd):
    return cmdline + (" (in %s)" % cwd if cwd else "")


def merged(stacks):
    """Stacks of several processes merged by (signature, kind), biggest first."""
    out = {}
    for st in stacks:
        key = (st["signature"], st["kind"])
        if key in out:
            m = out[key]
            m["blocks"] += st["blocks"]
            m["bytes"] += st["bytes"]
            m["tiers"] = sorted(set(m.get("tiers", [])) | set(st.get("tiers", [])))
            m["forwarded"] = m.get("forwarded") or st.get("forwarded")
        else:
            out[key] = dict(st)
    return sorted(out.values(), key=lambda s: (list(HEADS).index(s["kind"]), -s["bytes"]))


def print_failing(result, group_by, err):
    failing = [p for p in result["processes"] if p["leaks"]]
    if group_by == "process":
        for p in failing:
            print("tierpool check: pid %d: %s: %s" % (
                p["pid"], where(p["cmdline"], p["cwd"]), holds(p["leaks"])), file=err)
            for st in p["leaks"]:
                print("\n".join(stack_text(st)), file=err)
    elif group_by == "cmdline":
        groups = {}
        for p in result["processes"]:
            groups.setdefault((p["cmdline"], p["cwd"]), []).append(p)
        for (cmdline, cwd), ps in groups.items():
            leaks = merged([st for p in ps for st in p["leaks"]])
            if not leaks:
                continue
            print("tierpool check: %s: %s, %s" % (
                where(cmdline, cwd), plural(len(ps), "process", "processes"), holds(leaks)),
                file=err)
            for st in leaks:
                print("\n".join(stack_text(st)), file=err)
    else:
        names = {}
        for p in failing:
            for st in p["leaks"]:
                names.setdefault((st["signature"], st["kind"]), []).append(p["cmdline"])
        for st in merged([st for p in failing for st in p["leaks"]]):
            who = sorted(set(names[(st["signature"], st["kind"])]))
            print("\n".join(stack_text(st)), file=err)
            print("    in %s: %s%s" % (plural(len(who), "command line"), "; ".join(who[:MAX_NAMES]),
                                        "; ..." if len(who) > MAX_NAMES else ""), file=err)


def print_report(result, rules, args):
    err = sys.stderr
    print_failing(result, args.group_by, err)
    passed = {}
    for p in result["processes"]:
        for st in p["passed"]:
            passed.setdefault(st["kind"], []).append((p["pid"], st))
    for kind, sts in sorted(passed.items(), key=lambda kv: list(HEADS).index(kv[0])):
        n, blocks, nbytes = totals([st for _, st in sts])
        label = "still reachable" if kind == "reachable" else kind + " leaks"
        print("%s: %s, %s (%d bytes) in %s: not failing (--fail-on=%s fails on them)" % (
            label, plural(n, "stack"), plural(blocks, "block"), nbytes,
            plural(len(set(pid for pid, _ in sts)), "process", "processes"), kind), file=err)
    origin = dict((pat, o) for pat, _, o in rules)
    sup = result["suppressed"]
    if sup:
        n, blocks, nbytes = totals([s for v in sup.values() for s in v])
        print("suppressed: %s, %s (%d bytes):" % (plural(n, "stack"), plural(blocks, "block"),
                                                   nbytes), file=err)
        for rule, sts in sorted(sup.items(), key=lambda kv: -totals(kv[1])[2]):
            n, blocks, nbytes = totals(sts)
            o = origin.get(rule, "built-in")
            o = "built-in: " + WHY_BUILTIN[rule] if o == "built-in" else "suppressions"
            print("  %-28s %s, %s, %d bytes (%s)" % (
                rule if rule.startswith("<") else "leak:" + rule, plural(n, "stack"),
                plural(blocks, "block"), nbytes, o), file=err)
    if result["baseline"]:
        n, blocks, nbytes = totals(result["baseline"])
        print("baseline: %s (%d blocks, %d bytes) are in %s" % (plural(n, "stack"), blocks, nbytes,
                                                                args.baseline), file=err)


def write_json(result, args, failed):
    """--report-json: per process the stacks that fail (`leaks`) and those
    that pass by their kind (`passed`), with source frames and signatures;
    the processes that wrote no report; suppressed and baseline totals."""
    if not args.report_json:
        return

    def tot(sts):
        n, blocks, nbytes = totals(sts)
        return {"stacks": n, "blocks": blocks, "bytes": nbytes}

    out = dict(result, failed=failed,
               suppressed={k: tot(v) for k, v in result["suppressed"].items()},
               baseline=tot(result["baseline"]) if result["baseline"] else {})
    with open(args.report_json, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
