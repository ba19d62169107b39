/* fixture.h - one fixed snapshot, rendered by the formatter tests and by
 * render_fixture (whose JSON `tierpool show` must turn into the same text). */
#ifndef TP_TEST_FIXTURE_H
#define TP_TEST_FIXTURE_H

#include <string.h>

#include "options.h"
#include "render.h"

/* Three tiers used, one untouched; discards for two reasons. */
static inline void fixture_stats(tierpool_stats_t *st) {
  memset(st, 0, sizeof *st);
  st->version = TIERPOOL_API_VERSION;
  st->ntiers = 4;
  static const tierpool_tier_stats_t tiers[4] = {
      /* size, get, put, live, requested, cached, central, carved, committed */
      {16, 1200, 1200, 0, 14400, 32, 0, 4096, 4096},
      {128, 1000, 500, 500, 100000, 12, 64, 131072, 131072},
      {1024, 0, 0, 0, 0, 0, 0, 0, 0},
      {4096, 10, 0, 10, 30000, 0, 0, 40960, 1048576},
  };
  memcpy(st->tiers, tiers, sizeof tiers);
  st->total_get = 2210;
  st->total_put = 1700;
  st->discarded_by_reason[TIERPOOL_REASON_TOO_LARGE] = 3;
  st->discarded_bytes_by_reason[TIERPOOL_REASON_TOO_LARGE] = 3u << 21;
  st->discarded_by_reason[TIERPOOL_REASON_ALIGNMENT] = 1;
  st->discarded_bytes_by_reason[TIERPOOL_REASON_ALIGNMENT] = 64;
  st->discarded = 4;
  st->discarded_bytes = (3u << 21) + 64;
  st->forwarded_frees = 2;
  st->threads_started = 3;
  st->threads_exited = 2;
}

static const uint64_t fixture_lengths[] = {100, 100, 3000, 24, 7};

/* The options in effect: the defaults of both tables, a few set. */
static tp_config_t fixture_engine_cfg;
static tp_stats_config_t fixture_stats_cfg;
static tp_option_table_t fixture_engine, fixture_stats_opts;
static tp_option_table_t *const fixture_tables[2] = {&fixture_engine, &fixture_stats_opts};

static inline void fixture_config(enum tp_format format) {
  fixture_engine = tp_engine_options;
  fixture_engine.cfg = &fixture_engine_cfg;
  fixture_stats_opts = tp_stats_options;
  fixture_stats_opts.cfg = &fixture_stats_cfg;
  tp_options_defaults(&fixture_engine);
  tp_options_defaults(&fixture_stats_opts);
  strcpy(fixture_stats_cfg.stats, "/tmp/tp.%p.json");
  fixture_stats_cfg.format = format;
  fixture_stats_cfg.signal = 12;
}

static inline void fixture_meta(tp_dump_meta_t *m) {
  m->reason = TP_DUMP_EXIT;
  m->pid = 4242;
  m->exe = "/usr/bin/prog \"x\"";
  m->time_ns = 1700000000123456789ull; /* 2023-11-14T22:13:20.123Z */
  m->options = fixture_tables;
  m->noptions = 2;
}

#endif
