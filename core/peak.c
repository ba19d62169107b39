/* peak.c - the peaks: most live blocks per tier, and the process's most
 * live bytes, with when each was seen (see peak.h for when they are
 * sampled). Relaxed loads and lock-free compare-and-swap only, no lock, no
 * allocation: a signal handler may call all of it.
 *
 * Peaks are sampled, never counted on the fast path (which must not get
 * slower): a tier's live count is summed over the threads when the slow
 * path takes blocks from the central pool (a batch or a fresh carve) and
 * the blocks out of the central pool exceed the tier's peak so far (live
 * can be no more than those), and at every snapshot (counters.c). A rise
 * served wholly from thread caches between two such moments is not seen:
 * a peak is low by at most what the caches held (docs/stats.md, "peak"). */
#include <time.h>

#include "cache.h"
#include "central.h"
#include "peak.h"

/* _Atomic fields (TP_LOAD is for the plain owner-written ones). */
#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

TP_START_DATA tp_peak_t tp_tier_peak[TP_MAX_TIERS];
TP_START_DATA tp_peak_t tp_proc_peak;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Raises *w to v if v is higher; true if it did. */
static bool raise_to(_Atomic uint64_t *w, uint64_t v) {
  uint64_t cur = LOAD(*w);
  while (v > cur)
    if (atomic_compare_exchange_weak_explicit(w, &cur, v, memory_order_relaxed,
                                              memory_order_relaxed))
      return true;
  return false;
}

/* Blocks of tier t in use now: each thread's gets minus its puts is the
 * blocks its slow path moved into its list minus the list's length (see
 * tp_bin_t), plus what threads without a cache did. It reads other
 * threads' list heads, room and net_in while their owners
 * write them with plain stores on the fast path, as a snapshot does: each
 * aligned word is read whole, maybe stale, and a sample is approximate by
 * design. Not instrumented by ThreadSanitizer, which would report exactly
 * that (and cannot name the reader once its history is gone). */
TP_RESIDENT __attribute__((no_sanitize_thread)) static int64_t tier_live(unsigned t) {
  tp_central_t *ct = &tp_central[t];
  int64_t live = (int64_t)(LOAD(ct->orphan_get) - LOAD(ct->orphan_put));
  for (tp_cache_t *c = tp_cache_registry(); c; c = c->next_all) {
    uint64_t len = tp_bin_cached(c, t);
    live += TP_LOAD(c->net_in[t]) - (int64_t)len;
  }
  return live;
}

/* The process's pooled bytes in use now, and blocks. */
static void process_live(uint64_t *bytes, uint64_t *blocks) {
  *bytes = *blocks = 0;
  for (unsigned t = 0; t < tp_layout.ntiers; t++) {
    int64_t live = tier_live(t);
    if (live <= 0) continue;
    *blocks += (uint64_t)live;
    *bytes += (uint64_t)live * tp_tier_size(t);
  }
}

void tp_peak_raise_tier(unsigned t, uint64_t live, uint64_t *when) {
  if (!raise_to(&tp_tier_peak[t].blocks, live)) return;
  if (!*when) *when = now_ns();
  atomic_store_explicit(&tp_tier_peak[t].time_ns, *when, memory_order_relaxed);
}

void tp_peak_raise_process(uint64_t bytes, uint64_t blocks, uint64_t when) {
  if (raise_to(&tp_proc_peak.bytes, bytes)) {
    atomic_store_explicit(&tp_proc_peak.blocks, blocks, memory_order_relaxed);
    atomic_store_explicit(&tp_proc_peak.time_ns, when ? when : now_ns(), memory_order_relaxed);
  }
}

void tp_peak_sample(unsigned t) {
  int64_t live = tier_live(t);
  if (live <= 0) return;
  uint64_t when = 0, bytes, blocks;
  tp_peak_raise_tier(t, (uint64_t)live, &when);
  if (!when) return; /* not a new peak */
  process_live(&bytes, &blocks);
  tp_peak_raise_process(bytes, blocks, when);
}
