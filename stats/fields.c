/* fields.c - the counters' descriptions and values, generated (fields.h). */
#include "fields.h"
#include "sections.h"

#define TP_MTYPE_COUNTER TP_COUNTER
#define TP_MTYPE_GAUGE TP_GAUGE
#define TP_UNIT_OF_COUNT TP_UNIT_COUNT
#define TP_UNIT_OF_BYTES TP_UNIT_BYTES
#define TP_UNIT_OF_SIZE TP_UNIT_SIZE
#define TP_UNIT_OF_TIME TP_UNIT_TIME
#define TP_DESCRIBE(type, field, kind, unit, label, metric, help)              \
  {#field, label, metric, help, TP_MTYPE_##kind, TP_UNIT_OF_##unit},

const tp_field_t tp_tier_cols[TP_TIER_COLS] = {
    TIERPOOL_TIER_FIELDS(TP_DESCRIBE)
    [TP_COL_FILL] = {"fill", "fill", "fill_ratio",
                     "Bytes requested / (get * size): 1 means no internal fragmentation.",
                     TP_GAUGE, TP_UNIT_PERCENT},
};

const tp_field_t tp_proc_fields[TP_PROC_FIELDS] = {TIERPOOL_PROCESS_FIELDS(TP_DESCRIBE)};

#define TP_VALUE_uint64_t(v) tp_v_u64(v)
#define TP_VALUE_int64_t(v) tp_v_i64(v)

tp_value_t tp_fill_ratio(uint64_t requested, uint64_t get, uint64_t size) {
  tp_u128 den = (tp_u128)get * size;
  while (den > UINT64_MAX) { /* scale both down together */
    den >>= 1;
    requested >>= 1;
  }
  return tp_v_ratio(requested, (uint64_t)den);
}

tp_value_t tp_tier_value(const tierpool_tier_stats_t *t, size_t col) {
  switch (col) {
#define TP_CASE(type, field, kind, unit, label, metric, help)                  \
  case TP_F_##field: return TP_VALUE_##type(t->field);
    TIERPOOL_TIER_FIELDS(TP_CASE)
#undef TP_CASE
  case TP_COL_FILL: return tp_fill_ratio(t->bytes_requested, t->get, t->size);
  }
  return tp_v_null();
}

tp_value_t tp_proc_value(const tierpool_stats_t *st, size_t f) {
  switch (f) {
#define TP_CASE(type, field, kind, unit, label, metric, help)                  \
  case TP_P_##field: return TP_VALUE_##type(st->field);
    TIERPOOL_PROCESS_FIELDS(TP_CASE)
#undef TP_CASE
  }
  return tp_v_null();
}

static const char *kind_name(enum tp_mtype m) { return m == TP_COUNTER ? "counter" : "gauge"; }

static const char *unit_name(enum tp_unit u) {
  switch (u) {
  case TP_UNIT_COUNT: return "count";
  case TP_UNIT_BYTES: return "bytes";
  case TP_UNIT_SIZE: return "size";
  case TP_UNIT_PERCENT: return "ratio";
  case TP_UNIT_TIME: return "ns";
  }
  return "count";
}

static void describe(tp_emitter_t *e, const tp_field_t *f) {
  static const tp_field_t k_key = {"key", NULL, NULL, NULL, TP_GAUGE, TP_UNIT_COUNT},
                          k_label = {"label", NULL, NULL, NULL, TP_GAUGE, TP_UNIT_COUNT},
                          k_kind = {"kind", NULL, NULL, NULL, TP_GAUGE, TP_UNIT_COUNT},
                          k_unit = {"unit", NULL, NULL, NULL, TP_GAUGE, TP_UNIT_COUNT},
                          k_metric = {"metric", NULL, NULL, NULL, TP_GAUGE, TP_UNIT_COUNT},
                          k_help = {"help", NULL, NULL, NULL, TP_GAUGE, TP_UNIT_COUNT};
  tp_emit_object_begin(e, NULL);
  tp_emit_scalar(e, &k_key, tp_v_str(f->key));
  tp_emit_scalar(e, &k_label, f->label ? tp_v_str(f->label) : tp_v_null());
  tp_emit_scalar(e, &k_kind, tp_v_str(kind_name(f->mtype)));
  tp_emit_scalar(e, &k_unit, tp_v_str(unit_name(f->unit)));
  tp_emit_scalar(e, &k_metric, f->metric ? tp_v_str(f->metric) : tp_v_null());
  tp_emit_scalar(e, &k_help, f->help ? tp_v_str(f->help) : tp_v_null());
  tp_emit_object_end(e);
}

void tp_render_fields(tp_emitter_t *e) {
  if (e->format != TP_FORMAT_JSON) return;
  tp_emit_object_begin(e, "fields");
  tp_emit_array_begin(e, "tier");
  for (size_t c = 0; c < TP_TIER_COLS; c++) describe(e, &tp_tier_cols[c]);
  tp_emit_array_end(e);
  tp_emit_array_begin(e, "process");
  for (size_t f = 0; f < TP_PROC_FIELDS; f++) describe(e, &tp_proc_fields[f]);
  tp_emit_array_end(e);
  /* the tables of the layers above (the named pools) */
  const tp_stats_section_t *s;
  for (size_t i = 0; (s = tp_stats_section_at(i)); i++) {
    if (!s->cols) continue;
    tp_emit_array_begin(e, s->name);
    for (size_t c = 0; c < s->ncols; c++) describe(e, &s->cols[c]);
    tp_emit_array_end(e);
  }
  tp_emit_object_end(e);
}
