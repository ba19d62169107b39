/* tierpool_pools.h - the pooling library for programs that link tierpool.
 *
 * The pools tierpool grew from, as a C API over the same engine: every
 * block they take comes from the tiers (counted in the per-tier stats,
 * charged to the stack that got it when TIERPOOL_LEAKS is set), and each
 * named pool shows in the dumps with its own counters.
 *
 *   buffers   tierpool_buf_*      tiered get/put, reference counted
 *   objects   tierpool_objpool_*  constructor + reset callback
 *   bounded   tierpool_bounded_*  N objects; acquire blocks, tries, times out, is cancelled
 *   swap      tierpool_swap_*     copy-on-write container for read-mostly data
 *   arenas    tierpool_arena_*, tierpool_slab_*   bump and slab allocation over mmap
 *
 * Errors: functions returning int return 0 or an errno code (never -1);
 * functions returning a pointer return NULL and set errno. A NULL pool or a
 * size of 0 is EINVAL. Misuse that would corrupt memory (a release of a
 * buffer whose count is already zero, a put or release of a pointer the
 * pool never handed out, a double release) writes one line to stderr and
 * aborts, as glibc does on a double free.
 *
 * Link with -ltierpool (pkg-config tierpool). See docs/pools.md.
 */
#ifndef TIERPOOL_POOLS_H
#define TIERPOOL_POOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest pool name kept (longer names are cut). */
#define TIERPOOL_NAME_MAX 31

/* A named pool's counters, as the dumps show them (one list, which makes
 * the struct below and the dump's columns). Fields that do not apply to a
 * kind stay 0. X(field, COUNTER or GAUGE, what it counts) */
#define TIERPOOL_POOL_COUNTERS(X)                                              \
  X(gets, COUNTER, "Objects (or buffers) handed out.")                         \
  X(puts, COUNTER, "Objects given back.")                                      \
  X(in_use, GAUGE, "Objects handed out and not given back.")                   \
  X(peak, GAUGE, "Most objects in use at once.")                               \
  X(created, COUNTER, "Objects made (constructor runs).")                      \
  X(destroyed, COUNTER, "Objects freed (refused resets, pool destroyed).")     \
  X(waits, COUNTER, "Bounded pools: acquires that had to wait.")               \
  X(timeouts, COUNTER, "Bounded pools: acquires that gave up at their deadline.") \
  X(cancellations, COUNTER, "Bounded pools: acquires cancelled.")              \
  X(swaps, COUNTER, "Swap containers: objects swapped in.")                    \
  X(readers_peak, GAUGE, "Swap containers: most readers an object still had when it was swapped out.")

typedef struct tierpool_pool_stats_s {
#define TIERPOOL_POOL_FIELD(field, type, doc) uint64_t field;
  TIERPOOL_POOL_COUNTERS(TIERPOOL_POOL_FIELD)
#undef TIERPOOL_POOL_FIELD
} tierpool_pool_stats_t;

/* ------------------------------------------------ refcounted buffers
 * Thread safety: every function, from any thread; a buffer may be
 * retained in one thread and released in another. */

/* A block of at least n bytes from the tier that fits n, with a reference
 * count of 1. *cap (if not NULL) receives its capacity: the tier's size, or
 * n rounded up for sizes past the largest tier. NULL with errno EINVAL
 * (n == 0) or ENOMEM. */
void *tierpool_buf_get(size_t n, size_t *cap);
/* The capacity of buffer p. Aborts if p is not a live buffer. */
size_t tierpool_buf_cap(const void *p);
/* Adds a reference; returns p. Aborts if p is not a live buffer. */
void *tierpool_buf_retain(void *p);
/* Drops a reference; at zero the block goes back to its tier. Aborts on a
 * count already at zero or a pointer that is not a buffer. */
void tierpool_buf_release(void *p);
/* Gives back a buffer that has no other owner: release, but aborts if
 * another reference is still held (a put that would free early). */
void tierpool_buf_put(void *p);
/* The current count of p (0 for a block that is not a live buffer). */
uint32_t tierpool_buf_refs(const void *p);

/* Retain-and-hand-out: retains p for a new owner and returns the function
 * that owner calls, once, to drop it (for APIs that take a pointer and its
 * free function). */
typedef void (*tierpool_release_fn)(void *p);
tierpool_release_fn tierpool_buf_hand_out(void *p);

/* Counters of all buffers (the "buffers" row of the dumps; peak is 0: a
 * process-wide peak would need a shared write on every get). */
int tierpool_buf_stats(tierpool_pool_stats_t *out);

/* ------------------------------------------------ introspection
 * From any thread; none of these allocates. */

/* Sizes of the tiers that have handed out at least one block, smallest
 * first; returns how many (at most max). */
size_t tierpool_tiers_in_use(uint64_t *sizes, size_t max);
/* The most recent requested lengths, oldest first, merged over threads;
 * returns how many (at most max). */
size_t tierpool_recent_lengths(uint64_t *out, size_t max);
/* Requests forwarded to mimalloc (past the tiers, odd alignment, full). */
uint64_t tierpool_discarded(void);

/* ------------------------------------------------ object pool
 * Objects of a fixed size, made by a constructor on demand and kept for
 * reuse after a reset. Thread safety: every function from any thread (one
 * mutex per pool); the callbacks run without it held. */
typedef struct tierpool_objpool_s tierpool_objpool_t;

typedef struct tierpool_objpool_opts_s {
  const char *name;   /* shown in the dumps; NULL: "objpool" */
  size_t size;        /* object size in bytes, > 0 */
  size_t max_idle;    /* objects kept for reuse; more are freed. 0: 64 */
  /* Makes a fresh object (memory from the tiers, uninitialised); returns 0
   * or an errno code, which acquire returns. NULL: the memory is zeroed. */
  int (*init)(void *obj, void *arg);
  /* Readies a released object for reuse; false refuses it: the object is
   * finalised and freed instead of pooled. NULL: always reusable. */
  bool (*reset)(void *obj, void *arg);
  /* Before an object's memory is freed. NULL: nothing. */
  void (*fini)(void *obj, void *arg);
  void *arg;          /* passed to the callbacks */
} tierpool_objpool_opts_t;

/* 0, EINVAL (NULL arguments, size 0) or ENOMEM. */
int tierpool_objpool_create(tierpool_objpool_t **out, const tierpool_objpool_opts_t *opts);
/* An idle object, or a new one. 0, EINVAL, ENOMEM or init's error. */
int tierpool_objpool_acquire(tierpool_objpool_t *p, void **obj);
/* Resets obj and keeps it (or frees it if reset refuses or the pool holds
 * max_idle). Aborts if obj was not handed out by p (or is released twice). */
void tierpool_objpool_release(tierpool_objpool_t *p, void *obj);
int tierpool_objpool_stats(const tierpool_objpool_t *p, tierpool_pool_stats_t *out);
/* Frees the idle objects and the pool. Objects still out are the caller's
 * bug: they are reported in the dump (in use) and left alone. EINVAL. */
int tierpool_objpool_destroy(tierpool_objpool_t *p);

/* ------------------------------------------------ bounded pool
 * N objects made at creation; at most N are out at once. Thread safety:
 * every function from any thread. */
typedef struct tierpool_bounded_s tierpool_bounded_t;

/* A cancellation token: one per waiting acquire that may be cancelled.
 * Initialise with TIERPOOL_CANCEL_INIT (or tierpool_cancel_reset). */
typedef struct tierpool_cancel_s {
  int cancelled; /* set by tierpool_bounded_cancel (read and written atomically) */
} tierpool_cancel_t;
#define TIERPOOL_CANCEL_INIT {0}
void tierpool_cancel_reset(tierpool_cancel_t *c);

typedef struct tierpool_bounded_opts_s {
  const char *name;  /* NULL: "bounded" */
  size_t count;      /* N, > 0 */
  size_t size;       /* object size, > 0 */
  int (*init)(void *obj, void *arg); /* NULL: zeroed */
  void (*fini)(void *obj, void *arg);
  void *arg;
} tierpool_bounded_opts_t;

/* 0, EINVAL, ENOMEM or init's error (the objects made so far are freed). */
int tierpool_bounded_create(tierpool_bounded_t **out, const tierpool_bounded_opts_t *opts);
/* Takes an object, waiting while none is free: until deadline (absolute,
 * CLOCK_MONOTONIC; NULL: forever) or until cancel (may be NULL) is
 * cancelled. 0, EINVAL (also a deadline whose tv_nsec is outside 0 to
 * 999999999), ETIMEDOUT or ECANCELED. */
int tierpool_bounded_acquire(tierpool_bounded_t *p, void **obj, const struct timespec *deadline,
                             tierpool_cancel_t *cancel);
/* Takes an object if one is free now: 0, EINVAL or EAGAIN. */
int tierpool_bounded_try_acquire(tierpool_bounded_t *p, void **obj);
/* Wakes the acquire waiting with token c: it returns ECANCELED. A token
 * cancelled before its acquire starts makes that acquire fail at once.
 * 0 or EINVAL. */
int tierpool_bounded_cancel(tierpool_bounded_t *p, tierpool_cancel_t *c);
/* Gives obj back. Aborts if obj is not one of p's objects or is not out. */
void tierpool_bounded_release(tierpool_bounded_t *p, void *obj);
int tierpool_bounded_stats(const tierpool_bounded_t *p, tierpool_pool_stats_t *out);
/* Frees the pool; EBUSY (nothing freed) while objects are out or acquires
 * wait. 0 or EINVAL. */
int tierpool_bounded_destroy(tierpool_bounded_t *p);

/* ------------------------------------------------ copy-on-write swap container
 * One current object, read by many threads, replaced whole by writers.
 * Readers never wait: acquire is one atomic add, release one atomic
 * subtract. A replaced object goes back to the pool only after its last
 * reader released it, so a reader never sees an object being refilled.
 * Thread safety: every function from any thread, any number of readers
 * and writers. Objects come from the tiers; the steady state allocates
 * nothing. */
typedef struct tierpool_swap_s tierpool_swap_t;

typedef struct tierpool_swap_opts_s {
  const char *name;   /* NULL: "swap" */
  size_t size;        /* object size, > 0 */
  size_t max_objects; /* objects the pool may make (current + retired + being
                       * written), 3 to 65535. 0: 64. write_begin waits for
                       * one to come back when all exist and are busy. */
  /* Fills the first current object; NULL: zeroed. 0 or an errno code. */
  int (*init)(void *obj, void *arg);
  /* Runs when a retired object comes back to the pool (its last reader
   * gone), in the thread that released it. NULL: nothing. */
  void (*recycle)(void *obj, void *arg);
  void (*fini)(void *obj, void *arg);
  void *arg;
} tierpool_swap_opts_t;

int tierpool_swap_create(tierpool_swap_t **out, const tierpool_swap_opts_t *opts);
/* The current object, valid until tierpool_swap_release. Never NULL for a
 * valid container; never waits. Aborts on NULL. */
const void *tierpool_swap_acquire(tierpool_swap_t *s);
/* Ends a read. Aborts if obj is not an object of s being read. */
void tierpool_swap_release(tierpool_swap_t *s, const void *obj);
/* A fresh object to fill (its contents: whatever it held last; copy the
 * current object in if the update is incremental). Waits while every
 * object is in use and max_objects exist. NULL with errno EINVAL/ENOMEM. */
void *tierpool_swap_write_begin(tierpool_swap_t *s);
/* Makes obj (from write_begin) the current object; the one it replaces
 * goes back to the pool after its last reader. */
void tierpool_swap_commit(tierpool_swap_t *s, void *obj);
/* Gives back an object from write_begin without swapping it in. */
void tierpool_swap_abort(tierpool_swap_t *s, void *obj);
int tierpool_swap_stats(const tierpool_swap_t *s, tierpool_pool_stats_t *out);
/* Frees everything. EBUSY (nothing freed) while a reader or writer holds
 * an object. 0 or EINVAL. */
int tierpool_swap_destroy(tierpool_swap_t *s);

/* ------------------------------------------------ arena
 * Bump allocation over one mapping of `limit` bytes of address space,
 * committed as it is used. Thread safety: one thread at a time (the caller
 * synchronises); tierpool_arena_stats from any thread. */
typedef struct tierpool_arena_s tierpool_arena_t;

enum tierpool_arena_flags {
  TIERPOOL_ARENA_PREALLOC = 1, /* commit and touch the whole limit at creation */
  TIERPOOL_ARENA_HUGE = 2,     /* MAP_HUGETLB; falls back to normal pages with one warning */
  TIERPOOL_ARENA_HARDEN = 4,   /* memory handed out before a reset faults after it */
  TIERPOOL_ARENA_RELEASE = 8,  /* reset gives the pages back (MADV_DONTNEED) */
};

typedef struct tierpool_arena_opts_s {
  const char *name;   /* NULL: "arena" */
  size_t limit;       /* hard cap on the bytes handed out between resets, > 0 */
  size_t slab;        /* commit granularity; 0: 64 KiB (rounded to pages) */
  unsigned flags;     /* enum tierpool_arena_flags */
  int advice;         /* madvise advice for the mapping (MADV_SEQUENTIAL...); 0: none */
} tierpool_arena_opts_t;

typedef struct tierpool_arena_stats_s {
  uint64_t reserved;  /* address space mapped */
  uint64_t allocated; /* bytes handed out since the last reset, alignment padding included */
  uint64_t committed; /* bytes made accessible (touched or prefaulted) */
  uint64_t peak;      /* most allocated at once */
  uint64_t resets;
  uint64_t huge;      /* 1 when backed by huge pages */
} tierpool_arena_stats_t;

/* 0, EINVAL or ENOMEM. */
int tierpool_arena_create(tierpool_arena_t **out, const tierpool_arena_opts_t *opts);
/* n bytes aligned to align (a power of two; 0: 16). NULL with EINVAL
 * (n == 0, bad align) or ENOMEM (past the limit). */
void *tierpool_arena_alloc(tierpool_arena_t *a, size_t n, size_t align);
/* Forgets every allocation; the mapping stays for reuse. */
void tierpool_arena_reset(tierpool_arena_t *a);
int tierpool_arena_stats(const tierpool_arena_t *a, tierpool_arena_stats_t *out);
int tierpool_arena_destroy(tierpool_arena_t *a);

/* ------------------------------------------------ bounded slab pool
 * Fixed-size slots carved from one mapping, at most `limit` bytes of
 * slots. Thread safety: every function from any thread (one mutex). */
typedef struct tierpool_slab_s tierpool_slab_t;

typedef struct tierpool_slab_opts_s {
  const char *name;   /* NULL: "slab" */
  size_t size;        /* slot size (rounded up to 16), > 0 */
  size_t limit;       /* bytes of slots at most, >= size */
  unsigned flags;     /* TIERPOOL_ARENA_PREALLOC, _HUGE, _HARDEN */
} tierpool_slab_opts_t;

int tierpool_slab_create(tierpool_slab_t **out, const tierpool_slab_opts_t *opts);
/* A slot, NULL with ENOMEM when limit bytes of slots are out (EINVAL on NULL). */
void *tierpool_slab_alloc(tierpool_slab_t *s);
/* Aborts if p is not a slot of s that is out. */
void tierpool_slab_free(tierpool_slab_t *s, void *p);
/* Frees every slot at once (keeps the mapping). */
void tierpool_slab_reset(tierpool_slab_t *s);
int tierpool_slab_stats(const tierpool_slab_t *s, tierpool_arena_stats_t *mem,
                        tierpool_pool_stats_t *counts);
int tierpool_slab_destroy(tierpool_slab_t *s);

#ifdef __cplusplus
}
#endif

#endif /* TIERPOOL_POOLS_H */
