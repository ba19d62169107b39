/* arena.h - the mapping behind arenas and slab pools (arena.c): bump
 * allocation, commit by slabs, reset, hardened windows, huge pages. Not
 * thread-safe: the owner (an arena's user, a slab pool's mutex) serialises;
 * the stats words are atomics so any thread may read them. */
#ifndef TP_POOLS_ARENA_H
#define TP_POOLS_ARENA_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "registry.h"

#pragma GCC visibility push(hidden)

typedef struct tp_arena_s {
  char *base;            /* the reservation: windows * span bytes */
  char *lo;              /* the current window */
  size_t limit;          /* the hard limit on the bump front, exact */
  size_t span;           /* window size: the limit rounded up to slabs */
  size_t slab;           /* commit granularity */
  size_t windows, window;
  size_t used;           /* bump front, from lo */
  size_t committed_end;  /* [lo, lo + committed_end) is accessible */
  unsigned flags;
  bool huge;
  _Atomic uint64_t allocated, committed, peak, resets;
} tp_arena_t;

/* 0, EINVAL or ENOMEM. */
int tp_arena_init(tp_arena_t *a, size_t limit, size_t slab, unsigned flags, int advice);
/* Makes [lo, lo + end) accessible, by slabs. 0, or -1 with errno ENOMEM. */
int tp_arena_commit(tp_arena_t *a, size_t end) TP_COLD;

/* align: a power of two. NULL with ENOMEM past the limit. The stats words
 * are written with plain stores: one writer, readers see whole values. */
TP_HOT void *tp_arena_alloc(tp_arena_t *a, size_t n, size_t align) {
  uintptr_t lo = (uintptr_t)a->lo;
  uintptr_t p = (lo + a->used + align - 1) & ~(uintptr_t)(align - 1);
  size_t end;
  if (tp_unlikely(p < lo || __builtin_add_overflow(p - lo, n, &end) || end > a->limit)) {
    errno = ENOMEM;
    return NULL;
  }
  if (tp_unlikely(end > a->committed_end) && tp_arena_commit(a, end) != 0) return NULL;
  a->used = end;
  atomic_store_explicit(&a->allocated, end, memory_order_relaxed);
  if (end > atomic_load_explicit(&a->peak, memory_order_relaxed))
    atomic_store_explicit(&a->peak, end, memory_order_relaxed);
  return (void *)p;
}
void tp_arena_reset(tp_arena_t *a);
void tp_arena_stats(const tp_arena_t *a, tierpool_arena_stats_t *out);
void tp_arena_fini(tp_arena_t *a);

#pragma GCC visibility pop

#endif
