/* render.c - the one description of a dump (see render.h).
 *
 * Order of a dump: who and when (version, pid, exe, time, reason), the
 * options in effect, the tiers table, the totals, the discards by reason,
 * threads, the recent lengths, a layer's section (the leak report), and
 * the balance verdict. The JSON keys are
 * the schema (docs/schema/tierpool-stats.schema.json); renaming one is an
 * incompatible change: bump TP_STATS_SCHEMA_VERSION.
 */
#include "render.h"
#include "sections.h"

#include <string.h>

const char *tp_dump_reason_name(enum tp_dump_reason r) {
  switch (r) {
  case TP_DUMP_EXIT: return "exit";
  case TP_DUMP_SIGNAL: return "signal";
  case TP_DUMP_INTERVAL: return "interval";
  case TP_DUMP_API: return "api";
  }
  return "api";
}

const char *tp_format_name(enum tp_format f) {
  switch (f) {
  case TP_FORMAT_TEXT: return "text";
  case TP_FORMAT_JSON: return "json";
  case TP_FORMAT_PROMETHEUS: return "prometheus";
  }
  return "text";
}

const char *tp_discard_reason_name(unsigned reason) {
  static const char *const names[TIERPOOL_REASON_COUNT] = {"too_large", "alignment",
                                                           "pool_full", "no_pool"};
  return reason < TIERPOOL_REASON_COUNT ? names[reason] : "unknown";
}

/* ------------------------------------------------------------ the tiers */

enum {
  COL_SIZE, COL_GET, COL_PUT, COL_LIVE, COL_REQUESTED, COL_FILL, COL_CACHED,
  COL_CENTRAL, COL_CARVED, COL_COMMITTED, TIER_COLS
};

/* key, text label, metric, help, type, unit */
static const tp_field_t tier_cols[TIER_COLS] = {
    [COL_SIZE] = {"size", NULL, NULL, NULL, TP_GAUGE, TP_UNIT_SIZE},
    [COL_GET] = {"get", "get", "get_total", "Blocks handed out by the tier.", TP_COUNTER,
                 TP_UNIT_COUNT},
    [COL_PUT] = {"put", "put", "put_total", "Blocks given back to the tier.", TP_COUNTER,
                 TP_UNIT_COUNT},
    [COL_LIVE] = {"live", "live", "live_blocks", "Blocks in use (get - put).", TP_GAUGE,
                  TP_UNIT_COUNT},
    [COL_REQUESTED] = {"bytes_requested", "requested", "requested_bytes_total",
                       "Sum of the lengths asked for by the gets.", TP_COUNTER, TP_UNIT_BYTES},
    [COL_FILL] = {"fill", "fill", "fill_ratio",
                  "Bytes requested / (get * size): 1 means no internal fragmentation.",
                  TP_GAUGE, TP_UNIT_PERCENT},
    [COL_CACHED] = {"cached", "cached", "cached_blocks",
                    "Free blocks held in thread caches.", TP_GAUGE, TP_UNIT_COUNT},
    [COL_CENTRAL] = {"central", "central", "central_blocks",
                     "Free blocks held in the central pool.", TP_GAUGE, TP_UNIT_COUNT},
    [COL_CARVED] = {"carved_bytes", NULL, "carved_bytes",
                    "Bytes carved from the tier's region so far.", TP_GAUGE, TP_UNIT_BYTES},
    [COL_COMMITTED] = {"committed_bytes", "committed", "committed_bytes",
                       "Bytes of the tier's region made accessible.", TP_GAUGE, TP_UNIT_BYTES},
};

/* fill = requested / (get * size), as a ratio whose denominator fits in 64
 * bits: scale both down together when get * size does not. */
static tp_value_t fill_ratio(uint64_t requested, uint64_t get, uint64_t size) {
  tp_u128 den = (tp_u128)get * size;
  while (den > UINT64_MAX) {
    den >>= 1;
    requested >>= 1;
  }
  return tp_v_ratio(requested, (uint64_t)den);
}

static tp_value_t tier_cell(const void *ctx, size_t row, size_t col) {
  const tierpool_tier_stats_t *t = &((const tierpool_stats_t *)ctx)->tiers[row];
  switch (col) {
  case COL_SIZE: return tp_v_u64(t->size);
  case COL_GET: return tp_v_u64(t->get);
  case COL_PUT: return tp_v_u64(t->put);
  case COL_LIVE: return tp_v_i64(t->live);
  case COL_REQUESTED: return tp_v_u64(t->bytes_requested);
  case COL_FILL: return fill_ratio(t->bytes_requested, t->get, t->size);
  case COL_CACHED: return tp_v_u64(t->cached);
  case COL_CENTRAL: return tp_v_u64(t->central);
  case COL_CARVED: return tp_v_u64(t->carved_bytes);
  case COL_COMMITTED: return tp_v_u64(t->committed_bytes);
  }
  return tp_v_null();
}

static tp_value_t tier_total(const void *ctx, size_t col) {
  const tierpool_stats_t *st = ctx;
  uint64_t sum = 0, den = 0;
  int64_t live = 0;
  bool den_overflow = false;
  for (uint32_t i = 0; i < st->ntiers; i++) {
    const tierpool_tier_stats_t *t = &st->tiers[i];
    switch (col) {
    case COL_LIVE: live += t->live; break;
    case COL_REQUESTED:
    case COL_FILL: sum += t->bytes_requested; break;
    case COL_CACHED: sum += t->cached; break;
    case COL_CENTRAL: sum += t->central; break;
    case COL_CARVED: sum += t->carved_bytes; break;
    case COL_COMMITTED: sum += t->committed_bytes; break;
    default: break;
    }
    if (col == COL_FILL) {
      tp_u128 d = (tp_u128)t->get * t->size + den;
      if (d > UINT64_MAX) den_overflow = true;
      den = (uint64_t)d;
    }
  }
  switch (col) {
  case COL_GET: return tp_v_u64(st->total_get);
  case COL_PUT: return tp_v_u64(st->total_put);
  case COL_LIVE: return tp_v_i64(live);
  case COL_FILL: return den_overflow ? tp_v_null() : tp_v_ratio(sum, den);
  case COL_SIZE: return tp_v_null();
  default: return tp_v_u64(sum);
  }
}

static const char *tier_name(const void *ctx, size_t row, bool text, char *buf) {
  uint64_t size = ((const tierpool_stats_t *)ctx)->tiers[row].size;
  if (text) tp_fmt_size(buf, size);
  else tp_fmt_u64(buf, size);
  return buf;
}

/* Text leaves out the tiers the program never touched. */
static bool tier_untouched(const void *ctx, size_t row) {
  const tierpool_tier_stats_t *t = &((const tierpool_stats_t *)ctx)->tiers[row];
  return !t->get && !t->put && !t->cached && !t->central && !t->committed_bytes;
}

/* --------------------------------------------------------- the discards */

static const tp_field_t discard_cols[2] = {
    {"count", "count", "discarded_total",
     "Requests forwarded to mimalloc instead of a tier, by reason.", TP_COUNTER, TP_UNIT_COUNT},
    {"bytes", "bytes", "discarded_bytes_total",
     "Bytes requested by the forwarded requests, by reason.", TP_COUNTER, TP_UNIT_BYTES},
};

static tp_value_t discard_cell(const void *ctx, size_t row, size_t col) {
  const tierpool_stats_t *st = ctx;
  return tp_v_u64(col == 0 ? st->discarded_by_reason[row] : st->discarded_bytes_by_reason[row]);
}

static tp_value_t discard_total(const void *ctx, size_t col) {
  const tierpool_stats_t *st = ctx;
  return tp_v_u64(col == 0 ? st->discarded : st->discarded_bytes);
}

static const char *discard_name(const void *ctx, size_t row, bool text, char *buf) {
  (void)ctx, (void)text, (void)buf;
  return tp_discard_reason_name((unsigned)row);
}

static bool discard_zero(const void *ctx, size_t row) {
  const tierpool_stats_t *st = ctx;
  return st->discarded_by_reason[row] == 0 && st->discarded_bytes_by_reason[row] == 0;
}

/* -------------------------------------------------------- the scalars */

static const tp_field_t
    f_version = {"version", NULL, NULL, NULL, TP_GAUGE, TP_UNIT_COUNT},
    f_pid = {"pid", NULL, NULL, NULL, TP_GAUGE, TP_UNIT_COUNT},
    f_exe = {"exe", NULL, NULL, NULL, TP_GAUGE, TP_UNIT_COUNT},
    f_time = {"time", NULL, NULL, NULL, TP_GAUGE, TP_UNIT_COUNT},
    f_time_s = {NULL, NULL, "dump_time_seconds", "When the dump was written (Unix time).",
                TP_GAUGE, TP_UNIT_COUNT},
    f_reason = {"reason", NULL, NULL, NULL, TP_GAUGE, TP_UNIT_COUNT},
    f_info = {NULL, NULL, "info", "The process the counters come from; the value is always 1.",
              TP_GAUGE, TP_UNIT_COUNT},
    f_total_get = {"total_get", NULL, NULL, NULL, TP_COUNTER, TP_UNIT_COUNT},
    f_total_put = {"total_put", NULL, NULL, NULL, TP_COUNTER, TP_UNIT_COUNT},
    f_live = {"live", NULL, NULL, NULL, TP_GAUGE, TP_UNIT_COUNT},
    f_live_bytes = {"live_bytes", NULL, NULL, NULL, TP_GAUGE, TP_UNIT_BYTES},
    f_balanced = {"balanced", NULL, "balanced",
                  "1 when every get has its put (no tier has live blocks).", TP_GAUGE,
                  TP_UNIT_COUNT},
    f_discarded = {"discarded", NULL, NULL, NULL, TP_COUNTER, TP_UNIT_COUNT},
    f_discarded_bytes = {"discarded_bytes", NULL, NULL, NULL, TP_COUNTER, TP_UNIT_BYTES},
    f_forwarded_frees = {"forwarded_frees", "forwarded frees", "forwarded_frees_total",
                         "Frees of blocks that mimalloc had served.", TP_COUNTER, TP_UNIT_COUNT},
    f_threads_started = {"threads_started", "threads started", "threads_started_total",
                         "Thread caches set up.", TP_COUNTER, TP_UNIT_COUNT},
    f_threads_exited = {"threads_exited", "threads exited", "threads_exited_total",
                        "Thread caches flushed at thread exit.", TP_COUNTER, TP_UNIT_COUNT},
    f_fork_lost = {"fork_lost_blocks", "fork lost blocks", "fork_lost_blocks_total",
                   "Cached blocks of threads that a fork left behind.", TP_COUNTER,
                   TP_UNIT_COUNT},
    f_recent = {"recent_lengths", "recent lengths", NULL, NULL, TP_GAUGE, TP_UNIT_COUNT};

/* The options in effect, generated from the one option table: the JSON key
 * is the field name (max_tier, ring, stats, ...). */
static void render_config(tp_emitter_t *e, const tp_config_t *cfg) {
  tp_emit_object_begin(e, "config");
#define TP_CFG_SIZE(f) tp_v_u64(cfg->f)
#define TP_CFG_UINT(f) tp_v_u64(cfg->f)
#define TP_CFG_BOOL(f) tp_v_bool(cfg->f)
#define TP_CFG_PATH(f) (cfg->f[0] ? tp_v_str(cfg->f) : tp_v_null())
#define TP_CFG_FORMAT(f) tp_v_str(tp_format_name(cfg->f))
#define TP_CFG_SIGNAL(f) (cfg->f ? tp_v_u64((uint64_t)cfg->f) : tp_v_null())
#define TP_CFG_BYTES(f) tp_v_u64(cfg->f)
#define TP_CFG_HARDEN(f) tp_v_str(cfg->f == TP_HARDEN_FULL ? "full" : "default")
#define TP_CFG_FAIL(f) (cfg->f.mode ? tp_v_str(cfg->f.text) : tp_v_null())
#define TP_CFG(kind, field, name, def, lo, hi, doc)                              \
  {                                                                            \
    static const tp_field_t f = {#field, NULL, NULL, NULL, TP_GAUGE, TP_UNIT_COUNT}; \
    tp_emit_scalar(e, &f, TP_CFG_##kind(field));                               \
  }
  TP_OPTIONS(TP_CFG)
#undef TP_CFG
  tp_emit_object_end(e);
}

/* Blocks forwarded to mimalloc and not freed: every forward counts a
 * discard and every free of a forwarded block a forwarded free. */
static uint64_t forwarded_live(const tierpool_stats_t *st) {
  return st->discarded > st->forwarded_frees ? st->discarded - st->forwarded_frees : 0;
}

/* Raw counts, no suppressions: every get without its put, pooled or
 * forwarded (an 8 MiB leak is not "balanced"). */
static bool is_balanced(const tierpool_stats_t *st, uint32_t ntiers) {
  bool balanced = forwarded_live(st) == 0;
  for (uint32_t i = 0; i < ntiers; i++) balanced &= st->tiers[i].live == 0;
  return balanced;
}

/* "balanced: ..." or "UNBALANCED: N blocks (B bytes) still live in tiers a, b
 * and F forwarded blocks" */
static void render_verdict(tp_emitter_t *e, const tierpool_stats_t *st, int64_t live,
                           int64_t live_bytes) {
  tp_out_t *o = tp_emit_text_out(e);
  if (!o) return;
  if (is_balanced(st, st->ntiers)) {
    tp_out_str(o, "balanced: every get has its put\n");
    return;
  }
  tp_out_str(o, "UNBALANCED: ");
  uint64_t fwd = forwarded_live(st);
  unsigned n = 0;
  for (uint32_t i = 0; i < st->ntiers; i++) n += st->tiers[i].live != 0;
  if (n) {
    tp_out_i64(o, live);
    tp_out_str(o, live == 1 ? " block (" : " blocks (");
    tp_out_i64(o, live_bytes);
    tp_out_str(o, " bytes) still live in tier");
    const char *sep = n == 1 ? " " : "s ";
    char b[24];
    for (uint32_t i = 0; i < st->ntiers; i++) {
      if (st->tiers[i].live == 0) continue;
      tp_out_str(o, sep);
      tp_out_mem(o, b, tp_fmt_size(b, st->tiers[i].size));
      sep = ", ";
    }
    if (fwd) tp_out_str(o, " and ");
  }
  if (fwd) {
    tp_out_u64(o, fwd);
    tp_out_str(o, fwd == 1 ? " forwarded block" : " forwarded blocks");
    if (!n) tp_out_str(o, " still live");
  }
  tp_out_char(o, '\n');
}

void tp_render(tp_emitter_t *e, const tierpool_stats_t *st, const uint64_t *lengths,
               size_t nlengths, const tp_dump_meta_t *meta) {
  tp_render_ex(e, st, lengths, nlengths, meta, NULL, NULL);
}

void tp_render_ex(tp_emitter_t *e, const tierpool_stats_t *st, const uint64_t *lengths,
                  size_t nlengths, const tp_dump_meta_t *meta, tp_render_section_fn section,
                  const void *section_ctx) {
  char pid[24], when[40], version[24];
  tp_fmt_u64(pid, (uint64_t)meta->pid);
  tp_fmt_time(when, meta->time_ns);
  tp_fmt_u64(version, TP_STATS_SCHEMA_VERSION);
  const char *reason = tp_dump_reason_name(meta->reason);
  const char *exe = meta->exe ? meta->exe : "";
  uint32_t ntiers = st->ntiers <= TIERPOOL_MAX_TIERS ? st->ntiers : TIERPOOL_MAX_TIERS;

  int64_t live = 0, live_bytes = 0;
  for (uint32_t i = 0; i < ntiers; i++) {
    live += st->tiers[i].live;
    live_bytes += st->tiers[i].live * (int64_t)st->tiers[i].size;
  }

  tp_emit_begin(e);
  /* who and when */
  tp_out_t *o = tp_emit_text_out(e);
  if (o) {
    tp_out_str(o, "tierpool ");
    tp_out_str(o, reason);
    tp_out_str(o, " dump: pid ");
    tp_out_str(o, pid);
    if (*exe) {
      tp_out_str(o, " (");
      tp_out_str(o, exe);
      tp_out_char(o, ')');
    }
    tp_out_str(o, " at ");
    tp_out_str(o, when);
    tp_out_char(o, '\n');
  }
  tp_emit_scalar(e, &f_version, tp_v_u64(TP_STATS_SCHEMA_VERSION));
  tp_emit_scalar(e, &f_pid, tp_v_i64(meta->pid));
  tp_emit_scalar(e, &f_exe, tp_v_str(exe));
  tp_emit_scalar(e, &f_time, tp_v_str(when));
  tp_emit_scalar(e, &f_time_s, tp_v_ratio(meta->time_ns, 1000000000u));
  tp_emit_scalar(e, &f_reason, tp_v_str(reason));
  static const char *const info_names[] = {"version", "pid", "exe", "reason"};
  const char *info_values[] = {version, pid, exe, reason};
  tp_emit_info(e, &f_info, info_names, info_values, 4);
  if (meta->config) render_config(e, meta->config);

  /* the tiers */
  tp_table_t tiers = {
      .key = "tiers", .title = "tier", .label = "tier", .keyed = false,
      .cols = tier_cols, .ncols = TIER_COLS, .nrows = ntiers, .ctx = st,
      .cell = tier_cell, .row_name = tier_name, .total = tier_total,
      .text_skip = tier_untouched};
  tp_emit_table(e, &tiers);
  tp_emit_scalar(e, &f_total_get, tp_v_u64(st->total_get));
  tp_emit_scalar(e, &f_total_put, tp_v_u64(st->total_put));
  tp_emit_scalar(e, &f_live, tp_v_i64(live));
  tp_emit_scalar(e, &f_live_bytes, tp_v_i64(live_bytes));
  tp_emit_scalar(e, &f_balanced, tp_v_bool(is_balanced(st, ntiers)));

  /* what went to mimalloc */
  tp_emit_scalar(e, &f_discarded, tp_v_u64(st->discarded));
  tp_emit_scalar(e, &f_discarded_bytes, tp_v_u64(st->discarded_bytes));
  tp_table_t discards = {
      .key = "discarded_by_reason", .title = "discarded", .label = "reason", .keyed = true,
      .cols = discard_cols, .ncols = 2, .nrows = TIERPOOL_REASON_COUNT, .ctx = st,
      .cell = discard_cell, .row_name = discard_name, .total = discard_total,
      .text_skip = discard_zero};
  if (o) tp_out_char(o, '\n');
  tp_emit_table(e, &discards);
  tp_emit_scalar(e, &f_forwarded_frees, tp_v_u64(st->forwarded_frees));

  /* threads, fork */
  if (o) tp_out_char(o, '\n');
  tp_emit_scalar(e, &f_threads_started, tp_v_u64(st->threads_started));
  tp_emit_scalar(e, &f_threads_exited, tp_v_u64(st->threads_exited));
  tp_emit_scalar(e, &f_fork_lost, tp_v_u64(st->fork_lost_blocks));

  tp_emit_list(e, &f_recent, lengths, nlengths, TP_TEXT_LENGTHS);
  if (section) section(e, section_ctx);
  tp_stats_render_sections(e); /* layers above: the named pools */
  render_verdict(e, st, live, live_bytes);
  tp_emit_end(e);
}
