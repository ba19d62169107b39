/* counters.c - sums the per-thread counters into a snapshot, raises the
 * peaks with what it summed (peak.c keeps them), and merges the
 * recent-lengths rings. Relaxed loads only, no lock, no allocation: a
 * signal handler may call all of it. */
#include <string.h>

#include "central.h"
#include "peak.h"
#include "engine.h"
#include "snapshot.h"
#include "threads.h"


/* _Atomic fields (TP_LOAD is for the plain owner-written ones). */
#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

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
      uint64_t len = tp_bin_cached(c, t);
      ts->get += put + (uint64_t)TP_LOAD(c->net_in[t]) - len;
      ts->put += put;
      ts->cached += len;
      ts->bytes_requested += TP_LOAD(c->bytes[t]);
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
      tp_peak_raise_tier(t, (uint64_t)ts->live, &when);
    }
    ts->peak_live = LOAD(pk->blocks);
    ts->peak_live_bytes = ts->peak_live * ts->size;
    ts->peak_time_ns = LOAD(pk->time_ns);
  }
  tp_peak_raise_process(live_bytes, live_blocks, when);
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
