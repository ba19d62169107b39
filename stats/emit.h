/* emit.h - one sequence of calls, rendered as text, JSON or Prometheus.
 *
 * The renderer (render.c) describes a dump once: scalars, nested objects,
 * tables and lists, each field carrying its JSON key, its text label and its
 * Prometheus metric. The emitter turns that description into the format the
 * user asked for (the idea of jemalloc's emitter.h), so the three formats
 * cannot drift apart.
 *
 * Nothing here allocates, takes a lock or calls stdio: everything goes
 * through a tp_out_t (out.h), a fixed buffer flushed with write(2). Every
 * function is async-signal-safe.
 */
#ifndef TP_STATS_EMIT_H
#define TP_STATS_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "out.h"

/* The dump formats (TIERPOOL_FORMAT). */
enum tp_format { TP_FORMAT_TEXT = 0, TP_FORMAT_JSON = 1, TP_FORMAT_PROMETHEUS = 2 };

/* ----------------------------------------------------------- the emitter */

/* How a value reads in text. */
enum tp_unit {
  TP_UNIT_COUNT = 0, /* plain integer */
  TP_UNIT_BYTES,     /* tp_fmt_bytes in text, exact integer elsewhere */
  TP_UNIT_SIZE,      /* tp_fmt_size in text */
  TP_UNIT_PERCENT,   /* a ratio: "78.1%" in text, 0.7813 elsewhere */
  TP_UNIT_TIME       /* ns since the epoch: RFC 3339 in text ("-" for 0), integer ns in
                      * JSON, seconds in Prometheus */
};

/* Prometheus metric type. */
enum tp_mtype { TP_GAUGE = 0, TP_COUNTER = 1 };

/* A described field. Any of key/label/metric may be NULL: the field is then
 * absent from that format. */
typedef struct tp_field_s {
  const char *key;    /* JSON key */
  const char *label;  /* text label or column header */
  const char *metric; /* Prometheus name, without the "tierpool_" prefix */
  const char *help;   /* Prometheus HELP line */
  enum tp_mtype mtype;
  enum tp_unit unit;
} tp_field_t;

/* A plain JSON key: no label, help or metric (sections beyond the counters). */
#define TP_KEY(name) {name, NULL, NULL, NULL, TP_GAUGE, TP_UNIT_COUNT}

enum tp_vtype { TP_V_U64 = 0, TP_V_I64, TP_V_STR, TP_V_BOOL, TP_V_RATIO, TP_V_NULL };

typedef struct tp_value_s {
  enum tp_vtype type;
  uint64_t u;    /* U64, BOOL, RATIO numerator */
  int64_t i;     /* I64 */
  uint64_t den;  /* RATIO denominator */
  const char *s; /* STR */
} tp_value_t;

static inline tp_value_t tp_v_u64(uint64_t u) { return (tp_value_t){.type = TP_V_U64, .u = u}; }
static inline tp_value_t tp_v_i64(int64_t i) { return (tp_value_t){.type = TP_V_I64, .i = i}; }
static inline tp_value_t tp_v_str(const char *s) { return (tp_value_t){.type = TP_V_STR, .s = s}; }
static inline tp_value_t tp_v_bool(bool b) { return (tp_value_t){.type = TP_V_BOOL, .u = b}; }
static inline tp_value_t tp_v_null(void) { return (tp_value_t){.type = TP_V_NULL}; }
static inline tp_value_t tp_v_ratio(uint64_t num, uint64_t den) {
  return (tp_value_t){.type = TP_V_RATIO, .u = num, .den = den};
}

/* A table: rows of the same columns (the tiers; the discard reasons).
 *   JSON:       an array of objects, or (keyed) an object of objects by row name
 *   text:       an aligned table, right-justified, with an optional total row
 *   Prometheus: one metric family per column, one sample per row, labelled
 *               label="row name" (families must be contiguous, hence by column) */
typedef struct tp_table_s {
  const char *key;   /* JSON key */
  const char *title; /* text: header of the first column (the row names) */
  const char *label; /* Prometheus label name */
  bool keyed;        /* JSON layout, see above */
  const tp_field_t *cols;
  size_t ncols;
  size_t nrows;
  const void *ctx;
  tp_value_t (*cell)(const void *ctx, size_t row, size_t col);
  /* The row's name (tier size, reason), written into buf[32] if need be;
   * text asks for the people's form ("4K"), the others for the exact one. */
  const char *(*row_name)(const void *ctx, size_t row, bool text, char *buf);
  /* text only: the total row (NULL: none) and rows to leave out (NULL: none) */
  tp_value_t (*total)(const void *ctx, size_t col);
  bool (*text_skip)(const void *ctx, size_t row);
} tp_table_t;

#define TP_EMIT_DEPTH 8

typedef struct tp_emitter_s {
  enum tp_format format;
  tp_out_t *out;
  int depth;                   /* JSON nesting */
  bool first[TP_EMIT_DEPTH];   /* JSON: no comma before the next member */
  const char *prefix;          /* Prometheus metric prefix, "tierpool_" */
} tp_emitter_t;

void tp_emit_init(tp_emitter_t *e, enum tp_format format, tp_out_t *out);
void tp_emit_begin(tp_emitter_t *e);
void tp_emit_end(tp_emitter_t *e); /* ends the dump: "}\n" in JSON */
void tp_emit_scalar(tp_emitter_t *e, const tp_field_t *f, tp_value_t v);
/* A JSON object; its members are JSON-only (no text, no metrics). */
void tp_emit_object_begin(tp_emitter_t *e, const char *key);
void tp_emit_object_end(tp_emitter_t *e);
/* A JSON array (JSON-only, like objects): its elements are objects opened
 * with tp_emit_object_begin(e, NULL), or scalars of fields without a key. */
void tp_emit_array_begin(tp_emitter_t *e, const char *key);
void tp_emit_array_end(tp_emitter_t *e);
void tp_emit_table(tp_emitter_t *e, const tp_table_t *t);
/* A list of integers: JSON array; text "label (n, oldest first): a b c",
 * the last text_max only; not in Prometheus. */
void tp_emit_list(tp_emitter_t *e, const tp_field_t *f, const uint64_t *v, size_t n,
                  size_t text_max);
/* Prometheus only: `tierpool_<metric>{names[i]="values[i]",...} 1`, the
 * usual way to publish strings (an info metric). */
void tp_emit_info(tp_emitter_t *e, const tp_field_t *f, const char *const *names,
                  const char *const *values, size_t n);
/* The writer, when the format is text (for the header and the verdict
 * lines, which only text has); NULL otherwise. */
tp_out_t *tp_emit_text_out(tp_emitter_t *e);

#endif
