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
  /* the peaks: 16 B and 128 B at one moment, 4 KiB later */
  const uint64_t t1 = 1699999990000000000ull, t2 = 1699999995500000000ull;
  const tierpool_tier_stats_t tiers[4] = {
      {.size = 16, .get = 1200, .put = 1200, .live = 0, .peak_live = 40, .peak_live_bytes = 640,
       .peak_time_ns = t1, .bytes_requested = 14400, .cached = 32, .central = 0,
       .carved_bytes = 4096, .committed_bytes = 4096},
      {.size = 128, .get = 1000, .put = 500, .live = 500, .peak_live = 600,
       .peak_live_bytes = 76800, .peak_time_ns = t1, .bytes_requested = 100000, .cached = 12,
       .central = 64, .carved_bytes = 131072, .committed_bytes = 131072},
      {.size = 1024},
      {.size = 4096, .get = 10, .put = 0, .live = 10, .peak_live = 10, .peak_live_bytes = 40960,
       .peak_time_ns = t2, .bytes_requested = 30000, .cached = 0, .central = 0,
       .carved_bytes = 40960, .committed_bytes = 1048576},
  };
  memcpy(st->tiers, tiers, sizeof tiers);
  st->total_get = 2210;
  st->total_put = 1700;
  st->peak_live = 640;
  st->peak_live_bytes = 640 + 76800;
  st->peak_time_ns = t1;
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
  m->cmdline = "prog --case \"x\" /tmp/in";
  m->cwd = "/home/ci/build";
  m->time_ns = 1700000000123456789ull; /* 2023-11-14T22:13:20.123Z */
  m->options = fixture_tables;
  m->noptions = 2;
}

#endif
