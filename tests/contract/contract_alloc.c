/* contract_alloc.c - glibc's contract for malloc, calloc, realloc,
 * reallocarray, free, malloc_usable_size and the C23 sized frees.
 *
 * Built twice from the same source: linked against libtierpool, and plain
 * but run with LD_PRELOAD. The first test proves tierpool is the malloc in
 * the process; the others check the contract through the public symbols
 * only, and read tierpool_stats where the contract is about what happens
 * to a block (freed, served by the right tier).
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>

#include "common.h"

/* ------------------------------------------------------------------ */
/* tierpool is really the allocator                                    */

Test(contract, tierpool_is_in_the_process) {
  tp_probe_stats_fn fn = tp_probe();
  cr_assert_not_null(fn, "dlsym(RTLD_DEFAULT, \"tierpool_stats\") is NULL");
  tierpool_stats_t a, b;
  cr_assert_eq(fn(&a), 0);
  void *p = malloc(opaque(64));
  cr_assert_eq(fn(&b), 0);
  cr_assert_not_null(p);
  cr_expect_gt(b.total_get, a.total_get, "malloc(64) did not count a get");
  int t = tp_probe_tier(&b, 64);
  cr_assert_geq(t, 0, "no tier serves 64 bytes");
  cr_expect_eq(b.tiers[t].size, 64);
  expect_delta(b, a, tiers[t].get, 1, "malloc(64)");
  free(p);
}

Test(contract, tiers_are_powers_of_two_from_16) {
  tierpool_stats_t s;
  snap(&s);
  cr_assert_geq(s.ntiers, 1);
  cr_assert_leq(s.ntiers, TIERPOOL_MAX_TIERS);
  cr_expect_eq(s.tiers[0].size, 16, "smallest tier is %llu", (unsigned long long)s.tiers[0].size);
  for (uint32_t i = 1; i < s.ntiers; i++)
    cr_expect_eq(s.tiers[i].size, 2 * s.tiers[i - 1].size, "tier %u", i);
  /* The default build: 16 B to 1 MiB. */
  cr_expect_eq(tp_probe_max_tier(&s), MiB, "largest tier is %zu", tp_probe_max_tier(&s));
}

/* ------------------------------------------------------------------ */
/* malloc                                                              */

Test(contract, malloc_zero_is_unique_and_non_null) {
  void *p[8];
  for (int i = 0; i < 8; i++) {
    p[i] = malloc(opaque(0));
    cr_assert_not_null(p[i], "malloc(0) #%d returned NULL", i);
    cr_expect(aligned_to(p[i], 16));
    for (int j = 0; j < i; j++)
      cr_assert_neq(p[i], p[j], "malloc(0) returned %p twice", p[i]);
  }
  for (int i = 0; i < 8; i++)
    free(p[i]);
}

Test(contract, malloc_too_large_is_enomem) {
  const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 4095, SIZE_MAX / 2, (size_t)PTRDIFF_MAX + 1,
                          (size_t)PTRDIFF_MAX};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    errno = 0;
    void *p = malloc(opaque(sizes[i]));
    int e = errno;
    cr_expect_null(p, "malloc(%zu) returned %p", sizes[i], p);
    cr_expect_eq(e, ENOMEM, "malloc(%zu): errno %d, expected ENOMEM", sizes[i], e);
    errno = 0;
    p = realloc(NULL, opaque(sizes[i]));
    e = errno;
    cr_expect_null(p, "realloc(NULL, %zu) returned %p", sizes[i], p);
    cr_expect_eq(e, ENOMEM, "realloc(NULL, %zu): errno %d", sizes[i], e);
    errno = 0;
    p = calloc(1, opaque(sizes[i]));
    e = errno;
    cr_expect_null(p, "calloc(1, %zu) returned %p", sizes[i], p);
    cr_expect_eq(e, ENOMEM, "calloc(1, %zu): errno %d", sizes[i], e);
  }
}

/* ------------------------------------------------------------------ */
/* calloc and reallocarray                                             */

Test(contract, calloc_overflow_is_enomem) {
  const size_t pairs[][2] = {{SIZE_MAX / 2, 3},
                             {(size_t)1 << 33, (size_t)1 << 33},
                             {SIZE_MAX, SIZE_MAX},
                             {3, SIZE_MAX / 2},
                             {((size_t)1 << 32) + 1, (size_t)1 << 32}};
  for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
    errno = 0;
    void *p = calloc(opaque(pairs[i][0]), opaque(pairs[i][1]));
    int e = errno;
    cr_expect_null(p, "calloc(%zu, %zu) returned %p", pairs[i][0], pairs[i][1], p);
    cr_expect_eq(e, ENOMEM, "calloc(%zu, %zu): errno %d", pairs[i][0], pairs[i][1], e);
  }
}

Test(contract, reallocarray_overflow_is_enomem_and_keeps_block) {
  errno = 0;
  void *p = reallocarray(NULL, opaque(SIZE_MAX / 2), opaque(4));
  int e = errno;
  cr_expect_null(p);
  cr_expect_eq(e, ENOMEM, "reallocarray(NULL, overflow): errno %d", e);

  unsigned char *q = reallocarray(NULL, opaque(10), opaque(10));
  cr_assert_not_null(q);
  cr_expect_geq(malloc_usable_size(q), 100);
  fill(q, 100, 5);
  errno = 0;
  void *r = reallocarray(launder(q), opaque((size_t)1 << 40), opaque((size_t)1 << 40));
  e = errno;
  cr_expect_null(r, "reallocarray(p, overflow) returned %p", r);
  cr_expect_eq(e, ENOMEM, "reallocarray(p, overflow): errno %d", e);
  cr_expect_eq(check(q, 100, 5), 100, "old block damaged by a failed reallocarray");
  free(q);
}

/* A recycled block still holds what its last owner wrote; calloc must
 * clear it whatever the allocator thinks it knows about fresh pages. */
Test(contract, calloc_zeroes_recycled_blocks) {
  enum { NOBJ = 8 };
  tierpool_stats_t s;
  snap(&s);
  size_t max = tp_probe_max_tier(&s);
  for (size_t n = 16; n <= 4 * max; n *= 2) {
    void *old[NOBJ], *neu[NOBJ];
    for (int i = 0; i < NOBJ; i++) {
      old[i] = malloc(opaque(n));
      cr_assert_not_null(old[i]);
      memset(old[i], 0xA5, n);
    }
    for (int i = 0; i < NOBJ; i++)
      free(old[i]);
    int recycled = 0;
    for (int i = 0; i < NOBJ; i++) {
      /* alternate the argument order: calloc(1, n) and calloc(n, 1) */
      neu[i] = (i & 1) ? calloc(opaque(n), 1) : calloc(1, opaque(n));
      cr_assert_not_null(neu[i]);
      size_t z = first_nonzero(neu[i], n);
      cr_expect_eq(z, n, "calloc(%zu): byte %zu is not zero (block %p)", n, z, neu[i]);
      for (int j = 0; j < NOBJ; j++)
        recycled += neu[i] == old[j];
    }
    if (n <= max)
      cr_expect_gt(recycled, 0, "tier %zu: no freed block was reused, recycling untested", n);
    for (int i = 0; i < NOBJ; i++)
      free(neu[i]);
  }
}

/* ------------------------------------------------------------------ */
/* realloc                                                             */

Test(contract, realloc_null_is_malloc) {
  tierpool_stats_t a, b;
  snap(&a);
  void *p = realloc(NULL, opaque(100));
  snap(&b);
  cr_assert_not_null(p);
  cr_expect(aligned_to(p, 16));
  cr_expect_eq(malloc_usable_size(p), 128);
  int t = tp_probe_tier(&b, 100);
  expect_delta(b, a, tiers[t].get, 1, "realloc(NULL, 100)");
  free(p);
}

Test(contract, realloc_zero_frees_and_returns_null) {
  tierpool_stats_t a, b;
  void *p = malloc(opaque(100));
  cr_assert_not_null(p);
  snap(&a);
  void *r = realloc(p, opaque(0));
  snap(&b);
  cr_expect_null(r, "realloc(p, 0) returned %p", r);
  int t = tp_probe_tier(&b, 100);
  expect_delta(b, a, tiers[t].put, 1, "realloc(p, 0)");
  expect_delta(b, a, total_get, 0, "realloc(p, 0)");
  if (r)
    free(r);
}

Test(contract, realloc_within_tier_keeps_pointer) {
  unsigned char *p = malloc(opaque(100));
  cr_assert_not_null(p);
  fill(p, 100, 1);
  unsigned char *q = realloc(p, opaque(120));
  cr_expect_eq(q, p, "realloc(100 -> 120) moved the block: %p -> %p", p, q);
  cr_assert_not_null(q);
  cr_expect_eq(check(q, 100, 1), 100);
  unsigned char *r = realloc(q, opaque(65));
  cr_expect_eq(r, q, "realloc(120 -> 65) moved the block: %p -> %p", q, r);
  cr_assert_not_null(r);
  cr_expect_eq(check(r, 65, 1), 65);
  free(r);

  /* Every tier, from just above half the tier to the whole tier. */
  tierpool_stats_t s;
  snap(&s);
  for (uint32_t i = 1; i < s.ntiers; i++) {
    size_t t = s.tiers[i].size;
    void *x = malloc(opaque(t / 2 + 1));
    cr_assert_not_null(x);
    void *y = realloc(x, opaque(t));
    cr_expect_eq(y, x, "realloc(%zu -> %zu) moved the block", t / 2 + 1, t);
    free(y ? y : x);
  }
}

Test(contract, realloc_moves_across_tiers_and_keeps_content) {
  tierpool_stats_t s;
  snap(&s);
  size_t max = tp_probe_max_tier(&s);
  size_t n = 1;
  unsigned char *p = malloc(opaque(n));
  cr_assert_not_null(p);
  fill(p, n, 9);
  /* grow through every tier and on into the forwarded sizes ... */
  for (size_t m = 24; m <= 5 * max; m = m * 2 + 8) {
    unsigned char *q = realloc(p, opaque(m));
    cr_assert_not_null(q, "realloc(%zu -> %zu) failed", n, m);
    cr_expect(aligned_to(q, 16));
    size_t bad = check(q, n, 9);
    cr_expect_eq(bad, n, "realloc(%zu -> %zu): byte %zu lost", n, m, bad);
    cr_expect_geq(malloc_usable_size(q), m);
    fill(q, m, 9);
    p = q;
    n = m;
  }
  /* ... and back down */
  for (size_t m = n / 3; m >= 1; m /= 3) {
    unsigned char *q = realloc(p, opaque(m));
    cr_assert_not_null(q, "realloc(%zu -> %zu) failed", n, m);
    size_t bad = check(q, m, 9);
    cr_expect_eq(bad, m, "realloc(%zu -> %zu): byte %zu lost", n, m, bad);
    cr_expect_geq(malloc_usable_size(q), m);
    p = q;
    n = m;
  }
  free(p);
}

Test(contract, failed_realloc_keeps_old_block) {
  const size_t sizes[] = {100, 4096, MiB, 2 * MiB + 5};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    size_t n = sizes[i];
    unsigned char *p = malloc(opaque(n));
    cr_assert_not_null(p);
    fill(p, n, 3);
    const size_t huge[] = {SIZE_MAX / 2, SIZE_MAX, (size_t)PTRDIFF_MAX + 1};
    for (size_t j = 0; j < 3; j++) {
      errno = 0;
      void *q = realloc(launder(p), opaque(huge[j]));
      int e = errno;
      cr_expect_null(q, "realloc(%zu -> %zu) returned %p", n, huge[j], q);
      cr_expect_eq(e, ENOMEM, "realloc(%zu -> %zu): errno %d", n, huge[j], e);
      size_t bad = check(p, n, 3);
      cr_expect_eq(bad, n, "failed realloc of a %zu-byte block damaged byte %zu", n, bad);
    }
    cr_expect_geq(malloc_usable_size(p), n);
    free(p);
  }
}

/* ------------------------------------------------------------------ */
/* malloc_usable_size and free                                         */

Test(contract, usable_size_is_the_tier) {
  cr_expect_eq(malloc_usable_size(NULL), 0);
  const size_t req[][2] = {{0, 16},   {1, 16},     {16, 16},       {17, 32},
                           {100, 128}, {1000, 1024}, {4097, 8192}, {MiB, MiB}};
  for (size_t i = 0; i < sizeof req / sizeof *req; i++) {
    void *p = malloc(opaque(req[i][0]));
    cr_assert_not_null(p);
    cr_expect_eq(malloc_usable_size(p), req[i][1], "malloc_usable_size(malloc(%zu)) = %zu, expected %zu",
                 req[i][0], malloc_usable_size(p), req[i][1]);
    free(p);
  }
  tierpool_stats_t s;
  snap(&s);
  for (uint32_t i = 0; i < s.ntiers; i++) {
    size_t t = s.tiers[i].size;
    void *p = malloc(opaque(t));
    void *q = calloc(1, opaque(t / 2 + 1));
    cr_assert(p && q);
    cr_expect_eq(malloc_usable_size(p), t, "malloc(%zu)", t);
    cr_expect_eq(malloc_usable_size(q), t, "calloc(1, %zu)", t / 2 + 1);
    free(p);
    free(q);
  }
}

Test(contract, free_null_does_nothing) {
  tierpool_stats_t a, b;
  snap(&a);
  errno = EDOM;
  free(NULL);
  int e = errno;
  snap(&b);
  cr_expect_eq(e, EDOM, "free(NULL) changed errno to %d", e);
  expect_delta(b, a, total_put, 0, "free(NULL)");
  expect_delta(b, a, forwarded_frees, 0, "free(NULL)");
}

Test(contract, free_keeps_errno) {
  void *p = malloc(opaque(100)), *q = malloc(opaque(3 * MiB));
  cr_assert(p && q);
  errno = EDOM;
  free(p);
  free(q);
  cr_expect_eq(errno, EDOM, "free changed errno");
}

Test(contract, blocks_are_counted_in_their_tier) {
  enum { NOBJ = 1000 };
  static void *p[NOBJ];
  tierpool_stats_t a, b, c;
  snap(&a);
  for (int i = 0; i < NOBJ; i++)
    p[i] = malloc(opaque(1000));
  snap(&b);
  for (int i = 0; i < NOBJ; i++)
    free(p[i]);
  snap(&c);
  int t = tp_probe_tier(&a, 1000);
  cr_assert_eq(a.tiers[t].size, 1024);
  expect_delta(b, a, tiers[t].get, NOBJ, "1000 x malloc(1000)");
  expect_delta(c, b, tiers[t].put, NOBJ, "1000 x free");
  cr_expect_eq(c.tiers[t].live, (int64_t)(c.tiers[t].get - c.tiers[t].put));
  cr_expect_geq(b.tiers[t].live - a.tiers[t].live, NOBJ);
}

/* ------------------------------------------------------------------ */
/* C23 free_sized and free_aligned_sized                               */

Test(contract, free_sized_exists_and_frees) {
  cr_assert_not_null((void *)free_sized, "free_sized is not defined");
  cr_assert_not_null((void *)free_aligned_sized, "free_aligned_sized is not defined");
  tierpool_stats_t a, b;
  void *p = malloc(opaque(100));
  void *q = aligned_alloc(4096, opaque(4096));
  void *r = malloc(opaque(2 * MiB));
  void *x = aligned_alloc(2 * MiB, opaque(2 * MiB));
  cr_assert(p && q && r && x);
  snap(&a);
  free_sized(p, 100);
  free_aligned_sized(q, 4096, 4096);
  free_sized(r, 2 * MiB);
  free_aligned_sized(x, 2 * MiB, 2 * MiB);
  free_sized(NULL, 0);
  free_aligned_sized(NULL, 64, 0);
  snap(&b);
  expect_delta(b, a, tiers[tp_probe_tier(&b, 100)].put, 1, "free_sized(p, 100)");
  expect_delta(b, a, tiers[tp_probe_tier(&b, 4096)].put, 1, "free_aligned_sized(q, 4096, 4096)");
  expect_delta(b, a, total_put, 2, "two pooled sized frees");
  expect_delta(b, a, forwarded_frees, 2, "two forwarded sized frees");
}

/* ------------------------------------------------------------------ */
/* blocks freed by another thread                                      */

enum { XT_N = 1500 };

struct xt_arg {
  size_t size;
  void *blocks[XT_N];
};

/* Dirties and frees blocks in a thread that then exits: they travel to
 * the central pool, where the main thread's refills find them. */
static void *dirty_and_free(void *arg) {
  struct xt_arg *a = arg;
  for (int i = 0; i < XT_N; i++) {
    a->blocks[i] = malloc(opaque(a->size));
    if (a->blocks[i])
      memset(a->blocks[i], 0xC3, a->size);
  }
  for (int i = 0; i < XT_N; i++)
    free(a->blocks[i]);
  return NULL;
}

static int cmp_ptr(const void *x, const void *y) {
  uintptr_t a = (uintptr_t) * (void *const *)x, b = (uintptr_t) * (void *const *)y;
  return a < b ? -1 : a > b;
}

Test(contract, calloc_zeroes_blocks_freed_by_other_threads) {
  static struct xt_arg arg;
  for (size_t n = 16; n <= 16 * KiB; n *= 4) {
    arg.size = n;
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, dirty_and_free, &arg), 0);
    pthread_join(t, NULL);
    qsort(arg.blocks, XT_N, sizeof *arg.blocks, cmp_ptr);
    /* This thread's cache may hold free blocks of the tier already (a
     * refill carves a batch); take those too, then the exited thread's. */
    tierpool_stats_t s;
    snap(&s);
    size_t want = XT_N + (size_t)s.tiers[tp_probe_tier(&s, n)].cached + 64;
    void **mine = calloc(want, sizeof *mine);
    cr_assert_not_null(mine);
    int recycled = 0;
    for (size_t i = 0; i < want; i++) {
      mine[i] = calloc(1, opaque(n));
      cr_assert_not_null(mine[i]);
      size_t z = first_nonzero(mine[i], n);
      cr_expect_eq(z, n, "calloc(1, %zu) #%zu: byte %zu is not zero", n, i, z);
      recycled += bsearch(&mine[i], arg.blocks, XT_N, sizeof *arg.blocks, cmp_ptr) != NULL;
    }
    cr_expect_gt(recycled, 0, "size %zu: no block of the exited thread was reused", n);
    for (size_t i = 0; i < want; i++)
      free(mine[i]);
    free(mine);
  }
}

/* ------------------------------------------------------------------ */
/* glibc's __libc_ aliases                                             */

/* Some programs and libraries call glibc's __libc_malloc family by name
 * and hand the blocks to free, or the other way round (rpmalloc PR #374):
 * both names must reach the same allocator. */
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);
void __libc_free(void *);

Test(contract, libc_aliases_are_the_same_allocator) {
  tierpool_stats_t a, b, c;
  snap(&a);
  void *p = __libc_malloc(opaque(100));
  void *q = __libc_calloc(1, opaque(100));
  void *r = __libc_realloc(NULL, opaque(100));
  void *m = __libc_memalign(opaque(64), opaque(100));
  void *x = malloc(opaque(100));
  snap(&b);
  cr_assert(p && q && r && m && x);
  cr_expect_eq(malloc_usable_size(p), 128);
  cr_expect_eq(first_nonzero(q, 100), 100);
  cr_expect(aligned_to(m, 64));
  free(p);
  free(q);
  free(r);
  free(m);
  __libc_free(x);
  snap(&c);
  int t = tp_probe_tier(&a, 100);
  expect_delta(b, a, tiers[t].get, 5, "__libc_malloc, __libc_calloc, __libc_realloc, __libc_memalign, malloc");
  expect_delta(c, b, tiers[t].put, 5, "free x 4, __libc_free");
}
