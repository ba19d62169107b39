/* storm.h - the allocating thread of the fork scenario, shared by
 * test_engine.c (under Criterion) and threads_driver.c (the same scenarios
 * as a plain program, for TSan): it mallocs and frees across ten tiers
 * until *arg turns non-zero, so that a fork finds other threads in the
 * engine. */
#ifndef TP_UNIT_STORM_H
#define TP_UNIT_STORM_H

#include <stdatomic.h>

#include "engine.h"

static void *storm(void *arg) {
  _Atomic int *stop = arg;
  while (!atomic_load(stop)) {
    void *p[32];
    for (int i = 0; i < 32; i++) p[i] = tp_malloc(16u << (i % 10));
    for (int i = 0; i < 32; i++) tp_free(p[i]);
  }
  return NULL;
}

#endif
