/* central.c - the per-tier central pools (central.h): the lock-free batch
 * stacks, the carve front and the pages it commits, and giving pages of
 * free blocks back to the system (retain limit, malloc_trim). */
#include <errno.h>
#include <sched.h>
#include <time.h>

#include "central.h"
#include "hardening.h"
#include "os.h"
#include "spin.h"

TP_START_DATA tp_central_t tp_central[TP_MAX_TIERS];

#define TP_INDEX_BITS 40
#define TP_INDEX_MASK ((UINT64_C(1) << TP_INDEX_BITS) - 1)
#define TP_LEN_SHIFT 48
#define TP_LINK_MASK ((UINT64_C(1) << TP_LEN_SHIFT) - 1)

#define TP_COMMIT_GRANULE ((uintptr_t)1 << 20) /* mprotect at least 1 MiB at a time */

static inline uint64_t encode(void *blk, uint64_t gen) {
  uint64_t idx = blk ? (((uintptr_t)blk - tp_layout.base) >> TP_MIN_SHIFT) + 1 : 0;
  return (gen << TP_INDEX_BITS) | idx;
}

static inline void *decode(uint64_t top) {
  uint64_t idx = top & TP_INDEX_MASK;
  return idx ? (void *)(tp_layout.base + ((idx - 1) << TP_MIN_SHIFT)) : NULL;
}

/* The word of a batch head of tier t that holds the next batch's head and
 * this batch's length: word 2, so that word 1 keeps the free key a head
 * had as a free block in a list (a second free of it is then caught like
 * any other, tp_cache_check_free in cache.c); word 1 in the 16-byte tier,
 * whose blocks have no word 2. */
static inline _Atomic uint64_t *link_of(unsigned t, void *blk) {
  return (_Atomic uint64_t *)blk + 1 + (t != 0);
}
/* Bit 0 of a link (blocks are 16-byte aligned): the batch's pages were
 * given back by a decay. */
#define TP_LINK_RELEASED ((uint64_t)1)
static inline uint64_t make_link(void *below, uint32_t len, uint64_t released) {
  return (uintptr_t)below | ((uint64_t)len << TP_LEN_SHIFT) | released;
}
static inline void *link_next(uint64_t link) {
  return (void *)(uintptr_t)(link & TP_LINK_MASK & ~TP_LINK_RELEASED);
}
static inline uint32_t link_len(uint64_t link) { return (uint32_t)(link >> TP_LEN_SHIFT); }

/* A block address that tier t may hold: inside its carved part, at a
 * multiple of the tier size. */
static inline int in_carved(unsigned t, uintptr_t blk, uint64_t carved) {
  uintptr_t off = blk - tp_region_start(t);
  return off < carved && (off & (tp_tier_size(t) - 1)) == 0;
}

/* ------------------------------------------------------------ batch stack */

/* Pushes a batch whose head's link carries the flag released; returns
 * the stack's new generation and stores how many blocks the pool held
 * before. */
__attribute__((nonnull(2))) static uint64_t push_link(unsigned t, void *head, uint32_t len,
                                                    uint64_t released, uint64_t *depth) {
  tp_central_t *ct = &tp_central[t];
  TP_DCHECK(len >= 1 && len < (1u << 16));
  TP_DCHECK(in_carved(t, (uintptr_t)head, atomic_load_explicit(&ct->carve, memory_order_relaxed)));
  uint64_t top = atomic_load_explicit(&ct->top, memory_order_relaxed);
  uint64_t next;
  do {
    atomic_store_explicit(link_of(t, head), make_link(decode(top), len, released),
                          memory_order_relaxed);
    next = encode(head, (top >> TP_INDEX_BITS) + 1);
  } while (!atomic_compare_exchange_weak_explicit(&ct->top, &top, next, memory_order_release,
                                                  memory_order_relaxed));
  *depth = atomic_fetch_add_explicit(&ct->blocks, len, memory_order_relaxed);
  return next >> TP_INDEX_BITS;
}

/* Pops one batch; returns its head and stores its link, or NULL. */
static void *pop_link(unsigned t, uint64_t *out) {
  tp_central_t *ct = &tp_central[t];
  uint64_t top = atomic_load_explicit(&ct->top, memory_order_acquire);
  uint64_t link;
  void *head;
  do {
    head = decode(top);
    if (!head) return NULL;
    /* head may be popped and reused by another thread right now: then the
     * value read is garbage and the CAS below fails on the generation. */
    link = atomic_load_explicit(link_of(t, head), memory_order_relaxed);
  } while (!atomic_compare_exchange_weak_explicit(
      &ct->top, &top, encode(link_next(link), (top >> TP_INDEX_BITS) + 1),
      memory_order_acquire, memory_order_acquire));
  /* Only now is link known to be the head's own: a batch head that the
   * program wrote after freeing it would send the next pop anywhere. */
  TP_DCHECK(link_len(link) >= 1 && (link_next(link) == NULL ||
                                    in_carved(t, (uintptr_t)link_next(link), UINT64_MAX)));
  *out = link;
  return head;
}

static void decay(unsigned t, uint64_t depth, uint64_t gen);

void tp_central_push(unsigned t, void *head, uint32_t len) {
  uint64_t depth, gen = push_link(t, head, len, 0, &depth);
  if (tp_tier_size(t) >= TP_DECAY_MIN_SIZE) decay(t, depth, gen);
}

void *tp_central_pop(unsigned t, uint32_t *len) {
  uint64_t link;
  void *head = pop_link(t, &link);
  if (!head) return NULL;
  *len = link_len(link);
  atomic_fetch_sub_explicit(&tp_central[t].blocks, *len, memory_order_relaxed);
  return head;
}

void tp_central_walk_heads(unsigned t, void (*fn)(void *ctx, unsigned t, uintptr_t head), void *ctx) {
  tp_central_t *ct = &tp_central[t];
  uint64_t carved = atomic_load_explicit(&ct->carve, memory_order_acquire);
  uintptr_t head = (uintptr_t)decode(atomic_load_explicit(&ct->top, memory_order_acquire));
  /* Other threads may pop and reuse heads meanwhile: every address is
   * checked against the carved part of the region before it is read, and
   * the walk is bounded. */
  for (uint64_t steps = 0; head && steps < (UINT64_C(1) << 24); steps++) {
    if (!in_carved(t, head, carved)) break;
    fn(ctx, t, head);
    head = (uintptr_t)link_next(
        atomic_load_explicit(link_of(t, (void *)head), memory_order_relaxed));
  }
}

typedef struct {
  void (*fn)(unsigned t, uintptr_t head);
} plain_walk_t;

static void call_plain(void *ctx, unsigned t, uintptr_t head) { ((plain_walk_t *)ctx)->fn(t, head); }

void tp_central_for_each_head(unsigned t, void (*fn)(unsigned t, uintptr_t head)) {
  plain_walk_t w = {fn};
  tp_central_walk_heads(t, call_plain, &w);
}

/* ------------------------------------------------------------ carving */

/* Lazy layout: maps the pages of region t from its commit front up to end
 * (a granule at a time when it can), under the tier's commit lock: two
 * threads mapping the same range would see each other's pages as foreign
 * (MAP_FIXED_NOREPLACE). Runs once per MiB carved. The pages count against
 * RLIMIT_AS like any memory: past the limit the map fails, the carve
 * fails, and the request is forwarded (and fails with ENOMEM there). */
static bool map_front(unsigned t, uintptr_t end) {
  tp_central_t *ct = &tp_central[t];
  uintptr_t rs = tp_region_start(t);
  tp_spin_lock(&ct->commit_lock);
  uint64_t have = atomic_load_explicit(&ct->commit, memory_order_relaxed);
  bool ok = true;
  if (end - rs > have) {
    uintptr_t from = rs + have, region_end = rs + tp_region_size();
    uintptr_t to = (end + TP_COMMIT_GRANULE - 1) & ~(TP_COMMIT_GRANULE - 1);
    if (to > region_end || to < end) to = region_end;
    if (!tp_os_map_at((void *)from, to - from)) {
      to = TP_PAGE_UP(end);
      ok = tp_os_map_at((void *)from, to - from);
    }
    if (ok) atomic_store_explicit(&ct->commit, to - rs, memory_order_release);
  }
  tp_spin_unlock(&ct->commit_lock);
  return ok;
}

void tp_central_fork_child(void) {
  for (unsigned t = 0; t < tp_layout.ntiers; t++) atomic_store(&tp_central[t].commit_lock, 0);
}

/* Makes [start, end) of region t accessible; idempotent. */
static bool commit(unsigned t, uintptr_t start, uintptr_t end) {
  tp_central_t *ct = &tp_central[t];
  uintptr_t rs = tp_region_start(t);
  uint64_t have = atomic_load_explicit(&ct->commit, memory_order_acquire);
  if (end - rs <= have) return true;
  if (tp_layout.lazy) return map_front(t, end);
  /* Reserved layout: lock-free. */
  /* Commit from the highest known front (or from start) to end, rounded up
   * to a granule. Racing committers may overlap: mprotect is idempotent. */
  uintptr_t from = rs + have < start ? rs + have : start;
  from &= ~(uintptr_t)(TP_PAGE_SIZE - 1);
  uintptr_t region_end = rs + tp_region_size();
  uintptr_t to = (end + TP_COMMIT_GRANULE - 1) & ~(TP_COMMIT_GRANULE - 1);
  if (to > region_end || to < end) to = region_end;
  if (!tp_os_commit((void *)from, to - from)) {
    /* Try just what is needed before giving up. */
    to = TP_PAGE_UP(end);
    if (!tp_os_commit((void *)from, to - from)) return false;
  }
  uint64_t want = to - rs;
  while (have < want &&
         !atomic_compare_exchange_weak_explicit(&ct->commit, &have, want, memory_order_release,
                                                memory_order_relaxed)) {
  }
  return true;
}

/* The first carve of a tier is one page (or one block), and each carve
 * after it at most what the tier has carved so far: the fronts grow
 * geometrically to the refill size (about 64 KiB) instead of starting
 * there. A refill writes the links of every block it carves (cache.c), so
 * a first carve of 64 KiB made each tier a program touched cost 64 KiB of
 * RSS at once: 0.5 MiB for a program that allocates a few small blocks
 * (issue 13, "memory kept"). The few extra refills on the way up cost
 * nothing measurable. */
#define TP_FIRST_CARVE ((uint64_t)TP_PAGE_SIZE)

static uint64_t carve_cap(size_t size, uint64_t front) {
  uint64_t first = TP_FIRST_CARVE / size;
  uint64_t grown = front / size;
  uint64_t cap = grown > first ? grown : first;
  return cap ? cap : 1;
}

/* Blocks past the carve front have never been handed out, and their pages
 * are as the kernel mapped them: zero. A free of an address past the front
 * (free(p + 4096) of a small p, once the front is a page past p) passes
 * the fast path's checks, which cannot afford to read the front: the block
 * joins a thread's list, with its link in word 0 and the free key in word
 * 1, and may be handed out from there. Carved, it would be handed out a
 * second time, to a second owner; a block that holds anything is
 * reported instead. Each word read here is written by the refill right
 * after, so the check costs no page. (A block that was handed out and
 * zeroed again in both words escapes it; TIERPOOL_HARDEN=full checks the
 * front at every free.)
 *
 * A page is touched first for writing, with a locked add of nothing (a
 * thread holding a bad free's block there may be writing it): read first,
 * a fresh page is mapped to the kernel's zero page and faults again at
 * the refill's write. That second fault replaces the page under the
 * other CPUs' feet, and in a process whose threads run on several CPUs
 * the kernel interrupts them all to flush their TLBs: on the 4-thread
 * churn of bench/leaks those interrupts were half the run's time. */
static void check_fresh(uintptr_t start, uint64_t n, size_t size) {
  for (uint64_t i = 0; i < n; i++) {
    void **b = (void **)(start + i * size);
    if (i == 0 || ((uintptr_t)b & (TP_PAGE_SIZE - 1)) < size) tp_os_touch_for_write(b);
    if (b[0] || b[1]) tp_report_bad_free("free of a block never handed out", b, size);
  }
}

TP_RESIDENT void *tp_central_carve(unsigned t, uint32_t want, uint32_t *got) {
  tp_central_t *ct = &tp_central[t];
  size_t size = tp_tier_size(t);
  uint64_t region = tp_region_size();
  uint64_t front = atomic_load_explicit(&ct->carve, memory_order_relaxed);
  uint64_t n;
  do {
    TP_DCHECK((front & (size - 1)) == 0 && front <= region);
    uint64_t room = (region - front) / size, cap = carve_cap(size, front);
    n = room < want ? room : want;
    if (n > cap) n = cap;
    if (n == 0) { *got = 0; return NULL; }
  } while (!atomic_compare_exchange_weak_explicit(&ct->carve, &front, front + n * size,
                                                  memory_order_relaxed, memory_order_relaxed));
  uintptr_t start = tp_region_start(t) + front;
  if (!commit(t, start, start + n * size)) {
    /* The kernel is out of memory: hand the carved range back if nobody
     * carved after it; otherwise it stays unused. */
    uint64_t expect = front + n * size;
    atomic_compare_exchange_strong(&ct->carve, &expect, front);
    *got = 0;
    return NULL;
  }
  check_fresh(start, n, size);
  *got = (uint32_t)n;
  return (void *)start;
}

/* ------------------------------------------------------------ page release */

size_t tp_central_release(unsigned t, void **head) {
  size_t size = tp_tier_size(t), released = 0;
  int saved = errno; /* free() leaves errno alone */
  for (void **q = head; q; q = q[0])
    if (tp_os_discard((char *)q + TP_PAGE_SIZE, size - TP_PAGE_SIZE)) released += size - TP_PAGE_SIZE;
  errno = saved;
  return released;
}

/* Takes every batch of tier t off its stack and returns them linked
 * through their links, the bottom batch first (other threads see an empty
 * pool meanwhile, and carve if they must). */
static void **take_all(unsigned t) {
  void **batches = NULL, **b;
  uint64_t link;
  while ((b = pop_link(t, &link)) != NULL) {
    atomic_fetch_sub_explicit(&tp_central[t].blocks, link_len(link), memory_order_relaxed);
    atomic_store_explicit(link_of(t, b),
                          make_link(batches, link_len(link), link & TP_LINK_RELEASED),
                          memory_order_relaxed);
    batches = b;
  }
  return batches;
}

/* Gives back the pages of the batches of list batches (take_all's) while
 * want blocks are left to count, the first first; pushes them all back in
 * that order, so the stack is as it was. Returns the bytes released. */
static size_t release_and_restore(unsigned t, void **batches, uint64_t want) {
  size_t released = 0;
  while (batches) {
    uint64_t link = atomic_load_explicit(link_of(t, batches), memory_order_relaxed);
    uint64_t flag = link & TP_LINK_RELEASED;
    if (want > 0 && !flag) {
      released += tp_central_release(t, batches);
      flag = TP_LINK_RELEASED;
    }
    want -= want < link_len(link) ? want : link_len(link);
    uint64_t depth;
    push_link(t, batches, link_len(link), flag, &depth);
    batches = link_next(link);
  }
  return released;
}

size_t tp_central_trim(void) {
  size_t released = 0;
  for (unsigned t = 0; t < tp_layout.ntiers; t++) {
    if (tp_tier_size(t) < TP_RELEASE_MIN_SIZE) continue;
    /* Batches pushed meanwhile wait for the next trim. */
    released += release_and_restore(t, take_all(t), UINT64_MAX);
  }
  return released;
}

/* At most one decay per tier and period: the pool's low mark over the
 * period is how many blocks at the bottom of the stack no pop reached
 * (pushes and pops work at the top); their pages go back, the rest stay
 * for the next gets. The mark is the least depth a push found: every run
 * of pops ends at a push or at the end of the period, so a pool drained
 * and filled again and again (a thread that churns the tier) shows a
 * depth near 0 and keeps its pages. Blocks left behind by threads that
 * moved on to other tiers (bench mstress: short threads, blocks of 128 KiB
 * to 1 MiB here and there) stop adding to peak RSS after a period.
 * mimalloc too waits 10 ms before it purges freed pages. A push pays a
 * compare; two generations of the stack in 16 read the coarse clock
 * (vDSO): an odd and an even one, so that pushes that alternate with pops
 * reach it too. */
#define TP_DECAY_MS 10

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts); /* vDSO, no syscall */
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* After a push that found depth blocks in tier t's pool and made its
 * stack's generation gen. */
static void decay(unsigned t, uint64_t depth, uint64_t gen) {
  tp_central_t *ct = &tp_central[t];
  uint64_t low = atomic_load_explicit(&ct->low, memory_order_relaxed);
  while (depth < low && !atomic_compare_exchange_weak_explicit(&ct->low, &low, depth,
                                                               memory_order_relaxed,
                                                               memory_order_relaxed)) {
  }
  if ((gen & 15) > 1) return;
  uint64_t now = now_ms(), last = atomic_load_explicit(&ct->decay_ms, memory_order_relaxed);
  if (now - last < TP_DECAY_MS ||
      !atomic_compare_exchange_strong_explicit(&ct->decay_ms, &last, now, memory_order_relaxed,
                                               memory_order_relaxed))
    return;
  /* The first period of a tier has no mark yet (low starts at 0). */
  uint64_t idle = atomic_exchange_explicit(&ct->low, UINT64_MAX, memory_order_relaxed);
  if (idle != UINT64_MAX && idle > 0) release_and_restore(t, take_all(t), idle);
}
