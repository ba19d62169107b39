/* spin.h - the one spinlock of the engine and of stats/: a word, 0 free and
 * 1 held, taken with a CAS and waited for with sched_yield. It never calls
 * into libc's locks (so it works inside malloc, in signal-driven dumps and
 * before libpthread is up), and a fork child frees it by storing 0. For
 * short sections on slow paths only: a hot path takes no lock at all. */
#ifndef TP_SPIN_H
#define TP_SPIN_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "common.h"

TP_HOT bool tp_spin_try(_Atomic int *l) {
  int expect = 0;
  return atomic_compare_exchange_strong_explicit(l, &expect, 1, memory_order_acquire,
                                                 memory_order_relaxed);
}

TP_HOT void tp_spin_lock(_Atomic int *l) {
  for (;;) {
    int expect = 0;
    if (atomic_load_explicit(l, memory_order_relaxed) == 0 &&
        atomic_compare_exchange_weak_explicit(l, &expect, 1, memory_order_acquire,
                                              memory_order_relaxed))
      return;
    sched_yield();
  }
}

TP_HOT void tp_spin_unlock(_Atomic int *l) { atomic_store_explicit(l, 0, memory_order_release); }

#endif
