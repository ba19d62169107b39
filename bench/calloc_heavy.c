/* calloc_heavy - zeroed allocation: calloc of 16 B to 128 KiB (log-uniform)
 * with 64 blocks live, each checked to be zero at its start, middle and end
 * and then dirtied there, so recycled memory must really be cleared.
 * -n is the callocs per thread. */
#include "bench.h"

#define LIVE 64

static void *run(void *arg) {
  bench_thread_t *t = arg;
  bench_rng_t r = bench_rng(6000 + (uint64_t)t->id);
  unsigned char *p[LIVE] = {0};
  uint64_t check = 0;
  for (long i = 0; i < t->size; i++) {
    int k = (int)bench_below(&r, LIVE);
    free(p[k]);
    size_t n = bench_size(&r, 16, 128 * 1024);
    size_t count = n >= 64 && bench_below(&r, 2) ? n / 8 : n, each = n / count;
    unsigned char *q = calloc(count, each);
    if (!q) bench_die("calloc");
    size_t len = count * each;
    if (q[0] | q[len / 2] | q[len - 1]) {
      fprintf(stderr, "calloc_heavy: calloc returned dirty memory\n");
      exit(1);
    }
    size_t dirty = len < 64 ? len : 64;
    memset(q, 0xa5, dirty);
    memset(q + len - dirty, 0x5a, dirty);
    q[len / 2] = 1;
    check += q[len / 2];
    p[k] = q;
  }
  for (int k = 0; k < LIVE; k++) free(p[k]);
  t->ops = (uint64_t)t->size;
  t->check = check;
  return NULL;
}

int main(int argc, char **argv) {
  bench_args_t a = bench_parse(argc, argv, "calloc_heavy", 1, 2000000, "callocs per thread");
  uint64_t ops, check;
  double t0 = bench_now();
  bench_run_threads(a.threads, a.size, NULL, run, &ops, &check);
  bench_report(&a, bench_now() - t0, ops, check, NULL);
  return 0;
}
