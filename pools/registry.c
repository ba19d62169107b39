/* registry.c - named pool slots and the "pools" section of the dumps (see
 * registry.h), and the small functions every pool type shares. */
#include "registry.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"   /* tp_warn */
#include "engine.h"
#include "guard.h"
#include "sections.h"

#define TP_POOL_SLOTS 256

/* Slot 0 is shared by the pools that found no free slot. Zero-initialised
 * (.bss): 36 KiB of .data would be file pages every preloaded program maps
 * in whole (fault-around), pools or not; registry_init names slot 0. */
static tp_pool_slot_t tp_slots[TP_POOL_SLOTS];
static pthread_once_t tp_registry_once = PTHREAD_ONCE_INIT;

static const tp_stats_section_t pools_section;

static void registry_init(void) {
  tp_slots[0].kind = "mixed";
  strcpy(tp_slots[0].name, "(others)");
  tp_stats_add_section(&pools_section);
}

tp_pool_slot_t *tp_pool_register(const char *kind, const char *name, const char *fallback) {
  pthread_once(&tp_registry_once, registry_init);
  for (size_t i = 1; i < TP_POOL_SLOTS; i++) {
    tp_pool_slot_t *s = &tp_slots[i];
    int free_ = 0;
    if (atomic_load_explicit(&s->used, memory_order_relaxed) ||
        !atomic_compare_exchange_strong(&s->used, &free_, 2)) /* 2: being set up */
      continue;
    for (int c = 0; c < TP_PC_COUNT; c++) atomic_store_explicit(&s->c[c], 0, memory_order_relaxed);
    s->kind = kind;
    s->snap = NULL;
    strncpy(s->name, name ? name : fallback, TIERPOOL_NAME_MAX);
    s->name[TIERPOOL_NAME_MAX] = '\0';
    atomic_store_explicit(&s->used, 1, memory_order_release);
    return s;
  }
  atomic_store_explicit(&tp_slots[0].used, 1, memory_order_release);
  return &tp_slots[0];
}

void tp_pool_unregister(tp_pool_slot_t *s) {
  if (s != &tp_slots[0]) atomic_store_explicit(&s->used, 0, memory_order_release);
}

void tp_pool_snapshot(const tp_pool_slot_t *s, tierpool_pool_stats_t *out) {
  if (s->snap) {
    s->snap(out);
    return;
  }
#define TP_PC_LOAD(field, type, doc)                                           \
  out->field = atomic_load_explicit(&s->c[TP_PC_##field], memory_order_relaxed);
  TIERPOOL_POOL_COUNTERS(TP_PC_LOAD)
#undef TP_PC_LOAD
}

void *tp_pool_alloc(size_t n) {
  void *p = tp_calloc(1, n);
  return p;
}

void tp_pool_free(void *p) { tp_free(p); }

bool tp_pool_is_heap(const void *p) { return tp_is_pooled(p) || tp_fwd_owns(p); }

void tp_pool_park(void *obj) {
  if (tp_slow_mode) tp_guard_put(obj);
}

void tp_pool_unpark(void *obj, size_t n) {
  if (tp_slow_mode) tp_guard_got(obj, n);
}

void tp_pool_die(const char *what, const void *p) {
  tp_warn("%s: %p; aborting", what, p);
  abort();
}

/* ------------------------------------------------------------ the dump */

/* Columns: the kind (text and JSON), then one per counter. Prometheus
 * names them tierpool_pool_<field>{pool="name"}, counters with the
 * conventional _total suffix. */
#define TP_PC_METRIC_COUNTER(field) "pool_" #field "_total"
#define TP_PC_METRIC_GAUGE(field) "pool_" #field
static const tp_field_t pool_cols[] = {
    {"kind", "kind", NULL, NULL, TP_GAUGE, TP_UNIT_COUNT},
#define TP_PC_COL(field, type, doc)                                             \
  {#field, #field, TP_PC_METRIC_##type(field), doc, TP_##type, TP_UNIT_COUNT},
    TIERPOOL_POOL_COUNTERS(TP_PC_COL)
#undef TP_PC_COL
};
#define TP_POOL_COLS (sizeof pool_cols / sizeof pool_cols[0])

typedef struct {
  uint16_t rows[TP_POOL_SLOTS];
  size_t n;
} pool_rows_t;

static tp_value_t pool_cell(const void *ctx, size_t row, size_t col) {
  const tp_pool_slot_t *s = &tp_slots[((const pool_rows_t *)ctx)->rows[row]];
  if (col == 0) return tp_v_str(s->kind ? s->kind : "");
  tierpool_pool_stats_t st;
  tp_pool_snapshot(s, &st);
  uint64_t v[] = {
#define TP_PC_VAL(field, type, doc) st.field,
      TIERPOOL_POOL_COUNTERS(TP_PC_VAL)
#undef TP_PC_VAL
  };
  return tp_v_u64(v[col - 1]);
}

static const char *pool_name(const void *ctx, size_t row, bool text, char *buf) {
  (void)text, (void)buf;
  return tp_slots[((const pool_rows_t *)ctx)->rows[row]].name;
}

static void render_pools(tp_emitter_t *e) {
  pool_rows_t rows = {.n = 0};
  for (size_t i = 0; i < TP_POOL_SLOTS; i++)
    if (atomic_load_explicit(&tp_slots[i].used, memory_order_acquire) == 1) rows.rows[rows.n++] = (uint16_t)i;
  tp_out_t *o = tp_emit_text_out(e);
  if (o) tp_out_char(o, '\n');
  tp_table_t t = {.key = "pools", .title = "pool", .label = "pool", .keyed = true,
                  .cols = pool_cols, .ncols = TP_POOL_COLS, .nrows = rows.n, .ctx = &rows,
                  .cell = pool_cell, .row_name = pool_name};
  tp_emit_table(e, &t);
}

/* "fields": {"pool": [...]} describes the columns (the text table's title). */
static const tp_stats_section_t pools_section = {"pool", render_pools, pool_cols, TP_POOL_COLS};
