/* bounded.c - bounded pools (throttles): N objects made at creation, at
 * most N out at once. acquire blocks until one is free, gives up at a
 * deadline (ETIMEDOUT) or when its cancellation token is cancelled
 * (ECANCELED); try_acquire never waits (EAGAIN).
 *
 * One mutex and one condition variable (on CLOCK_MONOTONIC, so a deadline
 * does not move when the wall clock is set). The objects' addresses are
 * kept sorted, so release finds an object's index by binary search and can
 * tell a foreign pointer or a double release from a good one. Free objects
 * are parked (registry.h): a leaked one is charged to its last acquirer.
 * Every counter is written under the lock, with plain stores.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "registry.h"

struct tierpool_bounded_s {
  pthread_mutex_t lock;
  pthread_cond_t freed;      /* signalled on release and on cancel */
  tierpool_bounded_opts_t o;
  void **objs;               /* [o.count], sorted by address (read-only after create) */
  unsigned char *out;        /* [o.count]: 1 while objs[i] is handed out (lock) */
  size_t *free_idx;          /* stack of free indices (lock) */
  size_t nfree;              /* (lock) */
  size_t waiters;            /* acquires waiting (lock) */
  tp_pool_slot_t *slot;
};

TP_API void tierpool_cancel_reset(tierpool_cancel_t *c) {
  if (c) __atomic_store_n(&c->cancelled, 0, __ATOMIC_RELEASE);
}

static int cmp_ptr(const void *a, const void *b) {
  uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
  return x < y ? -1 : x > y;
}

static void free_objs(tierpool_bounded_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    tp_pool_unpark(p->objs[i], p->o.size);
    if (p->o.fini) p->o.fini(p->objs[i], p->o.arg);
    tp_free(p->objs[i]);
  }
}

static void free_pool(tierpool_bounded_t *p) {
  tp_pool_free(p->objs);
  tp_pool_free(p->out);
  tp_pool_free(p->free_idx);
  tp_pool_free(p);
}

TP_API int tierpool_bounded_create(tierpool_bounded_t **out, const tierpool_bounded_opts_t *opts) {
  if (!out || !opts || opts->count == 0 || opts->size == 0 || opts->count > SIZE_MAX / sizeof(void *))
    return EINVAL;
  tierpool_bounded_t *p = tp_pool_alloc(sizeof *p);
  if (!p) return ENOMEM;
  p->o = *opts;
  size_t n = opts->count;
  p->objs = tp_pool_alloc(n * sizeof(void *));
  p->out = tp_pool_alloc(n);
  p->free_idx = tp_pool_alloc(n * sizeof(size_t));
  if (!p->objs || !p->out || !p->free_idx) {
    free_pool(p);
    return ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    int rc = 0;
    void *o = tp_malloc(opts->size);
    if (!o) rc = ENOMEM;
    else if (opts->init) rc = opts->init(o, opts->arg);
    else memset(o, 0, opts->size);
    if (rc) {
      if (o) tp_free(o);
      free_objs(p, i);
      free_pool(p);
      return rc;
    }
    tp_pool_park(o);
    p->objs[i] = o;
  }
  qsort(p->objs, n, sizeof(void *), cmp_ptr);
  for (size_t i = 0; i < n; i++) p->free_idx[i] = n - 1 - i;
  p->nfree = n;
  pthread_mutex_init(&p->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&p->freed, &ca);
  pthread_condattr_destroy(&ca);
  p->slot = tp_pool_register("bounded", opts->name, "bounded");
  p->o.name = p->slot->name;
  tp_pc_add(p->slot, TP_PC_created, n);
  *out = p;
  return 0;
}

/* Takes a free object; the lock is held and nfree > 0. */
static void *take(tierpool_bounded_t *p) {
  size_t i = p->free_idx[--p->nfree];
  p->out[i] = 1;
  tp_pc_out_owner(p->slot); /* under the lock: in_use never passes N, no RMW needed */
  return p->objs[i];
}

static bool cancelled(tierpool_cancel_t *c) {
  return c && __atomic_load_n(&c->cancelled, __ATOMIC_ACQUIRE);
}

TP_API int tierpool_bounded_acquire(tierpool_bounded_t *p, void **obj, const struct timespec *deadline,
                                    tierpool_cancel_t *cancel) {
  if (!p || !obj) return EINVAL;
  /* A deadline pthread_cond_timedwait would refuse (EINVAL) at every call:
   * refused here, or the wait below would never end. */
  if (deadline && (deadline->tv_nsec < 0 || deadline->tv_nsec >= 1000000000L)) return EINVAL;
  int rc = 0;
  pthread_mutex_lock(&p->lock);
  if (!p->nfree && !cancelled(cancel)) {
    tp_pc_add_owner(p->slot, TP_PC_waits, 1);
    p->waiters++;
    while (!p->nfree && !cancelled(cancel) && rc == 0)
      rc = deadline ? pthread_cond_timedwait(&p->freed, &p->lock, deadline)
                    : pthread_cond_wait(&p->freed, &p->lock);
    p->waiters--;
  }
  void *o = NULL;
  if (cancelled(cancel)) {
    rc = ECANCELED;
    tp_pc_add_owner(p->slot, TP_PC_cancellations, 1);
  } else if (p->nfree) {
    o = take(p);
    rc = 0;
  } else if (rc != ETIMEDOUT) { /* the wait itself failed: say so, count no timeout */
    rc = rc ? rc : EINVAL;
  } else {
    tp_pc_add_owner(p->slot, TP_PC_timeouts, 1);
  }
  pthread_mutex_unlock(&p->lock);
  if (o) {
    tp_pool_unpark(o, p->o.size);
    *obj = o;
  }
  return rc;
}

TP_API int tierpool_bounded_try_acquire(tierpool_bounded_t *p, void **obj) {
  if (!p || !obj) return EINVAL;
  pthread_mutex_lock(&p->lock);
  void *o = p->nfree ? take(p) : NULL;
  pthread_mutex_unlock(&p->lock);
  if (!o) return EAGAIN;
  tp_pool_unpark(o, p->o.size);
  *obj = o;
  return 0;
}

TP_API int tierpool_bounded_cancel(tierpool_bounded_t *p, tierpool_cancel_t *c) {
  if (!p || !c) return EINVAL;
  __atomic_store_n(&c->cancelled, 1, __ATOMIC_RELEASE);
  /* Under the lock, so a waiter between its check and its wait cannot miss
   * the wake-up. Every waiter wakes; the others wait again. */
  pthread_mutex_lock(&p->lock);
  pthread_cond_broadcast(&p->freed);
  pthread_mutex_unlock(&p->lock);
  return 0;
}

/* objs[] index of obj, or n if obj is not one of p's objects. */
static size_t index_of(const tierpool_bounded_t *p, const void *obj) {
  size_t lo = 0, hi = p->o.count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if ((uintptr_t)p->objs[mid] < (uintptr_t)obj) lo = mid + 1;
    else hi = mid;
  }
  return lo < p->o.count && p->objs[lo] == obj ? lo : p->o.count;
}

TP_API void tierpool_bounded_release(tierpool_bounded_t *p, void *obj) {
  if (!p) tp_pool_die("tierpool_bounded_release: NULL pool", obj);
  size_t i = index_of(p, obj);
  if (i == p->o.count) tp_pool_die("tierpool_bounded_release: not an object of this pool", obj);
  pthread_mutex_lock(&p->lock);
  bool was_out = p->out[i];
  if (was_out) {
    tp_pool_park(obj); /* before it is free: a racing acquire unparks after */
    p->out[i] = 0;
    p->free_idx[p->nfree++] = i;
    tp_pc_back_owner(p->slot);
    if (p->waiters) pthread_cond_signal(&p->freed);
  }
  pthread_mutex_unlock(&p->lock);
  if (!was_out) tp_pool_die("tierpool_bounded_release: object released twice (or never acquired)", obj);
}

TP_API int tierpool_bounded_stats(const tierpool_bounded_t *p, tierpool_pool_stats_t *out) {
  if (!p || !out) return EINVAL;
  tp_pool_snapshot(p->slot, out);
  return 0;
}

TP_API int tierpool_bounded_destroy(tierpool_bounded_t *p) {
  if (!p) return EINVAL;
  pthread_mutex_lock(&p->lock);
  bool busy = p->nfree != p->o.count || p->waiters;
  pthread_mutex_unlock(&p->lock);
  if (busy) return EBUSY;
  tp_pc_add(p->slot, TP_PC_destroyed, p->o.count);
  tp_pool_unregister(p->slot);
  free_objs(p, p->o.count);
  pthread_cond_destroy(&p->freed);
  pthread_mutex_destroy(&p->lock);
  free_pool(p);
  return 0;
}
