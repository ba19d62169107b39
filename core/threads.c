/* threads.c - the registry of thread caches and the thread counters (see
 * threads.h for why they are not in cache.c; the lists' bound is inline
 * there). */
#include "cache.h"
#include "threads.h"

TP_START_DATA static _Atomic(tp_cache_t *) tp_all_caches; /* registry, push-only */
TP_START_DATA _Atomic uint64_t tp_threads_started, tp_threads_exited, tp_fork_lost;

tp_cache_t *tp_cache_registry(void) {
  return atomic_load_explicit(&tp_all_caches, memory_order_acquire);
}

void tp_cache_register(tp_cache_t *c) {
  tp_cache_t *head = atomic_load_explicit(&tp_all_caches, memory_order_relaxed);
  do c->next_all = head;
  while (!atomic_compare_exchange_weak_explicit(&tp_all_caches, &head, c, memory_order_release,
                                                memory_order_relaxed));
}
