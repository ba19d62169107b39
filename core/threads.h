/* threads.h - what every thread cache shares with the readers of all of
 * them (threads.c owns it): the registry of caches, the bounds of their
 * lists, and the process-wide thread counters.
 *
 * It sits below both the caches (cache.c writes it) and the readers
 * (counters.c's snapshots, peak.c's sampling), so that neither
 * needs the other: cache.c samples the peaks on refill, and the peaks sum
 * the caches' counters, through this file and not through each other.
 */
#ifndef TP_THREADS_H
#define TP_THREADS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "layout.h"

/* Internal: hidden, so the library reaches it without the GOT. */
#pragma GCC visibility push(hidden)

struct tp_cache_s; /* tp_cache_t, cache.h */

/* Every cache ever made (living, exited, recycled), newest first, linked
 * by next_all. Push-only: a reader may walk it while caches are added. */
struct tp_cache_s *tp_cache_registry(void);
/* Adds a fresh cache to the registry (cache.c, when it maps one). */
void tp_cache_register(struct tp_cache_s *c);

/* Most blocks a thread list of tier t may hold (TIERPOOL_CACHE_SIZE): the
 * caches bound their lists with it. TIERPOOL_CACHE_SIZE bytes, at least 2
 * blocks, at most 256 (jemalloc keeps 200 of a small class; a batch of 100
 * mallocs and frees never leaves the list). Free blocks in one thread's
 * list serve no other thread, so what the lists may hold is what each
 * thread adds to peak RSS: at most 2048 blocks let the tiers of 2 KiB and
 * less hold 4 MiB a thread, 256 hold 1 MiB. A flush hands the whole list
 * over as one batch, so a long list costs one CAS, not a walk. Inline:
 * refill and flush use it several times each, and a call there costs
 * instructions per malloc+free pair of the large tiers (scripts/bench
 * --micro). */
#define TP_BOUND_MAX 256

TP_HOT uint32_t tp_bound_for(unsigned t) {
  uint64_t b = tp_config.cache_size >> (t + TP_MIN_SHIFT);
  return b < 2 ? 2 : b > TP_BOUND_MAX ? TP_BOUND_MAX : (uint32_t)b;
}

/* Past tp_bound_for, the lists of the tiers of TP_SHARED_SIZE and more
 * that the thread refills often draw on one budget a thread,
 * TIERPOOL_CACHE_LARGE (8 MiB): a batch of 100 blocks of 64 KiB needs a
 * list of 100, where 1 MiB holds 16 (84 of every 100 crossed the central
 * pool and back: 1.16x tcmalloc's time, issue 13). Any one list may take
 * the whole budget, all of them together stay within it (cache.c,
 * shared_grant), and a list the thread stopped using gives its part back
 * when another needs it: a thread's lists of these five tiers hold at most
 * 14 MiB (6 before). Each keeps its own tp_bound_for as before, so no
 * list holds less than it did (bench tier_sweep: 16 blocks of each size
 * from 64 KiB to 1 MiB would want 21 MiB past the floors). From 64 KiB:
 * with the tiers of 16 and 32 KiB in the budget too, bench server_mix
 * (8 B to 64 KiB) peaked 18% higher (15 runs), with no gain in time. */
#define TP_SHARED_SHIFT 16
#define TP_SHARED_SIZE ((size_t)1 << TP_SHARED_SHIFT)

TP_HOT bool tp_tier_shared(unsigned t) { return t + TP_MIN_SHIFT >= TP_SHARED_SHIFT; }

/* Most blocks list t may ever hold: tp_bound_for, plus the whole budget
 * for the shared tiers, at most 256. */
TP_HOT uint32_t tp_bound_max(unsigned t) {
  uint32_t b = tp_bound_for(t);
  if (!tp_tier_shared(t)) return b;
  uint64_t m = b + (tp_config.cache_large >> (t + TP_MIN_SHIFT));
  return m > TP_BOUND_MAX ? TP_BOUND_MAX : (uint32_t)m;
}

/* Every list starts at TP_FLOOR_BYTES of blocks (at least one, at most
 * tp_bound_for) and earns the rest: each cache keeps its own bound per
 * tier (tp_cache_t.bound), between this floor and tp_bound_max, and moves
 * it at every refill (cache.c). With tp_bound_for alone, every thread that
 * touched a tier of 4 KiB or more kept up to 1 MiB in it (2 MiB in the
 * top one), and short threads that allocate a few large blocks among many
 * small ones (bench mstress) added that to peak RSS for each thread alive:
 * 1.25x glibc's with the tiers of 64 KiB and more, and the tiers of 4 to
 * 32 KiB still carved 2.7 MiB (of 43) more than they ever had live. 64 KiB
 * is what a refill carves (cache.c): a list at its floor is one carve. */
#define TP_FLOOR_BYTES ((size_t)64 << 10)

TP_HOT uint32_t tp_bound_floor(unsigned t) {
  uint64_t f = TP_FLOOR_BYTES >> (t + TP_MIN_SHIFT);
  uint32_t hi = tp_bound_for(t);
  return f < 1 ? 1 : f < hi ? (uint32_t)f : hi;
}

/* Threads that set up a cache, threads whose cache was flushed at exit,
 * and blocks forgotten in a fork child's caches (cache.c counts them,
 * counters.c reports them). */
extern _Atomic uint64_t tp_threads_started, tp_threads_exited, tp_fork_lost;

#pragma GCC visibility pop

#endif
