/* threads.h - what every thread cache shares with the readers of all of
 * them (threads.c owns it): the registry of caches, the bound of their
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
#include <stdint.h>

/* Internal: hidden, so the library reaches it without the GOT. */
#pragma GCC visibility push(hidden)

struct tp_cache_s; /* tp_cache_t, cache.h */

/* Every cache ever made (living, exited, recycled), newest first, linked
 * by next_all. Push-only: a reader may walk it while caches are added. */
struct tp_cache_s *tp_cache_registry(void);
/* Adds a fresh cache to the registry (cache.c, when it maps one). */
void tp_cache_register(struct tp_cache_s *c);

/* Most blocks a thread list of tier t holds (TIERPOOL_CACHE_SIZE): the
 * caches bound their lists with it, the readers turn a list's room into
 * its length with it. */
uint32_t tp_bound_for(unsigned t);

/* Threads that set up a cache, threads whose cache was flushed at exit,
 * and blocks forgotten in a fork child's caches (cache.c counts them,
 * counters.c reports them). */
extern _Atomic uint64_t tp_threads_started, tp_threads_exited, tp_fork_lost;

#pragma GCC visibility pop

#endif
