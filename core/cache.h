/* cache.h - thread caches and the allocation fast path.
 *
 * Each thread owns one tp_cache_t, reached through a single initial-exec
 * TLS pointer. Per tier it keeps a free list threaded through the blocks,
 * its room (how many more blocks it takes) and bound, and the thread's
 * counters. A hit pops or pushes the
 * list and bumps plain per-thread counters: it writes only this thread's
 * memory, with no atomic read-modify-write and no lock. The counters are
 * plain 64-bit words: the owner adds with one non-locked instruction
 * (TP_ADD), readers summing them (stats, dumps, signal handlers) load them
 * relaxed (TP_LOAD); see TP_ADD below for why that is race-free enough.
 *
 * Every thread's pointer starts at tp_empty_cache, whose lists are empty
 * and whose room is 0: the first malloc misses, the first free finds the
 * list "full", and both fall to the slow path, which sets the thread up.
 * There is no "initialised?" test on the fast path.
 *
 * A free block in a thread cache: word 0 is the next block, word 1 holds
 * tp_free_key (glibc's tcache-key idea): a free that finds the key in the
 * block is a double free and is reported on the slow path. Blocks inside
 * central batches keep the key too, their heads included, except in the
 * 16-byte tier, where a head's word 1 links the batches (central.h).
 *
 * The cache's life (set-up, refill, flush, thread exit, fork) is cache.c.
 */
#ifndef TP_CACHE_H
#define TP_CACHE_H

#include <stdatomic.h>
#include <stdbool.h>

#include "layout.h"
#include "threads.h"

/* Internal: hidden, so the library reaches it without the GOT. */
#pragma GCC visibility push(hidden)

typedef struct tp_bin_s {
  void *head;    /* free list (owner only) */
  uint32_t room; /* pushes left before the list is handed over; 0 in sentinels (owner only) */
  uint32_t mask; /* block size - 1: a freed pointer must have these bits clear */
  uint64_t put;  /* blocks taken back (owner writes with TP_ADD; readers TP_LOAD) */
  /* The tier's carve front as this thread last saw it (an address: the
   * region start plus the central carve offset; 0 before the first look).
   * Below it every block was carved once; a free at or past it takes the
   * slow path, which checks the real front (a block never carved joins no
   * list: carving would hand it out a second time) and moves this one up.
   * Fronts only grow, so a stale one sends a good free the slow way once.
   * (owner) */
  uintptr_t lim;
} tp_bin_t;      /* 32 bytes: the tier index scales with one shift */

/* The fast path counts puts only. Gets follow from the list's length,
 * which every get shortens and every put lengthens:
 *   length = net_in - get + put   =>   get = put + net_in - length,
 * with length = bound - room. So a pooled malloc pays for no get counter. */

enum tp_cache_kind { TP_CACHE_EMPTY = 0, TP_CACHE_LIVE = 1, TP_CACHE_DEAD = 2 };

typedef struct tp_cache_s {
  /* --- hot: touched by every pooled malloc/free of the owner */
  tp_bin_t bins[TP_MAX_TIERS];
  uint64_t bytes[TP_MAX_TIERS]; /* requested bytes of the gets, per tier (owner, TP_ADD) */
  uint64_t key;                 /* tp_free_key, copied here to save a load */
  uint64_t ring_pos;            /* requests recorded so far (owner, TP_ADD) */
  uint64_t ring_mask;           /* ring size - 1; 0 with the ring off (all writes hit ring[0]) */
  int64_t sample_left;          /* bytes until the sampler's next get (sampler.h); INT64_MAX
                                 * with the sampler off (owner) */
  /* --- cold: slow paths and readers */
  uint64_t disc_count[TIERPOOL_REASON_COUNT]; /* forwarded gets (owner, TP_ADD) */
  uint64_t disc_bytes[TIERPOOL_REASON_COUNT];
  uint64_t fwd_frees;           /* frees of mimalloc blocks (owner, TP_ADD) */
  int64_t net_in[TP_MAX_TIERS]; /* blocks the slow path moved into each list (refills,
                                 * fresh blocks) minus those it moved out (flushes)
                                 * (owner, TP_ADD) */
  /* Small types: with them the cache and a ring of 256 fit one page. */
  uint32_t bound[TP_MAX_TIERS]; /* most blocks each list holds now, tp_bound_floor to bound_hi
                                 * (owner writes; readers TP_LOAD) */
  uint16_t bound_hi[TP_MAX_TIERS]; /* tp_bound_max, copied here at set-up to save its
                                   * arithmetic on every refill (owner) */
  uint32_t refill_at[TP_MAX_TIERS]; /* ring_pos (its low half) at each list's last refill */
  uint32_t reclaim_at;          /* ring_pos (low half) at the last reclaim of idle large lists */
  uint64_t shared_used;         /* bytes the large lists' bounds take of TIERPOOL_CACHE_LARGE
                                 * (cache.c, set_bound) (owner) */
  int8_t last_soon[TP_MAX_TIERS]; /* the last refill came soon (1), late (-1), none yet (0) */
  uint64_t sample_rng;          /* the sampler's generator state (owner) */
  void *uw_memo;                /* exact leak mode: the unwinder's memory of this cache's
                                 * last walk (leak_unwind.h), made on first use and kept
                                 * when the cache is recycled (owner) */
  struct tp_cache_s *next_all;  /* registry of every cache ever made (push-only) */
  _Atomic int owned;            /* 1 while a thread uses it; recycled at 0 */
  int kind;                     /* enum tp_cache_kind */
  int exit_rounds;              /* key-destructor rounds seen at thread exit */
  uint64_t ring_capacity;       /* entries in ring (0 with the ring off) */
  uint64_t ring[];              /* the recent-lengths ring, at least one entry */
} tp_cache_t;

/* The engine's static TLS is 9 bytes: this pointer and the tp_in_hook byte
 * (hooks.h). Initial-exec: a load off %fs, no call; the price is that the
 * library cannot be dlopen'ed into a process whose static TLS is full. */
extern __thread tp_cache_t *tp_tls __attribute__((tls_model("initial-exec")));
extern uint64_t tp_free_key; /* random per process, read-only after init (cache.c) */

/* Counters are written only by their owner thread and read by anyone
 * (stats, dumps, signal handlers). The owner adds with one plain,
 * non-locked instruction: no other thread writes the word, and an aligned
 * 8-byte store is never seen torn, so readers' relaxed loads see either the
 * old or the new value. This is the "plain per-thread increment" of
 * DESIGN.md, without the load/add/store triple that a relaxed C11 atomic
 * costs. */
#if defined(__x86_64__)
#define TP_ADD(field, v) __asm__ volatile("addq %1, %0" : "+m"(field) : "er"((uint64_t)(v)))
#else
#define TP_ADD(field, v) __atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (v), __ATOMIC_RELAXED)
#endif
#define TP_LOAD(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

void *tp_malloc_slow(size_t n) TP_COLD;
/* The slow path of a get of n bytes whose block must be aligned to align
 * (a power of two, at most the largest tier when n fits a tier): guards,
 * refill, and forwarding with that alignment when the region is full. */
void *tp_get(size_t n, size_t align);
void tp_free_slow(void *p) TP_COLD;

/* Counts the bytes of a pooled get of n bytes from tier t and records n
 * in the ring (the get itself is counted by the list, see tp_bin_t). */
TP_HOT void tp_count_get(tp_cache_t *c, size_t t, size_t n) {
#if TP_COUNTERS
  TP_ADD(c->bytes[t], n);
  uint64_t pos = c->ring_pos;
  c->ring[pos & c->ring_mask] = n;
  TP_ADD(c->ring_pos, 1);
#else
  (void)c, (void)t, (void)n;
#endif
}

/* Takes a block of tier t (for n bytes) off cache c's list and counts the
 * get; NULL if the list is empty. */
TP_HOT void *tp_bin_take(tp_cache_t *c, size_t t, size_t n) {
  tp_bin_t *b = &c->bins[t];
  void **blk = (void **)b->head;
  if (tp_likely(blk != NULL)) {
    b->head = blk[0];
    b->room++;
    blk[1] = NULL; /* clear the free key */
    tp_count_get(c, t, n);
  }
  return blk;
}

/* The fast path's get: tp_bin_take after the sampler's countdown. The get
 * that takes the countdown below zero is left to the slow path, which
 * serves it sampled (sampler.h). The countdown is only touched once the
 * list is known to be non-empty: a sentinel cache is never written. */
TP_HOT void *tp_bin_pop(tp_cache_t *c, size_t t, size_t n) {
  if (tp_likely(c->bins[t].head != NULL)) {
    if (tp_unlikely((c->sample_left -= (int64_t)n) < 0)) return NULL;
    return tp_bin_take(c, t, n);
  }
  return NULL;
}

/* Pushes a free block on a list with room, marks it with the free key,
 * counts the put. */
TP_HOT void tp_bin_push(tp_bin_t *b, void **blk, uint64_t key) {
  blk[0] = b->head;
  blk[1] = (void *)key;
  b->head = blk;
  b->room--;
#if TP_COUNTERS
  TP_ADD(b->put, 1);
#endif
}

/* Pooled get of n bytes (1 <= n <= max_size) from this thread's cache. */
TP_HOT void *tp_malloc(size_t n) {
  if (tp_likely(n - 1 < tp_layout.fast_max)) {
    void *blk = tp_bin_pop(tp_tls, tp_tier_of(n), n);
    if (tp_likely(blk != NULL)) return blk;
  }
  return tp_malloc_slow(n);
}

/* Whether pooled block p may go on list b of cache c as it is: the list
 * has room (a sentinel cache's never has), p is a block start, it lies
 * below the carve front as this thread saw it last (tp_bin_t.lim: word 1
 * is not read past it, the page may not even be committed), and it does
 * not hold the free key (a probable double free). Anything else is the
 * slow path's. */
TP_HOT bool tp_bin_accepts(const tp_cache_t *c, const tp_bin_t *b, const void *p) {
  return b->room != 0 && ((uint32_t)(uintptr_t)p & b->mask) == 0 && (uintptr_t)p < b->lim &&
         ((void *const *)p)[1] != (void *)c->key;
}

/* Frees p: a pooled block goes back to this thread's cache when the list
 * accepts it (tp_bin_accepts); the slow path takes the rest. */
TP_HOT void tp_free(void *p) {
  if (tp_likely(tp_is_fast_pooled(p))) {
    tp_cache_t *c = tp_tls;
    tp_bin_t *b = &c->bins[tp_tier_of_ptr(p)];
    if (tp_likely(tp_bin_accepts(c, b, p))) {
      tp_bin_push(b, (void **)p, c->key);
      return;
    }
  }
  tp_free_slow(p);
}

/* Blocks on cache c's list of tier t as any thread sees them: the owner
 * writes head, room and bound with plain stores, so the three may be from
 * different moments; the length is kept within the bound. Not instrumented
 * by ThreadSanitizer, which reports exactly those plain stores (peak.c's
 * tier_live, its caller, is not either: a function with other sanitizer
 * attributes is not inlined into it). */
__attribute__((no_sanitize_thread)) static inline uint32_t tp_bin_cached(const tp_cache_t *c,
                                                                         unsigned t) {
  uint32_t room = TP_LOAD(c->bins[t].room), bound = TP_LOAD(c->bound[t]);
  return TP_LOAD(c->bins[t].head) && room < bound ? bound - room : 0;
}

/* ------------------------------------------------------------ life (cache.c) */

/* At init: makes the free key and the thread-exit key. */
void tp_cache_init(void);
/* Gives the calling thread a live cache (the engine must be READY); NULL
 * when none can be had (no memory, or the thread has exited). */
tp_cache_t *tp_cache_setup(void);
/* The slow side of a pooled get of n bytes from tier t for live cache c
 * (the fast path missed, or runs in slow mode): pops, else refills from the
 * central pool. Counts the get; NULL when the region is full. */
void *tp_cache_get(tp_cache_t *c, unsigned t, size_t n);
/* The slow side of a put of pooled block p (checked: a block start of
 * tier t, carved) into live cache c: checks a probable double free, hands
 * a full list to the central pool, pushes. */
void tp_cache_put(tp_cache_t *c, unsigned t, void *p);
/* Moves c->bins[t].lim up to tier t's carve front (slow paths only). */
void tp_cache_see_front(tp_cache_t *c, unsigned t);
/* Aborts with a double-free report if block p of tier t holds the free key
 * (c: the freeing thread's cache, whose list names the case; NULL: none). */
void tp_cache_check_free(const tp_cache_t *c, unsigned t, void *p);
/* Gives the calling thread's cached blocks back to the central pools. */
void tp_cache_flush_current(void);
/* In the fork child: forgets the caches of threads that do not exist there. */
void tp_cache_fork_child(void);
/* The registry of caches, the lists' bound and the thread counters are
 * threads.c's (threads.h). */

#pragma GCC visibility pop

#endif
