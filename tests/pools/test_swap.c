/* The swap container: readers keep their view, old objects come back only
 * after their last reader, the steady state allocates nothing, a writer
 * waits when every object is busy, misuse aborts. (The concurrent stress
 * with poisoned objects is pools_driver.c.) */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

typedef struct { uint64_t version; uint64_t data[64]; } obj_t;

static int recycled;
static void on_recycle(void *o, void *arg) {
  (void)arg;
  recycled++;
  memset(o, 0xee, sizeof(obj_t));
}
static int init_v7(void *o, void *arg) {
  (void)arg;
  ((obj_t *)o)->version = 7;
  return 0;
}

static tierpool_swap_t *make(size_t max) {
  tierpool_swap_t *s;
  tierpool_swap_opts_t o = {.name = "test-swap", .size = sizeof(obj_t), .max_objects = max,
                            .init = init_v7, .recycle = on_recycle};
  cr_assert_eq(tierpool_swap_create(&s, &o), 0);
  recycled = 0;
  return s;
}

static obj_t *update(tierpool_swap_t *s, uint64_t v) {
  obj_t *n = tierpool_swap_write_begin(s);
  cr_assert(n);
  n->version = v;
  tierpool_swap_commit(s, n);
  return n;
}

Test(swap, readers_keep_their_view) {
  tierpool_swap_t *s = make(0);
  const obj_t *r1 = tierpool_swap_acquire(s), *r2 = tierpool_swap_acquire(s);
  cr_expect_eq(r1, r2);
  cr_expect_eq(r1->version, 7, "init filled the first object");
  update(s, 8);
  cr_expect_eq(recycled, 0, "two readers still hold the old object");
  cr_expect_eq(r1->version, 7);
  const obj_t *r3 = tierpool_swap_acquire(s);
  cr_expect_eq(r3->version, 8);
  tierpool_swap_release(s, r1);
  cr_expect_eq(recycled, 0);
  tierpool_swap_release(s, r2);
  cr_expect_eq(recycled, 1, "the last reader recycles it");
  tierpool_swap_release(s, r3);
  tierpool_pool_stats_t st;
  tierpool_swap_stats(s, &st);
  cr_expect_eq(st.swaps, 1);
  cr_expect_eq(st.readers_peak, 2);
  cr_expect_eq(tierpool_swap_destroy(s), 0);
}

Test(swap, unread_old_object_recycles_at_commit) {
  tierpool_swap_t *s = make(0);
  const obj_t *r = tierpool_swap_acquire(s);
  tierpool_swap_release(s, r);
  update(s, 1);
  cr_expect_eq(recycled, 1);
  tierpool_swap_destroy(s);
}

Test(swap, steady_state_allocates_nothing) {
  tierpool_swap_t *s = make(0);
  for (uint64_t v = 0; v < 10; v++) update(s, v); /* warm up */
  tierpool_stats_t a, b;
  tierpool_pool_stats_t p0, p1;
  tierpool_swap_stats(s, &p0);
  tierpool_stats(&a);
  for (uint64_t v = 0; v < 10000; v++) {
    const obj_t *r = tierpool_swap_acquire(s);
    if (v % 3 == 0) update(s, v);
    tierpool_swap_release(s, r);
  }
  tierpool_stats(&b);
  tierpool_swap_stats(s, &p1);
  cr_expect_eq(b.total_get, a.total_get, "no block got from the tiers");
  cr_expect_eq(b.discarded, a.discarded);
  cr_expect_eq(p1.created, p0.created, "no object made");
  tierpool_swap_destroy(s);
}

Test(swap, abort_gives_back) {
  tierpool_swap_t *s = make(0);
  obj_t *n = tierpool_swap_write_begin(s);
  tierpool_swap_abort(s, n);
  cr_expect_eq(recycled, 1);
  cr_expect_eq(((const obj_t *)tierpool_swap_acquire(s))->version, 7);
  cr_expect_eq(tierpool_swap_destroy(s), EBUSY, "a reader holds the current object");
}

typedef struct {
  tierpool_swap_t *s;
  obj_t *got;
} writer_t;

static void *late_writer(void *arg) {
  writer_t *w = arg;
  w->got = tierpool_swap_write_begin(w->s);
  return NULL;
}

Test(swap, writer_waits_when_all_busy) {
  tierpool_swap_t *s = make(3);
  const obj_t *r0 = tierpool_swap_acquire(s);
  update(s, 1);                                 /* object 1 current, 0 retired (read) */
  const obj_t *r1 = tierpool_swap_acquire(s);
  update(s, 2);                                 /* object 2 current, 1 retired (read) */
  writer_t w = {s, NULL};
  pthread_t t;
  pthread_create(&t, NULL, late_writer, &w);
  usleep(20000);
  cr_expect_null(w.got, "all three objects busy: the writer waits");
  tierpool_swap_release(s, r0);
  pthread_join(t, NULL);
  cr_expect_eq(w.got, (void *)r0, "the recycled object");
  tierpool_swap_abort(s, w.got);
  tierpool_swap_release(s, r1);
  tierpool_swap_destroy(s);
}

Test(swap, einval) {
  tierpool_swap_t *s;
  tierpool_swap_opts_t zero = {.size = 0}, two = {.size = 8, .max_objects = 2};
  cr_expect_eq(tierpool_swap_create(&s, &zero), EINVAL);
  cr_expect_eq(tierpool_swap_create(&s, &two), EINVAL);
  cr_expect_eq(tierpool_swap_create(NULL, &two), EINVAL);
  errno = 0;
  cr_expect_null(tierpool_swap_write_begin(NULL));
  cr_expect_eq(errno, EINVAL);
  cr_expect_eq(tierpool_swap_destroy(NULL), EINVAL);
  cr_expect_eq(tierpool_swap_stats(NULL, NULL), EINVAL);
}

Test(swap_misuse, release_twice, .signal = SIGABRT) {
  tierpool_swap_t *s = make(0);
  const obj_t *r = tierpool_swap_acquire(s);
  update(s, 1);
  tierpool_swap_release(s, r); /* recycled */
  tierpool_swap_release(s, r);
}

Test(swap_misuse, release_foreign, .signal = SIGABRT) {
  tierpool_swap_t *s = make(0);
  tierpool_swap_release(s, malloc(sizeof(obj_t)));
}

Test(swap_misuse, commit_of_the_current_object, .signal = SIGABRT) {
  tierpool_swap_t *s = make(0);
  tierpool_swap_commit(s, (void *)tierpool_swap_acquire(s));
}

Test(swap_misuse, null_acquire, .signal = SIGABRT) { tierpool_swap_acquire(NULL); }

static int init_fails(void *o, void *arg) {
  (void)o, (void)arg;
  return ENOSPC;
}

Test(swap, init_error_frees_the_object) {
  tierpool_swap_t *s = NULL;
  tierpool_swap_opts_t o = {.size = 3000, .init = init_fails};
  tierpool_stats_t a, b;
  tierpool_stats(&a);
  cr_expect_eq(tierpool_swap_create(&s, &o), ENOSPC);
  tierpool_stats(&b);
  cr_expect_eq(b.total_get - a.total_get, b.total_put - a.total_put, "everything given back");
}
