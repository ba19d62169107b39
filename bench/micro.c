/* micro - the malloc+free pair alone, for instruction counts (callgrind)
 * and nanoseconds (native).
 *
 *   micro [-t THREADS] [-n ITERATIONS] [-s SIZE] [-b BATCH]
 *
 * Each thread first does one warm-up round, then ITERATIONS rounds; a
 * round is BATCH mallocs of SIZE bytes followed by BATCH frees (BATCH 1:
 * single pairs). The runner counts instructions for ITERATIONS = N and
 * ITERATIONS = 0 and divides the difference by N * BATCH, so process
 * start-up, allocator initialisation and the warm-up cancel and what is
 * left is the steady-state pair, loop included. Built with
 * -fno-builtin-malloc/-free so the compiler keeps every call. */
#include "bench.h"

#define MAX_BATCH 1024

typedef struct micro_s {
  size_t size;
  int batch;
} micro_t;

static void *run(void *arg) {
  bench_thread_t *t = arg;
  const micro_t *m = t->shared;
  void *p[MAX_BATCH];
  for (long i = -1; i < t->size; i++) { /* i == -1: the warm-up round */
    if (m->batch == 1) {
      void *q = malloc(m->size);
      free(q);
      continue;
    }
    for (int j = 0; j < m->batch; j++) p[j] = malloc(m->size);
    for (int j = 0; j < m->batch; j++) free(p[j]);
  }
  t->ops = (uint64_t)t->size * (uint64_t)m->batch;
  t->check = 0;
  return NULL;
}

int main(int argc, char **argv) {
  bench_args_t a = {"micro", 1, 1000000};
  micro_t m = {64, 1};
  int c;
  while ((c = getopt(argc, argv, "t:n:s:b:")) != -1) {
    long v = strtol(optarg, NULL, 10);
    if (c == 't' && v >= 1 && v <= 1024) a.threads = (int)v;
    else if (c == 'n' && v >= 0) a.size = v;
    else if (c == 's' && v >= 1) m.size = (size_t)v;
    else if (c == 'b' && v >= 1 && v <= MAX_BATCH) m.batch = (int)v;
    else {
      fprintf(stderr, "usage: micro [-t THREADS] [-n ITERATIONS] [-s SIZE] [-b BATCH (<= %d)]\n",
              MAX_BATCH);
      return 2;
    }
  }
  uint64_t ops, check;
  double t0 = bench_now();
  bench_run_threads(a.threads, a.size, &m, run, &ops, &check);
  double secs = bench_now() - t0;
  char extra[96];
  snprintf(extra, sizeof extra, "bytes=%zu batch=%d ns_per_pair=%.3f", m.size, m.batch,
           ops ? secs * 1e9 * a.threads / (double)ops : 0.0);
  bench_report(&a, secs, ops, check, extra);
  return 0;
}
