/* fixture.h - one fixed snapshot, rendered by the formatter tests and by
 * render_fixture (whose JSON `tierpool show` must turn into the same text). */
#ifndef TP_TEST_FIXTURE_H
#define TP_TEST_FIXTURE_H

#include <string.h>

#include "config.h"
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

static inline void fixture_config(tp_config_t *cfg, enum tp_format format) {
  memset(cfg, 0, sizeof *cfg);
  cfg->max_tier = 1u << 20;
  cfg->cache_size = 1u << 20;
  cfg->region_size = 1ull << 32;
  cfg->ring = 256;
  strcpy(cfg->stats, "/tmp/tp.%p.json");
  cfg->format = format;
  cfg->signal = 12;
  cfg->interval = 0;
  cfg->at_exit = true;
  cfg->live = false;
}

static inline void fixture_meta(tp_dump_meta_t *m, const tp_config_t *cfg) {
  m->reason = TP_DUMP_EXIT;
  m->pid = 4242;
  m->exe = "/usr/bin/prog \"x\"";
  m->time_ns = 1700000000123456789ull; /* 2023-11-14T22:13:20.123Z */
  m->config = cfg;
}

#endif
