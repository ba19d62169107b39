/* common.h - what the pooling library's Criterion tests share. */
#ifndef TP_TESTS_POOLS_COMMON_H
#define TP_TESTS_POOLS_COMMON_H

#include <time.h>

#include <tierpool.h>
#include <tierpool_pools.h>

/* An absolute CLOCK_MONOTONIC deadline ms from now. */
static inline struct timespec deadline_in_ms(long ms) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  t.tv_sec += ms / 1000;
  t.tv_nsec += (ms % 1000) * 1000000L;
  if (t.tv_nsec >= 1000000000L) t.tv_sec++, t.tv_nsec -= 1000000000L;
  /* a deadline in the past: tv_nsec must stay in [0, 1e9) or the wait
   * fails with EINVAL instead of timing out */
  if (t.tv_nsec < 0) t.tv_sec--, t.tv_nsec += 1000000000L;
  return t;
}

/* The tier of size bytes in a snapshot, or NULL. */
static inline const tierpool_tier_stats_t *tier_of(const tierpool_stats_t *st, uint64_t size) {
  for (uint32_t i = 0; i < st->ntiers; i++)
    if (st->tiers[i].size == size) return &st->tiers[i];
  return 0;
}

#endif
