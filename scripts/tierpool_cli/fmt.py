"""Number and table formatting shared by every renderer: the same rules as
stats/emit.c, so that `tierpool show` prints what the library prints."""


def fmt_bytes(v):
    if v < 1024:
        return str(v)
    units = "KMGTPE"
    div = 1024
    for i, u in enumerate(units):
        tenths = (v * 10 + div // 2) // div
        if tenths < 10240 or i == len(units) - 1:
            return "%d.%d%s" % (tenths // 10, tenths % 10, u)
        div *= 1024
    return str(v)


def fmt_size(v):
    suffix = ""
    for u in "KMGT":
        if v >= 1024 and v % 1024 == 0:
            v //= 1024
            suffix = u
        else:
            break
    return "%d%s" % (v, suffix)


def fmt_percent(num, den):
    if den == 0:
        return "-"
    tenths = (num * 1000 + den // 2) // den
    return "%d.%d%%" % (tenths // 10, tenths % 10)


def fill_parts(requested, get, size):
    """requested / (get * size), scaled as the library scales it."""
    den = get * size
    while den > 2**64 - 1:
        den >>= 1
        requested >>= 1
    return requested, den


def fmt_signed(v, f=str):
    """A change: "+12", "-3", "0" (f formats the magnitude)."""
    return ("+" if v > 0 else "-" if v < 0 else "") + f(abs(v))


def render_table(title, columns, rows, total=None, left=False):
    """columns: headers; rows: (name, [cells]) already formatted."""
    all_rows = list(rows) + ([("total", total)] if total is not None else [])
    w0 = max([len(title), 5 if total is not None else 0] + [len(n) for n, _ in all_rows])
    widths = [max([len(h)] + [len(r[1][i]) for r in all_rows]) for i, h in enumerate(columns)]
    out = []

    def line(name, cells):
        s = name.ljust(w0) if left else name.rjust(w0)
        for c, w in zip(cells, widths):
            s += " " * (2 + w - len(c)) + c
        out.append(s)

    line(title, columns)
    for name, cells in all_rows:
        line(name, cells)
    return out


def label_line(label, value):
    pad = 18 - len(label) if len(label) < 18 else 1
    return label + " " * pad + value
