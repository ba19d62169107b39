/* Bounded pools: acquire, try-acquire, deadlines, cancellation from
 * another thread, release waking a waiter, destroy while busy, misuse. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static tierpool_bounded_t *make(size_t n) {
  tierpool_bounded_t *p;
  tierpool_bounded_opts_t o = {.name = "test-bounded", .count = n, .size = 32};
  cr_assert_eq(tierpool_bounded_create(&p, &o), 0);
  return p;
}

Test(bounded, n_objects_then_eagain) {
  tierpool_bounded_t *p = make(3);
  void *o[4];
  for (int i = 0; i < 3; i++) cr_assert_eq(tierpool_bounded_try_acquire(p, &o[i]), 0);
  cr_expect_neq(o[0], o[1]);
  cr_expect_neq(o[1], o[2]);
  cr_expect_eq(tierpool_bounded_try_acquire(p, &o[3]), EAGAIN);
  tierpool_pool_stats_t st;
  tierpool_bounded_stats(p, &st);
  cr_expect_eq(st.in_use, 3);
  cr_expect_eq(st.created, 3);
  cr_expect_eq(tierpool_bounded_destroy(p), EBUSY);
  for (int i = 0; i < 3; i++) tierpool_bounded_release(p, o[i]);
  cr_expect_eq(tierpool_bounded_destroy(p), 0);
}

Test(bounded, deadline) {
  tierpool_bounded_t *p = make(1);
  void *a, *b;
  tierpool_bounded_acquire(p, &a, NULL, NULL);
  struct timespec past = deadline_in_ms(-10), soon = deadline_in_ms(30);
  cr_expect_eq(tierpool_bounded_acquire(p, &b, &past, NULL), ETIMEDOUT);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  cr_expect_eq(tierpool_bounded_acquire(p, &b, &soon, NULL), ETIMEDOUT);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  cr_expect_geq((t1.tv_sec - soon.tv_sec) * 1000000000L + (t1.tv_nsec - soon.tv_nsec), 0,
                "returned no earlier than the deadline");
  tierpool_pool_stats_t st;
  tierpool_bounded_stats(p, &st);
  cr_expect_eq(st.timeouts, 2);
  cr_expect_eq(st.waits, 2);
  /* a free object is taken even past the deadline */
  tierpool_bounded_release(p, a);
  cr_expect_eq(tierpool_bounded_acquire(p, &b, &past, NULL), 0);
  tierpool_bounded_release(p, b);
  tierpool_bounded_destroy(p);
}

typedef struct {
  tierpool_bounded_t *p;
  tierpool_cancel_t *tok;
  int rc;
  void *obj;
} waiter_t;

static void *wait_for(void *arg) {
  waiter_t *w = arg;
  w->rc = tierpool_bounded_acquire(w->p, &w->obj, NULL, w->tok);
  return NULL;
}

/* Waits until n acquires of p have started waiting. */
static void until_waits(tierpool_bounded_t *p, uint64_t n) {
  tierpool_pool_stats_t st;
  for (int i = 0; i < 5000; i++) {
    tierpool_bounded_stats(p, &st);
    if (st.waits >= n) break;
    usleep(1000);
  }
  usleep(2000); /* the waiter counted itself just before it sleeps */
}

Test(bounded, cancel_from_another_thread) {
  tierpool_bounded_t *p = make(1);
  void *a;
  tierpool_bounded_acquire(p, &a, NULL, NULL);
  tierpool_cancel_t tok = TIERPOOL_CANCEL_INIT, other = TIERPOOL_CANCEL_INIT;
  waiter_t w1 = {p, &tok, -1, NULL}, w2 = {p, &other, -1, NULL};
  pthread_t t1, t2;
  pthread_create(&t1, NULL, wait_for, &w1);
  pthread_create(&t2, NULL, wait_for, &w2);
  until_waits(p, 2);
  cr_expect_eq(tierpool_bounded_destroy(p), EBUSY, "waiters");
  cr_expect_eq(tierpool_bounded_cancel(p, &tok), 0);
  pthread_join(t1, NULL);
  cr_expect_eq(w1.rc, ECANCELED);
  /* the other waiter still waits, and gets the released object */
  tierpool_bounded_release(p, a);
  pthread_join(t2, NULL);
  cr_expect_eq(w2.rc, 0);
  cr_expect_eq(w2.obj, a);
  tierpool_bounded_release(p, w2.obj);
  tierpool_pool_stats_t st;
  tierpool_bounded_stats(p, &st);
  cr_expect_eq(st.cancellations, 1);
  cr_expect_eq(st.gets, 2);
  cr_expect_eq(st.puts, 2);
  cr_expect_eq(st.peak, 1);
  /* a cancelled token fails at once, even with objects free */
  void *b;
  cr_expect_eq(tierpool_bounded_acquire(p, &b, NULL, &tok), ECANCELED);
  tierpool_cancel_reset(&tok);
  cr_expect_eq(tierpool_bounded_acquire(p, &b, NULL, &tok), 0);
  tierpool_bounded_release(p, b);
  cr_expect_eq(tierpool_bounded_destroy(p), 0);
}

static int init_calls;
static int init_third_fails(void *o, void *arg) {
  (void)o, (void)arg;
  return ++init_calls == 3 ? ENOSPC : 0;
}
static int fini_calls;
static void count_fini(void *o, void *arg) { (void)o, (void)arg, fini_calls++; }

Test(bounded, init_failure_cleans_up) {
  tierpool_bounded_t *p = NULL;
  tierpool_bounded_opts_t o = {.count = 5, .size = 8, .init = init_third_fails, .fini = count_fini};
  cr_expect_eq(tierpool_bounded_create(&p, &o), ENOSPC);
  cr_expect_eq(fini_calls, 2, "the two made are finalised");
}

Test(bounded, einval) {
  tierpool_bounded_t *p;
  tierpool_bounded_opts_t zero = {.count = 0, .size = 8}, zsize = {.count = 1, .size = 0};
  void *o;
  cr_expect_eq(tierpool_bounded_create(&p, &zero), EINVAL);
  cr_expect_eq(tierpool_bounded_create(&p, &zsize), EINVAL);
  cr_expect_eq(tierpool_bounded_acquire(NULL, &o, NULL, NULL), EINVAL);
  /* A malformed deadline is refused at once, not waited on forever. */
  tierpool_bounded_opts_t one = {.count = 1, .size = 8};
  cr_assert_eq(tierpool_bounded_create(&p, &one), 0);
  cr_assert_eq(tierpool_bounded_acquire(p, &o, NULL, NULL), 0);
  struct timespec bad = {.tv_sec = 0, .tv_nsec = -5}, big = {.tv_sec = 0, .tv_nsec = 1000000000L};
  void *o2;
  cr_expect_eq(tierpool_bounded_acquire(p, &o2, &bad, NULL), EINVAL);
  cr_expect_eq(tierpool_bounded_acquire(p, &o2, &big, NULL), EINVAL);
  tierpool_bounded_release(p, o);
  cr_expect_eq(tierpool_bounded_destroy(p), 0);
  cr_expect_eq(tierpool_bounded_try_acquire(NULL, &o), EINVAL);
  cr_expect_eq(tierpool_bounded_cancel(NULL, NULL), EINVAL);
  cr_expect_eq(tierpool_bounded_destroy(NULL), EINVAL);
}

Test(bounded_misuse, release_twice, .signal = SIGABRT) {
  tierpool_bounded_t *p = make(2);
  void *a;
  tierpool_bounded_acquire(p, &a, NULL, NULL);
  tierpool_bounded_release(p, a);
  tierpool_bounded_release(p, a);
}

Test(bounded_misuse, release_foreign, .signal = SIGABRT) {
  tierpool_bounded_t *p = make(2);
  tierpool_bounded_release(p, malloc(32));
}
