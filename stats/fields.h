/* fields.h - the counters as the renderers see them, generated from the one
 * declaration of each (TIERPOOL_TIER_FIELDS and TIERPOOL_PROCESS_FIELDS in
 * include/tierpool.h): their emitter descriptions, their values, and the
 * "fields" object a JSON dump carries so that tools render counters
 * without a copy of the list.
 */
#ifndef TP_STATS_FIELDS_H
#define TP_STATS_FIELDS_H

#include "emit.h"
#include "tierpool.h"

#define TP_FIELD_ENUM(type, field, kind, unit, label, metric, help) TP_F_##field,

/* The tier table's columns: one per tier field, then the derived fill. */
enum tp_tier_col { TIERPOOL_TIER_FIELDS(TP_FIELD_ENUM) TP_COL_FILL, TP_TIER_COLS };
/* The process-wide scalars. */
enum tp_proc_field {
#define TP_PROC_ENUM(type, field, kind, unit, label, metric, help) TP_P_##field,
  TIERPOOL_PROCESS_FIELDS(TP_PROC_ENUM) TP_PROC_FIELDS
#undef TP_PROC_ENUM
};

extern const tp_field_t tp_tier_cols[TP_TIER_COLS];
extern const tp_field_t tp_proc_fields[TP_PROC_FIELDS];

/* The value of column col of tier t (fill as a ratio). */
tp_value_t tp_tier_value(const tierpool_tier_stats_t *t, size_t col);
/* The value of process field f. */
tp_value_t tp_proc_value(const tierpool_stats_t *st, size_t f);
/* fill = requested / (get * size), as a ratio whose denominator fits in 64
 * bits. */
tp_value_t tp_fill_ratio(uint64_t requested, uint64_t get, uint64_t size);

/* JSON only: "fields": {"tier": [...], "process": [...]}, one object per
 * counter with its key, text label, kind, unit, metric and help; then the
 * columns of each registered section's table under its name (sections.h). */
void tp_render_fields(tp_emitter_t *e);

#endif
