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
#define TIERPOOL_API_VERSION 1

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

/* One tier. All counts are since process start (or the fork that made
 * this process), summed over every thread, living or exited. */
typedef struct tierpool_tier_stats_s {
  uint64_t size;            /* block size in bytes, a power of two */
  uint64_t get;             /* blocks handed out */
  uint64_t put;             /* blocks given back */
  int64_t live;             /* get - put: blocks in use right now */
  uint64_t bytes_requested; /* sum of the lengths asked for by the gets */
  uint64_t cached;          /* free blocks held in thread caches */
  uint64_t central;         /* free blocks held in the central pool */
  uint64_t carved_bytes;    /* bytes carved from the region so far */
  uint64_t committed_bytes; /* bytes of the region made accessible */
} tierpool_tier_stats_t;

typedef struct tierpool_stats_s {
  uint32_t version;   /* TIERPOOL_API_VERSION of the library that filled it */
  uint32_t ntiers;    /* tiers in use: tiers[0 .. ntiers-1] */
  tierpool_tier_stats_t tiers[TIERPOOL_MAX_TIERS];
  uint64_t total_get; /* sum of tiers[].get */
  uint64_t total_put; /* sum of tiers[].put */
  uint64_t discarded; /* requests forwarded to mimalloc, all reasons */
  uint64_t discarded_bytes;
  uint64_t discarded_by_reason[TIERPOOL_REASON_COUNT];
  uint64_t discarded_bytes_by_reason[TIERPOOL_REASON_COUNT];
  uint64_t forwarded_frees;   /* frees of blocks mimalloc had served */
  uint64_t threads_started;   /* thread caches set up */
  uint64_t threads_exited;    /* thread caches flushed at thread exit */
  uint64_t fork_lost_blocks;  /* cached blocks of threads that a fork left behind */
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
