#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <tierpool_pools.h>

static tierpool_bounded_t *conns;
static tierpool_cancel_t token = TIERPOOL_CANCEL_INIT;

static void *waiter(void *arg) {
  void *c;
  *(int *)arg = tierpool_bounded_acquire(conns, &c, NULL, &token); /* waits: none free */
  return NULL;
}

int main(void) {
  tierpool_bounded_opts_t opts = {.name = "connections", .count = 2, .size = 64};
  assert(tierpool_bounded_create(&conns, &opts) == 0);
  void *a, *b, *c;
  assert(tierpool_bounded_acquire(conns, &a, NULL, NULL) == 0);
  assert(tierpool_bounded_try_acquire(conns, &b) == 0);
  assert(tierpool_bounded_try_acquire(conns, &c) == EAGAIN);     /* all 2 are out */

  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_nsec += 20 * 1000 * 1000;                         /* 20 ms from now */
  if (deadline.tv_nsec >= 1000000000) deadline.tv_sec++, deadline.tv_nsec -= 1000000000;
  assert(tierpool_bounded_acquire(conns, &c, &deadline, NULL) == ETIMEDOUT);

  int rc = -1;
  pthread_t t;
  pthread_create(&t, NULL, waiter, &rc);
  tierpool_bounded_cancel(conns, &token);                       /* from another thread */
  pthread_join(t, NULL);
  assert(rc == ECANCELED);

  tierpool_bounded_release(conns, a);
  tierpool_bounded_release(conns, b);
  return tierpool_bounded_destroy(conns);
}
