/* cache.h - thread caches and the allocation fast path.
 *
 * Each thread owns one tp_cache_t, reached through a single initial-exec
 * TLS pointer. Per tier it keeps a free list threaded through the blocks,
 * its length and bound, and the thread's counters. A hit pops or pushes the
 * list and bumps plain per-thread counters: it writes only this thread's
 * memory, with no atomic read-modify-write and no lock. Counters are
 * _Atomic only so that readers summing them (stats, dumps) are race-free:
 * the owner updates them with a relaxed load and a relaxed store, which
 * compile to ordinary moves.
 *
 * Every thread's pointer starts at tp_empty_cache, whose lists are empty
 * and whose bounds are 0: the first malloc misses, the first free finds the
 * list "full", and both fall to the slow path, which sets the thread up.
 * There is no "initialised?" test on the fast path.
 *
 * A free block in a thread cache: word 0 is the next block, word 1 holds
 * tp_free_key (glibc's tcache-key idea): a free that finds the key in the
 * block is probably a double free and is checked on the slow path.
 */
#ifndef TP_CACHE_H
#define TP_CACHE_H

#include <stdatomic.h>
#include <stdbool.h>

#include "layout.h"

typedef struct tp_bin_s {
  void *head;                     /* free list (owner only) */
  uint32_t count;                 /* blocks in the list (owner only) */
  uint32_t bound;                 /* list length that triggers a flush; 0 in sentinels */
  _Atomic uint64_t get;           /* blocks handed out (owner writes, relaxed) */
  _Atomic uint64_t put;           /* blocks taken back (owner writes, relaxed) */
  _Atomic uint64_t bytes;         /* requested bytes of the gets (owner writes, relaxed) */
} tp_bin_t;

typedef struct tp_bump_s {
  uintptr_t cur, end; /* fresh blocks carved for this thread, not yet used */
} tp_bump_t;

enum tp_cache_kind { TP_CACHE_EMPTY = 0, TP_CACHE_LIVE = 1, TP_CACHE_DEAD = 2 };

typedef struct tp_cache_s {
  /* --- hot: touched by every pooled malloc/free of the owner */
  tp_bin_t bins[TP_MAX_TIERS];
  _Atomic uint64_t ring_pos;      /* requests recorded so far (owner writes, relaxed) */
  uint64_t ring_mask;             /* ring size - 1; 0 with the ring off (writes hit ring_off) */
  _Atomic uint64_t *ring;         /* the recent-lengths ring */
  /* --- cold: slow paths and readers */
  tp_bump_t bump[TP_MAX_TIERS];
  _Atomic uint64_t disc_count[TIERPOOL_REASON_COUNT]; /* forwarded gets (owner, relaxed) */
  _Atomic uint64_t disc_bytes[TIERPOOL_REASON_COUNT];
  _Atomic uint64_t fwd_frees;     /* frees of mimalloc blocks (owner, relaxed) */
  struct tp_cache_s *next_all;    /* registry of every cache ever made (push-only) */
  _Atomic int owned;              /* 1 while a thread uses it; recycled at 0 */
  int kind;                       /* enum tp_cache_kind */
  int exit_rounds;                /* key-destructor rounds seen at thread exit */
  uint64_t ring_capacity;         /* entries in ring (0 with the ring off) */
  _Atomic uint64_t ring_off;      /* sink for ring writes when the ring is off */
} tp_cache_t;

extern __thread tp_cache_t *tp_tls __attribute__((tls_model("initial-exec")));
extern uint64_t tp_free_key; /* random per process, read-only after init */

#define TP_RELAXED memory_order_relaxed
/* Owner-only increment of a counter that other threads may read. */
#define TP_BUMP(field, v)                                                      \
  atomic_store_explicit(&(field), atomic_load_explicit(&(field), TP_RELAXED) + (v), TP_RELAXED)

void *tp_malloc_slow(size_t n) TP_COLD;
void tp_free_slow(void *p) TP_COLD;

/* Pooled get of n bytes (1 <= n <= max_size) from this thread's cache. */
TP_HOT void *tp_malloc(size_t n) {
  tp_cache_t *c = tp_tls;
  if (tp_likely(n - 1 < tp_layout.max_size)) {
    unsigned t = tp_tier_of(n);
    tp_bin_t *b = &c->bins[t];
    void **blk = (void **)b->head;
    if (tp_likely(blk != NULL)) {
      b->head = blk[0];
      b->count--;
      blk[1] = NULL; /* clear the free key */
#if TP_COUNTERS
      TP_BUMP(b->get, 1);
      TP_BUMP(b->bytes, n);
      uint64_t pos = atomic_load_explicit(&c->ring_pos, TP_RELAXED);
      atomic_store_explicit(&c->ring[pos & c->ring_mask], n, TP_RELAXED);
      atomic_store_explicit(&c->ring_pos, pos + 1, TP_RELAXED);
#endif
      return blk;
    }
  }
  return tp_malloc_slow(n);
}

/* Frees p: a pooled block goes back to this thread's cache. */
TP_HOT void tp_free(void *p) {
  if (tp_likely(tp_is_pooled(p))) {
    tp_cache_t *c = tp_tls;
    unsigned t = tp_tier_of_ptr(p);
    tp_bin_t *b = &c->bins[t];
    void **blk = (void **)p;
    if (tp_likely(b->count < b->bound && ((uintptr_t)p & (tp_tier_size(t) - 1)) == 0 &&
                  blk[1] != (void *)tp_free_key)) {
      blk[0] = b->head;
      blk[1] = (void *)tp_free_key;
      b->head = blk;
      b->count++;
#if TP_COUNTERS
      TP_BUMP(b->put, 1);
#endif
      return;
    }
  }
  tp_free_slow(p);
}

/* Thread and process life (cache.c). */
void tp_thread_exit(void *arg);
void tp_cache_fork_child(void);
tp_cache_t *tp_cache_registry(void);
/* Gives the calling thread's cached blocks back to the central pools. */
void tp_cache_flush_current(void);

#endif
