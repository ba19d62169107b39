/* api.c - the engine's entry points beyond the fast path: init, calloc,
 * realloc, aligned allocation, usable size, trim. */
#include <errno.h>
#include <sched.h>
#include <mimalloc.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "central.h"
#include "config.h"
#include "engine.h"
#include "guard.h"
#include "large.h"

_Atomic int tp_state = TP_UNINIT;
uint64_t tp_free_key;
static _Atomic long tp_init_tid;


/* ------------------------------------------------------------ init */

static uint64_t make_key(void) {
  uint64_t k = 0;
  if (getrandom(&k, sizeof k, GRND_NONBLOCK) != sizeof k) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    k = ((uint64_t)ts.tv_nsec << 32) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 16);
  }
  return k | 1; /* never 0 or a plausible aligned pointer */
}

void tp_init(void) {
  int s = TP_UNINIT;
  if (atomic_compare_exchange_strong(&tp_state, &s, TP_INITIALIZING)) {
    atomic_store(&tp_init_tid, syscall(SYS_gettid));
    tp_config_load();
    tp_free_key = make_key();
    tp_fwd_init();
    int ok = tp_layout_reserve() == 0;
    tp_guard_init();
    tp_cache_key_create();
    atomic_store_explicit(&tp_state, ok ? TP_READY : TP_NO_POOL, memory_order_release);
    return;
  }
  /* Another thread initialises: wait for it, unless it is this thread
   * calling back into malloc from init (then the request is forwarded). */
  while (atomic_load_explicit(&tp_state, memory_order_acquire) == TP_INITIALIZING) {
    if (atomic_load(&tp_init_tid) == syscall(SYS_gettid)) return;
    sched_yield();
  }
}

void tp_fork_child(void) {
  if (atomic_load(&tp_state) != TP_READY) return;
  tp_cache_fork_child();
}

/* ------------------------------------------------------------ calloc */

void *tp_calloc(size_t n, size_t m) {
  size_t bytes;
  if (__builtin_mul_overflow(n, m, &bytes)) {
    errno = ENOMEM;
    return NULL;
  }
  if (tp_unlikely(atomic_load_explicit(&tp_state, memory_order_acquire) < TP_READY)) tp_init();
  if (bytes > tp_layout.max_size) {
    /* Past the tiers: mimalloc zeroes only what is not fresh. */
    if (!tp_guard_admit(bytes)) {
      errno = ENOMEM;
      return NULL;
    }
    void *p = tp_forward(bytes, TP_MIN_SIZE,
                         tp_layout.span ? TIERPOOL_REASON_TOO_LARGE : TIERPOOL_REASON_NO_POOL, true);
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
  return tp_fwd_usable(p);
}

void *tp_realloc(void *p, size_t n) {
  if (!p) return tp_malloc(n);
  if (n == 0) { /* glibc: frees and returns NULL */
    tp_free(p);
    return NULL;
  }
  size_t have;
  if (tp_is_pooled(p)) {
    size_t size = tp_tier_size(tp_tier_of_ptr(p));
    /* Same tier: keep the block. Shrinking far below it moves, to give
     * the bigger block back. */
    if (n <= size && (n > size / 2 || size == TP_MIN_SIZE)) return p;
    have = size;
  } else {
    if (n > tp_layout.max_size && !tp_slow_mode) {
      /* Stays in mimalloc: let it grow in place when it can. (In slow
       * mode it moves, so the guards see a get and a put.) */
      return tp_fwd_realloc(p, n);
    }
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
  if (tp_unlikely(atomic_load_explicit(&tp_state, memory_order_acquire) < TP_READY)) tp_init();
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
  void *p = tp_forward(n, align,
                       !tp_layout.span ? TIERPOOL_REASON_NO_POOL
                       : n > tp_layout.max_size ? TIERPOOL_REASON_TOO_LARGE
                                                : TIERPOOL_REASON_ALIGNMENT,
                       false);
  tp_guard_got(p, n);
  return p;
}

/* ------------------------------------------------------------ trim */

/* malloc_trim: the calling thread's cache goes central, the central pools
 * of page-sized tiers give their pages back, mimalloc collects. Other
 * threads' caches are theirs: they are not touched. pad is ignored (there
 * is no heap top to keep). */
int tp_trim(size_t pad) {
  (void)pad;
  if (atomic_load(&tp_state) != TP_READY) return 0;
  int saved = errno;
  tp_cache_flush_current();
  size_t released = tp_central_trim() + tp_large_release();
  mi_collect(true);
  errno = saved;
  return released > 0;
}
