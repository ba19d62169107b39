/* cache.c - the thread cache's life: the free key, set-up, refill, flush,
 * thread exit and fork (the fast path itself is cache.h). */
#include <limits.h>
#include <pthread.h>

#include "cache.h"
#include "central.h"
#include "config.h"
#include "hardening.h"
#include "os.h"
#include "random.h"
#include "peak.h"

/* Sentinels: all lists empty, all rooms 0, so every operation misses. */
static tp_cache_t tp_empty_cache = {.kind = TP_CACHE_EMPTY};
static tp_cache_t tp_dead_cache = {.kind = TP_CACHE_DEAD};

__thread tp_cache_t *tp_tls __attribute__((tls_model("initial-exec"))) = &tp_empty_cache;
uint64_t tp_free_key;

static _Atomic(tp_cache_t *) tp_all_caches;  /* registry, push-only */
static pthread_key_t tp_exit_key;
_Atomic uint64_t tp_threads_started, tp_threads_exited, tp_fork_lost;

static void thread_exit(void *arg);

void tp_cache_init(void) {
  tp_free_key = tp_random_seed() | 1; /* never 0 or a plausible aligned pointer */
  pthread_key_create(&tp_exit_key, thread_exit);
}

tp_cache_t *tp_cache_registry(void) {
  return atomic_load_explicit(&tp_all_caches, memory_order_acquire);
}

/* ------------------------------------------------------------ bounds */

/* How many free blocks a thread keeps per tier: TIERPOOL_CACHE_SIZE bytes,
 * at least 2 blocks, at most 256 (jemalloc keeps 200 of a small class; a
 * batch of 100 mallocs and frees never leaves the list). Free blocks in
 * one thread's list serve no other thread, so what the lists may hold is
 * what each thread adds to peak RSS: with at most 2048 blocks the tiers
 * of 2 KiB and less could hold 4 MiB a thread, now 1 MiB (issue 13). A
 * flush hands the whole list over as one batch, so a long list costs one
 * CAS, not a walk. */
#define TP_BOUND_MAX 256

uint32_t tp_bound_for(unsigned t) {
  uint64_t b = tp_config.cache_size >> (t + TP_MIN_SHIFT);
  return b < 2 ? 2 : b > TP_BOUND_MAX ? TP_BOUND_MAX : (uint32_t)b;
}

/* Fresh blocks carved per refill: about 64 KiB, at least one. */
static uint32_t carve_for(unsigned t) {
  uint64_t n = ((uint64_t)64 << 10) >> (t + TP_MIN_SHIFT);
  uint32_t b = tp_bound_for(t);
  return n < 1 ? 1 : n > b ? b : (uint32_t)n;
}

/* Blocks on bin t's list (its room says how many more it takes). */
static uint32_t bin_length(const tp_cache_t *c, unsigned t) {
  TP_DCHECK(c->bins[t].room <= tp_bound_for(t));
  TP_DCHECK((c->bins[t].head == NULL) == (c->bins[t].room == tp_bound_for(t)));
  return tp_bound_for(t) - c->bins[t].room;
}

/* ------------------------------------------------------------ set-up */

static tp_cache_t *cache_acquire(void) {
  for (tp_cache_t *c = tp_cache_registry(); c; c = c->next_all) {
    int free_ = 0;
    if (atomic_load_explicit(&c->owned, memory_order_relaxed) == 0 &&
        atomic_compare_exchange_strong_explicit(&c->owned, &free_, 1, memory_order_acquire,
                                                memory_order_relaxed))
      return c;
  }
  uint64_t ring = tp_config.ring;
  TP_CHECK(ring == 0 || tp_is_pow2(ring), "the ring size must be a power of two (ring_mask)");
  size_t bytes = (sizeof(tp_cache_t) + (ring ? ring : 1) * sizeof(uint64_t) + TP_PAGE_SIZE - 1) &
                 ~(TP_PAGE_SIZE - 1);
  tp_cache_t *c = tp_os_map(bytes, false);
  if (!c) return NULL;
  c->owned = 1;
  c->ring_capacity = ring;
  c->ring_mask = ring ? ring - 1 : 0;
  tp_cache_t *head = atomic_load_explicit(&tp_all_caches, memory_order_relaxed);
  do c->next_all = head;
  while (!atomic_compare_exchange_weak_explicit(&tp_all_caches, &head, c, memory_order_release,
                                                memory_order_relaxed));
  return c;
}

tp_cache_t *tp_cache_setup(void) {
  tp_cache_t *c = tp_tls;
  if (c->kind == TP_CACHE_LIVE) return c;
  if (c->kind == TP_CACHE_DEAD) return NULL;
  c = cache_acquire();
  if (!c) return NULL;
  for (unsigned t = 0; t < tp_layout.ntiers; t++) {
    c->bins[t].room = tp_bound_for(t);
    c->bins[t].mask = (uint32_t)(tp_tier_size(t) - 1);
    TP_DCHECK(c->bins[t].head == NULL);
  }
  c->key = tp_free_key;
  c->exit_rounds = 0;
  c->kind = TP_CACHE_LIVE;
  tp_tls = c; /* before pthread_setspecific, which may itself allocate */
  pthread_setspecific(tp_exit_key, c);
  atomic_fetch_add_explicit(&tp_threads_started, 1, memory_order_relaxed);
  return c;
}

/* ------------------------------------------------------------ refill */

/* Refills bin t and returns one block (not yet counted as a get), or NULL
 * if the region is full. */
static void *refill(tp_cache_t *c, unsigned t) {
  TP_DCHECK(c->kind == TP_CACHE_LIVE && c->bins[t].head == NULL);
  uint32_t len;
  void **blk = tp_central_pop(t, &len);
  if (!blk) {
    blk = tp_central_carve(t, carve_for(t), &len);
    if (!blk) return NULL;
    /* Fresh blocks go on the list at once, marked free like any cached
     * block: a free of one not yet handed out (free(p + 4096) of a small
     * p lands there) then finds the key and is caught as a double free,
     * instead of a block that a bump pointer would hand out a second
     * time. Costs one pass over at most 64 KiB per refill. */
    size_t size = tp_tier_size(t);
    uintptr_t first = (uintptr_t)blk;
    for (uint32_t i = 1; i < len; i++) {
      void **q = (void **)(first + i * size);
      q[0] = i + 1 < len ? (void *)(first + (i + 1) * size) : NULL;
      q[1] = (void *)c->key;
    }
    blk[0] = len > 1 ? (void *)(first + size) : NULL;
  }
  TP_DCHECK(len - 1 <= tp_bound_for(t));
  c->bins[t].head = blk[0];
  c->bins[t].room = tp_bound_for(t) - (len - 1);
  TP_ADD(c->bins[t].net_in, len);
  tp_peak_note(t); /* blocks left the central pool: maybe a new peak */
  return blk;
}

/* ------------------------------------------------------------ flush */

static void flush_bin(tp_cache_t *c, unsigned t) {
  tp_bin_t *b = &c->bins[t];
  if (b->head) {
    uint32_t len = bin_length(c, t);
    tp_central_give(t, b->head, len);
    TP_ADD(b->net_in, -(int64_t)len);
  }
  b->head = NULL;
  b->room = tp_bound_for(t);
}

void tp_cache_flush_current(void) {
  tp_cache_t *c = tp_tls;
  if (c->kind != TP_CACHE_LIVE) return;
  for (unsigned t = 0; t < tp_layout.ntiers; t++) {
    flush_bin(c, t);
  }
}

/* ------------------------------------------------------------ slow get, put */

void *tp_cache_get(tp_cache_t *c, unsigned t, size_t n) {
  void **blk = tp_bin_pop(c, t, n);
  if (blk) return blk;
  blk = refill(c, t);
  if (!blk) return NULL;
  blk[1] = NULL;
  tp_count_get(c, t, n);
  return blk;
}

/* A block whose word 1 holds the free key: a double free if it is in this
 * thread's list (other threads' lists cannot be walked safely). */
static void check_double_free(tp_cache_t *c, unsigned t, void **p) {
  uint32_t n = 0, len = bin_length(c, t);
  for (void **q = c->bins[t].head; q && n <= len; q = q[0], n++)
    if (q == p) tp_report_bad_free("double free (or free of a block never handed out)", p, tp_tier_size(t));
}

void tp_cache_put(tp_cache_t *c, unsigned t, void *p) {
  void **blk = p;
  if (blk[1] == (void *)c->key) check_double_free(c, t, blk);
  if (c->bins[t].room == 0) flush_bin(c, t);
  tp_bin_push(&c->bins[t], blk, c->key);
}

/* ------------------------------------------------------------ exit, fork */

/* pthread key destructor. It re-arms itself for the first rounds so that it
 * runs after the destructors of other keys, which may still free (or
 * allocate) into this cache. */
#if defined(__SANITIZE_THREAD__)
/* TSan finishes its own per-thread state in an early destructor round;
 * atomics after that crash inside TSan, so flush in the first round. */
#define TP_EXIT_ROUNDS 1
#else
#define TP_EXIT_ROUNDS PTHREAD_DESTRUCTOR_ITERATIONS
#endif

static void thread_exit(void *arg) {
  tp_cache_t *c = arg;
  if (++c->exit_rounds < TP_EXIT_ROUNDS) {
    pthread_setspecific(tp_exit_key, c);
    return;
  }
  tp_cache_flush_current();
  tp_tls = &tp_dead_cache; /* from here on: straight to the central pools */
  c->kind = TP_CACHE_EMPTY;
  atomic_store_explicit(&c->owned, 0, memory_order_release);
  atomic_fetch_add_explicit(&tp_threads_exited, 1, memory_order_relaxed);
}

/* In the child: only the forking thread exists. Other threads' caches may
 * have been mid-update; their blocks are forgotten (counted), the caches
 * recycled. */
void tp_cache_fork_child(void) {
  tp_cache_t *me = tp_tls;
  for (tp_cache_t *c = tp_cache_registry(); c; c = c->next_all) {
    if (c == me || atomic_load(&c->owned) == 0) continue;
    uint64_t lost = 0;
    for (unsigned t = 0; t < tp_layout.ntiers; t++) {
      uint32_t len = c->bins[t].head ? tp_bound_for(t) - c->bins[t].room : 0;
      lost += len;
      c->bins[t].net_in -= len;
      c->bins[t].head = NULL;
      c->bins[t].room = tp_bound_for(t);
    }
    atomic_fetch_add(&tp_fork_lost, lost);
    c->kind = TP_CACHE_EMPTY;
    atomic_store(&c->owned, 0);
  }
}
