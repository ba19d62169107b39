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

bool tp_sampled_add(void *p, unsigned t) {
  if (!tp_sampled) return false;
  tp_os_touch_for_write(&tp_sampled[home((uintptr_t)p)].p);
  lock();
  bool ok = tp_sampled_used < TP_SAMPLED_SLOTS / 4 * 3;
  if (ok) {
    size_t i = find((uintptr_t)p);
    if (!tp_sampled[i].p) __atomic_store_n(&tp_sampled_used, tp_sampled_used + 1, __ATOMIC_RELAXED);
    tp_sampled[i] = (tp_sampled_t){(uintptr_t)p, t};
  }
  unlock();
  return ok;
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
  }
  unlock();
  return t;
}

int tp_sampled_tier(const void *p) { return find_tier(p, false); }
int tp_sampled_remove(const void *p) { return find_tier(p, true); }

void tp_sampled_fork_child(void) { atomic_store(&tp_sampled_lock, 0); }
