/* snapshot.h - what the engine tells stats/ about itself. */
#ifndef TP_SNAPSHOT_H
#define TP_SNAPSHOT_H

#include "tierpool.h"

/* Internal: hidden, so the library reaches it without the GOT. */
#pragma GCC visibility push(hidden)

/* Sums every thread's counters (living, exited and recycled caches) and the
 * central pools into *out. Never allocates, takes no lock: safe in a signal
 * handler. */
void tp_stats_collect(tierpool_stats_t *out);

/* Copies up to max of the most recent requested lengths, merged across
 * threads, oldest first, into out; returns how many. Merge order: each
 * thread's ring is in exact order; threads are interleaved round-robin from
 * their newest entries back, so the result is in approximate time order.
 * Never allocates. */
size_t tp_recent_lengths(uint64_t *out, size_t max);

#pragma GCC visibility pop

#endif
