/* registry.h - named pools: the slot each pool's counters live in, and the
 * "pools" section of the dumps.
 *
 * A slot is static storage (never freed), so a dump, which may run in a
 * signal handler, reads counters without a lock and without caring whether
 * the pool is being destroyed meanwhile: the worst it sees is a row of a
 * pool that has just gone. Pools beyond TP_POOL_SLOTS share one "(others)"
 * slot. Counters are relaxed atomics: each is exact, the row is not a
 * snapshot across counters.
 */
#ifndef TP_POOLS_REGISTRY_H
#define TP_POOLS_REGISTRY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common.h"
#include "tierpool_pools.h"

#pragma GCC visibility push(hidden)

enum tp_pc {
#define TP_PC_ENUM(field, type, doc) TP_PC_##field,
  TIERPOOL_POOL_COUNTERS(TP_PC_ENUM)
#undef TP_PC_ENUM
  TP_PC_COUNT
};

typedef struct tp_pool_slot_s {
  _Atomic int used;                 /* 1 while a pool owns the slot */
  const char *kind;                 /* "objpool", "bounded", ... (static string) */
  char name[TIERPOOL_NAME_MAX + 1];
  /* Fills the counters itself (buffers: striped counters); NULL: c[]. */
  void (*snap)(tierpool_pool_stats_t *out);
  _Atomic uint64_t c[TP_PC_COUNT];
} tp_pool_slot_t;

/* A slot for a new pool (never NULL: the shared one when all are taken).
 * Registers the dump section on first use. */
tp_pool_slot_t *tp_pool_register(const char *kind, const char *name, const char *fallback);
void tp_pool_unregister(tp_pool_slot_t *s);
void tp_pool_snapshot(const tp_pool_slot_t *s, tierpool_pool_stats_t *out);

TP_HOT void tp_pc_add(tp_pool_slot_t *s, enum tp_pc c, uint64_t v) {
  atomic_fetch_add_explicit(&s->c[c], v, memory_order_relaxed);
}

/* Raises *a to at least v: a load, and a CAS only when v is a new high. */
TP_HOT void tp_atomic_max(_Atomic uint64_t *a, uint64_t v) {
  uint64_t cur = atomic_load_explicit(a, memory_order_relaxed);
  while (cur < v &&
         !atomic_compare_exchange_weak_explicit(a, &cur, v, memory_order_relaxed, memory_order_relaxed)) {}
}

/* Raises the gauge c to at least v. */
TP_HOT void tp_pc_max(tp_pool_slot_t *s, enum tp_pc c, uint64_t v) { tp_atomic_max(&s->c[c], v); }

/* An object handed out / given back: gets or puts, in use, peak. */
TP_HOT void tp_pc_out(tp_pool_slot_t *s) {
  tp_pc_add(s, TP_PC_gets, 1);
  uint64_t n = atomic_fetch_add_explicit(&s->c[TP_PC_in_use], 1, memory_order_relaxed) + 1;
  tp_pc_max(s, TP_PC_peak, n);
}

/* The same for a pool whose counters one thread at a time updates (an
 * arena's owner, a bounded pool's lock holder): plain loads and stores, no
 * read-modify-write; readers still see whole values. */
TP_HOT void tp_pc_add_owner(tp_pool_slot_t *s, enum tp_pc c, uint64_t v) {
  atomic_store_explicit(&s->c[c], atomic_load_explicit(&s->c[c], memory_order_relaxed) + v,
                        memory_order_relaxed);
}

TP_HOT void tp_pc_out_owner(tp_pool_slot_t *s) {
  tp_pc_add_owner(s, TP_PC_gets, 1);
  tp_pc_add_owner(s, TP_PC_in_use, 1);
  uint64_t n = atomic_load_explicit(&s->c[TP_PC_in_use], memory_order_relaxed);
  if (n > atomic_load_explicit(&s->c[TP_PC_peak], memory_order_relaxed))
    atomic_store_explicit(&s->c[TP_PC_peak], n, memory_order_relaxed);
}

TP_HOT void tp_pc_back_owner(tp_pool_slot_t *s) {
  tp_pc_add_owner(s, TP_PC_puts, 1);
  tp_pc_add_owner(s, TP_PC_in_use, (uint64_t)-1);
}

TP_HOT void tp_pc_back(tp_pool_slot_t *s) {
  tp_pc_add(s, TP_PC_puts, 1);
  atomic_fetch_sub_explicit(&s->c[TP_PC_in_use], 1, memory_order_relaxed);
}

/* Blocks for the pools' own structures: from the tiers, so they are
 * counted, and zeroed. Leak tracking sees them as the pool's creation. */
void *tp_pool_alloc(size_t n);
void tp_pool_free(void *p);

/* An object going back into a pool's idle store is given back as far as
 * the guards are concerned (leak tracking drops its charge, the
 * TIERPOOL_LIMIT count and the hardened state bit follow), and taken again
 * when it is handed out: so an object never released is charged to the
 * stack that acquired it, not to the one that first made it. A parked
 * object is unparked before its memory is freed. No-ops unless the engine
 * is in slow mode. */
void tp_pool_park(void *obj);
void tp_pool_unpark(void *obj, size_t n);

/* Whether p may be read as a heap block, as the engine answers it: a
 * pooled block (tp_is_pooled) or a live forwarded one (tp_fwd_owns).
 * Checked before a pool reads memory around a pointer it was given (a
 * header, a size), so a wild pointer aborts with a message instead of
 * faulting. */
bool tp_pool_is_heap(const void *p);

/* One line on stderr and abort: the misuse would corrupt memory. */
void tp_pool_die(const char *what, const void *p) __attribute__((noreturn, cold));

#pragma GCC visibility pop

#endif
