/* probe.h - finds tierpool in the running process and reads its counters.
 *
 * The contract, C++ and stress tests are built once linked against
 * libtierpool and once plain (run under LD_PRELOAD). Neither build may call
 * tierpool_stats() by name: a plain build run without the preload would
 * then fail to load instead of failing a test. So the symbol is looked up
 * with dlsym(RTLD_DEFAULT); NULL means tierpool is not in the process and
 * every test would silently be testing glibc instead.
 */
#ifndef TP_TEST_PROBE_H
#define TP_TEST_PROBE_H

#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>

#include "tierpool.h"

typedef int (*tp_probe_stats_fn)(tierpool_stats_t *);

/* tierpool_stats of the library in the process, or NULL. */
static inline tp_probe_stats_fn tp_probe(void) {
  union {
    void *obj;
    tp_probe_stats_fn fn;
  } u;
  u.obj = dlsym(RTLD_DEFAULT, "tierpool_stats");
  return u.fn;
}

/* Fills *s; returns 0, or -1 when tierpool is absent or refuses. */
static inline int tp_probe_snap(tierpool_stats_t *s) {
  tp_probe_stats_fn fn = tp_probe();
  return fn ? fn(s) : -1;
}

/* Index of the tier that serves a request of n bytes (the smallest tier
 * at least n), or -1 when n is above the largest tier. */
static inline int tp_probe_tier(const tierpool_stats_t *s, size_t n) {
  for (uint32_t i = 0; i < s->ntiers && i < TIERPOOL_MAX_TIERS; i++)
    if (s->tiers[i].size >= n)
      return (int)i;
  return -1;
}

/* Size of the largest tier, 0 when there is none. */
static inline size_t tp_probe_max_tier(const tierpool_stats_t *s) {
  return s->ntiers ? (size_t)s->tiers[s->ntiers - 1].size : 0;
}

#endif
