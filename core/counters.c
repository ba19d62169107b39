/* counters.c - sums the per-thread counters into a snapshot, keeps the
 * peaks, and merges the recent-lengths rings. Relaxed loads and lock-free
 * compare-and-swap only, no lock, no allocation: a signal handler may call
 * all of it.
 *
 * Peaks are sampled, never counted on the fast path (which must not get
 * slower): a tier's live count is summed over the threads when the slow
 * path takes blocks from the central pool (a batch or a fresh carve) and
 * the blocks out of the central pool exceed the tier's peak so far (live
 * can be no more than those), and at every snapshot. A rise served wholly
 * from thread caches between two such moments is not seen: a peak is low
 * by at most what the caches held (docs/stats.md, "peak"). */
#include <string.h>
#include <time.h>

#include "central.h"
#include "peak.h"
#include "engine.h"
#include "snapshot.h"


/* _Atomic fields (TP_LOAD is for the plain owner-written ones). */
#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

/* ---------------------------------------------------------------- peaks */

tp_peak_t tp_tier_peak[TP_MAX_TIERS];
static tp_peak_t tp_proc_peak;

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
__attribute__((no_sanitize_thread)) static int64_t tier_live(unsigned t) {
  tp_central_t *ct = &tp_central[t];
  int64_t live = (int64_t)(LOAD(ct->orphan_get) - LOAD(ct->orphan_put));
  for (tp_cache_t *c = tp_cache_registry(); c; c = c->next_all) {
    uint32_t room = TP_LOAD(c->bins[t].room);
    uint64_t len = TP_LOAD(c->bins[t].head) && room < tp_bound_for(t) ? tp_bound_for(t) - room : 0;
    live += TP_LOAD(c->bins[t].net_in) - (int64_t)len;
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

static void raise_process(uint64_t bytes, uint64_t blocks, uint64_t when) {
  if (raise_to(&tp_proc_peak.bytes, bytes)) {
    atomic_store_explicit(&tp_proc_peak.blocks, blocks, memory_order_relaxed);
    atomic_store_explicit(&tp_proc_peak.time_ns, when, memory_order_relaxed);
  }
}

void tp_peak_sample(unsigned t) {
  int64_t live = tier_live(t);
  if (live <= 0 || !raise_to(&tp_tier_peak[t].blocks, (uint64_t)live)) return;
  uint64_t when = now_ns(), bytes, blocks;
  atomic_store_explicit(&tp_tier_peak[t].time_ns, when, memory_order_relaxed);
  process_live(&bytes, &blocks);
  raise_process(bytes, blocks, when);
}

/* ------------------------------------------------------------ snapshots */

void tp_stats_collect(tierpool_stats_t *out) {
  memset(out, 0, sizeof *out);
  out->version = TIERPOOL_API_VERSION;
  out->ntiers = tp_layout.ntiers;
  for (unsigned t = 0; t < tp_layout.ntiers; t++) {
    tierpool_tier_stats_t *ts = &out->tiers[t];
    tp_central_t *ct = &tp_central[t];
    ts->size = tp_tier_size(t);
    ts->get = LOAD(ct->orphan_get);
    ts->put = LOAD(ct->orphan_put);
    ts->bytes_requested = LOAD(ct->orphan_bytes);
    ts->central = LOAD(ct->blocks);
    ts->carved_bytes = LOAD(ct->carve);
    ts->committed_bytes = LOAD(ct->commit);
  }
  for (int r = 0; r < TIERPOOL_REASON_COUNT; r++) {
    out->discarded_by_reason[r] = LOAD(tp_orphan_disc_count[r]);
    out->discarded_bytes_by_reason[r] = LOAD(tp_orphan_disc_bytes[r]);
  }
  out->forwarded_frees = LOAD(tp_orphan_fwd_frees);
  for (tp_cache_t *c = tp_cache_registry(); c; c = c->next_all) {
    for (unsigned t = 0; t < tp_layout.ntiers; t++) {
      tierpool_tier_stats_t *ts = &out->tiers[t];
      /* Owner-only fields read while the owner runs: each value is whole,
       * but together they may be off by the operations in flight. */
      uint64_t put = TP_LOAD(c->bins[t].put);
      uint32_t room = TP_LOAD(c->bins[t].room);
      uint64_t len = TP_LOAD(c->bins[t].head) && room < tp_bound_for(t) ? tp_bound_for(t) - room : 0;
      ts->get += put + (uint64_t)TP_LOAD(c->bins[t].net_in) - len;
      ts->put += put;
      ts->cached += len;
      ts->bytes_requested += TP_LOAD(c->bytes[t]);
      if (c->bump[t].end > c->bump[t].cur)
        ts->cached += (c->bump[t].end - c->bump[t].cur) / ts->size;
    }
    for (int r = 0; r < TIERPOOL_REASON_COUNT; r++) {
      out->discarded_by_reason[r] += TP_LOAD(c->disc_count[r]);
      out->discarded_bytes_by_reason[r] += TP_LOAD(c->disc_bytes[r]);
    }
    out->forwarded_frees += TP_LOAD(c->fwd_frees);
  }
  uint64_t when = 0, live_bytes = 0, live_blocks = 0;
  for (unsigned t = 0; t < tp_layout.ntiers; t++) {
    tierpool_tier_stats_t *ts = &out->tiers[t];
    ts->live = (int64_t)(ts->get - ts->put);
    out->total_get += ts->get;
    out->total_put += ts->put;
    /* A snapshot is a sample too. */
    tp_peak_t *pk = &tp_tier_peak[t];
    if (ts->live > 0) {
      live_blocks += (uint64_t)ts->live;
      live_bytes += (uint64_t)ts->live * ts->size;
      if (raise_to(&pk->blocks, (uint64_t)ts->live))
        atomic_store_explicit(&pk->time_ns, when = when ? when : now_ns(), memory_order_relaxed);
    }
    ts->peak_live = LOAD(pk->blocks);
    ts->peak_live_bytes = ts->peak_live * ts->size;
    ts->peak_time_ns = LOAD(pk->time_ns);
  }
  raise_process(live_bytes, live_blocks, when ? when : now_ns());
  out->peak_live = LOAD(tp_proc_peak.blocks);
  out->peak_live_bytes = LOAD(tp_proc_peak.bytes);
  out->peak_time_ns = LOAD(tp_proc_peak.time_ns);
  for (int r = 0; r < TIERPOOL_REASON_COUNT; r++) {
    out->discarded += out->discarded_by_reason[r];
    out->discarded_bytes += out->discarded_bytes_by_reason[r];
  }
  out->threads_started = LOAD(tp_threads_started);
  out->threads_exited = LOAD(tp_threads_exited);
  out->fork_lost_blocks = LOAD(tp_fork_lost);
}

TP_API int tierpool_stats(tierpool_stats_t *out) {
  if (!out) return -1;
  tp_stats_collect(out);
  return 0;
}

size_t tp_recent_lengths(uint64_t *out, size_t max) {
  size_t n = 0;
  /* Round-robin over threads from each one's newest entry back. */
  for (uint64_t k = 0; n < max; k++) {
    int any = 0;
    for (tp_cache_t *c = tp_cache_registry(); c && n < max; c = c->next_all) {
      uint64_t pos = TP_LOAD(c->ring_pos);
      uint64_t have = pos < c->ring_capacity ? pos : c->ring_capacity;
      if (k >= have) continue;
      any = 1;
      out[n++] = TP_LOAD(c->ring[(pos - 1 - k) & c->ring_mask]);
    }
    if (!any) break;
  }
  for (size_t i = 0; i < n / 2; i++) { /* oldest first */
    uint64_t tmp = out[i];
    out[i] = out[n - 1 - i];
    out[n - 1 - i] = tmp;
  }
  return n;
}
