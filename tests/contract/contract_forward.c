/* contract_forward.c - the requests tierpool does not pool (sizes and
 * alignments past the largest tier) go to mimalloc, and keep glibc's
 * contract there too: Debian's mimalloc 2.0.9 alone does not (DESIGN.md,
 * "Everything else goes to mimalloc").
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>

#include "common.h"

static size_t max_tier(void) {
  tierpool_stats_t s;
  snap(&s);
  return tp_probe_max_tier(&s);
}

Test(contract, forwarded_requests_are_counted_as_discarded) {
  size_t max = max_tier();
  tierpool_stats_t a, b, c;
  snap(&a);
  void *big = malloc(opaque(max + 1));
  void *al = aligned_alloc(opaque(2 * max), opaque(64));
  snap(&b);
  free(big);
  free(al);
  snap(&c);
  cr_assert(big && al);
  expect_delta(b, a, discarded, 2, "malloc(max+1), aligned_alloc(2*max, 64)");
  expect_delta(b, a, discarded_by_reason[TIERPOOL_REASON_TOO_LARGE], 1, "malloc(max+1)");
  expect_delta(b, a, discarded_by_reason[TIERPOOL_REASON_ALIGNMENT], 1, "aligned_alloc(2*max, 64)");
  expect_delta(b, a, total_get, 0, "forwarded requests");
  expect_delta(c, b, forwarded_frees, 2, "frees of forwarded blocks");
  expect_delta(c, b, total_put, 0, "frees of forwarded blocks");
}

Test(contract, forwarded_usable_size_covers_request) {
  const size_t sizes[] = {MiB + 1, 2 * MiB, 3 * MiB - 7, 5 * MiB + 3, 33 * MiB};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    unsigned char *p = malloc(opaque(sizes[i]));
    cr_assert_not_null(p, "malloc(%zu)", sizes[i]);
    size_t u = malloc_usable_size(p);
    cr_expect_geq(u, sizes[i], "malloc_usable_size(malloc(%zu)) = %zu", sizes[i], u);
    memset(p, 0x5A, u); /* all of the usable size is the caller's */
    free(p);
  }
}

Test(contract, forwarded_realloc_grows_and_shrinks_in_place_or_not) {
  size_t n = 2 * MiB;
  unsigned char *p = malloc(opaque(n));
  cr_assert_not_null(p);
  fill(p, n, 11);
  const size_t steps[] = {5 * MiB + 3, 9 * MiB, 3 * MiB, 2 * MiB + 1, MiB + 17, 700 * KiB, 100,
                          4 * MiB};
  for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
    size_t m = steps[i];
    unsigned char *q = realloc(p, opaque(m));
    cr_assert_not_null(q, "realloc(%zu -> %zu)", n, m);
    size_t keep = n < m ? n : m;
    size_t bad = check(q, keep, 11);
    cr_expect_eq(bad, keep, "realloc(%zu -> %zu): byte %zu lost", n, m, bad);
    cr_expect(aligned_to(q, 16), "realloc(%zu -> %zu) = %p", n, m, q);
    cr_expect_geq(malloc_usable_size(q), m, "realloc(%zu -> %zu): usable %zu", n, m,
                  malloc_usable_size(q));
    fill(q, m, 11);
    p = q;
    n = m;
  }
  free(p);
}

Test(contract, forwarded_realloc_zero_frees) {
  tierpool_stats_t a, b;
  void *p = malloc(opaque(3 * MiB));
  cr_assert_not_null(p);
  snap(&a);
  void *r = realloc(p, opaque(0));
  snap(&b);
  cr_expect_null(r, "realloc(forwarded, 0) returned %p (mimalloc 2.0.9 returns a block)", r);
  expect_delta(b, a, forwarded_frees, 1, "realloc(forwarded, 0)");
  if (r)
    free(r);
}

Test(contract, forwarded_calloc_is_zero) {
  const size_t sizes[] = {MiB + 1, 3 * MiB, 8 * MiB};
  for (int round = 0; round < 3; round++)
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
      unsigned char *p = calloc(1, opaque(sizes[i]));
      cr_assert_not_null(p);
      size_t z = first_nonzero(p, sizes[i]);
      cr_expect_eq(z, sizes[i], "calloc(1, %zu) round %d: byte %zu not zero", sizes[i], round, z);
      memset(p, 0xEE, sizes[i]);
      free(p);
    }
}

/* Alignments past the largest tier, with sizes around the alignment:
 * the cases where mi_aligned_alloc in 2.0.9 misaligns. */
Test(contract, forwarded_alignments_hold) {
  for (size_t a = 2 * MiB; a <= 64 * MiB; a *= 2) {
    const size_t sizes[] = {1, 4097, a - 1, a, a + 1, 3 * a};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
      size_t n = sizes[i];
      unsigned char *p = aligned_alloc(opaque(a), opaque(n));
      unsigned char *q = memalign(opaque(a), opaque(n));
      void *r = NULL;
      int rc = posix_memalign(&r, opaque(a), opaque(n));
      cr_assert(p && q && rc == 0, "alignment %zu size %zu", a, n);
      cr_expect(aligned_to(p, a), "aligned_alloc(%zu, %zu) = %p", a, n, p);
      cr_expect(aligned_to(q, a), "memalign(%zu, %zu) = %p", a, n, q);
      cr_expect(aligned_to(r, a), "posix_memalign(%zu, %zu) = %p", a, n, r);
      cr_expect_geq(malloc_usable_size(p), n);
      cr_expect_geq(malloc_usable_size(q), n);
      cr_expect_geq(malloc_usable_size(r), n);
      p[0] = 1;
      p[n - 1] = 2;
      /* realloc of an aligned forwarded block keeps its content: check the
       * first and last pages, filling all of a 192 MiB block is slow */
      size_t head = n / 2 < 4096 ? n / 2 : 4096;
      fill(q, head, 21);
      fill(q + n - head, head, 22);
      unsigned char *g = realloc(q, opaque(n + MiB));
      cr_assert_not_null(g);
      cr_expect_eq(check(g, head, 21), head, "realloc of memalign(%zu, %zu): head lost", a, n);
      cr_expect_eq(check(g + n - head, head, 22), head, "realloc of memalign(%zu, %zu): tail lost",
                   a, n);
      free(p);
      free(g);
      free(r);
    }
  }
}

/* glibc's malloc family leaves errno alone when it succeeds, and programs
 * lean on that (errno = 0; call; if (errno) ...). Checked on the first
 * forwarded request of the process too, where the fallback sets itself up. */
Test(contract, success_leaves_errno_alone) {
  const size_t sizes[] = {3 * MiB, 100, 0, MiB, 5 * MiB + 3};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    size_t n = sizes[i];
    void *p[8] = {0};
    int e[10];
    errno = EDOM;
    p[0] = malloc(opaque(n));
    e[0] = errno;
    errno = EDOM;
    p[1] = calloc(1, opaque(n));
    e[1] = errno;
    errno = EDOM;
    p[2] = realloc(NULL, opaque(n));
    e[2] = errno;
    errno = EDOM;
    p[3] = aligned_alloc(opaque(4 * MiB), opaque(n));
    e[3] = errno;
    errno = EDOM;
    p[4] = memalign(opaque(64), opaque(n));
    e[4] = errno;
    errno = EDOM;
    e[5] = posix_memalign(&p[5], opaque(2 * MiB), opaque(n)) ? -1 : errno;
    errno = EDOM;
    p[6] = valloc(opaque(n));
    e[6] = errno;
    errno = EDOM;
    p[7] = realloc(p[0], opaque(n + 2 * MiB));
    e[7] = errno;
    if (p[7])
      p[0] = NULL;
    errno = EDOM;
    (void)malloc_usable_size(p[1]);
    e[8] = errno;
    errno = EDOM;
    for (int j = 0; j < 8; j++)
      free(p[j]);
    e[9] = errno;
    static const char *const what[10] = {"malloc", "calloc", "realloc(NULL)", "aligned_alloc",
                                         "memalign", "posix_memalign", "valloc", "realloc(grow)",
                                         "malloc_usable_size", "free"};
    for (int j = 0; j < 10; j++)
      cr_expect_eq(e[j], EDOM, "%s of %zu bytes succeeded but changed errno to %d", what[j], n,
                   e[j]);
    for (int j = 1; j < 8; j++)
      cr_expect(j == 0 || p[j] || j == 7, "call %d of %zu bytes failed", j, n);
  }
}
