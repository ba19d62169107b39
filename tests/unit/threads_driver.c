/* The engine's threaded scenarios as a plain program (no Criterion), so
 * that they also run under ThreadSanitizer: Criterion's worker arena cannot
 * be mapped in a TSan process. Exits non-zero on the first failure. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"
#include "snapshot.h"
#include "storm.h"
#include "tp_test.h"

#define NTHREADS 4
static int ROUNDS = 50000; /* argv[1] */
static _Atomic(unsigned char *) mailbox[64];

/* Each block carries its length and a pattern; the receiver checks both. */
static void fill(unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(n + i);
}
static void verify(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) CHECK(p[i] == (unsigned char)(n + i));
}

static void *worker(void *arg) {
  uint64_t seed = (uintptr_t)arg * 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < ROUNDS; i++) {
    seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
    size_t n = sizeof(size_t) + (seed >> 8) % ((seed & 7) ? 2000 : 200000);
    unsigned char *p = tp_malloc(n);
    CHECK(p);
    memcpy(p, &n, sizeof n);
    fill(p + sizeof n, n - sizeof n);
    unsigned char *q = atomic_exchange(&mailbox[(seed >> 40) % 64], p);
    if (q) {
      size_t qn;
      memcpy(&qn, q, sizeof qn);
      CHECK(tp_usable_size(q) >= qn);
      verify(q + sizeof qn, qn - sizeof qn);
      tp_free(q);
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc > 1) ROUNDS = atoi(argv[1]);
  tp_init();
  tierpool_stats_t a, b;
  tp_stats_collect(&a);
  pthread_t th[NTHREADS];
  for (uintptr_t i = 0; i < NTHREADS; i++) CHECK(pthread_create(&th[i], NULL, worker, (void *)(i + 1)) == 0);
  for (int i = 0; i < NTHREADS; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < 64; i++) {
    unsigned char *q = atomic_exchange(&mailbox[i], NULL);
    if (q) tp_free(q);
  }
  tp_stats_collect(&b);
  uint64_t gets = (b.total_get - a.total_get) + (b.discarded - a.discarded);
  CHECK(gets == (uint64_t)NTHREADS * ROUNDS);
  CHECK(b.total_get - a.total_get == b.total_put - a.total_put);
  CHECK(b.threads_exited - a.threads_exited == NTHREADS);

  _Atomic int stop = 0;
  pthread_t st[2];
  for (int i = 0; i < 2; i++) pthread_create(&st[i], NULL, storm, &stop);
  for (int k = 0; k < 20; k++) {
    pid_t pid = fork();
    if (pid == 0) {
      tp_fork_child();
      for (int i = 0; i < 1000; i++) tp_free(tp_malloc(16u << (i % 12)));
      _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  atomic_store(&stop, 1);
  for (int i = 0; i < 2; i++) pthread_join(st[i], NULL);
  printf("threads driver: ok\n");
  return 0;
}
