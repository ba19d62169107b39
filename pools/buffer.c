/* buffer.c - refcounted buffers: tiered get/put with retain and release.
 *
 * A buffer is a tier block like any malloc'd one (counted in the tier's
 * get and put, charged to its stack by leak tracking); its reference count
 * lives in a side array per tier, indexed by block number, so blocks keep
 * no header. The arrays are mapped on a tier's first buffer, with
 * MAP_NORESERVE: only the pages of counts in use cost memory (4 bytes per
 * block). A count of 0 means "not a live buffer": every block starts there
 * and returns there, which is what lets a release of a count already at
 * zero, or of a plain malloc'd block, abort instead of corrupting.
 *
 * Requests past the largest tier (or when the tier's region is full) go to
 * mimalloc, where there is no block number: those buffers carry a 16-byte
 * header (a tag that names the buffer, and the count) in front of the
 * bytes. A pointer that is neither a tier block with a count nor a
 * mimalloc block with a valid tag is a foreign pointer: abort.
 */
#include <errno.h>
#include <sys/mman.h>

#include "engine.h"
#include "guard.h"
#include "registry.h"
#include "snapshot.h"

static _Atomic(_Atomic uint32_t *) tp_refs[TP_MAX_TIERS];

/* ------------------------------------------------------------ counters */

/* gets and puts, one pair per thread cache: a slot is claimed (CAS) by
 * the first buffer operation of a thread that owns a live cache, and from
 * then on only the thread that owns that cache writes it, with a plain
 * load and store (TP_ADD), no read-modify-write. A cache is owned by one
 * thread at a time and recycled with acquire/release ordering, so the slot
 * keeps a single writer even across threads. Threads without a live cache
 * (one that only releases, one that has exited) and caches past the table
 * share slot 0 with atomic adds. The dump sums the slots in use. */
#define TP_BUF_SLOTS 256
typedef struct {
  _Atomic uintptr_t owner; /* the tp_cache_t the slot belongs to; 0: free */
  uint64_t gets, puts;     /* owner: TP_ADD; readers: TP_LOAD (slot 0: atomic adds) */
} __attribute__((aligned(64))) tp_buf_slot_t;
static tp_buf_slot_t tp_buf_slots[TP_BUF_SLOTS];
static _Atomic int tp_buf_registered;

/* The slots claimed so far, one bit each (set once, before the slot's
 * first count, never cleared), so a sum visits as many slots as threads
 * got buffers rather than the whole table. */
static _Atomic uint64_t tp_buf_claimed[TP_BUF_SLOTS / 64];

/* The most buffers live at once, sampled (see buf_sample), aligned away
 * from the slots: written only when a sample finds a new high. */
static _Atomic uint64_t tp_buf_peak __attribute__((aligned(64)));

/* A thread samples the peak on its 1st, 65th, 129th... get: the period is
 * a power of two, so the test is a mask of the get count it read. */
#define TP_BUF_SAMPLE_EVERY 64

static TP_COLD tp_buf_slot_t *slot_claim(tp_cache_t *c) {
  size_t h = ((uintptr_t)c >> 12) % (TP_BUF_SLOTS - 1);
  for (size_t n = 0; n < TP_BUF_SLOTS - 1; n++, h = (h + 1) % (TP_BUF_SLOTS - 1)) {
    tp_buf_slot_t *s = &tp_buf_slots[1 + h];
    uintptr_t o = atomic_load_explicit(&s->owner, memory_order_relaxed);
    if (o == (uintptr_t)c) return s;
    if (!o && atomic_compare_exchange_strong(&s->owner, &o, (uintptr_t)c)) {
      atomic_fetch_or_explicit(&tp_buf_claimed[(1 + h) / 64], 1ull << ((1 + h) % 64), memory_order_release);
      return s;
    }
    if (o == (uintptr_t)c) return s;
  }
  return NULL;
}

/* Adds up the gets (put = false) or the puts of slot 0 and the claimed slots. */
static uint64_t slots_sum(bool put) {
  uint64_t sum = 0;
  for (unsigned w = 0; w < TP_BUF_SLOTS / 64; w++)
    for (uint64_t m = atomic_load_explicit(&tp_buf_claimed[w], memory_order_acquire) | !w; m; m &= m - 1) {
      tp_buf_slot_t *s = &tp_buf_slots[w * 64 + (unsigned)__builtin_ctzll(m)];
      sum += put ? TP_LOAD(s->puts) : TP_LOAD(s->gets);
    }
  return sum;
}

/* Buffers live now: every get is read before any put. Counts only grow,
 * so the gets read are at most the gets at the moment between the two
 * passes and the puts read at least the puts then: the result is never
 * more than what was live at that moment, although the slots are read one
 * by one while other threads go on counting (a put's count follows its
 * get's, in any thread). 0 if a put was counted before its buffer's get
 * was seen, which takes a pointer passed between threads unsynchronised. */
static uint64_t buf_live(uint64_t *gets, uint64_t *puts) {
  *gets = slots_sum(false);
  atomic_thread_fence(memory_order_acquire); /* the puts' loads stay after the gets' */
  *puts = slots_sum(true);
  return *gets > *puts ? *gets - *puts : 0;
}

/* The shared peak, raised to the live count if that is higher. The rare
 * get that calls it pays the sum (one line per thread that got buffers)
 * and, on a new high, a CAS; no other get or put writes shared memory.
 * Out of line but not TP_COLD: with the cold attribute gcc moved the get's
 * common return into the cold section, a jump more on every get. */
static __attribute__((noinline)) void buf_sample(void) {
  uint64_t gets, puts;
  tp_atomic_max(&tp_buf_peak, buf_live(&gets, &puts));
}

/* Counts one get (put = false) or put of this thread; every
 * TP_BUF_SAMPLE_EVERY-th get of a thread samples the peak. */
TP_HOT void buf_count(bool put) {
  tp_cache_t *c = tp_tls;
  tp_buf_slot_t *s = &tp_buf_slots[1 + ((uintptr_t)c >> 12) % (TP_BUF_SLOTS - 1)];
  if (tp_unlikely(atomic_load_explicit(&s->owner, memory_order_relaxed) != (uintptr_t)c) &&
      (c->kind != TP_CACHE_LIVE || !(s = slot_claim(c)))) {
    /* no slot of its own: a shared count, and (no countdown to keep) a
     * sample on every get */
    atomic_fetch_add_explicit(put ? (_Atomic uint64_t *)&tp_buf_slots[0].puts
                                  : (_Atomic uint64_t *)&tp_buf_slots[0].gets, 1, memory_order_relaxed);
    if (!put) buf_sample();
    return;
  }
  if (put) {
    TP_ADD(s->puts, 1);
    return;
  }
  uint64_t before = TP_LOAD(s->gets);
  TP_ADD(s->gets, 1);
  if (tp_unlikely(!(before & (TP_BUF_SAMPLE_EVERY - 1)))) buf_sample();
}

static void buf_snap(tierpool_pool_stats_t *out) {
  *out = (tierpool_pool_stats_t){0};
  /* A snapshot is a sample too, with the live count it reports. */
  out->in_use = buf_live(&out->gets, &out->puts);
  tp_atomic_max(&tp_buf_peak, out->in_use);
  out->peak = atomic_load_explicit(&tp_buf_peak, memory_order_relaxed);
}

TP_API int tierpool_buf_stats(tierpool_pool_stats_t *out) {
  if (!out) return EINVAL;
  buf_snap(out);
  return 0;
}

static TP_COLD void buf_register(void) {
  if (atomic_exchange(&tp_buf_registered, 1)) return;
  tp_pool_slot_t *s = tp_pool_register("buffers", "buffers", "buffers");
  s->snap = buf_snap;
}

/* ------------------------------------------------------------ side arrays */

static TP_COLD _Atomic uint32_t *refs_map(size_t t) {
  size_t blocks = ((size_t)1 << tp_layout.region_shift) >> (t + TP_MIN_SHIFT);
  size_t bytes = (blocks * sizeof(uint32_t) + 4095) & ~(size_t)4095;
  void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (m == MAP_FAILED) return NULL;
  _Atomic uint32_t *expect = NULL;
  if (!atomic_compare_exchange_strong(&tp_refs[t], &expect, (_Atomic uint32_t *)m)) {
    munmap(m, bytes); /* another thread mapped it first */
    return expect;
  }
  return m;
}

TP_HOT _Atomic uint32_t *count_of_block(const void *p) {
  size_t t = tp_tier_of_ptr(p);
  _Atomic uint32_t *refs = t < tp_layout.ntiers ? atomic_load_explicit(&tp_refs[t], memory_order_acquire) : NULL;
  uintptr_t off = (uintptr_t)p - tp_region_start((unsigned)t);
  if (tp_unlikely(!refs || (off & (tp_tier_size((unsigned)t) - 1)) != 0))
    tp_pool_die("tierpool buffer: not a buffer (a block the pools never handed out as one)", p);
  return &refs[off >> (t + TP_MIN_SHIFT)];
}

/* ------------------------------------------------------------ forwarded */

typedef struct tp_buf_hdr_s {
  uint64_t tag;           /* tp_free_key ^ the data address ^ TP_BUF_MAGIC */
  _Atomic uint32_t refs;
  uint32_t unused;
} tp_buf_hdr_t;
#define TP_BUF_MAGIC 0x6275667265667321ull /* "bufrefs!" */

static TP_COLD void *header_get(size_t n, size_t *cap) {
  size_t total;
  if (__builtin_add_overflow(n, sizeof(tp_buf_hdr_t), &total) || !tp_guard_admit(total)) {
    errno = ENOMEM;
    return NULL;
  }
  int reason = !tp_layout.span ? TIERPOOL_REASON_NO_POOL
               : n > tp_layout.max_size ? TIERPOOL_REASON_TOO_LARGE
                                        : TIERPOOL_REASON_POOL_FULL;
  tp_buf_hdr_t *h = tp_forward(total, TP_MIN_SIZE, reason, false);
  if (!h) return NULL;
  tp_guard_got(h, total);
  h->tag = tp_free_key ^ (uintptr_t)(h + 1) ^ TP_BUF_MAGIC;
  atomic_store_explicit(&h->refs, 1, memory_order_relaxed);
  if (cap) *cap = tp_fwd_usable(h) - sizeof *h;
  return h + 1;
}

static tp_buf_hdr_t *header_of(const void *p) {
  /* The header is where the forwarded block starts: ask about it, not p
   * (a large block is known by its start, core/large.h). */
  tp_buf_hdr_t *h = (tp_buf_hdr_t *)p - 1;
  if (tp_unlikely(!p || ((uintptr_t)p & 15) != 0 || !tp_pool_is_heap(h)))
    tp_pool_die("tierpool buffer: not a buffer (foreign pointer)", p);
  if (tp_unlikely(h->tag != (tp_free_key ^ (uintptr_t)p ^ TP_BUF_MAGIC)))
    tp_pool_die("tierpool buffer: not a buffer (foreign pointer)", p);
  return h;
}

TP_HOT _Atomic uint32_t *count_of(const void *p) {
  return tp_is_pooled(p) ? count_of_block(p) : &header_of(p)->refs;
}

/* ------------------------------------------------------------ the API */

TP_API void *tierpool_buf_get(size_t n, size_t *cap) {
  if (tp_unlikely(n == 0)) {
    errno = EINVAL;
    return NULL;
  }
  if (tp_unlikely(atomic_load_explicit(&tp_state, memory_order_acquire) < TP_READY)) tp_init();
  if (tp_unlikely(!atomic_load_explicit(&tp_buf_registered, memory_order_relaxed))) buf_register();
  void *p = NULL;
  if (n <= tp_layout.max_size) {
    p = tp_malloc(n);
    if (!p) return NULL;
    if (tp_likely(tp_is_pooled(p))) {
      size_t t = tp_tier_of_ptr(p);
      _Atomic uint32_t *refs = atomic_load_explicit(&tp_refs[t], memory_order_acquire);
      if (tp_unlikely(!refs) && !(refs = refs_map(t))) {
        tp_free(p);
        errno = ENOMEM;
        return NULL;
      }
      atomic_store_explicit(&refs[((uintptr_t)p - tp_region_start((unsigned)t)) >> (t + TP_MIN_SHIFT)],
                            1, memory_order_relaxed);
      if (cap) *cap = tp_tier_size((unsigned)t);
    } else {
      tp_free(p); /* the region is full: mimalloc, with a header */
      p = NULL;
    }
  }
  if (!p && !(p = header_get(n, cap))) return NULL;
  buf_count(false);
  return p;
}

TP_API size_t tierpool_buf_cap(const void *p) {
  if (atomic_load_explicit(count_of(p), memory_order_relaxed) == 0)
    tp_pool_die("tierpool_buf_cap: not a live buffer", p);
  if (tp_is_pooled(p)) return tp_tier_size((unsigned)tp_tier_of_ptr(p));
  return tp_fwd_usable((const tp_buf_hdr_t *)p - 1) - sizeof(tp_buf_hdr_t);
}

TP_API uint32_t tierpool_buf_refs(const void *p) {
  if (!p) return 0;
  if (tp_is_pooled(p)) {
    size_t t = tp_tier_of_ptr(p);
    _Atomic uint32_t *refs = t < tp_layout.ntiers ? atomic_load(&tp_refs[t]) : NULL;
    uintptr_t off = (uintptr_t)p - tp_region_start((unsigned)t);
    if (!refs || (off & (tp_tier_size((unsigned)t) - 1))) return 0;
    return atomic_load_explicit(&refs[off >> (t + TP_MIN_SHIFT)], memory_order_acquire);
  }
  return atomic_load_explicit(&header_of(p)->refs, memory_order_acquire);
}

TP_API void *tierpool_buf_retain(void *p) {
  /* relaxed: a new reference is made from an existing one, which already
   * orders the buffer's contents (the shared_ptr argument). */
  uint32_t old = atomic_fetch_add_explicit(count_of(p), 1, memory_order_relaxed);
  if (tp_unlikely(old == 0 || old == UINT32_MAX))
    tp_pool_die(old ? "tierpool_buf_retain: count overflow" : "tierpool_buf_retain: buffer already released", p);
  return p;
}

/* Drops one reference; the last one gives the block back. max_before: the
 * most references the caller may hold (put: 1). */
static inline void drop(void *p, uint32_t max_before, const char *who) {
  _Atomic uint32_t *c = count_of(p);
  if (tp_unlikely(max_before == 1)) {
    uint32_t one = 1;
    if (atomic_compare_exchange_strong_explicit(c, &one, 0, memory_order_acq_rel, memory_order_relaxed))
      goto last;
    tp_pool_die(one ? "tierpool_buf_put: buffer still retained by another owner"
                    : "tierpool_buf_put: release of a buffer whose count is already zero",
                p);
  }
  uint32_t old = atomic_fetch_sub_explicit(c, 1, memory_order_acq_rel);
  if (tp_likely(old > 1)) return;
  if (tp_unlikely(old == 0)) {
    atomic_store_explicit(c, 0, memory_order_relaxed);
    tp_pool_die(who, p);
  }
last:
  buf_count(true);
  tp_free(tp_is_pooled(p) ? p : (void *)((tp_buf_hdr_t *)p - 1));
}

TP_API void tierpool_buf_release(void *p) {
  drop(p, UINT32_MAX, "tierpool_buf_release: release of a buffer whose count is already zero");
}

TP_API void tierpool_buf_put(void *p) { drop(p, 1, NULL); }

TP_API tierpool_release_fn tierpool_buf_hand_out(void *p) {
  tierpool_buf_retain(p);
  return tierpool_buf_release;
}
