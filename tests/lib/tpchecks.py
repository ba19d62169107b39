"""tpchecks.py - strict checkers for the dumps, Python standard library only.

validate(instance, schema): the subset of JSON Schema (draft 2020-12) that
docs/schema/tierpool-stats.schema.json uses. An unknown keyword is an
error, so the schema cannot silently say more than this checks.

parse_prometheus(text): the Prometheus text exposition format (0.0.4), as
strict as the format allows: metric and label name syntax, label value
escapes, float values, one HELP and one TYPE per family before its samples,
families contiguous, no duplicate series, a newline at the end.

Their errors are AssertionErrors: in a driver run by tptest.main, a dump
the checkers refuse fails the case like any failed check.
"""

import math
import re

# ------------------------------------------------------------ JSON Schema

_ANNOTATIONS = {"$schema", "$id", "title", "description", "$defs", "$comment"}
_KEYWORDS = {"type", "const", "enum", "required", "properties", "additionalProperties",
             "items", "minimum", "maximum", "pattern", "$ref"} | _ANNOTATIONS


class SchemaError(AssertionError):
    pass


def _type_ok(value, t):
    if t == "object":
        return isinstance(value, dict)
    if t == "array":
        return isinstance(value, list)
    if t == "string":
        return isinstance(value, str)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "null":
        return value is None
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    raise SchemaError("unknown type %r in the schema" % t)


def _resolve(root, ref):
    if not ref.startswith("#/"):
        raise SchemaError("only local $ref are supported: %r" % ref)
    node = root
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def validate(instance, schema, root=None, path="$", strict=True):
    """Raises SchemaError naming the first place that does not match.

    strict: an object schema with "properties" and no "additionalProperties"
    rejects keys it does not list. The schema leaves extra keys open for
    readers (keys may be added in later versions); the tests use strict mode
    so that every key a dump holds is documented in the schema."""
    root = schema if root is None else root
    unknown = set(schema) - _KEYWORDS
    if unknown:
        raise SchemaError("%s: schema keywords not supported: %s" % (path, sorted(unknown)))
    if "$ref" in schema:
        validate(instance, _resolve(root, schema["$ref"]), root, path, strict)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_type_ok(instance, t) for t in types):
            raise SchemaError("%s: %r is not of type %s" % (path, instance, types))
    if "const" in schema and (instance != schema["const"] or type(instance) != type(schema["const"])):
        raise SchemaError("%s: %r is not %r" % (path, instance, schema["const"]))
    if "enum" in schema and instance not in schema["enum"]:
        raise SchemaError("%s: %r is not one of %s" % (path, instance, schema["enum"]))
    numeric = _type_ok(instance, "number")
    if numeric and "minimum" in schema and instance < schema["minimum"]:
        raise SchemaError("%s: %r < minimum %r" % (path, instance, schema["minimum"]))
    if numeric and "maximum" in schema and instance > schema["maximum"]:
        raise SchemaError("%s: %r > maximum %r" % (path, instance, schema["maximum"]))
    if isinstance(instance, str) and "pattern" in schema:
        if not re.search(schema["pattern"], instance):
            raise SchemaError("%s: %r does not match %s" % (path, instance, schema["pattern"]))
    if isinstance(instance, dict):
        for key in schema.get("required", []):
            if key not in instance:
                raise SchemaError("%s: required key %r missing" % (path, key))
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", not (strict and "properties" in schema))
        for key, value in instance.items():
            if key in props:
                validate(value, props[key], root, "%s.%s" % (path, key), strict)
            elif extra is False:
                raise SchemaError("%s: key %r is not in the schema" % (path, key))
            elif isinstance(extra, dict):
                validate(value, extra, root, "%s.%s" % (path, key), strict)
    if isinstance(instance, list) and "items" in schema:
        for i, item in enumerate(instance):
            validate(item, schema["items"], root, "%s[%d]" % (path, i), strict)


# ------------------------------------------------------------- Prometheus

METRIC_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
FLOAT_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\Z")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class PromError(AssertionError):
    pass


def _parse_value(s, where):
    if s in ("NaN", "+Inf", "-Inf", "Inf"):
        return float(s.replace("Inf", "inf").replace("NaN", "nan"))
    if not FLOAT_RE.match(s):
        raise PromError("%s: value %r is not a float" % (where, s))
    return float(s)


def _parse_labels(s, where):
    """s: the text between { and }; returns {name: value}."""
    labels = {}
    i = 0
    while i < len(s):
        m = re.match(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"", s[i:])
        if not m:
            raise PromError("%s: bad label syntax at %r" % (where, s[i:]))
        name = m.group(1)
        if name.startswith("__"):
            raise PromError("%s: label name %r is reserved" % (where, name))
        i += m.end()
        value = []
        while True:
            if i >= len(s):
                raise PromError("%s: unterminated label value" % where)
            c = s[i]
            if c == "\\":
                nxt = s[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise PromError("%s: bad escape \\%s in a label value" % (where, nxt))
                value.append("\n" if nxt == "n" else nxt)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise PromError("%s: raw newline in a label value" % where)
            else:
                value.append(c)
                i += 1
        if name in labels:
            raise PromError("%s: label %r given twice" % (where, name))
        labels[name] = "".join(value)
        if i < len(s):
            if s[i] != ",":
                raise PromError("%s: expected ',' between labels at %r" % (where, s[i:]))
            i += 1
    return labels


def parse_prometheus(text, require_help=True):
    """Returns {family: {"help", "type", "samples": [(name, labels, value)]}}."""
    if text and not text.endswith("\n"):
        raise PromError("the exposition does not end with a newline")
    families = {}
    order = []  # families in the order their lines appear
    series = set()

    def family(name, where):
        if name not in families:
            families[name] = {"help": None, "type": None, "samples": []}
            order.append(name)
        elif order[-1] != name:
            raise PromError("%s: lines of %s are not contiguous" % (where, name))
        return families[name]

    for no, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d" % no
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 2 and parts[1] in ("HELP", "TYPE"):
                if len(parts) < 3 or not METRIC_RE.match(parts[2]):
                    raise PromError("%s: bad %s line %r" % (where, parts[1], line))
                f = family(parts[2], where)
                if f["samples"]:
                    raise PromError("%s: %s after samples of %s" % (where, parts[1], parts[2]))
                if parts[1] == "HELP":
                    if f["help"] is not None:
                        raise PromError("%s: second HELP for %s" % (where, parts[2]))
                    doc = parts[3] if len(parts) > 3 else ""
                    if re.search(r"\\[^\\n]", doc.replace("\\\\", "")):
                        raise PromError("%s: bad escape in HELP text" % where)
                    f["help"] = doc
                else:
                    if f["type"] is not None:
                        raise PromError("%s: second TYPE for %s" % (where, parts[2]))
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise PromError("%s: bad TYPE line %r" % (where, line))
                    f["type"] = parts[3]
            continue
        m = re.match(r"([^\s{]+)(\{(.*)\})?[ \t]+(\S+)([ \t]+(-?\d+))?\Z", line)
        if not m:
            raise PromError("%s: not a sample: %r" % (where, line))
        name = m.group(1)
        if not METRIC_RE.match(name):
            raise PromError("%s: bad metric name %r" % (where, name))
        labels = _parse_labels(m.group(3), where) if m.group(2) else {}
        value = _parse_value(m.group(4), where)
        f = family(name, where)
        if require_help and (f["help"] is None or f["type"] is None):
            raise PromError("%s: sample of %s without HELP and TYPE before it" % (where, name))
        if f["type"] == "counter" and not math.isnan(value) and value < 0:
            raise PromError("%s: counter %s is negative" % (where, name))
        key = (name, tuple(sorted(labels.items())))
        if key in series:
            raise PromError("%s: duplicate series %s%s" % (where, name, labels))
        series.add(key)
        f["samples"].append((name, labels, value))
    for name, f in families.items():
        if not f["samples"]:
            raise PromError("family %s has HELP/TYPE but no sample" % name)
    return families
