/* Arenas and slab pools over mmap: bump allocation, alignment, the hard
 * limit, reset, stats, preallocation, huge pages with their fallback, the
 * hardened mode (a stale pointer faults), and slab misuse. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include "common.h"

static tierpool_arena_t *make(size_t limit, unsigned flags) {
  tierpool_arena_t *a;
  tierpool_arena_opts_t o = {.name = "test-arena", .limit = limit, .flags = flags};
  cr_assert_eq(tierpool_arena_create(&a, &o), 0);
  return a;
}

Test(arena, bump_alignment_limit) {
  tierpool_arena_t *a = make(1 << 20, 0);
  char *p = tierpool_arena_alloc(a, 10, 0), *q = tierpool_arena_alloc(a, 10, 0);
  cr_assert(p && q);
  cr_expect_eq(q - p, 16, "bump, 16-byte aligned");
  for (size_t al = 1; al <= 4096; al <<= 1) {
    char *r = tierpool_arena_alloc(a, 3, al);
    cr_expect_eq((uintptr_t)r % al, 0);
  }
  errno = 0;
  cr_expect_null(tierpool_arena_alloc(a, (1 << 20) + 1, 0));
  cr_expect_eq(errno, ENOMEM);
  errno = 0;
  cr_expect_null(tierpool_arena_alloc(a, 0, 0));
  cr_expect_eq(errno, EINVAL);
  cr_expect_null(tierpool_arena_alloc(a, 8, 3));
  cr_expect_null(tierpool_arena_alloc(NULL, 8, 0));
  /* fill exactly to the limit */
  tierpool_arena_reset(a);
  cr_expect_not_null(tierpool_arena_alloc(a, 1 << 20, 0));
  cr_expect_null(tierpool_arena_alloc(a, 1, 0));
  tierpool_arena_destroy(a);
}

Test(arena, reset_reuses_the_mapping) {
  tierpool_arena_t *a = make(4 << 20, 0);
  char *first = tierpool_arena_alloc(a, 1000, 0);
  memset(first, 1, 1000);
  for (int i = 0; i < 100; i++) memset(tierpool_arena_alloc(a, 30000, 0), 2, 30000);
  tierpool_arena_stats_t st;
  tierpool_arena_stats(a, &st);
  cr_expect_geq(st.allocated, 1000 + 100 * 30000);
  cr_expect_geq(st.committed, st.allocated);
  cr_expect_lt(st.committed, st.allocated + (64 << 10) + 1, "committed by 64 KiB slabs");
  cr_expect_eq(st.reserved, 4 << 20);
  uint64_t committed = st.committed;
  tierpool_arena_reset(a);
  cr_expect_eq(tierpool_arena_alloc(a, 1000, 0), first, "the same memory again");
  tierpool_arena_stats(a, &st);
  cr_expect_eq(st.allocated, 1000);
  cr_expect_eq(st.committed, committed, "the mapping stays");
  cr_expect_geq(st.peak, 1000 + 100 * 30000);
  cr_expect_eq(st.resets, 1);
  tierpool_arena_destroy(a);
}

Test(arena, release_flag_zeroes_after_reset) {
  tierpool_arena_t *a = make(1 << 20, TIERPOOL_ARENA_RELEASE);
  char *p = tierpool_arena_alloc(a, 100000, 0);
  memset(p, 7, 100000);
  tierpool_arena_reset(a);
  char *q = tierpool_arena_alloc(a, 100000, 0);
  cr_expect_eq(q, p);
  cr_expect_eq(q[0], 0, "pages given back (MADV_DONTNEED): read as zero");
  cr_expect_eq(q[99999], 0);
  tierpool_arena_destroy(a);
}

Test(arena, prealloc_commits_everything) {
  tierpool_arena_t *a = make(1 << 20, TIERPOOL_ARENA_PREALLOC);
  tierpool_arena_stats_t st;
  tierpool_arena_stats(a, &st);
  cr_expect_eq(st.committed, 1 << 20);
  tierpool_arena_destroy(a);
}

Test(arena, huge_pages_or_fallback) {
  /* With no huge pages reserved (the usual CI machine), the arena falls
   * back to normal pages and still works. */
  tierpool_arena_t *a = make(4 << 20, TIERPOOL_ARENA_HUGE);
  char *p = tierpool_arena_alloc(a, 3 << 20, 0);
  cr_assert(p);
  memset(p, 3, 3 << 20);
  tierpool_arena_stats_t st;
  tierpool_arena_stats(a, &st);
  cr_expect(st.huge == 0 || st.huge == 1);
  tierpool_arena_destroy(a);
  tierpool_arena_t *b = make(4 << 20, TIERPOOL_ARENA_HUGE); /* no second warning */
  tierpool_arena_destroy(b);
}

Test(arena, advice_is_applied) {
  tierpool_arena_t *a;
  tierpool_arena_opts_t o = {.limit = 1 << 20, .advice = MADV_SEQUENTIAL};
  cr_assert_eq(tierpool_arena_create(&a, &o), 0);
  cr_expect_not_null(tierpool_arena_alloc(a, 1000, 0));
  tierpool_arena_destroy(a);
}

Test(arena, hardened_stale_pointer_faults, .signal = SIGSEGV) {
  tierpool_arena_t *a = make(1 << 20, TIERPOOL_ARENA_HARDEN);
  volatile char *p = tierpool_arena_alloc(a, 64, 0);
  p[0] = 1;
  tierpool_arena_reset(a);
  char *q = tierpool_arena_alloc(a, 64, 0);
  q[0] = 2; /* new memory elsewhere */
  if (q == p) cr_assert_fail("a hardened reset must not hand out the same address");
  (void)p[0]; /* stale: faults */
}

Test(arena, hardened_new_memory_works) {
  tierpool_arena_t *a = make(1 << 20, TIERPOOL_ARENA_HARDEN);
  for (int r = 0; r < 10; r++) {
    char *p = tierpool_arena_alloc(a, 500000, 0);
    cr_assert(p);
    memset(p, r, 500000);
    tierpool_arena_reset(a);
  }
  tierpool_arena_stats_t st;
  tierpool_arena_stats(a, &st);
  cr_expect_eq(st.reserved, 4 << 20, "four windows");
  tierpool_arena_destroy(a);
}

Test(arena, einval) {
  tierpool_arena_t *a;
  tierpool_arena_opts_t zero = {.limit = 0};
  cr_expect_eq(tierpool_arena_create(&a, &zero), EINVAL);
  cr_expect_eq(tierpool_arena_create(NULL, &zero), EINVAL);
  cr_expect_eq(tierpool_arena_stats(NULL, NULL), EINVAL);
  cr_expect_eq(tierpool_arena_destroy(NULL), EINVAL);
}

/* ------------------------------------------------------------ slab pools */

static tierpool_slab_t *slab(size_t size, size_t limit, unsigned flags) {
  tierpool_slab_t *s;
  tierpool_slab_opts_t o = {.name = "test-slab", .size = size, .limit = limit, .flags = flags};
  cr_assert_eq(tierpool_slab_create(&s, &o), 0);
  return s;
}

Test(slab, bounded_and_reused) {
  tierpool_slab_t *s = slab(40, 48 * 100, 0);
  void *p[101];
  for (int i = 0; i < 100; i++) {
    p[i] = tierpool_slab_alloc(s);
    cr_assert(p[i], "slot %d", i);
    memset(p[i], i, 40);
  }
  errno = 0;
  cr_expect_null(tierpool_slab_alloc(s), "the limit: 100 slots of 48");
  cr_expect_eq(errno, ENOMEM);
  tierpool_slab_free(s, p[42]);
  cr_expect_eq(tierpool_slab_alloc(s), p[42], "a freed slot first");
  tierpool_arena_stats_t m;
  tierpool_pool_stats_t c;
  tierpool_slab_stats(s, &m, &c);
  cr_expect_eq(c.in_use, 100);
  cr_expect_eq(c.gets, 101);
  cr_expect_eq(c.puts, 1);
  cr_expect_eq(m.allocated, 4800);
  tierpool_slab_reset(s);
  tierpool_slab_stats(s, &m, &c);
  cr_expect_eq(c.in_use, 0);
  cr_expect_eq(m.allocated, 0);
  cr_expect_eq(tierpool_slab_alloc(s), p[0]);
  tierpool_slab_destroy(s);
}

Test(slab, einval) {
  tierpool_slab_t *s;
  tierpool_slab_opts_t zero = {.size = 0, .limit = 100}, big = {.size = 200, .limit = 100};
  cr_expect_eq(tierpool_slab_create(&s, &zero), EINVAL);
  cr_expect_eq(tierpool_slab_create(&s, &big), EINVAL);
  errno = 0;
  cr_expect_null(tierpool_slab_alloc(NULL));
  cr_expect_eq(errno, EINVAL);
}

Test(slab_misuse, double_free, .signal = SIGABRT) {
  tierpool_slab_t *s = slab(32, 4096, 0);
  void *p = tierpool_slab_alloc(s);
  tierpool_slab_free(s, p);
  tierpool_slab_free(s, p);
}

Test(slab_misuse, interior_pointer, .signal = SIGABRT) {
  tierpool_slab_t *s = slab(32, 4096, 0);
  char *p = tierpool_slab_alloc(s);
  tierpool_slab_free(s, p + 8);
}

Test(slab_misuse, never_handed_out, .signal = SIGABRT) {
  tierpool_slab_t *s = slab(32, 4096, 0);
  char *p = tierpool_slab_alloc(s);
  tierpool_slab_free(s, p + 32 * 10);
}
