/* render.c - the one description of a dump (see render.h).
 *
 * Order of a dump: who and when (version, pid, exe, time, reason, command
 * line, working directory), the options in effect, the tiers table, the
 * process's counters (peaks, totals, threads), the discards by reason, the
 * recent lengths, a layer's section (the leak report), the balance verdict
 * and (JSON) the description of every counter. The counters come from the
 * one declaration in include/tierpool.h (fields.c). The JSON keys are
 * the schema (docs/schema/tierpool-stats.schema.json); renaming one is an
 * incompatible change: bump TP_STATS_SCHEMA_VERSION.
 */
#include "render.h"
#include "sections.h"

#include <string.h>

#include "fields.h"

const char *tp_dump_reason_name(enum tp_dump_reason r) {
  switch (r) {
  case TP_DUMP_EXIT: return "exit";
  case TP_DUMP_SIGNAL: return "signal";
  case TP_DUMP_INTERVAL: return "interval";
  case TP_DUMP_API: return "api";
  }
  return "api";
}

const char *tp_discard_reason_name(unsigned reason) {
  static const char *const names[TIERPOOL_REASON_COUNT] = {"too_large", "alignment",
                                                           "pool_full", "no_pool"};
  return reason < TIERPOOL_REASON_COUNT ? names[reason] : "unknown";
}

/* ------------------------------------------------------------ the tiers */

static tp_value_t tier_cell(const void *ctx, size_t row, size_t col) {
  return tp_tier_value(&((const tierpool_stats_t *)ctx)->tiers[row], col);
}

/* The total row: sums, except the peaks (the process's own, reached at one
 * moment, not the sum of the tiers' peaks) and fill (over all the bytes). */
static tp_value_t tier_total(const void *ctx, size_t col) {
  const tierpool_stats_t *st = ctx;
  switch (col) {
  case TP_F_size: return tp_v_null();
  case TP_F_peak_live: return tp_v_u64(st->peak_live);
  case TP_F_peak_live_bytes: return tp_v_u64(st->peak_live_bytes);
  case TP_F_peak_time_ns: return tp_v_u64(st->peak_time_ns);
  default: break;
  }
  uint64_t sum = 0, den = 0;
  int64_t live = 0;
  bool den_overflow = false;
  for (uint32_t i = 0; i < st->ntiers; i++) {
    const tierpool_tier_stats_t *t = &st->tiers[i];
    if (col == TP_F_live) live += t->live;
    else if (col == TP_COL_FILL) sum += t->bytes_requested;
    else sum += tp_tier_value(t, col).u;
    if (col == TP_COL_FILL) {
      tp_u128 d = (tp_u128)t->get * t->size + den;
      if (d > UINT64_MAX) den_overflow = true;
      den = (uint64_t)d;
    }
  }
  if (col == TP_F_live) return tp_v_i64(live);
  if (col == TP_COL_FILL) return den_overflow ? tp_v_null() : tp_v_ratio(sum, den);
  return tp_v_u64(sum);
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
    f_live = {"live", NULL, NULL, NULL, TP_GAUGE, TP_UNIT_COUNT},
    f_live_bytes = {"live_bytes", NULL, NULL, NULL, TP_GAUGE, TP_UNIT_BYTES},
    f_balanced = {"balanced", NULL, "balanced",
                  "1 when every get has its put (no tier has live blocks).", TP_GAUGE,
                  TP_UNIT_COUNT},
    f_recent = {"recent_lengths", "recent lengths", NULL, NULL, TP_GAUGE, TP_UNIT_COUNT},
    f_cmdline = {"cmdline", "command", NULL, NULL, TP_GAUGE, TP_UNIT_COUNT},
    f_cwd = {"cwd", "directory", NULL, NULL, TP_GAUGE, TP_UNIT_COUNT};

/* The options in effect, from the layers' option tables: the JSON key is
 * the field name (max_tier, ring, stats, ...). Unset destinations, signals
 * and failure specs are null. */
static void render_config(tp_emitter_t *e, tp_option_table_t *const *tables, size_t n) {
  tp_emit_object_begin(e, "config");
  for (size_t k = 0; k < n; k++) {
    for (size_t i = 0; i < tables[k]->n; i++) {
      const tp_option_t *o = &tables[k]->opts[i];
      const char *field = (const char *)tables[k]->cfg + o->offset;
      char text[TP_PATH_MAX + 8];
      const char *s = tp_option_value(o, tables[k]->cfg, text, sizeof text);
      tp_value_t v = *s ? tp_v_str(s) : tp_v_null();
      switch (o->kind) {
      case TP_OPT_POW2: case TP_OPT_POW2_OR_0: case TP_OPT_BYTES: case TP_OPT_UINT:
        v = tp_v_u64(*(const uint64_t *)field);
        break;
      case TP_OPT_BOOL: v = tp_v_bool(*(const bool *)field); break;
      case TP_OPT_SIGNAL:
        v = *(const int *)field ? tp_v_u64((uint64_t)*(const int *)field) : tp_v_null();
        break;
      default: break; /* DEST, CHOICE, FAIL: the text, null when unset */
      }
      const tp_field_t f = {o->key, NULL, NULL, NULL, TP_GAUGE, TP_UNIT_COUNT};
      tp_emit_scalar(e, &f, v);
    }
  }
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
  /* which test or command it came from */
  if (meta->cmdline && *meta->cmdline) tp_emit_scalar(e, &f_cmdline, tp_v_str(meta->cmdline));
  if (meta->cwd && *meta->cwd) tp_emit_scalar(e, &f_cwd, tp_v_str(meta->cwd));
  static const char *const info_names[] = {"version", "pid", "exe", "reason"};
  const char *info_values[] = {version, pid, exe, reason};
  tp_emit_info(e, &f_info, info_names, info_values, 4);
  if (meta->noptions) render_config(e, meta->options, meta->noptions);

  /* the tiers */
  tp_table_t tiers = {
      .key = "tiers", .title = "tier", .label = "tier", .keyed = false,
      .cols = tp_tier_cols, .ncols = TP_TIER_COLS, .nrows = ntiers, .ctx = st,
      .cell = tier_cell, .row_name = tier_name, .total = tier_total,
      .text_skip = tier_untouched};
  tp_emit_table(e, &tiers);

  /* the process: peaks, totals, threads (one line each in the X-macro) */
  if (o) tp_out_char(o, '\n');
  for (size_t f = 0; f < TP_PROC_FIELDS; f++)
    tp_emit_scalar(e, &tp_proc_fields[f], tp_proc_value(st, f));
  tp_emit_scalar(e, &f_live, tp_v_i64(live));
  tp_emit_scalar(e, &f_live_bytes, tp_v_i64(live_bytes));
  tp_emit_scalar(e, &f_balanced, tp_v_bool(is_balanced(st, ntiers)));

  /* what went to mimalloc, by reason */
  tp_table_t discards = {
      .key = "discarded_by_reason", .title = "discarded", .label = "reason", .keyed = true,
      .cols = discard_cols, .ncols = 2, .nrows = TIERPOOL_REASON_COUNT, .ctx = st,
      .cell = discard_cell, .row_name = discard_name, .total = discard_total,
      .text_skip = discard_zero};
  if (o) tp_out_char(o, '\n');
  tp_emit_table(e, &discards);

  tp_emit_list(e, &f_recent, lengths, nlengths, TP_TEXT_LENGTHS);
  if (section) section(e, section_ctx);
  tp_stats_render_sections(e); /* layers above: the named pools */
  render_verdict(e, st, live, live_bytes);
  tp_render_fields(e);
  tp_emit_end(e);
}
