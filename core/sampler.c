/* sampler.c - the draws of the byte countdown (sampler.h). */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "os.h"
#include "random.h"
#include "sampler.h"
#include "spin.h"

TP_START_DATA bool tp_sampling;
TP_START_DATA bool tp_fwd_hooked;
TP_HOOKED_DATA static double tp_sample_mean;

/* The sampled blocks' memory (see "sampled blocks" below): chunks, each
 * serving one tier, and per tier a free list and the rest of its last
 * chunk. */
#define TP_SCHUNK_MIN ((size_t)64 << 10) /* a chunk's least size */
#define TP_SREGION ((size_t)16 << 20)   /* the first chunks' mapping (below) */
#define TP_SCHUNK_MAX 256               /* chunks: each an eighth of all mapped, at least */
typedef struct {
  _Atomic int lock;   /* over the rest */
  unsigned last;      /* the tier's last chunk */
  void *free;         /* freed blocks, linked through their word 0 */
  uintptr_t cur, end; /* the rest of its last chunk */
} __attribute__((aligned(32))) tp_sstore_t; /* two tiers a line: sampled gets
                                             * are rare, and a line each made
                                             * the hooked globals more than a
                                             * page (preload/hooked.ld) */
typedef struct {
  uintptr_t lo, hi;         /* its blocks */
  _Atomic uint64_t *state;  /* lo: block j's word (below) is state[-1 - j], before lo */
  _Atomic size_t top;       /* blocks ever handed out: the states past it are 0 */
  unsigned tier;
} tp_schunk_t;
TP_HOOKED_DATA static tp_sstore_t tp_sstore[TP_MAX_TIERS];
TP_HOOKED_TAIL static tp_schunk_t tp_schunks[TP_SCHUNK_MAX]; /* entry i written before tp_nschunks > i */
TP_HOOKED_DATA static _Atomic unsigned tp_nschunks;          /* written under tp_schunk_lock, read without it */
TP_HOOKED_DATA static size_t tp_smapped;                     /* bytes of all the chunks' blocks */
TP_HOOKED_DATA static _Atomic int tp_schunk_lock;            /* taken before a tier's */
TP_HOOKED_DATA static char *tp_sregion;  /* the first chunks, from a 2 MiB boundary (or NULL) */
TP_HOOKED_DATA static size_t tp_sregion_used; /* tp_schunk_lock */
TP_HOOKED_DATA static char *tp_sfirst;   /* before them: tp_sampler_first_area's (or NULL) */
TP_HOOKED_DATA static size_t tp_sfirst_size, tp_sfirst_used; /* tp_schunk_lock */

TP_HOOKED_DATA static uint64_t tp_sample_seed;

#define TP_SAMPLE_MAX ((int64_t)1 << 62) /* the longest interval drawn */

void tp_sampler_first_area(void *area, size_t bytes) {
  tp_sfirst = area;
  tp_sfirst_size = bytes;
}

void tp_sampler_start(double mean) {
  tp_sample_mean = mean > 1 ? mean : 1;
  tp_sample_seed = tp_random_seed();
  tp_sregion = tp_os_map_window(TP_SREGION); /* mapped, not touched; NULL: chunks of their own */
  tp_sampling = true;
}

/* ln x for x > 0, to about seven digits: the library links no libm. */
static double ln(double x) {
  union { double d; uint64_t u; } v = {x};
  int e = (int)((v.u >> 52) & 0x7ff) - 1023;
  v.u = (v.u & 0x000fffffffffffffull) | 0x3ff0000000000000ull; /* mantissa in [1, 2) */
  double z = (v.d - 1) / (v.d + 1), z2 = z * z; /* ln m = 2 atanh z, z < 1/3 */
  double s = z * (2 + z2 * (2.0 / 3 + z2 * (2.0 / 5 + z2 * (2.0 / 7 + z2 * (2.0 / 9 + z2 * (2.0 / 11))))));
  return e * 0.69314718055994530942 + s;
}

TP_RESIDENT int64_t tp_sampler_interval(tp_cache_t *c) {
  if (!tp_sampling) return INT64_MAX;
  if (!c->sample_rng) c->sample_rng = tp_sample_seed ^ (uintptr_t)c;
  double u = (double)((tp_rand_next(&c->sample_rng) >> 11) + 1) * 0x1p-53; /* (0, 1] */
  double v = -ln(u) * tp_sample_mean;
  return v < 1 ? 1 : v > 0x1p62 ? TP_SAMPLE_MAX : (int64_t)v;
}

bool tp_sampler_due_slow(tp_cache_t *c, size_t n) {
  if (c->kind != TP_CACHE_LIVE) return false;
  /* A cache set up before the sampler started counts from INT64_MAX: its
   * first slow-path get draws a real count (tp_sampler_start cannot reach
   * other threads' caches, nor its own without a call back into cache.c). */
  if (c->sample_left > TP_SAMPLE_MAX) c->sample_left = tp_sampler_interval(c);
  if ((c->sample_left -= (int64_t)n) >= 0) return false;
  c->sample_left = tp_sampler_interval(c);
  return true;
}

/* ------------------------------------------------------------ sampled blocks */

/* A sampled block lives in memory of its own: not in the pools (its free
 * would take the fast path, which never asks "was this block sampled?"),
 * and not in mimalloc, which sample mode then loaded in every process at
 * start (165,000 of the 366,000 instructions sample mode added to a short
 * program, besides its pages and system calls). Chunks from tp_os_map (the
 * exit scan knows them as the engine's own and does not read them as the
 * program's anonymous memory), each serving one tier: per tier, a free
 * list and the rest of its last chunk. A block lies a multiple of its size
 * from its chunk's start, so it is aligned to its size up to a page. A
 * chunk is at least an eighth of all those mapped before it, so they stay
 * few, and a look through them finds a pointer's chunk. As the pools do,
 * the memory is kept for the next sampled blocks, never given back.
 * The first chunks are cut one after another from an area the leak
 * tables leave for them in a window of their own (tp_sampler_first_area:
 * 256 KiB, the first chunks of two or three tiers), then from one mapping
 * (16 MiB), the rest mapped each on its own: a program's first sampled
 * blocks of every tier then lie in one or two 2 MiB windows of the
 * address space, the first ones in a window its first capture writes
 * anyway, where a mapping per chunk put each tier's in a window of its
 * own, and the first page touched in a window costs a page table as well
 * (stats/leak_stack.c gives figures).
 *
 * Each block has a state word, mapped with its chunk just before the
 * blocks (filling downward, grow): 0 while free, TP_SAMPLED_UNTAGGED once
 * handed out, then the tag the layer above gives it (its stack and
 * length). The state, not a table
 * of live blocks under a lock, answers "is p a live sampled block?" for
 * every forwarded free, and the layer above keeps no entry of its own for
 * the block: a sampled get and its put each take its tier's lock once,
 * for the free list. A table here and the layer's own table took two
 * locks each, one of them shared by every tier, and two reads at random
 * places in large tables: at a sample per 16 KiB (TIERPOOL_LEAKS_SAMPLE,
 * to make a sample's cost show), `workloads churn` took 1.29x the time
 * of plain tierpool, and 1.19x with the state words; `workloads threads`
 * 1.52x, 1.37x with them and no running counts (stats/leak.c), and 1.26x
 * with a lock per tier.
 * A free exchanges the state for 0: of two frees of one block, one finds
 * it live and the other does not, and reports it. */
static void lock(unsigned t) { tp_spin_lock(&tp_sstore[t].lock); }
static void unlock(unsigned t) { tp_spin_unlock(&tp_sstore[t].lock); }

/* The chunk holding p, or NULL. Without a lock: chunks are only added,
 * each written before the count that shows it. */
static const tp_schunk_t *chunk_of(uintptr_t p) {
  unsigned n = atomic_load_explicit(&tp_nschunks, memory_order_acquire);
  for (unsigned i = 0; i < n; i++)
    if (p - tp_schunks[i].lo < tp_schunks[i].hi - tp_schunks[i].lo) return &tp_schunks[i];
  return NULL;
}

/* The state word of the block starting at p (its tier in *t), or NULL if
 * p is not a block's start in the sampled blocks' memory. */
static _Atomic uint64_t *state_of(const void *p, unsigned *t) {
  const tp_schunk_t *k = chunk_of((uintptr_t)p);
  if (!k) return NULL;
  size_t off = (uintptr_t)p - k->lo;
  unsigned shift = k->tier + TP_MIN_SHIFT;
  if (off & (((size_t)1 << shift) - 1)) return NULL;
  *t = k->tier;
  return &k->state[-1 - (ptrdiff_t)(off >> shift)];
}

/* A block of tier t (size bytes): a freed one, or from the rest of the
 * tier's chunk (its chunk's top moved past it); NULL when both are
 * empty. */
static void *take(unsigned t, size_t size) {
  lock(t);
  tp_sstore_t *s = &tp_sstore[t];
  void *p = s->free;
  if (p) {
    s->free = *(void **)p;
  } else if (s->end - s->cur >= size) {
    p = (void *)s->cur;
    s->cur += size;
    tp_schunk_t *k = &tp_schunks[s->last];
    atomic_store_explicit(&k->top, (s->cur - k->lo) / size, memory_order_release);
  }
  unlock(t);
  return p;
}

/* Room for bytes from the first area, else the first chunks' mapping, or
 * NULL. tp_schunk_lock held. */
static char *bump(char *base, size_t size, size_t *used, size_t bytes) {
  if (!base || size - *used < bytes) return NULL;
  char *m = base + *used;
  *used += bytes;
  return m;
}

static char *region_take(size_t bytes) {
  char *m = bump(tp_sfirst, tp_sfirst_size, &tp_sfirst_used, bytes);
  return m ? m : bump(tp_sregion, TP_SREGION, &tp_sregion_used, bytes);
}

/* Makes m (states bytes, then want bytes of blocks, total bytes in all)
 * tier t's chunk, or, m NULL, a piece of the first chunks' mapping if it
 * has room. 2: done; 1: another thread's new chunk came first (m not
 * used); 0: m NULL and no room; -1: no more chunks. */
static int install(unsigned t, size_t size, char *m, size_t states, size_t want, size_t total) {
  int r;
  tp_spin_lock(&tp_schunk_lock);
  lock(t);
  tp_sstore_t *s = &tp_sstore[t];
  unsigned n = atomic_load_explicit(&tp_nschunks, memory_order_relaxed);
  if (s->end - s->cur >= size) {
    r = 1;
  } else if (n == TP_SCHUNK_MAX) {
    r = -1;
  } else if (!m && !(m = region_take(total))) {
    r = 0;
  } else {
    uintptr_t lo = (uintptr_t)m + states;
    tp_schunks[n] = (tp_schunk_t){.lo = lo, .hi = lo + want, .state = (void *)lo, .tier = t};
    atomic_store_explicit(&tp_nschunks, n + 1, memory_order_release);
    __atomic_store_n(&tp_smapped, tp_smapped + want, __ATOMIC_RELAXED);
    s->cur = lo; /* (the last chunk has less than a block left) */
    s->end = lo + want;
    s->last = n;
    r = 2;
  }
  unlock(t);
  tp_spin_unlock(&tp_schunk_lock);
  return r;
}

/* A new chunk for tier t, its state words with it; false when refused.
 * A chunk of its own is mapped outside the locks. The words fill
 * downward from the blocks' start, and the blocks of a tier below a page
 * start halfway into one: a tier's first block and its word share a page
 * (a page fewer for a process's first sampled block to touch). */
static bool grow(unsigned t, size_t size) {
  size_t want = __atomic_load_n(&tp_smapped, __ATOMIC_RELAXED) / 8;
  if (want < 4 * size) want = 4 * size;
  if (want < TP_SCHUNK_MIN) want = TP_SCHUNK_MIN;
  want = (want + TP_SCHUNK_MIN - 1) & ~(TP_SCHUNK_MIN - 1);
  size_t half = size < TP_PAGE_SIZE ? TP_PAGE_SIZE / 2 : 0; /* then blocks align to it */
  size_t states = TP_PAGE_UP((want / size) * sizeof(uint64_t)) + half;
  size_t total = states + want + half; /* whole pages */
  int r = install(t, size, NULL, states, want, total);
  if (r) return r > 0;
  char *m = tp_os_map(total, true);
  if (!m) { /* RLIMIT_AS */
    want = size < TP_PAGE_SIZE ? TP_PAGE_SIZE : size;
    states = TP_PAGE_SIZE + half;
    total = states + want + half;
    m = tp_os_map(total, true);
  }
  if (!m) return false;
  r = install(t, size, m, states, want, total);
  if (r != 2) tp_os_unmap(m, total);
  return r > 0;
}

void *tp_sampled_new(unsigned t) {
  if (!tp_sampling) return NULL;
  size_t size = tp_tier_size(t);
  void *p = take(t, size);
  if (!p && grow(t, size)) p = take(t, size);
  unsigned tier;
  if (p) atomic_store_explicit(state_of(p, &tier), TP_SAMPLED_UNTAGGED, memory_order_relaxed);
  return p;
}

bool tp_sampled_tag(const void *p, uint64_t tag) {
  unsigned t;
  _Atomic uint64_t *s = state_of(p, &t);
  if (!s) return false;
  atomic_store_explicit(s, tag, memory_order_relaxed);
  return true;
}

int tp_sampled_tier(const void *p, uint64_t *tag) {
  unsigned t;
  _Atomic uint64_t *s = state_of(p, &t);
  uint64_t v = s ? atomic_load_explicit(s, memory_order_relaxed) : 0;
  if (tag) *tag = v;
  return v ? (int)t : -1;
}

int tp_sampled_free(const void *p) {
  unsigned t;
  _Atomic uint64_t *s = state_of(p, &t);
  if (!s || !atomic_exchange_explicit(s, 0, memory_order_relaxed)) return -1;
  lock(t);
  tp_sstore_t *st = &tp_sstore[t]; /* its memory, for the next sampled block */
  *(void **)p = st->free;
  st->free = (void *)p;
  unlock(t);
  return (int)t;
}

size_t tp_sampled_stored(const void *p, bool *interior) {
  const tp_schunk_t *k = chunk_of((uintptr_t)p);
  if (!k) return 0;
  size_t size = tp_tier_size(k->tier);
  *interior = (((uintptr_t)p - k->lo) & (size - 1)) != 0;
  return size;
}

size_t tp_sampled_each(void (*fn)(void *p, unsigned t, uint64_t tag, void *ctx), void *ctx) {
  size_t live = 0;
  unsigned n = atomic_load_explicit(&tp_nschunks, memory_order_acquire);
  for (unsigned i = 0; i < n; i++) {
    const tp_schunk_t *k = &tp_schunks[i];
    size_t top = atomic_load_explicit(&k->top, memory_order_acquire);
    for (size_t j = 0; j < top; j++) {
      uint64_t v = atomic_load_explicit(&k->state[-1 - (ptrdiff_t)j], memory_order_relaxed);
      if (!v) continue;
      if (fn) fn((void *)(k->lo + (j << (k->tier + TP_MIN_SHIFT))), k->tier, v, ctx);
      live++;
    }
  }
  return live;
}

void tp_sampled_fork_child(void) {
  atomic_store(&tp_schunk_lock, 0);
  for (unsigned t = 0; t < TP_MAX_TIERS; t++) atomic_store(&tp_sstore[t].lock, 0);
}
