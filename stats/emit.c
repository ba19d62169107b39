/* emit.c - the three renderings of the emitter (see emit.h).
 *
 * Async-signal-safe throughout: no stdio, no malloc, no locale, no locks.
 * Numbers are formatted by hand; the only system call is write(2).
 */
#include "emit.h"

#include <string.h>

/* ============================================================== emitter */

void tp_emit_init(tp_emitter_t *e, enum tp_format format, tp_out_t *out) {
  memset(e, 0, sizeof *e);
  e->format = format;
  e->out = out;
  e->prefix = "tierpool_";
}

tp_out_t *tp_emit_text_out(tp_emitter_t *e) {
  return e->format == TP_FORMAT_TEXT ? e->out : NULL;
}

/* ---- JSON */

/* Length of the well-formed UTF-8 sequence at p (1 to 4), 0 if it is not
 * one (stray continuation, overlong form, surrogate, past U+10FFFF). */
static size_t utf8_len(const unsigned char *p) {
  unsigned c = p[0];
  size_t n;
  unsigned min;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) n = 2, min = 0x80;
  else if (c >= 0xe0 && c <= 0xef) n = 3, min = 0x800;
  else if (c >= 0xf0 && c <= 0xf4) n = 4, min = 0x10000;
  else return 0;
  unsigned cp = c & (0xffu >> (n + 1));
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80) return 0; /* also stops at the NUL */
    cp = cp << 6 | (p[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

/* Paths are bytes, JSON and Prometheus text are UTF-8: a byte that is not
 * part of a well-formed sequence is written as U+FFFD, so a strange file
 * name cannot make the dump unparsable. */
static const char tp_replacement[] = "\xef\xbf\xbd";

static void json_string(tp_out_t *o, const char *s) {
  static const char hex[] = "0123456789abcdef";
  tp_out_char(o, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p;) {
    unsigned char c = *p;
    size_t n = utf8_len(p);
    if (n == 0) {
      tp_out_str(o, tp_replacement);
      p++;
    } else if (c == '"' || c == '\\') {
      tp_out_char(o, '\\');
      tp_out_char(o, (char)c);
      p++;
    } else if (c < 0x20 || c == 0x7f) {
      char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      tp_out_mem(o, esc, 6);
      p++;
    } else {
      tp_out_mem(o, (const char *)p, n);
      p += n;
    }
  }
  tp_out_char(o, '"');
}

/* A comma unless first member; then the key if any. */
static void json_member(tp_emitter_t *e, const char *key) {
  if (!e->first[e->depth]) tp_out_char(e->out, ',');
  e->first[e->depth] = false;
  if (key) {
    json_string(e->out, key);
    tp_out_char(e->out, ':');
  }
}

static void json_open(tp_emitter_t *e, const char *key, char c) {
  json_member(e, key);
  tp_out_char(e->out, c);
  if (e->depth < TP_EMIT_DEPTH - 1) e->depth++;
  e->first[e->depth] = true;
}

static void json_close(tp_emitter_t *e, char c) {
  tp_out_char(e->out, c);
  if (e->depth > 0) e->depth--;
}

/* Prometheus counts time in seconds. */
static tp_value_t prom_unit(tp_value_t v, enum tp_unit unit) {
  return unit == TP_UNIT_TIME && v.type == TP_V_U64 ? tp_v_ratio(v.u, 1000000000u) : v;
}

/* The number forms shared by JSON and Prometheus. */
static void plain_value(tp_out_t *o, tp_value_t v, bool json) {
  char b[48];
  switch (v.type) {
  case TP_V_U64: tp_out_u64(o, v.u); break;
  case TP_V_I64: tp_out_i64(o, v.i); break;
  case TP_V_BOOL: tp_out_str(o, json ? (v.u ? "true" : "false") : (v.u ? "1" : "0")); break;
  case TP_V_RATIO: tp_out_mem(o, b, tp_fmt_ratio(b, v.u, v.den, 4)); break;
  case TP_V_STR: json ? json_string(o, v.s) : tp_out_str(o, v.s); break;
  case TP_V_NULL: tp_out_str(o, json ? "null" : "NaN"); break;
  }
}

/* ---- text */

#define TP_TEXT_LABEL_WIDTH 18
#define TP_TEXT_WRAP 100

/* A value as people read it, into b[48]; returns its length. */
static size_t text_value(char *b, tp_value_t v, enum tp_unit unit) {
  switch (v.type) {
  case TP_V_U64:
    if (unit == TP_UNIT_BYTES) return tp_fmt_bytes(b, v.u);
    if (unit == TP_UNIT_SIZE) return tp_fmt_size(b, v.u);
    if (unit == TP_UNIT_TIME) {
      if (v.u == 0) { memcpy(b, "-", 2); return 1; }
      return tp_fmt_time(b, v.u);
    }
    return tp_fmt_u64(b, v.u);
  case TP_V_I64:
    if (v.i < 0) {
      b[0] = '-';
      return 1 + tp_fmt_u64(b + 1, (uint64_t)0 - (uint64_t)v.i);
    }
    return text_value(b, tp_v_u64((uint64_t)v.i), unit);
  case TP_V_BOOL:
    if (v.u) { memcpy(b, "yes", 4); return 3; }
    memcpy(b, "no", 3);
    return 2;
  case TP_V_RATIO: {
    if (v.den == 0) { memcpy(b, "-", 2); return 1; }
    if (unit != TP_UNIT_PERCENT) return tp_fmt_ratio(b, v.u, v.den, 4);
    /* percent: num*100/den, one decimal; the product cannot overflow 128 bits */
    tp_u128 tenths = ((tp_u128)v.u * 1000 + v.den / 2) / v.den;
    size_t n = tp_fmt_u64(b, (uint64_t)(tenths / 10));
    b[n++] = '.';
    b[n++] = (char)('0' + (unsigned)(tenths % 10));
    b[n++] = '%';
    b[n] = '\0';
    return n;
  }
  case TP_V_STR: {
    size_t n = strlen(v.s);
    if (n > 47) n = 47;
    memcpy(b, v.s, n);
    b[n] = '\0';
    return n;
  }
  case TP_V_NULL: memcpy(b, "-", 2); return 1;
  }
  return 0;
}

static void text_label(tp_out_t *o, const char *label) {
  size_t n = strlen(label);
  tp_out_mem(o, label, n);
  tp_out_pad(o, ' ', n < TP_TEXT_LABEL_WIDTH ? TP_TEXT_LABEL_WIDTH - n : 1);
}

#define TP_TEXT_COLS 16

static void text_table(tp_emitter_t *e, const tp_table_t *t) {
  tp_out_t *o = e->out;
  char b[48];
  size_t width[TP_TEXT_COLS + 1] = {0};
  size_t ncols = t->ncols < TP_TEXT_COLS ? t->ncols : TP_TEXT_COLS;
  /* pass 1: column widths (header, rows, total) */
  width[0] = strlen(t->title);
  if (t->total && width[0] < 5) width[0] = 5;
  for (size_t c = 0; c < ncols; c++)
    if (t->cols[c].label) width[c + 1] = strlen(t->cols[c].label);
  for (size_t r = 0; r < t->nrows; r++) {
    if (t->text_skip && t->text_skip(t->ctx, r)) continue;
    size_t n = strlen(t->row_name(t->ctx, r, true, b));
    if (n > width[0]) width[0] = n;
    for (size_t c = 0; c < ncols; c++) {
      if (!t->cols[c].label) continue;
      n = text_value(b, t->cell(t->ctx, r, c), t->cols[c].unit);
      if (n > width[c + 1]) width[c + 1] = n;
    }
  }
  if (t->total)
    for (size_t c = 0; c < ncols; c++) {
      if (!t->cols[c].label) continue;
      size_t n = text_value(b, t->total(t->ctx, c), t->cols[c].unit);
      if (n > width[c + 1]) width[c + 1] = n;
    }
  /* pass 2: header, rows, total. Names of keyed rows (words) align left,
   * the others (numbers) right, as every column of numbers does. */
  bool left = t->keyed;
  size_t n = strlen(t->title);
  if (!left) tp_out_pad(o, ' ', width[0] - n);
  tp_out_mem(o, t->title, n);
  if (left) tp_out_pad(o, ' ', width[0] - n);
  for (size_t c = 0; c < ncols; c++) {
    if (!t->cols[c].label) continue;
    n = strlen(t->cols[c].label);
    tp_out_pad(o, ' ', 2 + width[c + 1] - n);
    tp_out_mem(o, t->cols[c].label, n);
  }
  tp_out_char(o, '\n');
  for (size_t r = 0; r <= t->nrows; r++) {
    bool total = r == t->nrows;
    if (total && !t->total) break;
    if (!total && t->text_skip && t->text_skip(t->ctx, r)) continue;
    const char *name = total ? "total" : t->row_name(t->ctx, r, true, b);
    n = strlen(name);
    if (!left) tp_out_pad(o, ' ', width[0] - n);
    tp_out_mem(o, name, n);
    if (left) tp_out_pad(o, ' ', width[0] - n);
    for (size_t c = 0; c < ncols; c++) {
      if (!t->cols[c].label) continue;
      tp_value_t v = total ? t->total(t->ctx, c) : t->cell(t->ctx, r, c);
      n = text_value(b, v, t->cols[c].unit);
      tp_out_pad(o, ' ', 2 + width[c + 1] - n);
      tp_out_mem(o, b, n);
    }
    tp_out_char(o, '\n');
  }
}

/* ---- Prometheus */

static void prom_escape(tp_out_t *o, const char *s, bool label) {
  for (const unsigned char *p = (const unsigned char *)s; *p;) {
    size_t n = utf8_len(p);
    if (n == 0) tp_out_str(o, tp_replacement), n = 1;
    else if (*p == '\\') tp_out_str(o, "\\\\");
    else if (*p == '\n') tp_out_str(o, "\\n");
    else if (*p == '"' && label) tp_out_str(o, "\\\"");
    else tp_out_mem(o, (const char *)p, n);
    p += n;
  }
}

static void prom_family(tp_emitter_t *e, const tp_field_t *f) {
  tp_out_t *o = e->out;
  tp_out_str(o, "# HELP ");
  tp_out_str(o, e->prefix);
  tp_out_str(o, f->metric);
  tp_out_char(o, ' ');
  prom_escape(o, f->help ? f->help : f->metric, false);
  tp_out_str(o, "\n# TYPE ");
  tp_out_str(o, e->prefix);
  tp_out_str(o, f->metric);
  tp_out_str(o, f->mtype == TP_COUNTER ? " counter\n" : " gauge\n");
}

/* A Prometheus sample holds a number; strings go through tp_emit_info. */
static bool prom_numeric(tp_value_t v) { return v.type != TP_V_STR; }

/* ====================================================== the entry points */

void tp_emit_begin(tp_emitter_t *e) {
  e->depth = 0;
  e->first[0] = true;
  if (e->format == TP_FORMAT_JSON) json_open(e, NULL, '{');
}

void tp_emit_end(tp_emitter_t *e) {
  if (e->format == TP_FORMAT_JSON) {
    while (e->depth > 1) json_close(e, '}'); /* unbalanced caller: still valid */
    json_close(e, '}');
    tp_out_char(e->out, '\n'); /* one object per line (JSON lines) */
  }
}

void tp_emit_scalar(tp_emitter_t *e, const tp_field_t *f, tp_value_t v) {
  tp_out_t *o = e->out;
  char b[48];
  switch (e->format) {
  case TP_FORMAT_JSON:
    if (!f->key) return;
    json_member(e, f->key);
    plain_value(o, v, true);
    return;
  case TP_FORMAT_TEXT:
    if (!f->label || e->depth > 0) return; /* objects are JSON-only */
    text_label(o, f->label);
    if (v.type == TP_V_STR) tp_out_str(o, v.s); /* whole: a path, a command line */
    else tp_out_mem(o, b, text_value(b, v, f->unit));
    tp_out_char(o, '\n');
    return;
  case TP_FORMAT_PROMETHEUS:
    if (!f->metric || e->depth > 0 || !prom_numeric(v)) return;
    prom_family(e, f);
    tp_out_str(o, e->prefix);
    tp_out_str(o, f->metric);
    tp_out_char(o, ' ');
    plain_value(o, prom_unit(v, f->unit), false);
    tp_out_char(o, '\n');
    return;
  }
}

/* depth counts JSON nesting; text and Prometheus use it only to mute the
 * members of an object, which are JSON-only. */
void tp_emit_object_begin(tp_emitter_t *e, const char *key) {
  if (e->format == TP_FORMAT_JSON) json_open(e, key, '{');
  else e->depth++;
}

void tp_emit_object_end(tp_emitter_t *e) {
  if (e->format == TP_FORMAT_JSON) json_close(e, '}');
  else if (e->depth > 0) e->depth--;
}

void tp_emit_array_begin(tp_emitter_t *e, const char *key) {
  if (e->format == TP_FORMAT_JSON) json_open(e, key, '[');
  else e->depth++;
}

void tp_emit_array_end(tp_emitter_t *e) {
  if (e->format == TP_FORMAT_JSON) json_close(e, ']');
  else if (e->depth > 0) e->depth--;
}

void tp_emit_table(tp_emitter_t *e, const tp_table_t *t) {
  tp_out_t *o = e->out;
  char b[48];
  switch (e->format) {
  case TP_FORMAT_JSON:
    json_open(e, t->key, t->keyed ? '{' : '[');
    for (size_t r = 0; r < t->nrows; r++) {
      json_open(e, t->keyed ? t->row_name(t->ctx, r, false, b) : NULL, '{');
      for (size_t c = 0; c < t->ncols; c++) {
        if (!t->cols[c].key) continue;
        json_member(e, t->cols[c].key);
        plain_value(o, t->cell(t->ctx, r, c), true);
      }
      json_close(e, '}');
    }
    json_close(e, t->keyed ? '}' : ']');
    return;
  case TP_FORMAT_TEXT:
    if (e->depth == 0) text_table(e, t);
    return;
  case TP_FORMAT_PROMETHEUS:
    if (e->depth > 0) return;
    for (size_t c = 0; c < t->ncols; c++) {
      const tp_field_t *f = &t->cols[c];
      if (!f->metric) continue;
      prom_family(e, f);
      for (size_t r = 0; r < t->nrows; r++) {
        tp_value_t v = t->cell(t->ctx, r, c);
        if (!prom_numeric(v)) continue;
        tp_out_str(o, e->prefix);
        tp_out_str(o, f->metric);
        tp_out_char(o, '{');
        tp_out_str(o, t->label);
        tp_out_str(o, "=\"");
        prom_escape(o, t->row_name(t->ctx, r, false, b), true);
        tp_out_str(o, "\"} ");
        plain_value(o, prom_unit(v, f->unit), false);
        tp_out_char(o, '\n');
      }
    }
    return;
  }
}

void tp_emit_list(tp_emitter_t *e, const tp_field_t *f, const uint64_t *v, size_t n,
                  size_t text_max) {
  tp_out_t *o = e->out;
  if (e->format == TP_FORMAT_JSON && f->key) {
    json_open(e, f->key, '[');
    for (size_t i = 0; i < n; i++) {
      if (i) tp_out_char(o, ',');
      tp_out_u64(o, v[i]);
    }
    json_close(e, ']');
  } else if (e->format == TP_FORMAT_TEXT && f->label && e->depth == 0) {
    size_t from = n > text_max ? n - text_max : 0;
    tp_out_str(o, f->label);
    tp_out_str(o, " (");
    if (from) {
      tp_out_str(o, "last ");
      tp_out_u64(o, n - from);
      tp_out_str(o, " of ");
    }
    tp_out_u64(o, n);
    tp_out_str(o, n ? ", oldest first):" : ")");
    size_t col = TP_TEXT_WRAP; /* start a line before the first number */
    char b[24];
    for (size_t i = from; i < n; i++) {
      size_t k = tp_fmt_u64(b, v[i]);
      if (col + 1 + k > TP_TEXT_WRAP) {
        tp_out_str(o, "\n ");
        col = 1;
      }
      tp_out_char(o, ' ');
      tp_out_mem(o, b, k);
      col += 1 + k;
    }
    tp_out_char(o, '\n');
  }
}

void tp_emit_info(tp_emitter_t *e, const tp_field_t *f, const char *const *names,
                  const char *const *values, size_t n) {
  if (e->format != TP_FORMAT_PROMETHEUS || e->depth > 0) return;
  tp_out_t *o = e->out;
  prom_family(e, f);
  tp_out_str(o, e->prefix);
  tp_out_str(o, f->metric);
  tp_out_char(o, '{');
  for (size_t i = 0; i < n; i++) {
    if (i) tp_out_char(o, ',');
    tp_out_str(o, names[i]);
    tp_out_str(o, "=\"");
    prom_escape(o, values[i], true);
    tp_out_char(o, '"');
  }
  tp_out_str(o, "} 1\n");
}
