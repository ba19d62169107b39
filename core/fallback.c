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
 *
 * mimalloc is loaded (dlopen) on the first request that needs it, not
 * linked: with the default tiers most programs never forward a request
 * mimalloc would serve (blocks past the tiers are large.c's), and loading
 * it costs every process about 0.25 ms of start-up and 120 KiB of
 * resident pages (its code, its data, the libc pages its start touches).
 * It is loaded at start instead when requests will go to it from
 * anywhere, the loader's own included, or when a lowered RLIMIT_AS could
 * refuse the load later (tp_fwd_start); a program that lowers the limit
 * itself loads it first (preload/rlimit.c). A request that finds another
 * thread loading it waits for that load; one that cannot load it (this
 * thread is loading it, the engine is still starting, or the load
 * failed) is mapped by large.c whatever its size (an alignment past 64
 * bytes then fails with ENOMEM).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <mimalloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "central.h"
#include "fallback.h"
#include "hardening.h"
#include "hooks.h"
#include "large.h"
#include "log.h"
#include "sampler.h"

/* glibc's mmap of a request larger than RAM + swap fails under the
 * kernel's default (heuristic) overcommit; mimalloc maps with
 * MAP_NORESERVE and would hand out 100 GiB on a 24 GiB machine. Keep
 * glibc's answer: such a request is ENOMEM, unless overcommit is "always".
 * The ceiling is read on the first request of TP_CEILING_FROM or more, not
 * at start: most processes never make one, and the reading (a file whose
 * name is the library's read-only data, and libc's open, read and close)
 * would map pages a small program otherwise leaves alone. A machine with
 * less RAM + swap than TP_CEILING_FROM serves requests up to it as
 * mimalloc and the kernel allow. */
#define TP_CEILING_FROM ((size_t)64 << 20)
static _Atomic size_t tp_fwd_ceiling_v; /* 0: not read yet */

static size_t read_ceiling(void) {
  size_t ceiling = SIZE_MAX;
  char mode = '0';
  int fd = open("/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (read(fd, &mode, 1) != 1) mode = '0';
    close(fd);
  }
  struct sysinfo si;
  if (mode != '1' && sysinfo(&si) == 0)
    ceiling = ((size_t)si.totalram + si.totalswap) * si.mem_unit;
  return ceiling;
}

/* Whether a request of n bytes is past what may be had (errno stays). */
static bool past_ceiling(size_t n) {
  if (n > PTRDIFF_MAX) return true;
  if (n < TP_CEILING_FROM) return false;
  size_t c = atomic_load_explicit(&tp_fwd_ceiling_v, memory_order_relaxed);
  if (!c) { /* threads that race here read the same answer */
    int saved = errno;
    c = read_ceiling();
    errno = saved;
    atomic_store_explicit(&tp_fwd_ceiling_v, c, memory_order_relaxed);
  }
  return n > c;
}

/* ------------------------------------------------------------ loading */

#ifndef TP_MIMALLOC_SONAME
#define TP_MIMALLOC_SONAME "libmimalloc.so.2"
#endif

/* What is called, once loaded. */
static struct {
  typeof(&mi_malloc_aligned) malloc_aligned;
  typeof(&mi_zalloc_aligned) zalloc_aligned;
  typeof(&mi_realloc_aligned) realloc_aligned;
  typeof(&mi_free) free;
  typeof(&mi_usable_size) usable_size;
  typeof(&mi_is_in_heap_region) is_in_heap_region;
  typeof(&mi_collect) collect;
  typeof(&mi_process_info) process_info;
} mi;

enum { MI_NONE, MI_LOADING, MI_READY, MI_FAILED };
TP_START_DATA static _Atomic int mi_state; /* read by every forwarded get and the exit scan */
static pthread_t mi_loader; /* the thread loading it (MI_LOADING) */
TP_START_DATA static _Atomic bool mi_may_load; /* the engine is up (tp_fwd_ready) */

void tp_fwd_ready(void) { atomic_store_explicit(&mi_may_load, true, memory_order_release); }

static inline bool mi_ready(void) {
  return atomic_load_explicit(&mi_state, memory_order_acquire) == MI_READY;
}

/* dlsym into a function pointer, POSIX's way. */
static bool sym(void *h, const char *name, void *fn) {
  void *f = dlsym(h, name);
  memcpy(fn, &f, sizeof f);
  return f != NULL;
}

/* Waits for another thread's load, for one to two seconds at most: that thread
 * may be waiting for the loader's lock, which this one might hold (inside
 * a dlopen of its own); then this request fails rather than hang. */
static int wait_loaded(void) {
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int s;
  while ((s = atomic_load_explicit(&mi_state, memory_order_acquire)) == MI_LOADING) {
    sched_yield();
    clock_gettime(CLOCK_MONOTONIC, &t);
    if (t.tv_sec - t0.tv_sec >= 2) break;
  }
  return s;
}

/* The load itself, by the thread that moved mi_state to MI_LOADING. The
 * loader's own blocks for it are tierpool's, not the program's: with
 * tp_in_hook set they are served, never fail, are never sampled and are
 * charged to no stack (a lazy load inside a program's malloc had them
 * reported as that call's "still reachable" blocks). */
static bool load_now(void) {
  mi_loader = pthread_self();
  int saved = errno;
  unsigned char was = tp_in_hook;
  tp_in_hook = 1;
  void *h = dlopen(TP_MIMALLOC_SONAME, RTLD_NOW | RTLD_LOCAL);
  tp_in_hook = was;
  bool ok = h && sym(h, "mi_malloc_aligned", &mi.malloc_aligned) &&
            sym(h, "mi_zalloc_aligned", &mi.zalloc_aligned) &&
            sym(h, "mi_realloc_aligned", &mi.realloc_aligned) && sym(h, "mi_free", &mi.free) &&
            sym(h, "mi_usable_size", &mi.usable_size) &&
            sym(h, "mi_is_in_heap_region", &mi.is_in_heap_region) &&
            sym(h, "mi_collect", &mi.collect) && sym(h, "mi_process_info", &mi.process_info);
  if (!ok) {
    const char *why = dlerror();
    TP_WARN_ONCE("cannot load " TP_MIMALLOC_SONAME " (%s): requests the pools do not serve are "
                 "mapped one by one (install mimalloc)", why ? why : "a symbol is missing");
  }
  errno = saved;
  atomic_store_explicit(&mi_state, ok ? MI_READY : MI_FAILED, memory_order_release);
  return ok;
}

bool tp_fwd_load(void) {
  int s = atomic_load_explicit(&mi_state, memory_order_acquire);
  /* Not while the engine starts (this thread may be inside its first
   * malloc), nor inside this thread's own load (the loader's requests). */
  if (s == MI_NONE && atomic_load_explicit(&mi_may_load, memory_order_acquire) &&
      atomic_compare_exchange_strong(&mi_state, &s, MI_LOADING))
    return load_now();
  if (s == MI_LOADING && !pthread_equal(mi_loader, pthread_self())) s = wait_loaded();
  return s == MI_READY;
}

void tp_fwd_fork_child(void) {
  /* A thread that was loading it does not exist here: the next request
   * loads it again (glibc resets the loader's lock in the child). */
  if (atomic_load(&mi_state) == MI_LOADING && !pthread_equal(mi_loader, pthread_self()))
    atomic_store(&mi_state, MI_NONE);
}

void tp_fwd_start(void) {
  struct rlimit as, data;
  bool limited = (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) ||
                 (getrlimit(RLIMIT_DATA, &data) == 0 && data.rlim_cur != RLIM_INFINITY);
  /* Requests go to mimalloc from anywhere: sizes between the largest tier
   * and large.c's, every request without pools. (Not sampled blocks:
   * sampler.c.) */
  if (limited || !tp_layout.span || tp_layout.max_size < TP_LARGE_MIN)
    tp_fwd_load();
}

uintptr_t tp_fwd_code(void) {
  if (!mi_ready()) return 0;
  uintptr_t code;
  memcpy(&code, &mi.free, sizeof code);
  return code;
}

size_t tp_fwd_committed(void) {
  size_t elapsed, user, sys, rss, peak_rss, commit = 0, peak_commit, faults;
  if (mi_ready())
    mi.process_info(&elapsed, &user, &sys, &rss, &peak_rss, &commit, &peak_commit, &faults);
  return commit;
}

/* ------------------------------------------------------------ requests */

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
  if (past_ceiling(n)) goto enomem;
  /* (Not before the key exists: a header written with another key would
   * not be recognised at free.) */
  if (n >= TP_LARGE_MIN && align <= TP_LARGE_HDR && tp_free_key)
    return remember_owned(tp_large_alloc(n, zero));
  if (!tp_fwd_load()) {
    if (align <= TP_LARGE_HDR && tp_free_key) return remember_owned(tp_large_alloc(n, zero));
    goto enomem;
  }
  if (n == 0) n = 1;
  int saved = errno; /* mimalloc may leave errno changed on success (ENOENT seen) */
  /* Zeroed memory from mimalloc itself: it knows which pages are fresh
   * and need no memset (a sparse calloc stays sparse). */
  void *p = zero ? mi.zalloc_aligned(n, align) : mi.malloc_aligned(n, align);
  if (p && ((uintptr_t)p & (align - 1))) {
    /* mimalloc issue 700: retry with room to spare, then give up. */
    mi.free(p);
    p = (n + align > n) ? (zero ? mi.zalloc_aligned : mi.malloc_aligned)(n + align, align) : NULL;
    if (p && ((uintptr_t)p & (align - 1))) {
      mi.free(p);
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

/* Not loaded: no block is mimalloc's. */
bool tp_fwd_heap_region(const void *p) { return mi_ready() && mi.is_in_heap_region(p); }

/* Whether p's page is mapped: mincore cannot fault. */
static bool page_mapped(const void *p) {
  unsigned char vec;
  int saved = errno;
  bool mapped = mincore((void *)((uintptr_t)p & ~(uintptr_t)(TP_LARGE_PAGE - 1)), 1, &vec) == 0;
  errno = saved;
  return mapped;
}

bool tp_fwd_owns(const void *p) {
  if (tp_fwd_hooked && tp_sampled_tier(p, NULL) >= 0) return true;
  bool at_hdr = ((uintptr_t)p & (TP_LARGE_PAGE - 1)) == TP_LARGE_HDR;
  if (at_hdr && atomic_load_explicit(owned_slot(p), memory_order_relaxed) == (uintptr_t)p)
    return tp_large_state(p) == TP_LARGE_LIVE;
  if (tp_fwd_heap_region(p)) return true;
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
      !tp_fwd_heap_region(p) && !page_mapped(p)) {
    tp_warn("%s of a pointer to unmapped memory: %p (a large block already freed, or never "
            "allocated); aborting", what, p);
    abort();
  }
  return tp_large_state(p);
}

/* A pointer into the sampled blocks' memory that is no live sampled
 * block: freed already, or inside one. */
static void sampled_bad_free(const char *what, const void *p) {
  bool interior;
  size_t size = tp_sampled_stored(p, &interior);
  if (!size) return;
  bool is_free = what[0] == 'f';
  if (interior)
    tp_report_bad_free(is_free ? "free of a pointer into the middle of a block"
                               : "realloc or malloc_usable_size of a pointer into the middle of a block",
                       p, size);
  tp_report_bad_free(is_free ? "double free (or free of a block never handed out)"
                             : "realloc or malloc_usable_size of a block already freed",
                     p, size);
}

/* mi_is_in_heap_region() of 2.0.9 answers only for segments inside its
 * address map and says "no" for valid blocks mapped elsewhere (over 1 GiB,
 * or under ASan): its "no" only sends p to the finer checks of
 * tp_check_foreign, which abort on stack, static and unmapped pointers
 * (mi_free would crash on them) and let the rest through. */
void tp_fwd_check(const char *what, const void *p) {
  if (tp_unlikely(!tp_fwd_heap_region(p)) && large_state(what, p) == TP_LARGE_NOT_OURS) {
    if (tp_fwd_hooked) sampled_bad_free(what, p);
    tp_check_foreign(what, p);
    /* Through those checks, and mimalloc never loaded: nothing of ours. */
    if (!mi_ready()) tp_report_foreign(what, p);
  }
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
    mi.free(p);
  }
  errno = saved;
}

size_t tp_fwd_usable(const void *p) {
  if (large_state("malloc_usable_size", p) == TP_LARGE_LIVE) return tp_large_usable(p);
  tp_fwd_check("malloc_usable_size", p);
  return mi.usable_size(p);
}

void *tp_fwd_realloc(void *p, size_t n) {
  if (past_ceiling(n)) {
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
  size_t have = mi.usable_size(p);
  if (n >= TP_LARGE_MIN && n > have) {
    /* Grows past mimalloc's share: one copy into a mapping, mremap after. */
    void *q = remember_owned(tp_large_alloc(n, false));
    if (!q) return NULL;
    memcpy(q, p, have);
    mi.free(p);
    errno = saved;
    return q;
  }
  void *q = mi.realloc_aligned(p, n, 16);
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
  void *p = tp_sampled_new(t);
  if (!p) return NULL;
  ((void **)p)[0] = NULL; /* see tp_forward (a freed one's link is there) */
  /* A get of tier t: one more block came in and went out (cache.h). */
  TP_ADD(c->net_in[t], 1);
  tp_count_get(c, t, n);
  tp_hooks_run_get(p, n, false, true);
  return p;
}

void tp_forward_free(void *p) {
  tp_cache_t *c = tp_tls;
  if (tp_fwd_hooked) {
    tp_hooks_run_put(p, false);
    int t = tp_sampled_free(p);
    if (t >= 0) { /* a put of tier t, as the get was */
      if (c->kind == TP_CACHE_LIVE) {
        TP_ADD(c->bins[t].put, 1);
        TP_ADD(c->net_in[t], -1);
      } else {
        atomic_fetch_add_explicit(&tp_central[t].orphan_put, 1, memory_order_relaxed);
      }
      return;
    }
  }
  if (c->kind == TP_CACHE_LIVE) TP_ADD(c->fwd_frees, 1);
  else atomic_fetch_add_explicit(&tp_orphan_fwd_frees, 1, memory_order_relaxed);
  tp_fwd_free(p);
}

size_t tp_fwd_collect(void) {
  if (mi_ready()) mi.collect(true);
  return tp_large_release();
}
