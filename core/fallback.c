/* fallback.c - requests the pools do not serve go to mimalloc.
 *
 * Debian 12's mimalloc 2.0.9 breaks glibc's contract in places: small
 * blocks only 8-byte aligned, realloc(p, 0) returning a block, no errno on
 * some failures, and mi_aligned_alloc able to return misaligned memory
 * (mimalloc issue 700, fixed in 2.1). These wrappers keep the contract
 * whatever mimalloc does: they ask for at least 16-byte alignment, check the
 * alignment of what comes back, and set ENOMEM on every NULL.
 *
 * Requests of TP_LARGE_MIN and more with an alignment of at most 64 do
 * not reach mimalloc: large.c maps them, keeps freed ones warm and grows
 * them with mremap (why: large.c). A forwarded pointer is large.c's when
 * tp_large_state says so, mimalloc's otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <mimalloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "cache.h"
#include "central.h"
#include "fallback.h"
#include "hardening.h"
#include "hooks.h"
#include "large.h"
#include "sampler.h"

/* glibc's mmap of a request larger than RAM + swap fails under the
 * kernel's default (heuristic) overcommit; mimalloc maps with
 * MAP_NORESERVE and would hand out 100 GiB on a 24 GiB machine. Keep
 * glibc's answer: such a request is ENOMEM, unless overcommit is "always". */
static size_t tp_fwd_ceiling = SIZE_MAX;

void tp_fwd_init(void) {
  char mode = '0';
  int fd = open("/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (read(fd, &mode, 1) != 1) mode = '0';
    close(fd);
  }
  struct sysinfo si;
  if (mode != '1' && sysinfo(&si) == 0)
    tp_fwd_ceiling = ((size_t)si.totalram + si.totalswap) * si.mem_unit;
}

/* Large blocks known live, by a hash of the address, for tp_fwd_owns:
 * entered when large.c hands a block out (or tp_fwd_owns proves one
 * mapped), cleared before the block is freed or reallocated, so an entry
 * names a block still live, whose header can be read without asking the
 * kernel whether its page is mapped. A buffer's every retain and release
 * asks about its block: a system call each time would cost them many
 * times the rest. */
#define TP_OWNED_SLOTS 64
static _Atomic uintptr_t tp_owned[TP_OWNED_SLOTS];

static inline _Atomic uintptr_t *owned_slot(const void *p) {
  return &tp_owned[((uintptr_t)p >> 12) % TP_OWNED_SLOTS];
}

static inline void *remember_owned(void *p) {
  if (p) atomic_store_explicit(owned_slot(p), (uintptr_t)p, memory_order_relaxed);
  return p;
}

static inline void forget_owned(const void *p) {
  _Atomic uintptr_t *slot = owned_slot(p);
  uintptr_t want = (uintptr_t)p;
  if (atomic_load_explicit(slot, memory_order_relaxed) == want)
    atomic_compare_exchange_strong_explicit(slot, &want, 0, memory_order_relaxed,
                                            memory_order_relaxed);
}

void *tp_fwd_alloc(size_t n, size_t align, bool zero) {
  if (n > PTRDIFF_MAX || n > tp_fwd_ceiling) goto enomem;
  /* (Not before the key exists: a header written with another key would
   * not be recognised at free.) */
  if (n >= TP_LARGE_MIN && align <= TP_LARGE_HDR && tp_free_key)
    return remember_owned(tp_large_alloc(n, zero));
  if (n == 0) n = 1;
  int saved = errno; /* mimalloc may leave errno changed on success (ENOENT seen) */
  /* Zeroed memory from mimalloc itself: it knows which pages are fresh
   * and need no memset (a sparse calloc stays sparse). */
  void *p = zero ? mi_zalloc_aligned(n, align) : mi_malloc_aligned(n, align);
  if (p && ((uintptr_t)p & (align - 1))) {
    /* mimalloc issue 700: retry with room to spare, then give up. */
    mi_free(p);
    p = (n + align > n) ? (zero ? mi_zalloc_aligned : mi_malloc_aligned)(n + align, align) : NULL;
    if (p && ((uintptr_t)p & (align - 1))) {
      mi_free(p);
      p = NULL;
    }
  }
  if (p) {
    errno = saved;
    return p;
  }
enomem:
  errno = ENOMEM;
  return NULL;
}

bool tp_fwd_heap_region(const void *p) { return mi_is_in_heap_region(p); }

/* Whether p's page is mapped: mincore cannot fault. */
static bool page_mapped(const void *p) {
  unsigned char vec;
  int saved = errno;
  bool mapped = mincore((void *)((uintptr_t)p & ~(uintptr_t)(TP_LARGE_PAGE - 1)), 1, &vec) == 0;
  errno = saved;
  return mapped;
}

bool tp_fwd_owns(const void *p) {
  bool at_hdr = ((uintptr_t)p & (TP_LARGE_PAGE - 1)) == TP_LARGE_HDR;
  if (at_hdr && atomic_load_explicit(owned_slot(p), memory_order_relaxed) == (uintptr_t)p)
    return tp_large_state(p) == TP_LARGE_LIVE;
  if (mi_is_in_heap_region(p)) return true;
  if (!at_hdr) return false;
  /* A large block's header is on p's page: read it only once the page is
   * known to be mapped (a freed block's mapping may be gone, a wild
   * pointer's never was). */
  if (!page_mapped(p) || tp_large_state(p) != TP_LARGE_LIVE) return false;
  remember_owned((void *)p);
  return true;
}

/* tp_large_state of a pointer given to free, realloc or usable size,
 * reading the header only where p's page is known to be mapped: a block
 * known live, a mimalloc block, or a page mincore finds. A pointer at a
 * large block's offset on an unmapped page is no block at all (a large
 * block freed twice after its mapping was given back, or a wild pointer):
 * reading it would crash, so the process aborts naming it. A system call
 * only for large blocks past the 64 remembered and for 1 in 256 of the
 * pointers mimalloc does not claim. */
static enum tp_large_state large_state(const char *what, const void *p) {
  if (((uintptr_t)p & (TP_LARGE_PAGE - 1)) != TP_LARGE_HDR) return TP_LARGE_NOT_OURS;
  if (atomic_load_explicit(owned_slot(p), memory_order_relaxed) != (uintptr_t)p &&
      !mi_is_in_heap_region(p) && !page_mapped(p)) {
    tp_warn("%s of a pointer to unmapped memory: %p (a large block already freed, or never "
            "allocated); aborting", what, p);
    abort();
  }
  return tp_large_state(p);
}

/* mi_is_in_heap_region() of 2.0.9 answers only for segments inside its
 * address map and says "no" for valid blocks mapped elsewhere (over 1 GiB,
 * or under ASan): its "no" only sends p to the finer checks of
 * tp_check_foreign, which abort on stack, static and unmapped pointers
 * (mi_free would crash on them) and let the rest through. */
void tp_fwd_check(const char *what, const void *p) {
  if (tp_unlikely(!mi_is_in_heap_region(p)) && large_state(what, p) == TP_LARGE_NOT_OURS)
    tp_check_foreign(what, p);
}

void tp_fwd_free(void *p) {
  int saved = errno; /* POSIX.1-2024: free() leaves errno alone */
  switch (large_state("free", p)) {
  case TP_LARGE_LIVE:
    forget_owned(p);
    tp_large_free(p);
    break;
  case TP_LARGE_FREED: tp_large_double_free(p);
  default:
    tp_fwd_check("free", p);
    mi_free(p);
  }
  errno = saved;
}

size_t tp_fwd_usable(const void *p) {
  return large_state("malloc_usable_size", p) == TP_LARGE_LIVE ? tp_large_usable(p) : mi_usable_size(p);
}

void *tp_fwd_realloc(void *p, size_t n) {
  if (n > PTRDIFF_MAX || n > tp_fwd_ceiling) {
    errno = ENOMEM;
    return NULL;
  }
  int saved = errno;
  if (large_state("realloc", p) == TP_LARGE_LIVE) {
    forget_owned(p); /* it may move, and its old mapping go */
    void *q = remember_owned(tp_large_realloc(p, n));
    if (q) errno = saved;
    return q;
  }
  tp_fwd_check("realloc", p);
  size_t have = mi_usable_size(p);
  if (n >= TP_LARGE_MIN && n > have) {
    /* Grows past mimalloc's share: one copy into a mapping, mremap after. */
    void *q = remember_owned(tp_large_alloc(n, false));
    if (!q) return NULL;
    memcpy(q, p, have);
    mi_free(p);
    errno = saved;
    return q;
  }
  void *q = mi_realloc_aligned(p, n, 16);
  errno = q ? saved : ENOMEM;
  return q;
}

/* ------------------------------------------------------------ accounting */

_Atomic uint64_t tp_orphan_disc_count[TIERPOOL_REASON_COUNT];
_Atomic uint64_t tp_orphan_disc_bytes[TIERPOOL_REASON_COUNT];
_Atomic uint64_t tp_orphan_fwd_frees;

/* A live cache counts in its own words (TP_ADD, cache.h); any other
 * thread in the shared orphan counters. */
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
  tp_cache_t *c = tp_tls;
  count_discard(c, reason, n);
  void *p = tp_fwd_alloc(n, align, zero);
  /* With hooks, a fresh block's word 0 is cleared: mimalloc's free list
   * links its free blocks through word 0, and a leaked block that still
   * held that link would make the next one look pointed to (indirect) to
   * the reachability scan. malloc owes no contents. */
  if (p && !zero && (tp_slow_mode || tp_fwd_hooked)) ((void **)p)[0] = NULL;
  /* Sampler in fast mode: the hooks see every forwarded block (sampler.h). */
  if (tp_fwd_hooked && p) tp_hooks_run_get(p, n, false, tp_sampler_due(c, n));
  return p;
}

void *tp_forward_realloc(void *p, size_t n) {
  if (!tp_fwd_hooked) return tp_fwd_realloc(p, n);
  /* With the sampler's hooks: the old block's put, then the new block's
   * get, as a free and a malloc, but the block still grows in place (or
   * by mremap) instead of being copied. */
  tp_hooks_run_put(p, false);
  void *q = tp_fwd_realloc(p, n);
  if (q) {
    tp_hooks_run_get(q, n, false, tp_sampler_due(tp_tls, n));
  } else { /* p lives on: back in the hooks' view, no longer sampled */
    size_t have = tp_fwd_usable(p);
    tp_hooks_run_get(p, have, false, false);
  }
  return q;
}

void *tp_forward_sampled(tp_cache_t *c, unsigned t, size_t n) {
  /* The tier's size, not n: the block behaves as the tier's would
   * (malloc_usable_size, realloc within the tier keeps it). */
  void *p = tp_fwd_alloc(tp_tier_size(t), TP_MIN_SIZE, false);
  if (!p) return NULL;
  if (!tp_sampled_add(p, t)) {
    tp_fwd_free(p);
    return NULL;
  }
  ((void **)p)[0] = NULL; /* see tp_forward */
  /* A get of tier t: one more block came in and went out (cache.h). */
  TP_ADD(c->bins[t].net_in, 1);
  tp_count_get(c, t, n);
  tp_hooks_run_get(p, n, false, true);
  return p;
}

void tp_forward_free(void *p) {
  tp_cache_t *c = tp_tls;
  if (tp_fwd_hooked) {
    tp_hooks_run_put(p, false);
    int t = tp_sampled_remove(p);
    if (t >= 0) { /* a put of tier t, as the get was */
      if (c->kind == TP_CACHE_LIVE) {
        TP_ADD(c->bins[t].put, 1);
        TP_ADD(c->bins[t].net_in, -1);
      } else {
        atomic_fetch_add_explicit(&tp_central[t].orphan_put, 1, memory_order_relaxed);
      }
      tp_fwd_free(p);
      return;
    }
  }
  if (c->kind == TP_CACHE_LIVE) TP_ADD(c->fwd_frees, 1);
  else atomic_fetch_add_explicit(&tp_orphan_fwd_frees, 1, memory_order_relaxed);
  tp_fwd_free(p);
}

size_t tp_fwd_collect(void) {
  mi_collect(true);
  return tp_large_release();
}
