"""The profile as one self-contained HTML page: no network, no external
file. The data sits in the page as JSON; a small inline script draws, as
SVG, a flame graph (allocated, live at peak, live at exit or short-lived
bytes; click a frame to zoom, hover for figures), the tiers with their fill
and request-length histograms, and the timeline of live bytes per tier.
A script error is written into the page (body[data-error]) so that a test
or a reader sees it; a finished drawing sets body[data-rendered].
"""

import html
import json
import os
import time

from .profile_data import METRICS

TIMELINE_SERIES = 8  # tiers drawn on their own; the rest are summed as "other"


def flame_tree(prof):
    """[name, where, [values per METRICS], [children]], root first."""
    root = ["all", "", [0] * len(METRICS), {}]
    for s in prof.stacks:
        vals = [int(s.get(m + "_bytes", 0)) for m, _ in METRICS]
        if not any(vals):
            continue
        node = root
        for i, v in enumerate(vals):
            node[2][i] += v
        for f in reversed(s["symbolized"]):
            key = f.label()
            child = node[3].get(key)
            if child is None:
                where = "%s:%d" % (f.file, f.line) if f.file else (f.module or "")
                child = node[3][key] = [f.name, where, [0] * len(METRICS), {}]
            for i, v in enumerate(vals):
                child[2][i] += v
            node = child

    def freeze(n):
        return [n[0], n[1], n[2], [freeze(c) for _, c in sorted(n[3].items())]]
    return freeze(root)


def tier_rows(prof):
    """The tiers: the exit dump's counters (with any peak figures it has)
    joined to the profile's request-length histograms."""
    hist = {t.get("size"): t for t in prof.raw.get("tiers", [])}
    rows = []
    dump_tiers = (prof.dump or {}).get("tiers", [])
    for t in dump_tiers:
        h = hist.get(t.get("size"), {})
        if not t.get("get") and not h:
            continue
        row = {k: v for k, v in t.items() if isinstance(v, (int, float))}
        row["hist"] = h.get("hist", [])
        rows.append(row)
    if not dump_tiers:  # no dump: the histograms alone
        rows = [{"size": t["size"], "hist": t.get("hist", [])} for t in prof.raw.get("tiers", [])]
    return rows


def timeline(prof):
    """Series (label, values) of live bytes over time: the largest tiers,
    'other' for the rest, and 'forwarded' (mimalloc, estimated)."""
    tl = prof.raw.get("timeline", {})
    sizes = tl.get("series", [])
    pts = [p for p in tl.get("points", []) if len(p.get("live", [])) == len(sizes)]
    if not pts:
        return {"t": [], "series": []}
    ts = [p["t"] / 1e9 for p in pts]
    cols = list(zip(*[p["live"] for p in pts]))
    tiers = [i for i, s in enumerate(sizes) if s and max(cols[i]) > 0]
    tiers.sort(key=lambda i: -max(cols[i]))
    keep, rest = sorted(tiers[:TIMELINE_SERIES]), tiers[TIMELINE_SERIES:]
    series = [{"label": size_label(sizes[i]), "v": list(cols[i])} for i in keep]
    if rest:
        series.append({"label": "other tiers",
                       "v": [sum(cols[i][k] for i in rest) for k in range(len(pts))]})
    fwd = [i for i, s in enumerate(sizes) if not s]
    if fwd and max(cols[fwd[0]]) > 0:
        series.append({"label": "forwarded (est.)", "v": list(cols[fwd[0]])})
    return {"t": ts, "series": series}


def size_label(n):
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return "%d%s" % (n >> shift, unit)
    return str(n)


def engine_peak(prof):
    """The process's peak from the engine's counters (the exit dump's
    peak_live_bytes and peak_time_ns, exact block sizes), or None when the
    dump does not carry it."""
    d = prof.dump or {}
    if not isinstance(d.get("peak_live_bytes"), int):
        return None
    t = d.get("peak_time_ns") or 0
    start = prof.raw.get("start_unix_ns", 0)
    return {"bytes": d["peak_live_bytes"], "t": max(t - start, 0) / 1e9 if t else 0}


def page_data(prof):
    raw = prof.raw
    peak = raw.get("peak", {})
    return {
        "title": "%s (pid %d)" % (os.path.basename(raw.get("exe", "") or "?"), prof.pid),
        "exe": raw.get("exe", ""),
        "when": time.strftime("%Y-%m-%d %H:%M:%S UTC",
                              time.gmtime(raw.get("start_unix_ns", 0) / 1e9)),
        "duration": raw.get("duration_ns", 0) / 1e9,
        "estimated": prof.estimated,
        "interval": raw.get("sample_interval", 0),
        "short_us": raw.get("short_lived_us", 0),
        "peak": {"bytes": peak.get("bytes", 0), "t": peak.get("time_ns", 0) / 1e9},
        "engine_peak": engine_peak(prof),
        "metrics": [{"key": m, "label": label} for m, label in METRICS],
        "totals": {m: [prof.total(m, "bytes"), prof.total(m, "count")] for m, _ in METRICS},
        "flame": flame_tree(prof),
        "tiers": tier_rows(prof),
        "timeline": timeline(prof),
    }


def render(prof):
    d = page_data(prof)
    data = json.dumps(d, separators=(",", ":")).replace("</", "<\\/")
    title = html.escape("tierpool profile: " + d["title"])
    return TEMPLATE.replace("@TITLE@", title).replace("@DATA@", data)


def write(prof, path):
    with open(path, "w", encoding="utf-8") as f:
        f.write(render(prof))


TEMPLATE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>@TITLE@</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:16px 24px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 6px}
.sub{color:#555} .err{color:#b00;font-weight:bold}
.btn{border:1px solid #999;background:#f4f4f4;padding:3px 10px;margin-right:4px;cursor:pointer;border-radius:3px}
.btn.on{background:#333;color:#fff;border-color:#333}
#flame svg text{font:11px monospace;pointer-events:none}
#flame rect{stroke:#fff;stroke-width:.5;cursor:pointer}
#info{font:12px monospace;min-height:1.4em;color:#333;white-space:pre}
table{border-collapse:collapse} td,th{padding:2px 8px;text-align:right;border-bottom:1px solid #eee}
th{background:#f4f4f4} .bar{background:#eee;width:120px;height:10px;display:inline-block;vertical-align:middle}
.bar span{display:block;height:10px;background:#4a8}
.legend span{display:inline-block;margin-right:12px} .legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
</style></head>
<body>
<h1>@TITLE@</h1>
<div class="sub" id="meta"></div>
<div class="err" id="error"></div>
<h2>Flame graph</h2>
<div id="metrics"></div>
<div id="info">Click a frame to zoom in, the bottom bar to zoom out.</div>
<div id="flame"></div>
<h2>Tiers</h2>
<div class="sub">fill: bytes asked / bytes handed out (what rounding up to the tier costs); histogram: the requests inside the tier, by length, from the tier below (left) to the tier's size (right)</div>
<div id="tiers"></div>
<h2>Timeline: live bytes per tier</h2>
<div id="timeline"></div>
<script type="application/json" id="data">@DATA@</script>
<script>
"use strict";
window.onerror = function (msg, src, line) {
  document.body.setAttribute("data-error", msg + " (line " + line + ")");
  document.getElementById("error").textContent = "Report error: " + msg + " (line " + line + ")";
};
var D = JSON.parse(document.getElementById("data").textContent);
var NS = "http://www.w3.org/2000/svg";
function el(tag, attrs, parent) {
  var e = document.createElementNS(NS, tag);
  for (var k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}
function fmtB(v) {
  var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
  while (Math.abs(v) >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return (i ? v.toFixed(1) : Math.round(v)) + " " + u[i];
}
function fmtN(v) { return Math.round(v).toLocaleString("en-US"); }
function fmtSize(v) {
  var u = ["", "K", "M", "G"], i = 0;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return v + u[i];
}
var est = D.estimated ? "~" : "";
document.getElementById("meta").textContent =
  D.exe + " \u2014 started " + D.when + ", ran " + D.duration.toFixed(2) + " s; " +
  (D.estimated ? "sampled every ~" + fmtB(D.interval) + " allocated (figures are estimates)"
               : "every allocation recorded") +
  "; peak of sampled live bytes " + est + fmtB(D.peak.bytes) + " at " + D.peak.t.toFixed(2) +
  " s; short-lived: freed within " + D.short_us + " \u00b5s" +
  (D.engine_peak ? "; peak of the tiers' live blocks (engine counters) " + fmtB(D.engine_peak.bytes) +
   " at " + D.engine_peak.t.toFixed(2) + " s" : "");

/* ---- flame graph */
var metric = 0, zoom = null, W = 1200, ROW = 17;
function depthOf(n) {
  var d = 0;
  for (var i = 0; i < n[3].length; i++) d = Math.max(d, depthOf(n[3][i]));
  return d + 1;
}
function hue(name) {
  var h = 0;
  for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return "hsl(" + (10 + h % 40) + "," + (60 + h % 30) + "%," + (55 + (h >> 8) % 15) + "%)";
}
function pathTo(root, target, acc) {
  acc.push(root);
  if (root === target) return true;
  for (var i = 0; i < root[3].length; i++) if (pathTo(root[3][i], target, acc)) return true;
  acc.pop();
  return false;
}
function drawFlame() {
  var box = document.getElementById("flame");
  box.textContent = "";
  var root = D.flame, top = zoom || root, total = top[2][metric];
  var depth = depthOf(root), H = depth * ROW + 4;
  var svg = el("svg", {viewBox: "0 0 " + W + " " + H, width: "100%", role: "img"}, box);
  if (!total) {
    el("text", {x: 4, y: 14}, svg).textContent = "Nothing recorded for this figure.";
    return;
  }
  var trail = [];
  pathTo(root, top, trail);
  /* The frames below the zoomed one, full width. */
  for (var i = 0; i < trail.length - 1; i++) frame(svg, trail[i], 0, W, i, H, trail[i][2][metric]);
  layout(svg, top, 0, W, trail.length - 1, H, total);
}
function frame(svg, n, x, w, d, H, v) {
  var y = H - (d + 1) * ROW;
  var g = el("g", {"class": "fr"}, svg);
  var r = el("rect", {x: x, y: y, width: Math.max(w, 0.5), height: ROW - 1, fill: d ? hue(n[0]) : "#c99"}, g);
  var t = el("title", {}, g);
  var share = D.flame[2][metric] ? 100 * v / D.flame[2][metric] : 0;
  t.textContent = n[0] + (n[1] ? "\n" + n[1] : "") + "\n" + est + fmtB(v) + " (" + share.toFixed(1) + "%)";
  if (w > 30) {
    var label = el("text", {x: x + 3, y: y + ROW - 5}, g);
    var s = n[0], fit = Math.floor((w - 6) / 6.6);
    label.textContent = s.length > fit ? s.slice(0, Math.max(fit - 2, 0)) + ".." : s;
  }
  r.addEventListener("click", function () { zoom = n === D.flame ? null : n; drawFlame(); });
  r.addEventListener("mouseover", function () {
    document.getElementById("info").textContent =
      n[0] + "  " + est + fmtB(v) + "  " + share.toFixed(1) + "% of all" + (n[1] ? "  " + n[1] : "");
  });
}
function layout(svg, n, x, w, d, H, total) {
  var v = n[2][metric];
  if (!v) return;
  frame(svg, n, x, w, d, H, v);
  var cx = x;
  for (var i = 0; i < n[3].length; i++) {
    var c = n[3][i], cw = w * c[2][metric] / v;
    if (cw >= 0.3) layout(svg, c, cx, cw, d + 1, H, total);
    cx += cw;
  }
}
var mbox = document.getElementById("metrics");
D.metrics.forEach(function (m, i) {
  var b = document.createElement("button");
  b.className = "btn" + (i === metric ? " on" : "");
  b.textContent = m.label + ": " + est + fmtB(D.totals[m.key][0]);
  b.onclick = function () {
    metric = i; zoom = null;
    Array.prototype.forEach.call(mbox.children, function (c, k) { c.className = "btn" + (k === i ? " on" : ""); });
    drawFlame();
  };
  mbox.appendChild(b);
});
drawFlame();

/* ---- tiers */
(function () {
  var rows = D.tiers, box = document.getElementById("tiers");
  if (!rows.length) { box.textContent = "No tier was used."; return; }
  var peakKeys = Object.keys(rows[0]).filter(function (k) { return /^peak/.test(k) && !/time/.test(k); });
  var cols = ["size", "get", "put", "live"].concat(peakKeys);
  var tab = document.createElement("table"), tr = tab.insertRow();
  cols.concat(["fill", "request lengths"]).forEach(function (c) {
    var th = document.createElement("th"); th.textContent = c; tr.appendChild(th);
  });
  rows.forEach(function (r) {
    var row = tab.insertRow();
    cols.forEach(function (c) {
      var v = r[c];
      row.insertCell().textContent = v === undefined ? "" : c === "size" ? fmtSize(v) : /bytes/.test(c) ? fmtB(v) : fmtN(v);
    });
    var fill = r.get ? r.bytes_requested / (r.get * r.size) : null;
    var cell = row.insertCell();
    if (fill !== null && fill === fill) {
      cell.innerHTML = '<span class="bar"><span style="width:' + Math.min(100, 100 * fill).toFixed(1) + '%"></span></span> ' + (100 * fill).toFixed(1) + "%";
    }
    var hc = row.insertCell(), h = r.hist || [], hmax = Math.max.apply(null, h.concat([1]));
    var svg = el("svg", {width: 8 * 12, height: 18}, hc);
    h.forEach(function (v, i) {
      var bh = 16 * v / hmax;
      el("rect", {x: i * 12, y: 17 - bh, width: 10, height: Math.max(bh, v ? 1 : 0), fill: "#68a"}, svg);
    });
    el("title", {}, svg).textContent = h.map(fmtN).join(" ") + " requests (" + est + "counts) by length";
  });
  box.appendChild(tab);
})();

/* ---- timeline */
(function () {
  var box = document.getElementById("timeline"), T = D.timeline;
  if (!T.t.length) { box.textContent = "No timeline points."; return; }
  var w = 1000, h = 260, L = 70, B = 24, n = T.t.length;
  var tmax = Math.max(T.t[n - 1], 1e-3), stack = [], ymax = 1;
  for (var k = 0; k < n; k++) {
    var s = 0;
    for (var j = 0; j < T.series.length; j++) s += T.series[j].v[k];
    ymax = Math.max(ymax, s);
  }
  var svg = el("svg", {viewBox: "0 0 " + (w + L + 10) + " " + (h + B + 10), width: "100%"}, box);
  function X(t) { return L + w * t / tmax; }
  function Y(v) { return 5 + h - h * v / ymax; }
  var base = T.t.map(function () { return 0; });
  T.series.forEach(function (s, j) {
    var top = base.map(function (b, k) { return b + s.v[k]; });
    var d = "M" + X(T.t[0]) + "," + Y(base[0]);
    for (var k = 0; k < n; k++) d += "L" + X(T.t[k]) + "," + Y(top[k]);
    for (var k2 = n - 1; k2 >= 0; k2--) d += "L" + X(T.t[k2]) + "," + Y(base[k2]);
    var col = "hsl(" + (j * 47 % 360) + ",55%,60%)";
    el("path", {d: d + "Z", fill: col, stroke: "none"}, svg);
    stack.push({label: s.label, col: col, max: Math.max.apply(null, s.v)});
    base = top;
  });
  el("line", {x1: L, y1: 5 + h, x2: L + w, y2: 5 + h, stroke: "#333"}, svg);
  el("line", {x1: L, y1: 5, x2: L, y2: 5 + h, stroke: "#333"}, svg);
  for (var i = 0; i <= 4; i++) {
    el("text", {x: L - 4, y: Y(ymax * i / 4) + 4, "text-anchor": "end", "font-size": 11}, svg).textContent = fmtB(ymax * i / 4);
    el("text", {x: X(tmax * i / 4), y: h + B, "text-anchor": "middle", "font-size": 11}, svg).textContent = (tmax * i / 4).toFixed(2) + " s";
  }
  function mark(t, label, col, y) {
    el("line", {x1: X(t), y1: 5, x2: X(t), y2: 5 + h, stroke: col, "stroke-dasharray": "4 3"}, svg);
    el("text", {x: X(t) + 3, y: y, fill: col, "font-size": 11}, svg).textContent = label;
  }
  if (D.peak.t > 0) mark(D.peak.t, "sampled peak", "#b00", 16);
  if (D.engine_peak && D.engine_peak.t > 0 && D.engine_peak.t <= tmax) mark(D.engine_peak.t, "peak (counters)", "#333", 30);
  var leg = document.createElement("div");
  leg.className = "legend";
  stack.forEach(function (s) {
    var sp = document.createElement("span");
    sp.innerHTML = '<i style="background:' + s.col + '"></i>';
    sp.appendChild(document.createTextNode(s.label + " (max " + fmtB(s.max) + ")"));
    leg.appendChild(sp);
  });
  box.appendChild(leg);
})();
document.body.setAttribute("data-rendered", "1");
</script>
</body></html>
"""
