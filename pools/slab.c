/* slab.c - bounded slab pools: fixed-size slots carved from an arena
 * mapping (arena.c), at most `limit` bytes of them; freed slots are reused
 * first (a list threaded through them: a free slot's memory is ours).
 *
 * A bitmap with one bit per slot says which slots are out, so a free of a
 * pointer that is not a slot start, of a slot never handed out, or of one
 * already freed aborts. One mutex guards the list, the bitmap and the
 * front.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "arena.h"

struct tierpool_slab_s {
  pthread_mutex_t lock;
  tp_arena_t a;
  size_t size;       /* slot size, a multiple of 16 */
  size_t nslots;     /* slots the limit allows */
  void *free_list;   /* freed slots (lock) */
  uint64_t *out;     /* bit per slot: handed out (lock) */
  size_t out_bytes;
  tp_pool_slot_t *slot;
};

TP_API int tierpool_slab_create(tierpool_slab_t **out, const tierpool_slab_opts_t *opts) {
  if (!out || !opts || opts->size == 0 || opts->size > opts->limit) return EINVAL;
  tierpool_slab_t *s = tp_pool_alloc(sizeof *s);
  if (!s) return ENOMEM;
  s->size = (opts->size + 15) & ~(size_t)15;
  s->nslots = opts->limit / s->size;
  int rc = s->nslots ? tp_arena_init(&s->a, s->nslots * s->size, 0, opts->flags, 0) : EINVAL;
  if (!rc) {
    s->out_bytes = ((s->nslots + 63) / 64 * 8 + 4095) & ~(size_t)4095;
    s->out = mmap(NULL, s->out_bytes, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (s->out == MAP_FAILED) {
      tp_arena_fini(&s->a);
      rc = ENOMEM;
    }
  }
  if (rc) {
    tp_pool_free(s);
    return rc;
  }
  pthread_mutex_init(&s->lock, NULL);
  s->slot = tp_pool_register("slab", opts->name, "slab");
  *out = s;
  return 0;
}

/* The slot number of p, or aborts. Lock held. */
static size_t slot_of(tierpool_slab_t *s, const void *p) {
  uintptr_t off = (uintptr_t)p - (uintptr_t)s->a.lo;
  if (!p || off >= s->a.used || off % s->size)
    tp_pool_die("tierpool_slab_free: not a slot of this pool", p);
  return off / s->size;
}

TP_API void *tierpool_slab_alloc(tierpool_slab_t *s) {
  if (!s) {
    errno = EINVAL;
    return NULL;
  }
  pthread_mutex_lock(&s->lock);
  void *p = s->free_list;
  if (p) s->free_list = *(void **)p;
  else p = tp_arena_alloc(&s->a, s->size, 16); /* ENOMEM at the limit */
  if (p) {
    size_t i = ((uintptr_t)p - (uintptr_t)s->a.lo) / s->size;
    s->out[i / 64] |= (uint64_t)1 << (i % 64);
    tp_pc_out_owner(s->slot); /* under the lock (a reset zeroes in_use): plain stores */
  }
  pthread_mutex_unlock(&s->lock);
  return p;
}

TP_API void tierpool_slab_free(tierpool_slab_t *s, void *p) {
  if (!s) tp_pool_die("tierpool_slab_free: NULL pool", p);
  pthread_mutex_lock(&s->lock);
  size_t i = slot_of(s, p);
  uint64_t bit = (uint64_t)1 << (i % 64);
  if (!(s->out[i / 64] & bit)) {
    pthread_mutex_unlock(&s->lock);
    tp_pool_die("tierpool_slab_free: slot freed twice", p);
  }
  s->out[i / 64] &= ~bit;
  *(void **)p = s->free_list;
  s->free_list = p;
  tp_pc_back_owner(s->slot);
  pthread_mutex_unlock(&s->lock);
}

TP_API void tierpool_slab_reset(tierpool_slab_t *s) {
  if (!s) return;
  pthread_mutex_lock(&s->lock);
  size_t used = (s->a.used / s->size + 63) / 64 * 8;
  memset(s->out, 0, used);
  s->free_list = NULL;
  tp_arena_reset(&s->a);
  uint64_t n = atomic_exchange_explicit(&s->slot->c[TP_PC_in_use], 0, memory_order_relaxed);
  tp_pc_add(s->slot, TP_PC_puts, n);
  pthread_mutex_unlock(&s->lock);
}

TP_API int tierpool_slab_stats(const tierpool_slab_t *s, tierpool_arena_stats_t *mem,
                               tierpool_pool_stats_t *counts) {
  if (!s || (!mem && !counts)) return EINVAL;
  if (mem) tp_arena_stats(&s->a, mem);
  if (counts) tp_pool_snapshot(s->slot, counts);
  return 0;
}

TP_API int tierpool_slab_destroy(tierpool_slab_t *s) {
  if (!s) return EINVAL;
  tp_pool_unregister(s->slot);
  munmap(s->out, s->out_bytes);
  tp_arena_fini(&s->a);
  pthread_mutex_destroy(&s->lock);
  tp_pool_free(s);
  return 0;
}
