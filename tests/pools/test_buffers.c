/* Refcounted buffers: capacities, counts, per-tier counting, introspection,
 * and the misuses that must abort. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common.h"

Test(buffers, capacity_is_the_tier) {
  size_t cases[][2] = {{1, 16}, {16, 16}, {17, 32}, {1000, 1024}, {4096, 4096}, {1 << 20, 1 << 20}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t cap = 0;
    char *p = tierpool_buf_get(cases[i][0], &cap);
    cr_assert(p);
    cr_expect_eq(cap, cases[i][1], "n=%zu: cap %zu", cases[i][0], cap);
    cr_expect_eq(tierpool_buf_cap(p), cap);
    cr_expect_eq((uintptr_t)p % cap, 0, "a tier block is aligned to its size");
    memset(p, 0xab, cap);
    tierpool_buf_put(p);
  }
}

Test(buffers, past_the_largest_tier) {
  size_t n = (1 << 20) + 1, cap = 0;
  uint64_t disc = tierpool_discarded();
  char *p = tierpool_buf_get(n, &cap);
  cr_assert(p);
  cr_expect_geq(cap, n);
  cr_expect_eq((uintptr_t)p % 16, 0);
  memset(p, 1, cap);
  cr_expect_eq(tierpool_discarded(), disc + 1, "counted as discarded (too large)");
  cr_expect_eq(tierpool_buf_refs(p), 1);
  tierpool_buf_retain(p);
  tierpool_buf_release(p);
  tierpool_buf_put(p);
}

Test(buffers, size_zero_is_einval) {
  errno = 0;
  cr_expect_null(tierpool_buf_get(0, NULL));
  cr_expect_eq(errno, EINVAL);
}

Test(buffers, counted_in_the_tier) {
  tierpool_stats_t a, b;
  tierpool_stats(&a);
  void *p = tierpool_buf_get(3000, NULL);
  tierpool_stats(&b);
  cr_expect_eq(tier_of(&b, 4096)->get, tier_of(&a, 4096)->get + 1);
  tierpool_buf_put(p);
  tierpool_stats(&a);
  cr_expect_eq(tier_of(&a, 4096)->put, tier_of(&b, 4096)->put + 1);
}

Test(buffers, last_release_gives_back) {
  tierpool_pool_stats_t s0, s1;
  tierpool_buf_stats(&s0);
  char *p = tierpool_buf_get(100, NULL);
  cr_expect_eq(tierpool_buf_retain(p), p);
  tierpool_buf_retain(p);
  cr_expect_eq(tierpool_buf_refs(p), 3);
  tierpool_buf_release(p);
  tierpool_buf_release(p);
  tierpool_buf_stats(&s1);
  cr_expect_eq(s1.gets, s0.gets + 1);
  cr_expect_eq(s1.puts, s0.puts, "still owned once");
  tierpool_buf_release(p);
  tierpool_buf_stats(&s1);
  cr_expect_eq(s1.puts, s0.puts + 1);
  cr_expect_eq(tierpool_buf_refs(p), 0, "back in its tier");
}

Test(buffers, hand_out) {
  char *p = tierpool_buf_get(64, NULL);
  tierpool_release_fn rel = tierpool_buf_hand_out(p);
  cr_expect_eq(tierpool_buf_refs(p), 2);
  rel(p); /* the other owner is done */
  cr_expect_eq(tierpool_buf_refs(p), 1);
  tierpool_buf_put(p);
}

Test(buffers, across_threads_is_counted_once) {
  /* A buffer released in another thread goes back exactly once. */
  char *p = tierpool_buf_get(200, NULL);
  for (int i = 0; i < 100; i++) tierpool_buf_retain(p);
  for (int i = 0; i < 100; i++) tierpool_buf_release(p);
  cr_expect_eq(tierpool_buf_refs(p), 1);
  tierpool_buf_put(p);
}

/* The buffers row's peak is the most buffers live at once, pooled and
 * forwarded alike, and it stays when they go back. A snapshot taken while
 * they are held sees it exactly (it samples the peak too). */
Test(buffers, peak_is_the_most_live_at_once) {
  tierpool_pool_stats_t s;
  tierpool_buf_stats(&s);
  uint64_t in_use = s.in_use, high = s.peak + 5, k = high - in_use;
  void *held[64];
  cr_assert_leq(k, 64);
  for (uint64_t i = 0; i < k; i++) held[i] = tierpool_buf_get(i % 4 ? 100 : (2 << 20), NULL);
  tierpool_buf_stats(&s);
  cr_expect_eq(s.in_use, high);
  cr_expect_eq(s.peak, high, "peak %llu, live %llu", (unsigned long long)s.peak,
               (unsigned long long)high);
  for (uint64_t i = 0; i < 3; i++) tierpool_buf_put(held[i]);
  for (uint64_t i = 0; i < 2; i++) held[i] = tierpool_buf_get(5000, NULL);
  tierpool_buf_stats(&s);
  cr_expect_eq(s.in_use, high - 1);
  cr_expect_eq(s.peak, high, "a lower high does not move the peak");
  for (uint64_t i = 0; i < k; i++)
    if (i != 2) tierpool_buf_put(held[i]);
  tierpool_buf_stats(&s);
  cr_expect_eq(s.in_use, in_use);
  cr_expect_eq(s.peak, high);
}

/* Between snapshots the peak is sampled: a thread's 1st, 65th, 129th...
 * get (docs/pools.md). A rise that no snapshot sees is still caught, low
 * by fewer than 64 gets of the one thread that made it, never above. */
Test(buffers, peak_is_sampled_between_snapshots) {
  tierpool_pool_stats_t s;
  tierpool_buf_stats(&s);
  uint64_t in_use = s.in_use, high = s.peak + 200, k = high - in_use;
  void **held = malloc(k * sizeof *held);
  cr_assert(held);
  for (uint64_t i = 0; i < k; i++) held[i] = tierpool_buf_get(i % 50 ? 64 : (2 << 20), NULL);
  for (uint64_t i = 0; i < k; i++) tierpool_buf_put(held[i]);
  free(held);
  tierpool_buf_stats(&s);
  cr_expect_eq(s.in_use, in_use);
  cr_expect(s.peak <= high && s.peak > high - 64, "peak %llu, most live %llu",
            (unsigned long long)s.peak, (unsigned long long)high);
}

Test(introspection, tiers_lengths_discarded) {
  void *p = tierpool_buf_get(777, NULL);
  uint64_t sizes[TIERPOOL_MAX_TIERS], lengths[4096];
  size_t n = tierpool_tiers_in_use(sizes, TIERPOOL_MAX_TIERS);
  bool found = false;
  for (size_t i = 0; i < n; i++) found |= sizes[i] == 1024;
  cr_expect(found, "the 1 KiB tier is in use");
  for (size_t i = 1; i < n; i++) cr_expect_lt(sizes[i - 1], sizes[i]);
  size_t k = tierpool_recent_lengths(lengths, 4096);
  found = false;
  for (size_t i = 0; i < k; i++) found |= lengths[i] == 777;
  cr_expect(found, "777 among the recent lengths");
  cr_expect_eq(tierpool_tiers_in_use(sizes, 0), 0);
  tierpool_buf_put(p);
}

/* ------------------------------------------------------------ misuse */

Test(buffers_misuse, release_at_zero, .signal = SIGABRT) {
  char *p = tierpool_buf_get(100, NULL);
  tierpool_buf_release(p);
  tierpool_buf_release(p);
}

Test(buffers_misuse, release_at_zero_forwarded, .signal = SIGABRT) {
  char *p = tierpool_buf_get(4 << 20, NULL);
  tierpool_buf_retain(p);
  tierpool_buf_release(p);
  tierpool_buf_release(p);
  tierpool_buf_release(p); /* freed: its tag is gone, or the count is 0 */
}

/* Past the cache of large mappings (TIERPOOL_LARGE_CACHE, 128 MiB): the
 * last release unmaps the block, and the next one must still abort with
 * a message, not fault reading where its header was. */
Test(buffers_misuse, release_at_zero_unmapped, .signal = SIGABRT) {
  char *p = tierpool_buf_get(256 << 20, NULL);
  cr_assert(p);
  tierpool_buf_release(p);
  tierpool_buf_release(p);
}

/* A pointer whose would-be header starts a large block's page, in memory
 * nobody maps. */
Test(buffers_misuse, put_of_an_unmapped_pointer, .signal = SIGABRT) {
  char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  cr_assert(page != MAP_FAILED);
  munmap(page, 4096);
  tierpool_buf_put(page + 64 + 16);
}

Test(buffers_misuse, put_while_retained, .signal = SIGABRT) {
  char *p = tierpool_buf_get(100, NULL);
  tierpool_buf_retain(p);
  tierpool_buf_put(p);
}

Test(buffers_misuse, put_of_a_malloc_block, .signal = SIGABRT) {
  void *p = malloc(100); /* a tier block, but not a buffer */
  tierpool_buf_put(p);
}

Test(buffers_misuse, put_of_an_interior_pointer, .signal = SIGABRT) {
  char *p = tierpool_buf_get(100, NULL);
  tierpool_buf_put(p + 16);
}

Test(buffers_misuse, put_of_a_foreign_pointer, .signal = SIGABRT) {
  static char not_ours[64] __attribute__((aligned(16)));
  tierpool_buf_put(not_ours + 16);
}

Test(buffers_misuse, put_of_a_large_malloc_block, .signal = SIGABRT) {
  void *p = malloc(8 << 20); /* mimalloc's, without a buffer tag */
  tierpool_buf_put(p);
}

Test(buffers_misuse, retain_after_release, .signal = SIGABRT) {
  char *p = tierpool_buf_get(100, NULL);
  tierpool_buf_put(p);
  tierpool_buf_retain(p);
}
