/* profile.c - the heap profile's collection (see profile.h): per-site
 * counters, short-lived blocks, the peak snapshot, the request-length
 * histograms and the timeline, all fed by leak tracking's captured gets
 * and their puts.
 *
 * Short-lived: a captured block's get time is kept in a small table keyed
 * by its address (a sampled block is rare: a few per MiB allocated). The
 * table is a set of 4-way buckets, each with its own spin lock held for a
 * few loads and stores; a full bucket evicts its oldest entry, whose put
 * then counts as long-lived (ages_lost says how often). No probing chains,
 * no deletion to repair.
 *
 * Peak: the sampled live total (weighted bytes of captured blocks not yet
 * put) is kept in one atomic; when it passes the last peak by 1/32, the
 * live figures of every stack are copied into its site. So "live at peak"
 * is the picture at most 1/32 below the highest sampled total, taken at
 * most log(peak/first)/log(33/32) times.
 */
#include <stdatomic.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "options.h"
#include "os.h"
#include "profile_int.h"
#include "snapshot.h"
#include "spin.h"

TP_START_DATA bool tp_profile_on;
tp_prof_t tp_prof;

#define TP_AGE_BUCKETS (1u << 16)
#define TP_AGE_WAYS 3

typedef struct tp_prof_age_bucket_s {
  _Atomic int lock;
  uint32_t unused;
  uintptr_t p[TP_AGE_WAYS];  /* 0: free way */
  uint64_t t[TP_AGE_WAYS];   /* get time, ns since start */
} tp_prof_age_bucket_t;      /* 56 bytes */

static uint64_t clock_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t tp_prof_now(void) { return clock_ns(CLOCK_MONOTONIC) - tp_prof.start_ns; }

/* ------------------------------------------------------------ ages */

static tp_prof_age_bucket_t *age_bucket(const void *p) {
  uint64_t h = ((uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ull;
  return &tp_prof.ages[h >> (64 - 16)];
}

static void age_put(const void *p, uint64_t now) {
  tp_prof_age_bucket_t *b = age_bucket(p);
  tp_spin_lock(&b->lock);
  unsigned w = 0;
  for (unsigned i = 0; i < TP_AGE_WAYS; i++) {
    if (b->p[i] == (uintptr_t)p || !b->p[i]) { w = i; break; } /* the block's old entry, or a free way */
    if (b->t[i] < b->t[w]) w = i;                              /* else the oldest */
  }
  if (b->p[w] && b->p[w] != (uintptr_t)p)
    atomic_fetch_add_explicit(&tp_prof.ages_lost, 1, memory_order_relaxed);
  b->p[w] = (uintptr_t)p;
  b->t[w] = now;
  tp_spin_unlock(&b->lock);
}

/* The get time of p, removed from the table; false if it is not there. */
static bool age_take(const void *p, uint64_t *t) {
  tp_prof_age_bucket_t *b = age_bucket(p);
  bool found = false;
  tp_spin_lock(&b->lock);
  for (unsigned i = 0; i < TP_AGE_WAYS; i++) {
    if (b->p[i] != (uintptr_t)p) continue;
    *t = b->t[i];
    b->p[i] = 0;
    found = true;
    break;
  }
  tp_spin_unlock(&b->lock);
  return found;
}

/* ------------------------------------------------------------ timeline */

void tp_prof_record_point(uint64_t now) {
  if (!tp_spin_try(&tp_prof.timeline_lock)) return;
  static tierpool_stats_t snap; /* timeline lock held */
  tp_stats_collect(&snap);
  if (tp_prof.npoints == TP_PROF_POINTS) { /* full: keep every other point, halve the rate */
    for (uint32_t i = 0; i < TP_PROF_POINTS / 2; i++) tp_prof.points[i] = tp_prof.points[2 * i];
    tp_prof.npoints = TP_PROF_POINTS / 2;
    tp_prof.tick_ns *= 2;
  }
  tp_prof_point_t *pt = &tp_prof.points[tp_prof.npoints++];
  pt->t_ns = now;
  for (unsigned t = 0; t < TP_MAX_TIERS; t++) {
    const tierpool_tier_stats_t *ts = &snap.tiers[t];
    pt->live[t] = t < snap.ntiers && ts->get > ts->put ? (int64_t)((ts->get - ts->put) * ts->size) : 0;
  }
  int64_t fwd = atomic_load_explicit(&tp_prof.fwd_live_est, memory_order_relaxed);
  pt->live[TP_MAX_TIERS] = fwd > 0 ? fwd : 0;
  atomic_store_explicit(&tp_prof.next_tick_ns, now + tp_prof.tick_ns, memory_order_relaxed);
  tp_spin_unlock(&tp_prof.timeline_lock);
}

/* ------------------------------------------------------------ peak */

void tp_prof_stack_live(const tp_stack_t *s, int64_t *count, int64_t *bytes) {
  *count = tp_leak_mode == TP_LEAKS_SAMPLE ? atomic_load_explicit(&s->count, memory_order_relaxed)
                                           : atomic_load_explicit(&s->live, memory_order_relaxed);
  *bytes = atomic_load_explicit(&s->bytes, memory_order_relaxed);
}

void tp_prof_snapshot_peak(uint64_t now, int64_t total) {
  if (!tp_spin_try(&tp_prof.peak_lock)) return;
  if (total > atomic_load_explicit(&tp_prof.peak_est, memory_order_relaxed)) {
    uint32_t n = atomic_load_explicit(&tp_leak_tab.nstacks, memory_order_acquire);
    if (n > TP_LEAK_MAX_STACKS) n = TP_LEAK_MAX_STACKS;
    for (uint32_t id = TP_STACK_OVERFLOW; id < n; id++) {
      const tp_stack_t *s = &tp_leak_tab.stacks[id];
      tp_prof_site_t *site = &tp_prof.sites[id];
      if (s->epoch < tp_leak_tab.report_from) continue; /* the parent's, in a fork child */
      tp_prof_stack_live(s, &site->peak_count, &site->peak_bytes);
    }
    atomic_store_explicit(&tp_prof.peak_est, total, memory_order_relaxed);
    tp_prof.peak_t_ns = now;
    tp_prof.peak_gen++;
  }
  tp_spin_unlock(&tp_prof.peak_lock);
}

/* ------------------------------------------------------------ the hooks */

/* Bucket of a request of n bytes in tier t: 8 equal slices of (lo, size],
 * lo the tier below's size (0 for the smallest tier). */
static unsigned hist_bucket(unsigned t, uint64_t n) {
  uint64_t size = tp_tier_size(t), lo = t ? size / 2 : 0;
  if (n <= lo) return 0; /* an aligned request in a larger tier */
  uint64_t b = (n - lo - 1) * TP_PROF_HIST / (size - lo);
  return b < TP_PROF_HIST ? (unsigned)b : TP_PROF_HIST - 1;
}

void tp_profile_got(const void *p, uint32_t id, uint64_t n, unsigned bit) {
  if (!tp_profile_on || id >= TP_LEAK_MAX_STACKS) return;
  int64_t count, bytes;
  tp_leak_weights(n, &count, &bytes);
  tp_prof_site_t *site = &tp_prof.sites[id];
  atomic_fetch_add_explicit(&site->alloc_count, count, memory_order_relaxed);
  atomic_fetch_add_explicit(&site->alloc_bytes, bytes, memory_order_relaxed);
  atomic_fetch_add_explicit(&site->samples, 1, memory_order_relaxed);
  if (bit < TP_MAX_TIERS) {
    atomic_fetch_add_explicit(&tp_prof.hist[bit][hist_bucket(bit, n)], count, memory_order_relaxed);
    atomic_fetch_add_explicit(&tp_prof.hist_bytes[bit], bytes, memory_order_relaxed);
  } else {
    atomic_fetch_add_explicit(&tp_prof.fwd_live_est, bytes, memory_order_relaxed);
  }
  uint64_t now = tp_prof_now();
  age_put(p, now);
  int64_t total = atomic_fetch_add_explicit(&tp_prof.live_est, bytes, memory_order_relaxed) + bytes;
  /* A stale peak_est only makes a snapshot try that the lock re-checks. */
  int64_t peak = atomic_load_explicit(&tp_prof.peak_est, memory_order_relaxed);
  if (total > peak + peak / 32) tp_prof_snapshot_peak(now, total);
  if (now >= atomic_load_explicit(&tp_prof.next_tick_ns, memory_order_relaxed))
    tp_prof_record_point(now);
}

void tp_profile_put(const void *p, uint32_t id, uint64_t n, unsigned bit) {
  if (!tp_profile_on || id >= TP_LEAK_MAX_STACKS) return;
  int64_t count, bytes;
  tp_leak_weights(n, &count, &bytes);
  atomic_fetch_sub_explicit(&tp_prof.live_est, bytes, memory_order_relaxed);
  if (bit >= TP_MAX_TIERS) atomic_fetch_sub_explicit(&tp_prof.fwd_live_est, bytes, memory_order_relaxed);
  uint64_t t;
  if (age_take(p, &t) && tp_prof_now() - t < tp_prof.short_ns) {
    tp_prof_site_t *site = &tp_prof.sites[id];
    atomic_fetch_add_explicit(&site->short_count, count, memory_order_relaxed);
    atomic_fetch_add_explicit(&site->short_bytes, bytes, memory_order_relaxed);
  }
}

/* ------------------------------------------------------------ life */

/* TIERPOOL_PROFILE made absolute: the program may change directory. */
static bool resolve_dir(const char *dir) {
  size_t k = strlen(dir), n = 0;
  if (dir[0] != '/') {
    if (!getcwd(tp_prof.dir, sizeof tp_prof.dir - 2)) return false;
    n = strlen(tp_prof.dir);
    tp_prof.dir[n++] = '/';
  }
  if (n + k + 1 > sizeof tp_prof.dir) return false;
  memcpy(tp_prof.dir + n, dir, k + 1);
  return true;
}

bool tp_profile_start(void) {
  const char *dir = tp_stats_config.profile;
  if (!dir[0]) return false;
  if (!resolve_dir(dir)) {
    tp_warn("TIERPOOL_PROFILE: path too long; no profile");
    return false;
  }
  if (access(tp_prof.dir, W_OK | X_OK) != 0) {
    char shown[260];
    tp_printable(dir, shown, sizeof shown);
    tp_warn("TIERPOOL_PROFILE: '%s' is not a writable directory; no profile", shown);
    return false;
  }
  tp_prof.sites = tp_os_map(sizeof(tp_prof_site_t) * TP_LEAK_MAX_STACKS, true);
  tp_prof.points = tp_os_map(sizeof(tp_prof_point_t) * TP_PROF_POINTS, true);
  tp_prof.ages = tp_os_map(sizeof(tp_prof_age_bucket_t) * TP_AGE_BUCKETS, true);
  if (!tp_prof.sites || !tp_prof.points || !tp_prof.ages) {
    tp_warn("TIERPOOL_PROFILE: no address space for the profile's tables; no profile");
    return false;
  }
  tp_prof.short_ns = tp_stats_config.profile_short * 1000u;
  tp_prof.tick_ns = TP_PROF_TICK_NS;
  tp_prof.start_ns = clock_ns(CLOCK_MONOTONIC);
  tp_prof.start_unix_ns = clock_ns(CLOCK_REALTIME);
  tp_profile_on = true;
  tp_prof_record_point(0); /* the timeline starts at 0 */
  return true;
}

void tp_profile_fork_child(void) {
  if (!tp_profile_on) return;
  /* Another thread of the parent may have held them; it is gone. */
  atomic_store(&tp_prof.peak_lock, 0);
  atomic_store(&tp_prof.timeline_lock, 0);
  for (uint32_t i = 0; i < TP_AGE_BUCKETS; i++) atomic_store(&tp_prof.ages[i].lock, 0);
  /* The child profiles what it does itself, from now on (the leak table
   * starts the child's period the same way). */
  uint32_t n = atomic_load(&tp_leak_tab.nstacks);
  memset(tp_prof.sites, 0, sizeof(tp_prof_site_t) * (n < TP_LEAK_MAX_STACKS ? n : TP_LEAK_MAX_STACKS));
  memset(tp_prof.hist, 0, sizeof tp_prof.hist);
  memset(tp_prof.hist_bytes, 0, sizeof tp_prof.hist_bytes);
  atomic_store(&tp_prof.live_est, 0);
  atomic_store(&tp_prof.fwd_live_est, 0);
  atomic_store(&tp_prof.peak_est, 0);
  tp_prof.peak_t_ns = 0;
  tp_prof.npoints = 0;
  tp_prof.tick_ns = TP_PROF_TICK_NS;
  tp_prof.start_ns = clock_ns(CLOCK_MONOTONIC);
  tp_prof.start_unix_ns = clock_ns(CLOCK_REALTIME);
  tp_prof_record_point(0);
}
