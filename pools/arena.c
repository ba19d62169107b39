/* arena.c - arenas: bump allocation over one mapping, reset (keep the
 * mapping, reuse it), destroy, a hard byte limit.
 *
 * The mapping is reserved PROT_NONE (MAP_NORESERVE) and made accessible a
 * slab at a time as the bump front passes it, so "committed" is exact and
 * a pointer past what was handed out faults. Reset moves the front back to
 * the start; the committed slabs stay accessible for reuse, or give their
 * pages back with TIERPOOL_ARENA_RELEASE.
 *
 * Hardened (TIERPOOL_ARENA_HARDEN): the reservation holds several windows
 * of `limit` bytes and each reset moves to the next one, turning the old
 * window PROT_NONE (and giving its pages back): a pointer handed out
 * before the reset faults instead of reading the new data, until the
 * windows come round again (TP_ARENA_WINDOWS - 1 resets later).
 *
 * Huge pages (TIERPOOL_ARENA_HUGE): MAP_HUGETLB, mapped accessible at once
 * (a huge-page mapping can only change protection in huge-page units, and
 * MAP_NORESERVE would turn a shortage into SIGBUS later); when the system
 * has none, normal pages, with one warning per process.
 */
#include "arena.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h" /* tp_warn */

#define TP_ARENA_WINDOWS 4
#define TP_HUGE_PAGE ((size_t)2 << 20)

static _Atomic int tp_huge_warned;

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

int tp_arena_init(tp_arena_t *a, size_t limit, size_t slab, unsigned flags, int advice) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  memset(a, 0, sizeof *a);
  if (limit == 0 || limit > ((size_t)1 << 46)) return EINVAL;
  a->flags = flags;
  a->slab = round_up(slab ? slab : (size_t)64 << 10, page);
  a->limit = limit;
  a->span = round_up(limit, a->slab);
  a->windows = flags & TIERPOOL_ARENA_HARDEN ? TP_ARENA_WINDOWS : 1;
  void *m = MAP_FAILED;
  if (flags & TIERPOOL_ARENA_HUGE) {
    size_t span = round_up(a->span, TP_HUGE_PAGE);
    m = mmap(NULL, span * a->windows, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    if (m == MAP_FAILED) {
      if (!atomic_exchange(&tp_huge_warned, 1))
        tp_warn("arena: no huge pages (MAP_HUGETLB: %s); using normal pages", strerror(errno));
    } else {
      a->huge = true;
      a->span = span;
      a->slab = TP_HUGE_PAGE;
      a->committed_end = span; /* accessible from the start */
    }
  }
  if (m == MAP_FAILED) {
    m = mmap(NULL, a->span * a->windows, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) return ENOMEM;
  }
  a->base = m;
  a->lo = m;
  if (advice) madvise(m, a->span * a->windows, advice);
  if ((flags & TIERPOOL_ARENA_PREALLOC) && !a->huge) {
    if (mprotect(a->lo, a->span, PROT_READ | PROT_WRITE) != 0) {
      munmap(m, a->span * a->windows);
      return ENOMEM;
    }
    a->committed_end = a->span;
  }
  if (flags & TIERPOOL_ARENA_PREALLOC) /* fault every page in now */
    for (size_t off = 0; off < a->span; off += page) ((volatile char *)a->lo)[off] = 0;
  atomic_store_explicit(&a->committed, a->committed_end, memory_order_relaxed);
  return 0;
}

int tp_arena_commit(tp_arena_t *a, size_t end) {
  size_t to = round_up(end, a->slab);
  if (to > a->span) to = a->span;
  if (mprotect(a->lo + a->committed_end, to - a->committed_end, PROT_READ | PROT_WRITE) != 0) {
    errno = ENOMEM;
    return -1;
  }
  a->committed_end = to;
  atomic_store_explicit(&a->committed, to, memory_order_relaxed);
  return 0;
}

void tp_arena_reset(tp_arena_t *a) {
  if (a->flags & TIERPOOL_ARENA_HARDEN) {
    /* Poison what was handed out: stale pointers fault from now on. */
    if (a->committed_end) {
      mprotect(a->lo, a->committed_end, PROT_NONE);
      madvise(a->lo, a->committed_end, MADV_DONTNEED);
    }
    a->window = (a->window + 1) % a->windows;
    a->lo = a->base + a->window * a->span;
    if (a->huge) {
      mprotect(a->lo, a->span, PROT_READ | PROT_WRITE); /* the window's earlier poison */
      a->committed_end = a->span;
    } else {
      a->committed_end = 0;
    }
    atomic_store_explicit(&a->committed, a->committed_end, memory_order_relaxed);
  } else if ((a->flags & TIERPOOL_ARENA_RELEASE) && a->used) {
    madvise(a->lo, round_up(a->used, a->slab) < a->committed_end ? round_up(a->used, a->slab)
                                                                : a->committed_end,
            MADV_DONTNEED);
  }
  a->used = 0;
  atomic_store_explicit(&a->allocated, 0, memory_order_relaxed);
  atomic_fetch_add_explicit(&a->resets, 1, memory_order_relaxed);
}

void tp_arena_stats(const tp_arena_t *a, tierpool_arena_stats_t *out) {
  out->reserved = a->span * a->windows;
  out->allocated = atomic_load_explicit(&a->allocated, memory_order_relaxed);
  out->committed = atomic_load_explicit(&a->committed, memory_order_relaxed);
  out->peak = atomic_load_explicit(&a->peak, memory_order_relaxed);
  out->resets = atomic_load_explicit(&a->resets, memory_order_relaxed);
  out->huge = a->huge;
}

void tp_arena_fini(tp_arena_t *a) {
  if (a->base) munmap(a->base, a->span * a->windows);
  a->base = NULL;
}

/* ------------------------------------------------------------ the API */

struct tierpool_arena_s {
  tp_arena_t a;
  tp_pool_slot_t *slot;
};

TP_API int tierpool_arena_create(tierpool_arena_t **out, const tierpool_arena_opts_t *opts) {
  if (!out || !opts || opts->limit == 0) return EINVAL;
  tierpool_arena_t *a = tp_pool_alloc(sizeof *a);
  if (!a) return ENOMEM;
  int rc = tp_arena_init(&a->a, opts->limit, opts->slab, opts->flags, opts->advice);
  if (rc) {
    tp_pool_free(a);
    return rc;
  }
  a->slot = tp_pool_register("arena", opts->name, "arena");
  *out = a;
  return 0;
}

TP_API void *tierpool_arena_alloc(tierpool_arena_t *a, size_t n, size_t align) {
  if (!align) align = 16;
  if (!a || n == 0 || (align & (align - 1))) {
    errno = EINVAL;
    return NULL;
  }
  void *p = tp_arena_alloc(&a->a, n, align);
  if (p) tp_pc_out_owner(a->slot);
  return p;
}

TP_API void tierpool_arena_reset(tierpool_arena_t *a) {
  if (!a) return;
  /* Every allocation comes back at once. */
  uint64_t n = atomic_exchange_explicit(&a->slot->c[TP_PC_in_use], 0, memory_order_relaxed);
  tp_pc_add(a->slot, TP_PC_puts, n);
  tp_arena_reset(&a->a);
}

TP_API int tierpool_arena_stats(const tierpool_arena_t *a, tierpool_arena_stats_t *out) {
  if (!a || !out) return EINVAL;
  tp_arena_stats(&a->a, out);
  return 0;
}

TP_API int tierpool_arena_destroy(tierpool_arena_t *a) {
  if (!a) return EINVAL;
  tp_pool_unregister(a->slot);
  tp_arena_fini(&a->a);
  tp_pool_free(a);
  return 0;
}
