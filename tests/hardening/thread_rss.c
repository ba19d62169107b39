/* thread_rss: 10 000 short-lived threads, up to 8 alive at a time, each
 * allocating in small and large tiers, handing some blocks to the main
 * thread (freed there, after the thread is gone) and freeing the rest.
 * The resident set after the last thread may exceed the one after the
 * first thousand by a few MiB only: thread caches are recycled, and what
 * exited threads held goes back to the central pools and is reused.
 * (tests/preload/thread_teardown.c checks the carved bytes; this checks
 * the memory the process really holds.)
 */
#include <pthread.h>
#include <stdatomic.h>

#include "common.h"

enum { THREADS = 10000, ALIVE = 8, HANDED = 4 };

typedef struct {
  pthread_t t;
  int id;
  void *handed[HANDED];
} job_t;

static void *job(void *arg) {
  job_t *j = arg;
  uint64_t s = (uint64_t)j->id * 0x9E3779B97F4A7C15ull + 1;
  void *mine[32];
  for (int i = 0; i < 32; i++) {
    size_t n = (size_t)16 << rnd(&s) % 17; /* 16 B .. 1 MiB */
    mine[i] = malloc(n);
    CHECK(mine[i]);
    memset(mine[i], i, n < 4096 ? n : 4096);
  }
  for (int i = 0; i < HANDED; i++) {
    j->handed[i] = malloc(opaque(100 + (size_t)i * 3000));
    CHECK(j->handed[i]);
    fill(j->handed[i], 100, (uint64_t)j->id);
  }
  for (int i = 0; i < 32; i++) free(mine[i]);
  return NULL;
}

static void reap(job_t *j) {
  CHECK(pthread_join(j->t, NULL) == 0);
  for (int i = 0; i < HANDED; i++) {
    CHECK(check_fill(j->handed[i], 100, (uint64_t)j->id));
    free(j->handed[i]);
  }
}

int main(void) {
  int (*stats)(tierpool_stats_t *) = tp_stats_fn();
  static job_t jobs[ALIVE];
  long warm = 0;
  for (int k = 0; k < THREADS; k++) {
    job_t *j = &jobs[k % ALIVE];
    if (k >= ALIVE) reap(j);
    j->id = k;
    CHECK(pthread_create(&j->t, NULL, job, j) == 0);
    if (k == 1000) warm = rss_kib();
  }
  for (int k = 0; k < ALIVE; k++) reap(&jobs[k]);
  long end = rss_kib();
  tierpool_stats_t s;
  stats(&s);
  printf("threads=%d rss_after_1000=%ld KiB rss_after_all=%ld KiB growth=%ld KiB live=%lld\n",
         THREADS, warm, end, end - warm, (long long)(s.total_get - s.total_put));
  CHECK(s.threads_exited >= THREADS);
  CHECK(end - warm < 16 * 1024);
  return 0;
}
