/* Object pools: reuse, the reset that refuses, constructor errors, the
 * idle bound, and misuse. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common.h"

typedef struct { int inits, resets, finis, fail_init, refuse; } calls_t;

static int c_init(void *o, void *arg) {
  calls_t *c = arg;
  c->inits++;
  memset(o, 0x11, 48);
  return c->fail_init ? ENOSPC : 0;
}
static bool c_reset(void *o, void *arg) {
  calls_t *c = arg;
  c->resets++;
  memset(o, 0x22, 48);
  return !c->refuse;
}
static void c_fini(void *o, void *arg) {
  (void)o;
  ((calls_t *)arg)->finis++;
}

static tierpool_objpool_t *make(calls_t *c, size_t max_idle) {
  tierpool_objpool_t *p;
  tierpool_objpool_opts_t o = {.name = "test-objs", .size = 48, .max_idle = max_idle,
                               .init = c_init, .reset = c_reset, .fini = c_fini, .arg = c};
  cr_assert_eq(tierpool_objpool_create(&p, &o), 0);
  return p;
}

Test(objpool, reuses_after_reset) {
  calls_t c = {0};
  tierpool_objpool_t *p = make(&c, 0);
  unsigned char *a, *b;
  cr_assert_eq(tierpool_objpool_acquire(p, (void **)&a), 0);
  cr_expect_eq(a[0], 0x11, "constructed");
  tierpool_objpool_release(p, a);
  cr_assert_eq(tierpool_objpool_acquire(p, (void **)&b), 0);
  cr_expect_eq(b, a, "the idle object comes back");
  cr_expect_eq(b[0], 0x22, "reset ran");
  cr_expect_eq(c.inits, 1);
  tierpool_objpool_release(p, b);
  tierpool_pool_stats_t st;
  cr_assert_eq(tierpool_objpool_stats(p, &st), 0);
  cr_expect_eq(st.gets, 2);
  cr_expect_eq(st.puts, 2);
  cr_expect_eq(st.in_use, 0);
  cr_expect_eq(st.peak, 1);
  cr_expect_eq(st.created, 1);
  cr_expect_eq(tierpool_objpool_destroy(p), 0);
  cr_expect_eq(c.finis, 1, "the idle object is finalised at destroy");
}

Test(objpool, refused_reset_frees) {
  calls_t c = {.refuse = 1};
  tierpool_objpool_t *p = make(&c, 0);
  void *a, *b;
  tierpool_objpool_acquire(p, &a);
  tierpool_objpool_release(p, a);
  cr_expect_eq(c.finis, 1, "refused: finalised and freed");
  tierpool_objpool_acquire(p, &b);
  cr_expect_eq(c.inits, 2, "a new object was made");
  tierpool_objpool_release(p, b);
  tierpool_pool_stats_t st;
  tierpool_objpool_stats(p, &st);
  cr_expect_eq(st.destroyed, 2);
  tierpool_objpool_destroy(p);
}

Test(objpool, init_error_is_returned) {
  calls_t c = {.fail_init = 1};
  tierpool_objpool_t *p = make(&c, 0);
  void *a = NULL;
  cr_expect_eq(tierpool_objpool_acquire(p, &a), ENOSPC);
  cr_expect_null(a);
  tierpool_pool_stats_t st;
  tierpool_objpool_stats(p, &st);
  cr_expect_eq(st.in_use, 0);
  tierpool_objpool_destroy(p);
}

Test(objpool, idle_bound) {
  calls_t c = {0};
  tierpool_objpool_t *p = make(&c, 2);
  void *o[4];
  for (int i = 0; i < 4; i++) tierpool_objpool_acquire(p, &o[i]);
  for (int i = 0; i < 4; i++) tierpool_objpool_release(p, o[i]);
  cr_expect_eq(c.finis, 2, "two kept, two freed");
  tierpool_objpool_destroy(p);
  cr_expect_eq(c.finis, 4);
}

Test(objpool, without_callbacks_zeroes) {
  tierpool_objpool_t *p;
  tierpool_objpool_opts_t o = {.size = 100};
  cr_assert_eq(tierpool_objpool_create(&p, &o), 0);
  unsigned char *a;
  tierpool_objpool_acquire(p, (void **)&a);
  for (int i = 0; i < 100; i++) cr_assert_eq(a[i], 0);
  tierpool_objpool_release(p, a);
  tierpool_objpool_destroy(p);
}

Test(objpool, einval) {
  tierpool_objpool_t *p;
  tierpool_objpool_opts_t zero = {.size = 0}, ok = {.size = 8};
  void *o;
  cr_expect_eq(tierpool_objpool_create(&p, &zero), EINVAL);
  cr_expect_eq(tierpool_objpool_create(NULL, &ok), EINVAL);
  cr_expect_eq(tierpool_objpool_create(&p, NULL), EINVAL);
  cr_expect_eq(tierpool_objpool_acquire(NULL, &o), EINVAL);
  cr_expect_eq(tierpool_objpool_stats(NULL, NULL), EINVAL);
  cr_expect_eq(tierpool_objpool_destroy(NULL), EINVAL);
}

Test(objpool_misuse, release_twice, .signal = SIGABRT) {
  calls_t c = {0};
  tierpool_objpool_t *p = make(&c, 0);
  void *a;
  tierpool_objpool_acquire(p, &a);
  tierpool_objpool_release(p, a);
  tierpool_objpool_release(p, a);
}

Test(objpool_misuse, release_of_an_interior_pointer, .signal = SIGABRT) {
  calls_t c = {0};
  tierpool_objpool_t *p = make(&c, 0);
  char *a;
  tierpool_objpool_acquire(p, (void **)&a);
  tierpool_objpool_release(p, a + 16);
}

Test(objpool_misuse, release_of_a_smaller_block, .signal = SIGABRT) {
  calls_t c = {0};
  tierpool_objpool_t *p = make(&c, 0);
  tierpool_objpool_release(p, malloc(16));
}

Test(objpool_misuse, release_of_a_foreign_pointer, .signal = SIGABRT) {
  static char not_ours[256] __attribute__((aligned(64)));
  calls_t c = {0};
  tierpool_objpool_t *p = make(&c, 0);
  tierpool_objpool_release(p, not_ours);
}

/* Where a large block would start (64 bytes into a page), in memory nobody
 * maps: an abort with a message, not a fault. */
Test(objpool_misuse, release_of_an_unmapped_pointer, .signal = SIGABRT) {
  char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  cr_assert(page != MAP_FAILED);
  munmap(page, 4096);
  calls_t c = {0};
  tierpool_objpool_t *p = make(&c, 0);
  tierpool_objpool_release(p, page + 64);
}
