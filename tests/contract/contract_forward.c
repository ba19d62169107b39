/* contract_forward.c - the requests tierpool does not pool (sizes and
 * alignments past the largest tier) go to mimalloc, and keep glibc's
 * contract there too: Debian's mimalloc 2.0.9 alone does not (DESIGN.md,
 * "Everything else goes to mimalloc").
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static size_t max_tier(void) {
  tierpool_stats_t s;
  snap(&s);
  return tp_probe_max_tier(&s);
}

Test(contract, forwarded_requests_are_counted_as_discarded) {
  size_t max = max_tier();
  tierpool_stats_t a, b, c;
  /* mimalloc is loaded by the first request for it, and the loader's own
   * allocations are pooled gets: before the counts are taken. */
  free(aligned_alloc(opaque(2 * max), opaque(64)));
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

Test(contract, forwarded_realloc_keeps_content) {
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
    for (int j = 1; j < 7; j++)
      cr_expect_not_null(p[j], "%s of %zu bytes failed", what[j], n);
  }
}

/* A request larger than the machine can ever back. glibc's mmap is
 * refused by the kernel's overcommit check (modes 0 and 2), so glibc
 * returns NULL with ENOMEM; mimalloc 2.0.9 maps with MAP_NORESERVE, which
 * skips that check, and returns a block that the first touch of its pages
 * turns into an OOM kill (calloc touches them all). */
static size_t beyond_the_machine(void) {
  FILE *f = fopen("/proc/sys/vm/overcommit_memory", "r");
  int mode = -1;
  if (f) {
    if (fscanf(f, "%d", &mode) != 1)
      mode = -1;
    fclose(f);
  }
  if (mode == 1)
    cr_skip_test("vm.overcommit_memory is 1: the kernel accepts any size, glibc too");
  struct sysinfo si;
  cr_assert_eq(sysinfo(&si), 0);
  return 4 * ((size_t)si.totalram + (size_t)si.totalswap) * si.mem_unit;
}

Test(contract, larger_than_the_machine_is_enomem) {
  size_t n = beyond_the_machine();
  void *p;
  errno = 0;
  p = malloc(opaque(n));
  cr_expect(p == NULL && errno == ENOMEM, "malloc(%zu) = %p, errno %d", n, p, errno);
  free(p);
  unsigned char *q = malloc(opaque(100));
  cr_assert_not_null(q);
  fill(q, 100, 8);
  errno = 0;
  p = realloc(launder(q), opaque(n));
  cr_expect(p == NULL && errno == ENOMEM, "realloc(p, %zu) = %p, errno %d", n, p, errno);
  if (p)
    q = p;
  else
    cr_expect_eq(check(q, 100, 8), 100, "failed realloc damaged the block");
  free(q);
  errno = 0;
  p = aligned_alloc(opaque(4096), opaque(n));
  cr_expect(p == NULL && errno == ENOMEM, "aligned_alloc(4096, %zu) = %p, errno %d", n, p, errno);
  free(p);
  errno = 0;
  p = memalign(opaque(4 * MiB), opaque(n));
  cr_expect(p == NULL && errno == ENOMEM, "memalign(4 MiB, %zu) = %p, errno %d", n, p, errno);
  free(p);
  p = NULL;
  int rc = posix_memalign(&p, opaque(64), opaque(n));
  cr_expect_eq(rc, ENOMEM, "posix_memalign(64, %zu) = %d (%p)", n, rc, p);
  if (rc == 0)
    free(p);
  errno = 0;
  p = valloc(opaque(n));
  cr_expect(p == NULL && errno == ENOMEM, "valloc(%zu) = %p, errno %d", n, p, errno);
  free(p);
}

/* calloc of such a size, in a child stopped after one second: an
 * allocator that accepts the request and zeroes it page by page would
 * otherwise eat the machine's memory until the OOM killer steps in. */
Test(contract, calloc_larger_than_the_machine_is_enomem) {
  size_t n = beyond_the_machine();
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    alarm(1);
    errno = 0;
    void *p = calloc(opaque(n / MiB), opaque(MiB));
    _exit(p == NULL && errno == ENOMEM ? 0 : p ? 1 : 2);
  }
  int st = 0;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_expect(!(WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM),
            "calloc(%zu, %zu) did not return within 1 s (it is touching the memory)", n / MiB, MiB);
  cr_expect(!WIFEXITED(st) || WEXITSTATUS(st) != 1, "calloc(%zu, %zu) returned a block", n / MiB,
            MiB);
  cr_expect(!WIFEXITED(st) || WEXITSTATUS(st) != 2, "calloc(%zu, %zu): NULL but errno not ENOMEM",
            n / MiB, MiB);
  cr_expect(WIFEXITED(st) || WTERMSIG(st) == SIGALRM, "the child died of signal %d",
            WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}
