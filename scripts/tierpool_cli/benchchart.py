"""The charts of `tierpool bench`: bars of each allocator's median as a
ratio to glibc's, one group per figure (wall, user+sys, peak RSS), as text
for the terminal, as a self-contained SVG, or as a PNG with matplotlib."""

from xml.sax.saxutils import escape

BAR = 40  # characters of the longest text bar


def ratios(sums, key):
    """[(allocator, ratio to glibc or None, median or None)]."""
    base = dict(sums).get("glibc")
    out = []
    for name, s in sums:
        if s is None or not base or not base[key][0]:
            out.append((name, None, None))
        else:
            out.append((name, s[key][0] / base[key][0], s[key][0]))
    return out


def text_chart(sums, metrics, unicode_ok=True):
    full, part = ("\u2588", " \u258f\u258e\u258d\u258c\u258b\u258a\u2589") if unicode_ok \
        else ("#", "        ")
    width = max(len(n) for n, _ in sums)
    out = []
    for key, title, _ in metrics:
        rs = ratios(sums, key)
        top = max([r for _, r, _ in rs if r] or [1.0])
        out.append("%s, x glibc (shorter is better)" % title)
        for name, r, _ in rs:
            if r is None:
                out.append("  %s  FAILED" % name.ljust(width))
                continue
            eighths = int(round(r / top * BAR * 8))
            bar = full * (eighths // 8) + (part[eighths % 8] if eighths % 8 else "")
            out.append("  %s  %s %.2f" % (name.ljust(width), bar.ljust(BAR), r))
    return out


def svg_chart(sums, metrics, title, runs):
    """Grouped horizontal bars, one group per figure, in plain SVG."""
    row, gap, left, bar_w = 18, 26, 110, 360
    colors = ["#888888", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"]
    y = 48
    body = []
    for key, mtitle, _ in metrics:
        rs = ratios(sums, key)
        top = max([r for _, r, _ in rs if r] or [1.0])
        body.append('<text x="10" y="%d" font-weight="bold">%s, x glibc (shorter is better)'
                    '</text>' % (y, escape(mtitle)))
        y += 8
        for i, (name, r, _) in enumerate(rs):
            body.append('<text x="%d" y="%d" text-anchor="end">%s</text>'
                        % (left - 6, y + 13, escape(name)))
            if r is None:
                body.append('<text x="%d" y="%d" fill="#c00">failed</text>' % (left, y + 13))
            else:
                w = max(1, r / top * bar_w)
                body.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>'
                            % (left, y + 2, w, row - 4, colors[i % len(colors)]))
                body.append('<text x="%.1f" y="%d">%.2f</text>' % (left + w + 4, y + 13, r))
            y += row
        if rs and rs[0][1] is not None:  # the glibc line
            body.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#444" '
                        'stroke-dasharray="3,3"/>' % (left + bar_w / top, left + bar_w / top,
                                                      y - row * len(rs), y))
        y += gap
    h = y
    return ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
            'font-family="sans-serif" font-size="12">\n'
            '<rect width="100%%" height="100%%" fill="white"/>\n'
            '<text x="10" y="22" font-size="14">tierpool bench: %s (%d run%s, medians)</text>\n'
            '%s\n</svg>\n' % (left + bar_w + 60, h, escape(short(title, 60)), runs,
                              "" if runs == 1 else "s", "\n".join(body)))


def short(text, n):
    return text if len(text) <= n else text[:n - 3] + "..."


def png_chart(path, sums, metrics, title, runs):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(metrics), 1, figsize=(7, 1.2 + 1.1 * len(metrics) * len(sums) / 3))
    for ax, (key, mtitle, _) in zip(axes, metrics):
        rs = ratios(sums, key)
        names = [n for n, _, _ in rs]
        ax.barh(names, [r or 0 for _, r, _ in rs])
        ax.axvline(1.0, color="#444", linestyle="--", linewidth=0.8)
        ax.invert_yaxis()
        ax.set_title("%s, x glibc (shorter is better)" % mtitle, fontsize=9)
    fig.suptitle("tierpool bench: %s (%d runs, medians)" % (short(title, 60), runs), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
