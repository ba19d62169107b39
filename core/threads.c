/* threads.c - the registry of thread caches, the bound of their lists and
 * the thread counters (see threads.h for why they are not in cache.c). */
#include "cache.h"
#include "config.h"
#include "threads.h"

static _Atomic(tp_cache_t *) tp_all_caches; /* registry, push-only */
_Atomic uint64_t tp_threads_started, tp_threads_exited, tp_fork_lost;

tp_cache_t *tp_cache_registry(void) {
  return atomic_load_explicit(&tp_all_caches, memory_order_acquire);
}

void tp_cache_register(tp_cache_t *c) {
  tp_cache_t *head = atomic_load_explicit(&tp_all_caches, memory_order_relaxed);
  do c->next_all = head;
  while (!atomic_compare_exchange_weak_explicit(&tp_all_caches, &head, c, memory_order_release,
                                                memory_order_relaxed));
}

/* How many free blocks a thread keeps per tier: TIERPOOL_CACHE_SIZE bytes,
 * at least 2 blocks, at most 2048 (a flush hands the whole list over as one
 * batch, so a long list costs one CAS, not a walk). */
uint32_t tp_bound_for(unsigned t) {
  uint64_t b = tp_config.cache_size >> (t + TP_MIN_SHIFT);
  return b < 2 ? 2 : b > 2048 ? 2048 : (uint32_t)b;
}
