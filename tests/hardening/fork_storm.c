/* fork_storm: fork 100 times from a process whose other threads allocate
 * and free all the time (blocks passed between threads, reallocs, blocks
 * past the largest tier). Each child checks the blocks its parent had
 * before the fork, frees some of them, runs two threads of its own that
 * allocate with content checks, forks a grandchild that allocates, and
 * exits. A watchdog alarm in every process turns a deadlock into a
 * failure. tests/preload/fork_stdio.c covers threads inside stdio; this
 * covers what the child does with the pools afterwards.
 *
 *   fork_storm [FORKS]     (default 100)
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "common.h"

enum { KEEP = 64, BOXES = 16 };
static _Atomic int stop;
static _Atomic(void *) boxes[BOXES];
static char *keep[KEEP];

static size_t keep_size(int i) { return (size_t)16 << (i % 18); } /* 16 B .. 2 MiB */

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "fork_storm: watchdog fired (deadlock?)\n";
  if (write(2, msg, sizeof msg - 1)) {}
  _exit(2);
}

/* Producers fill blocks and drop them in boxes; consumers check and free. */
static void *producer(void *arg) {
  uint64_t s = (uint64_t)(uintptr_t)arg;
  while (!atomic_load(&stop)) {
    size_t n = 16 + rnd(&s) % 3000;
    uint64_t *p = malloc(n);
    CHECK(p);
    p[0] = n;
    fill(p + 1, n - 8, n);
    void *old = atomic_exchange(&boxes[rnd(&s) % BOXES], p);
    if (old) free(old); /* a consumer was slow: drop it unchecked */
  }
  return NULL;
}

static void *consumer(void *arg) {
  uint64_t s = (uint64_t)(uintptr_t)arg;
  while (!atomic_load(&stop)) {
    uint64_t *p = atomic_exchange(&boxes[rnd(&s) % BOXES], NULL);
    if (!p) continue;
    CHECK(check_fill(p + 1, p[0] - 8, p[0]));
    free(p);
  }
  return NULL;
}

static void *reallocer(void *arg) {
  uint64_t s = (uint64_t)(uintptr_t)arg;
  while (!atomic_load(&stop)) {
    size_t n = 8;
    char *p = malloc(n);
    CHECK(p);
    fill(p, n, 5);
    while (n < 4 * MiB) {
      size_t m = n * 2 + rnd(&s) % 100;
      char *q = realloc(p, m);
      CHECK(q && check_fill(q, n, 5));
      fill(q, m, 5);
      p = q;
      n = m;
    }
    free(p);
  }
  return NULL;
}

static void *child_worker(void *arg) {
  uint64_t s = (uint64_t)(uintptr_t)arg;
  void *slot[64] = {0};
  size_t len[64] = {0};
  for (int i = 0; i < 1000; i++) {
    int k = (int)(rnd(&s) % 64);
    if (slot[k]) {
      CHECK(check_fill(slot[k], len[k], len[k]));
      free(slot[k]);
    }
    len[k] = 1 + rnd(&s) % (rnd(&s) % 8 ? 2000 : 70000);
    slot[k] = malloc(len[k]);
    CHECK(slot[k]);
    fill(slot[k], len[k], len[k]);
  }
  for (int k = 0; k < 64; k++) free(slot[k]);
  return NULL;
}

static int child(int round, int (*stats)(tierpool_stats_t *)) {
  alarm(20);
  for (int i = 0; i < KEEP; i++) CHECK(check_fill(keep[i], keep_size(i), (uint64_t)i));
  for (int i = round % 2; i < KEEP; i += 2) free(keep[i]); /* the parent's blocks */
  pthread_t t[2];
  for (int i = 0; i < 2; i++)
    CHECK(pthread_create(&t[i], NULL, child_worker, (void *)(uintptr_t)(round * 2 + i + 1)) == 0);
  for (int i = 0; i < 2; i++) CHECK(pthread_join(t[i], NULL) == 0);
  pid_t g = fork();
  CHECK(g >= 0);
  if (g == 0) {
    void *p[100];
    for (int i = 0; i < 100; i++) CHECK((p[i] = malloc((size_t)16 << (i % 17))) != NULL);
    for (int i = 0; i < 100; i++) free(p[i]);
    _exit(0);
  }
  int st;
  CHECK(waitpid(g, &st, 0) == g && WIFEXITED(st) && WEXITSTATUS(st) == 0);
  tierpool_stats_t s;
  stats(&s);
  CHECK(s.total_get > 0);
  return 0;
}

int main(int argc, char **argv) {
  int forks = argc > 1 ? atoi(argv[1]) : 100;
  int (*stats)(tierpool_stats_t *) = tp_stats_fn();
  signal(SIGALRM, on_alarm);
  alarm(100);
  for (int i = 0; i < KEEP; i++) {
    CHECK((keep[i] = malloc(keep_size(i))) != NULL);
    fill(keep[i], keep_size(i), (uint64_t)i);
  }
  pthread_t th[5];
  CHECK(pthread_create(&th[0], NULL, producer, (void *)1) == 0);
  CHECK(pthread_create(&th[1], NULL, producer, (void *)2) == 0);
  CHECK(pthread_create(&th[2], NULL, consumer, (void *)3) == 0);
  CHECK(pthread_create(&th[3], NULL, consumer, (void *)4) == 0);
  CHECK(pthread_create(&th[4], NULL, reallocer, (void *)5) == 0);
  for (int k = 0; k < forks; k++) {
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) _exit(child(k, stats));
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fprintf(stderr, "fork_storm: child %d failed (%s %d)\n", k,
              WIFSIGNALED(st) ? "signal" : "exit status", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
      return 1;
    }
  }
  atomic_store(&stop, 1);
  for (int i = 0; i < 5; i++) CHECK(pthread_join(th[i], NULL) == 0);
  for (int i = 0; i < BOXES; i++) free(atomic_exchange(&boxes[i], NULL));
  for (int i = 0; i < KEEP; i++) {
    CHECK(check_fill(keep[i], keep_size(i), (uint64_t)i));
    free(keep[i]);
  }
  printf("fork_storm: %d forks with allocating threads, children and grandchildren ok\n", forks);
  return 0;
}
