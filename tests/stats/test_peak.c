/* test_peak.c - the peaks (core/peak.{h,c}, core/counters.c) against the
 * engine linked directly: never above the true peak, below it by at most
 * one carve batch per thread, raised by snapshots too, monotone, with the
 * time they were reached; the process's peak in bytes over all tiers. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <time.h>

#include "engine.h"

#define TIER128 3 /* 16, 32, 64, 128 */
#define BATCH_128 (64 * 1024 / 128) /* blocks of one carve */

static tierpool_stats_t snap(void) {
  tierpool_stats_t st;
  cr_assert_eq(tierpool_stats(&st), 0);
  return st;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

Test(peak, within_one_carve_of_the_true_peak) {
  enum { N = 5000 };
  static void *p[N];
  uint64_t before = now_ns();
  for (int i = 0; i < N; i++) p[i] = tp_malloc(120);
  for (int i = 0; i < N; i++) tp_free(p[i]);
  tierpool_stats_t st = snap();
  const tierpool_tier_stats_t *t = &st.tiers[TIER128];
  cr_assert_eq(t->size, 128);
  cr_assert_eq(t->live, 0);
  cr_assert(t->peak_live <= N && t->peak_live >= N - BATCH_128, "peak %llu, true %d",
            (unsigned long long)t->peak_live, N);
  cr_assert_eq(t->peak_live_bytes, t->peak_live * 128);
  cr_assert(t->peak_time_ns >= before && t->peak_time_ns <= now_ns());
  cr_assert_eq(st.peak_live_bytes, t->peak_live_bytes, "one tier: the process's peak is its");
  cr_assert_eq(st.peak_live, t->peak_live);
}

Test(peak, snapshots_sample_too_and_peaks_never_fall) {
  void *p[10];
  for (int i = 0; i < 10; i++) p[i] = tp_malloc(120); /* one carve, sampled at 0 live */
  tierpool_stats_t st = snap();
  cr_assert_eq(st.tiers[TIER128].peak_live, 10, "the snapshot saw 10 live");
  for (int i = 0; i < 10; i++) tp_free(p[i]);
  st = snap();
  cr_assert_eq(st.tiers[TIER128].live, 0);
  cr_assert_eq(st.tiers[TIER128].peak_live, 10, "a peak does not fall");
}

Test(peak, process_peak_is_reached_at_one_moment) {
  enum { N = 3000 };
  static void *a[N], *b[N];
  for (int i = 0; i < N; i++) a[i] = tp_malloc(120);    /* 128 B tier up to N */
  for (int i = 0; i < N; i++) tp_free(a[i]);
  for (int i = 0; i < N; i++) b[i] = tp_malloc(1000);   /* then 1 KiB up to N */
  for (int i = 0; i < N; i++) tp_free(b[i]);
  tierpool_stats_t st = snap();
  uint64_t p128 = st.tiers[TIER128].peak_live_bytes, p1k = st.tiers[TIER128 + 3].peak_live_bytes;
  cr_assert(p1k >= (uint64_t)(N - 64) * 1024, "1 KiB peak %llu", (unsigned long long)p1k);
  /* never both at once: the process's peak is the larger, not the sum */
  cr_assert(st.peak_live_bytes >= p1k && st.peak_live_bytes < p1k + p128,
            "process %llu, tiers %llu + %llu", (unsigned long long)st.peak_live_bytes,
            (unsigned long long)p128, (unsigned long long)p1k);
  cr_assert(st.peak_time_ns >= st.tiers[TIER128].peak_time_ns);
}

/* Blocks allocated by one thread and freed by another count once. */
enum { XN = 4000 };
static void *xblocks[XN];

static void *freer(void *arg) {
  (void)arg;
  for (int i = 0; i < XN; i++) tp_free(xblocks[i]);
  return NULL;
}

Test(peak, across_threads) {
  for (int i = 0; i < XN; i++) xblocks[i] = tp_malloc(120);
  pthread_t t;
  pthread_create(&t, NULL, freer, NULL);
  pthread_join(t, NULL);
  for (int i = 0; i < XN / 2; i++) xblocks[i] = tp_malloc(120);
  tierpool_stats_t st = snap();
  const tierpool_tier_stats_t *t128 = &st.tiers[TIER128];
  cr_assert_eq(t128->live, XN / 2);
  cr_assert(t128->peak_live <= XN && t128->peak_live >= XN - BATCH_128, "peak %llu",
            (unsigned long long)t128->peak_live);
}
