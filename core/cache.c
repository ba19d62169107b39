/* cache.c - thread cache slow paths: set-up, refill, flush, thread exit, fork. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "central.h"
#include "config.h"
#include "snapshot.h" /* tp_peak_note */
#include "engine.h"
#include "guard.h"

/* Sentinels: all lists empty, all rooms 0, so every operation misses. */
static tp_cache_t tp_empty_cache = {.kind = TP_CACHE_EMPTY};
static tp_cache_t tp_dead_cache = {.kind = TP_CACHE_DEAD};

__thread tp_cache_t *tp_tls __attribute__((tls_model("initial-exec"))) = &tp_empty_cache;

static _Atomic(tp_cache_t *) tp_all_caches;  /* registry, push-only */
static pthread_key_t tp_exit_key;
_Atomic uint64_t tp_threads_started, tp_threads_exited, tp_fork_lost;
/* Discards of threads that have no cache (early init, exited threads). */
_Atomic uint64_t tp_orphan_disc_count[TIERPOOL_REASON_COUNT];
_Atomic uint64_t tp_orphan_disc_bytes[TIERPOOL_REASON_COUNT];
_Atomic uint64_t tp_orphan_fwd_frees;

tp_cache_t *tp_cache_registry(void) {
  return atomic_load_explicit(&tp_all_caches, memory_order_acquire);
}

void tp_cache_key_create(void) { pthread_key_create(&tp_exit_key, tp_thread_exit); }

/* ------------------------------------------------------------ bounds */

/* How many free blocks a thread keeps per tier: TIERPOOL_CACHE_SIZE bytes,
 * at least 2 blocks, at most 2048 (a flush hands the whole list over as one
 * batch, so a long list costs one CAS, not a walk). */
uint32_t tp_bound_for(unsigned t) {
  uint64_t b = tp_config.cache_size >> (t + TP_MIN_SHIFT);
  return b < 2 ? 2 : b > 2048 ? 2048 : (uint32_t)b;
}

/* Fresh blocks carved per refill: about 64 KiB, at least one. */
static uint32_t carve_for(unsigned t) {
  uint64_t n = ((uint64_t)64 << 10) >> (t + TP_MIN_SHIFT);
  uint32_t b = tp_bound_for(t);
  return n < 1 ? 1 : n > b ? b : (uint32_t)n;
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
  size_t bytes = (sizeof(tp_cache_t) + (ring ? ring : 1) * sizeof(uint64_t) + 4095) & ~(size_t)4095;
  tp_cache_t *c = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (c == MAP_FAILED) return NULL;
  c->owned = 1;
  c->ring_capacity = ring;
  c->ring_mask = ring ? ring - 1 : 0;
  tp_cache_t *head = atomic_load_explicit(&tp_all_caches, memory_order_relaxed);
  do c->next_all = head;
  while (!atomic_compare_exchange_weak_explicit(&tp_all_caches, &head, c, memory_order_release,
                                                memory_order_relaxed));
  return c;
}

/* Gives this thread a cache; NULL when none can be had (no pool, no memory,
 * or the thread has exited). */
static tp_cache_t *thread_setup(void) {
  tp_cache_t *c = tp_tls;
  if (c->kind == TP_CACHE_LIVE) return c;
  if (c->kind == TP_CACHE_DEAD || atomic_load(&tp_state) != TP_READY) return NULL;
  c = cache_acquire();
  if (!c) return NULL;
  for (unsigned t = 0; t < tp_layout.ntiers; t++) {
    c->bins[t].room = tp_bound_for(t);
    c->bins[t].mask = (uint32_t)(tp_tier_size(t) - 1);
  }
  c->key = tp_free_key;
  c->exit_rounds = 0;
  c->kind = TP_CACHE_LIVE;
  tp_tls = c; /* before pthread_setspecific, which may itself allocate */
  pthread_setspecific(tp_exit_key, c);
  atomic_fetch_add_explicit(&tp_threads_started, 1, memory_order_relaxed);
  return c;
}

/* ------------------------------------------------------------ flush */

/* Tiers of two pages or more give the pages of free blocks back to the
 * system (all but the first page, which holds the list links). */
#define TP_RELEASE_MIN_SIZE 8192

static size_t release_list(unsigned t, void **head) {
  size_t size = tp_tier_size(t), released = 0;
  int saved = errno; /* free() leaves errno alone */
  for (void **q = head; q; q = q[0])
    if (madvise((char *)q + 4096, size - 4096, MADV_DONTNEED) == 0) released += size - 4096;
  errno = saved;
  return released;
}

/* Hands a list of len free blocks (which the caller owns) to the central
 * pool; past TIERPOOL_RETAIN bytes held there, their pages go back first. */
static void central_give(unsigned t, void *head, uint32_t len) {
  size_t size = tp_tier_size(t);
  if (size >= TP_RELEASE_MIN_SIZE &&
      atomic_load_explicit(&tp_central[t].blocks, memory_order_relaxed) * size >= tp_config.retain)
    release_list(t, head);
  tp_central_push(t, head, len);
}

size_t tp_central_trim(void) {
  size_t released = 0;
  for (unsigned t = 0; t < tp_layout.ntiers; t++) {
    if (tp_tier_size(t) < TP_RELEASE_MIN_SIZE) continue;
    /* Take every batch (so no other thread uses the blocks meanwhile),
     * release, give back. Batches pushed meanwhile wait for the next trim. */
    void **batches = NULL;
    uint32_t len;
    void **b;
    while ((b = tp_central_pop(t, &len)) != NULL) {
      released += release_list(t, b);
      b[1] = (void *)((uintptr_t)batches | ((uint64_t)len << 48));
      batches = b;
    }
    while (batches) {
      uint64_t link = (uint64_t)(uintptr_t)batches[1];
      void **next = (void **)(uintptr_t)(link & ((UINT64_C(1) << 48) - 1));
      tp_central_push(t, batches, (uint32_t)(link >> 48));
      batches = next;
    }
  }
  return released;
}

static void bin_flush(tp_cache_t *c, unsigned t) {
  tp_bin_t *b = &c->bins[t];
  if (b->head) {
    uint32_t len = tp_bound_for(t) - b->room;
    central_give(t, b->head, len);
    TP_ADD(b->net_in, -(int64_t)len);
  }
  b->head = NULL;
  b->room = tp_bound_for(t);
}

/* Unused fresh blocks: give the range back to the carve front if nobody
 * carved after it, else thread them into a batch. */
static void bump_flush(tp_cache_t *c, unsigned t) {
  tp_bump_t *bp = &c->bump[t];
  if (bp->cur >= bp->end) return;
  size_t size = tp_tier_size(t);
  uint64_t front = bp->end - tp_region_start(t);
  if (!atomic_compare_exchange_strong(&tp_central[t].carve, &front, bp->cur - tp_region_start(t))) {
    void **prev = NULL, **first = (void **)bp->cur;
    uint32_t n = 0;
    for (uintptr_t a = bp->cur; a < bp->end; a += size, n++) {
      if (prev) prev[0] = (void *)a;
      prev = (void **)a;
    }
    prev[0] = NULL;
    central_give(t, first, n);
  }
  bp->cur = bp->end = 0;
}

void tp_cache_flush_current(void) {
  tp_cache_t *c = tp_tls;
  if (c->kind != TP_CACHE_LIVE) return;
  for (unsigned t = 0; t < tp_layout.ntiers; t++) {
    bin_flush(c, t);
    bump_flush(c, t);
  }
}

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

void tp_thread_exit(void *arg) {
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
      c->bump[t].cur = c->bump[t].end = 0;
    }
    atomic_fetch_add(&tp_fork_lost, lost);
    c->kind = TP_CACHE_EMPTY;
    atomic_store(&c->owned, 0);
  }
}

/* ------------------------------------------------------------ slow paths */

static void count_discard(tp_cache_t *c, int reason, size_t n) {
  if (c->kind == TP_CACHE_LIVE) {
    TP_ADD(c->disc_count[reason], 1);
    TP_ADD(c->disc_bytes[reason], n);
  } else {
    atomic_fetch_add_explicit(&tp_orphan_disc_count[reason], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&tp_orphan_disc_bytes[reason], n, memory_order_relaxed);
  }
}

void *tp_forward(size_t n, size_t align, int reason, bool zero) {
  count_discard(tp_tls, reason, n);
  return tp_fwd_alloc(n, align, zero);
}

/* A get for a thread without a cache: one block straight from the central
 * pool (the rest of its batch goes back) or the carve front. */
static void *orphan_get(unsigned t, size_t n) {
  uint32_t len;
  void **blk = tp_central_pop(t, &len);
  if (blk) {
    if (len > 1) tp_central_push(t, blk[0], len - 1);
  } else {
    blk = tp_central_carve(t, 1, &len);
    if (!blk) return NULL;
  }
  blk[1] = NULL;
  atomic_fetch_add_explicit(&tp_central[t].orphan_get, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&tp_central[t].orphan_bytes, n, memory_order_relaxed);
  tp_peak_note(t);
  return blk;
}

/* Refills bin t of a live cache and returns one block, or NULL if the
 * region is full. */
static void *bin_refill(tp_cache_t *c, unsigned t) {
  tp_bump_t *bp = &c->bump[t];
  size_t size = tp_tier_size(t);
  if (bp->cur < bp->end) {
    void *blk = (void *)bp->cur;
    bp->cur += size;
    TP_ADD(c->bins[t].net_in, 1);
    return blk;
  }
  uint32_t len;
  void **blk = tp_central_pop(t, &len);
  if (blk) {
    c->bins[t].head = blk[0];
    c->bins[t].room = tp_bound_for(t) - (len - 1);
    TP_ADD(c->bins[t].net_in, len);
    tp_peak_note(t);
    return blk;
  }
  blk = tp_central_carve(t, carve_for(t), &len);
  if (!blk) return NULL;
  bp->cur = (uintptr_t)blk + size;
  bp->end = (uintptr_t)blk + (uintptr_t)len * size;
  TP_ADD(c->bins[t].net_in, 1);
  tp_peak_note(t);
  return blk;
}

/* One get of n bytes (n >= 1), pooled or forwarded, unguarded. */
static void *get_block(size_t n, size_t align) {
  if (n > tp_layout.max_size)
    return tp_forward(n, TP_MIN_SIZE,
                      tp_layout.span ? TIERPOOL_REASON_TOO_LARGE : TIERPOOL_REASON_NO_POOL, false);
  size_t t = tp_tier_of(n);
  tp_cache_t *c = thread_setup();
  void **blk;
  if (c && (blk = tp_bin_pop(c, t, n))) return blk; /* slow mode, or set up just now */
  blk = c ? bin_refill(c, (unsigned)t) : orphan_get((unsigned)t, n);
  /* Region full: mimalloc, with the alignment the tier would have given. */
  if (!blk) return tp_forward(n, align, TIERPOOL_REASON_POOL_FULL, false);
  if (c) {
    blk[1] = NULL;
    tp_count_get(c, t, n);
  }
  return blk;
}

void *tp_get(size_t n, size_t align) {
  if (tp_unlikely(atomic_load_explicit(&tp_state, memory_order_acquire) < TP_READY)) tp_init();
  if (n == 0) n = 1; /* malloc(0): a unique 16-byte block */
  if (!tp_slow_mode) return get_block(n, align);
  if (!tp_guard_admit(n > tp_layout.max_size ? n : tp_tier_size((unsigned)tp_tier_of(n)))) {
    errno = ENOMEM;
    return NULL;
  }
  void *p = get_block(n, align);
  tp_guard_got(p, n);
  return p;
}

void *tp_malloc_slow(size_t n) { return tp_get(n, TP_MIN_SIZE); }

/* A pointer whose word 1 holds the free key: a double free if it is in
 * this thread's list (other threads' lists cannot be walked safely). */
static void check_double_free(tp_cache_t *c, unsigned t, void **p) {
  uint32_t n = 0;
  uint32_t len = tp_bound_for(t) - c->bins[t].room;
  for (void **q = c->bins[t].head; q && n <= len; q = q[0], n++)
    if (q == p) tp_report_bad_free("double free", p, t);
}

void tp_free_slow(void *p) {
  if (!p) return;
  if (!tp_is_pooled(p)) {
    if (tp_slow_mode) tp_guard_put(p);
    tp_cache_t *c = tp_tls;
    if (c->kind == TP_CACHE_LIVE) TP_ADD(c->fwd_frees, 1);
    else atomic_fetch_add_explicit(&tp_orphan_fwd_frees, 1, memory_order_relaxed);
    tp_fwd_free(p);
    return;
  }
  unsigned t = tp_tier_of_ptr(p);
  uintptr_t off = (uintptr_t)p - tp_region_start(t);
  if (t >= tp_layout.ntiers || (off & (tp_tier_size(t) - 1)) != 0)
    tp_report_bad_free("free of a pointer into the middle of a block", p, t);
  if (off >= atomic_load_explicit(&tp_central[t].carve, memory_order_relaxed))
    tp_report_bad_free("free of a pointer that was never allocated", p, t);
  if (tp_slow_mode) tp_guard_put(p);
  void **blk = p;
  tp_cache_t *c = thread_setup();
  if (c && blk[1] == (void *)c->key) check_double_free(c, t, blk);
  if (!c) {
    blk[0] = NULL;
    central_give(t, blk, 1);
    atomic_fetch_add_explicit(&tp_central[t].orphan_put, 1, memory_order_relaxed);
    return;
  }
  if (c->bins[t].room == 0) bin_flush(c, t);
  tp_bin_push(&c->bins[t], blk, c->key);
}
