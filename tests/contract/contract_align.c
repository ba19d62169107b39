/* contract_align.c - glibc's contract for the aligned allocators:
 * posix_memalign, aligned_alloc, memalign, valloc, pvalloc, and the 16-byte
 * alignment of every block.
 *
 * Alignments run from 16 B to 64 MiB, past the largest tier (1 MiB), where
 * requests go to mimalloc. Debian's mimalloc 2.0.9 can return misaligned
 * memory there (mimalloc issue 700); tierpool's wrapper must not.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

#define MAX_ALIGN (64 * MiB)

typedef void *(*align_fn)(size_t align, size_t size);

static void *via_aligned_alloc(size_t a, size_t n) { return aligned_alloc(a, n); }
static void *via_memalign(size_t a, size_t n) { return memalign(a, n); }
static void *via_posix_memalign(size_t a, size_t n) {
  void *p = NULL;
  int rc = posix_memalign(&p, a, n);
  cr_expect(rc == 0 || rc == ENOMEM, "posix_memalign(%zu, %zu) = %d", a, n, rc);
  return rc == 0 ? p : NULL;
}

/* For one alignment: three blocks alive at once (1 byte, 100 bytes, one
 * alignment's worth plus one), each aligned, usable for its whole size,
 * and not overlapping (each keeps its own pattern while the others are
 * written). */
static void check_alignment(align_fn fn, const char *name, size_t a) {
  const size_t sizes[3] = {1, 100, a + 1};
  unsigned char *p[3];
  for (int i = 0; i < 3; i++) {
    p[i] = fn(opaque(a), opaque(sizes[i]));
    cr_assert_not_null(p[i], "%s(%zu, %zu) returned NULL", name, a, sizes[i]);
    cr_expect(aligned_to(p[i], a), "%s(%zu, %zu) = %p is misaligned", name, a, sizes[i], p[i]);
    cr_expect(aligned_to(p[i], 16), "%s(%zu, %zu) = %p is not 16-byte aligned", name, a, sizes[i],
              p[i]);
    cr_expect_geq(malloc_usable_size(p[i]), sizes[i], "%s(%zu, %zu): usable %zu", name, a, sizes[i],
                  malloc_usable_size(p[i]));
    fill(p[i], sizes[i], (unsigned)i);
  }
  for (int i = 0; i < 3; i++) {
    size_t bad = check(p[i], sizes[i], (unsigned)i);
    cr_expect_eq(bad, sizes[i], "%s(%zu, %zu): byte %zu overwritten", name, a, sizes[i], bad);
    free(p[i]);
  }
}

static void check_all_alignments(align_fn fn, const char *name) {
  for (size_t a = 16; a <= MAX_ALIGN; a *= 2)
    check_alignment(fn, name, a);
}

Test(contract, aligned_alloc_all_alignments) { check_all_alignments(via_aligned_alloc, "aligned_alloc"); }
Test(contract, memalign_all_alignments) { check_all_alignments(via_memalign, "memalign"); }
Test(contract, posix_memalign_all_alignments) {
  check_all_alignments(via_posix_memalign, "posix_memalign");
}

/* Alignments below 16 still give 16-byte aligned blocks. */
Test(contract, small_alignments_are_16_aligned) {
  for (size_t a = 1; a < 16; a *= 2) {
    void *p = memalign(opaque(a), opaque(24));
    cr_assert_not_null(p);
    cr_expect(aligned_to(p, 16), "memalign(%zu, 24) = %p", a, p);
    free(p);
  }
  void *p = NULL;
  cr_assert_eq(posix_memalign(&p, opaque(sizeof(void *)), opaque(24)), 0);
  cr_expect(aligned_to(p, 16), "posix_memalign(8, 24) = %p", p);
  free(p);
}

/* An alignment of a block goes to the tier of the alignment: a 4096-byte
 * aligned 100-byte block is a 4096-tier block (DESIGN.md, "Regions"). */
Test(contract, aligned_blocks_come_from_the_pools) {
  tierpool_stats_t a, b;
  snap(&a);
  void *p = aligned_alloc(opaque(4096), opaque(100));
  void *q = memalign(opaque(64), opaque(100));
  snap(&b);
  cr_assert(p && q);
  expect_delta(b, a, tiers[tp_probe_tier(&b, 4096)].get, 1, "aligned_alloc(4096, 100)");
  expect_delta(b, a, tiers[tp_probe_tier(&b, 128)].get, 1, "memalign(64, 100)");
  expect_delta(b, a, discarded, 0, "pooled aligned blocks");
  free(p);
  free(q);
}

Test(contract, posix_memalign_bad_alignment_is_einval) {
  const size_t bad[] = {0, 1, 2, 3, 4, 12, 24, 48, 3 * sizeof(void *), 4096 + 8, SIZE_MAX,
                        (SIZE_MAX >> 1) + 1 + 8};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    void *p = (void *)&bad; /* a marker that must survive */
    errno = EDOM;
    int rc = posix_memalign(&p, opaque(bad[i]), opaque(64));
    int e = errno;
    cr_expect_eq(rc, EINVAL, "posix_memalign(alignment %zu) = %d, expected EINVAL", bad[i], rc);
    cr_expect_eq(e, EDOM, "posix_memalign(alignment %zu) changed errno to %d", bad[i], e);
    cr_expect_eq(p, (void *)&bad, "posix_memalign(alignment %zu) wrote *memptr on failure", bad[i]);
    if (rc == 0)
      free(p);
  }
}

Test(contract, aligned_too_large_is_enomem) {
  const size_t huge[] = {SIZE_MAX, SIZE_MAX / 2, (size_t)PTRDIFF_MAX + 1};
  for (size_t i = 0; i < 3; i++) {
    const size_t aligns[] = {64, 4096, 2 * MiB};
    for (size_t k = 0; k < 3; k++) {
      size_t a = aligns[k];
      errno = 0;
      void *p = aligned_alloc(opaque(a), opaque(huge[i]));
      int e = errno;
      cr_expect_null(p, "aligned_alloc(%zu, %zu) = %p", a, huge[i], p);
      cr_expect_eq(e, ENOMEM, "aligned_alloc(%zu, %zu): errno %d", a, huge[i], e);
      errno = 0;
      p = memalign(opaque(a), opaque(huge[i]));
      e = errno;
      cr_expect_null(p, "memalign(%zu, %zu) = %p", a, huge[i], p);
      cr_expect_eq(e, ENOMEM, "memalign(%zu, %zu): errno %d", a, huge[i], e);
      p = NULL;
      int rc = posix_memalign(&p, opaque(a), opaque(huge[i]));
      cr_expect_eq(rc, ENOMEM, "posix_memalign(%zu, %zu) = %d", a, huge[i], rc);
    }
    errno = 0;
    void *p = valloc(opaque(huge[i]));
    int e = errno;
    cr_expect_null(p, "valloc(%zu) = %p", huge[i], p);
    cr_expect_eq(e, ENOMEM, "valloc(%zu): errno %d", huge[i], e);
    errno = 0;
    p = pvalloc(opaque(huge[i]));
    e = errno;
    cr_expect_null(p, "pvalloc(%zu) = %p", huge[i], p);
    cr_expect_eq(e, ENOMEM, "pvalloc(%zu): errno %d", huge[i], e);
  }
}

/* ------------------------------------------------------------------ */
/* valloc and pvalloc                                                  */

static const size_t page_sizes[] = {1, 100, 4095, 4096, 4097, 100000, MiB - 1, MiB, MiB + 1,
                                    2 * MiB, 5 * MiB + 3};

Test(contract, valloc_is_page_aligned) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  for (size_t i = 0; i < sizeof page_sizes / sizeof *page_sizes; i++) {
    size_t n = page_sizes[i];
    unsigned char *p = valloc(opaque(n));
    cr_assert_not_null(p, "valloc(%zu)", n);
    cr_expect(aligned_to(p, page), "valloc(%zu) = %p", n, p);
    cr_expect_geq(malloc_usable_size(p), n, "valloc(%zu): usable %zu", n, malloc_usable_size(p));
    fill(p, n, 4);
    cr_expect_eq(check(p, n, 4), n);
    free(p);
  }
}

Test(contract, pvalloc_rounds_up_to_a_page) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  for (size_t i = 0; i < sizeof page_sizes / sizeof *page_sizes; i++) {
    size_t n = page_sizes[i];
    size_t rounded = (n + page - 1) & ~(page - 1);
    unsigned char *p = pvalloc(opaque(n));
    cr_assert_not_null(p, "pvalloc(%zu)", n);
    cr_expect(aligned_to(p, page), "pvalloc(%zu) = %p", n, p);
    cr_expect_geq(malloc_usable_size(p), rounded, "pvalloc(%zu): usable %zu < %zu", n,
                  malloc_usable_size(p), rounded);
    fill(p, rounded, 6); /* the whole rounded size is the caller's */
    cr_expect_eq(check(p, rounded, 6), rounded);
    free(p);
  }
}

/* ------------------------------------------------------------------ */
/* every block is 16-byte aligned                                      */

Test(contract, every_block_is_16_aligned) {
  enum { N = 4096 };
  static void *m[N + 1], *c[N + 1], *r[N + 1];
  for (size_t n = 1; n <= N; n++) {
    m[n] = malloc(opaque(n));
    c[n] = calloc(opaque(n), 1);
    r[n] = realloc(NULL, opaque(n));
    cr_assert(m[n] && c[n] && r[n], "size %zu", n);
    cr_expect(aligned_to(m[n], 16), "malloc(%zu) = %p", n, m[n]);
    cr_expect(aligned_to(c[n], 16), "calloc(%zu, 1) = %p", n, c[n]);
    cr_expect(aligned_to(r[n], 16), "realloc(NULL, %zu) = %p", n, r[n]);
  }
  for (size_t n = 1; n <= N; n++) {
    free(m[n]);
    free(c[n]);
    free(r[n]);
  }
  /* forwarded sizes, including odd ones (mimalloc 2.0.9 gives small and odd
   * blocks only 8-byte alignment) */
  const size_t fwd[] = {MiB + 1, 2 * MiB, 2 * MiB + 8, 5 * MiB + 3, 9 * MiB + 24};
  for (size_t i = 0; i < sizeof fwd / sizeof *fwd; i++) {
    void *p = malloc(opaque(fwd[i]));
    void *q = calloc(1, opaque(fwd[i]));
    void *s = realloc(NULL, opaque(fwd[i]));
    cr_assert(p && q && s);
    cr_expect(aligned_to(p, 16), "malloc(%zu) = %p", fwd[i], p);
    cr_expect(aligned_to(q, 16), "calloc(1, %zu) = %p", fwd[i], q);
    cr_expect(aligned_to(s, 16), "realloc(NULL, %zu) = %p", fwd[i], s);
    free(p);
    free(q);
    free(s);
  }
}
