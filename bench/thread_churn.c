/* thread_churn - thousands of short-lived threads. Threads start in waves
 * of -t at a time; each allocates 64 blocks of 16 B to 4 KiB, frees all
 * but one, frees the block the previous thread of its lane left, leaves
 * its own for the next, and exits. That tests thread setup, cache flush at
 * exit, and frees of blocks whose owner thread is gone. -n is the number
 * of threads started in all. */
#include "bench.h"

#define BLOCKS 64

typedef struct lane_s {
  unsigned char *left; /* the block the last thread of this lane left */
  long seq;            /* thread number, seeds its PRNG */
  uint64_t check;
} lane_t;

static void *churn(void *arg) {
  lane_t *l = arg;
  bench_rng_t r = bench_rng(4000 + (uint64_t)l->seq);
  unsigned char *p[BLOCKS];
  for (int i = 0; i < BLOCKS; i++) {
    size_t n = bench_size(&r, 16, 4096);
    p[i] = bench_xmalloc(n);
    p[i][0] = (unsigned char)(i + l->seq);
  }
  for (int i = 1; i < BLOCKS; i++) {
    l->check += p[i][0];
    free(p[i]);
  }
  if (l->left) {
    l->check += l->left[0];
    free(l->left);
  }
  l->left = p[0];
  return NULL;
}

int main(int argc, char **argv) {
  bench_args_t a = bench_parse(argc, argv, "thread_churn", 2, 20000, "threads started in all");
  lane_t *lanes = calloc((size_t)a.threads, sizeof *lanes);
  pthread_t *tid = calloc((size_t)a.threads, sizeof *tid);
  if (!lanes || !tid) bench_die("calloc");
  uint64_t check = 0;
  long started = 0;
  double t0 = bench_now();
  while (started < a.size) {
    int wave = 0;
    for (; wave < a.threads && started < a.size; wave++, started++) {
      lanes[wave].seq = started;
      if ((errno = pthread_create(&tid[wave], NULL, churn, &lanes[wave])) != 0)
        bench_die("pthread_create");
    }
    for (int i = 0; i < wave; i++) pthread_join(tid[i], NULL);
  }
  for (int i = 0; i < a.threads; i++) {
    check += lanes[i].check;
    free(lanes[i].left);
  }
  bench_report(&a, bench_now() - t0, (uint64_t)started, check, NULL);
  free(lanes);
  free(tid);
  return 0;
}
