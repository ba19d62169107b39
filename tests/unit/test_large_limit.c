/* Unit tests of the large-block cache under RLIMIT_AS (large.c): a request
 * that cannot fit under the limit fails without emptying the cache (the
 * warm ranges stay for the requests that fit); one that fits once the
 * cache is given back still gets it. Criterion runs each test in a process
 * of its own, so the lowered limit stays there. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "engine.h"
#include "large.h"

#include "../lib/tp_test.h"

static void start(void) { tp_init(); }

TestSuite(large_limit, .init = start);

/* Address space mapped now (/proc/self/statm, pages). */
static size_t vm_now(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  cr_assert_not_null(f);
  unsigned long pages = 0;
  cr_assert_eq(fscanf(f, "%lu", &pages), 1);
  fclose(f);
  return (size_t)pages * 4096;
}

static void limit_to(size_t bytes) {
  struct rlimit rl = {bytes, bytes};
  cr_assert_eq(setrlimit(RLIMIT_AS, &rl), 0);
}

Test(large_limit, a_request_past_the_limit_keeps_the_cache) {
  char *p = tp_large_alloc(4 * MiB, false);
  cr_assert_not_null(p);
  memset(p, 0x5c, 4 * MiB);
  tp_large_free(p);
  limit_to(vm_now() + 64 * MiB);
  errno = 0;
  cr_assert_null(tp_large_alloc(opaque((size_t)2 << 30), false));
  cr_assert_eq(errno, ENOMEM);
  /* The freed range is still cached: it comes back as it was left, where
   * a fresh mapping would read zero. */
  char *q = tp_large_alloc(4 * MiB, false);
  cr_assert_not_null(q);
  cr_assert_eq(q[4 * MiB - 1], 0x5c);
  cr_assert_eq(q[0], 0x5c);
  tp_large_free(q);
}

Test(large_limit, a_request_that_fits_once_the_cache_goes_gets_it) {
  char *p[4];
  for (int i = 0; i < 4; i++) cr_assert_not_null(p[i] = tp_large_alloc(16 * MiB, false));
  for (int i = 0; i < 4; i++) tp_large_free(p[i]);
  /* 64 MiB cached: 80 MiB do not fit beside them under a limit of 32 MiB
   * more, but do in their place. */
  limit_to(vm_now() + 32 * MiB);
  char *q = tp_large_alloc(opaque(80 * MiB), true);
  cr_assert_not_null(q);
  cr_assert_eq(q[80 * MiB - 1], 0);
  tp_large_free(q);
}
