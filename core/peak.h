/* peak.h - the peaks (peak.c owns them) and the slow path's hook for them.
 *
 * Peaks are sampled, never counted on the fast path: when the slow path
 * takes blocks of a tier from the central pool (a batch or a fresh carve),
 * tp_peak_note compares the blocks now out of the central pool (in use or
 * cached: live can be no more) with the tier's peak so far, two loads of
 * the central pool's line the pop or carve just touched, and only when it
 * is higher sums the tier's live count over the threads (tp_peak_sample).
 */
#ifndef TP_PEAK_H
#define TP_PEAK_H

#include "central.h"
#include "common.h"

#pragma GCC visibility push(hidden)

typedef struct tp_peak_s {
  _Atomic uint64_t blocks;  /* most live blocks seen */
  _Atomic uint64_t bytes;   /* the process's: most live bytes seen; tiers: unused */
  _Atomic uint64_t time_ns; /* CLOCK_REALTIME when it was seen */
} tp_peak_t;

extern tp_peak_t tp_tier_peak[TP_MAX_TIERS];
extern tp_peak_t tp_proc_peak; /* the process's: blocks and bytes at its byte peak */

/* Sums tier t's live count and raises its peak (and the process's). */
void tp_peak_sample(unsigned t) TP_COLD;

/* For a snapshot (counters.c), which sums the live counts itself. Raises
 * tier t's peak to live blocks if that is higher, stamped *when: the clock
 * is read when *when is 0, and the time kept there for the next call. */
void tp_peak_raise_tier(unsigned t, uint64_t live, uint64_t *when);
/* Raises the process's peak to bytes (and blocks) if that is higher,
 * stamped when (the clock when 0). */
void tp_peak_raise_process(uint64_t bytes, uint64_t blocks, uint64_t when);

TP_HOT void tp_peak_note(unsigned t) {
  tp_central_t *ct = &tp_central[t];
  uint64_t carved = atomic_load_explicit(&ct->carve, memory_order_relaxed) >> (t + TP_MIN_SHIFT);
  uint64_t free = atomic_load_explicit(&ct->blocks, memory_order_relaxed);
  if (carved > free &&
      carved - free > atomic_load_explicit(&tp_tier_peak[t].blocks, memory_order_relaxed))
    tp_peak_sample(t);
}

#pragma GCC visibility pop

#endif
