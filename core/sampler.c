/* sampler.c - the draws of the byte countdown (sampler.h). */
#include <stdatomic.h>
#include <stdint.h>

#include "os.h"
#include "random.h"
#include "sampler.h"
#include "spin.h"

TP_START_DATA bool tp_sampling;
TP_START_DATA bool tp_fwd_hooked;
static double tp_sample_mean;
/* The live sampled blocks (see "sampled blocks" below). */
#define TP_SAMPLED_BITS 16
#define TP_SAMPLED_SLOTS (1u << TP_SAMPLED_BITS)
typedef struct {
  uintptr_t p; /* 0: empty */
  uint64_t tier;
} tp_sampled_t;
static tp_sampled_t *tp_sampled; /* [TP_SAMPLED_SLOTS], under tp_sampled_lock */
static uint32_t tp_sampled_used; /* written under the lock, read without it */
static _Atomic int tp_sampled_lock;

/* Their memory (see "their memory" below), under the same lock. */
#define TP_SCHUNK_MIN ((size_t)1 << 20) /* a chunk's least size */
#define TP_SCHUNK_MAX 256               /* chunks: each an eighth of all mapped, at least */
typedef struct {
  void *free;         /* freed blocks, linked through their word 0 */
  uintptr_t cur, end; /* the rest of the tier's last chunk */
} tp_sstore_t;
static tp_sstore_t tp_sstore[TP_MAX_TIERS];
static struct {
  uintptr_t lo, hi;
  unsigned tier;
} tp_schunks[TP_SCHUNK_MAX];
static unsigned tp_nschunks;
static size_t tp_smapped; /* bytes of all the chunks */

static uint64_t tp_sample_seed;

#define TP_SAMPLE_MAX ((int64_t)1 << 62) /* the longest interval drawn */

void tp_sampler_start(double mean) {
  tp_sample_mean = mean > 1 ? mean : 1;
  tp_sample_seed = tp_random_seed();
  tp_sampled = tp_os_map(TP_SAMPLED_SLOTS * sizeof(tp_sampled_t), true); /* NULL: none sampled */
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

/* The sampled blocks that are live, with their tiers: open addressing,
 * linear probing, backward-shift deletion (no tombstones), under one
 * spinlock. Sampled gets are rare (one per mean bytes); the lookups are on
 * forwarded frees, which take the hooks' own lock anyway. Mapped at start,
 * touched only where used. */
static void lock(void) { tp_spin_lock(&tp_sampled_lock); }
static void unlock(void) { tp_spin_unlock(&tp_sampled_lock); }

static size_t home(uintptr_t p) {
  return tp_addr_home(p, TP_SAMPLED_BITS);
}

/* The slot holding p, or the empty slot where it would go. */
static size_t find(uintptr_t p) {
  size_t i = home(p);
  while (tp_sampled[i].p && tp_sampled[i].p != p) i = (i + 1) & (TP_SAMPLED_SLOTS - 1);
  return i;
}

/* ------------------------------------------------------------ their memory */

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
 * few, and a list of them tells a bad free's pointer. As the pools do, the
 * memory is kept for the next sampled blocks, never given back. */

/* A block of tier t (size bytes): a freed one, or from the rest of the
 * tier's chunk; NULL when both are empty. Under the lock. */
static void *take(unsigned t, size_t size) {
  tp_sstore_t *s = &tp_sstore[t];
  void *p = s->free;
  if (p) {
    s->free = *(void **)p;
  } else if (s->end - s->cur >= size) {
    p = (void *)s->cur;
    s->cur += size;
  }
  return p;
}

/* A new chunk for tier t, mapped outside the lock; false when refused. */
static bool grow(unsigned t, size_t size) {
  size_t want = __atomic_load_n(&tp_smapped, __ATOMIC_RELAXED) / 8;
  if (want < 4 * size) want = 4 * size;
  if (want < TP_SCHUNK_MIN) want = TP_SCHUNK_MIN;
  want = (want + TP_SCHUNK_MIN - 1) & ~(TP_SCHUNK_MIN - 1);
  void *m = tp_os_map(want, true);
  if (!m) m = tp_os_map(want = size < TP_PAGE_SIZE ? TP_PAGE_SIZE : size, true); /* RLIMIT_AS */
  if (!m) return false;
  bool keep = false, ok = true;
  lock();
  tp_sstore_t *s = &tp_sstore[t];
  if (s->end - s->cur >= size) {
    /* Another thread's new chunk came first. */
  } else if (tp_nschunks == TP_SCHUNK_MAX) {
    ok = false;
  } else {
    tp_schunks[tp_nschunks++] = (typeof(tp_schunks[0])){(uintptr_t)m, (uintptr_t)m + want, t};
    __atomic_store_n(&tp_smapped, tp_smapped + want, __ATOMIC_RELAXED);
    s->cur = (uintptr_t)m; /* (the last chunk has less than a block left) */
    s->end = (uintptr_t)m + want;
    keep = true;
  }
  unlock();
  if (!keep) tp_os_unmap(m, want);
  return ok;
}

/* Takes a block of tier t and enters it in the table, under the lock;
 * *room is false when the table is full. */
static void *take_entered(unsigned t, size_t size, bool *room) {
  void *p = NULL;
  lock();
  *room = tp_sampled_used < TP_SAMPLED_SLOTS / 4 * 3;
  if (*room && (p = take(t, size))) {
    tp_os_touch_for_write(&tp_sampled[home((uintptr_t)p)].p); /* one page fault, not two */
    tp_sampled[find((uintptr_t)p)] = (tp_sampled_t){(uintptr_t)p, t};
    __atomic_store_n(&tp_sampled_used, tp_sampled_used + 1, __ATOMIC_RELAXED);
  }
  unlock();
  return p;
}

void *tp_sampled_new(unsigned t) {
  if (!tp_sampled) return NULL;
  size_t size = tp_tier_size(t);
  bool room;
  void *p = take_entered(t, size, &room);
  if (!p && room && grow(t, size)) p = take_entered(t, size, &room);
  return p;
}

/* The chunk holding p, or -1. Under the lock. */
static int chunk_of(uintptr_t p) {
  for (unsigned i = 0; i < tp_nschunks; i++)
    if (p - tp_schunks[i].lo < tp_schunks[i].hi - tp_schunks[i].lo) return (int)i;
  return -1;
}

size_t tp_sampled_stored(const void *p, bool *interior) {
  if (!tp_sampled) return 0;
  lock();
  int i = chunk_of((uintptr_t)p);
  uintptr_t lo = i < 0 ? 0 : tp_schunks[i].lo;
  unsigned t = i < 0 ? 0 : tp_schunks[i].tier;
  unlock();
  if (i < 0) return 0;
  size_t size = tp_tier_size(t);
  *interior = (((uintptr_t)p - lo) & (size - 1)) != 0;
  return size;
}

static int find_tier(const void *p, bool remove) {
  /* No sampled block live: no lock (a block being added now is not p, whose
   * add happened before the program could pass p here). */
  if (!tp_sampled || !p || !__atomic_load_n(&tp_sampled_used, __ATOMIC_RELAXED)) return -1;
  const size_t mask = TP_SAMPLED_SLOTS - 1;
  lock();
  size_t i = find((uintptr_t)p);
  int t = tp_sampled[i].p ? (int)tp_sampled[i].tier : -1;
  if (t >= 0 && remove) {
    for (size_t j = (i + 1) & mask; tp_sampled[j].p; j = (j + 1) & mask) {
      size_t h = home(tp_sampled[j].p);
      if (((j - h) & mask) >= ((j - i) & mask)) { /* j may move into the hole at i */
        tp_sampled[i] = tp_sampled[j];
        i = j;
      }
    }
    tp_sampled[i].p = 0;
    __atomic_store_n(&tp_sampled_used, tp_sampled_used - 1, __ATOMIC_RELAXED);
    tp_sstore_t *s = &tp_sstore[t]; /* its memory, for the next sampled block */
    *(void **)p = s->free;
    s->free = (void *)p;
  }
  unlock();
  return t;
}

int tp_sampled_tier(const void *p) { return find_tier(p, false); }
int tp_sampled_free(const void *p) { return find_tier(p, true); }

void tp_sampled_fork_child(void) { atomic_store(&tp_sampled_lock, 0); }
