#!/usr/bin/python3
"""profile_tests.py - the heap profile and `tierpool profile`, end to end.

  profile_tests.py CASE --lib libtierpool.so --tierpool scripts/tierpool
                        --bin DIR --proto profile.proto --out DIR

Each CASE is one ctest test (profile.CASE):
  sites    prof_prog under `tierpool profile --all`: every figure of its
           three known sites (allocated, peak, exit, short-lived), the
           tiers' histograms and the timeline
  pprof    profile.pb.gz decoded by the protobuf library with a profile_pb2
           that protoc generates from profile.proto (the format's spec, not
           the encoder): types, ids, names, file:line, values
  pprof_tool  pprof itself (built from Debian's source package) reads it:
           -raw, and -top per sample type gives each site's bytes
  folded   the folded stacks under a strict reader of the format
           (flamegraph.pl's and inferno's line syntax), against the figures
  python   `tierpool profile -- /usr/bin/python3 script.py` (sampled): the
           estimates of a known 40 MB peak, the outputs all present
  html     the report of the python run in headless Chromium: it renders
           (flame graph, tiers, timeline) with no script error; the
           screenshot is kept as OUT/profile-report.png
  env      TIERPOOL_PROFILE alone (no CLI) writes the profile; a directory
           that cannot be written warns once at start and the run goes on
"""

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import tptest
from tptest import check, fail

A = None  # the parsed arguments (tptest.main)
TIMEOUT = 120

# prof_prog's sites: function -> figures, exact with --all (every get).
SITES = {
    "make_peak": {"alloc_count": 64, "alloc_bytes": 6400000, "exit_count": 0, "short_count": 0},
    "make_garbage": {"alloc_count": 10000, "alloc_bytes": 2000000, "exit_count": 0, "peak_count": 0},
    "make_leak": {"alloc_count": 10, "alloc_bytes": 30000, "exit_count": 10, "exit_bytes": 30000},
}

PY_SCRIPT = """
import json
keep = [bytearray(1_000_000) for _ in range(40)]      # 40 MB live: the peak
del keep
junk = [json.dumps({"k": list(range(i % 50))}) for i in range(20000)]   # churn
print(len(junk))
"""


def clean_env(**extra):
    e = tptest.env(preload=False)
    e.update(extra)
    return e


def profile(out, cmd, *opts, e=None):
    r = subprocess.run([tptest.PY, A.tierpool, "profile", "--lib", A.lib, "-o", out, *opts,
                        "--", *cmd], env=e or clean_env(), capture_output=True, text=True,
                       timeout=TIMEOUT)
    check(r.returncode == 0, "tierpool profile failed (%d): %s" % (r.returncode, r.stderr))
    for f in ("report.html", "profile.pb.gz", "alloc.folded", "peak.folded", "exit.folded"):
        check(os.path.isfile(os.path.join(out, f)), "%s not written: %s" % (f, r.stderr))
    return r


def raw_profile(out):
    files = [f for f in os.listdir(out) if re.fullmatch(r"profile\.\d+\.json", f)]
    check(len(files) == 1, "expected one profile.<pid>.json, found %s" % files)
    with open(os.path.join(out, files[0])) as f:
        return json.load(f)


def site(raw, fn):
    """The one stack whose innermost frames include fn (below malloc)."""
    hits = [s for s in raw["stacks"] if any(f.get("function") == fn for f in s["frames"][:2])]
    check(len(hits) == 1, "%d stacks for %s" % (len(hits), fn))
    return hits[0]


def prog_profile(tmp):
    out = os.path.join(tmp, "prog")
    profile(out, [os.path.join(A.bin, "prof_prog")], "--all")
    return out, raw_profile(out)

# ------------------------------------------------------------------ cases


def case_sites(tmp):
    out, raw = prog_profile(tmp)
    check(raw["mode"] == "all", "mode %r" % raw["mode"])
    for fn, want in SITES.items():
        s = site(raw, fn)
        for k, v in want.items():
            check(s[k] == v, "%s: %s = %s, want %s" % (fn, k, s[k], v))
    peak = site(raw, "make_peak")
    # A snapshot is taken each time the live total passes the last by 1/32.
    check(62 <= peak["peak_count"] <= 64, "make_peak live at peak: %d" % peak["peak_count"])
    check(peak["tiers"] == [131072], "make_peak tiers %s" % peak["tiers"])
    garbage = site(raw, "make_garbage")
    check(garbage["short_count"] >= 9500, "make_garbage short-lived: %d" % garbage["short_count"])
    # Histograms: 200-byte requests are in the 256 tier, bucket (200-128-1)*8/128 = 4.
    t256 = next(t for t in raw["tiers"] if t["size"] == 256)
    check(t256["hist"][4] >= 10000, "256 tier histogram %s" % t256["hist"])
    # 100000 in the 128K tier: bucket (100000-65536-1)*8/65536 = 4.
    t128k = next(t for t in raw["tiers"] if t["size"] == 131072)
    check(t128k["hist"][4] == 64, "128K tier histogram %s" % t128k["hist"])
    # The timeline sees the peak: 64 blocks of the 128K tier.
    tl = raw["timeline"]
    col = tl["series"].index(131072)
    highs = max(p["live"][col] for p in tl["points"])
    check(highs >= 64 * 131072, "timeline: 128K tier at most %d bytes" % highs)
    check(tl["points"][-1]["live"][col] == 0, "timeline: 128K tier not back to 0 at the end")
    ts = [p["t"] for p in tl["points"]]
    check(ts == sorted(ts) and ts[-1] >= 100e6, "timeline times %s" % ts[-3:])


def case_pprof(tmp):
    out, raw = prog_profile(tmp)
    gen = os.path.join(tmp, "gen")
    os.makedirs(gen)
    shutil.copy(A.proto, gen)
    subprocess.run(["protoc", "--python_out=" + gen, "-I" + gen, os.path.join(gen, "profile.proto")],
                   check=True)
    sys.path.insert(0, gen)
    import profile_pb2  # noqa: E402 (generated above)
    p = profile_pb2.Profile()
    with gzip.open(os.path.join(out, "profile.pb.gz"), "rb") as f:
        p.ParseFromString(f.read())
    st = p.string_table
    check(st[0] == "", "string_table[0] is %r" % st[0])
    types = [(st[t.type], st[t.unit]) for t in p.sample_type]
    for want in (("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_objects", "count"),
                 ("inuse_space", "bytes")):
        check(want in types, "sample type %s missing from %s" % (want, types))
    check(st[p.default_sample_type] == "alloc_space", "default type %r" % st[p.default_sample_type])
    check((st[p.period_type.type], st[p.period_type.unit]) == ("space", "bytes"), "period type")
    check(p.time_nanos > 0 and p.duration_nanos > 0, "time/duration")
    locs = {l.id: l for l in p.location}
    funcs = {f.id: f for f in p.function}
    maps = {m.id: m for m in p.mapping}
    check(len(locs) == len(p.location) and 0 not in locs, "location ids not unique and nonzero")
    for l in p.location:
        check(l.mapping_id in maps, "location %d: mapping %d" % (l.id, l.mapping_id))
        m = maps[l.mapping_id]
        check(m.memory_start <= l.address < m.memory_limit, "location %d outside its mapping" % l.id)
        for ln in l.line:
            check(ln.function_id in funcs, "location %d: function %d" % (l.id, ln.function_id))
    idx = {name: i for i, (name, _) in enumerate(types)}
    seen = {}
    for s in p.sample:
        check(len(s.value) == len(types), "sample with %d values" % len(s.value))
        for lid in s.location_id:
            check(lid in locs, "sample: location %d" % lid)
        names = [st[funcs[ln.function_id].name] for lid in s.location_id[:2] for ln in locs[lid].line]
        for fn in SITES:
            if fn in names:
                seen[fn] = s
    for fn, want in SITES.items():
        check(fn in seen, "no sample for %s" % fn)
        v = seen[fn].value
        check(v[idx["alloc_objects"]] == want["alloc_count"], "%s alloc_objects %d" % (fn, v[0]))
        check(v[idx["alloc_space"]] == want["alloc_bytes"], "%s alloc_space %d" % (fn, v[1]))
        check(v[idx["inuse_objects"]] == want["exit_count"], "%s inuse_objects" % fn)
    # file:line of the allocating function, from the symbolizer.
    s = seen["make_leak"]
    lines = [(st[funcs[ln.function_id].name], st[funcs[ln.function_id].filename], ln.line)
             for lid in s.location_id for ln in locs[lid].line]
    hit = [x for x in lines if x[0] == "make_leak"]
    check(hit and hit[0][1].endswith("prof_prog.c") and hit[0][2] > 0,
          "make_leak has no prof_prog.c:line: %s" % lines[:3])
    check(any(x[0] == "main" for x in lines), "main not on make_leak's stack")


def pprof_tool():
    """pprof itself, built once into OUT from Debian's source package
    (golang-github-google-pprof-dev, with golang-go; scripts/setup installs
    both): no module download, GOPATH mode on the packaged sources."""
    exe = os.path.join(A.out, "pprof")
    if os.path.isfile(exe):
        return exe
    src = "/usr/share/gocode"
    check(shutil.which("go") and os.path.isdir(os.path.join(src, "src/github.com/google/pprof")),
          "go or pprof's sources are missing (scripts/setup installs golang-go and "
          "golang-github-google-pprof-dev)")
    e = dict(os.environ, GO111MODULE="off", GOPATH=src, GOFLAGS="-mod=mod", GOENV="off",
             GOCACHE=os.path.join(A.out, "go-cache"))
    r = subprocess.run(["go", "build", "-o", exe + ".tmp", "github.com/google/pprof"], env=e,
                       capture_output=True, text=True, timeout=600)
    check(r.returncode == 0, "building pprof failed: %s" % r.stderr[-2000:])
    os.rename(exe + ".tmp", exe)
    return exe


def case_pprof_tool(tmp):
    out, raw = prog_profile(tmp)
    pb = os.path.join(out, "profile.pb.gz")
    exe = pprof_tool()
    r = subprocess.run([exe, "-raw", pb], capture_output=True, text=True, timeout=TIMEOUT)
    check(r.returncode == 0, "pprof -raw rejects the profile: %s" % r.stderr)
    check("alloc_space/bytes[dflt]" in r.stdout, "pprof -raw: sample types\n" + r.stdout[:800])
    for key, col in (("alloc_space", "alloc_bytes"), ("inuse_space", "exit_bytes"),
                     ("peak_space", "peak_bytes")):
        r = subprocess.run([exe, "-top", "-nodecount=20", "-nodefraction=0", "-unit=B", "-sample_index=" + key, pb],
                           capture_output=True, text=True, timeout=TIMEOUT)
        check(r.returncode == 0, "pprof -top %s: %s" % (key, r.stderr))
        rows = {}
        for line in r.stdout.splitlines():
            m = re.match(r"\s*(\d+)B\s+\S+%\s+\S+%\s+\d+B\s+\S+%\s+(\S+)$", line)
            if m:
                rows[m.group(2)] = int(m.group(1))
        for fn, want in SITES.items():
            v = site(raw, fn)[col]
            check(rows.get(fn, 0) == v, "pprof -top %s: %s flat %s, want %d\n%s" % (
                key, fn, rows.get(fn), v, r.stdout))


FOLDED_LINE = re.compile(r"^(?P<stack>[^\n]*\S)\s(?P<count>[0-9]+)$")  # flamegraph.pl's syntax


def read_folded(path):
    """{stack tuple: count}, rejecting anything the tools would not take."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            check(line.endswith("\n"), "%s:%d: no newline" % (path, no))
            m = FOLDED_LINE.match(line[:-1])
            check(m, "%s:%d: not 'frames count': %r" % (path, no, line))
            frames = tuple(m.group("stack").split(";"))
            check(all(fr and fr == fr.strip() for fr in frames), "%s:%d: empty frame" % (path, no))
            check(frames not in out, "%s:%d: stack repeated" % (path, no))
            check(int(m.group("count")) > 0, "%s:%d: count 0" % (path, no))
            out[frames] = int(m.group("count"))
    return out


def case_folded(tmp):
    out, raw = prog_profile(tmp)
    alloc = read_folded(os.path.join(out, "alloc.folded"))
    exit_ = read_folded(os.path.join(out, "exit.folded"))
    check(alloc, "alloc.folded is empty")
    for fn, want in SITES.items():
        got = sum(v for st, v in alloc.items() if any(fr.startswith(fn + " ") for fr in st[-2:]))
        check(got == want["alloc_bytes"], "alloc.folded: %s has %d bytes" % (fn, got))
        # outermost frame first: main comes before the site
        st = next(st for st in alloc if any(fr.startswith(fn + " ") for fr in st[-2:]))
        names = [fr.split(" ")[0] for fr in st]
        check(names.index("main") < names.index(fn), "%s: not root first: %s" % (fn, names))
    leak = sum(v for st, v in exit_.items() if any(fr.startswith("make_leak ") for fr in st))
    check(leak == 30000, "exit.folded: make_leak %d" % leak)
    check(sum(exit_.values()) == sum(s["exit_bytes"] for s in raw["stacks"]), "exit.folded total")


def python_run(tmp):
    out = os.path.join(tmp, "py")
    script = os.path.join(tmp, "script.py")
    with open(script, "w") as f:
        f.write(PY_SCRIPT)
    r = profile(out, ["/usr/bin/python3", script], e=clean_env(PYTHONMALLOC="malloc"))
    return out, r


def case_python(tmp):
    out, r = python_run(tmp)
    check("20000" in r.stdout, "the script's output: %r" % r.stdout)
    check("wrote " in r.stderr and "report.html" in r.stderr, "summary: %r" % r.stderr)
    raw = raw_profile(out)
    check(raw["mode"] == "sample", "mode %s" % raw["mode"])
    peak = sum(s["peak_bytes"] for s in raw["stacks"])
    # 40 blocks of 1 MB, each sampled with probability ~0.85 at 512K: the
    # estimate is within 25% far more often than not (SD about 6%).
    check(30e6 <= peak <= 50e6, "peak estimate %d, want about 40e6" % peak)
    check(raw["peak"]["bytes"] >= 30e6, "peak %s" % raw["peak"])
    alloc = sum(s["alloc_bytes"] for s in raw["stacks"])
    check(alloc >= peak, "allocated %d below the peak %d" % (alloc, peak))
    check(any(s["short_bytes"] for s in raw["stacks"]), "no short-lived site in the churn")
    check(len(raw["timeline"]["points"]) >= 2, "timeline points")
    check(any(f.endswith(".json") and f.startswith("stats.") for f in os.listdir(out)), "no dump")


def chromium():
    for c in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(c):
            return shutil.which(c)
    fail("chromium is not installed (scripts/setup installs it)")


def headless(args, tmp):
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--user-data-dir=" + tempfile.mkdtemp(dir=tmp)] + args
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)


def case_html(tmp):
    out, _ = python_run(tmp)
    page = "file://" + os.path.join(out, "report.html")
    with open(os.path.join(out, "report.html")) as f:
        text = f.read()
    check(not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), "the report loads from the network")
    dom = headless(["--dump-dom", "--virtual-time-budget=5000", page], tmp).stdout
    body = re.search(r"<body[^>]*>", dom)
    check(body, "no <body> in the DOM:\n" + dom[:2000])
    check("data-error" not in body.group(0), "script error: %s" % body.group(0))
    check('data-rendered="1"' in body.group(0), "the report's script did not finish:\n" + dom[:2000])
    flame = dom[dom.index('id="flame"'):dom.index('id="tiers"')]
    check(flame.count("<rect") >= 10, "flame graph has %d frames" % flame.count("<rect"))
    tiers = dom[dom.index('id="tiers"'):dom.index('id="timeline"')]
    check(tiers.count("<tr") >= 3, "tiers table has %d rows" % tiers.count("<tr"))
    check("<path" in dom[dom.index('id="timeline"'):], "timeline has no area")
    png = os.path.join(A.out, "profile-report.png")
    if os.path.exists(png):
        os.unlink(png)
    headless(["--screenshot=" + png, "--window-size=1280,1600", "--hide-scrollbars",
              "--virtual-time-budget=5000", page], tmp)
    check(os.path.isfile(png) and os.path.getsize(png) > 20000, "no screenshot at %s" % png)
    with open(png, "rb") as f:
        check(f.read(8) == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG")


def case_env(tmp):
    out = os.path.join(tmp, "envdir")
    os.makedirs(out)
    prog = os.path.join(A.bin, "prof_prog")
    r = subprocess.run([prog], env=clean_env(LD_PRELOAD=A.lib, TIERPOOL_PROFILE=out),
                       capture_output=True, text=True, timeout=TIMEOUT)
    check(r.returncode == 0 and not r.stderr, "plain TIERPOOL_PROFILE run: %r" % r.stderr)
    raw = raw_profile(out)
    check(raw["mode"] == "sample", "TIERPOOL_PROFILE alone: mode %s" % raw["mode"])
    check(site(raw, "make_peak")["alloc_bytes"] > 0, "make_peak not sampled")
    bad = os.path.join(tmp, "missing", "dir")
    r = subprocess.run([prog], env=clean_env(LD_PRELOAD=A.lib, TIERPOOL_PROFILE=bad),
                       capture_output=True, text=True, timeout=TIMEOUT)
    check(r.returncode == 0, "status %d" % r.returncode)
    warn = [l for l in r.stderr.splitlines() if "TIERPOOL_PROFILE" in l]
    check(len(warn) == 1 and "not a writable directory" in warn[0], "warning: %r" % r.stderr)


def add_args(p):
    p.add_argument("--tierpool", required=True, help="scripts/tierpool")
    p.add_argument("--bin", required=True, help="where prof_prog is")
    p.add_argument("--proto", required=True, help="profile.proto")
    p.add_argument("--out", required=True, help="where the screenshot is kept")


if __name__ == "__main__":
    sys.exit(tptest.main("profile", globals(), add_args))
