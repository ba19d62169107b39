/* tierpool.h - the public C API of tierpool.
 *
 * tierpool is a malloc. Preloaded (LD_PRELOAD=libtierpool.so) or linked, it
 * serves every power-of-two size class from thread-cached tiered pools and
 * counts every get and put per tier. This header lets a program that links
 * the library (pkg-config tierpool) read those counters and trigger dumps.
 *
 * Every function here is safe to call from any thread. None of them calls
 * malloc. When the library is not in the process, do not call them: link it
 * (-ltierpool) or resolve them with dlsym(RTLD_DEFAULT, ...) first.
 */
#ifndef TIERPOOL_H
#define TIERPOOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on every incompatible change of the structs below. */
#define TIERPOOL_API_VERSION 2

/* The most tiers a build can have: 16 B .. 2 GiB. */
#define TIERPOOL_MAX_TIERS 28

/* Why a request went to the fallback allocator (mimalloc). */
enum tierpool_reason {
  TIERPOOL_REASON_TOO_LARGE = 0, /* size above the largest tier */
  TIERPOOL_REASON_ALIGNMENT = 1, /* alignment above the largest tier */
  TIERPOOL_REASON_POOL_FULL = 2, /* the tier's region has no room left */
  TIERPOOL_REASON_NO_POOL = 3,   /* pools unavailable (reservation failed, early init) */
  TIERPOOL_REASON_COUNT = 4
};

/* ---- the counters, declared once ----
 *
 * Each counter is one line of an X-macro (mimalloc's idea):
 *   X(type, field, kind, unit, label, metric, help)
 * kind:   COUNTER (only grows) or GAUGE
 * unit:   COUNT, BYTES, SIZE (a tier size) or TIME (ns since the epoch, 0: never)
 * label:  the text table's column or line label (NULL: not in text)
 * metric: the Prometheus name without "tierpool_" (NULL: not a metric)
 * The lines generate the structs below and, inside the library, the merge,
 * the text/JSON/Prometheus rendering, the live file's layout and the field
 * descriptions a JSON dump carries ("fields") for tools. The JSON key is the
 * field name. All counts are since process start (or the fork that made
 * this process), summed over every thread, living or exited.
 *
 * Peaks are sampled, not exact: see "peak" in docs/stats.md. */
#define TIERPOOL_TIER_FIELDS(X)                                                   \
  X(uint64_t, size, GAUGE, SIZE, NULL, NULL, "Block size in bytes, a power of two.") \
  X(uint64_t, get, COUNTER, COUNT, "get", "get_total", "Blocks handed out by the tier.") \
  X(uint64_t, put, COUNTER, COUNT, "put", "put_total", "Blocks given back to the tier.") \
  X(int64_t, live, GAUGE, COUNT, "live", "live_blocks", "Blocks in use (get - put).")    \
  X(uint64_t, peak_live, GAUGE, COUNT, "peak", "peak_live_blocks",                   \
    "Most blocks of the tier in use at once (sampled: see docs/stats.md).")          \
  X(uint64_t, peak_live_bytes, GAUGE, BYTES, NULL, "peak_live_bytes",                \
    "peak_live times the block size.")                                               \
  X(uint64_t, peak_time_ns, GAUGE, TIME, NULL, "peak_time_seconds",                  \
    "When the tier's peak was reached (Unix time).")                                 \
  X(uint64_t, bytes_requested, COUNTER, BYTES, "requested", "requested_bytes_total", \
    "Sum of the lengths asked for by the gets.")                                     \
  X(uint64_t, cached, GAUGE, COUNT, "cached", "cached_blocks",                       \
    "Free blocks held in thread caches.")                                            \
  X(uint64_t, central, GAUGE, COUNT, "central", "central_blocks",                    \
    "Free blocks held in the central pool.")                                         \
  X(uint64_t, carved_bytes, GAUGE, BYTES, NULL, "carved_bytes",                      \
    "Bytes carved from the tier's region so far.")                                   \
  X(uint64_t, committed_bytes, GAUGE, BYTES, "committed", "committed_bytes",         \
    "Bytes of the tier's region made accessible.")

/* The process-wide counters (the discards by reason are arrays, below). */
#define TIERPOOL_PROCESS_FIELDS(X)                                                \
  X(uint64_t, total_get, COUNTER, COUNT, NULL, NULL, "Sum of the tiers' get.")      \
  X(uint64_t, total_put, COUNTER, COUNT, NULL, NULL, "Sum of the tiers' put.")      \
  X(uint64_t, peak_live, GAUGE, COUNT, NULL, "process_peak_live_blocks",           \
    "Most pooled blocks in use at once, all tiers (sampled: see docs/stats.md).")   \
  X(uint64_t, peak_live_bytes, GAUGE, BYTES, "peak live bytes", "process_peak_live_bytes", \
    "Most pooled bytes in use at once, all tiers, at their tier size.")             \
  X(uint64_t, peak_time_ns, GAUGE, TIME, "peak reached", "process_peak_time_seconds", \
    "When the process's peak was reached (Unix time).")                             \
  X(uint64_t, discarded, COUNTER, COUNT, NULL, NULL,                                 \
    "Requests forwarded to mimalloc, all reasons.")                                 \
  X(uint64_t, discarded_bytes, COUNTER, BYTES, NULL, NULL,                           \
    "Bytes asked for by the forwarded requests.")                                   \
  X(uint64_t, forwarded_frees, COUNTER, COUNT, "forwarded frees", "forwarded_frees_total", \
    "Frees of blocks that mimalloc had served.")                                    \
  X(uint64_t, threads_started, COUNTER, COUNT, "threads started", "threads_started_total", \
    "Thread caches set up.")                                                        \
  X(uint64_t, threads_exited, COUNTER, COUNT, "threads exited", "threads_exited_total", \
    "Thread caches flushed at thread exit.")                                        \
  X(uint64_t, fork_lost_blocks, COUNTER, COUNT, "fork lost blocks", "fork_lost_blocks_total", \
    "Cached blocks of threads that a fork left behind.")

#define TIERPOOL_FIELD_DECL(type, field, kind, unit, label, metric, help) type field;

/* One tier. */
typedef struct tierpool_tier_stats_s {
  TIERPOOL_TIER_FIELDS(TIERPOOL_FIELD_DECL)
} tierpool_tier_stats_t;

typedef struct tierpool_stats_s {
  uint32_t version;   /* TIERPOOL_API_VERSION of the library that filled it */
  uint32_t ntiers;    /* tiers in use: tiers[0 .. ntiers-1] */
  tierpool_tier_stats_t tiers[TIERPOOL_MAX_TIERS];
  TIERPOOL_PROCESS_FIELDS(TIERPOOL_FIELD_DECL)
  uint64_t discarded_by_reason[TIERPOOL_REASON_COUNT];
  uint64_t discarded_bytes_by_reason[TIERPOOL_REASON_COUNT];
} tierpool_stats_t;

/* Fills *out with a snapshot of the counters. Returns 0, or -1 if out is
 * NULL. The snapshot is not atomic across threads: counters of running
 * threads are read as they are, so live may be off by the operations in
 * flight. */
int tierpool_stats(tierpool_stats_t *out);

/* Writes a dump now, to the configured destination and format
 * (TIERPOOL_STATS, TIERPOOL_FORMAT; stderr and text when unset).
 * Returns 0 on success, -1 if it could not be written. */
int tierpool_dump(void);

/* ---- leak checks, per test case (TIERPOOL_LEAKS=all or sample) ----
 *
 *   tierpool_mark_t m = tierpool_mark();      before the test
 *   ... the test ...
 *   tierpool_leaks_t l;
 *   if (tierpool_leaks_since(m, &l, 2) == 0 && l.blocks) fail("leaked");
 *
 * A mark starts a new period: blocks allocated from then on, by any thread,
 * are told apart from older ones, so frees of older blocks and blocks that
 * other code allocated before the mark do not count. */

/* A point in the allocation history, from tierpool_mark(). */
typedef uint64_t tierpool_mark_t;

/* What is left of the blocks allocated since a mark. */
typedef struct tierpool_leaks_s {
  uint64_t blocks; /* blocks allocated since the mark and not freed yet */
  uint64_t bytes;  /* the bytes those blocks asked for */
  uint64_t stacks; /* distinct call stacks that allocated them */
  int estimated;   /* 1 with TIERPOOL_LEAKS=sample: scaled-up estimates */
} tierpool_leaks_t;

/* Starts a new period and returns its mark; 0 when leak tracking is off. */
tierpool_mark_t tierpool_mark(void);

/* Fills *out with what is still live of the blocks allocated since mark.
 * With report_fd >= 0, also writes the text report of their stacks there
 * (most bytes first, TIERPOOL_LEAKS_TOP of them). Returns 0, or -1 when
 * leak tracking is off (TIERPOOL_LEAKS unset) or out is NULL. */
int tierpool_leaks_since(tierpool_mark_t mark, tierpool_leaks_t *out, int report_fd);

#ifdef __cplusplus
}
#endif

#endif /* TIERPOOL_H */
