/* alloc.c - the engine's entry points past the fast path (engine.h): the
 * slow get and free that the inline fast paths of cache.h fall into, and
 * calloc, realloc, aligned allocation, usable size and trim. */
#include <errno.h>
#include <string.h>

#include "central.h"
#include "engine.h"
#include "guard.h"
#include "hardening.h"
#include "hooks.h"
#include "large.h"
#include "os.h"
#include "peak.h"
#include "sampler.h"

static inline void ensure_init(void) {
  if (tp_unlikely(atomic_load_explicit(&tp_state, memory_order_acquire) < TP_READY)) tp_init();
}

/* This thread's live cache, set up on first use; NULL when it has none
 * (engine not ready, no memory, or the thread has exited). */
TP_RESIDENT static tp_cache_t *live_cache(void) {
  tp_cache_t *c = tp_tls;
  if (c->kind == TP_CACHE_LIVE) return c;
  if (atomic_load_explicit(&tp_state, memory_order_acquire) != TP_READY) return NULL;
  return tp_cache_setup();
}

static inline int reason_past_tiers(void) {
  return tp_layout.span ? TIERPOOL_REASON_TOO_LARGE : TIERPOOL_REASON_NO_POOL;
}

/* tp_forward, after setting the thread up when the sampler counts its
 * forwarded gets too: a thread whose first get is forwarded has no cache
 * yet, and the count lives there. */
static void *forward(size_t n, size_t align, int reason, bool zero) {
  if (tp_unlikely(tp_fwd_hooked)) (void)live_cache();
  return tp_forward(n, align, reason, zero);
}

/* ------------------------------------------------------------ get */

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

/* Whether the pooled get of n bytes from live cache c that reached the
 * slow path is the sampler's. The fast path counted it down if its list
 * had a block (tp_bin_pop), and left it here only if the count went below
 * zero; a get that found the list empty was not counted yet. Blocks the
 * hooks get for themselves are never sampled. */
static bool sampled(tp_cache_t *c, unsigned t, size_t n) {
  if (!tp_fwd_hooked || tp_in_hook) return false;
  if (c->bins[t].head == NULL || c->sample_left >= 0) return tp_sampler_due(c, n);
  c->sample_left = tp_sampler_interval(c);
  return true;
}

/* One get of n bytes (n >= 1), pooled or forwarded, unguarded. */
static void *get_block(size_t n, size_t align) {
  if (n > tp_layout.max_size) return forward(n, TP_MIN_SIZE, reason_past_tiers(), false);
  size_t t = tp_tier_of(n);
  tp_cache_t *c = live_cache();
  /* A sampled get is served outside the pools: its free comes to the slow
   * path, where the hooks see it (sampler.h). Its block is aligned to its
   * size up to a page (sampler.c); a get aligned past a page is not
   * sampled: a count below zero samples the next get. */
  if (c && tp_unlikely(tp_fwd_hooked) && align <= TP_PAGE_SIZE && sampled(c, (unsigned)t, n)) {
    void *p = tp_forward_sampled(c, (unsigned)t, n);
    if (p) return p;
  }
  void *blk = c ? tp_cache_get(c, (unsigned)t, n) : orphan_get((unsigned)t, n);
  /* The tier could not map its next pages (RLIMIT_AS, no memory): the
   * large-block cache gives its warm mappings back, and the tier tries
   * once more. */
  if (!blk && tp_large_release())
    blk = c ? tp_cache_get(c, (unsigned)t, n) : orphan_get((unsigned)t, n);
  /* Region full: mimalloc, with the alignment the tier would have given. */
  if (!blk) return tp_forward(n, align, TIERPOOL_REASON_POOL_FULL, false);
  return blk;
}

TP_RESIDENT void *tp_get(size_t n, size_t align) {
  ensure_init();
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

/* Slow mode for the hooks alone (exact leak tracking, a profile of every
 * get): no guard refuses or counts, no sampler. A get or put the fast
 * path would have served is then that list pop or push with the hook
 * around it; anything else (an empty or full list, no cache yet, a
 * suspect free) takes the whole slow path, whose general steps cost 57
 * instructions more a malloc-free pair (callgrind, `workloads tree 12`,
 * 843.5 M -> 806.0 M in all). */
static inline bool hooks_only(void) {
  return tp_hooks_every_get && !tp_guard_refuses && !tp_guard_counts;
}

void *tp_malloc_slow(size_t n) {
  if (hooks_only() && n - 1 < tp_layout.max_size) {
    tp_cache_t *c = tp_tls;
    if (c->kind == TP_CACHE_LIVE) {
      void *blk = tp_bin_take(c, tp_tier_of(n), n);
      if (blk) {
        tp_hooks_run_get(blk, n, true, true);
        return blk;
      }
    }
  }
  return tp_get(n, TP_MIN_SIZE);
}

/* ------------------------------------------------------------ free */

/* tp_free_slow's put of a pooled block in hooks-only slow mode, when the
 * fast path's own checks pass (tp_bin_accepts): true if done. */
static inline bool hooks_only_put(void *p) {
  tp_cache_t *c = tp_tls;
  tp_bin_t *b = &c->bins[tp_tier_of_ptr(p)];
  if (c->kind != TP_CACHE_LIVE || !tp_bin_accepts(c, b, p)) return false;
  tp_hooks_run_put(p, true);
  tp_bin_push(b, p, c->key);
  return true;
}

static void free_block(void *p);

void tp_free_slow(void *p) {
  if (hooks_only() && tp_is_pooled(p) && hooks_only_put(p)) return;
  free_block(p);
}

/* The whole slow path of a free (a separate function, so that the put
 * above saves no registers for it). */
__attribute__((noinline)) static void free_block(void *p) {
  if (!p) return;
  if (!tp_is_pooled(p)) {
    if (tp_slow_mode) tp_guard_put(p);
    tp_forward_free(p); /* runs the put hook itself with the sampler on */
    return;
  }
  unsigned t = tp_tier_of_ptr(p);
  uintptr_t off = (uintptr_t)p - tp_region_start(t);
  if (t >= tp_layout.ntiers || (off & (tp_tier_size(t) - 1)) != 0)
    tp_report_bad_free("free of a pointer into the middle of a block", p,
                       t < tp_layout.ntiers ? tp_tier_size(t) : 0);
  if (off >= atomic_load_explicit(&tp_central[t].carve, memory_order_relaxed))
    tp_report_bad_free("free of a pointer that was never allocated", p, tp_tier_size(t));
  if (tp_slow_mode) tp_guard_put(p);
  void **blk = p;
  tp_cache_t *c = live_cache();
  if (!c) {
    tp_cache_check_free(NULL, t, blk);
    blk[0] = NULL;
    blk[1] = (void *)tp_free_key; /* marked free, as a list's blocks are */
    tp_central_give(t, blk, 1);
    atomic_fetch_add_explicit(&tp_central[t].orphan_put, 1, memory_order_relaxed);
    return;
  }
  tp_cache_put(c, t, blk);
}

/* ------------------------------------------------------------ calloc */

void *tp_calloc(size_t n, size_t m) {
  size_t bytes;
  if (__builtin_mul_overflow(n, m, &bytes)) {
    errno = ENOMEM;
    return NULL;
  }
  ensure_init();
  if (bytes > tp_layout.max_size) {
    /* Past the tiers: mimalloc zeroes only what is not fresh. */
    if (!tp_guard_admit(bytes)) {
      errno = ENOMEM;
      return NULL;
    }
    void *p = forward(bytes, TP_MIN_SIZE, reason_past_tiers(), true);
    tp_guard_got(p, bytes);
    return p;
  }
  void *p = tp_malloc(bytes);
  if (tp_unlikely(!p)) return NULL;
  memset(p, 0, bytes); /* a pooled block may be recycled (or forwarded, pool full) */
  return p;
}

/* ------------------------------------------------------------ realloc */

size_t tp_usable_size(const void *p) {
  if (!p) return 0;
  if (tp_is_pooled(p)) return tp_tier_size(tp_tier_of_ptr(p));
  int t = tp_unlikely(tp_fwd_hooked) ? tp_sampled_tier(p, NULL) : -1;
  return t >= 0 ? tp_tier_size((unsigned)t) : tp_fwd_usable(p); /* a sampled block is its tier's */
}

void *tp_realloc(void *p, size_t n) {
  if (!p) return tp_malloc(n);
  if (n == 0) { /* glibc: frees and returns NULL */
    tp_free(p);
    return NULL;
  }
  size_t have;
  int sampled_tier = tp_unlikely(tp_fwd_hooked) && !tp_is_pooled(p) ? tp_sampled_tier(p, NULL) : -1;
  if (tp_is_pooled(p) || sampled_tier >= 0) {
    /* (A sampled block is one of its tier's, of the tier's size, outside
     * the pools: sampler.h.) */
    size_t size = tp_tier_size(sampled_tier >= 0 ? (unsigned)sampled_tier : tp_tier_of_ptr(p));
    /* Same tier: keep the block. Shrinking far below it moves, to give
     * the bigger block back. */
    if (n <= size && (n > size / 2 || size == TP_MIN_SIZE)) return p;
    have = size;
  } else {
    if (n > tp_layout.max_size && !tp_slow_mode) {
      /* Stays in mimalloc: let it grow in place when it can. (In slow
       * mode it moves, so the guards see a get and a put.) */
      return tp_forward_realloc(p, n);
    }
    tp_fwd_check("realloc", p);
    have = tp_fwd_usable(p);
  }
  void *q = tp_malloc(n);
  if (!q) return NULL; /* p untouched; errno set */
  memcpy(q, p, n < have ? n : have);
  tp_free(p);
  return q;
}

void *tp_reallocarray(void *p, size_t n, size_t m) {
  size_t bytes;
  if (__builtin_mul_overflow(n, m, &bytes)) {
    errno = ENOMEM;
    return NULL;
  }
  return tp_realloc(p, bytes);
}

/* ------------------------------------------------------------ aligned */

void *tp_aligned(size_t align, size_t n) {
  if (align <= TP_MIN_SIZE) return tp_malloc(n);
  ensure_init();
  /* A block of tier t is aligned to its size: ask for a tier at least as
   * big as the alignment. */
  if (align <= tp_layout.max_size && n <= tp_layout.max_size) {
    size_t m = n > align ? n : align;
    void *p = m - 1 < tp_layout.fast_max ? tp_bin_pop(tp_tls, tp_tier_of(m), m) : NULL;
    return p ? p : tp_get(m, align);
  }
  if (!tp_guard_admit(n)) {
    errno = ENOMEM;
    return NULL;
  }
  void *p = forward(n, align,
                    !tp_layout.span ? TIERPOOL_REASON_NO_POOL
                    : n > tp_layout.max_size ? TIERPOOL_REASON_TOO_LARGE
                                             : TIERPOOL_REASON_ALIGNMENT,
                    false);
  tp_guard_got(p, n);
  return p;
}

/* ------------------------------------------------------------ trim */

/* malloc_trim: the calling thread's cache goes central, the central pools
 * of page-sized tiers give their pages back, mimalloc collects and the
 * cache of large mappings is unmapped (fallback.c). Other threads' caches
 * are theirs: they are not touched. pad is ignored (there is no heap top
 * to keep). */
int tp_trim(size_t pad) {
  (void)pad;
  if (atomic_load(&tp_state) != TP_READY) return 0;
  int saved = errno;
  tp_cache_flush_current();
  size_t released = tp_central_trim() + tp_fwd_collect();
  errno = saved;
  return released > 0;
}
