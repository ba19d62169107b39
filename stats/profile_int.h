/* profile_int.h - what profile.c (collection) and profile_write.c (the
 * JSON file at exit) share: the profile's tables (see profile.h).
 *
 * Figures are weighted like the leak report's: a sampled block of n bytes
 * stands for 1/p blocks and n/p bytes (tp_leak_weights), counts in fixed
 * point (x tp_leak_tab.count_scale). Every counter is an atomic add made
 * only on captured gets and their puts, never on the engine's fast path.
 */
#ifndef TP_STATS_PROFILE_INT_H
#define TP_STATS_PROFILE_INT_H

#include <stdatomic.h>
#include <stdint.h>

#include "layout.h"
#include "leak_int.h"
#include "profile.h"

#pragma GCC visibility push(hidden)

#define TP_PROF_HIST 8          /* request-length buckets per tier */
#define TP_PROF_POINTS 2048     /* timeline points kept (then the tick doubles) */
#define TP_PROF_TICK_NS 10000000ull /* first timeline tick: 10 ms */
#define TP_PROF_SERIES (TP_MAX_TIERS + 1) /* per tier, then forwarded (estimated) */

/* One allocation site: the profile's counters of one stack id. */
typedef struct tp_prof_site_s {
  _Atomic int64_t alloc_count;  /* got, x count_scale */
  _Atomic int64_t alloc_bytes;
  _Atomic int64_t short_count;  /* freed within TIERPOOL_PROFILE_SHORT, x count_scale */
  _Atomic int64_t short_bytes;
  int64_t peak_count;           /* live at the peak, x count_scale (peak lock) */
  int64_t peak_bytes;
  _Atomic int64_t samples;      /* captured gets */
  int64_t unused;
} tp_prof_site_t;               /* 64 bytes */

/* One timeline point: live bytes per tier (block sizes, from the engine's
 * counters) and the forwarded blocks' live bytes (sampled estimate). */
typedef struct tp_prof_point_s {
  uint64_t t_ns;                      /* since the profile started */
  int64_t live[TP_PROF_SERIES];
} tp_prof_point_t;

typedef struct tp_prof_s {
  tp_prof_site_t *sites;        /* [TP_LEAK_MAX_STACKS], by stack id */
  /* Request lengths: [tier][bucket] weighted counts (x count_scale); the
   * forwarded blocks are not bucketed (their sizes are not a tier's). */
  _Atomic int64_t hist[TP_MAX_TIERS][TP_PROF_HIST];
  _Atomic int64_t hist_bytes[TP_MAX_TIERS]; /* weighted bytes asked, per tier */
  /* The peak of the sampled live total (bytes, estimated). */
  _Atomic int64_t live_est;     /* now */
  _Atomic int64_t fwd_live_est; /* now, forwarded blocks only */
  _Atomic int64_t peak_est;     /* at the last snapshot (written under the peak lock) */
  uint64_t peak_t_ns;           /* when (peak lock) */
  uint32_t peak_gen;            /* snapshots taken (peak lock) */
  _Atomic int peak_lock;        /* try-lock: a busy snapshot is skipped */
  /* The timeline (timeline lock). */
  tp_prof_point_t *points;      /* [TP_PROF_POINTS] */
  uint32_t npoints;
  _Atomic uint64_t next_tick_ns; /* the next point is due (since start) */
  uint64_t tick_ns;
  _Atomic int timeline_lock;    /* try-lock: a busy timeline skips a point */
  /* Ages of captured live blocks, for short-lived: see profile.c. */
  struct tp_prof_age_bucket_s *ages;
  _Atomic uint64_t ages_lost;   /* entries evicted before their put */
  uint64_t short_ns;            /* TIERPOOL_PROFILE_SHORT in ns */
  uint64_t start_ns;            /* CLOCK_MONOTONIC at start */
  uint64_t start_unix_ns;       /* CLOCK_REALTIME at start */
  char dir[2 * 512];            /* TIERPOOL_PROFILE, made absolute */
} tp_prof_t;

extern tp_prof_t tp_prof;

/* CLOCK_MONOTONIC minus start, in ns. */
uint64_t tp_prof_now(void);
/* A timeline point now (timeline lock taken; skipped if busy). */
void tp_prof_record_point(uint64_t now);
/* A stack's live blocks (x count_scale) and bytes, as the leak report reads
 * them: in `all` mode count is not kept, live is the count. */
void tp_prof_stack_live(const tp_stack_t *s, int64_t *count, int64_t *bytes);
/* Copies every stack's live figures into its site: the new peak. */
void tp_prof_snapshot_peak(uint64_t now, int64_t total);

#pragma GCC visibility pop

#endif
