/* objpool.c - object pools: a constructor makes objects on demand, a reset
 * readies a released one for reuse (or refuses it: then it is freed).
 *
 * Idle objects wait in an array of pointers (not a list threaded through
 * them: their contents are the user's, reset and all), guarded by one
 * mutex; the callbacks run outside it. Objects are tier blocks, so they are
 * counted per tier; while idle they are parked (registry.h), so a leaked
 * object is charged to whoever acquired it last.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "engine.h"
#include "registry.h"

struct tierpool_objpool_s {
  pthread_mutex_t lock;
  tierpool_objpool_opts_t o;
  size_t nidle;      /* idle[0 .. nidle-1] (lock) */
  void **idle;       /* [o.max_idle] */
  tp_pool_slot_t *slot;
};

TP_API int tierpool_objpool_create(tierpool_objpool_t **out, const tierpool_objpool_opts_t *opts) {
  if (!out || !opts || opts->size == 0) return EINVAL;
  tierpool_objpool_t *p = tp_pool_alloc(sizeof *p);
  if (!p) return ENOMEM;
  p->o = *opts;
  if (!p->o.max_idle) p->o.max_idle = 64;
  p->idle = tp_pool_alloc(p->o.max_idle * sizeof(void *));
  if (!p->idle) {
    tp_pool_free(p);
    return ENOMEM;
  }
  pthread_mutex_init(&p->lock, NULL);
  p->slot = tp_pool_register("objpool", opts->name, "objpool");
  p->o.name = p->slot->name;
  *out = p;
  return 0;
}

/* Frees an object that is out (not parked). */
static void obj_free(tierpool_objpool_t *p, void *obj) {
  if (p->o.fini) p->o.fini(obj, p->o.arg);
  tp_free(obj);
  tp_pc_add(p->slot, TP_PC_destroyed, 1);
}

TP_API int tierpool_objpool_acquire(tierpool_objpool_t *p, void **obj) {
  if (!p || !obj) return EINVAL;
  pthread_mutex_lock(&p->lock);
  void *o = p->nidle ? p->idle[--p->nidle] : NULL;
  pthread_mutex_unlock(&p->lock);
  if (o) {
    tp_pool_unpark(o, p->o.size);
  } else {
    if (!(o = tp_malloc(p->o.size))) return ENOMEM;
    int rc = 0;
    if (p->o.init) rc = p->o.init(o, p->o.arg);
    else memset(o, 0, p->o.size);
    if (rc) {
      tp_free(o);
      return rc;
    }
    tp_pc_add(p->slot, TP_PC_created, 1);
  }
  tp_pc_out(p->slot);
  *obj = o;
  return 0;
}

/* What release can check cheaply: obj is a block of this pool's size class
 * (its start, not an interior pointer), and not idle already. */
static void check_release(tierpool_objpool_t *p, void *obj) {
  if (!obj || ((uintptr_t)obj & 15) != 0 || !tp_pool_is_heap(obj) ||
      (tp_is_pooled(obj) &&
       (((uintptr_t)obj - tp_layout.base) & (tp_tier_size((unsigned)tp_tier_of_ptr(obj)) - 1)) != 0) ||
      tp_usable_size(obj) < p->o.size)
    tp_pool_die("tierpool_objpool_release: not an object of this pool", obj);
}

static bool is_idle(tierpool_objpool_t *p, const void *obj) {
  for (size_t i = 0; i < p->nidle; i++)
    if (p->idle[i] == obj) return true;
  return false;
}

TP_API void tierpool_objpool_release(tierpool_objpool_t *p, void *obj) {
  if (!p) tp_pool_die("tierpool_objpool_release: NULL pool", obj);
  check_release(p, obj);
  pthread_mutex_lock(&p->lock);
  bool twice = is_idle(p, obj);
  pthread_mutex_unlock(&p->lock);
  if (twice) tp_pool_die("tierpool_objpool_release: object released twice", obj);
  bool keep = !p->o.reset || p->o.reset(obj, p->o.arg);
  tp_pc_back(p->slot);
  if (keep) {
    tp_pool_park(obj);
    pthread_mutex_lock(&p->lock);
    if (p->nidle < p->o.max_idle) {
      p->idle[p->nidle++] = obj;
      obj = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    if (!obj) return;
    tp_pool_unpark(obj, p->o.size); /* no room: freed after all */
  }
  obj_free(p, obj);
}

TP_API int tierpool_objpool_stats(const tierpool_objpool_t *p, tierpool_pool_stats_t *out) {
  if (!p || !out) return EINVAL;
  tp_pool_snapshot(p->slot, out);
  return 0;
}

TP_API int tierpool_objpool_destroy(tierpool_objpool_t *p) {
  if (!p) return EINVAL;
  for (size_t i = 0; i < p->nidle; i++) {
    tp_pool_unpark(p->idle[i], p->o.size);
    obj_free(p, p->idle[i]);
  }
  pthread_mutex_destroy(&p->lock);
  tp_pool_unregister(p->slot);
  tp_pool_free(p->idle);
  tp_pool_free(p);
  return 0;
}
