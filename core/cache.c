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
#include "sampler.h"
#include "threads.h"

/* Sentinels: all lists empty, all rooms 0, so every operation misses. */
TP_START_DATA static tp_cache_t tp_empty_cache = {.kind = TP_CACHE_EMPTY};
static tp_cache_t tp_dead_cache = {.kind = TP_CACHE_DEAD};

__thread tp_cache_t *tp_tls __attribute__((tls_model("initial-exec"))) = &tp_empty_cache;
TP_START_DATA uint64_t tp_free_key;

TP_START_DATA static pthread_key_t tp_exit_key;

static void thread_exit(void *arg);

void tp_cache_init(void) {
  tp_free_key = tp_random_seed() | 1; /* never 0 or a plausible aligned pointer */
  pthread_key_create(&tp_exit_key, thread_exit);
}

/* ------------------------------------------------------------ bounds */

/* Fresh blocks carved per refill: about 64 KiB, at least one, at most
 * what the list may hold. */
static uint32_t carve_for(const tp_cache_t *c, unsigned t) {
  uint64_t n = ((uint64_t)64 << 10) >> (t + TP_MIN_SHIFT);
  uint32_t b = c->bound[t];
  return n < 1 ? 1 : n > b ? b : (uint32_t)n;
}

/* Blocks on bin t's list (its room says how many more it takes). */
static uint32_t bin_length(const tp_cache_t *c, unsigned t) {
  TP_DCHECK(c->bins[t].room <= c->bound[t]);
  TP_DCHECK((c->bins[t].head == NULL) == (c->bins[t].room == c->bound[t]));
  return c->bound[t] - c->bins[t].room;
}

/* Two refills in a row of a list whose floor is below its full bound
 * (tp_bound_floor: the tiers of 512 B and more) that come soon after the
 * one before double the list's bound; two that come late halve it. Soon:
 * within 32 gets of the thread plus twice the bound (soon_window).
 * A batch of 100 mallocs and frees refills every bound-th get or so (the
 * blocks the frees left on the list, then each central batch) and keeps
 * the full bound; so does a thread that takes a 256 KiB block once in ten
 * gets (bench pool_loop), or that sweeps all tiers in turn, each with a
 * burst of refills (bench tier_sweep: one late refill per sweep). A
 * thread that takes a 128 KiB block once in a hundred gets or more (bench
 * mstress) keeps one block. The clock is the ring's count of gets:
 * without counters (-DTIERPOOL_COUNTERS=OFF) it stands still, every
 * refill is soon, and the lists grow to tp_bound_max (the large ones
 * within the budget, which no idle list then gives back). Refills only,
 * not flushes: the flush path stays as short as it was (scripts/bench
 * --micro, batches of 64 KiB), and what the thread takes from the central
 * pool is what counts. (A thread that only frees large blocks that others
 * allocated keeps one block of those tiers, and hands each free over.) */
#define TP_SOON_GETS 32

/* The window for bin t with bound b. Below 64 KiB it widens as the blocks
 * shrink, 64 KiB / size times: a list of small blocks costs less to keep
 * long, and a tier of 16 KiB that one get in 13 takes (bench server_mix,
 * 8 B to 64 KiB) refills every 13 x bound gets at best, which the plain
 * window counts late from a bound of 4 on: its list stayed at the floor
 * and went to the central pool every few gets (3.8% more instructions).
 * mstress's middle tiers, one get in a thousand, are late either way. */
static inline uint32_t soon_window(unsigned t, uint32_t b) {
  unsigned shift = t + TP_MIN_SHIFT;
  uint32_t w = TP_SOON_GETS + 2 * b;
  return shift < 16 ? w << (16 - shift) : w;
}

/* Ends the list at head after its first keep blocks (keep >= 1, the list
 * longer) and returns the rest. */
static void **cut_after(void **head, uint32_t keep) {
  void **last = head;
  for (uint32_t i = 1; i < keep; i++) last = last[0];
  void **rest = last[0];
  last[0] = NULL;
  return rest;
}

/* Bytes cache c's shared lists (tp_tier_shared) may hold past their own
 * bounds (tp_bound_for): what they take of the budget. set_bound keeps it
 * in c->shared_used; this recounts it for the debug checks. */
__attribute__((unused)) static uint64_t shared_bytes(const tp_cache_t *c) {
  uint64_t sum = 0;
  for (unsigned u = TP_SHARED_SHIFT - TP_MIN_SHIFT; u < tp_layout.ntiers; u++) {
    uint32_t own = tp_bound_for(u);
    if (c->bound[u] > own) sum += (uint64_t)(c->bound[u] - own) << (u + TP_MIN_SHIFT);
  }
  return sum;
}

/* Sets list t's bound to nb, and the budget's count with it. */
static void set_bound(tp_cache_t *c, unsigned t, uint32_t nb) {
  if (tp_tier_shared(t)) {
    uint64_t own = tp_bound_for(t), b = c->bound[t];
    uint64_t before = b > own ? b - own : 0, after = nb > own ? nb - own : 0;
    c->shared_used += (after - before) << (t + TP_MIN_SHIFT);
  }
  c->bound[t] = nb;
  TP_DCHECK(c->shared_used == shared_bytes(c));
}

/* A reclaim scans the ring's last TP_RECLAIM_SCAN lengths at most, and
 * runs at most once in TP_RECLAIM_GETS gets of the thread: a thread whose
 * large lists want more than the budget in turn (bench tier_sweep: 16
 * blocks of each size from 64 KiB to 1 MiB) would otherwise scan at every
 * refill of each. */
#define TP_RECLAIM_SCAN 512
#define TP_RECLAIM_GETS 4096

/* Takes the shared lists other than t that the thread has not used lately
 * back to their own bound, handing the blocks past it to the central pool: a
 * thread that moved from one large size to another does not keep the
 * budget in the list it left. Lately: a refill or a get of the list within
 * its soon_window; a list long enough for its batches is in use without
 * refills, so the ring says whether it had gets. Runs only when a list's
 * growth finds the budget short. */
static void reclaim_idle(tp_cache_t *c, unsigned t, uint32_t now) {
  const unsigned first = TP_SHARED_SHIFT - TP_MIN_SHIFT;
  if (now - c->reclaim_at < TP_RECLAIM_GETS) return;
  c->reclaim_at = now;
  uint32_t age[TP_MAX_TIERS]; /* gets since the tier's last one in the ring */
  for (unsigned u = first; u < tp_layout.ntiers; u++) age[u] = UINT32_MAX;
  uint64_t n = c->ring_capacity < TP_RECLAIM_SCAN ? c->ring_capacity : TP_RECLAIM_SCAN;
  if (n > c->ring_pos) n = c->ring_pos;
  for (uint32_t i = 1; i <= n; i++) {
    uint64_t len = c->ring[(c->ring_pos - i) & c->ring_mask];
    if (len - 1 >= tp_layout.max_size) continue;
    unsigned u = tp_tier_of(len);
    if (u >= first && age[u] == UINT32_MAX) age[u] = i;
  }
  for (unsigned u = first; u < tp_layout.ntiers; u++) {
    uint32_t own = tp_bound_for(u), b = c->bound[u], w = soon_window(u, b);
    if (u == t || b <= own || now - c->refill_at[u] <= w || age[u] <= w) continue;
    uint32_t len = bin_length(c, u);
    if (len > own) {
      tp_central_give(u, cut_after(c->bins[u].head, own), len - own);
      TP_ADD(c->net_in[u], -(int64_t)(len - own));
      len = own;
    }
    set_bound(c, u, own);
    c->bins[u].room = own - len;
    c->last_soon[u] = 0;
  }
}

/* How far shared list t may grow from b towards want: freely up to its
 * own bound, past it within the thread's budget (TIERPOOL_CACHE_LARGE),
 * after reclaiming idle lists if short. */
static uint32_t shared_grant(tp_cache_t *c, unsigned t, uint32_t b, uint32_t want, uint32_t now) {
  unsigned shift = t + TP_MIN_SHIFT;
  uint32_t own = tp_bound_for(t), from = b > own ? b : own;
  if (want <= from) return want;
  uint64_t budget = tp_config.cache_large;
  if (c->shared_used + ((uint64_t)(want - from) << shift) > budget) reclaim_idle(c, t, now);
  uint64_t used = c->shared_used;
  uint64_t more = used < budget ? (budget - used) >> shift : 0;
  return more < want - from ? from + (uint32_t)more : want;
}

/* Moves bin t's bound at a refill: the list is empty, so the caller sets
 * its room from the new bound. */
static void adapt_bound(tp_cache_t *c, unsigned t) {
  uint32_t now = (uint32_t)c->ring_pos, since = now - c->refill_at[t];
  uint32_t b = c->bound[t];
  c->refill_at[t] = now;
  if (since <= soon_window(t, b)) {
    uint32_t hi = c->bound_hi[t];
    if (b < hi && c->last_soon[t] > 0) {
      uint32_t want = b * 2 < hi ? b * 2 : hi;
      set_bound(c, t, tp_tier_shared(t) ? shared_grant(c, t, b, want, now) : want);
    }
    c->last_soon[t] = 1;
  } else {
    uint32_t lo = tp_bound_floor(t);
    if (b > lo && c->last_soon[t] < 0) set_bound(c, t, b / 2 > lo ? b / 2 : lo);
    c->last_soon[t] = -1;
  }
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
  tp_cache_register(c);
  return c;
}

tp_cache_t *tp_cache_setup(void) {
  tp_cache_t *c = tp_tls;
  if (c->kind == TP_CACHE_LIVE) return c;
  if (c->kind == TP_CACHE_DEAD) return NULL;
  c = cache_acquire();
  if (!c) return NULL;
  for (unsigned t = 0; t < tp_layout.ntiers; t++) {
    c->bound_hi[t] = (uint16_t)tp_bound_max(t);
    c->bound[t] = tp_bound_floor(t); /* at most tp_bound_for: shared_used is 0 */
    c->last_soon[t] = 0;
    /* A first refill is not "soon". */
    c->refill_at[t] = (uint32_t)c->ring_pos - TP_BOUND_MAX * 2 - 1;
    c->bins[t].room = c->bound[t];
    c->bins[t].mask = (uint32_t)(tp_tier_size(t) - 1);
    TP_DCHECK(c->bins[t].head == NULL);
  }
  c->shared_used = 0;
  c->reclaim_at = (uint32_t)c->ring_pos - TP_RECLAIM_GETS;
  c->key = tp_free_key;
  c->sample_left = tp_sampler_interval(c);
  c->exit_rounds = 0;
  /* Not merged with the store above: GCC would load the two ints as one
   * 8-byte constant from the library's read-only data, whose pages a small
   * program otherwise never reads (tp_environ_names_us). */
  __asm__ volatile("" ::: "memory");
  c->kind = TP_CACHE_LIVE;
  tp_tls = c; /* before pthread_setspecific, which may itself allocate */
  pthread_setspecific(tp_exit_key, c);
  atomic_fetch_add_explicit(&tp_threads_started, 1, memory_order_relaxed);
  return c;
}

/* ------------------------------------------------------------ refill */

/* A central batch longer than the list may hold (another thread flushed
 * it with a larger bound): keeps the first keep blocks, gives the rest back
 * as a batch of its own. Walks keep links of blocks the thread is about to
 * use. */
static void split_batch(unsigned t, void **head, uint32_t len, uint32_t keep) {
  tp_central_push(t, cut_after(head, keep), len - keep);
}

/* Refills bin t and returns one block (not yet counted as a get), or NULL
 * if the region is full. */
static void *refill(tp_cache_t *c, unsigned t) {
  TP_DCHECK(c->kind == TP_CACHE_LIVE && c->bins[t].head == NULL);
  adapt_bound(c, t);
  uint32_t len;
  void **blk = tp_central_pop(t, &len);
  if (blk) {
    if (len - 1 > c->bound[t]) {
      split_batch(t, blk, len, c->bound[t] + 1);
      len = c->bound[t] + 1;
    }
  } else {
    blk = tp_central_carve(t, carve_for(c, t), &len);
    if (!blk) {
      c->bins[t].room = c->bound[t];
      return NULL;
    }
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
  TP_DCHECK(len - 1 <= c->bound[t]);
  tp_cache_see_front(c, t);
  c->bins[t].head = blk[0];
  c->bins[t].room = c->bound[t] - (len - 1);
  TP_ADD(c->net_in[t], len);
  tp_peak_note(t); /* blocks left the central pool: maybe a new peak */
  return blk;
}

/* ------------------------------------------------------------ flush */

static void flush_bin(tp_cache_t *c, unsigned t) {
  tp_bin_t *b = &c->bins[t];
  if (b->head) {
    uint32_t len = bin_length(c, t);
    tp_central_give(t, b->head, len);
    TP_ADD(c->net_in[t], -(int64_t)len);
  }
  b->head = NULL;
  b->room = c->bound[t];
}

void tp_cache_flush_current(void) {
  tp_cache_t *c = tp_tls;
  if (c->kind != TP_CACHE_LIVE) return;
  for (unsigned t = 0; t < tp_layout.ntiers; t++) {
    flush_bin(c, t);
  }
}

/* ------------------------------------------------------------ slow get, put */

TP_RESIDENT void *tp_cache_get(tp_cache_t *c, unsigned t, size_t n) {
  void **blk = tp_bin_take(c, t, n);
  if (blk) return blk;
  blk = refill(c, t);
  if (!blk) return NULL;
  blk[1] = NULL;
  tp_count_get(c, t, n);
  return blk;
}

/* Aborts if block p of tier t is free already, as its word 1 says: the key is
 * random per process, written only into free blocks, and cleared from
 * every block handed out (tp_bin_take, tp_cache_get, orphan_get), so a
 * live block holds it only if the program copied it there from freed
 * memory. In this thread's list: a double free, or a fresh block never
 * handed out; elsewhere (another thread's list, a central batch: other
 * threads' lists cannot be walked safely, and there is no need to), a
 * double free. A central batch's head of the 16-byte tier does not hold
 * the key (its word 1 links the batches, central.h): a second free of it
 * is seen only by TIERPOOL_HARDEN=full. */
void tp_cache_check_free(const tp_cache_t *c, unsigned t, void *p) {
  void **blk = p;
  if (blk[1] != (void *)tp_free_key) return;
  uint32_t n = 0, len = c ? bin_length(c, t) : 0;
  for (void **q = c ? c->bins[t].head : NULL; q && n <= len; q = q[0], n++)
    if (q == blk) tp_report_bad_free("double free (or free of a block never handed out)", p, tp_tier_size(t));
  tp_report_bad_free("double free (the block is free in another thread's cache or the central "
                     "pool)", p, tp_tier_size(t));
}

void tp_cache_see_front(tp_cache_t *c, unsigned t) {
  uint64_t front = atomic_load_explicit(&tp_central[t].carve, memory_order_acquire);
  c->bins[t].lim = tp_region_start(t) + front;
}

void tp_cache_put(tp_cache_t *c, unsigned t, void *p) {
  void **blk = p;
  tp_cache_check_free(c, t, blk);
  /* The caller checked p against the real front: the list's copy of it
   * moves up if it was behind. */
  if ((uintptr_t)p >= c->bins[t].lim) tp_cache_see_front(c, t);
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
      uint32_t len = tp_bin_cached(c, t);
      lost += len;
      c->net_in[t] -= len;
      c->bins[t].head = NULL;
      c->bins[t].room = c->bound[t];
    }
    atomic_fetch_add(&tp_fork_lost, lost);
    c->kind = TP_CACHE_EMPTY;
    atomic_store(&c->owned, 0);
  }
}
