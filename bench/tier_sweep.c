/* tier_sweep - gets and puts at every power of two from 16 B to 1 MiB:
 * at each size a batch of 16 blocks allocated then freed, then 16 single
 * malloc/free pairs. -n is the sweeps per thread. */
#include "bench.h"

#define MIN_SHIFT 4
#define MAX_SHIFT 20
#define BATCH 16

static void *run(void *arg) {
  bench_thread_t *t = arg;
  unsigned char *p[BATCH];
  uint64_t check = 0, ops = 0;
  for (long s = 0; s < t->size; s++) {
    for (int k = MIN_SHIFT; k <= MAX_SHIFT; k++) {
      size_t n = (size_t)1 << k;
      for (int i = 0; i < BATCH; i++) {
        p[i] = bench_xmalloc(n);
        p[i][0] = (unsigned char)(s + i);
      }
      for (int i = 0; i < BATCH; i++) {
        check += p[i][0];
        free(p[i]);
      }
      for (int i = 0; i < BATCH; i++) {
        unsigned char *q = bench_xmalloc(n);
        q[n - 1] = (unsigned char)i;
        check += q[n - 1];
        free(q);
      }
      ops += 2 * BATCH;
    }
  }
  t->ops = ops;
  t->check = check;
  return NULL;
}

int main(int argc, char **argv) {
  bench_args_t a = bench_parse(argc, argv, "tier_sweep", 1, 10000, "sweeps per thread");
  uint64_t ops, check;
  double t0 = bench_now();
  bench_run_threads(a.threads, a.size, NULL, run, &ops, &check);
  bench_report(&a, bench_now() - t0, ops, check, NULL);
  return 0;
}
