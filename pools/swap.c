/* swap.c - the copy-on-write swap container: one current object read by
 * many threads, replaced whole by writers, old objects recycled only after
 * their last reader.
 *
 * The naive design (a pool and an atomic pointer: readers load it, writers
 * swap it and put the old object back) lets a reader load the pointer, be
 * preempted, and read an object that a writer has meanwhile recycled and
 * refilled. Here that cannot happen, by construction, with a split
 * reference count (differential counting):
 *
 *   cur   = (acquisitions << 16) | index of the current object   one word
 *   inner = per object: BIAS + transfers - releases              one word each
 *
 *   reader acquire:  w = fetch_add(cur, 1 << 16)      -> object w & 0xffff
 *                    (the index and the count move in one atomic step: no
 *                    reader can hold an object the count did not see)
 *   reader release:  if fetch_sub(inner, 1) == 1      -> last one: recycle
 *   writer commit:   old = exchange(cur, new index)   (count 0)
 *                    n = old >> 16 acquisitions of the old object, all of
 *                    them done before the exchange; no more can come
 *                    left = fetch_add(inner, n - BIAS) + n - BIAS
 *                    left == 0                         -> recycle now
 *
 * While an object is current its inner count holds BIAS (2^62), so the
 * releases of its readers never bring it to zero; the commit takes the
 * bias away and adds the acquisitions, after which inner is exactly the
 * readers still holding it. Whoever brings it to zero (the committing
 * writer or the last reader) recycles it: exactly one of them. Readers
 * never wait and never lock: one fetch_add to acquire, a lookup and one
 * fetch_sub to release. A count close to overflowing its 48 bits is
 * transferred into inner by the reader that sees it (see transfer()).
 *
 * Objects (tier blocks, counted and leak-tracked) are made on demand up to
 * max_objects, recycled through a lock-free stack of indices (tagged
 * against ABA), and found from their address by a small open-addressed
 * table filled when each is made. A writer that finds every object busy
 * waits on a futex that recycling wakes; the waker never blocks.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "registry.h"

#define TP_SWAP_BIAS ((int64_t)1 << 62)
#define TP_SWAP_IDX 0xffffu
#define TP_SWAP_ONE ((uint64_t)1 << 16)

/* Acquisitions of one object after which a reader moves the count into
 * inner (a test lowers it to exercise the transfer). */
uint64_t tp_swap_transfer_at_for_test __attribute__((visibility("hidden"))) = (uint64_t)1 << 46;

enum { OBJ_FREE = 0, OBJ_WRITING = 1, OBJ_CURRENT = 2, OBJ_RETIRED = 3 };

typedef struct tp_swap_obj_s {
  _Atomic int64_t inner; /* see above */
  _Atomic uint16_t next; /* free stack: next index + 1, 0 at the bottom */
  _Atomic int state;     /* OBJ_*, for the misuse checks */
  void *mem;             /* the object; set once, before it is published */
} __attribute__((aligned(64))) tp_swap_obj_t;

struct tierpool_swap_s {
  _Atomic uint64_t cur;         /* (acquisitions << 16) | current index */
  char pad0[56];
  _Atomic uint64_t free_top;    /* (tag << 16) | (index + 1); 0 index: empty */
  _Atomic uint32_t made;        /* objects made (indices 0 .. made-1) */
  _Atomic uint32_t freed_seq;   /* futex word: bumped on every recycle */
  _Atomic uint32_t writers_waiting;
  tierpool_swap_opts_t o;
  tp_swap_obj_t *objs;          /* [o.max_objects] */
  _Atomic uint64_t *map;        /* [map_mask + 1]: (address << 16) | index, 0: empty */
  size_t map_mask;
  tp_pool_slot_t *slot;
};

/* ------------------------------------------------------------ address -> index */

TP_HOT size_t map_home(const tierpool_swap_t *s, uintptr_t p) {
  return (size_t)(((p >> 4) * 0x9e3779b97f4a7c15ull) >> 32) & s->map_mask;
}

static void map_insert(tierpool_swap_t *s, void *p, uint32_t idx) {
  uint64_t e = ((uint64_t)(uintptr_t)p << 16) | idx;
  for (size_t i = map_home(s, (uintptr_t)p);; i = (i + 1) & s->map_mask) {
    uint64_t empty = 0;
    if (atomic_compare_exchange_strong_explicit(&s->map[i], &empty, e, memory_order_release,
                                                memory_order_relaxed))
      return;
  }
}

/* The index of object p, or aborts. */
TP_HOT uint32_t index_of(const tierpool_swap_t *s, const void *p, const char *who) {
  uint64_t key = (uint64_t)(uintptr_t)p;
  for (size_t i = map_home(s, (uintptr_t)p), n = 0; n <= s->map_mask; i = (i + 1) & s->map_mask, n++) {
    uint64_t e = atomic_load_explicit(&s->map[i], memory_order_acquire);
    if (!e) break;
    if (e >> 16 == key) return (uint32_t)(e & TP_SWAP_IDX);
  }
  tp_pool_die(who, p);
}

/* ------------------------------------------------------------ the free stack */

static void push_free(tierpool_swap_t *s, uint32_t i) {
  uint64_t top = atomic_load_explicit(&s->free_top, memory_order_relaxed);
  do atomic_store_explicit(&s->objs[i].next, (uint16_t)(top & TP_SWAP_IDX), memory_order_relaxed);
  while (!atomic_compare_exchange_weak_explicit(&s->free_top, &top,
                                                ((top >> 16) + 1) << 16 | (i + 1),
                                                memory_order_release, memory_order_relaxed));
}

static int64_t pop_free(tierpool_swap_t *s) {
  uint64_t top = atomic_load_explicit(&s->free_top, memory_order_acquire);
  while (top & TP_SWAP_IDX) {
    uint32_t i = (uint32_t)(top & TP_SWAP_IDX) - 1;
    uint16_t next = atomic_load_explicit(&s->objs[i].next, memory_order_relaxed);
    if (atomic_compare_exchange_weak_explicit(&s->free_top, &top, ((top >> 16) + 1) << 16 | next,
                                              memory_order_acquire, memory_order_acquire))
      return i;
  }
  return -1;
}

/* The last reader is gone (or the object was never published): back to
 * the pool. Runs in a reader's thread too: never blocks. */
static void recycle(tierpool_swap_t *s, uint32_t i) {
  tp_swap_obj_t *o = &s->objs[i];
  atomic_store_explicit(&o->state, OBJ_FREE, memory_order_relaxed);
  if (s->o.recycle) s->o.recycle(o->mem, s->o.arg);
  tp_pool_park(o->mem);
  push_free(s, i);
  tp_pc_back(s->slot);
  /* seq_cst on both sides (here and the waiter's count): a waiter counted
   * after this load saw the old seq and finds it changed in futex_wait. */
  atomic_fetch_add(&s->freed_seq, 1);
  if (atomic_load(&s->writers_waiting))
    syscall(SYS_futex, &s->freed_seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* ------------------------------------------------------------ create */

/* Makes object number i (i < max_objects, reserved by the caller). */
static int make_obj(tierpool_swap_t *s, uint32_t i) {
  void *m = tp_malloc(s->o.size);
  if (!m) return ENOMEM;
  memset(m, 0, s->o.size);
  s->objs[i].mem = m;
  map_insert(s, m, i);
  tp_pc_add(s->slot, TP_PC_created, 1);
  return 0;
}

static void free_all(tierpool_swap_t *s) {
  uint32_t made = atomic_load(&s->made);
  for (uint32_t i = 0; i < made; i++) {
    void *m = s->objs[i].mem;
    if (!m) continue;
    if (atomic_load(&s->objs[i].state) == OBJ_FREE) tp_pool_unpark(m, s->o.size);
    if (s->o.fini) s->o.fini(m, s->o.arg);
    tp_free(m);
  }
  tp_pool_free(s->objs);
  tp_pool_free((void *)s->map);
  tp_pool_free(s);
}

TP_API int tierpool_swap_create(tierpool_swap_t **out, const tierpool_swap_opts_t *opts) {
  if (!out || !opts || opts->size == 0 || opts->max_objects > TP_SWAP_IDX ||
      (opts->max_objects && opts->max_objects < 3))
    return EINVAL;
  tierpool_swap_t *s = tp_pool_alloc(sizeof *s);
  if (!s) return ENOMEM;
  s->o = *opts;
  if (!s->o.max_objects) s->o.max_objects = 64;
  size_t mapn = 4;
  while (mapn < 2 * s->o.max_objects) mapn <<= 1;
  s->map_mask = mapn - 1;
  s->objs = tp_pool_alloc(s->o.max_objects * sizeof(tp_swap_obj_t));
  s->map = tp_pool_alloc(mapn * sizeof(uint64_t));
  s->slot = tp_pool_register("swap", opts->name, "swap");
  s->o.name = s->slot->name;
  int rc = !s->objs || !s->map ? ENOMEM : make_obj(s, 0);
  if (!rc) {
    atomic_store(&s->made, 1);
    atomic_store(&s->objs[0].state, OBJ_WRITING); /* not parked: freed as it is on failure */
    if (opts->init) rc = opts->init(s->objs[0].mem, opts->arg);
  }
  if (rc) {
    tp_pool_unregister(s->slot);
    free_all(s); /* made is 0 when objs or map is missing */
    return rc;
  }
  atomic_store(&s->objs[0].inner, TP_SWAP_BIAS);
  atomic_store(&s->objs[0].state, OBJ_CURRENT);
  tp_pc_out(s->slot);
  atomic_store_explicit(&s->cur, 0, memory_order_release);
  *out = s;
  return 0;
}

/* ------------------------------------------------------------ readers */

/* Moves the acquisitions counted in cur into the object's inner count, so
 * the 48-bit count never wraps. The add comes first: if a writer swaps the
 * object out in between, it adds those acquisitions too, inner is over by
 * that much (which can only delay a recycle), and the failed CAS takes the
 * extra back, recycling if that was the last reference. */
static TP_COLD void transfer(tierpool_swap_t *s, uint64_t seen) {
  uint64_t c = atomic_load_explicit(&s->cur, memory_order_relaxed);
  uint32_t i = (uint32_t)(c & TP_SWAP_IDX);
  if (i != (seen & TP_SWAP_IDX) || (c >> 16) < tp_swap_transfer_at_for_test) return;
  int64_t n = (int64_t)(c >> 16);
  atomic_fetch_add_explicit(&s->objs[i].inner, n, memory_order_acq_rel);
  if (!atomic_compare_exchange_strong_explicit(&s->cur, &c, i, memory_order_acq_rel,
                                               memory_order_relaxed) &&
      atomic_fetch_sub_explicit(&s->objs[i].inner, n, memory_order_acq_rel) == n)
    recycle(s, i);
}

TP_API const void *tierpool_swap_acquire(tierpool_swap_t *s) {
  if (tp_unlikely(!s)) tp_pool_die("tierpool_swap_acquire: NULL container", s);
  uint64_t w = atomic_fetch_add_explicit(&s->cur, TP_SWAP_ONE, memory_order_acquire);
  if (tp_unlikely((w >> 16) >= tp_swap_transfer_at_for_test)) transfer(s, w);
  return s->objs[w & TP_SWAP_IDX].mem;
}

TP_API void tierpool_swap_release(tierpool_swap_t *s, const void *obj) {
  if (tp_unlikely(!s)) tp_pool_die("tierpool_swap_release: NULL container", obj);
  uint32_t i = index_of(s, obj, "tierpool_swap_release: not an object of this container");
  tp_swap_obj_t *o = &s->objs[i];
  int st = atomic_load_explicit(&o->state, memory_order_relaxed);
  if (tp_unlikely(st == OBJ_FREE || st == OBJ_WRITING))
    tp_pool_die("tierpool_swap_release: object not being read (released twice?)", obj);
  /* acq_rel: the reader's reads happen before the recycle that follows. */
  if (atomic_fetch_sub_explicit(&o->inner, 1, memory_order_acq_rel) == 1) recycle(s, i);
}

/* ------------------------------------------------------------ writers */

TP_API void *tierpool_swap_write_begin(tierpool_swap_t *s) {
  if (!s) {
    errno = EINVAL;
    return NULL;
  }
  for (;;) {
    uint32_t seq = atomic_load_explicit(&s->freed_seq, memory_order_acquire);
    int64_t i = pop_free(s);
    if (i < 0) {
      uint32_t made = atomic_load_explicit(&s->made, memory_order_relaxed);
      if (made < s->o.max_objects) {
        if (!atomic_compare_exchange_strong(&s->made, &made, made + 1)) continue;
        i = made;
      } else {
        /* Every object is current, retired or being written: wait for a
         * recycle (readers finishing). */
        atomic_fetch_add(&s->writers_waiting, 1);
        syscall(SYS_futex, &s->freed_seq, FUTEX_WAIT_PRIVATE, seq, NULL, NULL, 0);
        atomic_fetch_sub(&s->writers_waiting, 1);
        continue;
      }
    } else if (s->objs[i].mem) {
      tp_pool_unpark(s->objs[i].mem, s->o.size);
    }
    /* A reserved index whose memory could not be had yet (ENOMEM): try
     * again; on failure it waits in the free stack for the next writer. */
    if (!s->objs[i].mem && make_obj(s, (uint32_t)i)) {
      push_free(s, (uint32_t)i);
      errno = ENOMEM;
      return NULL;
    }
    atomic_store_explicit(&s->objs[i].state, OBJ_WRITING, memory_order_relaxed);
    tp_pc_out(s->slot);
    return s->objs[i].mem;
  }
}

static uint32_t writing_index(tierpool_swap_t *s, void *obj, const char *who) {
  if (!s) tp_pool_die(who, obj);
  uint32_t i = index_of(s, obj, who);
  if (atomic_load_explicit(&s->objs[i].state, memory_order_relaxed) != OBJ_WRITING) tp_pool_die(who, obj);
  return i;
}

TP_API void tierpool_swap_commit(tierpool_swap_t *s, void *obj) {
  uint32_t i = writing_index(s, obj, "tierpool_swap_commit: not an object from tierpool_swap_write_begin");
  tp_swap_obj_t *o = &s->objs[i];
  atomic_store_explicit(&o->inner, TP_SWAP_BIAS, memory_order_relaxed);
  atomic_store_explicit(&o->state, OBJ_CURRENT, memory_order_relaxed);
  /* release: the object's contents before any reader that sees the index. */
  uint64_t old = atomic_exchange_explicit(&s->cur, i, memory_order_acq_rel);
  uint32_t oi = (uint32_t)(old & TP_SWAP_IDX);
  int64_t n = (int64_t)(old >> 16);
  atomic_store_explicit(&s->objs[oi].state, OBJ_RETIRED, memory_order_relaxed);
  int64_t left = atomic_fetch_add_explicit(&s->objs[oi].inner, n - TP_SWAP_BIAS, memory_order_acq_rel) +
                 n - TP_SWAP_BIAS;
  tp_pc_add(s->slot, TP_PC_swaps, 1);
  tp_pc_max(s->slot, TP_PC_readers_peak, (uint64_t)left);
  if (left == 0) recycle(s, oi);
}

TP_API void tierpool_swap_abort(tierpool_swap_t *s, void *obj) {
  recycle(s, writing_index(s, obj, "tierpool_swap_abort: not an object from tierpool_swap_write_begin"));
}

TP_API int tierpool_swap_stats(const tierpool_swap_t *s, tierpool_pool_stats_t *out) {
  if (!s || !out) return EINVAL;
  tp_pool_snapshot(s->slot, out);
  return 0;
}

TP_API int tierpool_swap_destroy(tierpool_swap_t *s) {
  if (!s) return EINVAL;
  uint64_t c = atomic_load(&s->cur);
  uint32_t made = atomic_load(&s->made);
  int64_t readers = (int64_t)(c >> 16) + atomic_load(&s->objs[c & TP_SWAP_IDX].inner) - TP_SWAP_BIAS;
  bool busy = readers != 0;
  for (uint32_t i = 0; i < made; i++) {
    int st = atomic_load(&s->objs[i].state);
    busy |= st == OBJ_WRITING || st == OBJ_RETIRED;
  }
  if (busy) return EBUSY;
  tp_pc_add(s->slot, TP_PC_destroyed, made);
  tp_pool_unregister(s->slot);
  free_all(s);
  return 0;
}
