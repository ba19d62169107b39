"""The profile as pprof reads it: a gzipped protobuf Profile message of
pprof's profile.proto (package perftools.profiles), encoded by hand (the
wire format is a few varints; no protobuf library is needed to write it).

Sample types, in this order (values per stack):
  alloc_objects/count, alloc_space/bytes   allocated over the whole run
  inuse_objects/count, inuse_space/bytes   live at exit (when it was written)
  peak_objects/count, peak_space/bytes     live at the sampled peak
  short_objects/count, short_space/bytes   short-lived allocations
The default sample type is alloc_space; `pprof -sample_index=peak_space`
shows where the memory was at its highest.

Each module gets a mapping of its own synthetic address range, so that a
location's address minus the mapping's start is the module-relative offset
the library recorded; locations carry the function names and file:line of
the symbolizer, and the mappings say so (has_functions, has_line_numbers),
so pprof does not try to symbolize again.
"""

import gzip

SAMPLE_TYPES = (("alloc_objects", "count", "alloc_count"), ("alloc_space", "bytes", "alloc_bytes"),
                ("inuse_objects", "count", "exit_count"), ("inuse_space", "bytes", "exit_bytes"),
                ("peak_objects", "count", "peak_count"), ("peak_space", "bytes", "peak_bytes"),
                ("short_objects", "count", "short_count"), ("short_space", "bytes", "short_bytes"))
DEFAULT_TYPE = "alloc_space"
MAPPING_SPAN = 1 << 40  # each module's synthetic address range


def _varint(v):
    v &= (1 << 64) - 1  # int64 negatives as two's complement, as protobuf does
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field, wire):
    return _varint(field << 3 | wire)


def _int(field, v):
    """A varint field; proto3 leaves zeros out."""
    return _key(field, 0) + _varint(v) if v else b""


def _bytes(field, data):
    return _key(field, 2) + _varint(len(data)) + data


def _packed(field, values):
    return _bytes(field, b"".join(_varint(v) for v in values)) if values else b""


class _Strings:
    """The string table: index 0 is "", as the format requires."""

    def __init__(self):
        self.table, self.index = [""], {"": 0}

    def __call__(self, s):
        s = s or ""
        if s not in self.index:
            self.index[s] = len(self.table)
            self.table.append(s)
        return self.index[s]


def encode(prof):
    """The serialized (not gzipped) Profile message of a profile_data.Profile."""
    strings = _Strings()
    out = bytearray()
    for name, unit, _ in SAMPLE_TYPES:
        out += _bytes(1, _int(1, strings(name)) + _int(2, strings(unit)))
    mappings, functions, locations = {}, {}, {}
    body = bytearray()
    for s in prof.stacks:
        values = [int(s.get(k, 0)) for _, _, k in SAMPLE_TYPES]
        if not any(values):
            continue
        ids = []
        for f in s["symbolized"]:
            mid = mappings.setdefault(f.module, len(mappings) + 1)
            fkey = (f.name, f.file)
            fid = functions.setdefault(fkey, len(functions) + 1)
            lkey = (f.module, f.offset, f.name, f.line)
            if lkey not in locations:
                locations[lkey] = (len(locations) + 1, mid, fid)
            ids.append(locations[lkey][0])
        sample = _packed(1, ids) + _packed(2, values)
        if s.get("tiers"):
            label = _int(1, strings("tiers")) + _int(2, strings(",".join(map(str, s["tiers"]))))
            sample += _bytes(3, label)
        body += _bytes(2, sample)
    out += body
    for module, mid in mappings.items():
        start = mid * MAPPING_SPAN
        m = (_int(1, mid) + _int(2, start) + _int(3, start + MAPPING_SPAN) +
             _int(5, strings(module or "[unknown]")) + _int(7, 1) + _int(8, 1) + _int(9, 1))
        out += _bytes(3, m)
    for (module, offset, _, line), (lid, mid, fid) in locations.items():
        line_msg = _int(1, fid) + _int(2, line)
        loc = _int(1, lid) + _int(2, mid) + _int(3, mid * MAPPING_SPAN + offset) + _bytes(4, line_msg)
        out += _bytes(4, loc)
    for (name, file), fid in functions.items():
        out += _bytes(5, _int(1, fid) + _int(2, strings(name)) + _int(3, strings(name)) +
                      _int(4, strings(file)))
    period_type = _int(1, strings("space")) + _int(2, strings("bytes"))
    default = strings(DEFAULT_TYPE)
    comment = strings("tierpool heap profile of pid %d (%s)" % (prof.pid, prof.raw.get("exe", "")))
    tail = (_int(9, prof.raw.get("start_unix_ns", 0)) + _int(10, prof.raw.get("duration_ns", 0)) +
            _bytes(11, period_type) + _int(12, prof.raw.get("sample_interval", 0)) +
            _packed(13, [comment]) + _int(14, default))
    for s in strings.table:  # after every strings() call above
        out += _bytes(6, s.encode("utf-8", "replace"))
    out += tail
    return bytes(out)


def write(prof, path):
    with gzip.open(path, "wb") as f:
        f.write(encode(prof))
