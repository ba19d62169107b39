/* Unit tests of the thread caches' bounds: the lists start at 64 KiB of
 * blocks (one block of the tiers of 64 KiB and more) and grow only for a
 * thread that refills them again and again (threads.h, cache.c; issue 13, bench
 * mstress). Each scenario runs on a thread of its own, whose cache starts
 * fresh. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>

#include "central.h"
#include "engine.h"
#include "threads.h"

#include "../lib/tp_test.h"

static void start(void) { tp_init(); }

TestSuite(cache_bounds, .init = start);

/* The bounds move by the ring's count of gets: without the counters it
 * stands still. */
#if TP_COUNTERS
#define NEEDS_COUNTERS() ((void)0)
#else
#define NEEDS_COUNTERS() cr_skip("the bounds move by the ring's count of gets, which needs the counters")
#endif

static void on_thread(void *(*fn)(void *)) {
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, fn, NULL), 0);
  cr_assert_eq(pthread_join(th, NULL), 0);
}

/* Blocks on the calling thread's list of tier t. */
static uint32_t cached(unsigned t) { return tp_bin_cached(tp_tls, t); }

#define BATCH 96

/* n rounds of BATCH mallocs then BATCH frees of size bytes. */
static void batches(size_t size, int n) {
  void *p[BATCH];
  for (int r = 0; r < n; r++) {
    for (int i = 0; i < BATCH; i++) p[i] = tp_malloc(size);
    for (int i = 0; i < BATCH; i++) tp_free(p[i]);
  }
}

static void *fresh_bounds(void *arg) {
  (void)arg;
  tp_free(tp_malloc(64));
  for (unsigned t = 0; t < tp_layout.ntiers; t++) {
    size_t size = tp_tier_size(t);
    uint32_t want = size >= 64 * KiB ? 1 : (uint32_t)(64 * KiB / size);
    if (want > tp_bound_for(t)) want = tp_bound_for(t);
    cr_assert_eq(tp_tls->bound[t], want, "tier %zu", size);
    cr_assert_eq(tp_bound_floor(t), want, "tier %zu", size);
  }
  /* The small tiers keep their full bound from the start (no refill pays
   * for the floor there). */
  cr_assert_eq(tp_bound_floor(tp_tier_of(16)), tp_bound_for(tp_tier_of(16)));
  cr_assert_eq(tp_bound_floor(tp_tier_of(16 * KiB)), 4);
  return NULL;
}

Test(cache_bounds, a_fresh_cache_keeps_64_KiB_of_each_tier_past_256_B) { on_thread(fresh_bounds); }

/* 16 KiB blocks that another thread allocated, freed here (bench
 * mstress's middle tiers, handed between threads): the list keeps its
 * floor, 4 blocks, and hands the rest over, where a fixed bound let it
 * fill to 64 (1 MiB) that no other thread could use. */
#define HANDED 32
static void *handed[HANDED];

static void *middle_tier_stays(void *arg) {
  (void)arg;
  unsigned t = tp_tier_of(16 * KiB);
  for (int i = 0; i < HANDED; i++) tp_free(handed[i]);
  cr_assert_eq(tp_tls->bound[t], 4, "bound %u", tp_tls->bound[t]);
  cr_assert_leq(cached(t), 4, "cached %u", cached(t));
  return NULL;
}

static void *middle_tier_batches_grow(void *arg) {
  (void)arg;
  unsigned t = tp_tier_of(16 * KiB);
  batches(16 * KiB, 8);
  cr_assert_eq(tp_tls->bound[t], tp_bound_for(t), "bound %u", tp_tls->bound[t]);
  return NULL;
}

Test(cache_bounds, a_middle_tier_keeps_its_floor_unless_refilled_often) {
  NEEDS_COUNTERS();
  for (int i = 0; i < HANDED; i++) cr_assert_not_null(handed[i] = tp_malloc(16 * KiB));
  on_thread(middle_tier_stays);
  on_thread(middle_tier_batches_grow);
}

static void *batch_grows(void *arg) {
  (void)arg;
  unsigned t = tp_tier_of(64 * KiB);
  batches(64 * KiB, 8);
  cr_assert_eq(tp_tls->bound[t], tp_bound_max(t), "bound %u", tp_tls->bound[t]);
  cr_assert_geq(tp_bound_max(t), BATCH);
  uint64_t before = atomic_load(&tp_central[t].blocks);
  batches(64 * KiB, 4);
  cr_assert_geq(cached(t), BATCH, "the whole batch stays on the list");
  cr_assert_eq(atomic_load(&tp_central[t].blocks), before, "no block crossed the central pool");
  return NULL;
}

Test(cache_bounds, batches_of_a_large_tier_grow_its_list_to_the_full_bound) {
  NEEDS_COUNTERS();
  on_thread(batch_grows);
}

/* Two 128 KiB blocks live at a time, every malloc and free of them apart
 * from the next by `apart` gets of 64 B: the second malloc refills, the
 * second free flushes. */
static uint32_t sporadic(size_t apart) {
  unsigned t = tp_tier_of(128 * KiB);
  for (int r = 0; r < 50; r++) {
    void *big[2];
    for (int i = 0; i < 4; i++) {
      if (i < 2) big[i] = tp_malloc(128 * KiB);
      else tp_free(big[i - 2]);
      for (size_t k = 0; k < apart; k++) tp_free(tp_malloc(64));
    }
  }
  cr_assert_leq(cached(t), tp_tls->bound[t]);
  return tp_tls->bound[t];
}

static void *sporadic_stays(void *arg) {
  (void)arg;
  cr_assert_eq(sporadic(100), 1, "a tier used once in 100 gets keeps one block");
  return NULL;
}

static void *frequent_grows(void *arg) {
  (void)arg;
  cr_assert_geq(sporadic(0), 2, "the same pattern without the small gets between");
  cr_assert_geq(sporadic(8), 2, "a tier used once in ten gets (bench pool_loop)");
  return NULL;
}

Test(cache_bounds, a_large_tier_used_now_and_then_keeps_one_block) {
  NEEDS_COUNTERS();
  on_thread(sporadic_stays);
  on_thread(frequent_grows);
}

/* Bytes the shared lists' bounds add up to past their own (the budget's
 * part). */
static uint64_t shared_past_own(void) {
  uint64_t sum = 0;
  for (unsigned t = 0; t < tp_layout.ntiers; t++)
    if (tp_tier_size(t) >= TP_SHARED_SIZE && tp_tls->bound[t] > tp_bound_for(t))
      sum += (uint64_t)(tp_tls->bound[t] - tp_bound_for(t)) * tp_tier_size(t);
  return sum;
}

/* Past their own bounds, the tiers of 64 KiB and more share one budget:
 * a list may grow to all of it, two lists in use at once split it, and a
 * list the thread left gives its part back when another needs it. */
static void *shared_budget(void *arg) {
  (void)arg;
  unsigned big = tp_tier_of(64 * KiB), next = tp_tier_of(128 * KiB);
  uint64_t budget = tp_config.cache_large;
  cr_assert_eq(budget, 8 << 20);
  batches(64 * KiB, 8);
  cr_assert_eq(tp_tls->bound[big], 144, "16 of its own and the whole budget");
  batches(128 * KiB, 4); /* at once: the 64 KiB list is in use */
  cr_assert_eq(tp_tls->bound[big], 144);
  cr_assert_eq(tp_tls->bound[next], tp_bound_for(next), "its own bound, no more");
  cr_assert_eq(shared_past_own(), budget);
  for (int k = 0; k < 5000; k++) tp_free(tp_malloc(64)); /* the 64 KiB list goes idle */
  batches(128 * KiB, 16);
  cr_assert_eq(tp_tls->bound[big], tp_bound_for(big), "the idle list is back at its own bound");
  cr_assert_leq(cached(big), tp_bound_for(big));
  cr_assert_eq(tp_tls->bound[next], tp_bound_max(next), "bound %u", tp_tls->bound[next]);
  cr_assert_eq(tp_bound_max(next), 72);
  cr_assert_eq(shared_past_own(), budget);
  return NULL;
}

Test(cache_bounds, the_large_tiers_share_one_budget_a_thread) {
  NEEDS_COUNTERS();
  on_thread(shared_budget);
}

/* Bursts of a large tier with many other gets between (bench tier_sweep):
 * the first refill of each burst comes late, the others soon, and the list
 * keeps its full bound. */
static void *bursts_keep(void *arg) {
  (void)arg;
  unsigned t = tp_tier_of(128 * KiB);
  void *p[32];
  for (int r = 0; r < 20; r++) {
    for (int i = 0; i < 32; i++) p[i] = tp_malloc(128 * KiB);
    for (int i = 0; i < 32; i++) tp_free(p[i]);
    for (int k = 0; k < 500; k++) tp_free(tp_malloc(64));
  }
  cr_assert_eq(tp_tls->bound[t], tp_bound_max(t), "bound %u", tp_tls->bound[t]);
  return NULL;
}

Test(cache_bounds, bursts_of_a_large_tier_keep_the_full_bound) {
  NEEDS_COUNTERS();
  on_thread(bursts_keep);
}

/* A thread with the full bound flushes its list as one batch (at least
 * 96 blocks); a fresh thread that refills from it takes two (one to hand
 * out, one for its list) and gives the rest back as a batch. */
static void *flush_full_batches(void *arg) {
  (void)arg;
  batches(64 * KiB, 4);
  return NULL; /* the exit flush hands over the list, at least 96 blocks */
}

static void *refill_from_long_batch(void *arg) {
  unsigned t = tp_tier_of(64 * KiB);
  uint64_t before = atomic_load(&tp_central[t].blocks);
  void *p = tp_malloc(64 * KiB);
  cr_assert_eq(cached(t), 1, "the list holds its bound, not the batch");
  cr_assert_eq(atomic_load(&tp_central[t].blocks), before - 2, "the rest went back");
  *(void **)arg = p;
  return NULL;
}

Test(cache_bounds, a_refill_takes_no_more_of_a_long_batch_than_its_bound) {
  NEEDS_COUNTERS();
  on_thread(flush_full_batches);
  unsigned t = tp_tier_of(64 * KiB);
  cr_assert_geq(atomic_load(&tp_central[t].blocks), BATCH);
  void *p = NULL;
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, refill_from_long_batch, &p), 0);
  cr_assert_eq(pthread_join(th, NULL), 0);
  cr_assert_not_null(p);
  tp_free(p);
}

/* A thread's cache is mapped with its ring: with the default ring of 256
 * lengths it takes one page, which a thread that barely allocates touches
 * whole (bench tiny). */
Test(cache_bounds, a_cache_and_its_default_ring_fit_one_page) {
  cr_assert_eq(tp_config.ring, 256);
  cr_assert_leq(sizeof(tp_cache_t) + tp_config.ring * sizeof(uint64_t), 4096, "%zu bytes",
                sizeof(tp_cache_t));
}
